//! The state store: `data/state.db`, SQLite in WAL mode with versioned
//! migrations. It holds, per (slot, target), the intent to post (committed
//! before anything is sent) and its outcome, the rotation position of each
//! target, and small key/value facts (the schedule cursor).
//!
//! Several processes may open one store (a daemon and a `post-now` beside
//! it): writers wait for each other (`busy_timeout`) rather than fail, every
//! transaction that writes takes the write lock when it begins (`BEGIN
//! IMMEDIATE`, so a reader never has to upgrade, which SQLite refuses at once
//! instead of waiting), and migrations run in one exclusive transaction that
//! a second opener waits for. Who sends a pending intent is decided by a
//! lease on it (see [`crate::lease`]).
//!
//! The files are the bot's alone: the folder is created 0700 and
//! `state.db` (which holds session tokens) 0600; SQLite gives its `-wal`
//! and `-shm` files the database's mode.
//!
//! The connection sits behind a `std::sync::Mutex` because every call is
//! short and never held across an `.await`.
//!
//! With `[store] url_env`/`url_file` the store is a PostgreSQL database
//! instead ([`postgres`]), shared by several `run` replicas of which one is
//! active ([`election`]). Each statement is written once ([`sql`]) and runs
//! on either backend; what differs (schema, locking, the fence on the
//! active replica's writes) lives in each backend.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, TransactionBehavior};

use crate::lease::LEASE;
use crate::rotation::RotationState;

pub mod backup;
pub mod copy;
pub mod election;
mod engagement;
mod intents;
mod meta;
mod pg_connect;
pub mod postgres;
pub(crate) mod sql;

pub use engagement::CheckWindow;
pub use intents::{Begin, Claim, Intent, IntentState, Planned};
use sql::{Db, DbError, Sqlite, args};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state store {path}: {source}{}", hint(source))]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// A statement failed on the store at `place` (a file, or a database
    /// server named without its credentials).
    #[error("state store {place}: {source}{}", db_hint(source))]
    Db { place: String, source: DbError },
    #[error(
        "state store {place} was written by a newer campaign-bot (schema {found}, this one knows {known}); upgrade the bot"
    )]
    TooNew {
        place: String,
        found: i64,
        known: i64,
    },
    #[error("state store: corrupt value in {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("backup {path}: {why}")]
    Backup { path: PathBuf, why: String },
    #[error("store copy: {0}")]
    Copy(String),
    /// The election of the active replica could not run.
    #[error("replica: {0}")]
    Replica(String),
    /// `[store]`'s URL cannot be read or used (never printed itself).
    #[error("[store] url: {0}")]
    Url(String),
}

impl StoreError {
    /// This replica lost its place as the active one: what it was writing
    /// was refused, and it must stop.
    pub fn is_not_active(&self) -> bool {
        matches!(
            self,
            StoreError::Db {
                source: DbError::NotActive,
                ..
            }
        )
    }
}

/// Another process holds the lock SQLite wanted.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn db_hint(e: &DbError) -> &'static str {
    match e {
        DbError::Sqlite(e) => hint(e),
        DbError::Postgres(e) if e.is_closed() || e.as_db_error().is_none() => {
            " (cannot reach the database server: is it running, and is [store] url right? nothing was written)"
        }
        _ => "",
    }
}

/// What to do about the storage errors a person can fix.
fn hint(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code() {
        Some(DiskFull) => " (the disk is full: free some space; what was saved before is intact)",
        Some(SystemIoFailure) => {
            " (the data folder could not be written: is the disk full or failing? what was saved before is intact)"
        }
        Some(ReadOnly) | Some(CannotOpen) | Some(PermissionDenied) => {
            " (the data folder is not writable: give the bot's user write access to it)"
        }
        Some(DatabaseBusy) | Some(DatabaseLocked) => {
            " (another process holds the database: wait, or stop the other campaign-bot)"
        }
        Some(NotADatabase) | Some(DatabaseCorrupt) => {
            " (this is not a campaign-bot database, or it is damaged: restore data/ from a backup)"
        }
        _ => "",
    }
}

