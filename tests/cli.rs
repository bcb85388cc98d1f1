//! The real binary on temporary folders: validate, preview, post-now,
//! status and run, as a user (or the container) calls them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

use campaign_bot::publish::outbox::{OutboxLine, read_lines};

/// A working folder with a copy of the shipped `posts/`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("posts"),
        &dir.path().join("posts"),
    );
    dir
}

use common::copy_dir;

fn bot(dir: &Path) -> Command {
    Command::from_std(common::bot(dir))
}

fn outbox(dir: &Path) -> Vec<OutboxLine> {
    read_lines(&dir.join("data/outbox.jsonl")).unwrap()
}

#[test]
fn validate_passes_on_the_shipped_posts() {
    let dir = workdir();
    bot(dir.path())
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors"));
    // Also against Bluesky's fixed limits, without network access.
    with_bluesky(bot(dir.path()).arg("validate"))
        .assert()
        .success()
        .stdout(predicate::str::contains("1 targets (sky); 0 errors"));
}

/// `cmd` with a Bluesky target (its limits are fixed: nothing is asked of
/// a server).
fn with_bluesky(cmd: &mut Command) -> &mut Command {
    cmd.env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
        .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", "bot.test")
        .env(
            "CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV",
            "CB_TEST_PASSWORD",
        )
        .env("CB_TEST_PASSWORD", "not-a-real-password")
}

// A network's image size rule, from the image as posts/ holds it: a card
// padded past Bluesky's limit is named, with its size.
#[test]
fn validate_names_an_image_too_large_for_a_network() {
    let dir = workdir();
    let mut card = std::fs::read(dir.path().join("posts/media/campaign-card-en.jpg")).unwrap();
    card.resize(1_200_000, 0);
    std::fs::write(dir.path().join("posts/media/big.jpg"), &card).unwrap();
    std::fs::write(
        dir.path().join("posts/queue/big.toml"),
        "[text]\nen = \"A big card.\"\n\n[[media]]\npath = \"media/big.jpg\"\nalt = { en = \"A card\" }\n",
    )
    .unwrap();
    with_bluesky(bot(dir.path()).args(["validate", "--offline"]))
        .assert()
        .failure()
        .stdout(predicate::str::contains(
            "posts/queue/big.toml: error: image media/big.jpg is 1200000 bytes; Bluesky takes at most",
        ));
}

#[test]
fn validate_names_the_broken_file_and_line() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("posts/rotation/zz-broken.toml"),
        "status = \"approved\"\n[text]\nen = \"fine\"\nfr = \"pas fermé\n",
    )
    .unwrap();
    bot(dir.path())
        .arg("validate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("posts/rotation/zz-broken.toml:4:"))
        .stdout(predicate::str::contains("not closed"));
}

#[test]
fn validate_measures_bluesky_limits_offline() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("posts/rotation/zz-long.toml"),
        format!(
            "[text]\nen = \"{}\"\nfr = \"court\"\nar = \"قصير\"\n",
            "word ".repeat(70)
        ),
    )
    .unwrap();
    bot(dir.path())
        .arg("validate")
        .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
        .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", "bot.test")
        .env("CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV", "CB_TEST_NO_SUCH_VAR")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "posts/rotation/zz-long.toml:2:1: error: the en text is too long for target sky (bluesky): 380 graphemes over the limit of 300 (80 too many)",
        ))
        // A target `run` would not start is an error too (issue 15).
        .stdout(predicate::str::contains("error: target sky cannot start: the environment variable CB_TEST_NO_SUCH_VAR is not set"));
}

