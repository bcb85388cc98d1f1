//! Instagram in the registry of networks: the `[targets.NAME]` keys,
//! their checks, the profile and building.

use std::sync::Arc;

use serde::Deserialize;

use super::{Instagram, LIMITS, MAX_IMAGE_BYTES, VERSION};
use crate::posts::files::ImageKind;
use crate::publish::keys::{KeyError, check_url, key_error};
use crate::publish::network::{At, BuildContext, Building, Network};
use crate::publish::profile::{MediaRules, Profile};

/// Instagram, described.
pub static PROFILE: Profile = Profile {
    name: "Instagram",
    kinds: &["instagram"],
    limits: LIMITS,
    // One image a post, by its public address; no text-only posts; JPEG
    // only ("Extended JPEG formats … are not supported"), up to 8 MiB.
    media: MediaRules {
        max_images: 1,
        max_bytes: MAX_IMAGE_BYTES,
        required: true,
        formats: Some(&[ImageKind::Jpeg]),
    },
    user_token: true,
    example: "[targets.instagram]\nkind = \"instagram\"\naccount = \"17841405822304914\"          # the professional account's Instagram user id\ntoken_file = \"/var/lib/campaign-bot/facebook-token.json\"   # the linked Page's token (`login facebook`)\nmedia_base_url = \"https://example.org/campaign/posts\"   # where posts/ is served: Instagram fetches images by address\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "instagram"`: the professional account (`account`, its
/// Instagram user id), its token by `token_env` or `token_file`,
/// `media_base_url` (the public address of `posts/`: Instagram fetches
/// images by address), `api_version`, `api_url` (`graph.facebook.com`
/// with a Facebook Page's token, `graph.instagram.com` with an Instagram
/// Login token) and `refresh_url` (where an Instagram Login token is
/// refreshed).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub refresh_url: String,
    pub api_version: String,
    pub account: String,
    pub media_base_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    account: Option<toml::Value>,
    media_base_url: Option<String>,
    api_version: Option<String>,
    api_url: Option<String>,
    refresh_url: Option<String>,
}

/// Instagram in the registry of networks. Its login checks the token of
/// each Instagram target (the Facebook Page's token comes from `login
/// facebook`).
impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let account = at.numeric_id(
            "account",
            raw.account,
            "the professional account to post as: its Instagram user id (Meta Business Suite, or the Page's instagram_business_account), e.g. account = \"17841405822304914\"",
        )?;
        let Some(media_base_url) = raw.media_base_url else {
            return Err(key_error(
                at.key("media_base_url"),
                "missing: Instagram fetches each post's image from a public address; give the address where posts/ is published, e.g. media_base_url = \"https://example.org/campaign/posts\"",
            ));
        };
        check_url(&at.key("media_base_url"), &media_base_url)?;
        Ok(Settings {
            api_url: at.url("api_url", raw.api_url, "https://graph.facebook.com")?,
            refresh_url: at.url(
                "refresh_url",
                raw.refresh_url,
                "https://graph.instagram.com",
            )?,
            api_version: raw.api_version.unwrap_or_else(|| VERSION.into()),
            account,
            media_base_url: media_base_url.trim_end_matches('/').to_string(),
        })
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = ctx.token(target)?;
        let account = Instagram::new(target, self, token, ctx.kept.clone());
        Ok(Arc::new(account.with_clock(ctx.clock)))
    }
}
