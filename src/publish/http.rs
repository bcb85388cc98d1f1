//! What every HTTP network shares: one place that decides which answers are
//! worth retrying (5xx, 408, 429, timeouts, dropped connections), which are
//! permanent (400, 404, 413, 422) and which mean the credentials are bad
//! (401, 403), reading rate-limit headers, turning an error body (JSON or
//! HTML) into one readable line, and sending idempotent requests once more
//! on a fresh connection when a pooled one turns out dead ([`Http`]).

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::PublishError;

/// Timeouts for every request: a server that never answers must not hold a
/// slot past its grace.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP client with the bot's timeouts and user agent.
pub fn client() -> reqwest::Client {
    client_with_timeout(REQUEST_TIMEOUT)
}

/// The same with another request timeout (tests make it short).
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    builder(timeout).build().expect("the HTTP client builds")
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("campaign-bot/", env!("CARGO_PKG_VERSION")))
}

/// A network's HTTP client: pooled connections, and a second client without
/// a pool for the one resend of an idempotent request whose pooled
/// connection the server had closed without saying so (about 1 request in
/// 100 on such servers fails that way; the same request on a new connection
/// goes through).
pub struct Http {
    pooled: reqwest::Client,
    fresh: OnceLock<reqwest::Client>,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> Http {
        Http {
            pooled: client_with_timeout(timeout),
            fresh: OnceLock::new(),
            timeout,
        }
    }

    /// The pooled client.
    pub fn client(&self) -> &reqwest::Client {
        &self.pooled
    }

    fn fresh(&self) -> &reqwest::Client {
        self.fresh.get_or_init(|| {
            builder(self.timeout)
                .pool_max_idle_per_host(0)
                .build()
                .expect("the HTTP client builds")
        })
    }

    /// Sends the request `build` makes. An idempotent one (a GET, or a
    /// request carrying an idempotency key or a record key) that fails on
    /// the connection before any answer came back is sent once more at
    /// once, on a fresh connection, outside the retry policy's backoff.
    pub async fn send(
        &self,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        match build(&self.pooled).send().await {
            Err(e) if idempotent && dropped_before_answer(&e) => {
                tracing::debug!(error = %error_chain(&e), "connection dropped before an answer; sending once more on a new connection");
                build(self.fresh()).send().await
            }
            other => other,
        }
    }
}

/// An answer read whole: its status, headers and body.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body read as `T`, or a transient error: a server that answered
    /// success with something else may have done the work.
    pub fn json<T: for<'de> serde::Deserialize<'de>>(&self, what: &str) -> Result<T, PublishError> {
        serde_json::from_str(&self.body).map_err(|e| {
            PublishError::Transient(format!("{what}: an answer that cannot be read: {e}"))
        })
    }
}

