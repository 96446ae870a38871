//! The operator roster: who a caller can be put through to, where to ring them, which
//! languages they take calls in, and whether they are taking calls now.
//!
//! Every change is a POST form with the CSRF token. Removing someone takes two clicks (the
//! second inside a `<details>`), since a slip would silently drop a person from the line.
//! Without a script, editing happens in place in a `<details>` under each row.

use askama::Template;

use super::layout::{Chrome, PageContext, Section, render};
use super::paths;
use super::text::{Text, Ui};
use crate::flow::Language;
use crate::operators::RosterError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorsView {
    pub operators: Vec<OperatorRow>,
    /// May add, edit and remove (an administrator); otherwise the page only lists, with
    /// availability switches where `can_toggle` allows.
    pub can_manage: bool,
    /// Why the last change was refused, already in the page's language.
    pub error: Option<String>,
    /// What the add form shows: empty, or what was typed when the last add was refused.
    pub draft: OperatorDraft,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorRow {
    pub id: i64,
    pub name: String,
    /// A phone number or a `sip:` address, as the roster stores it.
    pub target: String,
    /// The languages they take calls in (from the roster's `kk`/`ru`/`both`).
    pub languages: Vec<Language>,
    pub available: bool,
    /// May this user switch this operator's availability (an operator: only their own).
    pub can_toggle: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorDraft {
    pub name: String,
    pub target: String,
    pub languages: Vec<Language>,
}

impl Default for OperatorDraft {
    fn default() -> OperatorDraft {
        OperatorDraft { name: String::new(), target: String::new(), languages: Language::ALL.to_vec() }
    }
}

#[derive(Template)]
#[template(path = "operators.html", config = "ivr/admin/views/askama.toml")]
struct OperatorsPage<'a> {
    chrome: Chrome<'a>,
    t: &'static Text,
    csrf: &'a str,
    add_action: &'static str,
    rows: Vec<Row<'a>>,
    can_manage: bool,
    error: Option<&'a str>,
    draft: Fields<'a>,
}

struct Row<'a> {
    id: i64,
    name: &'a str,
    target: &'a str,
    languages: String,
    available: bool,
    can_toggle: bool,
    action: String,
    fields: Fields<'a>,
}

/// The name, target and language inputs, as in the add form and each edit form.
struct Fields<'a> {
    name: &'a str,
    target: &'a str,
    choices: Vec<Choice>,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

pub fn operators_page(page: &PageContext, view: &OperatorsView) -> String {
    let t = page.ui.text();
    let rows = view.operators.iter().map(|op| row(t, op)).collect();
    let draft = fields(t, &view.draft.name, &view.draft.target, &view.draft.languages);
    render(&OperatorsPage {
        chrome: Chrome::signed_in(page, Section::Operators),
        t,
        csrf: &page.csrf,
        add_action: paths::OPERATORS,
        rows,
        can_manage: view.can_manage,
        error: view.error.as_deref(),
        draft,
    })
}

fn row<'a>(t: &'static Text, op: &'a OperatorRow) -> Row<'a> {
    Row {
        id: op.id,
        name: &op.name,
        target: &op.target,
        languages: t.language_name(form_value(&op.languages)).to_owned(),
        available: op.available,
        can_toggle: op.can_toggle,
        action: format!("{}/{}", paths::OPERATORS, op.id),
        fields: fields(t, &op.name, &op.target, &op.languages),
    }
}

fn fields<'a>(t: &'static Text, name: &'a str, target: &'a str, languages: &[Language]) -> Fields<'a> {
    let current = form_value(languages);
    let choices = ["kk", "ru", "both"]
        .into_iter()
        .map(|value| Choice { value, label: t.language_name(value), selected: value == current })
        .collect();
    Fields { name, target, choices }
}

/// The `languages` form value for a set of languages, as the roster parses it.
fn form_value(languages: &[Language]) -> &'static str {
    match (languages.contains(&Language::Kk), languages.contains(&Language::Ru)) {
        (true, false) => "kk",
        (false, true) => "ru",
        _ => "both",
    }
}

/// Why a roster change was refused, in the page's language; `None` for a fault that is not
/// the user's to fix (the handler answers that with an error status instead).
pub fn roster_message(ui: Ui, error: &RosterError) -> Option<&'static str> {
    let t = ui.text();
    Some(match error {
        RosterError::BadName(_) => t.roster_bad_name,
        RosterError::BadTarget(_) => t.roster_bad_target,
        RosterError::Undialable(_) => t.roster_undialable,
        RosterError::UnknownLanguage(_) => t.roster_bad_languages,
        RosterError::BadId(_) | RosterError::UnknownOperator(_) => t.roster_unknown,
        RosterError::DuplicateTarget(_) => t.roster_duplicate,
        RosterError::NothingToChange => t.roster_unchanged,
        // The page sets no state by name: that refusal is the API's and the CLI's.
        RosterError::UnknownState(_) | RosterError::Database(_) => return None,
    })
}
