//! The queue in the database: [`QueueStore`] for SQLite and PostgreSQL alike (tables
//! `queue_callers` and the reservation columns of `operator_states`, migration
//! `20261207020000_operator_queue.sql`).
//!
//! An ask is one write transaction of a few statements: one read, in a single statement so
//! both halves see the same moment, of the callers ahead and of the candidates' states;
//! then a conditional reservation of an operator, for a caller whose turn it is; then the
//! caller's own row. A reservation is an upsert that writes only while the operator is still
//! free and not reserved, so when two callers race for one operator (two instances on
//! PostgreSQL, whose upserts wait on the row and then re-check it) one of them gets nothing
//! back and tries the next or waits. SQLite's one writer runs asks one after the other.
//! Rows of callers long gone are deleted by an ask now and then (at most once a minute in
//! each process), so a caller who waits costs the same few statements whatever happened
//! before.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

use super::{Ask, Offer, QueueStore, Strategy, Ticket};
use crate::db::{Db, on_db};
use crate::flow::Language;
use crate::operators::MAX_RUNG;
use crate::operators::state::{LONGEST_CALL, State};
use crate::operators::store::StateRow;

/// How long the rings of [`QueueStore::rung_since`] are kept (the pace is read over less).
const PACE_KEPT: TimeDelta = TimeDelta::hours(1);

/// A caller's row this long past due is deleted (it has not counted since `due_at`).
const FORGET_AFTER: TimeDelta = TimeDelta::minutes(10);

impl QueueStore for Db {
    async fn ask(&self, ask: &Ask<'_>) -> Result<Offer, sqlx::Error> {
        on_db!(self, db => db.ask(ask))
    }
    async fn ring_ended(&self, ticket: Ticket) -> Result<(), sqlx::Error> {
        on_db!(self, db => db.ring_ended(ticket))
    }
    async fn rung_since(&self, queue: Option<Language>, since: DateTime<Utc>) -> Result<u32, sqlx::Error> {
        on_db!(self, db => db.rung_since(queue, since))
    }
    async fn hold(&self, ticket: Ticket, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on_db!(self, db => db.hold(ticket, until))
    }
    async fn answered(&self, ticket: Ticket, operator: i64) -> Result<(), sqlx::Error> {
        on_db!(self, db => db.answered(ticket, operator))
    }
    async fn leave(&self, ticket: Ticket) -> Result<(), sqlx::Error> {
        on_db!(self, db => db.leave(ticket))
    }
}

/// The one read of an ask: the callers waiting ahead (on every row), and per candidate found on the
/// roster its roster row and state row (`id` `None` on the one row there is when none is).
#[derive(sqlx::FromRow)]
struct AskRow {
    /// Callers ahead in the queue not being rung.
    waiting: i64,
    id: Option<i64>,
    available: Option<bool>,
    activity: Option<String>,
    activity_since: Option<DateTime<Utc>>,
    wrap_up_until: Option<DateTime<Utc>>,
    transfer: Option<i64>,
    unanswered_rings: Option<i32>,
    away_reason: Option<String>,
    away_since: Option<DateTime<Utc>>,
    offered_until: Option<DateTime<Utc>>,
}

/// The candidate a row holds, free since when, if they are free and not reserved at `now`.
fn free_candidate(row: AskRow, now: DateTime<Utc>) -> Option<(i64, Option<DateTime<Utc>>)> {
    let reserved = row.offered_until.is_some_and(|until| until >= now);
    let state_row = StateRow {
        id: row.id?,
        available: row.available?,
        activity: row.activity,
        activity_since: row.activity_since,
        wrap_up_until: row.wrap_up_until,
        transfer: row.transfer,
        unanswered_rings: row.unanswered_rings,
        away_reason: row.away_reason,
        away_since: row.away_since,
    };
    let (id, state) = state_row.decode();
    (state.at(now) == State::Available && !reserved).then(|| (id, state.free_since()))
}

