//! Who may do what: administrators, analysts and operators, signed in with a password (a
//! session cookie) or calling the API with a bearer token.
//!
//! Every route under `/admin`, `/desk` and `/api` is registered through a [`Guarded`] table, which
//! states the roles it admits; [`authenticate`] (a middleware over the whole router) turns
//! the cookie or token into a [`Principal`] before routing, so a request without valid
//! credentials reaches no handler: `/api` answers 401, `/admin` and `/desk` send the browser
//! to the sign-in page. The table is also what the route test walks, so a route cannot be added
//! without being checked. Anything a signed-in browser sends that changes something must
//! carry its session's CSRF token; the same table's gate checks it before the handler
//! (`csrf.rs`), so no form can forget it.
//!
//! Adding routes: a module returns a [`Guarded`] built with `.get(path, roles, handler)`,
//! `.post(…)`, `.put(…)`, `.patch(…)`, `.delete(…)`, and `app::protected_routes` merges it.
//! Handlers read who is asking with the [`Principal`] extractor (and [`Session`] for the
//! browser's CSRF token and language).

mod accounts;
pub mod cli;
mod client;
mod csrf;
mod flood;
mod guard;
pub mod login;
mod secret;
mod store;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::Error;
use crate::state::AppState;

pub use accounts::{add_user, create_token};
pub use client::client_address;
pub use csrf::CSRF_HEADER;
pub use flood::{Refusal, SignInLimits};
pub use guard::{Guarded, GuardedRoute, authenticate};
pub use login::{Failure, LOGIN, SESSION_COOKIE};
pub use store::{AccessStore, TokenInfo, User};

/// What a signed-in person or a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reports only.
    Analyst,
    /// Their own state (the desk, the roster page, the state API) and the line now.
    Operator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Admin, Role::Analyst, Role::Operator];

    /// `admin`, `analyst` or `operator`.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    /// The role's name, as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
        }
    }
}

/// The person or token behind a request.
#[derive(Clone, Debug)]
pub struct Principal {
    /// What they may do.
    pub role: Role,
    /// The user's name, or the token's label.
    pub name: String,
    /// For role `operator`: the roster entry (operators.id) this person is.
    pub operator_id: Option<i64>,
}

/// A signed-in browser's session, beside its [`Principal`] (absent for bearer tokens).
#[derive(Clone, Debug)]
pub struct Session {
    /// The signed-in user's id.
    pub user_id: i64,
    /// The token every form of this session must carry in its `csrf` field.
    pub csrf: String,
    /// The dashboard's language chosen by this user: `kk` or `ru`.
    pub language: String,
    /// The SHA-256 of the cookie, to end the session.
    id_hash: String,
}

impl Session {
    /// `Ok` when a posted form's `csrf` field is this session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Error> {
        if secret::same(sent, &self.csrf) { Ok(()) } else { Err(Error::BadCsrf) }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Principal, Error> {
        parts.extensions.get::<Principal>().cloned().ok_or(Error::Unauthorized)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Session, Error> {
        parts.extensions.get::<Session>().cloned().ok_or(Error::Unauthorized)
    }
}

/// What can go wrong managing accounts and tokens, in words for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A user name that is empty, too long, has control characters or spaces at either end.
    #[error("a name is 1 to 64 characters, without control characters")]
    BadName,
    /// A password shorter than this many characters.
    #[error("a password is at least {0} characters")]
    ShortPassword(usize),
    /// A token label that is empty or too long.
    #[error("a token's label is 1 to 100 characters")]
    BadLabel,
    /// An operator without their roster entry, or another role with one.
    #[error("role operator needs --operator ID (their roster entry); other roles take none")]
    OperatorLink,
    /// A user of this name exists already.
    #[error("there is already a user named `{0}`")]
    DuplicateName(String),
    /// A stored value this version cannot read (a role, a date).
    #[error("the database holds an unreadable {0}")]
    Corrupt(&'static str),
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else (hashing a password, say).
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

impl From<AccessError> for Error {
    /// Over HTTP only the database's failures can happen (accounts are made by the CLI): an
    /// unreachable database is a 503, anything else is logged and answered as internal.
    fn from(error: AccessError) -> Error {
        match error {
            AccessError::Database(e) => e.into(),
            AccessError::Other(e) => Error::Internal(e),
            other => Error::Internal(other.into()),
        }
    }
}
