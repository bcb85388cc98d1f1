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
use crate::render::Limits;
use crate::store::Store;
use crate::targets::{Targets, cached_limits};

mod backup;
mod login;
mod post_now;
mod preview;
mod report;
mod resolve;
mod run;
mod status;
mod validate;

pub use backup::{backup, store};
pub use login::{LoginArgs, login};
pub use post_now::{PostNowArgs, post_now};
pub use preview::{preview, preview_ics, preview_message};
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

/// Refuses to go on, before anything is written, when there is no posts
/// folder to read (issue 32: run inside `posts/`, `post-now` made
/// `posts/data/state.db` and `preview` said "nothing to post" and exit 0).
pub fn require_posts_folder(config: &Config) -> Result<(), CliError> {
    if config.posts_dir.is_dir() {
        Ok(())
    } else {
        Err(CliError::Usage(posts::missing_folder(&config.posts_dir)))
    }
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

/// Opens the state store of `config` (its dry-run one with `dry_run`) and
/// builds every target. Targets that cannot start are in
/// [`Targets::broken`]; the others still run.
pub fn open_targets(
    config: &Config,
    dry_run: bool,
    clock: Clock,
) -> Result<Arc<Targets>, CliError> {
    // A dry run never touches the shared store: it records in its own
    // folder.
    let store = Arc::new(if dry_run {
        Store::open(&data_dir(config, dry_run))?
    } else {
        open_store(config)?
    });
    Ok(Arc::new(Targets::build(config, store, dry_run, clock)))
}

/// The targets and the posting engine over them.
pub fn build_campaign(
    config: &Config,
    catalog: Catalog,
    dry_run: bool,
    clock: Clock,
) -> Result<Arc<Campaign>, CliError> {
    let targets = open_targets(config, dry_run, clock)?;
    Ok(Arc::new(Campaign::over(targets, catalog, clock)))
}

/// The store `config` names, if there is one yet: its PostgreSQL database,
/// or the SQLite file in `data_dir` when that exists (`None`: no store,
/// nothing recorded yet; none is created).
pub fn existing_store(config: &Config) -> Result<Option<Store>, CliError> {
    if config.store.is_none() && !config.data_dir.join(crate::store::FILE_NAME).exists() {
        return Ok(None);
    }
    Ok(Some(open_store(config)?))
}

/// The store `config` names: its PostgreSQL database when `[store]`
/// gives one, else SQLite in `data_dir` (created if need be).
pub fn open_store(config: &Config) -> Result<Store, CliError> {
    Ok(match &config.store {
        Some(store) => {
            let url = store
                .url
                .resolve()
                .map_err(|e| crate::store::StoreError::Url(e.to_string()))?;
            Store::open_postgres(&url)?
        }
        None => Store::open(&config.data_dir)?,
    })
}

/// Limits without network access: cached from the server, or the defaults.
pub fn offline_limits_by_target(config: &Config) -> HashMap<String, Limits> {
    let store = existing_store(config).ok().flatten();
    config
        .targets
        .iter()
        .map(|t| {
            let l = store
                .as_ref()
                .and_then(|s| cached_limits(s, &t.name))
                .unwrap_or_else(|| t.profile().limits);
            (t.name.clone(), l)
        })
        .collect()
}

pub use crate::schedule::{local_and_utc, local_time};
