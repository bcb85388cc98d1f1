//! `campaign-bot engagement [--all]` and `campaign-bot report`.

use std::path::Path;
use std::process::ExitCode;

use chrono::{NaiveDate, Utc};

use super::{CliError, exit, open_targets};
use crate::cli::ReportFormat;
use crate::clock::Clock;
use crate::config::Config;
use crate::engagement;
use crate::report::{self, By, Report};

pub async fn engagement(config: &Config, all: bool) -> Result<ExitCode, CliError> {
    let targets = open_targets(config, false, Clock::System)?;
    // A target that cannot start is skipped: said, with the posts it
    // leaves unchecked, and the command fails (issue 27).
    let followed = targets.store().followed()?;
    let skipped: Vec<String> = targets
        .broken()
        .iter()
        .map(|b| {
            let n = followed.iter().filter(|i| i.target == b.target).count();
            format!(
                "{}: skipped, {n} of its posts not checked: the target cannot start: {}",
                b.target, b.reason
            )
        })
        .collect();
    engagement::schedule_old_checks(&targets).map_err(|e| CliError::Failed(e.to_string()))?;
    let summary = engagement::run(&targets, Utc::now(), all)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let log = config.data_dir.join(engagement::LOG_FILE);
    let mut also = Vec::new();
    if summary.gone > 0 {
        also.push(format!("{} deleted on their network", summary.gone));
    }
    if summary.not_yet > 0 {
        also.push(format!(
            "{} not indexed by their network yet, checked again later",
            summary.not_yet
        ));
    }
    let later = summary.deferred - summary.not_yet;
    if later > 0 {
        also.push(format!("{later} left for later"));
    }
    println!(
        "checked {} posts{}",
        summary.checked,
        if also.is_empty() {
            String::new()
        } else {
            format!(" ({})", also.join(", "))
        }
    );
    // Never claim an append that did not happen.
    if summary.appended > 0 {
        println!("appended {} lines to {}", summary.appended, log.display());
    } else {
        println!("nothing appended to {}", log.display());
    }
    if summary.followers > 0 {
        println!(
            "took today's follower count of {} target(s): appended to {}",
            summary.followers,
            config
                .data_dir
                .join(crate::engagement::FOLLOWERS_FILE)
                .display()
        );
    }
    for t in &summary.nothing_to_collect {
        let why = config
            .target(t)
            .and_then(|t| t.profile().no_engagement_reason())
            .unwrap_or("its network gives no counts");
        println!(
            "{t}: nothing to collect: {why}; targets on {} collect engagement",
            crate::publish::registry::collecting_networks()
        );
    }
    for (t, why) in &summary.failures {
        println!("{t}: check failed: {why}");
    }
    for line in &skipped {
        println!("{line}");
    }
    Ok(ExitCode::from(
        if summary.failures.is_empty() && skipped.is_empty() {
            exit::OK
        } else {
            exit::PROBLEM
        },
    ))
}

pub fn report(
    config: &Config,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
    by: Option<By>,
    format: ReportFormat,
    html: Option<&Path>,
    xlsx: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let report = if let Some(store) = super::existing_store(config)? {
        Report::build(config, &store, since, until, Utc::now())?
    } else {
        let now = Utc::now();
        let today = now.with_timezone(&config.schedule.timezone()).date_naive();
        Report::for_period(Vec::new(), since, until, today, now)
    };
    match format {
        ReportFormat::Table => print!("{}", report::table(&report, by)),
        ReportFormat::Csv => print!("{}", report::csv(&report)),
        ReportFormat::ExcelCsv => print!("\u{FEFF}{}", report::csv(&report)),
        ReportFormat::Json => println!("{}", report::json(&report)),
    }
    if let Some(path) = html {
        std::fs::write(path, report::html::render(&report))
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = xlsx {
        report::xlsx::write(&report, path)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::from(exit::OK))
}
