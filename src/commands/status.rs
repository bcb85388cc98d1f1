//! `campaign-bot status [--health]`.

use std::process::ExitCode;

use chrono::Utc;

use super::{CliError, exit, local_time, open_targets};
use crate::clock::Clock;
use crate::config::Config;
use crate::health::{DaemonStatus, health, process_alive};
use crate::publish::network;
use crate::store::Intent;

pub async fn status(config: &Config, health_only: bool) -> Result<ExitCode, CliError> {
    let store = super::open_store(config)?;
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
    if let Some(pg) = store.postgres() {
        print_replicas(pg)?;
    } else {
        print_daemon(daemon.as_ref(), tz);
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
            _ if t.network.secrets().is_empty() => "no credentials needed".to_string(),
            None => targets
                .why_broken(&t.name)
                .map(|b| format!("NOT STARTED: {}", b.reason))
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
            .network
            .token_expires()
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
                "  {}  key {}\n      {}\n      check the account, then: campaign-bot resolve {} published  (or not-published)",
                which(i, tz),
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
            "  {}  {}{}",
            which(&i, tz),
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

/// Which post an intent is, as `status` lists it: its slot's local time,
/// target, message and language.
fn which(i: &Intent, tz: chrono_tz::Tz) -> String {
    format!(
        "{}  {}  {} [{}]",
        local_time(i.slot.at, tz),
        i.target,
        i.message_id.as_deref().unwrap_or("-"),
        i.lang.as_ref().map(|l| l.as_str()).unwrap_or("-"),
    )
}

/// This data folder's daemon (SQLite store).
fn print_daemon(daemon: Option<&DaemonStatus>, tz: chrono_tz::Tz) {
    match daemon {
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
}

/// The replicas sharing a PostgreSQL store: which is active, which wait.
fn print_replicas(pg: &crate::store::postgres::PgStore) -> Result<(), CliError> {
    let replicas = pg.replicas()?;
    println!("store:      {} (shared by the replicas below)", pg.place());
    let who = |owner: &str| {
        crate::lease::Owner::parse(owner).map_or_else(|| owner.to_string(), |o| o.describe())
    };
    match &replicas.leader {
        Some((owner, epoch, left)) if *left > 0.0 => println!(
            "replicas:   active: {} (epoch {epoch}; its lease holds {left:.1} s more)",
            who(owner)
        ),
        _ => println!("replicas:   NONE ACTIVE: no replica holds the lease, nothing is posted"),
    }
    for (owner, active, ago) in &replicas.seen {
        if !active {
            println!("            standby: {} (seen {ago:.1} s ago)", who(owner));
        }
    }
    Ok(())
}
