//! LinkedIn pages: the binary against wiremock servers answering with the
//! documented shapes and logged responses of `../shared/fixtures/linkedin/`
//! (none of them recorded: each file says where every field comes from).

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

const TOKEN: &str = "sentinel-linkedin-token-41c0";
/// The page of the statistics fixture.
const ORG: &str = "2414183";

fn fixture(file: &str, index: usize) -> Value {
    exchange_of("linkedin", file, index)
}

fn answer(file: &str, index: usize) -> ResponseTemplate {
    recorded_of("linkedin", file, index)
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
        .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", ORG)
        .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_ENV", "LI_TOKEN")
        .env("LI_TOKEN", TOKEN);
    Command::from_std(cmd)
}

/// LinkedIn's Images API (the documented answer, as in
/// `an_image_is_uploaded_and_posted_with_its_alt_text`), its upload address
/// on the test server: every shipped message carries its card. The image's
/// URN.
async fn mount_images(server: &MockServer) -> &'static str {
    let image = "urn:li:image:C4E10AQFoyyAjHPMQuQ";
    Mock::given(method("POST"))
        .and(path("/rest/images"))
        .and(wiremock::matchers::query_param("action", "initializeUpload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "uploadUrlExpiresAt": 1650567510704u64,
            "uploadUrl": format!("{}/dms-uploads/sp/v2/C4E10AQFoyyAjHPMQuQ/uploadedImage", server.uri()),
            "image": image,
        }})))
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/dms-uploads/sp/v2/C4E10AQFoyyAjHPMQuQ/uploadedImage"))
        .respond_with(ResponseTemplate::new(201))
        .mount(server)
        .await;
    image
}

async fn posts_sent(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/rest/posts")
        .collect()
}

const SLOT: [&str; 7] = [
    "post-now",
    "--target",
    "li",
    "--lang",
    "fr",
    "--slot",
    "2026-12-18T09:00:00+01:00",
];

#[tokio::test]
async fn a_slot_is_posted_once_escaped_and_its_statistics_are_logged() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(answer("create_post.json", 0))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/organizationalEntityShareStatistics"))
        .respond_with(answer("share_statistics.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    // Parentheses and an underscore, which LinkedIn would cut the post at.
    for f in std::fs::read_dir(dir.path().join("posts/rotation")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::write(
        dir.path().join("posts/rotation/01-parens.toml"),
        "[text]\nfr = \"Les villes (toutes) accueillent chacun·e : droits_pour_tous.\"\n",
    )
    .unwrap();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "https://www.linkedin.com/feed/update/urn:li:share:6844785523593134080/",
        ))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let sent = posts_sent(&server).await;
    assert_eq!(sent.len(), 1, "once");
    let r = &sent[0];
    assert_eq!(r.headers["linkedin-version"], "202601");
    assert_eq!(r.headers["x-restli-protocol-version"], "2.0.0");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["author"], format!("urn:li:organization:{ORG}"));
    assert_eq!(body["visibility"], "PUBLIC");
    assert_eq!(body["lifecycleState"], "PUBLISHED");
    assert_eq!(
        body["commentary"],
        "Les villes \\(toutes\\) accueillent chacun·e : droits\\_pour\\_tous.\n\n{hashtag|\\#|WeTogether} {hashtag|\\#|Cities4Migration}"
    );

    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"));
    let stats = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/rest/organizationalEntityShareStatistics")
        .unwrap();
    assert_eq!(
        stats.url.query().unwrap(),
        fixture("share_statistics.json", 0)["request"]["raw_query"]
            .as_str()
            .unwrap(),
        "the Rest.li query, byte for byte"
    );
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(
        (
            &line["likes"],
            &line["reposts"],
            &line["replies"],
            &line["views"]
        ),
        (&json!(5), &json!(2), &json!(1), &json!(60))
    );
    // Clicks, which only LinkedIn counts, logged as given.
    let clicks = &fixture("share_statistics.json", 0)["response"]["body"]["elements"][0]["totalShareStatistics"]
        ["clickCount"];
    assert_eq!(&line["clicks"], clicks, "{line}");
    assert!(line.get("shares").is_none(), "not given, not logged as 0");
}

