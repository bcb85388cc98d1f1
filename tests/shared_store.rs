//! The shared PostgreSQL store (`[store]`, issue 30) seen from the command
//! line: a year of history moved into it with `store copy` re-sends
//! nothing, goes on with the rotation where it was and reports the same;
//! every command works on it; a bad `[store]` is a clear error that never
//! shows the URL.
//!
//! It needs a PostgreSQL server (`CAMPAIGN_BOT_TEST_PG_URL`):
//! `scripts/test.sh` starts one. Each test makes a database of its own.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use campaign_bot::publish::outbox::{OutboxLine, read_lines};

/// Targets of the year of history (the report bench's generator names
/// them t000, t001…, all of kind outbox).
const TARGETS: usize = 8;

fn database() -> String {
    campaign_bot::store::postgres::test_database()
        .expect("CAMPAIGN_BOT_TEST_PG_URL names no PostgreSQL server; run scripts/test.sh")
        .expose()
        .to_string()
}

/// The bot in `dir` with the history's targets; on the database `url`
/// when given (through `[store] url_env`), else on SQLite in `dir/data`.
fn bot(dir: &Path, url: Option<&str>) -> Command {
    let mut cmd = common::bot(dir);
    for i in 0..TARGETS {
        cmd.env(format!("CAMPAIGN_BOT__TARGETS__T{i:03}__KIND"), "outbox");
    }
    if let Some(url) = url {
        cmd.env("CAMPAIGN_BOT__STORE__URL_ENV", "SHARED_STORE_URL")
            .env("SHARED_STORE_URL", url);
    }
    cmd
}

