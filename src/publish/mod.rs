//! Publishing: one narrow trait, one home per network.
//!
//! A network's wire types never leave its home. The daemon sees only
//! [`Publisher`], [`Outgoing`] and [`PublishError`], so it is tested with a
//! fake publisher and each network against a server. What else the bot
//! asks of a network (settings, limits, media rules, login) goes through
//! the registry in [`network`].

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{Check, Lang, Published, Slot};
use crate::posts::MAX_MEDIA_BYTES;
use crate::posts::files::{self, ImageInfo};
use crate::render::Limits;

pub mod app;
pub mod bluesky;
pub mod facebook;
pub mod fake;
pub mod graph;
pub mod http;
pub mod instagram;
pub mod keys;
pub mod linkedin;
pub mod mastodon;
pub mod matching;
pub mod network;
pub mod oauth;
pub mod outbox;
pub mod profile;
pub mod registry;
pub mod setup_error;
pub mod telegram;
pub mod threads;
pub mod x;

/// One post on its way to one target.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Derived from (slot, target): the same on every retry and restart.
    pub intent_key: String,
    pub slot: Slot,
    pub target: String,
    pub message_id: String,
    pub lang: Lang,
    pub text: String,
    pub spoiler: Option<String>,
    pub media: Vec<OutgoingMedia>,
    /// When the intent was recorded: the post cannot have gone out before.
    pub not_before: DateTime<Utc>,
}

/// An image to attach, with its alt text in the post's language.
#[derive(Debug, Clone)]
pub struct OutgoingMedia {
    /// The posts folder the image is in.
    pub posts_dir: PathBuf,
    /// The path as written in the post file (relative to `posts/`).
    pub shown: PathBuf,
    pub alt: String,
}

impl OutgoingMedia {
    /// The image's bytes and what they are, read without leaving `posts/`
    /// and told by their content (see [`crate::posts::files`]). A link out
    /// of `posts/`, a missing file or one that is not an image is refused:
    /// retrying cannot help.
    pub async fn read(&self) -> Result<(Vec<u8>, ImageInfo), PublishError> {
        let (dir, rel) = (self.posts_dir.clone(), self.shown.clone());
        let shown = self.shown.display().to_string();
        tokio::task::spawn_blocking(move || {
            let root = files::root(&dir).map_err(|e| {
                PublishError::permanent(format!("image posts/{shown}: the posts folder {e}"))
            })?;
            let bytes = files::read_inside(&root, &rel, MAX_MEDIA_BYTES)
                .map_err(|e| PublishError::permanent(format!("image posts/{shown} {e}")))?;
            let info = files::sniff_image(&bytes).map_err(|what| {
                PublishError::permanent(format!("image posts/{shown} is {what}"))
            })?;
            Ok((bytes, info))
        })
        .await
        .map_err(|e| PublishError::Transient(format!("reading an image stopped: {e}")))?
    }
}

/// Why a publish did not succeed, sorted by what to do about it. One place
/// decides: each network maps its answers into these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Slow down: try again at `retry_at` (or after a backoff if unknown).
    #[error("rate limited: {message}")]
    RateLimited {
        retry_at: Option<DateTime<Utc>>,
        message: String,
    },
    /// Worth retrying with backoff: 5xx, timeouts, connection resets.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying cannot help (the server refused the request itself). With
    /// the HTTP status and the network's own error name when there were
    /// some, so no caller needs to read the message.
    #[error("refused: {message}")]
    Permanent {
        status: Option<u16>,
        code: Option<String>,
        message: String,
    },
    /// Nothing reached the network (no connection could be made): try
    /// again later, with no need to look whether it went out.
    #[error("not sent: {0}")]
    Unsent(String),
    /// Not ready yet (an image the server is still processing): ask again
    /// shortly.
    #[error("not ready: {0}")]
    NotReady(String),
    /// Credentials are missing, wrong or revoked: the target pauses.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The network blocks the account from posting (a policy or spam
    /// block, not a rate limit): the target pauses until a person has
    /// looked (Facebook's code 368, Instagram's 4/2207051).
    #[error("blocked: {0}")]
    Blocked(String),
    /// The network refused the text as one the account posted recently (X,
    /// LinkedIn): not retried, never a pause or a failure. `existing`: the
    /// post it duplicates, where the network names it (LinkedIn).
    #[error("refused as a duplicate: {message}")]
    Duplicate {
        message: String,
        existing: Option<Published>,
    },
    /// The slot's key already holds another post on the network (the slot
    /// was filled before, with other content): nothing was sent.
    #[error("the slot already holds another post ({})", existing.remote_id)]
    Conflict { existing: Published, text: String },
}

