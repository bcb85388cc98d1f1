//! Planning: an event on a target becomes a recorded intent (rotation →
//! render → state store), and an intent the post it sends.

use super::*;

impl Campaign {
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
                    } => catalog.get(message_id).and_then(|message| {
                        // A timed post goes out beside the rotation.
                        let rotation = matches!(event, Event::Cron(_)).then_some(state);
                        Some((self.planned(&slot, target, message, lang)?, rotation))
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
                    self.planned(slot, target, message, &choice.lang)?,
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
                Some((planned?, Some(state)))
            })
            .map(|b| b.expect("a chosen message is always planned (one-shot commands keep their words in memory)"))
    }

    /// What `target` posts at `slot`: `message` in `lang`, rendered for the
    /// target. `None` (logged) only if the message's parked words cannot be
    /// read back: the slot is then not taken, and the rest go on.
    pub(super) fn planned(
        &self,
        slot: &Slot,
        target: &TargetConfig,
        message: &Message,
        lang: &Lang,
    ) -> Option<Planned> {
        let message = match crate::posts::words(message) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, message = message.id, target_name = target.name, slot = slot.key, "cannot read the message's words back from the data folder; the slot is not taken");
                return None;
            }
        };
        // The full text, or the short one where the full one is over the
        // target's limits.
        let limits = self
            .publisher(&target.name)
            .map(|p| p.limits())
            .unwrap_or_else(|| target.profile().limits);
        let (rendered, _) = render_for(&message, lang, &self.config().hashtags, &limits)
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
        Some(Planned {
            slot: slot.clone(),
            target: target.name.clone(),
            post: Post {
                message_id: message.id.clone(),
                lang: *lang,
                text: rendered.text,
                spoiler: rendered.spoiler,
                media,
            },
        })
    }

    /// What an intent sends: its post as recorded. `None` for a record with
    /// no post (a skipped slot).
    pub(super) fn outgoing(&self, intent: &Intent) -> Option<Outgoing> {
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
}
