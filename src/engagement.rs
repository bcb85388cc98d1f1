//! Engagement: when to check which published post, in batches, within each
//! network's rate limit, and the append-only log `data/engagement.jsonl`.
//!
//! Each published post is checked at the ages in `engagement.checkpoints`
//! (1 h, 6 h, 24 h, 3 d, 7 d, 30 d by default). A check may be made a tenth
//! of its age early (an hour at most) or up to 40 % of the way to the next
//! checkpoint late (12 hours at most), so that checks falling due close
//! together share one request: a run happens when the most pressing check
//! can wait no longer, and takes every check whose window has opened. The
//! log keeps the true time of each check. A post deleted on its network is
//! marked and no longer checked; a failed check is tried again at the next
//! run, not lost; after a long stop, a post is checked once, not once per
//! missed checkpoint.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Check, Counts};
use crate::publish::PublishError;
use crate::store::{CheckWindow, Intent, StoreError};
use crate::targets::Targets;

/// The log's file name under `data/`.
pub const LOG_FILE: &str = "engagement.jsonl";

/// One line of `data/engagement.jsonl`: one check of one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub checked_at: String,
    pub target: String,
    pub kind: String,
    pub remote_id: String,
    pub url: Option<String>,
    pub message_id: String,
    pub lang: String,
    pub posted_at: String,
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    /// `null` where the network does not count quotes.
    pub quotes: Option<u64>,
    /// Impressions or views, where the network gives them; absent where
    /// it does not (never 0 for "unknown").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<u64>,
    /// Clicks (LinkedIn), where given; absent where not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicks: Option<u64>,
    /// Shares out of the network (Threads, Facebook, Instagram), where
    /// given; absent where not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// Saves for later (Instagram), where given; absent where not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saves: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngagementError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot append to {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one run of checks did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub checked: usize,
    pub gone: usize,
    /// Posts their network has not indexed yet (checked again later).
    pub not_yet: usize,
    /// Lines appended to the log.
    pub appended: usize,
    /// Posts left for a later run (rate limit budget, or errors).
    pub deferred: usize,
    /// Targets whose checks failed, with why.
    pub failures: Vec<(String, String)>,
    /// Targets with nothing to collect (the outbox).
    pub nothing_to_collect: Vec<String>,
    /// Targets whose follower count was taken (once a day).
    pub followers: usize,
}

/// When `post` is due for its next check, if it has one left.
pub fn due_at(post: &Intent, checkpoints: &[Duration]) -> Option<DateTime<Utc>> {
    let published = post.published_at.unwrap_or(post.updated_at);
    let age = checkpoints.get(post.next_check)?;
    Some(published + chrono::Duration::from_std(*age).ok()?)
}

/// How early a check may be made so that it shares a batch with others.
fn slack(age: Duration) -> chrono::Duration {
    chrono::Duration::from_std((age / 10).min(Duration::from_secs(3600))).unwrap_or_default()
}

/// The checkpoint after `now`: a post checked late skips the ones it missed.
fn next_checkpoint(post: &Intent, checkpoints: &[Duration], now: DateTime<Utc>) -> usize {
    let published = post.published_at.unwrap_or(post.updated_at);
    checkpoints
        .iter()
        .position(|age| published + chrono::Duration::from_std(*age).unwrap_or_default() > now)
        .unwrap_or(checkpoints.len())
        .max(post.next_check + 1)
}

/// The window of `post`'s next check (at checkpoint `next_check`, from
/// its publication), or `None` when it has had its last.
pub fn window(
    published: DateTime<Utc>,
    next_check: usize,
    checkpoints: &[Duration],
) -> Option<CheckWindow> {
    let age = *checkpoints.get(next_check)?;
    let due = published + chrono::Duration::from_std(age).ok()?;
    Some(CheckWindow {
        from: due - slack(age),
        by: due + lateness(checkpoints, next_check),
    })
}

/// Whether the network of the configured target `target` keeps engagement
/// counts (whether or not the target could be started).
pub fn collects(config: &crate::config::Config, target: &str) -> bool {
    config
        .targets
        .iter()
        .find(|t| t.name == target)
        .is_some_and(|t| t.profile().counts_engagement())
}

