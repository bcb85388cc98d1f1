//! Engagement: when each published post is checked next, the counts of
//! each check, and each target's daily follower count.

use super::intents::{INTENT_COLUMNS, Intent, parse_time, row_to_intent};
use super::sql::args;
use super::{Store, StoreError, keys};
use crate::model::Counts;
use chrono::{DateTime, NaiveDate, Utc};

/// When a post's next engagement check may be made, and by when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckWindow {
    pub from: DateTime<Utc>,
    pub by: DateTime<Utc>,
}

impl Store {
    /// Published posts still followed (not gone), oldest first.
    pub fn followed(&self) -> Result<Vec<Intent>, StoreError> {
        self.query_intents(
            "WHERE state = 'published' AND gone = 0 AND remote_id IS NOT NULL ORDER BY published_at, target",
            &[],
        )
    }

    /// Published posts with no engagement check yet, oldest first: the
    /// report lists them as "not checked yet" rather than leave them out.
    pub fn unchecked(&self) -> Result<Vec<Intent>, StoreError> {
        self.query_intents(
            "WHERE state = 'published' AND NOT EXISTS (SELECT 1 FROM engagement e WHERE e.intent_key = intents.key) ORDER BY published_at, target",
            &[],
        )
    }

    /// Records one engagement check of a post, and moves it to checkpoint
    /// `next_check`, whose window is `window` (`None`: the last check is
    /// made). One transaction: the snapshot and the position agree.
    pub fn record_check(
        &self,
        key: &str,
        checked_at: DateTime<Utc>,
        counts: &Counts,
        next_check: usize,
        window: Option<CheckWindow>,
    ) -> Result<(), StoreError> {
        let n = |v: Option<u64>| v.map(|v| v as i64);
        self.write(|db| {
            db.exec(
                "INSERT INTO engagement (intent_key, checked_at, likes, reposts, replies, quotes, views, clicks, shares, saves) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                args![key, checked_at.to_rfc3339(), counts.likes as i64, counts.reposts as i64, counts.replies as i64, n(counts.quotes), n(counts.views), n(counts.clicks), n(counts.shares), n(counts.saves)],
            )?;
            db.exec(
                "UPDATE intents SET next_check = ?2, check_from = ?3, check_by = ?4 WHERE key = ?1",
                args![
                    key,
                    next_check as i64,
                    window.map(|w| w.from.timestamp()),
                    window.map(|w| w.by.timestamp())
                ],
            )?;
            Ok(())
        })
    }

    /// `target`'s follower count on the local `day`, if taken.
    pub fn followers_on(&self, target: &str, day: NaiveDate) -> Result<Option<u64>, StoreError> {
        self.read(|db| {
            db.row(
                "SELECT count FROM followers WHERE target = ?1 AND day = ?2",
                args![target, day.to_string()],
            )?
            .map(|r| r.int(0).map(|c| c.max(0) as u64))
            .transpose()
        })
    }

