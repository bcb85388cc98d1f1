//! The daemon's HTTP endpoint (`[server] listen`), on loopback: what it
//! answers, what it refuses, and that clients which hang cannot hold
//! posting up.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

/// The daemon on the shipped posts with an outbox, a slot every 2 s and the
/// endpoint on a free loopback port; its address, read from its log.
fn daemon(dir: &Path) -> (Child, String) {
    let mut cmd = common::bot(dir);
    cmd.args(["run"])
        .env("CAMPAIGN_BOT__SERVER__LISTEN", "127.0.0.1:0")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "*/2 * * * * *")
        .env("CAMPAIGN_BOT__SCHEDULE__GRACE", "1m")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://127.0.0.1:") {
                let addr: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                let _ = tx.send(addr.trim_end_matches(':').to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the daemon logs where its endpoint listens");
    (child, addr)
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

async fn get(addr: &str, path: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

fn outbox_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("data/outbox.jsonl"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_endpoint_answers_health_readiness_metrics_and_calendar() {
    let dir = common::workdir_with_posts();
    let (child, addr) = daemon(dir.path());
    let (status, _, body) = get(&addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    let (status, kind, body) = get(&addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kind, "application/json");
    assert_eq!(body.trim(), r#"{"ready":true}"#);

    // Wait for a post in the metrics. Its counter moves after the post is
    // written and recorded, so the outbox is no sign: look at the metrics
    // until it shows (or time runs out).
    let start = Instant::now();
    let published =
        r#"campaign_bot_posts_total{target="outbox",language="en",outcome="published"} "#;
    let (status, kind, body) = loop {
        let (status, kind, body) = get(&addr, "/metrics").await;
        if body.lines().any(|l| l.starts_with(published))
            || start.elapsed() > Duration::from_secs(20)
        {
            break (status, kind, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert!(body.lines().any(|l| l.starts_with(published)), "{body}");
    for family in [
        "campaign_bot_target_paused{target=\"outbox\"} 0",
        "campaign_bot_last_post_timestamp_seconds{target=\"outbox\"}",
        "campaign_bot_next_slot_seconds ",
        "campaign_bot_store_bytes ",
        "# EOF",
    ] {
        assert!(body.contains(family), "{family} in {body}");
    }

    let (status, kind, body) = get(&addr, "/calendar.ics").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/calendar"), "{kind}");
    assert!(body.contains("SUMMARY:outbox: "), "{body}");
    // The texts of coming posts are not published by the endpoint.
    assert!(!body.contains("#Cities4Migration"), "{body}");

    let (status, _, _) = get(&addr, "/nothing-here").await;
    assert_eq!(status, 404);
    let post = reqwest::Client::new()
        .post(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405, "GET only");

    // No posts folder: not ready, and the reason says so.
    std::fs::rename(dir.path().join("posts"), dir.path().join("posts.away")).unwrap();
    let (status, _, body) = get(&addr, "/readyz").await;
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert!(
        v["reason"].as_str().unwrap().contains("posts folder"),
        "{body}"
    );
    stop(child);
}

#[tokio::test]
async fn clients_that_hang_cannot_hold_posting_or_the_endpoint_up() {
    let dir = common::workdir_with_posts();
    let (child, addr) = daemon(dir.path());
    // More connections than the endpoint serves at once, each sending half
    // a request and then nothing.
    let mut hanging = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").await;
        hanging.push(s);
    }
    // Posting goes on: two slots later there are posts.
    let before = outbox_lines(dir.path());
    let start = Instant::now();
    while outbox_lines(dir.path()) < before + 2 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        outbox_lines(dir.path()) >= before + 2,
        "slots went on while 40 clients hung"
    );
    // The hanging clients are cut off after the header timeout, and the
    // endpoint answers again.
    let (status, _, _) = get(&addr, "/healthz").await;
    assert_eq!(status, 200);
    drop(hanging);
    stop(child);
}

#[test]
fn a_bad_or_busy_listen_address_is_a_clear_error() {
    let dir = common::workdir_with_posts();
    let out = common::bot(dir.path())
        .args(["validate"])
        .env("CAMPAIGN_BOT__SERVER__LISTEN", "localhost:nine")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.listen") && err.contains("127.0.0.1:9184"),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = common::bot(dir.path())
        .args(["run"])
        .env("CAMPAIGN_BOT__SERVER__LISTEN", &addr)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}
