//! A network at set-up: what the configuration, `validate`, `status` and
//! `login` ask of it. The part the engine calls while posting and
//! collecting is [`super::Publisher`]; this is the other part, and the two
//! share no method.
//!
//! A network is its settings type, which implements [`Network`], read
//! from its raw keys (a serde type whose fields are its `[targets.NAME]`
//! keys), and its [`Profile`] (data). The registry ([`super::registry`])
//! holds one line per network, a [`Kind`] giving the two together; a
//! configured target holds its settings and profile as a [`Target`], so
//! nothing takes settings apart by network. A target's [`Credentials`] (a
//! user token, an OAuth app) are read by the registry, alike for every
//! network whose profile says it has them, and kept beside its settings.

use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use super::Publisher;
use super::app::{App, AppKeys};
use super::keys::{KeyError, fields, parse_keys, take_keys};
use super::oauth::{KeptToken, TokenKeys, UserToken};
use super::profile::Profile;
pub use super::setup_error::{CannotStart, LoginError};
use crate::clock::Clock;
use crate::render::Limits;
use crate::secret::SecretSource;

use crate::store::Kept;

/// A target's publisher, built, or why it cannot start.
pub type Building = Result<Arc<dyn Publisher>, CannotStart>;

/// What building a publisher needs besides its settings.
pub struct BuildContext<'a> {
    pub data_dir: &'a Path,
    /// Limits learnt from the servers earlier (cached in the state store).
    pub cached_limits: &'a dyn Fn(&str) -> Option<Limits>,
    /// What a publisher may keep between runs (a session, a container id).
    pub kept: Kept,
    /// The time publishers stamp and compare with.
    pub clock: Clock,
    /// The target's credentials, where its network has them.
    pub credentials: &'a Credentials,
}

impl BuildContext<'_> {
    /// The target's user token, opened for its publisher, which keeps it
    /// fresh.
    pub fn token(&self, target: &str) -> Result<Arc<KeptToken>, CannotStart> {
        match &self.credentials.token {
            Some(t) => t.open(target),
            None => Err(CannotStart::Token(format!(
                "target {target} has no token (token_env or token_file)"
            ))),
        }
    }
    /// The target's OAuth app, where it names one (to renew its token).
    pub fn app(&self) -> Option<App> {
        self.credentials.app.clone()
    }
}

/// What a target logs in with, read from its keys by the registry where
/// its profile says it has them: a user token, an OAuth app.
#[derive(Debug)]
pub struct Credentials {
    pub token: Option<UserToken>,
    pub app: Option<App>,
}

impl Credentials {
    /// None: a target whose network has neither.
    pub const NONE: Credentials = Credentials {
        token: None,
        app: None,
    };
}

/// Where a target's keys are read: what [`Network::read`] needs besides
/// the keys themselves.
pub struct At<'a> {
    /// The target's name.
    pub target: &'a str,
    /// Its `kind` as written (a flavour, for the fediverse).
    pub kind: &'a str,
}

impl At<'_> {
    /// A key's full name, for errors: `targets.NAME.key`.
    pub fn key(&self, key: &str) -> String {
        format!("targets.{}.{key}", self.target)
    }
    /// An address key's value (`default` where it is not written),
    /// checked and without a trailing `/`.
    pub fn url(&self, key: &str, value: Option<String>, default: &str) -> Result<String, KeyError> {
        let url = value.unwrap_or_else(|| default.to_string());
        super::keys::check_url(&self.key(key), &url)?;
        Ok(url.trim_end_matches('/').to_string())
    }
    /// An id key's value: a positive number, or digits in quotes; `what`
    /// says what to give where it is missing or not a number.
    pub fn numeric_id(
        &self,
        key: &str,
        value: Option<toml::Value>,
        what: &str,
    ) -> Result<String, KeyError> {
        super::keys::numeric_id(self.key(key), value, what)
    }
    /// A secret named by `WHAT_env` or `WHAT_file`.
    pub fn secret(
        &self,
        what: &str,
        env: Option<String>,
        file: Option<PathBuf>,
    ) -> Result<SecretSource, KeyError> {
        super::keys::secret_source(self.target, what, env, file)
    }
}

/// A configured target of a network, for its login: its name, its
/// settings, and its publisher or why it cannot start.
pub struct LoginTarget<'a, S: ?Sized> {
    pub name: &'a str,
    pub settings: &'a S,
    /// Its credentials, where its network has them.
    pub credentials: &'a Credentials,
    pub built: Built,
}

