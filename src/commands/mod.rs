//! The commands behind the CLI. Each prints for people and returns an exit
//! code; errors a user can fix come back as [`CliError`] with a message,
//! never as a panic.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::campaign::Campaign;
use crate::clock::Clock;
use crate::config::{Config, Sources};
use crate::posts::{self, Catalog};
use crate::publish::{self, BuildError};
use crate::store::Store;

mod post_now;
mod preview;
mod run;
mod status;
mod validate;

pub use post_now::{PostNowArgs, post_now};
pub use preview::preview;
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
    let mut publishers = Vec::new();
    let mut broken = Vec::new();
    for p in publish::build(config, &data_dir, dry_run) {
        match p {
            Ok(p) => publishers.push(p),
            Err(e) => broken.push(e),
        }
    }
    let campaign = Campaign::new(config.clone(), store, publishers, catalog, clock);
    Ok((Arc::new(campaign), broken))
}

/// Prints the catalog's problems to stderr.
pub fn report_problems(catalog: &Catalog) {
    for p in &catalog.problems {
        eprintln!("{p}");
    }
}

/// A local time for people: `Mon 2026-11-30 09:00 CET`.
pub fn local_time(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}
