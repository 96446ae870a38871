//! What one caller after another hears from the queue: order of arrival whoever asks first,
//! only free and unreserved operators rung, the one free longest first, the next one after a
//! ring not answered, callers gone or past due no longer ahead, ring-all for the front only.

use chrono::TimeDelta;
use ivr::flow::Language;
use ivr::operators::queue::{Offer, QueueStore, Strategy};
use ivr::operators::{AwayReason, Change, RosterStore, StateStore, UNANSWERED_BEFORE_AWAY};

use super::{ask, asked, at, place, with_operators};
use crate::stats::support::{Backend, on_both_databases};

on_both_databases!(
    two_callers_and_one_free_operator_ring_the_first_and_the_second_waits,
    callers_are_offered_in_order_of_arrival_whoever_asks_first,
    an_operator_busy_away_or_reserved_is_not_offered,
    the_operator_free_longest_is_rung_first,
    after_a_ring_not_answered_the_caller_is_offered_the_next_operator,
    a_caller_past_due_or_gone_no_longer_counts_ahead,
    each_language_and_no_language_is_a_queue_of_its_own,
    ring_all_reserves_every_free_operator_for_the_front_caller_only,
    a_queues_pace_is_the_callers_rung_out_of_it,
);

const NOT_ANSWERED: Change = Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY };

async fn two_callers_and_one_free_operator_ring_the_first_and_the_second_waits(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 1).await;
    let (first, second) = (place(0), place(1));
    assert_eq!(asked(&store, ask(first, &ops, 2)).await, Offer::Ring(vec![ops[0]]));
    let next = Offer::Wait { position: 1 };
    assert_eq!(asked(&store, ask(second, &ops, 2)).await, next, "the first, being rung, is not waiting ahead");
    assert_eq!(asked(&store, ask(second, &[], 3)).await, next, "no candidates: still next");
}

async fn callers_are_offered_in_order_of_arrival_whoever_asks_first(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 1).await;
    let (first, second) = (place(0), place(1));
    assert_eq!(asked(&store, ask(first, &[], 0)).await, Offer::Wait { position: 1 }, "joined with nobody free");
    assert_eq!(asked(&store, ask(second, &ops, 2)).await, Offer::Wait { position: 2 }, "the operator is the first's");
    assert_eq!(asked(&store, ask(first, &ops, 3)).await, Offer::Ring(vec![ops[0]]));
    // Two callers joining in the same millisecond: the ticket decides, the same way for both.
    let (_db, store, ops) = with_operators(&backend, 1).await;
    let (mut a, mut b) = (place(0), place(0));
    if b.ticket < a.ticket {
        std::mem::swap(&mut a, &mut b);
    }
    assert_eq!(asked(&store, ask(b, &[], 0)).await, Offer::Wait { position: 1 });
    assert_eq!(asked(&store, ask(a, &[], 0)).await, Offer::Wait { position: 1 });
    assert_eq!(asked(&store, ask(b, &ops, 1)).await, Offer::Wait { position: 2 });
    assert_eq!(asked(&store, ask(a, &ops, 1)).await, Offer::Ring(vec![ops[0]]));
}

async fn an_operator_busy_away_or_reserved_is_not_offered(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 6).await;
    let [on_call, wrap_up, away, reserved, gone, free] = ops[..] else { unreachable!("six operators") };
    store.change_state(on_call, Change::Answered { transfer: 1 }, at(0)).await.unwrap();
    store.change_state(wrap_up, Change::Answered { transfer: 2 }, at(0)).await.unwrap();
    let ended = Change::CallEnded { transfer: 2, wrap_up: TimeDelta::seconds(60) };
    store.change_state(wrap_up, ended, at(5)).await.unwrap();
    store.change_state(away, Change::MadeAway(AwayReason::Operator), at(5)).await.unwrap();
    store.remove_operator(gone).await.unwrap();
    // Reserved for a caller of another queue, who asked with only them.
    let only = [reserved];
    let other = ivr::operators::queue::Ask { queue: Some(Language::Ru), ..ask(place(0), &only, 6) };
    assert_eq!(store.ask(&other).await.unwrap(), Offer::Ring(vec![reserved]));

    // The roster snapshot may lag: every one of them is a candidate, and only `free` is rung.
    let (first, second) = (place(1), place(2));
    assert_eq!(asked(&store, ask(first, &ops, 10)).await, Offer::Ring(vec![free]));
    assert_eq!(asked(&store, ask(second, &ops, 10)).await, Offer::Wait { position: 1 });
    // The reservation runs out at 46 (its ring never ended: an instance stopped).
    assert_eq!(asked(&store, ask(second, &ops, 47)).await, Offer::Ring(vec![reserved]));
    // The wrap-up ends by itself at 65, with the first caller put through.
    store.change_state(free, Change::Answered { transfer: 3 }, at(48)).await.unwrap();
    let third = place(3);
    assert_eq!(asked(&store, ask(third, &ops, 66)).await, Offer::Ring(vec![wrap_up]));
}

