//! `GET /healthz`: the process answers HTTP. `GET /readyz`: this instance is fit to be sent
//! calls: its flow and prompts are loaded, its database is reachable (or its statistics
//! spool safely within limits), it is not draining for a shutdown, and a caller who asks for
//! an operator rings someone. The JSON body names each part and what is wrong with it;
//! `operator_states` says whether the operators' states are current or stale (the roster
//! could not be reloaded: transfers ring every available operator whatever their state),
//! which is no reason to send calls elsewhere, since every instance shares the database.
//!
//! Readiness is advice for a load balancer and an alert, never a gate: the webhooks answer
//! calls whatever it says, and the emergency key works with every part down.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::flow::Language;
use crate::operators::NOBODY_TO_RING;
use crate::state::AppState;
use crate::stats::StatsHealth;

/// While the database is unreachable, the spool may grow to this before the instance says
/// it is not ready: beyond it, a long outage is filling the disk.
pub const SPOOL_READY_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// The body of `/readyz`.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub checks: Vec<Check>,
}

/// One part of readiness.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// What was found, in a sentence; for a part that is not ready, what to do about it.
    pub detail: String,
}

pub async fn alive() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "alive": true }))
}

pub async fn ready(State(app): State<AppState>) -> Response {
    let readiness = readiness(&app);
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(readiness)).into_response()
}

/// Every part of readiness, as this instance sees it now. Reads the spool's folder only.
pub fn readiness(app: &AppState) -> Readiness {
    let checks = vec![flow(app), database(app.stats.health()), draining(app), operators(app), operator_states(app)];
    Readiness { ready: checks.iter().all(|c| c.ok), checks }
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

fn flow(app: &AppState) -> Check {
    let detail = format!(
        "flow {} ({} nodes) and {} prompts in kk and ru loaded and valid",
        app.settings.flow_path.display(),
        app.flow.nodes.len(),
        app.prompts.keys().count()
    );
    check("flow_and_prompts", true, detail)
}

fn database(health: StatsHealth) -> Check {
    if health.spool_failing {
        return check(
            "database",
            false,
            "the statistics spool cannot be written: statistics are being lost".to_owned(),
        );
    }
    if health.database_up {
        return check("database", true, "reachable".to_owned());
    }
    match health.spool {
        None => check("database", false, "unreachable, and the statistics spool cannot be read".to_owned()),
        Some(spool) if spool.bytes > SPOOL_READY_LIMIT_BYTES => check(
            "database",
            false,
            format!(
                "unreachable, and the statistics spool holds {} bytes in {} files, over the {SPOOL_READY_LIMIT_BYTES}-byte limit",
                spool.bytes, spool.files
            ),
        ),
        Some(spool) => check(
            "database",
            true,
            format!(
                "not reachable now: statistics are spooled ({} bytes in {} files) and replayed when it answers",
                spool.bytes, spool.files
            ),
        ),
    }
}

fn draining(app: &AppState) -> Check {
    if app.is_draining() {
        check("not_draining", false, "shutting down: finishing the requests in flight".to_owned())
    } else {
        check("not_draining", true, "serving".to_owned())
    }
}

fn operators(app: &AppState) -> Check {
    let roster = app.roster.snapshot();
    if !roster.someone_to_ring() {
        return check("someone_to_ring", false, NOBODY_TO_RING.to_owned());
    }
    let by_language = Language::ALL.map(|l| format!("{l}: {}", roster.available_for(l))).join(", ");
    let switchboard = if roster.switchboard.is_some() { "set" } else { "not set" };
    check("someone_to_ring", true, format!("available operators {by_language}; switchboard {switchboard}"))
}

/// Whether routing sees the operators' states; stale states are said, not failed: every
/// instance shares the database, and each answers calls as before operator states.
fn operator_states(app: &AppState) -> Check {
    let roster = app.roster.snapshot();
    let detail = if roster.states_stale {
        "STALE: the roster could not be reloaded from the database, so the operators' queue is not used: \
         transfers ring every available operator of the last roster loaded at once, whatever their state (on a \
         call, in wrap-up)"
            .to_owned()
    } else if app.roster.loaded_at().is_none() {
        "not loaded yet: transfers ring the switchboard until the roster is".to_owned()
    } else {
        let rung = roster.operators.iter().filter(|o| o.available && o.state.rung()).count();
        format!("current: {rung} of {} operators can be rung now", roster.operators.len())
    };
    check("operator_states", true, detail)
}
