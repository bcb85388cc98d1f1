//! Intents: the record of each (slot, target) — written before anything is
//! sent — its claim by the process sending it, and its outcome.

use super::sql::{Db, DbError, Row, Value, args};
use super::{CheckWindow, Store, StoreError, election, get_rotation, lease, put_rotation};
use crate::lease::Owner;
use crate::model::{Lang, Post, PostMedia, Published, Slot};
use crate::rotation::RotationState;
use chrono::{DateTime, Utc};

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    /// Recorded, not known to be published: resolved before any new slot.
    Pending,
    Published,
    /// Given up: a permanent error, or the slot's grace ran out.
    Failed,
    /// Not posted on purpose (missed beyond grace, nothing to post).
    Skipped,
    /// It may or may not have gone out, and the bot cannot tell (a post
    /// like it was found, or the network could not be asked in time): never
    /// sent again by the bot; a person checks and settles it with
    /// `campaign-bot resolve`.
    Uncertain,
}

impl std::fmt::Display for IntentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IntentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Published => "published",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Uncertain => "uncertain",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "published" => Self::Published,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "uncertain" => Self::Uncertain,
            _ => return None,
        })
    }
}

/// One (slot, target): what it posts and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub key: String,
    pub slot: Slot,
    pub target: String,
    pub message_id: Option<String>,
    pub lang: Option<Lang>,
    /// The exact rendered text, so a retry after a restart sends the same.
    pub text: Option<String>,
    pub spoiler: Option<String>,
    pub state: IntentState,
    pub remote_id: Option<String>,
    pub url: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the network accepted it.
    pub published_at: Option<DateTime<Utc>>,
    /// Index of the next engagement checkpoint.
    pub next_check: usize,
    /// Deleted on the network: no longer checked.
    pub gone: bool,
    /// The process sending it, while one is (see [`crate::lease`]).
    pub claim_owner: Option<String>,
    pub claim_until: Option<DateTime<Utc>>,
    /// The images it carries, as recorded.
    pub media: Vec<PostMedia>,
}

impl Intent {
    /// What it posts, if it posts anything (a skipped slot does not).
    pub fn post(&self) -> Option<Post> {
        Some(Post {
            message_id: self.message_id.clone()?,
            lang: self.lang?,
            text: self.text.clone()?,
            spoiler: self.spoiler.clone(),
            media: self.media.clone(),
        })
    }
}

/// What a slot will post on a target, before it is recorded.
#[derive(Debug, Clone)]
pub struct Planned {
    pub slot: Slot,
    pub target: String,
    pub post: Post,
}

/// The answer of [`Store::begin`].
#[derive(Debug)]
pub enum Begin {
    /// Recorded now: go and send it.
    New(Intent),
    /// This (slot, target) was recorded before: never send it a second time
    /// unless it is still pending.
    Exists(Intent),
}

pub(super) const INTENT_COLUMNS: &str = "key, slot, slot_at, target, message_id, lang, text, spoiler, state, remote_id, url, error, attempts, created_at, updated_at, published_at, next_check, gone, claim_owner, claim_until, media";

/// The answer of [`Store::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process may send it now. `taken_over`: another process (or an
    /// earlier run) was sending it and is gone: look before sending.
    Won { taken_over: bool },
    /// A live process is sending it.
    Held { owner: String },
    /// It is not pending any more.
    Settled(IntentState),
    /// There is no such intent.
    Missing,
}

impl Store {
    /// Records the intent to post `plan`, and the rotation position after it,
    /// in one transaction. If the (slot, target) was recorded before, nothing
    /// changes and the earlier intent is returned. A new intent is claimed by
    /// this process (see [`Store::claim`]): it is about to send it.
    pub fn begin(
        &self,
        plan: &Planned,
        rotation: Option<&RotationState>,
        now: DateTime<Utc>,
    ) -> Result<Begin, StoreError> {
        let (slot, target) = (plan.slot.clone(), plan.target.clone());
        let (plan, rotation) = (plan.clone(), rotation.cloned());
        self.plan(&slot, &target, now, move |_| Some((plan, rotation)))
            .map(|b| b.expect("the plan is given"))
    }

