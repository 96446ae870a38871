//! Operator states in the database: [`StateStore`], for SQLite and PostgreSQL alike (table
//! `operator_states`, migration `20261207000000_operator_states.sql`).
//!
//! A change is one transaction: the operator's roster row and state are read (PostgreSQL
//! first locks the roster row, then reads both in a statement of its own, which sees what
//! the transaction it waited for committed; so two instances reporting on one operator at
//! once apply one after the other), the pure transition of `state.rs` gives the new state, and what
//! changed is written back: the roster's `available` switch and the state row. A change
//! that changes nothing writes nothing. The state row also holds the queue's reservation of
//! the operator (`operators/queue`), written by the queue alone: a change that puts them on
//! a call, ends their call or makes them away ends it (see `ends_reservation`). An answer
//! also counts, in the same transaction, towards the operator's calls answered that day
//! (`operator_answers`, migration `20261207030000_queue_statistics.sql`): a count per
//! operator, never linked to the call.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::{RosterStore, StoredOperator};
use crate::db::{Db, on_db};
use crate::operators::input::RosterError;
use crate::operators::state::{Activity, AwayReason, Change, OperatorState};

/// The states of the roster's operators.
pub trait StateStore: Send + Sync {
    /// Every operator's id and stored state, by id.
    fn operator_states(&self) -> impl Future<Output = Result<Vec<(i64, OperatorState)>, RosterError>> + Send;

    /// One operator's stored state; [`RosterError::UnknownOperator`] if there is none with `id`.
    fn operator_state(&self, id: i64) -> impl Future<Output = Result<OperatorState, RosterError>> + Send;

