//! `campaign-bot preview [--next N] [--from TIME]`: the coming slots and
//! exactly what each target would post. Reads the state store; changes
//! nothing. The events come from [`crate::plan`], as the daemon's do, and
//! the rotation is stepped from where it stands now, so a preview of a
//! later day (`--from`) shows what will really go out then.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::{CliError, exit, load_catalog, local_time, offline_limits_by_target};
use crate::config::{Config, TargetConfig};
use crate::model::{Lang, Message};

use crate::plan::{self, Decision, Event};
use crate::posts::Catalog;
use crate::render::{Variant, describe_length, measure, overruns, render_for};
use crate::rotation::RotationState;
use crate::schedule::parse_time;

/// The posts, with a note on standard error of the files left out; an
/// error, before anything is read or written, when there is no posts
/// folder.
fn catalog_noting_errors(config: &Config) -> Result<Catalog, CliError> {
    super::require_posts_folder(config)?;
    let catalog = load_catalog(config);
    let errors = catalog.errors().count();
    if errors > 0 {
        eprintln!(
            "note: {errors} post file(s) have errors and are left out; run `campaign-bot validate` for details"
        );
    }
    Ok(catalog)
}

/// Where a preview starts: the rotations as they stand, the time they
/// stand at, and the time shown from (`--from`, never before now).
struct Start {
    states: BTreeMap<String, RotationState>,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
}

fn start(config: &Config, from: Option<&str>) -> Result<Start, CliError> {
    // Read the rotation where it stands, without creating a store.
    let (states, cursor): (BTreeMap<String, RotationState>, Option<DateTime<Utc>>) =
        if let Some(store) = super::existing_store(config)? {
            (store.rotations(config.target_names())?, store.cursor()?)
        } else {
            (BTreeMap::new(), None)
        };
    let now = Utc::now().max(cursor.unwrap_or(DateTime::<Utc>::MIN_UTC));
    let from = match from {
        None => now,
        Some(text) => parse_time(text, config.schedule.timezone())
            .map_err(|e| CliError::Usage(format!("--from: {e}")))?
            .max(now),
    };
    Ok(Start { states, now, from })
}

/// `preview --ics FILE [--days N] [--from TIME]`: the posts of the coming
/// days as an iCalendar feed (see [`crate::calendar`]), written whole or
/// not at all (a calendar server serving the file never reads half of it).
pub fn preview_ics(
    config: &Config,
    file: &Path,
    days: i64,
    from: Option<&str>,
) -> Result<ExitCode, CliError> {
    let catalog = catalog_noting_errors(config)?;
    let Start {
        mut states,
        now,
        from,
    } = start(config, from)?;
    let until = from + chrono::Duration::days(days);
    let upcoming: Vec<_> = plan::upcoming(config, &catalog, &mut states, now, until)
        .into_iter()
        .filter(|u| u.event.at() > from)
        .collect();
    let posts = upcoming
        .iter()
        .filter(|u| matches!(u.decision, Decision::Post { .. }))
        .count();
    let feed = crate::calendar::feed(
        config,
        &catalog,
        &upcoming,
        Utc::now(),
        crate::calendar::Texts::Included,
    );
    let tz = config.schedule.timezone();
    let period = format!("{} to {}", local_time(from, tz), local_time(until, tz));
    if file == Path::new("-") {
        print!("{feed}");
        eprintln!("{posts} posts, {period}");
        return Ok(ExitCode::from(exit::OK));
    }
    write_whole(file, feed.as_bytes()).map_err(|e| {
        CliError::Failed(format!(
            "cannot write the calendar to {}: {e}",
            file.display()
        ))
    })?;
    println!("wrote {posts} posts, {period}, to {}", file.display());
    Ok(ExitCode::from(exit::OK))
}

/// Writes `bytes` to a temporary file beside `file`, then renames it over.
fn write_whole(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, file)
}

