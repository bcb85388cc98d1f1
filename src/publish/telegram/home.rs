//! Telegram in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules and building.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::{MAX_PHOTO_BYTES, Telegram};
use crate::config::{ConfigError, SecretSource, TargetConfig, check_url, key_error, secret_source};
use crate::publish::Publisher;
use crate::publish::network::{
    self, BuildContext, LoginError, LoginRequest, MediaRules, Network, NetworkSettings,
};
use crate::render::Limits;

/// `kind = "telegram"`: `channel` (`@username` of a public channel, or the
/// numeric id `-100…` of any), the bot token by `token_env` or
/// `token_file`, and `api_url` (a local Bot API server, or a test one).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub channel: String,
    pub token: SecretSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    api_url: Option<String>,
    channel: Option<toml::Value>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
}

/// Telegram in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    fn name(&self) -> &'static str {
        "Telegram"
    }
    fn kinds(&self) -> &'static [&'static str] {
        &["telegram"]
    }
    fn keys(&self) -> &'static [&'static str] {
        &["api_url", "channel", "token_env", "token_file"]
    }
    fn settings(
        &self,
        target: &str,
        _kind: &str,
        keys: toml::Table,
    ) -> Result<NetworkSettings, ConfigError> {
        let key = |k: &str| format!("targets.{target}.{k}");
        let raw: Raw = network::parse_keys(target, keys)?;
        let api_url = raw
            .api_url
            .unwrap_or_else(|| "https://api.telegram.org".into());
        check_url(&key("api_url"), &api_url)?;
        let channel = match raw.channel {
            Some(toml::Value::String(s)) => s.trim().to_string(),
            // A numeric id written without quotes.
            Some(toml::Value::Integer(i)) => i.to_string(),
            Some(_) | None => String::new(),
        };
        let is_username = channel.strip_prefix('@').is_some_and(|u| {
            u.len() >= 4 && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let is_id = channel
            .strip_prefix('-')
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !is_username && !is_id {
            return Err(key_error(
                key("channel"),
                "the channel to post to: its @username if it is public (\"@cities4migration\"), or its numeric id (\"-1001234567890\"); the bot must be an administrator there",
            ));
        }
        Ok(NetworkSettings::Telegram(Settings {
            api_url: api_url.trim_end_matches('/').to_string(),
            channel,
            token: secret_source(target, "token", raw.token_env, raw.token_file)?,
        }))
    }
    fn offline_limits(&self) -> Limits {
        Limits::TELEGRAM
    }
    fn media_rules(&self) -> MediaRules {
        MediaRules {
            max_images: 1,
            max_bytes: MAX_PHOTO_BYTES,
        }
    }
    fn caption_limit(&self) -> Option<usize> {
        Some(super::MAX_CAPTION)
    }
    fn collects_engagement(&self) -> bool {
        false
    }
    fn no_engagement_reason(&self) -> Option<&'static str> {
        Some("the Telegram Bot API gives bots no views or reactions of channel posts")
    }
    fn secrets<'t>(&self, target: &'t TargetConfig) -> Vec<&'t SecretSource> {
        match &target.settings {
            NetworkSettings::Telegram(s) => vec![&s.token],
            _ => Vec::new(),
        }
    }
    fn build(
        &self,
        target: &TargetConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String> {
        let NetworkSettings::Telegram(s) = &target.settings else {
            return Err("the settings are not Telegram's".into());
        };
        let token = s.token.resolve().map_err(|e| e.to_string())?;
        Ok(Arc::new(
            Telegram::new(&target.name, &s.api_url, &s.channel, token).with_clock(ctx.clock),
        ))
    }
    /// Checks the bot token of each Telegram target (`getMe`).
    async fn login(&self, request: LoginRequest<'_>) -> Result<(), LoginError> {
        if request.targets.is_empty() {
            return Err(LoginError::Usage(
                "no Telegram target is configured; add one to config/local.toml (or --config FILE), e.g.\n\n[targets.telegram]\nkind = \"telegram\"\nchannel = \"@yourchannel\"            # or its numeric id, \"-100…\"\ntoken_env = \"TELEGRAM_BOT_TOKEN\"     # from @BotFather; make the bot an administrator of the channel\nlanguages = [\"ar\", \"fr\", \"en\"]\n\nthen run `campaign-bot login telegram` again".into(),
            ));
        }
        network::check_credentials(request.targets).await
    }
}
