//! Bluesky in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules, building and login.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::{Bluesky, MAX_IMAGE_BYTES, MAX_IMAGES};
use crate::publish::keys::{self, KeyError, key_error, secret_source};
use crate::publish::network::{BuildContext, Building, Keys, Network};
use crate::publish::profile::{MediaRules, Profile};
use crate::secret::SecretSource;

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

/// Bluesky in the registry of networks. Its login checks the app password
/// of each Bluesky target (with the stored session when there is one).
pub struct Home;

impl Network for Home {
    type Settings = Settings;
    type Raw = Raw;
    const PROFILE: &'static Profile = &PROFILE;
    fn settings(&self, keys: Keys<'_, Raw>) -> Result<Settings, KeyError> {
        let Keys { target, raw, .. } = keys;
        let key = |k: &str| format!("targets.{target}.{k}");
        let service = keys::url_key(target, "service", raw.service, "https://bsky.social")?;
        let identifier = raw.identifier.ok_or_else(|| {
            key_error(
                key("identifier"),
                "missing: the account's handle or DID, e.g. name.bsky.social",
            )
        })?;
        Ok(Settings {
            service,
            identifier,
            password: secret_source(target, "password", raw.password_env, raw.password_file)?,
        })
    }
    fn secrets<'s>(&self, s: &'s Settings) -> Vec<&'s SecretSource> {
        vec![&s.password]
    }
    fn build(&self, target: &str, s: &Settings, ctx: &BuildContext<'_>) -> Building {
        let password = s.password.resolve()?;
        Ok(Arc::new(
            Bluesky::new(
                target,
                &s.service,
                &s.identifier,
                password,
                ctx.kept.clone(),
            )
            .with_clock(ctx.clock),
        ))
    }
}
