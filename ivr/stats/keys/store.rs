//! The keys' and recent callers' SQL, on both databases: a key stored once per day and
//! purpose whoever races for it, and the callers of the last 24 hours as hashes.

use std::collections::HashSet;

use chrono::NaiveDate;
use sqlx::QueryBuilder;

use super::{CALLER_WINDOW_MINUTES, Key, Purpose};
use crate::db::{Db, DbError, on_db};

/// The keys' and recent callers' SQL, on both databases.
pub trait KeyStore {
    /// Stores `key` for `(day, purpose)` unless one is there already.
    fn insert_key_if_absent(
        &self,
        day: NaiveDate,
        purpose: Purpose,
        key: &Key,
    ) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Every stored key of `from` and later days.
    fn keys_since(
        &self,
        from: NaiveDate,
    ) -> impl Future<Output = Result<Vec<(NaiveDate, Purpose, Key)>, DbError>> + Send;

    /// Deletes keys of days before `day` and callers last seen before `minute`.
    fn forget_before(&self, day: NaiveDate, minute: i64) -> impl Future<Output = Result<(), DbError>> + Send;

    /// Records that each hash called at its minute, in one transaction; for each, whether
    /// it (or its twin under yesterday's salt, when given) called in the 24 hours before.
    fn callers_seen(&self, seen: &[CallerSeen]) -> impl Future<Output = Result<Vec<bool>, DbError>> + Send;
}

/// A caller, as the repeat check stores it.
#[derive(Clone, Copy, Debug)]
pub struct CallerSeen {
    pub hash: [u8; 16],
    /// The same number under yesterday's salt, if there is one (only looked up, never stored).
    pub yesterday: Option<[u8; 16]>,
    /// The call's tag (see [`DailyKeys::call_tag`]).
    pub call: [u8; 8],
    pub minute: i64,
}

/// Callers upserted per statement: far below both databases' limits on bind parameters.
const CALLER_CHUNK: usize = 500;

/// The end of the callers' upsert. A redelivery of the last call keeps its flag; another
/// call is a repeat if the last one came in the 24 hours before.
const UPSERT_CALLERS: &str = " ON CONFLICT (hash) DO UPDATE SET \
     repeated = CASE WHEN recent_callers.last_call = excluded.last_call THEN recent_callers.repeated \
         ELSE recent_callers.seen_minute >= excluded.seen_minute - 1440 END, \
     last_call = excluded.last_call, \
     seen_minute = CASE WHEN excluded.seen_minute > recent_callers.seen_minute \
         THEN excluded.seen_minute ELSE recent_callers.seen_minute END";

/// `seen` cut, in order, into runs of at most [`CALLER_CHUNK`] with no hash twice (one
/// statement cannot upsert a row twice).
fn distinct_chunks(seen: &[CallerSeen]) -> Vec<&[CallerSeen]> {
    let mut chunks = Vec::new();
    let (mut start, mut hashes) = (0, HashSet::new());
    for (i, caller) in seen.iter().enumerate() {
        if i - start == CALLER_CHUNK || !hashes.insert(caller.hash) {
            chunks.push(&seen[start..i]);
            start = i;
            hashes.clear();
            hashes.insert(caller.hash);
        }
    }
    if start < seen.len() {
        chunks.push(&seen[start..]);
    }
    chunks
}

