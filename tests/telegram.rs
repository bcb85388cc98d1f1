//! Telegram channels: the binary against wiremock servers answering with
//! the documented shapes and logged errors of `../shared/fixtures/telegram/`
//! (photos, channel answers, 400/403/429), and against the real local Bot
//! API emulator of `../shared/peers/telegram/` for `sendMessage` (started
//! by `scripts/test.sh`, which exports `TELEGRAM_ENV_FILE`).

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request};

use campaign_bot::config::Secret;
use campaign_bot::model::{Lang, Slot};
use campaign_bot::publish::telegram::Telegram;
use campaign_bot::publish::{Outgoing, PublishError, Publisher};
use common::*;

/// The emulator's fake test token, as in the fixtures' paths.
const TOKEN: &str = "123456789:AAcampaign-bot-local-test-token-0001";

fn fixture(file: &str, index: usize) -> wiremock::ResponseTemplate {
    recorded_of("telegram", file, index)
}

fn bot(dir: &Path, api_url: &str) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__TG__KIND", "telegram")
        .env("CAMPAIGN_BOT__TARGETS__TG__API_URL", api_url)
        .env("CAMPAIGN_BOT__TARGETS__TG__CHANNEL", "@campaign")
        .env("CAMPAIGN_BOT__TARGETS__TG__TOKEN_ENV", "TG_TOKEN")
        .env("TG_TOKEN", TOKEN);
    Command::from_std(cmd)
}

async fn sent(server: &MockServer, what: &str) -> Vec<Request> {
    let at = format!("/bot{TOKEN}/{what}");
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == at)
        .collect()
}

async fn answer(server: &MockServer, what: &str, response: wiremock::ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("/bot{TOKEN}/{what}")))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_slot_is_posted_once_as_plain_text_with_its_channel_link() {
    let server = MockServer::start().await;
    answer(
        &server,
        "sendMessage",
        fixture("doc_send_message_channel.json", 0),
    )
    .await;
    // Text alone (the cards go by sendPhoto, tested on its own).
    let dir = workdir_with_text_posts();
    let args = [
        "post-now",
        "--target",
        "tg",
        "--lang",
        "fr",
        "--slot",
        "2026-12-18T09:00:00+01:00",
    ];
    bot(dir.path(), &server.uri())
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("https://t.me/campaign/42"))
        .stdout(predicate::str::contains(TOKEN).not());
    bot(dir.path(), &server.uri())
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let requests = sent(&server, "sendMessage").await;
    assert_eq!(requests.len(), 1, "once");
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["chat_id"], "@campaign");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .ends_with("#WeTogether #Cities4Migration"),
        "{body}"
    );
    assert!(
        body.get("parse_mode").is_none(),
        "plain text: hashtags need no markup"
    );
}

#[tokio::test]
async fn an_unknown_outcome_is_never_sent_again_and_waits_for_a_person() {
    let server = MockServer::start().await;
    // A gateway error after the request left: it may have been posted.
    answer(
        &server,
        "sendMessage",
        respond(502, &json!({}), json!({"message": "Bad Gateway"})),
    )
    .await;
    // Text alone (the cards go by sendPhoto, tested on its own).
    let dir = workdir_with_text_posts();
    let args = [
        "post-now",
        "--target",
        "tg",
        "--lang",
        "ar",
        "--slot",
        "2026-12-18T09:00:00+01:00",
    ];
    bot(dir.path(), &server.uri())
        .args(args)
        .assert()
        .stdout(predicate::str::contains("cannot be checked"));
    bot(dir.path(), &server.uri())
        .args(args)
        .assert()
        .stdout(predicate::str::contains("already filled (uncertain)"));
    assert_eq!(
        sent(&server, "sendMessage").await.len(),
        1,
        "never sent a second time"
    );
    bot(dir.path(), &server.uri())
        .arg("status")
        .assert()
        .stdout(predicate::str::contains("resolve"));
    bot(dir.path(), &server.uri())
        .args(["status", "--health"])
        .assert()
        .failure();
}

