//! One campaign on all six networks at once: Mastodon, X and LinkedIn on
//! wiremock servers answering with their fixtures (only the ids changed,
//! so that two posts are two posts), Threads on the Threads-like server of
//! the crash suite, Bluesky on the real local network and Telegram on the
//! real Bot API emulator (both started by `scripts/test.sh`). The config
//! validates, the preview names every target, each slot is posted once on
//! each network however often it is asked for, and `report` shows each
//! network's counts side by side.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::threads_server::ThreadsServer;
use common::*;

/// KEY=VALUE lines of a peer's env file (`scripts/test.sh` writes them).
fn peer(var: &str, default: &str) -> HashMap<String, String> {
    let file = std::env::var(var).unwrap_or_else(|_| default.into());
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{file}: {e}; start the local peers with scripts/test.sh"));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A fixture's answer for each request, its id made new each time.
fn numbered(
    network: &'static str,
    file: &'static str,
    index: usize,
    set_id: fn(&mut Value, u64),
) -> impl Fn(&Request) -> ResponseTemplate {
    let next = Arc::new(AtomicU64::new(1));
    move |_: &Request| {
        let ex = exchange_of(network, file, index);
        let mut body = ex["response"]["body"].clone();
        set_id(&mut body, next.fetch_add(1, Ordering::SeqCst));
        respond(
            ex["response"]["status"].as_u64().unwrap() as u16,
            &ex["response"]["headers"],
            body,
        )
    }
}

async fn mastodon() -> MockServer {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET /api/v2/instance",
        recorded("test_instance.json", 0),
    )
    .await;
    serve(
        &server,
        "GET /api/v1/accounts/verify_credentials",
        recorded("test_account.json", 0),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(numbered(
            "mastodon",
            "test_status_fav_unfav.json",
            0,
            |b, n| b["id"] = json!(format!("1100000000000000{n}")),
        ))
        .mount(&server)
        .await;
    // Counts: the recorded status after a favourite, for each id asked.
    Mock::given(method("GET"))
        .and(path("/api/v1/statuses"))
        .respond_with(|r: &Request| {
            let ex = exchange("test_status_fav_unfav.json", 1);
            let list: Vec<Value> = r
                .url
                .query_pairs()
                .filter(|(k, _)| k == "id[]")
                .map(|(_, id)| {
                    let mut b = ex["response"]["body"].clone();
                    b["id"] = json!(id);
                    b
                })
                .collect();
            respond(200, &ex["response"]["headers"], json!(list))
        })
        .mount(&server)
        .await;
    server
}

async fn x() -> MockServer {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET /2/users/me",
        recorded_of("x", "test_client_get_me.json", 0),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(numbered(
            "x",
            "test_client_create_and_delete_tweet.json",
            0,
            |b, n| b["data"]["id"] = json!(format!("14560129738357888{n:02}")),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/tweets"))
        .respond_with(|r: &Request| {
            let ex = exchange_of("x", "doc_get_tweet_public_metrics.json", 1);
            let template = ex["response"]["body"]["data"][0].clone();
            let ids = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "ids")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let data: Vec<Value> = ids
                .split(',')
                .map(|id| {
                    let mut t = template.clone();
                    t["id"] = json!(id);
                    t
                })
                .collect();
            respond(200, &ex["response"]["headers"], json!({ "data": data }))
        })
        .mount(&server)
        .await;
    server
}

async fn linkedin() -> MockServer {
    let server = MockServer::start().await;
    let next = Arc::new(AtomicU64::new(1));
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(move |_: &Request| {
            let n = next.fetch_add(1, Ordering::SeqCst);
            let ex = exchange_of("linkedin", "create_post.json", 0);
            let mut t = ResponseTemplate::new(ex["response"]["status"].as_u64().unwrap() as u16);
            for (k, v) in ex["response"]["headers"].as_object().unwrap() {
                let v = if k == "x-restli-id" {
                    format!("urn:li:share:71411389377663918{n:02}")
                } else {
                    v.as_str().unwrap().to_string()
                };
                t = t.insert_header(k.as_str(), v.as_str());
            }
            t
        })
        .mount(&server)
        .await;
    // Images (the documented Images API answer, as in tests/linkedin.rs).
    let upload = format!("{}/dms-uploads/image", server.uri());
    serve(
        &server,
        "POST /rest/images",
        ResponseTemplate::new(200).set_body_json(
            json!({"value": {"uploadUrl": upload, "image": "urn:li:image:C4E10AQFoyyAjHPMQuQ"}}),
        ),
    )
    .await;
    serve(
        &server,
        "PUT /dms-uploads/image",
        ResponseTemplate::new(201),
    )
    .await;
    // The statistics of each share asked (the fixture's counts).
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityShareStatistics"))
        .respond_with(|r: &Request| {
            let ex = exchange_of("linkedin", "share_statistics.json", 0);
            let template = ex["response"]["body"]["elements"][0].clone();
            let query = r.url.query().unwrap_or_default().to_string();
            let shares = query
                .split('&')
                .find_map(|p| p.strip_prefix("shares=List("))
                .map(|l| l.trim_end_matches(')').to_string())
                .unwrap_or_default();
            let elements: Vec<Value> = shares
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let mut e = template.clone();
                    e["share"] = json!(s.replace("%3A", ":"));
                    e
                })
                .collect();
            respond(
                200,
                &ex["response"]["headers"],
                json!({ "elements": elements, "paging": ex["response"]["body"]["paging"] }),
            )
        })
        .mount(&server)
        .await;
    server
}

