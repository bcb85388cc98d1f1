//! One target's calls to the Graph API: the client, the target's token,
//! and how the token is renewed where it is (Threads' and Instagram
//! Login's are refreshed once a day old; a Facebook Page's never ends).
//! What Facebook, Instagram and Threads ask alike (a post's address, the
//! publishing quota, the account's recent posts) is asked here once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Graph, Insight, List, Quota, QuotaCache};
use crate::clock::Clock;
use crate::model::Published;
use crate::publish::matching::{self, Decision};
use crate::publish::oauth::{KeptToken, TokenAnswer, TokenSet};
use crate::publish::{Outgoing, PublishError};
use crate::secret::Secret;

/// How a target's token is renewed: `GET {url}?grant_type=…` once `due`.
pub struct Renewal {
    /// The refresh address (`…/refresh_access_token`).
    pub url: String,
    /// `th_refresh_token`, `ig_refresh_token`.
    pub grant_type: &'static str,
    /// Whether a token is due a refresh now.
    pub due: fn(&TokenSet, DateTime<Utc>) -> bool,
}

/// How an account's recent posts are listed, to look for one.
#[derive(Debug)]
pub struct Recent {
    /// The listing, below the account's id (`posts`, `media`).
    pub edge: &'static str,
    /// The fields asked, which [`Listed`] reads.
    pub fields: &'static str,
    /// How many posts, newest first.
    pub limit: &'static str,
    /// Whether the listing takes `since` (Instagram's does not say so).
    pub since: bool,
    /// How far before the intent to look (clocks differ).
    pub skew: chrono::Duration,
}

/// A target's Graph API client with its token.
pub struct Session {
    pub graph: Graph,
    token: Arc<KeptToken>,
    /// `None`: the token is used as it is until it ends.
    renewal: Option<Renewal>,
}

/// A post as an account's listing gives it (Facebook's `message` and
/// `created_time`, Instagram's `caption`, Threads' `text`; `timestamp`),
/// or as asked by its id for its address.
#[derive(Debug, Deserialize)]
pub struct Listed {
    pub id: String,
    #[serde(alias = "message", alias = "caption")]
    pub text: Option<String>,
    #[serde(alias = "created_time", alias = "timestamp")]
    pub time: Option<String>,
    #[serde(alias = "permalink_url")]
    pub permalink: Option<String>,
}

impl Session {
    pub fn new(graph: Graph, token: Arc<KeptToken>, renewal: Option<Renewal>) -> Session {
        Session {
            graph,
            token,
            renewal,
        }
    }

