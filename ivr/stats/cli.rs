//! `ivr demo-data`: a synthetic history, for demos and benchmarks. It checks its input
//! before touching the database and writes in one transaction, so a bad argument or a
//! failure leaves nothing half-written; it refuses a database that holds real calls.

use std::time::Instant;

use chrono::{TimeDelta, Utc};

use super::demo::{self, DemoPlan};
use super::store::Store;
use crate::config::Settings;
use crate::db::cli::{Outcome, with_db};
use crate::flow::Flow;

const MAX_DEMO_CALLS: usize = 20_000_000;
const MAX_DEMO_DAYS: u32 = 3660;
/// The database the refusal suggests for demo data: a file beside the default database,
/// ignored by git too. Any database without real calls is taken.
pub const DEMO_FILE: &str = "demo.sqlite3";

/// `ivr demo-data`: how much synthetic history to make.
#[derive(clap::Args, Debug)]
pub struct DemoDataArgs {
    /// How many synthetic calls.
    #[arg(long)]
    pub calls: usize,
    /// Over how many days, ending yesterday (UTC).
    #[arg(long)]
    pub days: u32,
    /// Seed of the pretend callers: the same seed makes the same calls.
    #[arg(long, default_value_t = 111)]
    pub seed: u64,
}

/// Fills the database with synthetic history; refuses a database that holds real calls.
pub fn demo_data(args: DemoDataArgs) -> Outcome {
    let plan = demo_plan(&args)?;
    let settings = Settings::from_env()?;
    let flow =
        Flow::load(&settings.flow_path).map_err(|e| vec![format!("flow {}: {e}", settings.flow_path.display())])?;
    with_db(&settings, |store| async move {
        let real = store.real_calls().await.map_err(|e| vec![e.to_string()])?;
        if real > 0 {
            return Err(vec![format!(
                "this database holds {real} real calls: demo data goes into a database of its own, \
                 such as IVR_DATABASE_URL=sqlite://{DEMO_FILE}"
            )]);
        }
        let started = Instant::now();
        let (calls, totals) = demo::generate(&flow, &plan);
        store.load_synthetic(&calls, &totals).await.map_err(|e| vec![e.to_string()])?;
        let first = plan.last_day - TimeDelta::days(i64::from(plan.days) - 1);
        println!(
            "ok: {} SYNTHETIC calls from {first} to {} in {:.1} s; reports will say they are synthetic",
            plan.calls,
            plan.last_day,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })
}

fn demo_plan(args: &DemoDataArgs) -> Result<DemoPlan, Vec<String>> {
    let mut problems = Vec::new();
    if !(1..=MAX_DEMO_CALLS).contains(&args.calls) {
        problems.push(format!("--calls: {} is not from 1 to {MAX_DEMO_CALLS}", args.calls));
    }
    if !(1..=MAX_DEMO_DAYS).contains(&args.days) {
        problems.push(format!("--days: {} is not from 1 to {MAX_DEMO_DAYS}", args.days));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let last_day = Utc::now().date_naive() - TimeDelta::days(1);
    Ok(DemoPlan { calls: args.calls, days: args.days, last_day, seed: args.seed })
}
