//! One campaign on all eight kinds of network at once: Mastodon, X,
//! LinkedIn, Telegram and Facebook on wiremock servers answering with their
//! fixtures (only the ids changed, so that two posts are two posts),
//! Threads and Instagram on the two-step servers of the crash suite, and
//! Bluesky on the real local network (started by `scripts/test.sh`). Every
//! shipped message carries its card, so every post here is an image post:
//! Telegram's goes by `sendPhoto`, which the Bot API emulator of
//! `../shared/peers/telegram` does not have (its README: "for photos …
//! use ../fixtures/telegram/"); `tests/telegram.rs` posts text to the
//! emulator. The config validates, the preview names every target, each
//! slot is posted once on each network however often it is asked for, and
//! `report` shows each network's counts side by side.

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

use common::container_server::{self, ContainerServer};
use common::*;

/// Where `posts/` would be served, for Threads' and Instagram's images.
const MEDIA_BASE: &str = "https://example.org/campaign/posts";

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
    serve_mastodon_media(&server).await;
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
    // Images: the documented v2 upload answer with the recorded v1.1
    // upload's values, as in tests/x.rs.
    let v1 = exchange_of("x", "testmediauploadpng.json", 0)["response"]["body"].clone();
    let media_id = v1["media_id_string"].as_str().unwrap().to_string();
    serve(
        &server,
        "POST /2/media/upload",
        ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": media_id,
            "media_key": format!("3_{media_id}"),
            "size": v1["size"],
            "expires_after_secs": v1["expires_after_secs"],
            "image": v1["image"],
        }})),
    )
    .await;
    serve(
        &server,
        "POST /2/media/metadata",
        ResponseTemplate::new(200).set_body_json(json!({})),
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

/// The Bot API: `sendPhoto` answered as documented
/// (doc_send_photo_channel.json, its `message_id` new each time), `getMe`.
async fn telegram(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/sendPhoto")))
        .respond_with(numbered(
            "telegram",
            "doc_send_photo_channel.json",
            0,
            |b, n| b["result"]["message_id"] = json!(100 + n),
        ))
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("GET /bot{token}/getMe"),
        recorded_of("telegram", "doc_get_me.json", 0),
    )
    .await;
    server
}

/// The Facebook Page of the fixtures: photo posts (publish_photo.json, the
/// post's id new each time), their address, counts (engagement.json #1 and
/// #2, for any post) and the Page's followers (page_followers.json #2).
const PAGE: &str = "175154750010052";

async fn facebook() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{PAGE}/photos")))
        .respond_with(numbered("facebook", "publish_photo.json", 0, |b, n| {
            b["post_id"] = json!(format!("{PAGE}_57351731{n:02}"))
        }))
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("GET /v25.0/{PAGE}"),
        recorded_of("facebook", "page_followers.json", 1),
    )
    .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v25\.0/[0-9]+_[0-9]+/insights$",
        ))
        .respond_with(recorded_of("facebook", "engagement.json", 1))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(r"^/v25\.0/[0-9]+_[0-9]+$"))
        .respond_with(|r: &Request| {
            let id = r.url.path().rsplit('/').next().unwrap().to_string();
            let (page, post) = id.split_once('_').unwrap();
            let mut b = exchange_of("facebook", "engagement.json", 0)["response"]["body"].clone();
            b["id"] = json!(id);
            b["permalink_url"] = json!(format!("https://www.facebook.com/{page}/posts/{post}/"));
            respond(200, &json!({}), b)
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
async fn all_eight_kinds_validate_preview_post_each_slot_once_and_report_side_by_side() {
    let sky = peer("BSKY_ENV_FILE", "/var/tmp/campaign-bot/bsky-net/env");
    let tg_token = "110201543:sentinel-telegram";
    let tg = telegram(tg_token).await;
    let (masto, xs, li) = (mastodon().await, x().await, linkedin().await);
    let fb = facebook().await;
    let threads = ContainerServer::start(container_server::THREADS, false).await;
    let instagram = ContainerServer::start(container_server::INSTAGRAM, false).await;
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
            .env("CAMPAIGN_BOT__TARGETS__TG__API_URL", tg.uri())
            .env("CAMPAIGN_BOT__TARGETS__TG__CHANNEL", "@campaign")
            .env("CAMPAIGN_BOT__TARGETS__TG__TOKEN_ENV", "TG_TOKEN")
            .env("TG_TOKEN", tg_token)
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
            .env("CAMPAIGN_BOT__TARGETS__THR__MEDIA_BASE_URL", MEDIA_BASE)
            .env("THREADS_TOKEN", "sentinel-threads")
            .env("CAMPAIGN_BOT__TARGETS__FB__KIND", "facebook")
            .env("CAMPAIGN_BOT__TARGETS__FB__API_URL", fb.uri())
            .env("CAMPAIGN_BOT__TARGETS__FB__PAGE", PAGE)
            .env("CAMPAIGN_BOT__TARGETS__FB__TOKEN_ENV", "FB_TOKEN")
            .env("FB_TOKEN", "sentinel-facebook")
            .env("CAMPAIGN_BOT__TARGETS__IG__KIND", "instagram")
            .env("CAMPAIGN_BOT__TARGETS__IG__API_URL", instagram.url())
            .env(
                "CAMPAIGN_BOT__TARGETS__IG__ACCOUNT",
                container_server::INSTAGRAM.user,
            )
            .env("CAMPAIGN_BOT__TARGETS__IG__MEDIA_BASE_URL", MEDIA_BASE)
            .env("CAMPAIGN_BOT__TARGETS__IG__TOKEN_ENV", "IG_TOKEN")
            .env("IG_TOKEN", "sentinel-instagram");
        Command::from_std(cmd)
    };
    let names = ["masto", "sky", "tg", "xt", "li", "thr", "fb", "ig"];

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
        checked.contains("8 targets") && checked.contains("0 errors"),
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
    assert_eq!(
        sent(&tg, &format!("/bot{tg_token}/sendPhoto")).await,
        2,
        "telegram"
    );
    assert_eq!(
        sent(&fb, &format!("/v25.0/{PAGE}/photos")).await,
        2,
        "facebook"
    );
    {
        let ig = instagram.state.lock().unwrap();
        assert_eq!(ig.posts.len(), 2, "instagram");
        assert!(
            ig.containers.values().all(|c| c
                .image_url
                .as_deref()
                .is_some_and(|u| u.starts_with(MEDIA_BASE))),
            "instagram: every post is its card, by address"
        );
    }
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
        // Both of its posts counted (an image post takes the AppView a
        // moment longer).
        let sky_row = by_target(&report)
            .lines()
            .find(|l| l.trim_start().starts_with("sky "))
            .map(|l| l.split_whitespace().nth(1) == Some("2"));
        if sky_row == Some(true) {
            break;
        }
        eprintln!(
            "waiting for the AppView: {}",
            String::from_utf8_lossy(&checked)
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let table = by_target(&report);
    for t in ["masto", "sky", "xt", "li", "thr", "fb", "ig"] {
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