    /// Takes time from `clock` (the daemon's; tests pause it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.graph = self.graph.with_clock(clock);
        self
    }

    pub fn url(&self, path: &str) -> String {
        self.graph.url(path)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.graph.clock.now()
    }

    /// The token, renewed first where it is due.
    async fn access(&self) -> Result<Secret, PublishError> {
        let now = self.now();
        let due = |t: &TokenSet, now| self.renewal.as_ref().is_some_and(|r| (r.due)(t, now));
        self.token
            .fresh(now, due, |old| self.refresh(old, now))
            .await
    }

    async fn refresh(&self, old: TokenSet, now: DateTime<Utc>) -> Result<TokenSet, PublishError> {
        let Some(r) = &self.renewal else {
            return Ok(old);
        };
        let a: TokenAnswer = self
            .graph
            .call("refreshing the token", true, &old.access_token, |c, t| {
                c.get(&r.url)
                    .query(&[("grant_type", r.grant_type), ("access_token", t)])
            })
            .await?;
        Ok(TokenSet::from_answer(a, now, Some(&old)))
    }

    /// Sends a request with the token (`build` adds it as `access_token`)
    /// and reads the answer as `T`.
    pub async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        idempotent: bool,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<T, PublishError> {
        let token = self.access().await?;
        self.graph
            .call(what, idempotent, token.expose(), build)
            .await
    }

    /// `GET path?query` with the token, read as `T`.
    pub async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PublishError> {
        self.call(what, true, |c, t| {
            c.get(self.url(path))
                .query(query)
                .query(&[("access_token", t)])
        })
        .await
    }

    /// `GET /{object}?fields=…` with the token, read as `T`.
    pub async fn fields<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        object: &str,
        fields: &str,
    ) -> Result<T, PublishError> {
        self.get(what, &format!("/{object}"), &[("fields", fields)])
            .await
    }

    /// `GET /{object}/insights?metric=…`: the metrics given.
    pub async fn insights(
        &self,
        what: &str,
        object: &str,
        metrics: &str,
    ) -> Result<Vec<Insight>, PublishError> {
        let list: List<Insight> = self
            .get(what, &format!("/{object}/insights"), &[("metric", metrics)])
            .await?;
        Ok(list.data)
    }

    /// `POST path` with `form` and the token in the form body (not the
    /// query string, where a `#` would cut a text short), read as `T`.
    /// Not retried: a post may have been made.
    pub async fn post_form<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, PublishError> {
        self.call(what, false, |c, t| {
            let mut body = form.to_vec();
            body.push(("access_token", t));
            c.post(self.url(path)).form(&body)
        })
        .await
    }

    /// Which of the account's recent posts is `post`, by its words only
    /// (what the network may change is no evidence against a post).
    pub async fn look_for(
        &self,
        post: &Outgoing,
        owner: &str,
        recent: &Recent,
    ) -> Result<Decision<Published>, PublishError> {
        let not_before = post.not_before - recent.skew;
        let since = not_before.timestamp().to_string();
        let mut query = vec![("fields", recent.fields), ("limit", recent.limit)];
        if recent.since {
            query.insert(1, ("since", since.as_str()));
        }
        let path = format!("/{owner}/{}", recent.edge);
        let list: List<Listed> = self.get("looking for the post", &path, &query).await?;
        Ok(find_among(post, list.data, not_before))
    }

    /// A post's address (`fields`: `id,permalink` or `id,permalink_url`),
    /// where it can be asked; posted is posted, so a failure is only
    /// logged.
    pub async fn permalink(&self, target: &str, id: &str, fields: &str) -> Option<String> {
        let found: Result<Listed, _> = self.fields("asking the post's address", id, fields).await;
        match found {
            Ok(p) => p.permalink,
            Err(e) => {
                tracing::warn!(target_name = target, error = %e, "posted, but its address could not be asked");
                None
            }
        }
    }

    /// Posts left in the account's rolling 24 h (`path`: its quota edge),
    /// asked at most hourly; `None` when it cannot be told.
    pub async fn posts_left(
        &self,
        target: &str,
        quota: &QuotaCache,
        path: &str,
        fields: &str,
    ) -> Option<u64> {
        let now = self.now();
        if let Some(left) = quota.fresh(now) {
            return Some(left);
        }
        let asked: Result<List<Quota>, _> = self
            .get("the publishing quota", path, &[("fields", fields)])
            .await;
        let left = match asked {
            Ok(list) => list.data.first()?.left()?,
            Err(e) => {
                tracing::debug!(target_name = target, error = %e, "cannot ask the publishing quota; posting without it");
                return None;
            }
        };
        quota.set(left, now);
        Some(left)
    }

    /// Publishes a made container at `path` (`…/media_publish`,
    /// `…/threads_publish`); the post's id.
    pub async fn publish_container(
        &self,
        quota: &QuotaCache,
        path: &str,
        container: &str,
    ) -> Result<String, PublishError> {
        let published: super::Id = self
            .post_form("publishing", path, &[("creation_id", container)])
            .await?;
        quota.used_one();
        Ok(published.id)
    }

    /// The publishing quota spent: wait an hour rather than fail.
    pub fn quota_spent(&self, message: &str) -> PublishError {
        PublishError::RateLimited {
            retry_at: Some(self.now() + super::QUOTA_FRESH),
            message: message.into(),
        }
    }
}

/// Meta's time format: `2021-08-13T08:25:28+0000`.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Which of an account's posts (as listed, newest first) is `post`: made
/// no earlier than `not_before`, by its words only (what the network may
/// change is no evidence against a post).
pub fn find_among(
    post: &Outgoing,
    listed: Vec<Listed>,
    not_before: DateTime<Utc>,
) -> Decision<Published> {
    let candidates = listed
        .into_iter()
        // Newest first in the answer: oldest first here.
        .rev()
        .filter(|p| {
            p.time
                .as_deref()
                .and_then(parse_time)
                .is_none_or(|t| t >= not_before)
        })
        .map(|p| matching::Candidate {
            text: matching::compare_plain(&post.text, p.text.as_deref().unwrap_or_default()),
            agreeing: 0,
            shown: p.permalink.clone().unwrap_or_else(|| p.id.clone()),
            found: Published {
                remote_id: p.id,
                url: p.permalink,
            },
        })
        .collect();
    matching::decide(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metas_times_are_read() {
        assert_eq!(
            parse_time("2019-08-12T03:45:11+0000").unwrap().to_rfc3339(),
            "2019-08-12T03:45:11+00:00"
        );
    }

    #[test]
    fn each_products_listing_is_read_as_one() {
        for json in [
            r#"{"id":"1","message":"m","created_time":"2019-08-12T03:45:11+0000","permalink_url":"u"}"#,
            r#"{"id":"1","caption":"m","timestamp":"2019-08-12T03:45:11+0000","permalink":"u"}"#,
            r#"{"id":"1","text":"m","timestamp":"2019-08-12T03:45:11+0000","permalink":"u"}"#,
        ] {
            let p: Listed = serde_json::from_str(json).unwrap();
            assert_eq!(
                (p.text.as_deref(), p.time.is_some(), p.permalink.as_deref()),
                (Some("m"), true, Some("u"))
            );
        }
    }
}
