//! The commands behind the CLI. Each prints for people and returns an exit
//! code; errors a user can fix come back as [`CliError`] with a message,
//! never as a panic.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::campaign::Campaign;
use crate::clock::Clock;
use crate::config::{Config, Sources};
use crate::posts::{self, Catalog};
use crate::publish::{self, BuildError};
use crate::render::Limits;
use crate::store::Store;

mod login;
mod post_now;
mod preview;
mod report;
mod resolve;
mod run;
mod status;
mod validate;

pub use login::{check_logins, login_mastodon};
pub use post_now::{PostNowArgs, post_now};
pub use preview::preview;
pub use report::{engagement, report};
pub use resolve::resolve;
pub use run::run;
pub use status::status;
pub use validate::validate;

/// Exit codes, as documented in `--help` and README.
pub mod exit {
    pub const OK: u8 = 0;
    /// The command ran and found a problem.
    pub const PROBLEM: u8 = 1;
    /// Bad usage or configuration.
    pub const USAGE: u8 = 2;
    /// `status --health`: not healthy.
    pub const UNHEALTHY: u8 = 3;
}

/// A failure to report to the user, with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Failed(_) => exit::PROBLEM,
        })
    }
}

impl From<crate::config::ConfigError> for CliError {
    fn from(e: crate::config::ConfigError) -> Self {
        CliError::Usage(e.to_string())
    }
}

impl From<crate::store::StoreError> for CliError {
    fn from(e: crate::store::StoreError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// Loads the configuration from every layer.
pub fn load_config(file: Option<PathBuf>) -> Result<Config, CliError> {
    if let Some(f) = &file
        && !f.exists()
    {
        return Err(CliError::Usage(format!(
            "config file {} does not exist",
            f.display()
        )));
    }
    Ok(Config::load(&Sources { file, env: None })?)
}

/// Reads `posts/` with the languages the targets use.
pub fn load_catalog(config: &Config) -> Catalog {
    posts::load(&config.posts_dir, &config.all_languages())
}

/// The data folder in use: `--dry-run` keeps a state of its own, so trying
/// things out never marks a real slot as done.
pub fn data_dir(config: &Config, dry_run: bool) -> PathBuf {
    if dry_run {
        config.data_dir.join("dry-run")
    } else {
        config.data_dir.clone()
    }
}

/// Opens the store and builds the publishers. Targets whose publisher
/// cannot be built are returned apart, so the others still run.
pub fn build_campaign(
    config: &Config,
    catalog: Catalog,
    dry_run: bool,
    clock: Clock,
) -> Result<(Arc<Campaign>, Vec<BuildError>), CliError> {
    let data_dir = data_dir(config, dry_run);
    let store = Arc::new(Store::open(&data_dir)?);
    let cached = |name: &str| cached_limits(&store, name);
    let ctx = publish::BuildContext {
        data_dir: &data_dir,
        dry_run,
        cached_limits: &cached,
        store: store.clone(),
    };
    let mut publishers = Vec::new();
    let mut broken = Vec::new();
    for p in publish::build(config, &ctx) {
        match p {
            Ok(p) => publishers.push(p),
            Err(e) => broken.push(e),
        }
    }
    let campaign = Campaign::new(config.clone(), store, publishers, catalog, clock);
    Ok((Arc::new(campaign), broken))
}

fn limits_key(target: &str) -> String {
    format!("limits:{target}")
}

/// The limits a target's server announced last time, if any.
pub fn cached_limits(store: &Store, target: &str) -> Option<Limits> {
    store
        .meta(&limits_key(target))
        .ok()
        .flatten()
        .and_then(|j| serde_json::from_str(&j).ok())
}

/// How long asking a server for its limits may take before the cached or
/// default limits are used instead.
const LIMITS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Asks every target's server for its current limits, caches them in the
/// state store, and returns them by target. A server that does not answer
/// keeps its cached (or default) limits, with a note.
pub async fn refresh_limits(campaign: &Campaign) -> (HashMap<String, Limits>, Vec<String>) {
    let mut limits = HashMap::new();
    let mut notes = Vec::new();
    for target in campaign.targets() {
        let Some(p) = campaign.publisher(&target.name) else {
            continue;
        };
        let fresh = tokio::time::timeout(LIMITS_TIMEOUT, p.refresh_limits()).await;
        let l = match fresh {
            Ok(Ok(l)) => {
                if let Ok(json) = serde_json::to_string(&l) {
                    let _ = campaign.store().set_meta(&limits_key(&target.name), &json);
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

/// Limits without network access: cached from the server, or the defaults.
pub fn offline_limits_by_target(config: &Config) -> HashMap<String, Limits> {
    let db = config.data_dir.join("state.db");
    let store = if db.exists() {
        Store::open(&config.data_dir).ok()
    } else {
        None
    };
    config
        .targets
        .iter()
        .map(|t| {
            let l = store
                .as_ref()
                .and_then(|s| cached_limits(s, &t.name))
                .unwrap_or_else(|| crate::checks::offline_limits(t.kind));
            (t.name.clone(), l)
        })
        .collect()
}

/// Prints the catalog's problems to stderr.
pub fn report_problems(catalog: &Catalog) {
    for p in &catalog.problems {
        eprintln!("{p}");
    }
}

pub use crate::schedule::{local_and_utc, local_time};
