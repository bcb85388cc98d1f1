//! `campaign-bot backup FILE`: a consistent copy of the state store, taken
//! while the daemon runs, with SQLite's online backup API.
//!
//! The copy is made in one step, inside one read transaction of the source:
//! it is the store as it was at one instant, whatever the daemon writes
//! meanwhile (in WAL mode readers and the writer do not wait for each
//! other). It is written beside FILE and renamed into place once complete
//! and checked, so FILE is either absent or a whole store.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, StoreError};

/// What a backup holds, for the person who took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Posts the store knows of (intents, in any state).
    pub intents: u64,
    /// Targets with a rotation position.
    pub rotations: u64,
    /// Engagement checks kept.
    pub engagement: u64,
    /// The copy's size in bytes.
    pub bytes: u64,
}

/// Copies the store at `db` into the new file `to` (which must not exist).
pub fn backup(db: &Path, to: &Path) -> Result<Copied, StoreError> {
    let partial = partial_path(to);
    // A partial copy left by a backup that was killed is replaced.
    let _ = std::fs::remove_file(&partial);
    let copied = copy_into(db, &partial).and_then(|copied| {
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&partial))?;
        put_in_place(&partial, to)?;
        Ok(copied)
    });
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied
}

/// Makes the copy in `partial`, checks it and counts what it holds.
fn copy_into(db: &Path, partial: &Path) -> Result<Copied, StoreError> {
    let sql = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Sqlite { path, source }
    };
    let source = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(db))?;
    source.busy_timeout(BUSY_TIMEOUT).map_err(sql(db))?;
    super::make_private(partial).map_err(io(partial))?;
    let mut copy = Connection::open(partial).map_err(sql(partial))?;
    {
        let backup = rusqlite::backup::Backup::new(&source, &mut copy).map_err(sql(partial))?;
        // All pages in one step: one read transaction, one instant.
        backup.step(-1).map_err(sql(partial))?;
    }
    // A copy of a WAL store is in WAL mode too; a backup file is one file,
    // whole, so it goes back to a rollback journal.
    copy.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql(partial))?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sql(partial))?;
    if check != "ok" {
        return Err(StoreError::Backup {
            path: partial.to_path_buf(),
            why: format!(
                "the copy does not pass SQLite's integrity check ({check}); the store itself may be damaged: run `sqlite3 {} 'PRAGMA integrity_check'`",
                db.display()
            ),
        });
    }
    let count = |table: &str| -> Result<u64, StoreError> {
        let n: i64 = copy
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sql(partial))?;
        Ok(u64::try_from(n).unwrap_or_default())
    };
    let (intents, rotations, engagement) =
        (count("intents")?, count("rotation")?, count("engagement")?);
    drop(copy);
    Ok(Copied {
        intents,
        rotations,
        engagement,
        bytes: std::fs::metadata(partial).map_err(io(partial))?.len(),
    })
}

/// Moves the complete copy to `to`, never over a file that appeared
/// meanwhile: a hard link fails if `to` exists, where a rename would
/// replace it. Where the file system has no hard links, a rename after one
/// more look.
fn put_in_place(partial: &Path, to: &Path) -> Result<(), StoreError> {
    match std::fs::hard_link(partial, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(partial);
            Ok(())
        }
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists && !to.exists() => {
            std::fs::rename(partial, to).map_err(io(to))
        }
        Err(e) => Err(io(to)(e)),
    }
}

/// An I/O error of the backup, with the file it concerns.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |e| StoreError::Backup {
        path,
        why: e.to_string(),
    }
}

/// Where the copy is made before it is complete: beside `to`.
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}
