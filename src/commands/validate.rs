//! `campaign-bot validate`: the config and every post against every target.

use std::process::ExitCode;

use super::{CliError, exit, load_catalog, offline_limits_by_target, open_targets};
use crate::checks::{check_targets, check_text_languages};
use crate::clock::Clock;
use crate::config::Config;
use crate::posts::Severity;

/// Targets whose secret cannot be read here: `run` would not start them,
/// so they are errors, in `run`'s own words.
fn check_credentials(config: &Config) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    for t in &config.targets {
        for source in t.network.secrets() {
            match source.resolve() {
                Err(e) => {
                    let b = crate::publish::BuildError {
                        target: t.name.clone(),
                        reason: e.into(),
                    };
                    out.push((Severity::Error, b.to_string()));
                }
                Ok(secret) => out.extend(token_file_note(&t.name, source, secret.expose())),
            }
        }
    }
    // `run` refuses to start when the alerts' secrets cannot be read.
    if let Some(alerts) = &config.alerts {
        for source in std::iter::once(&alerts.webhook).chain(alerts.matrix_token.as_ref()) {
            if let Err(e) = source.resolve() {
                out.push((Severity::Error, format!("alerts: {e}")));
            }
        }
    }
    out
}

/// What is wrong with a token file the bot keeps (written by `login`),
/// given its contents as just read: one it cannot read as a token is an
/// error; one in a folder it cannot write, where a refreshed token would
/// be lost, a warning.
fn token_file_note(
    target: &str,
    source: &crate::config::SecretSource,
    contents: &str,
) -> Option<(Severity, String)> {
    use crate::publish::oauth::TokenSet;
    let crate::config::SecretSource::File(path) = source else {
        return None;
    };
    match TokenSet::parse(contents) {
        Err(why) => Some((
            Severity::Error,
            format!(
                "target {target} cannot start: the token file {}: {why}",
                path.display()
            ),
        )),
        Ok(token) if token.refresh_token.is_some() || token.issued_at.is_some() => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let writable = rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_ok();
            (!writable).then(|| {
                (
                    Severity::Warning,
                    format!(
                        "target {target}: its token file {} is in a folder the bot cannot write, so a refreshed token would be lost when it stops; keep it in the data folder",
                        path.display()
                    ),
                )
            })
        }
        Ok(_) => None,
    }
}

/// With `offline`, limits come from the cache or the defaults; otherwise
/// each server is asked for its own (Mastodon's `max_characters`).
pub async fn validate(config: &Config, offline: bool) -> Result<ExitCode, CliError> {
    let mut catalog = load_catalog(config);
    let mut limits = offline_limits_by_target(config);
    if !offline
        && config
            .targets
            .iter()
            .any(|t| t.profile().server_limits.is_some())
    {
        let targets = open_targets(config, false, Clock::System)?;
        let (fresh, notes) = targets.refresh_limits().await;
        for n in notes {
            println!("note: {n}");
        }
        limits.extend(fresh);
    }
    let limits_of = |t: &crate::config::TargetConfig| {
        limits
            .get(&t.name)
            .copied()
            .unwrap_or_else(|| t.profile().limits)
    };
    // The two checks are independent and each takes a while on thousands
    // of posts: they run side by side, each over all cores.
    let (on_targets, languages) = rayon::join(
        || check_targets(config, &catalog, &limits_of),
        || check_text_languages(&catalog),
    );
    catalog.problems.extend(on_targets);
    catalog
        .problems
        .extend(crate::checks::check_repeats_and_costs(config, &catalog));
    catalog.problems.extend(languages);
    catalog
        .problems
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    for p in &catalog.problems {
        println!("{p}");
    }
    let credential_notes = check_credentials(config);
    for (severity, note) in &credential_notes {
        let word = match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        println!("{word}: {note}");
    }
    let errors = catalog
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count()
        + credential_notes
            .iter()
            .filter(|(severity, _)| *severity == Severity::Error)
            .count();
    let warnings = catalog.problems.len() + credential_notes.len() - errors;
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
