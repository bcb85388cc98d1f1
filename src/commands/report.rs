//! `campaign-bot engagement [--all]` and `campaign-bot report`.

use std::path::Path;
use std::process::ExitCode;

use chrono::{NaiveDate, Utc};

use super::{CliError, build_campaign, exit, load_catalog};
use crate::cli::ReportFormat;
use crate::clock::Clock;
use crate::config::Config;
use crate::engagement;
use crate::report::{self, By, Report};
use crate::store::Store;

pub async fn engagement(config: &Config, all: bool) -> Result<ExitCode, CliError> {
    let (campaign, broken) = build_campaign(config, load_catalog(config), false, Clock::System)?;
    for b in &broken {
        eprintln!("{b}");
    }
    let summary = engagement::run(&campaign, Utc::now(), all)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    println!(
        "checked {} posts ({} deleted on their network, {} left for later); appended to {}",
        summary.checked,
        summary.gone,
        summary.deferred,
        config.data_dir.join(engagement::LOG_FILE).display()
    );
    for t in &summary.nothing_to_collect {
        println!("{t}: nothing to collect (an outbox keeps no engagement counts)");
    }
    for (t, why) in &summary.failures {
        println!("{t}: check failed: {why}");
    }
    Ok(ExitCode::from(if summary.failures.is_empty() {
        exit::OK
    } else {
        exit::PROBLEM
    }))
}

pub fn report(
    config: &Config,
    since: Option<NaiveDate>,
    by: Option<By>,
    format: ReportFormat,
    html: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let report = if config.data_dir.join("state.db").exists() {
        let store = Store::open(&config.data_dir)?;
        Report::build(config, &store, since, Utc::now())?
    } else {
        Report::from_posts(Vec::new(), since, Utc::now())
    };
    match format {
        ReportFormat::Table => print!("{}", report::table(&report, by)),
        ReportFormat::Csv => print!("{}", report::csv(&report)),
        ReportFormat::Json => println!("{}", report::json(&report)),
    }
    if let Some(path) = html {
        std::fs::write(path, report::html::render(&report))
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::from(exit::OK))
}