/// The free candidates, the one free longest first (one the line has seen nothing of before
/// all others), ties by id.
fn longest_free_first(mut free: Vec<(i64, Option<DateTime<Utc>>)>) -> Vec<i64> {
    free.sort_by_key(|&(id, since)| (since, id));
    free.into_iter().map(|(id, _)| id).collect()
}

/// Whom a caller with `waiting_ahead` callers ahead not being rung tries to reserve, in
/// order, out of `free` (longest free first): with [`Strategy::LongestFree`], the first one
/// the callers ahead leave (each takes one), then the next if a race took them, stopping at
/// the first reserved; with [`Strategy::RingAll`], at the front only, every free one (at
/// most [`MAX_RUNG`], those free longest), by id, all of them.
fn to_reserve(strategy: Strategy, waiting_ahead: usize, free: &[i64]) -> Vec<i64> {
    match strategy {
        Strategy::LongestFree => free.get(waiting_ahead..).unwrap_or_default().to_vec(),
        Strategy::RingAll if waiting_ahead == 0 => {
            let mut all = free.iter().copied().take(MAX_RUNG).collect::<Vec<_>>();
            // One order for every caller's transaction: row locks taken in it cannot deadlock.
            all.sort_unstable();
            all
        }
        Strategy::RingAll => Vec::new(),
    }
}

/// Whether an ask at `now` also deletes the rows of callers long gone: the first ask of
/// each minute in this process (`last` holds the minute of the last one).
fn forget_now(last: &AtomicI64, now: DateTime<Utc>) -> bool {
    let minute = now.timestamp().div_euclid(60);
    last.swap(minute, Ordering::Relaxed) != minute
}

/// The minute of this process's last deletion of callers long gone.
static LAST_FORGOTTEN: AtomicI64 = AtomicI64::new(i64::MIN);

/// The read of an ask (see [`AskRow`]): `$5` holds the candidates' ids, matched by
/// `$candidates`, each database's way of a list in one parameter; `$queue` picks the
/// caller's queue by `$1`, their language, in a form the `queue_callers_in_order` index
/// serves (PostgreSQL scans the whole table for `IS NOT DISTINCT FROM`).
macro_rules! ask_read {
    ($candidates:literal, $queue:literal) => {
        concat!(
            "WITH ahead AS (SELECT \
             COUNT(CASE WHEN offered_until IS NULL OR offered_until < $2 THEN 1 END) AS waiting \
             FROM queue_callers WHERE ",
            $queue,
            " AND due_at >= $2 \
             AND joined_at <= $3 AND (joined_at < $3 OR ticket < $4)) \
             SELECT a.waiting, o.id, o.available, s.activity, s.activity_since, s.wrap_up_until, \
             s.transfer, s.unanswered_rings, s.away_reason, s.away_since, s.offered_until \
             FROM ahead a LEFT JOIN operators o ON ",
            $candidates,
            " LEFT JOIN operator_states s ON s.operator_id = o.id ORDER BY o.id"
        )
    };
}

/// Reserves operator `$1` for ticket `$4` until `$5`, unless someone reserved them first or
/// they stopped being free: an operator with no state row gets one, free since `$2` (the
/// distant past: free longest, as before). Returns the id when it reserved them.
const RESERVE: &str = "INSERT INTO operator_states (operator_id, activity, activity_since, unanswered_rings, \
                       updated_at, offered_ticket, offered_until) VALUES ($1, 'free', $2, 0, $3, $4, $5) \
                       ON CONFLICT (operator_id) DO UPDATE SET offered_ticket = excluded.offered_ticket, \
                       offered_until = excluded.offered_until \
                       WHERE (operator_states.offered_until IS NULL OR operator_states.offered_until < $3) \
                       AND (operator_states.activity = 'free' \
                       OR (operator_states.activity = 'wrap_up' AND operator_states.wrap_up_until <= $3) \
                       OR (operator_states.activity = 'on_call' AND operator_states.activity_since <= $6)) \
                       RETURNING operator_id";

