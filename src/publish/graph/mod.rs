//! Meta's Graph API family, shared by Threads, Facebook Pages and
//! Instagram: one client (versioned paths, the token in the query or the
//! form, never shown), one reading of Meta's error answers by code and
//! subcode (their text comes back in the account owner's language), the
//! usage headers that announce a rate limit before it is hit, and the wire
//! types all three answer with. What differs between the three products is
//! data ([`Product`]); the two-step publishing of Threads and Instagram is
//! [`container`].

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use super::PublishError;
use super::http::{self, Http};
use crate::clock::Clock;
use crate::model::{Check, Counts};

pub mod container;
pub mod session;

/// The address of Meta's login dialog for `app` (Facebook, Threads), with
/// the parameters in the order Meta documents them; `code_login` adds the
/// `state`.
pub fn dialog_url(mut dialog: reqwest::Url, app: &super::app::App, scopes: &str) -> reqwest::Url {
    dialog
        .query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", scopes)
        .append_pair("response_type", "code");
    dialog
}

/// What one Meta product says differently.
#[derive(Debug)]
pub struct Product {
    /// Its name, for messages.
    pub name: &'static str,
    /// What to run to get a new token.
    pub login: &'static str,
    /// The permissions a token needs, for the message when one is missing.
    pub permissions: &'static str,
    /// (code, subcode) pairs that mean "published before the container
    /// was ready": the same container is published again shortly.
    pub not_ready: &'static [(i64, i64)],
    /// (code, subcode) pairs that mean the account is blocked from posting
    /// (not a rate limit, whatever the code says elsewhere).
    pub blocked: &'static [(i64, i64)],
}

/// How full a rate limit may be (per cent of the usage headers) before the
/// bot stops spending calls on engagement.
const USAGE_CEILING: u64 = 90;

/// A client of one Graph API host, for one product.
pub struct Graph {
    api_url: String,
    version: String,
    http: Http,
    pub clock: Clock,
    product: &'static Product,
    /// The fullest usage the headers announced last (per cent), and when
    /// the bot may spend calls again if they said.
    usage: Mutex<Option<(u64, Option<DateTime<Utc>>)>>,
}

impl Graph {
    pub fn new(api_url: &str, version: &str, product: &'static Product) -> Graph {
        Graph {
            api_url: api_url.trim_end_matches('/').to_string(),
            version: version.to_string(),
            http: Http::new(http::REQUEST_TIMEOUT),
            clock: Clock::System,
            product,
            usage: Mutex::new(None),
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn product(&self) -> &'static Product {
        self.product
    }

    /// The address of `path` (starting with `/`) in the pinned version.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}{path}", self.api_url, self.version)
    }

    /// The address of `path` without a version (token refreshes).
    pub fn unversioned(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    /// Sends a request (`build` adds `token` as `access_token`, in the
    /// query or the form) and reads the answer as `T`. The address and the
    /// body carry the token: neither is ever shown in an error.
    pub async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        idempotent: bool,
        token: &str,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let failed = |e: reqwest::Error| http::transport(&e.without_url()).during(what);
        let answer = self
            .http
            .exchange(idempotent, |c| build(c, token), failed)
            .await?;
        self.observe(&answer.headers);
        if answer.status.is_success() {
            return answer.json(what);
        }
        Err(self
            .error(answer.status, &answer.headers, &answer.body)
            .during(what))
    }

    /// Remembers the fullest rate-limit usage the headers announce.
    fn observe(&self, headers: &HeaderMap) {
        if let Some(u) = usage(headers, self.clock.now()) {
            *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some(u);
        }
    }

    /// Calls the bot may spend on engagement now: none once a usage header
    /// said a limit is nearly reached (until the time it gave, if any).
    pub fn calls_left(&self) -> Option<u64> {
        let usage = *self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let (pct, until) = usage?;
        if until.is_some_and(|t| t <= self.clock.now()) {
            return None;
        }
        // Percentages, read as calls: enough to go on, and a brake before
        // the limit.
        Some(USAGE_CEILING.saturating_sub(pct))
    }

