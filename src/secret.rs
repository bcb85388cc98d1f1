//! Secrets by reference: a token or password is named by an environment
//! variable or a file (`*_env`, `*_file` keys, Docker and Kubernetes
//! secrets) and read only when it is needed, into a [`Secret`] that cannot
//! be printed. This module reads nothing else and knows no network.

use std::fmt;
use std::path::PathBuf;

/// Where a secret comes from. Resolving it gives a [`Secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

/// A secret that cannot be read. The message names the variable or file,
/// never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the environment variable {0} is not set (it should hold the secret)")]
    Unset(String),
    #[error("cannot read secret file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the secret in {0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// Reads the secret now.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let value = match self {
            Self::Env(name) => std::env::var(name).map_err(|_| SecretError::Unset(name.clone()))?,
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
            }
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(SecretError::Empty(self.to_string()));
        }
        Ok(Secret(value))
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A token or password. It has no `Display`, and its `Debug` hides the value,
/// so it cannot end up in a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for the one place that sends it (an HTTP header or body).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
