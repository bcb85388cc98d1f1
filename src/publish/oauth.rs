//! Tokens the bot keeps fresh itself, and the pieces of an OAuth login.
//!
//! A network whose tokens expire (Threads: 60 days, refreshable once a day
//! old; X: two hours, with a refresh token) reads its token from a *token
//! file*: the JSON `login NETWORK` writes (access token, refresh token,
//! when it expires, when it was issued), or a bare token put there by hand.
//! Before each call the bot refreshes a token that is due, and writes the
//! new one back whole (a temporary file, synced, renamed over the old one:
//! [`save_secret`]), readable only by its owner. A refresh token X uses
//! once is thereby never lost to a crash halfway through writing.
//!
//! Tokens never reach a log line or an error message: [`TokenSet`]'s
//! `Debug` hides them and nothing here prints them.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PublishError;
pub use super::app::App;
use super::keys::{self, KeyError};
use super::setup_error::{CannotStart, LoginError};
use crate::private::save_secret;
use crate::secret::{Secret, SecretSource};

/// An access token with what the bot needs to keep it working.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token stops working, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was issued or last refreshed, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<DateTime<Utc>>,
    /// When the refresh token stops working, where it does (LinkedIn's
    /// last a year from the first authorisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[hidden]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[hidden]"),
            )
            .field("expires_at", &self.expires_at)
            .field("issued_at", &self.issued_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .finish()
    }
}

/// A token endpoint's answer (OAuth 2.0, and Threads' exchange and
/// refresh, which answer the same fields).
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
}

impl TokenSet {
    /// A token set from a token endpoint's answer received at `now`. A
    /// refresh that gives no new refresh token keeps `previous`'s.
    pub fn from_answer(a: TokenAnswer, now: DateTime<Utc>, previous: Option<&TokenSet>) -> Self {
        let kept_refresh = a.refresh_token.is_none();
        TokenSet {
            refresh_expires_at: match a.refresh_token_expires_in.filter(|s| *s > 0) {
                Some(s) => Some(now + chrono::Duration::seconds(s)),
                None if kept_refresh => previous.and_then(|p| p.refresh_expires_at),
                None => None,
            },
            access_token: a.access_token,
            refresh_token: a
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_at: a
                .expires_in
                .filter(|s| *s > 0)
                .map(|s| now + chrono::Duration::seconds(s)),
            issued_at: Some(now),
        }
    }

    /// Reads a token file's contents: the JSON a login writes, or a bare
    /// token. The error never holds the contents.
    pub fn parse(text: &str) -> Result<TokenSet, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("it is empty".into());
        }
        if text.starts_with('{') {
            let set: TokenSet = serde_json::from_str(text).map_err(|e| {
                format!(
                    "it is not a token file campaign-bot can read (line {}, column {}); run `campaign-bot login` again",
                    e.line(),
                    e.column()
                )
            })?;
            if set.access_token.trim().is_empty() {
                return Err("its access_token is empty".into());
            }
            return Ok(set);
        }
        if text.chars().any(char::is_whitespace) {
            return Err("it holds more than one word: a bare token is one word".into());
        }
        Ok(TokenSet {
            access_token: text.to_string(),
            refresh_token: None,
            expires_at: None,
            issued_at: None,
            refresh_expires_at: None,
        })
    }

    /// When the token stops working unless a person logs in again: the
    /// refresh token's end where the bot holds one (it renews the access
    /// token until then), else the access token's.
    pub fn lasts_until(&self) -> Option<DateTime<Utc>> {
        if self.refresh_token.is_some() {
            self.refresh_expires_at
        } else {
            self.expires_at
        }
    }

    /// Whether the access token ends within `margin` of `now` and a
    /// refresh token can renew it (X, LinkedIn).
    pub fn ends_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.refresh_token.is_some() && self.expires_at.is_some_and(|t| t - now < margin)
    }

    pub fn secret(&self) -> Secret {
        Secret::new(self.access_token.clone())
    }
}

/// Reads the token file of `source` now, where the source is a file.
pub fn read_token_file(source: &SecretSource) -> Result<Option<TokenSet>, String> {
    let SecretSource::File(path) = source else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    TokenSet::parse(&text)
        .map(Some)
        .map_err(|why| format!("the token file {}: {why}", path.display()))
}

/// The day a target's token stops working unless a person logs in again:
/// from its token file where that says, else `configured`
/// (`token_expires`, for a token put there by hand).
pub fn expiry_day(
    source: &SecretSource,
    configured: Option<chrono::NaiveDate>,
) -> Option<chrono::NaiveDate> {
    match read_token_file(source) {
        Ok(Some(t)) if t.lasts_until().is_some() => t.lasts_until().map(|d| d.date_naive()),
        _ => configured,
    }
}