#[tokio::test]
async fn a_resend_after_a_lost_answer_is_recorded_as_the_post_linkedin_names() {
    let server = MockServer::start().await;
    mount_images(&server).await;
    // The first post went through, but its answer was lost (a 503); the
    // resend is refused as a duplicate naming it.
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(answer("create_post_duplicate.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("urn:li:share:7141138937766391808"));
    assert_eq!(posts_sent(&server).await.len(), 2);
    // Another slot refused as a duplicate of that same post: a repeat,
    // skipped, not recorded twice.
    bot(dir.path(), &server)
        .args([
            "post-now",
            "--target",
            "li",
            "--lang",
            "en",
            "--slot",
            "2026-12-18T15:30:00+01:00",
        ])
        .assert()
        .stdout(predicate::str::contains("refused as a duplicate"));
    bot(dir.path(), &server)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("paused").not());
}

#[test]
fn a_token_that_cannot_be_refreshed_shows_its_end_and_fails_health_a_week_ahead() {
    let dir = workdir_with_posts();
    let day = |n: i64| (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string();
    let status = |expires: &str, health: bool| {
        let mut cmd = common::bot_command();
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
            .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", "http://127.0.0.1:9")
            .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", ORG)
            .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_ENV", "LI_TOKEN")
            .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_EXPIRES", expires)
            .env("LI_TOKEN", TOKEN)
            .arg("status");
        if health {
            cmd.arg("--health");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let far = status(&day(40), false);
    assert!(
        far.contains(&format!("token expires on {} (in 40 days)", day(40)))
            && !far.contains("RENEW"),
        "{far}"
    );
    assert!(!status(&day(40), true).contains("the token of target li"));
    let soon = status(&day(3), false);
    assert!(
        soon.contains(&format!("RENEW: token expires on {} (in 3 days)", day(3))),
        "{soon}"
    );
    let health = status(&day(3), true);
    assert!(
        health.contains(&format!(
            "the token of target li expires on {} (in 3 days); get a new one and set it",
            day(3)
        )),
        "{health}"
    );
    assert!(
        status("next month", false).is_empty(),
        "a bad date is a config error, not a guess"
    );
}

/// `login linkedin` trades the code for the tokens, and the bot refreshes
/// the access token (refresh_token.json: a documented, derived exchange)
/// ten days before it ends. The code exchange's answer is LinkedIn's
/// documented one (learn.microsoft.com/en-us/linkedin/shared/authentication/
/// authorization-code-flow, step 3: `access_token`, `expires_in`,
/// `refresh_token`, `refresh_token_expires_in`, `scope`); it is not in the
/// fixtures.
#[tokio::test]
async fn login_keeps_the_tokens_and_the_bot_refreshes_them_ten_days_ahead() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await;
    mount_images(&server).await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=authorization_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "sentinel-li-access-1",
            "expires_in": 5184000,
            "refresh_token": "sentinel-li-refresh-1",
            "refresh_token_expires_in": 31536000,
            "scope": "r_organization_social,rw_organization_admin,w_organization_social",
        })))
        .mount(&server)
        .await;
    let refreshed = fixture("refresh_token.json", 0);
    let mut refreshed_body = refreshed["response"]["body"].clone();
    refreshed_body["access_token"] = json!("sentinel-li-access-2");
    refreshed_body["refresh_token"] = json!("sentinel-li-refresh-2");
    Mock::given(method("POST"))
        .and(path("/oauth/v2/accessToken"))
        .and(wiremock::matchers::body_string_contains(
            "grant_type=refresh_token",
        ))
        .respond_with(respond(200, &json!({}), refreshed_body))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(answer("create_post.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    let file = dir.path().join("data/li-token.json");
    let secret = dir.path().join("li-secret");
    std::fs::write(&secret, "sentinel-li-client-secret").unwrap();
    let configured = |cmd: &mut std::process::Command| {
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__LI__KIND", "linkedin")
            .env("CAMPAIGN_BOT__TARGETS__LI__API_URL", server.uri())
            .env("CAMPAIGN_BOT__TARGETS__LI__OAUTH_URL", server.uri())
            .env("CAMPAIGN_BOT__TARGETS__LI__ORGANIZATION", ORG)
            .env("CAMPAIGN_BOT__TARGETS__LI__TOKEN_FILE", &file)
            .env("CAMPAIGN_BOT__TARGETS__LI__CLIENT_ID", "86abc")
            .env("CAMPAIGN_BOT__TARGETS__LI__CLIENT_SECRET_FILE", &secret)
            .env(
                "CAMPAIGN_BOT__TARGETS__LI__REDIRECT_URI",
                "https://example.org/callback",
            );
    };
    let mut cmd = common::bot_command();
    configured(&mut cmd);
    Command::from_std(cmd)
        .args(["login", "linkedin"])
        .write_stdin("the-code\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "/oauth/v2/authorization?response_type=code",
        ))
        .stdout(predicate::str::contains(
            "the bot refreshes the access token until then",
        ))
        .stdout(predicate::str::contains("sentinel-li").not());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let exchange = server.received_requests().await.unwrap();
    let sent = form(&exchange[0].body);
    assert!(sent.contains(&("code".into(), "the-code".into())));
    assert!(sent.contains(&("client_secret".into(), "sentinel-li-client-secret".into())));

    // With 5 days left, the next post refreshes the token first.
    let mut kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    kept["expires_at"] = json!((chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339());
    std::fs::write(&file, kept.to_string()).unwrap();
    let mut cmd = common::bot_command();
    configured(&mut cmd);
    Command::from_std(cmd).args(SLOT).assert().success();
    let requests = server.received_requests().await.unwrap();
    let refresh = requests
        .iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains("grant_type=refresh_token"))
        .expect("refreshed");
    assert!(
        form(&refresh.body).contains(&("refresh_token".into(), "sentinel-li-refresh-1".into()))
    );
    let posted = posts_sent(&server).await;
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0].headers["authorization"].to_str().unwrap(),
        "Bearer sentinel-li-access-2"
    );
    // `status` shows the end of the refresh token (306 days), not the
    // access token's: the bot renews the access token until then.
    let mut cmd = common::bot_command();
    configured(&mut cmd);
    let day = (chrono::Utc::now() + chrono::Duration::seconds(26438400)).date_naive();
    Command::from_std(cmd)
        .arg("status")
        .assert()
        .stdout(predicate::str::contains(format!("token expires on {day}")));
}

