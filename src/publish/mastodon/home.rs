//! Mastodon and the servers that speak its API in the registry of
//! networks: the `[targets.NAME]` keys, their checks, limits and building.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::Mastodon;
use crate::publish::keys::{KeyError, check_url, key_error};
use crate::publish::network::{
    At, BuildContext, Building, CannotStart, LoginError, LoginRequest, Network,
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

/// The fediverse, described.
pub static PROFILE: Profile = Profile {
    name: "Mastodon",
    kinds: &["mastodon", "pleroma", "gotosocial", "friendica", "firefish"],
    limits: DEFAULT_LIMITS,
    server_limits: Some("500 characters unless the server allows more"),
    example: "[targets.mastodon]\nkind = \"mastodon\"\nbase_url = \"https://mastodon.social\"\ntoken_file = \"data/secrets/mastodon_token\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

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

impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let base_url = raw.base_url.ok_or_else(|| {
            key_error(
                at.key("base_url"),
                "missing: the server's address, e.g. https://mastodon.social",
            )
        })?;
        check_url(&at.key("base_url"), &base_url)?;
        let visibility = raw.visibility.unwrap_or_else(|| "public".into());
        if !VISIBILITIES.contains(&visibility.as_str()) {
            return Err(key_error(
                at.key("visibility"),
                format!("{visibility:?} is not one of {}", VISIBILITIES.join(", ")),
            ));
        }
        Ok(Settings {
            flavour: FediverseFlavour::of(at.kind).expect("one of this network's kinds"),
            base_url: base_url.trim_end_matches('/').to_string(),
            token: at.secret("token", raw.token_env, raw.token_file)?,
            visibility,
        })
    }
    fn secrets(&self) -> Vec<&SecretSource> {
        vec![&self.token]
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = self.token.resolve()?;
        let limits = (ctx.cached_limits)(target).unwrap_or(DEFAULT_LIMITS);
        let m = Mastodon::new(
            target,
            self.flavour,
            &self.base_url,
            token,
            &self.visibility,
            limits,
        )
        .map_err(CannotStart::Client)?
        .with_clock(ctx.clock);
        Ok(Arc::new(m))
    }
    /// Registers the bot with a server and gets a token by the OAuth code
    /// flow; needs no configured target.
    async fn login(request: LoginRequest<'_, Self>, _: &'static Profile) -> Result<(), LoginError> {
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
