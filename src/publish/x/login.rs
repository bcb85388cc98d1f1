//! `campaign-bot login x`: OAuth 2.0 with PKCE (X's "authorization code
//! flow with PKCE"). It prints X's authorisation address, reads the code
//! the user pastes (or the whole address they were sent back to), trades
//! it for an access token (2 hours) and a refresh token (scope
//! `offline.access`), checks them and keeps them in the target's token
//! file, readable only by its owner. The bot refreshes the access token
//! before it ends and writes the new pair back whole. Nothing is printed
//! of either token.

use super::home::Settings;
use crate::publish::network::{AppLogin, LoginError};
use crate::publish::oauth::{self, App, Pkce};

/// Where X asks the user to allow the app.
pub const AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";
/// Post, upload images, read (the timeline, to look for a post; counts),
/// the account, and a refresh token.
pub const SCOPES: &str = "tweet.read tweet.write users.read media.write offline.access";

/// The token endpoint's request, with the app's credentials: a
/// confidential client by HTTP Basic, a public one by `client_id`.
pub fn token_request(
    api_url: &str,
    app: &App,
    form: &[(&str, &str)],
) -> Result<reqwest::RequestBuilder, String> {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let secret = app.secret()?;
    fields.push(("client_id", &app.client_id));
    let request = crate::publish::http::client()
        .post(format!("{api_url}/2/oauth2/token"))
        .form(&fields);
    Ok(match &secret {
        Some(s) => request.basic_auth(&app.client_id, Some(s.expose())),
        None => request,
    })
}

pub async fn login(l: AppLogin<'_, Settings>) -> Result<(), LoginError> {
    let (s, app) = (l.settings, l.app);
    let path = l.token_path()?;
    let pkce = Pkce::new();
    let page = reqwest::Url::parse(AUTHORIZE_URL).expect("a valid address");
    let authorize = oauth::authorize_url(page, app, SCOPES);
    let token = oauth::code_login("X", authorize, Some(&pkce), l.input, |code| {
        token_request(
            &s.api_url,
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &app.redirect_uri),
                ("code_verifier", &pkce.verifier),
            ],
        )
    })
    .await?;
    if token.refresh_token.is_none() {
        println!(
            "X gave no refresh token (the app may not allow offline.access): the token lasts two hours, then `login x` is needed again."
        );
    }
    oauth::save_token(path, &token).map_err(LoginError::Failed)?;
    let who = crate::publish::http::client()
        .get(format!("{}/2/users/me", s.api_url))
        .bearer_auth(&token.access_token)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(oauth::failed("the new token does not work"))?
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["data"]["username"].as_str().map(|u| format!("@{u}")))
        .unwrap_or_else(|| "the account".into());
    println!(
        "Logged in to X as {who}. The tokens are in {} (readable only by you); the bot refreshes them as they end. Set token_file = {:?} in target {} if it is not there yet.",
        path.display(),
        path.display().to_string(),
        l.target
    );
    Ok(())
}
