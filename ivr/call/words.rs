//! Where a platform's words become the call core's types. Each dialect keeps its platform's
//! vocabulary as one table ([`Words`]), every word its documents name beside what it means
//! to the core; the core holds the rule for a word the table does not know, the same for
//! every dialect. A new dialect (Asterisk's `DIALSTATUS`, …) is one more table.

use crate::call_edge::CallEnd;
use crate::flow::DialOutcome;

/// One platform's words for how a dial and a call ended.
#[derive(Clone, Copy, Debug)]
pub struct Words {
    /// The statuses it reports a transfer's dial ended with, each with the outcome it means.
    pub dial_statuses: &'static [(&'static str, DialOutcome)],
    /// The call statuses its status webhook reports, each with the end it means, or `None`
    /// for a status that is no end (queued, ringing, in progress, …).
    pub call_statuses: &'static [(&'static str, Option<CallEnd>)],
}

impl Words {
    /// How a transfer's dial ended by its `status`. A word the platform does not document
    /// (or none at all) is a failed dial, so the caller is offered another way, never left
    /// on a transfer that did not happen.
    pub fn dial_outcome(&self, status: Option<&str>) -> DialOutcome {
        let known = self.dial_statuses.iter().find(|(word, _)| Some(*word) == status);
        known.map_or(DialOutcome::Failed, |(_, outcome)| *outcome)
    }

    /// How the call ended by the status webhook's `status`; `None` while it has not (a status
    /// that is no end, a word the platform does not document, or none at all).
    pub fn call_end(&self, status: Option<&str>) -> Option<CallEnd> {
        let status = status?;
        self.call_statuses.iter().find(|(word, _)| *word == status).and_then(|(_, end)| *end)
    }
}
