//! LinkedIn in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules and building.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::{API_VERSION, LinkedIn};
use crate::publish::app::{App, AppSecret};
use crate::publish::keys::{self, KeyError, key_error};
use crate::publish::network::{
    self, BuildContext, Building, Keys, LoginError, LoginRequest, Network,
};
use crate::publish::oauth::UserToken;
use crate::publish::profile::{MediaRules, Profile};

/// How LinkedIn names an organization: this, then its number.
const URN: &str = "urn:li:organization:";

/// `kind = "linkedin"`: the page (`organization`, its URN or number), the
/// member's access token by `token_env` or `token_file`, `api_version`
/// (`LinkedIn-Version`, default [`API_VERSION`]) and `api_url`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub organization: String,
    pub api_version: String,
    /// The user's token (`token_env` or `token_file`, `token_expires`).
    pub token: UserToken,
    /// The app, for `login linkedin` and refreshing the token.
    pub app: Option<App>,
    /// LinkedIn's OAuth server (`https://www.linkedin.com`; a test's).
    pub oauth_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
    organization: Option<toml::Value>,
    api_version: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    token_expires: Option<toml::Value>,
    oauth_url: Option<String>,
}

/// LinkedIn, described.
pub static PROFILE: Profile = Profile {
    name: "LinkedIn",
    kinds: &["linkedin"],
    limits: super::LIMITS,
    media: MediaRules {
        max_images: super::MAX_IMAGES,
        max_bytes: crate::posts::MAX_MEDIA_BYTES,
        ..MediaRules::DEFAULT
    },
    refuses_repeats: true,
    example: "[targets.linkedin]\nkind = \"linkedin\"\norganization = 2414183\ntoken_file = \"/var/lib/campaign-bot/linkedin-token.json\"\nclient_id = \"YOUR_CLIENT_ID\"\nclient_secret_file = \"/run/secrets/linkedin_client_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// LinkedIn in the registry of networks.
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
        let api_url = keys::url_key(target, "api_url", raw.api_url, "https://api.linkedin.com")?;
        let oauth_url = keys::url_key(target, "oauth_url", raw.oauth_url, super::login::OAUTH_URL)?;
        // Its number, or its URN, whose number is written exactly (a space
        // inside a URN leaves none, and so the key's error).
        let written = match raw.organization {
            Some(toml::Value::String(s)) if s.starts_with(URN) => {
                let n = &s[URN.len()..];
                (n.trim() == n).then(|| toml::Value::String(n.into()))
            }
            other => other,
        };
        let organization = keys::numeric_id(
            key("organization"),
            written,
            "the page to post as: its number (the digits in linkedin.com/company/…/admin, or in the page's URN) or its URN, \"urn:li:organization:2414183\"",
        )
        .map(|n| format!("{URN}{n}"))?;
        let api_version = raw.api_version.unwrap_or_else(|| API_VERSION.into());
        if api_version.len() != 6 || !api_version.chars().all(|c| c.is_ascii_digit()) {
            return Err(key_error(
                key("api_version"),
                format!("LinkedIn-Version is a month, YYYYMM (e.g. \"{API_VERSION}\")"),
            ));
        }
        Ok(Settings {
            api_url,
            organization,
            api_version,
            token: UserToken::from_keys(target, raw.token_env, raw.token_file, raw.token_expires)?,
            app,
            oauth_url,
        })
    }
    fn token<'s>(&self, s: &'s Settings) -> Option<&'s UserToken> {
        Some(&s.token)
    }
    fn build(&self, target: &str, s: &Settings, ctx: &BuildContext<'_>) -> Building {
        let token = s.token.open(target)?;
        Ok(Arc::new(
            LinkedIn::new(target, &s.api_url, &s.organization, &s.api_version, token)
                .with_refresh(s.app.clone(), &s.oauth_url)
                .with_clock(ctx.clock),
        ))
    }
    /// With an app (`client_id`, `client_secret_*`, `redirect_uri`):
    /// LinkedIn's OAuth login, the token kept in the target's token file.
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
                "target {} has no app to log in with: set client_id, client_secret_env (or client_secret_file) and redirect_uri (the LinkedIn app's, from its Developer Portal page), or create a token in the portal's OAuth 2.0 tools and give it by token_file",
                target.name
            )));
        };
        super::login::login(target.name, s, app, token_file, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page as a number, as digits in quotes or as its URN; nothing else.
    #[test]
    fn the_organization_is_its_number_or_its_urn() {
        let organization = |v: toml::Value| {
            let raw = Raw {
                api_url: None,
                organization: Some(v),
                api_version: None,
                token_env: Some("LINKEDIN_TOKEN".into()),
                token_file: None,
                token_expires: None,
                oauth_url: None,
            };
            Home.settings(Keys {
                target: "li",
                kind: "linkedin",
                raw,
                app: None,
            })
            .map(|s| s.organization)
        };
        let urn = "urn:li:organization:2414183";
        assert_eq!(organization(toml::Value::Integer(2414183)).unwrap(), urn);
        assert_eq!(
            organization(toml::Value::String("2414183".into())).unwrap(),
            urn
        );
        assert_eq!(organization(toml::Value::String(urn.into())).unwrap(), urn);
        for bad in [
            "urn:li:organization: 2414183",
            "urn:li:organization:",
            "acme",
            "",
        ] {
            let e = organization(toml::Value::String(bad.into())).unwrap_err();
            assert_eq!(e.key, "targets.li.organization", "{bad:?}");
        }
    }
}
