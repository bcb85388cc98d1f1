//! `campaign-bot run`: the long-running task. It sleeps until the next event
//! (a cron slot or a timed queue post; no polling), fills it on every target,
//! reloads `posts/` when files change, and stops cleanly on shutdown.
//!
//! Missed slots (the bot was down, or asleep): a slot older than
//! `schedule.grace` is skipped and logged; of several slots still within the
//! grace only the latest is posted (the others are logged as superseded), so
//! a restart never bursts out a backlog.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::campaign::{Campaign, Planning, grace};
use crate::config::TargetConfig;
use crate::engagement;
use crate::health::DaemonStatus;
use crate::model::Slot;
use crate::plan::{self, Event};
use crate::posts::{self, Severity};
use crate::publish::network;
use crate::store::StoreError;
use crate::watch::{self, PostsWatcher};

/// How long in-flight posts get to finish after SIGTERM (the container
/// allows 10 s in all).
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(8);

/// How long the start waits for pending posts to settle before it carries
/// on with new slots (they go on settling beside them).
const RESOLVE_WAIT: Duration = Duration::from_secs(30);

/// How soon a post left pending while the daemon runs is taken up again.
const SWEEP_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// How long file changes settle before `posts/` is read again (editors
/// write a file in several steps).
const RELOAD_SETTLE: Duration = Duration::from_millis(300);

/// Options of one daemon run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Watch `posts/` and reload on change.
    pub watch: bool,
    pub dry_run: bool,
    /// Where `daemon.json` goes.
    pub data_dir: PathBuf,
    /// Before a sleep of more than [`GIVE_BACK_AFTER`], after start-up or
    /// a burst of work, hand back free heap and the program's pages (see
    /// [`crate::memory`]). The `run` command does; tests, sharing their
    /// process, do not.
    pub give_back_memory: bool,
}

/// The shortest sleep worth giving memory back for.
pub const GIVE_BACK_AFTER: Duration = Duration::from_secs(60);

/// The daemon's posting tasks and the signal that stops them: each post is
/// delivered in a task started here, which is given the signal.
struct Tasks {
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Tasks {
    /// Starts `work` with the stop signal.
    fn spawn<F, Fut>(&self, work: F) -> tokio::task::JoinHandle<()>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(work(self.shutdown.clone()))
    }
}

