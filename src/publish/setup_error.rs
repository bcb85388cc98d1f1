//! Why a target cannot start, and why a login did not succeed: the errors
//! of a network's set-up, below both [`super::network`] and the token
//! handling ([`super::oauth`]) that produce them.

use crate::secret::SecretError;

/// Why a target cannot start.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CannotStart {
    /// Its secret cannot be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Its token file holds no token the bot can use.
    #[error("{0}")]
    Token(String),
    /// Its settings make no client (an address the HTTP client refuses).
    #[error("{0}")]
    Client(String),
}

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The command was used wrongly (exit 2).
    #[error("{0}")]
    Usage(String),
    /// It ran and failed (exit 1).
    #[error("{0}")]
    Failed(String),
}
