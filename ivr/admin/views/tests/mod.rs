//! Whole pages, rendered from fixtures in both languages: what every page must have
//! (a complete document, escaped values, CSRF on every POST form, nothing from another
//! host) and what each page shows.

mod dashboard;
mod pages;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;

use super::flow::{FlowLink, FlowNode, FlowNodeKind, LinkVia};
use super::prompts::{PromptEntry, Recording};
use super::*;
use crate::flow::{Flow, Language};
use crate::prompts::{RecordingKind, TextSource};
use crate::stats::QueueLine;

const CSRF: &str = "csrf-7f3a9b";
const SCRIPT: &str = "<script>alert(1)</script>";
const ESCAPED_SCRIPT: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

/// A flow with every kind of node, small enough to know by heart.
const SMALL_FLOW: &str = r#"
start = "language"
main_menu = "main"
emergency = "police"
operator = "operator"
default_language = "kk"
emergency_key = "9"
operator_key = "0"
repeat_key = "*"
invalid_choice_prompt = "invalid_choice"
no_input_prompt = "no_input"
max_failures = 3
timeout_seconds = 6

[nodes.language]
kind = "menu"
prompts = ["choose_language"]
options = { "1" = { goto = "main", language = "kk" }, "2" = { goto = "main", language = "ru" } }

[nodes.main]
kind = "menu"
prompts = ["main_menu"]
options = { "1" = "rights", "2" = "goodbye" }

[nodes.rights]
kind = "guidance"
topic = "rights"
prompts = ["guidance_rights"]
options = { "1" = "rights", "2" = "main" }

[nodes.police]
kind = "emergency_transfer"
prompts = ["transfer_police"]
ring_seconds = 40
on_failure = "main"

[nodes.operator]
kind = "operator_transfer"
prompts = ["transfer_operator"]
ring_seconds = 25
max_rounds = 2
on_failure = "hold"
on_exhausted = "main"
on_complete = "goodbye"

[nodes.hold]
kind = "hold"
prompts = ["hold_intro"]
guidance = ["guidance_rights"]
next = "operator"

[nodes.goodbye]
kind = "hangup"
prompts = ["goodbye"]
"#;

fn small_flow() -> Flow {
    Flow::from_toml(SMALL_FLOW).expect("the test flow loads")
}

fn page(ui: Ui) -> PageContext {
    PageContext {
        ui,
        csrf: CSRF.to_owned(),
        user: "aigerim".to_owned(),
        path: "/admin?from=2026-03-01&to=2026-03-07".to_owned(),
        sections: Section::ALL.to_vec(),
    }
}

fn day(month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap()
}

fn busy_dashboard() -> DashboardView {
    let flow = small_flow();
    let mut weekday_hours = [[0; 24]; 7];
    weekday_hours[0][9] = 12;
    weekday_hours[5][22] = 30;
    let hangups = BTreeMap::from([("main".to_owned(), 20), ("language".to_owned(), 5), ("goodbye".to_owned(), 17)]);
    DashboardView {
        from: day(3, 1),
        to: day(3, 7),
        today: day(3, 7),
        range_problem: None,
        totals: Totals {
            calls: 42,
            synthetic_calls: 0,
            emergency_transfers: 3,
            operator_transfers: 10,
            abandoned: 5,
            avg_ivr_seconds: Some(74.25),
        },
        days: (1..=7).map(|d| DayCount { day: day(3, d), calls: [4, 8, 2, 0, 10, 9, 9][d as usize - 1] }).collect(),
        languages: counts(&BTreeMap::from([("kk".into(), 25), ("ru".into(), 15), ("none".into(), 2)])),
        outcomes: counts(&BTreeMap::from([
            ("abandoned".into(), 5),
            ("emergency".into(), 3),
            ("failed_transfer".into(), 2),
            ("operator".into(), 8),
            ("self_service".into(), 24),
        ])),
        topics: counts(&BTreeMap::from([("rights".into(), 20), ("safety_plan".into(), 11)])),
        weekday_hours,
        timezone: "UTC+5".to_owned(),
        emergency_results: counts(&BTreeMap::from([("completed".into(), 2), ("busy".into(), 1)])),
        operator: OperatorAnswers { rung: 10, answered: 8, avg_seconds_to_answer: Some(12.5) },
        hangups: in_flow_order(&flow, &hangups),
        queue: vec![QueueRow {
            language: "kk".into(),
            line: QueueLine {
                queued: 6,
                answered: 4,
                abandoned: 2,
                rung_by_overflow: 1,
                avg_seconds: Some(41.5),
                max_seconds: Some(95),
                avg_position: Some(1.5),
                ..QueueLine::default()
            },
        }],
        queue_days: (1..=7)
            .map(|d| DayCount { day: day(3, d), calls: [1, 2, 0, 0, 3, 0, 0][d as usize - 1] })
            .collect(),
        answered_by_operator: counts(&BTreeMap::from([("Айгерім".into(), 5), ("Ольга".into(), 3)])),
    }
}

