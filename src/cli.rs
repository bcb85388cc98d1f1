//! The command line (clap derive). Parsing only: `main` hands the parsed
//! command to [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// campaign-bot: posts a multilingual social-media campaign on a schedule,
/// exactly once per slot, and records how each post does.
///
/// Exit codes: 0 all is well; 1 the command ran and found a problem (invalid
/// posts, a post that failed); 2 bad usage or configuration; 3 unhealthy
/// (`status --health`).
#[derive(Debug, Parser)]
#[command(name = "campaign-bot", version, about, long_about)]
pub struct Cli {
    /// A config file layered over the shipped defaults (instead of
    /// config/local.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: post at every slot, watch posts/, stop on SIGTERM.
    Run {
        /// Send everything to an outbox (data/dry-run/outbox.jsonl) instead
        /// of the networks, with a state of its own.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the config and every post against every target; exit 0 only
    /// if there is no error.
    Validate {
        /// Do not ask the servers for their limits: use the ones cached from
        /// the last time, or the defaults.
        #[arg(long)]
        offline: bool,
    },
    /// Show the coming slots: time, target, message, language and the exact
    /// text with its length against the limit. Changes nothing.
    Preview {
        /// Show when this message goes out next, in each of its languages
        /// on each target (drafts too, as if approved now).
        #[arg(value_name = "MESSAGE_ID", conflicts_with = "ics")]
        id: Option<String>,
        /// How many slots to show (at least 1).
        #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        next: u16,
        /// Show the slots from this time on (e.g. 2026-12-17, or
        /// "2026-12-18 08:00" in the campaign's time zone), as they will be
        /// then: the rotation is stepped through the slots before it.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Write the coming posts as an iCalendar feed to FILE (`-` for
        /// standard output), for a calendar app to import or subscribe to:
        /// one event per post with its exact text, updated in place when
        /// imported again. Covers --days days instead of --next slots.
        #[arg(long, value_name = "FILE")]
        ics: Option<std::path::PathBuf>,
        /// With --ics: how many days ahead.
        #[arg(long, default_value_t = 14, value_name = "N", requires = "ics", value_parser = clap::value_parser!(u16).range(1..=366))]
        days: u16,
    },
    /// Post now, on every target or one. It fills a slot: the current
    /// minute, or the one given with --slot; running it twice for the same
    /// slot and target posts once. A manual post counts in the rotation:
    /// its message counts as posted in its language, and the next slot takes
    /// the language after it.
    PostNow {
        /// The message id to post (default: the next in the rotation).
        id: Option<String>,
        /// The language (default: the target's next language, or the
        /// message's first language the target has).
        #[arg(long, value_name = "LANG")]
        lang: Option<String>,
        /// Only this target.
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
        /// The slot to fill: a time in the campaign's time zone
        /// ("2026-12-18 09:00"), or with its offset
        /// (2026-12-18T09:00:00+01:00).
        #[arg(long, value_name = "TIME")]
        slot: Option<String>,
        /// Post to the outbox instead of the networks.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check engagement now (the posts that are due, or all of them) and
    /// append it to data/engagement.jsonl.
    Engagement {
        /// Check every followed post, not only those due.
        #[arg(long)]
        all: bool,
    },
    /// Summarise engagement by message, language, target and day.
    Report {
        /// Only posts from this day on (YYYY-MM-DD, the campaign's time zone).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        since: Option<chrono::NaiveDate>,
        /// Only posts up to this day, included (YYYY-MM-DD; default today).
        /// With --since, the period is compared with the one of the same
        /// length just before it.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        until: Option<chrono::NaiveDate>,
        /// Only this grouping (table format).
        #[arg(long, value_enum)]
        by: Option<crate::report::By>,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Also write a self-contained HTML page with charts to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Also write an Excel workbook to FILE: a sheet of posts and one
        /// per view, numbers as numbers, dates as dates.
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
    },
    /// Copy the state store (data/state.db) to FILE, consistently, while
    /// the bot runs: every post with its exactly-once key, the rotation
    /// positions, engagement and followers. FILE must not exist. To
    /// restore, stop the bot and copy FILE back to data/state.db.
    Backup {
        /// The new file to write.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Work on the state store as a whole: `store copy --to URL` moves
    /// this data folder's SQLite store into an empty PostgreSQL database.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Get or check credentials for a network: `login mastodon --instance
    /// URL` registers the bot and gets a token (OAuth); `login x`, `login
    /// linkedin` and `login threads` have the account allow the target's
    /// app (OAuth) and keep the tokens in its token_file, which the bot
    /// refreshes; `login bluesky` checks the app password of the Bluesky
    /// targets, `login telegram` the bot token of the Telegram targets.
    Login {
        /// The network (its kind: mastodon, bluesky…).
        network: String,
        /// The server to log in to (Mastodon and the fediverse).
        #[arg(long, value_name = "URL")]
        instance: Option<String>,
        /// Where to save a token the login gets (never in the config);
        /// Mastodon's default: data/secrets/mastodon_token; X, LinkedIn
        /// and Threads: the target's token_file.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Only this target.
        #[arg(long, value_name = "TARGET")]
        target: Option<String>,
    },
    /// Settle a post the bot cannot tell went out (listed by `status` under
    /// "needs a person"): after checking the account, say whether it did.
    Resolve {
        /// The post's key, as `status` shows it (its first 12 characters
        /// are enough).
        key: String,
        /// What you found on the account.
        #[arg(value_enum)]
        verdict: Verdict,
        /// The post's id on the network (Mastodon: the status id; Bluesky:
        /// its at:// URI), so its engagement is checked.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// The post's address, for reports.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Next slot, last posts, last errors, targets and credentials.
    Status {
        /// Exit non-zero (3) with a one-line reason when the daemon is not
        /// healthy: for a container health check.
        #[arg(long)]
        health: bool,
    },
}

/// A day as `--since` takes it, with an example when it is not one.
fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        format!("{s:?} is not a date the bot reads; write it as YYYY-MM-DD, e.g. 2026-11-27")
    })
}

/// A person's word on a post the bot could not tell went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verdict {
    /// It is on the account.
    Published,
    /// It is not (the bot records it as not posted; post it again with
    /// `post-now` if you want it).
    NotPublished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    /// One row per post, plain UTF-8 (for tools).
    Csv,
    /// The same CSV starting with a UTF-8 byte order mark, which Excel
    /// needs to read it as UTF-8 when the file is opened by double-click
    /// (without it, Arabic and French accents show as mojibake).
    ExcelCsv,
    Json,
}

/// What `campaign-bot store` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StoreAction {
    /// Copy the SQLite store of data_dir (every post with its exactly-once
    /// key, the rotation positions, engagement, followers and sessions)
    /// into an empty PostgreSQL database, in one transaction; then point
    /// `[store] url_env`/`url_file` at it. Refuses a database that already
    /// holds a store. Stop the daemon first, so nothing is written after
    /// the copy.
    Copy {
        /// The database URL (postgres://USER:PASSWORD@HOST:PORT/DB). It is
        /// seen by other users of this machine in the process list: prefer
        /// --to-env.
        #[arg(
            long,
            value_name = "URL",
            conflicts_with = "to_env",
            required_unless_present = "to_env"
        )]
        to: Option<String>,
        /// The environment variable that holds the database URL.
        #[arg(long, value_name = "NAME")]
        to_env: Option<String>,
    },
}
