//! A network at set-up: what the configuration, `validate`, `status` and
//! `login` ask of it. The part the engine calls while posting and
//! collecting is [`super::Publisher`]; this is the other part, and the two
//! share no method.
//!
//! A network implements [`Network`], with its own settings type (a serde
//! type whose fields are its `[targets.NAME]` keys) and its [`Profile`]
//! (data). The registry ([`super::registry`]) holds one line per network;
//! a configured target holds its network and its settings together as a
//! [`Target`], so nothing takes settings apart by network.

use std::any::Any;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use super::Publisher;
use super::app::{APP_KEYS, App, AppKeys, AppSecret};
use super::keys::{KeyError, fields, parse_keys};
use super::oauth::UserToken;
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
}

/// A target's keys, read: what [`Network::settings`] checks.
pub struct Keys<'a, R> {
    /// The target's name.
    pub target: &'a str,
    /// Its `kind` as written (a flavour, for the fediverse).
    pub kind: &'a str,
    /// Its network's own keys.
    pub raw: R,
    /// Its OAuth app, where the network has one and the target names it.
    pub app: Option<App>,
}

/// A configured target of a network, for its login: its name, its
/// settings, and its publisher or why it cannot start.
pub struct LoginTarget<'a, S> {
    pub name: &'a str,
    pub settings: &'a S,
    pub built: Built,
}

/// What a `login` asks of a network.
pub struct LoginRequest<'a, S> {
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

/// A network the bot can post to, at set-up.
#[async_trait]
pub trait Network: Send + Sync + 'static {
    /// Its settings of one target, read from the `[targets.NAME]` table.
    type Settings: Debug + Send + Sync + 'static;
    /// Its keys as written: a serde type (with `deny_unknown_fields`)
    /// whose fields are its keys.
    type Raw: DeserializeOwned;
    /// What it is.
    const PROFILE: &'static Profile;
    /// Whether a target may name an OAuth app (`client_id`, …) for login
    /// and refreshing its token, and whether its secret is required.
    const APP: Option<AppSecret> = None;
    /// Its own keys in a `[targets.NAME]` table (besides `kind`,
    /// `languages` and `enabled`): its raw type's fields, and the app's.
    fn keys(&self) -> Vec<&'static str> {
        let own = fields::<Self::Raw>();
        match Self::APP {
            Some(_) => [own, *APP_KEYS].concat(),
            None => own.to_vec(),
        }
    }
    /// Checks a target's keys, read into its raw type (and its app, if it
    /// has one), and makes its settings.
    fn settings(&self, keys: Keys<'_, Self::Raw>) -> Result<Self::Settings, KeyError>;
    /// A target's user token, where its network logs in with one (OAuth):
    /// by default its only secret, and what says when it ends.
    fn token<'s>(&self, settings: &'s Self::Settings) -> Option<&'s UserToken> {
        let _ = settings;
        None
    }
    /// The secrets a target needs (resolved when it is built; `validate`
    /// checks they can be read): by default its token's.
    fn secrets<'s>(&self, settings: &'s Self::Settings) -> Vec<&'s SecretSource> {
        self.token(settings)
            .map(|t| vec![&t.source])
            .unwrap_or_default()
    }
    /// The day a target's token stops working, where the bot cannot renew
    /// it and knows when: `status` shows it, `status --health` fails a
    /// week ahead, and an alert is raised.
    fn token_expires(&self, settings: &Self::Settings) -> Option<chrono::NaiveDate> {
        self.token(settings).and_then(UserToken::expiry_day)
    }
    /// Why a target's posts go out without their images, where they do
    /// (`validate` warns of each post with images).
    fn images_left_out(&self, settings: &Self::Settings) -> Option<&'static str> {
        let _ = settings;
        None
    }
    /// The file a target writes its posts to, if it writes to a file.
    fn writes_to(&self, settings: &Self::Settings, data_dir: &Path) -> Option<PathBuf> {
        let _ = (settings, data_dir);
        None
    }
    /// Builds the target's publisher; the error says why it cannot start.
    fn build(&self, target: &str, s: &Self::Settings, ctx: &BuildContext<'_>) -> Building;
    /// `campaign-bot login NETWORK`: gets or checks credentials, printing
    /// for the user. By default it checks each target's credentials.
    async fn login(&self, request: LoginRequest<'_, Self::Settings>) -> Result<(), LoginError> {
        if request.targets.is_empty() {
            return Err(no_target(Self::PROFILE));
        }
        check_credentials(
            request
                .targets
                .into_iter()
                .map(|t| (t.name, t.built))
                .collect(),
        )
        .await
    }
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
    /// For the registry's login, which gives a network its own settings back.
    fn as_any(&self) -> &dyn Any;
}

