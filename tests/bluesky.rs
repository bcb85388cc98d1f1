//! The Bluesky publisher against the real local network (PLC, PDS, AppView)
//! that `scripts/test.sh` starts from ../shared/peers/bsky/. If the network
//! is not running, these tests fail and say so: they never skip silently.
//!
//! Logins are limited (30 per 5 minutes): the tests share few sessions.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use predicates::prelude::*;
use serde_json::{Value, json};

use campaign_bot::config::Secret;
use campaign_bot::model::{Lang, Slot};
use campaign_bot::publish::bluesky::{Bluesky, record_key};
use campaign_bot::publish::{Lookup, Outgoing, OutgoingMedia, PublishError, Publisher};
use campaign_bot::store::{IntentState, Store};

const DEFAULT_ENV_FILE: &str = "/var/tmp/campaign-bot/bsky-net/env";

struct Net {
    pds: String,
    bot_handle: String,
    bot_password: String,
    bot_did: String,
    fan_handle: String,
    fan_password: String,
}

fn net() -> Net {
    let file = std::env::var("BSKY_ENV_FILE").unwrap_or_else(|_| DEFAULT_ENV_FILE.into());
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "the local Bluesky network is not running ({file}: {e}). Start it with \
             ../shared/peers/bsky/start-local-bsky.sh, or run scripts/test.sh, which does"
        )
    });
    let vars: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let get = |k: &str| {
        vars.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{file} has no {k}"))
    };
    let n = Net {
        pds: get("BSKY_PDS_URL"),
        bot_handle: get("BOT_HANDLE"),
        bot_password: get("BOT_PASSWORD"),
        bot_did: get("BOT_DID"),
        fan_handle: get("FAN_HANDLE"),
        fan_password: get("FAN_PASSWORD"),
    };
    let addr = n
        .pds
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .replace("localhost", "127.0.0.1");
    let reachable = addr
        .parse::<std::net::SocketAddr>()
        .ok()
        .and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok());
    assert!(
        reachable.is_some(),
        "the local Bluesky PDS at {} does not answer; start the network with scripts/test.sh",
        n.pds
    );
    n
}

fn publisher(n: &Net, store: Arc<Store>) -> Bluesky {
    Bluesky::new(
        "sky",
        &n.pds,
        &n.bot_handle,
        Secret::new(n.bot_password.clone()),
        campaign_bot::store::Kept::new(store),
    )
}

fn outgoing(slot: &Slot, lang: &str, text: &str) -> Outgoing {
    Outgoing {
        intent_key: slot.intent_key("sky"),
        slot: slot.clone(),
        target: "sky".into(),
        message_id: "m".into(),
        lang: Lang::new(lang).unwrap(),
        text: text.into(),
        spoiler: None,
        media: vec![],
        not_before: chrono::Utc::now() - chrono::Duration::minutes(1),
    }
}

/// A slot no other test (or earlier run on this network) uses.
fn fresh_slot(label: &str) -> Slot {
    let at = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap();
    Slot {
        at,
        key: format!("{}/{label}/{}", at.to_rfc3339(), std::process::id()),
    }
}

async fn get_record(n: &Net, uri: &str) -> Value {
    let rkey = uri.rsplit('/').next().unwrap();
    common::bsky_post_record(&n.pds, &n.bot_did, rkey).await
}

/// The bot's command line, set up with a `sky` target for the bot account.
/// A slot no other test uses (they all post to the one bot account): a
/// second in the far future, from a counter and the clock.
fn unique_slot() -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    (Utc.with_ymd_and_hms(2032, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::seconds((Utc::now().timestamp() % 10_000_000) * 16 + n))
    .to_rfc3339()
}

fn bot_cmd(n: &Net, dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("campaign-bot"));
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
        .env("CAMPAIGN_BOT__TARGETS__SKY__SERVICE", &n.pds)
        .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", &n.bot_handle)
        .env(
            "CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV",
            "SKY_APP_PASSWORD",
        )
        .env("SKY_APP_PASSWORD", &n.bot_password);
    cmd
}

