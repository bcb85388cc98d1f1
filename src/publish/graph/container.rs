//! Publishing in two steps (Threads, Instagram): a *container* is made
//! with the post, then published. Neither network has an idempotency key;
//! exactly once comes from recording the container with the intent before
//! it is published, and publishing only a recorded container. So:
//! - a crash before the container is recorded leaves one that nobody
//!   publishes (it expires in 24 h): a new one is made;
//! - a publish whose answer was lost is settled by the container's status:
//!   published means it went out (the post is then found among the
//!   account's posts since the intent), ready or in progress that it did
//!   not (the same container is published), failed or expired that a new
//!   one is needed;
//! - publishing too early is "not ready": the same container is published
//!   again shortly, never a new one.
//!
//! A spent publishing quota (asked at most hourly before posting) waits
//! rather than fails. Such a network implements [`Containers`]; its
//! [`Publisher`] is the one here.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::QuotaCache;
use super::session::{Recent, Session};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::publish::matching::Decision;
use crate::publish::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::store::Kept;

/// What the bot keeps of a post's container, by intent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub container: String,
    /// The published post's id, once the publish answered.
    #[serde(default)]
    pub media: Option<String>,
}

/// Where a container stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Still being made (an image being fetched).
    InProgress,
    /// Made, not published.
    Ready,
    /// Published.
    Published,
    /// It cannot be published (an error, expired): a new one is needed.
    Dead(String),
}

impl State {
    /// A container's status as Threads (`status`, `error_message`) and
    /// Instagram (`status_code`, `status`) give it.
    pub fn of(status: Option<&str>, message: Option<String>) -> State {
        match status {
            Some("PUBLISHED") => State::Published,
            Some("IN_PROGRESS") => State::InProgress,
            Some(s @ ("ERROR" | "EXPIRED")) => State::Dead(format!(
                "{s}{}",
                message.map(|m| format!(": {m}")).unwrap_or_default()
            )),
            _ => State::Ready,
        }
    }
}

/// Where an account makes, publishes and counts its containers, below its
/// owner's id (`/{owner}/{edge}`), and how a container's status reads.
#[derive(Debug)]
pub struct Edges {
    /// Makes a container (`media`, `threads`).
    pub create: &'static str,
    /// Publishes one (`media_publish`, `threads_publish`).
    pub publish: &'static str,
    /// The publishing quota (`content_publishing_limit`, …) and the
    /// fields asked of it, in the order the network's docs give them.
    pub quota: (&'static str, &'static str),
    /// A container's status field and its message field (Instagram:
    /// `status_code`, `status`; Threads: `status`, `error_message`).
    pub status: (&'static str, &'static str),
    /// The account's posts, where a post is looked for.
    pub recent: Recent,
}

/// What each two-step target holds alike.
pub struct Parts {
    pub target: TargetId,
    /// Its Graph API calls.
    pub api: Session,
    /// The publishing quota as last asked.
    pub quota: QuotaCache,
    /// Where its containers are kept, under `prefix`
    /// (`threads_container:`).
    pub kept: Kept,
    pub prefix: &'static str,
}

impl Parts {
    pub fn new(target: TargetId, api: Session, kept: Kept, prefix: &'static str) -> Parts {
        Parts {
            target,
            api,
            quota: QuotaCache::default(),
            kept,
            prefix,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.api = self.api.with_clock(clock);
        self
    }
}

/// A network that publishes in two steps: what it says and asks its own
/// way. The rest of its [`Publisher`] is the same for each, below.
#[async_trait]
pub trait Containers: Send + Sync {
    /// Its edges.
    const EDGES: Edges;
    /// What to say when the account's publishing quota is spent.
    const QUOTA_SPENT: &'static str;
    fn parts(&self) -> &Parts;
    /// The id the edges are under (the account's).
    async fn owner(&self) -> Result<String, PublishError>;
    /// The form that makes the post's container.
    async fn container_form(
        &self,
        post: &Outgoing,
    ) -> Result<Vec<(&'static str, String)>, PublishError>;
    /// The account, as `verify` names it.
    async fn account(&self) -> Result<String, PublishError>;
    async fn follower_count(&self) -> Result<Option<u64>, PublishError>;
    /// One post's counts.
    async fn post_counts(&self, id: String) -> Result<Counts, PublishError>;
}

/// The post's address, where it can be asked.
async fn permalink<C: Containers>(c: &C, media: &str) -> Option<String> {
    let p = c.parts();
    p.api.permalink(&p.target.name, media, "id,permalink").await
}

/// The post among the account's posts since the intent, by its words.
async fn find_posted<C: Containers>(
    c: &C,
    post: &Outgoing,
) -> Result<Decision<Published>, PublishError> {
    let owner = c.owner().await?;
    c.parts().api.look_for(post, &owner, &C::EDGES.recent).await
}

/// Posts left in the account's rolling 24 h, asked at most hourly; `None`
/// when it cannot be told.
async fn posts_left<C: Containers>(c: &C) -> Option<u64> {
    let owner = c.owner().await.ok()?;
    let (edge, fields) = C::EDGES.quota;
    let p = c.parts();
    let path = format!("/{owner}/{edge}");
    p.api
        .posts_left(&p.target.name, &p.quota, &path, fields)
        .await
}

/// Where a container stands.
async fn state<C: Containers>(c: &C, container: &str) -> Result<State, PublishError> {
    let (status, message) = C::EDGES.status;
    let answer: serde_json::Value = c
        .parts()
        .api
        .fields(
            "asking the container's status",
            container,
            &format!("{status},{message}"),
        )
        .await?;
    let text = |k: &str| answer.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(State::of(text(status).as_deref(), text(message)))
}

/// Publishes a container; the post's id.
async fn publish_container<C: Containers>(c: &C, container: &str) -> Result<String, PublishError> {
    let owner = c.owner().await?;
    let path = format!("/{owner}/{}", C::EDGES.publish);
    let p = c.parts();
    p.api.publish_container(&p.quota, &path, container).await
}

#[async_trait]
impl<C: Containers> Publisher for C {
    fn target(&self) -> &TargetId {
        &self.parts().target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        if posts_left(self).await == Some(0) {
            return Err(self.parts().api.quota_spent(Self::QUOTA_SPENT));
        }
        publish(self, post).await
    }

    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        find_published(self, post).await
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let who = self.account().await?;
        Ok(match posts_left(self).await {
            Some(left) => format!("{who}, {left} API posts left in the last 24 hours"),
            None => who,
        })
    }

