//! Threads: the binary against wiremock servers answering with the
//! documented shapes and logged errors of `../shared/fixtures/threads/`
//! (none recorded: each exchange there says where its fields come from).
//!
//! The fixtures use the docs' placeholder `1234567` for the account, the
//! container and the post alike. Here the container gets the id of the
//! logged "publish too early" error (18079098539304490), so that the
//! container and the post it becomes are told apart, as on Threads (the id
//! changes at publish). Shapes the fixtures lack are cited where used.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use chrono::{Duration, Utc};
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

const TOKEN: &str = "sentinel-threads-token-5d1e";
/// The docs' placeholder ids: the account, and the published post.
const ME: &str = "1234567";
const MEDIA: &str = "1234567";
/// The container (the id in the logged "publish too early" error).
const CONTAINER: &str = "18079098539304490";

fn fixture(file: &str, index: usize) -> Value {
    exchange_of("threads", file, index)
}

fn answer(file: &str, index: usize) -> ResponseTemplate {
    recorded_of("threads", file, index)
}

/// The answer of an exchange with `id` in place of the docs' placeholder.
fn answer_with_id(file: &str, index: usize, id: &str) -> ResponseTemplate {
    let ex = fixture(file, index);
    let mut body = ex["response"]["body"].clone();
    body["id"] = json!(id);
    respond(200, &ex["response"]["headers"], body)
}

/// A token file as `login threads` writes it, issued `age_days` ago.
fn token_file(dir: &Path, age_days: i64, lasts_days: i64) -> std::path::PathBuf {
    let file = dir.join("data/threads-token.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let now = Utc::now();
    std::fs::write(
        &file,
        json!({
            "access_token": TOKEN,
            "issued_at": (now - Duration::days(age_days)).to_rfc3339(),
            "expires_at": (now + Duration::days(lasts_days)).to_rfc3339(),
        })
        .to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

/// The binary with a Threads target on `server`, as a plain command.
fn bot_std(dir: &Path, server: &MockServer) -> std::process::Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__TH__KIND", "threads")
        .env("CAMPAIGN_BOT__TARGETS__TH__API_URL", server.uri())
        .env(
            "CAMPAIGN_BOT__TARGETS__TH__TOKEN_FILE",
            dir.join("data/threads-token.json"),
        );
    cmd
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    Command::from_std(bot_std(dir, server))
}

/// `GET /v1.0/me?fields=id,username`: the shape of the Threads profile
/// (developers.facebook.com/docs/threads/threads-profiles: `id`,
/// `username`), with the docs' placeholder id and the media fixture's
/// user name.
async fn mount_me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": ME, "username": "threadsapitestuser"})),
        )
        .mount(server)
        .await;
}

