//! Instagram: the binary against wiremock servers answering with the saved
//! answers of `../shared/fixtures/instagram/` (real bodies saved by
//! python-facebook's test data, documented shapes and logged errors; each
//! exchange's `source` says which). Where a test changes a body (a post's
//! own caption or time in the account's list), it says so.
//!
//! The ids are those of the saved answers: the account of publish.json's
//! first exchange, the container of create_container.json's first and the
//! media of publish.json's first.

mod common;

use std::path::Path;

use assert_cmd::Command;
use chrono::Utc;
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

const TOKEN: &str = "sentinel-instagram-token-71c4";
const ACCOUNT: &str = "17841405822304914";
const CONTAINER: &str = "17889455560051444";
/// The second container (create_container.json's real answer).
const CONTAINER_2: &str = "17952987976782688";
const MEDIA: &str = "17920238422030506";
const V: &str = "/v25.0";
const BASE: &str = "https://example.org/campaign/posts";

fn fixture_body(file: &str, index: usize) -> Value {
    exchange_of("instagram", file, index)["response"]["body"].clone()
}

fn answer(file: &str, index: usize) -> ResponseTemplate {
    recorded_of("instagram", file, index)
}

fn bot_std(dir: &Path, server: &MockServer) -> std::process::Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__IG__KIND", "instagram")
        .env("CAMPAIGN_BOT__TARGETS__IG__API_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__IG__ACCOUNT", ACCOUNT)
        .env("CAMPAIGN_BOT__TARGETS__IG__MEDIA_BASE_URL", BASE)
        .env("CAMPAIGN_BOT__TARGETS__IG__TOKEN_ENV", "IG_TOKEN")
        .env("CAMPAIGN_BOT__SCHEDULE__GRACE", "1m")
        .env("IG_TOKEN", TOKEN);
    cmd
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    Command::from_std(bot_std(dir, server))
}

/// The shipped message "living-together", in French, with its card.
const SLOT: [&str; 8] = [
    "post-now",
    "living-together",
    "--target",
    "ig",
    "--lang",
    "fr",
    "--slot",
    "2026-12-18T15:00:00+01:00",
];

const PERMALINK: &str = "https://www.instagram.com/p/CP5Rq0bjBzn/";

/// `GET /{media}?fields=id,permalink`: the inner object of media.json's
/// second exchange (the `?ids=` form answers it keyed by id), its id ours.
fn media_object(id: &str) -> ResponseTemplate {
    let mut m = fixture_body("media.json", 1)["17893085207160254"].clone();
    m["id"] = json!(id);
    respond(200, &json!({}), m)
}

async fn mount_permalink(server: &MockServer, media: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{V}/{media}")))
        .and(query_param("fields", "id,permalink"))
        .respond_with(media_object(media))
        .mount(server)
        .await;
}