/// Runs until `shutdown` is cancelled. In-flight posts get [`SHUTDOWN_WAIT`]
/// to finish; what is still pending then is resolved at the next start.
pub async fn run(
    campaign: Arc<Campaign>,
    options: RunOptions,
    shutdown: CancellationToken,
) -> Result<(), StoreError> {
    let clock = campaign.clock();
    let store = campaign.store().clone();
    let started_at = clock.now();
    let status = |next_event: Option<DateTime<Utc>>, running: bool| DaemonStatus {
        pid: std::process::id(),
        started_at,
        updated_at: clock.now(),
        next_event,
        running,
        dry_run: options.dry_run,
    };
    status(None, true).write(&options.data_dir);

    // A store that cannot be written (a full disk) does not stop the
    // daemon: slots it cannot record are retried and reported (see
    // `status --health`), and it goes on with what it can do.
    if let Err(e) = campaign.registry().clear_pauses() {
        tracing::error!(error = %e, "cannot lift the pauses of the last run");
    }
    let tasks = Tasks {
        tracker: TaskTracker::new(),
        shutdown: shutdown.clone(),
    };
    // Pending first: what a crash or a stop left pending is looked up (and
    // sent if it did not go out and is still within its grace) before new
    // slots, for as long as that takes up to RESOLVE_WAIT; the rest carries on
    // beside the new slots.
    let settling = settle(&campaign, &tasks).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the pending posts from the state store");
        Vec::new()
    });
    let _ = tokio::time::timeout(RESOLVE_WAIT, async {
        for handle in settling {
            let _ = handle.await;
        }
    })
    .await;
    let mut next_sweep: Option<DateTime<Utc>> = None;
    let mut unrecorded: Vec<Unrecorded> = Vec::new();

    let mut cursor = match store.cursor() {
        Ok(Some(c)) => c,
        other => {
            if let Err(e) = other {
                tracing::error!(error = %e, "cannot read the schedule position; starting from now");
            }
            let now = clock.now();
            if let Err(e) = store.set_cursor(now) {
                tracing::error!(error = %e, "cannot save the schedule position");
            }
            now
        }
    };
    tracing::info!(
        targets = campaign
            .targets()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        timezone = campaign.config().schedule.timezone().name(),
        slots = campaign.config().schedule.slot_patterns().join("; "),
        "campaign-bot running"
    );
    announce(&campaign, &options, cursor);

    let posts_dir = campaign.config().posts_dir.clone();
    let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = if options.watch {
        match PostsWatcher::start(&posts_dir, reload_tx) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, dir = %posts_dir.display(), "cannot watch posts/ for changes; it is checked every few minutes instead");
                None
            }
        }
    } else {
        None
    };
    // The folder as last read, and when to compare it again (see `watch`).
    let mut seen = options.watch.then(|| watch::fingerprint(&posts_dir));
    let every = chrono::Duration::from_std(watch::FINGERPRINT_EVERY).unwrap_or_default();
    let mut next_look = options.watch.then(|| clock.now() + every);
    catch_up(&campaign, cursor, clock.now(), &tasks).await;
    // Start-up is work too: what it touched is given back before the first
    // long sleep.
    let mut worked = true;

    tasks.spawn(|stop| check_engagement(campaign.clone(), stop));
    tasks.spawn(|stop| watch_tokens(campaign.clone(), stop));
    loop {
        let catalog = campaign.catalog();
        let next = plan::next_event(campaign.config(), &catalog, cursor);
        status(next, true).write(&options.data_dir);
        if let Some(t) = next {
            tracing::debug!(next = %t, "sleeping until the next event");
        }
        // A post left pending while the daemon runs (its look-up failed, the
        // state store was busy, another process stopped mid-send) is taken
        // up again a minute later, and every minute while one is left.
        if next_sweep.is_none() && campaign.unsettled().map_or(true, |u| !u.is_empty()) {
            next_sweep = Some(clock.now() + SWEEP_EVERY);
        }
        let next_retry = (!unrecorded.is_empty()).then(|| clock.now() + RECORD_RETRY);
        let wake = [next, next_sweep, next_retry, next_look]
            .into_iter()
            .flatten()
            .min();
        if options.give_back_memory && worked && long_sleep(wake, clock.now()) {
            worked = false;
            let given = crate::memory::give_back();
            tracing::debug!(
                rss_before_kib = given.rss_before_kib,
                rss_after_kib = given.rss_after_kib,
                "memory given back before sleeping"
            );
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(()) = reload_rx.recv() => {
                tokio::time::sleep(RELOAD_SETTLE).await;
                while reload_rx.try_recv().is_ok() {}
                if watcher.as_mut().is_some_and(PostsWatcher::rearm) {
                    tracing::info!(dir = %posts_dir.display(), "the posts folder was replaced, created or removed; watching what it is now");
                }
                reload(&campaign);
                seen = Some(watch::fingerprint(&posts_dir));
                catch_up(&campaign, cursor, clock.now(), &tasks).await;
                worked = true;
                continue;
            }
            _ = clock.sleep_until_some(wake) => {}
        }
        let now = clock.now();
        if next_look.is_some_and(|t| t <= now) {
            next_look = Some(now + every);
            let now_seen = watch::fingerprint(&posts_dir);
            if seen != Some(now_seen) {
                tracing::info!(dir = %posts_dir.display(), "posts/ changed without a notice from the file system; reading it again");
                if let Some(w) = watcher.as_mut() {
                    w.rearm();
                }
                reload(&campaign);
                seen = Some(now_seen);
                catch_up(&campaign, cursor, now, &tasks).await;
                worked = true;
            }
        }
        if next_retry.is_some_and(|t| t <= now) {
            unrecorded =
                retry_unrecorded(&campaign, std::mem::take(&mut unrecorded), now, &tasks).await;
        }
        if next_sweep.is_some_and(|t| t <= now) {
            next_sweep = None;
            if let Err(e) = settle(&campaign, &tasks) {
                tracing::error!(error = %e, "cannot read the pending posts from the state store");
            }
        }
        let events = plan::events_between(campaign.config(), &campaign.catalog(), cursor, now);
        if events.is_empty() {
            continue; // woke early (clock adjusted); sleep again
        }
        unrecorded.extend(dispatch(&campaign, events, now, &tasks).await);
        worked = true;
        // The slots are recorded (or their failure logged) by now; a cursor
        // that cannot be saved only means they are looked at again after a
        // restart, where their intents are found. Keep serving.
        if let Err(e) = store.set_cursor(now) {
            tracing::error!(error = %e, "cannot save the schedule position");
        }
        cursor = now;
        announce(&campaign, &options, cursor);
    }

    tracing::info!("stopping: letting posts in flight finish");
    tasks.tracker.close();
    if tokio::time::timeout(SHUTDOWN_WAIT, tasks.tracker.wait())
        .await
        .is_err()
    {
        campaign.hard_stop().cancel();
        let _ = tokio::time::timeout(Duration::from_millis(500), tasks.tracker.wait()).await;
        tracing::warn!(
            "posts still in flight at shutdown stay pending; they are looked for at the next start"
        );
    }
    status(None, false).write(&options.data_dir);
    tracing::info!("stopped");
    Ok(())
}

