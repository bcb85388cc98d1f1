//! Bluesky in the registry of networks: the `[targets.NAME]` keys, their
//! checks, limits, media rules, building and login.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Bluesky, MAX_IMAGE_BYTES, MAX_IMAGES};
use crate::config::{ConfigError, SecretSource, TargetConfig, check_url, key_error, secret_source};
use crate::publish::Publisher;
use crate::publish::network::{
    self, BuildContext, LoginError, LoginRequest, MediaRules, Network, NetworkSettings,
};
use crate::render::Limits;

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
struct Raw {
    service: Option<String>,
    identifier: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
}

/// Bluesky in the registry of networks.
pub struct Home;

#[async_trait]
impl Network for Home {
    fn name(&self) -> &'static str {
        "Bluesky"
    }
    fn kinds(&self) -> &'static [&'static str] {
        &["bluesky"]
    }
    fn keys(&self) -> &'static [&'static str] {
        &["service", "identifier", "password_env", "password_file"]
    }
    fn settings(
        &self,
        target: &str,
        _kind: &str,
        keys: toml::Table,
    ) -> Result<NetworkSettings, ConfigError> {
        let key = |k: &str| format!("targets.{target}.{k}");
        let raw: Raw = network::parse_keys(target, keys)?;
        let service = raw.service.unwrap_or_else(|| "https://bsky.social".into());
        check_url(&key("service"), &service)?;
        let identifier = raw.identifier.ok_or_else(|| {
            key_error(
                key("identifier"),
                "missing: the account's handle or DID, e.g. name.bsky.social",
            )
        })?;
        Ok(NetworkSettings::Bluesky(Settings {
            service: service.trim_end_matches('/').to_string(),
            identifier,
            password: secret_source(target, "password", raw.password_env, raw.password_file)?,
        }))
    }
    fn offline_limits(&self) -> Limits {
        Limits::BLUESKY
    }
    fn media_rules(&self) -> MediaRules {
        MediaRules {
            max_images: MAX_IMAGES,
            max_bytes: MAX_IMAGE_BYTES,
        }
    }
    fn secrets<'t>(&self, target: &'t TargetConfig) -> Vec<&'t SecretSource> {
        match &target.settings {
            NetworkSettings::Bluesky(s) => vec![&s.password],
            _ => Vec::new(),
        }
    }
    fn build(
        &self,
        target: &TargetConfig,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn Publisher>, String> {
        let NetworkSettings::Bluesky(s) = &target.settings else {
            return Err("the settings are not Bluesky's".into());
        };
        let password = s.password.resolve().map_err(|e| e.to_string())?;
        Ok(Arc::new(
            Bluesky::new(
                &target.name,
                &s.service,
                &s.identifier,
                password,
                ctx.store.clone(),
            )
            .with_clock(ctx.clock),
        ))
    }
    /// Checks the app password of each Bluesky target (with the stored
    /// session when there is one).
    async fn login(&self, request: LoginRequest<'_>) -> Result<(), LoginError> {
        if request.targets.is_empty() {
            return Err(LoginError::Usage(
                "no Bluesky target is configured; add one to config/local.toml (or --config FILE), e.g.\n\n[targets.bluesky]\nkind = \"bluesky\"\nservice = \"https://bsky.social\"\nidentifier = \"yourname.bsky.social\"\npassword_env = \"BLUESKY_APP_PASSWORD\"   # an app password: Settings → Privacy and security → App passwords\nlanguages = [\"en\", \"fr\", \"ar\"]\n\nthen run `campaign-bot login bluesky` again".into(),
            ));
        }
        network::check_credentials(request.targets).await
    }
}
