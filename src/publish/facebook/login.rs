//! `campaign-bot login facebook`: a person who manages the Page logs in,
//! and the bot turns that login into the Page's own long-lived token:
//! the code for a user token, that token for a long-lived one
//! (`fb_exchange_token`), then the Page's token from `/me/accounts` (a Page
//! token read with a long-lived user token has no end). `debug_token`
//! checks it (valid, its end if any, its permissions) before it is kept in
//! the target's token file, readable only by its owner. Nothing is printed
//! of any token.

use chrono::{TimeZone, Utc};
use serde::Deserialize;

use super::home::Settings;
use crate::publish::http::client;
use crate::publish::network::{AppLogin, LoginError};
use crate::publish::oauth::{self, TokenSet};

/// What the bot asks to do: list the Pages, post, read their counts.
pub const SCOPES: &str = "pages_show_list,pages_read_engagement,pages_manage_posts,read_insights";

#[derive(Debug, Deserialize)]
struct Accounts {
    #[serde(default)]
    data: Vec<Account>,
}

#[derive(Debug, Deserialize)]
struct Account {
    id: String,
    name: Option<String>,
    access_token: Option<String>,
    #[serde(default)]
    tasks: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Debug {
    data: DebugData,
}

#[derive(Debug, Deserialize)]
struct DebugData {
    #[serde(default)]
    is_valid: bool,
    /// 0: no end.
    expires_at: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
}

pub async fn login(l: AppLogin<'_, Settings>) -> Result<(), LoginError> {
    let (target, s, app) = (l.target, l.settings, l.app);
    let path = l.token_path()?;
    let secret = oauth::required_secret(app)?;
    let graph = |p: &str| format!("{}/{}{p}", s.api_url, s.api_version);
    let dialog = reqwest::Url::parse(&format!("{}/{}/dialog/oauth", s.oauth_url, s.api_version))
        .map_err(|e| LoginError::Usage(format!("oauth_url: {e}")))?;
    let authorize = crate::publish::graph::dialog_url(dialog, app, SCOPES);
    let http = client();
    // The code for a user token…
    let user = oauth::code_login("Facebook", authorize, None, l.input, |code| {
        Ok(http.get(graph("/oauth/access_token")).query(&[
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("client_secret", secret.expose()),
            ("code", code),
        ]))
    })
    .await?;
    // …that token for a long-lived one (60 days)…
    let long = oauth::token_request(
        "getting a long-lived user token",
        http.get(graph("/oauth/access_token")).query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", app.client_id.as_str()),
            ("client_secret", secret.expose()),
            ("fb_exchange_token", user.access_token.as_str()),
        ]),
    )
    .await
    .map_err(|e| LoginError::Failed(e.message))?;
    // …and the Page's own token, read with it.
    let listing = http.get(graph("/me/accounts")).query(&[
        ("fields", "id,name,access_token,tasks"),
        ("access_token", long.access_token.as_str()),
    ]);
    let accounts: Accounts = oauth::ask(listing, "listing the Pages").await?;
    let Some(page) = accounts.data.into_iter().find(|a| a.id == s.page) else {
        return Err(LoginError::Failed(format!(
            "the account that logged in does not manage the Page {} (target {target}): log in as one of its admins, or check `page`",
            s.page
        )));
    };
    if !page.tasks.is_empty() && !page.tasks.iter().any(|t| t == "CREATE_CONTENT") {
        return Err(LoginError::Failed(format!(
            "the account that logged in may not post on the Page {}: it needs the Page's CREATE_CONTENT task (Page settings → Page access)",
            page.name.as_deref().unwrap_or(&page.id)
        )));
    }
    let Some(page_token) = page.access_token else {
        return Err(LoginError::Failed(
            "Facebook gave no token for the Page: the app needs pages_show_list and pages_manage_posts".into(),
        ));
    };
    // Checked with the app's own token (`app_id|app_secret`).
    let app_token = format!("{}|{}", app.client_id, secret.expose());
    let check = http.get(graph("/debug_token")).query(&[
        ("input_token", page_token.as_str()),
        ("access_token", app_token.as_str()),
    ]);
    let debug: Debug = oauth::ask(check, "checking the Page token").await?;
    if !debug.data.is_valid {
        return Err(LoginError::Failed(
            "Facebook says the Page token is not valid; log in again".into(),
        ));
    }
    let missing: Vec<&str> = ["pages_manage_posts", "pages_read_engagement"]
        .into_iter()
        .filter(|p| !debug.data.scopes.iter().any(|s| s == p))
        .collect();
    if !missing.is_empty() && !debug.data.scopes.is_empty() {
        return Err(LoginError::Failed(format!(
            "the Page token lacks {}: allow them when logging in",
            missing.join(" and ")
        )));
    }
    let now = Utc::now();
    let expires_at = debug
        .data
        .expires_at
        .filter(|t| *t > 0)
        .and_then(|t| Utc.timestamp_opt(t, 0).single());
    let token = TokenSet {
        access_token: page_token,
        refresh_token: None,
        expires_at,
        issued_at: Some(now),
        refresh_expires_at: None,
    };
    oauth::save_token(path, &token).map_err(LoginError::Failed)?;
    println!(
        "Logged in to Facebook: the Page {} ({}). Its token is in {} (readable only by you) and {}. Set token_file = {:?} in target {target} if it is not there yet.",
        page.name.as_deref().unwrap_or("?"),
        page.id,
        path.display(),
        match expires_at {
            Some(t) => format!(
                "works until {}; `status` warns a week ahead",
                t.date_naive()
            ),
            None =>
                "has no end (it stops if the person loses their role or changes their password)"
                    .into(),
        },
        path.display().to_string(),
    );
    Ok(())
}
