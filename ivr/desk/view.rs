//! The desk page, as a pure function from a view model to HTML, in the admin pages' frame
//! (their menu, language switch and stylesheet). It works as a plain page: every number is
//! in the HTML and every button is a form. A few lines of script (`desk.js`, inlined and
//! admitted by its hash in the page's own Content-Security-Policy) then keep the numbers
//! current from the live stream, count a wrap-up down, reload the page when the operator's
//! own state changes, and say so in the page's language when a change could not be saved.

use std::sync::OnceLock;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::text::Words;
use crate::admin::content_security_policy;
use crate::admin::views::{Chrome, PageContext, Section, render};
use crate::operators::{AwayReason, LineNow, Reading, State};

/// The script the page inlines: live numbers, the wrap-up countdown, the buttons' failures.
pub const SCRIPT: &str = include_str!("desk.js");

/// The desk's policy: the admin pages' own, and the one script, and its live stream.
pub fn desk_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        let script = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        format!("{}; script-src 'sha256-{script}'; connect-src 'self'", content_security_policy())
    })
}

/// Whose desk it is, and what is known of their state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Me {
    /// Signed in without a roster entry (an administrator): the line only.
    NotLinked,
    /// Linked to an entry that is not on the roster (any more).
    NotOnRoster,
    /// An operator on the roster.
    Operator(MyState),
}

/// An operator's own state, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyState {
    /// Their roster entry.
    pub id: i64,
    /// Their state now.
    pub state: State,
    /// Why they are away, when they are and it is known.
    pub away_reason: Option<AwayReason>,
    /// Seconds of wrap-up left, when in wrap-up.
    pub wrap_up_left: Option<u64>,
}

/// Everything the desk page shows.
#[derive(Clone, Debug)]
pub struct DeskView {
    /// Whose desk.
    pub me: Me,
    /// The line now.
    pub line: LineNow,
    /// Why the last press changed nothing, already in the page's language.
    pub problem: Option<&'static str>,
    /// `IVR_AWAY_AFTER_UNANSWERED`, to say how many rings made someone away.
    pub away_after: u32,
    /// Where the live stream is.
    pub events: &'static str,
    /// Where the buttons post.
    pub action: &'static str,
}

#[derive(Template)]
#[template(path = "desk.html", config = "ivr/desk/askama.toml")]
struct DeskPage<'a> {
    chrome: Chrome<'a>,
    w: &'static Words,
    csrf: &'a str,
    events: &'static str,
    action: &'static str,
    problem: Option<&'static str>,
    unreachable: bool,
    not_read_yet: bool,
    me: Option<Mine>,
    me_id: String,
    my_state_code: &'static str,
    no_state: &'static str,
    queues: Vec<QueueRow>,
    counts: Vec<Count>,
    operators: Vec<OperatorRow>,
    operator_ids: String,
    words_json: String,
    script: &'static str,
}

struct Mine {
    code: &'static str,
    name: &'static str,
    reason: Option<String>,
    wrap_up_left: Option<u64>,
    wrap_up_text: String,
    buttons: Vec<Button>,
}

struct Button {
    value: &'static str,
    label: &'static str,
    secondary: bool,
}

struct QueueRow {
    code: &'static str,
    name: &'static str,
    waiting: String,
    ringing: String,
    longest: String,
}

struct Count {
    code: &'static str,
    label: &'static str,
    count: usize,
}

struct OperatorRow {
    id: i64,
    name: String,
    code: &'static str,
    state: &'static str,
    me: bool,
}

const STATES: [State; 4] = [State::Available, State::OnCall, State::WrapUp, State::Away];

/// The desk page for `page`'s user.
pub fn desk_page(page: &PageContext, view: &DeskView) -> String {
    let w = Words::of(page.ui);
    let t = page.ui.text();
    let line = &view.line;
    let current = line.reading == Reading::Current;
    let me_id = match &view.me {
        Me::Operator(mine) => Some(mine.id),
        Me::NotLinked | Me::NotOnRoster => None,
    };
    let queues = line
        .queues
        .iter()
        .map(|q| QueueRow {
            code: q.queue,
            name: t.language_name(q.queue),
            waiting: if current { q.waiting.to_string() } else { "—".to_owned() },
            ringing: if current { q.ringing.to_string() } else { "—".to_owned() },
            longest: q.longest_wait_seconds.filter(|_| current).map_or_else(|| "—".to_owned(), |s| w.wait(s)),
        })
        .collect();
    let counts = STATES.iter().map(|s| Count { code: s.as_str(), label: w.state(*s), count: line.count(*s) }).collect();
    let operators = line
        .operators
        .iter()
        .map(|o| OperatorRow {
            id: o.id,
            name: o.name.clone(),
            code: o.state.as_str(),
            state: w.state(o.state),
            me: Some(o.id) == me_id,
        })
        .collect();
    let operator_ids = line.operators.iter().map(|o| o.id.to_string()).collect::<Vec<_>>().join(",");
    let (me, no_state) = match &view.me {
        Me::Operator(mine) => (Some(mine_of(w, mine, view.away_after)), ""),
        Me::NotLinked => (None, w.not_linked),
        Me::NotOnRoster => (None, w.not_on_roster),
    };
    render(&DeskPage {
        chrome: Chrome::signed_in(page, Section::Desk),
        w,
        csrf: &page.csrf,
        events: view.events,
        action: view.action,
        problem: view.problem,
        unreachable: line.reading == Reading::DatabaseUnreachable,
        not_read_yet: line.reading == Reading::NotYet,
        my_state_code: match &view.me {
            Me::Operator(mine) => mine.state.as_str(),
            Me::NotLinked | Me::NotOnRoster => "",
        },
        me,
        me_id: me_id.map(|id| id.to_string()).unwrap_or_default(),
        no_state,
        queues,
        counts,
        operators,
        operator_ids,
        words_json: words_json(w),
        script: SCRIPT,
    })
}

