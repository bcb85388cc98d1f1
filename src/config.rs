//! Typed settings: the shipped `config/default.toml`, then `config/local.toml`
//! or `--config FILE`, then `CAMPAIGN_BOT__SECTION__KEY` environment variables.
//!
//! This module owns reading and checking configuration. It never reads a
//! secret's value into anything printable: secrets are named by `*_env` or
//! `*_file` keys and resolved into a [`Secret`] only when a publisher is built.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::model::Lang;
use crate::publish::keys::KeyError;
use crate::publish::network::Target;
use crate::publish::profile::Profile;
use crate::publish::registry;
use crate::schedule::Schedule;

/// The shipped defaults, compiled in so the binary runs anywhere (the
/// container included) with the same documented file the repository holds.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "CAMPAIGN_BOT";

/// Where lists given in one environment variable are split
/// (`CAMPAIGN_BOT__SCHEDULE__SLOTS="0 9 * * Mon-Fri;30 15 * * Mon-Fri"`).
/// Not a comma: cron expressions contain commas.
pub const ENV_LIST_SEPARATOR: &str = ";";

/// A configuration problem, with the key or file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
    /// A secret that cannot be read (the message names where, never the value).
    #[error("{0}")]
    Secret(String),
    #[error("configuration key `{key}`: {message}")]
    Key { key: String, message: String },
    /// A key no section or network has (a misspelling, a secret written
    /// into the file): `key` is dotted, `allowed` what its table takes.
    #[error("configuration: {}", unknown_key_message(key, allowed))]
    UnknownKey { key: String, allowed: Vec<String> },
    /// A problem with a value set by an environment variable.
    #[error("environment variable {var} (`{key}`): {message}")]
    Env {
        var: String,
        key: String,
        message: String,
    },
    /// A problem located in a config file.
    #[error("{}:{line}: {message}", path.display())]
    InFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl From<KeyError> for ConfigError {
    fn from(e: KeyError) -> Self {
        ConfigError::Key {
            key: e.key,
            message: e.message,
        }
    }
}

/// "unknown field `f`, expected one of `a`, `b` for key `targets.t`".
fn unknown_key_message(key: &str, allowed: &[String]) -> String {
    let (parent, field) = key.rsplit_once('.').unwrap_or(("", key));
    let allowed: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
    let within = if parent.is_empty() {
        String::new()
    } else {
        format!(" for key `{parent}`")
    };
    format!(
        "unknown field `{field}`, expected one of {}{within}",
        allowed.join(", ")
    )
}

pub fn key_error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        message: message.into(),
    }
}

// ---------------------------------------------------------------- raw shape

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    posts_dir: PathBuf,
    data_dir: PathBuf,
    campaign: RawCampaign,
    schedule: RawSchedule,
    engagement: RawEngagement,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    targets: BTreeMap<String, RawTarget>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url_env: Option<String>,
    url_file: Option<PathBuf>,
    lease: Option<String>,
}

/// `[store]`: a PostgreSQL database shared by several replicas, instead of
/// SQLite in `data_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The database URL (it holds a password: a secret).
    pub url: SecretSource,
    /// How long the active replica's lease holds without renewal: a
    /// standby takes over within about this long after it dies.
    pub lease: Duration,
}

/// The lease when `[store] lease` is not given.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