    /// Plans and records (slot, target) in one write transaction: `choose`
    /// is given the target's rotation position as stored now and returns
    /// what to post, with the position after it (or `None` to leave the
    /// position as it is). Two processes planning at once never pick from
    /// the same position. `Ok(None)`: `choose` found nothing to post.
    pub fn plan(
        &self,
        slot: &Slot,
        target: &str,
        now: DateTime<Utc>,
        choose: impl FnOnce(RotationState) -> Option<(Planned, Option<RotationState>)> + Send,
    ) -> Result<Option<Begin>, StoreError> {
        let key = slot.intent_key(target);
        self.write(|db| {
            if let Some(existing) = get_intent(db, &key)? {
                return Ok(Some(Begin::Exists(existing)));
            }
            let state = get_rotation(db, target)?;
            let Some((plan, rotation)) = choose(state) else {
                return Ok(None);
            };
            debug_assert_eq!(plan.slot.intent_key(&plan.target), key);
            let ts = now.to_rfc3339();
            let post = &plan.post;
            let media = (!post.media.is_empty())
                .then(|| serde_json::to_string(&post.media).expect("media serialise"));
            db.exec(
                "INSERT INTO intents (key, slot, slot_at, target, message_id, lang, text, spoiler, state, attempts, created_at, updated_at, claim_owner, claim_until, media)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9, ?10, ?11, ?12)",
                args![
                    &key,
                    &plan.slot.key,
                    plan.slot.at.to_rfc3339(),
                    &plan.target,
                    &post.message_id,
                    post.lang.as_str(),
                    &post.text,
                    post.spoiler.as_ref(),
                    ts,
                    Owner::current().encode(),
                    (now + lease()).to_rfc3339(),
                    media
                ],
            )?;
            if let Some(state) = rotation {
                put_rotation(db, &plan.target, &state)?;
            }
            let intent = get_intent(db, &key)?.expect("just inserted");
            Ok(Some(Begin::New(intent)))
        })
    }

    /// Records that a (slot, target) was not posted, and why. Does nothing if
    /// the slot already has an intent.
    pub fn skip(
        &self,
        slot: &Slot,
        target: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = slot.intent_key(target);
        let n = self.write(|db| {
            db.exec(
                "INSERT INTO intents (key, slot, slot_at, target, state, error, attempts, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'skipped', ?5, 0, ?6, ?6) ON CONFLICT DO NOTHING",
                args![key, &slot.key, slot.at.to_rfc3339(), target, reason, now.to_rfc3339()],
            )
        })?;
        Ok(n == 1)
    }

    /// Claims a pending intent for this process, so that no other process
    /// sends it meanwhile: won if nobody holds it, if this process does, or
    /// if its holder is gone (lease expired, its process is dead, or it is
    /// a replica that is no longer the active one).
    pub fn claim(&self, key: &str, now: DateTime<Utc>) -> Result<Claim, StoreError> {
        let me = Owner::current().encode();
        let replicas = self.postgres().is_some();
        self.write(|db| {
            let Some(intent) = get_intent(db, key)? else {
                return Ok(Claim::Missing);
            };
            if intent.state != IntentState::Pending {
                return Ok(Claim::Settled(intent.state));
            }
            let taken_over = match (&intent.claim_owner, intent.claim_until) {
                (Some(owner), _) if *owner == me => false,
                (Some(owner), Some(until)) if until > now => {
                    let alive = Owner::parse(owner).is_none_or(|o| !o.known_dead())
                        && !(replicas && election::stood_down(db, owner)?);
                    if alive {
                        return Ok(Claim::Held {
                            owner: owner.clone(),
                        });
                    }
                    true
                }
                // Never claimed (recorded by an older version), or expired.
                _ => true,
            };
            db.exec(
                "UPDATE intents SET claim_owner = ?2, claim_until = ?3 WHERE key = ?1",
                args![key, &me, (now + lease()).to_rfc3339()],
            )?;
            Ok(Claim::Won { taken_over })
        })
    }

