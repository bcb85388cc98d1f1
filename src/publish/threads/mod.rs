//! Threads (Meta), through the Threads API (`graph.threads.net/v1.0`)
//! with a long-lived user token (60 days, refreshed by the bot once it is
//! a day old).
//!
//! Two steps: a *container* is made with the text (and an image, by its
//! public address under `media_base_url`), then published. Exactly once
//! without a key: the container's id is recorded with the intent before it
//! is published, and only a recorded container is ever published. So:
//! - a crash before the container is recorded leaves one that nobody
//!   publishes (it expires in 24 h): a new one is made;
//! - a publish whose answer was lost is settled by the container's
//!   `status`: `PUBLISHED` means it went out (the post is then found among
//!   the account's threads since the intent), `FINISHED` or `IN_PROGRESS`
//!   that it did not (the same container is published), `ERROR` or
//!   `EXPIRED` that a new one is needed;
//! - publishing too early (400, code 24, subcode 4279009 "Media Not
//!   Found", even for text) is "not ready": the same container is
//!   published again shortly, never a new one.
//!
//! Length: 500, emoji counted as their UTF-8 bytes (Meta's docs); the docs
//! do not say how Arabic counts, so every character counts as its bytes
//! here, the conservative reading ([`LIMITS`]); at most 5 links.
//! Only the first hashtag becomes the post's topic: it is sent as
//! `topic_tag`. Engagement: `/{media}/insights` (views, likes, replies,
//! reposts, quotes), one call per post. The account may publish 250 posts
//! in 24 h through the API: the quota is asked at most hourly before
//! posting, and a spent one waits rather than failing.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::http::{self, Http};
use super::matching;
use super::oauth::{KeptToken, TokenAnswer, TokenSet};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::render::{Count, Limits, Rule, find_hashtags};
use crate::secret::Secret;
use crate::store::Kept;

pub mod home;
pub use home::{Home, Settings};

/// Threads': 500, emoji counted as their UTF-8 bytes by Meta's docs; every
/// other character is counted as its bytes here too, the conservative
/// reading, since the docs do not say how Arabic counts; at most 5 links.
pub const LIMITS: Limits = Limits::of(&[
    Rule::at_most(500, Count::Bytes),
    Rule::at_most(5, Count::Links),
]);

/// The API version in every path but the token refresh's.
pub const VERSION: &str = "v1.0";
/// A long-lived token is refreshed once it is this old (Meta allows it
/// from 24 h on; it then lasts 60 days from the refresh).
pub const REFRESH_AFTER: chrono::Duration = chrono::Duration::hours(24);

