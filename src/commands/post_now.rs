//! `campaign-bot post-now [ID] [--lang L] [--target T] [--slot TIME]`.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::{CliError, build_campaign, exit, load_catalog, local_and_utc};
use crate::campaign::{Outcome, grace};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Lang, Slot};
use crate::schedule::parse_time;
use crate::store::Begin;

#[derive(Debug, Clone, Default)]
pub struct PostNowArgs {
    pub id: Option<String>,
    pub lang: Option<String>,
    pub target: Option<String>,
    pub slot: Option<String>,
    pub dry_run: bool,
}

pub async fn post_now(config: &Config, args: PostNowArgs) -> Result<ExitCode, CliError> {
    let lang = args
        .lang
        .as_deref()
        .map(Lang::new)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--lang: {e}")))?;
    let tz = config.schedule.timezone();
    // Without --slot: the current minute, so a second run within it is
    // recognised as the same post, not made twice.
    let (slot_at, which): (DateTime<Utc>, &str) = match &args.slot {
        Some(s) => (
            parse_time(s, tz).map_err(|e| CliError::Usage(format!("--slot: {e}")))?,
            "",
        ),
        None => {
            let now = Utc::now();
            let minute =
                DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(60), 0)
                    .unwrap_or(now);
            (minute, ", the current minute")
        }
    };
    let slot = Slot::cron(slot_at);
    let slot_shown = format!("{}{which}", local_and_utc(slot_at, tz));
    let targets: Vec<_> = match &args.target {
        Some(name) => vec![config.target(name).cloned().ok_or_else(|| {
            CliError::Usage(format!(
                "no target named {name:?}; configured: {}",
                config
                    .targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?],
        None => config.targets.clone(),
    };

    super::require_posts_folder(config)?;
    let catalog = load_catalog(config);
    let message = match &args.id {
        None => None,
        Some(id) => {
            let m = catalog.get(id).cloned().ok_or_else(|| {
                let why = catalog
                    .problems
                    .iter()
                    .find(|p| p.file.file_stem().is_some_and(|s| s == id.as_str()))
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default();
                CliError::Usage(format!("no valid post with id {id:?}{why}"))
            })?;
            if m.draft {
                return Err(CliError::Usage(format!(
                    "{id} is a draft; set status = \"approved\" to post it"
                )));
            }
            Some(m)
        }
    };

    let campaign = build_campaign(config, catalog, args.dry_run, Clock::System)?;
    let cancel = CancellationToken::new();
    let deadline = Utc::now().max(slot.at) + grace(config);
    let mut failed = false;
    for target in &targets {
        if let Some(b) = campaign.registry().why_broken(&target.name) {
            println!("{}: not posted: {}", target.name, b.reason);
            failed = true;
            continue;
        }
        let begin = match &message {
            Some(m) => {
                let lang = match &lang {
                    Some(l) if m.has_lang(l) && target.languages.contains(l) => *l,
                    Some(l) => {
                        println!(
                            "{}: not posted: {} has no {l} text, or the target does not post in {l}",
                            target.name, m.id
                        );
                        failed = true;
                        continue;
                    }
                    None => match target.languages.iter().find(|l| m.has_lang(l)) {
                        Some(l) => *l,
                        None => {
                            println!(
                                "{}: not posted: {} has none of the target's languages",
                                target.name, m.id
                            );
                            failed = true;
                            continue;
                        }
                    },
                };
                campaign.plan_message(&slot, target, m, &lang).map(Some)
            }
            None => {
                if let Some(l) = &lang
                    && !target.languages.contains(l)
                {
                    println!(
                        "{}: not posted: the target does not post in {l}",
                        target.name
                    );
                    failed = true;
                    continue;
                }
                campaign.plan_rotation(&slot, target, lang.as_ref())
            }
        };
        let planned = match &begin {
            Ok(Some(Begin::New(i))) | Ok(Some(Begin::Exists(i))) => {
                format!(
                    "{} [{}]",
                    i.message_id.as_deref().unwrap_or("?"),
                    i.lang.as_ref().map(Lang::as_str).unwrap_or("?")
                )
            }
            _ => String::new(),
        };
        let outcome = campaign
            .fill(begin, &slot, &target.name, deadline, &cancel)
            .await;
        // What happened, in a sentence after the target's name, and whether
        // it is a problem.
        let (said, problem) = match outcome {
            Outcome::Published(p) => {
                // Where to look: an outbox's post is a line in a file.
                let data = super::data_dir(config, args.dry_run);
                let file = if args.dry_run {
                    Some(crate::publish::registry::dry_run_file(&data))
                } else {
                    target.network.writes_to(&data)
                }
                .map(|f| format!(", a line in {}", f.display()))
                .unwrap_or_default();
                let link = p.url.unwrap_or(p.remote_id);
                let said = format!("posted {planned} for the slot of {slot_shown}: {link}{file}");
                (said, false)
            }
            Outcome::AlreadyDone(state) => (
                format!("the slot of {slot_shown} was already filled ({state}); nothing posted"),
                false,
            ),
            Outcome::AlreadyThere {
                published,
                message_id,
                lang,
            } => {
                let holds = match (message_id, lang) {
                    (Some(m), Some(l)) => format!("{m} [{l}]"),
                    _ => "a post that no file in posts/ has now".into(),
                };
                let link = published.url.unwrap_or(published.remote_id);
                let said = format!(
                    "the slot of {slot_shown} already held {holds}, posted before (the state store had no record of it): {link}; {planned} was not posted"
                );
                (said, false)
            }
            Outcome::BeingPosted(who) => (
                format!(
                    "the slot of {slot_shown} is being posted by {who}; nothing done here (see `campaign-bot status` in a minute)"
                ),
                true,
            ),
            Outcome::Uncertain(why) => {
                let key = &slot.intent_key(&target.name)[..12];
                let said = format!(
                    "the slot of {slot_shown}: NOT SURE whether it went out: {why}. It will not be sent again; check the account, then run `campaign-bot resolve {key}` (see `campaign-bot status`)"
                );
                (said, true)
            }
            Outcome::Failed(why) => (format!("failed: {why}"), true),
            Outcome::Skipped(why) => (format!("nothing posted: {why}"), true),
            Outcome::Interrupted => {
                failed = true;
                continue;
            }
        };
        println!("{}: {said}", target.name);
        failed |= problem;
    }
    Ok(ExitCode::from(if failed {
        exit::PROBLEM
    } else {
        exit::OK
    }))
}