/// The container, the publish and the post's address, as documented.
async fn mount_posting(server: &MockServer) {
    mount_me(server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads")))
        .respond_with(answer_with_id("create_container.json", 1, CONTAINER))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads_publish")))
        .respond_with(answer_with_id("publish.json", 0, MEDIA))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{MEDIA}")))
        .and(query_param("fields", "id,permalink"))
        .respond_with(answer("media.json", 1))
        .mount(server)
        .await;
}

async fn requests(server: &MockServer, verb: &str, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .collect()
}

fn form_of(r: &Request) -> Vec<(String, String)> {
    form(&r.body)
}

fn field(r: &Request, name: &str) -> Option<String> {
    form_of(r)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .or_else(|| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
}

const SLOT: [&str; 7] = [
    "post-now",
    "--target",
    "th",
    "--lang",
    "ar",
    "--slot",
    "2026-12-18T09:00:00+01:00",
];

#[tokio::test]
async fn a_slot_is_posted_once_its_token_refreshed_and_its_insights_logged() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    let refreshed = fixture("refresh_token.json", 0)["response"]["body"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "th_refresh_token"))
        .and(query_param("access_token", TOKEN))
        .respond_with(answer("refresh_token.json", 0))
        .mount(&server)
        .await;
    let insights = fixture("insights.json", 1);
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{MEDIA}/insights")))
        .and(query_param(
            "metric",
            "views,likes,replies,reposts,quotes,shares",
        ))
        .respond_with(answer("insights.json", 1))
        .mount(&server)
        .await;
    // The account's follower count: a user-level metric, answered with
    // `total_value` (developers.facebook.com/docs/threads/insights, User
    // Insights: followers_count; the fixtures' README notes the shape).
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{ME}/threads_insights")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"name": "followers_count", "period": "day", "title": "followers_count",
             "description": "The number of followers on Threads.",
             "total_value": {"value": 1200}, "id": "1234567/insights/followers_count/day"}
        ]})))
        .mount(&server)
        .await;

    let dir = workdir_with_posts();
    // Two days old: due a refresh before the first call.
    let file = token_file(dir.path(), 2, 58);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "https://www.threads.net/@threadsapitestuser/post/abcdefg",
        ))
        .stdout(predicate::str::contains(TOKEN).not())
        .stdout(predicate::str::contains(&refreshed).not());
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));

    // One container, published once: the container's id, not the post's.
    let made = requests(&server, "POST", &format!("/v1.0/{ME}/threads")).await;
    let published = requests(&server, "POST", &format!("/v1.0/{ME}/threads_publish")).await;
    assert_eq!((made.len(), published.len()), (1, 1));
    assert_eq!(
        field(&published[0], "creation_id").as_deref(),
        Some(CONTAINER)
    );
    // The text in the form body (a `#` in the query string would cut it),
    // in Arabic with its tags, and the first tag as the topic.
    assert!(made[0].url.query().is_none());
    let text = field(&made[0], "text").unwrap();
    assert!(
        text.contains("#WeTogether")
            && text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "{text}"
    );
    assert_eq!(field(&made[0], "media_type").as_deref(), Some("TEXT"));
    // Threads makes only the first hashtag the topic: it is sent as such.
    let first = text
        .split_whitespace()
        .find_map(|w| w.trim_start_matches('\u{200E}').strip_prefix('#'))
        .unwrap();
    assert_eq!(field(&made[0], "topic_tag").as_deref(), Some(first));

    // The token was refreshed once, written back whole and private, and
    // every call after the refresh carried the new one.
    let refreshes = requests(&server, "GET", "/refresh_access_token").await;
    assert_eq!(refreshes.len(), 1, "refreshed once, not on every call");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept["access_token"].as_str(), Some(refreshed.as_str()));
    let expires: chrono::DateTime<Utc> = kept["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires > Utc::now() + Duration::days(59), "{expires}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        field(&made[0], "access_token").as_deref(),
        Some(refreshed.as_str())
    );

    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"));
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let value = |name: &str| {
        insights["response"]["body"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["values"][0]["value"]
            .clone()
    };
    assert_eq!(line["likes"], value("likes"), "{line}");
    assert_eq!(line["replies"], value("replies"), "{line}");
    assert_eq!(line["reposts"], value("reposts"), "{line}");
    assert_eq!(line["quotes"], value("quotes"), "{line}");
    assert_eq!(line["views"], value("views"), "{line}");
    assert_eq!(line["shares"], value("shares"), "{line}");
    assert!(line.get("clicks").is_none(), "{line}");
}

#[tokio::test]
async fn publishing_too_early_publishes_the_same_container_again() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads")))
        .respond_with(answer_with_id("create_container.json", 1, CONTAINER))
        .mount(&server)
        .await;
    // The logged 400 code 24 / 4279009 "Media Not Found", once.
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads_publish")))
        .respond_with(answer("errors.json", 0))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads_publish")))
        .respond_with(answer_with_id("publish.json", 0, MEDIA))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{CONTAINER}")))
        .and(query_param("fields", "status,error_message"))
        .respond_with(answer_with_id("container_status.json", 0, CONTAINER))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{MEDIA}")))
        .and(query_param("fields", "id,permalink"))
        .respond_with(answer("media.json", 1))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("abcdefg"));
    let made = requests(&server, "POST", &format!("/v1.0/{ME}/threads")).await;
    let published = requests(&server, "POST", &format!("/v1.0/{ME}/threads_publish")).await;
    assert_eq!(made.len(), 1, "never a second container");
    assert_eq!(published.len(), 2);
    for p in &published {
        assert_eq!(field(p, "creation_id").as_deref(), Some(CONTAINER));
    }
    // The token is a few hours old: not refreshed.
    assert!(
        requests(&server, "GET", "/refresh_access_token")
            .await
            .is_empty()
    );
}

