//! The roster in the database (issue 5): transfers rung from a roster stored in the
//! database and reloaded in the background, the `ivr operators` command, the JSON API, and
//! the store suite on SQLite and (when `IVR_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! A change to the database reaches the call path on the service's own schedule; tests
//! wait for it by placing calls until the expected operators are rung, never by sleeping.

mod api;
mod calls;
mod cli;
mod queue;
mod queue_stats;
mod state_store;
mod states;
mod store_suite;
mod transfer_stats;

use ivr::db::Db;
use ivr::operators::{NewOperator, RosterStore, StoredOperator};

use crate::helpers::{Call, Options, TestApp, spawn_app_with};
use crate::stats::support::{Backend, TestDatabase, eventually};

/// A running service and the database its roster lives in.
pub struct RosterApp {
    pub app: TestApp,
    pub store: Db,
    pub db: TestDatabase,
}

/// The service on a fresh database of `backend`, reloading the roster every 50 ms, ringing
/// every free operator at once unless told otherwise.
pub async fn roster_app(backend: &Backend, options: Options) -> RosterApp {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    let mut options = Options { database_url: Some(db.url.clone()), ..options };
    if !options.env.iter().any(|(name, _)| *name == "IVR_ROSTER_REFRESH_MS") {
        options.env.push(("IVR_ROSTER_REFRESH_MS", "50".to_owned()));
    }
    // Whom a transfer can ring is seen whole when every free operator is rung at once; the
    // queue's own tests (`queue.rs`) ring the one free longest, the default.
    if !options.env.iter().any(|(name, _)| *name == "IVR_QUEUE_STRATEGY") {
        options.env.push(("IVR_QUEUE_STRATEGY", "ring_all".to_owned()));
    }
    let app = spawn_app_with(options).await;
    RosterApp { app, store, db }
}

impl RosterApp {
    /// Puts an operator on the roster, straight into the database.
    pub async fn add(&self, name: &str, target: &str, languages: &str, available: bool) -> StoredOperator {
        let new = NewOperator::parse(name, target, languages, available).expect("valid test operator");
        self.store.add_operator(&new).await.expect("the operator is stored")
    }

    pub async fn store_set_available(&self, id: i64, available: bool) {
        self.store.set_available(id, available).await.expect("availability is stored");
    }

    pub async fn store_set_available_by_target(&self, target: &str, available: bool) {
        let operators = self.store.list_operators().await.expect("the roster");
        let operator = operators.iter().find(|o| o.target_text() == target).expect("an operator with that target");
        self.store_set_available(operator.id, available).await;
    }
}

/// What a caller waiting in the operators' queue is said to ring by [`rung_for`]: never a
/// roster's target, and not nobody.
pub const WAITING: &str = "(waiting in the queue)";

/// Who is rung for a caller of `language` who asks for an operator from the main menu
/// ([`WAITING`] if they wait in the queue). The caller then leaves the queue as a caller
/// would (the ring fails, and they go back to the main menu), so the next probe finds nobody
/// ahead of it and every operator free again.
pub async fn rung_for(app: &TestApp, language: &str) -> Vec<String> {
    let mut call = app.call_at("main", Some(language)).await;
    call.press("0").await;
    let waiting = call.listening() && call.node() == "operator";
    let rung = if waiting { vec![WAITING.to_owned()] } else { call.ringing() };
    leave_queue(&mut call).await;
    rung
}

/// The caller gives up their place in the operators' queue as a caller would: a ring in
/// progress fails, and they go back to the main menu ("2" on the busy menu, which any key
/// opens while waiting).
pub async fn leave_queue(call: &mut Call<'_>) {
    if !call.ringing().is_empty() {
        call.dial_ends("failed").await;
    }
    for _ in 0..2 {
        if call.node() != "main" {
            call.press("2").await;
        }
    }
    assert_eq!(call.node(), "main", "back in the main menu, out of the queue");
}

/// Waits until a caller of `language` asking for an operator rings exactly `expected`.
pub async fn rings_eventually(app: &TestApp, language: &str, expected: &[&str]) {
    let what = format!("a {language} caller rings {expected:?}");
    eventually(&what, || async { rung_for(app, language).await == expected }).await;
}
