//! A topic counts as heard once its part has played or the caller moved on from it: a
//! caller who hangs up in the middle of a guidance part heard no guidance (`abandoned`), one
//! whose call lasts past the part did (`self_service`). In every dialect (on Asterisk the
//! service times the call itself, from its start to the hang-up), on SQLite and PostgreSQL,
//! with the rows and totals counted first as heard (no end yet) and then corrected by the end.

use ivr::flow::Language;
use ivr::softphone::Dialect;
use ivr::stats::{CallRow, Store};

use super::counting::{flushed, spawn_on_in};
use super::support::{Backend, TestDatabase, around_today, new_call_sid};
use crate::helpers::{TestApp, bundled_prompts, in_every_dialect};

in_every_dialect!(a_hang_up_in_the_middle_of_a_part_is_abandoned_one_past_it_self_service);

async fn a_hang_up_in_the_middle_of_a_part_is_abandoned_one_past_it_self_service(dialect: Dialect) {
    let postgres = async {
        if let Some(backend) = Backend::postgres() {
            parts_heard_or_not(&backend, dialect).await;
        }
    };
    tokio::join!(parts_heard_or_not(&Backend::Sqlite, dialect), postgres);
}

/// How long `node`'s part plays in `language`, in whole seconds.
fn part_seconds(app: &TestApp, node: &str, language: Language) -> u32 {
    let node = app.flow.node(app.flow.node_id(node).expect("a node of the flow"));
    bundled_prompts().part_seconds(node, language).expect("a guidance part").into()
}

async fn parts_heard_or_not(backend: &Backend, dialect: Dialect) {
    let db = TestDatabase::new(backend).await;
    let app = spawn_on_in(&db, &[], dialect).await;
    let (evidence, rights) =
        (part_seconds(&app, "evidence_1", Language::Kk), part_seconds(&app, "rights_1", Language::Ru));
    assert!(evidence > 3, "the evidence part lasts longer than the caller listens: {evidence} s");

    // Kazakh, the evidence topic; Russian, the rights topic.
    let mut cut = app.call_from("+77010000031", &new_call_sid()).await;
    cut.choose_language("1").await.press("3").await;
    assert_eq!(cut.node(), "evidence_1");
    let mut whole = app.call_from("+77010000032", &new_call_sid()).await;
    whole.choose_language("2").await.press("5").await;
    assert_eq!(whole.node(), "rights_1");

    // Entered, the calls not ended: nothing says either part was cut, so both count as heard.
    flushed(&app).await;
    let s = db.summary_around_today().await;
    let topic = |s: &ivr::stats::Summary, name: &str| s.topics.get(name).copied().unwrap_or(0);
    assert_eq!((s.outcomes["self_service"], topic(&s, "evidence"), topic(&s, "rights")), (2, 1, 1), "{s:#?}");

    // One hangs up 3 s into the evidence part; the other's call lasts past the rights part.
    tokio::join!(cut.hang_up_after(3), whole.hang_up_after(rights + 3));
    flushed(&app).await;

    let calls = db.store().await.calls(around_today()).await.expect("calls");
    let call = |language: &str| -> &CallRow {
        calls.iter().find(|c| c.language.as_deref() == Some(language)).unwrap_or_else(|| panic!("{calls:#?}"))
    };
    let cut = call("kk");
    assert_eq!(
        (cut.outcome.as_str(), cut.topics.as_str(), cut.exit_node.as_deref()),
        ("abandoned", "", Some("evidence_1"))
    );
    assert_eq!(cut.ended.as_deref(), Some("completed"));
    let whole = call("ru");
    assert_eq!((whole.outcome.as_str(), whole.topics.as_str()), ("self_service", "rights"), "{whole:#?}");

    // The totals moved with the rows: the evidence topic and a self-service call taken back.
    let s = db.summary_around_today().await;
    assert_eq!((s.calls, s.outcomes["self_service"], s.outcomes["abandoned"], s.abandoned), (2, 1, 1, 1), "{s:#?}");
    assert_eq!((topic(&s, "evidence"), topic(&s, "rights")), (0, 1), "{s:#?}");
    app.stop().await;
}
