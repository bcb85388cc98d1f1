//! `campaign-bot status [--health]`.

use std::process::ExitCode;

use chrono::Utc;

use super::{CliError, exit, local_time, open_targets};
use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::DaemonStatus;
use crate::publish::network;
use crate::store::Store;

/// How late the scheduler may be on its next event, beyond the grace,
/// before it counts as stuck.
const STUCK_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Why the daemon is not healthy, or `None` if it is.
pub fn health(
    config: &Config,
    store: &Store,
    daemon: Option<&DaemonStatus>,
) -> Result<Option<String>, CliError> {
    let mut why: Vec<String> = Vec::new();
    match daemon {
        None => why.push("the daemon is not running (no data/daemon.json)".into()),
        Some(d) if !d.running => why.push(format!(
            "the daemon stopped at {}",
            local_time(d.updated_at, config.schedule.timezone())
        )),
        Some(d) if !process_alive(d.pid) => why.push(format!(
            "the daemon (pid {}) is gone without stopping cleanly",
            d.pid
        )),
        Some(d) => {
            if let Some(next) = d.next_event {
                let grace = chrono::Duration::from_std(config.schedule.grace()).unwrap_or_default();
                if Utc::now() > next + grace + STUCK_AFTER {
                    why.push(format!(
                        "the scheduler is stuck: the event of {} has not been handled",
                        local_time(next, config.schedule.timezone())
                    ));
                }
            }
        }
    }
    if let Err(e) = std::fs::read_dir(&config.posts_dir) {
        why.push(format!(
            "the posts folder {} cannot be read ({e}): nothing new can be posted",
            config.posts_dir.display()
        ));
    }
    if let Some(d) = daemon.filter(|d| d.running && process_alive(d.pid))
        && let Some(missing) = unrecorded_slot(config, store, d)?
    {
        why.push(missing);
    }
    for t in &config.targets {
        if let Some(reason) = crate::targets::paused(store, &t.name)? {
            why.push(format!("target {} is paused: {reason}", t.name));
        }
    }
    let today = Utc::now().date_naive();
    for t in &config.targets {
        if let Some(day) = t.network().token_expires(t)
            && (day - today).num_days() <= network::TOKEN_WARNING_DAYS
        {
            why.push(format!(
                "the token of target {} {}; get a new one and set it",
                t.name,
                network::token_expiry(day, today)
            ));
        }
    }
    let uncertain = store.uncertain()?;
    if !uncertain.is_empty() {
        why.push(format!(
            "{} post(s) may or may not have gone out and need a person: run `campaign-bot status`",
            uncertain.len()
        ));
    }
    Ok((!why.is_empty()).then(|| why.join("; ")))
}

/// How long after a slot its records must be in the state store: they are
/// written within milliseconds, or within the store's 30 s busy wait when
/// another process holds it.
const RECORD_MARGIN: chrono::Duration = chrono::Duration::seconds(45);

