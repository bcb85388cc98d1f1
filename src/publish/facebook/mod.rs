//! Facebook Pages, through Meta's Graph API (`graph.facebook.com`, the
//! version pinned by `api_version`) with the Page's access token.
//!
//! A post is a text post to the Page's feed (`POST /{page}/feed`), or, with
//! an image, a photo post (`POST /{page}/photos`, the image uploaded with
//! its caption); its id is the feed post's (`{page}_{post}`; a photo post's
//! `post_id`), where its counts are. Facebook takes no alt text with an
//! uploaded photo in what its Pages API documents: it writes its own.
//!
//! Exactly once without a key: a Graph write has none, and a 5xx can still
//! publish (one user's photo went out seven times after repeated 500s). So
//! a post whose answer was lost (a timeout, a 5xx, a crash) is looked for
//! among the Page's posts since the intent, by its words (the Graph API
//! keeps no language to compare, and what a server may rewrite is no
//! evidence anyway), before anything is sent again; only a similar one is
//! a question for a person. Meta's own refusal of a repeated text (code
//! 506) is handled as X's and LinkedIn's are: the post is looked for, and
//! the slot skipped if it is another's.
//!
//! Errors by code and subcode ([`super::graph`]): 190 pauses the target
//! with what to do; 4, 17, 32, 613 and the usage headers are rate limits;
//! 368 with 1390008 is posting too fast, any other 368 a block that pauses
//! the target with Meta's message. Engagement: the post's reactions
//! (likes), comments (replies) and shares (reposts, absent when none), and
//! its views (`post_media_view`) while Meta still answers that metric; the
//! Page's followers daily.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde::Deserialize;

use super::graph::session::{Recent, Session};
use super::graph::{self, Graph, Product};
use super::oauth::KeptToken;
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::render::{Count, Limits, Rule};

pub mod home;
mod login;
pub use home::{PROFILE, Raw, Settings};

/// 63,206 characters, the limit the tools that post to Pages enforce (no
/// Meta page we could read states it, nor how it counts: UTF-16 code
/// units here, the conservative reading).
pub const LIMITS: Limits = Limits::of(&[Rule::at_most(63_206, Count::Utf16)]);

/// The Graph API version used unless `api_version` says otherwise.
pub const VERSION: &str = "v25.0";

/// The Page's posts since the intent (two minutes before it: clocks
/// differ), where a post whose answer was lost is looked for.
const RECENT: Recent = Recent {
    edge: "posts",
    fields: "id,message,created_time,permalink_url",
    limit: "25",
    since: true,
    skew: chrono::Duration::minutes(2),
};

/// A post's counts, asked in one call (summaries only, no items).
const COUNTS: &str = "id,shares,comments.summary(true).limit(0),reactions.summary(true).limit(0)";

/// What Facebook says differently from the rest of Meta's family.
static PRODUCT: Product = Product {
    name: "Facebook",
    login: "campaign-bot login facebook",
    permissions: "pages_manage_posts, pages_read_engagement, pages_show_list, and the Page's CREATE_CONTENT task",
    not_ready: &[],
    blocked: &[],
};

pub struct Facebook {
    target: TargetId,
    /// The Page token: it does not expire when made from a long-lived
    /// user token, so the bot never refreshes it (`status` shows the end
    /// `debug_token` gave, if any).
    api: Session,
    page: String,
    /// Set once Meta refused the views metric (retired under us, as
    /// `post_impressions` was): views are not asked for again.
    no_views: AtomicBool,
}