#[tokio::test]
async fn a_post_with_an_image_goes_as_a_photo_with_its_caption() {
    let server = MockServer::start().await;
    answer(
        &server,
        "sendPhoto",
        fixture("doc_send_photo_channel.json", 0),
    )
    .await;
    let dir = workdir_with_posts();
    // The shipped Migrants Day post carries an image.
    bot(dir.path(), &server.uri())
        .args([
            "post-now",
            "international-migrants-day-2026",
            "--target",
            "tg",
            "--lang",
            "en",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("https://t.me/campaign/43"));
    let requests = sent(&server, "sendPhoto").await;
    assert_eq!(requests.len(), 1);
    let content_type = requests[0].headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("multipart/form-data"));
    let body = String::from_utf8_lossy(&requests[0].body);
    assert!(
        body.contains("name=\"chat_id\"\r\n\r\n@campaign"),
        "{body:.300}"
    );
    assert!(body.contains("name=\"caption\""));
    assert!(body.contains("name=\"photo\"; filename="));
    assert!(body.contains("#WeTogether"));
}

fn outgoing(text: &str) -> Outgoing {
    Outgoing {
        intent_key: "k".into(),
        slot: Slot::cron(chrono::Utc::now()),
        target: "tg".into(),
        message_id: "m".into(),
        lang: Lang::new("en").unwrap(),
        text: text.into(),
        spoiler: None,
        media: Vec::new(),
        not_before: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn telegrams_refusals_are_sorted_by_what_to_do() {
    let cases = [
        // (errors.json exchange, what it must become)
        (0, "permanent"),
        (1, "auth"),
        (2, "rate limited"),
    ];
    for (i, want) in cases {
        let server = MockServer::start().await;
        answer(&server, "sendMessage", fixture("errors.json", i)).await;
        let tg = Telegram::new("tg", &server.uri(), "@campaign", Secret::new(TOKEN));
        let before = chrono::Utc::now();
        let err = tg.publish(&outgoing("hello")).await.unwrap_err();
        assert!(!err.to_string().contains(TOKEN), "{err}");
        match (want, &err) {
            (
                "permanent",
                PublishError::Permanent {
                    status, message, ..
                },
            ) => {
                assert_eq!(*status, Some(400));
                assert!(message.contains("chat not found") && message.contains("channel"));
            }
            ("auth", PublishError::Auth(m)) => {
                assert!(m.contains("administrator"), "{m}");
            }
            ("rate limited", PublishError::RateLimited { retry_at, .. }) => {
                let wait = (retry_at.unwrap() - before).num_seconds();
                assert!((33..=36).contains(&wait), "retry_after 34 s: {wait}");
            }
            _ => panic!("exchange {i}: wanted {want}, got {err:?}"),
        }
    }
    // The emulator's own failure shape (HTTP 500, {"message"}) is a
    // temporary failure, not a refusal.
    let server = MockServer::start().await;
    answer(
        &server,
        "sendMessage",
        respond(
            500,
            &json!({}),
            json!({"message": "API method not supported"}),
        ),
    )
    .await;
    let tg = Telegram::new("tg", &server.uri(), "@campaign", Secret::new(TOKEN));
    assert!(matches!(
        tg.publish(&outgoing("hello")).await,
        Err(PublishError::Transient(_))
    ));
}

#[test]
fn validate_names_a_text_too_long_for_telegram_and_a_caption_that_loses_its_image() {
    let dir = workdir_with_posts();
    let long = "Cities welcome everyone. ".repeat(200);
    std::fs::write(
        dir.path().join("posts/rotation/99-long.toml"),
        format!("[text]\nen = \"\"\"{long}\"\"\"\n"),
    )
    .unwrap();
    let mid = "Cities welcome everyone. ".repeat(45);
    std::fs::write(
        dir.path().join("posts/rotation/98-captioned.toml"),
        format!(
            "[text]\nen = \"\"\"{mid}\"\"\"\n\n[[media]]\npath = \"media/campaign-card-en.jpg\"\nalt = {{ en = \"A banner\" }}\n"
        ),
    )
    .unwrap();
    bot(dir.path(), "https://api.telegram.org")
        .args(["validate", "--offline"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "the en text is too long for target tg (telegram)",
        ))
        .stdout(predicate::str::contains(
            "UTF-16 code units over the limit of 4096",
        ))
        .stdout(predicate::str::contains(
            "longer than a Telegram image caption (1024): target tg sends it without its image",
        ));
}

#[tokio::test]
async fn a_text_over_the_limit_goes_out_as_its_short_variant() {
    let server = MockServer::start().await;
    answer(
        &server,
        "sendMessage",
        fixture("doc_send_message_channel.json", 0),
    )
    .await;
    let dir = workdir_with_posts();
    for f in std::fs::read_dir(dir.path().join("posts/rotation")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let long = "Cities welcome everyone, whatever their status. ".repeat(100);
    std::fs::write(
        dir.path().join("posts/rotation/01-long.toml"),
        format!("[text]\nen = \"\"\"{long}\"\"\"\n\n[short]\nen = \"Cities welcome everyone.\"\n"),
    )
    .unwrap();
    bot(dir.path(), "https://api.telegram.org")
        .args(["validate", "--offline"])
        .assert()
        .success();
    bot(dir.path(), &server.uri())
        .args(["preview", "--next", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("the short text"));
    bot(dir.path(), &server.uri())
        .args(["post-now", "--target", "tg", "--lang", "en"])
        .assert()
        .success();
    let requests = sent(&server, "sendMessage").await;
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        body["text"],
        "Cities welcome everyone.\n\n#WeTogether #Cities4Migration"
    );
}

/// The local emulator's address and token (`scripts/test.sh` starts it).
fn emulator() -> (String, String) {
    let file = std::env::var("TELEGRAM_ENV_FILE").unwrap_or_else(|_| {
        panic!(
            "TELEGRAM_ENV_FILE is not set: start the emulator with \
             ../shared/peers/telegram/start-telegram-test-api.sh and export \
             TELEGRAM_ENV_FILE=/var/tmp/campaign-bot/telegram/env (scripts/test.sh does)"
        )
    });
    let text = std::fs::read_to_string(&file).unwrap();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} in {file}"))
            .trim()
            .to_string()
    };
    (get("TELEGRAM_API_URL"), get("TELEGRAM_BOT_TOKEN"))
}

#[tokio::test]
async fn the_real_bot_api_emulator_gets_one_arabic_message_per_slot() {
    let (api, token) = emulator();
    // A token of its own: the emulator keeps each token's messages apart.
    let token = format!("{}{}", token, std::process::id());
    // Text alone: the emulator has no sendPhoto, and the cards go by it.
    let dir = workdir_with_text_posts();
    let run = |slot: &str| {
        bot(dir.path(), &api)
            .env("TG_TOKEN", &token)
            .args(["post-now", "--target", "tg", "--lang", "ar", "--slot", slot])
            .assert()
            .success()
            .stdout(predicate::str::contains(&token).not())
            .get_output()
            .stdout
            .clone()
    };
    let first = String::from_utf8(run("2026-12-18T09:00:00+01:00")).unwrap();
    assert!(first.contains("tg: posted"), "{first}");
    let again = String::from_utf8(run("2026-12-18T09:00:00+01:00")).unwrap();
    assert!(again.contains("already filled"), "{again}");
    run("2026-12-18T15:30:00+01:00");
    let history: Value = reqwest::Client::new()
        .post(format!("{api}/getUpdatesHistory"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages: Vec<&Value> = history["result"]
        .as_array()
        .unwrap_or_else(|| panic!("the emulator's history: {history:#}"))
        .iter()
        .map(|u| &u["message"])
        .collect();
    assert_eq!(messages.len(), 2, "one per slot: {history:#}");
    for m in &messages {
        assert_eq!(m["chat_id"], "@campaign");
        let text = m["text"].as_str().unwrap();
        assert!(
            text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
                && text.contains("#WeTogether"),
            "Arabic intact: {text}"
        );
    }
    assert_ne!(
        messages[0]["text"], messages[1]["text"],
        "the rotation moved on"
    );
}
