//! The campaign engine: turns a slot into a recorded intent (rotation →
//! render → state store) and an intent into a post (publisher, through the
//! retry policy). Shared by the daemon and by `post-now`.
//!
//! Exactly once:
//! - the intent for (slot, target) is committed before anything is sent,
//!   together with the rotation position, and claimed by this process (a
//!   lease, see [`crate::lease`]): no other process sends it meanwhile;
//! - the publisher is given a key derived from (slot, target) that makes a
//!   resend harmless where the network honours it;
//! - a pending intent this process did not just record (left by a crash, a
//!   stop, or another process) is always looked for on its network before
//!   anything is sent again; what cannot be told for sure is recorded as
//!   uncertain for a person to settle, never sent on a guess;
//! - the result is recorded right after.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::alerts::Cause;
use crate::clock::Clock;
use crate::config::{Config, TargetConfig};
use crate::lease::{Owner, RENEW_EVERY};
use crate::model::{Lang, Message, Post, PostMedia, Published, Slot};
use crate::plan::{self, Decision, Event};
use crate::posts::Catalog;
use crate::publish::{Lookup, Outgoing, OutgoingMedia, PublishError, Publisher};
use crate::render::{render, render_for, render_short};
use crate::rotation;
use crate::store::{Begin, Claim, Intent, IntentState, Planned, Store, StoreError};
use crate::targets::Targets;

/// What became of one (slot, target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published(Published),
    /// The slot was filled before (by an earlier run or retry).
    AlreadyDone(IntentState),
    /// The slot already held another message on the network (posted
    /// before, without a record in the state store): recorded as that.
    AlreadyThere {
        published: Published,
        message_id: Option<String>,
        lang: Option<Lang>,
    },
    /// Another process is sending it now (who, for people).
    BeingPosted(String),
    /// It may have gone out and the bot cannot tell: recorded as uncertain
    /// for a person to check (the reason is stored and logged).
    Uncertain(String),
    /// Given up, with the reason (also stored and logged).
    Failed(String),
    /// Nothing was posted on purpose.
    Skipped(String),
    /// Shutdown came first; the intent stays pending for the next start.
    Interrupted,
}

impl Outcome {
    /// Its label in `/metrics` (`outcome=…`), or `None` for those that are
    /// not an outcome of this process (another process is sending; a stop
    /// came first).
    pub fn metric_label(&self) -> Option<&'static str> {
        use Outcome::*;
        Some(match self {
            Published(_) => "published",
            AlreadyDone(_) => "already_done",
            AlreadyThere { .. } => "already_there",
            Uncertain(_) => "uncertain",
            Failed(_) => "failed",
            Skipped(_) => "skipped",
            BeingPosted(_) | Interrupted => return None,
        })
    }
}

/// What planning an event on a target came to.
#[derive(Debug)]
pub enum Planning {
    /// Recorded now, or found recorded before.
    Recorded(Box<Begin>),
    /// A rotation slot left to this timed post.
    Taken(String),
    /// Nothing to post (no message in the target's languages).
    Nothing,
}

/// Longest wait between two attempts of one post.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How long past a post's deadline the bot keeps trying to find out whether
/// it went out (the network did not answer the look-up) before it asks a
/// person.
const LOOK_PATIENCE: chrono::Duration = chrono::Duration::minutes(15);

pub struct Campaign {
    /// The targets, their publishers and pauses (shared with the
    /// engagement checker).
    targets: Arc<Targets>,
    catalog: RwLock<Arc<Catalog>>,
    clock: Clock,
    /// Intents this process is delivering now: the store's claim keeps
    /// other processes off them, this keeps a second task of this process
    /// off them.
    in_flight: Mutex<HashSet<String>>,
    /// The first retry waits about twice this, the next four times… (tests
    /// make it short).
    retry_base: Duration,
    /// Woken at every new publication, so the engagement checker can plan
    /// its first check.
    published: tokio::sync::Notify,
    /// Stops requests already on their way. A shutdown (the `cancel` token
    /// given to [`Campaign::deliver`]) stops waits and look-ups at once but
    /// lets a post being sent finish; the daemon cancels this one when its
    /// shutdown allowance runs out.
    hard_stop: CancellationToken,
    /// Turns to send: at most `schedule.parallel_posts` posts go out at
    /// once, the others wait (first come, first served).
    sending: tokio::sync::Semaphore,
}

