//! Several processes on one data folder, as operators make them: two
//! container replicas on one volume, `post-now` beside the running daemon,
//! a `post-now` killed mid-post and run again. Against a Mastodon-like
//! server that ignores `Idempotency-Key` and rewrites text, so only the
//! bot's own care keeps each slot to one post. (Issue 12.)

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use campaign_bot::store::{IntentState, Store};
use common::fault_server::{Fault, FaultServer};

fn posts(dir: &Path, n: usize) {
    for sub in ["rotation", "queue"] {
        std::fs::create_dir_all(dir.join("posts").join(sub)).unwrap();
    }
    for i in 0..n {
        std::fs::write(
            dir.join(format!("posts/rotation/m{i:02}.toml")),
            format!(
                "[text]\nen = \"I <3 our cities: *welcome* home, 1 < 2 > 0, message {i}.\"\nfr = \"J'<3 nos villes : *bienvenue*, message {i}.\"\nar = \"أحب مدننا <3 *أهلاً*، الرسالة {i}.\"\n"
            ),
        )
        .unwrap();
    }
}

fn bot(dir: &Path, masto: &FaultServer) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", &masto.url)
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
        .env("MASTO_TOKEN", "t")
        .stdin(Stdio::null());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn output(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const SLOT: &str = "2026-12-18T09:00:00+01:00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_one_data_dir_refuses_to_start_naming_the_first() {
    let masto = FaultServer::unlike_mastodon().await;
    let dir = tempfile::tempdir().unwrap();
    posts(dir.path(), 3);
    let mut first = bot(dir.path(), &masto);
    first.arg("run").stdout(Stdio::null()).stderr(Stdio::null());
    let mut first = first.spawn().unwrap();
    // Wait until the first holds the lock (it writes its pid there).
    let lock = dir.path().join("data/daemon.lock");
    let t = Instant::now();
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the first never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut second = bot(dir.path(), &masto);
    second.arg("run");
    let started = Instant::now();
    let (code, out) = output(spawn(second));
    assert_eq!(code, 2, "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    assert!(
        out.contains(&format!("pid {}", first.id())) && out.contains("already running"),
        "{out}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The kernel let go of the lock with the process: a new daemon starts.
    let mut third = bot(dir.path(), &masto);
    third.arg("run").stdout(Stdio::null()).stderr(Stdio::null());
    let mut third = third.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(third.try_wait().unwrap().is_none(), "the third runs");
    third.kill().unwrap();
    third.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_post_now_of_one_slot_against_a_slow_server_post_once() {
    let masto = FaultServer::unlike_mastodon().await;
    masto.script(&[Fault::Slow(Duration::from_secs(3))]);
    let dir = tempfile::tempdir().unwrap();
    posts(dir.path(), 3);
    let mut a = bot(dir.path(), &masto);
    a.args(["post-now", "--slot", SLOT, "--target", "masto"]);
    let a = spawn(a);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut b = bot(dir.path(), &masto);
    b.args(["post-now", "--slot", SLOT, "--target", "masto"]);
    let (b_code, b_out) = output(spawn(b));
    let (a_code, a_out) = output(a);
    assert_eq!(masto.created().len(), 1, "{a_out}\n{b_out}");
    assert_eq!(a_code, 0, "{a_out}");
    assert!(a_out.contains("masto: posted m00 [en]"), "{a_out}");
    assert_eq!(b_code, 1, "{b_out}");
    assert!(b_out.contains("is being posted by pid"), "{b_out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_now_killed_while_the_server_holds_its_answer_is_not_sent_twice() {
    // The server creates the status, holds its answer, rewrites the text
    // and ignores the key: only looking first, and recognising the
    // rewritten text, prevents a second status.
    let masto = FaultServer::unlike_mastodon().await;
    masto.script(&[Fault::Slow(Duration::from_secs(3))]);
    let dir = tempfile::tempdir().unwrap();
    posts(dir.path(), 3);
    let mut a = bot(dir.path(), &masto);
    a.args(["post-now", "--slot", SLOT, "--target", "masto"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut a = a.spawn().unwrap();
    let t = Instant::now();
    while masto.created().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "nothing posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap(); // SIGKILL while the answer is held
    a.wait().unwrap();
    let html = masto.created()[0].html.clone().unwrap();
    assert!(
        html.contains("❤️") && html.contains("<em>welcome</em>") && html.contains("1  0"),
        "{html}"
    );

    let mut b = bot(dir.path(), &masto);
    b.args(["post-now", "--slot", SLOT, "--target", "masto"]);
    let (code, out) = output(spawn(b));
    assert_eq!(masto.created().len(), 1, "{out}");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("posted m00 [en]"), "{out}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    let intents = store.all_intents().unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, IntentState::Published);
    assert_eq!(
        intents[0].remote_id.as_deref(),
        Some(masto.created()[0].id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_only_like_the_post_is_uncertain_and_a_person_settles_it() {
    // The first status is edited on the server (a moderator, another
    // client): the bot cannot tell it is its post, and does not guess.
    let masto = FaultServer::unlike_mastodon().await;
    masto.script(&[Fault::Slow(Duration::from_secs(3))]);
    let dir = tempfile::tempdir().unwrap();
    posts(dir.path(), 3);
    let mut a = bot(dir.path(), &masto);
    a.args(["post-now", "--slot", SLOT, "--target", "masto"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut a = a.spawn().unwrap();
    let t = Instant::now();
    while masto.created().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "nothing posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap();
    a.wait().unwrap();
    {
        let mut st = masto.state.lock().unwrap();
        let html = st.created[0].html.clone().unwrap();
        st.created[0].html = Some(html.replace("home", "home again"));
    }
    let mut b = bot(dir.path(), &masto);
    b.args(["post-now", "--slot", SLOT, "--target", "masto"]);
    let (code, out) = output(spawn(b));
    assert_eq!(masto.created().len(), 1, "not sent again: {out}");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT SURE whether it went out"), "{out}");

    let mut health = bot(dir.path(), &masto);
    health.args(["status", "--health"]);
    let (code, out) = output(spawn(health));
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("need a person"), "{out}");
    let mut status = bot(dir.path(), &masto);
    status.arg("status");
    let (_, out) = output(spawn(status));
    let key = out
        .lines()
        .find_map(|l| l.split("campaign-bot resolve ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no resolve line: {out}"))
        .to_string();
    let mut resolve = bot(dir.path(), &masto);
    resolve.args(["resolve", &key, "published", "--id", &masto.created()[0].id]);
    let (code, out) = output(spawn(resolve));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("recorded as published: m00 [en]"), "{out}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    let i = &store.all_intents().unwrap()[0];
    assert_eq!(i.state, IntentState::Published);
    assert_eq!(i.remote_id.as_deref(), Some(masto.created()[0].id.as_str()));
    let mut again = bot(dir.path(), &masto);
    again.args(["resolve", &key, "not-published"]);
    let (code, out) = output(spawn(again));
    assert_eq!(code, 2, "only uncertain posts are settled by hand: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_data_dir_opened_by_several_processes_at_once() {
    let masto = FaultServer::start(true).await;
    for round in 0..15 {
        let dir = tempfile::tempdir().unwrap();
        posts(dir.path(), 1);
        let children: Vec<Child> = (0..3)
            .map(|_| {
                let mut c = bot(dir.path(), &masto);
                c.args(["post-now", "--target", "masto", "--dry-run"]);
                c.env("CAMPAIGN_BOT__DATA_DIR", "data");
                spawn(c)
            })
            .collect();
        for c in children {
            let (_, out) = output(c);
            assert!(
                !out.contains("duplicate column")
                    && !out.contains("already exists")
                    && !out.contains("locked"),
                "round {round}: {out}"
            );
        }
        let store = Store::open(&dir.path().join("data/dry-run")).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            9,
            "every migration ran once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_post_now_writers_beside_the_daemon_drop_no_slot() {
    let masto = FaultServer::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    posts(dir.path(), 30);
    let mut daemon = bot(dir.path(), &masto);
    daemon
        .arg("run")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .env("CAMPAIGN_BOT__SCHEDULE__GRACE", "30s")
        .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox")
        .env("LOG_FORMAT", "json");
    let daemon = spawn(daemon);
    let stop = Instant::now() + Duration::from_secs(12);
    let writers: Vec<_> = (0..3)
        .map(|n| {
            let dir = dir.path().to_path_buf();
            let url = masto.url.clone();
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                let mut i = 0;
                while Instant::now() < stop {
                    let slot = format!("2027-01-{:02}T{:02}:{:02}:00Z", n + 1, i / 60, i % 60);
                    let mut c = common::bot_command();
                    c.current_dir(&dir)
                        .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox")
                        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
                        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", &url)
                        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
                        .env("MASTO_TOKEN", "t")
                        .args(["post-now", "--slot", &slot, "--target", "outbox"]);
                    let out = c.output().unwrap();
                    if !out.status.success() {
                        failures.push(String::from_utf8_lossy(&out.stdout).into_owned());
                    }
                    i += 1;
                }
                (i, failures)
            })
        })
        .collect();
    let mut runs = 0;
    for w in writers {
        let (n, failures) = w.join().unwrap();
        runs += n;
        assert!(failures.is_empty(), "{failures:?}");
    }
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    let (code, log) = output(daemon);
    assert_eq!(code, 0, "{log}");
    assert!(!log.contains("cannot record the slot"), "{log}");
    assert!(runs >= 6, "the writers ran: {runs}");
    // Every second of the daemon's run has a row on both targets.
    let store = Store::open(&dir.path().join("data")).unwrap();
    let daemon_rows: Vec<_> = store
        .all_intents()
        .unwrap()
        .into_iter()
        .filter(|i| !i.slot.key.starts_with("2027"))
        .collect();
    let first = daemon_rows.iter().map(|i| i.slot.at).min().unwrap();
    let last = daemon_rows.iter().map(|i| i.slot.at).max().unwrap();
    let mut t = first;
    while t <= last {
        for target in ["masto", "outbox"] {
            assert!(
                daemon_rows
                    .iter()
                    .any(|i| i.slot.at == t && i.target == target),
                "no row for {t} on {target}"
            );
        }
        t += chrono::Duration::seconds(1);
    }
    assert!(daemon_rows.len() >= 10, "{}", daemon_rows.len());
}