/// A target's user token as configured: `token_env` or `token_file` (a
/// file the bot refreshes and writes back), and `token_expires` for a bare
/// token whose end the bot cannot read.
#[derive(Debug, Clone)]
pub struct UserToken {
    pub source: SecretSource,
    pub expires: Option<chrono::NaiveDate>,
}

/// The keys of a user token in a `[targets.NAME]` table, read by the
/// registry for every network whose profile says it logs in with one.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenKeys {
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub token_expires: Option<toml::Value>,
}

impl UserToken {
    /// Reads a target's `token_env`, `token_file` and `token_expires`.
    pub fn from_keys(target: &str, keys: TokenKeys) -> Result<UserToken, KeyError> {
        Ok(UserToken {
            source: keys::secret_source(target, "token", keys.token_env, keys.token_file)?,
            expires: keys::expiry_date(target, keys.token_expires)?,
        })
    }

    /// The day it stops working unless a person logs in again
    /// ([`expiry_day`]).
    pub fn expiry_day(&self) -> Option<chrono::NaiveDate> {
        expiry_day(&self.source, self.expires)
    }

    /// Opens it for the target's publisher, which keeps it fresh.
    pub fn open(&self, target: &str) -> Result<std::sync::Arc<KeptToken>, CannotStart> {
        KeptToken::open(target, &self.source)
            .map(std::sync::Arc::new)
            .map_err(CannotStart::Token)
    }
}

/// Writes a token set to `path` whole, readable only by its owner.
pub fn save_token(path: &Path, token: &TokenSet) -> Result<(), String> {
    let json = serde_json::to_string_pretty(token).expect("a token set serialises");
    save_secret(path, &(json + "\n"))
}

/// A target's token, refreshed when due and written back to its file.
pub struct KeptToken {
    target: String,
    /// Where it is written back; `None` for a token from the environment
    /// (a refreshed one then lives until the bot stops).
    file: Option<PathBuf>,
    /// One refresh at a time: a refresh token may be good for one use.
    current: tokio::sync::Mutex<TokenSet>,
    /// When a refresh last failed: not tried again for an hour while the
    /// token still works (a bare token too young to refresh, say).
    failed_at: std::sync::Mutex<Option<DateTime<Utc>>>,
}

/// How long after a failed refresh the next is tried, while the token works.
pub const REFRESH_RETRY: chrono::Duration = chrono::Duration::hours(1);

impl KeptToken {
    /// Reads the target's token from `source`.
    pub fn open(target: &str, source: &SecretSource) -> Result<KeptToken, String> {
        let (token, file) = match source {
            SecretSource::File(path) => (
                read_token_file(source)?.expect("a file source"),
                Some(path.clone()),
            ),
            SecretSource::Env(_) => {
                let secret = source.resolve().map_err(|e| e.to_string())?;
                (TokenSet::parse(secret.expose())?, None)
            }
        };
        Ok(KeptToken {
            target: target.to_string(),
            file,
            current: tokio::sync::Mutex::new(token),
            failed_at: std::sync::Mutex::new(None),
        })
    }

    /// A token made here (tests, a login that checks what it got).
    pub fn in_memory(target: &str, token: TokenSet) -> KeptToken {
        KeptToken {
            target: target.to_string(),
            file: None,
            current: tokio::sync::Mutex::new(token),
            failed_at: std::sync::Mutex::new(None),
        }
    }