/// The container and its publish, as saved.
async fn mount_posting(server: &MockServer) {
    serve(
        server,
        &format!("POST {V}/{ACCOUNT}/media"),
        answer("create_container.json", 0),
    )
    .await;
    serve(
        server,
        &format!("POST {V}/{ACCOUNT}/media_publish"),
        answer("publish.json", 0),
    )
    .await;
    mount_permalink(server, MEDIA).await;
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

fn field(r: &Request, name: &str) -> Option<String> {
    form(&r.body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn a_slot_goes_out_once_as_its_card_by_address_and_its_insights_are_logged() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    // The quota as recorded: 25 a day, none used.
    serve(
        &server,
        &format!("GET {V}/{ACCOUNT}/content_publishing_limit"),
        answer("publishing_limit.json", 0),
    )
    .await;
    // insights.json #2 (views 8, likes 1, comments 0, shares 0, saved 0), and the
    // account's followers (account.json #1, recorded: 64,363).
    serve(
        &server,
        &format!("GET {V}/{MEDIA}/insights"),
        answer("insights.json", 1),
    )
    .await;
    serve(
        &server,
        &format!("GET {V}/{ACCOUNT}"),
        answer("account.json", 0),
    )
    .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("ig: posted living-together [fr]"))
        .stdout(predicate::str::contains(PERMALINK))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));

    let made = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media")).await;
    let published = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media_publish")).await;
    assert_eq!((made.len(), published.len()), (1, 1), "once");
    assert_eq!(
        field(&published[0], "creation_id").as_deref(),
        Some(CONTAINER)
    );
    // The card by its public address, its alt text, the caption whole in
    // the form body (a `#` in the address would cut it short).
    assert_eq!(
        field(&made[0], "image_url").as_deref(),
        Some(format!("{BASE}/media/campaign-card-fr.jpg").as_str())
    );
    assert!(
        field(&made[0], "alt_text")
            .unwrap()
            .starts_with("Visuel de campagne sur fond bleu foncé")
    );
    let caption = field(&made[0], "caption").unwrap();
    assert!(
        caption.starts_with("Les villes") || caption.contains("#WeTogether #Cities4Migration"),
        "{caption}"
    );
    assert!(
        caption.ends_with("#WeTogether #Cities4Migration"),
        "{caption}"
    );
    assert_eq!(field(&made[0], "access_token").as_deref(), Some(TOKEN));
    assert!(!made[0].url.query().unwrap_or("").contains(TOKEN));

    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"))
        .stdout(predicate::str::contains("took today's follower count of 1"));
    let followers = std::fs::read_to_string(dir.path().join("data/followers.jsonl")).unwrap();
    assert!(followers.contains("\"followers\":64363"), "{followers}");
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["kind"], "instagram");
    assert_eq!(line["likes"], 1);
    assert_eq!(line["replies"], 0);
    assert_eq!(line["views"], 8);
    // Shares and saves given as 0: logged as 0, not left out.
    assert_eq!(line["shares"], 0);
    assert_eq!(line["saves"], 0);
    bot(dir.path(), &server)
        .args(["report"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ig"));
}

/// publish.json #3: "Media ID is not available" (9007 / 2207027,
/// `is_transient: false`) while the image is still being fetched. The same
/// container is published again, never a second one.
#[tokio::test]
async fn publishing_too_early_publishes_the_same_container_again() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media_publish")))
        .respond_with(answer("publish.json", 2))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    // Its status, asked before publishing again: FINISHED (recorded).
    serve(
        &server,
        &format!("GET {V}/{CONTAINER}"),
        answer("container_status.json", 0),
    )
    .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(PERMALINK));
    let made = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media")).await;
    let published = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media_publish")).await;
    assert_eq!(made.len(), 1, "never a second container");
    assert_eq!(published.len(), 2);
    assert!(
        published
            .iter()
            .all(|p| field(p, "creation_id").as_deref() == Some(CONTAINER))
    );
}

/// The answer of `media_publish` is lost (a 502 after the post went out).
/// The container says PUBLISHED (container_status.json #4), so nothing is
/// published again: the post is found among the account's media
/// (media.json #1, its newest item given our caption and the time now).
#[tokio::test]
async fn a_lost_answer_is_settled_by_the_containers_status_never_published_twice() {
    let server = MockServer::start().await;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let kept = sent.clone();
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media")))
        .respond_with(move |r: &Request| {
            *kept.lock().unwrap() = field(r, "caption");
            answer("create_container.json", 0)
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media_publish")))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("GET {V}/{CONTAINER}"),
        answer("container_status.json", 3),
    )
    .await;
    let shown = sent.clone();
    Mock::given(method("GET"))
        .and(path(format!("{V}/{ACCOUNT}/media")))
        .respond_with(move |_: &Request| {
            let mut body = fixture_body("media.json", 0);
            body["data"][0]["id"] = json!(MEDIA);
            body["data"][0]["caption"] = json!(shown.lock().unwrap().clone().unwrap_or_default());
            body["data"][0]["timestamp"] =
                json!(Utc::now().format("%Y-%m-%dT%H:%M:%S+0000").to_string());
            respond(200, &json!({}), body)
        })
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains("ig: posted living-together [fr]"))
        .stdout(predicate::str::contains(
            "https://www.instagram.com/p/CSgf9BChwVq/",
        ));
    assert_eq!(
        requests(&server, "POST", &format!("{V}/{ACCOUNT}/media_publish"))
            .await
            .len(),
        1,
        "published once: never again after the lost answer"
    );
    let store = campaign_bot::store::Store::open(&dir.path().join("data")).unwrap();
    assert_eq!(
        store.all_intents().unwrap()[0].remote_id.as_deref(),
        Some(MEDIA)
    );
}

/// A lost answer again, but the container failed: a 200 whose
/// `status_code` is ERROR, the code only inside the sentence
/// (container_status.json #3). It cannot have been published: a new
/// container is made and published, once.
#[tokio::test]
async fn a_failed_container_is_replaced_by_a_new_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media")))
        .respond_with(answer("create_container.json", 0))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("POST {V}/{ACCOUNT}/media"),
        answer("create_container.json", 1),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media_publish")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    serve(
        &server,
        &format!("POST {V}/{ACCOUNT}/media_publish"),
        answer("publish.json", 0),
    )
    .await;
    serve(
        &server,
        &format!("GET {V}/{CONTAINER}"),
        answer("container_status.json", 2),
    )
    .await;
    mount_permalink(&server, MEDIA).await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(PERMALINK));
    let made = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media")).await;
    let published = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media_publish")).await;
    assert_eq!(made.len(), 2);
    assert_eq!(published.len(), 2);
    assert_eq!(
        field(&published[1], "creation_id").as_deref(),
        Some(CONTAINER_2)
    );
}

