//! campaign-bot: a scheduled daemon that posts a multilingual social-media
//! campaign (#WeTogether #Cities4Migration) exactly once per slot and target.
//!
//! # Layout
//! - [`config`]: typed settings from `config/default.toml`, a local file or
//!   `--config`, and `CAMPAIGN_BOT__…` variables; secrets by reference only.
//! - [`model`]: shared data: languages, messages, slots, results.
//! - [`posts`]: `posts/` → validated messages, problems with file and line.
//! - [`render`]: message + language → exact text, measured per network.
//! - [`checks`]: posts against targets' limits, dates and detected languages.
//! - [`rotation`]: which (message, language) next; pure and deterministic.
//! - [`schedule`]: cron + time zone → slot instants; pure; DST rules.
//! - [`plan`]: the events of a period, and the slots timed posts take; pure.
//! - [`store`]: SQLite state: intents, rotation positions, meta.
//! - [`lease`]: one daemon per data folder, one sender per intent.
//! - [`publish`]: the `Publisher` trait, the registry of networks
//!   ([`publish::network`]) and one home per network.
//! - [`targets`]: the configured targets built: publishers, pauses, limits.
//! - [`campaign`]: slot → intent → post, through the retry policy.
//! - [`daemon`]: the long-running loop, reloads and graceful shutdown.
//! - [`watch`]: noticing edits to `posts/`, the folder replaced included.
//! - [`engagement`]: when to check which post, batching, the JSONL log.
//! - [`report`]: summaries by message, language, target and day; CSV, JSON, HTML.
//! - [`commands`]: what each CLI command does; [`cli`]: its arguments.
//! - [`clock`]: system time, or tokio's pausable time in tests.
//!
//! Dependencies point one way: `commands → daemon → campaign → {posts,
//! rotation, schedule, render, store, publish} → model`.

pub mod alerts;
pub mod calendar;
pub mod campaign;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod engagement;
pub mod health;
pub mod lease;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod posts;
pub mod private;
pub mod publish;
pub mod render;
pub mod report;
pub mod rotation;
pub mod schedule;
pub mod secret;
pub mod server;
pub mod store;
pub mod targets;
pub mod watch;
