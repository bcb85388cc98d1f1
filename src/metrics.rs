//! What the daemon did, counted for Prometheus (`/metrics`, see
//! [`crate::server`]). Counters are kept from the moment the process
//! starts (Prometheus handles restarts); what is a state rather than an
//! event (the next slot, pauses, rate limits left, the store's size) is
//! read when the page is asked for. Labels name targets, networks,
//! languages and outcomes, never a text, a key or a secret.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PostLabels {
    pub target: String,
    pub language: String,
    /// published, already_done, already_there, uncertain, failed, skipped
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NetworkLabels {
    pub network: String,
}

/// The counters the posting engine and the engagement checker add to.
#[derive(Default)]
pub struct Metrics {
    pub posts: Family<PostLabels, Counter>,
    pub retries: Family<TargetLabels, Counter>,
    pub last_post: Family<TargetLabels, Gauge<f64, AtomicU64>>,
    pub engagement_checks: Family<NetworkLabels, Counter>,
    pub engagement_calls: Family<NetworkLabels, Counter>,
}

/// The states read when `/metrics` is asked for.
#[derive(Default)]
pub struct States {
    pub next_slot_seconds: Option<f64>,
    /// (target, paused?)
    pub paused: Vec<(String, bool)>,
    /// (network kind, requests left in its rate-limit window)
    pub rate_limit_remaining: Vec<(String, u64)>,
    pub store_bytes: Option<u64>,
    /// On a replica of a shared store: its epoch as the active one, or 0
    /// as a standby.
    pub replica_active: Option<i64>,
}

impl Metrics {
    /// Counts a post's outcome on `target` in `language`.
    pub fn post(&self, target: &str, language: &str, outcome: &str) {
        self.posts
            .get_or_create(&PostLabels {
                target: target.into(),
                language: language.into(),
                outcome: outcome.into(),
            })
            .inc();
        if outcome == "published" {
            let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
            self.last_post
                .get_or_create(&TargetLabels {
                    target: target.into(),
                })
                .set(now);
        }
    }

    pub fn retry(&self, target: &str) {
        self.retries
            .get_or_create(&TargetLabels {
                target: target.into(),
            })
            .inc();
    }

    /// One engagement request to `network` that checked `posts` posts.
    pub fn engagement(&self, network: &str, posts: u64) {
        let labels = NetworkLabels {
            network: network.into(),
        };
        self.engagement_calls.get_or_create(&labels).inc();
        self.engagement_checks.get_or_create(&labels).inc_by(posts);
    }

    /// The page, in the Prometheus text format (OpenMetrics).
    pub fn encode(&self, states: &States) -> String {
        let mut registry = Registry::with_prefix("campaign_bot");
        registry.register(
            "posts",
            "Posts by target, language and outcome since the daemon started",
            self.posts.clone(),
        );
        registry.register(
            "retries",
            "Attempts of a post that failed and were tried again",
            self.retries.clone(),
        );
        registry.register(
            "last_post_timestamp_seconds",
            "When each target last published (Unix time)",
            self.last_post.clone(),
        );
        registry.register(
            "engagement_checks",
            "Posts whose engagement counts were read, by network",
            self.engagement_checks.clone(),
        );
        registry.register(
            "engagement_api_calls",
            "Requests made to read engagement counts, by network",
            self.engagement_calls.clone(),
        );
        if let Some(s) = states.next_slot_seconds {
            let g = Gauge::<f64, AtomicU64>::default();
            g.set(s);
            registry.register(
                "next_slot_seconds",
                "Seconds until the next slot or timed post",
                g,
            );
        }
        let paused = Family::<TargetLabels, Gauge>::default();
        for (target, p) in &states.paused {
            paused
                .get_or_create(&TargetLabels {
                    target: target.clone(),
                })
                .set(i64::from(*p));
        }
        registry.register(
            "target_paused",
            "1 when a target is paused (credentials refused), else 0",
            paused,
        );
        let remaining = Family::<NetworkLabels, Gauge>::default();
        for (network, left) in &states.rate_limit_remaining {
            remaining
                .get_or_create(&NetworkLabels {
                    network: network.clone(),
                })
                .set(i64::try_from(*left).unwrap_or(i64::MAX));
        }
        registry.register(
            "rate_limit_remaining",
            "Requests a network still allows in its current rate-limit window",
            remaining,
        );
        if let Some(bytes) = states.store_bytes {
            let g: Gauge = Gauge::default();
            g.set(i64::try_from(bytes).unwrap_or(i64::MAX));
            registry.register(
                "store_bytes",
                "Size of the state store (state.db and its WAL)",
                g,
            );
        }
        if let Some(epoch) = states.replica_active {
            let active: Gauge = Gauge::default();
            active.set(i64::from(epoch > 0));
            registry.register(
                "replica_active",
                "1 on the replica that is active on the shared store, 0 on a standby (alert when the sum over replicas is 0)",
                active,
            );
            let e: Gauge = Gauge::default();
            e.set(epoch);
            registry.register(
                "replica_epoch",
                "The election this replica won (its fencing epoch), 0 on a standby",
                e,
            );
        }
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}
