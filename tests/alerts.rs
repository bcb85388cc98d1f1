//! Alerts against local receivers: one message per cause until it clears,
//! then one "resolved"; the JSON, Slack and Matrix formats; retries with
//! Matrix's transaction id kept; a receiver that hangs delays nothing but
//! the alerts behind it; a rate limit; and the daemon end to end (a post
//! refused by a Mastodon-API server, then one that goes out).

mod common;

use std::path::PathBuf;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use campaign_bot::alerts::{Alerts, Cause, MAX_PER_HOUR};
use campaign_bot::config::{AlertFormat, AlertsConfig, SecretSource};
use serde_json::Value;
use wiremock::matchers::{body_string_contains, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A config whose webhook is `url`, read from a secret file.
fn config(dir: &tempfile::TempDir, url: &str, format: AlertFormat) -> AlertsConfig {
    let file: PathBuf = dir.path().join("webhook");
    std::fs::write(&file, url).unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "matrix-sentinel-token").unwrap();
    AlertsConfig {
        webhook: SecretSource::File(file),
        format,
        matrix_token: (format == AlertFormat::Matrix).then_some(SecretSource::File(token)),
    }
}

async fn received(server: &MockServer, n: usize) -> Vec<Request> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = server.received_requests().await.unwrap_or_default();
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A local receiver answering every POST with `answer`.
async fn receiver(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// Alerts to `url`, with the usual timings.
fn started(dir: &tempfile::TempDir, url: &str, format: AlertFormat) -> Alerts {
    Alerts::start(&config(dir, url, format)).unwrap()
}

fn json(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn one_message_per_cause_until_it_clears_then_one_resolved() {
    let server = receiver(ResponseTemplate::new(204)).await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = started(&dir, &format!("{}/hook", server.uri()), AlertFormat::Json);
    alerts.raise(
        Cause::PostFailed("masto".into()),
        "a post on masto failed for good: 422",
    );
    alerts.raise(Cause::PostFailed("masto".into()), "again");
    alerts.raise(Cause::PostFailed("masto".into()), "and again");
    alerts.clear(Cause::PostFailed("masto".into()));
    alerts.clear(Cause::PostFailed("masto".into()));
    alerts.clear(Cause::Paused("sky".into())); // never raised: nothing
    received(&server, 2).await;
    // Time for anything more to arrive (nothing should).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 2, "one firing, one resolved");
    let (first, second) = (json(&got[0]), json(&got[1]));
    assert_eq!(first["source"], "campaign-bot");
    assert_eq!(first["status"], "firing");
    assert_eq!(first["cause"], "post-failed:masto");
    assert_eq!(first["message"], "a post on masto failed for good: 422");
    assert!(first["at"].as_str().unwrap().starts_with("20"));
    assert_eq!(second["status"], "resolved");
    assert_eq!(second["cause"], "post-failed:masto");
}

#[tokio::test]
async fn slack_gets_its_text_and_matrix_its_room_message_retried_under_one_transaction() {
    let slack = receiver(ResponseTemplate::new(200).set_body_string("ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = started(
        &dir,
        &format!("{}/services/T0/B0/XYZ", slack.uri()),
        AlertFormat::Slack,
    );
    alerts.raise(Cause::Store, "slots cannot be recorded in the state store");
    let got = received(&slack, 1).await;
    assert_eq!(
        json(&got[0]),
        serde_json::json!({ "text": "campaign-bot ALERT: slots cannot be recorded in the state store" })
    );

    // Matrix: a 502 first, then the same transaction again.
    let matrix = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/_matrix/client/v3/rooms/!room:example.org/send/m.room.message/campaign-bot-[0-9]+-[0-9]+$"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&matrix)
        .await;
    Mock::given(method("PUT"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"event_id": "$e"})),
        )
        .mount(&matrix)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "{}/_matrix/client/v3/rooms/!room:example.org/send/m.room.message",
        matrix.uri()
    );
    let alerts = Alerts::start_with(
        &config(&dir, &url, AlertFormat::Matrix),
        Duration::from_secs(5),
        Duration::from_millis(10),
    )
    .unwrap();
    alerts.raise(Cause::Paused("masto".into()), "target masto is paused: 401");
    let got = received(&matrix, 2).await;
    assert_eq!(got.len(), 2, "the 502 is tried again");
    assert_eq!(
        got[0].url.path(),
        got[1].url.path(),
        "under the same transaction id"
    );
    assert_eq!(
        got[1]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        "Bearer matrix-sentinel-token"
    );
    let body = json(&got[1]);
    assert_eq!(body["msgtype"], "m.text");
    assert_eq!(
        body["body"],
        "campaign-bot ALERT: target masto is paused: 401"
    );
}