/// The first check's window of a post published at `published` on a
/// target whose network collects engagement.
pub fn first_window(published: DateTime<Utc>, checkpoints: &[Duration]) -> Option<CheckWindow> {
    window(published, 0, checkpoints)
}

/// Gives posts published before the check index existed their windows
/// (once per store; see [`crate::store::Store::schedule_old_checks`]).
pub fn schedule_old_checks(targets: &Targets) -> Result<(), StoreError> {
    let config = targets.config();
    let checkpoints = &config.checkpoints;
    targets.store().schedule_old_checks(|p| {
        let collects = collects(config, &p.target);
        let published = p.published_at.unwrap_or(p.updated_at);
        collects
            .then(|| window(published, p.next_check, checkpoints))
            .flatten()
    })
}

/// How late the check at `checkpoints[i]` may be made so that it shares a
/// request with others: up to 40 % of the way to the next checkpoint (half
/// its age for the last one), at most 12 hours. A late check never reaches
/// the next checkpoint. With the defaults the 1 h check happens between
/// 54 min and 3 h, the 6 h one between 5.4 h and 13.2 h, the 24 h one
/// between 23 h and 36 h.
fn lateness(checkpoints: &[Duration], i: usize) -> chrono::Duration {
    let age = checkpoints[i];
    let room = match checkpoints.get(i + 1) {
        Some(next) => next.saturating_sub(age).mul_f64(0.4),
        None => age / 2,
    };
    chrono::Duration::from_std(room.min(Duration::from_secs(12 * 3600))).unwrap_or_default()
}

/// When the next run of checks should be (for the daemon to sleep until):
/// the latest moment the most pressing check may wait. Every check whose
/// window has opened by then goes with it.
pub fn next_run(campaign: &Targets) -> Result<Option<DateTime<Utc>>, StoreError> {
    campaign.store().next_check_by(&collecting(campaign))
}

/// The running targets whose network keeps engagement counts.
fn collecting(campaign: &Targets) -> Vec<&str> {
    campaign
        .running()
        .filter(|t| {
            campaign
                .publisher(&t.name)
                .is_some_and(|p| p.profile().counts_engagement())
        })
        .map(|t| t.name.as_str())
        .collect()
}

