//! A jambonz webhook's JSON body, read for the few fields the service uses.
//!
//! jambonz sends a dozen fields (`call_sid`, `from`, `to`, `direction`, `sip_status`, …);
//! parsing all of them into a `serde_json::Value` map cost about 7 % of a webhook's CPU.
//! Here the fields the service reads are kept as sent (a string, a whole number, or
//! something else) and every other one is skipped unread. A field of an unexpected type is
//! kept as [`Field::Other`], never refused, so unknown values take the invalid-choice path
//! as before; a body that is not a JSON object is refused. A name sent twice keeps its last
//! value, as a JSON map does.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The fields the service reads.
#[derive(Debug, Default)]
pub struct Fields {
    pub call_sid: Field,
    pub from: Field,
    pub call_status: Field,
    pub reason: Field,
    pub digits: Field,
    pub dial_call_status: Field,
    pub duration: Field,
}

/// One field, as sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum Field {
    #[default]
    Absent,
    Text(String),
    Whole(i64),
    /// Present, of another type (a fraction, `null`, a list, an object...).
    Other,
}

impl Field {
    /// The field if it is a string.
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Text(text) => Some(text),
            _ => None,
        }
    }

    /// A whole number of seconds, sent as a JSON number or a string of digits.
    pub fn seconds(&self) -> Option<i32> {
        match self {
            Field::Whole(n) => i32::try_from(*n).ok(),
            Field::Text(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Name {
    CallSid,
    From,
    CallStatus,
    Reason,
    Digits,
    DialCallStatus,
    Duration,
    #[serde(other)]
    Skipped,
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fields, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields = Fields::default();
        while let Some(name) = map.next_key::<Name>()? {
            let slot = match name {
                Name::CallSid => &mut fields.call_sid,
                Name::From => &mut fields.from,
                Name::CallStatus => &mut fields.call_status,
                Name::Reason => &mut fields.reason,
                Name::Digits => &mut fields.digits,
                Name::DialCallStatus => &mut fields.dial_call_status,
                Name::Duration => &mut fields.duration,
                Name::Skipped => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value()?;
        }
        Ok(fields)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Field, E> {
        Ok(Field::Text(text.to_owned()))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Field, E> {
        Ok(Field::Text(text))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Field, E> {
        Ok(Field::Whole(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Field, E> {
        Ok(i64::try_from(n).map_or(Field::Other, Field::Whole))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Other)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Field::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Fields {
        serde_json::from_str(json).expect("a JSON object")
    }

    #[test]
    fn the_fields_read_keep_their_type_and_the_rest_is_skipped() {
        let fields = parse(
            r#"{"call_sid":"abc","sip_status":100,"from":"+7701","duration":"42","digits":5,
                "reason":null,"payload":{"a":[1,2,{"b":null}]},"dial_call_status":["x"],"call_status":1.5}"#,
        );
        assert_eq!(fields.call_sid.text(), Some("abc"));
        assert_eq!(fields.from, Field::Text("+7701".into()));
        assert_eq!(fields.duration.seconds(), Some(42));
        assert_eq!(
            (fields.digits, fields.reason, fields.dial_call_status),
            (Field::Whole(5), Field::Other, Field::Other)
        );
        assert_eq!(fields.call_status, Field::Other);
        assert_eq!(parse(r#"{"duration":17}"#).duration.seconds(), Some(17));
        assert_eq!(parse(r#"{"duration":99999999999}"#).duration.seconds(), None);
        assert_eq!(parse(r#"{"digits":"1","digits":"2"}"#).digits.text(), Some("2"), "the last value, as a JSON map");
        assert_eq!(parse("{}").call_sid, Field::Absent);
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        for json in ["[]", "\"text\"", "42", "", "{\"call_sid\":", "{} {}"] {
            assert!(serde_json::from_str::<Fields>(json).is_err(), "{json}");
        }
    }
}