/// The answer of `threads_publish` is lost (a 502 after the post went
/// out); the container's status says PUBLISHED, and the post is found among
/// the account's threads. `GET /v1.0/{user}/threads`: a list of media under
/// `data`, each with the fields asked (developers.facebook.com/docs/threads/
/// retrieve-and-discover-posts/retrieve-posts, "Retrieve a List of All a
/// User's Threads"; each item as media.json's second exchange). PUBLISHED
/// is one of the container statuses documented beside FINISHED and ERROR
/// (…/docs/threads/troubleshooting: EXPIRED, ERROR, FINISHED, IN_PROGRESS,
/// PUBLISHED).
#[tokio::test]
async fn a_lost_answer_is_settled_by_the_containers_status() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads")))
        .respond_with(answer_with_id("create_container.json", 1, CONTAINER))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads_publish")))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let status = fixture("container_status.json", 0);
    let mut published = status["response"]["body"].clone();
    published["status"] = json!("PUBLISHED");
    published["id"] = json!(CONTAINER);
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{CONTAINER}")))
        .and(query_param("fields", "status,error_message"))
        .respond_with(respond(200, &json!({}), published))
        .mount(&server)
        .await;
    // The container keeps the text it was made with; the account's
    // threads show it (the post just published, as Threads lists it).
    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let kept = sent.clone();
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads")))
        .respond_with(move |r: &Request| {
            *kept.lock().unwrap() = field(r, "text");
            answer_with_id("create_container.json", 1, CONTAINER)
        })
        .with_priority(1)
        .mount(&server)
        .await;
    let shown = sent.clone();
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{ME}/threads")))
        .respond_with(move |_: &Request| {
            let mut item = fixture("media.json", 1)["response"]["body"].clone();
            item["id"] = json!(MEDIA);
            item["text"] = json!(shown.lock().unwrap().clone().unwrap_or_default());
            item["timestamp"] = json!(Utc::now().format("%Y-%m-%dT%H:%M:%S+0000").to_string());
            ResponseTemplate::new(200).set_body_json(json!({"data": [item]}))
        })
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("abcdefg"));
    assert_eq!(
        requests(&server, "POST", &format!("/v1.0/{ME}/threads_publish"))
            .await
            .len(),
        1,
        "published once: never again after the lost answer"
    );
    assert_eq!(
        requests(&server, "POST", &format!("/v1.0/{ME}/threads"))
            .await
            .len(),
        1
    );
    let looked = requests(&server, "GET", &format!("/v1.0/{ME}/threads")).await;
    assert!(looked[0].url.query().unwrap().contains("since="));
}

