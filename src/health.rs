//! Whether the daemon is healthy: one verdict, for `status --health`, the
//! `/readyz` endpoint and the container's health check; and the daemon's
//! own status file (`data/daemon.json`) it is partly read from.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::publish::network;
use crate::store::{Store, StoreError};

/// The daemon's own status, written to `data/daemon.json` at every turn of
/// its loop (never between events) and read by `status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The next event the scheduler is waiting for.
    pub next_event: Option<DateTime<Utc>>,
    pub running: bool,
    pub dry_run: bool,
}

pub const STATUS_FILE: &str = "daemon.json";

impl DaemonStatus {
    pub fn read(data_dir: &Path) -> Option<DaemonStatus> {
        let text = std::fs::read_to_string(data_dir.join(STATUS_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn write(&self, data_dir: &Path) {
        let path = data_dir.join(STATUS_FILE);
        let tmp = data_dir.join(format!("{STATUS_FILE}.tmp"));
        let json = serde_json::to_string_pretty(self).expect("status serialises");
        // Write then rename: a reader never sees half a file.
        if let Err(e) = std::fs::write(&tmp, json).and_then(|_| std::fs::rename(&tmp, &path)) {
            tracing::warn!(error = %e, path = %path.display(), "cannot write the daemon status file");
        }
    }
}

/// How late the scheduler may be on its next event, beyond the grace,
/// before it counts as stuck.
const STUCK_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Why the daemon is not healthy, or `None` if it is.
pub fn health(
    config: &Config,
    store: &Store,
    daemon: Option<&DaemonStatus>,
) -> Result<Option<String>, StoreError> {
    let mut why: Vec<String> = Vec::new();
    match store.postgres() {
        // Replicas on a shared store: one of them, on any host, is active.
        Some(pg) => {
            if let Some(none) = no_active_replica(&pg.replicas()?) {
                why.push(none);
            }
        }
        None => daemon_health(config, daemon, &mut why),
    }
    if let Err(e) = std::fs::read_dir(&config.posts_dir) {
        why.push(format!(
            "the posts folder {} cannot be read ({e}): nothing new can be posted",
            config.posts_dir.display()
        ));
    }
    if let Some(d) = daemon.filter(|d| d.running && process_alive(d.pid))
        && let Some(missing) = unrecorded_slot(config, store, d)?
    {
        why.push(missing);
    }
    for t in &config.targets {
        if let Some(reason) = crate::targets::paused(store, &t.name)? {
            why.push(format!("target {} is paused: {reason}", t.name));
        }
    }
    let today = Utc::now().date_naive();
    for t in &config.targets {
        if let Some(day) = t.network.token_expires()
            && (day - today).num_days() <= network::TOKEN_WARNING_DAYS
        {
            why.push(format!(
                "the token of target {} {}; get a new one and set it",
                t.name,
                network::token_expiry(day, today)
            ));
        }
    }
    let uncertain = store.uncertain()?;
    if !uncertain.is_empty() {
        why.push(format!(
            "{} post(s) may or may not have gone out and need a person: run `campaign-bot status`",
            uncertain.len()
        ));
    }
    Ok((!why.is_empty()).then(|| why.join("; ")))
}

/// Whether this data folder's daemon runs, and keeps up with its events.
fn daemon_health(config: &Config, daemon: Option<&DaemonStatus>, why: &mut Vec<String>) {
    match daemon {
        None => why.push("the daemon is not running (no data/daemon.json)".into()),
        Some(d) if !d.running => why.push(format!(
            "the daemon stopped at {}",
            crate::schedule::local_time(d.updated_at, config.schedule.timezone())
        )),
        Some(d) if !process_alive(d.pid) => why.push(format!(
            "the daemon (pid {}) is gone without stopping cleanly",
            d.pid
        )),
        Some(d) => {
            if let Some(next) = d.next_event {
                let grace = chrono::Duration::from_std(config.schedule.grace()).unwrap_or_default();
                if Utc::now() > next + grace + STUCK_AFTER {
                    why.push(format!(
                        "the scheduler is stuck: the event of {} has not been handled",
                        crate::schedule::local_time(next, config.schedule.timezone())
                    ));
                }
            }
        }
    }
}

/// Says so when no replica holds the lease of a shared store.
pub fn no_active_replica(replicas: &crate::store::election::Replicas) -> Option<String> {
    match &replicas.leader {
        Some((_, _, left)) if *left > 0.0 => None,
        _ => Some(format!(
            "no replica is active ({} replica(s) seen in the last minute): nothing is posted until one is",
            replicas.seen.len()
        )),
    }
}

/// How long after a slot its records must be in the state store: they are
/// written within milliseconds, or within the store's 30 s busy wait when
/// another process holds it.
const RECORD_MARGIN: chrono::Duration = chrono::Duration::seconds(45);

/// The latest slot of the running daemon that no target has a record of,
/// RECORD_MARGIN after it: the state store cannot be written (a full disk)
/// and slots are being lost.
fn unrecorded_slot(
    config: &Config,
    store: &Store,
    d: &DaemonStatus,
) -> Result<Option<String>, StoreError> {
    let until = Utc::now() - RECORD_MARGIN;
    let schedule = &config.schedule;
    let Some(last) = schedule
        .between(d.started_at.max(until - chrono::Duration::hours(6)), until)
        .pop()
    else {
        return Ok(None);
    };
    let slot = crate::model::Slot::cron(last);
    for t in &config.targets {
        if store.intent(&slot.intent_key(&t.name))?.is_some() {
            return Ok(None);
        }
    }
    Ok(Some(format!(
        "the slot of {} has no record in the state store: it cannot be written (is the disk full?) and slots are being lost",
        crate::schedule::local_time(last, config.schedule.timezone())
    )))
}

/// Whether process `pid` still exists (on this host).
pub fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
