//! X in the registry of networks: the `[targets.NAME]` keys, their checks,
//! limits, media rules and building.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::X;
use crate::publish::app::{App, AppSecret};
use crate::publish::keys::{self, KeyError};
use crate::publish::network::{
    self, BuildContext, Building, Keys, LoginError, LoginRequest, Network,
};
use crate::publish::oauth::UserToken;
use crate::publish::profile::{MediaRules, Profile};

/// `kind = "x"`: the user's OAuth 2.0 access token by `token_env` or
/// `token_file` (scopes tweet.read, tweet.write, users.read, media.write), and `api_url`
/// (`https://api.x.com`; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    /// The user's token (`token_env` or `token_file`, `token_expires`).
    pub token: UserToken,
    /// The app, for `login x` and for refreshing the token.
    pub app: Option<App>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    token_expires: Option<toml::Value>,
}

/// X, described.
pub static PROFILE: Profile = Profile {
    name: "X",
    kinds: &["x"],
    limits: super::LIMITS,
    media: MediaRules {
        max_images: super::MAX_IMAGES,
        max_bytes: super::MAX_IMAGE_BYTES,
        ..MediaRules::DEFAULT
    },
    refuses_repeats: true,
    link_cost: Some(
        "X charges per post, about $0.015 a post but $0.20 for a post with a link (X's pricing page); remove the link to post for less",
    ),
    example: "[targets.x]\nkind = \"x\"\ntoken_file = \"/var/lib/campaign-bot/x-token.json\"\nclient_id = \"YOUR_CLIENT_ID\"             # the app's OAuth 2.0 client ID\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// X in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    type Settings = Settings;
    type Raw = Raw;
    const PROFILE: &'static Profile = &PROFILE;
    const APP: Option<AppSecret> = Some(AppSecret::Optional);
    fn settings(&self, keys: Keys<'_, Raw>) -> Result<Settings, KeyError> {
        let Keys {
            target, raw, app, ..
        } = keys;
        let api_url = keys::url_key(target, "api_url", raw.api_url, "https://api.x.com")?;
        Ok(Settings {
            api_url,
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
            X::new(target, &s.api_url, token, s.app.clone()).with_clock(ctx.clock),
        ))
    }
    /// With an app (`client_id`, `redirect_uri`): OAuth 2.0 with PKCE,
    /// the token and its refresh token kept in the target's token file.
    /// Without: checks the access token of each X target.
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
