//! The hotline's menu as data, and the pure function that moves a caller through it.
//!
//! `flows/hotline.toml` describes menus, guidance, transfers and hang-ups; [`Flow::load`]
//! parses it and [`validate`](Flow::validate) refuses a flow a caller could get stuck in.
//! [`step`] is the whole call logic: given where a caller is and what they did, it says
//! where they go, what they hear and which anonymous events happened. It does no I/O and
//! knows nothing of HTTP, TwiML, SQL or audio, so every path a caller can take is testable
//! as plain function calls and another provider dialect is only another renderer.

mod file;
mod model;
mod state;
mod step;
mod validate;

#[cfg(test)]
mod tests;

pub use file::FlowLoadError;
pub use model::{Choice, Digit, Flow, Language, Limits, Node, NodeId, NodeKind, PromptKey, Spoken, Topic};
pub use state::{CallId, CallState, QueuePlace, TopicSet};
pub use step::{DialOutcome, Event, Input, Instruction, Step, step};
pub use validate::{FlowError, PromptCatalog, quoted};
