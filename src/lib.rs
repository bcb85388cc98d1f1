//! campaign-bot: a scheduled daemon that posts a multilingual social-media
//! campaign (#WeTogether #Cities4Migration) exactly once per slot and target.
//!
//! # Layout
//! Layers, from the bottom; a module uses only those below it (checked by
//! `scripts/import-graph.py` in `tests/architecture.rs`). ARCHITECTURE.md
//! has the code map and the invariants.
//! - data: [`model`] (languages, messages, slots, results), [`clock`]
//!   (system time, or tokio's pausable time in tests), [`secret`] (secrets
//!   by reference, never printable), [`private`] (files only the bot may
//!   read), [`metrics`], [`watch`] (noticing edits to `posts/`),
//!   [`memory`] (giving memory back before a long sleep).
//! - pure core: [`render`] (message + language → exact text, measured by
//!   each way of counting), [`schedule`] (cron + time zone → slots; DST),
//!   [`rotation`] (which message and language next), [`posts`] (`posts/` →
//!   messages and problems with file and line).
//! - state: [`store`] (SQLite, or PostgreSQL shared by replicas: intents,
//!   claims, rotation, engagement, meta; the election of the active
//!   replica), [`lease`] (one daemon per data folder, one sender per
//!   intent).
//! - networks: [`publish`] (the engine's contract, the set-up contract,
//!   profiles, one folder per network, [`publish::registry`]).
//! - [`config`]: typed settings from `config/default.toml`, a local file or
//!   `--config`, and `CAMPAIGN_BOT__…` variables; a target's network keys
//!   are read by the registry.
//! - checks and views: [`plan`] (the one planner), [`checks`], [`targets`]
//!   (the targets built), [`health`] (the one health verdict), [`alerts`],
//!   [`calendar`], [`report`].
//! - engine: [`campaign`] (event → intent → post → outcome), [`engagement`].
//! - running: [`daemon`], [`replica`] (active and standby on a shared
//!   PostgreSQL store), [`server`]; and [`commands`] with [`cli`].

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
pub mod memory;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod posts;
pub mod private;
pub mod publish;
pub mod render;
pub mod replica;
pub mod report;
pub mod rotation;
pub mod schedule;
pub mod secret;
pub mod server;
pub mod store;
pub mod targets;
pub mod watch;
