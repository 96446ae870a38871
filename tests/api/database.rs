//! The database floor: a new SQLite file is created and migrated safely by any number of
//! processes, and of tasks in one process, starting at the same moment; a command closes
//! the database so no write-ahead log is left beside the file.

use std::path::Path;
use std::process::{Command, Output};

use ivr::db::Db;

/// Processes started at once on one new file, and how many times.
const PROCESSES: usize = 6;
const ROUNDS: usize = 12;

fn ivr_migrate(file: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_ivr"))
        .arg("migrate")
        .env_clear()
        .env("IVR_DATABASE_URL", format!("sqlite://{}", file.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ivr runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn several_processes_create_and_migrate_a_new_sqlite_file_at_once() {
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ivr.sqlite3");
        let children: Vec<_> = (0..PROCESSES).map(|_| ivr_migrate(&file)).collect();
        for child in children {
            let output = child.wait_with_output().expect("ivr ends");
            assert!(output.status.success(), "round {round}: {}", text(&output));
            assert!(text(&output).contains("ok: the sqlite database is migrated"), "{}", text(&output));
        }
        // Each closed the database; the last one out folded the log into the file, and no
        // half-made file is left behind.
        assert_eq!(listing(dir.path()), ["ivr.sqlite3"], "round {round}");
    }
}

#[tokio::test]
async fn databases_opened_at_once_in_one_process_migrate_a_new_file_once() {
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ivr.sqlite3").display());
        // Separate pools, as separate services in one process would have, and clones of one.
        let separate: Vec<Db> = (0..4).map(|_| Db::connect_lazy(&url).unwrap()).collect();
        let shared = Db::connect_lazy(&url).unwrap();
        let all: Vec<Db> = separate.into_iter().chain((0..4).map(|_| shared.clone())).collect();
        let readied = futures_util::future::join_all(all.iter().map(Db::ready)).await;
        for result in readied {
            result.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let tables: i64 = match &shared {
            Db::Sqlite(db) => sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(db.reader())
                .await
                .unwrap(),
            Db::Postgres(_) => unreachable!("a SQLite URL"),
        };
        assert!(tables >= 4, "every migration applied once: {tables}");
        for db in &all {
            db.close().await;
        }
        assert_eq!(listing(dir.path()), ["ivr.sqlite3"], "round {round}: closed cleanly");
    }
}

#[test]
fn a_database_in_a_missing_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = ivr_migrate(&dir.path().join("no/such/folder/ivr.sqlite3")).wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("cannot open the database"), "{}", text(&output));
    assert!(!dir.path().join("no").exists(), "nothing is created");
}
