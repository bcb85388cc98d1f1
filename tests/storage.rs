//! Storage faults: a read-only or full data folder gives a clear error and
//! leaves `data/state.db` intact (`PRAGMA integrity_check`), and nothing
//! already recorded is lost.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const NOBODY: u32 = 65534;

use common::is_root;

fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let posts = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    assert!(
        Command::new("cp")
            .arg("-r")
            .arg(&posts)
            .arg(dir.path())
            .status()
            .unwrap()
            .success()
    );
    dir
}

fn bot(dir: &Path) -> Command {
    common::bot(dir)
}

/// Fills the slot of `hour` on 18 December; what the bot said.
fn post_slot(dir: &Path, hour: u32) -> String {
    let out = bot(dir)
        .args([
            "post-now",
            "--slot",
            &format!("2026-12-18T{hour:02}:00:00Z"),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

/// Posts three slots, so the store has something to lose.
fn seed(dir: &Path) {
    for hour in 8..11 {
        post_slot(dir, hour);
    }
}

/// `PRAGMA integrity_check` and the number of recorded intents, read from a
/// copy (opening the original might itself need to write).
fn check_db(dir: &Path) -> (String, i64) {
    let copy = tempfile::tempdir().unwrap();
    for name in ["state.db", "state.db-wal"] {
        let from = dir.join("data").join(name);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name)).unwrap();
        }
    }
    let conn = rusqlite::Connection::open(copy.path().join("state.db")).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM intents", [], |r| r.get(0))
        .unwrap();
    (ok, n)
}

