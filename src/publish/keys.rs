//! A target's keys, read: the errors that name a key (`targets.NAME.KEY`),
//! a network's keys derived from its raw settings type, and the checks
//! every network's keys share (addresses, secrets, dates).

use std::path::PathBuf;

use serde::de::DeserializeOwned;

use crate::secret::SecretSource;

/// A bad value of a target's key (`targets.NAME.KEY`), or a missing one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`: {message}")]
pub struct KeyError {
    pub key: String,
    pub message: String,
}

/// A [`KeyError`] about `key`.
pub fn key_error(key: impl Into<String>, message: impl Into<String>) -> KeyError {
    KeyError {
        key: key.into(),
        message: message.into(),
    }
}

/// Reads a network's raw settings type from a target's keys, naming the key
/// of a bad value (`targets.NAME.KEY`) from where the reading failed.
pub fn parse_keys<T: DeserializeOwned>(target: &str, keys: toml::Table) -> Result<T, KeyError> {
    serde_path_to_error::deserialize(toml::Value::Table(keys)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!(".{path}")
        };
        KeyError {
            key: format!("targets.{target}{field}"),
            message: e.inner().to_string().trim().to_string(),
        }
    })
}

/// Takes the keys of `T` (its fields) out of a target's table and reads
/// them; the rest of the table is left for the network's own keys.
pub fn take_keys<T: DeserializeOwned>(target: &str, keys: &mut toml::Table) -> Result<T, KeyError> {
    let mut mine = toml::Table::new();
    for k in fields::<T>() {
        if let Some(v) = keys.remove(*k) {
            mine.insert(k.to_string(), v);
        }
    }
    parse_keys(target, mine)
}

/// The field names of a serde struct type: a network's keys, derived from
/// its raw settings type rather than listed again by hand.
pub fn fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Names(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fields read")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> de::Deserializer<'de> for &mut Names {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(None);
    let _ = T::deserialize(&mut names);
    names.0.unwrap_or(&[])
}

/// A URL key's value, checked.
pub fn check_url(key: &str, url: &str) -> Result<(), KeyError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(key_error(key, format!("{url:?} is not an http(s) URL")))
    }
}

/// A secret named by `WHAT_env` or `WHAT_file` (exactly one of them) of
/// target `target`.
pub fn secret_source(
    target: &str,
    what: &str,
    env: Option<String>,
    file: Option<PathBuf>,
) -> Result<SecretSource, KeyError> {
    let key = format!("targets.{target}.{what}_env");
    match (env, file) {
        (Some(_), Some(_)) => Err(key_error(
            key,
            format!("give either {what}_env or {what}_file, not both"),
        )),
        (Some(e), None) => Ok(SecretSource::Env(e)),
        (None, Some(f)) => Ok(SecretSource::File(f)),
        (None, None) => Err(key_error(
            key,
            format!(
                "missing: name the environment variable ({what}_env) or secret file ({what}_file) that holds it"
            ),
        )),
    }
}

/// A numeric id key (a Page's, an account's), written as a number or as
/// digits in quotes: its digits, or `what` as the error, naming the key.
pub fn numeric_id(key: String, value: Option<toml::Value>, what: &str) -> Result<String, KeyError> {
    match value {
        Some(toml::Value::Integer(n)) if n > 0 => Ok(n.to_string()),
        Some(toml::Value::String(s))
            if !s.trim().is_empty() && s.trim().chars().all(|c| c.is_ascii_digit()) =>
        {
            Ok(s.trim().to_string())
        }
        _ => Err(key_error(key, what)),
    }
}

/// Reads `token_expires` (a TOML date, `2027-01-31`, or the same in
/// quotes) of a target.
pub fn expiry_date(
    target: &str,
    value: Option<toml::Value>,
) -> Result<Option<chrono::NaiveDate>, KeyError> {
    let text = match value {
        None => return Ok(None),
        Some(toml::Value::Datetime(d)) => d.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(_) => String::new(),
    };
    text.trim()
        .parse::<chrono::NaiveDate>()
        .map(Some)
        .map_err(|_| KeyError {
            key: format!("targets.{target}.token_expires"),
            message: format!(
                "{text:?} is not a date; write the day the token stops working as 2027-01-31"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_id_is_a_number_or_digits_in_quotes() {
        let id = |v: toml::Value| numeric_id("targets.t.page".into(), Some(v), "an id");
        assert_eq!(id(toml::Value::Integer(175)).unwrap(), "175");
        assert_eq!(id(toml::Value::String(" 175 ".into())).unwrap(), "175");
        for bad in [
            toml::Value::Integer(0),
            toml::Value::String("".into()),
            toml::Value::String("my-page".into()),
            toml::Value::Boolean(true),
        ] {
            let e = id(bad).unwrap_err();
            assert_eq!(
                (e.key.as_str(), e.message.as_str()),
                ("targets.t.page", "an id")
            );
        }
        assert!(numeric_id("k".into(), None, "an id").is_err());
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Raw {
        api_url: Option<String>,
        token_env: Option<String>,
        count: Option<u32>,
    }

    #[test]
    fn keys_are_derived_from_the_settings_type() {
        assert_eq!(fields::<Raw>(), &["api_url", "token_env", "count"]);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let mut keys = toml::Table::new();
        keys.insert("count".into(), toml::Value::String("three".into()));
        let Err(e) = parse_keys::<Raw>("t", keys) else {
            panic!()
        };
        assert_eq!(e.key, "targets.t.count");
        assert!(e.message.contains("expected u32"), "{}", e.message);
    }
}
