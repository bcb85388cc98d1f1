//! The shipped campaign content in posts/: complete, in three languages,
//! within every network's limits, and on time for International Migrants Day.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{TimeZone, Utc};

use campaign_bot::checks::check_text_languages;
use campaign_bot::config::{Config, Sources};
use campaign_bot::model::Lang;
use campaign_bot::posts;
use campaign_bot::render::{measure, overruns, render};

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
            for limits in [
                campaign_bot::publish::bluesky::LIMITS,
                campaign_bot::publish::mastodon::limits(500, 23),
            ] {
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
fn every_card_is_a_small_jpeg_with_alt_text_in_each_language() {
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
            for l in m.langs() {
                let file = md.path_for(l).expect("a card for every language");
                let bytes = std::fs::read(root.join(file)).unwrap();
                // JPEG, the one format every network takes (Instagram no other).
                assert!(
                    bytes.starts_with(b"\xFF\xD8\xFF"),
                    "{} is not a JPEG",
                    file.display()
                );
                assert!(
                    bytes.len() < 1_000_000,
                    "{} is {} bytes",
                    file.display(),
                    bytes.len()
                );
                assert!(
                    md.alt.get(l).is_some_and(|a| a.len() > 20),
                    "{}: no {l} alt text",
                    m.id
                );
            }
        }
    }
}

/// Month names in the campaign's languages: an image whose alt text names
/// one shows a date.
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may ",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "janvier",
    "février",
    "mars",
    "avril",
    "mai ",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

// Issue 14: the card said "18 December" and went out all year with an
// evergreen message.
#[test]
fn no_dated_image_on_a_rotation_message() {
    let (_, catalog) = shipped();
    for m in catalog.rotation() {
        for md in &m.media {
            for (l, alt) in &md.alt {
                let lower = alt.to_lowercase();
                assert!(
                    !MONTHS.iter().any(|month| lower.contains(month)),
                    "{} [{l}]: its image shows a date ({alt}); rotation messages go out all year",
                    m.id
                );
            }
        }
    }
}

// Issue 14: the Arabic tag line displayed as "MigrantsDay … #" in
// right-to-left layouts.
#[test]
fn right_to_left_tag_lines_start_with_a_left_to_right_mark() {
    let (config, catalog) = shipped();
    let ar = Lang::new("ar").unwrap();
    let mut seen = 0;
    for m in catalog.messages.iter().filter(|m| m.has_lang(&ar)) {
        let r = render(m, &ar, &config.hashtags).unwrap();
        let last = r.text.lines().last().unwrap();
        assert!(last.starts_with("\u{200E}#"), "{}: {last:?}", m.id);
        seen += 1;
    }
    assert!(seen >= 10);
}

// Issue 14: no French text used French typography.
#[test]
fn french_texts_have_no_typography_warning() {
    let (_, catalog) = shipped();
    let typography: Vec<_> = catalog
        .problems
        .iter()
        .filter(|p| p.message.contains("French typography"))
        .collect();
    assert!(typography.is_empty(), "{typography:#?}");
    // And they do use it (the check is not simply silent).
    let fr = Lang::new("fr").unwrap();
    let spaced = catalog
        .messages
        .iter()
        .filter_map(|m| m.text.get(&fr))
        .filter(|t| t.contains('\u{A0}') || t.contains('\u{202F}'))
        .count();
    assert!(spaced >= 5, "{spaced}");
}

// Issue 14: four posts in one minute on the day: the rotation post beside
// the Migrants Day post in en, fr and ar.
#[test]
fn the_migrants_day_post_takes_its_slot_instead_of_doubling_it() {
    let (config, catalog) = shipped();
    let nine = Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap();
    let outbox = &config.targets[0];
    let taker = campaign_bot::plan::taken_by(&config, &catalog, outbox, nine)
        .expect("the 09:00 rotation slot is taken");
    assert_eq!(taker.id, "international-migrants-day-2026");
    let afternoon = Utc.with_ymd_and_hms(2026, 12, 18, 14, 30, 0).unwrap();
    assert!(campaign_bot::plan::taken_by(&config, &catalog, outbox, afternoon).is_none());
}

/// The statement, its quotes and apostrophes made plain, white space single.
fn statement() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/campaign/statement-2020.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    plain(&text)
}

