//! The configured targets, built: each one's publisher (or why it could not
//! start), whether it is paused, the limits its server announced. What
//! `engagement`, `status`, `validate` and `login` need, without the posting
//! engine ([`crate::campaign`]) that uses it too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::alerts::{Alerts, Cause};
use crate::clock::Clock;
use crate::config::{Config, TargetConfig};
use crate::metrics::Metrics;
use crate::publish::network::{BuildContext, Credentials};
use crate::publish::{BuildError, Publisher, registry};
use crate::render::Limits;
use crate::store::{Store, StoreError, keys};

/// How long asking a server for its limits may take before the cached or
/// default limits are used instead.
const LIMITS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Targets {
    config: Config,
    store: Arc<Store>,
    publishers: BTreeMap<String, Arc<dyn Publisher>>,
    broken: Vec<BuildError>,
    /// What posting and engagement did, for `/metrics`.
    metrics: Metrics,
    /// Where the daemon tells people what went wrong (set by `run`).
    alerts: std::sync::OnceLock<Alerts>,
}

impl Targets {
    /// Builds the publisher of each configured target over `store`. A target
    /// whose secret cannot be read fails alone (see [`Targets::broken`]).
    /// With `dry_run`, every target is an outbox writing to the store's
    /// folder.
    pub fn build(config: &Config, store: Arc<Store>, dry_run: bool, clock: Clock) -> Targets {
        // The folder of the store's file; on a shared database, this
        // replica's own data folder.
        let data_dir = store
            .sqlite_path()
            .and_then(std::path::Path::parent)
            .map_or_else(|| config.data_dir.clone(), std::path::Path::to_path_buf);
        let cached = |name: &str| cached_limits(&store, name);
        let ctx = BuildContext {
            data_dir: &data_dir,
            cached_limits: &cached,
            kept: crate::store::Kept::new(store.clone()),
            clock,
            // Each target gives its own (see `network::Configured`).
            credentials: &Credentials::NONE,
        };
        let mut publishers = BTreeMap::new();
        let mut broken = Vec::new();
        for t in &config.targets {
            let built = if dry_run {
                Ok(registry::dry_run(&t.name, &data_dir, clock))
            } else {
                t.network.build(&t.name, &ctx)
            };
            match built {
                Ok(p) => {
                    publishers.insert(t.name.clone(), p);
                }
                Err(reason) => broken.push(BuildError {
                    target: t.name.clone(),
                    reason,
                }),
            }
        }
        Targets {
            config: config.clone(),
            store,
            publishers,
            broken,
            metrics: Metrics::default(),
            alerts: std::sync::OnceLock::new(),
        }
    }

    /// Targets with the given publishers (tests give fakes).
    pub fn with(config: Config, store: Arc<Store>, publishers: Vec<Arc<dyn Publisher>>) -> Targets {
        Targets {
            config,
            store,
            publishers: publishers
                .into_iter()
                .map(|p| (p.name().to_string(), p))
                .collect(),
            broken: Vec::new(),
            metrics: Metrics::default(),
            alerts: std::sync::OnceLock::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// The alerts, once the daemon has started them; none before.
    pub fn alerts(&self) -> &Alerts {
        self.alerts.get().unwrap_or(&crate::alerts::OFF)
    }
    pub fn set_alerts(&self, alerts: Alerts) {
        let _ = self.alerts.set(alerts);
    }
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
    pub fn publisher(&self, target: &str) -> Option<&Arc<dyn Publisher>> {
        self.publishers.get(target)
    }
    /// The targets that could not start, and why.
    pub fn broken(&self) -> &[BuildError] {
        &self.broken
    }
    /// Why `target` cannot start, if it cannot.
    pub fn why_broken(&self, target: &str) -> Option<&BuildError> {
        self.broken.iter().find(|b| b.target == target)
    }
    /// Targets that have a working publisher, in config order.
    pub fn running(&self) -> impl Iterator<Item = &TargetConfig> {
        self.config
            .targets
            .iter()
            .filter(|t| self.publishers.contains_key(&t.name))
    }

    // ------------------------------------------------------------ pauses

    /// Why a target is paused (an authentication failure), if it is.
    pub fn paused(&self, target: &str) -> Result<Option<String>, StoreError> {
        paused(&self.store, target)
    }

    pub fn pause(&self, target: &str, reason: &str) -> Result<(), StoreError> {
        tracing::error!(
            target_name = target,
            reason,
            "target paused until its credentials are fixed and the bot restarted"
        );
        self.alerts().raise(
            Cause::Paused(target.to_string()),
            format!("target {target} is paused: {reason}; fix its credentials and restart the bot"),
        );
        self.store.set_meta(&keys::paused(target), reason)
    }

    /// Lifts every pause: called at start, when credentials may have been fixed.
    pub fn clear_pauses(&self) -> Result<(), StoreError> {
        for t in &self.config.targets {
            self.store.set_meta(&keys::paused(&t.name), "")?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ limits

    /// Asks every running target's server for its current limits, caches
    /// them in the state store, and returns them by target. A server that
    /// does not answer keeps its cached (or default) limits, with a note.
    pub async fn refresh_limits(&self) -> (HashMap<String, Limits>, Vec<String>) {
        let mut limits = HashMap::new();
        let mut notes = Vec::new();
        for target in self.running() {
            let p = &self.publishers[&target.name];
            let fresh = tokio::time::timeout(LIMITS_TIMEOUT, p.refresh_limits()).await;
            let l = match fresh {
                Ok(Ok(l)) => {
                    if let Ok(json) = serde_json::to_string(&l) {
                        let _ = self.store.set_meta(&keys::limits(&target.name), &json);
                    }
                    l
                }
                Ok(Err(e)) => {
                    notes.push(format!(
                        "target {}: cannot read the server's limits ({e}); using the last known ones",
                        target.name
                    ));
                    p.limits()
                }
                Err(_) => {
                    notes.push(format!(
                        "target {}: the server did not answer in time; using the last known limits",
                        target.name
                    ));
                    p.limits()
                }
            };
            limits.insert(target.name.clone(), l);
        }
        (limits, notes)
    }
}

/// Why `target` is paused, read from `store`.
pub fn paused(store: &Store, target: &str) -> Result<Option<String>, StoreError> {
    Ok(store.meta(&keys::paused(target))?.filter(|s| !s.is_empty()))
}

/// The limits a target's server announced last time, if any.
pub fn cached_limits(store: &Store, target: &str) -> Option<Limits> {
    store
        .meta(&keys::limits(target))
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str(&j).ok())
}