fn store_config(raw: RawStore) -> Result<Option<StoreConfig>, ConfigError> {
    let url = match (raw.url_env, raw.url_file) {
        (None, None) => {
            if raw.lease.is_some() {
                return Err(key_error(
                    "store.url_env",
                    "missing: name the environment variable (url_env) or secret file (url_file) that holds the PostgreSQL URL, or remove [store]",
                ));
            }
            return Ok(None);
        }
        (Some(_), Some(_)) => {
            return Err(key_error(
                "store.url_env",
                "give either url_env or url_file, not both",
            ));
        }
        (Some(e), None) => SecretSource::Env(e),
        (None, Some(f)) => SecretSource::File(f),
    };
    let lease = match raw.lease {
        None => DEFAULT_LEASE,
        Some(text) => parse_duration("store.lease", &text)?,
    };
    if lease < Duration::from_secs(3) || lease > Duration::from_secs(120) {
        return Err(key_error(
            "store.lease",
            format!(
                "{} is out of range: give between 3s and 2m (10s by default)",
                humantime::format_duration(lease)
            ),
        ));
    }
    Ok(Some(StoreConfig { url, lease }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    webhook_env: Option<String>,
    webhook_file: Option<PathBuf>,
    format: Option<String>,
    matrix_token_env: Option<String>,
    matrix_token_file: Option<PathBuf>,
}

/// Where alerts go (`[alerts]`): a webhook, in one of three formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// The receiver's URL (it often holds a token: a secret).
    pub webhook: SecretSource,
    pub format: AlertFormat,
    /// Matrix: the access token of the account that posts in the room.
    pub matrix_token: Option<SecretSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertFormat {
    /// `{"source", "status", "cause", "message", "at"}`
    Json,
    /// Slack-compatible incoming webhooks: `{"text"}`.
    Slack,
    /// A Matrix room's `send/m.room.message` endpoint.
    Matrix,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default)]
    listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    hashtags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    timezone: String,
    slots: Vec<String>,
    grace: String,
    timed_post_window: String,
    parallel_posts: i64,
    repeat_window: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngagement {
    checkpoints: Vec<String>,
    rate_share: f64,
}

/// One `[targets.NAME]` table as written: the keys every target has, and
/// the network's own, read by its home in `publish/` (see
/// [`crate::publish::network`]).
#[derive(Debug, Deserialize)]
struct RawTarget {
    kind: String,
    #[serde(default)]
    languages: Option<Vec<String>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(flatten)]
    network_keys: BTreeMap<String, toml::Value>,
}

// ---------------------------------------------------------------- typed shape

/// The checked configuration every command works from.
#[derive(Debug, Clone)]
pub struct Config {
    pub posts_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Campaign hashtags without the leading `#`.
    pub hashtags: Vec<String>,
    pub schedule: Schedule,
    /// A rotation slot this close to a timed queue post, on a target that
    /// posts it, is left to the queue post (see [`crate::plan::taken_by`]).
    pub timed_post_window: Duration,
    /// How long a network that refuses repeated texts (X) may remember
    /// one: `validate` and `preview` warn when a target's rotation repeats
    /// a text sooner.
    pub repeat_window: Duration,
    /// How many posts are sent at once, at most (all targets together).
    pub parallel_posts: usize,
    pub checkpoints: Vec<Duration>,
    /// The share of a network's remaining rate limit engagement checks may use.
    pub rate_share: f64,
    /// Where the daemon's HTTP endpoint listens (`[server] listen`), if on.
    pub listen: Option<std::net::SocketAddr>,
    /// Where the daemon sends alerts, if anywhere.
    pub alerts: Option<AlertsConfig>,
    /// The shared PostgreSQL store (`[store]`), if any; else SQLite in
    /// `data_dir`.
    pub store: Option<StoreConfig>,
    /// Enabled targets, in name order.
    pub targets: Vec<TargetConfig>,
}

pub use crate::secret::{Secret, SecretError, SecretSource};

impl From<SecretError> for ConfigError {
    fn from(e: SecretError) -> Self {
        ConfigError::Secret(e.to_string())
    }
}

/// Settings of one target, checked against its kind.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub name: String,
    /// The `kind` as written (`mastodon`, `pleroma`, `bluesky`…).
    pub kind: String,
    /// The languages it posts in, in rotation order.
    pub languages: Vec<Lang>,
    /// Its network and that network's own settings.
    pub network: Arc<dyn Target>,
}

