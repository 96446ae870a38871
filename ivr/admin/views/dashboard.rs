//! The dashboard: what happened on the line over a range of days.
//!
//! [`DashboardView`] mirrors the statistics summary field by field, so filling it is a
//! copy; turning keys into words, numbers into shares and days into charts happens here.
//! With no calls in the range the page says so once, plainly, instead of drawing empty
//! charts.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{Days, NaiveDate};

use super::chart::{Bars, Columns, Heatmap};
use super::flow::FlowView;
use super::format::{date, decimal, fill, int, percent};
use super::layout::{Chrome, PageContext, Section, render};
use super::paths;
use super::queue_panel::{QueuePanel, QueueRow, queue_panel};
use super::text::Text;
use crate::flow::Flow;

/// Everything the dashboard shows for `from..=to`.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardView {
    /// The first day shown.
    pub from: NaiveDate,
    /// The last day shown, included.
    pub to: NaiveDate,
    /// For the preset ranges (last 7 days, 30 days, a year) and the date pickers' `max`.
    pub today: NaiveDate,
    /// Why the requested range was not used, when it was not.
    pub range_problem: Option<RangeProblem>,
    /// The headline counts.
    pub totals: Totals,
    /// One row per day of the range, days without calls included.
    pub days: Vec<DayCount>,
    /// By caller language code: `kk`, `ru`, `none`.
    pub languages: Vec<Count>,
    /// By outcome: `self_service`, `operator`, `emergency`, `abandoned`, `failed_transfer`.
    pub outcomes: Vec<Count>,
    /// Calls that heard each guidance topic.
    pub topics: Vec<Count>,
    /// Calls by weekday (Monday first) and hour, in the time zone named by `timezone`.
    pub weekday_hours: [[i64; 24]; 7],
    /// How the heatmap's hours are counted, e.g. `UTC` or `UTC+5`.
    pub timezone: String,
    /// Police transfers by how the dial ended: `completed`, `busy`, `no-answer`, `failed`.
    pub emergency_results: Vec<Count>,
    /// How operator transfers were answered.
    pub operator: OperatorAnswers,
    /// Calls that ended on each flow node, in the flow's node order (see [`in_flow_order`]).
    pub hangups: Vec<Count>,
    /// The operators' queue per caller language: `kk`, `ru`, and `none` if such a caller waited.
    pub queue: Vec<QueueRow>,
    /// Callers who waited in the queue, per day of the range.
    pub queue_days: Vec<DayCount>,
    /// Calls each operator answered, by name.
    pub answered_by_operator: Vec<Count>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub calls: i64,
    /// Calls made by the demo-data generator: the page warns when this is not 0.
    pub synthetic_calls: i64,
    pub emergency_transfers: i64,
    pub operator_transfers: i64,
    pub abandoned: i64,
    /// `None` when no call was measured: a dash, as `ivr report` prints it.
    pub avg_ivr_seconds: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperatorAnswers {
    /// Calls transferred to an operator.
    pub rung: i64,
    /// Of those, calls an operator answered.
    pub answered: i64,
    /// `None` when no answered transfer had its ringing time measured.
    pub avg_seconds_to_answer: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub calls: i64,
}

/// A number of calls under a key from the statistics (a language code, an outcome, a
/// topic, a node name). Known keys are shown translated; others as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub value: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeProblem {
    NotADate,
    Reversed,
    TooLong,
}

/// A report's counts in key order.
pub fn counts(map: &BTreeMap<String, i64>) -> Vec<Count> {
    map.iter().map(|(key, value)| Count { key: key.clone(), value: *value }).collect()
}

/// Hang-up counts by node name in the order callers meet the nodes
/// ([`FlowView::call_order`]), zero for nodes nobody left from; names the flow no longer
/// has (an older flow's) follow, in key order.
pub fn in_flow_order(flow: &Flow, hangups: &BTreeMap<String, i64>) -> Vec<Count> {
    let view = FlowView::from_flow(flow);
    let count = |name: &String| Count { key: name.clone(), value: hangups.get(name).copied().unwrap_or(0) };
    let known = view.call_order().into_iter().map(|i| count(&view.nodes[i].name));
    let gone = hangups.keys().filter(|name| flow.node_id(name).is_none()).map(count);
    known.chain(gone).collect()
}

#[derive(Template)]
#[template(path = "dashboard.html", config = "ivr/admin/views/askama.toml")]
struct DashboardPage<'a> {
    chrome: Chrome<'a>,
    t: &'static Text,
    action: &'static str,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    presets: Vec<Preset>,
    problem: Option<&'static str>,
    shown: String,
    has_calls: bool,
    synthetic: Option<String>,
    cards: Vec<Card>,
    charts: Option<Charts>,
    operator: OperatorFacts,
    queue: QueuePanel,
}

struct Preset {
    href: String,
    label: &'static str,
    current: bool,
}

struct Card {
    value: String,
    label: &'static str,
    share: Option<String>,
}

struct Charts {
    per_day: Columns,
    languages: Bars,
    outcomes: Bars,
    topics: Bars,
    emergency: Bars,
    heatmap: Heatmap,
    funnel: Bars,
}

struct OperatorFacts {
    answered: String,
    rung: String,
    /// `(answered, rung)` for the `<meter>`, when anyone was rung.
    meter: Option<(i64, i64)>,
    rate: String,
    avg: String,
}

