//! Checks of posts beyond their own file: against each target's limits, the
//! calendar, and the language each text is really written in. Used by
//! `validate` and `preview`; no network access.

use chrono::Utc;

use std::collections::HashMap;
use std::path::Path;

use crate::config::{Config, TargetConfig};
use crate::model::{Lang, Message, MessageKind};
use crate::posts::files::{self, ImageKind};
use crate::posts::{Catalog, MAX_MEDIA_BYTES, Problem, Severity};
use crate::publish::profile::Profile;
use crate::publish::registry;
use crate::render::{Lengths, Limits, Measure, overruns, render, render_short};
use rayon::prelude::*;

/// Images a network would refuse, by its media rules: too large (not
/// resized: a comms team should choose how its images are cropped and
/// compressed), or too many.
fn media_problems(
    images: &HashMap<&Path, ImageFacts>,
    network: &Profile,
    m: &Message,
    file: &Path,
) -> Vec<Problem> {
    let rules = network.media;
    let name = network.name;
    let mut out = Vec::new();
    let problem = |message: String| Problem {
        severity: Severity::Error,
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message,
    };
    for file in m.media.iter().flat_map(|md| md.files()) {
        let size = images.get(file).map_or(0, |i| i.size);
        if size > rules.max_bytes {
            out.push(problem(format!(
                "image {} is {size} bytes; {name} takes at most {}: export it smaller (e.g. as JPEG, or fewer pixels)",
                file.display(),
                rules.max_bytes
            )));
        }
    }
    if m.media.len() > rules.max_images {
        out.push(problem(format!(
            "{} images; {name} takes at most {} per post",
            m.media.len(),
            rules.max_images
        )));
    }
    if rules.required && m.media.is_empty() {
        out.push(problem(format!(
            "no image: {name} takes only posts with an image; add one in each language, e.g.\n\n[[media]]\npath = {{ en = \"media/campaign-card-en.jpg\", fr = \"media/campaign-card-fr.jpg\", ar = \"media/campaign-card-ar.jpg\" }}\nalt = {{ en = \"…\", fr = \"…\", ar = \"…\" }}"
        )));
    }
    if let Some(formats) = rules.formats {
        for file in m.media.iter().flat_map(|md| md.files()) {
            let kind = images.get(file).and_then(|i| i.kind);
            if let Some(kind) = kind.filter(|k| !formats.contains(k)) {
                out.push(problem(format!(
                    "image {} is {}; {name} takes only {}: save it as {} and point the post at that file",
                    file.display(),
                    kind.mime(),
                    formats.iter().map(|f| f.mime()).collect::<Vec<_>>().join(", "),
                    formats[0].mime()
                )));
            }
        }
    }
    out
}

/// An image's size and format, as `posts/` holds it now.
struct ImageFacts {
    size: u64,
    kind: Option<ImageKind>,
}

/// The facts of every image the posts carry, each file read once (ten
/// thousand posts share a few cards), and only as far as its header.
fn image_facts<'c>(config: &Config, catalog: &'c Catalog) -> HashMap<&'c Path, ImageFacts> {
    let root = files::root(&config.posts_dir).ok();
    let mut facts = HashMap::new();
    for file in catalog
        .messages
        .iter()
        .flat_map(|m| &m.media)
        .flat_map(|md| md.files())
    {
        facts.entry(file).or_insert_with(|| ImageFacts {
            size: std::fs::metadata(config.posts_dir.join(file)).map_or(0, |m| m.len()),
            kind: root
                .as_deref()
                .and_then(|r| files::image_inside(r, file, MAX_MEDIA_BYTES).ok()?.ok())
                .map(|i| i.kind),
        });
    }
    facts
}