impl TargetConfig {
    /// What its network is (how it counts, what it takes, whether it counts
    /// engagement…).
    pub fn profile(&self) -> &'static Profile {
        self.network.profile()
    }

    fn from_raw(name: &str, raw: RawTarget) -> Result<Option<Self>, ConfigError> {
        let key = |k: &str| format!("targets.{name}.{k}");
        if raw.enabled == Some(false) {
            return Ok(None);
        }
        let kind = raw.kind.trim().to_ascii_lowercase();
        let network = registry::by_kind(&kind).ok_or_else(|| {
            key_error(
                key("kind"),
                format!(
                    "unknown kind {:?}; use one of {}",
                    raw.kind,
                    registry::all_kinds().join(", ")
                ),
            )
        })?;
        let languages = match raw.languages {
            None => ["en", "fr", "ar"]
                .iter()
                .map(|l| Lang::new(l).expect("valid code"))
                .collect(),
            Some(list) => {
                if list.is_empty() {
                    return Err(key_error(key("languages"), "give at least one language"));
                }
                let mut langs = Vec::new();
                for l in list {
                    let lang = Lang::new(l.trim())
                        .map_err(|e| key_error(key("languages"), e.to_string()))?;
                    if langs.contains(&lang) {
                        return Err(key_error(
                            key("languages"),
                            format!("{lang} is listed twice"),
                        ));
                    }
                    langs.push(lang);
                }
                langs
            }
        };
        let own = network.keys();
        for k in raw.network_keys.keys() {
            if own.contains(&k.as_str()) {
                continue;
            }
            if registry::some_network_has_key(k) {
                return Err(key_error(
                    key(k),
                    format!("{kind} targets do not use this key; remove it"),
                ));
            }
            return Err(ConfigError::UnknownKey {
                key: key(k),
                allowed: ["kind", "languages", "enabled"]
                    .iter()
                    .chain(own.iter())
                    .map(|k| k.to_string())
                    .collect(),
            });
        }
        let network = network.configure(name, &kind, raw.network_keys.into_iter().collect())?;
        Ok(Some(TargetConfig {
            name: name.to_string(),
            kind,
            languages,
            network,
        }))
    }
}

fn alerts_config(raw: RawAlerts) -> Result<Option<AlertsConfig>, ConfigError> {
    let format = match raw.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => AlertFormat::Json,
        Some("slack") => AlertFormat::Slack,
        Some("matrix") => AlertFormat::Matrix,
        Some(other) => {
            return Err(key_error(
                "alerts.format",
                format!("{other:?} is not a format: use json, slack or matrix"),
            ));
        }
    };
    let webhook = match (raw.webhook_env, raw.webhook_file) {
        (None, None) => {
            if raw.format.is_some()
                || raw.matrix_token_env.is_some()
                || raw.matrix_token_file.is_some()
            {
                return Err(key_error(
                    "alerts.webhook_env",
                    "missing: name the environment variable (webhook_env) or secret file (webhook_file) that holds the webhook URL, or remove [alerts]",
                ));
            }
            return Ok(None);
        }
        (Some(_), Some(_)) => {
            return Err(key_error(
                "alerts.webhook_env",
                "give either webhook_env or webhook_file, not both",
            ));
        }
        (Some(e), None) => SecretSource::Env(e),
        (None, Some(f)) => SecretSource::File(f),
    };
    let matrix_token = match (raw.matrix_token_env, raw.matrix_token_file) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(key_error(
                "alerts.matrix_token_env",
                "give either matrix_token_env or matrix_token_file, not both",
            ));
        }
        (Some(e), None) => Some(SecretSource::Env(e)),
        (None, Some(f)) => Some(SecretSource::File(f)),
    };
    if format == AlertFormat::Matrix && matrix_token.is_none() {
        return Err(key_error(
            "alerts.matrix_token_env",
            "missing: Matrix needs the access token of the account that posts the alerts (matrix_token_env or matrix_token_file)",
        ));
    }
    Ok(Some(AlertsConfig {
        webhook,
        format,
        matrix_token,
    }))
}

// ---------------------------------------------------------------- loading

/// What to load besides the shipped defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config FILE`; when absent, `config/local.toml` is used if it exists.
    pub file: Option<PathBuf>,
    /// The environment; `None` reads the process environment. Tests pass a map.
    pub env: Option<HashMap<String, String>>,
}

/// The optional local override looked for in the working directory.
pub const LOCAL_CONFIG: &str = "config/local.toml";

impl Config {
    /// The names of the targets, in name order.
    pub fn target_names(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().map(|t| t.name.as_str())
    }

