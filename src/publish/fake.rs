//! A network in memory, for tests and benchmarks: it keeps what is posted,
//! can fail, answer late or not be reachable, and counts the engagement
//! calls made to it. One fake for the daemon's tests and the engagement
//! benchmark, so that both exercise the same contract. It is not in the
//! registry: no configuration can select it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::profile::{Engagement, Profile};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::model::{Check, Counts, Published};

/// A fake network whose posts have counts.
static COUNTED: Profile = Profile {
    name: "fake",
    // It stands in for targets configured as outboxes.
    kinds: &["outbox"],
    ..Profile::DEFAULT
};

/// A fake network with no counts.
static NOT_COUNTED: Profile = Profile {
    engagement: Engagement::NotCounted("a fake network counts nothing"),
    ..COUNTED
};

/// The network's state, shared by the publishers of its targets and the
/// test that looks at it.
#[derive(Default)]
pub struct FakeNetwork {
    /// What was posted, once per intent key (idempotent like a network
    /// with an idempotency key).
    pub posts: Mutex<Vec<Outgoing>>,
    /// Errors to answer the next posts with, last first.
    pub failures: Mutex<Vec<PublishError>>,
    /// Whether its posts have counts to collect.
    pub counts: bool,
    /// How many posts one engagement call covers (1 if not set).
    pub batch: usize,
    /// Each engagement call: the remote ids asked for.
    pub engagement_calls: Mutex<Vec<Vec<String>>>,
    /// Look-ups to answer with an error first (the network unreachable).
    pub failing_lookups: Mutex<u32>,
    /// How long a post takes to be answered.
    pub answer_after: Option<Duration>,
    /// Posts being sent now, and the most ever sent at once.
    pub sending: AtomicUsize,
    pub most_at_once: AtomicUsize,
}

impl FakeNetwork {
    /// API calls the engagement checks made, one per batch of ids, as a
    /// real network answers.
    pub fn engagement_api_calls(&self) -> usize {
        let batch = self.batch.max(1);
        self.engagement_calls
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|ids| ids.len().div_ceil(batch))
            .sum()
    }
}

/// A target on a [`FakeNetwork`].
pub struct Fake {
    target: TargetId,
    pub net: std::sync::Arc<FakeNetwork>,
}

impl Fake {
    pub fn new(name: &str, net: std::sync::Arc<FakeNetwork>) -> Fake {
        let profile = if net.counts { &COUNTED } else { &NOT_COUNTED };
        Fake {
            target: TargetId::new(name, profile),
            net,
        }
    }
}

#[async_trait]
impl Publisher for Fake {
    fn target(&self) -> &TargetId {
        &self.target
    }
    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        if let Some(e) = self.net.failures.lock().expect("not poisoned").pop() {
            return Err(e);
        }
        if let Some(d) = self.net.answer_after {
            let now = self.net.sending.fetch_add(1, Ordering::SeqCst) + 1;
            self.net.most_at_once.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(d).await;
            self.net.sending.fetch_sub(1, Ordering::SeqCst);
        }
        let mut posts = self.net.posts.lock().expect("not poisoned");
        if !posts.iter().any(|p| p.intent_key == post.intent_key) {
            posts.push(post.clone());
        }
        Ok(Published {
            remote_id: post.intent_key.clone(),
            url: None,
        })
    }
    fn engagement_batch(&self) -> usize {
        self.net.batch.max(1)
    }
    /// Every post counts as many likes as engagement calls were made so far.
    async fn engagement(&self, ids: &[String]) -> Result<Vec<(String, Check)>, PublishError> {
        let mut calls = self.net.engagement_calls.lock().expect("not poisoned");
        calls.push(ids.to_vec());
        let n = calls.len() as u64;
        Ok(ids
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    Check::Counts(Counts {
                        likes: n,
                        quotes: Some(0),
                        ..Default::default()
                    }),
                )
            })
            .collect())
    }
    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        {
            let mut failing = self.net.failing_lookups.lock().expect("not poisoned");
            if *failing > 0 {
                *failing -= 1;
                return Err(PublishError::Transient("connection reset".into()));
            }
        }
        Ok(self
            .net
            .posts
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|p| p.intent_key == post.intent_key)
            .map_or(Lookup::NotPosted, |p| {
                Lookup::Posted(Published {
                    remote_id: p.intent_key.clone(),
                    url: None,
                })
            }))
    }
}
