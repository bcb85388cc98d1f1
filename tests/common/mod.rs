//! Helpers shared by the integration tests: the recorded Mastodon responses
//! in `../shared/fixtures/mastodon/`, served by wiremock.
#![allow(dead_code)]

pub mod chaos;
pub mod container_server;
pub mod fault_server;
pub mod pg_proxy;

use std::path::{Path, PathBuf};

use serde_json::Value;
use wiremock::ResponseTemplate;

/// The `campaign-bot` binary, with none of the test environment's own
/// `CAMPAIGN_BOT__*`, `LOG_FORMAT` or `RUST_LOG` settings.
pub fn bot_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("campaign-bot"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CAMPAIGN_BOT") || k == "LOG_FORMAT" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The binary, run in `dir`.
pub fn bot(dir: &Path) -> std::process::Command {
    let mut cmd = bot_command();
    cmd.current_dir(dir);
    cmd
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Whether the tests run as root (CI does): some use a real tmpfs then.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Copies the shipped `posts/` into the folder `into` (as `into/posts`).
pub fn copy_posts(into: &Path) {
    let posts = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&posts)
        .arg(into)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -r {} {}",
        posts.display(),
        into.display()
    );
}

/// A temporary working folder holding a copy of the shipped `posts/`.
pub fn workdir_with_posts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_posts(dir.path());
    dir
}

/// A working folder with the shipped posts' texts without their cards:
/// for a server that takes no photos (the Telegram Bot API emulator) or a
/// test about text alone. Comments are not kept.
pub fn workdir_with_text_posts() -> tempfile::TempDir {
    let dir = workdir_with_posts();
    for sub in ["rotation", "queue"] {
        for f in std::fs::read_dir(dir.path().join("posts").join(sub)).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let mut post: toml::Table = std::fs::read_to_string(&f).unwrap().parse().unwrap();
            post.remove("media");
            std::fs::write(&f, toml::to_string(&post).unwrap()).unwrap();
        }
    }
    dir
}

/// `com.atproto.repo.getRecord` of the post `rkey` of `did` on the PDS at
/// `pds`: the record, or the error body if there is none.
pub async fn bsky_post_record(pds: &str, did: &str, rkey: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{pds}/xrpc/com.atproto.repo.getRecord"))
        .query(&[
            ("repo", did),
            ("collection", "app.bsky.feed.post"),
            ("rkey", rkey),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// Exchange `index` of a recorded fixture file of Mastodon.
pub fn exchange(file: &str, index: usize) -> Value {
    exchange_of("mastodon", file, index)
}

/// Exchange `index` of a fixture file of `network`
/// (`../shared/fixtures/NETWORK/FILE`).
pub fn exchange_of(network: &str, file: &str, index: usize) -> Value {
    let path = shared_dir().join("fixtures").join(network).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all: Value = serde_json::from_str(&text).unwrap();
    all[index].clone()
}

/// The recorded response body of an exchange.
pub fn body(file: &str, index: usize) -> Value {
    exchange(file, index)["response"]["body"].clone()
}

/// The recorded response (status, headers, body) as a wiremock answer.
pub fn recorded(file: &str, index: usize) -> ResponseTemplate {
    let ex = exchange(file, index);
    respond(
        ex["response"]["status"].as_u64().unwrap() as u16,
        &ex["response"]["headers"],
        ex["response"]["body"].clone(),
    )
}

/// The answer of exchange `index` of a fixture file of `network`
/// (`../shared/fixtures/NETWORK/FILE`), as a wiremock answer; an empty
/// body (LinkedIn's 201) stays empty.
pub fn recorded_of(network: &str, file: &str, index: usize) -> ResponseTemplate {
    let ex = exchange_of(network, file, index);
    let status = ex["response"]["status"].as_u64().unwrap() as u16;
    let headers = &ex["response"]["headers"];
    match &ex["response"]["body"] {
        Value::Null => {
            let mut t = ResponseTemplate::new(status);
            for (k, v) in headers.as_object().into_iter().flatten() {
                t = t.insert_header(k.as_str(), v.as_str().unwrap());
            }
            t
        }
        body => respond(status, headers, body.clone()),
    }
}

/// Answers every request to `route` ("GET /api/v2/instance") on `server`
/// with `response`.
pub async fn serve(server: &wiremock::MockServer, route: &str, response: ResponseTemplate) {
    let (verb, at) = route.split_once(' ').expect("a route is \"VERB /path\"");
    wiremock::Mock::given(wiremock::matchers::method(verb))
        .and(wiremock::matchers::path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

pub fn respond(status: u16, headers: &Value, body: Value) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(status);
    if let Some(map) = headers.as_object() {
        for (k, v) in map {
            if k != "content-type" {
                t = t.insert_header(k.as_str(), v.as_str().unwrap());
            }
        }
    }
    t.set_body_raw(
        serde_json::to_vec(&body).unwrap(),
        "application/json; charset=utf-8",
    )
}

/// The recorded headers of an exchange.
pub fn headers(file: &str, index: usize) -> Value {
    exchange(file, index)["response"]["headers"].clone()
}

/// Form fields of a url-encoded request body, in order.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Mastodon's media upload, as recorded (test_media_post_false.json: 202
/// with no URL yet, then the attachment once processed): every shipped
/// message carries its card, so a Mastodon double that takes shipped posts
/// takes their images too.
pub async fn serve_mastodon_media(server: &wiremock::MockServer) {
    let id = body("test_media_post_false.json", 0)["id"]
        .as_str()
        .unwrap()
        .to_string();
    serve(
        server,
        "POST /api/v2/media",
        recorded("test_media_post_false.json", 0),
    )
    .await;
    serve(
        server,
        &format!("GET /api/v1/media/{id}"),
        recorded("test_media_post_false.json", 1),
    )
    .await;
}
