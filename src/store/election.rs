//! Which `run` replica is active on a shared PostgreSQL store: a lease in
//! the database with a fencing epoch.
//!
//! One row, `leader`, says who is active (`holder`, a replica's
//! [`Owner`](crate::lease::Owner)), since which election (`epoch`, +1 at
//! each takeover) and until when (`expires_at`, by the database's clock,
//! so replicas' clocks do not matter). A replica takes the row only once
//! it has expired; the holder renews it every third of the lease, and
//! gives it up when it stops (a rolling update hands over at once).
//!
//! What the epoch fences:
//! - **Writes.** Every write transaction of a replica reads the row `FOR
//!   SHARE` and goes on only if this replica is the holder at its own epoch
//!   (see [`check`]); a takeover (which updates the row) waits for such a
//!   transaction, and any later write of the old holder is refused.
//! - **Sends.** A replica counts its term from *before* it asked, on its
//!   monotonic clock (which runs on while the process is stopped), minus a
//!   margin: it stops sending before the row can expire for the others
//!   ([`Standing::term`], checked before each send).
//! - **Claims.** A post claimed by a replica that is no longer the holder
//!   is taken over by the new active one at once (it looks on the network
//!   first), without waiting for the claim's own lease.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sql::{Db, DbError, Pg, args};

/// A term as active replica: its epoch, and until when (this process's
/// monotonic clock) it may send and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub epoch: i64,
    pub valid_until: Instant,
}

/// How much of a lease a replica gives up, for clock rates and the time a
/// request takes to reach the database: a fifth of it, at most 2 s.
pub fn margin(lease: Duration) -> Duration {
    (lease / 5).min(Duration::from_secs(2))
}

/// How often a standby asks whether the lease is free.
pub const STANDBY_POLL: Duration = Duration::from_secs(1);

/// This replica's place in the election, shared by the election's thread
/// (which renews it) and the store (which checks it before each write).
#[derive(Debug)]
pub struct Standing {
    me: String,
    lease: Duration,
    term: Mutex<Option<Term>>,
    /// When the election last reached the database (or started).
    reached: Mutex<Instant>,
}

impl Standing {
    pub fn new(me: String, lease: Duration) -> Standing {
        Standing {
            me,
            lease,
            term: Mutex::new(None),
            reached: Mutex::new(Instant::now()),
        }
    }

