//! X: the binary against wiremock servers answering with the responses in
//! `../shared/fixtures/x/` (recorded by tweepy's test suite, plus the
//! documented `public_metrics` answer and a logged duplicate-content 403).

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

const TOKEN: &str = "sentinel-x-access-token-88f2";
/// The account of the recorded `GET /2/users/me`.
const ME: &str = "1072250532645998596";

fn fixture(file: &str, index: usize) -> Value {
    exchange_of("x", file, index)
}

fn recorded_x(file: &str, index: usize) -> ResponseTemplate {
    recorded_of("x", file, index)
}

/// The recorded user timeline, its tweets' texts replaced by `texts`.
fn timeline(texts: &[&str]) -> ResponseTemplate {
    let ex = fixture("test_client_get_users_tweets.json", 0);
    let mut body = ex["response"]["body"].clone();
    let data = body["data"].as_array_mut().unwrap();
    for (tweet, text) in data.iter_mut().zip(texts) {
        tweet["text"] = json!(text);
    }
    data.truncate(texts.len().max(1));
    if texts.is_empty() {
        body = json!({"meta": {"result_count": 0}});
    }
    respond(200, &ex["response"]["headers"], body)
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__XT__KIND", "x")
        .env("CAMPAIGN_BOT__TARGETS__XT__API_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__XT__TOKEN_ENV", "X_TOKEN")
        .env("X_TOKEN", TOKEN);
    Command::from_std(cmd)
}

async fn tweets_posted(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/2/tweets")
        .collect()
}

/// The account, and image uploads: every shipped message carries its card.
async fn mount_me(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/2/users/me"))
        .respond_with(recorded_x("test_client_get_me.json", 0))
        .mount(server)
        .await;
    mount_media(server).await;
}

/// An image's upload and its alt text. The v2 upload answer is the
/// documented one (docs.x.com/x-api/media/media-upload: `data.id`,
/// `media_key`, `size`, `expires_after_secs`, `image`), with the values of
/// the recorded v1.1 upload (testmediauploadpng.json); the metadata answer
/// is not read by the bot. The media id.
async fn mount_media(server: &MockServer) -> String {
    let v1 = fixture("testmediauploadpng.json", 0)["response"]["body"].clone();
    let media_id = v1["media_id_string"].as_str().unwrap().to_string();
    Mock::given(method("POST"))
        .and(path("/2/media/upload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": media_id,
            "media_key": format!("3_{media_id}"),
            "size": v1["size"],
            "expires_after_secs": v1["expires_after_secs"],
            "image": v1["image"],
        }})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(server)
        .await;
    media_id
}

const SLOT: [&str; 7] = [
    "post-now",
    "--target",
    "xt",
    "--lang",
    "ar",
    "--slot",
    "2026-12-18T09:00:00+01:00",
];

#[tokio::test]
async fn a_slot_is_posted_once_and_its_counts_and_impressions_are_logged() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(recorded_x("test_client_create_and_delete_tweet.json", 0))
        .mount(&server)
        .await;
    let id =
        fixture("test_client_create_and_delete_tweet.json", 0)["response"]["body"]["data"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    // The documented public_metrics answer, for the tweet just posted.
    let metrics = fixture("doc_get_tweet_public_metrics.json", 1);
    let mut body = metrics["response"]["body"].clone();
    body["data"][0]["id"] = json!(id);
    Mock::given(method("GET"))
        .and(path("/2/tweets"))
        .and(query_param("ids", id.as_str()))
        .and(query_param("tweet.fields", "public_metrics"))
        .respond_with(respond(200, &metrics["response"]["headers"], body))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "https://x.com/TweepyDev/status/{id}"
        )))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let sent = tweets_posted(&server).await;
    assert_eq!(sent.len(), 1, "once");
    assert_eq!(
        sent[0].headers["authorization"].to_str().unwrap(),
        format!("Bearer {TOKEN}")
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("#WeTogether")
            && text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
    );

    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"));
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(
        (
            &line["likes"],
            &line["reposts"],
            &line["replies"],
            &line["quotes"],
            &line["views"]
        ),
        (&json!(100), &json!(10), &json!(5), &json!(2), &json!(1500))
    );
    // Engagement per view where X gives views: 117 of 1,500.
    bot(dir.path(), &server)
        .args(["report", "--by", "target"])
        .assert()
        .success()
        .stdout(predicate::str::contains("7.8 %"));
}

