//! The registry of networks: what the rest of the bot may ask of any
//! network, and the one list of them. Everything particular to a network
//! (its settings, their checks, its limits and media rules, how it is
//! built, its login) lives in its own home under `publish/` and is reached
//! through [`Network`].
//!
//! Adding a network is: its home (`publish/NAME.rs`, or a folder), one
//! variant of [`NetworkSettings`], one line of [`NETWORKS`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use super::{Publisher, bluesky, linkedin, mastodon, outbox, telegram, threads, x};
use crate::clock::Clock;
use crate::config::{ConfigError, SecretSource, TargetConfig};
use crate::render::Limits;
use crate::store::Store;

/// Every network the bot posts to, one line each.
pub static NETWORKS: &[&dyn Network] = &[
    &outbox::Home,
    &mastodon::Home,
    &bluesky::Home,
    &telegram::Home,
    &x::Home,
    &linkedin::Home,
    &threads::Home,
];

/// The network a `kind` names, if any.
pub fn by_kind(kind: &str) -> Option<&'static dyn Network> {
    NETWORKS.iter().copied().find(|n| n.kinds().contains(&kind))
}

/// Every `kind` a target may have, for messages.
pub fn all_kinds() -> Vec<&'static str> {
    NETWORKS
        .iter()
        .flat_map(|n| n.kinds().iter().copied())
        .collect()
}

/// The networks that collect engagement counts, for people: "Mastodon,
/// Bluesky, X, LinkedIn or Threads" (from the registry, never by hand).
pub fn collecting_networks() -> String {
    let names: Vec<&str> = NETWORKS
        .iter()
        .filter(|n| n.collects_engagement())
        .map(|n| n.name())
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// A network's own settings of a target: one variant per network.
#[derive(Debug, Clone)]
pub enum NetworkSettings {
    Outbox(outbox::Settings),
    Fediverse(mastodon::Settings),
    Bluesky(bluesky::Settings),
    Telegram(telegram::Settings),
    X(x::Settings),
    LinkedIn(linkedin::Settings),
    Threads(threads::Settings),
}

/// How many images a post may carry on a network, and how big each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRules {
    pub max_images: usize,
    pub max_bytes: u64,
}

/// What building a publisher needs besides its target.
pub struct BuildContext<'a> {
    pub data_dir: &'a Path,
    /// Limits learnt from the servers earlier (cached in the state store).
    pub cached_limits: &'a dyn Fn(&str) -> Option<Limits>,
    /// Where sessions are kept between runs (Bluesky).
    pub store: Arc<Store>,
    /// The time publishers stamp and compare with.
    pub clock: Clock,
}

/// A configured target and its publisher, or why it cannot start.
pub type BuiltTarget<'a> = (&'a TargetConfig, Result<Arc<dyn Publisher>, String>);

/// What a `login` asks of a network.
pub struct LoginRequest<'a> {
    /// `--instance URL` (a server to register with).
    pub instance: Option<&'a str>,
    /// `--token-file FILE` (where to keep a token).
    pub token_file: Option<&'a Path>,
    /// The targets of this network in the configuration (already built).
    pub targets: Vec<BuiltTarget<'a>>,
    /// Where the user's answers come from.
    pub input: &'a mut (dyn std::io::BufRead + Send),
}

