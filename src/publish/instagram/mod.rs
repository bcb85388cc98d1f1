//! Instagram professional accounts, through Meta's Graph API
//! (`graph.facebook.com` with the linked Facebook Page's token, or
//! `graph.instagram.com` with an Instagram Login token).
//!
//! A post is an image with a caption: the language's card, fetched by
//! Instagram from its public address under `media_base_url`, with its alt
//! text (`alt_text`). Two steps, exactly once as
//! [`super::graph::container`] keeps it (the container recorded with the
//! intent before `media_publish`; `status_code` — `FINISHED`,
//! `IN_PROGRESS`, `ERROR`, `EXPIRED`, `PUBLISHED` — settling a lost
//! answer; "Media ID is not available" (9007/2207027) is "not ready", the
//! same container published again). That matters more here than anywhere:
//! Instagram cannot delete a post through its API, so a duplicate stays
//! until a person removes it in the app.
//!
//! The publishing quota (given as 25, 50 and 100 a day by different Meta
//! pages) is asked live (`content_publishing_limit`) at most hourly before
//! posting, and a spent one waits. Code 4 with subcode 2207051 is a spam
//! block, not a rate limit: the target pauses for a person. Engagement:
//! likes, comments, shares and views from the post's insights (`impressions`
//! and `plays` were retired in 2025; one retired name fails the whole call,
//! so a refusal falls back to the post's `like_count` and `comments_count`);
//! followers daily. An Instagram Login token is refreshed once a day old
//! and written back; a Facebook Page's token has no end.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::graph::container::{Containers, Edges, Parts};
use super::graph::session::{Recent, Renewal, Session};
use super::graph::{self, Graph, Product};
use super::oauth::{KeptToken, TokenSet};
use super::{Outgoing, PublishError, TargetId};
use crate::clock::Clock;
use crate::model::Counts;
use crate::render::{Count, Limits, Rule};
use crate::store::Kept;

pub mod home;
pub use home::{PROFILE, Raw, Settings};

/// A caption: 2,200 characters (how they are counted is not documented:
/// UTF-16 code units here, the conservative reading), at most 30 hashtags
/// (the API's limit; Instagram announced five in December 2025: more is a
/// warning) and 20 @mentions.
pub const LIMITS: Limits = Limits::of(&[
    Rule::at_most(2200, Count::Utf16),
    Rule::at_most(30, Count::Hashtags),
    Rule::advised(5, Count::Hashtags),
    Rule::at_most(20, Count::Mentions),
]);

/// The largest image Instagram fetches (8 MiB).
pub const MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;

/// The Graph API version used unless `api_version` says otherwise.
pub const VERSION: &str = "v25.0";

/// An Instagram Login token is refreshed once it is this old (Meta allows
/// it from 24 h on; it then lasts 60 days).
const REFRESH_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What Instagram says differently from the rest of Meta's family.
static PRODUCT: Product = Product {
    name: "Instagram",
    login: "campaign-bot login facebook (a Page token) or a new Instagram Login token",
    permissions: "instagram_basic and instagram_content_publish (or instagram_business_basic and instagram_business_content_publish), and insights",
    not_ready: &[(9007, 2_207_027)],
    blocked: &[(4, 2_207_051)],
};

pub struct Instagram {
    parts: Parts,
    account: String,
    media_base_url: String,
    me: OnceLock<String>,
}

/// A post's own counts, where its insights are refused.
#[derive(Debug, Deserialize)]
struct MediaCounts {
    like_count: Option<u64>,
    comments_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    username: Option<String>,
    followers_count: Option<u64>,
}

