//! X in the registry of networks: the `[targets.NAME]` keys, their checks,
//! limits, media rules and building.

use std::sync::Arc;

use serde::Deserialize;

use super::X;
use crate::publish::app::AppSecret;
use crate::publish::keys::KeyError;
use crate::publish::network::{AppLogin, At, BuildContext, Building, LoginError, Network};
use crate::publish::profile::{MediaRules, Profile};

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
    app: Some(AppSecret::Optional),
    user_token: true,
    example: "[targets.x]\nkind = \"x\"\ntoken_file = \"/var/lib/campaign-bot/x-token.json\"\nclient_id = \"YOUR_CLIENT_ID\"             # the app's OAuth 2.0 client ID\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "x"`: the user's OAuth 2.0 access token by `token_env` or
/// `token_file` (scopes tweet.read, tweet.write, users.read, media.write), and `api_url`
/// (`https://api.x.com`; a test server's).
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
}

impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let api_url = at.url("api_url", raw.api_url, "https://api.x.com")?;
        Ok(Settings { api_url })
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = ctx.token(target)?;
        let x = X::new(target, &self.api_url, token, ctx.app());
        Ok(Arc::new(x.with_clock(ctx.clock)))
    }
    /// With an app (`client_id`, `redirect_uri`): OAuth 2.0 with PKCE,
    /// the token and its refresh token kept in the target's token file.
    /// Without: checks the access token of each X target.
    async fn oauth(login: AppLogin<'_, Self>) -> Result<(), LoginError> {
        super::login::login(login).await
    }
}