#[tokio::test]
async fn a_receiver_that_hangs_delays_nothing_but_the_alerts_behind_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("first"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = Alerts::start_with(
        &config(&dir, &format!("{}/hook", server.uri()), AlertFormat::Json),
        Duration::from_millis(300),
        Duration::from_millis(10),
    )
    .unwrap();
    let start = Instant::now();
    alerts.raise(Cause::PostFailed("a".into()), "first");
    alerts.raise(Cause::PostFailed("b".into()), "second");
    assert!(
        start.elapsed() < Duration::from_millis(50),
        "raising an alert never waits"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = server.received_requests().await.unwrap();
        if got.iter().any(|r| json(r)["message"] == "second") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second alert went out after the first gave up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_more_than_the_hourly_limit_goes_out() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let alerts = started(&dir, &format!("{}/hook", server.uri()), AlertFormat::Json);
    for i in 0..MAX_PER_HOUR + 5 {
        alerts.raise(Cause::PostFailed(format!("t{i}")), format!("failure {i}"));
    }
    received(&server, MAX_PER_HOUR).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        MAX_PER_HOUR
    );
}

#[tokio::test]
async fn the_daemon_alerts_on_a_refused_post_and_resolves_when_one_goes_out() {
    let masto = MockServer::start().await;
    common::serve_mastodon_media(&masto).await;
    common::serve(
        &masto,
        "GET /api/v2/instance",
        common::recorded("test_instance.json", 0),
    )
    .await;
    common::serve(
        &masto,
        "GET /api/v1/accounts/verify_credentials",
        common::recorded("test_account.json", 0),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(common::recorded("test_lang_for_errors.json", 0))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&masto)
        .await;
    common::serve(
        &masto,
        "POST /api/v1/statuses",
        common::recorded("test_status_post_none_public.json", 0),
    )
    .await;
    let receiver = receiver(ResponseTemplate::new(200)).await;
    let dir = common::workdir_with_posts();
    let hook = format!("{}/hook/secret-path", receiver.uri());
    let mut child = common::bot(dir.path())
        .arg("run")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", masto.uri())
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
        .env("MASTO_TOKEN", "sentinel-token")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .env("CAMPAIGN_BOT__ALERTS__WEBHOOK_ENV", "ALERT_HOOK")
        .env("ALERT_HOOK", &hook)
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = received(&receiver, 2).await;
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let out = child.stdout.take().map(|mut s| {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut s, &mut t).unwrap();
        t
    });
    let bodies: Vec<Value> = got.iter().map(json).collect();
    assert!(bodies.len() >= 2, "{bodies:?}");
    assert_eq!(bodies[0]["status"], "firing");
    assert_eq!(bodies[0]["cause"], "post-failed:masto");
    assert!(
        bodies[0]["message"].as_str().unwrap().contains("422"),
        "{bodies:?}"
    );
    assert_eq!(bodies[1]["status"], "resolved");
    assert!(
        !out.unwrap_or_default().contains("secret-path"),
        "the webhook's URL is a secret: it is never logged"
    );
}

#[tokio::test]
async fn the_daemon_alerts_when_a_token_it_cannot_renew_ends_within_a_week() {
    let receiver = receiver(ResponseTemplate::new(200)).await;
    let dir = common::workdir_with_posts();
    let hook = format!("{}/hook/secret-path", receiver.uri());
    let ends = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let mut child = common::bot(dir.path())
        .arg("run")
        .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
        .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", "http://127.0.0.1:9")
        .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", "2414183")
        .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_ENV", "LI_TOKEN")
        .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_EXPIRES", &ends)
        .env("LI_TOKEN", "sentinel-token")
        .env("CAMPAIGN_BOT__ALERTS__WEBHOOK_ENV", "ALERT_HOOK")
        .env("ALERT_HOOK", &hook)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let got = received(&receiver, 1).await;
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let body = json(&got[0]);
    assert_eq!(body["status"], "firing");
    assert_eq!(body["cause"], "token-expiry:li");
    assert_eq!(
        body["message"].as_str().unwrap(),
        format!(
            "the token of target li expires on {ends} (in 3 days); get a new one (campaign-bot login linkedin) and set it"
        )
    );
}
