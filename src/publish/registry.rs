//! The one list of networks. Adding a network is its folder under
//! `publish/` (its publisher, its settings type, which implements
//! [`super::network::Network`], and its profile) and one line here, which
//! gives the two together; nothing else in the bot names it.

use std::path::Path;
use std::sync::Arc;

use super::network::{Entry, Kind};
use super::{
    Publisher, bluesky, facebook, instagram, linkedin, mastodon, outbox, telegram, threads, x,
};
use crate::clock::Clock;

/// Every network the bot posts to, one line each.
pub static NETWORKS: &[&dyn Entry] = &[
    &Kind::<outbox::Settings, outbox::Settings>::new(&outbox::PROFILE),
    &Kind::<mastodon::Settings, mastodon::Raw>::new(&mastodon::PROFILE),
    &Kind::<bluesky::Settings, bluesky::Raw>::new(&bluesky::PROFILE),
    &Kind::<telegram::Settings, telegram::Raw>::new(&telegram::PROFILE),
    &Kind::<x::Settings, x::Raw>::new(&x::PROFILE),
    &Kind::<linkedin::Settings, linkedin::Raw>::new(&linkedin::PROFILE),
    &Kind::<threads::Settings, threads::Raw>::new(&threads::PROFILE),
    &Kind::<facebook::Settings, facebook::Raw>::new(&facebook::PROFILE),
    &Kind::<instagram::Settings, instagram::Raw>::new(&instagram::PROFILE),
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