#[test]
fn preview_lists_slots_rotating_languages_with_exact_text() {
    let dir = workdir();
    let out = bot(dir.path())
        .args(["preview", "--next", "9"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let heads: Vec<&str> = out.lines().filter(|l| l.contains("  outbox  ")).collect();
    assert_eq!(heads.len(), 9, "{out}");
    let langs: Vec<&str> = heads
        .iter()
        .map(|h| h.split("  ").nth(3).unwrap())
        .collect();
    assert_eq!(
        langs,
        ["en", "fr", "ar", "en", "fr", "ar", "en", "fr", "ar"]
    );
    assert!(
        out.contains("    | #WeTogether #Cities4Migration")
            || out.contains("#WeTogether #Cities4Migration")
    );
    // Preview changes nothing.
    assert!(!dir.path().join("data/state.db").exists());
}

#[test]
fn post_now_for_a_slot_posts_once() {
    let dir = workdir();
    let slot = "2026-12-18T09:00:00+01:00";
    bot(dir.path())
        .args(["post-now", "--lang", "fr", "--slot", slot])
        .assert()
        .success()
        .stdout(predicate::str::contains("outbox: posted"));
    bot(dir.path())
        .args(["post-now", "--lang", "fr", "--slot", slot])
        .assert()
        .success()
        .stdout(predicate::str::contains("already filled"));
    let lines = outbox(dir.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].lang, "fr");
    assert_eq!(lines[0].slot, "2026-12-18T08:00:00Z");
}

#[test]
fn post_now_a_chosen_message() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "living-together", "--lang", "ar"])
        .assert()
        .success();
    let lines = outbox(dir.path());
    assert_eq!(lines[0].message_id, "living-together");
    assert!(lines[0].text.ends_with("#WeTogether #Cities4Migration"));
    // The Arabic post carries the Arabic card.
    assert_eq!(lines[0].media[0].path, "media/campaign-card-ar.jpg");
    assert!(!lines[0].media[0].alt.is_empty());
}

#[test]
fn user_errors_are_messages_not_panics() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--slot", "tomorrow"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--slot: \"tomorrow\" is not a time",
        ))
        .stderr(predicate::str::contains("panicked").not());
    bot(dir.path())
        .arg("validate")
        .env("CAMPAIGN_BOT__SCHEDULE__TIMEZONE", "Mars/Olympus")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("schedule.timezone"));
    bot(dir.path())
        .args(["post-now", "no-such-post"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no valid post with id \"no-such-post\"",
        ));
    bot(dir.path())
        .args(["status", "--config", "nowhere.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere.toml does not exist"));
}

fn spawn_run(dir: &Path) -> Child {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .arg("run")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "* * * * * *")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (bounded) until the outbox holds `n` lines.
fn wait_for_lines(dir: &Path, n: usize) -> Vec<OutboxLine> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = outbox(dir);
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the daemon did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn run_posts_stops_on_sigterm_and_resumes_the_rotation() {
    let dir = workdir();
    let mut child = spawn_run(dir.path());
    let first = wait_for_lines(dir.path(), 3);
    assert!(first.len() >= 3, "only {} outbox lines", first.len());
    bot(dir.path())
        .args(["status", "--health"])
        .assert()
        .success()
        .stdout("healthy\n");
    let status = terminate(&mut child);
    assert!(status.success(), "{status:?}");
    bot(dir.path())
        .args(["status", "--health"])
        .assert()
        .code(3);

    let before = outbox(dir.path());
    let last = before.last().unwrap().clone();
    let mut child = spawn_run(dir.path());
    let after = wait_for_lines(dir.path(), before.len() + 2);
    assert!(terminate(&mut child).success());
    let next = &after[before.len()];
    assert_ne!(
        next.message_id, last.message_id,
        "the rotation repeated a message across the restart"
    );
    assert_ne!(
        next.lang, last.lang,
        "the rotation repeated a language across the restart"
    );
    let langs: std::collections::BTreeSet<&str> = after.iter().map(|l| l.lang.as_str()).collect();
    assert_eq!(langs.len(), 3);
    let mut slots: Vec<(&str, &str)> = after
        .iter()
        .map(|l| (l.slot.as_str(), l.target.as_str()))
        .collect();
    let n = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(
        slots.len(),
        n,
        "a (slot, target) appears twice in the outbox"
    );
}

#[test]
fn dry_run_keeps_its_own_state() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--dry-run"])
        .assert()
        .success();
    assert_eq!(
        read_lines(&dir.path().join("data/dry-run/outbox.jsonl"))
            .unwrap()
            .len(),
        1
    );
    assert!(!PathBuf::from(dir.path()).join("data/outbox.jsonl").exists());
}

