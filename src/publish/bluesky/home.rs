//! Bluesky in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules, building and login.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{Bluesky, MAX_IMAGE_BYTES, MAX_IMAGES};
use crate::publish::keys::{KeyError, key_error};
use crate::publish::network::{At, BuildContext, Building, Network};
use crate::publish::profile::{MediaRules, Profile};
use crate::secret::SecretSource;

/// Bluesky, described.
pub static PROFILE: Profile = Profile {
    name: "Bluesky",
    kinds: &["bluesky"],
    limits: super::LIMITS,
    media: MediaRules {
        max_images: MAX_IMAGES,
        max_bytes: MAX_IMAGE_BYTES,
        ..MediaRules::DEFAULT
    },
    example: "[targets.bluesky]\nkind = \"bluesky\"\nservice = \"https://bsky.social\"\nidentifier = \"yourname.bsky.social\"\npassword_env = \"BLUESKY_APP_PASSWORD\"   # an app password: Settings → Privacy and security → App passwords\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "bluesky"`: `service` (the account's PDS), `identifier`, the app
/// password by `password_env` or `password_file`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub service: String,
    pub identifier: String,
    pub password: SecretSource,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    service: Option<String>,
    identifier: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
}

/// Bluesky in the registry of networks. Its login checks the app password
/// of each Bluesky target (with the stored session when there is one).
impl Network<Raw> for Settings {
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError> {
        let service = at.url("service", raw.service, "https://bsky.social")?;
        let identifier = raw.identifier.ok_or_else(|| {
            key_error(
                at.key("identifier"),
                "missing: the account's handle or DID, e.g. name.bsky.social",
            )
        })?;
        Ok(Settings {
            service,
            identifier,
            password: at.secret("password", raw.password_env, raw.password_file)?,
        })
    }
    fn secrets(&self) -> Vec<&SecretSource> {
        vec![&self.password]
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let password = self.password.resolve()?;
        let account = Bluesky::new(
            target,
            &self.service,
            &self.identifier,
            password,
            ctx.kept.clone(),
        );
        Ok(Arc::new(account.with_clock(ctx.clock)))
    }
}
