//! LinkedIn organization pages, through the Posts API (`/rest/posts`) with
//! a member's OAuth access token (60 days; `w_organization_social`, and
//! `rw_organization_admin` for statistics).
//!
//! Exactly once without a key: LinkedIn refuses a text the page posted
//! before with 422 `DUPLICATE_POST` and names the post it duplicates. So a
//! resend after a lost 201 is recorded as the post LinkedIn names, unless
//! that post is another slot's (a repeat of the rotation: the slot is then
//! skipped, never a pause or a failure).
//!
//! The text is "little text": `| { } @ [ ] ( ) < > # * _ ~ \` are markup,
//! and an unescaped one makes LinkedIn cut the post while answering 201.
//! Every one is escaped; hashtags are written as LinkedIn's hashtag
//! template so they stay hashtags. `LinkedIn-Version` is pinned in
//! [`API_VERSION`] (a target may set `api_version`).
//!
//! Images go through the Images API: `initializeUpload` gives an upload
//! address and an image URN, the bytes are PUT there (with the token, as
//! LinkedIn documents, and only to a LinkedIn address), and the post names
//! the URN with its alt text (one image as `media`, more as `multiImage`).

use async_trait::async_trait;
use serde::Deserialize;

use super::http::{self, Http};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::{Check, Counts, Published};
use crate::publish::oauth::{App, KeptToken};
use crate::render::{Count, Limits, Rule, find_hashtags};
use crate::secret::Secret;

pub mod home;
pub mod login;
pub use home::{PROFILE, Raw, Settings};

/// LinkedIn's `commentary`: 3,000 characters, counted here as UTF-16 code
/// units, the conservative reading.
pub const LIMITS: Limits = Limits::of(&[Rule::at_most(3000, Count::Utf16)]);

/// The `LinkedIn-Version` sent on every call (versions are sunset about a
/// year after they come out).
pub const API_VERSION: &str = "202601";
/// How many posts one statistics call asks about.
pub const STATS_BATCH: usize = 20;
/// Images a post may carry (a multi-image post takes 2 to 20).
pub const MAX_IMAGES: usize = 20;
/// The longest alt text LinkedIn takes.
const MAX_ALT_CHARS: usize = 4086;

pub struct LinkedIn {
    target: TargetId,
    api_url: String,
    organization: String,
    version: String,
    token: std::sync::Arc<KeptToken>,
    /// The app that refreshes the token, where the target has one.
    app: Option<App>,
    /// LinkedIn's OAuth server (`https://www.linkedin.com`).
    oauth_url: String,
    http: Http,
    clock: Clock,
}

/// LinkedIn's error bodies: `{status, code, message}` or, for validation,
/// `{message, errorDetails{inputErrors[{code}]}, status}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    message: Option<String>,
    code: Option<String>,
    error_details: Option<ErrorDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    #[serde(default)]
    input_errors: Vec<InputError>,
}

#[derive(Debug, Default, Deserialize)]
struct InputError {
    code: Option<String>,
}