/// The schema, one migration per version. Append, never edit: a database at
/// version N runs the migrations after N at the next start.
const MIGRATIONS: &[&str] = &[
    // 1: intents, rotation, meta
    "CREATE TABLE intents (
        key         TEXT PRIMARY KEY,
        slot        TEXT NOT NULL,
        slot_at     TEXT NOT NULL,
        target      TEXT NOT NULL,
        message_id  TEXT,
        lang        TEXT,
        text        TEXT,
        spoiler     TEXT,
        state       TEXT NOT NULL,
        remote_id   TEXT,
        url         TEXT,
        error       TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        UNIQUE (slot, target)
    );
    CREATE INDEX intents_state ON intents (state);
    CREATE INDEX intents_target_slot ON intents (target, slot_at);
    CREATE TABLE rotation (
        target      TEXT PRIMARY KEY,
        state_json  TEXT NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 2: engagement snapshots, and where each published post stands in its
    // checkpoints
    "ALTER TABLE intents ADD COLUMN published_at TEXT;
    ALTER TABLE intents ADD COLUMN next_check INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE intents ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;
    UPDATE intents SET published_at = updated_at WHERE state = 'published';
    CREATE TABLE engagement (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        intent_key  TEXT NOT NULL REFERENCES intents (key),
        checked_at  TEXT NOT NULL,
        likes       INTEGER NOT NULL,
        reposts     INTEGER NOT NULL,
        replies     INTEGER NOT NULL,
        quotes      INTEGER
    );
    CREATE INDEX engagement_post ON engagement (intent_key, checked_at);",
    // 3: who is sending a pending intent (a lease, see `lease`), and where a
    // network's post id is recorded (to tell which intent a post belongs to)
    "ALTER TABLE intents ADD COLUMN claim_owner TEXT;
    ALTER TABLE intents ADD COLUMN claim_until TEXT;
    CREATE INDEX intents_remote ON intents (target, remote_id);",
    // 4: the images a post carries, recorded with it (JSON: path, alt)
    "ALTER TABLE intents ADD COLUMN media TEXT;",
    // 5: when each post's next engagement check may be made, and by when
    // (Unix seconds; NULL: none to make), so that what is due and when the
    // next check comes are read from an index, not from every post ever
    // published; and indexes for what is read at every slot or `status`
    // (the posts still open, the latest posts and errors)
    "ALTER TABLE intents ADD COLUMN check_from INTEGER;
    ALTER TABLE intents ADD COLUMN check_by INTEGER;
    CREATE INDEX intents_check_from ON intents (check_from) WHERE check_from IS NOT NULL;
    CREATE INDEX intents_check_by ON intents (target, check_by) WHERE check_by IS NOT NULL;
    CREATE INDEX intents_slot_at ON intents (slot_at);
    CREATE INDEX intents_errors ON intents (updated_at)
        WHERE error IS NOT NULL AND state != 'skipped';
    INSERT INTO meta (key, value) SELECT 'checks_scheduled', '1'
        WHERE NOT EXISTS (SELECT 1 FROM intents WHERE state = 'published');",
    // 6: each target's follower count, once a local day
    "CREATE TABLE followers (
        target      TEXT NOT NULL,
        day         TEXT NOT NULL,
        checked_at  TEXT NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (target, day)
    );",
    // 7: impressions or views, where a network counts them (NULL: not told)
    "ALTER TABLE engagement ADD COLUMN views INTEGER;",
    // 8: clicks (LinkedIn) and shares out of the network (Threads), where
    // told (NULL: not told)
    "ALTER TABLE engagement ADD COLUMN clicks INTEGER;
    ALTER TABLE engagement ADD COLUMN shares INTEGER;",
    // 9: saves (Instagram), where told (NULL: not told)
    "ALTER TABLE engagement ADD COLUMN saves INTEGER;",
];