impl Campaign {
    /// The engine over the given publishers (tests give fakes).
    pub fn new(
        config: Config,
        store: Arc<Store>,
        publishers: Vec<Arc<dyn Publisher>>,
        catalog: Catalog,
        clock: Clock,
    ) -> Self {
        Self::over(
            Arc::new(Targets::with(config, store, publishers)),
            catalog,
            clock,
        )
    }

    /// The engine over built targets.
    pub fn over(targets: Arc<Targets>, catalog: Catalog, clock: Clock) -> Self {
        let parallel = targets.config().parallel_posts;
        Campaign {
            sending: tokio::sync::Semaphore::new(parallel),
            targets,
            catalog: RwLock::new(Arc::new(catalog)),
            clock,
            in_flight: Mutex::new(HashSet::new()),
            published: tokio::sync::Notify::new(),
            retry_base: Duration::from_secs(1),
            hard_stop: CancellationToken::new(),
        }
    }

    /// Changes the backoff unit (tests make it short).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    pub fn config(&self) -> &Config {
        self.targets.config()
    }
    pub fn store(&self) -> &Arc<Store> {
        self.targets.store()
    }
    /// The targets registry (for the engagement checker).
    pub fn registry(&self) -> &Arc<Targets> {
        &self.targets
    }
    pub fn clock(&self) -> Clock {
        self.clock
    }
    /// Cancel it to stop posts that are being sent (see the field).
    pub fn hard_stop(&self) -> &CancellationToken {
        &self.hard_stop
    }
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn set_catalog(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(catalog);
    }
    pub fn publisher(&self, target: &str) -> Option<&Arc<dyn Publisher>> {
        self.targets.publisher(target)
    }
    /// Targets that have a working publisher, in config order.
    pub fn targets(&self) -> impl Iterator<Item = &TargetConfig> {
        self.targets.running()
    }

    // ------------------------------------------------------------ planning

    /// Decides what `event` does on `target` (see [`plan::decide`], as
    /// `preview` does) and records it, with the rotation position after it,
    /// in one store transaction.
    pub fn plan_event(&self, event: &Event, target: &TargetConfig) -> Result<Planning, StoreError> {
        let slot = event
            .slot_on(target)
            .expect("the event concerns the target");
        let catalog = self.catalog();
        let mut decided = None;
        let begin = self
            .store()
            .plan(&slot, &target.name, self.clock.now(), |mut state| {
                let decision = plan::decide(self.config(), &catalog, target, event, &mut state);
                let planned = match &decision {
                    Decision::Post {
                        message_id, lang, ..
                    } => catalog.get(message_id).map(|message| {
                        // A timed post goes out beside the rotation.
                        let rotation = matches!(event, Event::Cron(_)).then_some(state);
                        (self.planned(&slot, target, message, lang), rotation)
                    }),
                    _ => None,
                };
                decided = Some(decision);
                planned
            })?;
        Ok(match (begin, decided) {
            (Some(b), _) => Planning::Recorded(Box::new(b)),
            (None, Some(Decision::Taken { by })) => Planning::Taken(by),
            _ => Planning::Nothing,
        })
    }

    /// Picks, renders and records what `target` posts at `slot`, advancing
    /// its rotation, in one store transaction (two processes never pick from
    /// the same position). `Ok(None)`: nothing has a language of this
    /// target. With `lang`, the slot takes that language instead of the next
    /// one.
    pub fn plan_rotation(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        lang: Option<&Lang>,
    ) -> Result<Option<Begin>, StoreError> {
        let catalog = self.catalog();
        self.store()
            .plan(slot, &target.name, self.clock.now(), |mut state| {
                let choice = match lang {
                    Some(l) => rotation::next_in(&state, &target.languages, l, &catalog)?,
                    None => rotation::next(&state, &target.languages, &catalog)?,
                };
                let message = catalog
                    .get(&choice.message_id)
                    .expect("rotation picks from the catalog");
                if lang.is_some() {
                    rotation::record_manual(
                        &mut state,
                        &target.languages,
                        message,
                        &choice.lang,
                        choice.from_queue,
                        &catalog,
                    );
                } else {
                    rotation::advance(&mut state, &target.languages, &choice, &catalog);
                }
                Some((
                    self.planned(slot, target, message, &choice.lang),
                    Some(state),
                ))
            })
    }

    /// Records a chosen message for `slot` (`post-now ID`): it counts in the
    /// rotation as the target's latest post.
    pub fn plan_message(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        message: &Message,
        lang: &Lang,
    ) -> Result<Begin, StoreError> {
        let catalog = self.catalog();
        let planned = self.planned(slot, target, message, lang);
        self.store()
            .plan(slot, &target.name, self.clock.now(), |mut state| {
                rotation::record_manual(
                    &mut state,
                    &target.languages,
                    message,
                    lang,
                    message.kind == crate::model::MessageKind::Queue,
                    &catalog,
                );
                Some((planned, Some(state)))
            })
            .map(|b| b.expect("a chosen message is always planned"))
    }

    fn planned(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        message: &Message,
        lang: &Lang,
    ) -> Planned {
        // The full text, or the short one where the full one is over the
        // target's limits.
        let limits = self
            .publisher(&target.name)
            .map(|p| p.limits())
            .unwrap_or_else(|| target.profile().limits);
        let (rendered, _) = render_for(message, lang, &self.config().hashtags, &limits)
            .expect("the chosen language exists");
        // The images are fixed now, with the text: a post file edited later
        // does not change what this slot sends.
        let media = message
            .media
            .iter()
            .filter_map(|md| {
                Some(PostMedia {
                    path: md.path_for(lang)?.to_path_buf(),
                    alt: md.alt.get(lang).cloned().unwrap_or_default(),
                })
            })
            .collect();
        Planned {
            slot: slot.clone(),
            target: target.name.clone(),
            post: Post {
                message_id: message.id.clone(),
                lang: *lang,
                text: rendered.text,
                spoiler: rendered.spoiler,
                media,
            },
        }
    }

    /// What an intent sends: its post as recorded. `None` for a record with
    /// no post (a skipped slot).
    fn outgoing(&self, intent: &Intent) -> Option<Outgoing> {
        let post = intent.post()?;
        Some(Outgoing {
            intent_key: intent.key.clone(),
            slot: intent.slot.clone(),
            target: intent.target.clone(),
            message_id: post.message_id,
            lang: post.lang,
            text: post.text,
            spoiler: post.spoiler,
            media: post
                .media
                .into_iter()
                .map(|m| OutgoingMedia {
                    posts_dir: self.config().posts_dir.clone(),
                    shown: m.path,
                    alt: m.alt,
                })
                .collect(),
            not_before: intent.created_at,
        })
    }

    // ------------------------------------------------------------ delivering

    /// Sends a pending intent, retrying what is retryable until `deadline`.
    /// `fresh`: this process recorded (and claimed) it just now, so nothing
    /// of it can have gone out yet. Otherwise it is claimed first (another
    /// process sending it keeps it) and looked for on the network before
    /// anything is sent.
    pub async fn deliver(
        &self,
        intent: Intent,
        deadline: DateTime<Utc>,
        cancel: &CancellationToken,
        fresh: bool,
    ) -> Outcome {
        let Some(_flight) = InFlight::enter(&self.in_flight, &intent.key) else {
            return Outcome::BeingPosted("this process".into());
        };
        let Some(publisher) = self.publisher(&intent.target).cloned() else {
            return self.give_up(
                &intent,
                format!("target {} is not configured any more", intent.target),
            );
        };
        if !fresh {
            match self.store().claim(&intent.key, self.clock.now()) {
                Ok(Claim::Won { .. }) => {}
                Ok(Claim::Held { owner }) => {
                    let who = Owner::parse(&owner).map(|o| o.describe()).unwrap_or(owner);
                    tracing::info!(
                        target_name = intent.target,
                        slot = intent.slot.key,
                        by = who,
                        "being posted by another process; left to it"
                    );
                    return Outcome::BeingPosted(who);
                }
                Ok(Claim::Settled(state)) => return Outcome::AlreadyDone(state),
                Ok(Claim::Missing) => {
                    return Outcome::Failed(
                        "the slot's record is gone from the state store".into(),
                    );
                }
                Err(e) => {
                    // Still pending: the daemon tries again later.
                    tracing::error!(error = %e, target_name = intent.target, slot = intent.slot.key, "cannot claim a post in the state store; will try again");
                    return Outcome::Failed(format!("cannot claim it in the state store: {e}"));
                }
            }
        }
        let Some(post) = self.outgoing(&intent) else {
            return self.give_up(&intent, "its record holds no post to send".into());
        };
        let send = async {
            // Its turn first (the claim is kept while it waits).
            let turn = tokio::select! {
                turn = self.sending.acquire() => turn.ok(),
                _ = cancel.cancelled() => None,
            };
            let Some(_turn) = turn else {
                return Outcome::Interrupted;
            };
            self.send_claimed(&intent, &post, publisher.as_ref(), deadline, cancel, !fresh)
                .await
        };
        let outcome = tokio::select! {
            out = send => out,
            lost = self.keep_claim(&intent) => lost,
        };
        if matches!(outcome, Outcome::Interrupted) {
            // Stopping: leave it for the next start, which need not wait
            // for the lease to run out.
            let _ = self.store().release(&intent.key);
        }
        self.tell(&intent.target, &outcome);
        if let Some(label) = outcome.metric_label() {
            self.targets.metrics().post(
                &intent.target,
                intent.lang.as_ref().map_or("none", |l| l.as_str()),
                label,
            );
        }
        outcome
    }

    /// Raises or clears the alerts an outcome on `target` concerns.
    fn tell(&self, target: &str, outcome: &Outcome) {
        let alerts = self.targets.alerts();
        match outcome {
            Outcome::Published(_) | Outcome::AlreadyThere { .. } => {
                alerts.clear(Cause::PostFailed(target.to_string()));
                alerts.clear(Cause::Paused(target.to_string()));
            }
            Outcome::Failed(why) => alerts.raise(
                Cause::PostFailed(target.to_string()),
                format!("a post on {target} failed for good: {why}"),
            ),
            Outcome::Uncertain(why) => alerts.raise(
                Cause::PostFailed(target.to_string()),
                format!("a post on {target} may or may not have gone out and needs a person (campaign-bot status): {why}"),
            ),
            _ => {}
        }
    }

    /// Renews this process's claim while it sends; returns only if the claim
    /// is lost (another process took the post over: this one must stop).
    async fn keep_claim(&self, intent: &Intent) -> Outcome {
        let mut failing_since: Option<DateTime<Utc>> = None;
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            let now = self.clock.now();
            match self.store().renew(&intent.key, now) {
                Ok(true) => failing_since = None,
                Ok(false) => {
                    tracing::warn!(
                        target_name = intent.target,
                        slot = intent.slot.key,
                        "another process took this post over; stopping here"
                    );
                    return Outcome::BeingPosted("another process".into());
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert(now);
                    tracing::warn!(error = %e, target_name = intent.target, "cannot renew the claim on a post");
                    // Before the lease runs out, stop: another process may
                    // then take the post over, and it looks before sending.
                    if now - since + chrono::Duration::from_std(RENEW_EVERY).unwrap_or_default()
                        >= chrono::Duration::from_std(crate::lease::LEASE).unwrap_or_default()
                    {
                        return Outcome::Failed(format!(
                            "stopped: the claim on it could not be renewed ({e})"
                        ));
                    }
                }
            }
        }
    }

    /// The delivery proper, with this process holding the claim. `look`:
    /// find out on the network whether it went out before sending.
    async fn send_claimed(
        &self,
        intent: &Intent,
        post: &Outgoing,
        publisher: &dyn Publisher,
        deadline: DateTime<Utc>,
        cancel: &CancellationToken,
        mut look: bool,
    ) -> Outcome {
        let mut sends: u32 = 0;
        let mut tries: u32 = 0;
        let look_until = deadline.max(self.clock.now()) + LOOK_PATIENCE;
        // Set when the bot gives up after a send of unknown fate: one last
        // look decides what to record.
        let mut giving_up: Option<String> = None;
        loop {
            if look {
                let found = tokio::select! {
                    r = publisher.find_published(post) => r,
                    _ = cancel.cancelled() => return Outcome::Interrupted,
                };
                match found {
                    Ok(Lookup::Posted(p)) => {
                        if let Some(slot) = self.recorded_elsewhere(intent, &p) {
                            return self.uncertain(
                                intent,
                                format!(
                                    "a post like it is there ({}), but it is recorded for the slot {slot}",
                                    p.url.as_deref().unwrap_or(&p.remote_id)
                                ),
                            );
                        }
                        if sends == 0 {
                            tracing::info!(
                                target_name = intent.target,
                                slot = intent.slot.key,
                                "a post left pending had gone out; recorded"
                            );
                        }
                        return self.published(intent, post, p);
                    }
                    Ok(Lookup::Other { existing, text }) => {
                        return self.already_there(intent, existing, &text);
                    }
                    Ok(Lookup::Unsure(why)) => return self.uncertain(intent, why),
                    Ok(Lookup::NotPosted) => {
                        if let Some(reason) = giving_up {
                            return self.give_up(intent, reason);
                        }
                        // Certainly not out: send it (below).
                    }
                    Err(e) => {
                        tries += 1;
                        let now = self.clock.now();
                        let wait = self.wait_for(&e, tries, &intent.key);
                        let until = if giving_up.is_some() { now } else { look_until };
                        if now + wait > until {
                            return self.uncertain(
                                intent,
                                format!(
                                    "it may have gone out, and the network could not be asked ({e})"
                                ),
                            );
                        }
                        tracing::warn!(target_name = intent.target, slot = intent.slot.key, error = %e, retry_in = %humantime::format_duration(wait), "cannot check whether a post went out; will look again before sending anything");
                        self.note(intent, &format!("cannot check whether it went out: {e}"));
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = cancel.cancelled() => return Outcome::Interrupted,
                        }
                        continue;
                    }
                }
            }
            let now = self.clock.now();
            if now > deadline {
                return self.give_up(
                    intent,
                    "not posted: the slot's grace ran out before it could be sent".into(),
                );
            }
            if cancel.is_cancelled() {
                return Outcome::Interrupted;
            }
            sends += 1;
            // Once sent, a post is let finish on shutdown (the hard stop
            // comes later): its outcome is then recorded, not left pending.
            let result = tokio::select! {
                r = publisher.publish(post) => r,
                _ = self.hard_stop.cancelled() => return Outcome::Interrupted,
            };
            let now = self.clock.now();
            match result {
                Ok(published) => return self.published(intent, post, published),
                Err(PublishError::Conflict { existing, text }) => {
                    return self.already_there(intent, existing, &text);
                }
                Err(PublishError::Duplicate { message, existing }) => {
                    // A resend of a post that did go out is refused this
                    // way too: it counts as posted only if it is found (or
                    // named by the network) and is no other slot's post.
                    let found = match existing {
                        Some(p) => Some(p),
                        None => {
                            let looked = tokio::select! {
                                r = publisher.find_published(post) => r,
                                _ = cancel.cancelled() => return Outcome::Interrupted,
                            };
                            match looked {
                                Ok(Lookup::Posted(p)) => Some(p),
                                _ => None,
                            }
                        }
                    };
                    if let Some(p) = found
                        && self.recorded_elsewhere(intent, &p).is_none()
                    {
                        return self.published(intent, post, p);
                    }
                    return self.refused_duplicate(intent, message);
                }
                Err(PublishError::Auth(msg)) => {
                    if let Err(e) = self.targets.pause(&intent.target, &msg) {
                        tracing::error!(error = %e, "could not record the pause");
                    }
                    return self.give_up(intent, format!("authentication failed: {msg}"));
                }
                Err(PublishError::Permanent { message, .. }) => {
                    return self.give_up(intent, message);
                }
                Err(err) => {
                    // A transient failure may have reached the network (a
                    // timeout, a 5xx after the write): look before sending
                    // again. A rate limit means it was not taken.
                    look = matches!(err, PublishError::Transient(_));
                    tries += 1;
                    let wait = self.wait_for(&err, tries, &intent.key);
                    if now + wait > deadline {
                        let reason = format!(
                            "{err}; gave up after {sends} attempts: the slot's grace ran out"
                        );
                        if look {
                            giving_up = Some(reason);
                            continue;
                        }
                        return self.give_up(intent, reason);
                    }
                    tracing::warn!(target_name = intent.target, slot = intent.slot.key, attempt = sends, error = %err, retry_in = %humantime::format_duration(wait), "post failed, will retry");
                    self.targets.metrics().retry(&intent.target);
                    if let Err(e) =
                        self.store()
                            .attempt_failed(&intent.key, &err.to_string(), false, now)
                    {
                        tracing::error!(error = %e, "could not record the failed attempt");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = cancel.cancelled() => return Outcome::Interrupted,
                    }
                }
            }
        }
    }

    /// How long to wait before trying again after `err`.
    fn wait_for(&self, err: &PublishError, tries: u32, key: &str) -> Duration {
        match err {
            PublishError::RateLimited {
                retry_at: Some(t), ..
            } => (*t - self.clock.now()).to_std().unwrap_or_default(),
            _ => backoff(tries, key, self.retry_base),
        }
    }

    /// The first engagement check of a post published now on `target`, if
    /// its network collects engagement.
    fn first_check(&self, target: &str, now: DateTime<Utc>) -> Option<crate::store::CheckWindow> {
        self.publisher(target)
            .filter(|p| p.profile().counts_engagement())
            .and_then(|_| crate::engagement::first_window(now, &self.config().checkpoints))
    }

    /// The slot of another intent that recorded `found` as its post, if one did.
    fn recorded_elsewhere(&self, intent: &Intent, found: &Published) -> Option<String> {
        match self
            .store()
            .intent_with_remote(&intent.target, &found.remote_id)
        {
            Ok(Some(other)) if other.key != intent.key => Some(other.slot.key),
            _ => None,
        }
    }

    /// Keeps the last error on an intent, for `status`.
    fn note(&self, intent: &Intent, error: &str) {
        if let Err(e) = self
            .store()
            .attempt_failed(&intent.key, error, false, self.clock.now())
        {
            tracing::error!(error = %e, "could not record the failed attempt");
        }
    }

    /// How many posts this process is sending now.
    pub fn posts_in_flight(&self) -> usize {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Resolves when a post is published (for the engagement checker).
    pub async fn wait_for_publication(&self) {
        self.published.notified().await
    }

    fn published(&self, intent: &Intent, post: &Outgoing, published: Published) -> Outcome {
        let now = self.clock.now();
        if let Err(e) = self.store().complete(
            &intent.key,
            &published,
            now,
            self.first_check(&intent.target, now),
        ) {
            // The post is out but not recorded: the intent stays pending and
            // is found published when it is looked at again.
            tracing::error!(error = %e, key = intent.key, "posted, but could not record it");
        }
        tracing::info!(
            target_name = intent.target,
            message_id = post.message_id,
            lang = %post.lang,
            slot = intent.slot.key,
            remote_id = published.remote_id,
            "posted {} [{}] on {}: {}",
            post.message_id,
            post.lang,
            intent.target,
            published.url.as_deref().unwrap_or(&published.remote_id)
        );
        self.published.notify_one();
        Outcome::Published(published)
    }

    /// The slot already holds `text` on the network (posted before, without
    /// a record here): records what is really there, never the plan.
    fn already_there(&self, intent: &Intent, existing: Published, text: &str) -> Outcome {
        let catalog = self.catalog();
        let found = catalog.messages.iter().find_map(|m| {
            m.langs().find_map(|l| {
                let hashtags = &self.config().hashtags;
                [render(m, l, hashtags), render_short(m, l, hashtags)]
                    .into_iter()
                    .flatten()
                    .any(|r| r.text == text)
                    .then(|| (m.id.clone(), *l))
            })
        });
        let (message_id, lang) = match found {
            Some((m, l)) => (Some(m), Some(l)),
            None => (None, None),
        };
        let now = self.clock.now();
        if let Err(e) = self
            .store()
            .correct_content(&intent.key, message_id.as_deref(), lang.as_ref(), text)
            .and_then(|_| {
                self.store().complete(
                    &intent.key,
                    &existing,
                    now,
                    self.first_check(&intent.target, now),
                )
            })
        {
            tracing::error!(error = %e, key = intent.key, "could not record what the slot holds");
        }
        tracing::warn!(
            target_name = intent.target,
            slot = intent.slot.key,
            holds = message_id.as_deref().unwrap_or("a post no file has now"),
            planned = intent.message_id.as_deref().unwrap_or(""),
            remote_id = existing.remote_id,
            "the slot already held another post (the state store had no record of it): recorded as that, nothing sent"
        );
        Outcome::AlreadyThere {
            published: existing,
            message_id,
            lang,
        }
    }

    /// Records that nobody can tell whether the post went out.
    fn uncertain(&self, intent: &Intent, why: String) -> Outcome {
        tracing::error!(
            target_name = intent.target,
            slot = intent.slot.key,
            key = intent.key,
            reason = why,
            "a post may or may not have gone out; it is not sent again. Check the account, then run `campaign-bot resolve KEY published` or `… not-published`"
        );
        if let Err(e) =
            self.store()
                .settle(&intent.key, IntentState::Uncertain, &why, self.clock.now())
        {
            tracing::error!(error = %e, "could not record it");
        }
        Outcome::Uncertain(why)
    }

    /// The network refused the text as a repeat of a recent post: the slot
    /// is skipped, and the target neither paused nor counted as failing.
    fn refused_duplicate(&self, intent: &Intent, message: String) -> Outcome {
        let reason = format!(
            "refused as a duplicate of a recent post ({message}); the rotation repeats it too soon for this network (see `validate`)"
        );
        tracing::warn!(
            target_name = intent.target,
            slot = intent.slot.key,
            message_id = intent.message_id.as_deref().unwrap_or(""),
            reason,
            "post refused as a duplicate"
        );
        if let Err(e) =
            self.store()
                .settle(&intent.key, IntentState::Skipped, &reason, self.clock.now())
        {
            tracing::error!(error = %e, "could not record it");
        }
        self.targets
            .metrics()
            .post(&intent.target, "none", "skipped");
        Outcome::Skipped(reason)
    }

    fn give_up(&self, intent: &Intent, reason: String) -> Outcome {
        tracing::error!(
            target_name = intent.target,
            slot = intent.slot.key,
            message_id = intent.message_id.as_deref().unwrap_or(""),
            reason,
            "post failed"
        );
        if let Err(e) = self
            .store()
            .attempt_failed(&intent.key, &reason, true, self.clock.now())
        {
            tracing::error!(error = %e, "could not record the failure");
        }
        Outcome::Failed(reason)
    }

    /// Records that `slot` was not posted on `target`, and logs why.
    pub fn skip(&self, slot: &Slot, target: &str, reason: &str) -> Outcome {
        match self.store().skip(slot, target, reason, self.clock.now()) {
            Ok(true) => tracing::warn!(
                target_name = target,
                slot = slot.key,
                reason,
                "slot skipped"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, slot = slot.key, "could not record a skipped slot")
            }
        }
        self.targets.metrics().post(target, "none", "skipped");
        Outcome::Skipped(reason.to_string())
    }

    /// Plans (or finds) the intent for (slot, target) and delivers it.
    /// Retries stop at `deadline` (the daemon: the slot's time plus grace).
    pub async fn fill(
        &self,
        begin: Result<Option<Begin>, StoreError>,
        slot: &Slot,
        target: &str,
        deadline: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> Outcome {
        if begin.is_ok() {
            // The store records slots (again).
            self.targets.alerts().clear(Cause::Store);
        }
        match begin {
            Err(e) => {
                tracing::error!(error = %e, target_name = target, slot = slot.key, "cannot record the slot; not posting it");
                self.targets.alerts().raise(
                    Cause::Store,
                    format!("slots cannot be recorded in the state store, so they are not posted (is the disk full?): {e}"),
                );
                Outcome::Failed(e.to_string())
            }

            Ok(None) => {
                let why = self
                    .catalog()
                    .why_nothing()
                    .unwrap_or_else(|| "no message has a language of this target".into());
                self.skip(slot, target, &why)
            }
            Ok(Some(Begin::New(intent))) => self.deliver(intent, deadline, cancel, true).await,
            Ok(Some(Begin::Exists(intent))) if intent.state == IntentState::Pending => {
                self.deliver(intent, deadline, cancel, false).await
            }
            Ok(Some(Begin::Exists(intent))) => Outcome::AlreadyDone(intent.state),
        }
    }

    /// Intents left pending (by a crash, a stop, another process, or a
    /// failure to look them up) that no task of this process is delivering,
    /// each with the deadline past which it is not sent: its slot's time
    /// plus the grace. Delivering them looks first: already out → recorded;
    /// not out and within the deadline → sent; otherwise → failed.
    pub fn unsettled(&self) -> Result<Vec<(Intent, DateTime<Utc>)>, StoreError> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let grace = grace(self.config());
        Ok(self
            .store()
            .pending()?
            .into_iter()
            .filter(|i| !in_flight.contains(&i.key))
            .map(|i| {
                let deadline = i.slot.at + grace;
                (i, deadline)
            })
            .collect())
    }

    /// Settles every unsettled intent (see [`Campaign::unsettled`]), one
    /// after the other. The daemon runs them as tasks instead.
    pub async fn resolve_pending(&self, cancel: &CancellationToken) -> Result<(), StoreError> {
        for (intent, deadline) in self.unsettled()? {
            self.deliver(intent, deadline, cancel, false).await;
        }
        Ok(())
    }
}

