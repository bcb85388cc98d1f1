//! A Mastodon-like HTTP server on loopback that injects faults into
//! `POST /api/v1/statuses`: rate limits, 5xx, answers that never come,
//! dropped connections, bodies that never end, truncated JSON, and slow
//! answers to requests it did carry out. Statuses it creates are kept (with
//! the `Idempotency-Key` they came with), and listed on the account's
//! timeline, so a test can count exactly what was posted.
//!
//! Built on raw tokio sockets because the faults live below HTTP (a reset
//! connection, a body cut short), where wiremock cannot go. The JSON it
//! answers with is the recorded Mastodon responses, with the ids, text and
//! times of the statuses it holds.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::body;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Creates the status and answers 200.
    Ok,
    /// 429 with a reset time this far ahead.
    RateLimited(Duration),
    /// This status, with an error body; nothing is created.
    Status(u16),
    /// Reads the request, never answers, creates nothing.
    Hang,
    /// Reads the request and drops the connection; nothing is created.
    Reset,
    /// Creates the status, then sends headers and half a body, then hangs.
    NeverEnds,
    /// Creates the status, answers 200 with JSON cut in the middle.
    Truncated,
    /// Creates the status, answers 200 after this delay (longer than the
    /// client waits: the classic source of duplicates).
    Slow(Duration),
}

/// What the server reports as a status's language in the Mastodon API
/// (issue 27: servers keep what they are sent, yet report otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// What the status was sent with, as Mastodon does.
    #[default]
    AsSent,
    /// `"en"` for every status: one server keeps the real language in its
    /// ActivityPub `contentMap` and reports `en` in the API.
    AlwaysEn,
    /// `null` for every status.
    Null,
}

#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub key: Option<String>,
    pub text: String,
    /// The content as the server shows it, when it rewrote the text.
    pub html: Option<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct State {
    /// Faults for the next status POSTs, in order; then `Ok`.
    pub script: VecDeque<Fault>,
    /// A fault drawn for each POST after the script (for long runs).
    pub random_faults: bool,
    /// Deduplicate by `Idempotency-Key` as Mastodon does (false: a server
    /// that ignores it, so only the bot's own care prevents duplicates).
    pub honour_idempotency_key: bool,
    /// Show statuses rewritten as some fediverse servers do ([`rewrite`]).
    pub rewrite_text: bool,
    /// What it reports as each status's language.
    pub language: Language,
    pub created: Vec<Created>,
    pub posts_received: usize,
    seed: u64,
}

pub struct FaultServer {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FaultServer {
    /// A server that ignores `Idempotency-Key` and rewrites text.
    pub async fn unlike_mastodon() -> FaultServer {
        let s = FaultServer::start(false).await;
        s.state.lock().unwrap().rewrite_text = true;
        s
    }

    /// [`FaultServer::unlike_mastodon`] that also misreports languages.
    pub async fn mislabelling(language: Language) -> FaultServer {
        let s = FaultServer::unlike_mastodon().await;
        s.state.lock().unwrap().language = language;
        s
    }

    pub async fn start(honour_idempotency_key: bool) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            honour_idempotency_key,
            seed: 0x9e3779b97f4a7c15,
            ..Default::default()
        }));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, st).await;
                });
            }
        });
        FaultServer { url, state }
    }

    pub fn script(&self, faults: &[Fault]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(faults.iter().copied());
    }

    pub fn created(&self) -> Vec<Created> {
        self.state.lock().unwrap().created.clone()
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\nx-ratelimit-limit: 300\r\nx-ratelimit-remaining: 250\r\nx-ratelimit-reset: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        (Utc::now() + chrono::Duration::minutes(5)).to_rfc3339(),
        body.len()
    )
    .into_bytes()
}

/// The text as servers that rewrite it show it: a naive sanitiser drops
/// `< 2 >` as an unknown tag, Friendica turns `<3` into a heart, markdown
/// statuses (Pleroma, Akkoma, GoToSocial) turn `*x*` into `<em>x</em>`.
pub fn rewrite(text: &str) -> String {
    let sanitised = regex_lite_strip_tags(text).replace("<3", "\u{2764}\u{fe0f}");
    let escaped = escape(&sanitised);
    let mut out = String::new();
    let mut parts = escaped.split('*');
    out.push_str(parts.next().unwrap_or(""));
    let rest: Vec<&str> = parts.collect();
    let mut i = 0;
    while i < rest.len() {
        if i + 1 < rest.len() && !rest[i].contains('\n') {
            out.push_str(&format!("<em>{}</em>{}", rest[i], rest[i + 1]));
            i += 2;
        } else {
            out.push('*');
            out.push_str(rest[i]);
            i += 1;
        }
    }
    paragraphs(&out)
}

