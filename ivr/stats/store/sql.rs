//! The statistics' SQL written once for both databases: where the dialects agree, the same
//! statements (`$1`-style parameters read the same on each) on each database's own
//! connection types, through [`stats_sql!`]. What really differs stays in `sqlite.rs` and
//! `postgres.rs`: how a write keeps two instances apart, how stored records are looked up,
//! and the weekday of a date.

/// Implements [`Store`](super::Store) on `$db` (`$backend`'s pools, `$conn` connections).
/// `load_steps` is the dialect's lookup of a write's stored records, inside its transaction
/// (on PostgreSQL it first locks the write's calls); `hours` sums calls by weekday and hour.
macro_rules! stats_sql {
    ($db:ty, $backend:ty, $conn:ty, load_steps = $load:path, hours = $hours:expr) => {
        impl super::Store for $db {
            async fn write(&self, records: &[Record]) -> Result<super::Written, StoreError> {
                let records = plan::unique(records);
                let mut tx = self.begin_write().await?;
                let stored = $load(&mut tx, &plan::calls_of(&records)).await?;
                let (new, older) = plan::split_new(&records, stored)?;
                for chunk in new.chunks(plan::CHUNK) {
                    insert_steps(&mut tx, chunk).await?;
                }
                if !new.is_empty() {
                    let plan = plan::plan(&older, &new);
                    upsert_calls(&mut tx, &plan.calls, plan::CALL_UPSERT).await?;
                    upsert_totals(&mut tx, &plan.totals).await?;
                }
                tx.commit().await?;
                Ok(super::Written { new: new.len(), duplicates: records.len() - new.len() })
            }

            async fn total_rows(&self, range: DateRange) -> Result<Vec<TotalRow>, StoreError> {
                let sql = "SELECT day, metric, key, value FROM daily_totals WHERE day >= $1 AND day <= $2";
                Ok(sqlx::query_as(sql).bind(range.from).bind(range.to).fetch_all(self.reader()).await?)
            }

            async fn calls(&self, range: DateRange) -> Result<Vec<CallRow>, StoreError> {
                let mut query = sqlx::QueryBuilder::<$backend>::new("SELECT ");
                query.push(plan::CALL_COLUMNS).push(" FROM calls WHERE day >= ").push_bind(range.from);
                query.push(" AND day <= ").push_bind(range.to).push(" ORDER BY day, started_at, call_id");
                Ok(query.build_query_as().fetch_all(self.reader()).await?)
            }

            async fn purge_before(&self, cutoff: NaiveDate) -> Result<super::Purged, StoreError> {
                let mut tx = self.begin_write().await?;
                let steps = sqlx::query(
                    "DELETE FROM call_steps WHERE call_id IN (SELECT call_id FROM calls WHERE day < $1)",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
                let calls = sqlx::query("DELETE FROM calls WHERE day < $1").bind(cutoff).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(super::Purged { calls: calls.rows_affected(), steps: steps.rows_affected() })
            }

            async fn load_synthetic(&self, calls: &[CallRow], totals: &DailyTotals) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                upsert_calls(&mut tx, calls, "").await?;
                upsert_totals(&mut tx, totals).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn real_calls(&self) -> Result<i64, StoreError> {
                let sql = "SELECT CAST(COALESCE(SUM(CASE WHEN metric = 'calls' THEN value ELSE -value END), 0) AS BIGINT) \
                           FROM daily_totals WHERE metric IN ('calls', 'synthetic') AND key = ''";
                Ok(sqlx::query_scalar(sql).fetch_one(self.reader()).await?)
            }

            /// The four sums read side by side, on connections of their own.
            async fn range_totals(&self, range: DateRange) -> Result<RangeTotals, StoreError> {
                let (from, to) = (range.from, range.to);
                let (sums, days, hours, operators) = tokio::try_join!(
                    sqlx::query_as(SUMS).bind(from).bind(to).fetch_all(self.reader()),
                    sqlx::query_as(DAYS).bind(from).bind(to).fetch_all(self.reader()),
                    sqlx::query_as($hours).bind(from).bind(to).fetch_all(self.reader()),
                    sqlx::query_as(OPERATORS).bind(from).bind(to).fetch_all(self.reader()),
                )?;
                Ok(RangeTotals { sums, days, hours, operators })
            }
        }

        /// Inserts records not stored yet (a key stored meanwhile would be left as it is).
        async fn insert_steps(tx: &mut $conn, records: &[&Record]) -> Result<(), StoreError> {
            let mut query = sqlx::QueryBuilder::<$backend>::new(
                "INSERT INTO call_steps (call_id, seq, day, started_at, elapsed, events) ",
            );
            query.push_values(records, |mut tuple, r| {
                tuple.push_bind(r.call).push_bind(r.seq).push_bind(r.day);
                tuple.push_bind(r.started_at).push_bind(r.elapsed).push_bind(plan::events_json(r));
            });
            query.push(" ON CONFLICT (call_id, seq) DO NOTHING");
            query.build().execute(&mut *tx).await?;
            Ok(())
        }

        /// Writes call rows; `conflict` is `CALL_UPSERT` for refolded rows, empty for new ones.
        async fn upsert_calls(tx: &mut $conn, calls: &[CallRow], conflict: &str) -> Result<(), StoreError> {
            for chunk in calls.chunks(plan::CHUNK) {
                let mut query = sqlx::QueryBuilder::<$backend>::new("INSERT INTO calls (");
                query.push(plan::CALL_COLUMNS).push(") ");
                query.push_values(chunk, |mut tuple, row| plan::push_call_row!(tuple, row));
                query.push(conflict);
                query.build().execute(&mut *tx).await?;
            }
            Ok(())
        }

        /// Adds to the daily totals, in (day, metric, key) order.
        async fn upsert_totals(tx: &mut $conn, totals: &DailyTotals) -> Result<(), StoreError> {
            let rows: Vec<_> = totals.rows().collect();
            for chunk in rows.chunks(plan::CHUNK * 2) {
                let mut query = sqlx::QueryBuilder::<$backend>::new("INSERT INTO daily_totals (day, metric, key, value) ");
                query.push_values(chunk, |mut tuple, (day, metric, key, value)| {
                    tuple.push_bind(*day).push_bind(metric.to_string()).push_bind(key.to_string()).push_bind(*value);
                });
                query.push(plan::TOTALS_UPSERT);
                query.build().execute(&mut *tx).await?;
            }
            Ok(())
        }
    };
}

pub(super) use stats_sql;
