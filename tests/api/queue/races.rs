//! Many callers asking at once, through two pools as two instances would: an operator is
//! never reserved twice, and callers already in the queue are rung in order of arrival.

use ivr::db::Db;
use ivr::operators::queue::{Offer, Place, QueueStore};
use tokio::task::JoinSet;

use super::{ask, asked, place, with_operators};
use crate::stats::support::{Backend, on_both_databases};

on_both_databases!(
    callers_in_the_queue_asking_at_once_are_rung_in_order_of_arrival,
    callers_joining_at_once_never_share_an_operator,
);

const CALLERS: i64 = 20;

/// Every caller in `places` asks at `now` with `ops`, all at once, half of them through
/// `second`; what each heard, in the order of `places`.
async fn all_at_once(first: &Db, second: &Db, places: &[Place], ops: &[i64], now: i64) -> Vec<Offer> {
    let mut asking = JoinSet::new();
    for (n, &place) in places.iter().enumerate() {
        let store = if n % 2 == 0 { first.clone() } else { second.clone() };
        let ops = ops.to_vec();
        asking.spawn(async move { (n, store.ask(&ask(place, &ops, now)).await.expect("the queue answers")) });
    }
    let mut offers = asking.join_all().await;
    offers.sort_by_key(|&(n, _)| n);
    offers.into_iter().map(|(_, offer)| offer).collect()
}

async fn callers_in_the_queue_asking_at_once_are_rung_in_order_of_arrival(backend: Backend) {
    let (db, first, ops) = with_operators(&backend, 3).await;
    let second = db.store().await;
    let places: Vec<Place> = (0..CALLERS).map(place).collect();
    for &caller in places.iter().rev() {
        // Joined while nobody was free, the latest first: each is first until the earlier join.
        assert_eq!(asked(&first, ask(caller, &[], 0)).await, Offer::Wait { position: 1 });
    }
    let offers = all_at_once(&first, &second, &places, &ops, 1).await;
    for (n, offer) in offers.iter().enumerate() {
        match (ops.get(n), offer) {
            (Some(&op), offer) => assert_eq!(offer, &Offer::Ring(vec![op]), "caller {n} of {CALLERS}: {offers:?}"),
            // Those being rung are not waiting ahead, and each ask counts the callers ahead as
            // its own transaction finds them: at most everyone ahead, at least those not rung.
            (None, Offer::Wait { position }) => {
                let least = u32::try_from(n + 1 - ops.len()).unwrap();
                assert!((least..=u32::try_from(n + 1).unwrap()).contains(position), "caller {n}: {offers:?}");
            }
            (None, ring) => panic!("caller {n} rung with every operator taken: {ring:?}"),
        }
    }
}

async fn callers_joining_at_once_never_share_an_operator(backend: Backend) {
    let (db, first, ops) = with_operators(&backend, 3).await;
    let second = db.store().await;
    let places: Vec<Place> = (0..CALLERS).map(place).collect();
    let offers = all_at_once(&first, &second, &places, &ops, 1).await;
    let mut rung: Vec<i64> = offers
        .iter()
        .flat_map(|offer| match offer {
            Offer::Ring(ids) => {
                assert_eq!(ids.len(), 1, "one operator per caller: {offers:?}");
                ids.clone()
            }
            Offer::Wait { .. } => Vec::new(),
        })
        .collect();
    rung.sort_unstable();
    assert_eq!(rung, ops, "each operator reserved once, none left free: {offers:?}");
}
