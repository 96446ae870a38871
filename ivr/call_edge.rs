//! The call core's types that floors below it hold too: where a call is put through
//! ([`DialTarget`]: the settings' police and switchboard numbers, the roster's operators)
//! and how a call ended ([`CallEnd`]: what the statistics keep of it).
//!
//! They belong to the call core: `crate::call` re-exports them, and dialects name them from
//! there (and translate their platform's words into a [`CallEnd`] at their edge). They are
//! defined here, importing nothing of the service, because the settings (`config`), the
//! roster (`operators`) and the statistics (`stats`) sit below the call core: holding a
//! type of `crate::call` itself would close a cycle through it.

/// A number or SIP address the service dials: E.164-style digits (`102`, `+77172000000`),
/// a `sip:` URI, or an Asterisk dial string (`PJSIP/police`, `PJSIP/102@kz-trunk`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialTarget {
    /// Digits, with an optional leading `+`.
    Number(String),
    /// A `sip:` URI.
    Sip(String),
    /// An Asterisk dial string, `TECH/resource`: only the Asterisk dialect dials it.
    Channel(String),
}

impl DialTarget {
    /// `text` as a target, or `None` when it is neither 2 to 15 digits, a usable `sip:` URI
    /// nor an Asterisk dial string.
    pub fn parse(text: &str) -> Option<DialTarget> {
        let text = text.trim();
        if let Some(channel) = DialTarget::parse_channel(text) {
            return Some(channel);
        }
        if let Some(rest) = text.strip_prefix("sip:") {
            let ok = !rest.is_empty()
                && rest.len() < 256
                && !rest.contains(|c: char| c.is_whitespace() || c == '<' || c == '>');
            return ok.then(|| DialTarget::Sip(text.to_owned()));
        }
        let digits = text.strip_prefix('+').unwrap_or(text);
        let ok = (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| DialTarget::Number(text.to_owned()))
    }

    /// An Asterisk dial string: a technology (`PJSIP`, `IAX2`, `Local`), `/`, and a resource
    /// without what would change the `Dial` it goes into (`,` options, `&` more targets,
    /// `$` and brackets evaluated, quotes, spaces).
    pub fn parse_channel(text: &str) -> Option<DialTarget> {
        let (tech, resource) = text.split_once('/')?;
        let tech_ok = tech.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && tech.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let safe = |c: char| c.is_ascii_graphic() && !",&|\"'\\$(){}[]^;`".contains(c);
        let ok = tech_ok && !resource.is_empty() && text.len() < 256 && resource.chars().all(safe);
        ok.then(|| DialTarget::Channel(text.to_owned()))
    }

    /// The target as written.
    pub fn as_str(&self) -> &str {
        match self {
            DialTarget::Number(text) | DialTarget::Sip(text) | DialTarget::Channel(text) => text,
        }
    }
}

/// How a call ended, once its platform says it has: each dialect translates the words of
/// its status webhook into it, and a status that is no end (ringing, in progress) into
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallEnd {
    /// The call was answered, and has ended.
    Completed,
    /// The call was refused as busy.
    Busy,
    /// The call was not answered in time.
    NoAnswer,
    /// The call could not be set up.
    Failed,
    /// The call was given up before it was answered.
    Canceled,
}

impl CallEnd {
    /// Every end, in the order of [`as_str`](CallEnd::as_str)'s words.
    pub const ALL: [CallEnd; 5] =
        [CallEnd::Completed, CallEnd::Busy, CallEnd::NoAnswer, CallEnd::Failed, CallEnd::Canceled];

    /// The end's word wherever it is kept (the records and the spool, the `ended` column,
    /// the daily totals, the reports): the words every stored row already holds.
    pub fn as_str(self) -> &'static str {
        match self {
            CallEnd::Completed => "completed",
            CallEnd::Busy => "busy",
            CallEnd::NoAnswer => "no-answer",
            CallEnd::Failed => "failed",
            CallEnd::Canceled => "canceled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_short_number_an_e164_number_or_a_sip_uri() {
        let number = |text: &str| Some(DialTarget::Number(text.to_owned()));
        assert_eq!(DialTarget::parse("102"), number("102"));
        assert_eq!(DialTarget::parse(" +77172000000 "), number("+77172000000"), "trimmed");
        assert_eq!(DialTarget::parse("sip:102@pbx.111.kz"), Some(DialTarget::Sip("sip:102@pbx.111.kz".to_owned())));
        let long_sip = format!("sip:{}", "a".repeat(256));
        for bad in ["", "1", "+1", "1234567890123456", "+7 717", "8-701", "sip:", "sip:a b", "sip:<x>", &long_sip] {
            assert_eq!(DialTarget::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_end_has_its_own_word() {
        let words: Vec<&str> = CallEnd::ALL.iter().map(|end| end.as_str()).collect();
        assert_eq!(words, ["completed", "busy", "no-answer", "failed", "canceled"]);
    }
}