    /// Sorts Meta's error answers by code and subcode.
    pub fn error(&self, status: StatusCode, headers: &HeaderMap, body: &str) -> PublishError {
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
        let product = self.product;
        let pair = (e.code.unwrap_or(0), e.error_subcode.unwrap_or(0));
        if product.not_ready.contains(&pair) {
            return PublishError::NotReady(format!(
                "{message} (the container is not ready yet; the same one is published again shortly)"
            ));
        }
        if product.blocked.contains(&pair) {
            return PublishError::Blocked(format!(
                "{message} ({} restricts this account's posting; a person must look at the account, then clear the pause by restarting)",
                product.name
            ));
        }
        let now = self.clock.now();
        match (e.code, e.error_subcode) {
            // Posting too fast: wait, then the same post again.
            (Some(368), Some(1_390_008)) => PublishError::RateLimited {
                retry_at: Some(now + chrono::Duration::minutes(30)),
                message,
            },
            // Blocked for policy ("deemed abusive", …).
            (Some(368), _) => PublishError::Blocked(format!(
                "{message} ({} blocked this post or the account for its policies; a person must look at the account)",
                product.name
            )),
            // The same text again.
            (Some(506), _) => PublishError::Duplicate {
                message,
                existing: None,
            },
            // Expired or revoked token, or a permission taken away.
            (Some(190 | 102 | 10), _) | (Some(200..=299), _) => PublishError::Auth(format!(
                "{message}: the token is expired, revoked or lacks a permission ({}); run `{}`",
                product.permissions, product.login
            )),
            // Meta's rate limits (application, user, API calls, Page, posts,
            // a business use case).
            (Some(4 | 17 | 32 | 613 | 80001..=80014), _) | (Some(9), Some(2_207_042)) => {
                PublishError::RateLimited {
                    retry_at: http::retry_at(headers, now).or_else(|| regain_at(headers, now)),
                    message,
                }
            }
            // Unknown and service errors: the write may have happened.
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
            _ => http::classify(status, headers, body, now),
        }
    }
}

/// Whether an error says the object is gone (deleted, or never visible):
/// code 100, subcode 33.
pub fn is_gone(e: &PublishError) -> bool {
    matches!(e, PublishError::Permanent { code: Some(code), .. } if code == "100/33")
}

/// Each post's check: `counts` asks one post's; a post gone (deleted, or
/// never visible) is [`Check::Gone`], any other error ends the round.
pub async fn each_post<F, Fut>(
    remote_ids: &[String],
    counts: F,
) -> Result<Vec<(String, Check)>, PublishError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Counts, PublishError>>,
{
    let mut out = Vec::with_capacity(remote_ids.len());
    for id in remote_ids {
        let check = match counts(id.clone()).await {
            Ok(c) => Check::Counts(c),
            Err(e) if is_gone(&e) => Check::Gone,
            Err(e) => return Err(e),
        };
        out.push((id.clone(), check));
    }
    Ok(out)
}

/// The fullest usage (per cent) of `X-App-Usage`, `X-Page-Usage` and
/// `X-Business-Use-Case-Usage`, and when access comes back where a header
/// says (`estimated_time_to_regain_access`, in minutes).
fn usage(headers: &HeaderMap, now: DateTime<Utc>) -> Option<(u64, Option<DateTime<Utc>>)> {
    let mut fullest: Option<u64> = None;
    let mut regain: Option<DateTime<Utc>> = None;
    let mut take = |v: &serde_json::Value| {
        for k in ["call_count", "total_cputime", "total_time"] {
            if let Some(n) = v.get(k).and_then(serde_json::Value::as_u64) {
                fullest = Some(fullest.map_or(n, |f| f.max(n)));
            }
        }
        if let Some(m) = v
            .get("estimated_time_to_regain_access")
            .and_then(serde_json::Value::as_i64)
            .filter(|m| *m > 0)
        {
            let t = now + chrono::Duration::minutes(m);
            regain = Some(regain.map_or(t, |r| r.max(t)));
        }
    };
    for name in ["x-app-usage", "x-page-usage"] {
        if let Some(v) = header_json(headers, name) {
            take(&v);
        }
    }
    if let Some(serde_json::Value::Object(by_id)) =
        header_json(headers, "x-business-use-case-usage")
    {
        for entries in by_id.values() {
            for e in entries.as_array().into_iter().flatten() {
                take(e);
            }
        }
    }
    fullest.map(|f| (f, regain))
}

/// When a business use case's limit lifts, where its header says.
fn regain_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    usage(headers, now).and_then(|(_, t)| t)
}

fn header_json(headers: &HeaderMap, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(headers.get(name)?.to_str().ok()?).ok()
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

/// `{"id": "…"}`.
#[derive(Debug, Deserialize)]
pub struct Id {
    pub id: String,
}

/// `{"data": […]}`.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// One metric of an `/insights` answer: its value in `values[0]` (a post's
/// lifetime) or `total_value` (an account's).
#[derive(Debug, Deserialize)]
pub struct Insight {
    pub name: String,
    #[serde(default)]
    values: Vec<InsightValue>,
    total_value: Option<InsightValue>,
}

#[derive(Debug, Deserialize)]
struct InsightValue {
    value: Option<serde_json::Value>,
}

impl Insight {
    /// Its number (a breakdown by type is summed).
    pub fn value(&self) -> Option<u64> {
        let v = self
            .values
            .first()
            .and_then(|v| v.value.as_ref())
            .or_else(|| self.total_value.as_ref().and_then(|v| v.value.as_ref()))?;
        match v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::Object(parts) => {
                Some(parts.values().filter_map(serde_json::Value::as_u64).sum())
            }
            _ => None,
        }
    }
}

