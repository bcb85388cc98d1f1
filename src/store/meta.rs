//! Small facts kept by key: the schedule cursor, pauses, cached limits,
//! what publishers keep (see [`super::Kept`]).

use super::sql::args;
use super::{Store, StoreError, keys};
use chrono::{DateTime, Utc};

impl Store {
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|db| {
            db.row("SELECT value FROM meta WHERE key = ?1", args![key])?
                .map(|r| r.text(0))
                .transpose()
        })
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                args![key, value],
            )
        })?;
        Ok(())
    }

    /// The instant up to which scheduled slots have been handled.
    pub fn cursor(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .meta(keys::SCHEDULE_CURSOR)?
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    pub fn set_cursor(&self, t: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta(keys::SCHEDULE_CURSOR, &t.to_rfc3339())
    }
}
