//! The Mastodon publisher against wiremock servers answering with the real
//! responses recorded in ../shared/fixtures/mastodon/ (bodies and headers).

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use campaign_bot::campaign::{Campaign, Outcome};
use campaign_bot::clock::Clock;
use campaign_bot::config::{Config, Secret, Sources};
use campaign_bot::model::{Lang, Slot};
use campaign_bot::posts::Catalog;
use campaign_bot::publish::mastodon::FediverseFlavour;
use campaign_bot::publish::mastodon::{Mastodon, MediaPolling};
use campaign_bot::publish::{Lookup, Outgoing, OutgoingMedia, PublishError, Publisher};
use campaign_bot::render::Count;
use campaign_bot::store::{Begin, Planned, Store};
use common::*;

const TOKEN: &str = "test-token-not-a-secret";

fn masto(server: &MockServer, visibility: &str) -> Mastodon {
    Mastodon::new(
        "masto",
        FediverseFlavour::Mastodon,
        &server.uri(),
        Secret::new(TOKEN),
        visibility,
        campaign_bot::publish::mastodon::limits(500, 23),
    )
    .unwrap()
    .with_media_polling(MediaPolling {
        attempts: 5,
        interval: Duration::from_millis(10),
    })
}

fn post(key: &str, lang: &str) -> Outgoing {
    Outgoing {
        intent_key: key.into(),
        slot: Slot::cron(Utc::now()),
        target: "masto".into(),
        message_id: "access-to-rights".into(),
        lang: Lang::new(lang).unwrap(),
        text: "Les villes garantissent l'accès aux droits.\n\n#WeTogether #Cities4Migration".into(),
        spoiler: None,
        media: vec![],
        not_before: chrono::Utc::now() - chrono::Duration::minutes(1),
    }
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

#[tokio::test]
async fn a_status_carries_language_visibility_cw_and_an_idempotency_key() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST /api/v1/statuses",
        recorded("test_status_post_content_warning_unlisted.json", 0),
    )
    .await;
    let m = masto(&server, "unlisted");
    let mut p = post("key-1", "fr");
    p.spoiler = Some("Content warning".into());
    let published = m.publish(&p).await.unwrap();
    assert_eq!(
        published.remote_id,
        body("test_status_post_content_warning_unlisted.json", 0)["id"]
            .as_str()
            .unwrap()
    );
    assert!(
        published
            .url
            .unwrap()
            .starts_with("http://localhost:3000/@")
    );

    let sent = status_posts(&server).await;
    assert_eq!(sent.len(), 1);
    let f = form(&sent[0].body);
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("status"), Some(p.text.as_str()));
    assert_eq!(get("language"), Some("fr"));
    assert_eq!(get("visibility"), Some("unlisted"));
    assert_eq!(get("spoiler_text"), Some("Content warning"));
    assert_eq!(sent[0].headers.get("idempotency-key").unwrap(), "key-1");
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
}

#[tokio::test]
async fn media_is_uploaded_with_alt_text_and_awaited_while_processing() {
    let server = MockServer::start().await;
    let media_id = body("test_media_post_false.json", 0)["id"]
        .as_str()
        .unwrap()
        .to_string();
    Mock::given(method("POST"))
        .and(path("/api/v2/media"))
        .respond_with(recorded("test_media_post_false.json", 0)) // 202, url null
        .mount(&server)
        .await;
    // Mastodon answers 206 while processing, then 200 with the URL.
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/media/{media_id}")))
        .respond_with(respond(
            206,
            &headers("test_media_post_false.json", 1),
            body("test_media_post_false.json", 0),
        ))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("GET /api/v1/media/{media_id}"),
        recorded("test_media_post_false.json", 1),
    )
    .await;
    serve(
        &server,
        "POST /api/v1/statuses",
        recorded("test_media_post_false.json", 2),
    )
    .await;

    let mut p = post("key-media", "ar");
    p.media.push(OutgoingMedia {
        posts_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"),
        shown: "media/campaign-card-ar.jpg".into(),
        alt: "بطاقة الحملة".into(),
    });
    masto(&server, "public").publish(&p).await.unwrap();

    let reqs = server.received_requests().await.unwrap();
    let upload = reqs
        .iter()
        .find(|r| r.url.path() == "/api/v2/media")
        .unwrap();
    assert!(
        upload.headers.get("content-length").is_some(),
        "uploads carry a Content-Length"
    );
    assert!(upload.headers.get("transfer-encoding").is_none());
    let raw = String::from_utf8_lossy(&upload.body);
    assert!(raw.contains("name=\"description\"") && raw.contains("بطاقة الحملة"));
    assert!(raw.contains("Content-Type: image/jpeg"));
    assert_eq!(
        reqs.iter()
            .filter(|r| r.url.path().starts_with("/api/v1/media/"))
            .count(),
        3
    );
    let f = form(&status_posts(&server).await[0].body);
    assert!(f.contains(&("media_ids[]".to_string(), media_id)));
    assert!(f.contains(&("language".to_string(), "ar".to_string())));
}

