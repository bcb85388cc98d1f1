//! Mastodon and the fediverse servers that speak its API (Pleroma,
//! GoToSocial, Friendica, Firefish), through `megalodon` where it can do the
//! job and `reqwest` where it cannot.
//!
//! megalodon is used for media processing, the account and its statuses,
//! app registration and OAuth. These calls are sent with reqwest directly,
//! each for a reason megalodon cannot meet:
//! - `POST /api/v1/statuses`: megalodon cannot attach the `Idempotency-Key`
//!   header, and without it a retry after a timeout can post twice;
//! - `POST /api/v2/media`: megalodon streams the file (a chunked body, which
//!   some servers refuse); we send it with a Content-Length;
//! - `GET /api/v2/instance`: megalodon knows only v1; and `GET
//!   /api/v1/instance`, whose real answers megalodon's entity refuses.
//!
//! megalodon has no timeouts: each of its calls is wrapped in one.
//! Ids are opaque strings. Wire types stay in this file.

use std::future::Future;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use megalodon::Megalodon;
use serde::Deserialize;

use super::http::{self, classify, readable_body, transport};
use super::matching;
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::secret::Secret;

pub mod home;
mod login;

use crate::model::{Check, Counts, Published};
use crate::render::{Count, Limits, Rule};
pub use home::{FediverseFlavour, PROFILE, Raw, Settings};

/// A server's limits: `max_characters` characters of the content warning
/// and the text, each link counting `url_weight`.
pub const fn limits(max_characters: usize, url_weight: usize) -> Limits {
    Limits::of(&[Rule::at_most(
        max_characters,
        Count::Characters { url_weight },
    )])
}

/// How far the server's clock may be behind ours when matching a status
/// with the intent it came from.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(2);

/// Statuses asked for in one `GET /api/v1/statuses?id[]=` call.
pub const BATCH: usize = 20;

/// How many recent statuses are compared with a post of unknown fate.
const RECONCILE_STATUSES: u32 = 40;

/// Below this many requests left in the window, the bot waits for the
/// window to reset instead of spending the last ones.
const LOW_REMAINING: u64 = 3;

/// How long to wait for an uploaded image to be processed.
#[derive(Debug, Clone, Copy)]
pub struct MediaPolling {
    pub attempts: u32,
    pub interval: Duration,
}

impl Default for MediaPolling {
    fn default() -> Self {
        MediaPolling {
            attempts: 15,
            interval: Duration::from_secs(2),
        }
    }
}

pub struct Mastodon {
    target: TargetId,
    flavour: FediverseFlavour,
    base_url: String,
    token: Secret,
    visibility: String,
    http: http::Http,
    /// megalodon, for the reads it does well; made on first use (a second
    /// HTTP client that posting alone never needs).
    api: OnceLock<Box<dyn Megalodon + Send + Sync>>,
    limits: RwLock<Limits>,
    /// Whether `GET /api/v1/statuses?id[]=` works here (Mastodon 4.3+):
    /// unknown until tried, then remembered.
    batch: Mutex<Option<bool>>,
    window: http::RateWindow,
    polling: MediaPolling,
    /// How long one request may take, megalodon's included.
    timeout: Duration,
    clock: Clock,
}

type MegalodonResult<T> = Result<megalodon::response::Response<T>, megalodon::error::Error>;

// ---------------------------------------------------------------- wire types

/// An id as servers send it: usually a string, a number on some.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireId {
    Text(String),
    Number(u64),
}

