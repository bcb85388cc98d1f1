//! How many API calls the engagement checks make: 1,000 posts on each of
//! two networks (batches of 20 like Mastodon, 25 like Bluesky) published
//! over 30 days, checked by the daemon's own scheduling (`engagement::
//! next_run` + `engagement::run`) against counting fake networks, for 30
//! simulated days. Goal: at most 400 calls per network. Prints one line per
//! network; `scripts/bench.sh` puts it in the table.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use campaign_bot::campaign::Campaign;
use campaign_bot::clock::Clock;
use campaign_bot::config::{Config, Sources};
use campaign_bot::engagement;
use campaign_bot::model::{Lang, Published, Slot};
use campaign_bot::posts::Catalog;
use campaign_bot::publish::Publisher;
use campaign_bot::publish::fake::{Fake, FakeNetwork};
use campaign_bot::store::{Begin, Planned, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let posts: usize = std::env::var("BENCH_POSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let days: i64 = 30;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let env = [
        (
            "CAMPAIGN_BOT__DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        (
            "CAMPAIGN_BOT__TARGETS__MASTODON__KIND",
            "outbox".to_string(),
        ),
        ("CAMPAIGN_BOT__TARGETS__BLUESKY__KIND", "outbox".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Config::load(&Sources {
        file: Some(empty),
        env: Some(env),
    })
    .unwrap();
    let store = Arc::new(Store::open(&config.data_dir).unwrap());
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let end = start + Duration::days(days);
    // Posts spread evenly over the 30 days on each network.
    let step = Duration::seconds(days * 86_400 / posts as i64);
    for target in ["mastodon", "bluesky"] {
        for i in 0..posts {
            let at = start + step * i as i32;
            let slot = Slot {
                at,
                key: format!("{}#{i}", at.to_rfc3339()),
            };
            let plan = Planned {
                slot,
                target: target.into(),
                post: campaign_bot::model::Post {
                    message_id: format!("m{}", i % 10),
                    lang: Lang::new("en").unwrap(),
                    text: String::new(),
                    spoiler: None,
                    media: vec![],
                },
            };
            let Begin::New(intent) = store.begin(&plan, None, at).unwrap() else {
                unreachable!()
            };
            store
                .complete(
                    &intent.key,
                    &Published {
                        remote_id: format!("{target}-{i}"),
                        url: None,
                    },
                    at,
                    engagement::first_window(at, &config.checkpoints),
                )
                .unwrap();
        }
    }
    // Counting fake networks, batching as Mastodon (20) and Bluesky (25) do.
    let network = |batch| {
        Arc::new(FakeNetwork {
            counts: true,
            batch,
            ..Default::default()
        })
    };
    let (masto_net, sky_net) = (network(20), network(25));
    let masto = Arc::new(Fake::new("mastodon", masto_net.clone()));
    let sky = Arc::new(Fake::new("bluesky", sky_net.clone()));
    let campaign = Campaign::new(
        config,
        store,
        vec![
            masto.clone() as Arc<dyn Publisher>,
            sky.clone() as Arc<dyn Publisher>,
        ],
        Catalog::default(),
        Clock::System,
    );
    let mut runs = 0;
    let mut checked = 0;
    while let Some(next) = engagement::next_run(campaign.registry()).unwrap() {
        if next > end {
            break;
        }
        let summary = engagement::run(campaign.registry(), next, false)
            .await
            .unwrap();
        checked += summary.checked;
        runs += 1;
    }
    println!(
        "engagement calls over {days} days for {posts} posts per network: mastodon {}, bluesky {} ({runs} runs, {checked} checks)",
        masto_net.engagement_api_calls(),
        sky_net.engagement_api_calls()
    );
}