/// Another timed one-off going out within `schedule.timed_post_window` of
/// `m` in one of its languages: followers would get both at once (a copy of
/// the Migrants Day post left beside it, say).
fn coinciding_one_offs(
    config: &Config,
    catalog: &Catalog,
    m: &Message,
    file: &Path,
) -> Vec<Problem> {
    let tz = config.schedule.timezone();
    let window = chrono::Duration::from_std(config.timed_post_window).unwrap_or_default();
    let Some(at) = m.at.map(|a| a.resolve(tz)) else {
        return Vec::new();
    };
    catalog
        .queue()
        .filter(|other| other.source < m.source)
        .filter_map(|other| {
            let other_at = other.at?.resolve(tz);
            let shared: Vec<&str> = m.langs().filter(|l| other.has_lang(l)).map(Lang::as_str).collect();
            ((other_at - at).abs() <= window && !shared.is_empty()).then(|| Problem {
                severity: Severity::Warning,
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                message: format!(
                    "goes out with posts/{} (in {}, within {} of each other): followers get both at once; move or remove one",
                    other.source.display(),
                    shared.join(", "),
                    humantime::format_duration(config.timed_post_window)
                ),
            })
        })
        .collect()
}

/// Every problem of every post on every target, besides those of loading,
/// and the texts too long for a network no target is configured for.
/// `limits` gives each target's limits (learnt from its server, or offline).
/// Posts are checked in parallel, each text rendered and counted once
/// whatever the number of targets and networks.
pub fn check_targets(
    config: &Config,
    catalog: &Catalog,
    limits: &dyn Fn(&TargetConfig) -> Limits,
) -> Vec<Problem> {
    let now = Utc::now();
    // Each network's media rules once, whatever number of its targets.
    let mut networks: Vec<&'static Profile> = Vec::new();
    for t in &config.targets {
        if !networks.iter().any(|n| n.name == t.profile().name) {
            networks.push(t.profile());
        }
    }
    // Nothing to measure where nothing is limited (the outbox).
    let limited: Vec<(&TargetConfig, Limits)> = config
        .targets
        .iter()
        .map(|t| (t, limits(t)))
        .filter(|(_, l)| l.limits_anything())
        .collect();
    let unconfigured = unconfigured_networks(config);
    let images = image_facts(config, catalog);
    catalog
        .messages
        .par_iter()
        .flat_map_iter(|m| {
            let file = std::path::Path::new("posts").join(&m.source);
            let mut problems = Vec::new();
            for network in &networks {
                problems.extend(media_problems(&images, network, m, &file));
            }
            let lengths = LengthsByLang::new(m, &config.hashtags);
            for (target, limits) in &limited {
                let caption = target.profile().caption_limit.filter(|_| !m.media.is_empty());
                for lang in target.languages.iter().filter(|l| m.has_lang(l)) {
                    let full = lengths.measure(lang, limits);
                    // Over the limits, a target gets the short text if there is one.
                    let short = overruns(&full, limits)
                        .iter()
                        .any(|o| !o.soft)
                        .then(|| lengths.short(lang, limits))
                        .flatten();
                    let (measure, which) = match short {
                        Some(s) => (s, "short "),
                        None => (full, ""),
                    };
                    if let Some(caption) = caption
                        && measure.utf16 > caption
                    {
                        problems.push(Problem {
                            severity: Severity::Warning,
                            file: file.clone(),
                            line: m.text_lines.get(lang).copied().unwrap_or(0),
                            column: 1,
                            message: format!(
                                "the {which}{lang} text is {} UTF-16 code units, longer than a {} image caption ({caption}): target {} sends it without its image; shorten it by {} to keep the image",
                                measure.utf16,
                                target.profile().name,
                                target.name,
                                measure.utf16 - caption
                            ),
                        });
                    }
                    for over in overruns(&measure, limits) {
                        problems.push(Problem {
                            severity: if over.soft {
                                Severity::Warning
                            } else {
                                Severity::Error
                            },
                            file: file.clone(),
                            line: m.text_lines.get(lang).copied().unwrap_or(0),
                            column: 1,
                            message: if over.soft {
                                format!(
                                    "the {which}{lang} text goes beyond what target {} ({}) advises: {over}; it is posted, but consider fewer",
                                    target.name, target.kind
                                )
                            } else if which.is_empty() {
                                format!(
                                    "the {lang} text is too long for target {} ({}): {over}, hashtags included; shorten it, or add a shorter {lang} text under [short] for such targets",
                                    target.name, target.kind
                                )
                            } else {
                                format!(
                                    "the short {lang} text is too long for target {} ({}) too: {over}, hashtags included; shorten it",
                                    target.name, target.kind
                                )
                            },
                        });
                    }
                }
            }
            if m.kind == MessageKind::Queue {
                problems.extend(offset_problems(config, m, &file));
            }
            if m.kind == MessageKind::Queue && !m.draft {
                problems.extend(queue_problems(config, catalog, m, &file, now));
            }
            problems.extend(unconfigured_problems(m, &file, &lengths, &unconfigured));
            problems
        })
        .collect()
}

