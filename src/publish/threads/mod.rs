//! Threads (Meta), through the Threads API (`graph.threads.net/v1.0`)
//! with a long-lived user token (60 days, refreshed by the bot once it is
//! a day old).
//!
//! Two steps: a *container* is made with the text (and an image, by its
//! public address under `media_base_url`), then published, exactly once as
//! [`super::graph::container`] keeps it: the container recorded with the
//! intent before it is published, its `status` (`PUBLISHED`, `FINISHED`,
//! `IN_PROGRESS`, `ERROR`, `EXPIRED`) settling a lost answer. Publishing
//! too early (400, code 24, subcode 4279009 "Media Not Found", even for
//! text) is "not ready": the same container is published again shortly.
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
use serde::Deserialize;

use super::graph::container::{self, Containers, State};
use super::graph::session::{self, Listed, Renewal, Session};
use super::graph::{self, Graph, Id, Insight, List, Product, QuotaCache};
use super::matching;
use super::oauth::{KeptToken, TokenSet};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::render::{Count, Limits, Rule, find_hashtags};
use crate::store::Kept;

pub mod home;
pub mod login;
pub use home::{PROFILE, Raw, Settings};

/// Threads': 500, emoji counted as their UTF-8 bytes by Meta's docs; every
/// other character is counted as its bytes here too, the conservative
/// reading, since the docs do not say how Arabic counts; at most 5 links.
pub const LIMITS: Limits = Limits::of(&[
    Rule::at_most(500, Count::Bytes),
    Rule::at_most(5, Count::Links),
]);

/// The API version in every path but the token refresh's.
pub const VERSION: &str = "v1.0";
/// How far before the intent the account's threads are looked through
/// (clocks differ).
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// A long-lived token is refreshed once it is this old (Meta allows it
/// from 24 h on; it then lasts 60 days from the refresh).
pub const REFRESH_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What Threads says differently from the rest of Meta's family.
static PRODUCT: Product = Product {
    name: "Threads",
    login: "campaign-bot login threads",
    permissions: "threads_basic, threads_content_publish, threads_manage_insights",
    not_ready: &[(24, 4_279_009)],
    blocked: &[],
};

pub struct Threads {
    target: TargetId,
    api: Session,
    /// Public address of the posts folder's images, if any.
    media_base_url: Option<String>,
    kept: Kept,
    me: OnceLock<User>,
    quota: QuotaCache,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: String,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContainerStatus {
    status: Option<String>,
    error_message: Option<String>,
}

impl Threads {
    pub fn new(
        name: &str,
        api_url: &str,
        token: Arc<KeptToken>,
        media_base_url: Option<String>,
        kept: Kept,
    ) -> Self {
        let graph = Graph::new(api_url, VERSION, &PRODUCT);
        // `GET /refresh_access_token?grant_type=th_refresh_token` (no
        // version in this path).
        let renewal = Renewal {
            url: graph.unversioned("/refresh_access_token"),
            grant_type: "th_refresh_token",
            due: refresh_due,
        };
        Threads {
            target: TargetId::new(name, &home::PROFILE),
            api: Session::new(graph, token, Some(renewal)),
            media_base_url,
            kept,
            me: OnceLock::new(),
            quota: QuotaCache::default(),
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.api = self.api.with_clock(clock);
        self
    }

    /// The account the token opens (asked once).
    async fn me(&self) -> Result<&User, PublishError> {
        if let Some(me) = self.me.get() {
            return Ok(me);
        }
        let user: User = self
            .api
            .get("who the token is", "/me", &[("fields", "id,username")])
            .await?;
        Ok(self.me.get_or_init(|| user))
    }

    /// Posts left in the account's rolling 24 h (250 API posts a day),
    /// asked at most hourly; `None` when it cannot be told.
    async fn posts_left(&self) -> Option<u64> {
        let me = self.me().await.ok()?.id.clone();
        let path = format!("/{me}/threads_publishing_limit");
        self.api
            .posts_left(&self.target.name, &self.quota, &path, "quota_usage,config")
            .await
    }

    /// The public address of the post's first image, where the target has
    /// a `media_base_url`.
    fn image_url(&self, post: &Outgoing) -> Option<String> {
        let base = self.media_base_url.as_deref()?;
        Some(graph::public_url(base, &post.media.first()?.shown))
    }
}

#[async_trait]
impl Containers for Threads {
    fn target_name(&self) -> &str {
        &self.target.name
    }
    fn kept(&self) -> (&Kept, &'static str) {
        (&self.kept, "threads_container:")
    }

    async fn create(&self, post: &Outgoing) -> Result<String, PublishError> {
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
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let made: Id = self
            .api
            .post_form("making the container", &format!("/{me}/threads"), &form)
            .await?;
        Ok(made.id)
    }

    async fn state(&self, container: &str) -> Result<State, PublishError> {
        let status: ContainerStatus = self
            .api
            .get(
                "asking the container's status",
                &format!("/{container}"),
                &[("fields", "status,error_message")],
            )
            .await?;
        Ok(State::of(status.status.as_deref(), status.error_message))
    }

    async fn publish_container(&self, container: &str) -> Result<String, PublishError> {
        let me = self.me().await?.id.clone();
        let path = format!("/{me}/threads_publish");
        self.api
            .publish_container(&self.quota, &path, container)
            .await
    }

    /// Looks for the post among the account's threads since the intent, by
    /// its words only (what Threads may change is no evidence against a
    /// post).
    async fn find_posted(
        &self,
        post: &Outgoing,
    ) -> Result<matching::Decision<Published>, PublishError> {
        let me = self.me().await?.id.clone();
        let not_before = post.not_before - CLOCK_SKEW;
        let since = not_before.timestamp().to_string();
        let list: List<Listed> = self
            .api
            .get(
                "looking for the post",
                &format!("/{me}/threads"),
                &[
                    ("fields", "id,permalink,text,timestamp"),
                    ("since", since.as_str()),
                    ("limit", "100"),
                ],
            )
            .await?;
        Ok(session::find_among(post, list.data, not_before))
    }

    async fn permalink(&self, media: &str) -> Option<String> {
        self.api
            .permalink(&self.target.name, media, "id,permalink")
            .await
    }
}

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

#[async_trait]
impl Publisher for Threads {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        if self.posts_left().await == Some(0) {
            return Err(self.api.quota_spent(
                "the account's 250 API posts of the last 24 hours are used; trying again in an hour",
            ));
        }
        container::publish(self, post).await
    }

    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        container::find_published(self, post).await
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

    fn remaining_calls(&self) -> Option<u64> {
        self.api.graph.calls_left()
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        let me = self.me().await?.id.clone();
        let answer: List<Insight> = self
            .api
            .get(
                "the follower count",
                &format!("/{me}/threads_insights"),
                &[("metric", "followers_count")],
            )
            .await?;
        Ok(graph::metric(&answer.data, "followers_count"))
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let mut out = Vec::new();
        for id in remote_ids {
            let answer: Result<List<Insight>, _> = self
                .api
                .get(
                    "engagement",
                    &format!("/{id}/insights"),
                    &[("metric", "views,likes,replies,reposts,quotes,shares")],
                )
                .await;
            let insights = match answer {
                Ok(a) => a.data,
                // A post deleted (or never there): code 100, subcode 33.
                Err(e) if graph::is_gone(&e) => {
                    out.push((id.clone(), Check::Gone));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let get = |name: &str| graph::metric(&insights, name);
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
                    ..Default::default()
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