/// The dashboard page: HTML with its charts as inline SVG.
pub fn dashboard_page(page: &PageContext, view: &DashboardView) -> String {
    let t = page.ui.text();
    let totals = &view.totals;
    render(&DashboardPage {
        chrome: Chrome::signed_in(page, Section::Dashboard),
        t,
        action: paths::DASHBOARD,
        from: view.from,
        to: view.to,
        today: view.today,
        presets: presets(t, view),
        problem: view.range_problem.map(|p| problem(t, p)),
        shown: format!("{}: {} — {}", t.range, date(view.from), date(view.to)),
        has_calls: totals.calls > 0,
        synthetic: (totals.synthetic_calls > 0).then(|| fill(t.synthetic_note, "n", &int(totals.synthetic_calls))),
        cards: cards(t, totals),
        charts: (totals.calls > 0).then(|| charts(t, view)),
        operator: operator_facts(t, &view.operator),
        queue: queue_panel(t, &view.queue, &view.queue_days, &view.answered_by_operator),
    })
}

fn presets(t: &'static Text, view: &DashboardView) -> Vec<Preset> {
    [(t.last_7_days, 6), (t.last_30_days, 29), (t.last_year, 364)]
        .into_iter()
        .map(|(label, back)| {
            let from = view.today.checked_sub_days(Days::new(back)).unwrap_or(view.today);
            let href = format!("{}?from={from}&to={}", paths::DASHBOARD, view.today);
            Preset { href, label, current: view.from == from && view.to == view.today }
        })
        .collect()
}

fn problem(t: &Text, problem: RangeProblem) -> &'static str {
    match problem {
        RangeProblem::NotADate => t.range_not_a_date,
        RangeProblem::Reversed => t.range_reversed,
        RangeProblem::TooLong => t.range_too_long,
    }
}

fn cards(t: &'static Text, totals: &Totals) -> Vec<Card> {
    let card = |label, value: i64| Card { value: int(value), label, share: percent(value, totals.calls) };
    vec![
        Card { share: None, ..card(t.calls, totals.calls) },
        card(t.emergency_transfers, totals.emergency_transfers),
        card(t.operator_transfers, totals.operator_transfers),
        card(t.abandoned, totals.abandoned),
        Card {
            value: totals.avg_ivr_seconds.map_or_else(|| "—".to_owned(), |s| format!("{} {}", decimal(s), t.seconds)),
            label: t.avg_ivr_time,
            share: None,
        },
    ]
}

/// The order of known keys on the charts; others follow in key order.
const LANGUAGES: [&str; 3] = ["kk", "ru", "none"];
const OUTCOMES: [&str; 5] = ["self_service", "operator", "emergency", "failed_transfer", "abandoned"];
const DIAL_RESULTS: [&str; 5] = ["completed", "busy", "no-answer", "failed", "canceled"];

fn charts(t: &'static Text, view: &DashboardView) -> Charts {
    let calls = view.totals.calls;
    let emergency = labelled(&view.emergency_results, &DIAL_RESULTS, |k| t.dial_name(k));
    let emergency_total = emergency.iter().map(|(_, v)| v).sum();
    let hangups = labelled(&view.hangups, &[], |k| k);
    let hangups_total = hangups.iter().map(|(_, v)| v).sum();
    let mut topics = labelled(&view.topics, &[], |k| t.topic_name(k));
    topics.sort_by_key(|(_, value)| std::cmp::Reverse(*value));
    Charts {
        per_day: Columns::new(t, "per-day", &view.days),
        languages: Bars::new(
            t,
            "languages",
            t.by_language,
            labelled(&view.languages, &LANGUAGES, |k| t.language_name(k)),
            calls,
        ),
        outcomes: Bars::new(
            t,
            "outcomes",
            t.by_outcome,
            labelled(&view.outcomes, &OUTCOMES, |k| t.outcome_name(k)),
            calls,
        ),
        topics: Bars::new(t, "topics", t.topics_heard, topics, calls),
        emergency: Bars::new(t, "emergency", t.emergency_results, emergency, emergency_total),
        heatmap: Heatmap::new(t, "hours", &view.weekday_hours, &view.timezone),
        funnel: Bars::new(t, "funnel", t.funnel_title, hangups, hangups_total).with_note(t.funnel_note),
    }
}

/// Counts under their display names: the keys in `order` first, in that order, then the
/// rest as given.
fn labelled<'a>(counts: &'a [Count], order: &[&str], name: impl Fn(&'a str) -> &'a str) -> Vec<(String, i64)> {
    let rank = |c: &Count| order.iter().position(|k| *k == c.key).unwrap_or(order.len());
    let mut sorted: Vec<&Count> = counts.iter().collect();
    sorted.sort_by_key(|c| rank(c));
    sorted.into_iter().map(|c| (name(&c.key).to_owned(), c.value)).collect()
}

fn operator_facts(t: &Text, operator: &OperatorAnswers) -> OperatorFacts {
    OperatorFacts {
        answered: int(operator.answered),
        rung: int(operator.rung),
        meter: (operator.rung > 0).then_some((operator.answered, operator.rung)),
        rate: percent(operator.answered, operator.rung).unwrap_or_else(|| "—".to_owned()),
        avg: operator.avg_seconds_to_answer.map_or_else(|| "—".to_owned(), |s| format!("{} {}", decimal(s), t.seconds)),
    }
}
