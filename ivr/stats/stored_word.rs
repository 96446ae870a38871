//! Values of a closed set that the records keep as words: how a call ended (`Ended`) and
//! the rule that chose who was rung (`Rung`). Each is written as its type's own word (`as_str`), the one place that word is spelt, so
//! the records' JSON, the spool and the database hold the text they always held; a word
//! read back that is none of the set's is an error, like any other record that cannot be
//! read.
//!
//! Used as `#[serde(with = "stored_word")]` on a record's field.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use crate::call_edge::CallEnd;
use crate::operators::Route;

/// A closed set of values, each stored as its own word.
pub trait StoredWord: Copy + 'static {
    /// Every value of the set.
    const ALL: &'static [Self];
    /// The value's word.
    fn word(self) -> &'static str;
}

impl StoredWord for CallEnd {
    const ALL: &'static [CallEnd] = &CallEnd::ALL;
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl StoredWord for Route {
    const ALL: &'static [Route] = &Route::ALL;
    fn word(self) -> &'static str {
        self.as_str()
    }
}

/// Writes `value` as its word.
pub fn serialize<T: StoredWord, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.word())
}

/// Reads a word back as the value it is the word of.
pub fn deserialize<'de, T: StoredWord, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    let word = String::deserialize(deserializer)?;
    T::ALL
        .iter()
        .copied()
        .find(|value| value.word() == word)
        .ok_or_else(|| D::Error::custom(format!("unknown word `{word}`")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::CallEvent;

    #[test]
    fn an_end_is_kept_as_its_word_and_read_back() {
        for end in CallEnd::ALL {
            let json = serde_json::to_string(&CallEvent::Ended { status: end }).expect("written");
            assert_eq!(json, format!(r#"{{"e":"ended","status":"{}"}}"#, end.as_str()));
            assert_eq!(serde_json::from_str::<CallEvent>(&json).expect("read"), CallEvent::Ended { status: end });
        }
    }

    #[test]
    fn a_route_is_kept_as_its_word_and_read_back() {
        for route in Route::ALL {
            let rung = CallEvent::Rung { operators: 2, route };
            let json = serde_json::to_string(&rung).expect("written");
            assert_eq!(json, format!(r#"{{"e":"rung","operators":2,"route":"{}"}}"#, route.as_str()));
            assert_eq!(serde_json::from_str::<CallEvent>(&json).expect("read"), rung);
        }
        assert!(serde_json::from_str::<CallEvent>(r#"{"e":"rung","operators":1,"route":"anyone"}"#).is_err());
    }

    #[test]
    fn a_word_of_no_end_is_not_read_as_one() {
        for json in [r#"{"e":"ended","status":"ringing"}"#, r#"{"e":"ended","status":"Completed"}"#] {
            assert!(serde_json::from_str::<CallEvent>(json).is_err(), "{json}");
        }
    }
}
