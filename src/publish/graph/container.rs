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

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::Published;
use crate::publish::matching::Decision;
use crate::publish::{Lookup, Outgoing, PublishError};
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

/// A network that publishes in two steps.
#[async_trait]
pub trait Containers: Send + Sync {
    /// The target's name, for the log.
    fn target_name(&self) -> &str;
    /// Where its records are kept, and under which prefix
    /// (`threads_container:`).
    fn kept(&self) -> (&Kept, &'static str);
    /// Makes the post's container; its id.
    async fn create(&self, post: &Outgoing) -> Result<String, PublishError>;
    async fn state(&self, container: &str) -> Result<State, PublishError>;
    /// Publishes a container; the post's id.
    async fn publish_container(&self, container: &str) -> Result<String, PublishError>;
    /// The post among the account's posts since the intent, by its words.
    async fn find_posted(&self, post: &Outgoing) -> Result<Decision<Published>, PublishError>;
    /// The post's address, where it can be asked.
    async fn permalink(&self, media: &str) -> Option<String>;
}

fn step<C: Containers + ?Sized>(c: &C, intent_key: &str) -> Result<Option<Step>, PublishError> {
    let (kept, prefix) = c.kept();
    let raw = kept
        .get(&format!("{prefix}{intent_key}"))
        .map_err(|e| PublishError::Transient(format!("reading the state store: {e}")))?;
    Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
}

fn keep<C: Containers + ?Sized>(c: &C, intent_key: &str, step: &Step) -> Result<(), PublishError> {
    let (kept, prefix) = c.kept();
    let json = serde_json::to_string(step).expect("a step serialises");
    kept.set(&format!("{prefix}{intent_key}"), &json)
        .map_err(|e| PublishError::Transient(format!("recording the container: {e}")))
}

/// Makes a container and records it before anything else.
async fn create<C: Containers + ?Sized>(c: &C, post: &Outgoing) -> Result<String, PublishError> {
    let container = c.create(post).await?;
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
pub async fn publish<C: Containers + ?Sized>(
    c: &C,
    post: &Outgoing,
) -> Result<Published, PublishError> {
    let container = match step(c, &post.intent_key)? {
        None => create(c, post).await?,
        Some(Step {
            media: Some(media), ..
        }) => {
            return Ok(Published {
                url: c.permalink(&media).await,
                remote_id: media,
            });
        }
        Some(step) => match c.state(&step.container).await? {
            State::Published => {
                return match c.find_posted(post).await? {
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
                    target_name = c.target_name(),
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
    let media = c.publish_container(&container).await?;
    keep(
        c,
        &post.intent_key,
        &Step {
            container,
            media: Some(media.clone()),
        },
    )?;
    Ok(Published {
        url: c.permalink(&media).await,
        remote_id: media,
    })
}

/// Whether `post` went out: what its recorded container says.
pub async fn find_published<C: Containers + ?Sized>(
    c: &C,
    post: &Outgoing,
) -> Result<Lookup, PublishError> {
    let Some(step) = step(c, &post.intent_key)? else {
        // No container was recorded: none can have been published.
        return Ok(Lookup::NotPosted);
    };
    if let Some(media) = step.media {
        return Ok(Lookup::Posted(Published {
            url: c.permalink(&media).await,
            remote_id: media,
        }));
    }
    match c.state(&step.container).await? {
        State::Published => Ok(match c.find_posted(post).await? {
            Decision::NotFound => Lookup::Unsure(format!(
                "its container {} says it is published, but the post is not among the account's posts",
                step.container
            )),
            found => found.into(),
        }),
        _ => Ok(Lookup::NotPosted),
    }
}