    /// Extends this process's claim on `key`. False if it no longer holds it.
    pub fn renew(&self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self.write(|db| {
            db.exec(
                "UPDATE intents SET claim_until = ?3 WHERE key = ?1 AND claim_owner = ?2 AND state = 'pending'",
                args![key, Owner::current().encode(), (now + lease()).to_rfc3339()],
            )
        })?;
        Ok(n == 1)
    }

    /// Gives up this process's claim on `key` (it stopped sending it).
    pub fn release(&self, key: &str) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET claim_owner = NULL, claim_until = NULL WHERE key = ?1 AND claim_owner = ?2",
                args![key, Owner::current().encode()],
            )
        })?;
        Ok(())
    }

    /// Marks an intent published (and releases its claim), with the window
    /// of its first engagement check (`None`: its network has none).
    pub fn complete(
        &self,
        key: &str,
        published: &Published,
        now: DateTime<Utc>,
        first_check: Option<CheckWindow>,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET state = 'published', remote_id = ?2, url = ?3, error = NULL,
                 attempts = attempts + 1, updated_at = ?4, published_at = ?4,
                 claim_owner = NULL, claim_until = NULL, check_from = ?5, check_by = ?6 WHERE key = ?1",
                args![
                    key,
                    &published.remote_id,
                    published.url.as_ref(),
                    now.to_rfc3339(),
                    first_check.map(|w| w.from.timestamp()),
                    first_check.map(|w| w.by.timestamp())
                ],
            )
        })?;
        Ok(())
    }

    /// A person's word that an uncertain intent went out, with the post's
    /// id on the network if they give it (without one, it is not checked
    /// for engagement).
    pub fn resolve_published(
        &self,
        key: &str,
        remote_id: Option<&str>,
        url: Option<&str>,
        now: DateTime<Utc>,
        first_check: Option<CheckWindow>,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET state = 'published', remote_id = ?2, url = ?3,
                 error = 'published: a person checked the account (campaign-bot resolve)',
                 updated_at = ?4, published_at = COALESCE(published_at, updated_at),
                 claim_owner = NULL, claim_until = NULL,
                 check_from = ?5, check_by = ?6 WHERE key = ?1",
                args![
                    key,
                    remote_id,
                    url,
                    now.to_rfc3339(),
                    first_check.map(|w| w.from.timestamp()),
                    first_check.map(|w| w.by.timestamp())
                ],
            )
        })?;
        Ok(())
    }

    /// Records what a slot really holds on its network when it differs from
    /// what was planned (the slot was filled before, by another message).
    pub fn correct_content(
        &self,
        key: &str,
        message_id: Option<&str>,
        lang: Option<&Lang>,
        text: &str,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET message_id = ?2, lang = ?3, text = ?4 WHERE key = ?1",
                args![key, message_id, lang.map(Lang::as_str), text],
            )
        })?;
        Ok(())
    }

    /// Records a failed attempt: `permanent` ends the intent (and releases
    /// its claim), otherwise it stays pending, claimed, for the next try.
    pub fn attempt_failed(
        &self,
        key: &str,
        error: &str,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = if permanent {
            "UPDATE intents SET state = 'failed', error = ?2, attempts = attempts + 1, updated_at = ?3,
             claim_owner = NULL, claim_until = NULL WHERE key = ?1"
        } else {
            "UPDATE intents SET error = ?2, attempts = attempts + 1, updated_at = ?3 WHERE key = ?1"
        };
        self.write(|db| db.exec(sql, args![key, error, now.to_rfc3339()]))?;
        Ok(())
    }

    /// Settles an intent without a send: `Uncertain` (a person must check),
    /// `Failed` or `Skipped` with the reason, or back to `Pending`. Releases
    /// any claim.
    pub fn settle(
        &self,
        key: &str,
        state: IntentState,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            db.exec(
                "UPDATE intents SET state = ?2, error = ?3, updated_at = ?4,
                 claim_owner = NULL, claim_until = NULL WHERE key = ?1",
                args![key, state.as_str(), reason, now.to_rfc3339()],
            )
        })?;
        Ok(())
    }

    /// The intent on `target` that recorded `remote_id` as its post, if any.
    pub fn intent_with_remote(
        &self,
        target: &str,
        remote_id: &str,
    ) -> Result<Option<Intent>, StoreError> {
        Ok(self
            .query_intents(
                "WHERE target = ?1 AND remote_id = ?2",
                args![target, remote_id],
            )?
            .into_iter()
            .next())
    }

    /// Intents waiting for a person to say whether they went out.
    pub fn uncertain(&self) -> Result<Vec<Intent>, StoreError> {
        self.query_intents("WHERE state = 'uncertain' ORDER BY slot_at, target", &[])
    }

    /// The intent whose key starts with `prefix`, if exactly one does.
    pub fn intent_by_prefix(&self, prefix: &str) -> Result<Vec<Intent>, StoreError> {
        // A range on the primary key (LIKE would read every key).
        let low = prefix.to_ascii_lowercase();
        let high = format!("{low}\u{10FFFF}");
        self.query_intents(
            "WHERE key >= ?1 AND key < ?2 ORDER BY slot_at LIMIT 5",
            args![low, high],
        )
    }

    pub fn intent(&self, key: &str) -> Result<Option<Intent>, StoreError> {
        self.read(|db| get_intent(db, key))
    }

    /// Intents still pending, oldest slot first.
    pub fn pending(&self) -> Result<Vec<Intent>, StoreError> {
        self.query_intents("WHERE state = 'pending' ORDER BY slot_at, target", &[])
    }

    /// The latest intents, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Intent>, StoreError> {
        self.query_intents(
            "ORDER BY slot_at DESC, target LIMIT ?1",
            args![limit as i64],
        )
    }

    /// The latest intents that ended in an error, newest first.
    pub fn recent_errors(&self, limit: usize) -> Result<Vec<Intent>, StoreError> {
        self.query_intents(
            "WHERE error IS NOT NULL AND state != 'skipped' ORDER BY updated_at DESC LIMIT ?1",
            args![limit as i64],
        )
    }

    /// Every intent, oldest slot first.
    pub fn all_intents(&self) -> Result<Vec<Intent>, StoreError> {
        self.query_intents("ORDER BY slot_at, target", &[])
    }

    pub(super) fn query_intents(
        &self,
        tail: &str,
        args: &[Value],
    ) -> Result<Vec<Intent>, StoreError> {
        let sql = format!("SELECT {INTENT_COLUMNS} FROM intents {tail}");
        self.read(|db| db.map_rows(&sql, args, row_to_intent))
    }
}