impl WireId {
    fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            WireId::Text(s) => s.as_str().into(),
            WireId::Number(n) => n.to_string().into(),
        }
    }
    fn into_string(self) -> String {
        match self {
            WireId::Text(s) => s,
            WireId::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct StatusWire {
    id: WireId,
    url: Option<String>,
    uri: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StatusCountsWire {
    id: WireId,
    favourites_count: Option<u64>,
    reblogs_count: Option<u64>,
    replies_count: Option<u64>,
    /// Mastodon 4.5 and later.
    quotes_count: Option<u64>,
}

impl StatusCountsWire {
    fn counts(&self) -> Counts {
        Counts {
            likes: self.favourites_count.unwrap_or(0),
            reposts: self.reblogs_count.unwrap_or(0),
            replies: self.replies_count.unwrap_or(0),
            quotes: self.quotes_count,
            views: None,
            ..Default::default()
        }
    }
}

#[derive(Debug, Deserialize)]
struct MediaWire {
    id: WireId,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct InstanceV2 {
    configuration: InstanceConfiguration,
}

#[derive(Debug, Deserialize)]
struct InstanceV1 {
    configuration: Option<InstanceV1Configuration>,
    /// Pleroma and Akkoma.
    max_toot_chars: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct InstanceV1Configuration {
    statuses: Option<StatusesConfiguration>,
}

#[derive(Debug, Deserialize)]
struct InstanceConfiguration {
    statuses: StatusesConfiguration,
    urls: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct StatusesConfiguration {
    max_characters: Option<usize>,
    characters_reserved_per_url: Option<usize>,
    max_media_attachments: Option<usize>,
}

// ---------------------------------------------------------------- building

impl Mastodon {
    pub fn new(
        name: &str,
        flavour: FediverseFlavour,
        base_url: &str,
        token: Secret,
        visibility: &str,
        limits: Limits,
    ) -> Result<Self, String> {
        reqwest::Url::parse(base_url).map_err(|e| format!("{base_url} is not a URL: {e}"))?;
        Ok(Mastodon {
            target: TargetId::new(name, &home::PROFILE),
            flavour,
            base_url: base_url.trim_end_matches('/').to_string(),
            token,
            visibility: visibility.to_string(),
            http: http::Http::new(http::REQUEST_TIMEOUT),
            api: OnceLock::new(),
            limits: RwLock::new(limits),
            batch: Mutex::new(None),
            window: http::RateWindow::default(),
            polling: MediaPolling::default(),
            timeout: http::REQUEST_TIMEOUT,
            clock: Clock::System,
        })
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the request timeout (tests shorten it).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = http::Http::new(timeout);
        self.timeout = timeout;
        self
    }

    /// Changes how long media processing is awaited (tests shorten it).
    pub fn with_media_polling(mut self, polling: MediaPolling) -> Self {
        self.polling = polling;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// megalodon's client for this server, made on first use.
    fn api(&self) -> Result<&(dyn Megalodon + Send + Sync), PublishError> {
        if let Some(api) = self.api.get() {
            return Ok(api.as_ref());
        }
        let sns = match self.flavour {
            FediverseFlavour::Mastodon => megalodon::SNS::Mastodon,
            FediverseFlavour::Pleroma => megalodon::SNS::Pleroma,
            FediverseFlavour::Gotosocial => megalodon::SNS::Gotosocial,
            FediverseFlavour::Friendica => megalodon::SNS::Friendica,
            FediverseFlavour::Firefish => megalodon::SNS::Firefish,
        };
        let api = megalodon::generator(
            sns,
            self.base_url.clone(),
            Some(self.token.expose().to_string()),
            Some(concat!("campaign-bot/", env!("CARGO_PKG_VERSION")).to_string()),
        )
        .map_err(|e| {
            PublishError::permanent(format!(
                "cannot set up the client for {}: {e}",
                self.base_url
            ))
        })?;
        Ok(self.api.get_or_init(|| api).as_ref())
    }

    /// Slows down before the limit: when few requests are left in the
    /// current window, answer "rate limited until the reset" without sending.
    fn check_window(&self) -> Result<(), PublishError> {
        if let Some((rem, reset)) = self.window.current(self.clock.now())
            && rem < LOW_REMAINING
        {
            return Err(PublishError::RateLimited {
                retry_at: Some(reset),
                message: format!(
                    "only {rem} requests left until {reset}; waiting for the window to reset"
                ),
            });
        }
        Ok(())
    }

    /// Sends the request `build` makes (with the token), and returns the
    /// body of a success. `idempotent`: a GET, or a request with an
    /// `Idempotency-Key` (see [`http::Http::send`]).
    async fn send(
        &self,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, String), PublishError> {
        self.check_window()?;
        let resp = self
            .http
            .send(idempotent, |c| build(c).bearer_auth(self.token.expose()))
            .await
            .map_err(|e| transport(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        self.window.observe(&headers, self.clock.now());
        let body = resp.text().await.map_err(|e| transport(&e))?;
        if status.is_success() {
            Ok((status, body))
        } else {
            Err(self.explain(classify(status, &headers, &body, self.clock.now())))
        }
    }

    /// An authentication failure says what to do about it.
    fn explain(&self, e: PublishError) -> PublishError {
        match e {
            PublishError::Auth(m) => PublishError::Auth(format!(
                "{m}: the access token is wrong, expired or revoked; get a new one with `campaign-bot login mastodon --instance {}` and point token_file (or token_env) at it",
                self.base_url
            )),
            other => other,
        }
    }

    /// A megalodon call (a read), with the timeout megalodon lacks and its
    /// errors sorted by the shared policy. A call that fails on the
    /// connection before any answer is made once more at once (megalodon
    /// drops the dead connection, so the second goes out on another).
    async fn call<T, F: Future<Output = MegalodonResult<T>>>(
        &self,
        what: &str,
        make: impl Fn() -> F,
    ) -> Result<T, PublishError> {
        self.check_window()?;
        let mut result = tokio::time::timeout(self.timeout, make()).await;
        if let Ok(Err(megalodon::error::Error::RequestError(e))) = &result
            && http::dropped_before_answer(e)
        {
            tracing::debug!(
                what,
                "connection dropped before an answer; asking once more"
            );
            result = tokio::time::timeout(self.timeout, make()).await;
        }
        match result {
            Err(_) => Err(PublishError::Transient(format!("{what}: timed out"))),
            Ok(Ok(resp)) => {
                self.window.observe(&resp.header, self.clock.now());
                Ok(resp.json)
            }
            Ok(Err(e)) => Err(self.explain(self.megalodon_error(what, e))),
        }
    }

    fn megalodon_error(&self, what: &str, e: megalodon::error::Error) -> PublishError {
        use megalodon::error::Error as E;
        match e {
            E::OwnError(own) => {
                let headers = own.header.clone().unwrap_or_default();
                self.window.observe(&headers, self.clock.now());
                match own
                    .status
                    .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
                {
                    Some(status) if status == reqwest::StatusCode::PARTIAL_CONTENT => {
                        PublishError::NotReady(format!("{what}: still being processed"))
                    }
                    Some(status) => {
                        classify(status, &headers, &own.message, self.clock.now()).during(what)
                    }
                    None => {
                        PublishError::Transient(format!("{what}: {}", readable_body(&own.message)))
                    }
                }
            }
            E::RequestError(r) => transport(&r),
            E::JsonError(j) => PublishError::Transient(format!("{what}: unreadable answer: {j}")),
            other => PublishError::Transient(format!("{what}: {other}")),
        }
    }

    // ------------------------------------------------------------ media

    async fn upload(&self, media: &super::OutgoingMedia) -> Result<String, PublishError> {
        let (bytes, info) = media.read().await?;
        let alt = media.alt.as_str();
        let file_name = media
            .shown
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let form = || {
            // Part::bytes has a known length, so the whole form is sent with
            // a Content-Length rather than chunked.
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.clone())
                .mime_str(info.kind.mime())
                .expect("a valid MIME type");
            reqwest::multipart::Form::new()
                .part("file", part)
                .text("description", alt.to_string())
        };
        let answer = match self
            .send(false, |c| {
                c.post(self.url("/api/v2/media")).multipart(form())
            })
            .await
        {
            // Older servers have only v1.
            Err(e) if e.status() == Some(404) => {
                self.send(false, |c| {
                    c.post(self.url("/api/v1/media")).multipart(form())
                })
                .await?
            }
            other => other?,
        };
        let uploaded: MediaWire = parse(&answer.1, "media upload")?;
        let id = uploaded.id.into_string();
        if uploaded.url.is_some() {
            return Ok(id);
        }
        // 202: still processing. Ask until it has a URL, within bounds.
        for _ in 0..self.polling.attempts {
            tokio::time::sleep(self.polling.interval).await;
            let api = self.api()?;
            match self
                .call("media status", || api.get_media(id.clone()))
                .await
            {
                Ok(att) if !att.url.is_empty() => return Ok(id),
                Ok(_) => {}
                Err(PublishError::NotReady(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(PublishError::Transient(format!(
            "image {} was still being processed after {} checks",
            media.shown.display(),
            self.polling.attempts
        )))
    }

    // ------------------------------------------------------------ limits

    /// The server's limits: `GET /api/v2/instance`, or v1 through megalodon
    /// on servers that lack v2.
    pub async fn fetch_limits(&self) -> Result<Limits, PublishError> {
        let v2 = self
            .send(true, |c| c.get(self.url("/api/v2/instance")))
            .await;
        let (max_characters, url_weight) = match v2 {
            Ok((_, body)) => {
                let inst: InstanceV2 = parse(&body, "instance")?;
                let _ = inst.configuration.urls;
                let _ = inst.configuration.statuses.max_media_attachments;
                (
                    inst.configuration.statuses.max_characters,
                    inst.configuration.statuses.characters_reserved_per_url,
                )
            }
            Err(e) if e.is_not_found() => {
                // Not megalodon's get_instance: its v1 entity refuses a real
                // Mastodon 4 answer (`contact_account: null`), and Pleroma
                // puts the limit in `max_toot_chars`. Read only what we need.
                let (_, body) = self
                    .send(true, |c| c.get(self.url("/api/v1/instance")))
                    .await?;
                let inst: InstanceV1 = parse(&body, "instance (v1)")?;
                let statuses = inst.configuration.and_then(|c| c.statuses);
                (
                    statuses
                        .as_ref()
                        .and_then(|s| s.max_characters)
                        .or(inst.max_toot_chars),
                    statuses.and_then(|s| s.characters_reserved_per_url),
                )
            }
            Err(e) => return Err(e),
        };
        let limits = limits(max_characters.unwrap_or(500), url_weight.unwrap_or(23));
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        Ok(limits)
    }

    // ------------------------------------------------------------ engagement

    /// One status's counts: `GET /api/v1/statuses/:id`; 404 means gone.
    async fn status_counts(&self, id: &str) -> Result<Check, PublishError> {
        match self
            .send(true, |c| c.get(self.url(&format!("/api/v1/statuses/{id}"))))
            .await
        {
            Ok((_, body)) => Ok(Check::Counts(
                parse::<StatusCountsWire>(&body, "status")?.counts(),
            )),
            Err(e) if e.is_not_found() => Ok(Check::Gone),
            Err(e) => Err(e),
        }
    }

    /// Up to [`BATCH`] statuses in one call. `None` if the server does not
    /// know the call.
    async fn batch_counts(
        &self,
        ids: &[String],
    ) -> Result<Option<Vec<StatusCountsWire>>, PublishError> {
        let query: Vec<(&str, &str)> = ids.iter().map(|id| ("id[]", id.as_str())).collect();
        match self
            .send(true, |c| c.get(self.url("/api/v1/statuses")).query(&query))
            .await
        {
            Ok((_, body)) => Ok(Some(parse(&body, "statuses")?)),
            // Servers before Mastodon 4.3 do not know the call.
            Err(e) if matches!(e.status(), Some(400 | 404 | 405 | 422)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ reconcile

    /// Looks for `post` among the account's recent statuses: made by the
    /// bot's own account after the intent was recorded, with the same words
    /// once what servers rewrite is normalised away (see [`matching`]).
    /// Language, visibility, content warning and the number of images only
    /// break ties: a server may report `en` (or `null`) for every status, so
    /// none of them excludes a status (issue 27). A status that is only
    /// similar makes the answer [`Lookup::Unsure`].
    async fn search_recent(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        let api = self.api()?;
        let me = self
            .call("verify credentials", || api.verify_account_credentials())
            .await?;
        let options = megalodon::megalodon::GetAccountStatusesInputOptions {
            limit: Some(RECONCILE_STATUSES),
            exclude_reblogs: Some(true),
            exclude_replies: Some(true),
            ..Default::default()
        };
        let statuses = self
            .call("recent statuses", || {
                api.get_account_statuses(me.id.clone(), Some(&options))
            })
            .await?;
        // Only statuses made after the intent was recorded (less a margin
        // for clock skew) can be this post: an older one with the same text
        // is the same message from an earlier cycle.
        let not_before = post.not_before - CLOCK_SKEW;
        let candidates = statuses
            .into_iter()
            // Oldest first: if a post went out twice, the first one is ours.
            .rev()
            .filter(|s| s.created_at >= not_before && s.account.id == me.id)
            .map(|s| {
                let agreeing = [
                    s.language.as_deref().is_some_and(|l| {
                        l.split(['-', '_'])
                            .next()
                            .is_some_and(|l| l.eq_ignore_ascii_case(post.lang.as_str()))
                    }),
                    s.visibility.to_string() == self.visibility,
                    s.spoiler_text == post.spoiler.clone().unwrap_or_default(),
                    s.media_attachments.len() == post.media.len(),
                ]
                .into_iter()
                .filter(|&a| a)
                .count();
                let shown = s.url.clone().unwrap_or_else(|| s.uri.clone());
                matching::Candidate {
                    text: matching::compare(&post.text, &s.content),
                    agreeing,
                    found: Published {
                        remote_id: s.id,
                        url: Some(shown.clone()),
                    },
                    shown,
                }
            })
            .collect();
        Ok(matching::decide(candidates).into())
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str, what: &str) -> Result<T, PublishError> {
    serde_json::from_str(body).map_err(|e| {
        PublishError::Transient(format!(
            "{what}: unexpected answer ({e}): {}",
            readable_body(body)
        ))
    })
}

#[async_trait]
impl Publisher for Mastodon {
    fn target(&self) -> &TargetId {
        &self.target
    }
    fn kind(&self) -> &'static str {
        match self.flavour {
            FediverseFlavour::Mastodon => "mastodon",
            FediverseFlavour::Pleroma => "pleroma",
            FediverseFlavour::Gotosocial => "gotosocial",
            FediverseFlavour::Friendica => "friendica",
            FediverseFlavour::Firefish => "firefish",
        }
    }
    fn limits(&self) -> Limits {
        *self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        let mut media_ids = Vec::new();
        for m in &post.media {
            media_ids.push(self.upload(m).await?);
        }
        let mut form: Vec<(&str, String)> = vec![
            ("status", post.text.clone()),
            ("language", post.lang.to_string()),
            ("visibility", self.visibility.clone()),
        ];
        if let Some(s) = &post.spoiler {
            form.push(("spoiler_text", s.clone()));
        }
        for id in media_ids {
            form.push(("media_ids[]", id));
        }
        // Sent with reqwest, not megalodon: the Idempotency-Key header (the
        // same on every retry of this slot and target) is what makes a retry
        // after a lost answer harmless, and megalodon cannot send it.
        let (_, body) = self
            .send(true, |c| {
                c.post(self.url("/api/v1/statuses"))
                    .header("Idempotency-Key", &post.intent_key)
                    .form(&form)
            })
            .await?;
        let status: StatusWire = parse(&body, "new status")?;
        Ok(Published {
            remote_id: status.id.into_string(),
            url: status.url.or(status.uri),
        })
    }

    /// Mastodon remembers an `Idempotency-Key` for one hour only, and some
    /// servers ignore it: a post of unknown fate is always looked for among
    /// the account's recent statuses (by its text) before it is sent again.
    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        self.search_recent(post).await
    }

    fn engagement_batch(&self) -> usize {
        match *self.batch.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(false) => 1,
            _ => BATCH,
        }
    }

    fn remaining_calls(&self) -> Option<u64> {
        self.window.remaining(self.clock.now())
    }

    /// Batches of [`BATCH`] with `GET /api/v1/statuses?id[]=…` where the
    /// server has it, one by one where it does not (remembered per target).
    /// A status missing from a batch is asked for alone before it counts as
    /// gone (it may only have been left out of the batch).
    async fn engagement(
        &self,
        remote_ids: &[String],
    ) -> Result<Vec<(String, Check)>, PublishError> {
        let mut out: Vec<(String, Check)> = Vec::new();
        let mut singles: Vec<String> = Vec::new();
        let batch = *self.batch.lock().unwrap_or_else(|p| p.into_inner());
        let mut chunks = remote_ids.chunks(BATCH);
        if batch != Some(false) {
            for chunk in chunks.by_ref() {
                let Some(found) = self.batch_counts(chunk).await? else {
                    *self.batch.lock().unwrap_or_else(|p| p.into_inner()) = Some(false);
                    singles.extend(chunk.iter().cloned());
                    break;
                };
                *self.batch.lock().unwrap_or_else(|p| p.into_inner()) = Some(true);
                for id in chunk {
                    match found.iter().find(|s| s.id.as_str() == id.as_str()) {
                        Some(s) => out.push((id.clone(), Check::Counts(s.counts()))),
                        None => singles.push(id.clone()),
                    }
                }
            }
        }
        for chunk in chunks {
            singles.extend(chunk.iter().cloned());
        }
        for id in singles {
            let check = self.status_counts(&id).await?;
            out.push((id, check));
        }
        Ok(out)
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let api = self.api()?;
        let me = self
            .call("verify credentials", || api.verify_account_credentials())
            .await?;
        Ok(format!("@{} on {}", me.acct, self.base_url))
    }

    async fn refresh_limits(&self) -> Result<Limits, PublishError> {
        self.fetch_limits().await
    }

    async fn followers(&self) -> Result<Option<u64>, PublishError> {
        let api = self.api()?;
        let me = self
            .call("verify credentials", || api.verify_account_credentials())
            .await?;
        Ok(Some(u64::try_from(me.followers_count).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_opaque_strings() {
        let s: StatusWire =
            serde_json::from_str(r#"{"id":"AbC9x","url":null,"uri":"https://x/1"}"#).unwrap();
        assert_eq!(s.id.into_string(), "AbC9x");
        let s: StatusWire = serde_json::from_str(r#"{"id":12345,"url":"https://x/@a/1"}"#).unwrap();
        assert_eq!(s.id.into_string(), "12345");
    }

    #[test]
    fn html_content_compares_with_the_rendered_text() {
        let html = "<p>Cities welcome.</p><p><a href=\"https://m/tags/WeTogether\" class=\"mention hashtag\">#<span>WeTogether</span></a> &amp; more</p>";
        assert_eq!(
            matching::compare("Cities welcome.\n\n#WeTogether & more", html),
            matching::Match::Same
        );
    }
}
