//! Small facts kept by key: the schedule cursor, pauses, cached limits,
//! what publishers keep (see [`super::Kept`]).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, keys};

impl Store {
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
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