/// The store's files are the bot's alone (they hold session tokens): a new
/// one is created 0600 before SQLite opens it (SQLite gives its `-wal` and
/// `-shm` files the same mode); an existing one readable by others, from an
/// older version, is made private where the bot may change it.
fn make_private(db: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !db.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(db)
            .map(|_| ())
            .or_else(|e| match e.kind() {
                // Another process created it meanwhile.
                std::io::ErrorKind::AlreadyExists => Ok(()),
                _ => Err(e),
            })?;
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(())
}

/// How long a writer waits for another process's write to finish.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The names of the small facts kept in the `meta` table, in one place.
pub mod keys {
    /// The instant up to which scheduled slots have been handled.
    pub const SCHEDULE_CURSOR: &str = "schedule_cursor";
    /// Set once the posts of an older store have their check windows.
    pub const CHECKS_SCHEDULED: &str = "checks_scheduled";
    /// Why `target` is paused (an authentication failure); empty when not.
    pub fn paused(target: &str) -> String {
        format!("paused:{target}")
    }
    /// The limits `target`'s server announced last.
    pub fn limits(target: &str) -> String {
        format!("limits:{target}")
    }
}

/// What a publisher may keep in the state store between runs (a session, a
/// container's id), and nothing else of the store: small text values under
/// keys the network chooses, each starting with what it keeps
/// (`session:`, `threads_container:`).
#[derive(Clone)]
pub struct Kept {
    store: Arc<Store>,
}

impl Kept {
    pub fn new(store: Arc<Store>) -> Kept {
        Kept { store }
    }
    pub fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.store.meta(key)
    }
    pub fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.store.set_meta(key, value)
    }
}

/// The store's file name under the data folder.
pub const FILE_NAME: &str = "state.db";

pub struct Store {
    backend: Backend,
    /// SQLite virtual-machine steps run so far (see [`Store::work_done`]).
    work: Arc<AtomicU64>,
}

enum Backend {
    Sqlite {
        path: PathBuf,
        conn: Mutex<Connection>,
    },
    /// Boxed: its client and configuration are large beside SQLite's
    /// connection, and a store is made once.
    Postgres(Box<postgres::PgStore>),
}

impl Store {
    /// Opens (creating if needed) `data_dir/state.db` and migrates it.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        crate::private::create_dir(data_dir).map_err(|source| StoreError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(FILE_NAME);
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        make_private(&path).map_err(|source| StoreError::CreateDir {
            path: path.clone(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let store = Store {
            backend: Backend::Sqlite {
                path: path.clone(),
                conn: Mutex::new(conn),
            },
            work: Arc::new(AtomicU64::new(0)),
        };
        // Turning a new database to WAL does not wait for another process
        // doing the same (SQLite answers "locked" at once): try again.
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(10);
        loop {
            match store.set_up() {
                Err(StoreError::Sqlite { source, .. })
                    if is_busy(&source) && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(500));
                }
                other => return other.map(|_| store),
            }
        }
    }

