//! Transfers rung from the roster in the database, with the provider's Dial callbacks
//! simulated: by language, to anyone when nobody speaks it, the switchboard when nobody is
//! available, every unanswered `DialCallStatus`, the retry limit, the emergency key while
//! waiting, and the whisper in each operator's language.

use ivr::softphone::Dialect;

use crate::helpers::{OPERATOR_NUMBER, Options, in_every_dialect};
use crate::stats::support::Backend;

use super::{RosterApp, leave_queue, rings_eventually, roster_app};

const KK: &str = "+77170000001";
const RU: &str = "+77170000002";
const BOTH: &str = "sip:both@pbx.111.kz";
const AWAY: &str = "+77170000004";

in_every_dialect!(
    callers_are_put_through_to_available_operators_of_their_language,
    with_nobody_of_their_language_anyone_available_is_rung,
    nobody_available_rings_the_switchboard,
    nobody_available_and_no_switchboard_is_the_busy_message_not_an_empty_dial,
    every_unanswered_dial_status_sends_the_caller_back_to_their_place,
    after_the_last_round_the_caller_returns_to_the_menu_and_the_emergency_key_works_throughout,
    each_operator_hears_the_whisper_in_their_own_language,
    the_roster_database_down_at_start_still_answers_every_caller,
    a_caller_who_chose_no_language_rings_every_operator_told_it_was_not_chosen,
    an_operator_at_a_dial_string_is_rung_over_fastagi_only,
);

/// The line in `dialect` with operators never made away by rings not answered, for tests of
/// what a caller hears after them (roster/states.rs tests the rule itself).
fn never_away(dialect: Dialect) -> Options {
    Options { dialect, env: vec![("IVR_AWAY_AFTER_UNANSWERED", "0".to_owned())], ..Options::default() }
}

/// Kazakh, Russian and bilingual operators available, and one Kazakh operator away.
async fn full_roster(options: Options) -> RosterApp {
    let roster = roster_app(&Backend::Sqlite, options).await;
    roster.add("Айгерим", KK, "kk", true).await;
    roster.add("Ольга", RU, "ru", true).await;
    roster.add("Динара", BOTH, "both", true).await;
    roster.add("Асель", AWAY, "kk", false).await;
    rings_eventually(&roster.app, "kk", &[KK, BOTH]).await;
    roster
}

async fn callers_are_put_through_to_available_operators_of_their_language(dialect: Dialect) {
    let roster = full_roster(Options { dialect, ..Options::default() }).await;
    rings_eventually(&roster.app, "kk", &[KK, BOTH]).await;
    rings_eventually(&roster.app, "ru", &[RU, BOTH]).await;
}

async fn with_nobody_of_their_language_anyone_available_is_rung(dialect: Dialect) {
    let roster = roster_app(&Backend::Sqlite, Options { dialect, ..Options::default() }).await;
    roster.add("Ольга", RU, "ru", true).await;
    roster.add("Асель", AWAY, "kk", false).await;
    rings_eventually(&roster.app, "kk", &[RU]).await;
}

async fn nobody_available_rings_the_switchboard(dialect: Dialect) {
    let roster = roster_app(&Backend::Sqlite, Options { dialect, ..Options::default() }).await;
    let away = roster.add("Асель", AWAY, "kk", true).await;
    rings_eventually(&roster.app, "kk", &[AWAY]).await;
    roster.store_set_available(away.id, false).await;
    rings_eventually(&roster.app, "kk", &[OPERATOR_NUMBER]).await;
}

async fn nobody_available_and_no_switchboard_is_the_busy_message_not_an_empty_dial(dialect: Dialect) {
    let roster = roster_app(&Backend::Sqlite, Options { dialect, operator: None, ..Options::default() }).await;
    let away = roster.add("Асель", AWAY, "kk", true).await;
    rings_eventually(&roster.app, "kk", &[AWAY]).await;
    roster.store_set_available(away.id, false).await;
    rings_eventually(&roster.app, "kk", &[]).await;
    let mut call = roster.app.call_at("main", Some("kk")).await;
    call.press("0").await;
    assert_eq!(call.node(), "operators_busy");
    assert_eq!(call.hearing(), ["kk/operators_busy", "kk/operators_busy_options"]);
}

async fn every_unanswered_dial_status_sends_the_caller_back_to_their_place(dialect: Dialect) {
    let roster = full_roster(never_away(dialect)).await;
    for status in dialect.unanswered_dial_statuses() {
        let mut call = roster.app.call_at("main", Some("ru")).await;
        call.press("0").await;
        assert_eq!(call.ringing(), [RU, BOTH]);
        call.dial_ends(status).await;
        if status_is_failed(dialect, status) {
            // Nobody's fault (the call could not be placed): what the caller can do meanwhile.
            assert_eq!(call.node(), "operators_busy", "DialCallStatus `{status}`");
            assert_eq!(call.hearing(), ["ru/operators_busy", "ru/operators_busy_options"], "`{status}`");
        } else {
            // Back to their place in the queue: the operators who were just rung are rung
            // again after a stretch of waiting, not on the same ask.
            assert!(call.listening() && call.node() == "operator", "DialCallStatus `{status}`");
            call.wait().await;
            assert_eq!(call.ringing(), [RU, BOTH], "DialCallStatus `{status}`");
        }
        leave_queue(&mut call).await;
    }
    let mut call = roster.app.call_at("main", Some("ru")).await;
    call.press("0").await.dial_ends("completed").await;
    assert!(call.ringing().is_empty(), "an answered transfer does not ring again");
}