/// A crash left a container recorded but not published (its status says
/// FINISHED): the next run publishes that same container, and makes none.
#[tokio::test]
async fn a_recorded_container_not_yet_published_is_published_after_a_crash() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{CONTAINER}")))
        .and(query_param("fields", "status,error_message"))
        .respond_with(answer_with_id("container_status.json", 0, CONTAINER))
        .mount(&server)
        .await;
    // The first publish never answers: the run is killed while waiting.
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/{ME}/threads_publish")))
        .respond_with(ResponseTemplate::new(500).set_delay(std::time::Duration::from_secs(60)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    let mut child = bot_std(dir.path(), &server)
        .args(SLOT)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let publish = format!("/v1.0/{ME}/threads_publish");
    for _ in 0..200 {
        if !requests(&server, "POST", &publish).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL, between the send and any answer
    child.wait().unwrap();
    assert_eq!(requests(&server, "POST", &publish).await.len(), 1);

    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("abcdefg"));
    let made = requests(&server, "POST", &format!("/v1.0/{ME}/threads")).await;
    let published = requests(&server, "POST", &publish).await;
    assert_eq!(made.len(), 1, "the recorded container is used, none made");
    assert_eq!(published.len(), 2);
    assert!(
        published
            .iter()
            .all(|p| field(p, "creation_id").as_deref() == Some(CONTAINER))
    );
    let status = requests(&server, "GET", &format!("/v1.0/{CONTAINER}")).await;
    assert!(
        !status.is_empty(),
        "its status was asked before publishing it again"
    );
}

#[test]
fn validate_counts_bytes_and_links_and_health_sees_the_token_end() {
    let dir = workdir_with_posts();
    // 260 Arabic letters: 260 characters but 520 bytes, over Threads' 500
    // as the bot counts (conservatively, as bytes).
    std::fs::write(
        dir.path().join("posts/rotation/98-long-ar.toml"),
        format!("[text]\nen = \"Short.\"\nar = \"{}\"\n", "م".repeat(260)),
    )
    .unwrap();
    let links: Vec<String> = (1..=6)
        .map(|i| format!("https://example.org/{i}"))
        .collect();
    std::fs::write(
        dir.path().join("posts/rotation/97-links.toml"),
        format!("[text]\nen = \"Read: {}\"\n", links.join(" ")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("posts/rotation/96-image.toml"),
        "[text]\nen = \"With a picture.\"\n\n[[media]]\npath = \"media/campaign-card-en.jpg\"\nalt = { en = \"A picture\" }\n",
    )
    .unwrap();
    let run = |lasts: i64, args: &[&str]| {
        token_file(dir.path(), 0, lasts);
        let mut cmd = common::bot_command();
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__TH__KIND", "threads")
            .env("CAMPAIGN_BOT__TARGETS__TH__API_URL", "http://127.0.0.1:9")
            .env(
                "CAMPAIGN_BOT__TARGETS__TH__TOKEN_FILE",
                dir.path().join("data/threads-token.json"),
            )
            .args(args);
        let out = cmd.output().unwrap();
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap()
    };
    let checked = run(59, &["validate", "--offline"]);
    assert!(
        checked.contains("error: the ar text is too long for target th (threads): 5")
            && checked.contains("bytes over the limit of 500"),
        "{checked}"
    );
    assert!(
        checked.contains("6 links over the limit of 5 (1 too many)"),
        "{checked}"
    );
    assert!(checked.contains("set media_base_url"), "{checked}");

    let far = run(59, &["status"]);
    assert!(
        far.contains("token expires on") && !far.contains("RENEW"),
        "{far}"
    );
    assert!(!run(59, &["status", "--health"]).contains("the token of target th"));
    let health = run(3, &["status", "--health"]);
    assert!(
        health.contains("the token of target th expires on"),
        "{health}"
    );
}

/// `login threads`: the code for a short-lived token (`POST
/// /oauth/access_token` → `{access_token, user_id}`), that for a long-lived
/// one (`GET /access_token?grant_type=th_exchange_token` → the shape of
/// refresh_token.json), then the account. Both shapes are Meta's documented
/// ones (developers.facebook.com/docs/threads/get-started/
/// get-access-tokens-and-permissions, "Exchange the Code for a Token"; …/
/// long-lived-tokens, "Get a Long-Lived Token"); neither is in the fixtures.
#[tokio::test]
async fn login_threads_keeps_a_long_lived_token_private() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path("/oauth/access_token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "sentinel-threads-short", "user_id": 1234567}),
            ),
        )
        .mount(&server)
        .await;
    let mut long = fixture("refresh_token.json", 0)["response"]["body"].clone();
    long["access_token"] = json!("sentinel-threads-long");
    Mock::given(method("GET"))
        .and(path("/access_token"))
        .and(query_param("grant_type", "th_exchange_token"))
        .and(query_param("access_token", "sentinel-threads-short"))
        .respond_with(respond(200, &json!({}), long))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    let secret = dir.path().join("app-secret");
    std::fs::write(&secret, "sentinel-threads-app-secret").unwrap();
    let file = dir.path().join("data/threads-token.json");
    let mut cmd = bot(dir.path(), &server);
    cmd.env("CAMPAIGN_BOT__TARGETS__TH__CLIENT_ID", "990602627938098")
        .env("CAMPAIGN_BOT__TARGETS__TH__CLIENT_SECRET_FILE", &secret)
        .env(
            "CAMPAIGN_BOT__TARGETS__TH__REDIRECT_URI",
            "https://example.org/callback",
        )
        .args(["login", "threads"])
        .write_stdin("https://example.org/callback?code=AQBx-hBsH3#_\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "https://threads.net/oauth/authorize?client_id=990602627938098",
        ))
        .stdout(predicate::str::contains(
            "Logged in to Threads as @threadsapitestuser",
        ))
        .stdout(predicate::str::contains("sentinel-threads").not());
    let exchange = requests(&server, "POST", "/oauth/access_token").await;
    let sent = form_of(&exchange[0]);
    assert!(
        sent.contains(&("code".into(), "AQBx-hBsH3".into())),
        "{sent:?}"
    );
    assert!(sent.contains(&("grant_type".into(), "authorization_code".into())));
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept["access_token"], "sentinel-threads-long");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// An image goes by its public address under `media_base_url`, with its
/// alt text (create_container.json's first exchange: `media_type=IMAGE`,
/// `image_url`, `text`).
#[tokio::test]
async fn an_image_goes_by_its_public_address_with_its_alt_text() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    bot(dir.path(), &server)
        .env(
            "CAMPAIGN_BOT__TARGETS__TH__MEDIA_BASE_URL",
            "https://example.org/campaign/posts/",
        )
        .args([
            "post-now",
            "living-together",
            "--target",
            "th",
            "--lang",
            "fr",
            "--slot",
            "2026-12-18T15:00:00+01:00",
        ])
        .assert()
        .success();
    let made = requests(&server, "POST", &format!("/v1.0/{ME}/threads")).await;
    assert_eq!(field(&made[0], "media_type").as_deref(), Some("IMAGE"));
    assert_eq!(
        field(&made[0], "image_url").as_deref(),
        Some("https://example.org/campaign/posts/media/campaign-card-fr.jpg")
    );
    assert!(
        field(&made[0], "alt_text")
            .unwrap()
            .starts_with("Visuel de campagne sur fond bleu foncé")
    );
}

