//! Telling people when something goes wrong, before followers notice
//! (`[alerts]`): one message when a cause appears (a post failed for good,
//! a target paused, the state store cannot be written), nothing more while
//! it lasts, and one "resolved" message when it clears.
//!
//! Alerts never block or delay a post: raising one only queues it; a task
//! of its own sends the queue, one message after the other, with the one
//! retry policy (429, 5xx and dropped connections are tried again with a
//! backoff, a refusal is not) and a timeout on every request, so a receiver
//! that hangs only delays the alerts behind it. At most [`MAX_PER_HOUR`]
//! messages go out an hour; the rest are logged and dropped.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::{AlertFormat, AlertsConfig, ConfigError, Secret};
use crate::publish::PublishError;
use crate::publish::http::{self, Http};

/// Messages sent in an hour, at most.
pub const MAX_PER_HOUR: usize = 20;
/// Attempts per message.
const ATTEMPTS: u32 = 4;
/// Each request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an alert is raised. Each target has its own causes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A post on this target failed for good or needs a person.
    PostFailed(String),
    /// This target is paused (its credentials were refused).
    Paused(String),
    /// Slots cannot be recorded in the state store.
    Store,
    /// This target's token ends within a week and the bot cannot renew it.
    TokenExpiry(String),
    /// This replica cannot reach the shared store (`[store]`): while no
    /// replica can, none is active and nothing is posted.
    SharedStore,
}

impl Cause {
    fn key(&self) -> String {
        match self {
            Cause::PostFailed(t) => format!("post-failed:{t}"),
            Cause::Paused(t) => format!("paused:{t}"),
            Cause::Store => "store".into(),
            Cause::TokenExpiry(t) => format!("token-expiry:{t}"),
            Cause::SharedStore => "shared-store".into(),
        }
    }
}

enum Change {
    Raise(Cause, String),
    Clear(Cause),
}

/// The daemon's alerts: [`OFF`] when none are configured.
#[derive(Clone)]
pub struct Alerts {
    queue: Option<mpsc::UnboundedSender<Change>>,
}

/// One message as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub firing: bool,
    pub cause: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// No alerts.
pub static OFF: Alerts = Alerts { queue: None };

impl Alerts {
    /// Reads the secrets now (an error names the variable or file) and
    /// starts the sending task on the current runtime.
    pub fn start(config: &AlertsConfig) -> Result<Alerts, ConfigError> {
        Self::start_with(config, REQUEST_TIMEOUT, Duration::from_secs(2))
    }

    /// The same with other timings (tests).
    pub fn start_with(
        config: &AlertsConfig,
        timeout: Duration,
        retry_base: Duration,
    ) -> Result<Alerts, ConfigError> {
        let sender = Sender {
            webhook: config.webhook.resolve()?,
            format: config.format,
            matrix_token: config
                .matrix_token
                .as_ref()
                .map(|s| s.resolve())
                .transpose()?,
            http: Http::new(timeout),
            retry_base,
            sent: Vec::new(),
            count: 0,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(sender.run(rx));
        Ok(Alerts { queue: Some(tx) })
    }

    /// `cause` is happening: one message, unless it was raised already.
    pub fn raise(&self, cause: Cause, text: impl Into<String>) {
        if let Some(q) = &self.queue {
            let _ = q.send(Change::Raise(cause, text.into()));
        }
    }

    /// `cause` is over: one "resolved" message, if it had been raised.
    pub fn clear(&self, cause: Cause) {
        if let Some(q) = &self.queue {
            let _ = q.send(Change::Clear(cause));
        }
    }
}

struct Sender {
    webhook: Secret,
    format: AlertFormat,
    matrix_token: Option<Secret>,
    http: Http,
    retry_base: Duration,
    /// When the messages of the last hour went out.
    sent: Vec<std::time::Instant>,
    /// Messages so far (Matrix transaction ids).
    count: u64,
}

impl Sender {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Change>) {
        // The causes raised and not cleared, with what was said.
        let mut open: HashMap<Cause, String> = HashMap::new();
        while let Some(change) = rx.recv().await {
            let message = match change {
                Change::Raise(cause, text) => {
                    if open.contains_key(&cause) {
                        continue;
                    }
                    open.insert(cause.clone(), text.clone());
                    Message {
                        firing: true,
                        cause: cause.key(),
                        text,
                        at: Utc::now(),
                    }
                }
                Change::Clear(cause) => {
                    let Some(text) = open.remove(&cause) else {
                        continue;
                    };
                    Message {
                        firing: false,
                        cause: cause.key(),
                        text: format!("resolved: {text}"),
                        at: Utc::now(),
                    }
                }
            };
            let hour_ago = std::time::Instant::now() - Duration::from_secs(3600);
            self.sent.retain(|t| *t > hour_ago);
            if self.sent.len() >= MAX_PER_HOUR {
                tracing::warn!(
                    cause = message.cause,
                    "alert not sent: {MAX_PER_HOUR} alerts went out in the last hour"
                );
                continue;
            }
            self.sent.push(std::time::Instant::now());
            self.count += 1;
            self.send(&message).await;
        }
    }

    /// Sends `message`, retrying what is worth retrying.
    async fn send(&self, message: &Message) {
        let txn = format!(
            "campaign-bot-{}-{}",
            message.at.timestamp_millis(),
            self.count
        );
        for attempt in 1..=ATTEMPTS {
            let error = match self.request(message, &txn).await {
                Ok(()) => {
                    tracing::info!(cause = message.cause, firing = message.firing, "alert sent");
                    return;
                }
                Err(e) => e,
            };
            let retry = matches!(
                error,
                PublishError::Transient(_) | PublishError::RateLimited { .. }
            );
            if !retry || attempt == ATTEMPTS {
                tracing::error!(cause = message.cause, error = %error, "alert not sent");
                return;
            }
            let wait = match &error {
                PublishError::RateLimited {
                    retry_at: Some(t), ..
                } => (*t - Utc::now()).to_std().unwrap_or_default(),
                _ => self.retry_base * (1 << attempt),
            };
            tracing::warn!(cause = message.cause, error = %error, "alert not sent yet; trying again");
            tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
        }
    }

    async fn request(&self, message: &Message, txn: &str) -> Result<(), PublishError> {
        let url = self.webhook.expose().trim().to_string();
        let text = format!(
            "campaign-bot {}: {}",
            if message.firing { "ALERT" } else { "OK" },
            message.text
        );
        // Every format is idempotent to resend: the JSON and Slack ones are
        // notices, and Matrix deduplicates by transaction id.
        let response = match self.format {
            AlertFormat::Json => {
                let body = json!({
                    "source": "campaign-bot",
                    "status": if message.firing { "firing" } else { "resolved" },
                    "cause": message.cause,
                    "message": message.text,
                    "at": message.at.to_rfc3339(),
                });
                self.http.send(true, |c| c.post(&url).json(&body)).await
            }
            AlertFormat::Slack => {
                let body = json!({ "text": text });
                self.http.send(true, |c| c.post(&url).json(&body)).await
            }
            AlertFormat::Matrix => {
                let body = json!({ "msgtype": "m.text", "body": text });
                let token = self
                    .matrix_token
                    .as_ref()
                    .map(|t| t.expose().to_string())
                    .unwrap_or_default();
                let room = format!("{}/{txn}", url.trim_end_matches('/'));
                self.http
                    .send(true, |c| c.put(&room).bearer_auth(&token).json(&body))
                    .await
            }
        }
        // The URL stays out of the error: a webhook's URL is its secret.
        .map_err(|e| http::transport(&e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Err(http::classify(status, &headers, &body, Utc::now()))
    }
}
