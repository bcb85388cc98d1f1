//! The failover suite (issue 30): three `run` replicas of the real binary
//! share one PostgreSQL store and post every six seconds to the outbox (one
//! file for all of them) and to the real local Bluesky network. Again and
//! again, at a random moment, the active replica is
//! - killed (`SIGKILL`), and started again a second later, as an
//!   orchestrator would;
//! - paused (`SIGSTOP`) past the end of its lease, then woken (`SIGCONT`):
//!   it must not send, and exits so that it comes back as a standby;
//! - cut off from the database: a TCP proxy between it and PostgreSQL stops
//!   forwarding (what it had sent is held, not lost), and forwards again
//!   once another replica has taken over — its late statements then reach
//!   the database, and must change nothing.
//!
//! Then everything is counted: no post twice, none for a slot recorded as
//! not posted, every slot of the run recorded on every target (posted, or
//! not with the reason), none missed, and the takeover times (from the
//! fault to another replica holding the lease) printed.
//!
//! It needs the local Bluesky network (`BSKY_ENV_FILE`) and a PostgreSQL
//! server (`CAMPAIGN_BOT_TEST_PG_URL`): `scripts/test.sh` starts both.

mod common;

use common::chaos::{Rng, Sky, sky};
use common::pg_proxy::Proxy;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use campaign_bot::config::Secret;
use campaign_bot::publish::bluesky::record_key;
use campaign_bot::publish::outbox::read_lines;
use campaign_bot::store::{IntentState, Store};

/// Slots every six seconds: longer than a takeover, so that no slot is
/// superseded by the next while nobody is active.
const SLOTS: &str = "*/6 * * * * *";
const SLOT_SECONDS: i64 = 6;
/// The shortest lease the configuration takes.
const LEASE: Duration = Duration::from_secs(3);
const REPLICAS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Kill,
    Pause,
    Partition,
}

/// The faults, in a shuffled but fixed order.
const FAULTS: [Fault; 10] = [
    Fault::Kill,
    Fault::Pause,
    Fault::Partition,
    Fault::Kill,
    Fault::Partition,
    Fault::Kill,
    Fault::Pause,
    Fault::Kill,
    Fault::Partition,
    Fault::Pause,
];

/// One replica: its own data folder and its own way to the database.
struct Replica {
    name: String,
    data: PathBuf,
    proxy: Proxy,
    url: String,
    child: Option<Child>,
}

impl Replica {
    fn spawn(&mut self, work: &Path, sky: &Sky) {
        let log = || -> Stdio {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(work.join(format!("{}.log", self.name)))
                .unwrap()
                .into()
        };
        let mut cmd = common::bot_command();
        cmd.current_dir(work)
            .env("LOG_FORMAT", "json")
            .env("CAMPAIGN_BOT__DATA_DIR", &self.data)
            .env("CAMPAIGN_BOT__STORE__URL_ENV", "FAILOVER_STORE_URL")
            .env("FAILOVER_STORE_URL", &self.url)
            .env(
                "CAMPAIGN_BOT__STORE__LEASE",
                format!("{}s", LEASE.as_secs()),
            )
            .env("CAMPAIGN_BOT__SCHEDULE__SLOTS", SLOTS)
            .env("CAMPAIGN_BOT__SCHEDULE__GRACE", "2m")
            .env("CAMPAIGN_BOT__TARGETS__OUTBOX__KIND", "outbox")
            .env(
                "CAMPAIGN_BOT__TARGETS__OUTBOX__PATH",
                work.join("outbox.jsonl"),
            )
            .env("CAMPAIGN_BOT__TARGETS__SKY__KIND", "bluesky")
            .env("CAMPAIGN_BOT__TARGETS__SKY__SERVICE", &sky.pds)
            .env("CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER", &sky.handle)
            .env("CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV", "SKY_PASSWORD")
            .env("SKY_PASSWORD", &sky.password)
            .arg("run")
            .stdout(log())
            .stderr(log());
        self.child = Some(cmd.spawn().unwrap());
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the replica runs");
        Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
    }