    /// The access token, refreshed first by `refresh` when `due` says so.
    /// A refresh that fails leaves the old token in use while it still
    /// works (it is tried again an hour later); the error is returned only
    /// when the old one has expired.
    pub async fn fresh<F, Fut>(
        &self,
        now: DateTime<Utc>,
        due: impl Fn(&TokenSet, DateTime<Utc>) -> bool,
        refresh: F,
    ) -> Result<Secret, PublishError>
    where
        F: FnOnce(TokenSet) -> Fut,
        Fut: std::future::Future<Output = Result<TokenSet, PublishError>>,
    {
        let mut current = self.current.lock().await;
        if !due(&current, now) {
            return Ok(current.secret());
        }
        let works = current.expires_at.is_none_or(|t| t > now);
        let failed_lately = self
            .failed_at
            .lock()
            .expect("not poisoned")
            .is_some_and(|t| now - t < REFRESH_RETRY);
        if works && failed_lately {
            return Ok(current.secret());
        }
        // Another process on the same file (`status`, `post-now` beside
        // the daemon) may be refreshing, or have refreshed already: one at
        // a time, and a token renewed meanwhile is taken as it is (a
        // refresh token used twice would be refused).
        let _lock = self.lock_file().await;
        if let Some(path) = &self.file
            && let Ok(Some(on_file)) = read_token_file(&SecretSource::File(path.clone()))
            && on_file != *current
        {
            *current = on_file;
            if !due(&current, now) {
                return Ok(current.secret());
            }
        }
        match refresh(current.clone()).await {
            Ok(new) => {
                *self.failed_at.lock().expect("not poisoned") = None;
                self.keep(&new).await;
                tracing::info!(
                    target_name = self.target,
                    expires_at = ?new.expires_at,
                    "token refreshed"
                );
                *current = new;
                Ok(current.secret())
            }
            Err(e) if works => {
                *self.failed_at.lock().expect("not poisoned") = Some(now);
                tracing::warn!(target_name = self.target, error = %e, "cannot refresh the token; using the current one while it works, and trying again in an hour");
                Ok(current.secret())
            }
            Err(e) => Err(e),
        }
    }

    /// The access token, renewed first with its refresh token (by
    /// [`refresh_with`], the request `build` makes) when it ends within
    /// `margin`: X and LinkedIn.
    pub async fn renewing(
        &self,
        now: DateTime<Utc>,
        margin: chrono::Duration,
        kind: &str,
        app: Option<&App>,
        build: impl FnOnce(&App, &[(&str, &str)]) -> Result<reqwest::RequestBuilder, String>,
    ) -> Result<Secret, PublishError> {
        self.fresh(
            now,
            |t, now| t.ends_within(now, margin),
            |old| refresh_with(kind, app, old, now, build),
        )
        .await
    }

    /// Holds `FILE.lock` beside the token file while a refresh is under
    /// way, so that two processes never refresh it at once. `None` where
    /// there is no file or the lock cannot be had (the refresh goes on).
    async fn lock_file(&self) -> Option<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.file.as_ref()?.with_extension("lock");
        tokio::task::spawn_blocking(move || {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .ok()?;
            rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive).ok()?;
            Some(f)
        })
        .await
        .ok()
        .flatten()
    }

    /// Writes a new token to the file (off the async threads).
    async fn keep(&self, token: &TokenSet) {
        let Some(path) = self.file.clone() else {
            tracing::warn!(
                target_name = self.target,
                "the token was refreshed but comes from the environment: the new one is kept in memory only; give the token by token_file so the bot can keep it"
            );
            return;
        };
        let token = token.clone();
        let written = tokio::task::spawn_blocking(move || save_token(&path, &token))
            .await
            .unwrap_or_else(|e| Err(format!("writing the token stopped: {e}")));
        if let Err(e) = written {
            tracing::error!(target_name = self.target, error = %e, "cannot write the refreshed token; the bot uses it until it stops, then the old one");
        }
    }
}

/// A PKCE pair: the verifier kept by the bot, the challenge sent (S256).
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

/// 32 random bytes as URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system has randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = random_token();
        Pkce {
            challenge: pkce_challenge(&verifier),
            verifier,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 7636's S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Prints the authorisation address, then reads what the user pastes: the
/// code, or the whole address the browser was sent back to (its `code`
/// taken, its `state` checked against `state`).
pub fn ask_for_code(
    network: &str,
    authorize: &reqwest::Url,
    state: &str,
    input: &mut (dyn BufRead + Send),
) -> Result<String, LoginError> {
    println!(
        "1. Open this address in a browser, logged in as the campaign's {network} account, and allow campaign-bot:\n\n   {authorize}\n"
    );
    print!(
        "2. The browser goes on to the redirect address. Paste that whole address (or just its code): "
    );
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| LoginError::Failed(format!("cannot read the code: {e}")))?;
    println!();
    code_from(line.trim(), state)
}

/// The code in what the user pasted (see [`ask_for_code`]).
pub fn code_from(pasted: &str, state: &str) -> Result<String, LoginError> {
    if pasted.is_empty() {
        return Err(LoginError::Usage(
            "no code given; run the command again".into(),
        ));
    }
    let Ok(url) = reqwest::Url::parse(pasted) else {
        return Ok(pasted.trim_end_matches("#_").to_string());
    };
    let get = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = get("error") {
        let why = get("error_description").unwrap_or_default();
        return Err(LoginError::Failed(format!(
            "the network refused the authorisation: {error} {why}"
        )));
    }
    if get("state").is_some_and(|s| s != state) {
        return Err(LoginError::Failed(
            "the address is not from this login (its state differs); run the command again and paste the address it leads to".into(),
        ));
    }
    get("code")
        .map(|c| c.trim_end_matches("#_").to_string())
        .ok_or_else(|| {
            LoginError::Usage(
                "the address has no code=…; paste the address the browser was sent back to".into(),
            )
        })
}

