//! `campaign-bot backup FILE`: a consistent copy of the state store, taken
//! while the daemon runs (see [`crate::store::backup`]); and `campaign-bot
//! store copy --to URL`, which moves it into PostgreSQL
//! (see [`crate::store::copy`]).

use std::path::Path;
use std::process::ExitCode;

use super::{CliError, exit};
use crate::config::Config;

pub fn backup(config: &Config, to: &Path) -> Result<ExitCode, CliError> {
    if config.store.is_some() {
        return Err(CliError::Usage(
            "this bot keeps its state in PostgreSQL ([store]): back it up with the database's own tools (pg_dump); `backup` copies a SQLite store".into(),
        ));
    }
    let db = config.data_dir.join(crate::store::FILE_NAME);
    if !db.exists() {
        return Err(CliError::Usage(format!(
            "there is no state store at {}; nothing to back up (is data_dir right?)",
            db.display()
        )));
    }
    if to.exists() {
        return Err(CliError::Usage(format!(
            "{} exists; give the name of a new file (a backup never replaces one)",
            to.display()
        )));
    }
    let copied = crate::store::backup::backup(&db, to)?;
    println!(
        "Backed up {} to {}: {} posts, {} rotation positions, {} engagement checks, {} KiB. To restore: stop the bot, copy the file to {} (and delete {}-wal and {}-shm if they are there), start the bot.",
        db.display(),
        to.display(),
        copied.intents,
        copied.rotations,
        copied.engagement,
        copied.bytes.div_ceil(1024),
        db.display(),
        db.display(),
        db.display(),
    );
    Ok(ExitCode::from(exit::OK))
}

pub fn store(config: &Config, action: crate::cli::StoreAction) -> Result<ExitCode, CliError> {
    use crate::config::{Secret, SecretSource};
    let crate::cli::StoreAction::Copy { to, to_env } = action;
    let url = match (to, to_env) {
        (Some(url), _) => Secret::new(url),
        (None, Some(name)) => SecretSource::Env(name)
            .resolve()
            .map_err(|e| CliError::Usage(e.to_string()))?,
        (None, None) => return Err(CliError::Usage("give --to URL or --to-env NAME".into())),
    };
    if config.store.is_some() {
        return Err(CliError::Usage(
            "this configuration already uses a PostgreSQL store ([store]); store copy reads the SQLite store of data_dir: run it with the configuration without [store]".into(),
        ));
    }
    let db = config.data_dir.join(crate::store::FILE_NAME);
    if !db.exists() {
        return Err(CliError::Usage(format!(
            "there is no state store at {}; nothing to copy (is data_dir right?)",
            db.display()
        )));
    }
    let from = crate::store::Store::open(&config.data_dir)?;
    let to = crate::store::Store::open_postgres(&url)?;
    let copied = crate::store::copy::copy(&from, &to)?;
    println!(
        "Copied {} into {}: {} posts, {} rotation positions, {} engagement checks, {} follower counts, {} kept facts. Now set [store] url_env (or url_file) to this database, and start the bot on it; keep {} as a backup.",
        db.display(),
        to.place(),
        copied.rows("intents"),
        copied.rows("rotation"),
        copied.rows("engagement"),
        copied.rows("followers"),
        copied.rows("meta"),
        db.display(),
    );
    Ok(ExitCode::from(exit::OK))
}
