//! The roster store on SQLite and PostgreSQL alike: what is written reads back, a refused
//! change writes nothing, ids are never reused, and two writers racing for one target
//! leave exactly one operator with it.

use ivr::db::Db;
use ivr::operators::{NewOperator, OperatorChange, RosterError, RosterStore};

use crate::stats::support::{Backend, TestDatabase, on_both_databases};

on_both_databases!(
    operators_read_back_as_written,
    a_partial_update_changes_only_its_fields,
    a_duplicate_target_is_refused_and_nothing_changes,
    an_unknown_id_is_refused_everywhere,
    ids_are_never_reused,
    racing_writers_leave_one_operator_per_target,
);

fn new(name: &str, target: &str, languages: &str) -> NewOperator {
    NewOperator::parse(name, target, languages, true).expect("valid test operator")
}

async fn store(backend: &Backend) -> (TestDatabase, Db) {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    (db, store)
}

async fn operators_read_back_as_written(backend: Backend) {
    let (_db, store) = store(&backend).await;
    assert!(store.list_operators().await.unwrap().is_empty());
    let added = store.add_operator(&new("Айгерим Нұрлан", "+77170000001", "kk")).await.unwrap();
    let away = NewOperator { available: false, ..new("Olga", "sip:olga@pbx.111.kz", "both") };
    let second = store.add_operator(&away).await.unwrap();
    assert_eq!(added.name, "Айгерим Нұрлан");
    assert_eq!((added.target_text(), added.languages.code(), added.available), ("+77170000001", "kk", true));
    assert_eq!((second.target_text(), second.available), ("sip:olga@pbx.111.kz", false));
    assert_eq!(store.operator(added.id).await.unwrap(), added);
    assert_eq!(store.list_operators().await.unwrap(), [added, second]);
}

async fn a_partial_update_changes_only_its_fields(backend: Backend) {
    let (_db, store) = store(&backend).await;
    let before = store.add_operator(&new("Айгерим", "+77170000001", "kk")).await.unwrap();
    let change = OperatorChange::parse(None, None, Some("both"), None).unwrap();
    let after = store.update_operator(before.id, &change).await.unwrap();
    assert_eq!(after.languages.code(), "both");
    assert_eq!((&after.name, &after.target, after.available), (&before.name, &before.target, before.available));
    assert_eq!(after.created_at, before.created_at);
    assert!(after.updated_at >= before.updated_at);
    let off = store.set_available(before.id, false).await.unwrap();
    assert!(!off.available && off.languages.code() == "both");
    assert_eq!(store.operator(before.id).await.unwrap(), off);
}

async fn a_duplicate_target_is_refused_and_nothing_changes(backend: Backend) {
    let (_db, store) = store(&backend).await;
    let first = store.add_operator(&new("A", "+77170000001", "kk")).await.unwrap();
    let second = store.add_operator(&new("B", "+77170000002", "ru")).await.unwrap();
    let refused = store.add_operator(&new("C", "+77170000001", "ru")).await;
    assert!(matches!(&refused, Err(RosterError::DuplicateTarget(t)) if t == "+77170000001"), "{refused:?}");
    let change = OperatorChange::parse(Some("B2"), Some("+77170000001"), None, None).unwrap();
    let refused = store.update_operator(second.id, &change).await;
    assert!(matches!(refused, Err(RosterError::DuplicateTarget(_))), "{refused:?}");
    assert_eq!(store.list_operators().await.unwrap(), [first, second], "the name did not change either");
}

async fn an_unknown_id_is_refused_everywhere(backend: Backend) {
    let (_db, store) = store(&backend).await;
    let change = OperatorChange::parse(Some("Z"), None, None, None).unwrap();
    let unknown = |r: Result<_, RosterError>| matches!(r, Err(RosterError::UnknownOperator(42)));
    assert!(unknown(store.operator(42).await));
    assert!(unknown(store.update_operator(42, &change).await));
    assert!(unknown(store.set_available(42, true).await));
    assert!(unknown(store.remove_operator(42).await));
    assert!(store.list_operators().await.unwrap().is_empty());
}

async fn ids_are_never_reused(backend: Backend) {
    let (_db, store) = store(&backend).await;
    let first = store.add_operator(&new("A", "+77170000001", "kk")).await.unwrap();
    let removed = store.remove_operator(first.id).await.unwrap();
    assert_eq!(removed, first);
    let again = store.add_operator(&new("A", "+77170000001", "kk")).await.unwrap();
    assert!(again.id > first.id, "a removed operator's id (and any token tied to it) never points at someone else");
}

async fn racing_writers_leave_one_operator_per_target(backend: Backend) {
    let (_db, store) = store(&backend).await;
    let adds = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.add_operator(&new(&format!("op {i}"), "+77170000001", "kk")).await })
    });
    let mut added = 0;
    for add in adds {
        match add.await.expect("the task ends") {
            Ok(_) => added += 1,
            Err(RosterError::DuplicateTarget(_)) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(added, 1);
    assert_eq!(store.list_operators().await.unwrap().len(), 1);
}

/// A row edited by hand into something the service cannot dial is left out of the roster
/// (and said once in the log), never a reason to stop ringing everyone else.
#[tokio::test]
async fn a_hand_edited_unusable_row_is_skipped() {
    let (_db, store) = store(&Backend::Sqlite).await;
    let kept = store.add_operator(&new("A", "+77170000001", "kk")).await.unwrap();
    let Db::Sqlite(sqlite) = &store else { unreachable!("a SQLite store") };
    sqlx::query(
        "INSERT INTO operators (name, target, languages, available, created_at, updated_at) \
         VALUES ('B', 'sip:a b@pbx', 'kk', 1, '2026-11-29T00:00:00Z', '2026-11-29T00:00:00Z')",
    )
    .execute(sqlite.writer())
    .await
    .expect("the CHECKs let a space in a SIP URI through");
    let refused = sqlx::query("UPDATE operators SET languages = 'en' WHERE id = 1").execute(sqlite.writer()).await;
    assert!(refused.is_err(), "the CHECKs refuse an unknown language");
    assert_eq!(store.list_operators().await.unwrap(), [kept]);
}