/// What a `login` asks of a network.
pub struct LoginRequest<'a, S: ?Sized> {
    /// `--instance URL` (a server to register with).
    pub instance: Option<&'a str>,
    /// `--token-file FILE` (where to keep a token).
    pub token_file: Option<&'a Path>,
    /// The targets of this network in the configuration (already built).
    pub targets: Vec<LoginTarget<'a, S>>,
    /// Where the user's answers come from.
    pub input: &'a mut (dyn std::io::BufRead + Send),
}

/// The one target a login flow works on: an error saying what to add when
/// there is none, or to choose when there are several.
pub fn one_target<'t, 'a, S>(
    targets: &'t [LoginTarget<'a, S>],
    profile: &Profile,
) -> Result<&'t LoginTarget<'a, S>, LoginError> {
    match targets {
        [] => Err(no_target(profile)),
        [one] => Ok(one),
        _ => Err(LoginError::Usage(format!(
            "several {} targets are configured: say which with --target NAME",
            profile.name
        ))),
    }
}

/// "No such target is configured; add one like this".
pub fn no_target(profile: &Profile) -> LoginError {
    LoginError::Usage(format!(
        "no {} target is configured; add one to config/local.toml (or --config FILE), e.g.\n\n{}\n\nthen run `campaign-bot login {}` again",
        profile.name,
        profile.example.trim_end(),
        profile.kinds[0]
    ))
}

/// A network the bot can post to, at set-up. It is implemented by the
/// network's settings type, which is what a configured target of it is,
/// read from `Raw`, its keys as written: a serde type (with
/// `deny_unknown_fields`) whose fields are its keys. Its [`Profile`] is
/// given beside it in the registry.
pub trait Network<Raw: DeserializeOwned>: Debug + Send + Sync + Sized + 'static {
    /// Checks a target's keys, read into its raw type, and makes its
    /// settings. (Its credentials, where its profile says it has them, are
    /// read by the registry: see [`Credentials`].)
    fn read(raw: Raw, at: At<'_>) -> Result<Self, KeyError>;
    /// The secrets a target needs besides its user token (resolved when it
    /// is built; `validate` checks they can be read).
    fn secrets(&self) -> Vec<&SecretSource> {
        Vec::new()
    }
    /// Why a target's posts go out without their images, where they do
    /// (`validate` warns of each post with images).
    fn images_left_out(&self) -> Option<&'static str> {
        None
    }
    /// The file a target writes its posts to, if it writes to a file.
    fn writes_to(&self, data_dir: &Path) -> Option<PathBuf> {
        let _ = data_dir;
        None
    }
    /// Builds the target's publisher; the error says why it cannot start.
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building;
    /// `campaign-bot login NETWORK`: gets or checks credentials, printing
    /// for the user. By default: where its profile lets a target name an
    /// OAuth app, [`Network::oauth`] with it (see [`login_with_app`]);
    /// otherwise it checks each target's credentials.
    fn login(
        request: LoginRequest<'_, Self>,
        profile: &'static Profile,
    ) -> impl Future<Output = Result<(), LoginError>> + Send {
        async move {
            match profile.app {
                Some(_) => login_with_app(request, profile, Self::oauth).await,
                None => check_each(request, profile).await,
            }
        }
    }
    /// The OAuth login of one target with its app, where its profile lets
    /// it name one.
    fn oauth(login: AppLogin<'_, Self>) -> impl Future<Output = Result<(), LoginError>> + Send {
        let _ = login;
        async { Err(LoginError::Usage("this network has no OAuth login".into())) }
    }
}

/// The default login, and that of networks whose credentials are made
/// elsewhere (an app password, a bot token): checks each configured
/// target's credentials and prints what it finds.
pub async fn check_each<S: ?Sized>(
    request: LoginRequest<'_, S>,
    profile: &'static Profile,
) -> Result<(), LoginError> {
    if request.targets.is_empty() {
        return Err(no_target(profile));
    }
    let mut failed = false;
    for LoginTarget { name, built, .. } in request.targets {
        let publisher = match built {
            Ok(p) => p,
            Err(why) => {
                println!("{name}: {why}");
                failed = true;
                continue;
            }
        };
        match tokio::time::timeout(super::http::REQUEST_TIMEOUT, publisher.verify()).await {
            Ok(Ok(who)) => println!("{name}: credentials work ({who})"),
            Ok(Err(e)) => {
                println!("{name}: {e}");
                failed = true;
            }
            Err(_) => {
                println!("{name}: the server did not answer in time");
                failed = true;
            }
        }
    }
    if failed {
        Err(LoginError::Failed(
            "the credentials of a target do not work".into(),
        ))
    } else {
        Ok(())
    }
}

