//! The desk's one read of the queue table (`queue_callers`, migration
//! `20261207020000_operator_queue.sql`): how many callers wait in each queue, how many of
//! them are being rung, and since when the first of them waits. Read-only: the queue is the
//! call path's to fill and empty. Counts and times only: the query selects no ticket, so
//! none can reach a page or a stream.
//!
//! One aggregate statement, written once for both databases (`$1`-style parameters read the
//! same on each; SQLite's times are RFC 3339 text in UTC, which compares as the instants do).

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::db::{Db, DbError, on_db};

/// One queue as read: its language (`None`: no language chosen) and its callers.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueCount {
    /// `kk`, `ru`, or `None` for callers who chose no language.
    pub language: Option<String>,
    /// Callers whose call is still due back (`due_at` after now): waiting, or being rung.
    pub waiting: i64,
    /// Of them, being rung (an operator reserved for them until after now).
    pub ringing: i64,
    /// When the first of them joined.
    pub first_joined: Option<DateTime<Utc>>,
}

/// The queue, as the desk reads it.
pub trait WaitingStore: Send + Sync {
    /// The queues with someone waiting at `now`; a queue nobody waits in is not listed.
    fn queues_now(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Vec<QueueCount>, DbError>> + Send;
}

/// Callers who hung up stop counting once their call is past due (`due_at`), whether or not
/// their row is deleted yet.
const QUEUES_NOW: &str = "SELECT language, COUNT(*) AS waiting, \
     SUM(CASE WHEN offered_until IS NOT NULL AND offered_until > $1 THEN 1 ELSE 0 END) AS ringing, \
     MIN(joined_at) AS first_joined \
     FROM queue_callers WHERE due_at > $1 GROUP BY language";

impl WaitingStore for Db {
    async fn queues_now(&self, now: DateTime<Utc>) -> Result<Vec<QueueCount>, DbError> {
        self.ready().await?;
        on_db!(self, db => db.queues_now(now))
    }
}

/// Implements [`WaitingStore`] on one database.
macro_rules! queue_sql {
    ($db:ty) => {
        impl WaitingStore for $db {
            async fn queues_now(&self, now: DateTime<Utc>) -> Result<Vec<QueueCount>, DbError> {
                Ok(sqlx::query_as(QUEUES_NOW).bind(now).fetch_all(self.reader()).await?)
            }
        }
    };
}

queue_sql!(crate::db::Sqlite);
queue_sql!(crate::db::Postgres);
