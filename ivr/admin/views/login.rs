//! The login page: name, password, and the reason the last attempt failed. It is shown
//! before there is a session, so its language comes from the request (a `lang` link),
//! and its form still carries a CSRF token so a third-party page cannot log a browser in.

use askama::Template;

use super::format::{fill, int};
use super::layout::{Chrome, LanguageButton, language_buttons, render};
use super::paths;
use super::text::{Text, Ui};

/// What the sign-in page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginView {
    /// The interface language.
    pub ui: Ui,
    /// The form's CSRF token (its twin is in the sign-in cookie).
    pub csrf: String,
    /// The name typed last time, kept so a wrong password does not erase it.
    pub name: String,
    /// The page to open after signing in (a local path, checked by the handler).
    pub next: String,
    /// What to tell the person about their last attempt, if anything.
    pub message: Option<LoginMessage>,
}

/// A notice on the sign-in page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMessage {
    /// The name and password do not match.
    WrongCredentials,
    /// Too many failed attempts.
    TooManyAttempts {
        /// Minutes until the next attempt is checked.
        minutes: u32,
    },
    /// The form's token was missing or old: reload and try again.
    FormExpired,
    /// The person has just signed out.
    SignedOut,
    /// As many passwords are being checked as the service allows: try again in a moment.
    Busy,
}

#[derive(Template)]
#[template(path = "login.html", config = "ivr/admin/views/askama.toml")]
struct LoginPage<'a> {
    chrome: Chrome<'a>,
    t: &'static Text,
    action: &'static str,
    csrf: &'a str,
    name: &'a str,
    next: &'a str,
    error: Option<String>,
    notice: Option<&'static str>,
    languages: Vec<LanguageButton>,
}

/// The sign-in page's HTML.
pub fn login_page(view: &LoginView) -> String {
    let t = view.ui.text();
    let (error, notice) = match view.message {
        None => (None, None),
        Some(LoginMessage::SignedOut) => (None, Some(t.signed_out)),
        Some(LoginMessage::WrongCredentials) => (Some(t.wrong_credentials.to_owned()), None),
        Some(LoginMessage::FormExpired) => (Some(t.form_expired.to_owned()), None),
        Some(LoginMessage::Busy) => (Some(t.sign_in_busy.to_owned()), None),
        Some(LoginMessage::TooManyAttempts { minutes }) => {
            (Some(fill(t.too_many_attempts, "n", &int(i64::from(minutes.max(1))))), None)
        }
    };
    render(&LoginPage {
        chrome: Chrome::signed_out(view.ui, t.login_title),
        t,
        action: paths::LOGIN,
        csrf: &view.csrf,
        name: &view.name,
        next: &view.next,
        error,
        notice,
        languages: language_buttons(view.ui),
    })
}
