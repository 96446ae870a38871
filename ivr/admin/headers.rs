//! Security headers on every HTML page the service sends, set in one place (a middleware
//! over the whole router) so no page, present or future, can forget them:
//!
//! - `Content-Security-Policy`: nothing loads but this site's own forms, recordings and the
//!   one inlined stylesheet, admitted by its SHA-256 (so no inline script and no injected
//!   style runs, even if an escaping bug let markup through); `frame-ancestors 'none'` so
//!   no other site can frame a page to trick a click;
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (page addresses
//!   carry report filters), and `X-Frame-Options: DENY` for browsers older than CSP 2.
//!
//! Pages use inline SVG for charts and no script at all, but for the operators' desk, which
//! sets its own policy: this one, plus its one inlined script (by its hash) and its live
//! stream (`connect-src 'self'`; `crate::desk`).

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::views::STYLESHEET;

/// The policy, with the hash of the stylesheet every page inlines.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let style = STANDARD.encode(Sha256::digest(STYLESHEET.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{style}'; media-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// Adds the headers to a `text/html` response (the router maps every response through it).
/// A page that sets its own policy keeps it: the desk's is this one and its script.
pub fn on_pages(mut response: Response) -> Response {
    if is_html(response.headers()) {
        let headers = response.headers_mut();
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
            && let Ok(policy) = HeaderValue::from_str(content_security_policy())
        {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    content_type.trim_start().to_ascii_lowercase().starts_with("text/html")
}