/// Checks the posts due at `now` (or, with `all`, every followed post), and
/// logs each check.
pub async fn run(
    campaign: &Targets,
    now: DateTime<Utc>,
    all: bool,
) -> Result<Summary, EngagementError> {
    let config = campaign.config();
    let checkpoints = &config.checkpoints;
    let mut summary = Summary::default();
    // Only what is due, from the index (all of it with `all`).
    let candidates = if all {
        campaign.store().followed()?
    } else {
        campaign.store().due_checks(now, &collecting(campaign))?
    };
    // Targets whose network keeps no counts are named once, not looked at.
    summary.nothing_to_collect = campaign
        .running()
        .filter(|t| {
            campaign
                .publisher(&t.name)
                .is_some_and(|p| !p.profile().counts_engagement())
        })
        .map(|t| t.name.clone())
        .collect();
    let mut by_target: BTreeMap<String, Vec<Intent>> = BTreeMap::new();
    for post in candidates {
        by_target.entry(post.target.clone()).or_default().push(post);
    }
    let log_path = campaign.config().data_dir.join(LOG_FILE);
    for (target, posts) in by_target {
        let Some(publisher) = campaign.publisher(&target).cloned() else {
            continue;
        };
        if !publisher.profile().counts_engagement() {
            continue;
        }
        let due: Vec<Intent> = posts
            .into_iter()
            .filter(|p| {
                all || due_at(p, checkpoints).is_some_and(|t| {
                    let age = checkpoints[p.next_check];
                    t - slack(age) <= now
                })
            })
            .collect();
        if due.is_empty() {
            continue;
        }
        // Keep to a share of what the network still allows in this window.
        let budget = publisher.remaining_calls().map(|rem| {
            ((rem as f64 * config.rate_share).floor() as usize).max(1)
                * publisher.engagement_batch()
        });
        let take = budget.unwrap_or(usize::MAX).min(due.len());
        summary.deferred += due.len() - take;
        let batch: Vec<&Intent> = due.iter().take(take).collect();
        let ids: Vec<String> = batch.iter().filter_map(|p| p.remote_id.clone()).collect();
        match publisher.engagement(&ids).await {
            Err(e) => {
                tracing::warn!(target_name = target, error = %e, "engagement check failed; trying again later");
                summary.deferred += batch.len();
                summary.failures.push((target.clone(), e.to_string()));
                if let PublishError::Auth(_) = e {
                    tracing::error!(target_name = target, "engagement: credentials refused");
                }
            }
            Ok(results) => {
                campaign
                    .metrics()
                    .engagement(publisher.kind(), ids.len() as u64);
                let mut lines = Vec::new();
                for post in &batch {
                    let Some(id) = &post.remote_id else { continue };
                    match results.iter().find(|(r, _)| r == id).map(|(_, c)| c) {
                        Some(Check::Counts(counts)) => {
                            let next = next_checkpoint(post, checkpoints, now);
                            let published = post.published_at.unwrap_or(post.updated_at);
                            campaign.store().record_check(
                                &post.key,
                                now,
                                counts,
                                next,
                                window(published, next, checkpoints),
                            )?;
                            lines.push(log_line(post, publisher.kind(), now, counts));
                            summary.checked += 1;
                        }
                        Some(Check::Gone) => {
                            campaign.store().mark_gone(&post.key)?;
                            tracing::info!(
                                target_name = target,
                                remote_id = id,
                                "post deleted on its network; no longer checked"
                            );
                            summary.gone += 1;
                        }
                        Some(Check::NotYet) => {
                            tracing::debug!(
                                target_name = target,
                                remote_id = id,
                                "post not indexed by its network yet; checked again later"
                            );
                            summary.not_yet += 1;
                            summary.deferred += 1;
                        }
                        None => summary.deferred += 1,
                    }
                }
                append(&log_path, &lines)?;
                summary.appended += lines.len();
            }
        }
    }
    snapshot_followers(campaign, now, &mut summary).await?;
    for t in &summary.nothing_to_collect {
        tracing::debug!(
            target_name = t,
            "nothing to collect: this target keeps no engagement counts"
        );
    }
    Ok(summary)
}

fn log_line(post: &Intent, kind: &str, now: DateTime<Utc>, c: &Counts) -> LogLine {
    LogLine {
        checked_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        target: post.target.clone(),
        kind: kind.to_string(),
        remote_id: post.remote_id.clone().unwrap_or_default(),
        url: post.url.clone(),
        message_id: post.message_id.clone().unwrap_or_default(),
        lang: post
            .lang
            .as_ref()
            .map(|l| l.to_string())
            .unwrap_or_default(),
        posted_at: post
            .published_at
            .unwrap_or(post.updated_at)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        likes: c.likes,
        reposts: c.reposts,
        replies: c.replies,
        quotes: c.quotes,
        views: c.views,
        clicks: c.clicks,
        shares: c.shares,
        saves: c.saves,
    }
}

fn last_byte(path: &Path) -> Option<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-1)).ok()?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b).ok()?;
    Some(b[0])
}

/// A target's follower count on a day, as `followers.jsonl` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowersLine {
    pub checked_at: String,
    /// The local day (the campaign's time zone).
    pub day: String,
    pub target: String,
    pub kind: String,
    pub followers: u64,
}

/// The file the daily follower counts are appended to, in `data/`.
pub const FOLLOWERS_FILE: &str = "followers.jsonl";

/// Takes each collecting target's follower count once a local day (the
/// first engagement run of the day), within the rate budget: into the
/// store (for the report) and `data/followers.jsonl` (for other tools).
async fn snapshot_followers(
    campaign: &Targets,
    now: DateTime<Utc>,
    summary: &mut Summary,
) -> Result<(), EngagementError> {
    let config = campaign.config();
    let day = now.with_timezone(&config.schedule.timezone()).date_naive();
    let mut lines = Vec::new();
    for target in collecting(campaign) {
        let Some(publisher) = campaign.publisher(target).cloned() else {
            continue;
        };
        if campaign.store().followers_on(target, day)?.is_some()
            || publisher.remaining_calls() == Some(0)
        {
            continue;
        }
        match publisher.followers().await {
            Ok(Some(n)) => {
                campaign.store().record_followers(target, day, now, n)?;
                lines.push(FollowersLine {
                    checked_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
                    day: day.to_string(),
                    target: target.to_string(),
                    kind: publisher.kind().to_string(),
                    followers: n,
                });
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(target_name = target, error = %e, "cannot read the follower count; trying again at the next run");
            }
        }
    }
    append(&config.data_dir.join(FOLLOWERS_FILE), &lines)?;
    summary.followers += lines.len();
    Ok(())
}