impl Http {
    /// [`Http::send`], and the answer read whole; `failed` says what a
    /// failure on the connection, or reading the body, is.
    pub async fn exchange(
        &self,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        failed: impl Fn(reqwest::Error) -> PublishError,
    ) -> Result<Answer, PublishError> {
        let answer = self.send(idempotent, build).await.map_err(&failed)?;
        let (status, headers) = (answer.status(), answer.headers().clone());
        let body = answer.text().await.map_err(&failed)?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A request that failed on an established connection before any answer:
/// not a timeout (the server may be working on it) and not a failure to
/// connect (a new connection would fail the same way).
pub fn dropped_before_answer(e: &reqwest::Error) -> bool {
    !e.is_timeout() && !e.is_connect() && (e.is_request() || e.is_body())
}

/// Sorts a failed response into a [`PublishError`].
pub fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
    now: DateTime<Utc>,
) -> PublishError {
    let reason = if body.trim().is_empty() {
        // "401 (empty answer)" says nothing: name the status at least.
        format!(
            "({}, no reason given)",
            status.canonical_reason().unwrap_or("no answer")
        )
    } else {
        readable_body(body)
    };
    let message = format!("{} {reason}", status.as_u16());
    match status.as_u16() {
        429 => PublishError::RateLimited {
            retry_at: retry_at(headers, now),
            message,
        },
        401 | 403 => PublishError::Auth(message),
        408 | 425 | 500..=599 => PublishError::Transient(message),
        code => PublishError::Permanent {
            status: Some(code),
            code: None,
            message,
        },
    }
}

/// A transport failure: nothing or not all came back. Retryable, but the
/// request may have reached the server (hence idempotency keys).
pub fn transport(e: &reqwest::Error) -> PublishError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_decode() || e.is_body() {
        "the answer was cut short or unreadable"
    } else {
        "the connection failed"
    };
    PublishError::Transient(format!("{what}: {}", error_chain(e)))
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// When a rate limit lifts: `Retry-After` (seconds or an HTTP date), else
/// `X-RateLimit-Reset` (Mastodon: an ISO 8601 time), `RateLimit-Reset`
/// (Bluesky: Unix seconds) or `x-rate-limit-reset` (X: Unix seconds).
pub fn retry_at(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<i64>() {
            return Some(now + chrono::Duration::seconds(secs.max(0)));
        }
        if let Ok(t) = DateTime::parse_from_rfc2822(v) {
            return Some(t.with_timezone(&Utc));
        }
    }
    reset_time(headers, now)
}

/// The end of the current rate-limit window, from either header style.
pub fn reset_time(headers: &HeaderMap, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    for name in ["x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"] {
        let Some(v) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
        else {
            continue;
        };
        if let Ok(t) = DateTime::parse_from_rfc3339(v) {
            return Some(t.with_timezone(&Utc));
        }
        if let Ok(secs) = v.parse::<i64>() {
            // Unix seconds, as Bluesky sends; small numbers are "seconds from now".
            if secs > 1_000_000_000 {
                return DateTime::from_timestamp(secs, 0);
            }
            return Some(now + chrono::Duration::seconds(secs));
        }
    }
    None
}

/// The last rate-limit window a network announced: requests left, and when
/// it resets. Each publisher keeps one and feeds it every response.
#[derive(Debug, Default)]
pub struct RateWindow(Mutex<Option<(u64, DateTime<Utc>)>>);

impl RateWindow {
    /// Remembers the window a response's headers announce, if they do.
    pub fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        if let (Some(rem), Some(reset)) = (remaining(headers), reset_time(headers, now)) {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((rem, reset));
        }
    }

    /// Requests left and when the window resets, while it has not.
    pub fn current(&self, now: DateTime<Utc>) -> Option<(u64, DateTime<Utc>)> {
        let window = *self.0.lock().unwrap_or_else(|p| p.into_inner());
        window.filter(|(_, reset)| *reset > now)
    }

    /// Requests left in the current window, if one is known.
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<u64> {
        self.current(now).map(|(rem, _)| rem)
    }
}

/// Requests left in the current window, from either header style.
pub fn remaining(headers: &HeaderMap) -> Option<u64> {
    [
        "x-ratelimit-remaining",
        "ratelimit-remaining",
        "x-rate-limit-remaining",
    ]
    .iter()
    .find_map(|n| {
        headers
            .get(*n)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    })
}

/// What the server said, on one line: the `error` (or `message`) of a JSON
/// body, the title or text of an HTML page, or the text itself, shortened.
pub fn readable_body(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "(empty answer)".into();
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        let parts: Vec<String> = ["error", "message", "error_description"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(|m| m.as_str()).map(str::to_string))
            .collect();
        if !parts.is_empty() {
            let mut parts = parts;
            parts.dedup();
            return shorten(&parts.join(": "));
        }
        return shorten(&v.to_string());
    }
    if body.starts_with('<') {
        let lower = body.to_lowercase();
        if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
            && b > a
        {
            return shorten(body[a + 7..b].trim());
        }
        return shorten(&strip_tags(body));
    }
    shorten(body)
}

