//! The one list of networks. Adding a network is its folder under
//! `publish/` (its publisher, its [`super::network::Network`] with its
//! settings type and profile) and one line here; nothing else in the bot
//! names it.

use std::path::Path;
use std::sync::Arc;

use super::network::Entry;
use super::{
    Publisher, bluesky, facebook, instagram, linkedin, mastodon, outbox, telegram, threads, x,
};
use crate::clock::Clock;

/// Every network the bot posts to, one line each.
pub static NETWORKS: &[&dyn Entry] = &[
    &outbox::Home,
    &mastodon::Home,
    &bluesky::Home,
    &telegram::Home,
    &x::Home,
    &linkedin::Home,
    &threads::Home,
    &facebook::Home,
    &instagram::Home,
];

/// The network a `kind` names, if any.
pub fn by_kind(kind: &str) -> Option<&'static dyn Entry> {
    NETWORKS
        .iter()
        .copied()
        .find(|n| n.profile().kinds.contains(&kind))
}

/// Every `kind` a target may have, for messages.
pub fn all_kinds() -> Vec<&'static str> {
    NETWORKS
        .iter()
        .flat_map(|n| n.profile().kinds.iter().copied())
        .collect()
}

/// Whether some network has a key of this name (to tell "not this
/// network's key" from "no key at all").
pub fn some_network_has_key(key: &str) -> bool {
    NETWORKS.iter().any(|n| n.keys().contains(&key))
}

/// The networks that collect engagement counts, for people: "Mastodon,
/// Bluesky, X, LinkedIn or Threads".
pub fn collecting_networks() -> String {
    let names: Vec<&str> = NETWORKS
        .iter()
        .map(|n| n.profile())
        .filter(|p| p.counts_engagement())
        .map(|p| p.name)
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// What `--dry-run` posts to instead of `target`'s network: a line in the
/// outbox file of the dry-run data folder.
pub fn dry_run(target: &str, data_dir: &Path, clock: Clock) -> Arc<dyn Publisher> {
    Arc::new(outbox::Outbox::new(target, dry_run_file(data_dir), clock))
}

/// The file a dry run writes every post to.
pub fn dry_run_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(outbox::FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile starts from `Profile::DEFAULT`, whose name, kinds, limits
    /// and example are empty: every network says its own.
    #[test]
    fn every_network_says_what_the_default_profile_leaves_empty() {
        for n in NETWORKS {
            let p = n.profile();
            assert!(!p.name.is_empty(), "a network has no name");
            assert!(!p.kinds.is_empty(), "{} has no kind", p.name);
            assert!(
                p.example.contains(&format!("kind = \"{}\"", p.kinds[0])),
                "{}'s example is not a target of it",
                p.name
            );
        }
    }
}