/// Whether waking at `wake` (never, if `None`) is a long sleep from `now`.
fn long_sleep(wake: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    wake.is_none_or(|t| (t - now).to_std().unwrap_or_default() >= GIVE_BACK_AFTER)
}

/// Logs one line for people: when the next post goes out (local time and
/// UTC), on which targets, with which message and language, and where an
/// outbox writes. At start and after every slot, so a quiet daemon never
/// looks idle.
fn announce(campaign: &Campaign, options: &RunOptions, cursor: DateTime<Utc>) {
    let config = campaign.config();
    let tz = config.schedule.timezone();
    let catalog = campaign.catalog();
    let Some(at) = plan::next_event(config, &catalog, cursor) else {
        tracing::info!("no slot is coming: check schedule.slots");
        return;
    };
    let events = plan::events_between(config, &catalog, at - chrono::Duration::nanoseconds(1), at);
    let mut parts = Vec::new();
    let mut outboxes = Vec::new();
    for target in campaign.targets() {
        // What the planner decides, on a copy of the rotation.
        let mut state = campaign.store().rotation(&target.name).unwrap_or_default();
        let mut what = Vec::new();
        for event in &events {
            match plan::decide(config, &catalog, target, event, &mut state) {
                plan::Decision::Post {
                    message_id, lang, ..
                } => what.push(format!("{message_id} [{lang}]")),
                plan::Decision::Nothing => what.push("nothing to post in its languages".into()),
                plan::Decision::Taken { .. } | plan::Decision::NotHere => {}
            }
        }
        if !what.is_empty() {
            parts.push(format!("{} {}", target.name, what.join(", ")));
        }
        if let Some(path) = outbox_file(target, options) {
            outboxes.push(path.display().to_string());
        }
    }
    outboxes.sort();
    outboxes.dedup();
    let written = if outboxes.is_empty() {
        String::new()
    } else {
        format!("; the outbox writes to {}", outboxes.join(", "))
    };
    let line = format!(
        "next post {}: {}{written}",
        crate::schedule::local_and_utc(at, tz),
        parts.join("; ")
    );
    tracing::info!(next_slot = %at.to_rfc3339(), "{line}");
}

/// The file an outbox target (every target, in a dry run) writes to.
fn outbox_file(target: &TargetConfig, options: &RunOptions) -> Option<std::path::PathBuf> {
    if options.dry_run {
        return Some(crate::publish::registry::dry_run_file(&options.data_dir));
    }
    target.network.writes_to(&options.data_dir)
}

