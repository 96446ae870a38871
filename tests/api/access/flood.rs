//! Sign-in under a flood (`ivr/access/flood.rs`): a bounded number of password checks at
//! once, a limit per client address, the client's address behind a trusted proxy only, and
//! no lock-out of a real administrator by a stranger who knows their name.

use std::time::{Duration, Instant};

use ivr::access::Role;

use super::{Seeded, set_cookie, sign_in_via};
use crate::dashboard::PASSWORD;
use crate::helpers::Options;

/// A service behind a proxy on 127.0.0.1 (the test client), which says who its client is.
async fn behind_proxy(more: &[(&'static str, &str)]) -> Seeded {
    let mut env = vec![("IVR_TRUSTED_PROXIES", "127.0.0.1".to_owned())];
    env.extend(more.iter().map(|(name, value)| (*name, (*value).to_owned())));
    let seeded = Seeded::with(Options { env, ..Options::default() }).await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    seeded
}

async fn from(seeded: &Seeded, client: &str, name: &str, password: &str) -> reqwest::Response {
    sign_in_via(seeded, &[("x-forwarded-for", client)], "/admin", name, password).await
}

#[tokio::test]
async fn a_stranger_who_fails_with_an_admins_name_does_not_lock_the_admin_out() {
    let seeded = behind_proxy(&[]).await;
    let stranger = "203.0.113.66";
    for attempt in 1..=5 {
        assert_eq!(from(&seeded, stranger, "asel", "guess").await.status(), 401, "attempt {attempt}");
    }
    assert_eq!(from(&seeded, stranger, "asel", "guess").await.status(), 429, "the name is throttled for them");
    assert_eq!(from(&seeded, stranger, "asel", PASSWORD).await.status(), 429, "even with the password");

    let started = Instant::now();
    let admin = from(&seeded, "198.51.100.7", "asel", PASSWORD).await;
    assert_eq!(admin.status(), 303, "a client with no failures gets in");
    assert!(set_cookie(&admin, "ivr_session").is_some());
    assert!(started.elapsed() >= Duration::from_secs(2), "but only after a delay: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_throttled_names_slow_lane_checks_each_new_client_once() {
    let seeded = behind_proxy(&[]).await;
    for _ in 1..=5 {
        from(&seeded, "203.0.113.66", "asel", "guess").await;
    }
    let second = "203.0.113.67";
    assert_eq!(from(&seeded, second, "asel", "another guess").await.status(), 401, "checked, late");
    assert_eq!(from(&seeded, second, "asel", PASSWORD).await.status(), 429, "it has failed now");
}

#[tokio::test]
async fn one_client_address_is_refused_after_twenty_failures_under_any_names() {
    let seeded = behind_proxy(&[]).await;
    let client = "203.0.113.66";
    for n in 1..=20 {
        assert_eq!(from(&seeded, client, &format!("name{n}"), "guess").await.status(), 401, "attempt {n}");
    }
    let refused = from(&seeded, client, "asel", PASSWORD).await;
    assert_eq!(refused.status(), 429, "the address has used its attempts");
    assert!(refused.text().await.expect("a page").contains("15"), "says how many minutes are left");
    assert_eq!(from(&seeded, "203.0.113.99", "asel", PASSWORD).await.status(), 303, "another address gets in");
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_not_believed() {
    let seeded = Seeded::new().await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    for n in 1..=20 {
        let client = format!("203.0.113.{n}");
        assert_eq!(from(&seeded, &client, &format!("name{n}"), "guess").await.status(), 401, "attempt {n}");
    }
    let status = from(&seeded, "198.51.100.7", "asel", PASSWORD).await.status();
    assert_eq!(status, 429, "every attempt came from the one real peer, whatever the header said");
}

#[tokio::test]
async fn beyond_the_checks_in_progress_a_sign_in_is_answered_busy_at_once() {
    let seeded = behind_proxy(&[("IVR_PASSWORD_CHECKS", "1")]).await;
    let clients: Vec<String> = (1..=16).map(|n| format!("203.0.113.{n}")).collect();
    let attempts = clients.iter().map(|client| from(&seeded, client, "nobody", "guess"));
    let responses = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let busy = statuses.iter().filter(|s| **s == 503).count();
    assert_eq!(checked + busy, 16, "{statuses:?}");
    assert!(busy >= 8 && checked >= 1, "one check at a time, the rest refused: {statuses:?}");

    let busy_page = responses.into_iter().find(|r| r.status() == 503).expect("a busy answer");
    assert_eq!(busy_page.headers()["retry-after"], "1");
    assert!(busy_page.text().await.expect("a page").contains("role=\"alert\""), "says why");
    let after = from(&seeded, "203.0.113.1", "asel", PASSWORD).await;
    assert_eq!(after.status(), 303, "sign-in works once the flood has passed");
}
