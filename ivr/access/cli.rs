//! `ivr users …` and `ivr tokens …`: the accounts and API tokens of the dashboard, on the
//! database `IVR_DATABASE_URL` names. Passwords are read from standard input, never from
//! the command line (where `ps` and shell history would keep them); a token is printed once.

use std::io::BufRead;

use super::store::AccessStore;
use super::{Role, add_user, create_token};
use crate::config::Settings;
use crate::db::cli::{Outcome, with_db};

/// `ivr users`: the dashboard's accounts.
#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; the password is read from standard input (one line, at least 10 characters).
    Add {
        /// What they may do: admin, analyst or operator.
        #[arg(long, value_enum)]
        role: Role,
        /// What they type to sign in (1 to 64 characters).
        #[arg(long)]
        name: String,
        /// For role operator: their id on the roster (`ivr operators list`).
        #[arg(long)]
        operator: Option<i64>,
    },
    /// List the users (never their passwords).
    List,
    /// Remove a user and end their sessions.
    Remove {
        /// The name they sign in with.
        name: String,
    },
}

/// `ivr tokens`: API tokens for scripts and exports.
#[derive(clap::Subcommand, Debug)]
pub enum TokensCommand {
    /// Create an API token and print it once: only its digest is kept.
    Create {
        /// What the token may do: admin, analyst or operator.
        #[arg(long, value_enum)]
        role: Role,
        /// What the token is for, to recognise it when listing or revoking.
        #[arg(long)]
        label: String,
        /// For role operator: their id on the roster.
        #[arg(long)]
        operator: Option<i64>,
    },
    /// List the tokens (never the tokens themselves).
    List,
    /// Revoke a token by its id.
    Revoke {
        /// The token's id, as `ivr tokens list` shows it.
        id: i64,
    },
}

/// Runs `ivr users`.
pub fn users(command: UsersCommand) -> Outcome {
    let password = match &command {
        UsersCommand::Add { .. } => Some(read_password()?),
        _ => None,
    };
    let settings = Settings::from_env()?;
    with_db(&settings, |db| async move {
        match command {
            UsersCommand::Add { role, name, operator } => {
                let password = password.unwrap_or_default();
                add_user(&db, &name, role, &password, operator).await.map_err(|e| vec![e.to_string()])?;
                println!("ok: user `{name}` added with role {}", role.as_str());
            }
            UsersCommand::List => {
                for user in db.list_users().await.map_err(|e| vec![e.to_string()])? {
                    let operator = user.operator_id.map(|id| format!(" (operator {id})")).unwrap_or_default();
                    println!("{}\t{}{operator}", user.name, user.role.as_str());
                }
            }
            UsersCommand::Remove { name } => {
                if !db.remove_user(&name).await.map_err(|e| vec![e.to_string()])? {
                    return Err(vec![format!("there is no user named `{name}`")]);
                }
                println!("ok: user `{name}` removed; their sessions are ended");
            }
        }
        Ok(())
    })
}

/// Runs `ivr tokens`.
pub fn tokens(command: TokensCommand) -> Outcome {
    let settings = Settings::from_env()?;
    with_db(&settings, |db| async move {
        match command {
            TokensCommand::Create { role, label, operator } => {
                let token = create_token(&db, role, &label, operator).await.map_err(|e| vec![e.to_string()])?;
                println!("{token}");
                eprintln!("this token ({}) is shown once and cannot be shown again: keep it now", role.as_str());
            }
            TokensCommand::List => {
                for token in db.list_tokens().await.map_err(|e| vec![e.to_string()])? {
                    println!(
                        "{}\t{}\t{}\t{}",
                        token.id,
                        token.role.as_str(),
                        token.created_at.date_naive(),
                        token.label
                    );
                }
            }
            TokensCommand::Revoke { id } => {
                if !db.revoke_token(id).await.map_err(|e| vec![e.to_string()])? {
                    return Err(vec![format!("there is no token with id {id}")]);
                }
                println!("ok: token {id} revoked");
            }
        }
        Ok(())
    })
}

/// One line of standard input, without its line ending.
fn read_password() -> Result<String, Vec<String>> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| vec![format!("cannot read the password: {e}")])?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(vec![
            "no password on standard input: `echo … | ivr users add …` or type it and press Enter".to_owned(),
        ]);
    }
    Ok(password)
}