fn ok(out: Output) -> String {
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

fn run(dir: &Path, url: Option<&str>, args: &[&str]) -> String {
    ok(bot(dir, url).args(args).output().unwrap())
}

fn outbox(dir: &Path) -> Vec<OutboxLine> {
    read_lines(&dir.join("data/outbox.jsonl")).unwrap()
}

/// (message, language) of each target's post for `slot` (as the outbox
/// writes it).
fn planned(lines: &[OutboxLine], slot: &str) -> BTreeMap<String, (String, String)> {
    lines
        .iter()
        .filter(|l| l.slot == slot)
        .map(|l| (l.target.clone(), (l.message_id.clone(), l.lang.clone())))
        .collect()
}

fn intents(url: &str) -> i64 {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    db.query_one("SELECT COUNT(*) FROM intents", &[])
        .unwrap()
        .get(0)
}

/// The Done-when of issue 30: `store copy` of a store with a year of
/// history (the report bench's generator) into PostgreSQL, then `run` on
/// it: no slot re-sent, the rotation goes on where it was, `report` the same
/// before and after.
#[test]
fn a_year_of_history_moves_into_postgres_and_goes_on_where_it_was() {
    let work = common::workdir_with_text_posts();
    let work = work.path();
    let binary = assert_cmd::cargo::cargo_bin!("campaign-bot");
    let generated = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/report-bench.py"))
        .arg("--generate")
        .arg(binary)
        .arg(work.join("data"))
        .arg(TARGETS.to_string())
        .output()
        .unwrap();
    let generated = ok(generated);
    let history: serde_json::Value = serde_json::from_str(generated.trim()).unwrap();
    let posts = history["posts"].as_i64().unwrap();
    assert!(posts > 500 * TARGETS as i64, "a year of posts: {generated}");

    // Two slots posted on SQLite, so that every target has a rotation
    // position and a filled slot.
    let slot = |h: u32| format!("2026-12-18T{h:02}:00:00Z");
    run(work, None, &["post-now", "--slot", &slot(8)]);
    run(work, None, &["post-now", "--slot", &slot(9)]);
    let sent_before = outbox(work);
    assert_eq!(planned(&sent_before, &slot(9)).len(), TARGETS);

    // A twin on SQLite, restored from a backup: what the store would do had
    // it not moved.
    let twin = common::workdir_with_text_posts();
    let twin = twin.path();
    std::fs::create_dir_all(twin.join("data")).unwrap();
    run(
        work,
        None,
        &["backup", twin.join("data/state.db").to_str().unwrap()],
    );

    let report_args: [&[&str]; 3] = [
        &["report"],
        &["report", "--format", "csv"],
        &["report", "--format", "json"],
    ];
    let reports_before: Vec<String> = report_args.iter().map(|a| run(work, None, a)).collect();

    // The move.
    let url = database();
    let said = ok(bot(work, None)
        .args(["store", "copy", "--to-env", "DEST_URL"])
        .env("DEST_URL", &url)
        .output()
        .unwrap());
    eprintln!("{said}");
    let total = posts + 2 * TARGETS as i64;
    assert!(said.contains(&format!("{total} posts")), "{said}");
    assert!(!said.contains(&url), "the URL is a secret: {said}");
    assert_eq!(intents(&url), total);

    // Again into the same database: refused, and nothing changes.
    let again = bot(work, None)
        .args(["store", "copy", "--to-env", "DEST_URL"])
        .env("DEST_URL", &url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(
        err.contains("already holds a store") && err.contains("rows in intents"),
        "{err}"
    );
    assert!(!err.contains(&url), "{err}");
    assert_eq!(intents(&url), total);

    // The same report in every format: the table and CSV to the byte, the
    // JSON but for when it was made.
    let comparable = |args: &[&str], text: String| -> String {
        if !args.contains(&"json") {
            return text;
        }
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("generated_at");
        v.to_string()
    };
    for (args, before) in report_args.iter().zip(&reports_before) {
        let after = comparable(args, run(work, Some(&url), args));
        let before = comparable(args, before.clone());
        assert!(after.len() > 1000, "{after}");
        assert!(after == before, "{args:?} differs after the move");
    }

    // A slot already filled stays filled.
    let refilled = run(work, Some(&url), &["post-now", "--slot", &slot(8)]);
    assert!(refilled.contains("already filled"), "{refilled}");
    assert_eq!(outbox(work).len(), sent_before.len(), "nothing re-sent");

    // The next slot posts, on every target, what the twin posts.
    run(work, Some(&url), &["post-now", "--slot", &slot(10)]);
    run(twin, None, &["post-now", "--slot", &slot(10)]);
    let next = planned(&outbox(work), &slot(10));
    assert_eq!(next.len(), TARGETS);
    assert_eq!(next, planned(&outbox(twin), &slot(10)));

    // And the daemon on it: slots every three seconds for a few slots.
    let started = chrono::Utc::now();
    let mut daemon = bot(work, Some(&url))
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "*/3 * * * * *")
        .env("CAMPAIGN_BOT__STORE__LEASE", "3s")
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let begun = Instant::now();
    let had = outbox(work).len();
    while outbox(work).len() < had + 2 * (TARGETS) {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the daemon on the copied store posted {} lines in 60 s",
            outbox(work).len() - had
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(daemon.wait().unwrap().success(), "it stops cleanly");

    let all = outbox(work);
    let keys: BTreeSet<&str> = all.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys.len(), all.len(), "no post twice");
    let new = &all[had..];
    for line in new {
        let at = chrono::DateTime::parse_from_rfc3339(&line.slot).unwrap();
        assert!(
            at >= started - chrono::Duration::seconds(3),
            "only new slots: {line:?}"
        );
    }
    // Its first slot: what the twin posts for that slot.
    let first = new.iter().map(|l| l.slot.as_str()).min().unwrap();
    let theirs = planned(new, first);
    run(twin, None, &["post-now", "--slot", first]);
    assert_eq!(theirs, planned(&outbox(twin), first), "the slot {first}");
    assert_eq!(
        intents(&url),
        total + TARGETS as i64 + (all.len() - had) as i64,
        "every post recorded once"
    );
    let slots: BTreeSet<&str> = new.iter().map(|l| l.slot.as_str()).collect();
    eprintln!(
        "store copy: a year of history ({total} posts, {} checks) moved into PostgreSQL; report equal (table, CSV, JSON); \
         a filled slot not re-sent; the next slot as on SQLite on all {TARGETS} targets; then `run` posted {} posts in {} slots, \
         none twice, the first as on SQLite",
        history["checks"],
        new.len(),
        slots.len()
    );
}

/// Every command works on the shared store, from any folder: `post-now`,
/// `status` (which says so when no replica is active), `preview`,
/// `engagement`, `report`, `resolve`; `backup` says to use the database's
/// own tools.
#[test]
fn every_command_works_on_the_shared_store() {
    let url = database();
    let here = common::workdir_with_text_posts();
    let there = common::workdir_with_text_posts();
    let (here, there) = (here.path(), there.path());

    let said = run(
        here,
        Some(&url),
        &["post-now", "--slot", "2026-12-18T08:00:00Z"],
    );
    assert!(!said.contains(&url));
    // Another host, the same store: the slot is filled.
    let said = run(
        there,
        Some(&url),
        &["post-now", "--slot", "2026-12-18T08:00:00Z"],
    );
    assert!(said.contains("already filled"), "{said}");
    assert!(!there.join("data/outbox.jsonl").exists());

    let status = run(there, Some(&url), &["status"]);
    assert!(!status.contains(&url), "{status}");
    assert!(status.contains("store:      postgresql://"), "{status}");
    assert!(status.contains("NONE ACTIVE"), "{status}");

    let preview = run(there, Some(&url), &["preview", "--next", "3"]);
    assert!(preview.contains("t000"), "{preview}");
    run(there, Some(&url), &["engagement"]);
    let report = run(there, Some(&url), &["report", "--format", "csv"]);
    assert_eq!(
        report.lines().filter(|l| l.contains("t000")).count(),
        1,
        "{report}"
    );
    // A post of unknown fate (as a crash mid-send leaves it), resolved
    // from the other folder.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let key: String = db
        .query_one(
            "UPDATE intents SET state = 'uncertain' WHERE target = 't001' RETURNING key",
            &[],
        )
        .unwrap()
        .get(0);
    let status = run(here, Some(&url), &["status"]);
    assert!(status.contains(&key[..12]), "{status}");
    run(there, Some(&url), &["resolve", &key[..12], "not-published"]);
    let state: String = db
        .query_one("SELECT state FROM intents WHERE key = $1", &[&key])
        .unwrap()
        .get(0);
    assert_ne!(state, "uncertain");

    let backup = bot(there, Some(&url))
        .args(["backup", "b.db"])
        .output()
        .unwrap();
    assert_eq!(backup.status.code(), Some(2));
    let err = String::from_utf8_lossy(&backup.stderr);
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!there.join("b.db").exists());
}

