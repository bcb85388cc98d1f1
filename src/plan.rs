//! What happens when: the events the daemon wakes for (cron slots and timed
//! queue posts), and which rotation slots a timed post takes. Pure: config
//! and catalog in, events out; the daemon and `preview` both ask here, so
//! what `preview` shows is what the daemon does.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::{Config, TargetConfig};
use crate::model::{Lang, Message, Slot};
use crate::posts::Catalog;
use crate::rotation::{self, RotationState};

/// One thing the scheduler wakes for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A cron slot: every target takes its next rotation post.
    Cron(DateTime<Utc>),
    /// A queue post's own `at` time, in one language.
    Timed {
        slot: Slot,
        message_id: String,
        lang: Lang,
    },
}

impl Event {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Cron(t) => *t,
            Event::Timed { slot, .. } => slot.at,
        }
    }

    /// The slot this event fills on `target`, if it concerns it (a timed
    /// post only concerns targets that post in its language).
    pub fn slot_on(&self, target: &TargetConfig) -> Option<Slot> {
        match self {
            Event::Cron(t) => Some(Slot::cron(*t)),
            Event::Timed { slot, lang, .. } => {
                target.languages.contains(lang).then(|| slot.clone())
            }
        }
    }
}

/// The first event after `cursor`.
pub fn next_event(
    config: &Config,
    catalog: &Catalog,
    cursor: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cron = config.schedule.next_after(cursor);
    let tz = config.schedule.timezone();
    let timed = catalog
        .queue()
        .filter_map(|m| m.at.map(|a| a.resolve(tz)))
        .filter(|t| *t > cursor)
        .min();
    match (cron, timed) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Every event in `(from, to]`, in time order (at one instant, cron slots
/// before timed posts, timed posts in file-name then language order).
pub fn events_between(
    config: &Config,
    catalog: &Catalog,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Event> {
    let tz = config.schedule.timezone();
    let mut events: Vec<Event> = config
        .schedule
        .between(from, to)
        .into_iter()
        .map(Event::Cron)
        .collect();
    for m in catalog.queue() {
        let Some(at) = m.at.map(|a| a.resolve(tz)) else {
            continue;
        };
        if at > from && at <= to {
            for lang in m.langs() {
                events.push(Event::Timed {
                    slot: Slot::timed(at, &m.id, lang),
                    message_id: m.id.clone(),
                    lang: *lang,
                });
            }
        }
    }
    events.sort_by_key(Event::at);
    events
}

/// The timed queue post that takes the rotation slot at `at` on `target`:
/// one going out on that target (in one of its languages) within
/// `schedule.timed_post_window` of the slot. On Migrants Day the flagship
/// post at 09:00 goes out *instead of* the 09:00 rotation post, not beside
/// it.
pub fn taken_by<'c>(
    config: &Config,
    catalog: &'c Catalog,
    target: &TargetConfig,
    at: DateTime<Utc>,
) -> Option<&'c Message> {
    let window = chrono::Duration::from_std(config.timed_post_window).unwrap_or_default();
    let tz = config.schedule.timezone();
    catalog.queue().find(|m| {
        m.at.is_some_and(|a| (a.resolve(tz) - at).abs() <= window)
            && target.languages.iter().any(|l| m.has_lang(l))
    })
}

/// Why an event's time is unusual, when a DST change touches it: a cron
/// slot against its pattern, a timed post against its own local time.
pub fn dst_note(config: &Config, catalog: &Catalog, event: &Event) -> Option<String> {
    let schedule = &config.schedule;
    match event {
        Event::Cron(t) => schedule.dst_note(*t),
        Event::Timed { message_id, .. } => catalog
            .get(message_id)
            .and_then(|m| m.at)
            .and_then(|at| at.dst_note(schedule.timezone())),
    }
}

/// What an event does on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It posts this message in this language.
    Post {
        message_id: String,
        lang: Lang,
        /// An untimed queue post, or a timed one at its own time.
        from_queue: bool,
    },
    /// A rotation slot left to a timed post (see [`taken_by`]).
    Taken { by: String },
    /// Nothing has a language of this target.
    Nothing,
    /// The event is not for this target (a timed post in a language it
    /// does not post in).
    NotHere,
}

/// Decides what `event` does on `target`, with the target's rotation where
/// `state` has it, and moves `state` on as posting it will. The daemon
/// (inside the store transaction that records the slot) and `preview` (on
/// a copy) both decide here.
pub fn decide(
    config: &Config,
    catalog: &Catalog,
    target: &TargetConfig,
    event: &Event,
    state: &mut RotationState,
) -> Decision {
    match event {
        Event::Cron(t) => {
            if let Some(m) = taken_by(config, catalog, target, *t) {
                return Decision::Taken { by: m.id.clone() };
            }
            match rotation::next(state, &target.languages, catalog) {
                Some(choice) => {
                    rotation::advance(state, &target.languages, &choice, catalog);
                    Decision::Post {
                        message_id: choice.message_id,
                        lang: choice.lang,
                        from_queue: choice.from_queue,
                    }
                }
                None => Decision::Nothing,
            }
        }
        Event::Timed {
            message_id, lang, ..
        } => {
            if !target.languages.contains(lang) {
                Decision::NotHere
            } else if catalog.get(message_id).is_some() {
                // A timed post goes out beside the rotation: its state
                // does not move.
                Decision::Post {
                    message_id: message_id.clone(),
                    lang: *lang,
                    from_queue: true,
                }
            } else {
                Decision::Nothing
            }
        }
    }
}

/// One planned (event, target), for `preview`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub event: Event,
    pub target: String,
    pub decision: Decision,
}

/// What every target does at every event in `(from, to]`, with the
/// rotations starting where `states` has them (a target missing there
/// starts afresh). `states` ends where the period leaves them.
pub fn upcoming(
    config: &Config,
    catalog: &Catalog,
    states: &mut BTreeMap<String, RotationState>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<Upcoming> {
    let mut out = Vec::new();
    for event in events_between(config, catalog, from, to) {
        for target in &config.targets {
            let state = states.entry(target.name.clone()).or_default();
            let decision = decide(config, catalog, target, &event, state);
            if decision != Decision::NotHere {
                out.push(Upcoming {
                    event: event.clone(),
                    target: target.name.clone(),
                    decision,
                });
            }
        }
    }
    out
}
