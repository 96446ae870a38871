//! Twilio's words, which the other TwiML platforms speak too, for how a dial and a call
//! ended: the dial action's `DialCallStatus` and the status callback's `CallStatus`.
//! Translated here, at this dialect's edge, into the call core's types; no other module
//! reads them.

use crate::call::{CallEnd, DialOutcome, Words};

/// Every `DialCallStatus` and `CallStatus` Twilio documents.
pub const WORDS: Words = Words {
    dial_statuses: &[
        ("completed", DialOutcome::Completed),
        ("answered", DialOutcome::Completed),
        ("busy", DialOutcome::Busy),
        ("no-answer", DialOutcome::NoAnswer),
        ("failed", DialOutcome::Failed),
        ("canceled", DialOutcome::Failed),
    ],
    call_statuses: &[
        ("queued", None),
        ("initiated", None),
        ("ringing", None),
        ("in-progress", None),
        ("completed", Some(CallEnd::Completed)),
        ("busy", Some(CallEnd::Busy)),
        ("no-answer", Some(CallEnd::NoAnswer)),
        ("failed", Some(CallEnd::Failed)),
        ("canceled", Some(CallEnd::Canceled)),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dial_call_status_twilio_documents_is_an_outcome() {
        let outcome = |status| WORDS.dial_outcome(Some(status));
        assert_eq!(["completed", "answered"].map(outcome), [DialOutcome::Completed; 2]);
        assert_eq!(outcome("busy"), DialOutcome::Busy);
        assert_eq!(outcome("no-answer"), DialOutcome::NoAnswer);
        assert_eq!(["failed", "canceled"].map(outcome), [DialOutcome::Failed; 2]);
    }

    #[test]
    fn every_call_status_twilio_documents_is_an_end_or_not_yet() {
        let end = |status| WORDS.call_end(Some(status));
        assert_eq!(["completed", "busy", "no-answer", "failed", "canceled"].map(end), CallEnd::ALL.map(Some));
        assert_eq!(["queued", "initiated", "ringing", "in-progress"].map(end), [None; 4]);
    }

    #[test]
    fn a_word_twilio_does_not_document_is_a_failed_dial_and_no_end() {
        for odd in [None, Some(""), Some("Completed"), Some("something-new")] {
            assert_eq!(WORDS.dial_outcome(odd), DialOutcome::Failed, "{odd:?}");
            assert_eq!(WORDS.call_end(odd), None, "{odd:?}");
        }
        assert_eq!(WORDS.dial_outcome(Some("in-progress")), DialOutcome::Failed, "a call status, not a dial's");
        assert_eq!(WORDS.call_end(Some("answered")), None, "a dial status, not a call's");
    }
}