/// Text without HTML tags, entities decoded, white space collapsed. Block
/// tags (`<p>`, `<br>`…) separate words; inline ones (`<a>`, `<span>`) do
/// not, so `#<span>Tag</span>` reads `#Tag`.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut tag: Option<String> = None;
    for c in html.chars() {
        match (&mut tag, c) {
            (None, '<') => tag = Some(String::new()),
            (Some(name), '>') => {
                let n: String = name
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if matches!(
                    n.as_str(),
                    "p" | "br"
                        | "div"
                        | "li"
                        | "ul"
                        | "ol"
                        | "tr"
                        | "td"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "title"
                        | "body"
                        | "blockquote"
                ) {
                    out.push(' ');
                }
                tag = None;
            }
            (Some(name), c) => name.push(c),
            (None, c) => out.push(c),
        }
    }
    let decoded = html_escape::decode_html_entities(&out);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_rate_window_is_remembered_until_it_resets() {
        let w = RateWindow::default();
        let now = Utc::now();
        assert_eq!(w.remaining(now), None);
        w.observe(&headers(&[("ratelimit-remaining", "7")]), now);
        assert_eq!(w.remaining(now), None, "no reset time: nothing to go by");
        w.observe(
            &headers(&[("ratelimit-remaining", "7"), ("ratelimit-reset", "300")]),
            now,
        );
        assert_eq!(w.remaining(now), Some(7));
        w.observe(
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "2001-01-01T00:00:00Z"),
            ]),
            now,
        );
        assert_eq!(w.current(now), None, "a window that has reset says nothing");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn one_policy_for_every_status() {
        let now = Utc::now();
        let h = HeaderMap::new();
        let sorted = |status| match classify(status, &h, "", now) {
            PublishError::RateLimited { .. } => "rate limited",
            PublishError::Transient(_) => "transient",
            PublishError::Auth(_) => "auth",
            _ => "other",
        };
        for (status, expected) in [
            (StatusCode::TOO_MANY_REQUESTS, "rate limited"),
            (StatusCode::BAD_GATEWAY, "transient"),
            (StatusCode::REQUEST_TIMEOUT, "transient"),
            (StatusCode::UNAUTHORIZED, "auth"),
            (StatusCode::FORBIDDEN, "auth"),
        ] {
            assert_eq!(sorted(status), expected, "{status}");
        }
        assert_eq!(
            classify(
                StatusCode::UNPROCESSABLE_ENTITY,
                &h,
                r#"{"error":"Validation failed: Text character limit of 500 exceeded"}"#,
                now
            ),
            PublishError::Permanent {
                status: Some(422),
                code: None,
                message: "422 Validation failed: Text character limit of 500 exceeded".into()
            }
        );
    }

    #[test]
    fn reset_headers_in_both_styles() {
        let now = Utc::now();
        let masto = headers(&[
            ("x-ratelimit-reset", "2026-08-01T15:00:00.627625Z"),
            ("x-ratelimit-remaining", "3"),
        ]);
        assert_eq!(
            retry_at(&masto, now).unwrap().to_rfc3339(),
            "2026-08-01T15:00:00.627625+00:00"
        );
        assert_eq!(remaining(&masto), Some(3));
        let bsky = headers(&[
            ("ratelimit-reset", "1790000000"),
            ("ratelimit-remaining", "0"),
        ]);
        assert_eq!(retry_at(&bsky, now).unwrap().timestamp(), 1_790_000_000);
        let after = headers(&[
            ("retry-after", "120"),
            ("x-ratelimit-reset", "2026-08-01T15:00:00Z"),
        ]);
        assert_eq!(
            retry_at(&after, now),
            Some(now + chrono::Duration::seconds(120))
        );
    }

    #[test]
    fn html_error_pages_read_as_one_line() {
        let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad</h1></body></html>";
        assert_eq!(readable_body(page), "502 Bad Gateway");
        assert_eq!(readable_body("<p>We&#39;re <b>down</b></p>"), "We're down");
        assert_eq!(readable_body(""), "(empty answer)");
    }
}
