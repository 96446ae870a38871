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
        let outcome = |status| WORDS.dial_outcome(Some(status));
        assert_eq!(outcome("completed"), DialOutcome::Completed);
        assert_eq!(outcome("busy"), DialOutcome::Busy);
        assert_eq!(outcome("no-answer"), DialOutcome::NoAnswer);
        assert_eq!(["failed", "queued"].map(outcome), [DialOutcome::Failed; 2]);
    }

    #[test]
    fn every_call_status_jambonz_documents_is_an_end_or_not_yet() {
        let end = |status| WORDS.call_end(Some(status));
        let ends = [CallEnd::Completed, CallEnd::Busy, CallEnd::NoAnswer, CallEnd::Failed].map(Some);
        assert_eq!(["completed", "busy", "no-answer", "failed"].map(end), ends);
        assert_eq!(["trying", "ringing", "early-media", "in-progress", "queued"].map(end), [None; 5]);
    }

    #[test]
    fn a_word_jambonz_does_not_document_is_a_failed_dial_and_no_end() {
        for odd in [None, Some(""), Some("canceled"), Some("COMPLETED"), Some("something-new")] {
            assert_eq!(WORDS.dial_outcome(odd), DialOutcome::Failed, "{odd:?}");
            assert_eq!(WORDS.call_end(odd), None, "{odd:?}");
        }
    }
}