/// A bad `[store]` is a configuration error (exit 2) that names the key and
/// what to do, and never shows the URL or its password.
#[test]
fn a_bad_store_section_is_a_clear_error_that_hides_the_url() {
    let dir = common::workdir_with_text_posts();
    let dir = dir.path();
    let secret = "sentinel-password-4815";
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = format!("postgres://bot:{secret}@127.0.0.1:{closed}/db?sslmode=disable");
    let file = dir.join("store_url");
    std::fs::write(&file, &unreachable).unwrap();
    let place = format!("127.0.0.1:{closed}");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![
                ("CAMPAIGN_BOT__STORE__URL_ENV", "X".into()),
                ("CAMPAIGN_BOT__STORE__URL_FILE", file.display().to_string()),
            ],
            "either url_env or url_file",
        ),
        (
            vec![
                ("CAMPAIGN_BOT__STORE__URL_ENV", "X".into()),
                ("X", unreachable.clone()),
                ("CAMPAIGN_BOT__STORE__LEASE", "1s".into()),
            ],
            "between 3s and 2m",
        ),
        (
            vec![("CAMPAIGN_BOT__STORE__LEASE", "10s".into())],
            "store.url_env",
        ),
        (
            vec![("CAMPAIGN_BOT__STORE__URL_ENV", "NOT_SET_ANYWHERE".into())],
            "NOT_SET_ANYWHERE",
        ),
        (
            vec![("CAMPAIGN_BOT__STORE__URL_FILE", file.display().to_string())],
            &place,
        ),
    ];
    for (env, expect) in cases {
        for command in [&["status"][..], &["post-now"][..]] {
            let mut cmd = common::bot(dir);
            cmd.args(command);
            for (k, v) in &env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains(secret), "{env:?}: {all}");
            assert!(all.contains(expect), "{env:?} {command:?}: {all}");
            assert_ne!(out.status.code(), Some(0), "{env:?}: {all}");
        }
    }
    assert!(!dir.join("data/outbox.jsonl").exists(), "nothing sent");
}

