//! Cron expressions in a named time zone → slot instants. Pure: no clock, no I/O.
//!
//! # Daylight-saving changes
//! Slots are computed in wall-clock time of `schedule.timezone` and stored as
//! UTC instants. At a DST change (the behaviour of `croner`, tested below):
//! - **Spring forward** (a wall time that does not exist, e.g. 02:30 on
//!   2026-03-29 in Europe/Brussels): a slot at a fixed time runs once, at the
//!   first minute after the gap (03:00 CEST). Slots of a `*` or `*/N`
//!   hour/minute pattern that fall in the missing hour do not exist that day.
//! - **Fall back** (a wall time that happens twice, e.g. 02:30 on 2026-10-25):
//!   a slot at a fixed time runs once, at its first pass (02:30 CEST). Slots of
//!   a `*`/`*/N` pattern run in both passes: they are different instants.
//!
//! [`Schedule::dst_note`] says when a slot is affected, so `preview` and the
//! daemon's log show it: nothing moves or disappears silently.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// A slot expression that could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "{pattern:?} is not a cron expression ({reason}); write 5 fields, e.g. \"0 9 * * Mon-Fri\" (minute hour day month weekday), or 6 with leading seconds"
)]
pub struct BadCron {
    pub pattern: String,
    pub reason: String,
}

/// The parsed `[schedule]` section.
#[derive(Debug, Clone)]
pub struct Schedule {
    tz: Tz,
    slots: Vec<(String, Cron)>,
    grace: Duration,
}

impl Schedule {
    pub fn new(tz: Tz, patterns: &[String], grace: Duration) -> Result<Self, BadCron> {
        let parser = CronParser::builder().seconds(Seconds::Optional).build();
        let mut slots = Vec::new();
        for p in patterns {
            let fields = p.split_whitespace().count();
            if !(5..=6).contains(&fields) {
                return Err(BadCron {
                    pattern: p.clone(),
                    reason: format!("it has {fields} fields"),
                });
            }
            let cron = parser.parse(p).map_err(|e| BadCron {
                pattern: p.clone(),
                reason: e.to_string(),
            })?;
            slots.push((p.clone(), cron));
        }
        Ok(Schedule { tz, slots, grace })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }
    pub fn grace(&self) -> Duration {
        self.grace
    }
    pub fn slot_patterns(&self) -> Vec<&str> {
        self.slots.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// The first slot strictly after `after`. Two patterns naming the same
    /// instant give one slot.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.tz);
        self.slots
            .iter()
            .filter_map(|(_, cron)| cron.find_next_occurrence(&local, false).ok())
            .map(|t| t.with_timezone(&Utc))
            .min()
    }

    /// Every slot in `(from, to]`, in order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = from;
        while let Some(next) = self.next_after(cursor) {
            if next > to {
                break;
            }
            out.push(next);
            cursor = next;
        }
        out
    }

    /// The next `n` slots after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after;
        while out.len() < n {
            match self.next_after(cursor) {
                Some(t) => {
                    out.push(t);
                    cursor = t;
                }
                None => break,
            }
        }
        out
    }

    /// Why a slot's wall time is unusual, when a DST change touches it.
    pub fn dst_note(&self, slot: DateTime<Utc>) -> Option<String> {
        let local = slot.with_timezone(&self.tz);
        let matches_pattern = self
            .slots
            .iter()
            .any(|(_, c)| c.is_time_matching(&local).unwrap_or(false));
        if !matches_pattern {
            return Some(format!(
                "a slot time did not exist on {} (clocks went forward): posted at {} instead",
                local.format("%Y-%m-%d"),
                local.format("%H:%M %Z")
            ));
        }
        if let LocalResult::Ambiguous(first, _) = self.tz.from_local_datetime(&local.naive_local())
        {
            let pass = if first == local { "first" } else { "second" };
            return Some(format!(
                "{} happens twice on {} (clocks went back): this is the {pass} pass",
                local.format("%H:%M"),
                local.format("%Y-%m-%d")
            ));
        }
        None
    }
}

/// A time for people, in the campaign's zone: `Mon 2026-11-30 09:00 CET`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The same with UTC beside it: `Mon 2026-11-30 09:00 CET (08:00 UTC)`.
pub fn local_and_utc(t: DateTime<Utc>, tz: Tz) -> String {
    if tz == Tz::UTC {
        return local_time(t, tz);
    }
    format!("{} ({} UTC)", local_time(t, tz), t.format("%H:%M"))
}