/// [`Target`] of network `N`.
pub struct Configured<N: Network> {
    network: &'static N,
    settings: N::Settings,
}

impl<N: Network> Debug for Configured<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(N::PROFILE.name)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<N: Network> Target for Configured<N> {
    fn profile(&self) -> &'static Profile {
        N::PROFILE
    }
    fn secrets(&self) -> Vec<&SecretSource> {
        self.network.secrets(&self.settings)
    }
    fn token_expires(&self) -> Option<chrono::NaiveDate> {
        self.network.token_expires(&self.settings)
    }
    fn images_left_out(&self) -> Option<&'static str> {
        self.network.images_left_out(&self.settings)
    }
    fn writes_to(&self, data_dir: &Path) -> Option<PathBuf> {
        self.network.writes_to(&self.settings, data_dir)
    }
    fn build(&self, name: &str, ctx: &BuildContext<'_>) -> Building {
        self.network.build(name, &self.settings, ctx)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A target's publisher, or why it cannot start.
pub type Built = Result<Arc<dyn Publisher>, String>;

/// A configured target, for a login: its name, its network and settings,
/// and its publisher or why it cannot start.
pub type BuiltTarget<'a> = (&'a str, &'a dyn Target, Built);

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
    async fn login(
        &self,
        instance: Option<&str>,
        token_file: Option<&Path>,
        targets: Vec<BuiltTarget<'_>>,
        input: &mut (dyn std::io::BufRead + Send),
    ) -> Result<(), LoginError>;
}

#[async_trait]
impl<N: Network> Entry for N {
    fn profile(&self) -> &'static Profile {
        N::PROFILE
    }
    fn keys(&self) -> Vec<&'static str> {
        Network::keys(self)
    }
    fn configure(
        &'static self,
        target: &str,
        kind: &str,
        mut keys: toml::Table,
    ) -> Result<Arc<dyn Target>, KeyError> {
        let app = match N::APP {
            Some(secret) => {
                AppKeys::take(target, &mut keys)?.read(target, N::PROFILE.name, secret)?
            }
            None => None,
        };
        let raw = parse_keys::<N::Raw>(target, keys)?;
        Ok(Arc::new(Configured {
            network: self,
            settings: self.settings(Keys {
                target,
                kind,
                raw,
                app,
            })?,
        }))
    }
    async fn login(
        &self,
        instance: Option<&str>,
        token_file: Option<&Path>,
        targets: Vec<BuiltTarget<'_>>,
        input: &mut (dyn std::io::BufRead + Send),
    ) -> Result<(), LoginError> {
        let targets = targets
            .into_iter()
            .filter_map(|(name, target, built)| {
                // Every target given is of this network (the command picks
                // them by profile); its settings are this network's type.
                let configured = target.as_any().downcast_ref::<Configured<N>>()?;
                Some(LoginTarget {
                    name,
                    settings: &configured.settings,
                    built,
                })
            })
            .collect();
        Network::login(
            self,
            LoginRequest {
                instance,
                token_file,
                targets,
                input,
            },
        )
        .await
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

/// Checks each target's credentials and prints what it finds: the login of
/// networks whose credentials are made elsewhere (an app password).
pub async fn check_credentials(targets: Vec<(&str, Built)>) -> Result<(), LoginError> {
    let mut failed = false;
    for (name, built) in targets {
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
