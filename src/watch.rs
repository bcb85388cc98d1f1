//! Noticing edits to `posts/` while the daemon runs, however they are made.
//!
//! - Files edited in place: inotify (through `notify`) on `posts_dir`,
//!   recursively.
//! - The folder replaced: `mv posts posts.old && mv posts.new posts` (git
//!   checkouts, `rsync --delay-updates`), a symlink swapped (Kubernetes
//!   ConfigMap volumes swap `..data`), or the folder created after the bot
//!   started. inotify follows a folder's inode, not its name, so the parent
//!   folder is watched too, and after every change the watch is re-armed on
//!   whatever `posts_dir` names now.
//! - Anything missed (an event queue overflow, a network file system that
//!   sends none): every [`FINGERPRINT_EVERY`] the daemon compares a
//!   fingerprint of the folder (each file's path, size, modification time
//!   and inode) with the one of its last reading, and reads it again if
//!   they differ. That is the one periodic wake-up of an idle daemon.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

/// How often the folder's fingerprint is compared.
pub const FINGERPRINT_EVERY: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Watches `posts_dir` and its parent; sends `()` on every change.
pub struct PostsWatcher {
    watcher: RecommendedWatcher,
    posts_dir: PathBuf,
    /// The folder the recursive watch is on (device and inode), if any.
    watching: Option<(u64, u64)>,
}

impl PostsWatcher {
    pub fn start(posts_dir: &Path, tx: UnboundedSender<()>) -> notify::Result<PostsWatcher> {
        let posts_dir = std::path::absolute(posts_dir)?;
        let mine = posts_dir.clone();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let wanted = match &res {
                // An overflowed queue, or the like: read the folder again.
                Err(_) => true,
                // In the parent, only what happens to `posts` itself (the
                // daemon's own log may be beside it).
                Ok(e) => !e.kind.is_access() && e.paths.iter().any(|p| p.starts_with(&mine)),
            };
            if wanted {
                let _ = tx.send(());
            }
        })?;
        let parent = posts_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let mut w = PostsWatcher {
            watcher,
            posts_dir,
            watching: None,
        };
        w.watcher.watch(&parent, RecursiveMode::NonRecursive)?;
        w.rearm();
        Ok(w)
    }

    /// Moves the recursive watch to the folder `posts_dir` names now, if it
    /// changed (replaced, swapped, created or removed). Returns whether it
    /// did.
    pub fn rearm(&mut self) -> bool {
        let now = identity(&self.posts_dir);
        if now == self.watching {
            return false;
        }
        if self.watching.is_some() {
            let _ = self.watcher.unwatch(&self.posts_dir);
        }
        self.watching = None;
        if now.is_some() {
            match self
                .watcher
                .watch(&self.posts_dir, RecursiveMode::Recursive)
            {
                Ok(()) => self.watching = now,
                Err(e) => {
                    tracing::warn!(error = %e, dir = %self.posts_dir.display(), "cannot watch posts/ for changes; it is checked every few minutes instead")
                }
            }
        }
        true
    }
}

/// The device and inode `path` leads to (links followed), if it exists.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// What tells that a file changed: size, modification time (seconds and
/// nanoseconds) and inode.
type Stamp = (u64, i64, i64, u64);

/// A fingerprint of everything the bot reads in `posts_dir`: each file's
/// path, size, modification time and inode (links followed), in order. A
/// missing folder has its own.
pub fn fingerprint(posts_dir: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    identity(posts_dir).hash(&mut h);
    for sub in ["rotation", "queue", "media"] {
        let dir = posts_dir.join(sub);
        identity(&dir).hash(&mut h);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<(PathBuf, Option<Stamp>)> = entries
            .filter_map(|e| e.ok())
            .map(|e| {
                let meta = std::fs::metadata(e.path())
                    .ok()
                    .map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
                (e.path(), meta)
            })
            .collect();
        files.sort();
        files.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_follows_edits_swaps_and_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let posts = dir.path().join("posts");
        let missing = fingerprint(&posts);
        std::fs::create_dir_all(posts.join("rotation")).unwrap();
        std::fs::write(posts.join("rotation/a.toml"), "one").unwrap();
        let first = fingerprint(&posts);
        assert_ne!(first, missing);
        assert_eq!(first, fingerprint(&posts), "stable");
        std::fs::write(posts.join("rotation/a.toml"), "one, edited").unwrap();
        let edited = fingerprint(&posts);
        assert_ne!(edited, first);
        // Replaced by a folder with the same names.
        let new = dir.path().join("posts.new");
        std::fs::create_dir_all(new.join("rotation")).unwrap();
        std::fs::write(new.join("rotation/a.toml"), "one, edited").unwrap();
        std::fs::rename(&posts, dir.path().join("posts.old")).unwrap();
        std::fs::rename(&new, &posts).unwrap();
        assert_ne!(fingerprint(&posts), edited);
    }
}
