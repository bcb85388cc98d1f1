//! X (Twitter), through API v2 with a user's OAuth 2.0 access token:
//! `POST /2/tweets` to post, the user's recent tweets to look for one
//! whose fate is unknown, `GET /2/tweets?ids=` (100 a call) with
//! `public_metrics` for engagement, impressions included.
//!
//! Exactly once without a key: X has none. A post whose outcome is unknown
//! is looked for among the account's tweets since the intent was recorded
//! (the same words, links aside: X rewrites them to t.co) before anything
//! is sent again. X refuses a text the account posted recently (403
//! "duplicate content"): that refusal is looked into too (a resend of a
//! post that did go out gets it) and otherwise skips the slot, without
//! pausing the target or counting as a failure.
//!
//! Lengths are twitter-text v3's weighted count: 280, most scripts
//! (Arabic included) 1 a character, CJK and emoji 2, each link 23.
//! Images (up to 4, 5 MB each) are uploaded first (`POST /2/media/upload`,
//! then their alt text by `POST /2/media/metadata`) and attached by id;
//! an upload repeated after a failed post only leaves an unused upload,
//! which X drops after a day.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::SecondsFormat;
use serde::Deserialize;

use super::http::{self, Http, RateWindow};
use super::matching;
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::publish::oauth::{App, KeptToken};
use crate::render::{Count, Limits, Rule};

pub mod home;
pub mod login;
pub use home::{PROFILE, Raw, Settings};

/// X's (API v2 `POST /2/tweets`, twitter-text v3): 280 weighted.
pub const LIMITS: Limits = Limits::of(&[Rule::at_most(280, Count::Weighted)]);

/// How many posts one `GET /2/tweets?ids=` covers.
pub const LOOKUP_BATCH: usize = 100;
/// Images a post may carry, and how big each (X's image limits).
pub const MAX_IMAGES: usize = 4;
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// The longest alt text X takes.
const MAX_ALT_CHARS: usize = 1000;

pub struct X {
    target: TargetId,
    api_url: String,
    token: Arc<KeptToken>,
    /// The app that refreshes the token, where the target has one.
    app: Option<App>,
    http: Http,
    window: RateWindow,
    /// The account's id, asked once.
    me: OnceLock<User>,
    clock: Clock,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: String,
    username: Option<String>,
    public_metrics: Option<UserMetrics>,
}

#[derive(Debug, Clone, Deserialize)]
struct UserMetrics {
    followers_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Data<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    resource_id: Option<String>,
    title: Option<String>,
}

