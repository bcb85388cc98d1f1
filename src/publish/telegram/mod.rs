//! Telegram channels, through the Bot API (`sendMessage`, `sendPhoto`): a
//! bot that is an administrator of the channel posts to it.
//!
//! Exactly once without a key: the Bot API has no idempotency key and a
//! bot cannot read a channel's messages back. So a post is sent only while
//! its fate is certain; one whose outcome is unknown (a timeout or a 5xx
//! after the request left, a crash mid-send) is never sent again: it is
//! recorded as uncertain and `status` shows it for a person to check the
//! channel and settle it with `campaign-bot resolve`. A request that could
//! not even connect, or a 429, is certainly not posted and is retried.
//!
//! Texts are plain (no `parse_mode`): hashtags are plain text, which
//! Telegram makes clickable itself. Lengths are UTF-16 code units: 4,096
//! for a message, 1,024 for a photo's caption; a post with an image whose
//! text is longer than a caption is sent as a message without the image
//! (`validate` warns). The Bot API gives bots no counts for channel posts:
//! nothing is collected, and `report` says so.

use async_trait::async_trait;
use serde::Deserialize;

use super::http::{self, Http};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::clock::Clock;
use crate::model::Published;
use crate::render::{Count, Limits, Rule};
use crate::secret::Secret;

pub mod home;
pub use home::{PROFILE, Raw, Settings};

/// Telegram's for a message's text (Bot API `sendMessage`): 4,096 UTF-16
/// code units.
pub const LIMITS: Limits = Limits::of(&[Rule::at_most(4096, Count::Utf16)]);

/// A photo's caption, in UTF-16 code units.
pub const MAX_CAPTION: usize = 1024;
/// What `sendPhoto` takes for an uploaded photo.
pub const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

pub struct Telegram {
    target: TargetId,
    api_url: String,
    channel: String,
    token: Secret,
    http: Http,
    clock: Clock,
}

/// Every Bot API answer: `result` when `ok`, else `error_code` (the HTTP
/// status), `description` and sometimes `parameters`.
#[derive(Debug, Deserialize)]
struct Envelope<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Debug, Deserialize)]
struct Parameters {
    retry_after: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    chat: Option<Chat>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: Option<i64>,
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct User {
    username: Option<String>,
    first_name: Option<String>,
}

impl Telegram {
    pub fn new(name: &str, api_url: &str, channel: &str, token: Secret) -> Self {
        Telegram {
            target: TargetId::new(name, &home::PROFILE),
            api_url: api_url.trim_end_matches('/').to_string(),
            channel: channel.to_string(),
            token,
            http: Http::new(http::REQUEST_TIMEOUT),
            clock: Clock::System,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A method's address. It holds the token: it is never logged, and
    /// errors are stripped of it ([`reqwest::Error::without_url`]).
    fn method(&self, name: &str) -> String {
        format!("{}/bot{}/{name}", self.api_url, self.token.expose())
    }

    /// Sends a request and reads its answer's `result`.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let http::Answer {
            status,
            headers,
            body,
        } = self
            .http
            .exchange(idempotent, build, |e| transport(e.without_url()))
            .await?;
        let envelope: Option<Envelope<T>> = serde_json::from_str(&body).ok();
        match envelope {
            Some(Envelope {
                ok: true,
                result: Some(result),
                ..
            }) if status.is_success() => Ok(result),
            Some(e) if !e.ok => Err(self.refusal(status.as_u16(), e).during(what)),
            _ if status.is_success() => Err(PublishError::Transient(format!(
                "{what}: an answer that is not the Bot API's: {}",
                http::readable_body(&body)
            ))),
            _ => Err(http::classify(status, &headers, &body, self.clock.now()).during(what)),
        }
    }

    /// A Bot API refusal, sorted by its status (the HTTP one, or the
    /// envelope's where a server answers 200 with `ok: false`).
    fn refusal<T>(&self, http_status: u16, e: Envelope<T>) -> PublishError {
        let status = if (200..300).contains(&http_status) {
            e.error_code.unwrap_or(400)
        } else {
            http_status
        };
        let description = e.description.unwrap_or_else(|| "no description".into());
        let message = format!("{status} {description}");
        match status {
            429 => PublishError::RateLimited {
                retry_at: e
                    .parameters
                    .and_then(|p| p.retry_after)
                    .map(|s| self.clock.now() + chrono::Duration::seconds(s.max(0))),
                message,
            },
            401 => PublishError::Auth(format!(
                "{message}: the bot token is wrong or was revoked; get the token from @BotFather and set it again"
            )),
            403 => PublishError::Auth(format!(
                "{message}: add the bot to the channel {} as an administrator allowed to post",
                self.channel
            )),
            500..=599 => PublishError::Transient(message),
            code => PublishError::Permanent {
                status: Some(code),
                code: None,
                message: if description_is(&message, "chat not found") {
                    format!(
                        "{message}: check `channel` ({}): a public channel's @username, or the numeric id (-100…) of a private one",
                        self.channel
                    )
                } else {
                    message
                },
            },
        }
    }

