//! `ivr users` and `ivr tokens` from the command line: the password from standard input,
//! a clear refusal for bad input that leaves nothing written, and a token shown once.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ivr::access::{AccessStore, Role};

use crate::stats::support::{Backend, TestDatabase};

fn ivr(url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(args)
        .env_clear()
        .env("IVR_DATABASE_URL", url)
        .env("IVR_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ivr runs");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("written");
    child.wait_with_output().expect("ivr ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn users_and_tokens_are_made_checked_and_listed_without_secrets() {
    let db = TestDatabase::new(&Backend::Sqlite).await;
    let url = db.url.as_str();
    let refusals: [(&[&str], &str, &str); 4] = [
        (&["users", "add", "--role", "admin", "--name", "asel"], "short\n", "at least 10 characters"),
        (&["users", "add", "--role", "admin", "--name", "asel"], "", "no password on standard input"),
        (&["users", "add", "--role", "operator", "--name", "aigerim"], "a long enough password\n", "--operator ID"),
        (
            &["users", "add", "--role", "analyst", "--name", "x", "--operator", "3"],
            "a long enough password\n",
            "--operator ID",
        ),
    ];
    for (args, stdin, says) in refusals {
        let output = ivr(url, args, stdin);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(text(&output.stderr).contains(says), "{args:?}: {}", text(&output.stderr));
    }
    let store = db.store().await;
    assert!(store.list_users().await.expect("users").is_empty(), "nothing was written");

    let added = ivr(url, &["users", "add", "--role", "admin", "--name", "asel"], "a long enough password\n");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let again = ivr(url, &["users", "add", "--role", "admin", "--name", "asel"], "a long enough password\n");
    assert!(text(&again.stderr).contains("already a user named `asel`"), "{}", text(&again.stderr));
    let listed = ivr(url, &["users", "list"], "");
    assert_eq!(text(&listed.stdout), "asel\tadmin\n");

    let created = ivr(url, &["tokens", "create", "--role", "analyst", "--label", "monthly export"], "");
    let token = text(&created.stdout).trim().to_owned();
    assert_eq!(token.len(), 43, "the token, once: {}", text(&created.stdout));
    assert!(text(&created.stderr).contains("cannot be shown again"));
    let tokens = text(&ivr(url, &["tokens", "list"], "").stdout);
    assert!(tokens.contains("monthly export") && !tokens.contains(&token), "{tokens}");
    let revoked = ivr(url, &["tokens", "revoke", "1"], "");
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert_eq!(ivr(url, &["tokens", "revoke", "1"], "").status.code(), Some(1), "already revoked");
    let (user, _) = store.user_by_name("asel").await.expect("read").expect("there");
    assert_eq!(user.role, Role::Admin);
}
