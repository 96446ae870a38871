//! The roster's SQL for SQLite. Writes go through the store's single writer connection and
//! open with `BEGIN IMMEDIATE`, so a change takes the write lock up front instead of failing
//! half-way; reads use the read-only connections.

use chrono::Utc;
use sqlx::SqliteConnection;

use super::{Merged, OperatorRow, RosterStore, StoredOperator, columns, one, refused};
use crate::operators::input::{NewOperator, OperatorChange, RosterError, target_text};
use crate::stats::SqliteStore;

impl RosterStore for SqliteStore {
    async fn list_operators(&self) -> Result<Vec<StoredOperator>, RosterError> {
        let sql = concat!("SELECT ", columns!(), " FROM operators ORDER BY id");
        let rows: Vec<OperatorRow> = sqlx::query_as(sql).fetch_all(self.reader()).await?;
        Ok(rows.into_iter().filter_map(OperatorRow::decode).collect())
    }

    async fn operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
        let sql = concat!("SELECT ", columns!(), " FROM operators WHERE id = ?");
        let row = sqlx::query_as(sql).bind(id).fetch_optional(self.reader()).await?;
        one(id, row)
    }

    async fn add_operator(&self, new: &NewOperator) -> Result<StoredOperator, RosterError> {
        let now = Utc::now();
        let sql = concat!(
            "INSERT INTO operators (name, target, languages, available, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING ",
            columns!()
        );
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let row: OperatorRow = sqlx::query_as(sql)
            .bind(new.name.as_str())
            .bind(target_text(&new.target))
            .bind(new.languages.code())
            .bind(new.available)
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| refused(e, Some(&new.target)))?;
        tx.commit().await?;
        one(row.id, Some(row))
    }

    async fn update_operator(&self, id: i64, change: &OperatorChange) -> Result<StoredOperator, RosterError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let old = select_for_update(&mut tx, id).await?;
        let merged = Merged::new(&old, change);
        let sql = concat!(
            "UPDATE operators SET name = ?, target = ?, languages = ?, available = ?, updated_at = ? \
             WHERE id = ? RETURNING ",
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
        tx.commit().await?;
        Ok(updated)
    }

    async fn remove_operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let sql = concat!("DELETE FROM operators WHERE id = ? RETURNING ", columns!());
        let row: Option<OperatorRow> = sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await?;
        let removed = one(id, row)?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// The row as it is inside the write transaction (which holds SQLite's write lock).
async fn select_for_update(tx: &mut SqliteConnection, id: i64) -> Result<StoredOperator, RosterError> {
    let sql = concat!("SELECT ", columns!(), " FROM operators WHERE id = ?");
    let row = sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await?;
    one(id, row)
}