#[test]
fn edits_to_posts_are_picked_up_while_running() {
    let dir = workdir();
    let mut child = spawn_run(dir.path());
    assert!(!wait_for_lines(dir.path(), 1).is_empty());
    // A broken file does not stop the daemon; a new queue post goes out next.
    std::fs::write(dir.path().join("posts/rotation/zz-broken.toml"), "[text\n").unwrap();
    std::fs::write(
        dir.path().join("posts/queue/hot.toml"),
        "[text]\nen = \"hot en\"\nfr = \"hot fr\"\nar = \"hot ar\"\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !outbox(dir.path()).iter().any(|l| l.message_id == "hot") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let n = outbox(dir.path()).len();
    let later = wait_for_lines(dir.path(), n + 1);
    assert!(terminate(&mut child).success());
    assert_eq!(
        later.iter().filter(|l| l.message_id == "hot").count(),
        1,
        "the queue post goes out once"
    );
    assert!(
        later.len() > n,
        "the daemon kept posting after a broken file appeared"
    );
}

// Issue 31: the daemon keeps its messages' words on disk (unlinked, in its
// data folder) until their slot. What it posts is what was validated: a
// file broken while it runs keeps going out in its last good version,
// words and alt texts included, though they are no longer in any file.
#[test]
fn parked_words_go_out_as_validated_even_after_the_file_broke() {
    let dir = workdir();
    let file = dir.path().join("posts/rotation/01-access-to-rights.toml");
    let original: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut child = spawn_run(dir.path());
    assert!(!wait_for_lines(dir.path(), 1).is_empty());
    std::fs::write(&file, "[text\n").unwrap();
    let n = outbox(dir.path()).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    let again = loop {
        let lines = outbox(dir.path());
        if let Some(l) = lines[n..]
            .iter()
            .find(|l| l.message_id == "access-to-rights")
        {
            break l.clone();
        }
        assert!(
            Instant::now() < deadline,
            "access-to-rights did not come round again"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(terminate(&mut child).success());
    let text = original["text"][&again.lang].as_str().unwrap();
    let short = original
        .get("short")
        .and_then(|s| s.get(&again.lang))
        .and_then(|s| s.as_str());
    assert!(
        again.text.starts_with(text) || short.is_some_and(|s| again.text.starts_with(s)),
        "{again:?}"
    );
    let alt = original["media"][0]["alt"][&again.lang].as_str().unwrap();
    assert_eq!(again.media[0].alt, alt);
    // Nothing is left behind in the data folder.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".words"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A daemon that posts only timed queue posts (its one cron slot is once a
/// year), with its own log.
fn spawn_quiet_run(dir: &Path) -> Child {
    let mut cmd = common::bot_command();
    cmd.current_dir(dir)
        .arg("run")
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "0 0 1 1 *")
        .env("LOG_FORMAT", "json")
        .stdout(std::fs::File::create(dir.join("run.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Writes a queue post due `secs` seconds from now into `queue`.
fn queue_post_in(queue: &Path, id: &str, secs: i64) {
    let at = (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    std::fs::write(
        queue.join(format!("{id}.toml")),
        format!("at = {at}\n[text]\nen = \"{id} en\"\n"),
    )
    .unwrap();
}

fn wait_for_message(dir: &Path, id: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if outbox(dir).iter().any(|l| l.message_id == id) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

// Issue 13: after `mv posts posts.old && mv posts.new posts` the watcher
// followed the old folder, and a queue post added later was never posted.
#[test]
fn the_posts_folder_replaced_by_rename_or_symlink_swap_is_still_watched() {
    let dir = workdir();
    let mut child = spawn_quiet_run(dir.path());
    std::thread::sleep(Duration::from_millis(1500));
    // Replaced by rename, as git and rsync --delay-updates do.
    copy_dir(&dir.path().join("posts"), &dir.path().join("posts.new"));
    std::fs::rename(dir.path().join("posts"), dir.path().join("posts.old")).unwrap();
    std::fs::rename(dir.path().join("posts.new"), dir.path().join("posts")).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    queue_post_in(&dir.path().join("posts/queue"), "after-rename", 3);
    assert!(
        wait_for_message(dir.path(), "after-rename", 20),
        "a post added after the swap was not posted: {}",
        std::fs::read_to_string(dir.path().join("run.log")).unwrap()
    );
    // Replaced by a symlink swap, as Kubernetes volumes do.
    std::fs::rename(dir.path().join("posts"), dir.path().join("posts.v1")).unwrap();
    std::os::unix::fs::symlink("posts.v1", dir.path().join("posts")).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    copy_dir(&dir.path().join("posts.v1"), &dir.path().join("posts.v2"));
    std::os::unix::fs::symlink("posts.v2", dir.path().join("posts.next")).unwrap();
    std::fs::rename(dir.path().join("posts.next"), dir.path().join("posts")).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    queue_post_in(&dir.path().join("posts.v2/queue"), "after-swap", 3);
    assert!(
        wait_for_message(dir.path(), "after-swap", 20),
        "a post added after the symlink swap was not posted: {}",
        std::fs::read_to_string(dir.path().join("run.log")).unwrap()
    );
    assert!(terminate(&mut child).success());
}

// Issue 13: a missing posts_dir ran as healthy, every slot skipped as
// "no message has a language of this target", and creating the folder
// later was never noticed.
#[test]
fn a_missing_posts_folder_is_unhealthy_and_noticed_when_created() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_quiet_run(dir.path());
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        let out = bot(dir.path())
            .args(["status", "--health"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !text.contains("not running") || Instant::now() > deadline {
            break (out.status.code(), text);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(health.0, Some(3), "{}", health.1);
    assert!(
        health.1.contains("the posts folder posts cannot be read"),
        "{}",
        health.1
    );
    std::fs::create_dir_all(dir.path().join("posts/queue")).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    queue_post_in(&dir.path().join("posts/queue"), "first-post", 3);
    assert!(
        wait_for_message(dir.path(), "first-post", 20),
        "the folder created later was not noticed: {}",
        std::fs::read_to_string(dir.path().join("run.log")).unwrap()
    );
    bot(dir.path())
        .args(["status", "--health"])
        .assert()
        .success()
        .stdout("healthy\n");
    assert!(terminate(&mut child).success());
}

// Issue 15, item 1: the first run printed four lines, then nothing until
// Monday, and one of them was a Rust debug dump.
#[test]
fn the_first_run_says_when_where_and_what_it_posts_next() {
    let dir = workdir();
    let mut child = common::bot_command()
        .current_dir(dir.path())
        .arg("run")
        .stdout(std::fs::File::create(dir.path().join("run.log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = loop {
        let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
        if log.contains("next post") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(terminate(&mut child).success());
    let line = log
        .lines()
        .find(|l| l.contains("next post"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains(" UTC): outbox access-to-rights [en]"),
        "{line}"
    );
    assert!(
        line.contains("the outbox writes to data/outbox.jsonl"),
        "{line}"
    );
    // Item 1 and 8: no Debug formatting, no colour codes in a log file.
    assert!(!log.contains("Limits {") && !log.contains("[\""), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file: {log:?}"
    );
}

// Issue 15, item 2: a 624-character French text passed `validate` on the
// default config (an outbox, with no limit).
#[test]
fn validate_on_the_default_config_warns_of_texts_too_long_for_a_network() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("posts/rotation/99-long.toml"),
        format!(
            "[text]\nen = \"x\"\nfr = \"{}\"\nar = \"ع\"\n",
            "mot ".repeat(156)
        ),
    )
    .unwrap();
    bot(dir.path())
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "posts/rotation/99-long.toml:3:1: warning: the fr text would be too long for Bluesky, where no target is configured yet",
        ))
        .stdout(predicate::str::contains("too long for Mastodon"));
}

// Issue 15, item 3: an unset token passed `validate`, then `run` refused to
// start ("no target can run", exit 2).
#[test]
fn a_target_run_would_not_start_is_a_validate_error_in_runs_words() {
    let dir = workdir();
    let masto = [
        ("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon"),
        (
            "CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL",
            "https://m.example",
        ),
        (
            "CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV",
            "UNSET_TOKEN_FOR_TEST",
        ),
    ];
    let words =
        "target masto cannot start: the environment variable UNSET_TOKEN_FOR_TEST is not set";
    bot(dir.path())
        .args(["validate", "--offline"])
        .envs(masto)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("error: {words}")))
        .stdout(predicate::str::contains("1 errors"));
    bot(dir.path())
        .arg("run")
        .envs(masto)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(words));
}

// Issue 15, item 5: `engagement --all` on the default config said
// "appended to data/engagement.jsonl" and created no file.
#[test]
fn engagement_on_an_outbox_says_plainly_there_is_nothing_to_collect() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--slot", "2026-12-18 09:00"])
        .assert()
        .success();
    bot(dir.path())
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("outbox: nothing to collect"))
        .stdout(predicate::str::contains(
            "nothing appended to data/engagement.jsonl",
        ))
        .stdout(
            predicate::str::contains("appended to")
                .not()
                .or(predicate::str::contains("nothing appended")),
        );
    assert!(!dir.path().join("data/engagement.jsonl").exists());
    bot(dir.path())
        .arg("report")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "reads the state store (data/state.db)",
        ));
}

// Issue 32, item 6: the networks that collect are named from the registry;
// issue 27: a target that cannot start is named, with the posts it leaves
// unchecked, and the command fails.
#[test]
fn engagement_names_the_collecting_networks_and_fails_on_a_target_that_cannot_start() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--slot", "2026-12-18 09:00"])
        .assert()
        .success();
    bot(dir.path())
        .args(["engagement", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "targets on {} collect engagement",
            campaign_bot::publish::registry::collecting_networks()
        )))
        .stdout(predicate::str::contains("Mastodon, Bluesky, X, LinkedIn"))
        .stdout(predicate::str::contains("configure a Mastodon or Bluesky").not());
    bot(dir.path())
        .args(["engagement", "--all"])
        .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
        .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", "city.example")
        .env(
            "CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV",
            "UNSET_SKY_PASSWORD",
        )
        .env_remove("UNSET_SKY_PASSWORD")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "sky: skipped, 0 of its posts not checked: the target cannot start",
        ))
        .stdout(predicate::str::contains("UNSET_SKY_PASSWORD"));
}

