//! `campaign-bot login linkedin`: LinkedIn's three-legged OAuth 2.0. It
//! prints the authorisation address, reads the code the user pastes (or
//! the whole address they were sent back to), trades it with the app's
//! secret for an access token (60 days) and, for apps LinkedIn approved
//! for them, a refresh token (a year from the first authorisation), and
//! keeps them in the target's token file, readable only by its owner.
//! Without a refresh token, `status` and `status --health` say when the
//! token ends, a week ahead.

use super::home::Settings;
use crate::publish::network::{AppLogin, LoginError};
use crate::publish::oauth::{self, App};

/// LinkedIn's OAuth server.
pub const OAUTH_URL: &str = "https://www.linkedin.com";
/// Post as the page, read its posts' statistics.
pub const SCOPES: &str = "w_organization_social r_organization_social rw_organization_admin";

/// A request to `/oauth/v2/accessToken`, the app's id and secret in the
/// form (as LinkedIn documents it).
pub fn token_request(
    oauth_url: &str,
    app: &App,
    form: &[(&str, &str)],
) -> Result<reqwest::RequestBuilder, String> {
    let secret = app
        .secret()?
        .ok_or("the app's client secret is missing (client_secret_env or client_secret_file)")?;
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("client_id", &app.client_id));
    fields.push(("client_secret", secret.expose()));
    Ok(crate::publish::http::client()
        .post(format!("{oauth_url}/oauth/v2/accessToken"))
        .form(&fields))
}

pub async fn login(l: AppLogin<'_, Settings>) -> Result<(), LoginError> {
    let (s, app) = (l.settings, l.app);
    let path = l.token_path()?;
    let page = reqwest::Url::parse(&format!("{}/oauth/v2/authorization", s.oauth_url))
        .map_err(|e| LoginError::Usage(format!("oauth_url: {e}")))?;
    let authorize = oauth::authorize_url(page, app, SCOPES);
    let token = oauth::code_login("LinkedIn", authorize, None, l.input, |code| {
        token_request(
            &s.oauth_url,
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &app.redirect_uri),
            ],
        )
    })
    .await?;
    oauth::save_token(path, &token).map_err(LoginError::Failed)?;
    let until = token
        .lasts_until()
        .map(|t| t.date_naive().to_string())
        .unwrap_or_else(|| "a date LinkedIn did not say".into());
    let renewal = if token.refresh_token.is_some() {
        "the bot refreshes the access token until then"
    } else {
        "LinkedIn gave no refresh token (only approved apps get one): log in again before then; `status` says when"
    };
    println!(
        "Logged in to LinkedIn. The token is in {} (readable only by you) and works until {until}; {renewal}. Set token_file = {:?} in target {} if it is not there yet.",
        path.display(),
        path.display().to_string(),
        l.target
    );
    Ok(())
}