/// How soon a target's rotation posts each (message, language) again, in
/// days: the languages take turns, one a slot, and each language's
/// messages take turns within it. `None` when nothing can be posted or no
/// slot comes.
pub fn repeat_days(config: &Config, catalog: &Catalog, target: &TargetConfig) -> Option<f64> {
    let now = Utc::now();
    let days = 28;
    let slots = config
        .schedule
        .between(now, now + chrono::Duration::days(days))
        .len();
    if slots == 0 || target.languages.is_empty() {
        return None;
    }
    let per_lang = target
        .languages
        .iter()
        .map(|l| {
            catalog
                .rotation()
                .filter(|m| !m.draft && m.has_lang(l))
                .count()
        })
        .filter(|n| *n > 0)
        .min()?;
    let cycle_slots = per_lang * target.languages.len();
    Some(cycle_slots as f64 * days as f64 / slots as f64)
}

/// Targets on a network that refuses repeated texts whose rotation repeats
/// one sooner than `schedule.repeat_window`, and what posts with links cost
/// where a network charges for them.
pub fn check_repeats_and_costs(config: &Config, catalog: &Catalog) -> Vec<Problem> {
    let mut out = Vec::new();
    let window_days = config.repeat_window.as_secs_f64() / 86_400.0;
    for t in &config.targets {
        let network = t.profile();
        if network.refuses_repeats
            && let Some(days) = repeat_days(config, catalog, t)
            && days < window_days
        {
            out.push(Problem {
                severity: Severity::Warning,
                file: Path::new("posts/rotation").to_path_buf(),
                line: 0,
                column: 0,
                message: format!(
                    "target {} ({}) posts each message in each language again after {days:.0} days, sooner than schedule.repeat_window ({}): {} may refuse a repeat as a duplicate, and that slot is then skipped; add messages, fewer slots or languages, or set repeat_window",
                    t.name,
                    t.kind,
                    humantime::format_duration(config.repeat_window),
                    network.name
                ),
            });
        }
        if let Some(note) = network.link_cost {
            for m in catalog.messages.iter().filter(|m| !m.draft) {
                let langs: Vec<String> = t
                    .languages
                    .iter()
                    .filter(|l| {
                        m.text
                            .get(l)
                            .is_some_and(|text| !crate::render::find_urls(text).is_empty())
                    })
                    .map(|l| l.to_string())
                    .collect();
                if !langs.is_empty() {
                    out.push(Problem {
                        severity: Severity::Warning,
                        file: Path::new("posts").join(&m.source),
                        line: 0,
                        column: 0,
                        message: format!(
                            "the {} text has a link, and target {} posts it: {note}",
                            langs.join(", "),
                            t.name
                        ),
                    });
                }
            }
        }
        if let Some(why) = t.network.images_left_out() {
            for m in catalog
                .messages
                .iter()
                .filter(|m| !m.draft && !m.media.is_empty())
            {
                out.push(Problem {
                    severity: Severity::Warning,
                    file: Path::new("posts").join(&m.source),
                    line: 0,
                    column: 0,
                    message: format!("target {} ({}) posts the text only: {why}", t.name, t.kind),
                });
            }
        }
    }
    out
}

/// A text's lengths, and the text.
type Counted = (Lengths, String);