    /// Where people see a message: `t.me/NAME/ID` for a public channel,
    /// `t.me/c/ID/ID` for a private one.
    fn link(&self, m: &Message) -> Option<String> {
        let username = m
            .chat
            .as_ref()
            .and_then(|c| c.username.clone())
            .or_else(|| self.channel.strip_prefix('@').map(String::from));
        if let Some(u) = username {
            return Some(format!("https://t.me/{u}/{}", m.message_id));
        }
        let id = m
            .chat
            .as_ref()
            .and_then(|c| c.id)
            .or_else(|| self.channel.parse().ok())?;
        let internal = id.to_string();
        let internal = internal.strip_prefix("-100")?;
        Some(format!("https://t.me/c/{internal}/{}", m.message_id))
    }
}

fn description_is(message: &str, what: &str) -> bool {
    message.to_lowercase().contains(what)
}

/// A transport failure. One that could not connect sent nothing; any other
/// may have reached Telegram.
fn transport(e: reqwest::Error) -> PublishError {
    if e.is_connect() {
        PublishError::Unsent(format!(
            "could not connect to Telegram: {}",
            http::error_chain(&e)
        ))
    } else {
        http::transport(&e)
    }
}

/// How long a text is for Telegram.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[async_trait]
impl Publisher for Telegram {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        let photo = post
            .media
            .first()
            .filter(|_| utf16_len(&post.text) <= MAX_CAPTION);
        let message: Message = match photo {
            Some(media) => {
                let (bytes, info) = media.read().await?;
                let file_name = media
                    .shown
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "image".into());
                self.call("sendPhoto", false, |c| {
                    let part = reqwest::multipart::Part::bytes(bytes.clone())
                        .file_name(file_name.clone())
                        .mime_str(info.kind.mime())
                        .expect("a valid MIME type");
                    let form = reqwest::multipart::Form::new()
                        .text("chat_id", self.channel.clone())
                        .text("caption", post.text.clone())
                        .part("photo", part);
                    c.post(self.method("sendPhoto")).multipart(form)
                })
                .await?
            }
            None => {
                self.call("sendMessage", false, |c| {
                    c.post(self.method("sendMessage")).json(&serde_json::json!({
                        "chat_id": self.channel,
                        "text": post.text,
                    }))
                })
                .await?
            }
        };
        let chat = message
            .chat
            .as_ref()
            .and_then(|c| c.id)
            .map(|id| id.to_string())
            .unwrap_or_else(|| self.channel.clone());
        Ok(Published {
            remote_id: format!("{chat}/{}", message.message_id),
            url: self.link(&message),
        })
    }

    /// The Bot API cannot read a channel's messages: whether a post whose
    /// sending was cut short went out cannot be told, and a person decides.
    async fn find_published(&self, _post: &Outgoing) -> Result<Lookup, PublishError> {
        Ok(Lookup::Unsure(format!(
            "Telegram does not let a bot read the channel {} back, so whether this post went out cannot be checked; look in the channel, then run `campaign-bot resolve KEY published` or `not-published`",
            self.channel
        )))
    }

    async fn verify(&self) -> Result<String, PublishError> {
        let me: User = self
            .call("getMe", true, |c| c.get(self.method("getMe")))
            .await?;
        Ok(match (me.username, me.first_name) {
            (Some(u), _) => format!("bot @{u}, posting to {}", self.channel),
            (None, Some(n)) => format!("bot {n}, posting to {}", self.channel),
            _ => format!("a bot, posting to {}", self.channel),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg(channel: &str) -> Telegram {
        Telegram::new(
            "tg",
            "https://api.telegram.org",
            channel,
            Secret::new("1:x"),
        )
    }

    #[test]
    fn links_name_public_and_private_channels() {
        let m = |id, username: Option<&str>| Message {
            message_id: 7,
            chat: Some(Chat {
                id,
                username: username.map(String::from),
            }),
        };
        assert_eq!(
            tg("@campaign").link(&m(None, None)).as_deref(),
            Some("https://t.me/campaign/7")
        );
        assert_eq!(
            tg("-1001234567890")
                .link(&m(Some(-1001234567890), None))
                .as_deref(),
            Some("https://t.me/c/1234567890/7")
        );
        assert_eq!(
            tg("-1001234567890")
                .link(&m(Some(-1001234567890), Some("cities")))
                .as_deref(),
            Some("https://t.me/cities/7")
        );
    }

    #[test]
    fn lengths_are_utf16_code_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("مرحبا"), 5);
        assert_eq!(utf16_len("🌍"), 2, "outside the BMP: a surrogate pair");
    }

    #[test]
    fn the_token_is_never_in_an_error() {
        let t = Telegram::new(
            "tg",
            "http://127.0.0.1:9",
            "@c",
            Secret::new("123:SECRET-TOKEN"),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(t.call::<User>("getMe", true, |c| c.get(t.method("getMe"))))
            .unwrap_err();
        assert!(matches!(err, PublishError::Unsent(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
