//! A Threads-like or Instagram-like server on loopback, for the crash
//! suite and the acceptance run: containers made and published as both do
//! (two steps, the id changing at publish), with the faults that matter for
//! exactly once: a publish that comes too early (Threads: 400, code 24 /
//! 4279009, as logged in `../shared/fixtures/threads/errors.json`;
//! Instagram: 400, 9007 / 2207027 "Media ID is not available", as in
//! `../shared/fixtures/instagram/publish.json`), and answers to container
//! and publish requests held back for up to 0.8 s after the server has
//! acted, so that kills land between a post going out and the bot hearing
//! of it. A container published twice makes two posts, as the worst server
//! would: only the bot's care prevents it.
//!
//! Shapes: those of the two fixture folders (`{"id"}` for a container and
//! a publish; a container's status as `{"status", "id"}` on Threads and
//! `{"status_code", "status", "id"}` on Instagram; `{"data": [...]}` for
//! lists; Meta's error body).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// What tells Threads and Instagram apart on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// The API version in every path.
    pub version: &'static str,
    /// The account's id.
    pub user: &'static str,
    /// `POST /{user}/{create}` makes a container, with its text in `text_field`.
    pub create: &'static str,
    pub text_field: &'static str,
    /// `POST /{user}/{publish}` publishes one.
    pub publish: &'static str,
    /// The error of a publish too early: code and subcode.
    pub too_early: (i64, i64, &'static str),
    /// Where a post is shown.
    pub permalink: &'static str,
}

/// Threads: the docs' placeholder id, `threads` and `threads_publish`.
pub const THREADS: Dialect = Dialect {
    version: "v1.0",
    user: "1234567",
    create: "threads",
    text_field: "text",
    publish: "threads_publish",
    too_early: (24, 4_279_009, "The requested resource does not exist"),
    permalink: "https://www.threads.net/@campaign/post/",
};

/// Instagram: the account of publish.json, `media` and `media_publish`.
pub const INSTAGRAM: Dialect = Dialect {
    version: "v25.0",
    user: "17841405822304914",
    create: "media",
    text_field: "caption",
    publish: "media_publish",
    too_early: (9007, 2_207_027, "Media ID is not available"),
    permalink: "https://www.instagram.com/p/",
};

/// The Threads account's id (the docs' placeholder).
pub const USER: &str = THREADS.user;

#[derive(Debug, Clone)]
pub struct Container {
    pub text: String,
    /// Instagram: the image's address.
    pub image_url: Option<String>,
    pub ready: bool,
    /// The posts made of it (more than one is a duplicate).
    pub published: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Post {
    pub id: String,
    pub container: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

pub struct State {
    pub dialect: Dialect,
    pub containers: HashMap<String, Container>,
    pub posts: Vec<Post>,
    next_id: u64,
    seed: u64,
    /// Draw faults (a publish too early, held answers).
    pub faults: bool,
}

impl State {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}", 18_000_000_000_000_000u64 + self.next_id)
    }
    fn draw(&mut self, n: u64) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed % n
    }
    fn held(&mut self, t: ResponseTemplate) -> ResponseTemplate {
        if self.faults && self.draw(3) == 0 {
            let ms = self.draw(800);
            t.set_delay(Duration::from_millis(ms))
        } else {
            t
        }
    }
}

pub struct ContainerServer {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
}

fn form(r: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&r.body)
        .chain(r.url.query_pairs())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn error(code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    let mut e = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A-ptA4ve9FlWkRMi935kaIS"});
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    ResponseTemplate::new(400).set_body_json(json!({ "error": e }))
}

impl ContainerServer {
    pub async fn start(dialect: Dialect, faults: bool) -> ContainerServer {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            dialect,
            containers: HashMap::new(),
            posts: Vec::new(),
            next_id: 0,
            seed: 0x51CA_DE11_2026_1218,
            faults,
        }));
        let shared = state.clone();
        Mock::given(wiremock::matchers::any())
            .respond_with(move |r: &Request| answer(&shared, r))
            .mount(&server)
            .await;
        ContainerServer { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }
}