fn mine_of(w: &'static Words, mine: &MyState, away_after: u32) -> Mine {
    let button = |value, label, secondary| Button { value, label, secondary };
    let buttons = match mine.state {
        State::Available | State::OnCall => vec![button("away", w.make_away, true)],
        State::WrapUp => vec![button("available", w.end_wrap_up, false), button("away", w.make_away, true)],
        State::Away => vec![button("available", w.make_available, false)],
    };
    let wrap_up_left = mine.wrap_up_left.filter(|_| mine.state == State::WrapUp);
    Mine {
        code: mine.state.as_str(),
        name: w.state(mine.state),
        reason: mine.away_reason.filter(|_| mine.state == State::Away).map(|r| w.away_reason(r, away_after)),
        wrap_up_left,
        wrap_up_text: wrap_up_left.map(|left| w.wrap_up_left.replace("{n}", &left.to_string())).unwrap_or_default(),
        buttons,
    }
}

/// What the script needs to write in the page's language, as JSON in a data attribute.
fn words_json(w: &Words) -> String {
    let states: serde_json::Map<String, serde_json::Value> =
        STATES.iter().map(|s| (s.as_str().to_owned(), w.state(*s).into())).collect();
    serde_json::json!({
        "states": states,
        "wrap_up_left": w.wrap_up_left,
        "minutes_seconds": w.minutes_seconds,
        "seconds": w.seconds,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::views::Ui;
    use crate::operators::{OperatorNow, QueueNow};

    fn page(ui: Ui) -> PageContext {
        PageContext {
            ui,
            csrf: "token".to_owned(),
            user: "aigerim".to_owned(),
            path: "/desk".to_owned(),
            sections: vec![Section::Desk, Section::Operators],
        }
    }

    fn view(me: Me, reading: Reading) -> DeskView {
        let mut line = LineNow::not_yet();
        line.reading = reading;
        line.queues[1] = QueueNow { waiting: 3, ringing: 1, longest_wait_seconds: Some(125), ..QueueNow::empty(None) };
        line.queues[1].queue = "ru";
        line.operators = vec![OperatorNow { id: 4, name: "Айгерим".to_owned(), state: State::WrapUp }];
        DeskView { me, line, problem: None, away_after: 2, events: "/desk/events", action: "/desk/state" }
    }

    fn mine(state: State, away_reason: Option<AwayReason>, wrap_up_left: Option<u64>) -> Me {
        Me::Operator(MyState { id: 4, state, away_reason, wrap_up_left })
    }

    /// The states the page's buttons set, in order.
    fn buttons(html: &str) -> Vec<&str> {
        let field = "name=\"state\" value=\"";
        html.match_indices(field).map(|(at, _)| html[at + field.len()..].split('"').next().unwrap_or("")).collect()
    }

    #[test]
    fn only_the_buttons_that_apply_are_shown() {
        let cases = [
            (State::Available, vec!["away"]),
            (State::OnCall, vec!["away"]),
            (State::WrapUp, vec!["available", "away"]),
            (State::Away, vec!["available"]),
        ];
        for (state, expected) in cases {
            let html = desk_page(&page(Ui::Ru), &view(mine(state, None, Some(20)), Reading::Current));
            assert_eq!(buttons(&html), expected, "{state:?}");
            assert_eq!(
                html.matches("name=\"csrf\" value=\"token\"").count(),
                expected.len() + 2,
                "and the frame's two"
            );
        }
        let wrap_up = desk_page(&page(Ui::Ru), &view(mine(State::WrapUp, None, Some(20)), Reading::Current));
        assert!(wrap_up.contains("Закончить паузу") && wrap_up.contains("осталось 20 с"), "{wrap_up}");
    }

    #[test]
    fn the_line_says_why_i_am_away_in_my_language() {
        let away = mine(State::Away, Some(AwayReason::UnansweredRings), None);
        let kk = desk_page(&page(Ui::Kk), &view(away.clone(), Reading::Current));
        assert!(kk.contains("Қатарынан 2 қоңырауға жауап берілмегендіктен") && kk.contains("lang=\"kk\""), "{kk}");
        let ru = desk_page(&page(Ui::Ru), &view(away, Reading::Current));
        assert!(ru.contains("2 вызова подряд остались без ответа"), "{ru}");
        assert!(ru.contains(">3</td>") && ru.contains("2 мин 05 с"), "the Russian queue: {ru}");
    }

    #[test]
    fn an_unreadable_queue_is_said_and_not_counted() {
        let html = desk_page(&page(Ui::Ru), &view(mine(State::Available, None, None), Reading::DatabaseUnreachable));
        assert!(html.contains("id=\"unreachable\" role=\"status\">База данных не отвечает"), "shown: {html}");
        assert!(!html.contains(">3</td>") && html.contains("id=\"waiting-ru\">—"), "unknown, not stale");
        let current = desk_page(&page(Ui::Ru), &view(mine(State::Available, None, None), Reading::Current));
        assert!(current.contains("id=\"unreachable\" role=\"status\" hidden>"), "hidden while it answers");
    }

    #[test]
    fn an_account_without_a_roster_entry_watches_without_buttons() {
        let html = desk_page(&page(Ui::Kk), &view(Me::NotLinked, Reading::Current));
        assert!(buttons(&html).is_empty() && html.contains("байланбаған"), "{html}");
        assert!(html.contains("<script>") && html.contains(SCRIPT), "the one script the policy admits");
    }
}
