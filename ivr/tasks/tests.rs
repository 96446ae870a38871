//! The stop order and the drain's timing, with stand-ins for the listeners and the tasks
//! that note when they were asked to stop and by when.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

/// Who was asked to stop, when, and by when.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<Entry>>>);

#[derive(Clone, Copy, Debug)]
struct Entry {
    what: &'static str,
    at: Instant,
    by: Instant,
}

impl Journal {
    fn note(&self, what: &'static str, by: Instant) {
        self.0.lock().unwrap().push(Entry { what, at: Instant::now(), by });
    }

    fn order(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().iter().map(|entry| entry.what).collect()
    }

    fn entry(&self, what: &str) -> Entry {
        *self.0.lock().unwrap().iter().find(|entry| entry.what == what).unwrap()
    }
}

/// A listener with `open` connections whose conversations take `lingers` to finish.
struct Stand {
    open: usize,
    lingers: Duration,
    journal: Journal,
}

impl Listener for Stand {
    fn open_connections(&self) -> usize {
        self.open
    }

    fn stop(self: Box<Self>, by: Instant) -> Stopping {
        Box::pin(async move {
            self.journal.note("stops accepting", by);
            tokio::time::sleep(self.lingers).await;
            self.journal.note("conversations done", by);
        })
    }
}

const ORDER: [&str; 5] = ["stops accepting", "conversations done", "repeat check", "writer", "database"];

/// A listener with `open` connections and a task in every stage, registered last stage first.
fn every_stage(open: usize, journal: &Journal) -> Tasks {
    let mut tasks = Tasks::new();
    for (stage, name) in
        [(Stage::Database, "database"), (Stage::Statistics, "writer"), (Stage::Producers, "repeat check")]
    {
        let journal = journal.clone();
        tasks.add(stage, name, move |by| async move { journal.note(name, by) });
    }
    tasks.add_listener("http", Stand { open, lingers: Duration::from_millis(50), journal: journal.clone() });
    tasks
}

/// Whether `at` is `expected`, or a little after: by as much as a busy machine may take to
/// wake a task (a deadline, computed, is only as late as the drain's start).
fn near(at: Instant, expected: Instant) -> bool {
    at >= expected && at < expected + Duration::from_millis(300)
}

/// Whether a deadline is the one `expected`, from a plan made a moment before the drain's.
fn same(by: Instant, expected: Instant) -> bool {
    by >= expected && by < expected + Duration::from_millis(50)
}

#[tokio::test]
async fn a_busy_service_answers_until_the_drain_period_ends_then_stops_in_order() {
    let journal = Journal::default();
    let mut tasks = every_stage(1, &journal);
    let refresh = tokio::spawn(std::future::pending::<()>());
    let refreshing = refresh.abort_handle();
    tasks.add_loop(Stage::Producers, "refresh", refresh);
    assert!(!tasks.idle());
    let plan = DrainPlan::starting(Instant::now(), Duration::from_secs(2));
    tasks.drain(Duration::from_secs(2), std::future::pending()).await;

    assert_eq!(journal.order(), ORDER, "stage after stage, whatever the order they were registered in");
    let listener = journal.entry("stops accepting");
    assert!(near(listener.at, plan.stop_accepting), "accepting until the drain period nearly ends: {plan:?}");
    assert!(same(listener.by, plan.conversations_done), "conversations in flight get the first half of the tail");
    assert!(journal.entry("repeat check").at >= journal.entry("conversations done").at);
    assert!(same(journal.entry("repeat check").by, plan.producers_done));
    assert!(same(journal.entry("writer").by, plan.deadline) && same(journal.entry("database").by, plan.deadline));
    assert!(refreshing.is_finished(), "a loop is aborted in its stage");
}

#[tokio::test]
async fn an_idle_service_stops_at_once_and_leaves_the_statistics_their_deadline() {
    let journal = Journal::default();
    let tasks = every_stage(0, &journal);
    assert!(tasks.idle(), "no connection open on any listener");
    let started = Instant::now();
    tasks.drain(Duration::from_secs(10), std::future::pending()).await;

    assert!(started.elapsed() < Duration::from_millis(500), "an idle drain took {:?}", started.elapsed());
    assert_eq!(journal.order(), ORDER, "in the same order");
    assert!(near(journal.entry("stops accepting").at, started));
    assert!(same(journal.entry("writer").by, started + Duration::from_secs(10)), "had it anything left to write");
}

#[tokio::test]
async fn a_second_signal_cuts_the_drain_short_in_the_same_order() {
    let journal = Journal::default();
    let started = Instant::now();
    every_stage(1, &journal).drain(Duration::from_secs(10), async {}).await;

    assert!(started.elapsed() < Duration::from_secs(1), "a cut drain took {:?}", started.elapsed());
    assert_eq!(journal.order(), ORDER);
    assert!(journal.entry("database").by < started + Duration::from_secs(1), "the shortest tail");
}

#[test]
fn a_process_with_no_listener_is_idle() {
    assert!(Tasks::new().idle());
}
