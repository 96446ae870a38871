//! Access control's SQL, written once for both databases (`$1`-style parameters read the
//! same on each): writes through the database's writer (on SQLite the single writing
//! connection, `BEGIN IMMEDIATE` for transactions), reads through its readers.
//!
//! A sign-in attempt is counted after every other attempt on the same name, from any
//! instance: on SQLite `BEGIN IMMEDIATE` takes the write lock first, so no other attempt
//! is counted in between; on PostgreSQL an advisory lock per name does (the two-key form,
//! class 111: the sign-in throttle, never meets the statistics' 64-bit locks).

use chrono::{DateTime, Utc};

use super::{
    AccessStore, NewUser, SessionJoin, SessionRow, TokenInfo, TokenRow, User, UserRow, UserWithHash, token_columns,
    unique_name, user_columns,
};
use crate::access::{AccessError, Role};

/// Implements [`AccessStore`] on one database; `$lock_name`, when some, serializes the
/// sign-in attempts on one name (bound as `$1`) inside their transaction.
macro_rules! access_sql {
    ($db:ty, lock_name = $lock_name:expr) => {
        impl AccessStore for $db {
            async fn add_user(&self, user: &NewUser<'_>) -> Result<User, AccessError> {
                let sql = concat!(
                    "INSERT INTO users (name, role, operator_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
                    user_columns!()
                );
                let row: UserRow = sqlx::query_as(sql)
                    .bind(user.name)
                    .bind(user.role.as_str())
                    .bind(user.operator_id)
                    .bind(user.password_hash)
                    .bind(Utc::now())
                    .fetch_one(self.writer())
                    .await
                    .map_err(|e| unique_name(e, user.name))?;
                row.decode()
            }

            async fn user_by_name(&self, name: &str) -> Result<Option<(User, String)>, AccessError> {
                let sql = concat!("SELECT ", user_columns!(), ", password_hash FROM users WHERE name = $1");
                let row: Option<(UserRow, String)> = sqlx::query_as::<_, UserWithHash>(sql)
                    .bind(name)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|r| (r.user, r.password_hash));
                row.map(|(user, hash)| Ok((user.decode()?, hash))).transpose()
            }

            async fn list_users(&self) -> Result<Vec<User>, AccessError> {
                let sql = concat!("SELECT ", user_columns!(), " FROM users ORDER BY name");
                let rows: Vec<UserRow> = sqlx::query_as(sql).fetch_all(self.reader()).await?;
                rows.into_iter().map(UserRow::decode).collect()
            }

            async fn remove_user(&self, name: &str) -> Result<bool, AccessError> {
                let done = sqlx::query("DELETE FROM users WHERE name = $1").bind(name).execute(self.writer()).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_language(&self, user_id: i64, language: &str) -> Result<(), AccessError> {
                sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
                    .bind(language)
                    .bind(user_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn add_token(
                &self,
                label: &str,
                role: Role,
                operator_id: Option<i64>,
                hash: &str,
            ) -> Result<TokenInfo, AccessError> {
                let sql = concat!(
                    "INSERT INTO api_tokens (label, role, operator_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
                    token_columns!()
                );
                let row: TokenRow = sqlx::query_as(sql)
                    .bind(label)
                    .bind(role.as_str())
                    .bind(operator_id)
                    .bind(hash)
                    .bind(Utc::now())
                    .fetch_one(self.writer())
                    .await?;
                row.decode()
            }

            async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenInfo>, AccessError> {
                let sql = concat!("SELECT ", token_columns!(), " FROM api_tokens WHERE token_hash = $1");
                let row: Option<TokenRow> = sqlx::query_as(sql).bind(token_hash).fetch_optional(self.reader()).await?;
                row.map(TokenRow::decode).transpose()
            }

            async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AccessError> {
                let sql = concat!("SELECT ", token_columns!(), " FROM api_tokens ORDER BY id");
                let rows: Vec<TokenRow> = sqlx::query_as(sql).fetch_all(self.reader()).await?;
                rows.into_iter().map(TokenRow::decode).collect()
            }

            async fn revoke_token(&self, id: i64) -> Result<bool, AccessError> {
                let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1").bind(id).execute(self.writer()).await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_session(
                &self,
                id_hash: &str,
                user_id: i64,
                csrf: &str,
                expires_at: DateTime<Utc>,
            ) -> Result<(), AccessError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                // Expired sessions open nothing; they are swept as new ones start.
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
                let sql = "INSERT INTO sessions (id_hash, user_id, csrf, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)";
                let query = sqlx::query(sql).bind(id_hash).bind(user_id).bind(csrf).bind(expires_at).bind(now);
                query.execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, AccessError> {
                let sql = concat!(
                    "SELECT ",
                    user_columns!(),
                    ", sessions.csrf, sessions.expires_at FROM sessions JOIN users ON users.id = sessions.user_id \
                     WHERE sessions.id_hash = $1 AND sessions.expires_at > $2"
                );
                let row: Option<SessionJoin> = sqlx::query_as(sql).bind(id_hash).bind(now).fetch_optional(self.reader()).await?;
                row.map(SessionJoin::decode).transpose()
            }

            async fn remove_session(&self, id_hash: &str) -> Result<(), AccessError> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(self.writer()).await?;
                Ok(())
            }

            async fn claim_login_attempt(
                &self,
                name: &str,
                at: DateTime<Utc>,
                since: DateTime<Utc>,
                max: usize,
            ) -> Result<Option<DateTime<Utc>>, AccessError> {
                let mut tx = self.begin_write().await?;
                if let Some(lock) = $lock_name {
                    sqlx::query(lock).bind(name).execute(&mut *tx).await?;
                }
                sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(since).execute(&mut *tx).await?;
                let recent: Vec<DateTime<Utc>> =
                    sqlx::query_scalar("SELECT at FROM login_failures WHERE name = $1 ORDER BY at DESC LIMIT $2")
                        .bind(name)
                        .bind(i64::try_from(max).unwrap_or(i64::MAX))
                        .fetch_all(&mut *tx)
                        .await?;
                let refused = if recent.len() >= max { recent.last().copied() } else { None };
                if refused.is_none() {
                    sqlx::query("INSERT INTO login_failures (name, at) VALUES ($1, $2)")
                        .bind(name)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(refused)
            }

            async fn login_failures(&self, name: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, AccessError> {
                let sql = "SELECT at FROM login_failures WHERE name = $1 AND at >= $2 ORDER BY at";
                Ok(sqlx::query_scalar(sql).bind(name).bind(since).fetch_all(self.writer()).await?)
            }

            async fn clear_login_failures(&self, name: &str) -> Result<(), AccessError> {
                sqlx::query("DELETE FROM login_failures WHERE name = $1").bind(name).execute(self.writer()).await?;
                Ok(())
            }
        }
    };
}

access_sql!(crate::db::Sqlite, lock_name = None::<&'static str>);
access_sql!(crate::db::Postgres, lock_name = Some("SELECT pg_advisory_xact_lock(111, hashtext($1))"));
