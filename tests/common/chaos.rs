//! What the crash and failover suites share: the local Bluesky network's
//! account, and a seeded random source so every run faults the same way.

use std::collections::HashMap;
use std::time::Duration;

/// The bot's account on the local Bluesky network (scripts/test.sh starts it).
pub struct Sky {
    pub pds: String,
    pub handle: String,
    pub password: String,
    pub did: String,
}

pub fn sky() -> Sky {
    let file = std::env::var("BSKY_ENV_FILE")
        .unwrap_or_else(|_| "/var/tmp/campaign-bot/bsky-net/env".into());
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("the local Bluesky network is not running ({file}: {e}); run scripts/test.sh")
    });
    let vars: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    Sky {
        pds: vars["BSKY_PDS_URL"].to_string(),
        handle: vars["BOT_HANDLE"].to_string(),
        password: vars["BOT_PASSWORD"].to_string(),
        did: vars["BOT_DID"].to_string(),
    }
}

/// xorshift: random enough, and the same run every time.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A duration between `lo` and `hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}
