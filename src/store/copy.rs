//! `campaign-bot store copy --to URL`: moves a SQLite store into an empty
//! PostgreSQL database whole — intents with their exactly-once keys and
//! claims, rotation positions, engagement, followers, and what publishers
//! keep (sessions) — so a team that moves loses no history and re-sends
//! nothing.
//!
//! The source is read inside one read transaction (a consistent snapshot,
//! even while a daemon writes to it); the target is written in one
//! transaction, which commits only after the counts are checked: the
//! target either holds the whole store or nothing of it.

use super::sql::{Db, DbError, Pg, Sqlite, Value};
use super::{Backend, Store, StoreError};

/// The tables copied, with their columns, in an order that keeps every
/// reference whole (engagement refers to intents).
const TABLES: &[(&str, &str)] = &[
    (
        "intents",
        "key, slot, slot_at, target, message_id, lang, text, spoiler, state, remote_id, url, error, attempts, created_at, updated_at, published_at, next_check, gone, claim_owner, claim_until, media, check_from, check_by",
    ),
    ("rotation", "target, state_json"),
    ("meta", "key, value"),
    (
        "engagement",
        "id, intent_key, checked_at, likes, reposts, replies, quotes, views, clicks, shares, saves",
    ),
    ("followers", "target, day, checked_at, count"),
];

/// Rows written per statement.
const BATCH: usize = 200;

/// What was copied, table by table (rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
}

impl Copied {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// Copies the SQLite store `from` into the PostgreSQL store `to`, which
/// must hold no posts, positions, engagement or followers yet.
pub fn copy(from: &Store, to: &Store) -> Result<Copied, StoreError> {
    let Backend::Sqlite { conn, .. } = &from.backend else {
        return Err(StoreError::Copy(
            "the source is not a SQLite store; copy from the data folder of a bot without [store]"
                .into(),
        ));
    };
    let Some(pg) = to.postgres() else {
        return Err(StoreError::Copy(
            "the target is not a PostgreSQL store".into(),
        ));
    };
    let held = to.read(|db| {
        let mut held = Vec::new();
        for (table, _) in TABLES {
            // The schema itself writes one fact: that checks are scheduled.
            let sql = match *table {
                "meta" => "SELECT COUNT(*) FROM meta WHERE key != 'checks_scheduled'".to_string(),
                t => format!("SELECT COUNT(*) FROM {t}"),
            };
            let n = db.row(&sql, &[])?.map_or(Ok(0), |r| r.int(0))?;
            if n > 0 {
                held.push(format!("{n} rows in {table}"));
            }
        }
        Ok(held)
    })?;
    if !held.is_empty() {
        return Err(StoreError::Copy(format!(
            "the database at {} already holds a store ({}); copy only into an empty database, so that nothing is overwritten or mixed",
            pg.place(),
            held.join(", ")
        )));
    }

    let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
    // A read transaction: the snapshot stays the same while it is copied.
    let snapshot = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)
        .map_err(|e| from.err(e))?;
    let mut source = Sqlite(&snapshot);
    let mut tables = Vec::new();
    let mut data = Vec::new();
    for (table, columns) in TABLES {
        let rows = source
            .rows(&format!("SELECT {columns} FROM {table}"), &[])
            .map_err(|e| from.db_err(e))?;
        tables.push((*table, rows.len() as u64));
        data.push(rows);
    }
    drop(snapshot);

    pg.with_client(|c| {
        let mut tx = c.transaction()?;
        for ((table, columns), rows) in TABLES.iter().zip(&data) {
            let width = columns.split(", ").count();
            let conflict = match *table {
                "meta" => " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                _ => "",
            };
            for chunk in rows.chunks(BATCH) {
                let values = (0..chunk.len())
                    .map(|r| {
                        let cells = (1..=width)
                            .map(|c| format!("?{}", r * width + c))
                            .collect::<Vec<_>>()
                            .join(", ");
                        format!("({cells})")
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let args: Vec<Value> = chunk.iter().flat_map(|r| r.0.iter().cloned()).collect();
                Pg(&mut tx).exec(
                    &format!("INSERT INTO {table} ({columns}) VALUES {values}{conflict}"),
                    &args,
                )?;
            }
        }
        // New checks get ids after the copied ones.
        tx.batch_execute(
            "SELECT setval(pg_get_serial_sequence('engagement', 'id'), COALESCE((SELECT MAX(id) FROM engagement), 0) + 1, false)",
        )?;
        for (table, n) in &tables {
            let sql = match *table {
                "meta" => "SELECT COUNT(*) FROM meta WHERE key != 'checks_scheduled'".to_string(),
                t => format!("SELECT COUNT(*) FROM {t}"),
            };
            let mut copied = Pg(&mut tx).row(&sql, &[])?.map_or(Ok(0), |r| r.int(0))? as u64;
            if *table == "meta" {
                // The source may have the fact the schema wrote.
                copied += data[2]
                    .iter()
                    .filter(|r| r.0.first() == Some(&Value::Text("checks_scheduled".into())))
                    .count() as u64;
            }
            if copied != *n {
                return Err(DbError::Type {
                    column: 0,
                    detail: format!("{table}: {n} rows read but {copied} written; nothing was kept"),
                });
            }
        }
        tx.commit()?;
        Ok(())
    })
    .map_err(|e| to.db_err(e))?;
    Ok(Copied { tables })
}