/// A post with an image: `POST /rest/images?action=initializeUpload`, the
/// bytes PUT to the address it gives, and the post naming the image with
/// its alt text. The initializeUpload answer is LinkedIn's documented one
/// (learn.microsoft.com/en-us/linkedin/marketing/community-management/
/// shares/images-api, "Initialize Image Upload": `value.uploadUrl`,
/// `value.image`, `value.uploadUrlExpiresAt`), its upload address pointed at
/// the test server; it is not in the fixtures.
#[tokio::test]
async fn an_image_is_uploaded_and_posted_with_its_alt_text() {
    let server = MockServer::start().await;
    let image = mount_images(&server).await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(answer("create_post.json", 0))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args([
            "post-now",
            "living-together",
            "--target",
            "li",
            "--lang",
            "fr",
            "--slot",
            "2026-12-18T15:00:00+01:00",
        ])
        .assert()
        .success();
    let requests = server.received_requests().await.unwrap();
    let init = requests
        .iter()
        .find(|r| r.url.path() == "/rest/images")
        .unwrap();
    let init: Value = serde_json::from_slice(&init.body).unwrap();
    assert_eq!(
        init["initializeUploadRequest"]["owner"],
        format!("urn:li:organization:{ORG}")
    );
    let put = requests
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .expect("the bytes were uploaded");
    assert!(
        put.body.starts_with(b"\xff\xd8\xff"),
        "the image's bytes (a JPEG)"
    );
    let post: Value = serde_json::from_slice(&posts_sent(&server).await[0].body).unwrap();
    assert_eq!(post["content"]["media"]["id"], image);
    assert!(
        post["content"]["media"]["altText"]
            .as_str()
            .unwrap()
            .starts_with("Visuel de campagne sur fond bleu foncé"),
        "{post}"
    );
}