    /// Loads and checks the configuration from all layers.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = match &sources.env {
            Some(map) => map.clone(),
            None => std::env::vars().collect(),
        };
        let env_prefix = format!("{ENV_PREFIX}__").to_lowercase();
        let env: HashMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.to_lowercase().starts_with(&env_prefix))
            .collect();

        let overlay_path = match &sources.file {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(LOCAL_CONFIG)).filter(|p| p.exists()),
        };
        let overlay = match &overlay_path {
            Some(path) => Some(read_toml_file(path)?),
            None => None,
        };

        // Targets from an override replace the shipped ones instead of being
        // merged with them: configuring Mastodon should not also keep posting
        // to the default outbox.
        let overlay_has_targets = overlay.as_ref().is_some_and(|t| t.contains_key("targets"))
            || env.keys().any(|k| {
                k.to_lowercase()
                    .starts_with(&format!("{env_prefix}targets__"))
            });
        let mut defaults: toml::Table = DEFAULT_TOML.parse().expect("shipped default.toml parses");
        if overlay_has_targets {
            defaults.remove("targets");
        }

        let mut list_keys: Vec<String> = vec![
            "schedule.slots".into(),
            "campaign.hashtags".into(),
            "engagement.checkpoints".into(),
        ];
        for k in env.keys() {
            let lower = k.to_lowercase();
            if let Some(rest) = lower.strip_prefix(&env_prefix)
                && rest.starts_with("targets__")
                && rest.ends_with("__languages")
            {
                list_keys.push(rest.replace("__", "."));
            }
        }
        let env_vars: Vec<String> = env.keys().cloned().collect();
        let mut environment = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(ENV_LIST_SEPARATOR)
            .source(Some(env.into_iter().collect()));
        for k in &list_keys {
            environment = environment.with_list_parse_key(k);
        }

        let mut builder = config::Config::builder().add_source(config::File::from_str(
            &toml::to_string(&defaults).expect("a TOML table serialises"),
            config::FileFormat::Toml,
        ));
        if let Some(table) = &overlay {
            builder = builder.add_source(config::File::from_str(
                &toml::to_string(table).expect("a TOML table serialises"),
                config::FileFormat::Toml,
            ));
        }
        let built = builder
            .add_source(environment)
            .build()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let overlay_text = overlay_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        // The environment wins over the file: a bad value it sets is named
        // by its variable; otherwise by the file's line.
        let locate = |e: ConfigError| {
            if let Some(named) = blame_env(&e, &env_vars) {
                return named;
            }
            match (&overlay_path, &overlay_text) {
                (Some(p), Some(t)) => locate(e, p, t),
                _ => e,
            }
        };
        let raw: RawSettings = built
            .try_deserialize()
            .map_err(|e| locate(ConfigError::Invalid(e.to_string())))?;
        Self::from_raw(raw).map_err(locate)
    }

    fn from_raw(raw: RawSettings) -> Result<Config, ConfigError> {
        let tz: Tz = raw.schedule.timezone.parse().map_err(|_| {
            key_error(
                "schedule.timezone",
                format!(
                    "{:?} is not an IANA time zone name; use one like Europe/Brussels or America/New_York",
                    raw.schedule.timezone
                ),
            )
        })?;
        let grace = parse_duration("schedule.grace", &raw.schedule.grace)?;
        let timed_post_window = parse_duration(
            "schedule.timed_post_window",
            &raw.schedule.timed_post_window,
        )?;
        let repeat_window = parse_duration("schedule.repeat_window", &raw.schedule.repeat_window)?;
        let parallel_posts = match raw.schedule.parallel_posts {
            n @ 1..=1024 => n as usize,
            n => {
                return Err(key_error(
                    "schedule.parallel_posts",
                    format!(
                        "{n} posts at a time is not possible: give a number from 1 to 1024, e.g. 16"
                    ),
                ));
            }
        };
        let schedule = Schedule::new(tz, &raw.schedule.slots, grace)
            .map_err(|e| key_error("schedule.slots", e.to_string()))?;

        let mut hashtags = Vec::new();
        for tag in raw.campaign.hashtags {
            let tag = tag.trim().trim_start_matches('#').to_string();
            if tag.is_empty() || !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(key_error(
                    "campaign.hashtags",
                    format!("{tag:?} is not a hashtag: use letters, digits and _ only"),
                ));
            }
            hashtags.push(tag);
        }

        let mut checkpoints = Vec::new();
        for c in &raw.engagement.checkpoints {
            checkpoints.push(parse_duration("engagement.checkpoints", c)?);
        }
        checkpoints.sort();
        let rate_share = raw.engagement.rate_share;
        if !(rate_share > 0.0 && rate_share <= 1.0) {
            return Err(key_error(
                "engagement.rate_share",
                format!(
                    "{rate_share} is not a share: give a number above 0 and at most 1, e.g. 0.5"
                ),
            ));
        }

        let listen = match raw.server.listen.trim() {
            "" => None,
            text => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
                key_error(
                    "server.listen",
                    format!("{text:?} is not an address and port: write e.g. \"127.0.0.1:9184\" (or \"\" for no endpoint)"),
                )
            })?),
        };

        let alerts = alerts_config(raw.alerts)?;
        let store = store_config(raw.store)?;

        let mut targets = Vec::new();
        for (name, t) in raw.targets {
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(key_error(
                    format!("targets.{name}"),
                    "target names use letters, digits, - and _ only",
                ));
            }
            if let Some(target) = TargetConfig::from_raw(&name, t)? {
                targets.push(target);
            }
        }
        if targets.is_empty() {
            return Err(ConfigError::Invalid(
                "no target is configured: add a [targets.NAME] table (see config/default.toml)"
                    .into(),
            ));
        }

        Ok(Config {
            posts_dir: raw.posts_dir,
            data_dir: raw.data_dir,
            hashtags,
            schedule,
            timed_post_window,
            repeat_window,
            parallel_posts,
            checkpoints,
            rate_share,
            listen,
            alerts,
            store,
            targets,
        })
    }

    /// The target called `name`.
    pub fn target(&self, name: &str) -> Option<&TargetConfig> {
        self.targets.iter().find(|t| t.name == name)
    }

    /// Every language some target posts in.
    pub fn all_languages(&self) -> Vec<Lang> {
        let mut langs: Vec<Lang> = Vec::new();
        for t in &self.targets {
            for l in &t.languages {
                if !langs.contains(l) {
                    langs.push(*l);
                }
            }
        }
        langs
    }
}