/// What an OAuth login flow works on: the one target, its settings and
/// app, where to keep the token (`--token-file`) and the user's answers.
pub struct AppLogin<'a, S> {
    pub target: &'a str,
    pub settings: &'a S,
    pub app: &'a App,
    /// The target's token as configured, where it has one.
    pub token: Option<&'a UserToken>,
    pub token_file: Option<&'a Path>,
    pub input: &'a mut (dyn std::io::BufRead + Send),
}

impl<'a, S> AppLogin<'a, S> {
    /// The file the token goes to: `--token-file`, else the target's
    /// `token_file`.
    pub fn token_path(&self) -> Result<&'a Path, LoginError> {
        let configured = self.token.map(|t| &t.source);
        super::oauth::token_path(self.token_file, configured, "token_file")
    }
}

/// The login of a network whose targets may name an OAuth app: `flow`
/// runs on the one target with its app. A target without one has its
/// token checked, or is refused with what to set where the profile says
/// (`without_app`).
pub async fn login_with_app<'a, S, F, Fut>(
    request: LoginRequest<'a, S>,
    profile: &'static Profile,
    flow: F,
) -> Result<(), LoginError>
where
    S: Sync,
    F: FnOnce(AppLogin<'a, S>) -> Fut,
    Fut: Future<Output = Result<(), LoginError>>,
{
    let Some(first) = request.targets.first() else {
        return Err(no_target(profile));
    };
    if first.credentials.app.is_none() && profile.without_app.is_none() {
        return check_each(request, profile).await;
    }
    let LoginRequest {
        token_file,
        targets,
        input,
        ..
    } = request;
    let target = one_target(&targets, profile)?;
    let (name, credentials) = (target.name, target.credentials);
    let Some(app) = &credentials.app else {
        let why = profile.without_app.unwrap_or_default();
        return Err(LoginError::Usage(format!(
            "target {name} has no app to log in with: {why}"
        )));
    };
    flow(AppLogin {
        target: name,
        settings: target.settings,
        app,
        token: credentials.token.as_ref(),
        token_file,
        input,
    })
    .await
}

/// A configured target's network and settings together: what the rest of
/// the bot asks of a target at set-up, without knowing its network.
pub trait Target: Debug + Send + Sync {
    fn profile(&self) -> &'static Profile;
    fn secrets(&self) -> Vec<&SecretSource>;
    fn token_expires(&self) -> Option<chrono::NaiveDate>;
    fn images_left_out(&self) -> Option<&'static str>;
    fn writes_to(&self, data_dir: &Path) -> Option<PathBuf>;
    fn build(&self, name: &str, ctx: &BuildContext<'_>) -> Building;
    fn credentials(&self) -> &Credentials;
    /// For the registry's login, which gives a network its own settings back.
    fn as_any(&self) -> &dyn Any;
}

/// [`Target`] of network `N`: its settings and its profile.
pub struct Configured<N, R> {
    profile: &'static Profile,
    settings: N,
    credentials: Credentials,
    raw: PhantomData<fn(R)>,
}

impl<N: Debug, R> Debug for Configured<N, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(self.profile.name)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<N: Network<R>, R: DeserializeOwned + 'static> Target for Configured<N, R> {
    fn profile(&self) -> &'static Profile {
        self.profile
    }
    /// Its user token's, and its network's own.
    fn secrets(&self) -> Vec<&SecretSource> {
        let token = self.credentials.token.as_ref().map(|t| &t.source);
        token.into_iter().chain(self.settings.secrets()).collect()
    }
    /// Where the bot cannot renew its user token and knows when it ends.
    fn token_expires(&self) -> Option<chrono::NaiveDate> {
        self.credentials
            .token
            .as_ref()
            .and_then(UserToken::expiry_day)
    }
    fn images_left_out(&self) -> Option<&'static str> {
        self.settings.images_left_out()
    }
    fn writes_to(&self, data_dir: &Path) -> Option<PathBuf> {
        self.settings.writes_to(data_dir)
    }
    fn build(&self, name: &str, ctx: &BuildContext<'_>) -> Building {
        let ctx = BuildContext {
            credentials: &self.credentials,
            kept: ctx.kept.clone(),
            ..*ctx
        };
        self.settings.build(name, &ctx)
    }
    fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A target's publisher, or why it cannot start.
