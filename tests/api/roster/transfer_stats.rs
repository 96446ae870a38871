//! What the statistics keep of each operator transfer: the language asked, how many were
//! rung and by which rule, whether anyone answered, the seconds to answer and the rounds,
//! and nothing that identifies the caller or an operator.

use ivr::stats::{CallRow, Store, metric};

use crate::helpers::Options;
use crate::stats::support::{Backend, around_today, new_call_sid, on_both_databases};

use super::{rings_eventually, roster_app};

on_both_databases!(each_transfer_records_routing_rounds_and_seconds_to_answer);

async fn each_transfer_records_routing_rounds_and_seconds_to_answer(backend: Backend) {
    let roster = roster_app(&backend, Options::default()).await;
    roster.add("Айгерим", "+77170000001", "kk", true).await;
    roster.add("Динара", "sip:dinara@pbx.111.kz", "both", true).await;
    roster.add("Ольга", "+77170000003", "ru", false).await;
    rings_eventually(&roster.app, "kk", &["+77170000001", "sip:dinara@pbx.111.kz"]).await;

    let mut call = roster.app.call_from("+77015550123", &new_call_sid()).await;
    call.press("1").await.press("0").await.dial_ends("no-answer").await.press("1").await.wait().await;
    call.dial_ends("completed").await.hang_up("completed").await;
    roster.app.stats.flush().await.expect("statistics are on");

    let rows = roster.store.calls(around_today()).await.expect("the calls");
    let row: &CallRow = rows.iter().find(|r| r.operator_transfers > 0 && r.ended.is_some()).expect("the call's row");
    assert_eq!(row.language.as_deref(), Some("kk"), "the language asked");
    assert_eq!(row.operators_rung, "language:2 language:2", "two rung each round, by language");
    assert_eq!(row.operator_rounds, 2);
    assert!(row.operator_answered);
    assert_eq!(row.dial_results, "operator:no-answer operator:completed");
    assert!(row.seconds_to_answer.is_some_and(|s| (0..5).contains(&s)), "{:?}", row.seconds_to_answer);

    let text = serde_json::to_string(&rows).expect("rows as JSON");
    for secret in ["77015550123", "77170000001", "dinara", "Айгерим", "Динара"] {
        assert!(!text.contains(secret), "`{secret}` in the statistics: {text}");
    }
    let totals = roster.store.total_rows(around_today()).await.expect("the totals");
    let total = |m: &str, k: &str| totals.iter().filter(|t| t.metric == m && t.key == k).map(|t| t.value).sum::<i64>();
    assert_eq!(total(metric::OPERATOR_ROUTE, "language"), 2);
    assert_eq!(total(metric::OPERATORS_RUNG, "sum"), 4);
    assert_eq!(total(metric::ANSWER_SECONDS, "calls"), 1);
}