#[tokio::test]
async fn a_duplicate_refusal_skips_the_slot_without_pausing_the_target() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(recorded_x("log_create_tweet_duplicate.json", 0))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(recorded_x("test_client_create_and_delete_tweet.json", 0))
        .mount(&server)
        .await;
    // The account's recent tweets do not hold it (it was posted weeks ago).
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ME}/tweets")))
        .respond_with(timeline(&["something else entirely"]))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .stdout(predicate::str::contains("refused as a duplicate"));
    // Not paused, not failing: the next slot goes out.
    bot(dir.path(), &server)
        .args([
            "post-now",
            "--target",
            "xt",
            "--lang",
            "en",
            "--slot",
            "2026-12-18T15:30:00+01:00",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("posted"));
    assert_eq!(tweets_posted(&server).await.len(), 2);
    bot(dir.path(), &server)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("paused").not());
}

/// A `POST /2/tweets` that goes through but whose answer is lost (503),
/// and a timeline that shows what it received, its links as t.co.
#[derive(Clone, Default)]
struct LostAnswer(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl wiremock::Respond for LostAnswer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.method.as_str() == "POST" {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            *self.0.lock().unwrap() = body["text"].as_str().map(String::from);
            return respond(503, &json!({}), json!({"title": "Service Unavailable"}));
        }
        match self.0.lock().unwrap().clone() {
            Some(text) => timeline(&[&text.replace("https://", "https://t.co/")]),
            None => timeline(&[]),
        }
    }
}

#[tokio::test]
async fn an_unknown_outcome_is_found_among_the_accounts_tweets_not_sent_again() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    let lost = LostAnswer::default();
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(lost.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/2/users/{ME}/tweets")))
        .respond_with(lost.clone())
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("posted"));
    assert_eq!(
        tweets_posted(&server).await.len(),
        1,
        "found among the account's tweets, not sent a second time"
    );
    let looked = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/tweets") && r.method.as_str() == "GET")
        .expect("the account's tweets were read");
    assert!(looked.url.query().unwrap().contains("start_time="));
}

#[test]
fn validate_counts_x_weighted_length_and_warns_of_repeats_and_link_costs() {
    let dir = workdir_with_posts();
    // 150 CJK characters weigh 300, and the hashtag line 31 more.
    std::fs::write(
        dir.path().join("posts/rotation/98-cjk.toml"),
        format!("[text]\nen = \"{}\"\n", "城".repeat(150)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("posts/rotation/97-link.toml"),
        "[text]\nen = \"Read the statement: https://example.org/statement\"\n",
    )
    .unwrap();
    let server_less = "https://api.x.com";
    let mut cmd = common::bot_command();
    cmd.current_dir(dir.path())
        .env("CAMPAIGN_BOT__TARGETS__XT__KIND", "x")
        .env("CAMPAIGN_BOT__TARGETS__XT__API_URL", server_less)
        .env("CAMPAIGN_BOT__TARGETS__XT__TOKEN_ENV", "X_TOKEN")
        .env("X_TOKEN", TOKEN)
        // Every day, so that the shipped rotation (15 messages) comes back
        // within the 30-day window.
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "0 9 * * *;30 15 * * *");
    Command::from_std(cmd)
        .args(["validate", "--offline"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "98-cjk.toml:2:1: error: the en text is too long for target xt (x): 331 weighted characters over the limit of 280",
        ))
        .stdout(predicate::str::contains("sooner than schedule.repeat_window (30days)"))
        .stdout(predicate::str::contains("$0.20 for a post with a link"))
        .stdout(predicate::str::contains("posts the text only").not());
}

/// X's token endpoint, as documented (docs.x.com, "OAuth 2.0 Authorization
/// Code Flow with PKCE", step 3 and "Refresh token": `token_type`,
/// `expires_in` 7200, `access_token`, `scope`, `refresh_token`). No
/// exchange of it is recorded in the fixtures.
fn token_answer(n: u32) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": format!("sentinel-x-access-{n}"),
        "scope": "tweet.read tweet.write users.read offline.access",
        "refresh_token": format!("sentinel-x-refresh-{n}"),
    }))
}

