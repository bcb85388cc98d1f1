//! The HTML report opened in a real browser: Debian's headless Chromium,
//! driven through ChromeDriver by fantoccini (`scripts/test.sh` installs
//! both), over a report built from a realistic store: three languages,
//! four networks, ninety days of posts and checks, daily follower counts.
//! Every chart must have a size, no two texts of a chart may overlap,
//! Arabic post texts must run right to left, the console must stay clean,
//! and nothing may be fetched from anywhere. The screenshot is kept in
//! `target/test-artefacts/report.png`.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Datelike, Duration as Days, TimeZone, Utc, Weekday};
use common::bot;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The four targets, one per network kind the report tells apart.
const CONFIG: &str = r#"
posts_dir = "posts"
data_dir = "data"

[schedule]
timezone = "Europe/Brussels"
slots = ["0 9 * * Mon-Fri", "30 15 * * Mon-Fri"]

[targets.masto]
kind = "mastodon"
base_url = "https://mastodon.example"
token_env = "UNSET_MASTODON_TOKEN"

[targets.sky]
kind = "bluesky"
service = "https://pds.example"
identifier = "cities.example"
password_env = "UNSET_BLUESKY_PASSWORD"

[targets.pleroma]
kind = "pleroma"
base_url = "https://pleroma.example"
token_env = "UNSET_PLEROMA_TOKEN"

[targets.gts]
kind = "gotosocial"
base_url = "https://gts.example"
token_env = "UNSET_GTS_TOKEN"
"#;

/// The shipped messages' texts, per language (id, lang, text).
fn shipped_texts() -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/rotation");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let post: toml::Table = std::fs::read_to_string(&f).unwrap().parse().unwrap();
        let id = post
            .get("id")
            .and_then(|v| v.as_str())
            .map(String::from)
            .unwrap_or_else(|| {
                let stem = f.file_stem().unwrap().to_string_lossy().to_string();
                stem.split_once('-')
                    .map(|(_, s)| s.to_string())
                    .unwrap_or(stem)
            });
        for (lang, text) in post["text"].as_table().unwrap() {
            out.push((
                id.clone(),
                lang.clone(),
                format!(
                    "{}\n\n#WeTogether #Cities4Migration",
                    text.as_str().unwrap().trim()
                ),
            ));
        }
    }
    out
}

/// Ninety days of posts on four targets, each checked at its ages, and a
/// follower count a day, written into the store the binary made.
fn fill_store(db: &Path) -> usize {
    let texts = shipped_texts();
    let conn = rusqlite::Connection::open(db).unwrap();
    let end = Utc::now()
        .date_naive()
        .and_hms_opt(8, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap();
    let start = end - Days::days(90);
    let targets = ["masto", "sky", "pleroma", "gts"];
    let mut posts = 0;
    let mut seed: u64 = 17;
    let mut random = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let tx = conn.unchecked_transaction().unwrap();
    for (t, target) in targets.iter().enumerate() {
        let mut n = t;
        let mut day = start;
        let mut followers = 800 + 300 * t as u64;
        while day < end {
            tx.execute(
                "INSERT INTO followers (target, day, checked_at, count) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    target,
                    day.date_naive().to_string(),
                    day.to_rfc3339(),
                    followers as i64
                ],
            )
            .unwrap();
            followers += random(6);
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                for at in [day, day + Days::minutes(390)] {
                    let (message, lang, text) = &texts[n % texts.len()];
                    n += 1;
                    let key = format!("{target}-{}", at.timestamp());
                    let ts = (at + Days::seconds(2)).to_rfc3339();
                    tx.execute(
                        "INSERT INTO intents (key, slot, slot_at, target, message_id, lang, text, state, remote_id, url, attempts, created_at, updated_at, published_at, next_check, gone)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'published', ?8, ?9, 1, ?10, ?10, ?10, 6, 0)",
                        rusqlite::params![
                            key,
                            at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            at.to_rfc3339(),
                            target,
                            message,
                            lang,
                            text,
                            format!("id-{key}"),
                            format!("https://{target}.example/@cities/{key}"),
                            ts
                        ],
                    )
                    .unwrap();
                    let likes = random(40) + if lang == "ar" { 6 } else { 0 };
                    for age in [1, 6, 24, 72, 168, 720] {
                        let checked = at + Days::hours(age);
                        if checked < end {
                            tx.execute(
                                "INSERT INTO engagement (intent_key, checked_at, likes, reposts, replies, quotes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                rusqlite::params![
                                    key,
                                    checked.to_rfc3339(),
                                    (likes * age.min(24) as u64 / 24) as i64,
                                    (likes / 3) as i64,
                                    (likes / 5) as i64,
                                    (*target == "sky").then_some((likes / 8) as i64)
                                ],
                            )
                            .unwrap();
                        }
                    }
                    posts += 1;
                }
            }
            day += Days::days(1);
        }
    }
    tx.commit().unwrap();
    posts
}

/// ChromeDriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "this test needs Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver; scripts/test.sh does it)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ChromeDriver's browser log (its `se/log` command, outside W3C WebDriver).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// What the page tells of itself, measured by the browser.
const MEASURE: &str = r#"
const charts = [...document.querySelectorAll('figure')].map(f => {
  const svg = f.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom};
  });
  const overlaps = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i], b = texts[j];
    const w = Math.min(a.r, b.r) - Math.max(a.l, b.l);
    const h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
    if (w > 0.5 && h > 0.5) overlaps.push(a.text + ' / ' + b.text);
  }
  const outside = texts.filter(t => t.l < box.left - 0.5 || t.r > box.right + 0.5
    || t.t < box.top - 0.5 || t.b > box.bottom + 0.5).map(t => t.text);
  return {
    caption: f.querySelector('figcaption').textContent,
    width: box.width, height: box.height,
    bars: svg.querySelectorAll('rect').length,
    texts: texts.length, overlaps, outside,
    table: !!f.querySelector('table'),
  };
});
const arabic = [...document.querySelectorAll('.text[lang=ar]')]
  .map(p => getComputedStyle(p).direction);
const resources = performance.getEntriesByType('resource').map(r => r.name);
return {charts, arabic, resources, title: document.title};
"#;

#[tokio::test]
async fn the_html_report_reads_right_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("campaign.toml"), CONFIG).unwrap();
    common::copy_posts(dir.path());
    // The binary makes the store (and its schema), then it is filled.
    bot(dir.path())
        .args(["--config", "campaign.toml", "status"])
        .output()
        .unwrap();
    let posts = fill_store(&dir.path().join("data/state.db"));
    assert!(posts > 500, "{posts} posts");
    let html = dir.path().join("report.html");
    let since = (Utc::now() - Days::days(45)).date_naive().to_string();
    let out = bot(dir.path())
        .args([
            "--config",
            "campaign.toml",
            "report",
            "--since",
            &since,
            "--html",
        ])
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=1000,1400",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut client = None;
    for _ in 0..100 {
        // ChromeDriver speaks plain HTTP on loopback: no TLS needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let builder = fantoccini::ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await;
        match builder {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let client = client.expect("ChromeDriver answers");
    client
        .goto(&format!("file://{}", html.display()))
        .await
        .unwrap();
    let page: Value = client.execute(MEASURE, vec![]).await.unwrap();
    let artefacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = client.screenshot().await.unwrap();
    std::fs::write(artefacts.join("report.png"), &shot).unwrap();
    // Each chart on its own, for a person to look at.
    let figures = client
        .find_all(fantoccini::Locator::Css("figure"))
        .await
        .unwrap();
    for (i, f) in figures.iter().enumerate() {
        let png = f.screenshot().await.unwrap();
        std::fs::write(artefacts.join(format!("report-chart-{}.png", i + 1)), png).unwrap();
    }
    let log = client.issue_cmd(BrowserLog).await.unwrap();
    client.close().await.unwrap();

    std::fs::copy(&html, artefacts.join("report.html")).unwrap();

    let charts = page["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 6, "{page:#}");
    for c in charts {
        let caption = c["caption"].as_str().unwrap();
        assert!(
            c["width"].as_f64().unwrap() > 100.0 && c["height"].as_f64().unwrap() > 50.0,
            "{caption}: the chart has a size: {c}"
        );
        assert!(c["bars"].as_u64().unwrap() > 0, "{caption}: bars: {c}");
        assert!(c["texts"].as_u64().unwrap() > 2, "{caption}: labels: {c}");
        assert_eq!(c["overlaps"], json!([]), "{caption}: texts overlap");
        assert_eq!(c["outside"], json!([]), "{caption}: texts cut off");
        assert_eq!(
            c["table"],
            json!(true),
            "{caption}: a table for screen readers"
        );
    }
    let arabic = page["arabic"].as_array().unwrap();
    assert!(
        !arabic.is_empty(),
        "the top posts include Arabic (its counts are the highest): {page:#}"
    );
    assert!(arabic.iter().all(|d| d == "rtl"), "{arabic:?}");
    assert_eq!(page["resources"], json!([]), "nothing is fetched");
    let errors: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    assert!(shot.len() > 10_000 && shot.starts_with(b"\x89PNG"));
}
