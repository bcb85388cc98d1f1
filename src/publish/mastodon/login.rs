//! `campaign-bot login mastodon --instance URL`: register an app (scopes
//! `read write:statuses write:media`), show the authorisation page, read the
//! code the user pastes, exchange it for a token, check the token, and save
//! it to a file readable only by its owner. The token is never printed and
//! never goes in a config file.

use std::io::{BufRead, Write};
use std::path::Path;

use megalodon::megalodon::AppInputOptions;

use crate::private::save_secret;
use crate::publish::http::REQUEST_TIMEOUT;
use crate::publish::network::LoginError;

/// The scopes the bot needs: read (engagement), post statuses, upload media.
pub const SCOPES: &[&str] = &["read", "write:statuses", "write:media"];
/// Out-of-band redirect: the server shows the code for the user to paste.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, LoginError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
        Err(_) => Err(LoginError::Failed(format!(
            "{what}: the server did not answer in time"
        ))),
        Ok(Err(e)) => Err(LoginError::Failed(format!("{what}: {e}"))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Registers the bot with `instance`, has the user authorise it, and saves
/// the token to `token_file` (readable only by its owner).
pub async fn login(
    instance: &str,
    token_file: &Path,
    input: &mut (dyn BufRead + Send),
) -> Result<(), LoginError> {
    let instance = instance.trim_end_matches('/');
    if !(instance.starts_with("https://") || instance.starts_with("http://")) {
        return Err(LoginError::Usage(format!(
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
    .map_err(|e| LoginError::Usage(format!("{instance}: {e}")))?;
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
        .ok_or_else(|| LoginError::Failed("the server gave no authorisation address".into()))?;
    println!(
        "1. Open this address in a browser, logged in as the campaign's account, and authorise campaign-bot:\n\n   {url}\n"
    );
    print!("2. Paste the code the page shows: ");
    let _ = std::io::stdout().flush();
    let mut code = String::new();
    input
        .read_line(&mut code)
        .map_err(|e| LoginError::Failed(format!("cannot read the code: {e}")))?;
    let code = code.trim();
    if code.is_empty() {
        return Err(LoginError::Usage(
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
    .map_err(|e| LoginError::Failed(e.to_string()))?;
    let me = timed("checking the token", authed.verify_account_credentials()).await?;
    save_secret(token_file, &token.access_token).map_err(LoginError::Failed)?;
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
    Ok(())
}
