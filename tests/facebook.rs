//! Facebook Pages: the binary against wiremock servers answering with the
//! saved answers of `../shared/fixtures/facebook/` (real bodies saved by
//! python-facebook's test data, documented shapes and logged errors; each
//! exchange's `source` says which). Where a test changes a body (the post's
//! own text in the Page's list), it says so.

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

const TOKEN: &str = "sentinel-facebook-page-token-5e2a";
/// The Page of the saved answers.
const PAGE: &str = "175154750010052";
const V: &str = "/v25.0";

fn answer(file: &str, index: usize) -> ResponseTemplate {
    recorded_of("facebook", file, index)
}

fn fixture_body(file: &str, index: usize) -> Value {
    exchange_of("facebook", file, index)["response"]["body"].clone()
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__FB__KIND", "facebook")
        .env("CAMPAIGN_BOT__TARGETS__FB__API_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__FB__PAGE", PAGE)
        .env("CAMPAIGN_BOT__TARGETS__FB__TOKEN_ENV", "FB_TOKEN")
        .env("CAMPAIGN_BOT__SCHEDULE__GRACE", "1m")
        .env("FB_TOKEN", TOKEN);
    Command::from_std(cmd)
}

/// A working folder with one rotation message, in French, without image.
fn one_message(text: &str) -> tempfile::TempDir {
    let dir = workdir_with_posts();
    for f in std::fs::read_dir(dir.path().join("posts/rotation")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::write(
        dir.path().join("posts/rotation/01-one.toml"),
        format!("[text]\nfr = \"{text}\"\n"),
    )
    .unwrap();
    dir
}

const TEXT: &str = "Les villes accueillent chacun.";
const RENDERED: &str = "Les villes accueillent chacun.\n\n#WeTogether #Cities4Migration";

const SLOT: [&str; 7] = [
    "post-now",
    "--target",
    "fb",
    "--lang",
    "fr",
    "--slot",
    "2026-12-18T09:00:00+01:00",
];

async fn requests(server: &MockServer, verb: &str, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .collect()
}

/// The Page's list of posts (list_posts.json #2), its post given `text`
/// and made now (the saved one is from 2019).
fn page_posts(text: &str) -> ResponseTemplate {
    let mut body = fixture_body("list_posts.json", 1);
    body["data"][0]["message"] = json!(text);
    body["data"][0]["created_time"] = json!(
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string()
    );
    respond(200, &json!({}), body)
}

#[tokio::test]
async fn a_text_post_goes_to_the_feed_once_and_its_counts_and_followers_are_logged() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{PAGE}/feed")))
        .respond_with(answer("publish_post.json", 0))
        .mount(&server)
        .await;
    let post_id = fixture_body("publish_post.json", 0)["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The post's counts (engagement.json #1, shares given) and views
    // (#2), the Page's followers (page_followers.json #2).
    let mut counts = fixture_body("engagement.json", 0);
    counts["id"] = json!(post_id);
    Mock::given(method("GET"))
        .and(path(format!("{V}/{post_id}")))
        .respond_with(respond(200, &json!({}), counts))
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("GET {V}/{post_id}/insights"),
        answer("engagement.json", 1),
    )
    .await;
    serve(
        &server,
        &format!("GET {V}/{PAGE}"),
        answer("page_followers.json", 1),
    )
    .await;
    let dir = one_message(TEXT);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("fb: posted 01-one [fr]"))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let sent = requests(&server, "POST", &format!("{V}/{PAGE}/feed")).await;
    assert_eq!(sent.len(), 1, "once");
    let fields = form(&sent[0].body);
    // The text in the form body (a `#` in the address would cut it).
    assert!(
        fields.contains(&("message".into(), RENDERED.into())),
        "{fields:?}"
    );
    assert!(fields.contains(&("access_token".into(), TOKEN.into())));

    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"))
        .stdout(predicate::str::contains("took today's follower count of 1"));
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    // reactions 125 → likes, comments 13 → replies, shares 10 → reposts.
    assert_eq!(line["likes"], 125);
    assert_eq!(line["replies"], 13);
    assert_eq!(line["reposts"], 10);
    assert_eq!(line["views"], 0);
    assert_eq!(line["kind"], "facebook");
    let followers = std::fs::read_to_string(dir.path().join("data/followers.jsonl")).unwrap();
    assert!(followers.contains("\"followers\":1"), "{followers}");
    bot(dir.path(), &server)
        .args(["report"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fb"));
}

#[tokio::test]
async fn an_image_makes_a_photo_post_whose_feed_post_carries_the_counts() {
    let server = MockServer::start().await;
    serve(
        &server,
        &format!("POST {V}/{PAGE}/photos"),
        answer("publish_photo.json", 0),
    )
    .await;
    let post_id = fixture_body("publish_photo.json", 0)["post_id"]
        .as_str()
        .unwrap()
        .to_string();
    Mock::given(method("GET"))
        .and(path(format!("{V}/{post_id}")))
        .and(query_param("fields", "id,permalink_url"))
        .respond_with(respond(
            200,
            &json!({}),
            json!({"id": post_id, "permalink_url": "https://www.facebook.com/123456786/posts/5735173162"}),
        ))
        .mount(&server)
        .await;
    let dir = one_message(TEXT);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/media/campaign-card-fr.jpg"),
        dir.path().join("posts/media/card.jpg"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("posts/rotation/01-one.toml"),
        format!("[text]\nfr = \"{TEXT}\"\n\n[[media]]\npath = \"media/card.jpg\"\nalt = {{ fr = \"Visuel de campagne.\" }}\n"),
    )
    .unwrap();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "https://www.facebook.com/123456786/posts/5735173162",
        ));
    let sent = requests(&server, "POST", &format!("{V}/{PAGE}/photos")).await;
    assert_eq!(sent.len(), 1);
    let body = String::from_utf8_lossy(&sent[0].body);
    assert!(body.contains("name=\"source\"") && body.contains("name=\"caption\""));
    assert!(body.contains(RENDERED));
    let store = campaign_bot::store::Store::open(&dir.path().join("data")).unwrap();
    let posted = store.all_intents().unwrap();
    assert_eq!(posted[0].remote_id.as_deref(), Some(post_id.as_str()));
}