/// What a network says about a post whose fate is unknown (a crash, a
/// timeout, another process that stopped mid-send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It went out: here it is.
    Posted(Published),
    /// It certainly did not go out.
    NotPosted,
    /// The slot holds another post (its text): filled before, by another
    /// message (Bluesky, whose record key is the slot's).
    Other { existing: Published, text: String },
    /// Something like it is there, but not certainly it: a person decides.
    Unsure(String),
}

impl From<matching::Decision<Published>> for Lookup {
    fn from(d: matching::Decision<Published>) -> Self {
        match d {
            matching::Decision::Found(p) => Lookup::Posted(p),
            matching::Decision::Unsure(why) => Lookup::Unsure(why),
            matching::Decision::NotFound => Lookup::NotPosted,
        }
    }
}

impl PublishError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Transient(_) | Self::Unsent(_) | Self::NotReady(_)
        )
    }

    /// A refusal with no HTTP status (a file that cannot be read, say).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            status: None,
            code: None,
            message: message.into(),
        }
    }

    /// The HTTP status of a refusal, if the server gave one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Permanent { status, .. } => *status,
            _ => None,
        }
    }

    /// The thing asked for does not exist (404) or no longer does (410).
    pub fn is_not_found(&self) -> bool {
        matches!(self.status(), Some(404 | 410))
    }

    /// The same error, its message prefixed with what was being done.
    pub fn during(self, what: &str) -> Self {
        match self {
            Self::Permanent {
                status,
                code,
                message,
            } => Self::Permanent {
                status,
                code,
                message: format!("{what}: {message}"),
            },
            Self::Transient(m) => Self::Transient(format!("{what}: {m}")),
            Self::NotReady(m) => Self::NotReady(format!("{what}: {m}")),
            Self::Unsent(m) => Self::Unsent(format!("{what}: {m}")),
            Self::Auth(m) => Self::Auth(format!("{what}: {m}")),
            Self::Blocked(m) => Self::Blocked(format!("{what}: {m}")),
            other => other,
        }
    }
}

/// Which target a publisher posts for, and what its network is.
#[derive(Debug, Clone)]
pub struct TargetId {
    /// The target's name in the config.
    pub name: String,
    pub profile: &'static profile::Profile,
}

impl TargetId {
    pub fn new(name: &str, profile: &'static profile::Profile) -> TargetId {
        TargetId {
            name: name.to_string(),
            profile,
        }
    }
}

/// A network the bot posts to.
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Which target it posts for.
    fn target(&self) -> &TargetId;
    /// The target's name in the config.
    fn name(&self) -> &str {
        &self.target().name
    }
    /// What its network is (whether it has counts to collect, …).
    fn profile(&self) -> &'static profile::Profile {
        self.target().profile
    }
    /// The target's `kind`, as configured (`mastodon`, `bluesky`…): its
    /// network's first, unless the network has flavours.
    fn kind(&self) -> &'static str {
        self.profile().kinds.first().copied().unwrap_or("")
    }
    /// How the network counts length, and its limits: its profile's,
    /// unless its servers set their own.
    fn limits(&self) -> Limits {
        self.profile().limits
    }
    /// Posts once. Sending the same `intent_key` again must not make a
    /// second post (networks do this with idempotency keys or record keys).
    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError>;
    /// After a crash between sending and recording, or when another
    /// process stopped mid-send: did this post go out? Never guesses: what
    /// cannot be told for sure is [`Lookup::Unsure`].
    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError>;
    /// Checks the credentials; says which account they open.
    async fn verify(&self) -> Result<String, PublishError> {
        Ok("no credentials needed".into())
    }
    /// Asks the network for its current limits (Mastodon instances set
    /// their own); networks with fixed limits return them.
    async fn refresh_limits(&self) -> Result<Limits, PublishError> {
        Ok(self.limits())
    }
    /// How many posts one engagement call covers.
    fn engagement_batch(&self) -> usize {
        1
    }
    /// Requests left in the network's current rate-limit window, if known.
    fn remaining_calls(&self) -> Option<u64> {
        None
    }
    /// The account's follower count now, where the network gives one.
    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        Ok(None)
    }
    /// The counts of the posts with these remote ids, each answered with
    /// its counts or as gone. It may answer fewer (the rest are retried).
    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let _ = remote_ids;
        Ok(Vec::new())
    }
}

/// Why a publisher could not be built: the target cannot start. `run`
/// logs it and `validate` counts it as an error, in these same words.
#[derive(Debug, thiserror::Error)]
#[error("target {target} cannot start: {reason}")]
pub struct BuildError {
    pub target: String,
    pub reason: network::CannotStart,
}
