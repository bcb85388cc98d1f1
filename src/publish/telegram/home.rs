//! Telegram in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules and building.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{MAX_PHOTO_BYTES, Telegram};
use crate::publish::keys::{KeyError, key_error};
use crate::publish::network::{At, BuildContext, Building, Network};
use crate::publish::profile::{Engagement, MediaRules, Profile};
use crate::secret::SecretSource;

/// Telegram, described.
pub static PROFILE: Profile = Profile {
    name: "Telegram",
    kinds: &["telegram"],
    limits: super::LIMITS,
    media: MediaRules {
        max_images: 1,
        max_bytes: MAX_PHOTO_BYTES,
        ..MediaRules::DEFAULT
    },
    caption_limit: Some(super::MAX_CAPTION),
    engagement: Engagement::NotCounted(
        "the Telegram Bot API gives bots no views or reactions of channel posts",
    ),
    example: "[targets.telegram]\nkind = \"telegram\"\nchannel = \"@yourchannel\"            # or its numeric id, \"-100…\"\ntoken_env = \"TELEGRAM_BOT_TOKEN\"     # from @BotFather; make the bot an administrator of the channel\nlanguages = [\"ar\", \"fr\", \"en\"]",
    ..Profile::DEFAULT
};

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
pub struct Raw {
    api_url: Option<String>,
    channel: Option<toml::Value>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
}

/// Telegram in the registry of networks. Its login checks the bot token of
/// each Telegram target (`getMe`).
impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let api_url = at.url("api_url", raw.api_url, "https://api.telegram.org")?;
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
                at.key("channel"),
                "the channel to post to: its @username if it is public (\"@cities4migration\"), or its numeric id (\"-1001234567890\"); the bot must be an administrator there",
            ));
        }
        Ok(Settings {
            api_url,
            channel,
            token: at.secret("token", raw.token_env, raw.token_file)?,
        })
    }
    fn secrets(&self) -> Vec<&SecretSource> {
        vec![&self.token]
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = self.token.resolve()?;
        let channel = Telegram::new(target, &self.api_url, &self.channel, token);
        Ok(Arc::new(channel.with_clock(ctx.clock)))
    }
}