/// A post's texts, each rendered and counted once, on first use, however
/// many networks they are then weighed for.
struct LengthsByLang<'m> {
    message: &'m Message,
    hashtags: &'m [String],
    /// The full text's lengths, and the text where a count needed it.
    counted: std::cell::RefCell<Vec<(&'m Lang, Lengths, Option<String>)>>,
    /// The short text's lengths and text, where the post has one.
    shorts: std::cell::RefCell<Vec<(&'m Lang, Option<Counted>)>>,
}

impl<'m> LengthsByLang<'m> {
    fn new(message: &'m Message, hashtags: &'m [String]) -> Self {
        LengthsByLang {
            message,
            hashtags,
            counted: Default::default(),
            shorts: Default::default(),
        }
    }

    /// The measures of the short text in `lang`, if the post has one.
    fn short(&self, lang: &'m Lang, limits: &Limits) -> Option<Measure> {
        let mut shorts = self.shorts.borrow_mut();
        let i = match shorts.iter().position(|(k, _)| *k == lang) {
            Some(i) => i,
            None => {
                let short = render_short(self.message, lang, self.hashtags)
                    .map(|r| (Lengths::of(&r), r.text));
                shorts.push((lang, short));
                shorts.len() - 1
            }
        };
        let (lengths, text) = shorts[i].1.as_ref()?;
        Some(lengths.measure_text(text, limits))
    }

    /// The measures of the text in `lang` against `limits`; the text is
    /// kept only where a count needs it (X's weighted count of a text
    /// twitter-text must parse, hashtags, mentions).
    fn measure(&self, lang: &'m Lang, limits: &Limits) -> Measure {
        let i = self.index(lang);
        let mut counted = self.counted.borrow_mut();
        let (_, lengths, text) = &mut counted[i];
        if !lengths.needs_text(limits) {
            return lengths.measure(limits);
        }
        let text = text.get_or_insert_with(|| {
            render(self.message, lang, self.hashtags)
                .expect("language present")
                .text
        });
        lengths.measure_text(text, limits)
    }

    /// Where the text in `lang` is counted, counting it first if needed.
    fn index(&self, lang: &'m Lang) -> usize {
        let mut counted = self.counted.borrow_mut();
        if let Some(i) = counted.iter().position(|(k, _, _)| *k == lang) {
            return i;
        }
        let rendered = render(self.message, lang, self.hashtags).expect("language present");
        counted.push((lang, Lengths::of(&rendered), None));
        counted.len() - 1
    }
}

/// An `at` written with an offset that is not the campaign zone's on that
/// day (`+01:00` copied from a winter example onto a June date goes out an
/// hour late in Brussels): a warning saying when it really goes out, in
/// the zone's time (issue 32). Drafts too: they are checked like any post.
fn offset_problems(config: &Config, m: &Message, file: &Path) -> Option<Problem> {
    let crate::model::At::Fixed(t) = m.at? else {
        return None;
    };
    let tz = config.schedule.timezone();
    let local = t.with_timezone(&tz);
    let zone_offset = chrono::Offset::fix(local.offset());
    if zone_offset == *t.offset() {
        return None;
    }
    let written = t.naive_local();
    Some(Problem {
        severity: Severity::Warning,
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message: format!(
            "`at` is written with the offset {}, but on {} {} is at {}: this post goes out at {} {} local time, not {}; write the time without an offset (at = {}) to have it read in {}",
            t.offset(),
            local.format("%Y-%m-%d"),
            tz.name(),
            zone_offset,
            local.format("%H:%M"),
            tz.name(),
            written.format("%H:%M"),
            written.format("%Y-%m-%dT%H:%M:%S"),
            tz.name()
        ),
    })
}

/// What is wrong with a timed one-off beyond its length: another one-off
/// beside it, a time in the past, no target in its languages.
fn queue_problems(
    config: &Config,
    catalog: &Catalog,
    m: &Message,
    file: &Path,
    now: chrono::DateTime<Utc>,
) -> Vec<Problem> {
    let mut problems = coinciding_one_offs(config, catalog, m, file);
    if let Some(at) = m.at {
        let t = at.resolve(config.schedule.timezone());
        if t < now {
            problems.push(Problem {
                severity: Severity::Warning,
                file: file.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("`at` ({t}) is in the past: this post will not go out; change the date or remove the file"),
            });
        }
    }
    if !config
        .targets
        .iter()
        .any(|t| t.languages.iter().any(|l| m.has_lang(l)))
    {
        problems.push(Problem {
            severity: Severity::Warning,
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: "no target posts in any language of this post: it will not go out".into(),
        });
    }
    problems
}

/// The networks the bot supports that this configuration has no target on
/// (the shipped one posts to an outbox only), where lengths are limited:
/// posts are measured for them too, so a text too long for Bluesky is
/// caught on a laptop before the campaign posts there.
fn unconfigured_networks(config: &Config) -> Vec<(&'static Profile, Limits)> {
    registry::NETWORKS
        .iter()
        .map(|net| net.profile())
        .filter(|net| !config.targets.iter().any(|t| t.profile().name == net.name))
        .map(|net| (net, net.limits))
        .filter(|(_, limits)| limits.limits_anything())
        .collect()
}

/// Warnings for a post's texts too long for a network no target is
/// configured for, where it has no short text that fits.
fn unconfigured_problems<'m>(
    m: &'m Message,
    file: &Path,
    lengths: &LengthsByLang<'m>,
    unconfigured: &[(&'static Profile, Limits)],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (net, limits) in unconfigured {
        let network = net.unconfigured_name();
        for lang in m.langs() {
            let fits_short = lengths
                .short(lang, limits)
                .is_some_and(|m| overruns(&m, limits).is_empty());
            if fits_short {
                continue;
            }
            for over in overruns(&lengths.measure(lang, limits), limits) {
                problems.push(Problem {
                    severity: Severity::Warning,
                    file: file.to_path_buf(),
                    line: m.text_lines.get(lang).copied().unwrap_or(0),
                    column: 1,
                    message: format!(
                        "the {lang} text would be too long for {network}, where no target is configured yet: {over}, hashtags included; shorten it, or add a shorter {lang} text under [short], before the campaign posts there"
                    ),
                });
            }
        }
    }
    problems
}

/// Texts shorter than this are not checked for their language: too little
/// to tell reliably.
const MIN_DETECT_CHARS: usize = 40;

/// Warnings for texts that read as another language than their key (a
/// French text filed under `ar`, say). Each text is compared with the
/// languages the posts are written in (all languages if there is only one):
/// that is the mistake to catch, and it is twenty times faster than asking
/// among seventy. Texts whichlang reads as their key are not weighed again
/// (see [`quick_agrees`]); the rest are, in parallel.
pub fn check_text_languages(catalog: &Catalog) -> Vec<Problem> {
    let mut keys: Vec<whatlang::Lang> = catalog
        .messages
        .iter()
        .flat_map(|m| m.text.keys())
        .filter_map(|l| whatlang_lang(l.as_str()))
        .collect();
    keys.sort_by_key(|l| l.code());
    keys.dedup();
    let detector = if keys.len() >= 2 {
        whatlang::Detector::with_allowlist(keys)
    } else {
        whatlang::Detector::new()
    };
    catalog
        .messages
        .par_iter()
        .flat_map_iter(|m| {
            m.text.iter().filter_map(|(lang, text)| {
                // The quick detector agreeing with the key settles it; any
                // other answer is weighed by the careful one, which alone
                // warns.
                if quick_agrees(text, lang) {
                    return None;
                }
                let detected = detect_language(&detector, text)?;
                (detected != lang.as_str()).then(|| Problem {
                    severity: Severity::Warning,
                    file: std::path::Path::new("posts").join(&m.source),
                    line: m.text_lines.get(lang).copied().unwrap_or(0),
                    column: 1,
                    message: format!(
                        "the text under `{lang}` reads like {} ({detected}); check that it is filed under the right language",
                        isolang::Language::from_639_1(&detected).map(|l| l.to_name()).unwrap_or("another language")
                    ),
                })
            })
        })
        .collect()
}

/// Whether whichlang, a detector about ten times quicker than whatlang
/// (one linear model, sixteen languages), reads `text` as `lang`. A
/// disagreement proves nothing (it knows few languages, and has no
/// measure of confidence): whatlang is then asked.
fn quick_agrees(text: &str, lang: &Lang) -> bool {
    let quick = whichlang::detect_language(text).three_letter_code();
    isolang::Language::from_639_3(quick)
        .and_then(|l| l.to_639_1())
        .is_some_and(|code| code == lang.as_str())
}

/// Whether `text` has letters enough to tell its language reliably.
fn long_enough(text: &str) -> bool {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .nth(MIN_DETECT_CHARS - 1)
        .is_some()
}

/// whatlang's name for an ISO 639-1 code, if it knows the language.
fn whatlang_lang(code: &str) -> Option<whatlang::Lang> {
    whatlang::Lang::from_code(isolang::Language::from_639_1(code)?.to_639_3())
}

/// The ISO 639-1 code of the language `text` is reliably written in.
fn detect_language(detector: &whatlang::Detector, text: &str) -> Option<String> {
    if !long_enough(text) {
        return None;
    }
    let info = detector.detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    let lang = isolang::Language::from_639_3(info.lang().code())?;
    lang.to_639_1().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_text_filed_under_the_wrong_language() {
        let all = whatlang::Detector::new();
        let ours = whatlang::Detector::with_allowlist(
            ["en", "fr", "ar"]
                .iter()
                .map(|c| whatlang_lang(c).unwrap())
                .collect(),
        );
        for d in [&all, &ours] {
            assert_eq!(
                detect_language(
                    d,
                    "Les villes s'engagent à garantir l'accès aux droits pour toutes et tous."
                ),
                Some("fr".into())
            );
            assert_eq!(
                detect_language(
                    d,
                    "تلتزم المدن بضمان وصول الجميع إلى حقوقهم في كل مكان وزمان."
                ),
                Some("ar".into())
            );
            assert_eq!(detect_language(d, "Too short"), None);
        }
    }

    #[test]
    fn a_text_under_the_wrong_key_is_named_in_a_warning() {
        let mut catalog = Catalog::default();
        let parsed = crate::posts::parse(
            std::path::Path::new("/nonexistent"),
            std::path::Path::new("rotation/swapped.toml"),
            MessageKind::Rotation,
            "[text]\nen = \"Cities are committed to ensuring access to rights for all migrants and refugees.\"\nfr = \"Cities are committed to upholding the dignity of every person who arrives in them.\"\n"
                .as_bytes()
                .to_vec(),
            &mut catalog.problems,
        );
        catalog.messages.push(parsed.unwrap());
        let problems = check_text_languages(&catalog);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains("under `fr` reads like English")
        );
        assert_eq!(problems[0].line, 3);
    }

    /// Where the quick detector disagrees with the key, the careful one
    /// decides, whatever the script.
    #[test]
    fn texts_swapped_across_scripts_are_named() {
        let mut catalog = Catalog::default();
        let parsed = crate::posts::parse(
            std::path::Path::new("/nonexistent"),
            std::path::Path::new("rotation/mixed.toml"),
            MessageKind::Rotation,
            "[text]\nen = \"تلتزم المدن بضمان وصول الجميع إلى حقوقهم في كل مكان وزمان.\"\nfr = \"Les villes s'engagent à garantir l'accès aux droits pour toutes et tous.\"\nar = \"Les villes s'engagent à garantir l'accès aux droits pour toutes et tous.\"\n"
                .as_bytes()
                .to_vec(),
            &mut catalog.problems,
        );
        catalog.messages.push(parsed.unwrap());
        let mut problems: Vec<String> = check_text_languages(&catalog)
            .into_iter()
            .map(|p| p.message)
            .collect();
        problems.sort();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("under `ar` reads like French"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("under `en` reads like Arabic"),
            "{problems:?}"
        );
    }
}