pub(super) fn get_intent(db: &mut dyn Db, key: &str) -> Result<Option<Intent>, DbError> {
    db.row(
        &format!("SELECT {INTENT_COLUMNS} FROM intents WHERE key = ?1"),
        args![key],
    )?
    .map(row_to_intent)
    .transpose()
}

pub(super) fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The columns of [`INTENT_COLUMNS`], from the first of `r`.
pub(super) fn row_to_intent(mut r: Row) -> Result<Intent, DbError> {
    Ok(Intent {
        key: r.take_text(0)?,
        slot: Slot {
            at: parse_time(&r.take_text(2)?),
            key: r.take_text(1)?,
        },
        target: r.take_text(3)?,
        message_id: r.take_opt_text(4)?,
        lang: r.take_opt_text(5)?.and_then(|l| Lang::new(&l).ok()),
        text: r.take_opt_text(6)?,
        spoiler: r.take_opt_text(7)?,
        state: IntentState::parse(&r.take_text(8)?).unwrap_or(IntentState::Failed),
        remote_id: r.take_opt_text(9)?,
        url: r.take_opt_text(10)?,
        error: r.take_opt_text(11)?,
        attempts: r.int(12)?.clamp(0, u32::MAX as i64) as u32,
        created_at: parse_time(&r.take_text(13)?),
        updated_at: parse_time(&r.take_text(14)?),
        published_at: r.take_opt_text(15)?.map(|t| parse_time(&t)),
        next_check: r.int(16)?.max(0) as usize,
        gone: r.int(17)? != 0,
        claim_owner: r.take_opt_text(18)?,
        claim_until: r.take_opt_text(19)?.map(|t| parse_time(&t)),
        media: r
            .take_opt_text(20)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
    })
}