/// `[alerts]` on replicas: when the shared store cannot be reached, the
/// standby that stays says so (while no replica reaches it, none is active
/// and nothing is posted), once, and says when it is reached again.
#[test]
fn a_replica_cut_off_from_the_shared_store_alerts_and_resolves() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let url = database();
    let parsed = url::Url::parse(&url).unwrap();
    let proxy = common::pg_proxy::Proxy::start(format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    ));
    let mut through = parsed.clone();
    through.set_port(Some(proxy.port)).unwrap();
    let through = through.to_string();
    // The webhook's receiver on a runtime of its own (the database client
    // of this test is synchronous).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = rt.block_on(async {
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&receiver)
            .await;
        receiver
    });
    let hook = format!("{}/hook", receiver.uri());
    let dir = common::workdir_with_text_posts();
    let replicas: Vec<_> = (0..2)
        .map(|i| {
            bot(dir.path(), Some(&through))
                .env(
                    "CAMPAIGN_BOT__DATA_DIR",
                    dir.path().join(format!("data-{i}")),
                )
                .env("CAMPAIGN_BOT__STORE__LEASE", "3s")
                .env("CAMPAIGN_BOT__ALERTS__WEBHOOK_ENV", "ALERT_HOOK")
                .env("ALERT_HOOK", &hook)
                .arg("run")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Both up: one active, one standby.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let begun = Instant::now();
    loop {
        let seen: i64 = db
            .query_opt("SELECT COUNT(*) FROM replicas", &[])
            .ok()
            .flatten()
            .map_or(0, |r| r.get(0));
        if seen >= 2 {
            break;
        }
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "the replicas did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    proxy.set_cut(true);
    let firing = rt.block_on(wait_for(&receiver, 1));
    proxy.set_cut(false);
    let resolved = rt.block_on(wait_for(&receiver, 2));
    for mut r in replicas {
        let _ = Command::new("kill")
            .args(["-TERM", &r.id().to_string()])
            .status();
        let _ = r.wait();
    }
    let bodies: Vec<serde_json::Value> = resolved
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(firing.len(), 1);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[0]["cause"], "shared-store");
    let text = bodies[0]["message"].as_str().unwrap();
    assert!(text.contains("nothing is posted"), "{text}");
    assert!(
        text.contains(&format!("postgresql://127.0.0.1:{}/", proxy.port)),
        "{text}"
    );
    assert_eq!(bodies[1]["status"], "resolved");
    assert_eq!(bodies[1]["cause"], "shared-store");
}

/// The requests `receiver` got once there are `n` (or after 60 s).
async fn wait_for(receiver: &wiremock::MockServer, n: usize) -> Vec<wiremock::Request> {
    let begun = Instant::now();
    loop {
        let got = receiver.received_requests().await.unwrap_or_default();
        if got.len() >= n || begun.elapsed() > Duration::from_secs(60) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