/// The dotted key an error is about, if it names one.
fn error_key(e: &ConfigError) -> Option<String> {
    match e {
        ConfigError::Key { key, .. } | ConfigError::UnknownKey { key, .. } => Some(key.clone()),
        ConfigError::Invalid(msg) => {
            let quoted = |after: &str| {
                msg.split(after)
                    .nth(1)
                    .and_then(|r| r.split('`').nth(1))
                    .map(str::to_string)
            };
            let field = quoted("unknown field ").or_else(|| quoted("missing field "));
            let parent = quoted(" for key ");
            match (parent, field) {
                (Some(p), Some(f)) => Some(format!("{p}.{f}")),
                (None, Some(f)) => Some(f),
                (Some(p), None) => Some(p),
                (None, None) => None,
            }
        }
        _ => None,
    }
}

/// The error again, naming the environment variable that set its key, if
/// one did (`CAMPAIGN_BOT__SCHEDULE__SLOTS` for `schedule.slots`).
fn blame_env(e: &ConfigError, vars: &[String]) -> Option<ConfigError> {
    let key = error_key(e)?;
    let wanted = format!("{ENV_PREFIX}__{}", key.replace('.', "__"));
    let var = vars.iter().find(|v| v.eq_ignore_ascii_case(&wanted))?;
    let message = match e {
        ConfigError::Key { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Some(ConfigError::Env {
        var: var.clone(),
        key,
        message,
    })
}

/// Points an error at the line of the config file that sets its key; a
/// key set only in the environment is left as it is.
fn locate(e: ConfigError, path: &Path, text: &str) -> ConfigError {
    let Some(key) = error_key(&e) else { return e };
    let Some(line) = key_line(text, &key) else {
        return e;
    };
    let message = match &e {
        ConfigError::Key { key, message } => format!("`{key}`: {message}"),
        ConfigError::UnknownKey { key, allowed } => {
            unknown_key_advice(&unknown_key_message(key, allowed))
        }
        ConfigError::Invalid(m) if m.contains("unknown field") => unknown_key_advice(m),
        ConfigError::Invalid(m) => m
            .replace(
                "expected a sequence",
                "expected a list in square brackets, e.g. [\"…\", \"…\"]",
            )
            .replace("expected a map", "expected a table")
            .replace("expected a string", "expected text in quotes"),
        other => other.to_string(),
    };
    ConfigError::InFile {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// What to do about an unknown key: a secret never goes in the file; any
/// other is checked against the shipped file.
fn unknown_key_advice(m: &str) -> String {
    let secret_key = [
        "token",
        "password",
        "access_token",
        "app_password",
        "secret",
    ]
    .iter()
    .any(|k| m.contains(&format!("unknown field `{k}`")));
    if secret_key {
        format!(
            "{}: secrets never go in a config file; put it in a file named by `token_file`/`password_file`, or in an environment variable named by `token_env`/`password_env`",
            m.split(',')
                .next()
                .unwrap_or(m)
                .replace("unknown field", "key")
        )
    } else {
        format!(
            "{}; check the spelling against config/default.toml",
            m.replace("unknown field", "unknown key")
        )
    }
}

/// The 1-based line of a TOML text that sets the dotted `key` (or opens
/// its table), following `[table]` headers.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let norm = |s: &str| s.trim().replace(['"', '\'', ' '], "");
    let key = norm(key);
    let mut table = String::new();
    let mut table_line = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            table = norm(
                line.trim_start_matches('[')
                    .trim_end_matches(']')
                    .trim_end_matches(']'),
            );
            if table == key {
                table_line = Some(i + 1);
            }
            continue;
        }
        let Some((k, _)) = line.split_once('=') else {
            continue;
        };
        let full = if table.is_empty() {
            norm(k)
        } else {
            format!("{table}.{}", norm(k))
        };
        if full == key {
            return Some(i + 1);
        }
    }
    table_line.or_else(|| {
        // The key's table itself, for a missing key.
        let parent = key.rsplit_once('.').map(|(p, _)| p.to_string())?;
        text.lines()
            .position(|l| {
                norm(l.trim().trim_start_matches('[').trim_end_matches(']')) == parent
                    && l.trim().starts_with('[')
            })
            .map(|i| i + 1)
    })
}

fn read_toml_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|e| syntax_error(path, &text, &e))
}

