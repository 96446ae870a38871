//! The operators' queue on the call path: a step that puts a caller through to operators
//! asks the queue (`operators::queue`, shared by every instance through the database) for
//! their turn, and the caller is either rung through to whoever it offers or hears their
//! place and waits, asking again after every stretch of waiting.
//!
//! Nothing the emergency key needs waits here: only a step towards operators asks the
//! queue, and for at most [`ASK_TIMEOUT`]. When the database does not answer in time (or
//! did not at the roster's last reload), the caller is rung through as before the queue:
//! every available operator from the in-memory roster ([`super::settle`]).
//!
//! Once a caller has waited their language's longest wait (`IVR_QUEUE_LONGEST_WAIT_SECONDS`)
//! with nobody of their language free, operators of the other language may take them; with
//! nobody free at all, the switchboard is rung, and without one they hear the busy menu,
//! their place kept for when they ask again.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Callee, Line, Turn, settle};
use crate::flow::{CallState, Event, Instruction, PromptKey, QueuePlace, Step};
use crate::operators::queue::{self, Ask, Offer, Place, QueueStore, Ticket};
use crate::operators::{Roster, Route};
use crate::stats::CallEvent;

/// The longest a step towards operators waits for the queue's answer before the caller is
/// rung through from the in-memory roster instead.
pub const ASK_TIMEOUT: Duration = Duration::from_millis(400);

/// Beyond the stretch of waiting and what plays before it, how late a caller's next ask may
/// come before the queue counts them gone (a slow platform, a retried webhook).
const DUE_MARGIN: TimeDelta = TimeDelta::seconds(15);

/// The longest an announcement and the transfer's prompt before it play, for when a waiting
/// caller is due back.
const LONGEST_ANNOUNCEMENT: TimeDelta = TimeDelta::seconds(20);

/// Beyond the ring itself, how long an operator offered a caller stays reserved for them
/// (the transfer's prompt, the platform setting up the dial, the whisper).
const RING_MARGIN: TimeDelta = TimeDelta::seconds(20);

/// How often a ring the line cannot see into has its reservations held on.
const HOLD_EVERY: Duration = Duration::from_secs(20);

/// How long each hold lasts: past it without another, the reservations lapse by themselves.
const HOLD_FOR: TimeDelta = TimeDelta::seconds(45);

/// Keeps the operators rung for a queued caller reserved while a transfer the line cannot
/// see into runs: a FastAGI `Dial` returns only when the call it connected is over, and the
/// line learns who answered only then, so without it the reservation would lapse while the
/// operator talks and another caller would ring them. Stops when dropped.
pub struct HeldRing(tokio::task::JoinHandle<()>);

impl Drop for HeldRing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<'a> Line<'a> {
    /// Holds the ring of the caller at `place` (see [`HeldRing`]); `None` for a caller not
    /// in the queue.
    pub fn hold_ring(&self, place: Option<QueuePlace>) -> Option<HeldRing> {
        let ticket = Ticket(place?.ticket);
        let store = self.queue.clone();
        Some(HeldRing(tokio::spawn(async move {
            let mut every = tokio::time::interval(HOLD_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let held = tokio::time::timeout(ASK_TIMEOUT, store.hold(ticket, Utc::now() + HOLD_FOR)).await;
                if !matches!(held, Ok(Ok(()))) {
                    tracing::warn!("the operators' queue did not hold a ring on: it lapses by itself");
                }
            }
        })))
    }