/// The account's API posts of the day are used (publishing_limit.json #1,
/// its usage set to its total): no container is made.
#[tokio::test]
async fn a_spent_publishing_quota_makes_no_container() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    let mut body = fixture_body("publishing_limit.json", 1);
    body["data"][0]["quota_usage"] = body["data"][0]["config"]["quota_total"].clone();
    serve(
        &server,
        &format!("GET {V}/{ACCOUNT}/content_publishing_limit"),
        respond(200, &json!({}), body),
    )
    .await;
    let dir = workdir_with_posts();
    let out = bot(dir.path(), &server)
        .args([
            "post-now",
            "living-together",
            "--target",
            "ig",
            "--lang",
            "en",
        ])
        .output()
        .unwrap();
    let out =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.contains("API posts of the last 24 hours are used"),
        "{out}"
    );
    assert!(
        requests(&server, "POST", &format!("{V}/{ACCOUNT}/media"))
            .await
            .is_empty(),
        "no container made"
    );
}

/// Code 4 is "Application request limit reached" elsewhere; with subcode
/// 2207051 (errors_publish.json #2) it is a spam block: the target pauses
/// for a person, with Instagram's words, and is not hammered.
#[tokio::test]
async fn a_spam_block_pauses_the_target() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{V}/{ACCOUNT}/media_publish")))
        .respond_with(answer("errors_publish.json", 1))
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(SLOT)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("We restrict certain activity"));
    bot(dir.path(), &server)
        .args(["status"])
        .assert()
        .stdout(predicate::str::contains("PAUSED"));
    assert_eq!(
        requests(&server, "POST", &format!("{V}/{ACCOUNT}/media_publish"))
            .await
            .len(),
        1
    );
}