async fn the_operator_free_longest_is_rung_first(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 4).await;
    // ops[3] never seen: free since ever; then ops[2] (free at 5), ops[0] (wrap-up ended at
    // 10), ops[1] (made available at 20).
    store.change_state(ops[2], Change::Answered { transfer: 1 }, at(0)).await.unwrap();
    let ended = Change::CallEnded { transfer: 1, wrap_up: TimeDelta::zero() };
    store.change_state(ops[2], ended, at(5)).await.unwrap();
    store.change_state(ops[0], Change::Answered { transfer: 2 }, at(0)).await.unwrap();
    let ended = Change::CallEnded { transfer: 2, wrap_up: TimeDelta::seconds(9) };
    store.change_state(ops[0], ended, at(1)).await.unwrap();
    store.change_state(ops[1], Change::MadeAvailable, at(20)).await.unwrap();
    let mut rung = Vec::new();
    for caller in 0..4 {
        match asked(&store, ask(place(30 + caller), &ops, 40)).await {
            Offer::Ring(ids) => rung.extend(ids),
            wait => panic!("caller {caller} waits with operators free: {wait:?}"),
        }
    }
    assert_eq!(rung, [ops[3], ops[2], ops[0], ops[1]]);
}

async fn after_a_ring_not_answered_the_caller_is_offered_the_next_operator(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 2).await;
    let caller = place(0);
    assert_eq!(asked(&store, ask(caller, &ops, 1)).await, Offer::Ring(vec![ops[0]]), "ties by id");
    store.change_state(ops[0], NOT_ANSWERED, at(30)).await.unwrap();
    let other = place(20);
    assert_eq!(
        asked(&store, ask(other, &ops[..1], 30)).await,
        Offer::Wait { position: 1 },
        "the ring's own end releases the operator (reserved until 41), not the state change (the writer may be late)"
    );
    store.leave(other.ticket).await.unwrap();
    store.ring_ended(caller.ticket).await.unwrap();
    assert_eq!(asked(&store, ask(caller, &ops, 31)).await, Offer::Ring(vec![ops[1]]), "the next one");
    store.change_state(ops[1], NOT_ANSWERED, at(60)).await.unwrap();
    store.ring_ended(caller.ticket).await.unwrap();
    assert_eq!(asked(&store, ask(caller, &ops, 61)).await, Offer::Ring(vec![ops[0]]), "free longest again");

    // Answered, and the call ended: the state changes end the reservation (until 101).
    store.change_state(ops[0], Change::Answered { transfer: 9 }, at(70)).await.unwrap();
    let ended = Change::CallEnded { transfer: 9, wrap_up: TimeDelta::zero() };
    store.change_state(ops[0], ended, at(80)).await.unwrap();
    let next = place(50);
    assert_eq!(asked(&store, ask(next, &ops[..1], 81)).await, Offer::Ring(vec![ops[0]]));
    store.leave(caller.ticket).await.unwrap();
}