pub struct Threads {
    target: TargetId,
    api_url: String,
    token: Arc<KeptToken>,
    /// Public address of the posts folder's images, if any.
    media_base_url: Option<String>,
    http: Http,
    kept: Kept,
    me: OnceLock<User>,
    /// The publishing quota as last asked: (posts left, when asked).
    quota: std::sync::Mutex<Option<(u64, DateTime<Utc>)>>,
    clock: Clock,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: String,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Id {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ContainerStatus {
    status: Option<String>,
    error_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Media {
    id: String,
    permalink: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

/// `threads_publishing_limit`'s answer (publishing_limit.json).
#[derive(Debug, Deserialize)]
struct Quota {
    quota_usage: Option<u64>,
    config: Option<QuotaConfig>,
}

#[derive(Debug, Deserialize)]
struct QuotaConfig {
    quota_total: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Insight {
    name: String,
    #[serde(default)]
    values: Vec<Value>,
    total_value: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Value {
    value: Option<u64>,
}

impl Insight {
    fn value(&self) -> Option<u64> {
        self.values
            .first()
            .and_then(|v| v.value)
            .or_else(|| self.total_value.as_ref().and_then(|v| v.value))
    }
}

/// Meta's error body: `{"error": {message, type, code, error_subcode,
/// is_transient, error_user_msg}}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<MetaError>,
}

#[derive(Debug, Default, Deserialize)]
struct MetaError {
    message: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    #[serde(default)]
    is_transient: bool,
    error_user_msg: Option<String>,
}

/// What the bot keeps of a post's container, by intent, in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    container: String,
    /// The published post's id, once `threads_publish` answered.
    #[serde(default)]
    media: Option<String>,
}

fn step_key(intent_key: &str) -> String {
    format!("threads_container:{intent_key}")
}

impl Threads {
    pub fn new(
        name: &str,
        api_url: &str,
        token: Arc<KeptToken>,
        media_base_url: Option<String>,
        kept: Kept,
    ) -> Self {
        Threads {
            target: TargetId::new(name, &home::PROFILE),
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            media_base_url,
            http: Http::new(http::REQUEST_TIMEOUT),
            kept,
            me: OnceLock::new(),
            quota: std::sync::Mutex::new(None),
            clock: Clock::System,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{VERSION}{path}", self.api_url)
    }

    /// The access token, refreshed first once it is a day old.
    async fn access(&self) -> Result<Secret, PublishError> {
        let now = self.clock.now();
        self.token
            .fresh(now, refresh_due, |old| self.refresh(old, now))
            .await
    }

    /// `GET /refresh_access_token?grant_type=th_refresh_token` (no
    /// version in this path).
    async fn refresh(&self, old: TokenSet, now: DateTime<Utc>) -> Result<TokenSet, PublishError> {
        let url = format!("{}/refresh_access_token", self.api_url);
        let answer = self
            .http
            .send(true, |c| {
                c.get(&url).query(&[
                    ("grant_type", "th_refresh_token"),
                    ("access_token", old.access_token.as_str()),
                ])
            })
            .await
            .map_err(|e| http::transport(&e.without_url()).during("refreshing the token"))?;
        let (status, body) = (answer.status(), answer.text().await.unwrap_or_default());
        if !status.is_success() {
            return Err(self
                .error(status, &reqwest::header::HeaderMap::new(), &body)
                .during("refreshing the token"));
        }
        let a: TokenAnswer = serde_json::from_str(&body).map_err(|e| {
            PublishError::Transient(format!(
                "refreshing the token: an answer that cannot be read: {e}"
            ))
        })?;
        Ok(TokenSet::from_answer(a, now, Some(&old)))
    }

    /// Sends a request (the token added as `access_token`) and reads the
    /// answer as `T`.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        idempotent: bool,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let token = self.access().await?;
        let answer = self
            .http
            .send(idempotent, |c| build(c, token.expose()))
            .await
            // The token travels in the address or body: never show either.
            .map_err(|e| http::transport(&e.without_url()).during(what))?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer
            .text()
            .await
            .map_err(|e| http::transport(&e.without_url()).during(what))?;
        if status.is_success() {
            return serde_json::from_str(&body).map_err(|e| {
                PublishError::Transient(format!("{what}: an answer that cannot be read: {e}"))
            });
        }
        Err(self.error(status, &headers, &body).during(what))
    }

    /// Sorts Meta's error answers.
    fn error(
        &self,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &str,
    ) -> PublishError {
        let e = serde_json::from_str::<ErrorBody>(body)
            .unwrap_or_default()
            .error
            .unwrap_or_default();
        let said = e
            .error_user_msg
            .clone()
            .or(e.message.clone())
            .unwrap_or_else(|| http::readable_body(body));
        let message = format!("{} {said}", status.as_u16());
        match (e.code, e.error_subcode) {
            // Published before the container was ready.
            (Some(24), Some(4_279_009)) => PublishError::NotReady(format!(
                "{message} (the container is not ready yet; the same one is published again shortly)"
            )),
            // Expired or revoked token, or a permission taken away.
            (Some(190 | 102 | 10), _) | (Some(200..=299), _) => PublishError::Auth(format!(
                "{message}: the token is expired, revoked or lacks a permission (threads_basic, threads_content_publish, threads_manage_insights); run `campaign-bot login threads`"
            )),
            // Meta's rate limits (application, user, API calls, posts).
            (Some(4 | 17 | 32 | 613), _) => PublishError::RateLimited {
                retry_at: http::retry_at(headers, self.clock.now()),
                message,
            },
            (Some(1 | 2), _) => PublishError::Transient(message),
            _ if e.is_transient => PublishError::Transient(message),
            (Some(code), sub)
                if status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 429) =>
            {
                PublishError::Permanent {
                    status: Some(status.as_u16()),
                    code: Some(match sub {
                        Some(s) => format!("{code}/{s}"),
                        None => code.to_string(),
                    }),
                    message,
                }
            }
            _ => http::classify(status, headers, body, self.clock.now()),
        }
    }

    /// The account the token opens (asked once).
    async fn me(&self) -> Result<&User, PublishError> {
        if let Some(me) = self.me.get() {
            return Ok(me);
        }
        let user: User = self
            .call("who the token is", true, |c, t| {
                c.get(self.url("/me"))
                    .query(&[("fields", "id,username"), ("access_token", t)])
            })
            .await?;
        Ok(self.me.get_or_init(|| user))
    }

    fn step(&self, intent_key: &str) -> Result<Option<Step>, PublishError> {
        let raw = self
            .kept
            .get(&step_key(intent_key))
            .map_err(|e| PublishError::Transient(format!("reading the state store: {e}")))?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    fn keep_step(&self, intent_key: &str, step: &Step) -> Result<(), PublishError> {
        let json = serde_json::to_string(step).expect("a step serialises");
        self.kept
            .set(&step_key(intent_key), &json)
            .map_err(|e| PublishError::Transient(format!("recording the container: {e}")))
    }

    /// Posts left in the account's rolling 24 h (250 API posts a day),
    /// asked at most hourly; `None` when it cannot be told.
    async fn posts_left(&self) -> Option<u64> {
        let now = self.clock.now();
        if let Some((left, at)) = *self.quota.lock().expect("not poisoned")
            && now - at < QUOTA_FRESH
        {
            return Some(left);
        }
        let me = self.me().await.ok()?.id.clone();
        let asked: Result<List<Quota>, _> = self
            .call("the publishing quota", true, |c, t| {
                c.get(self.url(&format!("/{me}/threads_publishing_limit")))
                    .query(&[("fields", "quota_usage,config"), ("access_token", t)])
            })
            .await;
        let q = match asked {
            Ok(list) => list.data.into_iter().next()?,
            Err(e) => {
                tracing::debug!(target_name = self.target.name, error = %e, "cannot ask the publishing quota; posting without it");
                return None;
            }
        };
        let left = q
            .config
            .and_then(|c| c.quota_total)?
            .saturating_sub(q.quota_usage.unwrap_or(0));
        *self.quota.lock().expect("not poisoned") = Some((left, now));
        Some(left)
    }

    /// Counts a post against the quota as last asked.
    fn used_one(&self) {
        if let Some((left, _)) = self.quota.lock().expect("not poisoned").as_mut() {
            *left = left.saturating_sub(1);
        }
    }

    /// Makes the post's container and records it before anything else.
    async fn create_container(&self, post: &Outgoing) -> Result<String, PublishError> {
        let me = self.me().await?.id.clone();
        let mut form: Vec<(&str, String)> = vec![("text", post.text.clone())];
        match self.image_url(post) {
            Some(url) => {
                form.push(("media_type", "IMAGE".into()));
                form.push(("image_url", url));
                if let Some(alt) = post.media.first().map(|m| m.alt.clone()) {
                    form.push(("alt_text", alt));
                }
            }
            None => form.push(("media_type", "TEXT".into())),
        }
        if let Some(tag) = topic_tag(&post.text) {
            form.push(("topic_tag", tag));
        }
        // The form body, not the query string: a `#` there would cut the
        // text short.
        let made: Id = self
            .call("making the container", false, |c, t| {
                let mut body = form.clone();
                body.push(("access_token", t.to_string()));
                c.post(self.url(&format!("/{me}/threads"))).form(&body)
            })
            .await?;
        self.keep_step(
            &post.intent_key,
            &Step {
                container: made.id.clone(),
                media: None,
            },
        )?;
        Ok(made.id)
    }

    /// The public address of the post's first image, where the target has
    /// a `media_base_url`.
    fn image_url(&self, post: &Outgoing) -> Option<String> {
        let base = self.media_base_url.as_deref()?;
        let image = post.media.first()?;
        let path: Vec<String> = image
            .shown
            .components()
            .map(|c| url_escape(&c.as_os_str().to_string_lossy()))
            .collect();
        Some(format!("{}/{}", base.trim_end_matches('/'), path.join("/")))
    }

    async fn container_status(&self, container: &str) -> Result<ContainerStatus, PublishError> {
        self.call("asking the container's status", true, |c, t| {
            c.get(self.url(&format!("/{container}")))
                .query(&[("fields", "status,error_message"), ("access_token", t)])
        })
        .await
    }

    async fn permalink(&self, media: &str) -> Option<String> {
        let found: Result<Media, _> = self
            .call("asking the post's address", true, |c, t| {
                c.get(self.url(&format!("/{media}")))
                    .query(&[("fields", "id,permalink"), ("access_token", t)])
            })
            .await;
        match found {
            Ok(m) => m.permalink,
            Err(e) => {
                tracing::warn!(target_name = self.target.name, error = %e, "posted, but its address could not be asked");
                None
            }
        }
    }

    /// Looks for the post among the account's threads since the intent.
    async fn find_in_threads(
        &self,
        post: &Outgoing,
    ) -> Result<matching::Decision<Published>, PublishError> {
        let me = self.me().await?.id.clone();
        let since = (post.not_before - chrono::Duration::seconds(60))
            .timestamp()
            .to_string();
        let list: List<Media> = self
            .call("looking for the post", true, |c, t| {
                c.get(self.url(&format!("/{me}/threads"))).query(&[
                    ("fields", "id,permalink,text,timestamp"),
                    ("since", since.as_str()),
                    ("limit", "100"),
                    ("access_token", t),
                ])
            })
            .await?;
        // The account's own threads since the intent, by their words only
        // (what Threads may change is no evidence against a post).
        let candidates = list
            .data
            .into_iter()
            .rev()
            .map(|m| matching::Candidate {
                text: matching::compare_plain(&post.text, m.text.as_deref().unwrap_or_default()),
                agreeing: 0,
                shown: m.permalink.clone().unwrap_or_else(|| m.id.clone()),
                found: Published {
                    remote_id: m.id,
                    url: m.permalink,
                },
            })
            .collect();
        Ok(matching::decide(candidates))
    }

    /// What the recorded container says of the post.
    async fn lookup_step(&self, post: &Outgoing, step: &Step) -> Result<Lookup, PublishError> {
        if let Some(media) = &step.media {
            return Ok(Lookup::Posted(Published {
                url: self.permalink(media).await,
                remote_id: media.clone(),
            }));
        }
        let status = self.container_status(&step.container).await?;
        match status.status.as_deref() {
            Some("PUBLISHED") => Ok(match self.find_in_threads(post).await? {
                matching::Decision::NotFound => Lookup::Unsure(format!(
                    "its container {} says PUBLISHED, but the post is not among the account's threads",
                    step.container
                )),
                found => found.into(),
            }),
            _ => Ok(Lookup::NotPosted),
        }
    }
}

/// How long a publishing quota asked is trusted.
const QUOTA_FRESH: chrono::Duration = chrono::Duration::hours(1);

/// Whether a token is due a refresh: a day old, or of unknown age.
pub fn refresh_due(token: &TokenSet, now: DateTime<Utc>) -> bool {
    token.issued_at.is_none_or(|t| now - t >= REFRESH_AFTER)
}

/// The first hashtag of a text, without its `#` (Threads makes only one
/// the post's topic).
pub fn topic_tag(text: &str) -> Option<String> {
    find_hashtags(text)
        .into_iter()
        .next()
        .map(|r| text[r].trim_start_matches(['#', '＃']).to_string())
        .filter(|t| !t.is_empty() && !t.contains(['.', '&']))
}

/// Percent-escapes one path segment.
fn url_escape(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl Publisher for Threads {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        if self.posts_left().await == Some(0) {
            return Err(PublishError::RateLimited {
                retry_at: Some(self.clock.now() + QUOTA_FRESH),
                message: "the account's 250 API posts of the last 24 hours are used; trying again in an hour".into(),
            });
        }
        let container = match self.step(&post.intent_key)? {
            None => self.create_container(post).await?,
            Some(Step {
                media: Some(media), ..
            }) => {
                return Ok(Published {
                    url: self.permalink(&media).await,
                    remote_id: media,
                });
            }
            Some(step) => {
                let status = self.container_status(&step.container).await?;
                match status.status.as_deref() {
                    Some("PUBLISHED") => {
                        return match self.find_in_threads(post).await? {
                            matching::Decision::Found(p) => Ok(p),
                            // The daemon looks again, and asks a person.
                            _ => Err(PublishError::Transient(format!(
                                "its container {} says PUBLISHED, but the post is not among the account's threads yet",
                                step.container
                            ))),
                        };
                    }
                    Some("ERROR" | "EXPIRED") => {
                        tracing::info!(target_name = self.target.name, container = step.container, status = ?status.status, error = ?status.error_message, "the container cannot be published; making a new one");
                        self.create_container(post).await?
                    }
                    Some("IN_PROGRESS") => {
                        return Err(PublishError::NotReady(
                            "the container is still being made".into(),
                        ));
                    }
                    _ => step.container,
                }
            }
        };
        let me = self.me().await?.id.clone();
        let published: Id = self
            .call("publishing", false, |c, t| {
                c.post(self.url(&format!("/{me}/threads_publish")))
                    .form(&[("creation_id", container.as_str()), ("access_token", t)])
            })
            .await?;
        self.used_one();
        self.keep_step(
            &post.intent_key,
            &Step {
                container,
                media: Some(published.id.clone()),
            },
        )?;
        Ok(Published {
            url: self.permalink(&published.id).await,
            remote_id: published.id,
        })
    }

    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        match self.step(&post.intent_key)? {
            // No container was recorded: none can have been published.
            None => Ok(Lookup::NotPosted),
            Some(step) => self.lookup_step(post, &step).await,
        }
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let me = self.me().await?;
        let who = match &me.username {
            Some(u) => format!("@{u}"),
            None => format!("account {}", me.id),
        };
        Ok(match self.posts_left().await {
            Some(left) => format!("{who}, {left} API posts left in the last 24 hours"),
            None => who,
        })
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        let me = self.me().await?.id.clone();
        let answer: List<Insight> = self
            .call("the follower count", true, |c, t| {
                c.get(self.url(&format!("/{me}/threads_insights")))
                    .query(&[("metric", "followers_count"), ("access_token", t)])
            })
            .await?;
        Ok(answer
            .data
            .iter()
            .find(|i| i.name == "followers_count")
            .and_then(Insight::value))
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let mut out = Vec::new();
        for id in remote_ids {
            let answer: Result<List<Insight>, _> = self
                .call("engagement", true, |c, t| {
                    c.get(self.url(&format!("/{id}/insights"))).query(&[
                        ("metric", "views,likes,replies,reposts,quotes,shares"),
                        ("access_token", t),
                    ])
                })
                .await;
            let insights = match answer {
                Ok(a) => a.data,
                // A post deleted (or never there): code 100, subcode 33.
                Err(PublishError::Permanent {
                    code: Some(code), ..
                }) if code == "100/33" => {
                    out.push((id.clone(), Check::Gone));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let get = |name: &str| {
                insights
                    .iter()
                    .find(|i| i.name == name)
                    .and_then(Insight::value)
            };
            out.push((
                id.clone(),
                Check::Counts(Counts {
                    likes: get("likes").unwrap_or(0),
                    reposts: get("reposts").unwrap_or(0),
                    replies: get("replies").unwrap_or(0),
                    quotes: get("quotes"),
                    views: get("views"),
                    clicks: None,
                    shares: get("shares"),
                }),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_hashtag_is_the_topic() {
        assert_eq!(
            topic_tag("Cities welcome all.\n\n#WeTogether #Cities4Migration").as_deref(),
            Some("WeTogether")
        );
        assert_eq!(topic_tag("no tag"), None);
    }

    #[test]
    fn a_token_is_refreshed_once_a_day_old() {
        let now: DateTime<Utc> = "2026-12-10T12:00:00Z".parse().unwrap();
        let token = |issued: Option<&str>| TokenSet {
            access_token: "t".into(),
            refresh_token: None,
            expires_at: None,
            issued_at: issued.map(|s| s.parse().unwrap()),
            refresh_expires_at: None,
        };
        assert!(!refresh_due(&token(Some("2026-12-10T00:00:00Z")), now));
        assert!(refresh_due(&token(Some("2026-12-09T12:00:00Z")), now));
        assert!(refresh_due(&token(None), now));
    }
}
