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
        let outcomes = [
            ("completed", DialOutcome::Completed),
            ("answered", DialOutcome::Completed),
            ("busy", DialOutcome::Busy),
            ("no-answer", DialOutcome::NoAnswer),
            ("failed", DialOutcome::Failed),
            ("canceled", DialOutcome::Failed),
        ];
        for (status, outcome) in outcomes {
            assert_eq!(WORDS.dial_outcome(Some(status)), outcome, "{status}");
        }
    }

    #[test]
    fn a_dial_call_status_twilio_does_not_document_is_a_failed_dial() {
        for odd in [None, Some(""), Some("Completed"), Some("in-progress"), Some("something-new")] {
            assert_eq!(WORDS.dial_outcome(odd), DialOutcome::Failed, "{odd:?}");
        }
    }

    #[test]
    fn every_call_status_twilio_documents_is_an_end_or_not() {
        let ends = [
            ("completed", CallEnd::Completed),
            ("busy", CallEnd::Busy),
            ("no-answer", CallEnd::NoAnswer),
            ("failed", CallEnd::Failed),
            ("canceled", CallEnd::Canceled),
        ];
        for (status, end) in ends {
            assert_eq!(WORDS.call_end(Some(status)), Some(end), "{status}");
        }
        for not_yet in ["queued", "initiated", "ringing", "in-progress"] {
            assert_eq!(WORDS.call_end(Some(not_yet)), None, "{not_yet}");
        }
    }

    #[test]
    fn a_call_status_twilio_does_not_document_is_no_end() {
        for odd in [None, Some(""), Some("Completed"), Some("answered"), Some("something-new")] {
            assert_eq!(WORDS.call_end(odd), None, "{odd:?}");
        }
    }
}