/// The latest slot of the running daemon that no target has a record of,
/// RECORD_MARGIN after it: the state store cannot be written (a full disk)
/// and slots are being lost.
fn unrecorded_slot(
    config: &Config,
    store: &Store,
    d: &DaemonStatus,
) -> Result<Option<String>, CliError> {
    let until = Utc::now() - RECORD_MARGIN;
    let schedule = &config.schedule;
    let Some(last) = schedule
        .between(d.started_at.max(until - chrono::Duration::hours(6)), until)
        .pop()
    else {
        return Ok(None);
    };
    let slot = crate::model::Slot::cron(last);
    for t in &config.targets {
        if store.intent(&slot.intent_key(&t.name))?.is_some() {
            return Ok(None);
        }
    }
    Ok(Some(format!(
        "the slot of {} has no record in the state store: it cannot be written (is the disk full?) and slots are being lost",
        local_time(last, config.schedule.timezone())
    )))
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

pub async fn status(config: &Config, health_only: bool) -> Result<ExitCode, CliError> {
    let store = Store::open(&config.data_dir)?;
    let daemon = DaemonStatus::read(&config.data_dir);
    let unhealthy = health(config, &store, daemon.as_ref())?;
    if health_only {
        return Ok(match unhealthy {
            Some(reason) => {
                println!("unhealthy: {reason}");
                ExitCode::from(exit::UNHEALTHY)
            }
            None => {
                println!("healthy");
                ExitCode::from(exit::OK)
            }
        });
    }
    let tz = config.schedule.timezone();
    match &daemon {
        Some(d) if d.running && process_alive(d.pid) => {
            println!(
                "daemon:     running (pid {}, since {})",
                d.pid,
                local_time(d.started_at, tz)
            )
        }
        Some(d) => println!(
            "daemon:     not running (last seen {})",
            local_time(d.updated_at, tz)
        ),
        None => println!("daemon:     not running"),
    }
    println!("health:     {}", unhealthy.as_deref().unwrap_or("healthy"));
    match config.schedule.next_after(Utc::now()) {
        Some(t) => println!("next slot:  {}", local_time(t, tz)),
        None => println!("next slot:  none (check schedule.slots)"),
    }
    println!("\ntargets:");
    let targets = open_targets(config, false, Clock::System)?;
    for t in &config.targets {
        let creds = match targets.publisher(&t.name) {
            _ if t.network().secrets(t).is_empty() => "no credentials needed".to_string(),
            None => targets
                .why_broken(&t.name)
                .map(|b| format!("NOT STARTED: {}", b.message))
                .unwrap_or_default(),
            Some(p) => {
                match tokio::time::timeout(crate::publish::http::REQUEST_TIMEOUT, p.verify()).await
                {
                    Ok(Ok(who)) => format!("credentials work ({who})"),
                    Ok(Err(e)) => format!("CREDENTIALS FAIL: {e}"),
                    Err(_) => "cannot check credentials: the server did not answer in time".into(),
                }
            }
        };
        let paused = targets
            .paused(&t.name)?
            .map(|r| format!("; PAUSED: {r}"))
            .unwrap_or_default();
        let today = Utc::now().date_naive();
        let expiry = t
            .network()
            .token_expires(t)
            .map(|day| {
                let soon = (day - today).num_days() <= network::TOKEN_WARNING_DAYS;
                format!(
                    "; {}token {}",
                    if soon { "RENEW: " } else { "" },
                    network::token_expiry(day, today)
                )
            })
            .unwrap_or_default();
        let langs: Vec<&str> = t.languages.iter().map(|l| l.as_str()).collect();
        println!(
            "  {} ({}, {}): {creds}{paused}{expiry}",
            t.name,
            t.kind,
            langs.join(" → ")
        );
    }
    let uncertain = store.uncertain()?;
    if !uncertain.is_empty() {
        println!(
            "\nneeds a person (the bot cannot tell whether these went out, and will not send them again):"
        );
        for i in &uncertain {
            println!(
                "  {}  {}  {} [{}]  key {}\n      {}\n      check the account, then: campaign-bot resolve {} published  (or not-published)",
                local_time(i.slot.at, tz),
                i.target,
                i.message_id.as_deref().unwrap_or("-"),
                i.lang.as_ref().map(|l| l.as_str()).unwrap_or("-"),
                &i.key[..12],
                i.error.as_deref().unwrap_or(""),
                &i.key[..12]
            );
        }
    }
    println!("\nlast posts:");
    let recent = store.recent(8)?;
    if recent.is_empty() {
        println!("  none yet");
    }
    for i in recent {
        println!(
            "  {}  {}  {} [{}]  {}{}",
            local_time(i.slot.at, tz),
            i.target,
            i.message_id.as_deref().unwrap_or("-"),
            i.lang.as_ref().map(|l| l.as_str()).unwrap_or("-"),
            i.state,
            i.url
                .or(i.remote_id)
                .map(|u| format!("  {u}"))
                .unwrap_or_default()
        );
    }
    let errors = store.recent_errors(5)?;
    if !errors.is_empty() {
        println!("\nlast errors:");
        for i in errors {
            println!(
                "  {}  {}  {}",
                local_time(i.updated_at, tz),
                i.target,
                i.error.unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::from(exit::OK))
}