/// Marks an intent as being delivered by this process, for as long as the
/// guard lives.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    key: String,
}

impl<'a> InFlight<'a> {
    fn enter(set: &'a Mutex<HashSet<String>>, key: &str) -> Option<InFlight<'a>> {
        let mut s = set.lock().unwrap_or_else(|p| p.into_inner());
        s.insert(key.to_string()).then(|| InFlight {
            set,
            key: key.to_string(),
        })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// `schedule.grace` as a chrono duration.
pub fn grace(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.schedule.grace()).unwrap_or_default()
}

/// Exponential backoff with jitter: 2 s, 4 s, 8 s … up to five minutes, each
/// spread by up to a quarter so that retries of many slots do not align. The
/// jitter is derived from the key, so a test sees the same waits every time.
fn backoff(attempt: u32, key: &str, unit: Duration) -> Duration {
    let base = (unit * (1u32 << attempt.min(8))).min(MAX_BACKOFF);
    let seed = key.bytes().fold(attempt as u64, |h, b| {
        h.wrapping_mul(31).wrapping_add(b as u64)
    });
    let jitter = base.mul_f64((seed % 1000) as f64 / 4000.0);
    (base + jitter).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let waits: Vec<Duration> = (1..12)
            .map(|a| backoff(a, "k", Duration::from_secs(1)))
            .collect();
        assert!(waits[0] >= Duration::from_secs(2) && waits[0] < Duration::from_secs(3));
        assert!(waits.windows(2).take(6).all(|w| w[1] > w[0]));
        assert!(waits.iter().all(|w| *w <= MAX_BACKOFF));
    }
}