// The fixtures' README: "a 5xx can still publish". A 500 code 2 on a post
// that went through: the Page's posts are looked through before anything
// is sent again, and the post is found there by its words.
#[tokio::test]
async fn a_post_whose_answer_was_a_500_is_found_on_the_page_not_sent_again() {
    let server = MockServer::start().await;
    serve(
        &server,
        &format!("POST {V}/{PAGE}/feed"),
        answer("errors_publish.json", 3),
    )
    .await;
    serve(
        &server,
        &format!("GET {V}/{PAGE}/posts"),
        page_posts(RENDERED),
    )
    .await;
    let dir = one_message(TEXT);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("fb: posted 01-one [fr]"))
        .stdout(predicate::str::contains(
            "https://www.facebook.com/175154750010052/posts/424924701699721",
        ));
    assert_eq!(
        requests(&server, "POST", &format!("{V}/{PAGE}/feed"))
            .await
            .len(),
        1,
        "not sent again"
    );
    let looked = requests(&server, "GET", &format!("{V}/{PAGE}/posts")).await;
    assert!(looked[0].url.query().unwrap().contains("since="));
}

// Meta's refusal of a repeated text (506): looked for, and the slot
// skipped when the post is another's, never a failure or a pause.
#[tokio::test]
async fn a_duplicate_refusal_skips_the_slot_without_pausing() {
    let server = MockServer::start().await;
    serve(
        &server,
        &format!("POST {V}/{PAGE}/feed"),
        answer("errors_publish.json", 0),
    )
    .await;
    serve(
        &server,
        &format!("GET {V}/{PAGE}/posts"),
        page_posts("Another post altogether, about something else."),
    )
    .await;
    let dir = one_message(TEXT);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "refused as a duplicate of a recent post",
        ));
    bot(dir.path(), &server)
        .args(["status"])
        .assert()
        .stdout(predicate::str::contains("PAUSED").not());
}

// 190 pauses the target and says what to do; 368 (not 1390008) pauses it
// with Meta's message; 4 waits.
#[tokio::test]
async fn an_expired_token_and_a_policy_block_pause_the_target_and_a_rate_limit_waits() {
    for (index, paused, said) in [
        (0, true, "campaign-bot login facebook"),
        (1, true, "blocked"),
    ] {
        let server = MockServer::start().await;
        let (file, i) = if index == 0 {
            ("errors_auth.json", 0)
        } else {
            ("errors_publish.json", 1)
        };
        serve(&server, &format!("POST {V}/{PAGE}/feed"), answer(file, i)).await;
        let dir = one_message(TEXT);
        bot(dir.path(), &server)
            .args(SLOT)
            .assert()
            .code(1)
            .stdout(predicate::str::contains(said));
        let status = bot(dir.path(), &server).args(["status"]).assert();
        let out = String::from_utf8(status.get_output().stdout.clone()).unwrap();
        assert_eq!(out.contains("PAUSED"), paused, "{out}");
    }
    // Code 4, "Application request limit reached": rate limited, then the
    // post goes out once the limit lifts.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{PAGE}/feed")))
        .respond_with(answer("errors_rate_limit.json", 1).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{PAGE}/feed")))
        .respond_with(answer("publish_post.json", 0))
        .mount(&server)
        .await;
    let dir = one_message(TEXT);
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("fb: posted 01-one [fr]"));
}