    pub fn me(&self) -> &str {
        &self.me
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// How long since the election last reached the database: about a
    /// second on a standby that reaches it (it looks every second), a
    /// third of the lease on the active one; more when it cannot (a cut
    /// connection may hang until the TCP timeout before it errs).
    pub fn since_reached(&self) -> Duration {
        self.reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    fn reached_now(&self) {
        *self.reached.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// The current term, if this replica is active and its term has not
    /// run out.
    pub fn term(&self) -> Option<Term> {
        let t = *self.term.lock().unwrap_or_else(|p| p.into_inner());
        t.filter(|t| Instant::now() < t.valid_until)
    }

    fn set(&self, term: Option<Term>) {
        *self.term.lock().unwrap_or_else(|p| p.into_inner()) = term;
    }

    fn term_from(&self, epoch: i64, asked_at: Instant) -> Term {
        Term {
            epoch,
            valid_until: asked_at + self.lease.saturating_sub(margin(self.lease)),
        }
    }
}

/// Goes on only if `standing`'s replica is still active: the holder of the
/// row at its epoch, within its term. Called first in each of its write
/// transactions; the share lock it takes holds a takeover off until the
/// transaction ends.
pub fn check(db: &mut dyn Db, standing: &Standing) -> Result<(), DbError> {
    let Some(term) = standing.term() else {
        return Err(DbError::NotActive);
    };
    let row = db
        .row(
            "SELECT holder, epoch FROM leader WHERE name = 'daemon' FOR SHARE",
            &[],
        )?
        .ok_or(DbError::NotActive)?;
    if row.text(0)? != standing.me || row.int(1)? != term.epoch {
        return Err(DbError::NotActive);
    }
    Ok(())
}

/// Whether `owner` (a claim's) is a replica that is no longer the active
/// one: its claims are void, since it can neither send nor record.
pub fn stood_down(db: &mut dyn Db, owner: &str) -> Result<bool, DbError> {
    let row = db.row(
        "SELECT EXISTS (SELECT 1 FROM replicas WHERE owner = ?1)
            AND NOT EXISTS (SELECT 1 FROM leader WHERE holder = ?1 AND expires_at > now())",
        args![owner],
    )?;
    Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0) != 0)
}

/// Takes the lead if the row has expired: the new epoch, or `None` while
/// another replica holds it.
fn try_acquire(db: &mut dyn Db, me: &str, lease: Duration) -> Result<Option<i64>, DbError> {
    let row = db.row(
        "UPDATE leader
            SET holder = ?1, epoch = epoch + 1,
                expires_at = now() + make_interval(secs => ?2::BIGINT / 1000.0::FLOAT8)
          WHERE name = 'daemon' AND expires_at < now()
      RETURNING epoch",
        args![me, lease.as_millis() as i64],
    )?;
    row.map(|r| r.int(0)).transpose()
}

/// Renews this replica's lease at `epoch`; false when it has lost it.
fn renew(db: &mut dyn Db, me: &str, epoch: i64, lease: Duration) -> Result<bool, DbError> {
    Ok(db.exec(
        "UPDATE leader SET expires_at = now() + make_interval(secs => ?3::BIGINT / 1000.0::FLOAT8)
          WHERE name = 'daemon' AND holder = ?1 AND epoch = ?2 AND expires_at > now()",
        args![me, epoch, lease.as_millis() as i64],
    )? == 1)
}

/// Gives the lease up (this replica stops): a standby takes over at its
/// next look instead of waiting for the lease to run out.
fn step_down(db: &mut dyn Db, me: &str, epoch: i64) -> Result<(), DbError> {
    db.exec(
        "UPDATE leader SET expires_at = '-infinity' WHERE name = 'daemon' AND holder = ?1 AND epoch = ?2",
        args![me, epoch],
    )?;
    db.exec("DELETE FROM replicas WHERE owner = ?1", args![me])?;
    Ok(())
}

/// Says this replica is alive (and whether active), for `status` and for
/// [`stood_down`].
fn heartbeat(db: &mut dyn Db, me: &str, term: Option<Term>) -> Result<(), DbError> {
    db.exec(
        "INSERT INTO replicas (owner, started_at, seen_at, active, epoch)
         VALUES (?1, now(), now(), ?2::BIGINT = 1, ?3)
         ON CONFLICT (owner) DO UPDATE SET seen_at = now(), active = excluded.active, epoch = excluded.epoch",
        args![me, i64::from(term.is_some()), term.map_or(0, |t| t.epoch)],
    )?;
    // Replicas not seen for an hour are gone (killed, or their host is).
    db.exec(
        "DELETE FROM replicas WHERE seen_at < now() - interval '1 hour'",
        &[],
    )?;
    Ok(())
}

/// Runs the election for `standing` until `stop` is set, on the calling
/// thread (a thread of its own, with its own connection, so that a long
/// query of the store never delays a renewal). When it stops, it gives the
/// lease up.
pub fn campaign(
    config: postgres::Config,
    standing: Arc<Standing>,
    stop: Arc<AtomicBool>,
    changed: impl Fn(Option<i64>),
) {
    let me = standing.me.clone();
    let lease = standing.lease;
    let mut client: Option<postgres::Client> = None;
    let mut failing_since: Option<Instant> = None;
    let mut was: Option<i64> = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            if let (Some(c), Some(t)) = (client.as_mut(), was) {
                standing.set(None);
                match step_down(&mut Pg(c), &me, t) {
                    Ok(()) => tracing::info!(epoch = t, "gave up the active replica's lease"),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot give up the lease; it runs out by itself")
                    }
                }
            }
            return;
        }
        let round = (|| -> Result<Option<i64>, DbError> {
            if client.as_ref().is_none_or(|c| c.is_closed()) {
                client = Some(super::pg_connect::connect(&config)?);
            }
            let db = &mut Pg(client.as_mut().expect("connected above"));
            let asked_at = Instant::now();
            let epoch = match standing.term() {
                Some(t) if renew(db, &me, t.epoch, lease)? => Some(t.epoch),
                _ => try_acquire(db, &me, lease)?,
            };
            standing.set(epoch.map(|e| standing.term_from(e, asked_at)));
            heartbeat(db, &me, standing.term())?;
            Ok(epoch)
        })();
        match round {
            Ok(now) => {
                failing_since = None;
                standing.reached_now();
                if now != was {
                    match (was, now) {
                        (_, Some(e)) => {
                            tracing::info!(epoch = e, "this replica is the active one now")
                        }
                        (Some(e), None) => tracing::warn!(
                            epoch = e,
                            "this replica lost the lease: another is active"
                        ),
                        (None, None) => {}
                    }
                    changed(now);
                    was = now;
                }
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if client.as_ref().is_some_and(|c| c.is_closed()) {
                    client = None;
                }
                tracing::warn!(error = %e, for_seconds = since.elapsed().as_secs(), "cannot reach the election's row; the term runs out by itself");
                if was.is_some() && standing.term().is_none() {
                    tracing::warn!("this replica's term ran out: it stops posting");
                    changed(None);
                    was = None;
                }
            }
        }
        let pause = if standing.term().is_some() {
            lease / 3
        } else {
            STANDBY_POLL
        };
        // In steps, so that a stop is noticed at once.
        let until = Instant::now() + pause;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The replicas as the database knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicas {
    /// The active replica, its epoch and how long its lease holds yet
    /// (seconds; negative: expired, nobody active).
    pub leader: Option<(String, i64, f64)>,
    /// Every replica seen in the last minute: owner, active, seconds since.
    pub seen: Vec<(String, bool, f64)>,
}

pub fn replicas(db: &mut dyn Db) -> Result<Replicas, DbError> {
    let leader = db
        .row(
            "SELECT holder, epoch, (EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::BIGINT
               FROM leader WHERE name = 'daemon' AND holder != '' AND expires_at > '-infinity'",
            &[],
        )?
        .map(|r| Ok::<_, DbError>((r.text(0)?, r.int(1)?, r.int(2)? as f64 / 1000.0)))
        .transpose()?;
    let seen = db
        .rows(
            "SELECT owner, active, (EXTRACT(EPOCH FROM (now() - seen_at)) * 1000)::BIGINT
               FROM replicas WHERE seen_at > now() - interval '1 minute' ORDER BY owner",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)? != 0, r.int(2)? as f64 / 1000.0)))
        .collect::<Result<_, DbError>>()?;
    Ok(Replicas { leader, seen })
}