    fn remaining_calls(&self) -> Option<u64> {
        self.parts().api.graph.calls_left()
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        self.follower_count().await
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        super::each_post(remote_ids, |id| self.post_counts(id)).await
    }
}

fn step<C: Containers>(c: &C, intent_key: &str) -> Result<Option<Step>, PublishError> {
    let p = c.parts();
    let raw = p
        .kept
        .get(&format!("{}{intent_key}", p.prefix))
        .map_err(|e| PublishError::Transient(format!("reading the state store: {e}")))?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

fn keep<C: Containers>(c: &C, intent_key: &str, step: &Step) -> Result<(), PublishError> {
    let p = c.parts();
    let json = serde_json::to_string(step).expect("a step serialises");
    p.kept
        .set(&format!("{}{intent_key}", p.prefix), &json)
        .map_err(|e| PublishError::Transient(format!("recording the container: {e}")))
}

/// Makes a container and records it before anything else.
async fn create<C: Containers>(c: &C, post: &Outgoing) -> Result<String, PublishError> {
    let form = c.container_form(post).await?;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let path = format!("/{}/{}", c.owner().await?, C::EDGES.create);
    let made: super::Id = c
        .parts()
        .api
        .post_form("making the container", &path, &form)
        .await?;
    let container = made.id;
    keep(
        c,
        &post.intent_key,
        &Step {
            container: container.clone(),
            media: None,
        },
    )?;
    Ok(container)
}

/// Publishes `post` once, through its recorded container.
pub async fn publish<C: Containers>(c: &C, post: &Outgoing) -> Result<Published, PublishError> {
    let container = match step(c, &post.intent_key)? {
        None => create(c, post).await?,
        Some(Step {
            media: Some(media), ..
        }) => {
            return Ok(Published {
                url: permalink(c, &media).await,
                remote_id: media,
            });
        }
        Some(step) => match state(c, &step.container).await? {
            State::Published => {
                return match find_posted(c, post).await? {
                    Decision::Found(p) => Ok(p),
                    // The daemon looks again, and asks a person.
                    _ => Err(PublishError::Transient(format!(
                        "its container {} says it is published, but the post is not among the account's posts yet",
                        step.container
                    ))),
                };
            }
            State::Dead(why) => {
                tracing::info!(
                    target_name = c.parts().target.name,
                    container = step.container,
                    why,
                    "the container cannot be published; making a new one"
                );
                create(c, post).await?
            }
            State::InProgress => {
                return Err(PublishError::NotReady(
                    "the container is still being made".into(),
                ));
            }
            State::Ready => step.container,
        },
    };
    let media = publish_container(c, &container).await?;
    keep(
        c,
        &post.intent_key,
        &Step {
            container,
            media: Some(media.clone()),
        },
    )?;
    Ok(Published {
        url: permalink(c, &media).await,
        remote_id: media,
    })
}

/// Whether `post` went out: what its recorded container says.
pub async fn find_published<C: Containers>(c: &C, post: &Outgoing) -> Result<Lookup, PublishError> {
    let Some(step) = step(c, &post.intent_key)? else {
        // No container was recorded: none can have been published.
        return Ok(Lookup::NotPosted);
    };
    if let Some(media) = step.media {
        return Ok(Lookup::Posted(Published {
            url: permalink(c, &media).await,
            remote_id: media,
        }));
    }
    match state(c, &step.container).await? {
        State::Published => Ok(match find_posted(c, post).await? {
            Decision::NotFound => Lookup::Unsure(format!(
                "its container {} says it is published, but the post is not among the account's posts",
                step.container
            )),
            found => found.into(),
        }),
        _ => Ok(Lookup::NotPosted),
    }
}
