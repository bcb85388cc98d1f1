//! The daemon's optional HTTP endpoint (`[server] listen`): what the service
//! did and will do, for operations.
//!
//! - `GET /healthz`: the process answers (liveness).
//! - `GET /readyz`: the verdict of `status --health`, 200 or 503 with the
//!   reason, as JSON.
//! - `GET /metrics`: Prometheus text format (see [`crate::metrics`]).
//! - `GET /calendar.ics`: the coming 14 days' posts (200 slots at most;
//!   target, message,
//!   language; not their texts, which are not public before they go out:
//!   `preview --ics` has them).
//!
//! It binds where configured and nowhere else, answers GET only, and can
//! never hold posting up: it runs on its own task, at most
//! [`MAX_CONNECTIONS`] connections at once (the next wait in the kernel's
//! queue), each given [`HEADER_TIMEOUT`] to send its request and
//! [`CONNECTION_TIMEOUT`] in all.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::campaign::Campaign;
use crate::health::{self, DaemonStatus};
use crate::metrics::States;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a client has to send its request's head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a connection may last in all.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Days the endpoint's calendar covers…
const CALENDAR_DAYS: i64 = 14;
/// …at most this many slots of them.
const CALENDAR_SLOTS: usize = 200;

/// Binds `addr` (an error names it) and serves until `shutdown`.
pub async fn start(
    addr: SocketAddr,
    campaign: Arc<Campaign>,
    shutdown: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!("HTTP endpoint on http://{bound}: /healthz, /readyz, /metrics, /calendar.ics");
    Ok(tokio::spawn(serve(listener, campaign, shutdown)))
}

fn router(campaign: Arc<Campaign>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/calendar.ics", get(calendar))
        .with_state(campaign)
}

async fn serve(listener: TcpListener, campaign: Arc<Campaign>, shutdown: CancellationToken) {
    let app = router(campaign);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTP endpoint: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            // A client that reads slowly or never is cut off.
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
        });
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

async fn readyz(State(campaign): State<Arc<Campaign>>) -> Response {
    let verdict = tokio::task::spawn_blocking(move || {
        let config = campaign.config();
        let daemon = DaemonStatus::read(&config.data_dir);
        let verdict = health::health(config, campaign.store(), daemon.as_ref())?;
        Ok::<_, crate::store::StoreError>((verdict, replica(&campaign)?))
    })
    .await;
    let with_replica = |mut body: serde_json::Value, replica: Option<serde_json::Value>| {
        if let Some(r) = replica {
            body["replica"] = r;
        }
        body
    };
    match verdict {
        Ok(Ok((None, replica))) => json(
            StatusCode::OK,
            with_replica(serde_json::json!({ "ready": true }), replica),
        ),
        Ok(Ok((Some(why), replica))) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            with_replica(
                serde_json::json!({ "ready": false, "reason": why }),
                replica,
            ),
        ),
        Ok(Err(e)) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "ready": false, "reason": e.to_string() }),
        ),
        Err(_) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "ready": false, "reason": "the health check did not finish" }),
        ),
    }
}

/// On a replica of a shared store: whether it is the active one, and which
/// is. A standby is ready too: ready to take over.
fn replica(campaign: &Campaign) -> Result<Option<serde_json::Value>, crate::store::StoreError> {
    let Some(pg) = campaign.store().postgres() else {
        return Ok(None);
    };
    let replicas = pg.replicas()?;
    let me = pg.standing().map(|s| (s.me().to_string(), s.term()));
    Ok(Some(serde_json::json!({
        "this": me.as_ref().map(|(m, _)| m.clone()),
        "role": match &me {
            Some((_, Some(_))) => "active",
            Some((_, None)) => "standby",
            None => "not a replica",
        },
        "active": replicas.leader.as_ref().filter(|l| l.2 > 0.0).map(|l| l.0.clone()),
        "epoch": replicas.leader.as_ref().map(|l| l.1),
    })))
}

async fn metrics(State(campaign): State<Arc<Campaign>>) -> Response {
    let c = campaign.clone();
    let states = tokio::task::spawn_blocking(move || states(&c))
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        campaign.registry().metrics().encode(&states),
    )
        .into_response()
}

/// What `/metrics` reads at each scrape.
fn states(campaign: &Campaign) -> States {
    let config = campaign.config();
    let now = chrono::Utc::now();
    let next_slot_seconds = DaemonStatus::read(&config.data_dir)
        .and_then(|d| d.next_event)
        .map(|t| (t - now).num_milliseconds().max(0) as f64 / 1000.0);
    let paused = config
        .targets
        .iter()
        .map(|t| {
            let p = crate::targets::paused(campaign.store(), &t.name)
                .ok()
                .flatten()
                .is_some();
            (t.name.clone(), p)
        })
        .collect();
    let mut rate_limit_remaining: Vec<(String, u64)> = Vec::new();
    for t in campaign.targets() {
        if let Some(p) = campaign.publisher(&t.name)
            && let Some(left) = p.remaining_calls()
        {
            match rate_limit_remaining.iter_mut().find(|(n, _)| n == p.kind()) {
                Some((_, l)) => *l = (*l).min(left),
                None => rate_limit_remaining.push((p.kind().to_string(), left)),
            }
        }
    }
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let store_bytes = campaign.store().sqlite_path().and_then(|db| {
        let wal = db.with_extension("db-wal");
        size(db).map(|b| b + size(&wal).unwrap_or(0))
    });
    let replica_active = campaign
        .store()
        .postgres()
        .and_then(|pg| pg.standing())
        .map(|s| s.term().map_or(0, |t| t.epoch));
    States {
        next_slot_seconds,
        paused,
        rate_limit_remaining,
        store_bytes,
        replica_active,
    }
}

async fn calendar(State(campaign): State<Arc<Campaign>>) -> Response {
    let c = campaign.clone();
    let feed = tokio::task::spawn_blocking(move || {
        let config = c.config();
        let catalog = c.catalog();
        let mut states = c.store().rotations(config.target_names())?;
        let now = chrono::Utc::now();
        // 14 days, or fewer on a schedule so fast that they would hold
        // more than CALENDAR_SLOTS slots (each request costs its plan).
        let until = config
            .schedule
            .upcoming(now, CALENDAR_SLOTS)
            .last()
            .copied()
            .unwrap_or(now)
            .min(now + chrono::Duration::days(CALENDAR_DAYS));
        let upcoming = crate::plan::upcoming(config, &catalog, &mut states, now, until);
        Ok::<_, crate::store::StoreError>(crate::calendar::feed(
            config,
            &catalog,
            &upcoming,
            now,
            crate::calendar::Texts::Left,
        ))
    })
    .await;
    match feed {
        Ok(Ok(feed)) => (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            feed,
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the calendar cannot be made now (the state store cannot be read)\n",
        )
            .into_response(),
    }
}