/// The account's 250 API posts of the day are used (publishing_limit.json,
/// its usage set to the total): nothing is made, the slot waits.
#[tokio::test]
async fn a_spent_publishing_quota_makes_no_container() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    let ex = fixture("publishing_limit.json", 0);
    let mut body = ex["response"]["body"].clone();
    body["data"][0]["quota_usage"] = body["data"][0]["config"]["quota_total"].clone();
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{ME}/threads_publishing_limit")))
        .and(query_param("fields", "quota_usage,config"))
        .respond_with(respond(200, &json!({}), body))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    // A slot of now: its grace (15 minutes) ends before the quota frees
    // up, so the bot gives up at once rather than wait.
    let out = bot(dir.path(), &server)
        .args(["post-now", "--target", "th", "--lang", "ar"])
        .output()
        .unwrap();
    let out =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.contains("250 API posts of the last 24 hours are used"),
        "{out}"
    );
    assert!(
        requests(&server, "POST", &format!("/v1.0/{ME}/threads"))
            .await
            .is_empty(),
        "no container made"
    );
}

/// An expired token (the Graph API's documented error, code 190, in
/// errors.json) pauses the target with what to do; a post deleted on
/// Threads (code 100, subcode 33, as logged in errors.json) is gone, not
/// an error.
#[tokio::test]
async fn an_expired_token_pauses_and_a_deleted_post_is_gone() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/v1.0/{MEDIA}/insights")))
        .respond_with(answer("errors.json", 1))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    token_file(dir.path(), 0, 60);
    bot(dir.path(), &server).args(SLOT).assert().success();
    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 deleted on their network"));

    let expired = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/me"))
        .respond_with(answer("errors.json", 3))
        .mount(&expired)
        .await;
    let out = bot(dir.path(), &expired)
        .args(["post-now", "--target", "th", "--lang", "en"])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("run `campaign-bot login threads`"), "{said}");
    assert!(
        requests(&expired, "POST", &format!("/v1.0/{ME}/threads"))
            .await
            .is_empty()
    );
    bot(dir.path(), &expired)
        .arg("status")
        .assert()
        .stdout(predicate::str::contains("PAUSED"));
}