/// A token request that failed: what the server said (never a token),
/// with its HTTP status where it answered.
#[derive(Debug)]
pub struct TokenError {
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Sends a token request and reads its answer; the error says what the
/// server said, never the token.
pub async fn token_request(
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<TokenAnswer, TokenError> {
    let failed = |status: Option<u16>, message: String| TokenError { status, message };
    let answer = request.send().await.map_err(|e| {
        failed(
            None,
            format!("{what}: {}", super::http::error_chain(&e.without_url())),
        )
    })?;
    let status = answer.status();
    let body = answer.text().await.map_err(|e| {
        failed(
            None,
            format!("{what}: {}", super::http::error_chain(&e.without_url())),
        )
    })?;
    if !status.is_success() {
        return Err(failed(
            Some(status.as_u16()),
            format!(
                "{what}: {} {}",
                status.as_u16(),
                super::http::readable_body(&body)
            ),
        ));
    }
    serde_json::from_str(&body).map_err(|e| {
        failed(
            Some(status.as_u16()),
            format!("{what}: an answer that cannot be read: {e}"),
        )
    })
}

/// Renews `old` with its refresh token, by the request `build` makes of
/// the app and the form fields. Without an app, or when the network
/// refuses the refresh token (400, 401), the target pauses with what to do
/// (`campaign-bot login KIND`); anything else is tried again later.
pub async fn refresh_with(
    kind: &str,
    app: Option<&App>,
    old: TokenSet,
    now: DateTime<Utc>,
    build: impl FnOnce(&App, &[(&str, &str)]) -> Result<reqwest::RequestBuilder, String>,
) -> Result<TokenSet, PublishError> {
    let Some(app) = app else {
        return Err(PublishError::Auth(format!(
            "the access token ends and the target has no app to refresh it with; set client_id and redirect_uri (and the client secret where the network wants one) and run `campaign-bot login {kind}`"
        )));
    };
    let refresh_token = old.refresh_token.clone().unwrap_or_default();
    let request = build(
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
    )
    .map_err(PublishError::Auth)?;
    let answer = token_request("refreshing the token", request)
        .await
        .map_err(|e| match e.status {
            Some(400 | 401) => PublishError::Auth(format!(
                "{e}: the refresh token was refused; run `campaign-bot login {kind}`"
            )),
            _ => PublishError::Transient(e.message),
        })?;
    Ok(TokenSet::from_answer(answer, now, Some(&old)))
}

/// The address where the user allows `app` (the OAuth code flow), with
/// the parameters in RFC 6749's order: the network's `authorize` page with
/// the app, where to come back and `scopes`; [`code_login`] adds the
/// `state`. (Meta's dialog has its own order: `graph::dialog_url`.)
pub fn authorize_url(mut authorize: reqwest::Url, app: &App, scopes: &str) -> reqwest::Url {
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", scopes);
    authorize
}

/// The app's secret, for a login that needs one (a confidential client).
pub fn required_secret(app: &App) -> Result<Secret, LoginError> {
    app.secret()
        .map_err(LoginError::Usage)?
        .ok_or_else(|| LoginError::Usage("the app's secret is missing".into()))
}

/// A login's request that failed, said with what it was for and without
/// its address (which may carry a token).
pub fn failed(what: &str) -> impl Fn(reqwest::Error) -> LoginError + '_ {
    move |e| {
        LoginError::Failed(format!(
            "{what}: {}",
            super::http::error_chain(&e.without_url())
        ))
    }
}

/// Sends a login's request and reads its answer as `T`; a failure (on the
/// connection, a refusal, an answer that cannot be read) says `what`
/// failed.
pub async fn ask<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, LoginError> {
    request
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(failed(what))?
        .json()
        .await
        .map_err(failed(what))
}

/// The code half of an OAuth login: adds a fresh `state` (and, with
/// `pkce`, its challenge) to the authorisation address, has the user open
/// it and paste where they were sent back, and trades the code with the
/// request `exchange` makes of it (PKCE's verifier in hand).
pub async fn code_login(
    network: &str,
    mut authorize: reqwest::Url,
    pkce: Option<&Pkce>,
    input: &mut (dyn BufRead + Send),
    exchange: impl FnOnce(&str) -> Result<reqwest::RequestBuilder, String>,
) -> Result<TokenSet, LoginError> {
    let state = random_token();
    {
        let mut query = authorize.query_pairs_mut();
        query.append_pair("state", &state);
        if let Some(p) = pkce {
            query
                .append_pair("code_challenge", &p.challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    let code = ask_for_code(network, &authorize, &state, input)?;
    let request = exchange(&code).map_err(LoginError::Usage)?;
    let answer = token_request("exchanging the code", request)
        .await
        .map_err(|e| LoginError::Failed(e.message))?;
    Ok(TokenSet::from_answer(answer, Utc::now(), None))
}

/// Where a login keeps the token: `--token-file`, else the target's
/// `token_file`. A token from the environment cannot be kept.
pub fn token_path<'a>(
    given: Option<&'a Path>,
    source: Option<&'a SecretSource>,
    example_key: &str,
) -> Result<&'a Path, LoginError> {
    if let Some(p) = given {
        return Ok(p);
    }
    match source {
        Some(SecretSource::File(p)) => Ok(p),
        _ => Err(LoginError::Usage(format!(
            "say where to keep the token: --token-file FILE, or {example_key} = \"FILE\" in the target (a file the bot can write, in its data folder)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = Pkce::new();
        assert_eq!(p.verifier.len(), 43);
        assert_ne!(p.verifier, Pkce::new().verifier);
    }

    #[test]
    fn a_token_file_is_json_or_a_bare_token() {
        let bare = TokenSet::parse("abc123\n").unwrap();
        assert_eq!(bare.access_token, "abc123");
        assert_eq!(bare.lasts_until(), None);
        let now = "2026-12-01T00:00:00Z".parse().unwrap();
        let set = TokenSet::from_answer(
            TokenAnswer {
                access_token: "t".into(),
                refresh_token: None,
                expires_in: Some(5_184_000),
                refresh_token_expires_in: None,
            },
            now,
            None,
        );
        let json = serde_json::to_string(&set).unwrap();
        let back = TokenSet::parse(&json).unwrap();
        assert_eq!(back, set);
        assert_eq!(
            back.lasts_until().unwrap().date_naive().to_string(),
            "2027-01-30"
        );
        assert!(!format!("{set:?}").contains("\"t\""));
        let err = TokenSet::parse("{\"access_token\": \"secret-value\", oops}").unwrap_err();
        assert!(!err.contains("secret-value"), "{err}");
        assert!(TokenSet::parse("two words").is_err());
    }

    #[tokio::test]
    async fn a_token_another_process_refreshed_is_taken_not_refreshed_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        let now: DateTime<Utc> = "2026-12-10T12:00:00Z".parse().unwrap();
        let token = |value: &str, issued: &str| TokenSet {
            access_token: value.into(),
            refresh_token: Some(format!("{value}-refresh")),
            expires_at: None,
            issued_at: Some(issued.parse().unwrap()),
            refresh_expires_at: None,
        };
        save_token(&path, &token("old", "2026-12-08T12:00:00Z")).unwrap();
        let kept = KeptToken::open("t", &SecretSource::File(path.clone())).unwrap();
        let due = |t: &TokenSet, now: DateTime<Utc>| {
            t.issued_at
                .is_none_or(|i| now - i >= chrono::Duration::hours(24))
        };
        // Another process refreshed it meanwhile.
        save_token(&path, &token("new", "2026-12-10T11:00:00Z")).unwrap();
        let got = kept
            .fresh(now, due, |_| async {
                panic!("a refresh token must not be used twice")
            })
            .await
            .unwrap();
        assert_eq!(got.expose(), "new");
        // When it is due, the refresh runs and its token is written back.
        let later = now + chrono::Duration::days(2);
        let got = kept
            .fresh(later, due, |_| async move {
                Ok(token("newer", "2026-12-12T12:00:00Z"))
            })
            .await
            .unwrap();
        assert_eq!(got.expose(), "newer");
        let on_file = read_token_file(&SecretSource::File(path)).unwrap().unwrap();
        assert_eq!(on_file.access_token, "newer");
    }

    #[test]
    fn the_code_is_taken_from_the_address_and_its_state_checked() {
        assert_eq!(code_from("abc", "s").unwrap(), "abc");
        assert_eq!(
            code_from("https://example.org/cb?code=xyz&state=s", "s").unwrap(),
            "xyz"
        );
        assert_eq!(
            code_from("https://example.org/cb?code=xyz#_", "s").unwrap(),
            "xyz"
        );
        assert!(code_from("https://example.org/cb?code=xyz&state=other", "s").is_err());
        assert!(code_from("https://example.org/cb?error=access_denied&state=s", "s").is_err());
    }
}
