//! A Threads-like server on loopback for the crash suite: containers made
//! and published as Threads does (two steps, the id changing at publish),
//! with the faults that matter for exactly once: a publish that comes too
//! early (400, code 24 / 4279009, as logged in `errors.json`), and answers
//! to container and publish requests held back for up to 0.8 s after the
//! server has acted, so that kills land between a post going out and the
//! bot hearing of it. A container published twice makes two posts, as the
//! worst server would: only the bot's care prevents it.
//!
//! Shapes: those of `../shared/fixtures/threads/` (`{"id"}` for a
//! container and a publish, `{"status", "id"}` for a container's status,
//! `{"data": [...]}` for lists, Meta's error body).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The account's id (the docs' placeholder).
pub const USER: &str = "1234567";

#[derive(Debug, Clone)]
pub struct Container {
    pub text: String,
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

#[derive(Default)]
pub struct State {
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

pub struct ThreadsServer {
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

impl ThreadsServer {
    pub async fn start(faults: bool) -> ThreadsServer {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            seed: 0x51CA_DE11_2026_1218,
            faults,
            ..State::default()
        }));
        let shared = state.clone();
        Mock::given(wiremock::matchers::any())
            .respond_with(move |r: &Request| answer(&shared, r))
            .mount(&server)
            .await;
        ThreadsServer { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }
}

fn answer(state: &Mutex<State>, r: &Request) -> ResponseTemplate {
    let mut s = state.lock().unwrap();
    let f = form(r);
    let path = r.url.path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (r.method.as_str(), parts.as_slice()) {
        ("GET", ["v1.0", "me"]) => {
            ResponseTemplate::new(200).set_body_json(json!({"id": USER, "username": "campaign"}))
        }
        ("POST", ["v1.0", USER, "threads"]) => {
            let id = s.id();
            let text = f.get("text").cloned().unwrap_or_default();
            s.containers.insert(
                id.clone(),
                Container {
                    text,
                    ready: false,
                    published: Vec::new(),
                },
            );
            let t = ResponseTemplate::new(200).set_body_json(json!({ "id": id }));
            s.held(t)
        }
        ("POST", ["v1.0", USER, "threads_publish"]) => {
            let creation = f.get("creation_id").cloned().unwrap_or_default();
            let too_early = s.faults && s.draw(4) == 0;
            let Some(c) = s.containers.get_mut(&creation) else {
                return error(24, Some(4_279_009), "The requested resource does not exist");
            };
            if !c.ready && too_early {
                c.ready = true;
                return error(24, Some(4_279_009), "The requested resource does not exist");
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
        ("GET", ["v1.0", USER, "threads"]) => {
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
                    json!({"id": p.id, "permalink": format!("https://www.threads.net/@campaign/post/{}", p.id),
                        "text": p.text, "timestamp": p.at.format("%Y-%m-%dT%H:%M:%S+0000").to_string()})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "data": data }))
        }
        ("GET", ["v1.0", USER, "threads_insights"]) => ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"name": "followers_count", "period": "day", "total_value": {"value": 10}}]}),
        ),
        ("GET", ["v1.0", _, "insights"]) => ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"name": "likes", "period": "lifetime", "values": [{"value": 0}]}]})),
        ("GET", ["v1.0", id]) => {
            let fields = f.get("fields").cloned().unwrap_or_default();
            if fields.contains("status") {
                match s.containers.get(*id) {
                    Some(c) => {
                        let status = if !c.published.is_empty() {
                            "PUBLISHED"
                        } else {
                            "FINISHED"
                        };
                        ResponseTemplate::new(200).set_body_json(json!({"status": status, "id": id}))
                    }
                    None => error(100, None, "Tried accessing nonexisting field (status)"),
                }
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"id": id,
                    "permalink": format!("https://www.threads.net/@campaign/post/{id}")}))
            }
        }
        _ => ResponseTemplate::new(404),
    }
}
