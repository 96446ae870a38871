//! The operator state store on SQLite and PostgreSQL alike: a state reads back as written
//! and goes with its operator; two rings not answered switch the roster off with the
//! reason, and switching it back on forgets them; two instances reporting at once on one
//! operator apply one after the other; each answer counts once towards the operator's
//! calls answered that day.

use chrono::{DateTime, TimeDelta, Utc};
use ivr::db::Db;
use ivr::operators::{
    AwayReason, Change, NewOperator, OperatorState, RosterError, RosterStore, State, StateStore, UNANSWERED_BEFORE_AWAY,
};

use ivr::stats::{DateRange, Summarize};

use crate::stats::support::{Backend, TestDatabase, on_both_databases};

on_both_databases!(
    a_state_reads_back_as_written_and_goes_with_its_operator,
    two_rings_not_answered_switch_the_roster_off_and_switching_it_on_forgets_them,
    reports_from_two_instances_at_once_apply_one_after_the_other,
    each_answer_counts_once_for_its_operator_and_day_and_outlives_the_roster_entry,
);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
}

async fn store_with_one(backend: &Backend) -> (TestDatabase, Db, i64) {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    let new = NewOperator::parse("Айгерим", "+77170000001", "kk", true).expect("valid");
    let id = store.add_operator(&new).await.expect("stored").id;
    (db, store, id)
}

async fn a_state_reads_back_as_written_and_goes_with_its_operator(backend: Backend) {
    let (_db, store, id) = store_with_one(&backend).await;
    assert_eq!(store.operator_state(id).await.unwrap(), OperatorState::new(true), "nothing seen yet: free");
    let on_call = store.change_state(id, Change::Answered { transfer: u32::MAX }, at(0)).await.unwrap();
    assert_eq!(on_call.at(at(1)), State::OnCall);
    assert_eq!(store.operator_state(id).await.unwrap(), on_call, "the largest transfer number reads back");
    let ended = Change::CallEnded { transfer: u32::MAX, wrap_up: TimeDelta::seconds(30) };
    let wrap_up = store.change_state(id, ended, at(60)).await.unwrap();
    assert_eq!((wrap_up.at(at(61)), wrap_up.wrap_up_until(at(61))), (State::WrapUp, Some(at(90))));
    assert_eq!(store.operator_states().await.unwrap(), [(id, wrap_up)]);
    assert_eq!(store.change_state(id, ended, at(70)).await.unwrap(), wrap_up, "a redelivered end changes nothing");

    store.remove_operator(id).await.unwrap();
    assert!(store.operator_states().await.unwrap().is_empty());
    let again = store.change_state(id, Change::MadeAvailable, at(80)).await;
    assert!(matches!(again, Err(RosterError::UnknownOperator(gone)) if gone == id), "{again:?}");
    assert!(matches!(store.operator_state(id).await, Err(RosterError::UnknownOperator(_))));
}

async fn two_rings_not_answered_switch_the_roster_off_and_switching_it_on_forgets_them(backend: Backend) {
    let (_db, store, id) = store_with_one(&backend).await;
    store.change_state(id, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(0)).await.unwrap();
    let away =
        store.change_state(id, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(40)).await.unwrap();
    assert_eq!((away.away_reason, away.away_since), (Some(AwayReason::UnansweredRings), Some(at(40))));
    assert!(!store.operator(id).await.unwrap().available, "away is the roster's switch off");
    assert_eq!(store.operator_state(id).await.unwrap(), away);

    // Switched on through the roster (the page's or the API's PATCH): the rings are forgotten.
    store.set_available(id, true).await.unwrap();
    let back = store.operator_state(id).await.unwrap();
    assert_eq!((back.at(at(50)), back.unanswered_rings, back.away_reason), (State::Available, 0, None));
    let once =
        store.change_state(id, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(60)).await.unwrap();
    assert_eq!((once.at(at(60)), once.unanswered_rings), (State::Available, 1));
}

async fn reports_from_two_instances_at_once_apply_one_after_the_other(backend: Backend) {
    let (db, first, id) = store_with_one(&backend).await;
    let second = db.store().await;
    for round in 0..5 {
        first.change_state(id, Change::MadeAvailable, at(round * 100)).await.unwrap();
        let now = at(round * 100 + 1);
        let (a, b) = tokio::join!(
            first.change_state(id, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, now),
            second.change_state(id, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, now)
        );
        a.unwrap();
        b.unwrap();
        let after = first.operator_state(id).await.unwrap();
        assert_eq!(after.at(now), State::Away, "round {round}: neither ring was lost: {after:?}");
    }
}

async fn each_answer_counts_once_for_its_operator_and_day_and_outlives_the_roster_entry(backend: Backend) {
    let (_db, store, id) = store_with_one(&backend).await;
    let answered = |transfer| Change::Answered { transfer };
    store.change_state(id, answered(1), at(0)).await.unwrap();
    store.change_state(id, answered(1), at(1)).await.unwrap();
    store.change_state(id, Change::CallEnded { transfer: 1, wrap_up: TimeDelta::zero() }, at(60)).await.unwrap();
    store.change_state(id, answered(2), at(70)).await.unwrap();
    let day = at(0).date_naive();
    let range = DateRange::new(day, day).expect("a day");
    let summary = store.summary(range).await.expect("the summary");
    assert_eq!(summary.answered_by_operator.get("Айгерим"), Some(&2), "the same answer reported twice counts once");
    store.remove_operator(id).await.unwrap();
    let summary = store.summary(range).await.expect("the summary");
    assert_eq!(summary.answered_by_operator.get(&format!("#{id}")), Some(&2), "by id once removed");
}
