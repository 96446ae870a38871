//! `GET /`: what someone who opens the service's address in a browser needs first, in
//! Kazakh and Russian: what this service is, where administrators sign in, which webhook
//! URLs to give a TwiML provider (Twilio), and whether the instance is ready (the same
//! checks as `/readyz`, loudly when nobody can be rung). Nothing about any caller.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::health::{Check, readiness};
use crate::state::AppState;

/// A webhook URL to give the provider, with what it is for.
pub struct Webhook {
    pub kk: &'static str,
    pub ru: &'static str,
    pub method: &'static str,
    pub url: String,
}

#[derive(Template)]
#[template(path = "home.html", config = "ivr/monitoring/askama.toml")]
pub struct HomePage {
    pub style: &'static str,
    pub admin: String,
    pub ready: bool,
    pub checks: Vec<Check>,
    pub webhooks: Vec<Webhook>,
}

/// The webhooks a TwiML provider (Twilio) is configured with; every other URL comes from
/// the service's answers. jambonz's application URLs (`/jambonz/call`, `/jambonz/status`)
/// are not listed.
pub fn webhooks(public_url: &str) -> Vec<Webhook> {
    vec![
        Webhook {
            kk: "Кіріс қоңырау",
            ru: "Входящий звонок",
            method: "POST",
            url: format!("{public_url}/twilio/voice"),
        },
        Webhook {
            kk: "Қоңырау күйі", ru: "Статус звонка", method: "POST", url: format!("{public_url}/twilio/status")
        },
    ]
}

pub async fn page(State(app): State<AppState>) -> Response {
    let readiness = readiness(&app);
    let page = HomePage {
        style: crate::admin::views::STYLESHEET,
        admin: format!("{}/admin", app.settings.public_url),
        ready: readiness.ready,
        checks: readiness.checks,
        webhooks: webhooks(&app.settings.public_url),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => crate::error::Error::Internal(error.into()).into_response(),
    }
}