fn empty_dashboard() -> DashboardView {
    DashboardView {
        totals: Totals::default(),
        days: (1..=7).map(|d| DayCount { day: day(3, d), calls: 0 }).collect(),
        languages: Vec::new(),
        outcomes: Vec::new(),
        topics: Vec::new(),
        weekday_hours: [[0; 24]; 7],
        emergency_results: Vec::new(),
        operator: OperatorAnswers::default(),
        hangups: Vec::new(),
        queue: Vec::new(),
        queue_days: Vec::new(),
        answered_by_operator: Vec::new(),
        ..busy_dashboard()
    }
}

fn roster() -> OperatorsView {
    let operator = |id, name: &str, target: &str, languages, available| OperatorRow {
        id,
        name: name.to_owned(),
        target: target.to_owned(),
        languages,
        available,
        can_toggle: true,
    };
    OperatorsView {
        operators: vec![
            operator(1, "Айгерім", "+77010000001", vec![Language::Kk, Language::Ru], true),
            operator(2, "Ольга", "sip:olga@pbx.local", vec![Language::Ru], false),
        ],
        can_manage: true,
        error: None,
        draft: OperatorDraft::default(),
    }
}

fn library() -> PromptsView {
    let recording = |language, transcript: &str, status| Recording {
        language,
        transcript: transcript.to_owned(),
        duration: Duration::from_millis(7_400),
        kind: (status != PromptStatus::Missing).then_some(RecordingKind::Synthetic),
        text: (status != PromptStatus::Missing).then_some(TextSource::Memo),
        status,
    };
    PromptsView {
        prompts: vec![
            PromptEntry {
                key: "main_menu".to_owned(),
                description: "The main menu".to_owned(),
                recordings: vec![
                    recording(Language::Kk, "Құқықтарыңыз туралы білу үшін 1-ді басыңыз.", PromptStatus::Ok),
                    recording(Language::Ru, "Чтобы узнать о своих правах, нажмите 1.", PromptStatus::Ok),
                ],
            },
            PromptEntry {
                key: "goodbye".to_owned(),
                description: "Said before hanging up".to_owned(),
                recordings: vec![
                    recording(Language::Kk, "Сау болыңыз.", PromptStatus::Problem("8000 Hz expected".to_owned())),
                    recording(Language::Ru, "", PromptStatus::Missing),
                ],
            },
        ],
    }
}

/// Every page of the dashboard in `ui`, by name.
fn all_pages(ui: Ui) -> Vec<(&'static str, String)> {
    let page = page(ui);
    let login = LoginView { ui, csrf: CSRF.to_owned(), name: String::new(), next: "/admin".to_owned(), message: None };
    vec![
        ("login", login_page(&login)),
        ("dashboard", dashboard_page(&page, &busy_dashboard())),
        ("empty dashboard", dashboard_page(&page, &empty_dashboard())),
        ("operators", operators_page(&page, &roster())),
        ("prompts", prompts_page(&page, &library())),
        ("flow", flow_page(&page, &FlowView::from_flow(&small_flow()))),
    ]
}

/// Opening and closing tags of the elements the pages nest, counted.
fn assert_balanced(name: &str, html: &str) {
    for tag in ["html", "head", "body", "header", "main", "nav", "section", "article", "figure", "div", "form"] {
        assert_same_count(name, html, tag);
    }
    for tag in ["ul", "ol", "li", "table", "tr", "details", "svg", "label", "select", "dl", "p", "span", "a"] {
        assert_same_count(name, html, tag);
    }
}

fn assert_same_count(name: &str, html: &str, tag: &str) {
    let opened = html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
    let closed = html.matches(&format!("</{tag}>")).count();
    assert_eq!(opened, closed, "{name}: {opened} <{tag}> but {closed} </{tag}>");
}

/// The `<form ...>...</form>` blocks whose method is POST.
fn post_forms(html: &str) -> Vec<&str> {
    html.split("<form")
        .skip(1)
        .filter(|f| f.starts_with(" method=\"post\""))
        .map(|f| &f[..f.find("</form>").unwrap()])
        .collect()
}

