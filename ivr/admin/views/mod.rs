//! The administrators' web pages, as pure functions from plain view models to HTML.
//!
//! Nothing here reads the database, the session or the request: a handler fills a view
//! model from a report, the operator roster, the prompt library or the flow, and gets a
//! complete HTML5 page back. Keeping pages pure lets every label, chart and form be tested
//! without a server, and lets the statistics store and access control change without
//! touching a page.
//!
//! Pages are askama templates (`templates/`), compiled into the binary and HTML-escaping
//! every value by default. Charts are inline SVG drawn on the server and the stylesheet is
//! inlined, so a page needs no script, CDN or web font: the hotline runs this inside its
//! own network. Every label exists in Kazakh and Russian ([`Ui`]); one missing in either
//! language is a compile error.

mod chart;
mod dashboard;
mod flow;
mod format;
mod layout;
mod login;
mod operators;
mod prompts;
mod queue_panel;
mod text;

#[cfg(test)]
mod tests;

pub use chart::shift_hours;
// What the tests and benchmarks use is public; the view models' parts only the admin
// handlers fill are the crate's own.
pub(crate) use dashboard::{Count, DayCount, OperatorAnswers, RangeProblem, Totals, counts, in_flow_order};
pub use dashboard::{DashboardView, dashboard_page};
pub(crate) use flow::{FlowView, flow_page};
pub use layout::{PageContext, STYLESHEET, Section};
pub use queue_panel::QueueRow;
// The desk (`crate::desk`) draws its page in the same frame.
pub(crate) use layout::{Chrome, render};
pub use login::{LoginMessage, LoginView, login_page};
pub(crate) use operators::{OperatorDraft, OperatorRow, OperatorsView, operators_page, roster_message};
pub(crate) use prompts::{PromptsView, prompts_page};
// Public only for now: `Problem` is shown by the page but never made (a loaded library has
// passed validation); see issue 12's report.
pub use prompts::PromptStatus;
pub use text::Ui;

/// Where each page and form lives. The pages link and post only to these, so the router
/// and the pages cannot disagree if both use them.
pub mod paths {
    /// Outside `/admin`: it must open without a session.
    pub const LOGIN: &str = crate::access::LOGIN;
    /// POST here to sign out.
    pub const LOGOUT: &str = "/admin/logout";
    /// POST `lang` (`kk`/`ru`) and `next` (the page to go back to: check it is local).
    pub const LANGUAGE: &str = "/admin/language";
    /// GET `from` and `to` (`YYYY-MM-DD`).
    pub const DASHBOARD: &str = "/admin";
    /// POST `name`, `target`, `languages` (`kk`/`ru`/`both`) here to add an operator;
    /// to `/admin/operators/{id}` to edit one, `.../{id}/remove` to remove it and
    /// `.../{id}/availability` with `available` (`true`/`false`) to switch it.
    pub const OPERATORS: &str = "/admin/operators";
    /// The prompt library page.
    pub const PROMPTS: &str = "/admin/prompts";
    /// The call flow page.
    pub const FLOW: &str = "/admin/flow";
    /// The operators' desk (`crate::desk`), outside `/admin`: it is the operators' screen.
    pub const DESK: &str = "/desk";
    /// Served by `prompts::router`: `/prompts/{lang}/{key}.wav`.
    pub const PROMPT_AUDIO: &str = "/prompts";
}