/// Writes the caller's row: due back at `$4`, being rung until `$5` (or not, `NULL`).
const UPSERT_CALLER: &str = "INSERT INTO queue_callers (ticket, language, joined_at, due_at, offered_until) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ticket) DO UPDATE SET \
                             language = excluded.language, joined_at = excluded.joined_at, \
                             due_at = excluded.due_at, offered_until = excluded.offered_until";

/// Releases every operator reserved for ticket `$1`.
const RELEASE: &str =
    "UPDATE operator_states SET offered_ticket = NULL, offered_until = NULL WHERE offered_ticket = $1";

/// [`RELEASE`], returning whom it released.
const RELEASE_RETURNING: &str = "UPDATE operator_states SET offered_ticket = NULL, offered_until = NULL \
                                 WHERE offered_ticket = $1 RETURNING operator_id";

/// Implements the queue on one database: `$candidates` matches the candidates' ids bound as
/// `$bind` makes them (see [`ask_read`]).
macro_rules! queue_sql {
    ($db:ty, candidates = $candidates:literal, bind = $bind:expr) => {
        impl $db {
            async fn ask(&self, ask: &Ask<'_>) -> Result<Offer, sqlx::Error> {
                let mut tx = self.begin_write().await?;
                // A caller who asks is not being rung: whoever their last ring reserved is
                // released, and is not rung for them again on this ask (a ring not answered
                // moves on to the next free operator, whenever the state writer records it).
                let released: Vec<i64> =
                    sqlx::query_scalar(RELEASE_RETURNING).bind(ask.place.ticket.0).fetch_all(&mut *tx).await?;
                if forget_now(&LAST_FORGOTTEN, ask.now) {
                    sqlx::query("DELETE FROM queue_callers WHERE due_at < $1")
                        .bind(ask.now - FORGET_AFTER)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM queue_rings WHERE rung_at < $1")
                        .bind(ask.now - PACE_KEPT)
                        .execute(&mut *tx)
                        .await?;
                }
                let language = ask.queue.map(|language| language.code());
                let read = match language {
                    Some(_) => ask_read!($candidates, "language = $1"),
                    None => ask_read!($candidates, "language IS NULL AND $1 IS NULL"),
                };
                let rows: Vec<AskRow> = sqlx::query_as(read)
                    .bind(language)
                    .bind(ask.now)
                    .bind(ask.place.joined_at())
                    .bind(ask.place.ticket.0)
                    .bind($bind(ask.candidates))
                    .fetch_all(&mut *tx)
                    .await?;
                let waiting = rows.first().map_or(0, |row| row.waiting);
                let free = longest_free_first(
                    rows.into_iter()
                        .filter_map(|row| free_candidate(row, ask.now))
                        .filter(|(id, _)| !released.contains(id))
                        .collect(),
                );
                let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
                let mut rung = Vec::new();
                for id in to_reserve(ask.strategy, waiting, &free) {
                    let reserved: Option<i64> = sqlx::query_scalar(RESERVE)
                        .bind(id)
                        .bind(DateTime::<Utc>::UNIX_EPOCH)
                        .bind(ask.now)
                        .bind(ask.place.ticket.0)
                        .bind(ask.ring_until)
                        .bind(ask.now - LONGEST_CALL)
                        .fetch_optional(&mut *tx)
                        .await?;
                    rung.extend(reserved);
                    if ask.strategy == Strategy::LongestFree && !rung.is_empty() {
                        break;
                    }
                }
                if !rung.is_empty() {
                    sqlx::query("INSERT INTO queue_rings (language, rung_at) VALUES ($1, $2)")
                        .bind(language)
                        .bind(ask.now)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(UPSERT_CALLER)
                    .bind(ask.place.ticket.0)
                    .bind(language)
                    .bind(ask.place.joined_at())
                    .bind(ask.due)
                    .bind((!rung.is_empty()).then_some(ask.ring_until))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                if rung.is_empty() {
                    let position = u32::try_from(waiting.saturating_add(1)).unwrap_or(u32::MAX);
                    return Ok(Offer::Wait { position });
                }
                Ok(Offer::Ring(rung))
            }

            async fn rung_since(&self, queue: Option<Language>, since: DateTime<Utc>) -> Result<u32, sqlx::Error> {
                let language = queue.map(|language| language.code());
                let sql = match language {
                    Some(_) => "SELECT COUNT(*) FROM queue_rings WHERE language = $1 AND rung_at >= $2",
                    None => "SELECT COUNT(*) FROM queue_rings WHERE language IS NULL AND $1 IS NULL AND rung_at >= $2",
                };
                let count: i64 = sqlx::query_scalar(sql).bind(language).bind(since).fetch_one(self.reader()).await?;
                Ok(u32::try_from(count).unwrap_or(u32::MAX))
            }

            async fn ring_ended(&self, ticket: Ticket) -> Result<(), sqlx::Error> {
                let mut tx = self.begin_write().await?;
                sqlx::query(RELEASE).bind(ticket.0).execute(&mut *tx).await?;
                sqlx::query("UPDATE queue_callers SET offered_until = NULL WHERE ticket = $1")
                    .bind(ticket.0)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }

            async fn hold(&self, ticket: Ticket, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE operator_states SET offered_until = $2 WHERE offered_ticket = $1")
                    .bind(ticket.0)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE queue_callers SET offered_until = $2, due_at = $2 WHERE ticket = $1")
                    .bind(ticket.0)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }

            async fn answered(&self, ticket: Ticket, operator: i64) -> Result<(), sqlx::Error> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "UPDATE operator_states SET offered_ticket = NULL, offered_until = NULL \
                     WHERE offered_ticket = $1 AND operator_id <> $2",
                )
                .bind(ticket.0)
                .bind(operator)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM queue_callers WHERE ticket = $1").bind(ticket.0).execute(&mut *tx).await?;
                tx.commit().await
            }

            async fn leave(&self, ticket: Ticket) -> Result<(), sqlx::Error> {
                let mut tx = self.begin_write().await?;
                sqlx::query(RELEASE).bind(ticket.0).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM queue_callers WHERE ticket = $1").bind(ticket.0).execute(&mut *tx).await?;
                tx.commit().await
            }
        }
    };
}

