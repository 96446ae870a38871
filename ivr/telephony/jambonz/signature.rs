//! `Jambonz-Signature: t=<unix seconds>,v1=<hex>`: proof that a webhook comes from the
//! jambonz platform holding our webhook secret.
//!
//! As jambonz signs (feature server `BaseRequestor._computeSignature`) and its own client
//! library checks (`@jambonz/node-client`, `WebhookResponse.verifyJambonzSignature`):
//! `v1` is hex(HMAC-SHA256(secret, "<t>.<body>")) over the raw JSON body. The header may
//! carry several `v1` values and the service may hold several secrets (rotation): any match
//! will do. A timestamp more than five minutes from now is refused, so a captured request
//! cannot be replayed later.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from now, in seconds (as node-client's tolerance).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a request was refused; said in the log, never with anything from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request carries no signature header.
    #[error("no Jambonz-Signature header")]
    Missing,
    /// The header lacks a timestamp or a `v1` signature.
    #[error("the Jambonz-Signature header has no timestamp or no v1 signature")]
    Malformed,
    /// No `v1` signature matches any configured secret.
    #[error("no v1 signature matches")]
    NoMatch,
    /// The timestamp is outside [`TOLERANCE_SECONDS`] of now.
    #[error("the signature's timestamp is more than five minutes from now")]
    Stale,
}

/// Checks signatures for the configured secrets.
#[derive(Clone)]
pub struct JambonzSignatureCheck {
    keys: Vec<HmacSha256>,
}

impl JambonzSignatureCheck {
    /// `secrets`: one secret, or several separated by commas while rotating.
    #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
    pub fn new(secrets: &str) -> JambonzSignatureCheck {
        let keys = secrets
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| HmacSha256::new_from_slice(s.as_bytes()).expect("HMAC takes a key of any length"))
            .collect();
        JambonzSignatureCheck { keys }
    }

    /// Whether `header` signs `body`, at `now` (unix seconds).
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<(), Refusal> {
        let header = header.ok_or(Refusal::Missing)?;
        let (timestamp, signatures) = parse_header(header).ok_or(Refusal::Malformed)?;
        let matches = self.keys.iter().any(|key| {
            signatures.iter().any(|signature| {
                let mut mac = key.clone();
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(signature).is_ok()
            })
        });
        if !matches {
            return Err(Refusal::NoMatch);
        }
        let seconds: i64 = timestamp.parse().map_err(|_| Refusal::Malformed)?;
        if (now - seconds).abs() > TOLERANCE_SECONDS {
            return Err(Refusal::Stale);
        }
        Ok(())
    }
}

/// The timestamp text and the decoded `v1` signatures; `None` without either.
fn parse_header(header: &str) -> Option<(&str, Vec<Vec<u8>>)> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))?;
    (!signatures.is_empty()).then_some((timestamp, signatures))
}

/// The header jambonz sends for `body` at `timestamp`: what tests and benchmarks sign with.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors computed with `@jambonz/node-client`'s algorithm and accepted by its
    /// `WebhookResponse.verifyJambonzSignature` (see `tests/fixtures/jambonz-signatures.json`).
    #[derive(serde::Deserialize)]
    struct Vector {
        secret: String,
        body: String,
        header: String,
        timestamp: i64,
    }

    fn vectors() -> Vec<Vector> {
        serde_json::from_str(include_str!("../../../tests/fixtures/jambonz-signatures.json")).expect("fixture")
    }

    #[test]
    fn node_clients_vectors_are_accepted_and_signed_the_same() {
        let vectors = vectors();
        assert!(vectors.len() >= 3);
        for v in &vectors {
            let check = JambonzSignatureCheck::new(&v.secret);
            assert_eq!(check.verify(Some(&v.header), v.body.as_bytes(), v.timestamp + 10), Ok(()), "{}", v.header);
            if v.header.matches("v1=").count() == 1 {
                assert_eq!(sign(&v.secret, v.timestamp, v.body.as_bytes()), v.header);
            }
        }
    }

    #[test]
    fn another_secret_a_changed_body_or_a_stale_time_is_refused() {
        for v in &vectors() {
            let now = v.timestamp + 10;
            let other = JambonzSignatureCheck::new("another-secret");
            assert_eq!(other.verify(Some(&v.header), v.body.as_bytes(), now), Err(Refusal::NoMatch));
            let check = JambonzSignatureCheck::new(&v.secret);
            let changed = v.body.replacen('1', "2", 1);
            assert_eq!(check.verify(Some(&v.header), changed.as_bytes(), now), Err(Refusal::NoMatch));
            let late = v.timestamp + TOLERANCE_SECONDS + 1;
            assert_eq!(check.verify(Some(&v.header), v.body.as_bytes(), late), Err(Refusal::Stale));
            let early = v.timestamp - TOLERANCE_SECONDS - 1;
            assert_eq!(check.verify(Some(&v.header), v.body.as_bytes(), early), Err(Refusal::Stale));
            assert_eq!(check.verify(None, v.body.as_bytes(), now), Err(Refusal::Missing));
        }
    }

    #[test]
    fn any_of_several_signatures_or_secrets_will_do() {
        let body = br#"{"call_sid":"x"}"#;
        let good = sign("new", 1_700_000_000, body);
        let v1 = good.split_once(",v1=").expect("v1").1;
        let header = format!("t=1700000000,v1={},v1={v1}", "ab".repeat(32));
        assert_eq!(JambonzSignatureCheck::new("new").verify(Some(&header), body, 1_700_000_000), Ok(()));
        let rotating = JambonzSignatureCheck::new("old, new");
        assert_eq!(rotating.verify(Some(&good), body, 1_700_000_000), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let check = JambonzSignatureCheck::new("s");
        for header in ["", "t=", "v1=00", "t=1700000000", "t=abc,v1=00", "t=1700000000,v1=zz", "garbage"] {
            assert_eq!(check.verify(Some(header), b"{}", 1_700_000_000), Err(Refusal::Malformed), "{header:?}");
        }
    }
}
