//! Engagement against a Mastodon-API wiremock server answering with the
//! recorded responses (favourites and reblogs moving), through the binary:
//! post, check, log, report.

mod common;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

use campaign_bot::config::Secret;
use campaign_bot::engagement::read_log;
use campaign_bot::model::{Check, Counts};
use campaign_bot::publish::Publisher;
use campaign_bot::publish::mastodon::FediverseFlavour;
use campaign_bot::publish::mastodon::Mastodon;
use common::*;

fn masto(server: &MockServer) -> Mastodon {
    Mastodon::new(
        "masto",
        FediverseFlavour::Mastodon,
        &server.uri(),
        Secret::new("t"),
        "public",
        campaign_bot::publish::mastodon::limits(500, 23),
    )
    .unwrap()
}

const FAV: &str = "test_status_fav_unfav.json";
const REBLOG: &str = "test_status_reblog_unreblog.json";

#[tokio::test]
async fn counts_come_in_batches_and_missing_posts_are_asked_alone() {
    let server = MockServer::start().await;
    common::serve_mastodon_media(&server).await;
    let favourited = body(FAV, 1); // favourites_count 1
    let reblogged = body(REBLOG, 3); // reblogs_count 1
    let (a, b) = (
        favourited["id"].as_str().unwrap().to_string(),
        reblogged["id"].as_str().unwrap().to_string(),
    );
    serve(
        &server,
        "GET /api/v1/statuses",
        respond(200, &headers(FAV, 1), json!([favourited, reblogged])),
    )
    .await;
    serve(
        &server,
        "GET /api/v1/statuses/0",
        recorded("test_status_missing.json", 0),
    )
    .await;
    let m = masto(&server);
    let got = m
        .engagement(&[a.clone(), "0".into(), b.clone()])
        .await
        .unwrap();
    assert!(got.contains(&(
        a.clone(),
        Check::Counts(Counts {
            likes: 1,
            reposts: 0,
            replies: 0,
            quotes: Some(0),
            views: None,
            ..Default::default()
        })
    )));
    assert!(got.contains(&(
        b,
        Check::Counts(Counts {
            likes: 0,
            reposts: 1,
            replies: 0,
            quotes: Some(0),
            views: None,
            ..Default::default()
        })
    )));
    assert!(got.contains(&("0".into(), Check::Gone)));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.url.path() == "/api/v1/statuses")
            .count(),
        1,
        "one batch call"
    );
    assert_eq!(m.engagement_batch(), 20);
}

#[tokio::test]
async fn servers_without_the_batch_call_are_asked_one_by_one_and_remembered() {
    let server = MockServer::start().await;
    common::serve_mastodon_media(&server).await;
    let replied = body("test_status_reply.json", 4); // replies_count 1
    let id = replied["id"].as_str().unwrap().to_string();
    serve(
        &server,
        "GET /api/v1/statuses",
        recorded("test_status_missing.json", 0),
    )
    .await;
    serve(
        &server,
        &format!("GET /api/v1/statuses/{id}"),
        respond(200, &headers(FAV, 1), replied),
    )
    .await;
    let m = masto(&server);
    for _ in 0..2 {
        let got = m.engagement(std::slice::from_ref(&id)).await.unwrap();
        assert_eq!(
            got,
            [(
                id.clone(),
                Check::Counts(Counts {
                    likes: 0,
                    reposts: 0,
                    replies: 1,
                    quotes: Some(0),
                    views: None,
                    ..Default::default()
                })
            )]
        );
    }
    let batch_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v1/statuses")
        .count();
    assert_eq!(batch_calls, 1, "the missing batch call is remembered");
    assert_eq!(m.engagement_batch(), 1);
}

fn bot(dir: &Path, server: &MockServer) -> Command {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .env("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon")
        .env("CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL", server.uri())
        .env("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN")
        .env("MASTO_TOKEN", "t");
    Command::from_std(cmd)
}

