//! The service's state, in two halves: what is loaded once and checked ([`Loaded`]: the
//! settings, the flow, the prompt library), and what runs beside the requests
//! ([`AppState`]: the database, the statistics recorder, the roster and line snapshots).
//!
//! `ivr check`, `ivr flow` and the simulator need only [`Loaded`]; [`load`] makes every
//! check of the flow and the prompts that `ivr check` makes (the settings are checked
//! before, by `Settings::from_env`), so the service and the check never disagree.
//! [`AppState`] is made by [`AppState::start`] once the parts that run exist, so no field
//! is ever a placeholder waiting to be filled in: every handler finds a database
//! (connecting when first used), a recorder with a writer behind it, and a roster.
//!
//! Handlers share one [`AppState`]: one reference-counted pointer, because every request
//! clones it several times (each middleware's state, each handler's `State`), and a
//! clone of its parts one by one cost a dozen atomic counts per clone on the webhook path.
//! It dereferences to [`Running`], which dereferences to [`Loaded`], so a handler reads
//! `state.flow` and `state.db` alike.

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::Settings;
use crate::db::Db;
use crate::flow::{Flow, Language, PromptCatalog};
use crate::operators::queue::all_queue_prompts;
use crate::operators::{
    LineReports, LineReportsInbox, LiveLine, LiveRoster, Roster, all_whisper_prompts, line_reports,
};
use crate::prompts::PromptLibrary;
use crate::stats::Recorder;

/// What the service loads once at start and never changes: checked, read-only.
pub struct Loaded {
    /// The settings read from the environment and the `IVR_CONFIG` file (see
    /// docs/configuration.md).
    pub settings: Settings,
    /// The validated call flow (`IVR_FLOW`).
    pub flow: Flow,
    /// The prompt recordings, checked against the flow's keys.
    pub prompts: PromptLibrary,
}

/// What every request shares: [`Loaded`], and the parts that run beside the requests.
#[derive(Clone)]
pub struct AppState(Arc<Running>);

/// The inside of [`AppState`].
pub struct Running {
    loaded: Arc<Loaded>,
    /// The database (`IVR_DATABASE_URL`): statistics, roster, users. It connects when first
    /// used, so the service starts and answers calls with the database down; nothing on
    /// the call path waits on it. Its migrations run once, for whoever needs it first
    /// ([`Db::ready`]).
    pub db: Db,
    /// Anonymous statistics: hands records to the writer, never waits on the database.
    pub stats: Recorder,
    /// The operators the call path rings: a snapshot the refresh task keeps current.
    pub roster: Arc<LiveRoster>,
    /// The line now (queues, operators' states) for the operators' desk: one snapshot the
    /// desk's refresh task keeps current, read by every open desk.
    pub line: Arc<LiveLine>,
    /// What the line learns of operators (answered, call ended, not answered): handed to
    /// the state writer, never waited on.
    pub line_reports: LineReports,
    /// The writer's end of `line_reports`, until `ivr serve` starts the writer
    /// ([`AppState::take_line_reports_inbox`]); where nobody does (the simulator, tests of
    /// the call path alone), reports past the channel's room are dropped.
    line_reports_inbox: Mutex<Option<LineReportsInbox>>,
    /// Set when a shutdown begins: `/readyz` fails at once, so a load balancer stops sending
    /// calls here while the ones in flight finish. Calls are still answered.
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// Puts the loaded half and the running parts together.
    pub fn start(loaded: Loaded, db: Db, stats: Recorder) -> AppState {
        let switchboard = loaded.settings.operator_number.clone();
        let roster = Arc::new(LiveRoster::new(Roster { operators: Vec::new(), switchboard, states_stale: false }));
        let (line_reports, inbox) =
            line_reports(loaded.settings.wrap_up_seconds, loaded.settings.away_after_unanswered);
        AppState(Arc::new(Running {
            loaded: Arc::new(loaded),
            db,
            stats,
            roster,
            line: Arc::default(),
            line_reports,
            line_reports_inbox: Mutex::new(Some(inbox)),
            draining: Arc::default(),
        }))
    }

    /// The writer's end of the line's reports, once: for the task that writes them.
    pub fn take_line_reports_inbox(&self) -> Option<LineReportsInbox> {
        self.line_reports_inbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }

    /// Whether a shutdown has begun (`/readyz` then fails).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Says from now on that this instance is shutting down (`/readyz` answers 503), and
    /// ends the desks' live streams, which would otherwise hold their connections open.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.line.close();
    }

    /// What was loaded at start.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }
}

impl crate::call::Service for AppState {
    fn flow(&self) -> &Flow {
        &self.loaded.flow
    }
    fn stats(&self) -> &Recorder {
        &self.stats
    }
    fn prompts(&self) -> &PromptLibrary {
        &self.loaded.prompts
    }
    fn roster(&self) -> &LiveRoster {
        &self.roster
    }
    fn line_reports(&self) -> &LineReports {
        &self.line_reports
    }
    fn queue(&self) -> (&Db, crate::config::QueueSettings) {
        (&self.db, self.loaded.settings.queue)
    }
}

impl crate::prompts::Served for AppState {
    fn prompt_library(&self) -> &PromptLibrary {
        &self.loaded.prompts
    }
}

impl Deref for AppState {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.0
    }
}

impl Deref for Running {
    type Target = Loaded;
    fn deref(&self) -> &Loaded {
        &self.loaded
    }
}

/// Loads and validates the flow and the prompt library; every problem is listed.
pub fn load(settings: Settings) -> Result<Loaded, Vec<String>> {
    let flow = Flow::load(&settings.flow_path).map_err(|e| format!("flow {}: {e}", settings.flow_path.display()));
    let prompts = PromptLibrary::load(&settings.prompts_dir)
        .map_err(|errors| errors.iter().map(|e| format!("prompt library: {e}")).collect::<Vec<_>>());
    match (flow, prompts) {
        (Ok(flow), Ok(prompts)) => assemble(settings, flow, prompts),
        (flow, prompts) => Err(flow.err().into_iter().chain(prompts.err().into_iter().flatten()).collect()),
    }
}

/// Checks a loaded flow against a loaded prompt library.
pub fn assemble(settings: Settings, flow: Flow, prompts: PromptLibrary) -> Result<Loaded, Vec<String>> {
    let path = settings.flow_path.display();
    let mut problems: Vec<String> = flow.validate(&prompts).iter().map(|e| format!("flow {path}: {e}")).collect();
    let fragments = [("operator whisper", all_whisper_prompts(&flow)), ("queue announcement", all_queue_prompts())];
    for (what, keys) in fragments {
        for key in keys {
            for language in Language::ALL.into_iter().filter(|l| !prompts.has(*l, &key)) {
                problems.push(format!("prompt library: {what} `{key}` has no {language} recording"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Loaded { settings, flow, prompts })
}
