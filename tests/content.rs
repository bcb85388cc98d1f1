//! The shipped campaign content in posts/: complete, in three languages,
//! within every network's limits, and on time for International Migrants Day.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{TimeZone, Utc};

use campaign_bot::checks::check_text_languages;
use campaign_bot::config::{Config, Sources};
use campaign_bot::model::Lang;
use campaign_bot::posts;
use campaign_bot::render::{Limits, measure, overruns, render};

fn shipped() -> (Config, posts::Catalog) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let empty = tempfile::NamedTempFile::new().unwrap();
    let config = Config::load(&Sources {
        file: Some(empty.path().to_path_buf()),
        env: Some(Default::default()),
    })
    .unwrap();
    let catalog = posts::load(&root.join("posts"), &config.all_languages());
    (config, catalog)
}

fn langs() -> Vec<Lang> {
    ["en", "fr", "ar"]
        .iter()
        .map(|l| Lang::new(l).unwrap())
        .collect()
}

#[test]
fn loads_without_a_problem() {
    let (_, catalog) = shipped();
    assert!(catalog.problems.is_empty(), "{:#?}", catalog.problems);
    assert!(
        check_text_languages(&catalog).is_empty(),
        "{:#?}",
        check_text_languages(&catalog)
    );
}

#[test]
fn nine_or_more_messages_in_three_languages_covering_all_six_commitments() {
    let (_, catalog) = shipped();
    let rotation: Vec<_> = catalog.rotation().collect();
    assert!(rotation.len() >= 9, "{} rotation messages", rotation.len());
    for m in &rotation {
        for l in langs() {
            assert!(
                !m.text.get(&l).map(|t| t.trim().is_empty()).unwrap_or(true),
                "{} lacks {l}",
                m.id
            );
        }
        let ar = &m.text[&Lang::new("ar").unwrap()];
        let arabic = ar
            .chars()
            .filter(|c| ('\u{0600}'..='\u{06FF}').contains(c))
            .count();
        assert!(
            arabic * 2 > ar.chars().filter(|c| c.is_alphabetic()).count(),
            "{}: ar is not in Arabic script",
            m.id
        );
    }
    let commitments: BTreeSet<u8> = rotation.iter().filter_map(|m| m.commitment).collect();
    assert_eq!(commitments, (1..=6).collect());
    assert!(
        rotation.iter().filter(|m| m.commitment.is_none()).count() >= 3,
        "three more from the body"
    );
}

#[test]
fn every_variant_fits_bluesky_and_mastodon() {
    let (config, catalog) = shipped();
    for m in &catalog.messages {
        for l in m.langs() {
            let r = render(m, l, &config.hashtags).unwrap();
            for limits in [Limits::BLUESKY, Limits::mastodon(500, 23)] {
                let over = overruns(&measure(&r, &limits), &limits);
                assert!(over.is_empty(), "{} [{l}]: {over:?}", m.id);
            }
            assert!(
                r.text.ends_with("#WeTogether #Cities4Migration")
                    || r.text.contains("#Cities4Migration")
            );
        }
        for tag in &m.tags {
            assert!(
                tag.chars().next().unwrap().is_uppercase(),
                "{}: #{tag} should be CamelCase",
                m.id
            );
        }
    }
}

#[test]
fn the_migrants_day_post_is_due_on_18_december_at_nine_in_brussels() {
    let (config, catalog) = shipped();
    let day = catalog
        .queue()
        .find(|m| m.source.to_string_lossy() == "queue/2026-12-18-international-migrants-day.toml")
        .expect("the Migrants Day post");
    let at = day.at.unwrap().resolve(config.schedule.timezone());
    assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap());
    assert_eq!(day.langs().cloned().collect::<Vec<_>>(), {
        let mut l = langs();
        l.sort();
        l
    });
}

#[test]
fn the_campaign_card_is_a_small_png_with_alt_text_in_each_language() {
    let (_, catalog) = shipped();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    let with_media: Vec<_> = catalog
        .messages
        .iter()
        .filter(|m| !m.media.is_empty())
        .collect();
    assert!(!with_media.is_empty());
    for m in with_media {
        for md in &m.media {
            let bytes = std::fs::read(root.join(&md.path)).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(
                bytes.len() < 1_000_000,
                "{} is {} bytes",
                md.path.display(),
                bytes.len()
            );
            for l in m.langs() {
                assert!(
                    md.alt.get(l).is_some_and(|a| a.len() > 20),
                    "{}: no {l} alt text",
                    m.id
                );
            }
        }
    }
}
