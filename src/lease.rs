//! Who may send a post, when more than one process works on one data
//! folder (a daemon and a `post-now` beside it, two container replicas on
//! one volume).
//!
//! - **One daemon per data folder**: `run` holds an OS file lock on
//!   `data/daemon.lock` ([`DaemonLock`]); the kernel releases it when the
//!   process dies, however it dies. A second `run` is refused at once,
//!   naming the pid that holds the lock.
//! - **One sender per intent**, whichever process: before sending, a process
//!   claims the intent in the state store with a lease (its [`Owner`] and an
//!   expiry), renewed while it sends. A pending intent claimed by a live
//!   owner is never sent by another. A claim whose owner is gone (its lease
//!   ran out, or its process is known dead on this host) may be taken over,
//!   and the new owner looks on the network before it sends.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a claim holds without renewal. A process that dies mid-post
/// (and is not known dead on this host) blocks its post this long at most.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a sender renews its claim.
pub const RENEW_EVERY: Duration = Duration::from_secs(20);

/// A process that may claim intents: host name, pid and the process's start
/// time (so a pid reused by another process is not mistaken for the owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    started: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static ME: OnceLock<Owner> = OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: host_name(),
                pid,
                started: start_time(pid).unwrap_or(0),
            }
        })
    }

    /// The form kept in the state store: `host/pid/start`.
    pub fn encode(&self) -> String {
        format!("{}/{}/{}", self.host, self.pid, self.started)
    }

    pub fn parse(s: &str) -> Option<Owner> {
        let mut parts = s.rsplitn(3, '/');
        let started = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_string();
        Some(Owner { host, pid, started })
    }

    /// Whether the owner is known to be gone: it ran on this host and its
    /// process no longer exists (or is another process under a reused pid).
    /// An owner on another host is never known dead: its lease decides.
    pub fn known_dead(&self) -> bool {
        if self.host != Owner::current().host {
            return false;
        }
        match start_time(self.pid) {
            None => true,
            Some(started) => self.started != 0 && started != self.started,
        }
    }

    /// For people: `pid 1234`, or `pid 1234 on host web-2`.
    pub fn describe(&self) -> String {
        if self.host == Owner::current().host {
            format!("pid {}", self.pid)
        } else {
            format!("pid {} on host {}", self.pid, self.host)
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "localhost".into())
}

/// A process's start time (clock ticks since boot, field 22 of
/// `/proc/PID/stat`), or `None` if there is no such process.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The daemon's exclusive lock on its data folder, held for its lifetime.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    path: PathBuf,
}

/// Why the daemon lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another campaign-bot daemon ({holder}) is already running on the data folder {}; stop it first, or give this one another data_dir",
        dir.display()
    )]
    Held { holder: String, dir: PathBuf },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub const LOCK_FILE: &str = "daemon.lock";

impl DaemonLock {
    /// Takes the lock on `data_dir` (created if needed), or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<DaemonLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        crate::private::create_dir(data_dir).map_err(io)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = Owner::parse(text.trim())
                    .map(|o| o.describe())
                    .unwrap_or_else(|| "pid unknown".into());
                return Err(LockError::Held {
                    holder,
                    dir: data_dir.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the next one to name.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(Owner::current().encode().as_bytes())
            .map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(DaemonLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_round_trip_and_this_process_is_alive() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.encode()).as_ref(), Some(me));
        assert!(!me.known_dead());
        assert_eq!(me.describe(), format!("pid {}", std::process::id()));
        let gone = Owner {
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(gone.known_dead());
        let reused = Owner {
            started: me.started + 1,
            ..me.clone()
        };
        assert!(reused.known_dead(), "a reused pid is not the owner");
        let elsewhere = Owner {
            host: "other-host".into(),
            pid: u32::MAX - 1,
            ..me.clone()
        };
        assert!(!elsewhere.known_dead(), "another host: the lease decides");
        assert!(elsewhere.describe().contains("on host other-host"));
    }

    #[test]
    fn a_second_lock_on_one_folder_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = DaemonLock::acquire(dir.path()).unwrap();
        let err = DaemonLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        // Another test of this process may be forking a child right now: the
        // child shares the lock's file until it execs (close-on-exec), so
        // the lock can outlive `drop` by a moment.
        let mut again = DaemonLock::acquire(dir.path());
        for _ in 0..100 {
            if again.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            again = DaemonLock::acquire(dir.path());
        }
        again.unwrap();
    }
}
