//! Keeps the call path's roster snapshot close to the database without the call path ever
//! touching it: a task reloads the roster every `IVR_ROSTER_REFRESH_MS`, and at once when
//! it was changed through this instance (its roster page or `/api/v1/operators`; a change
//! by `ivr operators` waits for the schedule). When the database does not answer, the last
//! snapshot stays (an operator list a few minutes old rings people; an empty one rings
//! nobody), a warning is logged once, and another when it answers again.
//!
//! Each reload also reads the operators' states and works out, with this instance's clock,
//! the state each is in now (a wrap-up that has run out is available again). When a reload
//! fails, the snapshot's states are marked stale: routing then rings every operator whose
//! roster switch is on, as before operator states, and `/readyz` says so.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::input::RosterError;
use super::state::OperatorState;
use super::store::{RosterStore, StateStore, StoredOperator};
use super::{LiveRoster, NOBODY_TO_RING, Operator, Roster};
use crate::db::Db;

/// A reload that takes longer is abandoned; the next one starts on schedule.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the refresh task; it runs until aborted. Needs a Tokio runtime.
pub fn spawn_refresh(roster: Arc<LiveRoster>, db: Db, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut refresh = Refresh::default();
        loop {
            refresh.reload(&db, &roster).await;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = roster.change_requested() => {}
            }
        }
    })
}

#[derive(Default)]
struct Refresh {
    /// Whether the last roster loaded had someone to ring (`None` before the first load):
    /// the loud warning is said once when nobody can be rung, and again after it changes.
    someone_to_ring: Option<bool>,
    /// The last reload failed and was reported.
    failing: bool,
}

impl Refresh {
    async fn reload(&mut self, db: &Db, roster: &LiveRoster) {
        match tokio::time::timeout(LOAD_TIMEOUT, self.load(db)).await {
            Ok(Ok(operators)) => {
                // The switchboard is configuration: it stays as it was.
                let switchboard = roster.snapshot().switchboard.clone();
                let loaded = Roster { operators, switchboard, states_stale: false };
                let someone = loaded.someone_to_ring();
                roster.replace(loaded);
                match (self.someone_to_ring.replace(someone), someone) {
                    (None | Some(true), false) => tracing::warn!("{NOBODY_TO_RING}"),
                    (Some(false), true) => tracing::info!("an operator or the switchboard can be rung again"),
                    _ => {}
                }
                if std::mem::take(&mut self.failing) {
                    tracing::info!("operator roster reloaded: the database answers again");
                }
            }
            Ok(Err(error)) => self.failed(roster, &error.to_string()),
            Err(_) => self.failed(roster, "the database did not answer in time"),
        }
    }

    async fn load(&self, db: &Db) -> Result<Vec<Operator>, RosterError> {
        // The roster table exists once the migrations ran (whoever ran them).
        db.ready().await?;
        let states = db.operator_states().await?;
        let now = chrono::Utc::now();
        let stored = db.list_operators().await?;
        let operators = stored.iter().map(StoredOperator::to_operator).map(|mut operator| {
            // An operator added between the two reads has no state read yet: their switch says.
            if let Some((_, state)) = states.iter().find(|(id, _)| *id == operator.id) {
                operator.state = OperatorState { available: operator.available, ..*state }.at(now);
            }
            operator
        });
        Ok(operators.collect())
    }

    fn failed(&mut self, roster: &LiveRoster, why: &str) {
        roster.mark_states_stale();
        if !std::mem::replace(&mut self.failing, true) {
            tracing::warn!(
                error = why,
                "cannot reload the operator roster: transfers use the last one loaded, and ring its available \
                 operators whatever their state"
            );
        }
    }
}
