//! Who may do what: administrators, analysts and operators, signed in with a password
//! (a session cookie) or calling the API with a bearer token.
//!
//! Handlers take a [`Principal`] and check its [`Role`]; a request without valid
//! credentials never reaches them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::error::Error;

/// What a signed-in person or a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reports only.
    Analyst,
    /// Their own availability only.
    Operator,
}

/// The person or token behind a request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub role: Role,
    /// The user's name, or the token's label.
    pub name: String,
    /// For role `operator`: the roster entry (operators.id) this person is.
    pub operator_id: Option<i64>,
}

impl Principal {
    /// `Ok` when this principal has one of `roles`, `Err(Error::Forbidden)` otherwise.
    pub fn require(&self, roles: &[Role]) -> Result<(), Error> {
        if roles.contains(&self.role) { Ok(()) } else { Err(Error::Forbidden) }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(_parts: &mut Parts, _state: &AppState) -> Result<Principal, Error> {
        // Sessions and tokens land with the access-control work (issue 6).
        Err(Error::Unauthorized)
    }
}