/// Each facet's byte range of the stored text, with its tag or URI.
fn decode_facets(record: &Value) -> Vec<(String, String)> {
    let text = record["text"].as_str().unwrap().as_bytes();
    record["facets"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    let a = f["index"]["byteStart"].as_u64().unwrap() as usize;
                    let b = f["index"]["byteEnd"].as_u64().unwrap() as usize;
                    let feat = &f["features"][0];
                    (
                        String::from_utf8(text[a..b].to_vec())
                            .expect("a facet on a character boundary"),
                        feat["tag"]
                            .as_str()
                            .or(feat["uri"].as_str())
                            .unwrap()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn posts_in_three_languages_with_clickable_tags_and_links() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let sky = publisher(&n, Arc::new(Store::open(dir.path()).unwrap()));
    let texts = [
        (
            "en",
            "Cities make migration work: https://example.org/statement.\n\n#WeTogether #Cities4Migration",
        ),
        (
            "fr",
            "Les villes font réussir les migrations 🌍 : https://example.org/fr (déclaration)\n\n#WeTogether #Cities4Migration",
        ),
        (
            "ar",
            "المدن تُنجح الهجرة 👨‍👩‍👧‍👦 https://example.org/ar،\n\n#WeTogether #Cities4Migration",
        ),
    ];
    for (lang, text) in texts {
        let slot = fresh_slot(&format!("three-{lang}"));
        let published = sky.publish(&outgoing(&slot, lang, text)).await.unwrap();
        assert!(
            published
                .remote_id
                .starts_with(&format!("at://{}/app.bsky.feed.post/", n.bot_did))
        );
        let record = get_record(&n, &published.remote_id).await;
        let value = &record["value"];
        assert_eq!(value["text"], text);
        assert_eq!(value["langs"], json!([lang]));
        let facets = decode_facets(value);
        let url = facets
            .iter()
            .find(|(_, v)| v.starts_with("https://"))
            .unwrap();
        assert_eq!(url.0, url.1, "the link facet selects exactly its URL");
        assert!(!url.0.ends_with('.') && !url.0.ends_with('،'));
        assert!(facets.contains(&("#WeTogether".into(), "WeTogether".into())));
        assert!(facets.contains(&("#Cities4Migration".into(), "Cities4Migration".into())));
    }
}

#[tokio::test]
async fn the_same_slot_twice_writes_one_record_and_too_long_is_refused() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let sky = publisher(&n, Arc::new(Store::open(dir.path()).unwrap()));
    let slot = fresh_slot("twice");
    let post = outgoing(&slot, "fr", "Une seule fois #WeTogether");
    let a = sky.publish(&post).await.unwrap();
    let b = sky.publish(&post).await.unwrap();
    assert_eq!(a.remote_id, b.remote_id);
    assert!(matches!(
        sky.find_published(&post).await.unwrap(),
        Lookup::Posted(p) if p.remote_id == a.remote_id
    ));
    // Different content for the same slot is not a second post either: the
    // slot holds the first, and says so.
    let mut changed = post.clone();
    changed.text = "Texte modifié #WeTogether".into();
    match sky.publish(&changed).await {
        Err(PublishError::Conflict { existing, text }) => {
            assert_eq!(existing.remote_id, a.remote_id);
            assert_eq!(text, "Une seule fois #WeTogether");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        get_record(&n, &a.remote_id).await["value"]["text"],
        "Une seule fois #WeTogether"
    );

    let long = outgoing(&fresh_slot("long"), "fr", &"é".repeat(301));
    match sky.publish(&long).await {
        Err(PublishError::Permanent { message: m, .. }) => {
            assert!(m.contains("InvalidRequest") || m.contains("400"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sky.find_published(&long).await.unwrap(), Lookup::NotPosted);
}

#[tokio::test]
async fn an_expired_session_is_refreshed_not_recreated() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let who = publisher(&n, store.clone()).verify().await.unwrap();
    assert!(who.contains(&n.bot_handle));
    let saved: Value = serde_json::from_str(&store.meta("session:sky").unwrap().unwrap()).unwrap();
    // The access token goes bad (as it does after two hours).
    let mut broken = saved.clone();
    broken["accessJwt"] = json!("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl");
    store.set_meta("session:sky", &broken.to_string()).unwrap();
    // A new process (nothing in memory) posts with the stored session.
    let sky = publisher(&n, store.clone());
    sky.publish(&outgoing(
        &fresh_slot("refresh"),
        "en",
        "Refreshed #WeTogether",
    ))
    .await
    .unwrap();
    let after: Value = serde_json::from_str(&store.meta("session:sky").unwrap().unwrap()).unwrap();
    assert_ne!(after["accessJwt"], broken["accessJwt"]);
    assert_ne!(
        after["refreshJwt"], saved["refreshJwt"],
        "the session was refreshed (a new refresh token)"
    );
    assert_eq!(after["did"], saved["did"]);
}

#[tokio::test]
async fn an_image_post_carries_alt_text_and_aspect_ratio() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let sky = publisher(&n, Arc::new(Store::open(dir.path()).unwrap()));
    let mut post = outgoing(&fresh_slot("image"), "ar", "بطاقة الحملة #WeTogether");
    post.media.push(OutgoingMedia {
        posts_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"),
        shown: "media/campaign-card-ar.jpg".into(),
        alt: "بطاقة الحملة على خلفية زرقاء".into(),
    });
    let published = sky.publish(&post).await.unwrap();
    let record = get_record(&n, &published.remote_id).await;
    let image = &record["value"]["embed"]["images"][0];
    assert_eq!(record["value"]["embed"]["$type"], "app.bsky.embed.images");
    assert_eq!(image["alt"], "بطاقة الحملة على خلفية زرقاء");
    assert_eq!(image["aspectRatio"], json!({"width": 1200, "height": 675}));
    assert_eq!(image["image"]["mimeType"], "image/jpeg");
}

#[tokio::test]
async fn counts_follow_a_fans_like_and_repost() {
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let sky = publisher(&n, Arc::new(Store::open(dir.path()).unwrap()));
    let published = sky
        .publish(&outgoing(
            &fresh_slot("counts"),
            "en",
            "Like me #WeTogether",
        ))
        .await
        .unwrap();
    let cid = get_record(&n, &published.remote_id).await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    fan_engages(&n, &published.remote_id, &cid).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts = sky
            .counts(std::slice::from_ref(&published.remote_id))
            .await
            .unwrap();
        if counts
            .first()
            .is_some_and(|(_, c)| c.likes >= 1 && c.reposts >= 1)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counts never showed the like: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The fan account likes and reposts a post.
/// The fan writes `subject` into a record of `collection` in its own
/// repository (a like, a repost, a follow).
async fn fan_writes(n: &Net, collection: &str, subject: Value) {
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{}/xrpc/com.atproto.server.createSession", n.pds))
        .json(&json!({"identifier": n.fan_handle, "password": n.fan_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(format!("{}/xrpc/com.atproto.repo.createRecord", n.pds))
        .bearer_auth(session["accessJwt"].as_str().unwrap())
        .json(&json!({
            "repo": session["did"],
            "collection": collection,
            "record": {"$type": collection, "subject": subject, "createdAt": Utc::now().to_rfc3339()},
        }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "{collection}: {}",
        r.text().await.unwrap()
    );
}

async fn fan_engages(n: &Net, uri: &str, cid: &str) {
    for collection in ["app.bsky.feed.like", "app.bsky.feed.repost"] {
        fan_writes(n, collection, json!({"uri": uri, "cid": cid})).await;
    }
}

#[test]
fn post_now_in_arabic_makes_one_record_even_with_the_state_deleted() {
    let n = net();
    let dir = common::workdir_with_posts();
    // A slot of its own: the minute this test runs, in the far future.
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::seconds(Utc::now().timestamp() % 10_000_000);
    let slot = at.to_rfc3339();
    let run = || {
        Command::from_std(bot_cmd(&n, dir.path()))
            .args([
                "post-now", "--target", "sky", "--lang", "ar", "--slot", &slot,
            ])
            .assert()
            .success()
    };
    run();
    run();
    // `login bluesky` checks the stored session (no new login).
    Command::from_std(bot_cmd(&n, dir.path()))
        .args(["login", "bluesky"])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "sky: credentials work (@{}",
            n.bot_handle
        )))
        .stdout(predicates::str::contains(&n.bot_password).not());
    std::fs::remove_file(dir.path().join("data/state.db")).unwrap();
    let _ = std::fs::remove_file(dir.path().join("data/state.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("data/state.db-shm"));
    run();

    let rkey = record_key(
        &Slot::cron(at.with_timezone(&Utc)).key,
        at.with_timezone(&Utc),
        "sky",
    );
    let list: Value = reqwest::blocking::Client::new()
        .get(format!("{}/xrpc/com.atproto.repo.listRecords", n.pds))
        .query(&[
            ("repo", n.bot_did.as_str()),
            ("collection", "app.bsky.feed.post"),
            ("limit", "100"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ours: Vec<&Value> = list["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["uri"].as_str().unwrap().ends_with(&format!("/{rkey}")))
        .collect();
    assert_eq!(ours.len(), 1, "one record for the slot");
    let value = &ours[0]["value"];
    assert_eq!(value["langs"], json!(["ar"]));
    // The tag line starts with a LEFT-TO-RIGHT MARK (issue 14), and the
    // facets select exactly `#Tag`, after it.
    assert!(
        value["text"].as_str().unwrap().contains("\n\u{200E}#"),
        "{}",
        value["text"]
    );
    let facets = decode_facets(value);
    assert!(
        facets.contains(&("#WeTogether".into(), "WeTogether".into())),
        "{facets:?}"
    );
    assert!(
        facets.contains(&("#Cities4Migration".into(), "Cities4Migration".into())),
        "{facets:?}"
    );
}

#[tokio::test]
async fn a_fans_like_shows_in_the_next_engagement_check() {
    let n = net();
    let dir = common::workdir_with_posts();
    let bot = |args: &[&str]| {
        let out = bot_cmd(&n, dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let slot = unique_slot();
    bot(&["post-now", "--lang", "fr", "--slot", &slot]);
    let store = Store::open(&dir.path().join("data")).unwrap();
    let post = store.followed().unwrap().pop().unwrap();
    let uri = post.remote_id.unwrap();
    let cid = get_record(&n, &uri).await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    fan_engages(&n, &uri, &cid).await;
    // Wait until the AppView has counted the like and the repost (it
    // indexes them one by one), then check once.
    let sky = publisher(&n, Arc::new(store));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts = sky.counts(std::slice::from_ref(&uri)).await.unwrap();
        if counts
            .first()
            .is_some_and(|(_, c)| c.likes >= 1 && c.reposts >= 1)
        {
            break;
        }

        assert!(
            Instant::now() < deadline,
            "the like and the repost were never counted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = bot(&["engagement", "--all"]);
    assert!(out.contains("checked 1 posts"), "{out}");
    let log =
        campaign_bot::engagement::read_log(&dir.path().join("data/engagement.jsonl")).unwrap();
    let line = log
        .iter()
        .find(|l| l.remote_id == uri)
        .expect("a line for the post");
    assert!(line.likes >= 1 && line.reposts >= 1, "{line:?}");
    assert_eq!(line.kind, "bluesky");
    assert_eq!(line.lang, "fr");
}

// Issue 12: with the state store lost, `post-now global-agendas` of a slot
// already filled by another message said "posted global-agendas" while the
// record under the slot's key was the earlier post. It must say what the
// slot holds, and record that.
#[test]
fn with_the_store_lost_a_filled_slot_reports_what_it_holds() {
    let n = net();
    let dir = common::workdir_with_posts();
    let at = Utc.with_ymd_and_hms(2031, 1, 1, 0, 0, 0).unwrap()
        + chrono::Duration::seconds(Utc::now().timestamp() % 10_000_000);
    let slot = at.to_rfc3339();
    Command::from_std(bot_cmd(&n, dir.path()))
        .args([
            "post-now", "--target", "sky", "--lang", "en", "--slot", &slot,
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("posted access-to-rights [en]"));
    for f in ["state.db", "state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join("data").join(f));
    }
    Command::from_std(bot_cmd(&n, dir.path()))
        .args([
            "post-now",
            "global-agendas",
            "--target",
            "sky",
            "--lang",
            "fr",
            "--slot",
            &slot,
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "already held access-to-rights [en], posted before",
        ))
        .stdout(predicates::str::contains(
            "global-agendas [fr] was not posted",
        ))
        .stdout(predicates::str::contains("posted global-agendas").not());
    let store = Store::open(&dir.path().join("data")).unwrap();
    let intents = store.all_intents().unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].message_id.as_deref(), Some("access-to-rights"));
    assert_eq!(intents[0].lang.as_ref().map(|l| l.as_str()), Some("en"));
    assert_eq!(intents[0].state, IntentState::Published);
}

// Issue 13: a post missing from `getPosts` (the AppView had not indexed it
// yet) was marked deleted for ever, and a fan's like was never logged.
#[tokio::test]
async fn a_post_checked_at_once_is_never_taken_for_deleted_and_its_like_is_logged() {
    let n = net();
    let dir = common::workdir_with_posts();
    let bot = |args: &[&str]| {
        let out = bot_cmd(&n, dir.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let slot = unique_slot();
    bot(&["post-now", "--lang", "ar", "--slot", &slot]);
    let first = bot(&["engagement", "--all"]);
    assert!(!first.contains("deleted"), "{first}");
    let store = Store::open(&dir.path().join("data")).unwrap();
    let post = store.followed().unwrap().pop().expect("still followed");
    let uri = post.remote_id.unwrap();
    let cid = get_record(&n, &uri).await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    fan_engages(&n, &uri, &cid).await;
    let log_path = dir.path().join("data/engagement.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = bot(&["engagement", "--all"]);
        assert!(!out.contains("deleted"), "{out}");
        let log = campaign_bot::engagement::read_log(&log_path).unwrap();
        if log.iter().any(|l| l.remote_id == uri && l.likes >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the like was never logged: {out}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(!store.intent(&post.key).unwrap().unwrap().gone);
}

#[tokio::test]
async fn a_post_deleted_at_its_source_is_gone_one_the_appview_lags_on_is_not() {
    use campaign_bot::model::Check;
    let n = net();
    let dir = tempfile::tempdir().unwrap();
    let sky = publisher(&n, Arc::new(Store::open(dir.path()).unwrap()));
    let kept = sky
        .publish(&outgoing(
            &fresh_slot("kept"),
            "en",
            "Still here #WeTogether",
        ))
        .await
        .unwrap();
    let deleted = sky
        .publish(&outgoing(
            &fresh_slot("deleted"),
            "en",
            "Soon gone #WeTogether",
        ))
        .await
        .unwrap();
    // Delete the second at its source, as a person would in the app.
    let session: Value = reqwest::Client::new()
        .post(format!("{}/xrpc/com.atproto.server.createSession", n.pds))
        .json(&json!({"identifier": n.bot_handle, "password": n.bot_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/xrpc/com.atproto.repo.deleteRecord", n.pds))
        .bearer_auth(session["accessJwt"].as_str().unwrap())
        .json(&json!({
            "repo": n.bot_did,
            "collection": "app.bsky.feed.post",
            "rkey": deleted.remote_id.rsplit('/').next().unwrap(),
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // The AppView may list the deleted post a moment longer: until then it
    // is counted, never called gone on a guess.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let checks = sky
            .engagement(&[kept.remote_id.clone(), deleted.remote_id.clone()])
            .await
            .unwrap();
        assert!(
            matches!(checks[0].1, Check::Counts(_) | Check::NotYet),
            "{checks:?}"
        );
        if checks[1].1 == Check::Gone {
            break;
        }
        assert!(Instant::now() < deadline, "never gone: {checks:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A PDS whose AppView has not indexed a post yet: `getPosts` leaves it
/// out while `getRecord` has it (the lag, made certain).
#[tokio::test]
async fn a_post_the_appview_has_not_indexed_is_checked_again_later() {
    use campaign_bot::model::Check;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let pds = MockServer::start().await;
    let did = "did:plc:abcdefghijklmnopqrstuvwx";
    Mock::given(method("POST"))
        .and(path("/xrpc/com.atproto.server.createSession"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accessJwt": "a", "refreshJwt": "r", "did": did, "handle": "bot.test"
        })))
        .mount(&pds)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/app.bsky.feed.getPosts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "posts": [] })))
        .mount(&pds)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .and(query_param("rkey", "3kaaaaaaaaaa2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": format!("at://{did}/app.bsky.feed.post/3kaaaaaaaaaa2"),
            "cid": "bafyrei",
            "value": { "$type": "app.bsky.feed.post", "text": "x", "createdAt": "2026-12-18T08:00:00Z" }
        })))
        .mount(&pds)
        .await;
    Mock::given(method("GET"))
        .and(path("/xrpc/com.atproto.repo.getRecord"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "RecordNotFound", "message": "Could not locate record"
        })))
        .mount(&pds)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let sky = Bluesky::new(
        "sky",
        &pds.uri(),
        "bot.test",
        Secret::new("pw"),
        campaign_bot::store::Kept::new(Arc::new(Store::open(dir.path()).unwrap())),
    );
    let lagging = format!("at://{did}/app.bsky.feed.post/3kaaaaaaaaaa2");
    let deleted = format!("at://{did}/app.bsky.feed.post/3kbbbbbbbbbb2");
    let checks = sky
        .engagement(&[lagging.clone(), deleted.clone()])
        .await
        .unwrap();
    assert_eq!(checks, [(lagging, Check::NotYet), (deleted, Check::Gone)]);
}

#[tokio::test]
async fn the_daily_follower_count_comes_from_the_profile() {
    let n = net();
    fan_writes(&n, "app.bsky.graph.follow", json!(n.bot_did)).await;
    // Each run below uses a fresh data folder: the count is taken once a
    // day per store, and the AppView may take a moment to count the follow.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dir = common::workdir_with_posts();
        let out = bot_cmd(&n, dir.path())
            .args(["engagement", "--all"])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{said}");
        let line =
            std::fs::read_to_string(dir.path().join("data/followers.jsonl")).unwrap_or_default();
        let counts: Vec<Value> = line
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            counts.len(),
            1,
            "one count for the one Bluesky target: {said}"
        );
        assert_eq!(counts[0]["kind"], "bluesky");
        if counts[0]["followers"].as_u64().unwrap() >= 1 {
            assert!(
                said.contains("took today's follower count of 1 target"),
                "{said}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the follow never counted: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
