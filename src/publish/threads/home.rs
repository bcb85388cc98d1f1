//! Threads in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules, building and `login threads`.

use std::sync::Arc;

use serde::Deserialize;

use super::Threads;
use crate::publish::app::AppSecret;
use crate::publish::keys::{KeyError, check_url};
use crate::publish::network::{AppLogin, At, BuildContext, Building, LoginError, Network};
use crate::publish::profile::{MediaRules, Profile};

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
    app: Some(AppSecret::Required),
    user_token: true,
    without_app: Some(
        "set client_id, client_secret_env (or client_secret_file) and redirect_uri (the Threads app's ID, secret and redirect address)",
    ),
    example: "[targets.threads]\nkind = \"threads\"\ntoken_file = \"/var/lib/campaign-bot/threads-token.json\"\nclient_id = \"YOUR_APP_ID\"\nclient_secret_file = \"/run/secrets/threads_app_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "threads"`: the token file (`token_file`, written by `login
/// threads` and kept fresh by the bot) or `token_env`; `media_base_url`,
/// the public address of the posts folder, for images; the app
/// (`client_id`, `client_secret_env`/`_file`, `redirect_uri`) for `login`;
/// `token_expires` for a bare token the bot cannot tell the age of;
/// `api_url` (`https://graph.threads.net`; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub media_base_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
    media_base_url: Option<String>,
}

impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let api_url = at.url("api_url", raw.api_url, "https://graph.threads.net")?;
        if let Some(m) = &raw.media_base_url {
            check_url(&at.key("media_base_url"), m)?;
        }
        Ok(Settings {
            api_url,
            media_base_url: raw
                .media_base_url
                .map(|m| m.trim_end_matches('/').to_string()),
        })
    }
    fn images_left_out(&self) -> Option<&'static str> {
        self.media_base_url.is_none().then_some(
            "Threads takes images only by a public address: set media_base_url to where posts/ is published, or its posts go out as text only",
        )
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = ctx.token(target)?;
        let images = self.media_base_url.clone();
        let account = Threads::new(target, &self.api_url, token, images, ctx.kept.clone());
        Ok(Arc::new(account.with_clock(ctx.clock)))
    }
    /// Has the user allow the app, exchanges the code for a long-lived
    /// token (60 days) and keeps it in the target's token file.
    async fn oauth(login: AppLogin<'_, Self>) -> Result<(), LoginError> {
        super::login::login(login).await
    }
}
