//! The campaign engine: turns a slot into a recorded intent (rotation →
//! render → state store) and an intent into a post (publisher, through the
//! retry policy). Shared by the daemon and by `post-now`.
//!
//! Exactly once: the intent for (slot, target) is committed before anything
//! is sent, together with the rotation position; the publisher is then given
//! a key derived from (slot, target) that makes a resend harmless; the result
//! is recorded right after. On start, pending intents are resolved first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, TargetConfig};
use crate::model::{Lang, Message, Published, Slot};
use crate::posts::Catalog;
use crate::publish::{Outgoing, OutgoingMedia, PublishError, Publisher};
use crate::render::render;
use crate::rotation;
use crate::store::{Begin, Intent, IntentState, Planned, Store, StoreError};

/// What became of one (slot, target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published(Published),
    /// The slot was filled before (by an earlier run or retry).
    AlreadyDone(IntentState),
    /// Given up, with the reason (also stored and logged).
    Failed(String),
    /// Nothing was posted on purpose.
    Skipped(String),
    /// Shutdown came first; the intent stays pending for the next start.
    Interrupted,
}

/// Longest wait between two attempts of one post.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub struct Campaign {
    config: Config,
    store: Arc<Store>,
    publishers: BTreeMap<String, Arc<dyn Publisher>>,
    catalog: RwLock<Arc<Catalog>>,
    clock: Clock,
    /// Planning reads a target's rotation position and records the next one:
    /// one slot at a time, so two slots never pick from the same position.
    plan_lock: Mutex<()>,
    /// The first retry waits about twice this, the next four times… (tests
    /// make it short).
    retry_base: Duration,
    /// Woken at every new publication, so the engagement checker can plan
    /// its first check.
    published: tokio::sync::Notify,
}

impl Campaign {
    pub fn new(
        config: Config,
        store: Arc<Store>,
        publishers: Vec<Arc<dyn Publisher>>,
        catalog: Catalog,
        clock: Clock,
    ) -> Self {
        Campaign {
            config,
            store,
            publishers: publishers
                .into_iter()
                .map(|p| (p.name().to_string(), p))
                .collect(),
            catalog: RwLock::new(Arc::new(catalog)),
            clock,
            plan_lock: Mutex::new(()),
            published: tokio::sync::Notify::new(),
            retry_base: Duration::from_secs(1),
        }
    }

    /// Changes the backoff unit (tests make it short).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.retry_base = base;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
    pub fn clock(&self) -> Clock {
        self.clock
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
        self.publishers.get(target)
    }
    /// Targets that have a working publisher, in config order.
    pub fn targets(&self) -> impl Iterator<Item = &TargetConfig> {
        self.config
            .targets
            .iter()
            .filter(|t| self.publishers.contains_key(&t.name))
    }

    // ------------------------------------------------------------ pauses

    fn pause_key(target: &str) -> String {
        format!("paused:{target}")
    }