/// Timed queue posts whose time is already behind the schedule position
/// but that have no record on a target: their file arrived (or was seen, or
/// became valid) after their time. Posted now if still within the grace,
/// otherwise recorded as missed with why: a queue post is never dropped
/// silently.
async fn catch_up(
    campaign: &Arc<Campaign>,
    cursor: DateTime<Utc>,
    now: DateTime<Utc>,
    tasks: &Tasks,
) {
    let grace = grace(campaign.config());
    let tz = campaign.config().schedule.timezone();
    let catalog = campaign.catalog();
    let targets: Vec<TargetConfig> = campaign.targets().cloned().collect();
    for m in catalog.queue() {
        let Some(at) = m.at.map(|a| a.resolve(tz)) else {
            continue;
        };
        if at > cursor {
            continue; // still ahead: the schedule takes it
        }
        for lang in m.langs() {
            let event = Event::Timed {
                slot: Slot::timed(at, &m.id, lang),
                message_id: m.id.clone(),
                lang: *lang,
            };
            for target in &targets {
                let Some(slot) = event.slot_on(target) else {
                    continue;
                };
                match campaign.store().intent(&slot.intent_key(&target.name)) {
                    Ok(None) => {}
                    Ok(Some(_)) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the state store");
                        continue;
                    }
                }
                if now - at <= grace {
                    tracing::info!(
                        target_name = target.name,
                        slot = slot.key,
                        "a timed post appeared after its time, within the grace: posting it now"
                    );
                    if let Err(e) = start(campaign, &event, target, tasks).await {
                        tracing::error!(error = %e, target_name = target.name, slot = slot.key, "cannot record the slot in the state store");
                    }
                } else {
                    campaign.skip(
                        &slot,
                        &target.name,
                        "missed: the post file was not in posts/ (or not valid) before its time, and the grace had passed",
                    );
                }
            }
        }
    }
}

/// Starts a delivery task for each pending post no task is delivering: each
/// looks on the network first, and sends only what certainly did not go out
/// and is still within its grace.
fn settle(
    campaign: &Arc<Campaign>,
    tasks: &Tasks,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
    Ok(campaign
        .unsettled()?
        .into_iter()
        .map(|(intent, deadline)| {
            let c = campaign.clone();
            tasks.spawn(|cancel| async move {
                c.deliver(intent, deadline, &cancel, false).await;
            })
        })
        .collect())
}

/// Posting comes first: engagement checks that fall due while posts are
/// being sent, or this close before a slot, wait…
const HOLD_BEFORE_SLOT: chrono::Duration = chrono::Duration::seconds(30);
/// …looking again this often…
const HOLD_STEP: chrono::Duration = chrono::Duration::seconds(5);
/// …for this long at most: on a schedule with slots a few minutes apart
/// (many targets, staggered) they would otherwise never run.
const MAX_HOLD: chrono::Duration = chrono::Duration::minutes(5);
/// After a failed engagement run, the next waits at least this long.
const ENGAGEMENT_RETRY: chrono::Duration = chrono::Duration::minutes(5);

/// The engagement checker: sleeps until the next check falls due (or a new
/// post is published), lets posts in flight go first, and runs the checks.
/// How often the daemon looks at when its targets' tokens end.
pub const TOKEN_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Raises an alert for each target whose token ends within
/// [`network::TOKEN_WARNING_DAYS`] and that the bot cannot renew, and
/// clears it once a new token is there; looks at start and every six hours.
async fn watch_tokens(campaign: Arc<Campaign>, shutdown: CancellationToken) {
    let clock = campaign.clock();
    loop {
        let today = clock.now().date_naive();
        let alerts = campaign.registry().alerts();
        for t in campaign.targets() {
            let cause = crate::alerts::Cause::TokenExpiry(t.name.clone());
            match t.network.token_expires() {
                Some(day) if (day - today).num_days() <= network::TOKEN_WARNING_DAYS => {
                    let text = format!(
                        "the token of target {} {}; get a new one (campaign-bot login {}) and set it",
                        t.name,
                        network::token_expiry(day, today),
                        t.kind
                    );
                    tracing::warn!(target_name = t.name, "{text}");
                    alerts.raise(cause, text);
                }
                _ => alerts.clear(cause),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TOKEN_LOOK_EVERY) => {}
        }
    }
}