async fn sent(server: &MockServer, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == at)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_six_networks_validate_preview_post_each_slot_once_and_report_side_by_side() {
    let sky = peer("BSKY_ENV_FILE", "/var/tmp/campaign-bot/bsky-net/env");
    let tg = peer("TELEGRAM_ENV_FILE", "/var/tmp/campaign-bot/telegram/env");
    let tg_token = format!("{}{}", tg["TELEGRAM_BOT_TOKEN"], std::process::id());
    let (masto, xs, li) = (mastodon().await, x().await, linkedin().await);
    let threads = ThreadsServer::start(false).await;
    let dir = workdir_with_posts();

    let bot = |dir: &Path| {
        let mut cmd = common::bot_command();
        cmd.current_dir(dir)
            .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
            .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", masto.uri())
            .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
            .env("MASTO_TOKEN", "sentinel-masto")
            .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
            .env("CAMPAIGN_BOT__TARGETS__SKY__SERVICE", &sky["BSKY_PDS_URL"])
            .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", &sky["BOT_HANDLE"])
            .env("CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV", "SKY_PASSWORD")
            .env("SKY_PASSWORD", &sky["BOT_PASSWORD"])
            .env("CAMPAIGN_BOT__TARGETS__TG__KIND", "telegram")
            .env(
                "CAMPAIGN_BOT__TARGETS__TG__API_URL",
                &tg["TELEGRAM_API_URL"],
            )
            .env("CAMPAIGN_BOT__TARGETS__TG__CHANNEL", "@campaign")
            .env("CAMPAIGN_BOT__TARGETS__TG__TOKEN_ENV", "TG_TOKEN")
            .env("TG_TOKEN", &tg_token)
            .env("CAMPAIGN_BOT__TARGETS__XT__KIND", "x")
            .env("CAMPAIGN_BOT__TARGETS__XT__API_URL", xs.uri())
            .env("CAMPAIGN_BOT__TARGETS__XT__TOKEN_ENV", "X_TOKEN")
            .env("X_TOKEN", "sentinel-x")
            .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
            .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", li.uri())
            .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", "2414183")
            .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_ENV", "LI_TOKEN")
            .env("LI_TOKEN", "sentinel-li")
            .env("CAMPAIGN_BOT__TARGETS__THR__KIND", "threads")
            .env("CAMPAIGN_BOT__TARGETS__THR__API_URL", threads.url())
            .env("CAMPAIGN_BOT__TARGETS__THR__TOKEN_ENV", "THREADS_TOKEN")
            .env("THREADS_TOKEN", "sentinel-threads");
        Command::from_std(cmd)
    };
    let names = ["masto", "sky", "tg", "xt", "li", "thr"];

    // Validates: no error (the French texts X would cut get their warning).
    let checked = bot(dir.path())
        .args(["validate", "--offline"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let checked = String::from_utf8(checked).unwrap();
    assert!(
        checked.contains("6 targets") && checked.contains("0 errors"),
        "{checked}"
    );

    // Previews: every target has its posts, in its own measure.
    let preview = bot(dir.path())
        .args(["preview", "--next", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let preview = String::from_utf8(preview).unwrap();
    // Each target has a slot line: `Thu 2026-12-03 09:00 CET  li  …  (…)`.
    for t in names {
        assert!(
            preview
                .lines()
                .any(|l| l.contains(&format!("  {t}  ")) && l.ends_with(')')),
            "{t} in the preview:\n{preview}"
        );
    }
    assert!(
        preview.contains("weighted characters") && preview.contains("bytes"),
        "{preview}"
    );

    // Posts: two slots of their own (the Bluesky network outlives runs),
    // each asked for three times.
    let base = Utc.with_ymd_and_hms(2033, 1, 1, 9, 0, 0).unwrap()
        + chrono::Duration::hours(Utc::now().timestamp() % 100_000);
    let slots = [base, base + chrono::Duration::hours(6)];
    for slot in slots {
        for _ in 0..3 {
            bot(dir.path())
                .args(["post-now", "--slot", &slot.to_rfc3339()])
                .assert()
                .success()
                .stdout(predicate::str::contains("sentinel-").not());
        }
    }
    let store = campaign_bot::store::Store::open(&dir.path().join("data")).unwrap();
    let intents = store.all_intents().unwrap();
    for t in names {
        let published: Vec<_> = intents
            .iter()
            .filter(|i| i.target == t && i.state == campaign_bot::store::IntentState::Published)
            .collect();
        assert_eq!(published.len(), 2, "{t}: {intents:#?}");
        assert_ne!(published[0].remote_id, published[1].remote_id, "{t}");
    }
    assert_eq!(sent(&masto, "/api/v1/statuses").await, 2, "mastodon");
    assert_eq!(sent(&xs, "/2/tweets").await, 2, "x");
    assert_eq!(sent(&li, "/rest/posts").await, 2, "linkedin");
    assert_eq!(threads.state.lock().unwrap().posts.len(), 2, "threads");
    let history: Value = reqwest::Client::new()
        .post(format!("{}/getUpdatesHistory", tg["TELEGRAM_API_URL"]))
        .json(&json!({ "token": tg_token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history["result"].as_array().unwrap().len(),
        2,
        "telegram: {history}"
    );
    for i in intents.iter().filter(|i| i.target == "sky") {
        let rkey = campaign_bot::publish::bluesky::record_key(&i.slot.key, i.slot.at, "sky");
        let record = bsky_post_record(&sky["BSKY_PDS_URL"], &sky["BOT_DID"], &rkey).await;
        assert!(record.get("uri").is_some(), "bluesky record {rkey}");
    }

    // Counts, side by side. The Bluesky AppView indexes new posts a
    // moment after the PDS takes them: until it has, the check finds
    // nothing and is tried again.
    let by_target = |report: &str| -> String {
        report
            .split("By target")
            .nth(1)
            .and_then(|s| s.split("\n\n").next())
            .unwrap_or_default()
            .to_string()
    };
    let mut report = String::new();
    for _ in 0..30 {
        let checked = bot(dir.path())
            .args(["engagement", "--all"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let out = bot(dir.path())
            .arg("report")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        report = String::from_utf8(out).unwrap();
        if by_target(&report).contains("sky") {
            break;
        }
        eprintln!(
            "waiting for the AppView: {}",
            String::from_utf8_lossy(&checked)
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let table = by_target(&report);
    for t in ["masto", "sky", "xt", "li", "thr"] {
        let row = table
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{t} ")))
            .unwrap_or_else(|| panic!("{t} counted, side by side:\n{report}"));
        assert!(row.split_whitespace().nth(1) == Some("2"), "{row}");
    }
    assert!(
        report.contains("gives bots no views or reactions"),
        "Telegram is said not to be counted:\n{report}"
    );
    println!("{report}");
}