    /// Why a target is paused (an authentication failure), if it is.
    pub fn paused(&self, target: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .meta(&Self::pause_key(target))?
            .filter(|s| !s.is_empty()))
    }

    fn pause(&self, target: &str, reason: &str) -> Result<(), StoreError> {
        tracing::error!(
            target_name = target,
            reason,
            "target paused until its credentials are fixed and the bot restarted"
        );
        self.store.set_meta(&Self::pause_key(target), reason)
    }

    /// Lifts every pause: called at start, when credentials may have been fixed.
    pub fn clear_pauses(&self) -> Result<(), StoreError> {
        for t in &self.config.targets {
            self.store.set_meta(&Self::pause_key(&t.name), "")?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ planning

    /// Picks, renders and records what `target` posts at `slot`, advancing
    /// its rotation. `Ok(None)`: nothing has a language of this target.
    /// With `lang`, the slot takes that language instead of the next one.
    pub fn plan_rotation(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        lang: Option<&Lang>,
    ) -> Result<Option<Begin>, StoreError> {
        let _guard = self.plan_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = self.store.intent(&slot.intent_key(&target.name))? {
            return Ok(Some(Begin::Exists(existing)));
        }
        let catalog = self.catalog();
        let mut state = self.store.rotation(&target.name)?;
        if let Some(l) = lang {
            // Only this language; the target's next language stays as it was.
            let Some(choice) = rotation::next_in(&state, &target.languages, l, &catalog) else {
                return Ok(None);
            };
            let message = catalog
                .get(&choice.message_id)
                .expect("rotation picks from the catalog");
            rotation::record_manual(&mut state, message, l, choice.from_queue, &catalog);
            let planned = self.planned(slot, target, message, &choice.lang);
            return self
                .store
                .begin(&planned, Some(&state), self.clock.now())
                .map(Some);
        }
        let Some(choice) = rotation::next(&state, &target.languages, &catalog) else {
            return Ok(None);
        };
        let message = catalog
            .get(&choice.message_id)
            .expect("rotation picks from the catalog");
        rotation::advance(&mut state, &target.languages, &choice, &catalog);
        let planned = self.planned(slot, target, message, &choice.lang);
        self.store
            .begin(&planned, Some(&state), self.clock.now())
            .map(Some)
    }

    /// Records a chosen message for `slot` (`post-now ID`, timed queue posts).
    /// `counts_in_rotation`: the post counts as the target's latest post.
    pub fn plan_message(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        message: &Message,
        lang: &Lang,
        counts_in_rotation: bool,
    ) -> Result<Begin, StoreError> {
        let _guard = self.plan_lock.lock().unwrap_or_else(|p| p.into_inner());
        let planned = self.planned(slot, target, message, lang);
        let state = if counts_in_rotation {
            let mut s = self.store.rotation(&target.name)?;
            rotation::record_manual(
                &mut s,
                message,
                lang,
                message.kind == crate::model::MessageKind::Queue,
                &self.catalog(),
            );
            Some(s)
        } else {
            None
        };
        self.store.begin(&planned, state.as_ref(), self.clock.now())
    }

    fn planned(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        message: &Message,
        lang: &Lang,
    ) -> Planned {
        let rendered =
            render(message, lang, &self.config.hashtags).expect("the chosen language exists");
        Planned {
            slot: slot.clone(),
            target: target.name.clone(),
            message_id: message.id.clone(),
            lang: lang.clone(),
            text: rendered.text,
            spoiler: rendered.spoiler,
        }
    }

    /// The post an intent sends: its recorded text, and the message's media
    /// as the catalog has them now.
    fn outgoing(&self, intent: &Intent) -> Outgoing {
        let lang = intent
            .lang
            .clone()
            .unwrap_or_else(|| Lang::new("en").expect("en is a language"));
        let catalog = self.catalog();
        let media = intent
            .message_id
            .as_deref()
            .and_then(|id| catalog.get(id))
            .map(|m| {
                m.media
                    .iter()
                    .map(|md| OutgoingMedia {
                        path: self.config.posts_dir.join(&md.path),
                        shown: md.path.clone(),
                        alt: md.alt.get(&lang).cloned().unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Outgoing {
            intent_key: intent.key.clone(),
            slot: intent.slot.clone(),
            target: intent.target.clone(),
            message_id: intent.message_id.clone().unwrap_or_default(),
            lang,
            text: intent.text.clone().unwrap_or_default(),
            spoiler: intent.spoiler.clone(),
            media,
            not_before: intent.created_at,
        }
    }

    // ------------------------------------------------------------ delivering

    /// Sends a pending intent, retrying what is retryable until `deadline`.
    pub async fn deliver(
        &self,
        intent: Intent,
        deadline: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> Outcome {
        let Some(publisher) = self.publishers.get(&intent.target).cloned() else {
            return self.give_up(
                &intent,
                format!("target {} is not configured any more", intent.target),
            );
        };
        let post = self.outgoing(&intent);
        let mut attempt: u32 = 0;
        let mut uncertain = false;
        loop {
            attempt += 1;
            if uncertain {
                // The last attempt may have reached the network (a timeout,
                // a 5xx after the write): look before sending again.
                if let Ok(Some(published)) = publisher.find_published(&post).await {
                    return self.published(&intent, &post, published);
                }
            }
            let result = tokio::select! {
                r = publisher.publish(&post) => r,
                _ = cancel.cancelled() => return Outcome::Interrupted,
            };
            let now = self.clock.now();
            match result {
                Ok(published) => return self.published(&intent, &post, published),
                Err(PublishError::Auth(msg)) => {
                    if let Err(e) = self.pause(&intent.target, &msg) {
                        tracing::error!(error = %e, "could not record the pause");
                    }
                    return self.give_up(&intent, format!("authentication failed: {msg}"));
                }
                Err(PublishError::Permanent(msg)) => return self.give_up(&intent, msg),
                Err(err) => {
                    uncertain = matches!(err, PublishError::Transient(_));
                    let wait = match &err {
                        PublishError::RateLimited {
                            retry_at: Some(t), ..
                        } => (*t - now).to_std().unwrap_or_default(),
                        _ => backoff(attempt, &intent.key, self.retry_base),
                    };
                    let retry_at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    if retry_at > deadline {
                        return self.give_up(
                            &intent,
                            format!(
                                "{err}; gave up after {attempt} attempts: the slot's grace ran out"
                            ),
                        );
                    }
                    tracing::warn!(target_name = intent.target, slot = intent.slot.key, attempt, error = %err, retry_in = ?wait, "post failed, will retry");
                    if let Err(e) =
                        self.store
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

    /// Resolves when a post is published (for the engagement checker).
    pub async fn wait_for_publication(&self) {
        self.published.notified().await
    }

    fn published(&self, intent: &Intent, post: &Outgoing, published: Published) -> Outcome {
        if let Err(e) = self
            .store
            .complete(&intent.key, &published, self.clock.now())
        {
            // The post is out but not recorded: the intent stays pending and
            // the next start finds it published.
            tracing::error!(error = %e, key = intent.key, "posted, but could not record it");
        }
        tracing::info!(
            target_name = intent.target,
            message_id = post.message_id,
            lang = %post.lang,
            slot = intent.slot.key,
            remote_id = published.remote_id,
            url = published.url.as_deref().unwrap_or(""),
            "posted"
        );
        self.published.notify_one();
        Outcome::Published(published)
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
            .store
            .attempt_failed(&intent.key, &reason, true, self.clock.now())
        {
            tracing::error!(error = %e, "could not record the failure");
        }
        Outcome::Failed(reason)
    }

    /// Records that `slot` was not posted on `target`, and logs why.
    pub fn skip(&self, slot: &Slot, target: &str, reason: &str) -> Outcome {
        match self.store.skip(slot, target, reason, self.clock.now()) {
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
        match begin {
            Err(e) => {
                tracing::error!(error = %e, target_name = target, slot = slot.key, "cannot record the slot; not posting it");
                Outcome::Failed(e.to_string())
            }
            Ok(None) => self.skip(slot, target, "no message has a language of this target"),
            Ok(Some(Begin::New(intent))) => self.deliver(intent, deadline, cancel).await,
            Ok(Some(Begin::Exists(intent))) if intent.state == IntentState::Pending => {
                self.deliver(intent, deadline, cancel).await
            }
            Ok(Some(Begin::Exists(intent))) => Outcome::AlreadyDone(intent.state),
        }
    }

    /// Settles intents left pending by a crash or a stop, before any new
    /// slot: already published (the network or outbox has it) → recorded;
    /// not published and still within grace → sent; otherwise → failed.
    pub async fn resolve_pending(&self, cancel: &CancellationToken) -> Result<(), StoreError> {
        for intent in self.store.pending()? {
            let Some(publisher) = self.publishers.get(&intent.target).cloned() else {
                self.give_up(
                    &intent,
                    format!("target {} is not configured any more", intent.target),
                );
                continue;
            };
            let post = self.outgoing(&intent);
            let found = tokio::select! {
                r = publisher.find_published(&post) => r,
                _ = cancel.cancelled() => return Ok(()),
            };
            let now = self.clock.now();
            match found {
                Ok(Some(published)) => {
                    tracing::info!(
                        target_name = intent.target,
                        slot = intent.slot.key,
                        "a post interrupted by a stop had gone out; recorded"
                    );
                    self.store.complete(&intent.key, &published, now)?;
                }
                Ok(None) => {
                    let deadline = intent.slot.at + grace(&self.config);
                    if now <= deadline {
                        self.deliver(intent, deadline, cancel).await;
                    } else {
                        self.give_up(
                            &intent,
                            "not posted: the bot was stopped past this slot's grace".into(),
                        );
                    }
                }
                Err(e) => {
                    // Unknown: leave it pending rather than risk a second post.
                    tracing::warn!(target_name = intent.target, slot = intent.slot.key, error = %e, "cannot check an interrupted post yet; will check again");
                }
            }
        }
        Ok(())
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