pub fn preview(config: &Config, next: usize, from: Option<&str>) -> Result<ExitCode, CliError> {
    let catalog = catalog_noting_errors(config)?;
    let tz = config.schedule.timezone();
    let Start {
        mut states,
        now,
        from,
    } = start(config, from)?;
    let slots = config.schedule.upcoming(from, next);
    let Some(horizon) = slots.last().copied() else {
        println!("No slot is coming: check schedule.slots.");
        return Ok(ExitCode::from(exit::OK));
    };

    // Networks that refuse a repeated text: how soon each target repeats.
    for t in config
        .targets
        .iter()
        .filter(|t| t.profile().refuses_repeats)
    {
        if let Some(days) = crate::checks::repeat_days(config, &catalog, t) {
            let window = config.repeat_window.as_secs_f64() / 86_400.0;
            println!(
                "{}: each message comes back in each language after {days:.0} days{}",
                t.name,
                if days < window {
                    format!(
                        " — sooner than schedule.repeat_window ({}): {} may refuse repeats as duplicates",
                        humantime::format_duration(config.repeat_window),
                        t.profile().name
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    let mut over_limit = false;
    let known = offline_limits_by_target(config);
    let mut show =
        |t: DateTime<Utc>, target: &TargetConfig, m: &Message, lang: &Lang, what: &str| {
            let limits = known
                .get(&target.name)
                .copied()
                .unwrap_or_else(|| target.profile().limits);
            let (rendered, variant) =
                render_for(m, lang, &config.hashtags, &limits).expect("language present");
            let ms = measure(&rendered, &limits);
            let overs = overruns(&ms, &limits);
            over_limit |= overs.iter().any(|o| !o.soft);
            println!(
                "{}  {}  {}  {}{}  ({})",
                local_time(t, tz),
                target.name,
                m.id,
                lang,
                what,
                describe_length(&ms, &limits)
            );
            if variant == Variant::Short {
                println!("    the short text: the full one is over this target's limit");
            }
            for o in overs {
                if o.soft {
                    println!("    MORE THAN ADVISED: {o}");
                } else {
                    println!("    TOO LONG: {o}");
                }
            }
            if let Some(s) = &rendered.spoiler {
                println!("    content warning: {s}");
            }
            for line in rendered.text.lines() {
                println!("    | {line}");
            }
            for md in &m.media {
                if let Some(path) = md.path_for(lang) {
                    println!(
                        "    image: {} — alt: {}",
                        path.display(),
                        md.alt.get(lang).map(String::as_str).unwrap_or("")
                    );
                }
            }
            println!();
        };

    // From now on, so the rotation is where it will be; shown from `from`.
    // The same decisions as the daemon's (see `plan::decide`).
    let mut noted = None;
    for u in plan::upcoming(config, &catalog, &mut states, now, horizon) {
        let t = u.event.at();
        if t <= from {
            continue;
        }
        if noted != Some(t) {
            noted = Some(t);
            if let Some(note) = plan::dst_note(config, &catalog, &u.event) {
                println!("{}  note: {note}", local_time(t, tz));
            }
        }
        let target = config.target(&u.target).expect("a configured target");
        match &u.decision {
            Decision::Post {
                message_id,
                lang,
                from_queue,
            } => {
                let m = catalog.get(message_id).expect("decided from the catalog");
                let what = match (&u.event, from_queue) {
                    (Event::Timed { .. }, _) => " (queue, at its own time)",
                    (_, true) => " (queue)",
                    _ => "",
                };
                show(t, target, m, lang, what);
            }
            Decision::Taken { by } => println!(
                "{}  {}  rotation — taken by {by}\n",
                local_time(t, tz),
                target.name
            ),
            Decision::Nothing => println!(
                "{}  {}  nothing to post in its languages\n",
                local_time(t, tz),
                target.name
            ),
            Decision::NotHere => {}
        }
    }
    Ok(ExitCode::from(if over_limit {
        exit::PROBLEM
    } else {
        exit::OK
    }))
}

/// How far ahead `preview MESSAGE_ID` looks for a message's turn.
const MESSAGE_HORIZON_DAYS: i64 = 3 * 366;

/// `preview MESSAGE_ID`: when one message goes out next, in each of its
/// languages on each target that posts in it, stepping the rotations as
/// the daemon will (issue 32: a new message joins the end of the rotation,
/// and `preview --next 9` does not reach it). A draft is shown as if it
/// were approved now, and says so.
pub fn preview_message(
    config: &Config,
    id: &str,
    from: Option<&str>,
) -> Result<ExitCode, CliError> {
    let mut catalog = catalog_noting_errors(config)?;
    let Some(m) = catalog.get(id).cloned() else {
        let known: Vec<&str> = catalog.messages.iter().map(|m| m.id.as_str()).collect();
        return Err(CliError::Usage(format!(
            "no message has the id {id:?}{}; the ids are the file names without .toml (or the file's id = …): {}",
            if catalog.has_errors() {
                " (or its file has an error: run `campaign-bot validate`)"
            } else {
                ""
            },
            known.join(", ")
        )));
    };
    let tz = config.schedule.timezone();
    println!(
        "{} (posts/{}){}",
        m.id,
        m.source.display(),
        if m.draft {
            ": a draft, shown as if it were approved now (set status = \"approved\" to post it)"
        } else {
            ""
        }
    );
    if m.draft {
        for other in catalog.messages.iter_mut().filter(|o| o.id == m.id) {
            other.draft = false;
        }
    }
    let Start {
        mut states,
        now,
        from,
    } = start(config, from)?;
    // Each (target, language) the message can go out in, and when it first does.
    let mut wanted: BTreeMap<(String, Lang), Option<DateTime<Utc>>> = BTreeMap::new();
    for t in &config.targets {
        for l in t.languages.iter().filter(|l| m.has_lang(l)) {
            wanted.insert((t.name.clone(), *l), None);
        }
    }
    if wanted.is_empty() {
        println!("  no target posts in its languages: it will not go out");
        return Ok(ExitCode::from(exit::PROBLEM));
    }
    let end = now + chrono::Duration::days(MESSAGE_HORIZON_DAYS);
    let mut t0 = now;
    while t0 < end && wanted.values().any(Option::is_none) {
        let t1 = (t0 + chrono::Duration::days(30)).min(end);
        for u in plan::upcoming(config, &catalog, &mut states, t0, t1) {
            let t = u.event.at();
            if t <= from {
                continue;
            }
            if let Decision::Post {
                message_id, lang, ..
            } = &u.decision
                && *message_id == m.id
                && let Some(slot) = wanted.get_mut(&(u.target.clone(), *lang))
                && slot.is_none()
            {
                *slot = Some(t);
            }
        }
        t0 = t1;
    }
    // Soonest first; what does not come, last.
    let mut rows: Vec<_> = wanted.iter().collect();
    rows.sort_by_key(|(_, when)| when.unwrap_or(DateTime::<Utc>::MAX_UTC));
    for ((target, lang), when) in rows {
        match when {
            Some(t) => println!("  {target}  {lang}  {}", local_time(*t, tz)),
            None => println!(
                "  {target}  {lang}  not within {} years: check the schedule, the target's languages and the queue",
                MESSAGE_HORIZON_DAYS / 366
            ),
        }
    }
    if let Some(first) = wanted.values().flatten().min().filter(|_| !m.draft) {
        println!(
            "\nIts exact text on each target: campaign-bot preview --from \"{}\" --next 1",
            (*first - chrono::Duration::minutes(1))
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
        );
    }
    Ok(ExitCode::from(exit::OK))
}
