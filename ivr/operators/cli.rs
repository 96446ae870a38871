//! `ivr operators add|list|update|remove|available|unavailable|state`: the roster and the
//! operators' states from the command line, on the database `IVR_DATABASE_URL` names.
//!
//! Every argument is checked before the database is opened, so bad input exits 1 with a
//! sentence and touches nothing; each change is one transaction. A running `ivr serve` picks
//! the change up at its next reload (`IVR_ROSTER_REFRESH_MS`). Only the database's kind is
//! ever printed, never its URL (it may hold a password).

use std::io::Write;

use chrono::Utc;

use super::input::{NewOperator, OperatorChange, RosterError, parse_id};
use super::state::{AwayReason, Change};
use super::store::{RosterStore, StateStore, StoredOperator, switch_available};
use crate::config::Settings;
use crate::db::Db;
use crate::db::cli::{Outcome, with_db};

/// `ivr operators`: the roster from the command line.
#[derive(clap::Subcommand, Debug)]
pub enum OperatorsCommand {
    /// Put an operator on the roster (available unless --unavailable).
    Add {
        /// The name administrators know them by (1 to 100 characters).
        #[arg(long)]
        name: String,
        /// Where to ring them: a phone number (+77172000000) or a sip: URI.
        #[arg(long)]
        target: String,
        /// The languages they take calls in: kk, ru or both.
        #[arg(long)]
        languages: String,
        /// Added, but not rung until `ivr operators available ID`.
        #[arg(long)]
        unavailable: bool,
    },
    /// Print the roster.
    List {
        /// A table to read, or JSON.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Change an operator's name, target or languages.
    Update {
        /// The operator's id, as `list` shows it.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// A new name (1 to 100 characters).
        #[arg(long)]
        name: Option<String>,
        /// A new number or sip: URI to ring.
        #[arg(long)]
        target: Option<String>,
        /// New languages: kk, ru or both.
        #[arg(long)]
        languages: Option<String>,
    },
    /// Take an operator off the roster.
    Remove {
        /// The operator's id, as `list` shows it.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// The operator takes calls now.
    Available {
        /// The operator's id, as `list` shows it.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// The operator is not rung until made available again.
    Unavailable {
        /// The operator's id, as `list` shows it.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Print an operator's state (available, on_call, wrap_up, away) as JSON, or set it.
    State {
        /// The operator's id, as `list` shows it.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// `available` (also ends a wrap-up early) or `away`; omitted, the state is printed.
        set: Option<String>,
    },
}

/// How `ivr operators list` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned text to read.
    Table,
    /// The roster as `/api/v1/operators` gives it.
    Json,
}

/// Runs one `ivr operators` command.
pub fn command(command: OperatorsCommand) -> Outcome {
    let action = Action::parse(command).map_err(|e| vec![e.to_string()])?;
    let settings = Settings::from_env()?;
    action.dialable_on(&settings).map_err(|e| vec![e.to_string()])?;
    with_db(&settings, |store| async move {
        let printed = action.run(&store).await.map_err(|e| vec![e.to_string()])?;
        // A closed pipe (`| head`) is the reader's choice, not an error.
        let _ = std::io::stdout().lock().write_all(printed.as_bytes());
        Ok(())
    })
}

/// A command whose arguments are all valid.
enum Action {
    Add(NewOperator),
    List(ListFormat),
    Update(i64, OperatorChange),
    Remove(i64),
    Available(i64, bool),
    State(i64, Option<Change>),
}

impl Action {
    fn parse(command: OperatorsCommand) -> Result<Action, RosterError> {
        Ok(match command {
            OperatorsCommand::Add { name, target, languages, unavailable } => {
                Action::Add(NewOperator::parse(&name, &target, &languages, !unavailable)?)
            }
            OperatorsCommand::List { format } => Action::List(format),
            OperatorsCommand::Update { id, name, target, languages } => {
                let id = parse_id(&id)?;
                Action::Update(
                    id,
                    OperatorChange::parse(name.as_deref(), target.as_deref(), languages.as_deref(), None)?,
                )
            }
            OperatorsCommand::Remove { id } => Action::Remove(parse_id(&id)?),
            OperatorsCommand::Available { id } => Action::Available(parse_id(&id)?, true),
            OperatorsCommand::Unavailable { id } => Action::Available(parse_id(&id)?, false),
            OperatorsCommand::State { id, set } => {
                let id = parse_id(&id)?;
                let change = match set.as_deref() {
                    None => None,
                    Some("available") => Some(Change::MadeAvailable),
                    Some("away") => Some(Change::MadeAway(AwayReason::Administrator)),
                    Some(other) => return Err(RosterError::UnknownState(other.to_owned())),
                };
                Action::State(id, change)
            }
        })
    }

    /// Refuses a target a dialect the line is configured for cannot dial.
    fn dialable_on(&self, settings: &Settings) -> Result<(), RosterError> {
        match self {
            Action::Add(new) => super::input::dialable(&new.target, settings),
            Action::Update(_, OperatorChange { target: Some(target), .. }) => super::input::dialable(target, settings),
            _ => Ok(()),
        }
    }

    /// Does it; returns what to print.
    async fn run(self, store: &Db) -> Result<String, RosterError> {
        Ok(match self {
            Action::Add(new) => format!("ok: added {}\n", describe(&store.add_operator(&new).await?)),
            Action::List(format) => render(&store.list_operators().await?, format),
            Action::Update(id, change) => {
                format!("ok: updated {}\n", describe(&store.update_operator(id, &change).await?))
            }
            Action::Remove(id) => format!("ok: removed {}\n", describe(&store.remove_operator(id).await?)),
            Action::Available(id, available) => {
                let switched = switch_available(store, id, available, AwayReason::Administrator).await?;
                format!("ok: {}\n", describe(&switched))
            }
            Action::State(id, change) => {
                let now = Utc::now();
                let state = match change {
                    Some(change) => store.change_state(id, change, now).await?,
                    None => store.operator_state(id).await?,
                };
                serde_json::to_string_pretty(&state.view(id, now)).unwrap_or_default() + "\n"
            }
        })
    }
}

fn describe(operator: &StoredOperator) -> String {
    let state = if operator.available { "available" } else { "unavailable" };
    format!(
        "operator {} ({}, {}, languages {}, {state})",
        operator.id,
        operator.name,
        operator.target_text(),
        operator.languages
    )
}

/// The roster as a table or as a JSON array.
pub fn render(operators: &[StoredOperator], format: ListFormat) -> String {
    if format == ListFormat::Json {
        return serde_json::to_string_pretty(operators).unwrap_or_else(|_| "[]".to_owned()) + "\n";
    }
    if operators.is_empty() {
        return "the roster is empty: add operators with `ivr operators add`\n".to_owned();
    }
    let width =
        |f: fn(&StoredOperator) -> usize, title: &str| operators.iter().map(f).max().unwrap_or(0).max(title.len());
    let name = width(|o| o.name.chars().count(), "name");
    let target = width(|o| o.target_text().len(), "target");
    let mut out = format!("{:>4}  {:name$}  {:target$}  {:9}  {}\n", "id", "name", "target", "languages", "available");
    for o in operators {
        let pad = name - o.name.chars().count();
        let available = if o.available { "yes" } else { "no" };
        out.push_str(&format!(
            "{:>4}  {}{}  {:target$}  {:9}  {available}\n",
            o.id,
            o.name,
            " ".repeat(pad),
            o.target_text(),
            o.languages.code()
        ));
    }
    out
}

/// For `ivr check`: the loud warning when, with this configuration and the roster in the
/// database now, a caller asking for an operator would ring nobody; `None` when someone
/// would be rung. A database that cannot be read counts as an empty roster, and says so.
pub fn nobody_to_ring(settings: &Settings) -> Option<String> {
    if settings.operator_number.is_some() {
        return None;
    }
    let mut listed = Vec::new();
    let listing = &mut listed;
    let loaded = with_db(settings, |db| async move {
        *listing = db.list_operators().await.map_err(|e| vec![e.to_string()])?;
        Ok(())
    })
    .map(|()| listed);
    match loaded {
        Ok(operators) => {
            let operators = operators.iter().map(StoredOperator::to_operator).collect();
            let roster = super::Roster { operators, switchboard: None, states_stale: false };
            (!roster.someone_to_ring()).then(|| super::NOBODY_TO_RING.to_owned())
        }
        Err(problems) => {
            Some(format!("{} (the roster could not be read: {})", super::NOBODY_TO_RING, problems.join("; ")))
        }
    }
}