// Issue 15, item 7: a bare `post-now` used the current second; `--slot`
// took only RFC 3339; a manual post did not move the language rotation.
#[test]
fn post_now_fills_the_current_minute_reads_local_times_and_counts_in_the_rotation() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--lang", "en"])
        .assert()
        .success()
        .stdout(predicate::str::contains(", the current minute"));
    // A second run in the same minute is the same slot.
    let again = bot(dir.path())
        .args(["post-now", "--lang", "en"])
        .output()
        .unwrap();
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.contains("already filled") || again.contains("posted"),
        "{again}"
    );
    assert!(outbox(dir.path()).len() <= 2);
    // The English post took English's turn: the next slot is French.
    bot(dir.path())
        .args(["preview", "--next", "1"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"outbox  \S+  fr ").unwrap());
    bot(dir.path())
        .args([
            "post-now",
            "--slot",
            "2026-12-18 09:00",
            "--target",
            "outbox",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "for the slot of Fri 2026-12-18 09:00 CET (08:00 UTC)",
        ));
    bot(dir.path())
        .args(["post-now", "--slot", "18/12/2026"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "write it like 2026-12-18 09:00 (in Europe/Brussels)",
        ));
}

// Issue 15, item 8: the small things.
#[test]
fn small_things_say_what_to_do() {
    let dir = workdir();
    bot(dir.path())
        .args(["preview", "--next", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--next"));
    bot(dir.path())
        .args(["login", "bluesky"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[targets.bluesky]"));
    bot(dir.path())
        .args(["report", "--since", "27/11/2026"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("YYYY-MM-DD, e.g. 2026-11-27"));
    bot(dir.path())
        .args(["validate", "--offline"])
        .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", "every day")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "environment variable CAMPAIGN_BOT__SCHEDULE__SLOTS",
        ));
    std::fs::write(
        dir.path().join("posts/rotation/98-german.toml"),
        "[text]\nen = \"x\"\nfr = \"y\"\nar = \"ع\"\nde = \"Städte heißen alle willkommen.\"\n",
    )
    .unwrap();
    bot(dir.path())
        .args(["validate", "--offline"])
        .assert()
        .stdout(predicate::str::contains(
            "posts/rotation/98-german.toml:5:1: warning: no target posts in de",
        ));
    // `status` shows times as people read them, states as words.
    bot(dir.path())
        .args(["post-now", "--slot", "2026-12-18 09:00"])
        .assert()
        .success();
    let status = bot(dir.path()).arg("status").output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("Fri 2026-12-18 09:00 CET  outbox"),
        "{status}"
    );
    assert!(
        status.contains(" published") && !status.contains("Published"),
        "{status}"
    );
    assert!(!status.contains("+00:00"), "{status}");
}

// Issue 32, item 1: `at = 2027-06-10T09:00:00+01:00`, an offset copied from
// a winter example, passed validate silently and went out at 10:00 CEST.
#[test]
fn a_summer_at_with_a_winter_offset_is_a_warning_naming_the_real_local_time() {
    let dir = workdir();
    std::fs::write(
        dir.path().join("posts/queue/2030-06-10-summer.toml"),
        "status = \"approved\"\nat = 2030-06-10T09:00:00+01:00\n\n[text]\nen = \"Cities welcome everyone who makes them home, in summer too.\"\n",
    )
    .unwrap();
    bot(dir.path())
        .args(["validate", "--offline"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "posts/queue/2030-06-10-summer.toml: warning: `at` is written with the offset +01:00, but on 2030-06-10 Europe/Brussels is at +02:00: this post goes out at 10:00 Europe/Brussels local time, not 09:00",
        ))
        .stdout(predicate::str::contains("at = 2030-06-10T09:00:00"));
}

// Issue 32, item 2: no way to ask when a message goes out, and none at all
// for a draft.
#[test]
fn preview_of_one_message_gives_its_next_date_per_language_drafts_included() {
    let dir = workdir();
    let out = bot(dir.path())
        .args(["preview", "living-together", "--from", "2027-01-04"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.starts_with("living-together (posts/rotation/10-living-together.toml)\n"),
        "{text}"
    );
    for lang in ["en", "fr", "ar"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("  outbox  {lang}  ")) && l.contains(" 2027-")),
            "{lang}: {text}"
        );
    }
    std::fs::write(
        dir.path().join("posts/rotation/16-welcome.toml"),
        "status = \"draft\"\n\n[text]\nen = \"Every new neighbour adds to what our cities are.\"\nfr = \"Chaque nouveau voisin ajoute à ce que sont nos villes.\"\n",
    )
    .unwrap();
    let out = bot(dir.path())
        .args(["preview", "16-welcome"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("a draft, shown as if it were approved now"),
        "{text}"
    );
    assert!(
        text.contains("  outbox  en  ") && text.contains("  outbox  fr  "),
        "{text}"
    );
    assert!(!text.contains("  outbox  ar  "), "no Arabic text: {text}");
    bot(dir.path())
        .args(["preview", "no-such-message"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no message has the id \"no-such-message\"",
        ));
}

// Issue 32, item 3: run inside posts/, preview said "nothing to post" and
// exited 0, post-now created posts/data/state.db.
#[test]
fn run_from_inside_the_posts_folder_says_so_and_writes_nothing() {
    let dir = workdir();
    let inside = dir.path().join("posts");
    for args in [
        vec!["preview"],
        vec!["post-now"],
        vec!["run"],
        vec!["preview", "living-together"],
    ] {
        bot(&inside)
            .args(&args)
            .timeout(Duration::from_secs(20))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "there is no posts folder at {}",
                inside.join("posts").display()
            )))
            .stderr(predicate::str::contains(
                "looks like a posts folder itself; run the bot from the folder above it, or set posts_dir",
            ));
        assert!(!inside.join("data").exists(), "{args:?} wrote posts/data");
    }
}

// Issue 32, item 4: `status | head` panicked ("failed printing to stdout:
// Broken pipe") with a backtrace and exit 101.
#[test]
fn a_reader_that_closes_early_ends_the_command_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let dir = workdir();
    bot(dir.path()).args(["post-now"]).assert().success();
    for args in [
        vec!["status"],
        vec!["preview", "--next", "50"],
        vec!["report", "--format", "csv"],
        vec!["validate", "--offline"],
    ] {
        let mut child = common::bot(dir.path())
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, as `head -c1` would, then close the pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        let _ = stdout.read(&mut one);
        drop(stdout);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            status.success() || status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {status:?}\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

// Issue 32, item 5: post-now printed the outbox key but not the file.
#[test]
fn post_now_on_an_outbox_names_its_file() {
    let dir = workdir();
    bot(dir.path())
        .args(["post-now", "--slot", "2026-12-21 09:00"])
        .assert()
        .success()
        .stdout(predicate::str::contains("a line in data/outbox.jsonl"));
}