    /// Opens the PostgreSQL store at `url` (connecting, and migrating it
    /// if no other replica has).
    pub fn open_postgres(url: &crate::secret::Secret) -> Result<Store, StoreError> {
        Ok(Store {
            backend: Backend::Postgres(Box::new(postgres::PgStore::open(url)?)),
            work: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The connection's settings, then the schema.
    fn set_up(&self) -> Result<(), StoreError> {
        {
            let conn = self.conn();
            // WAL: readers (`status`) never block the daemon. FULL: a
            // committed intent survives a power cut, which exactly-once
            // depends on.
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| self.err(e))?;
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(|e| self.err(e))?;
            conn.pragma_update(None, "foreign_keys", "ON")
                .map_err(|e| self.err(e))?;
        }
        self.migrate()
    }

    /// The SQLite file, for a store in a data folder; `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite { path, .. } => Some(path),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL backend, when the store is one.
    pub fn postgres(&self) -> Option<&postgres::PgStore> {
        match &self.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Where the store is, for people: its file, or its database server
    /// (never with credentials).
    pub fn place(&self) -> String {
        match &self.backend {
            Backend::Sqlite { path, .. } => path.display().to_string(),
            Backend::Postgres(pg) => pg.place().to_string(),
        }
    }

    /// Whether this process may send a post now: always, but on a replica
    /// of `run` whose term as the active one has ended (see [`election`]).
    pub fn may_send(&self) -> bool {
        self.postgres().is_none_or(postgres::PgStore::may_send)
    }

    /// Starts counting the work SQLite does for this store (see
    /// [`Store::work_done`]). Off by default: counting costs a callback on
    /// every statement, which only a measurement needs.
    pub fn count_work(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        // Statements prepared before would count their earlier runs too.
        conn.flush_prepared_statement_cache();
        count_work(&mut conn, self.work.clone()).map_err(|e| self.err(e))
    }

    /// The work SQLite has done for this store since [`Store::count_work`],
    /// in virtual-machine steps (every row read, compared or written takes
    /// some): what a query costs, independent of the machine's speed. Tests
    /// use it to show that a slot costs the same whatever the history.
    pub fn work_done(&self) -> u64 {
        self.work.load(Ordering::Relaxed)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.sqlite_path().unwrap_or(Path::new("")).to_path_buf(),
            source,
        }
    }

    /// A statement's failure, with where the store is.
    fn db_err(&self, e: DbError) -> StoreError {
        match e {
            DbError::Corrupt { what, detail } => StoreError::Corrupt { what, detail },
            source => StoreError::Db {
                place: self.place(),
                source,
            },
        }
    }

    /// The SQLite connection (only SQLite's own settings and tests use it).
    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.backend {
            // A panic while holding the lock leaves SQLite consistent (each
            // call is one transaction), so a poisoned lock is safe to reuse.
            Backend::Sqlite { conn, .. } => conn.lock().unwrap_or_else(|p| p.into_inner()),
            Backend::Postgres(_) => unreachable!("a SQLite-only call on a PostgreSQL store"),
        }
    }

    /// Runs `f` outside any transaction (reads, and single statements that
    /// need no fence).
    fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, DbError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { .. } => f(&mut Sqlite(&self.conn())),
            Backend::Postgres(pg) => pg.read(f),
        }
        .map_err(|e| self.db_err(e))
    }

    /// Runs `f` in one write transaction: SQLite's, which holds the write
    /// lock from its start; or PostgreSQL's, which takes the store's
    /// writer lock first and, on an active replica, checks that it still
    /// is the active one (see [`election`]). Committed if `f` succeeds.
    fn write<T: Send>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, DbError> + Send,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite { .. } => {
                let mut conn = self.conn();
                (|| {
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let out = f(&mut Sqlite(&tx))?;
                    tx.commit()?;
                    Ok(out)
                })()
            }
            Backend::Postgres(pg) => pg.write(f),
        }
        .map_err(|e| self.db_err(e))
    }

    /// Brings the schema up to date in one exclusive transaction: a second
    /// process opening the store at the same time waits, then finds it done.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let known = MIGRATIONS.len() as i64;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version == known {
            return Ok(());
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(|e| self.err(e))?;
        // Read again under the lock: another process may have migrated.
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > known {
            return Err(StoreError::TooNew {
                place: self.place(),
                found: version,
                known,
            });
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
        }
        tx.pragma_update(None, "user_version", known)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        if version < known {
            tracing::info!(from = version, to = known, "state store migrated");
        }
        Ok(())
    }

    /// The schema version (for `status`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite { .. } => self
                .conn()
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(|e| self.err(e)),
            Backend::Postgres(pg) => pg.schema_version(),
        }
    }

    // ------------------------------------------------------------ rotation

    pub fn rotation(&self, target: &str) -> Result<RotationState, StoreError> {
        self.read(|db| get_rotation(db, target))
    }

    /// Where each of `config`'s targets stands in its rotation, by name.
    pub fn rotations<'a>(
        &self,
        targets: impl IntoIterator<Item = &'a str>,
    ) -> Result<std::collections::BTreeMap<String, RotationState>, StoreError> {
        targets
            .into_iter()
            .map(|t| Ok((t.to_string(), self.rotation(t)?)))
            .collect()
    }
}

/// A claim's lease as a chrono duration.
pub(super) fn lease() -> chrono::Duration {
    chrono::Duration::from_std(LEASE).expect("a short lease")
}