async fn after_the_last_round_the_caller_returns_to_the_menu_and_the_emergency_key_works_throughout(dialect: Dialect) {
    let roster = full_roster(never_away(dialect)).await;
    let mut call = roster.app.call_at("main", Some("kk")).await;
    call.press("0").await;
    for round in 1..3 {
        assert_eq!(call.ringing(), [KK, BOTH], "round {round}");
        call.dial_ends("no-answer").await.wait().await;
    }
    assert_eq!(call.ringing(), [KK, BOTH], "round 3");
    call.dial_ends("busy").await;
    assert_eq!(call.hearing(), ["kk/operators_unavailable"], "no fourth round");
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "the emergency key after the last round");

    let mut call = roster.app.call_at("main", Some("kk")).await;
    call.press("0").await.dial_ends("failed").await.press("1").await.press("9").await;
    assert_eq!(call.ringing(), ["102"], "the emergency key while hearing advice between rings");
}

async fn each_operator_hears_the_whisper_in_their_own_language(dialect: Dialect) {
    let roster = roster_app(&Backend::Sqlite, Options { dialect, ..Options::default() }).await;
    roster.add("Айгерим", KK, "kk", true).await;
    roster.add("Динара", BOTH, "both", true).await;
    rings_eventually(&roster.app, "ru", &[BOTH]).await;
    let mut call = roster.app.call_at("main", Some("ru")).await;
    call.press("0").await;
    assert_eq!(
        call.whisper(0).await,
        ["ru/whisper_language_ru", "ru/whisper_chose", "ru/whisper_heard_nothing"],
        "a bilingual operator hears the caller's language"
    );
    roster.store_set_available_by_target(BOTH, false).await;
    rings_eventually(&roster.app, "ru", &[KK]).await;
    let mut call = roster.app.call_at("main", Some("ru")).await;
    call.press("2").await.press("0").await;
    assert_eq!(
        call.whisper(0).await,
        ["kk/whisper_language_ru", "kk/whisper_chose", "kk/whisper_topic_safety_plan"],
        "a Kazakh operator taking a Russian caller hears Kazakh, told the caller speaks Russian"
    );
}

/// A caller silent from the start never chose a language: they are not taken for a
/// Kazakh speaker. Every available operator is rung, each told in their own language that
/// no language was chosen, and the statistics count the call under no language.
async fn a_caller_who_chose_no_language_rings_every_operator_told_it_was_not_chosen(dialect: Dialect) {
    let roster = full_roster(Options { dialect, ..Options::default() }).await;
    let mut call = roster.app.call().await;
    call.wait().await;
    assert_eq!(call.ringing(), [KK, RU, BOTH], "one silence rings every available operator, whatever they speak");
    let heard = [call.whisper(0).await, call.whisper(1).await, call.whisper(2).await];
    let told = |language: &str| {
        ["whisper_language_none", "whisper_silent", "whisper_heard_nothing"].map(|k| format!("{language}/{k}")).to_vec()
    };
    for (whisper, language) in heard.iter().zip(["kk", "ru", "kk"]) {
        let expected = match dialect {
            // One Dial has one whisper: each operator hears it in every language of those
            // rung, in the order rung (see `telephony/asterisk/dial.rs`).
            Dialect::Asterisk => [told("kk"), told("ru")].concat(),
            Dialect::Twiml | Dialect::Jambonz => told(language),
        };
        assert_eq!(*whisper, expected, "told in the operator's language that no language was chosen");
    }
    call.dial_ends("completed").await.hang_up("completed").await;
    let report = roster.app.stats.flush().await.expect("statistics are on");
    assert!(report.database_up && !report.spooled, "{report:?}");
    let summary = roster.db.summary_around_today().await;
    assert_eq!((summary.languages["none"], summary.languages["kk"]), (1, 0), "{summary:#?}");
}

async fn the_roster_database_down_at_start_still_answers_every_caller(dialect: Dialect) {
    let db = crate::stats::support::TestDatabase::unreachable(&Backend::Sqlite);
    let options = Options {
        dialect,
        database_url: Some(db.url.clone()),
        env: vec![("IVR_ROSTER_REFRESH_MS", "50".to_owned())],
        ..Options::default()
    };
    let app = crate::helpers::spawn_app_with(options).await;
    rings_eventually(&app, "kk", &[OPERATOR_NUMBER]).await;
    db.bring_up().await;
    let store = db.store().await;
    let new = ivr::operators::NewOperator::parse("Айгерим", KK, "kk", true).expect("valid");
    ivr::operators::RosterStore::add_operator(&store, &new).await.expect("stored");
    rings_eventually(&app, "kk", &[KK]).await;
}

/// An operator at an Asterisk dial string is stored on either database, and rung as written
/// by a FastAGI call; a webhook call (which cannot dial it) rings the others.
async fn an_operator_at_a_dial_string_is_rung_over_fastagi_only(dialect: Dialect) {
    for backend in [Some(Backend::Sqlite), Backend::postgres()].into_iter().flatten() {
        let roster = roster_app(&backend, Options { dialect, ..Options::default() }).await;
        roster.add("Пульт", "PJSIP/desk-3", "kk", true).await;
        roster.add("Айгерим", KK, "kk", true).await;
        let expected: &[&str] = match dialect {
            Dialect::Asterisk => &["PJSIP/desk-3", KK],
            Dialect::Twiml | Dialect::Jambonz => &[KK],
        };
        rings_eventually(&roster.app, "kk", expected).await;
    }
}

/// Whether `status` is a dial that failed (nobody's answer): every unanswered status but
/// busy and no answer, in the dialect's words.
fn status_is_failed(dialect: Dialect, status: &str) -> bool {
    let unanswered: &[&str] = match dialect {
        Dialect::Asterisk => &["BUSY", "NOANSWER"],
        Dialect::Twiml | Dialect::Jambonz => &["busy", "no-answer"],
    };
    !unanswered.contains(&status)
}
