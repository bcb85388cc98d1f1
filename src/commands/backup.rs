//! `campaign-bot backup FILE`: a consistent copy of the state store, taken
//! while the daemon runs (see [`crate::store::backup`]).

use std::path::Path;
use std::process::ExitCode;

use super::{CliError, exit};
use crate::config::Config;

pub fn backup(config: &Config, to: &Path) -> Result<ExitCode, CliError> {
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