#[tokio::test]
async fn login_x_with_pkce_keeps_the_tokens_and_the_bot_refreshes_them_before_they_end() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await;
    mount_me(&server).await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .respond_with(token_answer(1))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .respond_with(token_answer(2))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(recorded_x("test_client_create_and_delete_tweet.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    let file = dir.path().join("data/x-token.json");
    let configured = |cmd: &mut std::process::Command| {
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__XT__KIND", "x")
            .env("CAMPAIGN_BOT__TARGETS__XT__API_URL", server.uri())
            .env("CAMPAIGN_BOT__TARGETS__XT__TOKEN_FILE", &file)
            .env("CAMPAIGN_BOT__TARGETS__XT__CLIENT_ID", "campaign-client")
            .env(
                "CAMPAIGN_BOT__TARGETS__XT__REDIRECT_URI",
                "https://example.org/callback",
            );
    };
    let mut cmd = common::bot_command();
    configured(&mut cmd);
    let out = Command::from_std(cmd)
        .args(["login", "x"])
        .write_stdin("https://example.org/callback?code=the-code\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("Logged in to X as @TweepyDev"))
        .stdout(predicate::str::contains("sentinel-x-").not())
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let address = out
        .split_whitespace()
        .find(|w| w.starts_with("https://x.com/i/oauth2/authorize?"))
        .expect("the authorisation address is printed");
    let address = reqwest::Url::parse(address).unwrap();
    let param = |name: &str| {
        address
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert!(param("scope").contains("offline.access"));
    // The verifier sent with the code is the one the challenge was made of.
    let exchanges: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/2/oauth2/token")
        .collect();
    let sent = form(&exchanges[0].body);
    let get = |f: &[(String, String)], k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get(&sent, "code"), "the-code");
    assert_eq!(get(&sent, "client_id"), "campaign-client");
    assert_eq!(
        campaign_bot::publish::oauth::pkce_challenge(&get(&sent, "code_verifier")),
        param("code_challenge")
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(kept["refresh_token"], "sentinel-x-refresh-1");

    // A minute before the access token ends, the bot refreshes it first.
    kept["expires_at"] = json!((chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339());
    std::fs::write(&file, kept.to_string()).unwrap();
    let mut cmd = common::bot_command();
    configured(&mut cmd);
    Command::from_std(cmd)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("sentinel-x-").not());
    let refreshes: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.url.path() == "/2/oauth2/token"
                && String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token")
        })
        .collect();
    assert_eq!(refreshes.len(), 1);
    assert_eq!(
        get(&form(&refreshes[0].body), "refresh_token"),
        "sentinel-x-refresh-1"
    );
    let posted = tweets_posted(&server).await;
    assert_eq!(
        posted[0].headers["authorization"].to_str().unwrap(),
        "Bearer sentinel-x-access-2"
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        kept["refresh_token"], "sentinel-x-refresh-2",
        "the new pair is kept"
    );
}

/// A post with an image: the image is uploaded (`POST /2/media/upload`,
/// multipart, `media_category=tweet_image`), given its alt text (`POST
/// /2/media/metadata`) and attached by id. The v2 upload answer is the
/// documented one (docs.x.com/x-api/media/media-upload: `data.id`,
/// `media_key`, `size`, `expires_after_secs`, `image`), with the values of
/// the recorded v1.1 upload (testmediauploadpng.json); the metadata answer
/// is not read by the bot.
#[tokio::test]
async fn an_image_is_uploaded_with_its_alt_text_and_attached() {
    let server = MockServer::start().await;
    mount_me(&server).await;
    let media_id = fixture("testmediauploadpng.json", 0)["response"]["body"]["media_id_string"]
        .as_str()
        .unwrap()
        .to_string();
    Mock::given(method("POST"))
        .and(path("/2/tweets"))
        .respond_with(recorded_x("test_client_create_and_delete_tweet.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    // The rotation message with the campaign card, in English.
    bot(dir.path(), &server)
        .args([
            "post-now",
            "living-together",
            "--target",
            "xt",
            "--lang",
            "en",
            "--slot",
            "2026-12-18T15:00:00+01:00",
        ])
        .assert()
        .success();
    let requests = server.received_requests().await.unwrap();
    let upload = requests
        .iter()
        .find(|r| r.url.path() == "/2/media/upload")
        .expect("uploaded");
    let body = String::from_utf8_lossy(&upload.body);
    assert!(body.contains("name=\"media_category\"") && body.contains("tweet_image"));
    assert!(body.contains("filename=\"campaign-card-en.jpg\""));
    assert!(
        upload.body.windows(3).any(|w| w == b"\xff\xd8\xff"),
        "the image's bytes (a JPEG)"
    );
    let meta = requests
        .iter()
        .find(|r| r.url.path() == "/2/media/metadata")
        .expect("alt text given");
    let meta: Value = serde_json::from_slice(&meta.body).unwrap();
    assert_eq!(meta["id"], media_id.as_str());
    assert!(
        meta["metadata"]["alt_text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Campaign card on a dark blue background")
    );
    let tweet: Value = serde_json::from_slice(&tweets_posted(&server).await[0].body).unwrap();
    assert_eq!(tweet["media"]["media_ids"], json!([media_id]));
}
