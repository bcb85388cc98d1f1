//! X in the registry of networks: the `[targets.NAME]` keys, their checks,
//! limits, media rules and building.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::X;
use crate::config::{ConfigError, SecretSource, TargetConfig, check_url, secret_source};
use crate::publish::Publisher;
use crate::publish::network::{
    self, BuildContext, LoginError, LoginRequest, MediaRules, Network, NetworkSettings,
};
use crate::publish::oauth::{self, App, AppKeys, KeptToken};
use crate::render::Limits;

/// `kind = "x"`: the user's OAuth 2.0 access token by `token_env` or
/// `token_file` (scopes tweet.read, tweet.write, users.read, media.write), and `api_url`
/// (`https://api.x.com`; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub token: SecretSource,
    /// When the token stops working (`token_expires`), if given.
    pub token_expires: Option<chrono::NaiveDate>,
    /// The app, for `login x` and for refreshing the token.
    pub app: Option<App>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    api_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    token_expires: Option<toml::Value>,
}

/// X in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    fn name(&self) -> &'static str {
        "X"
    }
    fn kinds(&self) -> &'static [&'static str] {
        &["x"]
    }
    fn keys(&self) -> &'static [&'static str] {
        &[
            "api_url",
            "token_env",
            "token_file",
            "token_expires",
            oauth::APP_KEYS[0],
            oauth::APP_KEYS[1],
            oauth::APP_KEYS[2],
            oauth::APP_KEYS[3],
        ]
    }
    fn settings(
        &self,
        target: &str,
        _kind: &str,
        mut keys: toml::Table,
    ) -> Result<NetworkSettings, ConfigError> {
        let app = AppKeys::take(target, &mut keys)?.read(target, "X", false)?;
        let raw: Raw = network::parse_keys(target, keys)?;
        let api_url = raw.api_url.unwrap_or_else(|| "https://api.x.com".into());
        check_url(&format!("targets.{target}.api_url"), &api_url)?;
        Ok(NetworkSettings::X(Settings {
            api_url: api_url.trim_end_matches('/').to_string(),
            token: secret_source(target, "token", raw.token_env, raw.token_file)?,
            token_expires: network::expiry_date(target, raw.token_expires)?,
            app,
        }))
    }
    fn offline_limits(&self) -> Limits {
        Limits::X
    }
    fn media_rules(&self) -> MediaRules {
        MediaRules {
            max_images: super::MAX_IMAGES,
            max_bytes: super::MAX_IMAGE_BYTES,
        }
    }
    fn refuses_repeats(&self) -> bool {
        true
    }
    fn link_cost_note(&self) -> Option<&'static str> {
        Some(
            "X charges per post, about $0.015 a post but $0.20 for a post with a link (X's pricing page); remove the link to post for less",
        )
    }
    fn token_expires(&self, target: &TargetConfig) -> Option<chrono::NaiveDate> {
        match &target.settings {
            NetworkSettings::X(s) => oauth::expiry_day(&s.token, s.token_expires),
            _ => None,
        }
    }
    fn secrets<'t>(&self, target: &'t TargetConfig) -> Vec<&'t SecretSource> {
        match &target.settings {
            NetworkSettings::X(s) => vec![&s.token],
            _ => Vec::new(),
        }
    }
    fn build(
        &self,
        target: &TargetConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String> {
        let NetworkSettings::X(s) = &target.settings else {
            return Err("the settings are not X's".into());
        };
        let token = KeptToken::open(&target.name, &s.token)?;
        Ok(Arc::new(
            X::new(&target.name, &s.api_url, Arc::new(token), s.app.clone()).with_clock(ctx.clock),
        ))
    }
    /// With an app (`client_id`, `redirect_uri`): OAuth 2.0 with PKCE,
    /// the token and its refresh token kept in the target's token file.
    /// Without: checks the access token of each X target.
    async fn login(&self, request: LoginRequest<'_>) -> Result<(), LoginError> {
        let Some((target, _)) = request.targets.first() else {
            return Err(LoginError::Usage(
                "no X target is configured; add one to config/local.toml (or --config FILE), e.g.\n\n[targets.x]\nkind = \"x\"\ntoken_file = \"/var/lib/campaign-bot/x-token.json\"\nclient_id = \"YOUR_CLIENT_ID\"             # the app's OAuth 2.0 client ID\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]\n\nthen run `campaign-bot login x` again".into(),
            ));
        };
        let NetworkSettings::X(s) = &target.settings else {
            return Err(LoginError::Failed("the settings are not X's".into()));
        };
        let Some(app) = &s.app else {
            return network::check_credentials(request.targets).await;
        };
        if request.targets.len() > 1 {
            return Err(LoginError::Usage(
                "several X targets are configured: say which with --target NAME".into(),
            ));
        }
        super::login::login(target, s, app, request.token_file, request.input).await
    }
}
