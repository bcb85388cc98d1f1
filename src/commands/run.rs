//! `campaign-bot run [--dry-run]`: the daemon, until SIGTERM or Ctrl-C.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{CliError, build_campaign, data_dir, exit, load_catalog};
use crate::clock::Clock;
use crate::config::Config;
use crate::daemon::{self, RunOptions};
use crate::lease::{DaemonLock, LockError};
use crate::posts::Severity;
use crate::replica::Ended;

pub async fn run(config: &Config, dry_run: bool) -> Result<ExitCode, CliError> {
    // Started inside `posts/` by mistake: said, and nothing written. (A
    // posts folder merely missing is waited for: it may be mounted later.)
    if crate::posts::here_is_a_posts_folder() {
        super::require_posts_folder(config)?;
    }
    // One daemon per data folder, held until this process ends.
    let _lock = DaemonLock::acquire(&data_dir(config, dry_run)).map_err(|e| match e {
        LockError::Held { .. } => CliError::Usage(e.to_string()),
        LockError::Io { .. } => CliError::Failed(e.to_string()),
    })?;
    let mut catalog = load_catalog(config);
    // Told once here; the daemon keeps only that they were (see `reload`).
    for p in &catalog.take_problems() {
        match p.severity {
            Severity::Error => tracing::error!(problem = %p, "post file left out"),
            Severity::Warning => tracing::warn!(problem = %p, "post file warning"),
        }
    }
    // The words wait on disk until their slot (see `posts::parked`); if
    // the data folder will not take them, they stay in memory.
    if let Err(e) = catalog.park(&data_dir(config, dry_run)) {
        tracing::warn!(error = %e, "cannot keep the posts' words in the data folder; holding them in memory");
    }
    let campaign = build_campaign(config, catalog, dry_run, Clock::System)?;
    for b in campaign.registry().broken() {
        tracing::error!(target_name = b.target, "{b}; the others run");
    }
    if campaign.targets().next().is_none() {
        return Err(CliError::Usage(
            "no target can run; see the errors above (`campaign-bot validate` shows them too)"
                .into(),
        ));
    }
    let (limits, notes) = campaign.registry().refresh_limits().await;
    for n in notes {
        tracing::warn!("{n}");
    }
    for (target, l) in limits {
        tracing::info!(target_name = target, limits = %l, "limits");
    }
    if let Some(alerts) = &config.alerts {
        let started = crate::alerts::Alerts::start(alerts)
            .map_err(|e| CliError::Usage(format!("alerts: {e}")))?;
        campaign.registry().set_alerts(started);
        tracing::info!("alerts go to the configured webhook");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    if let Some(addr) = config.listen {
        crate::server::start(addr, campaign.clone(), shutdown.clone())
            .await
            .map_err(|e| {
                CliError::Usage(format!(
                    "cannot listen on {addr} (server.listen): {e}; choose a free address or set server.listen = \"\""
                ))
            })?;
    }
    let options = RunOptions {
        watch: true,
        dry_run,
        data_dir: data_dir(config, dry_run),
        give_back_memory: true,
    };
    if let Some(store) = config.store.as_ref().filter(|_| !dry_run) {
        return match crate::replica::serve(campaign, options, shutdown, store.lease).await? {
            Ended::Stopped => Ok(ExitCode::from(exit::OK)),
            Ended::LostLease => Err(CliError::Failed(
                "this replica's term as the active one ended (another replica took over, or the database could not be reached in time): it stopped posting, and exits so that it starts again as a standby".into(),
            )),
        };
    }
    daemon::run(campaign, options, shutdown).await?;
    Ok(ExitCode::from(exit::OK))
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
    }
    shutdown.cancel();
}
