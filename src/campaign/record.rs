//! Recording: what became of a post, in the state store, the log and the
//! alerts.

use super::*;

impl Campaign {
    pub(super) fn published(
        &self,
        intent: &Intent,
        post: &Outgoing,
        published: Published,
    ) -> Outcome {
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
    pub(super) fn already_there(
        &self,
        intent: &Intent,
        existing: Published,
        text: &str,
    ) -> Outcome {
        let catalog = self.catalog();
        let found = catalog.messages.iter().find_map(|m| {
            let m = crate::posts::words(m)
                .inspect_err(|e| tracing::error!(error = %e, message = m.id, "cannot read the message's words back to compare them"))
                .ok()?;
            m.langs().find_map(|l| {
                let hashtags = &self.config().hashtags;
                [render(&m, l, hashtags), render_short(&m, l, hashtags)]
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
    pub(super) fn uncertain(&self, intent: &Intent, why: String) -> Outcome {
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
    pub(super) fn refused_duplicate(&self, intent: &Intent, message: String) -> Outcome {
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

    pub(super) fn give_up(&self, intent: &Intent, reason: String) -> Outcome {
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
}
