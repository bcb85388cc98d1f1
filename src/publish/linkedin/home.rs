//! LinkedIn in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules and building.

use std::sync::Arc;

use serde::Deserialize;

use super::{API_VERSION, LinkedIn};
use crate::publish::app::AppSecret;
use crate::publish::keys::{KeyError, key_error};
use crate::publish::network::{AppLogin, At, BuildContext, Building, LoginError, Network};
use crate::publish::profile::{MediaRules, Profile};

/// How LinkedIn names an organization: this, then its number.
const URN: &str = "urn:li:organization:";

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
    app: Some(AppSecret::Required),
    user_token: true,
    without_app: Some(
        "set client_id, client_secret_env (or client_secret_file) and redirect_uri (the LinkedIn app's, from its Developer Portal page), or create a token in the portal's OAuth 2.0 tools and give it by token_file",
    ),
    example: "[targets.linkedin]\nkind = \"linkedin\"\norganization = 2414183\ntoken_file = \"/var/lib/campaign-bot/linkedin-token.json\"\nclient_id = \"YOUR_CLIENT_ID\"\nclient_secret_file = \"/run/secrets/linkedin_client_secret\"\nredirect_uri = \"https://example.org/campaign-bot/callback\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "linkedin"`: the page (`organization`, its URN or number), the
/// member's access token by `token_env` or `token_file`, `api_version`
/// (`LinkedIn-Version`, default [`API_VERSION`]) and `api_url`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub organization: String,
    pub api_version: String,
    /// LinkedIn's OAuth server (`https://www.linkedin.com`; a test's).
    pub oauth_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    api_url: Option<String>,
    organization: Option<toml::Value>,
    api_version: Option<String>,
    oauth_url: Option<String>,
}

impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let api_url = at.url("api_url", raw.api_url, "https://api.linkedin.com")?;
        let oauth_url = at.url("oauth_url", raw.oauth_url, super::login::OAUTH_URL)?;
        // Its number, or its URN, whose number is written exactly (a space
        // inside a URN leaves none, and so the key's error).
        let written = match raw.organization {
            Some(toml::Value::String(s)) if s.starts_with(URN) => {
                let n = &s[URN.len()..];
                (n.trim() == n).then(|| toml::Value::String(n.into()))
            }
            other => other,
        };
        let organization = at.numeric_id(
            "organization",
            written,
            "the page to post as: its number (the digits in linkedin.com/company/…/admin, or in the page's URN) or its URN, \"urn:li:organization:2414183\"",
        )
        .map(|n| format!("{URN}{n}"))?;
        let api_version = raw.api_version.unwrap_or_else(|| API_VERSION.into());
        if api_version.len() != 6 || !api_version.chars().all(|c| c.is_ascii_digit()) {
            return Err(key_error(
                at.key("api_version"),
                format!("LinkedIn-Version is a month, YYYYMM (e.g. \"{API_VERSION}\")"),
            ));
        }
        Ok(Settings {
            api_url,
            organization,
            api_version,
            oauth_url,
        })
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let token = ctx.token(target)?;
        let page = LinkedIn::new(
            target,
            &self.api_url,
            &self.organization,
            &self.api_version,
            token,
        )
        .with_refresh(ctx.app(), &self.oauth_url);
        Ok(Arc::new(page.with_clock(ctx.clock)))
    }
    /// With an app (`client_id`, `client_secret_*`, `redirect_uri`):
    /// LinkedIn's OAuth login, the token kept in the target's token file.
    async fn oauth(login: AppLogin<'_, Self>) -> Result<(), LoginError> {
        super::login::login(login).await
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
                oauth_url: None,
            };
            Settings::read(
                raw,
                At {
                    target: "li",
                    kind: "linkedin",
                },
            )
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