fn answer(state: &Mutex<State>, r: &Request) -> ResponseTemplate {
    let mut s = state.lock().unwrap();
    let d = s.dialect;
    let f = form(r);
    let path = r.url.path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some((&version, parts)) = parts.split_first() else {
        return ResponseTemplate::new(404);
    };
    if version != d.version {
        return ResponseTemplate::new(404);
    }
    let user = d.user;
    match (r.method.as_str(), parts) {
        // Threads' profile; Instagram's account (its followers too).
        ("GET", ["me"]) | ("GET", [_]) if parts[0] == "me" || parts[0] == user => {
            ResponseTemplate::new(200).set_body_json(
                json!({"id": user, "username": "campaign", "followers_count": 10}),
            )
        }
        ("POST", [u, create]) if *u == user && *create == d.create => {
            let id = s.id();
            let text = f.get(d.text_field).cloned().unwrap_or_default();
            let image_url = f.get("image_url").cloned();
            s.containers.insert(
                id.clone(),
                Container {
                    text,
                    image_url,
                    ready: false,
                    published: Vec::new(),
                },
            );
            let t = ResponseTemplate::new(200).set_body_json(json!({ "id": id }));
            s.held(t)
        }
        ("POST", [u, publish]) if *u == user && *publish == d.publish => {
            let creation = f.get("creation_id").cloned().unwrap_or_default();
            let too_early = s.faults && s.draw(4) == 0;
            let (code, subcode, message) = d.too_early;
            let Some(c) = s.containers.get_mut(&creation) else {
                return error(code, Some(subcode), message);
            };
            if !c.ready && too_early {
                c.ready = true;
                return error(code, Some(subcode), message);
            }
            c.ready = true;
            let text = c.text.clone();
            let id = s.id();
            s.containers
                .get_mut(&creation)
                .unwrap()
                .published
                .push(id.clone());
            s.posts.push(Post {
                id: id.clone(),
                container: creation,
                text,
                at: Utc::now(),
            });
            let t = ResponseTemplate::new(200).set_body_json(json!({ "id": id }));
            s.held(t)
        }
        // The account's posts, newest first (Threads filters by `since`;
        // Instagram lists the newest).
        ("GET", [u, list]) if *u == user && *list == d.create => {
            let since = f
                .get("since")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            let data: Vec<_> = s
                .posts
                .iter()
                .filter(|p| p.at.timestamp() >= since)
                .rev()
                .map(|p| {
                    json!({"id": p.id, "permalink": format!("{}{}", d.permalink, p.id),
                        (d.text_field): p.text, "timestamp": p.at.format("%Y-%m-%dT%H:%M:%S+0000").to_string()})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
        }
        ("GET", [u, "threads_insights"]) if *u == user => ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"name": "followers_count", "period": "day", "total_value": {"value": 10}}]}),
        ),
        ("GET", [u, "threads_publishing_limit" | "content_publishing_limit"]) if *u == user => {
            ResponseTemplate::new(200).set_body_json(
                json!({"data": [{"quota_usage": 0, "config": {"quota_total": 1000000, "quota_duration": 86400}}]}),
            )
        }
        ("GET", [_, "insights"]) => ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"name": "likes", "period": "lifetime", "values": [{"value": 0}]},
            {"name": "views", "period": "lifetime", "values": [{"value": 3}]}]})),
        ("GET", [id]) => {
            let fields = f.get("fields").cloned().unwrap_or_default();
            if fields.contains("status") {
                match s.containers.get(*id) {
                    Some(c) => {
                        let status = if !c.published.is_empty() {
                            "PUBLISHED"
                        } else {
                            "FINISHED"
                        };
                        if d.text_field == "caption" {
                            ResponseTemplate::new(200)
                                .set_body_json(json!({"status_code": status, "status": status.to_lowercase(), "id": id}))
                        } else {
                            ResponseTemplate::new(200)
                                .set_body_json(json!({"status": status, "id": id}))
                        }
                    }
                    None => error(100, None, "Tried accessing nonexisting field (status)"),
                }
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"id": id,
                    "permalink": format!("{}{id}", d.permalink)}))
            }
        }
        _ => ResponseTemplate::new(404),
    }
}
