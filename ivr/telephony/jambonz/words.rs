//! jambonz's words for how a dial and a call ended: the dial's `actionHook`
//! `dial_call_status` and the call status webhook's `call_status`. Translated here, at this
//! dialect's edge, into the call core's types; no other module reads them.

use crate::call::{CallEnd, DialOutcome, Words};

/// Every `dial_call_status` and `call_status` jambonz documents. A dial it reports as
/// `queued` connected nobody: a failed one.
pub const WORDS: Words = Words {
    dial_statuses: &[
        ("completed", DialOutcome::Completed),
        ("busy", DialOutcome::Busy),
        ("no-answer", DialOutcome::NoAnswer),
        ("failed", DialOutcome::Failed),
        ("queued", DialOutcome::Failed),
    ],
    call_statuses: &[
        ("trying", None),
        ("ringing", None),
        ("early-media", None),
        ("in-progress", None),
        ("queued", None),
        ("completed", Some(CallEnd::Completed)),
        ("busy", Some(CallEnd::Busy)),
        ("no-answer", Some(CallEnd::NoAnswer)),
        ("failed", Some(CallEnd::Failed)),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dial_call_status_jambonz_documents_is_an_outcome() {
        let outcomes = [
            ("completed", DialOutcome::Completed),
            ("busy", DialOutcome::Busy),
            ("no-answer", DialOutcome::NoAnswer),
            ("failed", DialOutcome::Failed),
            ("queued", DialOutcome::Failed),
        ];
        for (status, outcome) in outcomes {
            assert_eq!(WORDS.dial_outcome(Some(status)), outcome, "{status}");
        }
    }

    #[test]
    fn a_dial_call_status_jambonz_does_not_document_is_a_failed_dial() {
        for odd in [None, Some(""), Some("canceled"), Some("COMPLETED"), Some("something-new")] {
            assert_eq!(WORDS.dial_outcome(odd), DialOutcome::Failed, "{odd:?}");
        }
    }

    #[test]
    fn every_call_status_jambonz_documents_is_an_end_or_not() {
        let ends = [
            ("completed", CallEnd::Completed),
            ("busy", CallEnd::Busy),
            ("no-answer", CallEnd::NoAnswer),
            ("failed", CallEnd::Failed),
        ];
        for (status, end) in ends {
            assert_eq!(WORDS.call_end(Some(status)), Some(end), "{status}");
        }
        for not_yet in ["trying", "ringing", "early-media", "in-progress", "queued"] {
            assert_eq!(WORDS.call_end(Some(not_yet)), None, "{not_yet}");
        }
    }

    #[test]
    fn a_call_status_jambonz_does_not_document_is_no_end() {
        for odd in [None, Some(""), Some("canceled"), Some("COMPLETED"), Some("something-new")] {
            assert_eq!(WORDS.call_end(odd), None, "{odd:?}");
        }
    }
}
