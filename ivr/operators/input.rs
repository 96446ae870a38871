//! What may go onto the roster, checked before anything touches the database: a name of 1
//! to 100 characters, a target the line's dialects can dial, and `kk`, `ru` or `both`.
//! The CLI, the roster page and the API build these from text, so all three refuse the same
//! input with the same sentence, and a refused change writes nothing.
//!
//! A target is parsed as the settings' are (a number, a `sip:` URI or an Asterisk dial
//! string), then held to the rule the settings' own targets are ([`Settings::undialable`]):
//! a dialect the line is configured for must be able to dial it. So a dial string is
//! refused while TwiML or jambonz is configured (their secret set) or while FastAGI is off;
//! a number or `sip:` URI while Asterisk is configured without `IVR_ASTERISK_DIAL`. (The
//! database's CHECK on `operators.target` still refuses any dial string that passes.)

use crate::call_edge::DialTarget;
use crate::config::Settings;

use super::Languages;

/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a roster change was refused, or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// A name of this many characters (or with control characters).
    #[error("the name must be 1 to {MAX_NAME_CHARS} characters (got {0})")]
    BadName(usize),
    /// Neither a phone number, a `sip:` URI nor an Asterisk dial string.
    #[error(
        "`{0}` is neither a phone number (2 to 15 digits, optional leading +), a sip: URI nor an Asterisk dial string (PJSIP/…)"
    )]
    BadTarget(String),
    /// A dialect the line is configured for cannot dial this target (the sentences say why).
    #[error("{0}")]
    Undialable(String),
    /// Not `kk`, `ru` or `both`.
    #[error("unknown language `{0}`: use kk, ru or both")]
    UnknownLanguage(String),
    /// Not a positive whole number.
    #[error("`{0}` is not an operator id (a whole number, as `ivr operators list` shows)")]
    BadId(String),
    /// Another operator is rung at this target already.
    #[error("another operator is already rung at `{0}`: each number or SIP URI rings one operator")]
    DuplicateTarget(String),
    /// No operator has this id.
    #[error("there is no operator with id {0}")]
    UnknownOperator(i64),
    /// A state that cannot be set by hand.
    #[error("unknown state `{0}`: set available or away (a call and its wrap-up are the line's to say)")]
    UnknownState(String),
    /// An update that changes nothing.
    #[error("nothing to change: give a new name, target or languages")]
    NothingToChange,
    /// The database refused or could not be reached.
    #[error("the roster database: {0}")]
    Database(#[from] crate::db::DbError),
}

impl From<sqlx::Error> for RosterError {
    fn from(error: sqlx::Error) -> RosterError {
        RosterError::Database(error.into())
    }
}

/// An operator's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorName(String);

impl OperatorName {
    /// `text`, trimmed, if it is a usable name.
    pub fn parse(text: &str) -> Result<OperatorName, RosterError> {
        let name = text.trim();
        let chars = name.chars().count();
        if !(1..=MAX_NAME_CHARS).contains(&chars) || name.chars().any(char::is_control) {
            return Err(RosterError::BadName(chars));
        }
        Ok(OperatorName(name.to_owned()))
    }

    /// The name as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an operator is rung; the text stored and shown.
pub fn parse_target(text: &str) -> Result<DialTarget, RosterError> {
    DialTarget::parse(text).ok_or_else(|| RosterError::BadTarget(text.trim().to_owned()))
}

pub fn parse_languages(text: &str) -> Result<Languages, RosterError> {
    Languages::parse(text.trim()).ok_or_else(|| RosterError::UnknownLanguage(text.trim().to_owned()))
}

/// An operator id typed or sent: a positive whole number.
pub fn parse_id(text: &str) -> Result<i64, RosterError> {
    text.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| RosterError::BadId(text.trim().to_owned()))
}

/// A new roster entry, valid in every field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOperator {
    /// The name administrators know them by.
    pub name: OperatorName,
    /// Where they are rung.
    pub target: DialTarget,
    /// The languages they take calls in.
    pub languages: Languages,
    /// Whether they are rung now.
    pub available: bool,
}