async fn check_engagement(campaign: Arc<Campaign>, shutdown: CancellationToken) {
    let clock = campaign.clock();
    let mut not_before = clock.now();
    let mut held_since: Option<DateTime<Utc>> = None;
    // Posts of a store from before the check index get their windows.
    if let Err(e) = engagement::schedule_old_checks(campaign.registry()) {
        tracing::error!(error = %e, "engagement: cannot schedule the checks of older posts");
    }
    loop {
        let next = match engagement::next_run(campaign.registry()) {
            Ok(n) => n.map(|t| t.max(not_before)),
            Err(e) => {
                tracing::error!(error = %e, "engagement: cannot read the state store");
                Some(clock.now() + ENGAGEMENT_RETRY)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = campaign.wait_for_publication() => continue,
            _ = clock.sleep_until_some(next) => {}
        }
        let now = clock.now();
        if next.is_none_or(|t| t > now) {
            continue;
        }
        // Posts being sent, or a slot about to come: let them go first,
        // for a while.
        let sending = campaign.posts_in_flight();
        let slot_soon = campaign
            .config()
            .schedule
            .next_after(now)
            .is_some_and(|slot| slot <= now + HOLD_BEFORE_SLOT);
        if (sending > 0 || slot_soon) && held_since.is_none_or(|h| now - h < MAX_HOLD) {
            if held_since.is_none() {
                tracing::info!(
                    posts_in_flight = sending,
                    slot_soon,
                    "engagement checks are due; they wait for posting to finish (5 minutes at most)"
                );
                held_since = Some(now);
            }
            not_before = now + HOLD_STEP;
            continue;
        }
        if let Some(since) = held_since.take()
            && now - since >= MAX_HOLD
        {
            tracing::info!("engagement checks waited 5 minutes for posting; checking now");
        }
        match engagement::run(campaign.registry(), now, false).await {
            Ok(summary) => {
                if summary.checked + summary.gone > 0 {
                    tracing::info!(
                        checked = summary.checked,
                        gone = summary.gone,
                        deferred = summary.deferred,
                        "engagement checked"
                    );
                }
                not_before = if summary.failures.is_empty() && summary.deferred == 0 {
                    now
                } else {
                    now + ENGAGEMENT_RETRY
                };
            }
            Err(e) => {
                tracing::error!(error = %e, "engagement check failed");
                not_before = now + ENGAGEMENT_RETRY;
            }
        }
    }
}

/// Records what each due event posts on each target (or why it does not),
/// then starts the posts on the task tracker. The recording is finished
/// before this returns, and so before the schedule position moves past the
/// events: a crash at any point leaves every due slot either recorded or
/// still ahead of the position, never silently lost. What the state store
/// could not record is returned, to be tried again.
async fn dispatch(
    campaign: &Arc<Campaign>,
    events: Vec<Event>,
    now: DateTime<Utc>,
    tasks: &Tasks,
) -> Vec<Unrecorded> {
    let grace = grace(campaign.config());
    let latest_cron = events
        .iter()
        .filter_map(|e| match e {
            Event::Cron(t) if now - *t <= grace => Some(*t),
            _ => None,
        })
        .max();
    let mut unrecorded = Vec::new();
    for event in events {
        let late = now - event.at() > grace;
        if let Some(note) = plan::dst_note(campaign.config(), &campaign.catalog(), &event) {
            tracing::info!(slot = %event.at(), note, "daylight-saving change");
        }
        let targets: Vec<TargetConfig> = campaign.targets().cloned().collect();
        for target in targets {
            let Some(slot) = event.slot_on(&target) else {
                continue;
            };
            let why_not = if late {
                Some(
                    "missed: the bot was not running at this time and the grace had passed"
                        .to_string(),
                )
            } else if matches!(event, Event::Cron(t) if Some(t) != latest_cron) {
                Some("superseded by a later slot (missed slots are not burst out)".to_string())
            } else {
                paused(campaign, &target.name).map(|reason| format!("target paused: {reason}"))
            };
            if let Some(reason) = why_not {
                campaign.skip(&slot, &target.name, &reason);
                continue;
            }
            if let Err(error) = start(campaign, &event, &target, tasks).await {
                tracing::error!(error = %error, target_name = target.name, slot = slot.key, "cannot record the slot in the state store; trying again shortly");
                unrecorded.push(Unrecorded {
                    event: event.clone(),
                    target,
                    error: error.to_string(),
                });
            }
        }
    }
    unrecorded
}

/// A (slot, target) the state store could not record: tried again every
/// [`RECORD_RETRY`] until it is recorded or its grace has run out, when it
/// is recorded as missed, with why.
#[derive(Debug, Clone)]
struct Unrecorded {
    event: Event,
    target: TargetConfig,
    error: String,
}

/// How soon recording a slot is tried again after the store failed.
const RECORD_RETRY: chrono::Duration = chrono::Duration::seconds(10);

async fn retry_unrecorded(
    campaign: &Arc<Campaign>,
    pending: Vec<Unrecorded>,
    now: DateTime<Utc>,
    tasks: &Tasks,
) -> Vec<Unrecorded> {
    let grace = grace(campaign.config());
    let mut still = Vec::new();
    for u in pending {
        let Some(slot) = u.event.slot_on(&u.target) else {
            continue;
        };
        if now > slot.at + grace {
            let reason = format!(
                "missed: the state store could not record it before the grace ran out ({})",
                u.error
            );
            tracing::error!(
                target_name = u.target.name,
                slot = slot.key,
                reason,
                "slot missed"
            );
            campaign.skip(&slot, &u.target.name, &reason);
            continue;
        }
        match start(campaign, &u.event, &u.target, tasks).await {
            Ok(()) => tracing::info!(
                target_name = u.target.name,
                slot = slot.key,
                "slot recorded at last"
            ),
            Err(error) => still.push(Unrecorded {
                error: error.to_string(),
                ..u
            }),
        }
    }
    still
}

/// Plans and records what `event` posts on `target`, and starts posting it.
async fn start(
    campaign: &Arc<Campaign>,
    event: &Event,
    target: &TargetConfig,
    tasks: &Tasks,
) -> Result<(), StoreError> {
    let slot = event
        .slot_on(target)
        .expect("the event concerns the target");
    let planning = {
        let c = campaign.clone();
        let (e, t) = (event.clone(), target.clone());
        tokio::task::spawn_blocking(move || c.plan_event(&e, &t))
            .await
            .expect("planning does not panic")
    }?;
    let begin = match planning {
        Planning::Recorded(b) => Some(*b),
        Planning::Taken(by) => {
            campaign.skip(
                &slot,
                &target.name,
                &format!("taken by the timed post {by}"),
            );
            return Ok(());
        }
        Planning::Nothing => None,
    };
    let grace = grace(campaign.config());
    let (campaign, name) = (campaign.clone(), target.name.clone());
    tasks.spawn(|cancel| async move {
        campaign
            .fill(Ok(begin), &slot, &name, slot.at + grace, &cancel)
            .await;
    });
    Ok(())
}

fn paused(campaign: &Campaign, target: &str) -> Option<String> {
    campaign.registry().paused(target).ok().flatten()
}

/// Reads `posts/` again, keeping the last good version of files that broke,
/// and of everything if the folder itself cannot be read (mid-swap, a lost
/// mount): `status --health` says so meanwhile.
pub fn reload(campaign: &Campaign) {
    let config = campaign.config();
    let previous = campaign.catalog();
    let mut fresh = posts::load(&config.posts_dir, &config.all_languages());
    if let Some(why) = &fresh.folder_problem
        && !previous.messages.is_empty()
    {
        tracing::error!(
            problem = why,
            "posts folder unreadable; the bot keeps posting what it read last"
        );
        fresh.messages = previous.messages.clone();
        fresh.told_as_well(&previous);
    }
    let mut fresh = fresh.keep_last_good(&previous);
    if let Some(dir) = previous.parked_in()
        && let Err(e) = fresh.park(dir)
    {
        tracing::warn!(error = %e, "cannot keep the posts' words in the data folder; holding them in memory");
    }
    // Only what is new is logged; the daemon keeps no problem, only that
    // it was told.
    for p in fresh.take_problems() {
        if !previous.told(&p) {
            match p.severity {
                Severity::Error => tracing::error!(problem = %p, "post file problem"),
                Severity::Warning => tracing::warn!(problem = %p, "post file warning"),
            }
        }
    }
    tracing::info!(messages = fresh.messages.len(), "posts reloaded");
    campaign.set_catalog(fresh);
}