/// A media whose insights are refused (insights.json #4: "does not
/// support the … metric for this media product type") is counted from its
/// own likes and comments (media.json #2's inner object: 1 like).
#[tokio::test]
async fn refused_insights_fall_back_to_the_posts_own_counts() {
    let server = MockServer::start().await;
    mount_posting(&server).await;
    serve(
        &server,
        &format!("GET {V}/{MEDIA}/insights"),
        answer("insights.json", 3),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{V}/{MEDIA}")))
        .and(query_param("fields", "id,like_count,comments_count"))
        .respond_with(media_object(MEDIA))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    bot(dir.path(), &server).args(SLOT).assert().success();
    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"));
    let log = std::fs::read_to_string(dir.path().join("data/engagement.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(line["likes"], 1);
    assert_eq!(line["replies"], 0);
    assert!(line["views"].is_null() || line["views"] == 0, "{line}");
}

/// What `validate` tells before anything is sent: a post without an image,
/// a PNG, a caption over 2,200, over 30 hashtags (error) or 5 (warning),
/// over 20 mentions; and a target without `media_base_url`.
#[test]
fn validate_tells_what_instagram_would_refuse() {
    let dir = workdir_with_posts();
    let run = |with_base: bool| {
        let mut cmd = common::bot_command();
        cmd.current_dir(dir.path())
            .env("CAMPAIGN_BOT__TARGETS__IG__KIND", "instagram")
            .env("CAMPAIGN_BOT__TARGETS__IG__ACCOUNT", ACCOUNT)
            .env("CAMPAIGN_BOT__TARGETS__IG__TOKEN_ENV", "IG_TOKEN")
            .env("IG_TOKEN", TOKEN)
            .args(["validate", "--offline"]);
        if with_base {
            cmd.env("CAMPAIGN_BOT__TARGETS__IG__MEDIA_BASE_URL", BASE);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    // The shipped posts: every one has its card, a JPEG, and few tags.
    let (code, out) = run(true);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 errors, 0 warnings"), "{out}");

    let card = "[[media]]\npath = \"media/campaign-card-en.jpg\"\nalt = { en = \"A card\" }\n";
    let write = |name: &str, body: String| {
        std::fs::write(dir.path().join("posts/rotation").join(name), body).unwrap();
    };
    write("91-no-image.toml", "[text]\nen = \"No picture.\"\n".into());
    std::fs::write(
        dir.path().join("posts/media/card.png"),
        // A 1x1 PNG.
        [
            0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
            0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49,
            0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0,
            0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
        ],
    )
    .unwrap();
    write(
        "92-png.toml",
        "[text]\nen = \"A PNG.\"\n\n[[media]]\npath = \"media/card.png\"\nalt = { en = \"A card\" }\n"
            .into(),
    );
    write(
        "93-long.toml",
        format!("[text]\nen = \"{}\"\n\n{card}", "a".repeat(2300)),
    );
    let tags = |n: usize| {
        (1..=n)
            .map(|i| format!("#tag{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    write(
        "94-many-tags.toml",
        format!("[text]\nen = \"Tags {}\"\n\n{card}", tags(29)),
    );
    write(
        "95-some-tags.toml",
        format!("[text]\nen = \"Tags {}\"\n\n{card}", tags(4)),
    );
    let mentions: Vec<String> = (1..=21).map(|i| format!("@city{i}")).collect();
    write(
        "96-mentions.toml",
        format!("[text]\nen = \"With {}\"\n\n{card}", mentions.join(" ")),
    );
    let (code, out) = run(true);
    assert_ne!(code, Some(0), "{out}");
    let line = |file: &str| {
        out.lines()
            .filter(|l| l.contains(file))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        line("91-no-image").contains("error") && out.contains("takes only posts with an image"),
        "{out}"
    );
    assert!(
        line("92-png").contains("error")
            && out.contains("is image/png; Instagram takes only image/jpeg"),
        "{out}"
    );
    assert!(line("93-long").contains("error"), "{out}");
    assert!(line("93-long").contains("2200"), "{out}");
    assert!(line("94-many-tags").contains("error"), "{out}");
    assert!(line("94-many-tags").contains("31 hashtags"), "{out}");
    let some = line("95-some-tags");
    assert!(
        some.contains("warning") && !some.contains("error") && some.contains("6 hashtags"),
        "{out}"
    );
    assert!(line("96-mentions").contains("error"), "{out}");
    assert!(line("96-mentions").contains("21 mentions"), "{out}");

    // No media_base_url: the configuration is refused, with what to give.
    for f in std::fs::read_dir(dir.path().join("posts/rotation")).unwrap() {
        let f = f.unwrap().path();
        if f.file_name().unwrap().to_string_lossy().starts_with('9') {
            std::fs::remove_file(f).unwrap();
        }
    }
    let (code, out) = run(false);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("targets.ig.media_base_url"), "{out}");
}

/// An Instagram Login token (`graph.instagram.com`: one that ends), two
/// days old: refreshed before the first call (tokens.json #1, its token
/// given a value of ours: the saved one is redacted), written back to its
/// file (private), used from then on, and never shown. One that ends
/// within a week fails `status --health`.
#[tokio::test]
async fn an_instagram_login_token_is_refreshed_written_back_and_its_end_watched() {
    use std::os::unix::fs::PermissionsExt;
    let server = MockServer::start().await;
    mount_posting(&server).await;
    let refreshed = "sentinel-instagram-refreshed-93b0";
    let mut answer_body = fixture_body("tokens.json", 0);
    answer_body["access_token"] = json!(refreshed);
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", TOKEN))
        .respond_with(respond(200, &json!({}), answer_body))
        .mount(&server)
        .await;
    let dir = workdir_with_posts();
    let file = dir.path().join("data/instagram-token.json");
    let write_token = |issued_days_ago: i64, lasts_days: i64| {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let now = Utc::now();
        std::fs::write(
            &file,
            json!({
                "access_token": TOKEN,
                "issued_at": (now - chrono::Duration::days(issued_days_ago)).to_rfc3339(),
                "expires_at": (now + chrono::Duration::days(lasts_days)).to_rfc3339(),
            })
            .to_string(),
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let with_file = |cmd: &mut std::process::Command| {
        cmd.env_remove("CAMPAIGN_BOT__TARGETS__IG__TOKEN_ENV")
            .env("CAMPAIGN_BOT__TARGETS__IG__TOKEN_FILE", &file)
            .env("CAMPAIGN_BOT__TARGETS__IG__REFRESH_URL", server.uri());
    };
    write_token(2, 58);
    let mut cmd = bot_std(dir.path(), &server);
    with_file(&mut cmd);
    Command::from_std(cmd)
        .args(SLOT)
        .assert()
        .success()
        .stdout(predicate::str::contains(TOKEN).not())
        .stdout(predicate::str::contains(refreshed).not());
    let made = requests(&server, "POST", &format!("{V}/{ACCOUNT}/media")).await;
    assert_eq!(field(&made[0], "access_token").as_deref(), Some(refreshed));
    let kept = std::fs::read_to_string(&file).unwrap();
    assert!(kept.contains(refreshed), "written back");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A token that ends in three days and cannot be refreshed here (a
    // fresh one): `status --health` fails a week ahead.
    write_token(0, 3);
    let mut cmd = bot_std(dir.path(), &server);
    with_file(&mut cmd);
    let out = cmd.args(["status", "--health"]).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("the token of target ig expires on"), "{text}");
}