async fn a_caller_past_due_or_gone_no_longer_counts_ahead(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 1).await;
    let (hung_up, left, waiting) = (place(0), place(1), place(2));
    asked(&store, ask(hung_up, &[], 0)).await; // due at 15
    asked(&store, ask(left, &[], 10)).await;
    assert_eq!(asked(&store, ask(waiting, &[], 10)).await, Offer::Wait { position: 3 });
    assert_eq!(asked(&store, ask(waiting, &[], 16)).await, Offer::Wait { position: 2 }, "past due: gone");
    store.leave(left.ticket).await.unwrap();
    assert_eq!(asked(&store, ask(waiting, &[], 17)).await, Offer::Wait { position: 1 });

    // One being rung who leaves (put through elsewhere, hung up) releases the operator.
    let (rung, next) = (place(20), place(21));
    assert_eq!(asked(&store, ask(rung, &ops, 22)).await, Offer::Wait { position: 2 });
    assert_eq!(asked(&store, ask(waiting, &ops, 22)).await, Offer::Ring(vec![ops[0]]));
    store.leave(waiting.ticket).await.unwrap();
    assert_eq!(asked(&store, ask(rung, &ops, 23)).await, Offer::Ring(vec![ops[0]]));
    // And a caller being rung whose call stopped (past due, never released) frees nothing
    // until the reservation runs out, then the next caller is rung.
    assert_eq!(asked(&store, ask(next, &ops, 24)).await, Offer::Wait { position: 1 });
    assert_eq!(asked(&store, ask(next, &ops, 64)).await, Offer::Ring(vec![ops[0]]));
}

async fn each_language_and_no_language_is_a_queue_of_its_own(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 1).await;
    let in_queue = |queue, place, now| ivr::operators::queue::Ask { queue, ..ask(place, &[], now) };
    let (kk, ru, none, none_later) = (place(0), place(1), place(2), place(3));
    assert_eq!(store.ask(&in_queue(Some(Language::Kk), kk, 5)).await.unwrap(), Offer::Wait { position: 1 });
    assert_eq!(store.ask(&in_queue(Some(Language::Ru), ru, 5)).await.unwrap(), Offer::Wait { position: 1 });
    assert_eq!(store.ask(&in_queue(None, none, 5)).await.unwrap(), Offer::Wait { position: 1 });
    assert_eq!(store.ask(&in_queue(None, none_later, 5)).await.unwrap(), Offer::Wait { position: 2 });
    let ru_asks = ivr::operators::queue::Ask { queue: Some(Language::Ru), ..ask(ru, &ops, 6) };
    assert_eq!(store.ask(&ru_asks).await.unwrap(), Offer::Ring(vec![ops[0]]), "the Kazakh caller is not ahead");
}

async fn ring_all_reserves_every_free_operator_for_the_front_caller_only(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 3).await;
    store.change_state(ops[1], Change::Answered { transfer: 1 }, at(0)).await.unwrap();
    let ring_all = |place, now| ivr::operators::queue::Ask { strategy: Strategy::RingAll, ..ask(place, &ops, now) };
    let (first, second) = (place(0), place(1));
    assert_eq!(store.ask(&ring_all(second, 2)).await.unwrap(), Offer::Ring(vec![ops[0], ops[2]]), "alone");
    assert_eq!(store.ask(&ring_all(first, 3)).await.unwrap(), Offer::Wait { position: 1 }, "none free left");
    store.ring_ended(second.ticket).await.unwrap();
    assert_eq!(store.ask(&ring_all(second, 4)).await.unwrap(), Offer::Wait { position: 2 }, "the first is ahead");
    assert_eq!(store.ask(&ring_all(first, 5)).await.unwrap(), Offer::Ring(vec![ops[0], ops[2]]));
    store.change_state(ops[0], Change::Answered { transfer: 2 }, at(6)).await.unwrap();
    store.leave(first.ticket).await.unwrap();
    assert_eq!(store.ask(&ring_all(second, 7)).await.unwrap(), Offer::Ring(vec![ops[2]]), "the others released");
}

async fn a_queues_pace_is_the_callers_rung_out_of_it(backend: Backend) {
    let (_db, store, ops) = with_operators(&backend, 3).await;
    for (n, id) in ops.iter().enumerate() {
        let rung = asked(&store, ask(place(n as i64), &ops, 10 + n as i64)).await;
        assert_eq!(rung, Offer::Ring(vec![*id]));
    }
    assert_eq!(store.rung_since(Some(Language::Kk), at(0)).await.unwrap(), 3);
    assert_eq!(store.rung_since(Some(Language::Kk), at(11)).await.unwrap(), 2, "since a moment");
    assert_eq!(store.rung_since(Some(Language::Ru), at(0)).await.unwrap(), 0, "each queue its own");
    assert_eq!(store.rung_since(None, at(0)).await.unwrap(), 0);
    let waits = asked(&store, ask(place(5), &ops, 20)).await;
    assert_eq!(waits, Offer::Wait { position: 1 });
    assert_eq!(store.rung_since(Some(Language::Kk), at(0)).await.unwrap(), 3, "a wait is no ring");
}