macro_rules! key_sql {
    ($db:ty, $backend:ty) => {
        impl KeyStore for $db {
            async fn insert_key_if_absent(&self, day: NaiveDate, purpose: Purpose, key: &Key) -> Result<(), DbError> {
                sqlx::query(
                    "INSERT INTO daily_keys (day, purpose, key) VALUES ($1, $2, $3) \
                     ON CONFLICT (day, purpose) DO NOTHING",
                )
                .bind(day)
                .bind(purpose.as_str())
                .bind(key.as_slice())
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn keys_since(&self, from: NaiveDate) -> Result<Vec<(NaiveDate, Purpose, Key)>, DbError> {
                let rows: Vec<(NaiveDate, String, Vec<u8>)> =
                    sqlx::query_as("SELECT day, purpose, key FROM daily_keys WHERE day >= $1")
                        .bind(from)
                        .fetch_all(self.reader())
                        .await?;
                Ok(rows.into_iter().filter_map(decode_key).collect())
            }

            async fn forget_before(&self, day: NaiveDate, minute: i64) -> Result<(), DbError> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM daily_keys WHERE day < $1").bind(day).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM recent_callers WHERE seen_minute < $1").bind(minute).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn callers_seen(&self, seen: &[CallerSeen]) -> Result<Vec<bool>, DbError> {
                let mut tx = self.begin_write().await?;
                let mut repeats = Vec::with_capacity(seen.len());
                for chunk in distinct_chunks(seen) {
                    let mut upsert =
                        QueryBuilder::<$backend>::new("INSERT INTO recent_callers (hash, seen_minute, last_call) ");
                    upsert.push_values(chunk, |mut row, caller| {
                        row.push_bind(caller.hash.to_vec()).push_bind(caller.minute).push_bind(caller.call.to_vec());
                    });
                    upsert.push(UPSERT_CALLERS);
                    upsert.build().execute(&mut *tx).await?;
                    // Only the repeats come back: a row read is a message from the
                    // database's thread (and on SQLite a thread woken), so reading one
                    // back for every caller cost more than the upsert.
                    let mut flagged = QueryBuilder::<$backend>::new(
                        "SELECT hash FROM recent_callers WHERE repeated = TRUE AND hash IN (",
                    );
                    let mut list = flagged.separated(", ");
                    for caller in chunk {
                        list.push_bind(caller.hash.to_vec());
                    }
                    flagged.push(")");
                    let repeated: HashSet<Vec<u8>> =
                        flagged.build_query_scalar().fetch_all(&mut *tx).await?.into_iter().collect();
                    let earlier: Vec<Vec<u8>> = chunk.iter().filter_map(|c| c.yesterday.map(|h| h.to_vec())).collect();
                    let mut seen_yesterday = HashSet::new();
                    if !earlier.is_empty() {
                        let first = chunk.iter().map(|c| c.minute).min().unwrap_or_default();
                        let mut lookup =
                            QueryBuilder::<$backend>::new("SELECT hash FROM recent_callers WHERE seen_minute >= ");
                        lookup.push_bind(first - CALLER_WINDOW_MINUTES).push(" AND hash IN (");
                        let mut list = lookup.separated(", ");
                        for hash in earlier {
                            list.push_bind(hash);
                        }
                        lookup.push(")");
                        let found: Vec<Vec<u8>> = lookup.build_query_scalar().fetch_all(&mut *tx).await?;
                        seen_yesterday.extend(found);
                    }
                    repeats.extend(chunk.iter().map(|c| {
                        repeated.contains(c.hash.as_slice())
                            || c.yesterday.is_some_and(|h| seen_yesterday.contains(h.as_slice()))
                    }));
                }
                tx.commit().await?;
                Ok(repeats)
            }
        }
    };
}

key_sql!(crate::db::Sqlite, sqlx::Sqlite);
key_sql!(crate::db::Postgres, sqlx::Postgres);

fn decode_key((day, purpose, key): (NaiveDate, String, Vec<u8>)) -> Option<(NaiveDate, Purpose, Key)> {
    let purpose = match purpose.as_str() {
        "call" => Purpose::Call,
        "caller" => Purpose::Caller,
        _ => return None,
    };
    Some((day, purpose, key.try_into().ok()?))
}

impl KeyStore for Db {
    async fn insert_key_if_absent(&self, day: NaiveDate, purpose: Purpose, key: &Key) -> Result<(), DbError> {
        on_db!(self, db => db.insert_key_if_absent(day, purpose, key))
    }
    async fn keys_since(&self, from: NaiveDate) -> Result<Vec<(NaiveDate, Purpose, Key)>, DbError> {
        on_db!(self, db => db.keys_since(from))
    }
    async fn forget_before(&self, day: NaiveDate, minute: i64) -> Result<(), DbError> {
        on_db!(self, db => db.forget_before(day, minute))
    }
    async fn callers_seen(&self, seen: &[CallerSeen]) -> Result<Vec<bool>, DbError> {
        on_db!(self, db => db.callers_seen(seen))
    }
}