pub(super) fn get_rotation(db: &mut dyn Db, target: &str) -> Result<RotationState, DbError> {
    let row = db.row(
        "SELECT state_json FROM rotation WHERE target = ?1",
        args![target],
    )?;
    match row {
        None => Ok(RotationState::default()),
        Some(r) => serde_json::from_str(&r.text(0)?).map_err(|e| DbError::Corrupt {
            what: format!("rotation of {target}"),
            detail: e.to_string(),
        }),
    }
}

pub(super) fn put_rotation(
    db: &mut dyn Db,
    target: &str,
    state: &RotationState,
) -> Result<(), DbError> {
    let json = serde_json::to_string(state).expect("rotation state serialises");
    db.exec(
        "INSERT INTO rotation (target, state_json) VALUES (?1, ?2)
         ON CONFLICT (target) DO UPDATE SET state_json = excluded.state_json",
        args![target, json],
    )?;
    Ok(())
}

/// Adds the virtual-machine steps of every statement `conn` finishes to
/// `work`. A statement's counter runs on across its runs (a cached one is
/// run many times): after the first run, only the steps since its last
/// run are added.
fn count_work(conn: &mut Connection, work: Arc<AtomicU64>) -> rusqlite::Result<()> {
    use rusqlite::StatementStatus::{Run, VmStep};
    use rusqlite::trace::{TraceEvent, TraceEventCodes};
    let mut last: HashMap<String, i64> = HashMap::new();
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_PROFILE,
        Some(move |event: TraceEvent<'_>| {
            if let TraceEvent::Profile(stmt, _) = event {
                let steps = i64::from(stmt.get_status(VmStep));
                let sql = stmt.sql().into_owned();
                let before = if stmt.get_status(Run) > 1 {
                    last.get(&sql).copied().unwrap_or(0)
                } else {
                    0
                };
                work.fetch_add((steps - before).max(0) as u64, Ordering::Relaxed);
                if last.len() > 1000 {
                    last.clear();
                }
                last.insert(sql, steps);
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::intents::INTENT_COLUMNS;
    use super::*;
    use crate::lease::Owner;
    use crate::model::{Counts, Lang, Post, Published, Slot};
    use chrono::{DateTime, TimeZone, Utc};

    fn plan(slot: &Slot, target: &str) -> Planned {
        Planned {
            slot: slot.clone(),
            target: target.into(),
            post: Post {
                message_id: "m".into(),
                lang: Lang::new("fr").unwrap(),
                text: "Bonjour #WeTogether".into(),
                spoiler: None,
                media: vec![],
            },
        }
    }

    /// Runs `test` on a new store of each backend: SQLite always, and
    /// PostgreSQL when `CAMPAIGN_BOT_TEST_PG_URL` names a server (the test
    /// script starts one), in a new database of its own. Given the slot of
    /// 18 December 08:00 and its time.
    fn each_store(test: impl Fn(&Store, &Slot, DateTime<Utc>)) {
        let now = Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        test(&Store::open(dir.path()).unwrap(), &Slot::cron(now), now);
        if let Some(url) = postgres::test_database() {
            test(&Store::open_postgres(&url).unwrap(), &Slot::cron(now), now);
        }
    }

    #[test]
    fn a_slot_is_recorded_once_per_target() {
        each_store(a_slot_is_recorded_once_per_target_on);
    }

    fn a_slot_is_recorded_once_per_target_on(store: &Store, slot: &Slot, now: DateTime<Utc>) {
        let slot = slot.clone();
        let rot = RotationState {
            next_lang: 1,
            ..Default::default()
        };
        let Begin::New(i) = store
            .begin(&plan(&slot, "outbox"), Some(&rot), now)
            .unwrap()
        else {
            panic!("first begin is new")
        };
        assert_eq!(i.state, IntentState::Pending);
        assert!(matches!(
            store.begin(&plan(&slot, "outbox"), None, now).unwrap(),
            Begin::Exists(_)
        ));
        assert!(matches!(
            store.begin(&plan(&slot, "other"), None, now).unwrap(),
            Begin::New(_)
        ));
        assert_eq!(store.rotation("outbox").unwrap().next_lang, 1);
        assert_eq!(store.pending().unwrap().len(), 2);

        store
            .complete(
                &i.key,
                &Published {
                    remote_id: "r1".into(),
                    url: None,
                },
                now,
                None,
            )
            .unwrap();
        assert_eq!(store.pending().unwrap().len(), 1);
        assert!(!store.skip(&slot, "outbox", "late", now).unwrap());
    }

    #[test]
    fn a_pending_intent_is_sent_by_one_live_process_at_a_time() {
        each_store(one_live_sender_on);
    }

    fn one_live_sender_on(store: &Store, slot: &Slot, now: DateTime<Utc>) {
        let slot = slot.clone();
        let Begin::New(i) = store.begin(&plan(&slot, "masto"), None, now).unwrap() else {
            panic!()
        };
        // Recorded, and claimed by this process in the same write.
        assert_eq!(
            i.claim_owner.as_deref(),
            Some(Owner::current().encode().as_str())
        );
        assert_eq!(
            store.claim(&i.key, now).unwrap(),
            Claim::Won { taken_over: false }
        );
        let set_owner = |owner: &str, until: DateTime<Utc>| {
            store
                .write(|db| {
                    db.exec(
                        "UPDATE intents SET claim_owner = ?2, claim_until = ?3 WHERE key = ?1",
                        args![&i.key, owner, until.to_rfc3339()],
                    )
                })
                .unwrap();
        };
        let lease = chrono::Duration::seconds(60);
        // Another process, alive (on another host: only its lease tells).
        set_owner("replica-2/4242/77", now + lease);
        assert_eq!(
            store.claim(&i.key, now).unwrap(),
            Claim::Held {
                owner: "replica-2/4242/77".into()
            }
        );
        assert!(!store.renew(&i.key, now).unwrap(), "not ours to renew");
        // Its lease ran out: taken over (the new owner looks first).
        assert_eq!(
            store
                .claim(&i.key, now + lease + chrono::Duration::seconds(1))
                .unwrap(),
            Claim::Won { taken_over: true }
        );
        // A process of this host that is gone: taken over at once.
        let dead = format!("{}/{}/1", Owner::current().host, u32::MAX - 1);
        set_owner(&dead, now + lease);
        assert_eq!(
            store.claim(&i.key, now).unwrap(),
            Claim::Won { taken_over: true }
        );
        assert!(store.renew(&i.key, now).unwrap());
        store
            .complete(
                &i.key,
                &Published {
                    remote_id: "r".into(),
                    url: None,
                },
                now,
                None,
            )
            .unwrap();
        assert_eq!(
            store.claim(&i.key, now).unwrap(),
            Claim::Settled(IntentState::Published)
        );
        assert_eq!(store.intent(&i.key).unwrap().unwrap().claim_owner, None);
        assert_eq!(store.claim("nope", now).unwrap(), Claim::Missing);
    }

    #[test]
    fn the_store_is_private_to_the_bot() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data).unwrap();
        store.set_meta("session:sky", "{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join(FILE_NAME)), 0o600);
        assert_eq!(mode(&data.join("state.db-wal")), 0o600);
        drop(store);
        // An older version's store, readable by all, is made private.
        std::fs::set_permissions(data.join(FILE_NAME), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        Store::open(&data).unwrap();
        assert_eq!(mode(&data.join(FILE_NAME)), 0o600);
    }

    #[test]
    fn a_version_1_database_is_migrated_keeping_its_posts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join("state.db")).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO intents (key, slot, slot_at, target, message_id, lang, text, state, remote_id, attempts, created_at, updated_at)
                 VALUES ('k', 's', '2026-12-18T08:00:00+00:00', 'masto', 'm', 'fr', 't', 'published', 'r1', 1, '2026-12-18T08:00:00+00:00', '2026-12-18T08:00:05+00:00')",
                [],
            )
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let followed = store.followed().unwrap();
        assert_eq!(followed.len(), 1);
        assert_eq!(
            followed[0].published_at.unwrap().to_rfc3339(),
            "2026-12-18T08:00:05+00:00"
        );
        assert_eq!(followed[0].next_check, 0);

        // Its engagement checks are scheduled once, from the post.
        let published = followed[0].published_at.unwrap();
        let window = |_: &Intent| {
            Some(CheckWindow {
                from: published + chrono::Duration::minutes(55),
                by: published + chrono::Duration::minutes(70),
            })
        };
        assert_eq!(store.next_check_by(&["masto"]).unwrap(), None);
        store.schedule_old_checks(window).unwrap();
        assert_eq!(
            store.next_check_by(&["masto"]).unwrap(),
            Some(published + chrono::Duration::minutes(70))
        );
        assert_eq!(store.next_check_by(&["other"]).unwrap(), None);
        assert!(store.due_checks(published, &["masto"]).unwrap().is_empty());
        let later = published + chrono::Duration::hours(1);
        assert_eq!(store.due_checks(later, &["masto"]).unwrap().len(), 1);
        assert!(store.due_checks(later, &["other"]).unwrap().is_empty());
        // Checked for the last time: no longer scheduled, and not again.
        store
            .record_check(&followed[0].key, later, &Counts::default(), 1, None)
            .unwrap();
        store.schedule_old_checks(window).unwrap();
        assert_eq!(store.next_check_by(&["masto"]).unwrap(), None);
        assert!(store.due_checks(later, &["masto"]).unwrap().is_empty());
    }

    /// What the daemon reads at every slot and engagement run goes through
    /// an index: its cost must not grow with the posts of past campaigns.
    #[test]
    fn what_is_read_often_is_read_through_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let conn = store.conn();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect::<Vec<_>>();
            rows.join("; ")
        };
        for (sql, index) in [
            (
                format!("SELECT {INTENT_COLUMNS} FROM intents WHERE check_from <= 0"),
                "intents_check_from",
            ),
            (
                "SELECT MIN(check_by) FROM intents WHERE target = 'm' AND check_by IS NOT NULL"
                    .to_string(),
                "intents_check_by",
            ),
            (
                format!("SELECT {INTENT_COLUMNS} FROM intents WHERE key = 'k'"),
                "sqlite_autoindex_intents_1",
            ),
            (
                "SELECT key FROM intents WHERE target = 'm' AND remote_id = 'r'".to_string(),
                "intents_remote",
            ),
            (
                format!(
                    "SELECT {INTENT_COLUMNS} FROM intents WHERE state = 'pending' ORDER BY slot_at, target"
                ),
                "intents_state",
            ),
            (
                format!(
                    "SELECT {INTENT_COLUMNS} FROM intents WHERE state = 'uncertain' ORDER BY slot_at, target"
                ),
                "intents_state",
            ),
            (
                format!(
                    "SELECT {INTENT_COLUMNS} FROM intents WHERE error IS NOT NULL AND state != 'skipped' ORDER BY updated_at DESC LIMIT 5"
                ),
                "intents_errors",
            ),
            (
                format!(
                    "SELECT {INTENT_COLUMNS} FROM intents ORDER BY slot_at DESC, target LIMIT 8"
                ),
                "intents_slot_at",
            ),
            (
                format!(
                    "SELECT {INTENT_COLUMNS} FROM intents WHERE key >= 'ab' AND key < 'ab\u{10FFFF}' ORDER BY slot_at LIMIT 5"
                ),
                "sqlite_autoindex_intents_1",
            ),
        ] {
            let how = plan(&sql);
            assert!(
                how.contains(index) && !how.split("; ").any(|step| step == "SCAN intents"),
                "{sql}: {how}"
            );
        }
    }

    #[test]
    fn survives_reopening_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        {
            let store = Store::open(dir.path()).unwrap();
            store.set_cursor(now).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.cursor().unwrap().map(|t| t.timestamp()),
            Some(now.timestamp())
        );
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        store
            .conn()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        drop(store);
        let err = Store::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer campaign-bot"), "{err}");
    }
}