    /// Records `target`'s follower count for `day` (the day's first count
    /// stays).
    pub fn record_followers(
        &self,
        target: &str,
        day: NaiveDate,
        at: DateTime<Utc>,
        count: u64,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "INSERT INTO followers (target, day, checked_at, count) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                args![
                    target,
                    day.to_string(),
                    at.to_rfc3339(),
                    i64::try_from(count).unwrap_or(i64::MAX)
                ],
            )
        })?;
        Ok(())
    }

    /// `target`'s follower counts from `since` to `until` (local days,
    /// both included, either open), oldest first.
    pub fn followers(
        &self,
        target: &str,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
    ) -> Result<Vec<(NaiveDate, u64)>, StoreError> {
        let from = since.map(|d| d.to_string()).unwrap_or_default();
        let to = until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "9999-12-31".into());
        let rows = self.read(|db| {
            db.rows(
                "SELECT day, count FROM followers WHERE target = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
                args![target, from, to],
            )
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, count) = (
                row.text(0).map_err(|e| self.db_err(e))?,
                row.int(1).map_err(|e| self.db_err(e))?,
            );
            if let Ok(d) = day.parse::<NaiveDate>() {
                out.push((d, count.max(0) as u64));
            }
        }
        Ok(out)
    }

    /// Marks a post deleted on its network: it is no longer checked.
    pub fn mark_gone(&self, key: &str) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET gone = 1, check_from = NULL, check_by = NULL WHERE key = ?1",
                args![key],
            )
        })?;
        Ok(())
    }

    /// Posts of `targets` whose next check's window has opened by `now`, by
    /// the check index: the cost grows with the checks due, not with history.
    pub fn due_checks(
        &self,
        now: DateTime<Utc>,
        targets: &[&str],
    ) -> Result<Vec<Intent>, StoreError> {
        let mut due = self.query_intents(
            "WHERE check_from <= ?1 ORDER BY published_at, target",
            args![now.timestamp()],
        )?;
        due.retain(|p| targets.contains(&p.target.as_str()));
        Ok(due)
    }

    /// The latest moment the most pressing check of `targets` may wait, by
    /// the index (one lookup per target). Posts of targets no longer
    /// running are not waited for.
    pub fn next_check_by(&self, targets: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let soonest = self.read(|db| {
            let mut soonest: Option<i64> = None;
            for t in targets {
                let by = match db.row(
                    "SELECT MIN(check_by) FROM intents WHERE target = ?1 AND check_by IS NOT NULL",
                    args![*t],
                )? {
                    Some(r) => r.opt_int(0)?,
                    None => None,
                };
                soonest = match (soonest, by) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            Ok(soonest)
        })?;
        Ok(soonest.and_then(|s| DateTime::from_timestamp(s, 0)))
    }

    /// Gives every post published before the check index existed (a store
    /// from an older version) its check window, once: `window` says it from
    /// the post (`None`: none, e.g. an outbox's). Marked done in `meta`.
    pub fn schedule_old_checks(
        &self,
        window: impl Fn(&Intent) -> Option<CheckWindow> + Sync,
    ) -> Result<(), StoreError> {
        if self.meta(keys::CHECKS_SCHEDULED)?.is_some() {
            return Ok(());
        }
        let posts = self.followed()?;
        self.write(|db| {
            for p in &posts {
                if let Some(w) = window(p) {
                    db.exec(
                        "UPDATE intents SET check_from = ?2, check_by = ?3 WHERE key = ?1",
                        args![&p.key, w.from.timestamp(), w.by.timestamp()],
                    )?;
                }
            }
            db.exec(
                "INSERT INTO meta (key, value) VALUES (?1, '1') ON CONFLICT (key) DO NOTHING",
                args![keys::CHECKS_SCHEDULED],
            )?;
            Ok(())
        })
    }

    /// The latest snapshot of every published post that has one, with the post.
    pub fn latest_snapshots(&self) -> Result<Vec<(Intent, DateTime<Utc>, Counts)>, StoreError> {
        let cols: String = INTENT_COLUMNS
            .split(", ")
            .map(|c| format!("i.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, e.checked_at, e.likes, e.reposts, e.replies, e.quotes, e.views, e.clicks, e.shares, e.saves
             FROM intents i JOIN engagement e ON e.intent_key = i.key
             WHERE e.id = (SELECT id FROM engagement WHERE intent_key = i.key ORDER BY checked_at DESC, id DESC LIMIT 1)
             ORDER BY i.published_at, i.target"
        );
        self.read(|db| {
            let n = INTENT_COLUMNS.split(", ").count();
            db.map_rows(&sql, &[], |r| {
                let count = |i: usize| r.opt_int(n + i).map(|v| v.map(|v| v.max(0) as u64));
                let counts = Counts {
                    likes: r.int(n + 1)?.max(0) as u64,
                    reposts: r.int(n + 2)?.max(0) as u64,
                    replies: r.int(n + 3)?.max(0) as u64,
                    quotes: count(4)?,
                    views: count(5)?,
                    clicks: count(6)?,
                    shares: count(7)?,
                    saves: count(8)?,
                };
                let checked_at = parse_time(&r.text(n)?);
                Ok((row_to_intent(r)?, checked_at, counts))
            })
        })
    }
}
