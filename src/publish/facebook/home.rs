//! Facebook Pages in the registry of networks: the `[targets.NAME]` keys,
//! their checks, the profile, building and `login facebook`.

use std::sync::Arc;

use serde::Deserialize;

use super::{Facebook, LIMITS, VERSION};
use crate::publish::app::AppSecret;
use crate::publish::keys::{KeyError, key_error};
use crate::publish::network::{AppLogin, At, BuildContext, Building, LoginError, Network};
use crate::publish::profile::{MediaRules, Profile};

/// Facebook Pages, described.
pub static PROFILE: Profile = Profile {
    name: "Facebook",
    kinds: &["facebook"],
    limits: LIMITS,
    // A photo post carries one image, uploaded with the post (4 MB: the
    // size Meta's error for too large a photo names).
    media: MediaRules {
        max_images: 1,
        max_bytes: 4 * 1024 * 1024,
        ..MediaRules::DEFAULT
    },
    // Meta refuses a text the Page posted recently (code 506, or 368).
    refuses_repeats: true,
    app: Some(AppSecret::Required),
    user_token: true,
    example: "[targets.facebook]\nkind = \"facebook\"\npage = \"175154750010052\"              # the Page's id (its About page, or Meta Business Suite)\ntoken_file = \"/var/lib/campaign-bot/facebook-token.json\"   # written by `login facebook`\nclient_id = \"YOUR_APP_ID\"\nclient_secret_file = \"/run/secrets/facebook_app_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "facebook"`: the Page (`page`, its id), its Page access token
/// by `token_env` or `token_file` (written by `login facebook`), the app
/// (`client_id`, `client_secret_*`, `redirect_uri`) for `login`,
/// `api_version` (the Graph API version, `v25.0`), `api_url` and
/// `oauth_url` (Meta's; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub oauth_url: String,
    pub api_version: String,
    pub page: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    page: Option<toml::Value>,
    api_version: Option<String>,
    api_url: Option<String>,
    oauth_url: Option<String>,
}

impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let page = at.numeric_id(
            "page",
            raw.page,
            "the Page to post as: its id, the number in its About page or in Meta Business Suite, e.g. page = \"175154750010052\"",
        )?;
        let api_version = raw.api_version.unwrap_or_else(|| VERSION.into());
        let digits = api_version.strip_prefix('v').unwrap_or_default();
        if !digits.contains('.') || !digits.replace('.', "").chars().all(|c| c.is_ascii_digit()) {
            return Err(key_error(
                at.key("api_version"),
                format!("a Graph API version, \"{VERSION}\""),
            ));
        }
        Ok(Settings {
            api_url: at.url("api_url", raw.api_url, "https://graph.facebook.com")?,
            oauth_url: at.url("oauth_url", raw.oauth_url, "https://www.facebook.com")?,
            api_version,
            page,
        })
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = ctx.token(target)?;
        let page = Facebook::new(target, &self.api_url, &self.api_version, &self.page, token);
        Ok(Arc::new(page.with_clock(ctx.clock)))
    }
    /// With an app: the user's login turned into the Page's long-lived
    /// token, checked with `debug_token` and kept in the target's token
    /// file. Without: checks the Page token of each Facebook target.
    async fn oauth(login: AppLogin<'_, Self>) -> Result<(), LoginError> {
        super::login::login(login).await
    }
}