// SQLite has no arrays: the ids travel as one JSON array, read back by `json_each`.
queue_sql!(
    crate::db::Sqlite,
    candidates = "o.id IN (SELECT value FROM json_each($5))",
    bind = |ids: &[i64]| serde_json::to_string(ids).unwrap_or_else(|_| String::from("[]"))
);
queue_sql!(crate::db::Postgres, candidates = "o.id = ANY($5)", bind = |ids: &[i64]| ids.to_vec());

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    #[test]
    fn the_operator_free_longest_comes_first_and_one_never_seen_before_all() {
        let free = vec![(3, Some(at(10))), (1, Some(at(20))), (4, None), (2, Some(at(10))), (9, None)];
        assert_eq!(longest_free_first(free), [4, 9, 2, 3, 1]);
    }

    #[test]
    fn a_caller_leaves_the_operators_free_longest_to_the_callers_ahead() {
        let free = [7, 5, 9];
        assert_eq!(to_reserve(Strategy::LongestFree, 0, &free), [7, 5, 9]);
        assert_eq!(to_reserve(Strategy::LongestFree, 2, &free), [9]);
        assert!(to_reserve(Strategy::LongestFree, 3, &free).is_empty());
        assert!(to_reserve(Strategy::LongestFree, 4, &free).is_empty());
    }

    #[test]
    fn ring_all_rings_every_free_operator_for_the_caller_at_the_front_only() {
        let free: Vec<i64> = (1..=12).rev().collect();
        assert_eq!(to_reserve(Strategy::RingAll, 0, &free), (3..=12).collect::<Vec<_>>(), "the 10 free longest");
        assert!(to_reserve(Strategy::RingAll, 1, &free).is_empty());
    }

    #[test]
    fn callers_long_gone_are_forgotten_once_a_minute() {
        let last = AtomicI64::new(i64::MIN);
        assert!(forget_now(&last, at(0)));
        assert!(!forget_now(&last, at(30)));
        assert!(forget_now(&last, at(60)));
        assert!(!forget_now(&last, at(119)));
    }
}
