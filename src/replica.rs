//! Active and standby: `run` on a shared PostgreSQL store (`[store]`).
//!
//! Every replica runs the election ([`crate::store::election`]) on a
//! thread of its own. A standby waits (its HTTP endpoint answers, its
//! `/readyz` names the active replica); the one that holds the lease runs
//! the daemon ([`crate::daemon::run`]) and every one of its store writes is
//! fenced by its epoch. When a replica's term ends (it could not renew in
//! time: paused, cut off from the database, or another took over), it
//! stops posting at once and exits with an error, so that its
//! orchestrator starts it again, fresh, as a standby — as Kubernetes'
//! own controllers do when they lose their lease: no state of a past term
//! lives on in the process. On SIGTERM it finishes what is in flight, then
//! gives the lease up, so a rolling update hands over without waiting for
//! the lease to run out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::alerts::{Alerts, Cause};
use crate::campaign::Campaign;
use crate::daemon::{self, RunOptions, SHUTDOWN_WAIT};
use crate::health::DaemonStatus;
use crate::lease::Owner;
use crate::store::StoreError;
use crate::store::election::{self, Standing};

/// How often the daemon's side looks at its term (the election's thread
/// may be stuck on a cut connection: the term runs out by the clock).
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// How a replica's run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Stopped on request (SIGTERM), the lease given up.
    Stopped,
    /// Its term ended: it stopped posting; start it again as a standby.
    LostLease,
}

/// Runs this replica until `shutdown`, or until it loses the lease.
pub async fn serve(
    campaign: Arc<Campaign>,
    options: RunOptions,
    shutdown: CancellationToken,
    lease: Duration,
) -> Result<Ended, StoreError> {
    let pg = campaign
        .store()
        .postgres()
        .expect("replicas run on a PostgreSQL store");
    let standing = Arc::new(Standing::new(Owner::current().encode(), lease));
    pg.fence_with(standing.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let election = {
        let (config, standing, stop) = (pg.config().clone(), standing.clone(), stop.clone());
        std::thread::Builder::new()
            .name("election".into())
            .spawn(move || election::campaign(config, standing, stop, |_| {}))
            .map_err(|e| StoreError::Replica(format!("cannot start the election's thread: {e}")))?
    };
    let status = |running: bool| DaemonStatus {
        pid: std::process::id(),
        started_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        next_event: None,
        running,
        dry_run: options.dry_run,
    };
    let served = CancellationToken::new();
    tokio::spawn(alert_when_unreachable(
        standing.clone(),
        campaign.registry().alerts().clone(),
        pg.place().to_string(),
        served.clone(),
    ));
    tracing::info!(
        replica = standing.me(),
        lease_seconds = lease.as_secs_f64(),
        "standby: waiting to become the active replica"
    );
    status(true).write(&options.data_dir);
    // Standby until the lease is ours (or we are told to stop).
    let ended = loop {
        if let Some(term) = standing.term() {
            tracing::info!(epoch = term.epoch, "active: this replica posts now");
            break Some(term);
        }
        tokio::select! {
            _ = shutdown.cancelled() => break None,
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
    };
    let ended = match ended {
        None => Ended::Stopped,
        Some(_) => {
            let term_over = shutdown.child_token();
            let watch = {
                let (standing, term_over, served) =
                    (standing.clone(), term_over.clone(), served.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = term_over.cancelled() => return false,
                            _ = tokio::time::sleep(LOOK_EVERY) => {}
                        }
                        if standing.term().is_none() {
                            term_over.cancel();
                            // Leaving: an alert raised now would never be
                            // resolved (the standbys tell it).
                            served.cancel();
                            return true;
                        }
                    }
                })
            };
            let mut run = tokio::spawn(daemon::run(
                campaign.clone(),
                options.clone(),
                term_over.clone(),
            ));
            let mut watch = watch;
            let lost = tokio::select! {
                r = &mut run => {
                    term_over.cancel();
                    r.map_err(|e| StoreError::Replica(format!("the daemon stopped: {e}")))??;
                    (&mut watch).await.unwrap_or(false)
                }
                lost = &mut watch => {
                    let lost = lost.unwrap_or(false);
                    // Sends and writes are fenced already; the daemon has
                    // its shutdown wait to wind down, and no more.
                    let _ = tokio::time::timeout(SHUTDOWN_WAIT + Duration::from_secs(1), &mut run).await;
                    lost
                }
            };
            if lost && !shutdown.is_cancelled() {
                Ended::LostLease
            } else {
                Ended::Stopped
            }
        }
    };
    served.cancel();
    stop.store(true, Ordering::SeqCst);
    // The election's thread gives the lease up (after the daemon stopped,
    // so that nothing is in flight when a standby takes over). Cut off from
    // the database it may be stuck in a call until the connection times
    // out: a term already lost has nothing to give up, so that is not
    // waited for.
    let give_up = if ended == Ended::LostLease {
        Duration::from_secs(1)
    } else {
        SHUTDOWN_WAIT
    };
    let _ = tokio::time::timeout(
        give_up,
        tokio::task::spawn_blocking(move || election.join()),
    )
    .await;
    status(false).write(&options.data_dir);
    Ok(ended)
}

/// Alerts (`[alerts]`) when this replica has not reached the shared store
/// for longer than a lease and a look — then, if no replica can, none is
/// active and nothing is posted — and says so again once it reaches it. A
/// standby stays to tell it; an active replica cut off stops and starts
/// again (the standbys, cut off too, raise the alert). All replicas dead is
/// seen from outside: the `campaign_bot_replica_active` metric
/// (docs/operations.md).
async fn alert_when_unreachable(
    standing: Arc<Standing>,
    alerts: Alerts,
    place: String,
    served: CancellationToken,
) {
    let after = standing.lease() + election::STANDBY_POLL;
    let mut raised = false;
    loop {
        tokio::select! {
            _ = served.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let gone = standing.since_reached();
        if !raised && gone > after {
            raised = true;
            alerts.raise(
                Cause::SharedStore,
                format!(
                    "This replica ({}) has not reached the shared store at {place} for {} s: while no replica can, none is active and nothing is posted. Check the database and the network to it; slots are posted late, within the grace, once a replica reaches it.",
                    standing.me(),
                    gone.as_secs()
                ),
            );
        } else if raised && gone < after {
            raised = false;
            alerts.clear(Cause::SharedStore);
        }
    }
}