/// A network the bot can post to.
#[async_trait]
pub trait Network: Send + Sync {
    /// Its name, for people.
    fn name(&self) -> &'static str;
    /// The `kind` values that select it.
    fn kinds(&self) -> &'static [&'static str];
    /// Its own keys in a `[targets.NAME]` table (besides `kind`,
    /// `languages` and `enabled`).
    fn keys(&self) -> &'static [&'static str];
    /// Reads and checks those keys. `keys` holds only keys of this network.
    fn settings(
        &self,
        target: &str,
        kind: &str,
        keys: toml::Table,
    ) -> Result<NetworkSettings, ConfigError>;
    /// The limits a text must fit, without asking a server.
    fn offline_limits(&self) -> Limits;
    /// Its name where it has no target yet, with what its limits depend on.
    fn unconfigured_name(&self) -> String {
        self.name().to_string()
    }
    /// Whether its servers set their own limits (asked by `validate`).
    fn asks_server_for_limits(&self) -> bool {
        false
    }
    /// Images per post and bytes per image it takes.
    fn media_rules(&self) -> MediaRules {
        MediaRules {
            max_images: 4,
            max_bytes: crate::posts::MAX_MEDIA_BYTES,
        }
    }
    /// The most a text may be, in UTF-16 code units, to go with an image
    /// (Telegram's photo caption); `None`: the same as without one.
    fn caption_limit(&self) -> Option<usize> {
        None
    }
    /// Whether it collects engagement counts at all.
    fn collects_engagement(&self) -> bool {
        true
    }
    /// Why a target's posts go out without their images, where they do
    /// (`validate` warns of each post with images).
    fn images_left_out(&self, target: &TargetConfig) -> Option<&'static str> {
        let _ = target;
        None
    }
    /// Whether it refuses a text the account posted recently (X,
    /// LinkedIn): `validate` warns when the rotation repeats one too soon.
    fn refuses_repeats(&self) -> bool {
        false
    }
    /// The day a target's token stops working, where the token cannot be
    /// refreshed by the bot and the configuration says (`token_expires`):
    /// `status` shows it, and `status --health` fails a week ahead.
    fn token_expires(&self, target: &TargetConfig) -> Option<chrono::NaiveDate> {
        let _ = target;
        None
    }
    /// What a post with a link costs on it, where that is worth saying.
    fn link_cost_note(&self) -> Option<&'static str> {
        None
    }
    /// Why it has no counts to collect, for `report` (where it has none).
    fn no_engagement_reason(&self) -> Option<&'static str> {
        None
    }
    /// The secrets a target needs (resolved when it is built; `validate`
    /// checks they can be read).
    fn secrets<'t>(&self, target: &'t TargetConfig) -> Vec<&'t SecretSource>;
    /// The file a target writes its posts to, if it is an outbox.
    fn writes_to(&self, target: &TargetConfig, data_dir: &Path) -> Option<PathBuf> {
        let _ = (target, data_dir);
        None
    }
    /// Builds the target's publisher; the error says why it cannot start.
    fn build(
        &self,
        target: &TargetConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String>;
    /// `campaign-bot login NETWORK`: gets or checks credentials, printing
    /// for the user. `Err` says why it failed.
    async fn login(&self, request: LoginRequest<'_>) -> Result<(), LoginError> {
        let _ = request;
        Err(LoginError::Usage(format!(
            "{} has no login: it needs no account",
            self.name()
        )))
    }
}

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The command was used wrongly (exit 2).
    #[error("{0}")]
    Usage(String),
    /// It ran and failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// How many days ahead a token that the bot cannot renew makes the
/// daemon unhealthy and raises an alert (`status` shows its date whenever
/// it is known).
pub const TOKEN_WARNING_DAYS: i64 = 7;

/// When a token stops working, for people.
pub fn token_expiry(day: chrono::NaiveDate, today: chrono::NaiveDate) -> String {
    match (day - today).num_days() {
        d if d < 0 => format!("expired on {day}"),
        0 => format!("expires today ({day})"),
        1 => format!("expires tomorrow ({day})"),
        d => format!("expires on {day} (in {d} days)"),
    }
}

/// Reads `token_expires` (a TOML date, `2027-01-31`, or the same in
/// quotes) of a target.
pub fn expiry_date(
    target: &str,
    value: Option<toml::Value>,
) -> Result<Option<chrono::NaiveDate>, ConfigError> {
    let text = match value {
        None => return Ok(None),
        Some(toml::Value::Datetime(d)) => d.to_string(),
        Some(toml::Value::String(s)) => s,
        Some(_) => String::new(),
    };
    text.trim()
        .parse::<chrono::NaiveDate>()
        .map(Some)
        .map_err(|_| ConfigError::Key {
            key: format!("targets.{target}.token_expires"),
            message: format!(
                "{text:?} is not a date; write the day the token stops working as 2027-01-31"
            ),
        })
}

/// Reads a network's settings struct from its keys, naming the key of a
/// bad value (`targets.NAME.KEY`).
pub fn parse_keys<T: DeserializeOwned>(target: &str, keys: toml::Table) -> Result<T, ConfigError> {
    toml::Value::Table(keys)
        .try_into()
        .map_err(|e: toml::de::Error| {
            let message = e.message().trim().to_string();
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| {
                    message.starts_with("unknown field") || message.starts_with("missing field")
                })
                .map(|f| format!(".{f}"))
                .unwrap_or_default();
            ConfigError::Key {
                key: format!("targets.{target}{field}"),
                message,
            }
        })
}

/// Writes a secret (a token) to `path`, readable only by its owner, whole
/// or not at all: a temporary file beside it, synced, then renamed over it.
pub fn save_secret(path: &Path, value: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::store::create_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(fail)?;
    f.write_all(value.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Checks each target's credentials and prints what it finds: the login of
/// networks whose credentials are made elsewhere (an app password).
pub async fn check_credentials(targets: Vec<BuiltTarget<'_>>) -> Result<(), LoginError> {
    let mut failed = false;
    for (t, built) in targets {
        let publisher = match built {
            Ok(p) => p,
            Err(why) => {
                println!("{}: {why}", t.name);
                failed = true;
                continue;
            }
        };
        match tokio::time::timeout(super::http::REQUEST_TIMEOUT, publisher.verify()).await {
            Ok(Ok(who)) => println!("{}: credentials work ({who})", t.name),
            Ok(Err(e)) => {
                println!("{}: {e}", t.name);
                failed = true;
            }
            Err(_) => {
                println!("{}: the server did not answer in time", t.name);
                failed = true;
            }
        }
    }
    if failed {
        Err(LoginError::Failed(
            "the credentials of a target do not work".into(),
        ))
    } else {
        Ok(())
    }
}
