//! The operators' queue in the database: the store suite on SQLite and (when
//! `IVR_TEST_POSTGRES_URL` is set) PostgreSQL. Each test gives its own clock, places and
//! candidates, as the call path would from its roster snapshot.

mod races;
mod store_suite;

use chrono::{DateTime, TimeDelta, Utc};
use ivr::db::Db;
use ivr::flow::Language;
use ivr::operators::NewOperator;
use ivr::operators::RosterStore;
use ivr::operators::queue::{Ask, Offer, Place, QueueStore, Strategy, Ticket};

use crate::stats::support::{Backend, TestDatabase};

pub fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
}

/// A caller who joined at `at(joined)`, with a ticket of their own.
pub fn place(joined: i64) -> Place {
    Place { ticket: Ticket(rand::random::<i64>() & i64::MAX), joined_ms: at(joined).timestamp_millis() }
}

/// A Kazakh caller's ask at `at(now)`: due back 15 s later, rung for up to 40 s.
pub fn ask(place: Place, candidates: &[i64], now: i64) -> Ask<'_> {
    Ask {
        place,
        queue: Some(Language::Kk),
        now: at(now),
        due: at(now) + TimeDelta::seconds(15),
        ring_until: at(now) + TimeDelta::seconds(40),
        candidates,
        strategy: Strategy::LongestFree,
    }
}

/// Asks and says what the queue answered.
pub async fn asked(store: &Db, ask: Ask<'_>) -> Offer {
    store.ask(&ask).await.expect("the queue answers")
}

/// A fresh database with `count` available operators on the roster; their ids in order.
pub async fn with_operators(backend: &Backend, count: usize) -> (TestDatabase, Db, Vec<i64>) {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    let mut ids = Vec::new();
    for n in 0..count {
        let new = NewOperator::parse(&format!("Оператор {n}"), &format!("+7717000{n:04}"), "both", true)
            .expect("a valid operator");
        ids.push(store.add_operator(&new).await.expect("stored").id);
    }
    (db, store, ids)
}
