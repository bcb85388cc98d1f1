//! Mastodon and the servers that speak its API in the registry of
//! networks: the `[targets.NAME]` keys, their checks, limits and building.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::Mastodon;
use crate::publish::keys::{KeyError, check_url, key_error, secret_source};
use crate::publish::network::{
    BuildContext, Building, CannotStart, Keys, LoginError, LoginRequest, Network,
};
use crate::publish::profile::Profile;
use crate::render::Limits;
use crate::secret::SecretSource;

/// Which fediverse server software a `mastodon`-like target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FediverseFlavour {
    Mastodon,
    Pleroma,
    Gotosocial,
    Friendica,
    Firefish,
}

impl FediverseFlavour {
    const ALL: [(&'static str, FediverseFlavour); 5] = [
        ("mastodon", FediverseFlavour::Mastodon),
        ("pleroma", FediverseFlavour::Pleroma),
        ("gotosocial", FediverseFlavour::Gotosocial),
        ("friendica", FediverseFlavour::Friendica),
        ("firefish", FediverseFlavour::Firefish),
    ];

    fn of(kind: &str) -> Option<FediverseFlavour> {
        Self::ALL.iter().find(|(k, _)| *k == kind).map(|(_, f)| *f)
    }
}

/// `kind = "mastodon"` (or another flavour): `base_url`, the token by
/// `token_env` or `token_file`, `visibility`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub flavour: FediverseFlavour,
    pub base_url: String,
    pub token: SecretSource,
    pub visibility: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    base_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    visibility: Option<String>,
}

const VISIBILITIES: &[&str] = &["public", "unlisted", "private", "direct"];

/// Mastodon's default length limit, until the server says its own.
pub const DEFAULT_LIMITS: Limits = super::limits(500, 23);

/// The fediverse, described.
pub static PROFILE: Profile = Profile {
    name: "Mastodon",
    kinds: &["mastodon", "pleroma", "gotosocial", "friendica", "firefish"],
    limits: DEFAULT_LIMITS,
    server_limits: Some("500 characters unless the server allows more"),
    example: "[targets.mastodon]\nkind = \"mastodon\"\nbase_url = \"https://mastodon.social\"\ntoken_file = \"data/secrets/mastodon_token\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// The fediverse in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    type Settings = Settings;
    type Raw = Raw;
    const PROFILE: &'static Profile = &PROFILE;
    fn settings(&self, keys: Keys<'_, Raw>) -> Result<Settings, KeyError> {
        let Keys {
            target, kind, raw, ..
        } = keys;
        let key = |k: &str| format!("targets.{target}.{k}");
        let base_url = raw.base_url.ok_or_else(|| {
            key_error(
                key("base_url"),
                "missing: the server's address, e.g. https://mastodon.social",
            )
        })?;
        check_url(&key("base_url"), &base_url)?;
        let visibility = raw.visibility.unwrap_or_else(|| "public".into());
        if !VISIBILITIES.contains(&visibility.as_str()) {
            return Err(key_error(
                key("visibility"),
                format!("{visibility:?} is not one of {}", VISIBILITIES.join(", ")),
            ));
        }
        Ok(Settings {
            flavour: FediverseFlavour::of(kind).expect("one of this network's kinds"),
            base_url: base_url.trim_end_matches('/').to_string(),
            token: secret_source(target, "token", raw.token_env, raw.token_file)?,
            visibility,
        })
    }
    fn secrets<'s>(&self, s: &'s Settings) -> Vec<&'s SecretSource> {
        vec![&s.token]
    }
    fn build(&self, target: &str, s: &Settings, ctx: &BuildContext<'_>) -> Building {
        let token = s.token.resolve()?;
        let limits = (ctx.cached_limits)(target).unwrap_or(DEFAULT_LIMITS);
        let m = Mastodon::new(target, s.flavour, &s.base_url, token, &s.visibility, limits)
            .map_err(CannotStart::Client)?
            .with_clock(ctx.clock);
        Ok(Arc::new(m))
    }
    /// Registers the bot with a server and gets a token by the OAuth code
    /// flow; needs no configured target.
    async fn login(&self, request: LoginRequest<'_, Settings>) -> Result<(), LoginError> {
        let Some(instance) = request.instance else {
            return Err(LoginError::Usage(
                "login mastodon needs --instance URL, the server to log in to (e.g. https://mastodon.social)"
                    .into(),
            ));
        };
        let token_file = request
            .token_file
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data/secrets/mastodon_token"));
        super::login::login(instance, &token_file, request.input).await
    }
}
