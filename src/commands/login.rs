//! `campaign-bot login mastodon --instance URL` and `login bluesky`.
//!
//! The Mastodon flow: register an app (scopes `read write:statuses
//! write:media`), show the authorisation page, read the code the user pastes,
//! exchange it for a token, check the token, and save it to a file readable
//! only by its owner. The token is never printed and never goes in a config
//! file.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use megalodon::megalodon::AppInputOptions;

use super::{CliError, build_campaign, exit, load_catalog};
use crate::clock::Clock;
use crate::config::{Config, TargetKind};
use crate::publish::http::REQUEST_TIMEOUT;

/// The scopes the bot needs: read (engagement), post statuses, upload media.
pub const SCOPES: &[&str] = &["read", "write:statuses", "write:media"];
/// Out-of-band redirect: the server shows the code for the user to paste.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, CliError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Err(_) => Err(CliError::Failed(format!(
            "{what}: the server did not answer in time"
        ))),
        Ok(Err(e)) => Err(CliError::Failed(format!("{what}: {e}"))),
        Ok(Ok(v)) => Ok(v),
    }
}

pub async fn login_mastodon(
    instance: &str,
    token_file: &Path,
    input: &mut dyn BufRead,
) -> Result<ExitCode, CliError> {
    let instance = instance.trim_end_matches('/');
    if !(instance.starts_with("https://") || instance.starts_with("http://")) {
        return Err(CliError::Usage(format!(
            "--instance {instance:?} must be an https:// address"
        )));
    }
    let ua = Some(concat!("campaign-bot/", env!("CARGO_PKG_VERSION")).to_string());
    let client = megalodon::generator(
        megalodon::SNS::Mastodon,
        instance.to_string(),
        None,
        ua.clone(),
    )
    .map_err(|e| CliError::Usage(format!("{instance}: {e}")))?;
    let options = AppInputOptions {
        scopes: Some(SCOPES.iter().map(|s| s.to_string()).collect()),
        redirect_uris: Some(OOB.to_string()),
        website: None,
    };
    let app = timed(
        "registering the app",
        client.register_app("campaign-bot".into(), &options),
    )
    .await?;
    let url = app
        .url
        .clone()
        .ok_or_else(|| CliError::Failed("the server gave no authorisation address".into()))?;
    println!(
        "1. Open this address in a browser, logged in as the campaign's account, and authorise campaign-bot:\n\n   {url}\n"
    );
    print!("2. Paste the code the page shows: ");
    let _ = std::io::stdout().flush();
    let mut code = String::new();
    input
        .read_line(&mut code)
        .map_err(|e| CliError::Failed(format!("cannot read the code: {e}")))?;
    let code = code.trim();
    if code.is_empty() {
        return Err(CliError::Usage(
            "no code given; run the command again".into(),
        ));
    }
    let token = timed(
        "exchanging the code",
        client.fetch_access_token(
            app.client_id.clone(),
            app.client_secret.clone(),
            code.to_string(),
            OOB.to_string(),
        ),
    )
    .await?;
    let authed = megalodon::generator(
        megalodon::SNS::Mastodon,
        instance.to_string(),
        Some(token.access_token.clone()),
        ua,
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    let me = timed("checking the token", authed.verify_account_credentials()).await?;
    save_secret(token_file, &token.access_token)?;
    println!(
        "\n3. Token checked: it posts as @{} on {instance}.",
        me.json.acct
    );
    println!(
        "   Saved to {} (readable only by you). Keep it out of git.\n",
        token_file.display()
    );
    println!("4. Configure the target (config/local.toml), pointing at the file, e.g.:\n");
    println!(
        "   [targets.mastodon]\n   kind = \"mastodon\"\n   base_url = \"{instance}\"\n   token_file = \"{}\"",
        token_file.display()
    );
    println!(
        "\n   or give it as an environment variable: token_env = \"MASTODON_TOKEN\" with MASTODON_TOKEN set from that file."
    );
    Ok(ExitCode::from(exit::OK))
}

fn save_secret(path: &Path, value: &str) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(value.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// Checks the credentials of every (or one) target of `kind`.
pub async fn check_logins(
    config: &Config,
    only: Option<&str>,
    kind: fn(TargetKind) -> bool,
) -> Result<ExitCode, CliError> {
    let (campaign, broken) = build_campaign(config, load_catalog(config), false, Clock::System)?;
    let mut failed = false;
    let mut any = false;
    for t in config
        .targets
        .iter()
        .filter(|t| kind(t.kind) && only.is_none_or(|o| o == t.name))
    {
        any = true;
        if let Some(b) = broken.iter().find(|b| b.target == t.name) {
            println!("{}: {}", t.name, b.message);
            failed = true;
            continue;
        }
        let Some(p) = campaign.publisher(&t.name) else {
            continue;
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, p.verify()).await {
            Ok(Ok(who)) => println!("{}: credentials work ({who})", t.name),
            Ok(Err(e)) => {
                println!("{}: {e}", t.name);
                failed = true;
            }
            Err(_) => {
                println!("{}: the server did not answer in time", t.name);
                failed = true;
            }
        }
    }
    if !any {
        return Err(CliError::Usage(match only {
            Some(name) => format!("no Bluesky target named {name:?} is configured"),
            None => "no Bluesky target is configured; add one to config/local.toml (or --config FILE), e.g.\n\n[targets.bluesky]\nkind = \"bluesky\"\nservice = \"https://bsky.social\"\nidentifier = \"yourname.bsky.social\"\npassword_env = \"BLUESKY_APP_PASSWORD\"   # an app password: Settings → Privacy and security → App passwords\nlanguages = [\"en\", \"fr\", \"ar\"]\n\nthen run `campaign-bot login bluesky` again".into(),
        }));
    }
    Ok(ExitCode::from(if failed {
        exit::PROBLEM
    } else {
        exit::OK
    }))
}
