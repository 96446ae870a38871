//! A type of the call core that floors below it hold too: where a call is put through
//! ([`DialTarget`]: the settings' police and switchboard numbers, the roster's operators).
//!
//! It belongs to the call core: `crate::call` re-exports it, and dialects name it from
//! there. It is defined here, importing nothing of the service, because the settings
//! (`config`) and the roster (`operators`) sit below the call core: holding a type of
//! `crate::call` itself would close a cycle through it.

/// A number or SIP address the service dials: E.164-style digits (`102`, `+77172000000`)
/// or a `sip:` URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialTarget {
    /// Digits, with an optional leading `+`.
    Number(String),
    /// A `sip:` URI.
    Sip(String),
}

impl DialTarget {
    /// `text` as a target, or `None` when it is neither 2 to 15 digits nor a usable `sip:` URI.
    pub fn parse(text: &str) -> Option<DialTarget> {
        let text = text.trim();
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
}
