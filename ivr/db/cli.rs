//! How a command line tool (`ivr migrate`, `ivr report`, `ivr operators …`, `ivr users …`)
//! uses the database: open and migrate it, do one thing, close it. Nothing here prints
//! the database URL, which may hold a password: only its kind.

use std::future::Future;

use super::Db;
use crate::config::Settings;

/// A command's result: `Err` lists every problem, printed one a line, exit code 1.
pub type Outcome = Result<(), Vec<String>>;

/// Opens `IVR_DATABASE_URL`, migrated, runs `work` on it, and closes it, whatever `work`
/// returned: on SQLite closing folds the write-ahead log into the file.
pub fn with_db<F, W>(settings: &Settings, work: W) -> Outcome
where
    W: FnOnce(Db) -> F,
    F: Future<Output = Outcome>,
{
    block_on(async {
        let db = open(settings).await?;
        let outcome = work(db.clone()).await;
        db.close().await;
        outcome
    })
}

/// `ivr migrate`: applies the migrations to `IVR_DATABASE_URL`.
pub fn migrate() -> Outcome {
    let settings = Settings::from_env()?;
    with_db(&settings, |db| async move {
        println!("ok: the {} database is migrated", db.kind());
        Ok(())
    })
}

/// Connects to `IVR_DATABASE_URL` and migrates it: what every command on the database does first.
async fn open(settings: &Settings) -> Result<Db, Vec<String>> {
    let db = Db::connect(&settings.database_url).await.map_err(|e| vec![format!("cannot open the database: {e}")])?;
    db.ready().await.map_err(|e| vec![format!("cannot migrate the {} database: {e}", db.kind())])?;
    Ok(db)
}

/// Runs a command's work on a runtime of its own.
pub fn block_on<F: Future<Output = Outcome>>(future: F) -> Outcome {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| vec![format!("cannot start the runtime: {e}")])?;
    runtime.block_on(future)
}