    /// Applies `change` at `now` to one operator, in one transaction; the state after it.
    fn change_state(
        &self,
        id: i64,
        change: Change,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<OperatorState, RosterError>> + Send;
}

impl StateStore for Db {
    async fn operator_states(&self) -> Result<Vec<(i64, OperatorState)>, RosterError> {
        on_db!(self, db => db.operator_states())
    }
    async fn operator_state(&self, id: i64) -> Result<OperatorState, RosterError> {
        on_db!(self, db => db.operator_state(id))
    }
    async fn change_state(&self, id: i64, change: Change, now: DateTime<Utc>) -> Result<OperatorState, RosterError> {
        on_db!(self, db => db.change_state(id, change, now))
    }
}

/// Switches an operator's availability, as a change of state: on is available (a wrap-up
/// ends early, rings not answered are forgotten), off is away, made so `by` whom. What the
/// roster page, `PUT …/availability` and `ivr operators available|unavailable` do.
pub async fn switch_available(
    db: &Db,
    id: i64,
    available: bool,
    by: AwayReason,
) -> Result<StoredOperator, RosterError> {
    let change = if available { Change::MadeAvailable } else { Change::MadeAway(by) };
    db.change_state(id, change, Utc::now()).await?;
    db.operator(id).await
}

/// A roster row and its state row (all `None` when it has none), as both databases return
/// it; the queue reads its candidates' states into it too.
#[derive(sqlx::FromRow)]
pub(in crate::operators) struct StateRow {
    pub id: i64,
    pub available: bool,
    pub activity: Option<String>,
    pub activity_since: Option<DateTime<Utc>>,
    pub wrap_up_until: Option<DateTime<Utc>>,
    pub transfer: Option<i64>,
    pub unanswered_rings: Option<i32>,
    pub away_reason: Option<String>,
    pub away_since: Option<DateTime<Utc>>,
}

/// The columns every read returns, for `concat!` into `&'static str` SQL.
macro_rules! state_columns {
    () => {
        "o.id, o.available, s.activity, s.activity_since, s.wrap_up_until, s.transfer, s.unanswered_rings, \
         s.away_reason, s.away_since FROM operators o LEFT JOIN operator_states s ON s.operator_id = o.id"
    };
}

impl StateRow {
    /// The state the row holds. A value the CHECKs let through but this version cannot read
    /// (edited by hand) reads as free: the operator is rung, as before operator states.
    pub fn decode(self) -> (i64, OperatorState) {
        let activity = match (self.activity.as_deref(), self.transfer, self.wrap_up_until) {
            (Some("on_call"), Some(transfer), _) => {
                u32::try_from(transfer).map_or(Activity::Free, |transfer| Activity::OnCall { transfer })
            }
            (Some("wrap_up"), _, Some(until)) => Activity::WrapUp { until },
            _ => Activity::Free,
        };
        let state = OperatorState {
            available: self.available,
            activity,
            since: self.activity_since,
            unanswered_rings: self.unanswered_rings.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            away_reason: self.away_reason.as_deref().and_then(AwayReason::parse),
            away_since: self.away_since,
        };
        (self.id, state)
    }
}

/// The stored words of an activity: its name, its transfer and its wrap-up's end.
fn activity_columns(activity: Activity) -> (&'static str, Option<i64>, Option<DateTime<Utc>>) {
    match activity {
        Activity::Free => ("free", None, None),
        Activity::OnCall { transfer } => ("on_call", Some(i64::from(transfer)), None),
        Activity::WrapUp { until } => ("wrap_up", None, Some(until)),
    }
}

/// Whether `change` ends any reservation of the operator by the queue (`offered_ticket`,
/// `offered_until`): one who answered, whose call ended or who went away is not being rung
/// for a queued caller. A ring not answered does not: the state writer may apply it after
/// the ring's end released the operator and another caller reserved them, and it cannot
/// tell whose reservation it would clear (the ring's end releases its own, by ticket).
fn ends_reservation(change: Change) -> bool {
    match change {
        Change::Answered { .. } | Change::CallEnded { .. } | Change::MadeAway(_) => true,
        Change::NotAnswered { .. } | Change::MadeAvailable => false,
    }
}

/// Whether `change` is an answer to count in `operator_answers` (calls answered per operator
/// and day, for the reports): an answer, unless the operator is already on that very
/// transfer (the same answer reported again by another instance or a retried webhook).
fn newly_answered(change: Change, before: OperatorState) -> bool {
    match change {
        Change::Answered { transfer } => before.activity != Activity::OnCall { transfer },
        _ => false,
    }
}

/// Implements [`StateStore`] on one database; `$lock`, if any, locks the operator's row
/// before the change reads it (SQLite's write transaction already holds the whole file).
macro_rules! state_sql {
    ($db:ty, lock = $lock:expr) => {
        impl StateStore for $db {
            async fn operator_states(&self) -> Result<Vec<(i64, OperatorState)>, RosterError> {
                let sql = concat!("SELECT ", state_columns!(), " ORDER BY o.id");
                let rows: Vec<StateRow> = sqlx::query_as(sql).fetch_all(self.reader()).await?;
                Ok(rows.into_iter().map(StateRow::decode).collect())
            }

            async fn operator_state(&self, id: i64) -> Result<OperatorState, RosterError> {
                let sql = concat!("SELECT ", state_columns!(), " WHERE o.id = $1");
                let row: Option<StateRow> = sqlx::query_as(sql).bind(id).fetch_optional(self.reader()).await?;
                row.map(|row| row.decode().1).ok_or(RosterError::UnknownOperator(id))
            }

            async fn change_state(
                &self,
                id: i64,
                change: Change,
                now: DateTime<Utc>,
            ) -> Result<OperatorState, RosterError> {
                let mut tx = self.begin_write().await?;
                let lock: Option<&str> = $lock;
                if let Some(lock) = lock {
                    sqlx::query(lock).bind(id).execute(&mut *tx).await?;
                }
                let sql = concat!("SELECT ", state_columns!(), " WHERE o.id = $1");
                let row: Option<StateRow> = sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await?;
                let before = row.map(|row| row.decode().1).ok_or(RosterError::UnknownOperator(id))?;
                let after = before.after(change, now);
                if after == before {
                    return Ok(before);
                }
                // Every state row has a start; one the line never saw starts now.
                let after = OperatorState { since: Some(after.since.unwrap_or(now)), ..after };
                if after.available != before.available {
                    sqlx::query("UPDATE operators SET available = $1, updated_at = $2 WHERE id = $3")
                        .bind(after.available)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                let (activity, transfer, wrap_up_until) = activity_columns(after.activity);
                // A new row has no reservation; $10 ends the one an existing row has.
                let sql = "INSERT INTO operator_states (operator_id, activity, activity_since, wrap_up_until, transfer, \
                           unanswered_rings, away_reason, away_since, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                           ON CONFLICT (operator_id) DO UPDATE SET activity = excluded.activity, \
                           activity_since = excluded.activity_since, wrap_up_until = excluded.wrap_up_until, \
                           transfer = excluded.transfer, unanswered_rings = excluded.unanswered_rings, \
                           away_reason = excluded.away_reason, away_since = excluded.away_since, \
                           updated_at = excluded.updated_at, \
                           offered_ticket = CASE WHEN $10 THEN NULL ELSE operator_states.offered_ticket END, \
                           offered_until = CASE WHEN $10 THEN NULL ELSE operator_states.offered_until END";
                sqlx::query(sql)
                    .bind(id)
                    .bind(activity)
                    .bind(after.since)
                    .bind(wrap_up_until)
                    .bind(transfer)
                    .bind(i32::try_from(after.unanswered_rings).unwrap_or(i32::MAX))
                    .bind(after.away_reason.map(AwayReason::as_str))
                    .bind(after.away_since)
                    .bind(now)
                    .bind(ends_reservation(change))
                    .execute(&mut *tx)
                    .await?;
                if newly_answered(change, before) {
                    let sql = "INSERT INTO operator_answers (day, operator_id, answered) VALUES ($1, $2, 1) \
                               ON CONFLICT (day, operator_id) DO UPDATE SET answered = operator_answers.answered + 1";
                    sqlx::query(sql).bind(now.date_naive()).bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(after)
            }
        }
    };
}

state_sql!(crate::db::Sqlite, lock = None);
// In a statement of its own: a read joined to the locked row would see the state row as it
// was before the transaction it waited for (READ COMMITTED re-reads only the locked row).
state_sql!(crate::db::Postgres, lock = Some("SELECT id FROM operators WHERE id = $1 FOR UPDATE"));