    /// Its exit status, once it has exited (the child is then forgotten).
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// The lease as the database holds it: holder, epoch, and whether it is
/// still running.
fn leader(db: &mut postgres::Client) -> (String, i64, bool) {
    let row = db
        .query_one(
            "SELECT holder, epoch, expires_at > now() FROM leader WHERE name = 'daemon'",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn pid_of(holder: &str) -> Option<u32> {
    campaign_bot::lease::Owner::parse(holder).map(|o| o.pid)
}

/// `url` with its host and port replaced.
fn via(url: &str, host: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_host(Some(host)).unwrap();
    u.set_port(Some(port)).unwrap();
    u.to_string()
}

#[test]
fn replicas_survive_kills_pauses_and_partitions_with_each_slot_once() {
    let Some(url) = campaign_bot::store::postgres::test_database() else {
        panic!("CAMPAIGN_BOT_TEST_PG_URL names no PostgreSQL server; run scripts/test.sh");
    };
    let url = url.expose().to_string();
    let parsed = url::Url::parse(&url).unwrap();
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let sky = sky();
    let work = common::workdir_with_text_posts();
    let work = work.path();

    let mut replicas: Vec<Replica> = (0..REPLICAS)
        .map(|i| {
            let proxy = Proxy::start(upstream.clone());
            Replica {
                name: format!("replica-{i}"),
                data: work.join(format!("data-{i}")),
                url: via(&url, "127.0.0.1", proxy.port),
                proxy,
                child: None,
            }
        })
        .collect();
    for r in &mut replicas {
        r.spawn(work, &sky);
    }
    // The database as the test sees it: directly, not through a proxy.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let started = Instant::now();
    loop {
        let ready = db
            .query_opt("SELECT 1 FROM pg_tables WHERE tablename = 'leader'", &[])
            .unwrap()
            .is_some();
        if ready && leader(&mut db).2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no replica became active"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut rng = Rng(0x2545F4914F6CDD1D);
    let mut takeovers: Vec<(Fault, Duration)> = Vec::new();
    let mut woke_and_left = 0;
    let mut restarts = 0;
    let mut status_checked = false;
    let suite = Instant::now();
    for &fault in &FAULTS {
        // Every replica up and one of them active, holding its term for a
        // while; any that exited on its own is started again.
        let settled = Instant::now();
        let (holder, epoch) = loop {
            for r in &mut replicas {
                if r.child.is_none() || r.exited().is_some() {
                    r.proxy.set_cut(false);
                    r.spawn(work, &sky);
                    restarts += 1;
                }
            }
            let (holder, epoch, valid) = leader(&mut db);
            let ours = replicas.iter().any(|r| r.pid() == pid_of(&holder));
            if valid && ours && settled.elapsed() > Duration::from_secs(2) {
                break (holder, epoch);
            }
            assert!(
                settled.elapsed() < Duration::from_secs(60),
                "no replica active for a minute"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        if !status_checked {
            // `status` from anywhere names the active replica and the
            // standbys.
            let out = common::bot_command()
                .current_dir(work)
                .env("CAMPAIGN_BOT__STORE__URL_ENV", "FAILOVER_STORE_URL")
                .env("FAILOVER_STORE_URL", &url)
                .env("CAMPAIGN_BOT__DATA_DIR", work.join("data-status"))
                .arg("status")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let active_pid = pid_of(&holder).unwrap();
            assert!(
                text.contains(&format!("active: pid {active_pid} ")),
                "status does not name the active replica (pid {active_pid}):\n{text}"
            );
            assert_eq!(
                text.matches("standby: pid").count(),
                REPLICAS - 1,
                "status does not list the standbys:\n{text}"
            );
            assert!(!text.contains(&url), "status printed the store's URL");
            status_checked = true;
        }
        std::thread::sleep(rng.millis(100, 6000));
        let active = replicas
            .iter()
            .position(|r| r.pid() == pid_of(&holder))
            .expect("the active replica is one of ours");
        let at = Instant::now();
        match fault {
            Fault::Kill => replicas[active].signal("-KILL"),
            Fault::Pause => replicas[active].signal("-STOP"),
            Fault::Partition => replicas[active].proxy.set_cut(true),
        }
        let took = loop {
            let (h, e, valid) = leader(&mut db);
            if valid && h != holder {
                assert!(e > epoch, "a new term with an older epoch");
                break at.elapsed();
            }
            assert!(
                at.elapsed() < Duration::from_secs(30),
                "no takeover within 30 s of {fault:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        takeovers.push((fault, took));
        let old = &mut replicas[active];
        match fault {
            Fault::Kill => {
                old.wait_exit(Duration::from_secs(5))
                    .expect("a killed replica exits");
                std::thread::sleep(Duration::from_secs(1));
            }
            Fault::Pause => {
                // Woken after its lease has passed to another: it must see
                // that it lost its term before doing anything, and leave.
                std::thread::sleep(Duration::from_secs(2));
                old.signal("-CONT");
                let status = old
                    .wait_exit(Duration::from_secs(15))
                    .expect("a replica woken after its term exits");
                assert!(!status.success(), "it says it lost its term");
                woke_and_left += 1;
            }
            Fault::Partition => {
                // It cannot renew, so it stops and leaves on its own; then
                // the link heals and what it had sent arrives late.
                let status = old.wait_exit(Duration::from_secs(15));
                old.proxy.set_cut(false);
                let status = status
                    .or_else(|| old.wait_exit(Duration::from_secs(30)))
                    .expect("a replica cut off from the database exits");
                assert!(!status.success(), "it says it lost its term");
                woke_and_left += 1;
            }
        }
    }
    // The last slots, then a clean stop of every replica.
    for r in &mut replicas {
        if r.child.is_none() || r.exited().is_some() {
            r.spawn(work, &sky);
            restarts += 1;
        }
    }
    std::thread::sleep(Duration::from_secs(SLOT_SECONDS as u64 * 2));
    for r in &replicas {
        r.signal("-TERM");
    }
    for r in &mut replicas {
        let status = r
            .wait_exit(Duration::from_secs(20))
            .expect("a replica stops on SIGTERM");
        assert!(status.success(), "{} did not stop cleanly", r.name);
    }
    let run_time = suite.elapsed();

    let store = Store::open_postgres(&Secret::new(url.clone())).unwrap();
    let intents = store.all_intents().unwrap();
    let in_flight: BTreeSet<&str> = intents
        .iter()
        .filter(|i| matches!(i.state, IntentState::Pending | IntentState::Uncertain))
        .map(|i| i.key.as_str())
        .collect();

    // Every slot from the first to the last has a record on each target.
    let mut by_target: BTreeMap<&str, BTreeMap<DateTime<Utc>, IntentState>> = BTreeMap::new();
    for i in intents.iter().filter(|i| !i.slot.key.contains('/')) {
        by_target
            .entry(i.target.as_str())
            .or_default()
            .insert(i.slot.at, i.state);
    }
    assert_eq!(by_target.len(), 2, "both targets have slots");
    let mut unexplained = 0;
    for (target, slots) in &by_target {
        let (first, last) = (*slots.keys().next().unwrap(), *slots.keys().last().unwrap());
        let mut t = first;
        while t <= last {
            if !slots.contains_key(&t) {
                unexplained += 1;
                eprintln!("{target}: no record for the slot {t}");
            }
            t += chrono::Duration::seconds(SLOT_SECONDS);
        }
    }

    // Outbox: one line per published slot, none twice, none for a slot
    // recorded as not posted.
    let lines = read_lines(&work.join("outbox.jsonl")).unwrap();
    let mut outbox_keys: HashMap<&str, usize> = HashMap::new();
    for l in &lines {
        *outbox_keys.entry(l.key.as_str()).or_default() += 1;
    }
    let outbox_duplicates = outbox_keys.values().filter(|&&n| n > 1).count();
    let published: BTreeSet<&str> = intents
        .iter()
        .filter(|i| i.target == "outbox" && i.state == IntentState::Published)
        .map(|i| i.key.as_str())
        .collect();
    let outbox_orphans = outbox_keys
        .keys()
        .filter(|k| !published.contains(**k) && !in_flight.contains(**k))
        .count();
    let outbox_unposted = published
        .iter()
        .filter(|k| !outbox_keys.contains_key(**k))
        .count();
    // How late the outbox posts went out after their slot.
    let mut late: Vec<f64> = lines
        .iter()
        .filter_map(|l| {
            let posted = DateTime::parse_from_rfc3339(&l.posted_at).ok()?;
            let slot = DateTime::parse_from_rfc3339(&l.slot).ok()?;
            Some((posted - slot).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    late.sort_by(f64::total_cmp);

    // Bluesky: a record under each published slot's key (one key a slot,
    // so a second record for a slot cannot exist), none for the others.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut sky_missing, mut sky_orphans) = (0, 0);
    for i in intents.iter().filter(|i| i.target == "sky") {
        let rkey = record_key(&i.slot.key, i.slot.at, "sky");
        let exists = rt
            .block_on(common::bsky_post_record(&sky.pds, &sky.did, &rkey))
            .get("uri")
            .is_some();
        match (i.state, exists) {
            (IntentState::Published, false) => sky_missing += 1,
            (IntentState::Published, true)
            | (IntentState::Pending | IntentState::Uncertain, _)
            | (_, false) => {}
            (_, true) => sky_orphans += 1,
        }
    }

    let count = |s: IntentState| intents.iter().filter(|i| i.state == s).count();
    let missed: Vec<&campaign_bot::store::Intent> = intents
        .iter()
        .filter(|i| i.state == IntentState::Skipped)
        .collect();
    for i in &missed {
        eprintln!(
            "{} {}: not posted: {}",
            i.target,
            i.slot.key,
            i.error.as_deref().unwrap_or("-")
        );
    }
    let mut times: Vec<Duration> = takeovers.iter().map(|t| t.1).collect();
    times.sort();
    let median = times[times.len() / 2];
    let max = *times.last().unwrap();
    let by_fault = |f: Fault| takeovers.iter().filter(|t| t.0 == f).count();
    println!(
        "failover suite: {REPLICAS} replicas, lease {LEASE:?}, slots every {SLOT_SECONDS} s, {:.0?}: \
         {} kills, {} pauses, {} partitions survived ({woke_and_left} replicas woke or reconnected after their term and left; {restarts} restarts); \
         takeover median {median:.2?}, max {max:.2?} (each: {:?}); \
         {} slot records: {} posted, {} not posted, {} failed, {} uncertain, {} in flight at the stop; \
         duplicates: outbox {outbox_duplicates}, bluesky 0 (one record key a slot); \
         posts without a published slot: outbox {outbox_orphans}, bluesky {sky_orphans}; \
         published slots without their post: outbox {outbox_unposted}, bluesky {sky_missing}; \
         unexplained missing slots: {unexplained}; outbox lateness median {:.1} s, max {:.1} s",
        run_time,
        by_fault(Fault::Kill),
        by_fault(Fault::Pause),
        by_fault(Fault::Partition),
        takeovers
            .iter()
            .map(|t| t.1.as_millis())
            .collect::<Vec<_>>(),
        intents.len(),
        count(IntentState::Published),
        missed.len(),
        count(IntentState::Failed),
        count(IntentState::Uncertain),
        count(IntentState::Pending),
        late.get(late.len() / 2).copied().unwrap_or(0.0),
        late.last().copied().unwrap_or(0.0),
    );
    assert!(
        count(IntentState::Published) > 20,
        "too few posts to mean anything"
    );
    assert_eq!(outbox_duplicates, 0, "duplicates in the outbox");
    assert_eq!(
        outbox_orphans + sky_orphans,
        0,
        "posts for slots recorded as not posted"
    );
    assert_eq!(
        outbox_unposted + sky_missing,
        0,
        "slots recorded as posted without their post"
    );
    assert_eq!(unexplained, 0, "unexplained missing slots");
    assert_eq!(missed.len(), 0, "slots not posted");
    assert_eq!(count(IntentState::Failed), 0, "failed posts");
    assert_eq!(count(IntentState::Uncertain), 0, "posts left uncertain");
}