#[tokio::test]
async fn a_favourite_shows_in_the_log_and_the_reports() {
    let server = MockServer::start().await;
    common::serve_mastodon_media(&server).await;
    serve(&server, "POST /api/v1/statuses", recorded(FAV, 0)).await;
    let id = body(FAV, 0)["id"].as_str().unwrap().to_string();
    // The fan favourited it: the server now counts one favourite.
    Mock::given(method("GET"))
        .and(path("/api/v1/statuses"))
        .and(query_param("id[]", id.as_str()))
        .respond_with(respond(200, &headers(FAV, 1), json!([body(FAV, 1)])))
        .mount(&server)
        .await;
    // The account, for the daily follower count (recorded: 0 followers).
    serve(
        &server,
        "GET /api/v1/accounts/verify_credentials",
        recorded("test_account.json", 0),
    )
    .await;
    let followers_count = body("test_account.json", 0)["followers_count"]
        .as_u64()
        .unwrap();
    let dir = workdir_with_posts();
    bot(dir.path(), &server)
        .args(["post-now", "--lang", "ar"])
        .assert()
        .success();
    bot(dir.path(), &server)
        .arg("engagement")
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 0 posts"));
    bot(dir.path(), &server)
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("checked 1 posts"));
    // The follower count, once a local day: in the store and in
    // followers.jsonl.
    let followers_log = || {
        std::fs::read_to_string(dir.path().join("data/followers.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let lines = followers_log();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["target"], "masto");
    assert_eq!(lines[0]["kind"], "mastodon");
    assert_eq!(lines[0]["followers"], followers_count);
    bot(dir.path(), &server)
        .arg("engagement")
        .assert()
        .success();
    assert_eq!(followers_log().len(), 1, "once a day");
    bot(dir.path(), &server)
        .arg("report")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Audience (followers, daily counts)",
        ))
        .stdout(predicate::str::contains(format!(
            "masto: {followers_count} on "
        )));

    let log = read_log(&dir.path().join("data/engagement.jsonl")).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].remote_id, id);
    assert!(log[0].likes >= 1);
    assert_eq!(log[0].lang, "ar");
    assert_eq!(log[0].kind, "mastodon");

    let csv = bot(dir.path(), &server)
        .args(["report", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(csv).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rows.headers().unwrap().iter().next(), Some("posted_at"));
    let rows: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1, "one row per post");
    assert!(
        rows[0].iter().any(|f| f.contains("#WeTogether")
            && f.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))),
        "Arabic intact"
    );
    // For Excel: the same rows after a UTF-8 byte order mark; plain CSV
    // has none.
    assert!(!csv.starts_with('\u{FEFF}'));
    let excel = bot(dir.path(), &server)
        .args(["report", "--format", "excel-csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        &excel[..3],
        b"\xEF\xBB\xBF",
        "a UTF-8 byte order mark first"
    );
    assert_eq!(&excel[3..], csv.as_bytes(), "then the same CSV");

    // The workbook: a sheet per view, numbers as numbers, dates as dates,
    // Arabic intact (read back with calamine).
    let book_path = dir.path().join("report.xlsx");
    bot(dir.path(), &server)
        .args(["report", "--since", "2020-01-01", "--xlsx"])
        .arg(&book_path)
        .assert()
        .success();
    {
        use calamine::{Data, Reader, Xlsx, open_workbook};
        let mut book: Xlsx<_> = open_workbook(&book_path).unwrap();
        assert_eq!(
            book.sheet_names(),
            [
                "Posts",
                "By message",
                "By language",
                "By target",
                "By day",
                "By weekday",
                "By hour",
                "Audience",
                "Periods"
            ]
        );
        let posts = book.worksheet_range("Posts").unwrap();
        assert_eq!(posts.height(), 2, "a header and one post");
        let row: Vec<&Data> = posts.rows().nth(1).unwrap().iter().collect();
        assert!(
            matches!(row[0], Data::DateTime(_)),
            "posted at is a date: {:?}",
            row[0]
        );
        assert!(
            matches!(row[1], Data::DateTime(_)),
            "the day is a date: {:?}",
            row[1]
        );
        assert!(
            matches!(row[8], Data::Float(f) if *f >= 1.0),
            "likes are a number: {:?}",
            row[8]
        );
        assert_eq!(
            row[13],
            &Data::Empty,
            "Mastodon gives no views: left empty, not 0"
        );
        assert_eq!(
            row[15],
            &Data::Float(followers_count as f64),
            "the followers when it was posted"
        );
        match row[19] {
            Data::String(t) => assert!(
                t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                "Arabic intact: {t}"
            ),
            other => panic!("the text: {other:?}"),
        }
        let langs = book.worksheet_range("By language").unwrap();
        assert_eq!(
            langs.get((1, 0)),
            Some(&Data::String("Arabic".into())),
            "languages by name"
        );
    }

    // By local hour, and a period compared with the one before it.
    bot(dir.path(), &server)
        .args(["report", "--by", "hour", "--since", "2020-01-01"])
        .assert()
        .success()
        .stdout(predicate::str::contains("By hour"))
        .stdout(predicate::str::contains("This period, 2020-01-01 to "))
        .stdout(predicate::str::contains("1 posts"));

    let html_path = dir.path().join("report.html");
    bot(dir.path(), &server)
        .args(["report", "--html"])
        .arg(&html_path)
        .assert()
        .success()
        .stdout(predicate::str::contains("By language"));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.matches("<svg").count() >= 3);
    let post_url = body(FAV, 0)["url"].as_str().unwrap().to_string();
    for (i, _) in html.match_indices("http") {
        let rest = &html[i..];
        let before = &html[..i];
        assert!(
            rest.starts_with(&post_url)
                || before.ends_with("xmlns=\"")
                || before.ends_with("xmlns:xlink=\""),
            "an address that is not a post link: {}",
            &rest[..rest.len().min(60)]
        );
    }
}
