//! The roster in the database: [`RosterStore`], for SQLite and PostgreSQL alike.
//!
//! Every change is one explicit transaction that validates nothing itself (the input types
//! in `input.rs` already did) and maps the database's refusals to [`RosterError`]s a person
//! can act on: a duplicate target, an unknown id. Queries are runtime-checked `sqlx::query`
//! with bind parameters only, written once for both databases (`sql.rs`).

mod sql;
mod states;

use std::future::Future;

use chrono::{DateTime, Utc};

use super::input::{NewOperator, OperatorChange, RosterError, target_text};
use super::{Languages, Operator};
use crate::call_edge::DialTarget;
use crate::db::{Db, on_db};

pub(in crate::operators) use states::StateRow;
pub use states::{StateStore, switch_available};

/// One roster entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredOperator {
    /// The entry's id.
    pub id: i64,
    /// The name administrators know them by.
    pub name: String,
    /// Where they are rung.
    #[serde(serialize_with = "as_text")]
    pub target: DialTarget,
    /// The languages they take calls in.
    pub languages: Languages,
    /// Whether they are rung now.
    pub available: bool,
    /// When the entry was added.
    pub created_at: DateTime<Utc>,
    /// When the entry last changed.
    pub updated_at: DateTime<Utc>,
}

impl StoredOperator {
    /// The entry as the call path's roster snapshot holds it.
    pub fn to_operator(&self) -> Operator {
        Operator {
            id: self.id,
            name: self.name.clone(),
            target: self.target.clone(),
            languages: self.languages,
            available: self.available,
            state: if self.available { super::State::Available } else { super::State::Away },
        }
    }

    /// The target as stored and shown: digits or the `sip:` URI.
    pub fn target_text(&self) -> &str {
        target_text(&self.target)
    }
}

fn as_text<S: serde::Serializer>(target: &DialTarget, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(target_text(target))
}

/// The roster table. Reads never lock; each write is one transaction.
pub trait RosterStore: Send + Sync {
    /// Every operator, by id.
    fn list_operators(&self) -> impl Future<Output = Result<Vec<StoredOperator>, RosterError>> + Send;

    /// One operator; [`RosterError::UnknownOperator`] if there is none with `id`.
    fn operator(&self, id: i64) -> impl Future<Output = Result<StoredOperator, RosterError>> + Send;

    /// Adds an operator; [`RosterError::DuplicateTarget`] if their target is taken.
    fn add_operator(&self, new: &NewOperator) -> impl Future<Output = Result<StoredOperator, RosterError>> + Send;

    /// Changes the given fields of one operator, all or none.
    fn update_operator(
        &self,
        id: i64,
        change: &OperatorChange,
    ) -> impl Future<Output = Result<StoredOperator, RosterError>> + Send;

    /// Removes an operator and returns what they were.
    fn remove_operator(&self, id: i64) -> impl Future<Output = Result<StoredOperator, RosterError>> + Send;

    /// Switches whether an operator takes calls now.
    fn set_available(
        &self,
        id: i64,
        available: bool,
    ) -> impl Future<Output = Result<StoredOperator, RosterError>> + Send {
        let change = OperatorChange { available: Some(available), ..OperatorChange::default() };
        async move { self.update_operator(id, &change).await }
    }
}

/// A row as both databases return it.
#[derive(sqlx::FromRow)]
struct OperatorRow {
    id: i64,
    name: String,
    target: String,
    languages: String,
    available: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The columns every query returns, for `concat!` into `&'static str` SQL.
macro_rules! columns {
    () => {
        "id, name, target, languages, available, created_at, updated_at"
    };
}
use columns;

impl OperatorRow {
    /// `None` for a row the CHECKs let through but the service cannot use (edited by hand).
    fn decode(self) -> Option<StoredOperator> {
        let decoded = DialTarget::parse(&self.target).zip(Languages::parse(&self.languages));
        if decoded.is_none() {
            warn_unusable(self.id);
        }
        let (target, languages) = decoded?;
        Some(StoredOperator {
            id: self.id,
            name: self.name,
            target,
            languages,
            available: self.available,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Says once per process and row (the roster reloads every few seconds) that an operator
/// is not rung because their row was edited into something unusable.
fn warn_unusable(id: i64) {
    static WARNED: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !warned.contains(&id) {
        warned.push(id);
        tracing::warn!(id, "a roster row cannot be used (bad target or languages): that operator is not rung");
    }
}

/// A single row that must be there: `UnknownOperator` when it is not, or cannot be used.
fn one(id: i64, row: Option<OperatorRow>) -> Result<StoredOperator, RosterError> {
    row.and_then(OperatorRow::decode).ok_or(RosterError::UnknownOperator(id))
}

/// What an insert or update refused by a constraint means for the person who asked.
fn refused(error: sqlx::Error, target: Option<&DialTarget>) -> RosterError {
    if let (sqlx::Error::Database(db), Some(target)) = (&error, target)
        && db.is_unique_violation()
    {
        return RosterError::DuplicateTarget(target_text(target).to_owned());
    }
    error.into()
}

impl RosterStore for Db {
    async fn list_operators(&self) -> Result<Vec<StoredOperator>, RosterError> {
        on_db!(self, db => db.list_operators())
    }
    async fn operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
        on_db!(self, db => db.operator(id))
    }
    async fn add_operator(&self, new: &NewOperator) -> Result<StoredOperator, RosterError> {
        on_db!(self, db => db.add_operator(new))
    }
    async fn update_operator(&self, id: i64, change: &OperatorChange) -> Result<StoredOperator, RosterError> {
        on_db!(self, db => db.update_operator(id, change))
    }
    async fn remove_operator(&self, id: i64) -> Result<StoredOperator, RosterError> {
        on_db!(self, db => db.remove_operator(id))
    }
}

/// The stored values after `change`: the old ones where it gives none.
struct Merged<'a> {
    name: &'a str,
    target: &'a str,
    languages: &'static str,
    available: bool,
}

impl<'a> Merged<'a> {
    fn new(old: &'a StoredOperator, change: &'a OperatorChange) -> Merged<'a> {
        Merged {
            name: change.name.as_ref().map_or(old.name.as_str(), |n| n.as_str()),
            target: change.target.as_ref().map_or(old.target_text(), target_text),
            languages: change.languages.unwrap_or(old.languages).code(),
            available: change.available.unwrap_or(old.available),
        }
    }
}
