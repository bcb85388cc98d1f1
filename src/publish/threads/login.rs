//! `login threads`: the user allows the app, the code is exchanged for a
//! short-lived token and that for a long-lived one (60 days), which is
//! kept in the target's token file.

use serde::Deserialize;

use super::VERSION;
use super::home::Settings;
use crate::publish::network::{AppLogin, LoginError};
use crate::publish::oauth::{self, TokenSet};

/// Where Threads asks the user to allow the app (`login threads`).
pub const AUTHORIZE_URL: &str = "https://threads.net/oauth/authorize";
/// What the bot asks to do: read the account, post, read insights.
pub const SCOPES: &str = "threads_basic,threads_content_publish,threads_manage_insights";

pub async fn login(l: AppLogin<'_, Settings>) -> Result<(), LoginError> {
    let (s, app) = (l.settings, l.app);
    let path = l.token_path()?;
    let secret = oauth::required_secret(app)?;
    let page = reqwest::Url::parse(AUTHORIZE_URL).expect("a valid address");
    let authorize = crate::publish::graph::dialog_url(page, app, SCOPES);
    let client = crate::publish::http::client();
    // The code for a short-lived token (1 hour)…
    let short = oauth::code_login("Threads", authorize, None, l.input, |code| {
        Ok(client
            .post(format!("{}/oauth/access_token", s.api_url))
            .form(&[
                ("client_id", app.client_id.as_str()),
                ("client_secret", secret.expose()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", app.redirect_uri.as_str()),
                ("code", code),
            ]))
    })
    .await?;
    // …then that for a long-lived one (60 days).
    let long = oauth::token_request(
        "getting a long-lived token",
        client.get(format!("{}/access_token", s.api_url)).query(&[
            ("grant_type", "th_exchange_token"),
            ("client_secret", secret.expose()),
            ("access_token", short.access_token.as_str()),
        ]),
    )
    .await
    .map_err(|e| LoginError::Failed(e.message))?;
    let now = chrono::Utc::now();
    let token = TokenSet::from_answer(long, now, None);
    oauth::save_token(path, &token).map_err(LoginError::Failed)?;
    #[derive(Deserialize)]
    struct Me {
        username: Option<String>,
        id: String,
    }
    let asking = client.get(format!("{}/{VERSION}/me", s.api_url)).query(&[
        ("fields", "id,username"),
        ("access_token", token.access_token.as_str()),
    ]);
    let me: Me = oauth::ask(asking, "the new token does not work").await?;
    let who = me.username.map(|u| format!("@{u}")).unwrap_or(me.id);
    println!(
        "Logged in to Threads as {who}. The token is in {} (readable only by you), lasts until {}, and the bot refreshes it every day it runs. Set token_file = {:?} in target {} if it is not there yet.",
        path.display(),
        token
            .expires_at
            .map(|t| t.date_naive().to_string())
            .unwrap_or_else(|| "a date Threads did not say".into()),
        path.display().to_string(),
        l.target
    );
    Ok(())
}
