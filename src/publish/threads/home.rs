//! Threads in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules, building and `login threads`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Threads, VERSION};
use crate::publish::app::{App, AppSecret};
use crate::publish::keys::{self, KeyError, check_url};
use crate::publish::network::{
    self, BuildContext, Building, Keys, LoginError, LoginRequest, Network,
};
use crate::publish::oauth::UserToken;
use crate::publish::oauth::{self, TokenSet};
use crate::publish::profile::{MediaRules, Profile};

/// Where Threads asks the user to allow the app (`login threads`).
pub const AUTHORIZE_URL: &str = "https://threads.net/oauth/authorize";
/// What the bot asks to do: read the account, post, read insights.
pub const SCOPES: &str = "threads_basic,threads_content_publish,threads_manage_insights";

/// `kind = "threads"`: the token file (`token_file`, written by `login
/// threads` and kept fresh by the bot) or `token_env`; `media_base_url`,
/// the public address of the posts folder, for images; the app
/// (`client_id`, `client_secret_env`/`_file`, `redirect_uri`) for `login`;
/// `token_expires` for a bare token the bot cannot tell the age of;
/// `api_url` (`https://graph.threads.net`; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    /// The user's token (`token_env` or `token_file`, `token_expires`).
    pub token: UserToken,
    pub media_base_url: Option<String>,
    pub app: Option<App>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    token_expires: Option<toml::Value>,
    media_base_url: Option<String>,
}

/// Threads, described.
pub static PROFILE: Profile = Profile {
    name: "Threads",
    kinds: &["threads"],
    limits: super::LIMITS,
    // One image a post (by its public address), up to 8 MB (Meta's image
    // specifications).
    media: MediaRules {
        max_images: 1,
        max_bytes: 8 * 1024 * 1024,
        ..MediaRules::DEFAULT
    },
    example: "[targets.threads]\nkind = \"threads\"\ntoken_file = \"/var/lib/campaign-bot/threads-token.json\"\nclient_id = \"YOUR_APP_ID\"\nclient_secret_file = \"/run/secrets/threads_app_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// Threads in the registry of networks.
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
        let api_url = keys::url_key(target, "api_url", raw.api_url, "https://graph.threads.net")?;
        if let Some(m) = &raw.media_base_url {
            check_url(&key("media_base_url"), m)?;
        }
        Ok(Settings {
            api_url,
            token: UserToken::from_keys(target, raw.token_env, raw.token_file, raw.token_expires)?,
            media_base_url: raw
                .media_base_url
                .map(|m| m.trim_end_matches('/').to_string()),
            app,
        })
    }
    fn images_left_out(&self, s: &Settings) -> Option<&'static str> {
        s.media_base_url.is_none().then_some(
            "Threads takes images only by a public address: set media_base_url to where posts/ is published, or its posts go out as text only",
        )
    }
    fn token<'s>(&self, s: &'s Settings) -> Option<&'s UserToken> {
        Some(&s.token)
    }
    fn build(&self, target: &str, s: &Settings, ctx: &BuildContext<'_>) -> Building {
        let token = s.token.open(target)?;
        Ok(Arc::new(
            Threads::new(
                target,
                &s.api_url,
                token,
                s.media_base_url.clone(),
                ctx.kept.clone(),
            )
            .with_clock(ctx.clock),
        ))
    }
    /// Has the user allow the app, exchanges the code for a long-lived
    /// token (60 days) and keeps it in the target's token file.
    async fn login(&self, request: LoginRequest<'_, Settings>) -> Result<(), LoginError> {
        let LoginRequest {
            token_file,
            targets,
            input,
            ..
        } = request;
        let target = network::one_target(&targets, &PROFILE)?;
        let s = target.settings;
        let Some(app) = &s.app else {
            return Err(LoginError::Usage(format!(
                "target {} has no app to log in with: set client_id, client_secret_env (or client_secret_file) and redirect_uri (the Threads app's ID, secret and redirect address)",
                target.name
            )));
        };
        let path = oauth::token_path(token_file, Some(&s.token.source), "token_file")?;
        let secret = app
            .secret()
            .map_err(LoginError::Usage)?
            .ok_or_else(|| LoginError::Usage("the app's secret is missing".into()))?;
        let mut authorize = reqwest::Url::parse(AUTHORIZE_URL).expect("a valid address");
        authorize
            .query_pairs_mut()
            .append_pair("client_id", &app.client_id)
            .append_pair("redirect_uri", &app.redirect_uri)
            .append_pair("scope", SCOPES)
            .append_pair("response_type", "code");
        let client = crate::publish::http::client();
        // The code for a short-lived token (1 hour)…
        let short = oauth::code_login("Threads", authorize, None, input, |code| {
            Ok(client
                .post(format!("{}/oauth/access_token", s.api_url))
                .form(&[
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", secret.expose()),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", app.redirect_uri.as_str()),
                    ("code", code),
                ]))
        })
        .await?;
        // …then that for a long-lived one (60 days).
        let long = oauth::token_request(
            "getting a long-lived token",
            client.get(format!("{}/access_token", s.api_url)).query(&[
                ("grant_type", "th_exchange_token"),
                ("client_secret", secret.expose()),
                ("access_token", short.access_token.as_str()),
            ]),
        )
        .await
        .map_err(|e| LoginError::Failed(e.message))?;
        let now = chrono::Utc::now();
        let token = TokenSet::from_answer(long, now, None);
        oauth::save_token(path, &token).map_err(LoginError::Failed)?;
        #[derive(Deserialize)]
        struct Me {
            username: Option<String>,
            id: String,
        }
        let me = client
            .get(format!("{}/{VERSION}/me", s.api_url))
            .query(&[
                ("fields", "id,username"),
                ("access_token", token.access_token.as_str()),
            ])
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| {
                LoginError::Failed(format!(
                    "the new token does not work: {}",
                    crate::publish::http::error_chain(&e.without_url())
                ))
            })?
            .json::<Me>()
            .await
            .map_err(|e| LoginError::Failed(format!("the new token does not work: {e}")))?;
        let who = me.username.map(|u| format!("@{u}")).unwrap_or(me.id);
        println!(
            "Logged in to Threads as {who}. The token is in {} (readable only by you), lasts until {}, and the bot refreshes it every day it runs. Set token_file = {:?} in target {} if it is not there yet.",
            path.display(),
            token
                .expires_at
                .map(|t| t.date_naive().to_string())
                .unwrap_or_else(|| "a date Threads did not say".into()),
            path.display().to_string(),
            target.name
        );
        Ok(())
    }
}