#[test]
fn validate_takes_a_page_id_and_a_token_file_it_can_read() {
    let dir = workdir_with_posts();
    let run = |page: &str| {
        let mut cmd = common::bot_command();
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__FB__KIND", "facebook")
            .env("CAMPAIGN_BOT__TARGETS__FB__PAGE", page)
            .env("CAMPAIGN_BOT__TARGETS__FB__TOKEN_ENV", "FB_TOKEN")
            .env("FB_TOKEN", TOKEN)
            .args(["validate", "--offline"]);
        Command::from_std(cmd).assert()
    };
    run(PAGE).success();
    run("my-page")
        .code(2)
        .stderr(predicate::str::contains("targets.fb.page"))
        .stderr(predicate::str::contains("the Page to post as"));
}

// `login facebook`: the code for a user token, a long-lived one, the
// Page's token from /me/accounts, checked by debug_token and kept private.
#[tokio::test]
async fn login_facebook_keeps_the_page_token_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{V}/oauth/access_token")))
        .and(query_param("grant_type", "fb_exchange_token"))
        .respond_with(respond(
            200,
            &json!({}),
            json!({"access_token": "sentinel-long-user-token", "token_type": "bearer", "expires_in": 5183944}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{V}/oauth/access_token")))
        .respond_with(respond(
            200,
            &json!({}),
            json!({"access_token": "sentinel-short-user-token", "token_type": "bearer", "expires_in": 3600}),
        ))
        .mount(&server)
        .await;
    // /me/accounts (tokens.json #2), its Page made ours, its token a sentinel.
    let mut accounts = fixture_body("tokens.json", 1);
    accounts["data"][0]["id"] = json!(PAGE);
    accounts["data"][0]["access_token"] = json!("sentinel-page-token-9f1");
    serve(
        &server,
        &format!("GET {V}/me/accounts"),
        respond(200, &json!({}), accounts),
    )
    .await;
    // debug_token (tokens.json #4): a Page token with no end, its scopes.
    let mut debug = fixture_body("tokens.json", 3);
    debug["data"]["expires_at"] = json!(0);
    debug["data"]["scopes"] = json!([
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts"
    ]);
    serve(
        &server,
        &format!("GET {V}/debug_token"),
        respond(200, &json!({}), debug),
    )
    .await;
    let dir = workdir_with_posts();
    let token_file = dir.path().join("data/secrets/facebook-token.json");
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/app"), "sentinel-app-secret").unwrap();
    let mut cmd = common::bot_command();
    cmd.current_dir(dir.path())
        .env("CAMPAIGN_BOT__TARGETS__FB__KIND", "facebook")
        .env("CAMPAIGN_BOT__TARGETS__FB__API_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__FB__OAUTH_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__FB__PAGE", PAGE)
        .env("CAMPAIGN_BOT__TARGETS__FB__TOKEN_FILE", &token_file)
        .env("CAMPAIGN_BOT__TARGETS__FB__CLIENT_ID", "1234567890")
        .env(
            "CAMPAIGN_BOT__TARGETS__FB__CLIENT_SECRET_FILE",
            dir.path().join("secrets/app"),
        )
        .env(
            "CAMPAIGN_BOT__TARGETS__FB__REDIRECT_URI",
            "https://example.org/campaign-bot/callback",
        )
        .args(["login", "facebook"]);
    // The state is random: answer with the code alone.
    let out = Command::from_std(cmd)
        .write_stdin("the-code\n")
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("Logged in to Facebook"), "{stdout}");
    assert!(stdout.contains("has no end"), "{stdout}");
    for secret in [
        "sentinel-page-token-9f1",
        "sentinel-long-user-token",
        "sentinel-app-secret",
    ] {
        assert!(!stdout.contains(secret), "{secret} printed");
    }
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&token_file).unwrap()).unwrap();
    assert_eq!(kept["access_token"], "sentinel-page-token-9f1");
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The exchange of the code carried the app's secret in the query, to
    // the server only; the long-lived exchange the short token.
    let exchanges = requests(&server, "GET", &format!("{V}/oauth/access_token")).await;
    assert!(exchanges[0].url.query().unwrap().contains("code=the-code"));
    assert!(
        exchanges[1]
            .url
            .query()
            .unwrap()
            .contains("fb_exchange_token=sentinel-short-user-token")
    );
}
