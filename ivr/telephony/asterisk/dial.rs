//! Transfers in Asterisk's words: the `Dial` application's argument, and what its
//! `DIALSTATUS` means to the call core.
//!
//! Every operator chosen is rung by one `Dial` (`PJSIP/a&PJSIP/b,30,gU(…)`): the first to
//! answer takes the call. Before the bridge, each answering operator's channel runs the
//! dialplan subroutine [`WHISPER_CONTEXT`] (Dial's `U()` option, a `Gosub` on the called
//! channel) with the whisper's prompt URLs as its one argument (`&`-separated, ready for
//! `Playback`). One `Dial` has one `U()`, so when the operators rung hear whispers in
//! different languages, the whisper is played in each of them, in the order rung.
//! `g` lets the conversation go on after the other side hangs up, so the flow decides what
//! the caller hears next, as on the other dialects.

use crate::call::Callee;
use crate::call::DialTarget;
use crate::config::AsteriskSettings;
use crate::flow::DialOutcome;

/// The dialplan context the shipped `extensions.conf` plays a whisper in (`s,1`:
/// `Playback(${ARG1})`, `Return()`).
pub const WHISPER_CONTEXT: &str = "ivr-111-whisper";

/// The `Dial` argument ringing `targets` for `ring_seconds`, with the whisper `urls` played
/// to whoever answers; `None` when none of the targets can be dialled.
pub fn dial_argument(targets: &[String], ring_seconds: u8, whisper: &[String]) -> Option<String> {
    if targets.is_empty() {
        return None;
    }
    let mut argument = format!("{},{ring_seconds},g", targets.join("&"));
    if !whisper.is_empty() {
        let urls: Vec<String> = whisper.iter().map(|url| dial_safe(url)).collect();
        argument.push_str(&format!("U({WHISPER_CONTEXT}^{})", urls.join("&")));
    }
    Some(argument)
}

/// The dial strings of the callees Asterisk can dial (the others are left out, logged).
pub fn operator_targets(settings: &AsteriskSettings, callees: &[Callee]) -> Vec<String> {
    callees.iter().filter_map(|callee| dial_string(settings, &callee.target)).collect()
}

/// The roster operator among `callees` whose dial string Asterisk says answered: `Dial`
/// sets `DIALEDPEERNUMBER` to what followed the technology in the answered dial string
/// (`+77170000001@kz-trunk` of `PJSIP/+77170000001@kz-trunk`). `None` when it matches none.
pub fn answered_by(settings: &AsteriskSettings, callees: &[Callee], peer_number: &str) -> Option<i64> {
    let peer_number = peer_number.trim();
    callees.iter().find_map(|callee| {
        let dial = settings.dial_string(&callee.target)?;
        let (_, number) = dial.split_once('/')?;
        (!peer_number.is_empty() && number == peer_number).then_some(callee.operator).flatten()
    })
}

/// How Asterisk dials `target`; a target it cannot dial is logged (it is configuration,
/// never a caller's) and left out.
pub fn dial_string(settings: &AsteriskSettings, target: &DialTarget) -> Option<String> {
    let dial = settings.dial_string(target);
    if dial.is_none() {
        tracing::warn!(target = target.as_str(), "Asterisk cannot dial this target: IVR_ASTERISK_DIAL is not set");
    }
    dial
}

/// A URL as one argument inside `Dial(…)`: what would split it is percent-encoded.
fn dial_safe(url: &str) -> String {
    let mut safe = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ',' | '&' | '^' | '(' | ')' | '|' | '$' | '{' | '}' | '"' | '\\' => {
                safe.push_str(&format!("%{:02X}", u32::from(c)));
            }
            c => safe.push(c),
        }
    }
    safe
}

/// `DIALSTATUS` in the call core's words. `ANSWER` is a completed transfer; `BUSY` and
/// `NOANSWER` are themselves; everything else (`CHANUNAVAIL`, `CONGESTION`, `CANCEL`,
/// `DONTCALL`, `TORTURE`, `INVALIDARGS`, nothing at all) is a failure, so the caller is
/// offered another way.
pub fn outcome(status: Option<&str>) -> DialOutcome {
    match status.map(str::trim) {
        Some("ANSWER") => DialOutcome::Completed,
        Some("BUSY") => DialOutcome::Busy,
        Some("NOANSWER") => DialOutcome::NoAnswer,
        _ => DialOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_answered_is_the_callee_whose_dial_string_dial_names() {
        let settings = AsteriskSettings {
            listen: None,
            configured: true,
            allow: Vec::new(),
            dial: crate::config::DialTemplate::parse("PJSIP/{}@kz-trunk"),
            timeout_ms: 1000,
        };
        let callee = |number: &str, operator| Callee {
            target: DialTarget::parse(number).expect("a number"),
            whisper: crate::flow::Language::Kk,
            operator,
        };
        let callees = [callee("+77170000001", Some(1)), callee("+77170000002", Some(2)), callee("+77170000009", None)];
        assert_eq!(answered_by(&settings, &callees, "+77170000002@kz-trunk"), Some(2));
        assert_eq!(answered_by(&settings, &callees, "+77170000009@kz-trunk"), None, "the switchboard is nobody's");
        assert_eq!(answered_by(&settings, &callees, ""), None);
        assert_eq!(answered_by(&settings, &callees, "+77170000003@kz-trunk"), None);
    }

    #[test]
    fn every_operator_is_rung_by_one_dial_with_the_whisper_before_the_bridge() {
        let targets = ["PJSIP/a".to_owned(), "PJSIP/102@kz-trunk".to_owned()];
        let whisper = ["http://ivr:8111/prompts/kk/w.wav".to_owned(), "http://ivr/a,b.wav".to_owned()];
        assert_eq!(
            dial_argument(&targets, 30, &whisper).as_deref(),
            Some(
                "PJSIP/a&PJSIP/102@kz-trunk,30,gU(ivr-111-whisper^http://ivr:8111/prompts/kk/w.wav&http://ivr/a%2Cb.wav)"
            )
        );
        assert_eq!(dial_argument(&targets[..1], 20, &[]).as_deref(), Some("PJSIP/a,20,g"));
        assert_eq!(dial_argument(&[], 20, &[]), None);
    }

    #[test]
    fn dialstatus_becomes_the_cores_outcome() {
        assert_eq!(outcome(Some("ANSWER")), DialOutcome::Completed);
        assert_eq!(outcome(Some("BUSY")), DialOutcome::Busy);
        assert_eq!(outcome(Some("NOANSWER")), DialOutcome::NoAnswer);
        for other in ["CHANUNAVAIL", "CONGESTION", "CANCEL", "DONTCALL", "TORTURE", "INVALIDARGS", ""] {
            assert_eq!(outcome(Some(other)), DialOutcome::Failed, "{other}");
        }
        assert_eq!(outcome(None), DialOutcome::Failed);
    }
}