#[tokio::test]
async fn errors_are_sorted_by_what_to_do() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("idempotency-key", "too-long"))
        .respond_with(recorded("test_lang_for_errors.json", 1)) // 422, localised
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("idempotency-key", "bad-token"))
        .respond_with(respond(
            401,
            &headers("test_status.json", 0),
            json!({"error": "The access token is invalid"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("idempotency-key", "empty-401"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("idempotency-key", "html-502"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let reset = (Utc::now() + chrono::Duration::seconds(90)).to_rfc3339();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .and(header("idempotency-key", "limited"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "300")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str())
                .set_body_json(json!({"error": "Too many requests"})),
        )
        .mount(&server)
        .await;
    let m = masto(&server, "public");
    match m.publish(&post("too-long", "de")).await {
        Err(PublishError::Permanent {
            status: Some(422),
            message: msg,
            ..
        }) => assert!(
            msg.starts_with("422 ") && msg.contains("500 Zeichen"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    match m.publish(&post("bad-token", "en")).await {
        Err(PublishError::Auth(msg)) => assert!(
            msg.starts_with("401 The access token is invalid: the access token is wrong, expired or revoked; get a new one with `campaign-bot login mastodon --instance http://"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    // Issue 13: a 401 with an empty body read "401 (empty answer)".
    match m.publish(&post("empty-401", "en")).await {
        Err(PublishError::Auth(msg)) => assert!(
            msg.starts_with("401 (Unauthorized, no reason given): the access token is wrong"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        m.publish(&post("html-502", "en")).await,
        Err(PublishError::Transient("502 502 Bad Gateway".into()))
    );
    match m.publish(&post("limited", "en")).await {
        Err(PublishError::RateLimited {
            retry_at: Some(t), ..
        }) => assert_eq!(t.to_rfc3339(), reset),
        other => panic!("{other:?}"),
    }
    // With no requests left in the window, the next post waits for the reset
    // without spending a request.
    let before = server.received_requests().await.unwrap().len();
    assert!(matches!(
        m.publish(&post("other", "en")).await,
        Err(PublishError::RateLimited { .. })
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn a_dropped_connection_is_a_transient_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            drop(s); // closes without answering
        }
    });
    let m = Mastodon::new(
        "masto",
        FediverseFlavour::Mastodon,
        &format!("http://{addr}"),
        Secret::new(TOKEN),
        "public",
        campaign_bot::publish::mastodon::limits(500, 23),
    )
    .unwrap();
    match m.publish(&post("k", "en")).await {
        Err(PublishError::Transient(msg)) => assert!(!msg.contains(TOKEN), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn limits_come_from_v2_or_v1_instance() {
    let server = MockServer::start().await;
    let mut inst = body("test_instance.json", 0);
    inst["configuration"]["statuses"]["max_characters"] = json!(1000);
    serve(
        &server,
        "GET /api/v2/instance",
        respond(200, &headers("test_instance.json", 0), inst),
    )
    .await;
    assert_eq!(
        masto(&server, "public").refresh_limits().await.unwrap(),
        campaign_bot::publish::mastodon::limits(1000, 23)
    );

    // A server without v2 answers 404; v1 has the limits.
    let old = MockServer::start().await;
    serve(
        &old,
        "GET /api/v2/instance",
        recorded("test_status_missing.json", 0),
    )
    .await;
    serve(
        &old,
        "GET /api/v1/instance",
        recorded("test_instance_v1.json", 0),
    )
    .await;
    let l = masto(&old, "public").refresh_limits().await.unwrap();
    let v1 = &body("test_instance_v1.json", 0)["configuration"]["statuses"];
    assert_eq!(
        l.max(|c| matches!(c, Count::Characters { .. })),
        Some(v1["max_characters"].as_u64().unwrap() as usize)
    );
}

/// A status from the recorded responses, as the bot's own timeline shows
/// it (its account, the language it was posted in).
fn timeline_status(content: &str, lang: &str) -> serde_json::Value {
    let mut s = body("test_status_post_none_public.json", 0);
    s["account"] = body("test_account.json", 0);
    s["language"] = json!(lang);
    s["content"] = json!(content);
    s["created_at"] = json!(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    s
}

async fn mount_account(server: &MockServer, statuses: Vec<serde_json::Value>) {
    let account = body("test_account.json", 0);
    let id = account["id"].as_str().unwrap().to_string();
    serve(
        server,
        "GET /api/v1/accounts/verify_credentials",
        recorded("test_account.json", 0),
    )
    .await;
    serve(
        server,
        &format!("GET /api/v1/accounts/{id}/statuses"),
        respond(200, &headers("test_account.json", 0), json!(statuses)),
    )
    .await;
}

#[tokio::test]
async fn a_post_of_unknown_fate_is_found_among_recent_statuses() {
    let server = MockServer::start().await;
    let p = post("k", "fr");
    mount_account(
        &server,
        vec![timeline_status(
            "<p>Les villes garantissent l&#39;accès aux droits.</p><p><a href=\"http://localhost:3000/tags/WeTogether\" class=\"mention hashtag\" rel=\"tag\">#<span>WeTogether</span></a> <a href=\"http://localhost:3000/tags/Cities4Migration\" class=\"mention hashtag\" rel=\"tag\">#<span>Cities4Migration</span></a></p>",
            "fr",
        )],
    )
    .await;
    let Lookup::Posted(found) = masto(&server, "public").find_published(&p).await.unwrap() else {
        panic!("not found")
    };
    assert_eq!(
        found.remote_id,
        body("test_status_post_none_public.json", 0)["id"]
            .as_str()
            .unwrap()
    );
    let mut other = p.clone();
    other.text = "Something else".into();
    assert_eq!(
        masto(&server, "public")
            .find_published(&other)
            .await
            .unwrap(),
        Lookup::NotPosted
    );
}

/// Issue 27: a server that reports `en` for every status, or no language,
/// still has the French and Arabic posts found by their words; a status in
/// the same language with other words is still another post.
#[tokio::test]
async fn a_post_is_found_whatever_language_the_server_reports() {
    for reported in [json!("en"), json!(null), json!("fr-FR")] {
        let server = MockServer::start().await;
        let mut fr = timeline_status(
            "<p>Les villes garantissent l&#39;accès aux droits.</p><p>#WeTogether #Cities4Migration</p>",
            "fr",
        );
        fr["language"] = reported.clone();
        let mut ar = timeline_status(
            "<p>المدن تضمن الوصول إلى الحقوق.</p><p>\u{200E}#WeTogether #Cities4Migration</p>",
            "ar",
        );
        ar["id"] = json!("117020600000000099");
        ar["language"] = reported.clone();
        mount_account(&server, vec![ar, fr]).await;
        let masto = masto(&server, "public");
        let found = masto.find_published(&post("k", "fr")).await.unwrap();
        assert!(matches!(found, Lookup::Posted(_)), "{reported}: {found:?}");
        let mut arabic = post("k2", "ar");
        arabic.text =
            "المدن تضمن الوصول إلى الحقوق.\n\n\u{200E}#WeTogether #Cities4Migration".into();
        let Lookup::Posted(found) = masto.find_published(&arabic).await.unwrap() else {
            panic!("{reported}: the Arabic post was not found")
        };
        assert_eq!(found.remote_id, "117020600000000099");
        let mut other = post("k3", "en");
        other.text = "Cities guarantee access to rights.\n\n#WeTogether #Cities4Migration".into();
        assert_eq!(
            masto.find_published(&other).await.unwrap(),
            Lookup::NotPosted,
            "{reported}"
        );
    }
}

fn config_for(server: &MockServer, dir: &std::path::Path) -> Config {
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let env = [
        (
            "CAMPAIGN_BOT__DATA_DIR",
            dir.join("data").to_str().unwrap().to_string(),
        ),
        ("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon".into()),
        ("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", server.uri()),
        (
            "CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV",
            "CB_TEST_MASTO_TOKEN".into(),
        ),
        ("CAMPAIGN_BOT__SCHEDULE__GRACE", "1m".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Config::load(&Sources {
        file: Some(empty),
        env: Some(env),
    })
    .unwrap()
}

/// Runs one slot through the campaign's retry policy.
async fn deliver_one(server: &MockServer) -> (Outcome, Vec<wiremock::Request>) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(server, dir.path());
    let store = Arc::new(Store::open(&config.data_dir).unwrap());
    let publisher: Arc<dyn Publisher> = Arc::new(masto(server, "public"));
    let campaign = Campaign::new(
        config.clone(),
        store.clone(),
        vec![publisher],
        Catalog::default(),
        Clock::System,
    );
    let slot = Slot::cron(Utc::now());
    let plan = Planned {
        slot: slot.clone(),
        target: "masto".into(),
        post: campaign_bot::model::Post {
            message_id: "m".into(),
            lang: Lang::new("fr").unwrap(),
            text: "Bonjour #WeTogether".into(),
            spoiler: None,
            media: vec![],
        },
    };
    let Begin::New(intent) = store.begin(&plan, None, Utc::now()).unwrap() else {
        panic!()
    };
    let outcome = campaign
        .deliver(
            intent,
            slot.at + chrono::Duration::minutes(1),
            &CancellationToken::new(),
            true,
        )
        .await;
    (outcome, status_posts(server).await)
}

#[tokio::test]
async fn a_429_waits_for_the_reset_then_posts_once() {
    let server = MockServer::start().await;
    let reset = (Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "300")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.as_str())
                .set_body_json(json!({"error": "Too many requests"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(
        &server,
        "POST /api/v1/statuses",
        recorded("test_status_post_none_public.json", 0),
    )
    .await;
    let (outcome, sent) = deliver_one(&server).await;
    assert!(matches!(outcome, Outcome::Published(_)), "{outcome:?}");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].headers.get("idempotency-key"),
        sent[1].headers.get("idempotency-key")
    );
}

#[tokio::test]
async fn a_500_is_checked_then_retried_with_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/statuses"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"error": "Internal server error"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve(
        &server,
        "POST /api/v1/statuses",
        recorded("test_status_post_none_public.json", 0),
    )
    .await;
    mount_account(&server, vec![]).await;
    let (outcome, sent) = deliver_one(&server).await;
    assert!(matches!(outcome, Outcome::Published(_)), "{outcome:?}");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].headers.get("idempotency-key"),
        sent[1].headers.get("idempotency-key")
    );
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs.iter()
            .any(|r| r.url.path().ends_with("/statuses") && r.method.as_str() == "GET"),
        "looked before resending"
    );
}

#[tokio::test]
async fn a_422_is_permanent_and_not_retried() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST /api/v1/statuses",
        recorded("test_status_empty.json", 0),
    )
    .await;
    let (outcome, sent) = deliver_one(&server).await;
    match outcome {
        Outcome::Failed(why) => assert!(why.starts_with("422"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sent.len(), 1);
}

#[tokio::test]
async fn unknown_paths_are_not_hit() {
    // Guard: the publisher only calls the documented endpoints.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/api/v1/statuses$"))
        .respond_with(recorded("test_status.json", 0))
        .expect(1)
        .mount(&server)
        .await;
    masto(&server, "public")
        .publish(&post("k", "en"))
        .await
        .unwrap();
}
