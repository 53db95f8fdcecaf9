//! Lenient reading of FAPI's JSON: numbers or numeric strings, 0/1 or booleans, missing keys.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::platform::time::parse_prague_local;

/// A field FAPI sent in a shape we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: field `{field}` {problem}")]
pub struct DecodeError {
    pub object: &'static str,
    pub field: String,
    pub problem: String,
}

/// A JSON object with the name of what it represents, for error messages.
pub struct Fields<'a> {
    pub object: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'static str, value: &'a Value) -> Result<Fields<'a>, DecodeError> {
        match value.as_object() {
            Some(map) => Ok(Fields { object, map }),
            None => Err(DecodeError {
                object,
                field: "(whole)".into(),
                problem: "is not a JSON object".into(),
            }),
        }
    }

    fn error(&self, field: &str, problem: impl Into<String>) -> DecodeError {
        DecodeError {
            object: self.object,
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The value, treating JSON null and an absent key alike.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub fn required_id(&self, field: &str) -> Result<i64, DecodeError> {
        self.opt_id(field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    /// An id: a number or a numeric string.
    pub fn opt_id(&self, field: &str) -> Result<Option<i64>, DecodeError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.error(field, format!("is not a whole number: {n}"))),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.error(field, format!("is not a whole number: {s:?}"))),
            Some(other) => Err(self.error(field, format!("is not an id: {other}"))),
        }
    }

    /// Text; numbers are accepted and written out (document numbers are sometimes numeric).
    pub fn opt_string(&self, field: &str) -> Option<String> {
        match self.get(field)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.trim().is_empty())
    }

    /// A flag: true/false, 1/0, "1"/"0", "true"/"false"; absent means false.
    pub fn flag(&self, field: &str) -> Result<bool, DecodeError> {
        match self.get(field) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|v| v != 0.0)),
            Some(Value::String(s)) => match s.trim() {
                "1" | "true" => Ok(true),
                "0" | "false" | "" => Ok(false),
                other => Err(self.error(field, format!("is not a yes/no value: {other:?}"))),
            },
            Some(other) => Err(self.error(field, format!("is not a yes/no value: {other}"))),
        }
    }

    /// A number (or numeric string) as an exact decimal.
    pub fn opt_decimal(&self, field: &str) -> Result<Option<Decimal>, DecodeError> {
        let text = match self.get(field) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().replace(',', "."),
            Some(other) => return Err(self.error(field, format!("is not a number: {other}"))),
        };
        Decimal::from_str_exact(&text)
            .or_else(|_| {
                text.parse::<f64>()
                    .map_err(|_| ())
                    .and_then(|f| Decimal::try_from(f).map_err(|_| ()))
            })
            .map(|d| Some(d.normalize()))
            .map_err(|_| self.error(field, format!("is not a number: {text:?}")))
    }

    /// A Prague local time (`YYYY-MM-DD HH:MM:SS`, or a date) as UTC.
    pub fn opt_prague_time(&self, field: &str) -> Result<Option<DateTime<Utc>>, DecodeError> {
        match self.opt_string(field) {
            None => Ok(None),
            Some(text) => parse_prague_local(&text)
                .map(Some)
                .ok_or_else(|| self.error(field, format!("is not a date and time: {text:?}"))),
        }
    }

    pub fn object(&self, field: &str) -> Option<Fields<'a>> {
        self.get(field).and_then(|value| {
            value.as_object().map(|map| Fields {
                object: self.object,
                map,
            })
        })
    }

    pub fn array(&self, field: &str) -> Result<&'a [Value], DecodeError> {
        match self.get(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.error(field, format!("is not a list: {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_numbers_accept_strings() {
        let value =
            json!({"a": 5, "b": "3023569", "c": "", "d": "1.00000000000000000000", "e": 223.71});
        let fields = Fields::new("invoice", &value).unwrap();
        assert_eq!(fields.opt_id("a").unwrap(), Some(5));
        assert_eq!(fields.opt_id("b").unwrap(), Some(3023569));
        assert_eq!(fields.opt_id("c").unwrap(), None);
        assert_eq!(fields.opt_id("missing").unwrap(), None);
        assert_eq!(fields.opt_decimal("d").unwrap(), Some(Decimal::ONE));
        assert_eq!(
            fields.opt_decimal("e").unwrap(),
            Some(Decimal::new(22371, 2))
        );
    }

    #[test]
    fn a_missing_required_id_names_the_field() {
        let value = json!({"number": "2020"});
        let error = Fields::new("invoice", &value)
            .unwrap()
            .required_id("id")
            .unwrap_err();
        assert_eq!(error.to_string(), "invoice: field `id` is missing");
    }

    #[test]
    fn flags_accept_booleans_numbers_and_strings() {
        let value = json!({"a": true, "b": 0, "c": "1", "d": "false"});
        let fields = Fields::new("invoice", &value).unwrap();
        assert!(fields.flag("a").unwrap());
        assert!(!fields.flag("b").unwrap());
        assert!(fields.flag("c").unwrap());
        assert!(!fields.flag("d").unwrap());
        assert!(!fields.flag("absent").unwrap());
    }
}
