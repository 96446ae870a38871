//! Signing in and out: checking a password under the throttle, starting and ending
//! sessions, and the cookies that carry them. The sign-in page and its routes are the
//! dashboard's (`admin/sign_in.rs`); this is what they stand on.
//!
//! The session cookie holds 32 random bytes; the database holds only their SHA-256, with
//! the session's CSRF token and expiry. It is HttpOnly, SameSite=Strict, and Secure when
//! `IVR_PUBLIC_URL` is https (a proxy in front ends TLS, so the request cannot tell). The
//! sign-in form itself carries a CSRF token too (a double-submit cookie, [`form_token`]),
//! so another site cannot sign a browser in as someone else. Failed sign-ins are counted
//! per name in the database, shared by every instance: after [`MAX_FAILURES`] in
//! [`WINDOW_MINUTES`], the name is refused until the window has passed. Each attempt is
//! counted before its password is checked, in one atomic step, so a burst of parallel
//! guesses gets no more tries than a patient one. Before that, the limits kept in memory
//! (`flood.rs`): how many passwords are checked at once, the client address's own failures,
//! and the slow lane that keeps a stranger from locking a real user out by name.

use std::net::IpAddr;
use std::time::Instant;

use axum::http;
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, TimeDelta, Utc};
use cookie::{Cookie, SameSite};

use super::flood::{Claim, Refusal, SignInLimits};
use super::secret::{digest, new_secret, same, verify_password};
use super::store::AccessStore;
use super::{AccessError, Session};
use crate::config::Settings;
use crate::db::Db;
use crate::error::Error;

/// The cookie that carries a signed-in browser's session (only its SHA-256 is stored).
pub const SESSION_COOKIE: &str = "ivr_session";
/// The sign-in form's own CSRF cookie, before there is a session.
const LOGIN_COOKIE: &str = "ivr_login";
/// The sign-in page, where a browser without a session is sent.
pub const LOGIN: &str = "/login";
const SESSION_HOURS: i64 = 12;
/// Failed sign-ins a name may have within [`WINDOW_MINUTES`] before it is refused.
pub const MAX_FAILURES: usize = 5;
/// How far back failed sign-ins count.
pub const WINDOW_MINUTES: i64 = 15;

/// A fresh token for the sign-in form, and the cookie that carries its twin.
pub fn form_token(settings: &Settings) -> (String, HeaderValue) {
    let token = new_secret();
    let cookie = build_cookie(settings, LOGIN_COOKIE, token.clone(), TimeDelta::hours(1));
    (token, cookie)
}

/// Whether a posted sign-in form's token is the one its cookie carries.
pub fn form_token_matches(headers: &HeaderMap, sent: &str) -> bool {
    let expected = cookie_value(headers, LOGIN_COOKIE).unwrap_or_default();
    !sent.is_empty() && same(sent, &expected)
}

/// Why a sign-in did not open a session.
pub enum Failure {
    /// The name and password do not match.
    Wrong,
    /// The password was not checked (`flood.rs`, or the per-name limit).
    Refused(Refusal),
    /// The check could not be made (the database is down, say).
    Error(Error),
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure::Refused(refusal)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Error(error)
    }
}

impl From<AccessError> for Failure {
    fn from(error: AccessError) -> Failure {
        Failure::Error(error.into())
    }
}

/// The user's id if the name and password match, within the limits: the client's own
/// (counted here, in memory, `flood.rs`), then the name's (in the database).
pub async fn check_password(
    db: &Db,
    limits: &SignInLimits,
    client: IpAddr,
    name: &str,
    password: String,
) -> Result<i64, Failure> {
    let claim = limits.claim(client, Instant::now())?;
    let checked = check_claimed(db, limits, claim, name, password).await;
    match &checked {
        Ok(_) => limits.succeeded(client),
        Err(Failure::Refused(Refusal::Busy)) => limits.unclaim(client),
        Err(_) => {}
    }
    checked
}

async fn check_claimed(
    db: &Db,
    limits: &SignInLimits,
    claim: Claim,
    name: &str,
    password: String,
) -> Result<i64, Failure> {
    let check = limits.checks.try_start().ok_or(Refusal::Busy)?;
    let now = Utc::now();
    let since = now - TimeDelta::minutes(WINDOW_MINUTES);
    // Counted as a failure before the password is checked, so that attempts sent all at
    // once cannot each see room under the limit; a success clears the name.
    let check = match db.claim_login_attempt(name, now, since, MAX_FAILURES).await? {
        None => check,
        // The name is refused, but not to a client that has failed nothing: a stranger's
        // failures must not lock the real user out. It waits its turn in the slow lane.
        Some(_) if claim.was_clean => {
            drop(check);
            let wait = limits.book_slow_lane(name, Instant::now())?;
            tracing::info!(wait_ms = wait.as_millis(), "a sign-in to a throttled name waits in the slow lane");
            tokio::time::sleep(wait).await;
            limits.checks.try_start().ok_or(Refusal::Busy)?
        }
        Some(oldest) => {
            crate::instruments::signin_throttled();
            return Err(Refusal::TooMany { minutes: minutes_until(oldest, now) }.into());
        }
    };
    let (user, hash) = db.user_by_name(name).await?.unzip();
    match (verify_password(password, hash, check).await, user) {
        (true, Some(user)) => {
            db.clear_login_failures(name).await?;
            Ok(user.id)
        }
        _ => {
            tracing::info!("a failed sign-in");
            crate::instruments::signin_failed();
            Err(Failure::Wrong)
        }
    }
}

/// When the oldest failure that counts leaves the window, in whole minutes (at least 1).
fn minutes_until(oldest: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let left = oldest + TimeDelta::minutes(WINDOW_MINUTES) - now;
    u32::try_from((left.num_seconds() + 59) / 60).unwrap_or(1).max(1)
}

/// Starts a session for `user_id`; returns the cookie that carries it.
pub async fn start_session(db: &Db, settings: &Settings, user_id: i64) -> Result<HeaderValue, Error> {
    let cookie = new_secret();
    let expires = Utc::now() + TimeDelta::hours(SESSION_HOURS);
    db.add_session(&digest(&cookie), user_id, &new_secret(), expires).await?;
    Ok(build_cookie(settings, SESSION_COOKIE, cookie, TimeDelta::hours(SESSION_HOURS)))
}

/// Ends a session; returns the cookie that clears it in the browser.
pub async fn end_session(db: &Db, settings: &Settings, session: &Session) -> Result<HeaderValue, Error> {
    db.remove_session(&session.id_hash).await?;
    Ok(build_cookie(settings, SESSION_COOKIE, String::new(), TimeDelta::zero()))
}

fn build_cookie(settings: &Settings, name: &'static str, value: String, max_age: TimeDelta) -> HeaderValue {
    let secure = settings.public_url.starts_with("https://");
    let cookie = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// The session cookie's value, if the browser sent one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_says_how_long_is_left() {
        let now = Utc::now();
        assert_eq!(minutes_until(now - TimeDelta::minutes(1), now), 14);
        assert_eq!(minutes_until(now - TimeDelta::seconds(WINDOW_MINUTES * 60 - 5), now), 1);
    }
}