/// `POST /2/media/upload`'s answer: `{"data": {"id", "media_key", …}}`
/// (docs.x.com/x-api/media/media-upload); the v1.1 upload's
/// `media_id_string` (recorded in testmediauploadpng.json) is read too.
#[derive(Debug, Deserialize)]
struct Upload {
    data: Option<UploadData>,
    media_id_string: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UploadData {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Tweet {
    id: String,
    text: Option<String>,
    public_metrics: Option<Metrics>,
}

#[derive(Debug, Deserialize)]
struct Metrics {
    like_count: Option<u64>,
    retweet_count: Option<u64>,
    reply_count: Option<u64>,
    quote_count: Option<u64>,
    impression_count: Option<u64>,
}

/// X's problem body (`detail`, `title`) or its v1.1-style `errors`.
#[derive(Debug, Default, Deserialize)]
struct Problem {
    detail: Option<String>,
}

impl X {
    pub fn new(name: &str, api_url: &str, token: Arc<KeptToken>, app: Option<App>) -> Self {
        X {
            target: TargetId::new(name, &home::PROFILE),
            api_url: api_url.trim_end_matches('/').to_string(),
            token,
            app,
            http: Http::new(http::REQUEST_TIMEOUT),
            window: RateWindow::default(),
            me: OnceLock::new(),
            clock: Clock::System,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// The access token, refreshed first when it ends within five minutes
    /// and a refresh token can renew it (`POST /2/oauth2/token`; X's
    /// refresh tokens are good for one use: the new pair is written back at
    /// once).
    async fn access(&self) -> Result<crate::secret::Secret, PublishError> {
        self.token
            .renewing(
                self.clock.now(),
                chrono::Duration::minutes(5),
                "x",
                self.app.as_ref(),
                |app, form| login::token_request(&self.api_url, app, form),
            )
            .await
    }

    /// Sends a request with the token and reads the answer as `T`.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let token = self.access().await?;
        let bearer = |c: &reqwest::Client| build(c).bearer_auth(token.expose());
        let failed = |e: reqwest::Error| http::transport(&e).during(what);
        let answer = self.http.exchange(idempotent, bearer, failed).await?;
        self.window.observe(&answer.headers, self.clock.now());
        if answer.status.is_success() {
            return answer.json(what);
        }
        let http::Answer {
            status,
            headers,
            body,
        } = answer;
        let problem: Problem = serde_json::from_str(&body).unwrap_or_default();
        let detail = problem.detail.clone().unwrap_or_default();
        if status.as_u16() == 403 && detail.to_lowercase().contains("duplicate content") {
            return Err(PublishError::Duplicate {
                message: detail,
                existing: None,
            });
        }
        Err(match http::classify(status, &headers, &body, self.clock.now()) {
            PublishError::Auth(m) if status.as_u16() == 401 => PublishError::Auth(format!(
                "{m}: the access token is wrong or expired; get a new one (OAuth 2.0 with the tweet.write scope)"
            )),
            PublishError::Auth(m) => PublishError::Auth(format!(
                "{m}: the app or token may not post (check the app's permissions and the token's scopes: tweet.read tweet.write users.read media.write)"
            )),
            other => other,
        }
        .during(what))
    }

    /// The account the token opens (asked once).
    async fn me(&self) -> Result<&User, PublishError> {
        if let Some(me) = self.me.get() {
            return Ok(me);
        }
        let answer: Data<User> = self
            .call("who the token is", true, |c| {
                c.get(self.url("/2/users/me"))
                    .query(&[("user.fields", "public_metrics")])
            })
            .await?;
        let user = answer
            .data
            .ok_or_else(|| PublishError::Transient("no account in the answer".into()))?;
        Ok(self.me.get_or_init(|| user))
    }

    /// Uploads an image and gives it its alt text; returns its media id.
    async fn upload(&self, image: &super::OutgoingMedia) -> Result<String, PublishError> {
        let (bytes, info) = image.read().await?;
        let name = image
            .shown
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let what = format!("uploading posts/{}", image.shown.display());
        let up: Upload = self
            .call(&what, false, |c| {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(name.clone())
                    .mime_str(info.kind.mime())
                    .expect("a valid MIME type");
                let form = reqwest::multipart::Form::new()
                    .text("media_category", "tweet_image")
                    .part("media", part);
                c.post(self.url("/2/media/upload")).multipart(form)
            })
            .await?;
        let id = up
            .data
            .map(|d| d.id)
            .or(up.media_id_string)
            .ok_or_else(|| PublishError::Transient(format!("{what}: no media id in the answer")))?;
        if !image.alt.trim().is_empty() {
            let alt: String = image.alt.chars().take(MAX_ALT_CHARS).collect();
            let _: serde_json::Value = self
                .call("giving the image its alt text", true, |c| {
                    c.post(self.url("/2/media/metadata"))
                        .json(&serde_json::json!({
                            "id": id,
                            "metadata": { "alt_text": { "text": alt } }
                        }))
                })
                .await?;
        }
        Ok(id)
    }

    fn link(&self, id: &str) -> String {
        match self.me.get().and_then(|u| u.username.clone()) {
            Some(u) => format!("https://x.com/{u}/status/{id}"),
            None => format!("https://x.com/i/web/status/{id}"),
        }
    }
}

/// The text without its links: X gives every link back as a `t.co` one.
fn without_links(text: &str) -> String {
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.starts_with("http://") && !w.starts_with("https://"))
        .collect();
    kept.join(" ")
}

#[async_trait]
impl Publisher for X {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        // Known first, so the link names the account.
        let _ = self.me().await;
        let mut media_ids = Vec::new();
        for image in post.media.iter().take(MAX_IMAGES) {
            media_ids.push(self.upload(image).await?);
        }
        let mut body = serde_json::json!({ "text": post.text });
        if !media_ids.is_empty() {
            body["media"] = serde_json::json!({ "media_ids": media_ids });
        }
        let answer: Data<Tweet> = self
            .call("posting", false, |c| {
                c.post(self.url("/2/tweets")).json(&body)
            })
            .await?;
        let tweet = answer
            .data
            .ok_or_else(|| PublishError::Transient("posted, but the answer has no tweet".into()))?;
        Ok(Published {
            url: Some(self.link(&tweet.id)),
            remote_id: tweet.id,
        })
    }

    /// Looks among the account's tweets since the intent was recorded.
    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        let me = self.me().await?.id.clone();
        let since = (post.not_before - chrono::Duration::seconds(5))
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let answer: Data<Vec<Tweet>> = self
            .call("looking for the post", true, |c| {
                c.get(self.url(&format!("/2/users/{me}/tweets")))
                    .query(&[("max_results", "100"), ("start_time", since.as_str())])
            })
            .await?;
        // The account's own tweets since the intent, oldest first, by their
        // words; X keeps no field of ours that it could not rewrite.
        let ours = without_links(&post.text);
        let candidates = answer
            .data
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|t| {
                let text = without_links(t.text.as_deref().unwrap_or_default());
                let link = self.link(&t.id);
                matching::Candidate {
                    text: matching::compare_plain(&ours, &text),
                    agreeing: 0,
                    shown: link.clone(),
                    found: Published {
                        url: Some(link),
                        remote_id: t.id,
                    },
                }
            })
            .collect();
        Ok(matching::decide(candidates).into())
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let me = self.me().await?;
        Ok(match &me.username {
            Some(u) => format!("@{u}"),
            None => format!("account {}", me.id),
        })
    }

    fn engagement_batch(&self) -> usize {
        LOOKUP_BATCH
    }
    fn remaining_calls(&self) -> Option<u64> {
        self.window.remaining(self.clock.now())
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        Ok(self
            .me()
            .await?
            .public_metrics
            .as_ref()
            .and_then(|m| m.followers_count))
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let mut out = Vec::new();
        for chunk in remote_ids.chunks(LOOKUP_BATCH) {
            let ids = chunk.join(",");
            let answer: Data<Vec<Tweet>> = self
                .call("engagement", true, |c| {
                    c.get(self.url("/2/tweets"))
                        .query(&[("ids", ids.as_str()), ("tweet.fields", "public_metrics")])
                })
                .await?;
            for t in answer.data.unwrap_or_default() {
                let m = t.public_metrics.unwrap_or(Metrics {
                    like_count: None,
                    retweet_count: None,
                    reply_count: None,
                    quote_count: None,
                    impression_count: None,
                });
                out.push((
                    t.id,
                    Check::Counts(Counts {
                        likes: m.like_count.unwrap_or(0),
                        reposts: m.retweet_count.unwrap_or(0),
                        replies: m.reply_count.unwrap_or(0),
                        quotes: m.quote_count,
                        views: m.impression_count,
                        ..Default::default()
                    }),
                ));
            }
            // A deleted tweet comes back as an error naming it.
            for e in answer.errors {
                if let Some(id) = e.resource_id
                    && e.title.as_deref() == Some("Not Found Error")
                {
                    out.push((id, Check::Gone));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_left_out_when_comparing() {
        assert_eq!(
            matching::compare_plain(
                &without_links("Cities welcome all https://example.org/x\n\n#WeTogether"),
                &without_links("Cities welcome all https://t.co/AbC123\n\n#WeTogether")
            ),
            matching::Match::Same
        );
    }
}
