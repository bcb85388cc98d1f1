//! `campaign-bot resolve KEY published|not-published`: a person settles a
//! post the bot could not tell went out (shown by `status`).

use std::process::ExitCode;

use chrono::Utc;

use super::{CliError, exit, local_time};
use crate::cli::Verdict;
use crate::config::Config;
use crate::store::IntentState;

pub fn resolve(
    config: &Config,
    key: &str,
    verdict: Verdict,
    id: Option<&str>,
    url: Option<&str>,
) -> Result<ExitCode, CliError> {
    let Some(store) = super::existing_store(config)? else {
        return Err(CliError::Usage(format!(
            "there is no state store in {}; nothing to resolve",
            config.data_dir.display()
        )));
    };
    let key = key.trim();
    if key.len() < 6 {
        return Err(CliError::Usage(
            "give at least the first 6 characters of the key, as `campaign-bot status` shows it"
                .into(),
        ));
    }
    let found = store.intent_by_prefix(key)?;
    let intent = match found.as_slice() {
        [] => {
            return Err(CliError::Usage(format!(
                "no post has a key starting with {key:?}; `campaign-bot status` lists those that need a person"
            )));
        }
        [one] => one.clone(),
        _ => {
            return Err(CliError::Usage(format!(
                "several posts have a key starting with {key:?}; give more of it"
            )));
        }
    };
    if intent.state != IntentState::Uncertain {
        return Err(CliError::Usage(format!(
            "the post {} ({} on {}) is {}, not waiting for a person; nothing to do",
            &intent.key[..12],
            intent.slot.key,
            intent.target,
            intent.state
        )));
    }
    let what = format!(
        "{} [{}] on {}, slot {}",
        intent.message_id.as_deref().unwrap_or("?"),
        intent.lang.as_ref().map(|l| l.as_str()).unwrap_or("?"),
        intent.target,
        local_time(intent.slot.at, config.schedule.timezone())
    );
    let now = Utc::now();
    match verdict {
        Verdict::Published => {
            // With its id, it is followed like any post the bot published.
            let collects = crate::engagement::collects(config, &intent.target);
            let first_check = (id.is_some() && collects)
                .then(|| crate::engagement::first_window(now, &config.checkpoints))
                .flatten();
            store.resolve_published(&intent.key, id, url, now, first_check)?;
            println!("recorded as published: {what}");
            if id.is_none() {
                println!(
                    "its engagement is not checked: give the post's id on the network with --id to have it checked"
                );
            }
        }
        Verdict::NotPublished => {
            store.settle(
                &intent.key,
                IntentState::Failed,
                "not posted: a person checked the account (campaign-bot resolve)",
                now,
            )?;
            println!("recorded as not posted: {what}");
            if let (Some(m), Some(l)) = (&intent.message_id, &intent.lang) {
                println!(
                    "to post it now: campaign-bot post-now {m} --lang {l} --target {}",
                    intent.target
                );
            }
        }
    }
    Ok(ExitCode::from(exit::OK))
}