#[test]
fn every_page_is_a_complete_html5_document_in_both_languages() {
    for ui in Ui::ALL {
        for (name, html) in all_pages(ui) {
            assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""), "{name}");
            assert!(html.contains(&format!("<html lang=\"{}\">", ui.code())), "{name}");
            assert!(html.contains("<meta charset=\"utf-8\">") && html.contains("name=\"viewport\""), "{name}");
            assert!(html.trim_end().ends_with("</html>"), "{name}");
            assert_balanced(name, &html);
        }
    }
}

#[test]
fn every_post_form_carries_the_csrf_token() {
    let field = format!("<input type=\"hidden\" name=\"csrf\" value=\"{CSRF}\">");
    for ui in Ui::ALL {
        for (name, html) in all_pages(ui) {
            let forms = post_forms(&html);
            let expected = match name {
                "login" => 1,
                "operators" => 2 + 2 * 3 + 1,
                _ => 2,
            };
            assert_eq!(forms.len(), expected, "{name}: POST forms");
            for form in forms {
                assert!(form.contains(&field), "{name}: a POST form without the CSRF field: {form}");
            }
        }
    }
}

#[test]
fn no_page_loads_anything_from_another_host() {
    for ui in Ui::ALL {
        for (name, html) in all_pages(ui) {
            for external in ["http://", "https://", "//cdn", "src=\"//", "href=\"//", "url(", "@import", "<script"] {
                assert!(!html.contains(external), "{name} contains `{external}`");
            }
        }
    }
}

#[test]
fn pages_speak_only_the_chosen_language() {
    let kk: String = all_pages(Ui::Kk).into_iter().map(|(_, html)| html).collect();
    let ru: String = all_pages(Ui::Ru).into_iter().map(|(_, html)| html).collect();
    for label in ["Шолу", "Операторлар", "Жазбалар", "Мәзір", "Шығу", "Құпиясөз", "Қоңыраулар"]
    {
        assert!(kk.contains(label) && !ru.contains(label), "`{label}` belongs to the Kazakh pages only");
    }
    for label in ["Обзор", "Операторы", "Записи", "Меню", "Выйти", "Пароль", "Звонки"]
    {
        assert!(ru.contains(label) && !kk.contains(label), "`{label}` belongs to the Russian pages only");
    }
    for english in [">Dashboard<", ">Operators<", ">Logout<", ">Password<", ">Calls<"] {
        assert!(!kk.contains(english) && !ru.contains(english), "untranslated `{english}`");
    }
}

#[test]
fn the_language_switch_and_logout_post_back_with_the_current_page() {
    let html = dashboard_page(&page(Ui::Ru), &busy_dashboard());
    let forms = post_forms(&html);
    let language = forms.iter().find(|f| f.contains(paths::LANGUAGE)).expect("a language form");
    assert!(language.contains("name=\"next\" value=\"/admin?from=2026-03-01&#38;to=2026-03-07\""), "{language}");
    assert!(language.contains("value=\"kk\"") && language.contains("value=\"ru\" lang=\"ru\" aria-pressed=\"true\""));
    assert!(forms.iter().any(|f| f.contains(paths::LOGOUT) && f.contains("Выйти")));
    assert!(html.contains("href=\"/admin\" aria-current=\"page\">Обзор</a>"));
}

#[test]
fn a_script_in_any_value_is_shown_as_text() {
    let mut page = page(Ui::Kk);
    page.user = SCRIPT.to_owned();
    page.path = format!("/admin?from=\"{SCRIPT}");
    let mut dashboard = busy_dashboard();
    dashboard.topics[0].key = SCRIPT.to_owned();
    dashboard.hangups[0].key = SCRIPT.to_owned();
    dashboard.timezone = SCRIPT.to_owned();
    let mut roster = roster();
    roster.operators[0].name = SCRIPT.to_owned();
    roster.operators[1].target = SCRIPT.to_owned();
    roster.error = Some(SCRIPT.to_owned());
    let mut library = library();
    library.prompts[0].recordings[0].transcript = SCRIPT.to_owned();
    library.prompts[1].description = SCRIPT.to_owned();
    let mut flow = FlowView::from_flow(&small_flow());
    flow.nodes[1].name = SCRIPT.to_owned();
    let login = LoginView {
        ui: Ui::Kk,
        csrf: format!("\"{SCRIPT}"),
        name: SCRIPT.to_owned(),
        next: SCRIPT.to_owned(),
        message: None,
    };
    let pages = [
        dashboard_page(&page, &dashboard),
        operators_page(&page, &roster),
        prompts_page(&page, &library),
        flow_page(&page, &flow),
        login_page(&login),
    ];
    for html in pages {
        assert!(!html.contains(SCRIPT) && !html.contains("<script"), "unescaped: {html}");
        assert!(html.contains(ESCAPED_SCRIPT), "the name is still shown, escaped");
    }
}