    /// The turn for `step`: through the queue when it puts the caller through to operators
    /// and the queue answers, else by the roster as before the queue.
    pub(super) async fn settled(&self, step: Step<'a>, extra: Vec<CallEvent>, roster: &Roster) -> Turn<'a> {
        if matches!(step.say, Instruction::OperatorTransfer { .. }) && !roster.states_stale {
            let now = Utc::now();
            let place = step.next.queue.unwrap_or_else(|| joining(now));
            // Waiting is for someone at the desk to be free; with nobody who speaks their
            // language at the desk, the caller goes on at once.
            let overflow = !roster.at_desk_for(step.next.language)
                || self.queue_settings.longest_wait_seconds <= waited_seconds(&place, now);
            let (route, candidates) = roster.queue_candidates(step.next.language, overflow);
            if overflow && candidates.is_empty() {
                return settle(self.flow, step, &roster.switchboard_only(), extra);
            }
            let ask = self.ask(&step, &place, now, &candidates);
            match tokio::time::timeout(ASK_TIMEOUT, self.queue.ask(&ask)).await {
                Ok(Ok(Offer::Ring(ids))) => return self.ring(step, extra, place, (route, &ids), roster).await,
                Ok(Ok(Offer::Wait { .. })) if overflow => {
                    let mut step = step;
                    step.next.queue = Some(place);
                    return settle(self.flow, step, &roster.switchboard_only(), extra);
                }
                Ok(Ok(Offer::Wait { position })) => {
                    let told = self.told(&step, &place, position, now).await;
                    let stretch = self.queue_settings.wait_seconds;
                    return waiting(step, extra, (place, told), now, stretch);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "the operators' queue did not answer: ringing from the roster")
                }
                Err(_) => tracing::warn!("the operators' queue did not answer in time: ringing from the roster"),
            }
        }
        settle(self.flow, step, roster, extra)
    }

    /// What a caller `position`th in their queue is told now: nothing while their position
    /// is unchanged or was said under [`queue::ANNOUNCE_EVERY`] ago; else the position, with
    /// the expected wait when the queue's pace tells it (one read, for at most
    /// [`ASK_TIMEOUT`]: past it, the position alone).
    async fn told(&self, step: &Step<'_>, place: &QueuePlace, position: u32, now: DateTime<Utc>) -> Told {
        let now_seconds = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
        if !queue::due(position, place.told_position, place.told_at, now_seconds) {
            return Told { position, announcement: Vec::new() };
        }
        let rung = self.queue.rung_since(step.next.language, now - queue::PACE_OVER);
        let expected = match tokio::time::timeout(ASK_TIMEOUT, rung).await {
            Ok(Ok(rung)) => queue::expected_wait(position, rung),
            _ => None,
        };
        Told { position, announcement: queue::announcement(position, expected) }
    }

    /// What a caller asking at `now` tells the queue.
    fn ask<'c>(&self, step: &Step<'_>, place: &QueuePlace, now: DateTime<Utc>, candidates: &'c [i64]) -> Ask<'c> {
        let ring_seconds = match step.say {
            Instruction::OperatorTransfer { ring_seconds, .. } => ring_seconds,
            _ => 0,
        };
        let wait = TimeDelta::seconds(i64::from(self.queue_settings.wait_seconds));
        Ask {
            place: Place { ticket: Ticket(place.ticket), joined_ms: place.joined_ms },
            queue: step.next.language,
            now,
            due: now + LONGEST_ANNOUNCEMENT + wait + DUE_MARGIN,
            ring_until: now + TimeDelta::seconds(i64::from(ring_seconds)) + RING_MARGIN,
            candidates,
            strategy: self.queue_settings.strategy,
        }
    }

