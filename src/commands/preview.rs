//! `campaign-bot preview --next N`: the coming slots and exactly what each
//! target would post. Reads the state store; changes nothing.

use std::collections::BTreeMap;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::{CliError, exit, load_catalog, local_time, offline_limits_by_target};
use crate::checks::offline_limits;
use crate::config::Config;
use crate::model::{Lang, Message};
use crate::render::{describe_length, measure, overruns, render};
use crate::rotation::{self, RotationState};
use crate::store::Store;

enum Entry<'a> {
    Cron(DateTime<Utc>),
    Timed(DateTime<Utc>, &'a Message),
}

pub fn preview(config: &Config, next: usize) -> Result<ExitCode, CliError> {
    let catalog = load_catalog(config);
    let errors = catalog.errors().count();
    if errors > 0 {
        eprintln!(
            "note: {errors} post file(s) have errors and are left out; run `campaign-bot validate` for details"
        );
    }
    // Read the rotation where it stands, without creating a store.
    let db = config.data_dir.join("state.db");
    let (mut states, cursor): (BTreeMap<String, RotationState>, Option<DateTime<Utc>>) =
        if db.exists() {
            let store = Store::open(&config.data_dir)?;
            let mut m = BTreeMap::new();
            for t in &config.targets {
                m.insert(t.name.clone(), store.rotation(&t.name)?);
            }
            (m, store.cursor()?)
        } else {
            (BTreeMap::new(), None)
        };
    let now = Utc::now().max(cursor.unwrap_or(DateTime::<Utc>::MIN_UTC));
    let tz = config.schedule.timezone();
    let slots = config.schedule.upcoming(now, next);
    let horizon = slots.last().copied().unwrap_or(now);
    let mut entries: Vec<Entry> = slots.into_iter().map(Entry::Cron).collect();
    for m in catalog.queue() {
        if let Some(at) = m.at.map(|a| a.resolve(tz))
            && at > now
            && at <= horizon
        {
            entries.push(Entry::Timed(at, m));
        }
    }
    entries.sort_by_key(|e| match e {
        Entry::Cron(t) | Entry::Timed(t, _) => *t,
    });
    if entries.is_empty() {
        println!("No slot is coming: check schedule.slots.");
        return Ok(ExitCode::from(exit::OK));
    }

    let mut over_limit = false;
    let known = offline_limits_by_target(config);
    let mut show = |t: DateTime<Utc>,
                    target: &crate::config::TargetConfig,
                    m: &Message,
                    lang: &Lang,
                    what: &str| {
        let limits = known
            .get(&target.name)
            .copied()
            .unwrap_or_else(|| offline_limits(target.kind));
        let rendered = render(m, lang, &config.hashtags).expect("language present");
        let ms = measure(&rendered, &limits);
        let overs = overruns(&ms, &limits);
        over_limit |= !overs.is_empty();
        println!(
            "{}  {}  {}  {}{}  ({})",
            local_time(t, tz),
            target.name,
            m.id,
            lang,
            what,
            describe_length(&ms, &limits)
        );
        // A timed post's own local time, or the cron slot's.
        let note = match m.at {
            Some(at) if m.kind == crate::model::MessageKind::Queue && at.resolve(tz) == t => {
                at.dst_note(tz)
            }
            _ => config.schedule.dst_note(t),
        };
        if let Some(note) = note {
            println!("    note: {note}");
        }
        for o in overs {
            println!("    TOO LONG: {o}");
        }
        if let Some(s) = &rendered.spoiler {
            println!("    content warning: {s}");
        }
        for line in rendered.text.lines() {
            println!("    | {line}");
        }
        for md in &m.media {
            println!(
                "    image: {} — alt: {}",
                md.path.display(),
                md.alt.get(lang).map(String::as_str).unwrap_or("")
            );
        }
        println!();
    };

    for entry in &entries {
        match entry {
            Entry::Cron(t) => {
                for target in &config.targets {
                    let state = states.entry(target.name.clone()).or_default();
                    match rotation::next(state, &target.languages, &catalog) {
                        Some(choice) => {
                            let m = catalog
                                .get(&choice.message_id)
                                .expect("picked from the catalog");
                            show(
                                *t,
                                target,
                                m,
                                &choice.lang,
                                if choice.from_queue { " (queue)" } else { "" },
                            );
                            rotation::advance(state, &target.languages, &choice, &catalog);
                        }
                        None => println!(
                            "{}  {}  nothing to post in its languages\n",
                            local_time(*t, tz),
                            target.name
                        ),
                    }
                }
            }
            Entry::Timed(t, m) => {
                for target in &config.targets {
                    for lang in target.languages.iter().filter(|l| m.has_lang(l)) {
                        show(*t, target, m, lang, " (queue, at its own time)");
                    }
                }
            }
        }
    }
    Ok(ExitCode::from(if over_limit {
        exit::PROBLEM
    } else {
        exit::OK
    }))
}
