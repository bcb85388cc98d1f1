//! An OAuth app of a target (X, LinkedIn, Threads): its keys in the
//! `[targets.NAME]` table, read once for every network that has one.

use std::path::PathBuf;

use super::keys::{KeyError, check_url, key_error, secret_source};
use crate::secret::{Secret, SecretSource};

/// Whether a network's app must have its secret (a confidential client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppSecret {
    Required,
    Optional,
}

/// A registered app, for `login` and for refreshing tokens: its client
/// id, its secret (a confidential client's; X's public clients have none)
/// and the redirect address registered for it.
#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: Option<SecretSource>,
    pub redirect_uri: String,
}

/// The keys of an app in a `[targets.NAME]` table (the registry takes
/// them out of it with `keys::take_keys`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppKeys {
    pub client_id: Option<toml::Value>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub redirect_uri: Option<String>,
}

impl AppKeys {
    /// Reads the app of `target`: none when no key is given; all of
    /// client_id and redirect_uri (and the secret, if `secret_required`)
    /// otherwise.
    pub fn read(
        self,
        target: &str,
        network: &str,
        secret: AppSecret,
    ) -> Result<Option<App>, KeyError> {
        let secret_required = secret == AppSecret::Required;
        let key = |k: &str| format!("targets.{target}.{k}");
        let secret_given = self.client_secret_env.is_some() || self.client_secret_file.is_some();
        if self.client_id.is_none() && self.redirect_uri.is_none() && !secret_given {
            return Ok(None);
        }
        let together = if secret_required {
            "client_id, client_secret_env (or _file) and redirect_uri"
        } else {
            "client_id and redirect_uri (and client_secret_env or _file for a confidential client)"
        };
        let client_id = match self.client_id {
            Some(toml::Value::Integer(n)) if n > 0 => n.to_string(),
            Some(toml::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(_) => {
                return Err(key_error(
                    key("client_id"),
                    format!("the {network} app's client ID, as its developer portal shows it"),
                ));
            }
            None => {
                return Err(key_error(
                    key("client_id"),
                    format!("missing: a login needs the app's {together}"),
                ));
            }
        };
        let Some(redirect_uri) = self.redirect_uri else {
            return Err(key_error(
                key("redirect_uri"),
                format!(
                    "missing: the redirect address registered for the app (a login needs {together})"
                ),
            ));
        };
        check_url(&key("redirect_uri"), &redirect_uri)?;
        let client_secret = if secret_given || secret_required {
            Some(secret_source(
                target,
                "client_secret",
                self.client_secret_env,
                self.client_secret_file,
            )?)
        } else {
            None
        };
        Ok(Some(App {
            client_id,
            client_secret,
            redirect_uri,
        }))
    }
}

impl App {
    /// The app's secret, read now, where it has one.
    pub fn secret(&self) -> Result<Option<Secret>, String> {
        self.client_secret
            .as_ref()
            .map(|s| s.resolve().map_err(|e| e.to_string()))
            .transpose()
    }
}