    /// The queue offered the caller to `ids`: they are rung, their place kept until the ring
    /// ends. An operator removed from the roster meanwhile is left out; if nobody is left,
    /// the reservation is given back and the caller is rung from the roster.
    async fn ring(
        &self,
        mut step: Step<'a>,
        mut extra: Vec<CallEvent>,
        place: QueuePlace,
        (route, ids): (Route, &[i64]),
        roster: &Roster,
    ) -> Turn<'a> {
        step.next.queue = Some(place);
        let default = self.flow.default_language;
        let callees: Vec<Callee> = ids
            .iter()
            .filter_map(|id| roster.ring_of(*id, step.next.language, default))
            .map(|r| Callee { target: r.target.clone(), whisper: r.whisper, operator: r.operator })
            .collect();
        if callees.is_empty() {
            self.give_back(Ticket(place.ticket)).await;
            return settle(self.flow, step, roster, extra);
        }
        super::counted_round(&mut step);
        extra.push(CallEvent::Rung { operators: u8::try_from(callees.len()).unwrap_or(u8::MAX), route });
        Turn { step, callees, events: extra, passed: Vec::new(), ringing: None }
    }

    /// Gives back the operators reserved for `ticket`, for at most [`ASK_TIMEOUT`].
    async fn give_back(&self, ticket: Ticket) {
        match tokio::time::timeout(ASK_TIMEOUT, self.queue.ring_ended(ticket)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the operators' queue could not release a reservation"),
            Err(_) => tracing::warn!("the operators' queue did not release a reservation in time"),
        }
    }

    /// The caller at `place` was put through to `operator`: out of the queue, the others
    /// rung for them released; for at most [`ASK_TIMEOUT`].
    pub(super) async fn put_through(&self, place: QueuePlace, operator: i64) {
        match tokio::time::timeout(ASK_TIMEOUT, self.queue.answered(Ticket(place.ticket), operator)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the operators' queue could not put a caller through"),
            Err(_) => tracing::warn!("the operators' queue did not put a caller through in time"),
        }
    }

    /// What the queue must know once the caller at `before` (their state when the request
    /// came) has taken `turn`: that they gave up their place (put through, the main menu,
    /// the police), or that the ring they had ended and they are not asking again (a menu
    /// while they keep their place). A caller who asks again needs nothing here: the ask
    /// itself gives back their last ring. For at most [`ASK_TIMEOUT`], and never awaited
    /// before the police are dialled: that is done beside the call. A caller who hangs up
    /// is not told here: their place lapses when they are no longer due back.
    pub(super) async fn tell_queue(&self, before: &CallState, rang: bool, turn: &Turn<'_>) {
        let Some(place) = before.queue else { return };
        let ticket = Ticket(place.ticket);
        if turn.step.next.queue.is_none() {
            if matches!(turn.step.say, Instruction::EmergencyTransfer { .. }) {
                let store = self.queue.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(ASK_TIMEOUT, store.leave(ticket)).await;
                });
                return;
            }
            match tokio::time::timeout(ASK_TIMEOUT, self.queue.leave(ticket)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(%error, "the operators' queue could not forget a caller who left it"),
                Err(_) => tracing::warn!("the operators' queue did not forget a caller who left it in time"),
            }
        } else if rang && !matches!(turn.step.say, Instruction::OperatorTransfer { .. }) {
            self.give_back(ticket).await;
        }
    }
}

/// A waiting caller's position, and what they are told of it on this turn (nothing when
/// it is not due).
struct Told {
    position: u32,
    announcement: Vec<&'static PromptKey>,
}

/// A new place for a caller joining at `now`.
fn joining(now: DateTime<Utc>) -> QueuePlace {
    let place = Place::join(now);
    QueuePlace { ticket: place.ticket.0, joined_ms: place.joined_ms, told_position: 0, told_at: 0 }
}

/// Whole seconds a caller at `place` has waited at `now`.
fn waited_seconds(place: &QueuePlace, now: DateTime<Utc>) -> u32 {
    let waited = now.timestamp_millis().saturating_sub(place.joined_ms) / 1000;
    u32::try_from(waited.max(0)).unwrap_or(u32::MAX)
}

/// Nobody for the caller yet: they hear the transfer's own prompt when they have just
/// asked for a person, then their position when it is due, then silence while the line
/// waits for a key, and ask again when it ends. Not a round of ringing: the round the flow
/// counted on reaching the transfer is taken back, and the ring counts it.
fn waiting<'f>(
    mut step: Step<'f>,
    mut extra: Vec<CallEvent>,
    (mut place, told): (QueuePlace, Told),
    now: DateTime<Utc>,
    stretch_seconds: u8,
) -> Turn<'f> {
    let position = told.position;
    let joined = step.next.queue.is_none();
    let before = step.events.len();
    step.events.retain(|e| !matches!(e, Event::OperatorTransfer { .. }));
    if step.events.len() < before {
        step.next.rounds = step.next.rounds.saturating_sub(1);
    }
    let Instruction::OperatorTransfer { prompts, .. } = &step.say else {
        return Turn { step, callees: Vec::new(), events: extra, passed: Vec::new(), ringing: None };
    };
    let mut prompts = prompts.clone();
    if !told.announcement.is_empty() {
        prompts.extend(told.announcement);
        place.told_position = u16::try_from(position).unwrap_or(u16::MAX);
        place.told_at = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
    }
    if joined {
        extra.push(CallEvent::Queued { position: i32::try_from(position).unwrap_or(i32::MAX) });
    }
    step.next.queue = Some(place);
    step.say = Instruction::Gather { prompts, timeout_seconds: stretch_seconds };
    Turn { step, callees: Vec::new(), events: extra, passed: Vec::new(), ringing: None }
}
