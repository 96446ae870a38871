//! The `ivr` command: serve the hotline (the default), check its flow, prompts and
//! configuration, and the commands that walk, review and manage it (roster, accounts,
//! prompts, reports).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ivr::app::Server;
use ivr::config::Settings;
use ivr::state::{self, Loaded};

#[derive(Parser)]
#[command(name = "ivr", about = "Voice backend of the 111 helpline", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Answer the telephony provider's webhooks (the default).
    Serve,
    /// Validate the flow, the prompt library and the configuration; exit 1 listing every problem.
    Check,
    /// Walk the hotline as a caller, in-process: hear the prompts, press keys (see docs/simulator.md).
    Simulate(ivr::simulate::SimulateArgs),
    /// Review the flow: `graph` draws it, `audit` measures what callers go through.
    Flow {
        #[command(subcommand)]
        command: ivr::review::FlowCommand,
    },
    /// Manage the recordings: `import` turns a studio recording into a prompt.
    Prompts {
        #[command(subcommand)]
        command: ivr::prompts::PromptsCommand,
    },
    /// Manage the operator roster: add, list, update, remove, available, unavailable, state.
    Operators {
        #[command(subcommand)]
        command: ivr::operators::cli::OperatorsCommand,
    },
    /// Manage the dashboard's users: add (password from stdin), list, remove.
    Users {
        #[command(subcommand)]
        command: ivr::access::cli::UsersCommand,
    },
    /// Manage API tokens: create (shown once), list, revoke.
    Tokens {
        #[command(subcommand)]
        command: ivr::access::cli::TokensCommand,
    },
    /// Apply the database's migrations (`serve` also does, at start-up).
    Migrate,
    /// Print the anonymous call statistics of a range of days.
    Report(ivr::reports::cli::ReportArgs),
    /// Fill the statistics database with synthetic calls, for demos and benchmarks.
    DemoData(ivr::stats::cli::DemoDataArgs),
    /// Write what the platform plays when this service does not answer (police number,
    /// switchboard), to host elsewhere: a TwiML Bin for `VoiceFallbackUrl`, a jambonz `app_json`.
    Fallback(ivr::telephony::fallback::FallbackArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, so what a command prints (`ivr report --format json`) stays clean.
    let sources = ivr::config::Sources::read();
    ivr::logging::init(|name| sources.get(|n| std::env::var(n).ok(), name));
    ivr::http_server::panic::install_hook();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Check => check(),
        Command::Simulate(args) => ivr::simulate::command(args),
        Command::Flow { command } => ivr::review::command(command),
        Command::Prompts { command } => prompts(command),
        Command::Operators { command } => ivr::operators::cli::command(command),
        Command::Users { command } => ivr::access::cli::users(command),
        Command::Tokens { command } => ivr::access::cli::tokens(command),
        Command::Migrate => ivr::db::cli::migrate(),
        Command::Report(args) => ivr::reports::cli::report(args),
        Command::DemoData(args) => ivr::stats::cli::demo_data(args),
        Command::Fallback(args) => ivr::telephony::fallback::command(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            eprintln!("{} problem(s):", problems.len());
            for problem in problems {
                eprintln!("  - {problem}");
            }
            ExitCode::FAILURE
        }
    }
}

fn load() -> Result<Loaded, Vec<String>> {
    state::load(Settings::from_env()?)
}

fn check() -> Result<(), Vec<String>> {
    let app = load()?;
    for warning in app.settings.warnings() {
        println!("warning: {warning}");
    }
    if let Some(warning) = ivr::operators::cli::nobody_to_ring(&app.settings) {
        println!("warning: {warning}");
    }
    println!(
        "ok: flow {} ({} nodes), {} prompts in kk and ru",
        app.settings.flow_path.display(),
        app.flow.nodes.len(),
        app.prompts.keys().count()
    );
    let provenance = app.prompts.provenance();
    if provenance.synthetic > 0 {
        println!(
            "warning: {} of {} recordings are synthetic placeholders (prompts/manifest.toml); import studio takes with `ivr prompts import`",
            provenance.synthetic, provenance.recordings
        );
    }
    if provenance.beyond_memo > 0 {
        println!(
            "warning: {} texts go beyond the memo and await the hotline's approval (text = \"beyond-memo\" in prompts/manifest.toml)",
            provenance.beyond_memo
        );
    }
    Ok(())
}

fn prompts(command: ivr::prompts::PromptsCommand) -> Result<(), Vec<String>> {
    let ivr::prompts::PromptsCommand::Import { lang, key, file } = command;
    let settings = Settings::from_env()?;
    let imported = ivr::prompts::import(&settings.prompts_dir, &lang, &key, &file).map_err(|e| vec![e.to_string()])?;
    println!("{imported}\nnext: `ivr check` validates the whole library");
    Ok(())
}

fn serve() -> Result<(), Vec<String>> {
    let app = load()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| vec![format!("cannot start the runtime: {e}")])?;
    runtime.block_on(async {
        let server = Server::build(app).await.map_err(|e| vec![format!("cannot listen: {e:#}")])?;
        let address = server.local_addr().map_err(|e| vec![e.to_string()])?;
        tracing::info!(%address, "111 hotline IVR listening");
        if let Some(address) = server.agi_addr() {
            tracing::info!(%address, "FastAGI listening");
        }
        let (drain, stop_now) = ivr::tasks::shutdown_signals();
        server.run(drain, stop_now).await.map_err(|e| vec![e.to_string()])
    })
}
