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

mod deliver;
mod planning;
mod record;

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

/// `schedule.grace` as a chrono duration.
pub fn grace(config: &Config) -> chrono::Duration {
    chrono::Duration::from_std(config.schedule.grace()).unwrap_or_default()
}
