//! Facebook Pages in the registry of networks: the `[targets.NAME]` keys,
//! their checks, the profile, building and `login facebook`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Facebook, LIMITS, VERSION};
use crate::publish::app::{App, AppSecret};
use crate::publish::keys::{self, KeyError, key_error};
use crate::publish::network::{
    self, BuildContext, Building, Keys, LoginError, LoginRequest, Network,
};
use crate::publish::oauth::UserToken;
use crate::publish::profile::{MediaRules, Profile};

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
    /// The user's token (`token_env` or `token_file`, `token_expires`).
    pub token: UserToken,
    pub app: Option<App>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    page: Option<toml::Value>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    token_expires: Option<toml::Value>,
    api_version: Option<String>,
    api_url: Option<String>,
    oauth_url: Option<String>,
}

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
    example: "[targets.facebook]\nkind = \"facebook\"\npage = \"175154750010052\"              # the Page's id (its About page, or Meta Business Suite)\ntoken_file = \"/var/lib/campaign-bot/facebook-token.json\"   # written by `login facebook`\nclient_id = \"YOUR_APP_ID\"\nclient_secret_file = \"/run/secrets/facebook_app_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// Facebook Pages in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    type Settings = Settings;
    type Raw = Raw;
    const PROFILE: &'static Profile = &PROFILE;
    const APP: Option<AppSecret> = Some(AppSecret::Required);
    fn settings(&self, keys: Keys<'_, Raw>) -> Result<Settings, KeyError> {
        let Keys {
            target, raw, app, ..
        } = keys;
        let key = |k: &str| format!("targets.{target}.{k}");
        let page = keys::numeric_id(
            key("page"),
            raw.page,
            "the Page to post as: its id, the number in its About page or in Meta Business Suite, e.g. page = \"175154750010052\"",
        )?;
        let api_version = raw.api_version.unwrap_or_else(|| VERSION.into());
        let digits = api_version.strip_prefix('v').unwrap_or_default();
        if !digits.contains('.') || !digits.replace('.', "").chars().all(|c| c.is_ascii_digit()) {
            return Err(key_error(
                key("api_version"),
                format!("a Graph API version, \"{VERSION}\""),
            ));
        }
        Ok(Settings {
            api_url: keys::url_key(target, "api_url", raw.api_url, "https://graph.facebook.com")?,
            oauth_url: keys::url_key(
                target,
                "oauth_url",
                raw.oauth_url,
                "https://www.facebook.com",
            )?,
            api_version,
            page,
            token: UserToken::from_keys(target, raw.token_env, raw.token_file, raw.token_expires)?,
            app,
        })
    }
    fn token<'s>(&self, s: &'s Settings) -> Option<&'s UserToken> {
        Some(&s.token)
    }
    fn build(&self, target: &str, s: &Settings, ctx: &BuildContext<'_>) -> Building {
        let token = s.token.open(target)?;
        Ok(Arc::new(
            Facebook::new(target, &s.api_url, &s.api_version, &s.page, token).with_clock(ctx.clock),
        ))
    }
    /// With an app: the user's login turned into the Page's long-lived
    /// token, checked with `debug_token` and kept in the target's token
    /// file. Without: checks the Page token of each Facebook target.
    async fn login(&self, request: LoginRequest<'_, Settings>) -> Result<(), LoginError> {
        let LoginRequest {
            token_file,
            targets,
            input,
            ..
        } = request;
        let Some(first) = targets.first() else {
            return Err(network::no_target(&PROFILE));
        };
        if first.settings.app.is_none() {
            return network::check_credentials(
                targets.into_iter().map(|t| (t.name, t.built)).collect(),
            )
            .await;
        }
        let target = network::one_target(&targets, &PROFILE)?;
        let s = target.settings;
        let app = s.app.as_ref().expect("checked above");
        super::login::login(target.name, s, app, token_file, input).await
    }
}
