//! The binary against a Mastodon-API wiremock server answering with the
//! recorded responses: post-now for a slot, validate with the server's
//! limits, the daemon end to end, and the login flow.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::json;
use wiremock::MockServer;

use common::*;

const TOKEN: &str = "sentinel-token-7f3a";

fn bot_cmd(dir: &Path, server: &MockServer) -> StdCommand {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
        .env("MASTO_TOKEN", TOKEN);
    cmd
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    Command::from_std(bot_cmd(dir, server))
}

async fn mount_basics(server: &MockServer) {
    serve(
        server,
        "GET /api/v2/instance",
        recorded("test_instance.json", 0),
    )
    .await;
    serve(
        server,
        "POST /api/v1/statuses",
        recorded("test_status_post_none_public.json", 0),
    )
    .await;
    serve(
        server,
        "GET /api/v1/accounts/verify_credentials",
        recorded("test_account.json", 0),
    )
    .await;
    serve_mastodon_media(server).await;
}

async fn status_posts(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/v1/statuses")
        .collect()
}

fn field(r: &wiremock::Request, name: &str) -> Option<String> {
    form(&r.body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn post_now_for_a_slot_posts_one_french_status_and_never_twice() {
    let server = MockServer::start().await;
    mount_basics(&server).await;
    let dir = workdir_with_posts();
    let args = [
        "post-now",
        "--target",
        "masto",
        "--lang",
        "fr",
        "--slot",
        "2026-12-18T09:00:00+01:00",
    ];
    bot(dir.path(), &server)
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("masto: posted"))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server)
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let sent = status_posts(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(field(&sent[0], "language").as_deref(), Some("fr"));
    assert!(
        field(&sent[0], "status")
            .unwrap()
            .ends_with("#WeTogether #Cities4Migration")
    );
}

/// Issue 27: right after posting, `report` lists the post as not checked
/// yet (never "nothing recorded", never counts of 0), and says how many
/// wait; the CSV leaves its counts empty.
#[tokio::test]
async fn report_right_after_post_now_lists_the_post_as_not_checked_yet() {
    let server = MockServer::start().await;
    mount_basics(&server).await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(["post-now", "--target", "masto", "--lang", "fr"])
        .assert()
        .success();
    let out = bot(dir.path(), &server).arg("report").assert().success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        table.contains("1 post published") && table.contains("1 post: not checked yet"),
        "{table}"
    );
    assert!(table.contains("[fr] on masto") && !table.contains("No engagement recorded"));
    let out = bot(dir.path(), &server)
        .args(["report", "--format", "csv"])
        .assert()
        .success();
    let csv = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let row = csv.lines().nth(1).expect("a row for the post");
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(cells[2], "masto");
    assert_eq!(cells[5], "fr");
    // likes, reposts, replies, quotes, total: empty, not 0.
    assert_eq!(&cells[6..11], &["", "", "", "", ""], "{row}");
}

#[tokio::test]
async fn validate_uses_the_servers_max_characters() {
    let server = MockServer::start().await;
    let mut inst = body("test_instance.json", 0);
    inst["configuration"]["statuses"]["max_characters"] = json!(200);
    serve(
        &server,
        "GET /api/v2/instance",
        respond(200, &headers("test_instance.json", 0), inst),
    )
    .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "too long for target masto (mastodon)",
        ))
        .stdout(predicate::str::contains("over the limit of 200"));
    // Offline, the cached limit from the last answer is used.
    bot(dir.path(), &server)
        .args(["validate", "--offline"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("over the limit of 200"));
}

#[tokio::test]
async fn the_daemon_posts_rotating_languages_and_stops_on_sigterm() {
    let server = MockServer::start().await;
    mount_basics(&server).await;
    let dir = workdir_with_posts();
    let child = bot_cmd(dir.path(), &server)
        .arg("run")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_posts(&server).await.len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let logs = String::from_utf8_lossy(&out.stdout);
    assert!(!logs.contains(TOKEN), "the token appeared in the logs");
    let sent = status_posts(&server).await;
    assert!(sent.len() >= 3);
    let langs: Vec<String> = sent
        .iter()
        .take(3)
        .map(|r| field(r, "language").unwrap())
        .collect();
    assert_eq!(langs, ["en", "fr", "ar"]);
    let mut keys: Vec<String> = sent
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), sent.len(), "each slot has its own key");
}

#[tokio::test]
async fn status_checks_the_token() {
    let server = MockServer::start().await;
    mount_basics(&server).await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "credentials work (@mastodonpy_test",
        ));
}

#[tokio::test]
async fn login_registers_an_app_and_saves_the_token_without_printing_it() {
    let server = MockServer::start().await;
    serve(&server, "POST /api/v1/apps", respond(
            200,
            &headers("test_app_verify_credentials.json", 0),
            json!({
                "id": "563419",
                "name": "campaign-bot",
                "website": null,
                "scopes": ["read", "write:statuses", "write:media"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
                "client_id": "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
                "client_secret": "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw",
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M="
            }),
        )).await;
    serve(&server, "POST /oauth/token", respond(
            200,
            &headers("test_app_verify_credentials.json", 0),
            json!({"access_token": TOKEN, "token_type": "Bearer", "scope": "read write:statuses write:media", "created_at": 1_790_000_000}),
        )).await;
    serve(
        &server,
        "GET /api/v1/accounts/verify_credentials",
        recorded("test_account.json", 0),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("secrets/masto");
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin!("campaign-bot"))
        .current_dir(dir.path())
        .args([
            "login",
            "mastodon",
            "--instance",
            &server.uri(),
            "--token-file",
        ])
        .arg(&token_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"the-code-from-the-page\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("/oauth/authorize?"), "{stdout}");
    assert!(
        stdout.contains("scope=read+write%3Astatuses+write%3Amedia")
            || stdout.contains("scope=read%20write%3Astatuses%20write%3Amedia"),
        "{stdout}"
    );
    assert!(stdout.contains("@mastodonpy_test"));
    assert!(!stdout.contains(TOKEN), "the token was printed");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), TOKEN);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let reqs = server.received_requests().await.unwrap();
    let token_req = reqs
        .iter()
        .find(|r| r.url.path() == "/oauth/token")
        .unwrap();
    assert!(String::from_utf8_lossy(&token_req.body).contains("the-code-from-the-page"));
}
