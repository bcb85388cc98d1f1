//! The coming posts as an iCalendar feed (RFC 5545), for the calendar the
//! comms team already uses: one event per post, at its time in the
//! campaign's time zone, with the exact text. Each event's UID is derived
//! from its (slot, target), like the post's idempotency key, so a calendar
//! that imports the feed again updates the events rather than doubling
//! them; a post whose plan changes (a new message in the rotation) keeps
//! its UID and shows the new text.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike};

use crate::config::Config;
use crate::plan::{Decision, Upcoming};
use crate::posts::Catalog;
use crate::render::render;

/// Whether the events carry the posts' texts: `preview --ics` (run by
/// someone who may read `posts/`) has them; the HTTP endpoint leaves them
/// out, a post's text being private until it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Texts {
    Included,
    Left,
}

/// How long a post's event lasts in the calendar: a mark, not a meeting.
const EVENT_LENGTH: Duration = Duration::minutes(5);

/// The feed of `upcoming` (from [`crate::plan::upcoming`]). `stamp` is the
/// feed's DTSTAMP (when it was made). Slots left to a timed post and slots
/// with nothing to post are not events.
pub fn feed(
    config: &Config,
    catalog: &Catalog,
    upcoming: &[Upcoming],
    stamp: DateTime<Utc>,
    texts: Texts,
) -> String {
    let tz = config.schedule.timezone();
    let mut calendar = Calendar::new();
    calendar
        .name("campaign-bot: coming posts")
        .description(
            "What campaign-bot will post, per target and language (campaign-bot preview --ics)",
        )
        .timezone(tz.name());
    let mut words = HashMap::new();
    for u in upcoming {
        let Decision::Post {
            message_id, lang, ..
        } = &u.decision
        else {
            continue;
        };
        let (Some(message), Some(target)) = (catalog.get(message_id), config.target(&u.target))
        else {
            continue;
        };
        let Some(slot) = u.event.slot_on(target) else {
            continue;
        };
        // A daemon's messages have their words parked: read back for the
        // posts of this feed only, each message once (hundreds of targets
        // often post the same one).
        let message = match words.entry(message.id.as_str()) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => match crate::posts::words(message) {
                Ok(m) => new.insert(m),
                Err(e) => {
                    tracing::error!(error = %e, message = message.id, "cannot read the message's words back; left out of the calendar");
                    continue;
                }
            },
        };
        let Some(rendered) = render(message, lang, &config.hashtags) else {
            continue;
        };
        let description = match texts {
            Texts::Included => {
                let mut d = rendered.text.clone();
                if let Some(cw) = &rendered.spoiler {
                    d = format!("Content warning: {cw}\n\n{d}");
                }
                for media in &message.media {
                    if let Some(path) = media.path_for(lang) {
                        d.push_str(&format!(
                            "\n\nImage: {} (alt: {})",
                            path.display(),
                            media.alt.get(lang).map(String::as_str).unwrap_or("")
                        ));
                    }
                }
                d
            }
            Texts::Left => format!(
                "{} in {lang} on {}; the text: campaign-bot preview --ics",
                message.id, target.name
            ),
        };
        let at = slot.at;
        calendar.push(
            Event::new()
                .uid(&format!("{}@campaign-bot", slot.intent_key(&target.name)))
                .timestamp(stamp)
                .summary(&format!("{}: {} [{}]", target.name, message.id, lang))
                .description(&description)
                .starts(local(at, tz))
                .ends(local(at + EVENT_LENGTH, tz))
                .add_property("CATEGORIES", "campaign-bot")
                .add_property("X-CAMPAIGN-BOT-TARGET", &target.name)
                .add_property("X-CAMPAIGN-BOT-MESSAGE", &message.id)
                .add_property("X-CAMPAIGN-BOT-LANGUAGE", lang.as_str())
                .done(),
        );
    }
    calendar.done().to_string()
}

/// A time as the campaign's zone reads it (DTSTART;TZID=Europe/Brussels).
fn local(at: DateTime<Utc>, tz: Tz) -> CalendarDateTime {
    CalendarDateTime::from_date_time(at.with_timezone(&tz))
}
