//! `preview --ics`: the coming posts as an iCalendar feed, read back by a
//! parser (the `icalendar` crate's) and imported by another tool (Python's
//! `icalendar` library, installed by the test command), so calendars other
//! than ours read it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use icalendar::{Calendar, CalendarComponent, Component, DatePerhapsTime};

/// The shipped posts and the default config (the outbox), the feed of the
/// 30 days from 14 December 2026.
fn feed(dir: &Path, file: &str) -> String {
    let out = common::bot(dir)
        .args([
            "preview",
            "--ics",
            file,
            "--days",
            "30",
            "--from",
            "2026-12-14",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    if file == "-" {
        said
    } else {
        assert!(said.starts_with("wrote "), "{said}");
        std::fs::read_to_string(dir.join(file)).unwrap()
    }
}

fn events(text: &str) -> Vec<icalendar::Event> {
    let calendar: Calendar = text.parse().expect("a valid iCalendar feed");
    calendar
        .components
        .into_iter()
        .filter_map(|c| match c {
            CalendarComponent::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn the_coming_posts_are_a_calendar_with_their_exact_texts_in_the_campaigns_zone() {
    let dir = common::workdir_with_posts();
    let text = feed(dir.path(), "posts.ics");
    let events = events(&text);
    assert!(
        events.len() > 20,
        "about two posts a weekday: {}",
        events.len()
    );
    // The flagship at 09:00 in Brussels on 18 December, in each language,
    // with its text whole in the description.
    let flagship: Vec<_> = events
        .iter()
        .filter(|e| {
            e.get_summary()
                .is_some_and(|s| s.contains("international-migrants-day"))
        })
        .collect();
    assert_eq!(flagship.len(), 3, "one event per language");
    for e in &flagship {
        match e.get_start() {
            Some(DatePerhapsTime::DateTime(icalendar::CalendarDateTime::WithTimezone {
                date_time,
                tzid,
            })) => {
                assert_eq!(tzid, "Europe/Brussels");
                assert_eq!(date_time.to_string(), "2026-12-18 09:00:00");
            }
            other => panic!("a local time with its zone: {other:?}"),
        }
        let description = e.get_description().unwrap();
        assert!(description.contains("#Cities4Migration"), "{description}");
    }
    let arabic = flagship
        .iter()
        .find(|e| e.get_summary().unwrap().ends_with("[ar]"))
        .unwrap();
    assert!(
        arabic.get_description().unwrap().contains('\u{200E}'),
        "the exact text, its marks included"
    );
    // Every event has its own UID, and the same one in the next feed.
    let uids: BTreeSet<_> = events
        .iter()
        .map(|e| e.get_uid().unwrap().to_string())
        .collect();
    assert_eq!(uids.len(), events.len());
    let again: BTreeSet<_> = self::events(&feed(dir.path(), "-"))
        .iter()
        .map(|e| e.get_uid().unwrap().to_string())
        .collect();
    assert_eq!(
        uids, again,
        "calendar apps update events rather than doubling them"
    );
}

#[test]
fn another_calendar_library_imports_the_feed() {
    let dir = common::workdir_with_posts();
    let text = feed(dir.path(), "posts.ics");
    let ours: BTreeSet<(String, String)> = events(&text)
        .iter()
        .map(|e| {
            (
                e.get_uid().unwrap().to_string(),
                e.get_summary().unwrap().to_string(),
            )
        })
        .collect();
    // Python's icalendar (from PyPI, installed by scripts/test.sh): every event, its UID
    // and summary, and its start in UTC.
    let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
for e in cal.walk("VEVENT"):
    start = e.decoded("DTSTART")
    print(e["UID"], "|", e["SUMMARY"], "|", start.astimezone(__import__("datetime").timezone.utc).isoformat())
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.path().join("posts.ics"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "Python's icalendar (installed by scripts/test.sh) reads the feed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = String::from_utf8(out.stdout).unwrap();
    let theirs: BTreeSet<(String, String)> = read
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(" | ").collect();
            (f[0].to_string(), f[1].to_string())
        })
        .collect();
    assert_eq!(ours, theirs);
    // 09:00 in Brussels in December is 08:00 UTC.
    assert!(
        read.lines()
            .any(|l| l.contains("international-migrants-day")
                && l.ends_with("2026-12-18T08:00:00+00:00")),
        "{read}"
    );
}