/// `POST /rest/images?action=initializeUpload`'s answer.
#[derive(Debug, Deserialize)]
struct Initialized {
    value: UploadSlot,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadSlot {
    upload_url: String,
    image: String,
}

#[derive(Debug, Deserialize)]
struct Elements<T> {
    #[serde(default = "Vec::new")]
    elements: Vec<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShareStats {
    share: Option<String>,
    ugc_post: Option<String>,
    total_share_statistics: Option<Totals>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Totals {
    like_count: Option<u64>,
    comment_count: Option<u64>,
    share_count: Option<u64>,
    impression_count: Option<u64>,
    click_count: Option<u64>,
}

/// The characters of LinkedIn's little text format.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// `text` as LinkedIn's `commentary`: every reserved character escaped,
/// each hashtag as `{hashtag|\#|Tag}`.
pub fn commentary(text: &str) -> String {
    let escape = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if RESERVED.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for tag in find_hashtags(text) {
        out.push_str(&escape(&text[at..tag.start]));
        out.push_str("{hashtag|\\#|");
        out.push_str(&escape(&text[tag.start + 1..tag.end]));
        out.push('}');
        at = tag.end;
    }
    out.push_str(&escape(&text[at..]));
    out
}

/// A post's public address.
fn link(urn: &str) -> String {
    format!("https://www.linkedin.com/feed/update/{urn}/")
}

/// What Rest.li 2.0 wants escaped in a URN inside `List(…)` and in paths:
/// its own syntax (`:`, `,`, `(`, `)`) and `%`.
const RESTLI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b':')
    .add(b',')
    .add(b'(')
    .add(b')');

/// A URN as Rest.li 2.0 wants it inside `List(…)` and in paths.
fn encode(urn: &str) -> String {
    percent_encoding::utf8_percent_encode(urn, RESTLI).to_string()
}

impl LinkedIn {
    pub fn new(
        name: &str,
        api_url: &str,
        organization: &str,
        version: &str,
        token: std::sync::Arc<KeptToken>,
    ) -> Self {
        LinkedIn {
            target: TargetId::new(name, &home::PROFILE),
            api_url: api_url.trim_end_matches('/').to_string(),
            organization: organization.to_string(),
            version: version.to_string(),
            token,
            app: None,
            oauth_url: login::OAUTH_URL.to_string(),
            http: Http::new(http::REQUEST_TIMEOUT),
            clock: Clock::System,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Refreshes the token with `app` at `oauth_url` (approved apps get
    /// refresh tokens; without one the token lasts its 60 days).
    pub fn with_refresh(mut self, app: Option<App>, oauth_url: &str) -> Self {
        self.app = app;
        self.oauth_url = oauth_url.trim_end_matches('/').to_string();
        self
    }

    /// The access token, refreshed first when it ends within ten days and
    /// a refresh token can renew it (`POST /oauth/v2/accessToken`).
    async fn access(&self) -> Result<Secret, PublishError> {
        self.token
            .renewing(
                self.clock.now(),
                chrono::Duration::days(10),
                "linkedin",
                self.app.as_ref(),
                |app, form| login::token_request(&self.oauth_url, app, form),
            )
            .await
    }

    /// Uploads an image (Images API: `initializeUpload` for an upload
    /// address, then the bytes PUT there); returns its `urn:li:image:…`.
    async fn upload(&self, image: &super::OutgoingMedia) -> Result<String, PublishError> {
        let what = format!("uploading posts/{}", image.shown.display());
        let (bytes, _) = image.read().await?;
        let token = self.access().await?;
        let url = format!("{}/rest/images?action=initializeUpload", self.api_url);
        let body = serde_json::json!({
            "initializeUploadRequest": { "owner": self.organization }
        });
        let answer = self
            .http
            .send(false, |c| {
                self.request(c, &token, reqwest::Method::POST, url.clone())
                    .json(&body)
            })
            .await
            .map_err(|e| http::transport(&e).during(&what))?;
        let (status, headers) = (answer.status(), answer.headers().clone());
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(self.refusal(status, &headers, &text).during(&what));
        }
        let init: Initialized = serde_json::from_str(&text).map_err(|e| {
            PublishError::Transient(format!("{what}: an answer that cannot be read: {e}"))
        })?;
        if !self.may_receive_token(&init.value.upload_url) {
            return Err(PublishError::permanent(format!(
                "{what}: LinkedIn gave an upload address outside linkedin.com; not sending the image (or the token) there"
            )));
        }
        let put = self
            .http
            .send(true, |c| {
                c.put(&init.value.upload_url)
                    .bearer_auth(token.expose())
                    .body(bytes.clone())
            })
            .await
            .map_err(|e| http::transport(&e).during(&what))?;
        let (status, headers) = (put.status(), put.headers().clone());
        if !status.is_success() {
            let text = put.text().await.unwrap_or_default();
            return Err(self.refusal(status, &headers, &text).during(&what));
        }
        Ok(init.value.image)
    }

    /// Whether an address is LinkedIn's (or the configured API's), so that
    /// the token may go there.
    fn may_receive_token(&self, address: &str) -> bool {
        let host = |a: &str| {
            reqwest::Url::parse(a)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
        };
        match host(address) {
            Some(h) => {
                h == "linkedin.com"
                    || h.ends_with(".linkedin.com")
                    || Some(h) == host(&self.api_url)
            }
            None => false,
        }
    }

    fn request(
        &self,
        c: &reqwest::Client,
        token: &Secret,
        method: reqwest::Method,
        url: String,
    ) -> reqwest::RequestBuilder {
        c.request(method, url)
            .bearer_auth(token.expose())
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    /// A refusal, sorted: 429 waits for midnight UTC (LinkedIn's limits
    /// are daily and it sends no reset header).
    fn refusal(
        &self,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &str,
    ) -> PublishError {
        let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
        let message = parsed
            .message
            .clone()
            .unwrap_or_else(|| http::readable_body(body));
        let duplicate = parsed.error_details.as_ref().is_some_and(|d| {
            d.input_errors
                .iter()
                .any(|e| e.code.as_deref() == Some("DUPLICATE_POST"))
        });
        if status.as_u16() == 422 && duplicate {
            let existing = message
                .split_whitespace()
                .find(|w| w.starts_with("urn:li:"))
                .map(|urn| {
                    let urn = urn.trim_end_matches(['.', ',', ')']);
                    Published {
                        remote_id: urn.to_string(),
                        url: Some(link(urn)),
                    }
                });
            return PublishError::Duplicate { message, existing };
        }
        let now = self.clock.now();
        match status.as_u16() {
            429 => PublishError::RateLimited {
                retry_at: (now + chrono::Duration::days(1))
                    .date_naive()
                    .and_hms_opt(0, 1, 0)
                    .map(|t| t.and_utc()),
                message: format!(
                    "429 {message} (LinkedIn's limits are daily: waiting for midnight UTC)"
                ),
            },
            401 => PublishError::Auth(format!(
                "401 {message}: the access token expired (they last 60 days) or was revoked; sign in again to get a new one"
            )),
            403 if parsed.code.as_deref() == Some("ACCESS_DENIED") => PublishError::Auth(format!(
                "403 {message}: the token's member must be an administrator of {} and the app needs w_organization_social (and rw_organization_admin for statistics)",
                self.organization
            )),
            _ => http::classify(status, headers, body, now),
        }
    }
}

#[async_trait]
impl Publisher for LinkedIn {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        let mut images = Vec::new();
        for image in post.media.iter().take(MAX_IMAGES) {
            images.push(serde_json::json!({
                "id": self.upload(image).await?,
                "altText": image.alt.chars().take(MAX_ALT_CHARS).collect::<String>(),
            }));
        }
        let mut body = serde_json::json!({
            "author": self.organization,
            "commentary": commentary(&post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": []
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false
        });
        match images.len() {
            0 => {}
            1 => body["content"] = serde_json::json!({ "media": images[0] }),
            _ => body["content"] = serde_json::json!({ "multiImage": { "images": images } }),
        }
        let token = self.access().await?;
        let answer = self
            .http
            .send(false, |c| {
                self.request(
                    c,
                    &token,
                    reqwest::Method::POST,
                    format!("{}/rest/posts", self.api_url),
                )
                .json(&body)
            })
            .await
            .map_err(|e| http::transport(&e).during("posting"))?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(self.refusal(status, &headers, &text).during("posting"));
        }
        // The post's id is only in this header; the body is empty.
        let urn = headers
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.starts_with("urn:li:"))
            .ok_or_else(|| {
                PublishError::Transient(
                    "posted (201), but the answer has no x-restli-id naming the post".into(),
                )
            })?;
        Ok(Published {
            remote_id: urn.to_string(),
            url: Some(link(urn)),
        })
    }

    /// LinkedIn refuses the same text twice and names the first post, so a
    /// resend after an unknown outcome finds it: sending again is the look.
    async fn find_published(&self, _post: &Outgoing) -> Result<Lookup, PublishError> {
        Ok(Lookup::NotPosted)
    }

    fn engagement_batch(&self) -> usize {
        STATS_BATCH
    }

    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let mut out = Vec::new();
        for chunk in remote_ids.chunks(STATS_BATCH) {
            // Shares and UGC posts are asked under their own parameter;
            // the Rest.li structure is sent as is, the URNs encoded.
            let list = |kind: &str| {
                let urns: Vec<String> = chunk
                    .iter()
                    .filter(|u| u.starts_with(kind))
                    .map(|u| encode(u))
                    .collect();
                (!urns.is_empty()).then(|| format!("List({})", urns.join(",")))
            };
            let mut query = format!(
                "q=organizationalEntity&organizationalEntity={}",
                encode(&self.organization)
            );
            if let Some(l) = list("urn:li:share:") {
                query.push_str(&format!("&shares={l}"));
            }
            if let Some(l) = list("urn:li:ugcPost:") {
                query.push_str(&format!("&ugcPosts={l}"));
            }
            let url = format!(
                "{}/rest/organizationalEntityShareStatistics?{query}",
                self.api_url
            );
            let token = self.access().await?;
            let answer = self
                .http
                .send(true, |c| {
                    self.request(c, &token, reqwest::Method::GET, url.clone())
                })
                .await
                .map_err(|e| http::transport(&e).during("statistics"))?;
            let status = answer.status();
            let headers = answer.headers().clone();
            let text = answer.text().await.unwrap_or_default();
            if !status.is_success() {
                // Statistics refused do not pause posting.
                return Err(match self.refusal(status, &headers, &text) {
                    PublishError::Auth(m) => PublishError::permanent(m),
                    other => other,
                }
                .during("statistics"));
            }
            let stats: Elements<ShareStats> = serde_json::from_str(&text).map_err(|e| {
                PublishError::Transient(format!("statistics: an answer that cannot be read: {e}"))
            })?;
            for e in stats.elements {
                let (Some(urn), Some(t)) = (e.share.or(e.ugc_post), e.total_share_statistics)
                else {
                    continue;
                };
                out.push((
                    urn,
                    Check::Counts(Counts {
                        likes: t.like_count.unwrap_or(0),
                        reposts: t.share_count.unwrap_or(0),
                        replies: t.comment_count.unwrap_or(0),
                        quotes: None,
                        views: t.impression_count,
                        clicks: t.click_count,
                        shares: None,
                        ..Default::default()
                    }),
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_to_linkedin_or_the_configured_api() {
        let li = LinkedIn::new(
            "li",
            "http://127.0.0.1:8080",
            "urn:li:organization:1",
            API_VERSION,
            std::sync::Arc::new(KeptToken::in_memory(
                "li",
                crate::publish::oauth::TokenSet::parse("t").unwrap(),
            )),
        );
        assert!(li.may_receive_token("https://www.linkedin.com/dms-uploads/x"));
        assert!(li.may_receive_token("http://127.0.0.1:8080/dms-uploads/x"));
        assert!(!li.may_receive_token("https://evil.example/upload"));
        assert!(!li.may_receive_token("https://notlinkedin.com/upload"));
    }

    #[test]
    fn reserved_characters_are_escaped_and_hashtags_kept() {
        assert_eq!(
            commentary("Cities (all of them) welcome_everyone!\n\n#WeTogether #Cities4Migration"),
            "Cities \\(all of them\\) welcome\\_everyone!\n\n{hashtag|\\#|WeTogether} {hashtag|\\#|Cities4Migration}"
        );
        assert_eq!(
            commentary("a < b > c @ d | e ~ f * g [h] {i} \\"),
            "a \\< b \\> c \\@ d \\| e \\~ f \\* g \\[h\\] \\{i\\} \\\\"
        );
    }

    #[test]
    fn urns_are_encoded_for_rest_li() {
        assert_eq!(
            encode("urn:li:organization:2414183"),
            "urn%3Ali%3Aorganization%3A2414183"
        );
        assert_eq!(encode("List(a,b)%"), "List%28a%2Cb%29%25");
    }
}