/// A time as people write it, read in the campaign's zone `tz`: an RFC
/// 3339 time with its offset (`2026-12-18T09:00:00+01:00`), a local date and
/// time (`2026-12-18 09:00`, `2026-12-18T09:00`), or a date alone (its
/// midnight). A local time that does not exist (a DST gap) is the first
/// minute after it; one that happens twice, its first pass.
pub fn parse_time(text: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(fixed) = DateTime::parse_from_rfc3339(t) {
        return Ok(fixed.with_timezone(&Utc));
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    match local {
        Some(naive) => Ok(crate::model::At::Local(naive).resolve(tz)),
        None => Err(format!(
            "{t:?} is not a time the bot can read; write it like 2026-12-18 09:00 (in {}), or 2026-12-18T09:00:00+01:00 with its offset",
            tz.name()
        )),
    }
}

impl FromStr for Schedule {
    type Err = BadCron;
    /// `"TZ|pattern|pattern"`, with a 15-minute grace; for tests and benches.
    fn from_str(s: &str) -> Result<Self, BadCron> {
        let mut parts = s.split('|');
        let tz: Tz = parts.next().unwrap_or("UTC").parse().map_err(|_| BadCron {
            pattern: s.into(),
            reason: "unknown time zone".into(),
        })?;
        let patterns: Vec<String> = parts.map(str::to_string).collect();
        Schedule::new(tz, &patterns, Duration::from_secs(900))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn weekday_slots_in_brussels() {
        let s: Schedule = "Europe/Brussels|0 9 * * Mon-Fri|30 15 * * Mon-Fri"
            .parse()
            .unwrap();
        // Friday 2026-11-27 10:00 UTC = 11:00 CET: next is 15:30 CET = 14:30 UTC.
        let next = s.upcoming(utc(2026, 11, 27, 10, 0), 3);
        assert_eq!(
            next,
            [
                utc(2026, 11, 27, 14, 30),
                utc(2026, 11, 30, 8, 0),
                utc(2026, 11, 30, 14, 30)
            ]
        );
    }

    // Regression guard for the DST behaviour documented at the top of this file.
    #[test]
    fn spring_forward_runs_a_missing_0230_once_at_0300() {
        let s: Schedule = "Europe/Brussels|30 2 * * *".parse().unwrap();
        let slots = s.between(utc(2026, 3, 27, 12, 0), utc(2026, 3, 31, 12, 0));
        assert_eq!(
            slots,
            [
                utc(2026, 3, 28, 1, 30), // 02:30 CET
                utc(2026, 3, 29, 1, 0),  // 02:30 does not exist: 03:00 CEST
                utc(2026, 3, 30, 0, 30), // 02:30 CEST
                utc(2026, 3, 31, 0, 30),
            ]
        );
        assert!(s.dst_note(slots[1]).unwrap().contains("did not exist"));
        assert_eq!(s.dst_note(slots[0]), None);
    }

    #[test]
    fn fall_back_runs_a_doubled_0230_once() {
        let s: Schedule = "Europe/Brussels|30 2 * * *".parse().unwrap();
        let slots = s.between(utc(2026, 10, 23, 12, 0), utc(2026, 10, 27, 12, 0));
        assert_eq!(
            slots,
            [
                utc(2026, 10, 24, 0, 30), // 02:30 CEST
                utc(2026, 10, 25, 0, 30), // first 02:30 (CEST); the second pass is not a slot
                utc(2026, 10, 26, 1, 30), // 02:30 CET
                utc(2026, 10, 27, 1, 30),
            ]
        );
        assert!(s.dst_note(slots[1]).unwrap().contains("first pass"));
    }

    #[test]
    fn interval_slots_follow_real_time_across_changes() {
        let s: Schedule = "Europe/Brussels|0 * * * *".parse().unwrap();
        // The night of 2026-10-25 has 25 hours: 25 hourly slots, all distinct.
        let slots = s.between(utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0));
        assert_eq!(slots.len(), 25);
        assert!(
            slots
                .windows(2)
                .all(|w| w[1] - w[0] == chrono::Duration::hours(1))
        );
        // The night of 2026-03-29 has 23 hours.
        let slots = s.between(utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0));
        assert_eq!(slots.len(), 23);
    }

    #[test]
    fn six_fields_mean_seconds() {
        let s: Schedule = "UTC|*/5 * * * * *".parse().unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
        assert_eq!(
            s.next_after(t),
            Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap())
        );
    }

    #[test]
    fn times_as_people_write_them() {
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        let nine = utc(2026, 12, 18, 8, 0);
        for t in [
            "2026-12-18 09:00",
            "2026-12-18T09:00",
            "2026-12-18 09:00:00",
            "2026-12-18T09:00:00+01:00",
            "2026-12-18T08:00:00Z",
        ] {
            assert_eq!(parse_time(t, tz), Ok(nine), "{t}");
        }
        assert_eq!(parse_time("2026-12-18", tz), Ok(utc(2026, 12, 17, 23, 0)));
        for bad in ["tomorrow", "18/12/2026", "2026-12-18 9h"] {
            let e = parse_time(bad, tz).unwrap_err();
            assert!(e.contains("2026-12-18 09:00 (in Europe/Brussels)"), "{e}");
        }
    }

    #[test]
    fn bad_patterns_say_how_to_fix() {
        for bad in ["61 * * * *", "* * *", "every day", "0 9 * * Funday"] {
            let e = Schedule::new(Tz::UTC, &[bad.to_string()], Duration::ZERO).unwrap_err();
            assert!(e.to_string().contains("5 fields"), "{e}");
        }
    }
}
