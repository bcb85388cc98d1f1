//! `campaign-bot validate`: the config and every post against every target.

use std::process::ExitCode;

use super::{CliError, exit, load_catalog};
use crate::checks::{check_targets, check_text_languages};
use crate::config::{Config, TargetDetail};
use crate::posts::Severity;

/// Warnings about targets whose secrets are not available here.
fn check_credentials(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for t in &config.targets {
        let source = match &t.detail {
            TargetDetail::Outbox { .. } => continue,
            TargetDetail::Fediverse { token, .. } => token,
            TargetDetail::Bluesky { password, .. } => password,
        };
        if let Err(e) = source.resolve() {
            out.push(format!("warning: target {}: {e}", t.name));
        }
    }
    out
}

pub fn validate(config: &Config) -> Result<ExitCode, CliError> {
    let mut catalog = load_catalog(config);
    catalog.problems.extend(check_targets(config, &catalog));
    catalog.problems.extend(check_text_languages(&catalog));
    catalog
        .problems
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    for p in &catalog.problems {
        println!("{p}");
    }
    let credential_warnings = check_credentials(config);
    for w in &credential_warnings {
        println!("{w}");
    }
    let errors = catalog
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = catalog.problems.len() - errors + credential_warnings.len();
    let rotation = catalog.rotation().count();
    let queue = catalog.queue().count();
    let drafts = catalog.messages.iter().filter(|m| m.draft).count();
    println!(
        "{} rotation messages, {} queue posts, {} drafts; {} targets ({}); {} errors, {} warnings",
        rotation,
        queue,
        drafts,
        config.targets.len(),
        config
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        errors,
        warnings
    );
    Ok(ExitCode::from(if errors > 0 {
        exit::PROBLEM
    } else {
        exit::OK
    }))
}