/// A new post's answer: `{id, permalink_url}` for the feed (asked with
/// `fields`), `{id, post_id}` for a photo.
#[derive(Debug, Deserialize)]
struct Made {
    id: String,
    post_id: Option<String>,
    permalink_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Summary {
    total_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Edge {
    #[serde(default)]
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Shares {
    count: Option<u64>,
}

/// A post's counts (engagement.json #1): empty edges are left out.
#[derive(Debug, Deserialize)]
struct PostCounts {
    #[serde(default)]
    reactions: Edge,
    #[serde(default)]
    comments: Edge,
    shares: Option<Shares>,
}

#[derive(Debug, Deserialize)]
struct Page {
    id: String,
    name: Option<String>,
    followers_count: Option<u64>,
    fan_count: Option<u64>,
}

impl Facebook {
    pub fn new(
        name: &str,
        api_url: &str,
        version: &str,
        page: &str,
        token: Arc<KeptToken>,
    ) -> Self {
        Facebook {
            target: TargetId::new(name, &home::PROFILE),
            api: Session::new(Graph::new(api_url, version, &PRODUCT), token, None),
            page: page.to_string(),
            no_views: AtomicBool::new(false),
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.api = self.api.with_clock(clock);
        self
    }

    /// A photo post: the post's image uploaded with its text as caption.
    async fn photo(&self, post: &Outgoing) -> Result<Made, PublishError> {
        let image = post.media.first().expect("a photo post has an image");
        let (bytes, info) = image.read().await?;
        let file_name = image
            .shown
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let page = &self.page;
        self.api
            .call("posting the photo", false, |c, t| {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.clone())
                    .mime_str(info.kind.mime())
                    .expect("a known image type");
                let form = reqwest::multipart::Form::new()
                    .part("source", part)
                    .text("caption", post.text.clone())
                    .text("published", "true")
                    .text("access_token", t.to_string());
                c.post(self.api.url(&format!("/{page}/photos")))
                    .multipart(form)
            })
            .await
    }

    /// The address of a post, where it can be asked.
    async fn permalink(&self, id: &str) -> Option<String> {
        self.api
            .permalink(&self.target.name, id, "id,permalink_url")
            .await
    }

    /// The post's views, while Meta answers the metric.
    async fn views(&self, id: &str) -> Result<Option<u64>, PublishError> {
        if self.no_views.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let asked = self
            .api
            .insights("the post's views", id, "post_media_view")
            .await;
        match asked {
            Ok(insights) => Ok(graph::metric(&insights, "post_media_view")),
            Err(e) if graph::is_gone(&e) => Err(e),
            // A metric Meta retired, or not available for this post: one
            // stale name fails the whole call, so views are left out from
            // now on rather than counted as 0.
            Err(PublishError::Permanent { code, .. }) => {
                tracing::info!(target_name = self.target.name, code = ?code, "Facebook gives no views for this Page's posts; they are left out of its counts");
                self.no_views.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// A post's reactions, comments and shares in one call, and its views.
    async fn post_counts(&self, id: String) -> Result<Counts, PublishError> {
        let counts: PostCounts = self.api.fields("engagement", &id, COUNTS).await?;
        let views = match self.views(&id).await {
            Ok(v) => v,
            Err(e) if graph::is_gone(&e) => None,
            Err(e) => return Err(e),
        };
        Ok(Counts {
            likes: counts.reactions.summary.total_count.unwrap_or(0),
            // Left out when nobody shared: 0, not unknown.
            reposts: counts.shares.and_then(|s| s.count).unwrap_or(0),
            replies: counts.comments.summary.total_count.unwrap_or(0),
            views,
            ..Default::default()
        })
    }
}

#[async_trait]
impl Publisher for Facebook {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        if !post.media.is_empty() {
            let made = self.photo(post).await?;
            // The feed post carries the counts; a photo is its attachment.
            let id = made.post_id.unwrap_or(made.id);
            return Ok(Published {
                url: self.permalink(&id).await,
                remote_id: id,
            });
        }
        let page = &self.page;
        // The form body, not the query string: a `#` there would cut the
        // text short. `fields` saves asking for the address after.
        let made: Made = self
            .api
            .call("posting", false, |c, t| {
                c.post(self.api.url(&format!("/{page}/feed")))
                    .query(&[("fields", "id,permalink_url")])
                    .form(&[("message", post.text.as_str()), ("access_token", t)])
            })
            .await?;
        Ok(Published {
            url: made.permalink_url,
            remote_id: made.id,
        })
    }

    /// Looks among the Page's posts since the intent, by their words.
    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        Ok(self.api.look_for(post, &self.page, &RECENT).await?.into())
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let p: Page = self
            .api
            .fields("checking the Page", &self.page, "id,name")
            .await?;
        Ok(match p.name {
            Some(n) => format!("the Page {n} ({})", p.id),
            None => format!("the Page {}", p.id),
        })
    }

    fn remaining_calls(&self) -> Option<u64> {
        self.api.graph.calls_left()
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        let p: Page = self
            .api
            .fields(
                "the follower count",
                &self.page,
                "followers_count,fan_count",
            )
            .await?;
        Ok(p.followers_count.or(p.fan_count))
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        graph::each_post(remote_ids, |id| self.post_counts(id)).await
    }
}
