//! `X-Twilio-Signature`: proof that a webhook comes from the provider holding our auth token.
//!
//! The signature is base64(HMAC-SHA1(token, url + each POST parameter's name and value,
//! sorted by name)), over the full public URL with its query. Like Twilio's own libraries we
//! accept the URL with or without the scheme's default port, since proxies differ in which
//! one the provider saw.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// Checks signatures for one auth token and one public base URL.
#[derive(Clone)]
pub struct SignatureCheck {
    key: HmacSha1,
    /// The public base URL as configured and with its default port toggled.
    bases: [String; 2],
}

impl SignatureCheck {
    /// A check for requests signed with `token` to URLs under `public_url` (with or without its default port).
    pub fn new(token: &str, public_url: &str) -> SignatureCheck {
        #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
        let key = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
        let bases = [public_url.to_owned(), toggle_default_port(public_url)];
        SignatureCheck { key, bases }
    }

    /// Whether `signature` signs the request at `path_and_query` with these parameters.
    pub fn verify(&self, path_and_query: &str, params: &[(String, String)], signature: &str) -> bool {
        let Ok(expected) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let sorted = sorted(params);
        self.bases.iter().any(|base| {
            let mut mac = self.key.clone();
            mac.update(base.as_bytes());
            mac.update(path_and_query.as_bytes());
            feed(&mut mac, &sorted);
            mac.verify_slice(&expected).is_ok()
        })
    }
}

/// The signature of a request to `url` (full URL with query): what the provider sends.
pub fn sign(token: &str, url: &str, params: &[(String, String)]) -> String {
    #[allow(clippy::expect_used, reason = "HMAC takes a key of any length: new_from_slice never fails")]
    let mut mac = HmacSha1::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(url.as_bytes());
    feed(&mut mac, &sorted(params));
    STANDARD.encode(mac.finalize().into_bytes())
}

fn sorted(params: &[(String, String)]) -> Vec<&(String, String)> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted
}

fn feed(mac: &mut HmacSha1, sorted: &[&(String, String)]) {
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
}

/// `https://host` ⇄ `https://host:443`, `http://host` ⇄ `http://host:80`; other ports as they are.
fn toggle_default_port(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return base.to_owned(),
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let port_at = host.rfind(':').filter(|&i| !host[i..].contains(']'));
    let toggled = match port_at {
        Some(i) if &host[i + 1..] == default => host[..i].to_owned(),
        Some(_) => return base.to_owned(),
        None => format!("{host}:{default}"),
    };
    format!("{scheme}://{}{toggled}{path}", &authority[..host_start])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .to_vec()
    }

    #[test]
    fn matches_twilios_documented_vector() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &documented_params()), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let check = SignatureCheck::new("12345", "https://mycompany.com");
        assert!(check.verify("/myapp.php?foo=1&bar=2", &documented_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!check.verify("/myapp.php?foo=1&bar=3", &documented_params(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn accepts_the_url_with_or_without_the_default_port() {
        let params = documented_params();
        let with_port = sign("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &params);
        let check = SignatureCheck::new("12345", "https://mycompany.com");
        assert!(check.verify("/myapp.php?foo=1&bar=2", &params, &with_port));
        let check = SignatureCheck::new("12345", "https://mycompany.com:443");
        assert!(check.verify("/myapp.php?foo=1&bar=2", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn toggles_only_default_ports() {
        assert_eq!(toggle_default_port("https://a.kz"), "https://a.kz:443");
        assert_eq!(toggle_default_port("https://a.kz:443/ivr"), "https://a.kz/ivr");
        assert_eq!(toggle_default_port("http://u:p@a.kz/x"), "http://u:p@a.kz:80/x");
        assert_eq!(toggle_default_port("http://a.kz:8080"), "http://a.kz:8080");
    }
}
