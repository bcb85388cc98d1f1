//! The bad-input corpus in tests/bad-input/: post files and config files a
//! comms team or an operator might really write. Each runs through
//! `campaign-bot validate` and its message is compared with the snapshot
//! beside it (`NAME.expected`; `UPDATE_EXPECT=1` rewrites them). Every
//! message names the file and, where there is one, the line, and says what
//! to do. A daemon given good and bad posts mixed keeps posting the good.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use campaign_bot::publish::outbox::read_lines;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad-input")
}

fn bot(dir: &Path) -> Command {
    common::bot(dir)
}

/// A real image (the campaign card, a JPEG: the kind is read from the
/// bytes, not the name) for posts that attach `media/card.png`.
const PNG: &[u8] = include_bytes!("../posts/media/campaign-card-en.jpg");

use common::copy_dir;

/// Makes the links a case lists in `links.txt` (`LINK -> TARGET`, TARGET
/// under `OUTSIDE/`, a folder beside posts/ with a password file and a
/// token in it), then removes the list.
fn make_links(posts: &Path, work: &Path) {
    let list = posts.join("links.txt");
    let Ok(text) = std::fs::read_to_string(&list) else {
        return;
    };
    let outside = work.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    std::fs::write(outside.join("token"), PNG).unwrap();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("->"))
    {
        let (link, target) = line.split_once("->").unwrap();
        let target = target.trim().replace("OUTSIDE", outside.to_str().unwrap());
        std::os::unix::fs::symlink(target, posts.join(link.trim())).unwrap();
    }
    std::fs::remove_file(list).unwrap();
}

fn compare(snapshot: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var("UPDATE_EXPECT").is_ok() {
        std::fs::write(snapshot, actual).unwrap();
        return;
    }
    match std::fs::read_to_string(snapshot) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}:\n--- expected\n{expected}--- actual\n{actual}",
            snapshot.display()
        )),
        Err(_) => failures.push(format!(
            "{} is missing; run with UPDATE_EXPECT=1 to write it:\n{actual}",
            snapshot.display()
        )),
    }
}

#[test]
fn every_bad_post_file_gets_a_clear_message() {
    let dir = corpus().join("posts");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|x| x != "expected"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 60, "only {} post cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let work = tempfile::tempdir().unwrap();
        let posts = work.path().join("posts");
        for sub in ["rotation", "queue", "media"] {
            std::fs::create_dir_all(posts.join(sub)).unwrap();
        }
        std::fs::write(posts.join("media/card.png"), PNG).unwrap();
        if case.is_dir() {
            copy_dir(case, &posts);
            make_links(&posts, work.path());
        } else if case.extension().is_some_and(|x| x == "generate") {
            // 50 MB of text: too large to keep in git, written here.
            let big = "# filler line\n".repeat(50 * 1024 * 1024 / 14);
            std::fs::write(posts.join(format!("rotation/{name}.toml")), big).unwrap();
        } else {
            let sub = if name.starts_with("queue-") {
                "queue"
            } else {
                "rotation"
            };
            std::fs::copy(case, posts.join(sub).join(case.file_name().unwrap())).unwrap();
        }
        let out = bot(work.path())
            .args(["validate", "--offline"])
            .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox")
            .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
            .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", "bot.test")
            .env("CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV", "SKY_PW")
            .env("SKY_PW", "not-a-real-password")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let problems: Vec<&str> = stdout.lines().filter(|l| l.starts_with("posts/")).collect();
        let errors = problems.iter().filter(|l| l.contains(": error: ")).count();
        if name.ends_with("-accepted") {
            assert!(
                problems.is_empty() && out.status.success(),
                "{name} should be accepted:\n{stdout}"
            );
        } else {
            assert!(
                !problems.is_empty(),
                "{name}: no message names the file:\n{stdout}"
            );
            assert_eq!(
                out.status.code(),
                Some(if errors > 0 { 1 } else { 0 }),
                "{name}:\n{stdout}"
            );
        }
        let snapshot = dir.join(format!("{name}.expected"));
        // The folder outside posts/ that links lead to is a new one each run.
        let real_work = work.path().canonicalize().unwrap();
        let stdout = stdout.replace(real_work.to_str().unwrap(), "WORK");
        compare(&snapshot, &stdout, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_config_file_gets_a_clear_message() {
    let dir = corpus().join("config");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "only {} config cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let work = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"),
            &work.path().join("posts"),
        );
        std::fs::copy(case, work.path().join(&name)).unwrap();
        let out = bot(work.path())
            .args(["validate", "--offline", "--config", &name])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(
            stderr.contains(&name) || stderr.contains("configuration"),
            "{name} is not named: {stderr}"
        );
        compare(&case.with_extension("expected"), &stderr, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_daemon_with_good_and_bad_posts_keeps_posting_the_good_ones() {
    let work = tempfile::tempdir().unwrap();
    let posts = work.path().join("posts");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"), &posts);
    let bad = corpus().join("posts");
    for name in [
        "01-unclosed-string.toml",
        "37-invalid-utf8.toml",
        "25-media-parent-traversal.toml",
        "40-bidi-override.toml",
    ] {
        std::fs::copy(bad.join(name), posts.join("rotation").join(name)).unwrap();
    }
    let mut child = bot(work.path())
        .arg("run")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let outbox = work.path().join("data/outbox.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while read_lines(&outbox).unwrap().len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let lines = read_lines(&outbox).unwrap();
    assert!(lines.len() >= 4);
    let good: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/rotation"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| {
                t.lines()
                    .find(|l| l.starts_with("id = "))
                    .map(|l| l[6..l.len() - 1].to_string())
            })
            .collect();
    assert!(
        lines.iter().all(|l| good.contains(&l.message_id)),
        "a bad post went out: {lines:?}"
    );
}
