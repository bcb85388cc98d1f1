//! Every daylight-saving change of 2026–2027 in five zones (Casablanca's
//! Ramadan changes included): no slot is silently doubled or skipped.
//!
//! For each change, every fixed daily time (each half hour of the day) must
//! give exactly one slot on each local day around the change, and a slot
//! whose wall time moved or happens twice must carry a note; hourly slots
//! must stay one real hour apart.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use campaign_bot::schedule::Schedule;

const ZONES: &[&str] = &[
    "Europe/Brussels",
    "Africa/Casablanca",
    "Asia/Beirut",
    "America/New_York",
    "Australia/Sydney",
];

/// The UTC instants (to the hour) at which `tz` changes its offset.
fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = from;
    let mut last = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    while t < to {
        t += chrono::Duration::minutes(30);
        let now = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
        if now != last {
            out.push(t);
            last = now;
        }
    }
    out
}

#[test]
fn every_change_of_2026_and_2027_in_five_zones() {
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let mut summary = Vec::new();
    for zone in ZONES {
        let tz: Tz = zone.parse().unwrap();
        let changes = transitions(tz, from, to);
        assert!(!changes.is_empty(), "{zone} has no change in 2026–2027?");
        summary.push(format!("{zone}: {}", changes.len()));
        for change in &changes {
            let day: NaiveDate = change.with_timezone(&tz).date_naive();
            let window_from = tz
                .from_local_datetime(
                    &(day - chrono::Duration::days(1))
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                )
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
                - chrono::Duration::seconds(1);
            let window_to = tz
                .from_local_datetime(
                    &(day + chrono::Duration::days(2))
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                )
                .earliest()
                .unwrap()
                .with_timezone(&Utc)
                - chrono::Duration::seconds(1);
            for half_hour in 0..48 {
                let (h, m) = (half_hour / 2, (half_hour % 2) * 30);
                let s = Schedule::new(tz, &[format!("{m} {h} * * *")], Duration::from_secs(900))
                    .unwrap();
                let slots = s.between(window_from, window_to);
                let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
                for slot in &slots {
                    let local = slot.with_timezone(&tz);
                    *per_day.entry(local.date_naive()).or_default() += 1;
                    let moved = (local.hour(), local.minute()) != (h, m);
                    let doubled = tz
                        .from_local_datetime(&local.naive_local())
                        .single()
                        .is_none();
                    if moved || doubled {
                        assert!(
                            s.dst_note(*slot).is_some(),
                            "{zone} {h:02}:{m:02} on {}: the slot at {local} changed without a note",
                            local.date_naive()
                        );
                    }
                }
                for d in 0..3 {
                    let date = day - chrono::Duration::days(1) + chrono::Duration::days(d);
                    assert_eq!(
                        per_day.get(&date).copied().unwrap_or(0),
                        1,
                        "{zone} {h:02}:{m:02} on {date} (change at {change}): {slots:?}"
                    );
                }
            }
            let hourly =
                Schedule::new(tz, &["0 * * * *".to_string()], Duration::from_secs(900)).unwrap();
            let slots = hourly.between(window_from, window_to);
            for w in slots.windows(2) {
                let gap = w[1] - w[0];
                // Whole-hour offsets: one real hour apart. (A zone shifting by
                // 30 minutes would give 30 or 90; none of these does.)
                assert_eq!(
                    gap,
                    chrono::Duration::hours(1),
                    "{zone} hourly around {change}: {} → {}",
                    w[0],
                    w[1]
                );
            }
        }
    }
    // Two changes a year in each zone (Casablanca: around Ramadan).
    assert_eq!(
        summary,
        [
            "Europe/Brussels: 4",
            "Africa/Casablanca: 4",
            "Asia/Beirut: 4",
            "America/New_York: 4",
            "Australia/Sydney: 4"
        ]
    );
}
