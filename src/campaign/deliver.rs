//! Delivering: a claimed intent is sent through the retry policy, looked
//! for on its network first when it may have gone out.

use super::*;

impl Campaign {
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
    pub(super) fn tell(&self, target: &str, outcome: &Outcome) {
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
    pub(super) async fn keep_claim(&self, intent: &Intent) -> Outcome {
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
    pub(super) async fn send_claimed(
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
            // A replica whose term as the active one ended sends nothing
            // more: another may already be sending (see `store::election`).
            if !self.store().may_send() {
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
                Err(PublishError::Blocked(msg)) => {
                    if let Err(e) = self.targets.pause(&intent.target, &msg) {
                        tracing::error!(error = %e, "could not record the pause");
                    }
                    return self.give_up(intent, format!("blocked by the network: {msg}"));
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
    pub(super) fn wait_for(&self, err: &PublishError, tries: u32, key: &str) -> Duration {
        match err {
            PublishError::RateLimited {
                retry_at: Some(t), ..
            } => (*t - self.clock.now()).to_std().unwrap_or_default(),
            _ => backoff(tries, key, self.retry_base),
        }
    }

    /// The first engagement check of a post published now on `target`, if
    /// its network collects engagement.
    pub(super) fn first_check(
        &self,
        target: &str,
        now: DateTime<Utc>,
    ) -> Option<crate::store::CheckWindow> {
        self.publisher(target)
            .filter(|p| p.profile().counts_engagement())
            .and_then(|_| crate::engagement::first_window(now, &self.config().checkpoints))
    }

    /// The slot of another intent that recorded `found` as its post, if one did.
    pub(super) fn recorded_elsewhere(&self, intent: &Intent, found: &Published) -> Option<String> {
        match self
            .store()
            .intent_with_remote(&intent.target, &found.remote_id)
        {
            Ok(Some(other)) if other.key != intent.key => Some(other.slot.key),
            _ => None,
        }
    }

    /// Keeps the last error on an intent, for `status`.
    pub(super) fn note(&self, intent: &Intent, error: &str) {
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
