//! Sentinel secrets (a Mastodon token in a file, a Bluesky app password in
//! an environment variable) go through every command, with the most verbose
//! logs, and are found in no output, log line, outbox, engagement log,
//! report or database row.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::*;

const TOKEN: &str = "SENTINEL-MASTODON-TOKEN-9c41e7";
const PASSWORD: &str = "SENTINEL-BLUESKY-PASSWORD-3f08aa";
/// A Telegram bot token is part of every Bot API address.
const TELEGRAM: &str = "987654:SENTINEL-TELEGRAM-TOKEN-51ab";
const DID: &str = "did:plc:sentinelbot00000000000000";

async fn mastodon() -> MockServer {
    let server = MockServer::start().await;
    for (m, p, file, i) in [
        ("GET", "/api/v2/instance", "test_instance.json", 0),
        (
            "POST",
            "/api/v1/statuses",
            "test_status_post_none_public.json",
            0,
        ),
        (
            "GET",
            "/api/v1/accounts/verify_credentials",
            "test_account.json",
            0,
        ),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(recorded(file, i))
            .mount(&server)
            .await;
    }
    serve(
        &server,
        "GET /api/v1/statuses",
        respond(
            200,
            &headers("test_status_fav_unfav.json", 1),
            json!([body("test_status_fav_unfav.json", 1)]),
        ),
    )
    .await;
    server
}

async fn bluesky() -> MockServer {
    let server = MockServer::start().await;
    let session = json!({"accessJwt": "access.jwt.value", "refreshJwt": "refresh.jwt.value", "handle": "bot.test", "did": DID});
    let uri = format!("at://{DID}/app.bsky.feed.post/3lbqkz2f6ns2a");
    for (m, p, body) in [
        (
            "POST",
            "/xrpc/com.atproto.server.createSession",
            session.clone(),
        ),
        (
            "GET",
            "/xrpc/com.atproto.server.getSession",
            json!({"handle": "bot.test", "did": DID}),
        ),
        (
            "POST",
            "/xrpc/com.atproto.repo.putRecord",
            json!({"uri": uri, "cid": "bafyreib2rxk3rybloqtqwbo"}),
        ),
        (
            "GET",
            "/xrpc/app.bsky.feed.getPosts",
            json!({"posts": [{"uri": uri, "cid": "bafyreib2rxk3rybloqtqwbo", "likeCount": 2, "repostCount": 1, "replyCount": 0, "quoteCount": 0}]}),
        ),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

/// A Bot API server: posts to the channel and says who the bot is.
async fn telegram() -> MockServer {
    let server = MockServer::start().await;
    for (p, file) in [
        ("sendMessage", "doc_send_message_channel.json"),
        ("sendPhoto", "doc_send_photo_channel.json"),
        ("getMe", "doc_get_me.json"),
    ] {
        let ex = common::exchange_of("telegram", file, 0);
        Mock::given(path(format!("/bot{TELEGRAM}/{p}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(ex["response"]["body"].clone()))
            .mount(&server)
            .await;
    }
    server
}

fn bot(
    dir: &Path,
    masto: &MockServer,
    sky: &MockServer,
    tg: &MockServer,
    secret_file: &Path,
    json_logs: bool,
) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("RUST_LOG", "trace")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", masto.uri())
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_FILE", secret_file)
        .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
        .env("CAMPAIGN_BOT__TARGETS__SKY__SERVICE", sky.uri())
        .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", "bot.test")
        .env("CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV", "SKY_PASSWORD")
        .env("SKY_PASSWORD", PASSWORD)
        .env("CAMPAIGN_BOT__TARGETS__TG__KIND", "telegram")
        .env("CAMPAIGN_BOT__TARGETS__TG__CHANNEL", "@campaign")
        .env("CAMPAIGN_BOT__TARGETS__TG__API_URL", tg.uri())
        .env("CAMPAIGN_BOT__TARGETS__TG__TOKEN_ENV", "TG_TOKEN")
        .env("TG_TOKEN", TELEGRAM)
        .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox");
    if json_logs {
        cmd.env("LOG_FORMAT", "json");
    }
    cmd
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains(TOKEN),
        "the Mastodon token appears in {what}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the Bluesky password appears in {what}"
    );
    assert!(
        !text.contains(TELEGRAM) && !text.contains("SENTINEL-TELEGRAM"),
        "the Telegram token appears in {what}"
    );
}

#[tokio::test]
async fn sentinel_secrets_appear_nowhere() {
    let masto = mastodon().await;
    let sky = bluesky().await;
    let tg = telegram().await;
    let dir = workdir_with_posts();
    let secret_file = dir.path().join("mastodon_token");
    std::fs::write(&secret_file, TOKEN).unwrap();

    let commands: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["validate"],
        vec!["validate", "--offline"],
        vec!["preview", "--next", "3"],
        vec!["post-now"],
        vec![
            "post-now",
            "--lang",
            "ar",
            "--slot",
            "2026-12-18T09:00:00+01:00",
        ],
        vec![
            "post-now",
            "--lang",
            "ar",
            "--slot",
            "2026-12-18T09:00:00+01:00",
        ],
        vec!["status"],
        vec!["status", "--health"],
        vec!["engagement", "--all"],
        vec!["report"],
        vec!["report", "--format", "csv"],
        vec!["report", "--format", "json"],
        vec!["report", "--html", "report.html"],
        vec!["login", "bluesky"],
        vec!["login", "telegram"],
    ];
    for json_logs in [false, true] {
        for args in &commands {
            let out = bot(dir.path(), &masto, &sky, &tg, &secret_file, json_logs)
                .args(args)
                .output()
                .unwrap();
            assert_clean(&format!("the output of {args:?}"), &out.stdout);
            assert_clean(&format!("the logs of {args:?}"), &out.stderr);
        }
        // The daemon, for a few seconds.
        let child = bot(dir.path(), &masto, &sky, &tg, &secret_file, json_logs)
            .arg("run")
            .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_clean("the daemon's logs", &out.stdout);
        assert_clean("the daemon's errors", &out.stderr);
    }
    assert!(
        tg.received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path().ends_with("/sendMessage")),
        "the Telegram target posted"
    );
    // Everything the bot wrote.
    let written = files_under(&dir.path().join("data"));
    assert!(written.iter().any(|p| p.ends_with("state.db")));
    assert!(written.iter().any(|p| p.ends_with("outbox.jsonl")));
    assert!(written.iter().any(|p| p.ends_with("engagement.jsonl")));
    for f in written
        .iter()
        .chain([dir.path().join("report.html")].iter())
    {
        assert_clean(&f.display().to_string(), &std::fs::read(f).unwrap());
    }
    // And every row of every table, read through SQLite.
    let conn = rusqlite::Connection::open(dir.path().join("data/state.db")).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let cols = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..cols)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_clean(&format!("table {t}"), rows.join("\n").as_bytes());
    }
    // The servers did get the secrets: they were used, just never shown.
    let sent = masto.received_requests().await.unwrap();
    assert!(sent.iter().any(|r| {
        r.headers
            .get("authorization")
            .is_some_and(|v| v == &format!("Bearer {TOKEN}"))
    }));
    let logins = sky.received_requests().await.unwrap();
    assert!(
        logins
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(PASSWORD))
    );
    // One login for the whole run: the session is kept and reused.
    assert_eq!(
        logins
            .iter()
            .filter(|r| r.url.path().ends_with("createSession"))
            .count(),
        1
    );
}
