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

use super::graph::container::{Containers, Edges, Parts};
use super::graph::session::{Recent, Renewal, Session};
use super::graph::{self, Graph, Insight, List, Product};
use super::oauth::{KeptToken, TokenSet};
use super::{Outgoing, PublishError, TargetId};
use crate::clock::Clock;
use crate::model::Counts;
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
    parts: Parts,
    /// Public address of the posts folder's images, if any.
    media_base_url: Option<String>,
    me: OnceLock<User>,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: String,
    username: Option<String>,
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
            parts: Parts::new(
                TargetId::new(name, &home::PROFILE),
                Session::new(graph, token, Some(renewal)),
                kept,
                "threads_container:",
            ),
            media_base_url,
            me: OnceLock::new(),
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.parts = self.parts.with_clock(clock);
        self
    }

    /// The account the token opens (asked once).
    async fn me(&self) -> Result<&User, PublishError> {
        if let Some(me) = self.me.get() {
            return Ok(me);
        }
        let user: User = self
            .parts
            .api
            .fields("who the token is", "me", "id,username")
            .await?;
        Ok(self.me.get_or_init(|| user))
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
    const EDGES: Edges = Edges {
        create: "threads",
        publish: "threads_publish",
        // 250 API posts a day.
        quota: ("threads_publishing_limit", "quota_usage,config"),
        status: ("status", "error_message"),
        // Its threads since a minute before the intent (clocks differ).
        recent: Recent {
            edge: "threads",
            fields: "id,permalink,text,timestamp",
            limit: "100",
            since: true,
            skew: chrono::Duration::seconds(60),
        },
    };
    const QUOTA_SPENT: &'static str =
        "the account's 250 API posts of the last 24 hours are used; trying again in an hour";

    fn parts(&self) -> &Parts {
        &self.parts
    }

    async fn owner(&self) -> Result<String, PublishError> {
        Ok(self.me().await?.id.clone())
    }

    /// The text, the image by its public address where there is one, and
    /// the first hashtag as the topic.
    async fn container_form(
        &self,
        post: &Outgoing,
    ) -> Result<Vec<(&'static str, String)>, PublishError> {
        let mut form = vec![("text", post.text.clone())];
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
        Ok(form)
    }

    async fn account(&self) -> Result<String, PublishError> {
        let me = self.me().await?;
        Ok(match &me.username {
            Some(u) => format!("@{u}"),
            None => format!("account {}", me.id),
        })
    }

    async fn follower_count(&self) -> Result<Option<u64>, PublishError> {
        let me = self.me().await?.id.clone();
        let answer: List<Insight> = self
            .parts
            .api
            .get(
                "the follower count",
                &format!("/{me}/threads_insights"),
                &[("metric", "followers_count")],
            )
            .await?;
        Ok(graph::metric(&answer.data, "followers_count"))
    }

    /// One call per post; a post deleted (or never there) is code 100,
    /// subcode 33.
    async fn post_counts(&self, id: String) -> Result<Counts, PublishError> {
        let insights = self
            .parts
            .api
            .insights(
                "engagement",
                &id,
                "views,likes,replies,reposts,quotes,shares",
            )
            .await?;
        let get = |name: &str| graph::metric(&insights, name);
        Ok(Counts {
            likes: get("likes").unwrap_or(0),
            reposts: get("reposts").unwrap_or(0),
            replies: get("replies").unwrap_or(0),
            quotes: get("quotes"),
            views: get("views"),
            clicks: None,
            shares: get("shares"),
            ..Default::default()
        })
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
