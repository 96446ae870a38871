//! The roster's SQL, written once for both databases (`$1`-style parameters read the same
//! on each). Writes open with the database's write transaction: `BEGIN IMMEDIATE` on
//! SQLite, which takes the write lock up front instead of failing half-way; reads use the
//! readers (on SQLite, read-only connections). The one difference is how an update reads
//! the row it changes: PostgreSQL, shared by several instances, reads it `FOR UPDATE`, so
//! two administrators changing one operator at once apply their changes one after the other
//! instead of one overwriting the other's fields; on SQLite the write lock already does
//! that.

use chrono::Utc;

use super::{Merged, OperatorRow, RosterStore, StoredOperator, columns, one, refused};
use crate::operators::input::{NewOperator, OperatorChange, RosterError, target_text};

/// Implements [`RosterStore`] on one database; `$lock` ends the update's first read.
macro_rules! roster_sql {
    ($db:ty, lock = $lock:literal) => {
        impl RosterStore for $db {
            async fn list_operators(&self) -> Result<Vec<StoredOperator>, RosterError> {
                let sql = concat!("SELECT ", columns!(), " FROM operators ORDER BY id");
                let rows: Vec<OperatorRow> = sqlx::query_as(sql).fetch_all(self.reader()).await?;
                Ok(rows.into_iter().filter_map(OperatorRow::decode).collect())
            }

            async fn operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
                let sql = concat!("SELECT ", columns!(), " FROM operators WHERE id = $1");
                let row = sqlx::query_as(sql).bind(id).fetch_optional(self.reader()).await?;
                one(id, row)
            }

            async fn add_operator(&self, new: &NewOperator) -> Result<StoredOperator, RosterError> {
                let now = Utc::now();
                let sql = concat!(
                    "INSERT INTO operators (name, target, languages, available, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING ",
                    columns!()
                );
                let mut tx = self.begin_write().await?;
                let row: OperatorRow = sqlx::query_as(sql)
                    .bind(new.name.as_str())
                    .bind(target_text(&new.target))
                    .bind(new.languages.code())
                    .bind(new.available)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| refused(e, Some(&new.target)))?;
                tx.commit().await?;
                one(row.id, Some(row))
            }

            async fn update_operator(&self, id: i64, change: &OperatorChange) -> Result<StoredOperator, RosterError> {
                let mut tx = self.begin_write().await?;
                let sql = concat!("SELECT ", columns!(), " FROM operators WHERE id = $1", $lock);
                let old = one(id, sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await?)?;
                let merged = Merged::new(&old, change);
                let sql = concat!(
                    "UPDATE operators SET name = $1, target = $2, languages = $3, available = $4, updated_at = $5 \
                     WHERE id = $6 RETURNING ",
                    columns!()
                );
                let row: Option<OperatorRow> = sqlx::query_as(sql)
                    .bind(merged.name)
                    .bind(merged.target)
                    .bind(merged.languages)
                    .bind(merged.available)
                    .bind(Utc::now())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| refused(e, change.target.as_ref()))?;
                let updated = one(id, row)?;
                if updated.available && !old.available {
                    // Made available again: rings not answered before and why they were
                    // away no longer count (see store/states.rs).
                    let sql = "UPDATE operator_states SET unanswered_rings = 0, away_reason = NULL, away_since = NULL, \
                               updated_at = $1 WHERE operator_id = $2";
                    sqlx::query(sql).bind(Utc::now()).bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(updated)
            }

            async fn remove_operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
                let mut tx = self.begin_write().await?;
                let sql = concat!("DELETE FROM operators WHERE id = $1 RETURNING ", columns!());
                let row: Option<OperatorRow> = sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await?;
                let removed = one(id, row)?;
                tx.commit().await?;
                Ok(removed)
            }
        }
    };
}

roster_sql!(crate::db::Sqlite, lock = "");
roster_sql!(crate::db::Postgres, lock = " FOR UPDATE");
