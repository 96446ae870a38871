//! Users, API tokens, sessions and the sign-in throttle in the database: [`AccessStore`],
//! for SQLite and PostgreSQL alike (the SQL, written once, is in `sql.rs`).
//!
//! Only digests of secrets reach these methods (see `secret.rs`); runtime-checked
//! `sqlx::query` with bind parameters only; each write is one statement or one transaction.

mod sql;

use std::future::Future;

use chrono::{DateTime, Utc};

use super::{AccessError, Role};
use crate::db::{Db, on_db};

/// An account as stored, without its password hash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The account's id.
    pub id: i64,
    /// What they type to sign in.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// For role `operator`: their roster entry.
    pub operator_id: Option<i64>,
    /// The dashboard's language: `kk` or `ru`.
    pub language: String,
}

/// A token as listed: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    /// The token's id (to revoke it).
    pub id: i64,
    /// What the token is for.
    pub label: String,
    /// What the token may do.
    pub role: Role,
    /// For role `operator`: the roster entry it acts for.
    pub operator_id: Option<i64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What a new account is, once checked (see `accounts.rs`).
pub struct NewUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub operator_id: Option<i64>,
    pub password_hash: &'a str,
}

/// A live session and whose it is.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: User,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Accounts, tokens, sessions and sign-in failures, on either database. Only digests
/// of secrets reach these methods.
pub trait AccessStore: Send + Sync {
    /// Adds an account; [`AccessError::DuplicateName`] if the name is taken.
    fn add_user(&self, user: &NewUser<'_>) -> impl Future<Output = Result<User, AccessError>> + Send;
    /// An account and its password hash, by the name typed at sign-in.
    fn user_by_name(&self, name: &str) -> impl Future<Output = Result<Option<(User, String)>, AccessError>> + Send;
    /// Every account, by name.
    fn list_users(&self) -> impl Future<Output = Result<Vec<User>, AccessError>> + Send;
    /// Removes an account and its sessions; `false` if there was none.
    fn remove_user(&self, name: &str) -> impl Future<Output = Result<bool, AccessError>> + Send;
    /// Keeps the dashboard language a user chose.
    fn set_language(&self, user_id: i64, language: &str) -> impl Future<Output = Result<(), AccessError>> + Send;

    /// Stores a new token's digest; returns what is listed of it.
    fn add_token(
        &self,
        label: &str,
        role: Role,
        operator_id: Option<i64>,
        token_hash: &str,
    ) -> impl Future<Output = Result<TokenInfo, AccessError>> + Send;
    /// The token with this digest, if not revoked.
    fn token_by_hash(&self, token_hash: &str) -> impl Future<Output = Result<Option<TokenInfo>, AccessError>> + Send;
    /// Every token, never the token itself.
    fn list_tokens(&self) -> impl Future<Output = Result<Vec<TokenInfo>, AccessError>> + Send;
    /// Revokes a token; `false` if there was none with `id`.
    fn revoke_token(&self, id: i64) -> impl Future<Output = Result<bool, AccessError>> + Send;

    /// Opens a session, stored by its cookie's digest, until `expires_at`.
    fn add_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), AccessError>> + Send;
    /// A session that has not expired.
    fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRow>, AccessError>> + Send;
    /// Ends a session (signing out).
    fn remove_session(&self, id_hash: &str) -> impl Future<Output = Result<(), AccessError>> + Send;