/// The value of metric `name` in an insights answer.
pub fn metric(insights: &[Insight], name: &str) -> Option<u64> {
    insights
        .iter()
        .find(|i| i.name == name)
        .and_then(Insight::value)
}

/// A publishing quota's answer (`threads_publishing_limit`,
/// `content_publishing_limit`).
#[derive(Debug, Deserialize)]
pub struct Quota {
    quota_usage: Option<u64>,
    config: Option<QuotaConfig>,
}

#[derive(Debug, Deserialize)]
struct QuotaConfig {
    quota_total: Option<u64>,
}

impl Quota {
    /// Posts left, where the answer says.
    pub fn left(&self) -> Option<u64> {
        Some(
            self.config
                .as_ref()?
                .quota_total?
                .saturating_sub(self.quota_usage.unwrap_or(0)),
        )
    }
}

/// How long a publishing quota asked is trusted.
pub const QUOTA_FRESH: chrono::Duration = chrono::Duration::hours(1);

/// A publishing quota as last asked: (posts left, when asked). The quota
/// is asked at most hourly, and counted down as posts go out meanwhile.
#[derive(Debug, Default)]
pub struct QuotaCache(Mutex<Option<(u64, DateTime<Utc>)>>);

impl QuotaCache {
    /// Posts left, if asked within the hour.
    pub fn fresh(&self, now: DateTime<Utc>) -> Option<u64> {
        let q = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        q.filter(|(_, at)| now - *at < QUOTA_FRESH).map(|(l, _)| l)
    }
    pub fn set(&self, left: u64, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((left, now));
    }
    /// Counts a post against the quota as last asked.
    pub fn used_one(&self) {
        if let Some((left, _)) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            *left = left.saturating_sub(1);
        }
    }
}

/// Percent-escapes one path segment.
pub fn url_escape(segment: &str) -> String {
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

/// The public address of an image of `posts/` under `base`.
pub fn public_url(base: &str, shown: &std::path::Path) -> String {
    let path: Vec<String> = shown
        .components()
        .map(|c| url_escape(&c.as_os_str().to_string_lossy()))
        .collect();
    format!("{}/{}", base.trim_end_matches('/'), path.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    static P: Product = Product {
        name: "Test",
        login: "campaign-bot login test",
        permissions: "p",
        not_ready: &[(9007, 2_207_027)],
        blocked: &[(4, 2_207_051)],
    };

    fn err(status: u16, body: &str) -> PublishError {
        Graph::new("http://x", "v1", &P).error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body,
        )
    }

    #[test]
    fn errors_by_code_and_subcode_whatever_their_language() {
        let body = |code: i64, sub: Option<i64>| {
            serde_json::json!({"error": {"message": "ข้อความ", "code": code, "error_subcode": sub}})
                .to_string()
        };
        assert!(
            matches!(err(400, &body(190, Some(463))), PublishError::Auth(m) if m.contains("login test"))
        );
        assert!(matches!(
            err(400, &body(4, None)),
            PublishError::RateLimited { .. }
        ));
        // Code 4 with 2207051 is a block on this product, not a rate limit.
        assert!(matches!(
            err(400, &body(4, Some(2_207_051))),
            PublishError::Blocked(_)
        ));
        assert!(matches!(
            err(400, &body(9007, Some(2_207_027))),
            PublishError::NotReady(_)
        ));
        assert!(matches!(
            err(400, &body(368, Some(1_390_008))),
            PublishError::RateLimited { .. }
        ));
        assert!(matches!(
            err(400, &body(368, None)),
            PublishError::Blocked(_)
        ));
        assert!(matches!(
            err(400, &body(506, None)),
            PublishError::Duplicate { .. }
        ));
        assert!(matches!(
            err(500, &body(2, None)),
            PublishError::Transient(_)
        ));
        assert!(is_gone(&err(400, &body(100, Some(33)))));
    }

    #[test]
    fn usage_headers_are_read_as_per_cent() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"pages","call_count":95,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":3}]}"#
                .parse()
                .unwrap(),
        );
        let now = Utc::now();
        let (pct, regain) = usage(&h, now).unwrap();
        assert_eq!(pct, 95);
        assert_eq!(regain, Some(now + chrono::Duration::minutes(3)));
    }
}
