//! `campaign-bot login NETWORK`: each network's own login, from its home in
//! `publish/` (the Mastodon OAuth flow, a Bluesky app password check…),
//! given the configured targets of that network.

use std::process::ExitCode;

use super::{CliError, exit, open_targets};
use crate::clock::Clock;
use crate::config::Config;
use crate::publish::network::{LoginError, LoginRequest, LoginTarget};
use crate::publish::registry;

/// What `login` was given on the command line.
pub struct LoginArgs<'a> {
    pub network: &'a str,
    pub instance: Option<&'a str>,
    pub token_file: Option<&'a std::path::Path>,
    pub target: Option<&'a str>,
}

/// `config`: `None` when it could not be loaded (a first login, before any
/// target is configured, needs none).
pub async fn login(config: Option<&Config>, args: LoginArgs<'_>) -> Result<ExitCode, CliError> {
    let wanted = args.network.to_ascii_lowercase();
    let Some(net) = registry::by_kind(&wanted) else {
        return Err(CliError::Usage(format!(
            "no network called {:?}; log in to one of {}",
            args.network,
            registry::all_kinds().join(", ")
        )));
    };
    let targets = match config {
        Some(c) => Some(open_targets(c, false, Clock::System)?),
        None => None,
    };
    let mine: Vec<_> = config
        .map(|c| {
            c.targets
                .iter()
                .filter(|t| t.profile().name == net.profile().name)
                .filter(|t| args.target.is_none_or(|only| only == t.name))
                .collect()
        })
        .unwrap_or_default();
    if let Some(only) = args.target
        && mine.is_empty()
    {
        return Err(CliError::Usage(format!(
            "no {} target named {only:?} is configured",
            net.profile().name
        )));
    }
    let built = mine
        .into_iter()
        .map(|t| {
            let registry = targets.as_ref().expect("targets come from a config");
            let p = match registry.publisher(&t.name) {
                Some(p) => Ok(p.clone()),
                None => Err(registry
                    .why_broken(&t.name)
                    .map(|b| b.reason.to_string())
                    .unwrap_or_else(|| "not started".into())),
            };
            LoginTarget {
                name: t.name.as_str(),
                settings: t.network.as_ref(),
                credentials: t.network.credentials(),
                built: p,
            }
        })
        .collect();
    let mut stdin = std::io::BufReader::new(std::io::stdin());
    let request = LoginRequest {
        instance: args.instance,
        token_file: args.token_file,
        targets: built,
        input: &mut stdin,
    };
    match net.login(request).await {
        Ok(()) => Ok(ExitCode::from(exit::OK)),
        Err(LoginError::Usage(m)) => Err(CliError::Usage(m)),
        Err(LoginError::Failed(m)) => Err(CliError::Failed(m)),
    }
}
