//! Review tools for the people who change the menu: `ivr flow graph` draws it, `ivr flow
//! audit` measures what callers go through (listening time to each topic, key presses to
//! the police, how long a silent caller waits for a person, how soon keys are named) and
//! fails when a caller could be kept from help or a limit of the flow file is exceeded.
//!
//! Both are pure functions of the loaded [`Flow`] and the prompts' durations, and both work
//! from every call state a caller can reach ([`arrivals`]) and the [`moves`] out of them,
//! found by asking the real [`step`](crate::flow::step), so they review the call path the
//! service runs, not a reading of the flow file.

mod audit;
mod graph;
mod moves;
mod reach;
mod routes;
mod waits;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::config::Settings;
use crate::flow::{Flow, Language, PromptKey, Spoken};
use crate::prompts::PromptLibrary;
use crate::state;

pub use audit::{Audit, Check, LanguageAudit, MINUTE, Outcome, TopicTime, passed, seconds};
pub use graph::{Format, graph};
pub use moves::{Move, Via, moves, shared_moves, via_label};
pub use reach::{Arrival, KEYPAD, arrivals, listens};
pub use routes::{Route, fewest_presses, quickest};
pub use waits::{From, SilentWalk, Waits};

/// How long a recording plays.
pub trait Durations {
    /// How long `key` plays in `language`.
    fn duration(&self, language: Language, key: &PromptKey) -> Duration;
}

/// How long `prompts` play spoken as `spoken` (before a language is chosen, each in both).
pub fn playing<'k>(
    durations: &dyn Durations,
    spoken: Spoken,
    prompts: impl IntoIterator<Item = &'k PromptKey>,
) -> Duration {
    spoken.recordings(prompts).map(|(language, key)| durations.duration(language, key)).sum()
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
