//! CSRF on everything a signed-in browser sends that changes something, checked by the
//! route table's gate ([`super::Guarded`]) before any handler runs, so no form can forget it.
//!
//! A browser attaches the session cookie to whatever a page makes it send; the `csrf` token
//! is what only this site's own pages know (it is in each form, and in the session row).
//! Every request that is not GET/HEAD/OPTIONS and came with a session must carry it: in the
//! form's `csrf` field, or in an `X-CSRF-Token` header for a script. Bearer-token requests
//! are exempt: a browser never adds an `Authorization` header by itself, which is what a
//! forged cross-site form relies on. This is the one place the token is checked.

use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;

use super::Session;
use crate::error::Error;

/// The header a script sends the token in, instead of a form field.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest form the gate reads; admin forms are a few hundred bytes.
const FORM_LIMIT: usize = 64 * 1024;

/// `request` as it came, when it needs no token or carries its session's; `BadCsrf`
/// (403) otherwise. A form body is read to find the field, then handed on unchanged.
pub async fn checked(request: Request) -> Result<Request, Error> {
    let Some(session) = request.extensions().get::<Session>().cloned() else { return Ok(request) };
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(request);
    }
    if let Some(sent) = request.headers().get(CSRF_HEADER) {
        session.check_csrf(sent.to_str().unwrap_or_default())?;
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let form = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| Error::PayloadTooLarge(FORM_LIMIT))?;
    session.check_csrf(&form_field(&form, "csrf").unwrap_or_default())?;
    Ok(Request::from_parts(parts, Body::from(form)))
}

/// The first value of `name` in a urlencoded form.
fn form_field(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_form_field_only() {
        assert_eq!(form_field(b"name=x&csrf=a%2Bb&csrf=second", "csrf").as_deref(), Some("a+b"));
        assert_eq!(form_field(b"xcsrf=1&csrf_=2", "csrf"), None);
        assert_eq!(form_field(b"", "csrf"), None);
    }
}
