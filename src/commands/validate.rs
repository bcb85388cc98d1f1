//! `campaign-bot validate`: the config and every post against every target.

use std::process::ExitCode;

use chrono::Utc;

use super::{CliError, exit, load_catalog};
use crate::config::{Config, TargetDetail, TargetKind};
use crate::model::MessageKind;
use crate::posts::{Catalog, Problem, Severity};
use crate::render::{Limits, measure, overruns, render};

/// The limits `validate` and `preview` measure against, without network
/// access: fixed for Bluesky, Mastodon's defaults for the fediverse.
pub fn offline_limits(kind: TargetKind) -> Limits {
    match kind {
        TargetKind::Outbox => Limits::NONE,
        TargetKind::Bluesky => Limits::BLUESKY,
        TargetKind::Fediverse(_) => Limits::mastodon(500, 23),
    }
}

/// Every problem of every post on every target, besides those of loading.
pub fn check_targets(config: &Config, catalog: &Catalog) -> Vec<Problem> {
    let mut problems = Vec::new();
    let now = Utc::now();
    for m in &catalog.messages {
        let file = std::path::Path::new("posts").join(&m.source);
        for target in &config.targets {
            let limits = offline_limits(target.kind);
            for lang in target.languages.iter().filter(|l| m.has_lang(l)) {
                let rendered = render(m, lang, &config.hashtags).expect("language present");
                for over in overruns(&measure(&rendered, &limits), &limits) {
                    problems.push(Problem {
                        severity: Severity::Error,
                        file: file.clone(),
                        line: m.text_lines.get(lang).copied().unwrap_or(0),
                        column: 1,
                        message: format!(
                            "the {lang} text is too long for target {} ({}): {over}, hashtags included; shorten it",
                            target.name, target.kind
                        ),
                    });
                }
            }
        }
        if m.kind == MessageKind::Queue && !m.draft {
            if let Some(at) = m.at {
                let t = at.resolve(config.schedule.timezone());
                if t < now {
                    problems.push(Problem {
                        severity: Severity::Warning,
                        file: file.clone(),
                        line: 0,
                        column: 0,
                        message: format!("`at` ({t}) is in the past: this post will not go out; change the date or remove the file"),
                    });
                }
            }
            if !config
                .targets
                .iter()
                .any(|t| t.languages.iter().any(|l| m.has_lang(l)))
            {
                problems.push(Problem {
                    severity: Severity::Warning,
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    message: "no target posts in any language of this post: it will not go out"
                        .into(),
                });
            }
        }
    }
    problems
}

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