impl NewOperator {
    /// Checks every field and reports the first problem.
    pub fn parse(name: &str, target: &str, languages: &str, available: bool) -> Result<NewOperator, RosterError> {
        Ok(NewOperator {
            name: OperatorName::parse(name)?,
            target: parse_target(target)?,
            languages: parse_languages(languages)?,
            available,
        })
    }
}

/// A partial update: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorChange {
    /// A new name.
    pub name: Option<OperatorName>,
    /// A new target.
    pub target: Option<DialTarget>,
    /// New languages.
    pub languages: Option<Languages>,
    /// A new availability.
    pub available: Option<bool>,
}

impl OperatorChange {
    /// Checks each given field; refuses a change that changes nothing.
    pub fn parse(
        name: Option<&str>,
        target: Option<&str>,
        languages: Option<&str>,
        available: Option<bool>,
    ) -> Result<OperatorChange, RosterError> {
        let change = OperatorChange {
            name: name.map(OperatorName::parse).transpose()?,
            target: target.map(parse_target).transpose()?,
            languages: languages.map(parse_languages).transpose()?,
            available,
        };
        if change == OperatorChange::default() {
            return Err(RosterError::NothingToChange);
        }
        Ok(change)
    }
}

/// Refuses `target` when a dialect the line is configured for cannot dial it.
pub fn dialable(target: &DialTarget, settings: &Settings) -> Result<(), RosterError> {
    let problems = settings.undialable("the target", target);
    if problems.is_empty() { Ok(()) } else { Err(RosterError::Undialable(problems.join("; "))) }
}

impl NewOperator {
    /// The entry, once its target is [`dialable`] on this line.
    pub fn dialable_on(self, settings: &Settings) -> Result<NewOperator, RosterError> {
        dialable(&self.target, settings)?;
        Ok(self)
    }
}

impl OperatorChange {
    /// The change, once its new target (if any) is [`dialable`] on this line.
    pub fn dialable_on(self, settings: &Settings) -> Result<OperatorChange, RosterError> {
        if let Some(target) = &self.target {
            dialable(target, settings)?;
        }
        Ok(self)
    }
}

/// The text a target is stored and shown as.
pub fn target_text(target: &DialTarget) -> &str {
    target.as_str()
}

/// Over HTTP: an unknown id is 404, a duplicate target 409, bad input 400; the database's
/// failures as every database failure is.
impl From<RosterError> for crate::error::Error {
    fn from(error: RosterError) -> crate::error::Error {
        use crate::error::Error;
        match error {
            RosterError::Database(store) => store.into(),
            RosterError::UnknownOperator(_) => Error::Missing(error.to_string()),
            RosterError::DuplicateTarget(_) => Error::Conflict(error.to_string()),
            other => Error::Invalid(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(OperatorName::parse("  Айгерим  ").unwrap().as_str(), "Айгерим");
        assert!(OperatorName::parse(&"ә".repeat(100)).is_ok(), "100 characters, not bytes");
        assert!(matches!(OperatorName::parse(&"ә".repeat(101)), Err(RosterError::BadName(101))));
        assert!(matches!(OperatorName::parse("   "), Err(RosterError::BadName(0))));
        assert!(OperatorName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn every_field_is_checked() {
        assert!(matches!(NewOperator::parse("A", "+7 717", "kk", true), Err(RosterError::BadTarget(_))));
        assert!(matches!(NewOperator::parse("A", "sip:", "kk", true), Err(RosterError::BadTarget(_))));
        assert!(matches!(NewOperator::parse("A", "+77170000001", "en", true), Err(RosterError::UnknownLanguage(_))));
        assert!(NewOperator::parse("A", "sip:op@pbx.example.kz", "both", false).is_ok());
        assert!(matches!(parse_id("0"), Err(RosterError::BadId(_))));
        assert!(matches!(parse_id("x"), Err(RosterError::BadId(_))));
        assert_eq!(parse_id(" 12 ").unwrap(), 12);
    }

    #[test]
    fn an_empty_change_is_refused() {
        assert!(matches!(OperatorChange::parse(None, None, None, None), Err(RosterError::NothingToChange)));
        let change = OperatorChange::parse(None, None, Some("ru"), None).unwrap();
        assert_eq!(change.languages, Some(Languages::Ru));
    }
}
