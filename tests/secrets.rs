//! Sentinel secrets, one per network (a Mastodon token in a file, a Bluesky
//! app password, a Telegram bot token, X, LinkedIn, Threads, Facebook and
//! Instagram tokens in environment variables) go through every command,
//! with the most verbose logs, and are found in no output, log line,
//! outbox, engagement log, report or database row. Mastodon, Bluesky,
//! Telegram, Threads and Instagram take the posts; X, LinkedIn and
//! Facebook refuse the token (401, Meta's 190), so their error paths are
//! searched too.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use common::container_server::{self, ContainerServer};
use common::*;

/// Where `posts/` would be served, for Threads' and Instagram's images.
const MEDIA_BASE: &str = "https://example.org/campaign/posts";

const TOKEN: &str = "SENTINEL-MASTODON-TOKEN-9c41e7";
const PASSWORD: &str = "SENTINEL-BLUESKY-PASSWORD-3f08aa";
/// A Telegram bot token is part of every Bot API address.
const TELEGRAM: &str = "987654:SENTINEL-TELEGRAM-TOKEN-51ab";
const DID: &str = "did:plc:sentinelbot00000000000000";
const X: &str = "SENTINEL-X-TOKEN-77d2";
const LINKEDIN: &str = "SENTINEL-LINKEDIN-TOKEN-0b9e";
const THREADS: &str = "SENTINEL-THREADS-TOKEN-c3f1";
const FACEBOOK: &str = "SENTINEL-FACEBOOK-TOKEN-a820";
const INSTAGRAM: &str = "SENTINEL-INSTAGRAM-TOKEN-4d6c";
const OTHERS: [(&str, &str); 5] = [
    ("X", X),
    ("LinkedIn", LINKEDIN),
    ("Threads", THREADS),
    ("Facebook", FACEBOOK),
    ("Instagram", INSTAGRAM),
];

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
    serve_mastodon_media(&server).await;
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
            "POST",
            "/xrpc/com.atproto.repo.uploadBlob",
            json!({"blob": {"$type": "blob", "ref": {"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"}, "mimeType": "image/jpeg", "size": 140085}}),
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

/// X and LinkedIn refusing the token (401), Facebook likewise (Meta's
/// expired-token error, errors_auth.json's first).
async fn refusing() -> (MockServer, MockServer) {
    let plain = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"title": "Unauthorized", "status": 401})),
        )
        .mount(&plain)
        .await;
    let meta = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(recorded_of("facebook", "errors_auth.json", 0))
        .mount(&meta)
        .await;
    (plain, meta)
}

/// The servers of the other five networks.
struct Others {
    plain: MockServer,
    meta: MockServer,
    threads: ContainerServer,
    instagram: ContainerServer,
}

fn bot(
    dir: &Path,
    masto: &MockServer,
    sky: &MockServer,
    tg: &MockServer,
    others: &Others,
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
        .env("CAMPAIGN_BOT__TARGETS__XT__KIND", "x")
        .env("CAMPAIGN_BOT__TARGETS__XT__API_URL", others.plain.uri())
        .env("CAMPAIGN_BOT__TARGETS__XT__TOKEN_ENV", "X_TOKEN")
        .env("X_TOKEN", X)
        .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
        .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", others.plain.uri())
        .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", "2414183")
        .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_ENV", "LI_TOKEN")
        .env("LI_TOKEN", LINKEDIN)
        .env("CAMPAIGN_BOT__TARGETS__THR__KIND", "threads")
        .env("CAMPAIGN_BOT__TARGETS__THR__API_URL", others.threads.url())
        .env("CAMPAIGN_BOT__TARGETS__THR__MEDIA_BASE_URL", MEDIA_BASE)
        .env("CAMPAIGN_BOT__TARGETS__THR__TOKEN_ENV", "THREADS_TOKEN")
        .env("THREADS_TOKEN", THREADS)
        .env("CAMPAIGN_BOT__TARGETS__FB__KIND", "facebook")
        .env("CAMPAIGN_BOT__TARGETS__FB__API_URL", others.meta.uri())
        .env("CAMPAIGN_BOT__TARGETS__FB__PAGE", "175154750010052")
        .env("CAMPAIGN_BOT__TARGETS__FB__TOKEN_ENV", "FB_TOKEN")
        .env("FB_TOKEN", FACEBOOK)
        .env("CAMPAIGN_BOT__TARGETS__IG__KIND", "instagram")
        .env("CAMPAIGN_BOT__TARGETS__IG__API_URL", others.instagram.url())
        .env(
            "CAMPAIGN_BOT__TARGETS__IG__ACCOUNT",
            container_server::INSTAGRAM.user,
        )
        .env("CAMPAIGN_BOT__TARGETS__IG__MEDIA_BASE_URL", MEDIA_BASE)
        .env("CAMPAIGN_BOT__TARGETS__IG__TOKEN_ENV", "IG_TOKEN")
        .env("IG_TOKEN", INSTAGRAM)
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
    for (network, token) in OTHERS {
        assert!(
            !text.contains(token),
            "the {network} token appears in {what}"
        );
    }
}

#[tokio::test]
async fn sentinel_secrets_appear_nowhere() {
    let masto = mastodon().await;
    let sky = bluesky().await;
    let tg = telegram().await;
    let (plain, meta) = refusing().await;
    let others = Others {
        plain,
        meta,
        threads: ContainerServer::start(container_server::THREADS, false).await,
        instagram: ContainerServer::start(container_server::INSTAGRAM, false).await,
    };
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
        vec!["login", "x"],
        vec!["login", "linkedin"],
        vec!["login", "threads"],
        vec!["login", "facebook"],
        vec!["login", "instagram"],
    ];
    for json_logs in [false, true] {
        for args in &commands {
            let out = bot(
                dir.path(),
                &masto,
                &sky,
                &tg,
                &others,
                &secret_file,
                json_logs,
            )
            .args(args)
            .output()
            .unwrap();
            assert_clean(&format!("the output of {args:?}"), &out.stdout);
            assert_clean(&format!("the logs of {args:?}"), &out.stderr);
        }
        // The daemon, for a few seconds.
        let child = bot(
            dir.path(),
            &masto,
            &sky,
            &tg,
            &others,
            &secret_file,
            json_logs,
        )
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
            .any(|r| r.url.path().ends_with("/sendPhoto")),
        "the Telegram target posted (its card)"
    );
    assert!(
        !others.threads.state.lock().unwrap().posts.is_empty()
            && !others.instagram.state.lock().unwrap().posts.is_empty(),
        "the Threads and Instagram targets posted"
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
    // X and LinkedIn as a bearer token, Facebook, Threads and Instagram
    // as `access_token` (in the form body or the query).
    let carried = |requests: &[wiremock::Request], token: &str| {
        requests.iter().any(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v == &format!("Bearer {token}"))
                || r.url.query().unwrap_or_default().contains(token)
                || String::from_utf8_lossy(&r.body).contains(token)
        })
    };
    let plain = others.plain.received_requests().await.unwrap();
    let meta = others.meta.received_requests().await.unwrap();
    let threads = others.threads.server.received_requests().await.unwrap();
    let instagram = others.instagram.server.received_requests().await.unwrap();
    assert!(carried(&plain, X) && carried(&plain, LINKEDIN));
    assert!(carried(&meta, FACEBOOK));
    assert!(carried(&threads, THREADS) && carried(&instagram, INSTAGRAM));
    // One login for the whole run: the session is kept and reused.
    assert_eq!(
        logins
            .iter()
            .filter(|r| r.url.path().ends_with("createSession"))
            .count(),
        1
    );
}
