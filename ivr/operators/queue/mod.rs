//! The operators' queue: callers who asked for a person wait in one queue per language,
//! shared by every instance through the database, so that they are offered to operators in
//! order of arrival, as many at once as there are free operators, and an operator is offered
//! one caller at a time, whichever instance holds each call.
//!
//! A call never holds a database connection while it waits: every few seconds (after each
//! stretch of waiting it hears) its call asks again ([`QueueStore::ask`]), carrying its
//! [`Place`] in its own state (webhook URLs, the FastAGI channel variable), so any instance
//! can answer it and a caller whose instance is killed keeps their place. Each ask is one
//! short transaction: the caller's row says when they are due back, and either an operator
//! is reserved for them (their ring) or they hear their position.
//!
//! Nothing here is about who calls: a ticket is a random number drawn when the caller
//! joins, stored only in the queue's own row (migration `20261207020000_operator_queue.sql`).

mod announce;
mod store;

use std::future::Future;

use chrono::{DateTime, TimeDelta, Utc};

use crate::flow::Language;

pub use announce::{ANNOUNCE_EVERY, PACE_OVER, all_queue_prompts, announcement, due, expected_wait};

/// A caller's place in the queue, carried in their call's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Place {
    /// Drawn at random when they joined; the key of their row.
    pub ticket: Ticket,
    /// When they joined, to the millisecond: the queue's order (ties by ticket).
    pub joined_ms: i64,
}

/// A queued caller's random number: links to nothing else (never the call's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub i64);

impl Place {
    /// A new place for a caller joining at `now`.
    pub fn join(now: DateTime<Utc>) -> Place {
        // Positive, so the databases' signed 64-bit keys sort them the same way.
        let ticket = Ticket(i64::try_from(rand::random::<u64>() >> 1).unwrap_or(i64::MAX));
        Place { ticket, joined_ms: now.timestamp_millis() }
    }

    /// When the caller joined.
    pub fn joined_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.joined_ms).unwrap_or_default()
    }

    /// How long the caller has waited at `now`.
    pub fn waited(&self, now: DateTime<Utc>) -> TimeDelta {
        (now - self.joined_at()).max(TimeDelta::zero())
    }
}

/// Who is rung for a caller at the front of the queue: a setting (`IVR_QUEUE_STRATEGY`),
/// defined beside the settings.
pub use crate::config::QueueStrategy as Strategy;

/// A caller asking for their turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ask<'a> {
    /// Their place (the first ask of a new place joins the queue).
    pub place: Place,
    /// The queue: their language, or `None` when they chose none.
    pub queue: Option<Language>,
    /// Now.
    pub now: DateTime<Utc>,
    /// When their call will ask again if they wait: past it they count as gone.
    pub due: DateTime<Utc>,
    /// How long an operator reserved for them stays reserved: the ring and a margin.
    pub ring_until: DateTime<Utc>,
    /// The operators who may take this caller now, as the in-memory roster has them:
    /// available, not on a call or in wrap-up, of the caller's language (or any, once the
    /// language's longest wait has passed), and dialable by the caller's platform. The store
    /// checks each against the database (on the roster and available, free, not reserved)
    /// and orders them by how long they have been free.
    pub candidates: &'a [i64],
    /// Who to ring when it is this caller's turn.
    pub strategy: Strategy,
}

/// What the queue says to a caller who asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Ring these operators now: they are reserved for this caller until `ring_until`.
    Ring(Vec<i64>),
    /// Nobody for them yet: they are `position`th in their queue (1: next).
    Wait {
        /// Callers of their queue waiting ahead of them (not those being rung), plus one.
        position: u32,
    },
}

/// The queue in the database, for SQLite and PostgreSQL alike.
pub trait QueueStore: Send + Sync {
    /// Joins the queue (a place not seen before) or asks again, in one transaction: any
    /// operator still reserved for the caller's last ring is released (a caller who asks is
    /// not being rung), the caller's row is written (due back at `ask.due`), then either an
    /// operator is reserved for them (when fewer callers wait ahead of them than there are
    /// free, unreserved candidates: the one free longest after those the callers ahead will
    /// take; with [`Strategy::RingAll`], the caller at the front reserves every free
    /// candidate) and their row says they are being rung, or they are told their position.
    /// A reservation two instances race for goes to one of them; the other caller tries the
    /// next free candidate (longest free) or waits. Callers ahead who hung up stop counting
    /// once their `due` passes.
    ///
    /// The callers ahead and the candidates are read at one moment, so callers who are all
    /// in the queue and ask at once (on any instances) are rung in order of arrival: those
    /// with fewer callers not being rung ahead of them than there are free candidates, each
    /// with an operator of their own. A caller who joins for the first time is not yet
    /// ahead of anyone: one joining at the same moment as an earlier caller's ask may be rung
    /// before them.
    ///
    /// Statements in the transaction: the release of the caller's last ring, one read and
    /// the caller's row when they wait; one
    /// reservation more when rung (more only when a race was lost, or one per operator with
    /// ring-all); and once a minute per process, a deletion of rows long past due.
    fn ask(&self, ask: &Ask<'_>) -> impl Future<Output = Result<Offer, sqlx::Error>> + Send;

    /// How many times a caller was rung out of the `queue` of this language since `since`:
    /// how fast it moves, for the expected wait. One read, no lock.
    fn rung_since(
        &self,
        queue: Option<Language>,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<u32, sqlx::Error>> + Send;

    /// The ring for `ticket` ended: its reservations are released. A caller not put through
    /// asks again and keeps their place. This is the only release of a ring not answered
    /// (besides `ring_until` passing): [`Change::NotAnswered`](crate::operators::Change)
    /// makes the operator the most recently free, so the caller's next ask offers them to
    /// the next free operator, but leaves the reservation alone, since the state writer may
    /// apply it after another caller reserved the operator.
    fn ring_ended(&self, ticket: Ticket) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The ring for `ticket` is still on (a FastAGI `Dial`, whose answer and call the line
    /// only learns when it returns): its reservations, and the caller's row, last until
    /// `until`.
    fn hold(&self, ticket: Ticket, until: DateTime<Utc>) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The caller was put through to `operator` (their whisper was fetched): their row is
    /// deleted and every other operator their ring reserved is released at once (ringing
    /// all, the others stop ringing when one answers). `operator`'s own reservation is left
    /// for the state change that puts them on a call to end, so no other caller can ring
    /// them in between.
    fn answered(&self, ticket: Ticket, operator: i64) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The caller left the queue (put through, moved on to the menus or the police, hung
    /// up): their row and any reservation for them are deleted.
    fn leave(&self, ticket: Ticket) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}