#[test]
fn a_read_only_data_folder_is_a_clear_error_and_loses_nothing() {
    let dir = workdir();
    seed(dir.path());
    let before = std::fs::read(dir.path().join("data/outbox.jsonl")).unwrap();
    // Checkpoint the WAL so the database is one file, then make data/ read-only.
    drop(
        rusqlite::Connection::open(dir.path().join("data/state.db"))
            .unwrap()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    assert!(
        Command::new("chmod")
            .args(["-R", "a-w,a+rX"])
            .arg(dir.path().join("data"))
            .status()
            .unwrap()
            .success()
    );
    let mut cmd = bot(dir.path());
    cmd.args(["post-now", "--slot", "2026-12-18T12:00:00Z"]);
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let out = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(all.contains("not writable"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    assert!(
        Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(dir.path().join("data"))
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(check_db(dir.path()), ("ok".to_string(), 3));
    assert_eq!(
        std::fs::read(dir.path().join("data/outbox.jsonl")).unwrap(),
        before
    );
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let dir = workdir();
    seed(dir.path());
    let data = dir.path().join("data");
    drop(
        rusqlite::Connection::open(data.join("state.db"))
            .unwrap()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    let before = std::fs::read(data.join("outbox.jsonl")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin!("campaign-bot");
    // As root (CI): a real full disk, a small tmpfs holding data/ and filled
    // up. Otherwise no file may grow past 1 KiB (ulimit -f): writes fail
    // with EFBIG, much as on a full disk.
    let mounted = is_root() && full_tmpfs(&data);
    let script = if mounted {
        format!(
            "exec {} post-now --slot 2026-12-18T12:00:00Z",
            bin.display()
        )
    } else {
        format!(
            "trap '' XFSZ; ulimit -f 2; exec {} post-now --slot 2026-12-18T12:00:00Z",
            bin.display()
        )
    };
    let out = Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, n) = check_db(dir.path());
    let after = std::fs::read(data.join("outbox.jsonl")).unwrap();
    if mounted {
        let _ = Command::new("umount").arg(&data).status();
    }
    assert!(!out.status.success(), "{all}");
    // SQLite says "disk full", or, when WAL's shared memory cannot grow,
    // "disk I/O error": both come with the same advice.
    assert!(
        all.contains("disk is full") || all.contains("is the disk full"),
        "{all}"
    );
    assert!(!all.contains("panicked"), "{all}");
    assert_eq!(ok, "ok");
    assert!(n >= 3, "recorded intents were lost");
    // The outbox kept every earlier line.
    assert!(after.starts_with(&before));
}

/// Mounts a 512 KiB tmpfs over `data`, with its files, and fills it up.
fn full_tmpfs(data: &Path) -> bool {
    let saved = data.with_extension("saved");
    std::fs::rename(data, &saved).unwrap();
    std::fs::create_dir(data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(data)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        std::fs::remove_dir(data).unwrap();
        std::fs::rename(&saved, data).unwrap();
        return false;
    }
    assert!(
        Command::new("sh")
            .arg("-c")
            .arg(format!("cp -a {}/. {}/", saved.display(), data.display()))
            .status()
            .unwrap()
            .success()
    );
    // Fill what is left.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", data.join("filler").display()))
        .stderr(std::process::Stdio::null())
        .status();
    true
}

// Issue 13: health stayed "healthy" while a full disk blocked every slot,
// until the daemon was grace + 2 minutes late.
#[test]
fn health_tells_when_a_full_disk_keeps_slots_from_being_recorded() {
    let dir = workdir();
    seed(dir.path());
    let data = dir.path().join("data");
    drop(
        rusqlite::Connection::open(data.join("state.db"))
            .unwrap()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    let bin = assert_cmd::cargo::cargo_bin!("campaign-bot");
    // The daemon starts on a healthy disk, which then "fills": from then on
    // it may write no file past 2 KiB (prlimit on the running process), so
    // the store's writes fail as on a full disk while its small status
    // file still goes through.
    let mut daemon = Command::new("bash")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!("trap '' XFSZ; exec {} run", bin.display()))
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "*/5 * * * * *")
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = data.join("daemon.lock");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        Command::new("prlimit")
            .args(["--pid", &daemon.id().to_string(), "--fsize=2048:2048"])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let verdict = loop {
        let out = bot(dir.path())
            .args(["status", "--health"])
            .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "*/5 * * * * *")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("has no record") || std::time::Instant::now() > deadline {
            break (out.status.code(), text);
        }
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon must keep running on a full disk"
        );
        std::thread::sleep(std::time::Duration::from_secs(2));
    };
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert_eq!(verdict.0, Some(3), "{}", verdict.1);
    assert!(verdict.1.contains("is the disk full"), "{}", verdict.1);
    assert_eq!(check_db(dir.path()).0, "ok");
}

/// `backup FILE` while another connection is in the middle of a write:
/// the copy is whole, holds what was committed and nothing else, and a bot
/// restored from it re-sends nothing and goes on with the rotation where
/// the original does. It never replaces a file.
#[test]
fn a_backup_is_consistent_online_and_restores_without_resending() {
    let dir = workdir();
    seed(dir.path());
    let db = dir.path().join("data/state.db");
    // A writer holding its transaction open, as the daemon would mid-slot.
    let writer = rusqlite::Connection::open(&db).unwrap();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('uncommitted', 'x');",
        )
        .unwrap();
    let file = dir.path().join("state-backup.db");
    let out = bot(dir.path())
        .args(["backup"])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("3 posts"), "{said}");
    writer.execute_batch("COMMIT").unwrap();

    let copy = rusqlite::Connection::open(&file).unwrap();
    let ok: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mode: String = copy
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "a backup is one file");
    let uncommitted: i64 = copy
        .query_row(
            "SELECT count(*) FROM meta WHERE key = 'uncommitted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(uncommitted, 0, "only what was committed");
    let rows = |c: &rusqlite::Connection| -> Vec<(String, String)> {
        let mut q = c
            .prepare("SELECT key, state FROM intents ORDER BY key")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows(&copy),
        rows(&writer),
        "every post with its key and state"
    );
    drop(copy);

    // Never over a file.
    let before = std::fs::read(&file).unwrap();
    let again = bot(dir.path())
        .args(["backup"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Restored into a fresh folder: the slot already filled stays filled,
    // and the next slot posts what the original posts.
    let restored = workdir();
    std::fs::create_dir_all(restored.path().join("data")).unwrap();
    std::fs::copy(&file, restored.path().join("data/state.db")).unwrap();
    let refilled = post_slot(restored.path(), 8);
    assert!(refilled.contains("already filled"), "{refilled}");
    assert!(
        !restored.path().join("data/outbox.jsonl").exists(),
        "nothing re-sent"
    );
    let planned = |said: &str| said.split(" for the slot").next().unwrap().to_string();
    assert_eq!(
        planned(&post_slot(restored.path(), 11)),
        planned(&post_slot(dir.path(), 11))
    );
}

/// Without a store there is nothing to back up, and the error says where
/// it looked.
#[test]
fn a_backup_without_a_store_says_so() {
    let dir = workdir();
    let out = bot(dir.path())
        .args(["backup"])
        .arg(dir.path().join("b.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no state store at") && err.contains("state.db"),
        "{err}"
    );
    assert!(!dir.path().join("b.db").exists());
}