fn plain(text: &str) -> String {
    text.replace(['’', '‘'], "'")
        .replace(['“', '”'], "\"")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

// Issue 14: every claim traceable to the statement. Each file's comment
// quotes the sentence it draws on: every quoted fragment must be in the
// statement word for word, and so must the English quotation of message 07.
#[test]
fn every_quotation_is_the_statements_own_words() {
    let statement = statement();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("posts");
    let (_, catalog) = shipped();
    for m in &catalog.messages {
        let file = std::fs::read_to_string(root.join(&m.source)).unwrap();
        let quotes: Vec<String> = file
            .lines()
            .filter(|l| l.starts_with('#'))
            .flat_map(|l| {
                l.split('"')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(
            !quotes.is_empty(),
            "{}: no comment quoting the statement",
            m.id
        );
        for q in quotes {
            for fragment in q.split('…').map(str::trim).filter(|f| f.len() > 3) {
                assert!(
                    statement.contains(&plain(fragment)),
                    "{}: {fragment:?} is not in the statement",
                    m.id
                );
            }
        }
        for text in m.text.values() {
            for quoted in text.split('“').skip(1).filter_map(|q| q.split('”').next()) {
                let words = quoted.replace("[made]", "make");
                assert!(
                    statement.contains(&plain(&words)),
                    "{}: the quotation {quoted:?} changes the statement's words",
                    m.id
                );
            }
        }
    }
}

// Issue 26, item 1: «والمدن تصنع نجاحها» read as "cities make their own
// success". The slogan says cities make *migration* work: «نجاح الهجرة»,
// in every Arabic text and alt text that carries it, and on the cards.
#[test]
fn the_arabic_slogan_says_cities_make_migration_work() {
    let (_, catalog) = shipped();
    let ar = Lang::new("ar").unwrap();
    let mut seen = 0;
    let mut texts: Vec<(String, &str)> = Vec::new();
    for m in &catalog.messages {
        if let Some(t) = m.text.get(&ar) {
            texts.push((format!("{} text", m.id), t));
        }
        if let Some(t) = m.short.get(&ar) {
            texts.push((format!("{} short", m.id), t));
        }
        for md in &m.media {
            if let Some(t) = md.alt.get(&ar) {
                texts.push((format!("{} alt", m.id), t));
            }
        }
    }
    for (what, text) in texts {
        assert!(!text.contains("نجاحها"), "{what}: {text}");
        if text.contains("والمدن تصنع") {
            assert!(text.contains("والمدن تصنع نجاح الهجرة"), "{what}: {text}");
            seen += 1;
        }
    }
    // The flagship's text and both cards' alt texts.
    assert!(seen >= 3, "{seen}");
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-campaign-cards.py"),
    )
    .unwrap();
    assert!(script.contains("\"والمدن تصنع نجاح الهجرة.\""));
    assert!(!script.contains("نجاحها"));
}

/// Words of the statement that a message's full text keeps and its short
/// text must keep too (issue 26: shortening dropped "nécessaires",
/// "contribuer", "multipartite", "unique").
const KEY_WORDS: &[(&str, &str, &[&str])] = &[
    (
        "access-to-rights",
        "fr",
        &["compétences", "gouvernements nationaux", "local", "droits"],
    ),
    (
        "global-agendas",
        "fr",
        &["Pacte mondial sur les migrations", "Programme 2030"],
    ),
    (
        "better-governance",
        "fr",
        &[
            "contribuer",
            "droits humains",
            "bien-être",
            "réfugiés",
            "égalité des chances",
        ],
    ),
    (
        "pandemic-leadership",
        "fr",
        &["statut juridique", "nécessaires"],
    ),
    (
        "living-together",
        "fr",
        &[
            "confiance",
            "justice",
            "réciprocité",
            "unique",
            "droits humains",
            "services de base",
        ],
    ),
    (
        "together-with-partners",
        "fr",
        &["ICMPD", "ONU-Habitat", "gouvernance urbaine"],
    ),
    (
        "international-migrants-day-2026",
        "fr",
        &[
            "Journée internationale des migrants",
            "rôle moteur",
            "inclusives",
        ],
    ),
];

// Issue 26: every [short] keeps the statement's key words of its full text.
#[test]
fn every_short_text_keeps_the_key_words_of_its_full_text() {
    let (_, catalog) = shipped();
    let mut shorts = 0;
    for m in &catalog.messages {
        for (lang, short) in &m.short {
            shorts += 1;
            let words = KEY_WORDS
                .iter()
                .find(|(id, l, _)| *id == m.id && *l == lang.as_str())
                .unwrap_or_else(|| {
                    panic!(
                        "{} [{lang}] has a short text: add its key words to KEY_WORDS",
                        m.id
                    )
                });
            for w in words.2 {
                assert!(
                    m.text[lang].contains(w),
                    "{} [{lang}]: the full text lacks {w:?}",
                    m.id
                );
                assert!(
                    short.contains(w),
                    "{} [{lang}]: the short text drops {w:?}: {short}",
                    m.id
                );
            }
        }
    }
    assert_eq!(shorts, KEY_WORDS.len());
}

// Issue 26, item 12: the guide's examples, saved as a trial, went out
// within a second. Every example post in posts/README.md is a draft.
#[test]
fn the_guides_examples_are_drafts() {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("posts/README.md"))
            .unwrap();
    let mut examples = 0;
    for block in guide.split("```toml").skip(1) {
        let block = block.split("```").next().unwrap();
        if block.contains("[text]") {
            examples += 1;
            assert!(
                block.contains("status = \"draft\""),
                "an example post that is not a draft:\n{block}"
            );
            assert!(!block.contains("status = \"approved\""), "{block}");
        }
    }
    assert!(examples >= 3, "{examples} examples");
}

// Issue 26, item 10: one voice and one French convention, as the guide says.
#[test]
fn one_voice_and_one_french_convention() {
    let (_, catalog) = shipped();
    let fr = Lang::new("fr").unwrap();
    for m in &catalog.messages {
        for text in m.text.get(&fr).into_iter().chain(m.short.get(&fr)) {
            for other in [
                "toutes et tous",
                "personnes migrantes",
                "personnes réfugiées",
                "nous, gouvernements",
                "Gouvernements locaux et régionaux, nous",
            ] {
                assert!(!text.contains(other), "{}: {other:?} in {text}", m.id);
            }
        }
        if let Some(en) = m.text.get(&Lang::new("en").unwrap()) {
            assert!(
                !en.contains("we, local and regional governments"),
                "{}",
                m.id
            );
            assert!(
                !en.contains("As local and regional governments, we"),
                "{}",
                m.id
            );
        }
    }
}