impl Instagram {
    pub fn new(name: &str, s: &Settings, token: Arc<KeptToken>, kept: Kept) -> Self {
        // `GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token`,
        // for an Instagram Login token (one with an end) once it is a day old.
        let renewal = Renewal {
            url: format!("{}/refresh_access_token", s.refresh_url),
            grant_type: "ig_refresh_token",
            due: refresh_due,
        };
        let graph = Graph::new(&s.api_url, &s.api_version, &PRODUCT);
        Instagram {
            parts: Parts::new(
                TargetId::new(name, &home::PROFILE),
                Session::new(graph, token, Some(renewal)),
                kept,
                "instagram_container:",
            ),
            account: s.account.clone(),
            media_base_url: s.media_base_url.clone(),
            me: OnceLock::new(),
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.parts = self.parts.with_clock(clock);
        self
    }

    /// The post's counts from its media object, where insights fail.
    async fn media_counts(&self, id: &str) -> Result<Counts, PublishError> {
        let m: MediaCounts = self
            .parts
            .api
            .fields("engagement", id, "id,like_count,comments_count")
            .await?;
        Ok(Counts {
            likes: m.like_count.unwrap_or(0),
            replies: m.comments_count.unwrap_or(0),
            ..Default::default()
        })
    }
}

/// Whether a token is due a refresh: an Instagram Login token (one that
/// ends) a day old or of unknown age; a Page token (no end) never.
pub fn refresh_due(token: &TokenSet, now: DateTime<Utc>) -> bool {
    token.expires_at.is_some() && token.issued_at.is_none_or(|t| now - t >= REFRESH_AFTER)
}

#[async_trait]
impl Containers for Instagram {
    // The error's code is only inside the status sentence ("Error: Media
    // upload has failed with error code 2207082").
    const EDGES: Edges = Edges {
        create: "media",
        publish: "media_publish",
        quota: ("content_publishing_limit", "config,quota_usage"),
        status: ("status_code", "status"),
        // Its newest media, since two minutes before the intent (clocks
        // differ), by their captions' words only.
        recent: Recent {
            edge: "media",
            fields: "id,caption,timestamp,permalink",
            limit: "25",
            since: false,
            skew: chrono::Duration::minutes(2),
        },
    };
    const QUOTA_SPENT: &'static str =
        "the account's API posts of the last 24 hours are used; trying again in an hour";

    fn parts(&self) -> &Parts {
        &self.parts
    }

    async fn owner(&self) -> Result<String, PublishError> {
        Ok(self.account.clone())
    }

    /// The image by its public address, its caption and its alt text.
    async fn container_form(
        &self,
        post: &Outgoing,
    ) -> Result<Vec<(&'static str, String)>, PublishError> {
        let image = post.media.first().ok_or_else(|| {
            PublishError::permanent(
                "Instagram takes only posts with an image: add one to the post file (`validate` says how)",
            )
        })?;
        let mut form = vec![
            (
                "image_url",
                graph::public_url(&self.media_base_url, &image.shown),
            ),
            ("caption", post.text.clone()),
        ];
        if !image.alt.is_empty() {
            form.push(("alt_text", image.alt.clone()));
        }
        Ok(form)
    }

    /// The account's user name (asked once).
    async fn account(&self) -> Result<String, PublishError> {
        if let Some(me) = self.me.get() {
            return Ok(me.clone());
        }
        let a: Account = self
            .parts
            .api
            .fields("checking the account", &self.account, "id,username")
            .await?;
        let who = a.username.map(|u| format!("@{u}")).unwrap_or(a.id);
        Ok(self.me.get_or_init(|| who).clone())
    }

    async fn follower_count(&self) -> Result<Option<u64>, PublishError> {
        let a: Account = self
            .parts
            .api
            .fields("the follower count", &self.account, "id,followers_count")
            .await?;
        Ok(a.followers_count)
    }

    /// The post's insights; where a metric is not given for this media,
    /// or retired, the media's own counts, without views.
    async fn post_counts(&self, id: String) -> Result<Counts, PublishError> {
        let asked = self
            .parts
            .api
            .insights("engagement", &id, "views,reach,likes,comments,shares,saved")
            .await;
        match asked {
            Ok(insights) => {
                let get = |name: &str| graph::metric(&insights, name);
                Ok(Counts {
                    likes: get("likes").unwrap_or(0),
                    reposts: 0,
                    replies: get("comments").unwrap_or(0),
                    quotes: None,
                    views: get("views"),
                    clicks: None,
                    shares: get("shares"),
                    saves: get("saved"),
                })
            }
            Err(e) if graph::is_gone(&e) => Err(e),
            Err(PublishError::Permanent { .. }) => self.media_counts(&id).await,
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_token_with_an_end_is_refreshed_once_a_day_old() {
        let now: DateTime<Utc> = "2026-12-10T12:00:00Z".parse().unwrap();
        let token = |issued: &str, ends: bool| TokenSet {
            access_token: "t".into(),
            refresh_token: None,
            expires_at: ends.then(|| now + chrono::Duration::days(50)),
            issued_at: Some(issued.parse().unwrap()),
            refresh_expires_at: None,
        };
        assert!(refresh_due(&token("2026-12-09T11:00:00Z", true), now));
        assert!(!refresh_due(&token("2026-12-10T00:00:00Z", true), now));
        // A Facebook Page's token has no end: never refreshed.
        assert!(!refresh_due(&token("2026-01-01T00:00:00Z", false), now));
    }
}