/// Appends `lines` and syncs them to disk. The log is append-only: it is
/// never rewritten or truncated. A line cut short by a crash is followed
/// by a fresh line, so the rest stays readable.
pub fn append<T: Serialize>(path: &Path, lines: &[T]) -> Result<(), EngagementError> {
    if lines.is_empty() {
        return Ok(());
    }
    let err = |source| EngagementError::Log {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // Only the last byte is read: the log grows for years.
    let ends_cleanly = last_byte(path).is_none_or(|b| b == b'\n');
    let mut text = String::new();
    if !ends_cleanly {
        text.push('\n');
    }
    for l in lines {
        text.push_str(&serde_json::to_string(l).expect("a log line serialises"));
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_data().map_err(err)
}

/// Every well-formed line of the log.
pub fn read_log(path: &Path) -> std::io::Result<Vec<LogLine>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Slot;
    use crate::store::IntentState;
    use chrono::TimeZone;

    fn intent(published: DateTime<Utc>, next_check: usize) -> Intent {
        Intent {
            key: "k".into(),
            slot: Slot::cron(published),
            target: "t".into(),
            message_id: Some("m".into()),
            lang: None,
            text: None,
            spoiler: None,
            state: IntentState::Published,
            remote_id: Some("r".into()),
            url: None,
            error: None,
            attempts: 1,
            created_at: published,
            updated_at: published,
            published_at: Some(published),
            next_check,
            gone: false,
            claim_owner: None,
            claim_until: None,
            media: vec![],
        }
    }

    fn hours(h: u64) -> Duration {
        Duration::from_secs(h * 3600)
    }

    #[test]
    fn a_late_check_stays_well_before_the_next_checkpoint() {
        let cps = [hours(1), hours(6), hours(24), hours(72), hours(720)];
        let late = |i| lateness(&cps, i);
        assert_eq!(late(0), chrono::Duration::hours(2));
        assert_eq!(late(1), chrono::Duration::minutes(432));
        assert_eq!(late(2), chrono::Duration::hours(12));
        assert_eq!(late(4), chrono::Duration::hours(12));
        for i in 0..cps.len() - 1 {
            let latest = chrono::Duration::from_std(cps[i]).unwrap() + late(i);
            let next = chrono::Duration::from_std(cps[i + 1]).unwrap();
            assert!(latest < next - slack(cps[i + 1]));
        }
    }

    #[test]
    fn checkpoints_decay_and_a_late_check_skips_the_missed_ones() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap();
        let cps = [hours(1), hours(6), hours(24)];
        assert_eq!(
            due_at(&intent(t0, 0), &cps),
            Some(t0 + chrono::Duration::hours(1))
        );
        assert_eq!(due_at(&intent(t0, 3), &cps), None);
        // Checked on time at 1 h: next is 6 h.
        assert_eq!(
            next_checkpoint(&intent(t0, 0), &cps, t0 + chrono::Duration::minutes(61)),
            1
        );
        // The bot was down for two days: one check, then done.
        assert_eq!(
            next_checkpoint(&intent(t0, 0), &cps, t0 + chrono::Duration::hours(48)),
            3
        );
    }

    #[test]
    fn the_log_is_appended_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_FILE);
        let line = log_line(
            &intent(Utc::now(), 0),
            "mastodon",
            Utc::now(),
            &Counts {
                likes: 2,
                ..Default::default()
            },
        );
        append(&path, std::slice::from_ref(&line)).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"checked_at\":")
            .unwrap();
        append(&path, std::slice::from_ref(&line)).unwrap();
        assert_eq!(read_log(&path).unwrap(), [line.clone(), line]);
    }
}
