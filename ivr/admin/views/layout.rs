//! The frame of every page: the 111 name, the sections the user may open, the language
//! switch and logout. Both change state, so both are POST forms carrying the CSRF token;
//! everything else in the frame is a plain link.

use askama::Template;

use super::paths;
use super::text::{Text, Ui};

/// The stylesheet, inlined into every page so the login page is styled before there is a
/// session and nothing is fetched from anywhere. Exposed for a CSP hash.
pub const STYLESHEET: &str = include_str!("style.css");

/// What every signed-in page needs to know about who is looking at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageContext {
    /// The interface language.
    pub ui: Ui,
    /// The session's CSRF token: the `csrf` field of every POST form on the page.
    pub csrf: String,
    /// The signed-in user's name, shown in the header.
    pub user: String,
    /// This page's path and query; the language form posts it back as `next`.
    pub path: String,
    /// The sections this user's role may open, in menu order.
    pub sections: Vec<Section>,
}

/// A part of the admin interface, with its menu entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The statistics dashboard.
    Dashboard,
    /// The operator roster.
    Operators,
    /// The prompt library.
    Prompts,
    /// The call flow.
    Flow,
    /// The operators' desk (`crate::desk`): an operator's state and the line now.
    Desk,
}

impl Section {
    /// Every section, in menu order.
    pub const ALL: [Section; 5] =
        [Section::Dashboard, Section::Desk, Section::Operators, Section::Prompts, Section::Flow];

    /// Where the section's page lives.
    pub fn path(self) -> &'static str {
        match self {
            Section::Dashboard => paths::DASHBOARD,
            Section::Operators => paths::OPERATORS,
            Section::Prompts => paths::PROMPTS,
            Section::Flow => paths::FLOW,
            Section::Desk => paths::DESK,
        }
    }

    pub(crate) fn label(self, t: &Text) -> &'static str {
        match self {
            Section::Dashboard => t.dashboard,
            Section::Operators => t.operators,
            Section::Prompts => t.prompts,
            Section::Flow => t.flow,
            Section::Desk => t.desk,
        }
    }
}

/// The frame as the base template reads it.
pub(crate) struct Chrome<'a> {
    pub t: &'static Text,
    pub lang: &'static str,
    pub title: &'static str,
    pub style: &'static str,
    pub home: &'static str,
    pub bar: Option<Bar<'a>>,
}

/// The signed-in part of the header.
pub(crate) struct Bar<'a> {
    pub csrf: &'a str,
    pub user: &'a str,
    pub next: &'a str,
    pub nav: Vec<NavLink>,
    pub languages: Vec<LanguageButton>,
    pub language_action: &'static str,
    pub logout_action: &'static str,
}

pub(crate) struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub(crate) struct LanguageButton {
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

impl<'a> Chrome<'a> {
    pub fn signed_in(page: &'a PageContext, section: Section) -> Chrome<'a> {
        let t = page.ui.text();
        let nav = page
            .sections
            .iter()
            .map(|s| NavLink { href: s.path(), label: s.label(t), current: *s == section })
            .collect();
        let bar = Bar {
            csrf: &page.csrf,
            user: &page.user,
            next: &page.path,
            nav,
            languages: language_buttons(page.ui),
            language_action: paths::LANGUAGE,
            logout_action: paths::LOGOUT,
        };
        Chrome { bar: Some(bar), ..Chrome::signed_out(page.ui, section.label(t)) }
    }

    pub fn signed_out(ui: Ui, title: &'static str) -> Chrome<'a> {
        Chrome { t: ui.text(), lang: ui.code(), title, style: STYLESHEET, home: paths::DASHBOARD, bar: None }
    }
}

pub(crate) fn language_buttons(current: Ui) -> Vec<LanguageButton> {
    Ui::ALL
        .into_iter()
        .map(|ui| LanguageButton { code: ui.code(), name: ui.own_name(), current: ui == current })
        .collect()
}

/// Renders a page. Writing into a `String` cannot fail and the templates call nothing
/// fallible, so an error here is a bug in this module.
#[allow(clippy::expect_used, reason = "askama writing into a String fails only on a template bug")]
pub(crate) fn render(page: &impl Template) -> String {
    page.render().expect("the admin templates write only into a String")
}