/// A TOML syntax error at its line and column, with the line shown under
/// it, except the value of a key that looks like a secret: a token pasted
/// into a config file must not end up in a terminal or a log.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_string();
    let Some(span) = e.span() else {
        return ConfigError::Syntax {
            path: path.to_path_buf(),
            message,
        };
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let raw = text.lines().nth(line - 1).unwrap_or("");
    let shown = redact_secret(raw);
    let pad = " ".repeat(line.to_string().len());
    // The caret only under a line shown as written.
    let caret = if shown == raw {
        format!("\n  {pad} | {}^", " ".repeat(column.saturating_sub(1)))
    } else {
        String::new()
    };
    ConfigError::InFile {
        path: path.to_path_buf(),
        line,
        message: format!("column {column}: {message}\n  {line} | {shown}{caret}"),
    }
}

/// `key = value` with the value replaced by `…` when the key names a
/// secret (`token`, `password`, `secret`…; not `token_env`/`token_file`,
/// which only name where a secret is).
fn redact_secret(line: &str) -> String {
    let Some((key, _)) = line.split_once('=') else {
        return line.to_string();
    };
    let k = key.trim().trim_matches('"').to_ascii_lowercase();
    let names_a_place = k.ends_with("_env") || k.ends_with("_file");
    let secret = [
        "token",
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "credential",
    ]
    .iter()
    .any(|s| k.contains(s));
    if secret && !names_a_place {
        format!("{key}= … (value hidden: it looks like a secret)")
    } else {
        line.to_string()
    }
}