/// `<` to the next `>`, with no other `<` between, removed.
fn regex_lite_strip_tags(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        match after.find(['<', '>']) {
            Some(i) if after.as_bytes()[i] == b'>' => {
                out.push_str(&rest[..open]);
                rest = &after[i + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn paragraphs(escaped: &str) -> String {
    escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br />")))
        .collect()
}

/// A status as Mastodon shows it, from the recorded response.
fn status_json(c: &Created, language: Language) -> Value {
    let mut s = body("test_status_post_none_public.json", 0);
    let html = c
        .html
        .clone()
        .unwrap_or_else(|| paragraphs(&escape(&c.text)));
    s["id"] = json!(c.id);
    // On the bot's own timeline every status is the bot's.
    s["account"] = body("test_account.json", 0);
    s["content"] = json!(html);
    s["language"] = match language {
        Language::AsSent => json!(c.language),
        Language::AlwaysEn => json!("en"),
        Language::Null => Value::Null,
    };
    s["created_at"] = json!(
        c.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    s["url"] = json!(format!("http://localhost:3000/@mastodonpy_test/{}", c.id));
    s
}

fn next_fault(st: &mut State) -> Fault {
    if let Some(f) = st.script.pop_front() {
        return f;
    }
    if !st.random_faults {
        return Fault::Ok;
    }
    st.seed ^= st.seed << 13;
    st.seed ^= st.seed >> 7;
    st.seed ^= st.seed << 17;
    match st.seed % 20 {
        0 => Fault::Status(503),
        1 => Fault::Status(500),
        2 => Fault::Reset,
        3 => Fault::Truncated,
        4 => Fault::Slow(Duration::from_millis(1500)),
        _ => Fault::Ok,
    }
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut sock).await else {
        return Ok(());
    };
    let path_only = req.path.split('?').next().unwrap_or("").to_string();
    match (req.method.as_str(), path_only.as_str()) {
        ("POST", "/api/v1/statuses") => post_status(sock, req, state).await,
        ("GET", "/api/v2/instance") => {
            sock.write_all(&response(200, &body("test_instance.json", 0).to_string()))
                .await
        }
        // Media: a small image is processed at once (Mastodon answers 200
        // then; 202 and a poll for video or large files, as recorded in
        // test_media_post_false.json): the recorded processed attachment.
        ("POST", "/api/v2/media") => {
            sock.write_all(&response(
                200,
                &body("test_media_post_false.json", 1).to_string(),
            ))
            .await
        }
        ("GET", p) if p.starts_with("/api/v1/media/") => {
            sock.write_all(&response(
                200,
                &body("test_media_post_false.json", 1).to_string(),
            ))
            .await
        }
        ("GET", "/api/v1/accounts/verify_credentials") => {
            sock.write_all(&response(200, &body("test_account.json", 0).to_string()))
                .await
        }
        ("GET", p) if p.starts_with("/api/v1/accounts/") && p.ends_with("/statuses") => {
            let list: Vec<Value> = {
                let st = state.lock().unwrap();
                st.created
                    .iter()
                    .rev()
                    .take(40)
                    .map(|c| status_json(c, st.language))
                    .collect()
            };
            sock.write_all(&response(200, &Value::Array(list).to_string()))
                .await
        }
        _ => {
            sock.write_all(&response(404, r#"{"error":"Not Found"}"#))
                .await
        }
    }
}

async fn post_status(
    mut sock: TcpStream,
    req: Request,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let key = req.header("idempotency-key").map(str::to_string);
    let (fault, created, language) = {
        let mut st = state.lock().unwrap();
        st.posts_received += 1;
        let fault = next_fault(&mut st);
        let creates = matches!(
            fault,
            Fault::Ok | Fault::NeverEnds | Fault::Truncated | Fault::Slow(_)
        );
        let mut created = None;
        if creates {
            let existing = if st.honour_idempotency_key {
                st.created
                    .iter()
                    .find(|c| c.key.is_some() && c.key == key)
                    .cloned()
            } else {
                None
            };
            created = Some(existing.unwrap_or_else(|| {
                let text = field("status").unwrap_or_default();
                let c = Created {
                    id: format!("{}", 117_020_600_000_000_000u64 + st.created.len() as u64),
                    key: key.clone(),
                    html: st.rewrite_text.then(|| rewrite(&text)),
                    text,
                    language: field("language"),
                    created_at: Utc::now(),
                };
                st.created.push(c.clone());
                c
            }));
        }
        (fault, created, st.language)
    };
    let ok_body = || status_json(created.as_ref().expect("created"), language).to_string();
    match fault {
        Fault::Ok => sock.write_all(&response(200, &ok_body())).await,
        Fault::RateLimited(after) => {
            let reset = (Utc::now() + chrono::Duration::from_std(after).unwrap()).to_rfc3339();
            let body = r#"{"error":"Too many requests"}"#;
            let head = format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nx-ratelimit-limit: 300\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: {reset}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(head.as_bytes()).await
        }
        Fault::Status(code) => {
            sock.write_all(&response(code, r#"{"error":"Something went wrong"}"#))
                .await
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Fault::Reset => {
            // A zero linger makes the close a reset (RST), as a crashed proxy would.
            sock.set_zero_linger()?;
            drop(sock);
            Ok(())
        }
        Fault::NeverEnds => {
            let full = response(200, &ok_body());
            sock.write_all(&full[..full.len() - 40]).await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        Fault::Truncated => {
            let body = ok_body();
            let cut = &body[..body.len() / 2];
            sock.write_all(&response(200, cut)).await
        }
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            sock.write_all(&response(200, &ok_body())).await
        }
    }
}
