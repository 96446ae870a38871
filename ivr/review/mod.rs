//! Review tools for the people who change the menu: `ivr flow graph` draws it, `ivr flow
//! audit` measures what callers go through (listening time to each topic, key presses to
//! the police, how long a silent caller waits for a person, how soon keys are named) and
//! fails when a caller could be kept from help or a limit of the flow file is exceeded.
//!
//! Both are pure functions of the loaded [`Flow`] and the prompts' durations, and both work
//! from [`moves`], which asks the real [`step`](crate::flow::step) where each key leads, so
//! they review the call path the service runs, not a reading of the flow file.

mod audit;
mod graph;
mod moves;
mod routes;
mod waits;

use std::time::Duration;

use crate::config::Settings;
use crate::flow::{Flow, Language, PromptKey};
use crate::prompts::PromptLibrary;
use crate::state;

pub use audit::{Audit, Check, LanguageAudit, MINUTE, Outcome, TopicTime, passed, seconds};
pub use graph::{Format, graph};
pub use moves::{KEYPAD, Move, Via, listens, moves, shared_moves, via_label};
pub use routes::{Route, fewest_presses, quickest};
pub use waits::{From, SilentWalk, Waits};

/// How long a recording plays.
pub trait Durations {
    /// How long `key` plays in `language`.
    fn duration(&self, language: Language, key: &PromptKey) -> Duration;
}

impl Durations for PromptLibrary {
    /// A recording the library lacks plays for no time; `ivr check` reports it.
    fn duration(&self, language: Language, key: &PromptKey) -> Duration {
        self.get(language, key).map_or(Duration::ZERO, |p| p.duration)
    }
}

/// The graph of `flow` in `format`.
pub fn draw(flow: &Flow, format: Format) -> String {
    graph(flow, &moves(flow), format)
}

/// `ivr flow`: look at the call flow.
#[derive(Debug, clap::Subcommand)]
pub enum FlowCommand {
    /// Draw the menu: a box per node with its prompts, arrows labelled with the keys pressed.
    Graph {
        /// Graphviz dot or Mermaid.
        #[arg(long, value_enum, default_value_t = Format::Dot)]
        format: Format,
    },
    /// Listening time to each topic, presses to the police, long listens; exit 1 if a rule fails.
    Audit {
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
    },
}

/// `ivr flow graph` and `ivr flow audit`, on the flow and prompts `ivr serve` would load.
pub fn command(command: FlowCommand) -> Result<(), Vec<String>> {
    let settings = Settings::from_env()?;
    match command {
        FlowCommand::Graph { format } => {
            let flow = Flow::load(&settings.flow_path)
                .map_err(|e| vec![format!("flow {}: {e}", settings.flow_path.display())])?;
            print!("{}", draw(&flow, format));
        }
        FlowCommand::Audit { strict } => {
            let app = state::load(settings)?;
            let audit = Audit::of(&app.flow, &app.prompts);
            let checks = audit.checks(&app.flow, strict);
            print!("{}", audit.render(&app.flow, &checks));
            if !passed(&checks) {
                return Err(vec!["the flow fails the audit: see FAIL above".to_owned()]);
            }
        }
    }
    Ok(())
}
