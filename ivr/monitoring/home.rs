//! `GET /`: what someone who opens the service's address in a browser needs first, in
//! Kazakh and Russian: what this service is, where administrators sign in, which webhook
//! URLs to give the telephony platform (a TwiML provider, jambonz), and whether the instance is ready (the same
//! checks as `/readyz`, loudly when nobody can be rung). Nothing about any caller.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::health::{Check, readiness};
use crate::state::AppState;

/// A webhook URL to give the platform, with what it is for.
pub struct Webhook {
    pub platform: &'static str,
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

/// The webhooks each platform is configured with: a TwiML provider's number (incoming call,
/// status callback) and a jambonz application (calling webhook, call status webhook). Every
/// other URL comes from the service's answers.
pub fn webhooks(public_url: &str) -> Vec<Webhook> {
    let hook =
        |platform, kk, ru, path: &str| Webhook { platform, kk, ru, method: "POST", url: format!("{public_url}{path}") };
    vec![
        hook("TwiML", "Кіріс қоңырау", "Входящий звонок", "/twilio/voice"),
        hook("TwiML", "Қоңырау күйі", "Статус звонка", "/twilio/status"),
        hook("jambonz", "Кіріс қоңырау", "Входящий звонок", crate::telephony::jambonz::CALL_PATH),
        hook("jambonz", "Қоңырау күйі", "Статус звонка", crate::telephony::jambonz::STATUS_PATH),
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
