//! The access store on SQLite and PostgreSQL alike: accounts, tokens, sessions that
//! expire, and the sign-in throttle's window.

use chrono::{TimeDelta, Utc};
use ivr::access::{AccessStore, Role, add_user, create_token};

use crate::stats::support::{Backend, TestDatabase, on_both_databases};

on_both_databases!(
    accounts_tokens_and_sessions_are_kept_by_digest_only,
    the_throttle_counts_only_its_window,
    attempts_at_once_get_no_more_than_the_limit
);

async fn accounts_tokens_and_sessions_are_kept_by_digest_only(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let store = db.store().await;
    let id = add_user(&store, "asel", Role::Admin, "a long enough password", None).await.expect("added");
    let duplicate = add_user(&store, "asel", Role::Analyst, "another long password", None).await;
    assert_eq!(duplicate.expect_err("a duplicate").to_string(), "there is already a user named `asel`");
    let (user, hash) = store.user_by_name("asel").await.expect("read").expect("there");
    assert_eq!((user.id, user.role, user.language.as_str()), (id, Role::Admin, "kk"));
    assert!(hash.starts_with("$argon2id$") && !hash.contains("a long enough password"));

    let token = create_token(&store, Role::Operator, "operator app", Some(7)).await.expect("a token");
    assert!(store.token_by_hash(&token).await.expect("read").is_none(), "the token itself is not stored");
    let listed = store.list_tokens().await.expect("tokens");
    assert_eq!((listed.len(), listed[0].role, listed[0].operator_id), (1, Role::Operator, Some(7)));

    let now = Utc::now();
    store.add_session("live", id, "csrf-1", now + TimeDelta::hours(1)).await.expect("a session");
    store.add_session("old", id, "csrf-2", now - TimeDelta::seconds(1)).await.expect("a session");
    assert_eq!(store.session("live", now).await.expect("read").expect("live").csrf, "csrf-1");
    assert!(store.session("old", now).await.expect("read").is_none(), "an expired session opens nothing");
    store.set_language(id, "ru").await.expect("set");
    assert_eq!(store.session("live", now).await.expect("read").expect("live").user.language, "ru");
    assert!(store.remove_user("asel").await.expect("removed"));
    assert!(store.session("live", now).await.expect("read").is_none(), "removing a user ends their sessions");
}

async fn the_throttle_counts_only_its_window(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let store = db.store().await;
    let now = Utc::now();
    let window = now - TimeDelta::minutes(15);
    let long_ago = now - TimeDelta::minutes(20);
    let counted = store.claim_login_attempt("asel", long_ago, long_ago - TimeDelta::minutes(15), 3).await;
    assert_eq!(counted.expect("counted"), None);
    for minutes in [3, 2, 1] {
        let at = now - TimeDelta::minutes(minutes);
        let counted = store.claim_login_attempt("asel", at, window, 3).await.expect("counted");
        assert_eq!(counted, None, "{minutes} minutes ago: the one 20 minutes ago is out of the window");
    }
    let refused = store.claim_login_attempt("asel", now, window, 3).await.expect("read").expect("refused");
    let reopens = refused - (now - TimeDelta::minutes(3));
    assert!(reopens.num_milliseconds().abs() < 1, "the oldest of the last three: {reopens}");
    assert_eq!(store.login_failures("asel", window).await.expect("read").len(), 3, "a refused attempt is not kept");
    assert_eq!(store.claim_login_attempt("dana", now, window, 3).await.expect("counted"), None, "names apart");
    store.clear_login_failures("asel").await.expect("cleared");
    assert!(store.login_failures("asel", window).await.expect("read").is_empty());
    assert_eq!(store.login_failures("dana", window).await.expect("read").len(), 1);
}

async fn attempts_at_once_get_no_more_than_the_limit(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let store = db.store().await;
    let now = Utc::now();
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_login_attempt("asel", now, now - TimeDelta::minutes(15), 5).await })
        })
        .collect();
    let mut admitted = 0;
    for attempt in attempts {
        admitted += usize::from(attempt.await.expect("ran").expect("counted").is_none());
    }
    assert_eq!(admitted, 5, "exactly the limit, however the attempts interleave");
    assert_eq!(store.login_failures("asel", now - TimeDelta::minutes(15)).await.expect("read").len(), 5);
}