/// `"15m"`, `"1h"`, `"3d"` and the other forms `humantime` reads.
pub fn parse_duration(key: &str, s: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(s.trim()).map_err(|e| {
        key_error(
            key,
            format!("{s:?} is not a duration ({e}); write it like 15m, 1h or 3d"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let empty = tempfile::NamedTempFile::new().unwrap();
        Config::load(&Sources {
            file: Some(empty.path().to_path_buf()),
            env: Some(env),
        })
    }

    /// Loads `text` as the config file `f`, with no environment.
    fn load_file(f: &Path, text: &str) -> Result<Config, ConfigError> {
        std::fs::write(f, text).unwrap();
        Config::load(&Sources {
            file: Some(f.to_path_buf()),
            env: Some(Default::default()),
        })
    }

    #[test]
    fn shipped_defaults_load() {
        let c = load_env(&[]).unwrap();
        assert_eq!(c.hashtags, ["WeTogether", "Cities4Migration"]);
        assert_eq!(c.targets.len(), 1);
        assert_eq!(c.targets[0].kind, "outbox");
        assert_eq!(c.schedule.grace(), Duration::from_secs(15 * 60));
        assert_eq!(c.schedule.timezone().name(), "Europe/Brussels");
        assert_eq!(c.checkpoints.len(), 6);
    }

    #[test]
    fn env_overrides_and_lists() {
        let c = load_env(&[
            ("CAMPAIGN_BOT__SCHEDULE__TIMEZONE", "America/New_York"),
            ("CAMPAIGN_BOT__SCHEDULE__SLOTS", "0 9 * * 1,3;0 18 * * *"),
            ("CAMPAIGN_BOT__DATA_DIR", "/tmp/x"),
        ])
        .unwrap();
        assert_eq!(c.schedule.timezone().name(), "America/New_York");
        assert_eq!(c.schedule.slot_patterns().len(), 2);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn env_targets_replace_the_default_outbox() {
        let c = load_env(&[
            ("CAMPAIGN_BOT__TARGETS__MASTO__KIND", "mastodon"),
            (
                "CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL",
                "https://m.example/",
            ),
            ("CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV", "MASTO_TOKEN"),
            ("CAMPAIGN_BOT__TARGETS__MASTO__LANGUAGES", "fr;ar"),
        ])
        .unwrap();
        assert_eq!(c.targets.len(), 1);
        let t = &c.targets[0];
        assert_eq!(t.name, "masto");
        assert_eq!(
            t.languages,
            [Lang::new("fr").unwrap(), Lang::new("ar").unwrap()]
        );
        assert_eq!(t.profile().name, "Mastodon");
        let settings = format!("{:?}", t.network);
        for part in [
            r#"base_url: "https://m.example""#,
            r#"token: Env("MASTO_TOKEN")"#,
            r#"visibility: "public""#,
        ] {
            assert!(settings.contains(part), "{settings}");
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = load_env(&[("CAMPAIGN_BOT__SCHEDULE__TIMEZNE", "UTC")]).unwrap_err();
        assert!(e.to_string().contains("timezne"), "{e}");
        let e = load_env(&[
            ("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox"),
            ("CAMPAIGN_BOT__TARGETS__OUTBOX__TOKEN_ENV", "X"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("targets.outbox.token_env"), "{e}");
    }

    // Issue 15: errors from environment variables named `schedule.slots`.
    #[test]
    fn a_bad_value_from_the_environment_names_its_variable() {
        let e = load_env(&[("CAMPAIGN_BOT__SCHEDULE__SLOTS", "every day")]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "environment variable CAMPAIGN_BOT__SCHEDULE__SLOTS (`schedule.slots`): "
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = load_env(&[("CAMPAIGN_BOT__SCHEDULE__TIMEZONE", "Mars/Olympus")]).unwrap_err();
        assert!(e.to_string().contains("schedule.timezone"), "{e}");
        let e = load_env(&[("CAMPAIGN_BOT__SCHEDULE__GRACE", "soon")]).unwrap_err();
        assert!(e.to_string().contains("schedule.grace"), "{e}");
        let e = load_env(&[("CAMPAIGN_BOT__SCHEDULE__SLOTS", "61 * * * *")]).unwrap_err();
        assert!(e.to_string().contains("schedule.slots"), "{e}");
    }

    #[test]
    fn file_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("local.toml");
        let e = load_file(&f, "# mine\n[schedule]\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:3: `schedule.timezone`: \"Mars/Olympus\" is not an IANA time zone name; use one like Europe/Brussels or America/New_York",
                f.display()
            )
        );
        let e = load_file(&f, "[schedule]\ntimezne = \"UTC\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:2: unknown key `timezne`", f.display())),
            "{e}"
        );
        let e = load_file(&f, "[targets.m]\nkind = \"mastodon\"\nbase_url = \"https://m.example\"\ntoken_env = \"T\"\nvisibility = \"everyone\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:5: `targets.m.visibility`", f.display())),
            "{e}"
        );
    }

    // Issue 13: a syntax error on a line holding a secret printed the line.
    #[test]
    fn a_syntax_error_never_shows_a_secret_value() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("local.toml");
        let e = load_file(
            &f,
            "[targets.m]\nkind = \"mastodon\"\ntoken = \"s3cr3t-token-value\nbase_url = \"https://m\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
        assert!(e.starts_with(&format!("{}:3: column ", f.display())), "{e}");
        assert!(e.contains("token = … (value hidden"), "{e}");
        let e = load_file(&f, "[schedule\n").unwrap_err().to_string();
        assert!(e.contains("1 | [schedule"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let e = SecretSource::Env("CB_TEST_UNSET_VAR".into())
            .resolve()
            .unwrap_err();
        assert!(e.to_string().contains("CB_TEST_UNSET_VAR"));
    }
}