pub type Built = Result<Arc<dyn Publisher>, String>;

/// A network in the registry: [`Network`] without its settings type, so
/// that the registry can hold them all in one list.
#[async_trait]
pub trait Entry: Send + Sync {
    fn profile(&self) -> &'static Profile;
    fn keys(&self) -> Vec<&'static str>;
    /// Reads a target's table into its network and settings.
    fn configure(
        &'static self,
        target: &str,
        kind: &str,
        keys: toml::Table,
    ) -> Result<Arc<dyn Target>, KeyError>;
    /// The network's login, given its configured targets.
    async fn login(&self, request: LoginRequest<'_, dyn Target>) -> Result<(), LoginError>;
}

/// A network in the registry: its settings type `N`, read from its keys
/// `R`, and its profile.
pub struct Kind<N, R> {
    profile: &'static Profile,
    network: PhantomData<fn(R) -> N>,
}

impl<N: Network<R>, R: DeserializeOwned> Kind<N, R> {
    /// Network `N`, described by `profile`: a line of the registry.
    pub const fn new(profile: &'static Profile) -> Kind<N, R> {
        Kind {
            profile,
            network: PhantomData,
        }
    }
}

#[async_trait]
impl<N: Network<R>, R: DeserializeOwned + 'static> Entry for Kind<N, R> {
    fn profile(&self) -> &'static Profile {
        self.profile
    }
    /// Its raw type's fields, and a user token's and an app's where its
    /// profile says it has them.
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = fields::<R>().to_vec();
        if self.profile.user_token {
            keys.extend(fields::<TokenKeys>());
        }
        if self.profile.app.is_some() {
            keys.extend(fields::<AppKeys>());
        }
        keys
    }
    fn configure(
        &'static self,
        target: &str,
        kind: &str,
        mut keys: toml::Table,
    ) -> Result<Arc<dyn Target>, KeyError> {
        let app = match self.profile.app {
            Some(secret) => {
                take_keys::<AppKeys>(target, &mut keys)?.read(target, self.profile.name, secret)?
            }
            None => None,
        };
        let token_keys: Option<TokenKeys> = match self.profile.user_token {
            true => Some(take_keys(target, &mut keys)?),
            false => None,
        };
        let raw = parse_keys::<R>(target, keys)?;
        let settings = N::read(raw, At { target, kind })?;
        let token = match token_keys {
            Some(keys) => Some(UserToken::from_keys(target, keys)?),
            None => None,
        };
        Ok(Arc::new(Configured {
            profile: self.profile,
            settings,
            credentials: Credentials { token, app },
            raw: PhantomData,
        }))
    }
    async fn login(&self, request: LoginRequest<'_, dyn Target>) -> Result<(), LoginError> {
        let LoginRequest {
            instance,
            token_file,
            targets,
            input,
        } = request;
        // Every target given is of this network (the command picks them by
        // profile); its settings are this network's type.
        let targets = targets
            .into_iter()
            .filter_map(|t| {
                let configured = t.settings.as_any().downcast_ref::<Configured<N, R>>()?;
                Some(LoginTarget {
                    name: t.name,
                    settings: &configured.settings,
                    credentials: &configured.credentials,
                    built: t.built,
                })
            })
            .collect();
        let request = LoginRequest {
            instance,
            token_file,
            targets,
            input,
        };
        N::login(request, self.profile).await
    }
}

/// How many days ahead a token that the bot cannot renew makes the
/// daemon unhealthy and raises an alert (`status` shows its date whenever
/// it is known).
pub const TOKEN_WARNING_DAYS: i64 = 7;

/// When a token stops working, for people.
pub fn token_expiry(day: chrono::NaiveDate, today: chrono::NaiveDate) -> String {
    match (day - today).num_days() {
        d if d < 0 => format!("expired on {day}"),
        0 => format!("expires today ({day})"),
        1 => format!("expires tomorrow ({day})"),
        d => format!("expires on {day} (in {d} days)"),
    }
}