    /// Counts a sign-in attempt for `name` before its password is checked, atomically:
    /// when `name` already has `max` failures since `since`, nothing is recorded and the
    /// oldest of the last `max` is returned (the window reopens when it leaves); otherwise
    /// the attempt is recorded as a failure at `at` (a successful sign-in then clears the
    /// name) and `None` is returned. Checking and recording in one step is what keeps
    /// attempts sent all at once, to one instance or several, from slipping under the limit.
    /// Failures older than `since` are forgotten on the way.
    fn claim_login_attempt(
        &self,
        name: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, AccessError>> + Send;
    /// The times of `name`'s failed sign-ins since `since`, oldest first.
    fn login_failures(
        &self,
        name: &str,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DateTime<Utc>>, AccessError>> + Send;
    /// Forgets `name`'s failed sign-ins (after a successful one).
    fn clear_login_failures(&self, name: &str) -> impl Future<Output = Result<(), AccessError>> + Send;
}

/// A user row as both databases return it.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    role: String,
    operator_id: Option<i64>,
    language: String,
}

impl UserRow {
    fn decode(self) -> Result<User, AccessError> {
        let role = Role::parse(&self.role).ok_or(AccessError::Corrupt("users.role"))?;
        Ok(User { id: self.id, name: self.name, role, operator_id: self.operator_id, language: self.language })
    }
}

#[derive(sqlx::FromRow)]
struct UserWithHash {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    label: String,
    role: String,
    operator_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl TokenRow {
    fn decode(self) -> Result<TokenInfo, AccessError> {
        let role = Role::parse(&self.role).ok_or(AccessError::Corrupt("api_tokens.role"))?;
        Ok(TokenInfo {
            id: self.id,
            label: self.label,
            role,
            operator_id: self.operator_id,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionJoin {
    #[sqlx(flatten)]
    user: UserRow,
    csrf: String,
    expires_at: DateTime<Utc>,
}

impl SessionJoin {
    fn decode(self) -> Result<SessionRow, AccessError> {
        Ok(SessionRow { user: self.user.decode()?, csrf: self.csrf, expires_at: self.expires_at })
    }
}

fn unique_name(error: sqlx::Error, name: &str) -> AccessError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AccessError::DuplicateName(name.to_owned()),
        _ => AccessError::Database(error),
    }
}

/// The columns of a [`UserRow`] and a [`TokenRow`], for `concat!` into `&'static str` SQL.
macro_rules! user_columns {
    () => {
        "users.id, users.name, users.role, users.operator_id, users.language"
    };
}
macro_rules! token_columns {
    () => {
        "id, label, role, operator_id, created_at"
    };
}
use {token_columns, user_columns};

impl AccessStore for Db {
    async fn add_user(&self, user: &NewUser<'_>) -> Result<User, AccessError> {
        on_db!(self, s => s.add_user(user))
    }
    async fn user_by_name(&self, name: &str) -> Result<Option<(User, String)>, AccessError> {
        on_db!(self, s => s.user_by_name(name))
    }
    async fn list_users(&self) -> Result<Vec<User>, AccessError> {
        on_db!(self, s => s.list_users())
    }
    async fn remove_user(&self, name: &str) -> Result<bool, AccessError> {
        on_db!(self, s => s.remove_user(name))
    }
    async fn set_language(&self, user_id: i64, language: &str) -> Result<(), AccessError> {
        on_db!(self, s => s.set_language(user_id, language))
    }
    async fn add_token(
        &self,
        label: &str,
        role: Role,
        operator_id: Option<i64>,
        hash: &str,
    ) -> Result<TokenInfo, AccessError> {
        on_db!(self, s => s.add_token(label, role, operator_id, hash))
    }
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenInfo>, AccessError> {
        on_db!(self, s => s.token_by_hash(token_hash))
    }
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>, AccessError> {
        on_db!(self, s => s.list_tokens())
    }
    async fn revoke_token(&self, id: i64) -> Result<bool, AccessError> {
        on_db!(self, s => s.revoke_token(id))
    }
    async fn add_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), AccessError> {
        on_db!(self, s => s.add_session(id_hash, user_id, csrf, expires_at))
    }
    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, AccessError> {
        on_db!(self, s => s.session(id_hash, now))
    }
    async fn remove_session(&self, id_hash: &str) -> Result<(), AccessError> {
        on_db!(self, s => s.remove_session(id_hash))
    }
    async fn claim_login_attempt(
        &self,
        name: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        max: usize,
    ) -> Result<Option<DateTime<Utc>>, AccessError> {
        on_db!(self, s => s.claim_login_attempt(name, at, since, max))
    }
    async fn login_failures(&self, name: &str, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, AccessError> {
        on_db!(self, s => s.login_failures(name, since))
    }
    async fn clear_login_failures(&self, name: &str) -> Result<(), AccessError> {
        on_db!(self, s => s.clear_login_failures(name))
    }
}
