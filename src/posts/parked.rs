//! The words of a daemon's messages, kept on disk while it waits.
//!
//! A daemon holds every message for the whole campaign but needs a
//! message's words (its texts, short texts, content warnings and alt texts)
//! only at the slot that posts it: with 10,000 posts they were two thirds of
//! its memory. [`Catalog::park`] writes the words of every validated message
//! into one file of the daemon's own (in its data folder, unlinked at once,
//! so nothing is left behind and no one else can change it) and keeps only
//! where each message's words are; [`words`] reads them back.
//!
//! The file is the bot's copy of what was validated, not the post file
//! itself: an edit to `posts/` is a reload as ever (validated, logged, the
//! last good version kept if the edit broke the file), never a different
//! text at the slot.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Catalog;
use crate::model::{LangMap, Media, MediaPath, Message, Parked};

/// What parking takes out of a message, and [`words`] puts back: written
/// from borrowed maps (`T = &LangMap<String>`, nothing copied), read back
/// as owned ones.
#[derive(Serialize, Deserialize)]
struct Words<T> {
    text: T,
    spoiler: T,
    short: T,
    /// Each image's alt texts, in the message's order.
    alts: Vec<T>,
}

impl Catalog {
    /// Moves every message's words into a new file in `dir`. All or
    /// nothing: on an error the catalog is as it was (the words stay in
    /// memory) and the error says why.
    pub fn park(&mut self, dir: &Path) -> io::Result<()> {
        let file = Arc::new(unlinked_file(dir)?);
        let mut out = BufWriter::new(&*file);
        let mut places = Vec::with_capacity(self.messages.len());
        let mut at = 0u64;
        for message in &self.messages {
            // A message kept from an earlier catalog is parked in that
            // catalog's file: its words move to the new one.
            let full = words(message)?;
            let bytes = serde_json::to_vec(&Words {
                text: &full.text,
                spoiler: &full.spoiler,
                short: &full.short,
                alts: full.media.iter().map(|m| &m.alt).collect(),
            })?;
            out.write_all(&bytes)?;
            let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
            places.push(Parked {
                file: file.clone(),
                at,
                len,
            });
            at += u64::from(len);
        }
        out.flush()?;
        drop(out);
        // What stays is copied, not trimmed in place: loaded on every core,
        // the messages' small parts sit among their words on pages of each
        // loading thread's heap, and would keep all those pages in memory
        // for the few bytes left on each. Copied, they are packed together
        // and the old pages are freed whole (see `memory::give_back`).
        let mut shared = PathsShared::default();
        self.messages = self
            .messages
            .iter()
            .zip(places)
            .map(|(message, place)| Message {
                id: message.id.clone(),
                source: message.source.clone(),
                kind: message.kind,
                commitment: message.commitment,
                draft: message.draft,
                tags: message.tags.clone(),
                at: message.at,
                text_lines: message.text_lines.clone(),
                text: message.text.keys().map(|l| (*l, String::new())).collect(),
                spoiler: LangMap::new(),
                short: LangMap::new(),
                media: message
                    .media
                    .iter()
                    .map(|m| Media {
                        path: shared.path(&m.path),
                        alt: LangMap::new(),
                    })
                    .collect(),
                parked: Some(place),
            })
            .collect();
        self.parked_in = Some(dir.to_path_buf());
        Ok(())
    }

    /// The folder the words are parked in, if they are.
    pub fn parked_in(&self) -> Option<&Path> {
        self.parked_in.as_deref()
    }
}

/// Each image path once: posts that carry the same cards share them.
#[derive(Default)]
struct PathsShared(HashSet<Arc<Path>>);

impl PathsShared {
    fn one(&mut self, p: &Arc<Path>) -> Arc<Path> {
        match self.0.get(&**p) {
            Some(shared) => shared.clone(),
            None => {
                self.0.insert(p.clone());
                p.clone()
            }
        }
    }
    fn path(&mut self, path: &MediaPath) -> MediaPath {
        match path {
            MediaPath::All(p) => MediaPath::All(self.one(p)),
            MediaPath::PerLang(m) => {
                MediaPath::PerLang(m.iter().map(|(l, p)| (*l, self.one(p))).collect())
            }
        }
    }
}

/// `message` with its words: itself, or a copy with the words read back.
pub fn words(message: &Message) -> io::Result<Cow<'_, Message>> {
    let Some(place) = &message.parked else {
        return Ok(Cow::Borrowed(message));
    };
    let mut bytes = vec![0; place.len as usize];
    place.file.read_exact_at(&mut bytes, place.at)?;
    let words: Words<LangMap<String>> = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
    let mut full = message.clone();
    full.text = words.text;
    full.spoiler = words.spoiler;
    full.short = words.short;
    if words.alts.len() != full.media.len() {
        return Err(io::Error::other(format!(
            "the parked words of message {} do not match its images",
            message.id
        )));
    }
    for (media, alt) in full.media.iter_mut().zip(words.alts) {
        media.alt = alt;
    }
    full.parked = None;
    Ok(Cow::Owned(full))
}

/// A new file in `dir` that only this process can reach: created, then
/// unlinked at once (its space is freed when the last handle closes).
fn unlinked_file(dir: &Path) -> io::Result<File> {
    std::fs::create_dir_all(dir)?;
    for n in 0u32.. {
        let path = dir.join(format!(".words-{}-{n}", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("u32 names run out")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lang;
    use crate::render::render;

    fn shipped() -> Catalog {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let langs = ["en", "fr", "ar"].map(|l| Lang::new(l).unwrap());
        let catalog = super::super::load(&root.join("posts"), &langs);
        assert!(!catalog.has_errors(), "{:?}", catalog.problems);
        catalog
    }

    /// `catalog` parked in a new folder (kept as long as the folder is).
    fn parked(catalog: &Catalog) -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut parked = catalog.clone();
        parked.park(dir.path()).unwrap();
        (parked, dir)
    }

    #[test]
    fn parked_words_come_back_the_same_and_leave_no_file() {
        let loaded = shipped();
        let (parked, dir) = parked(&loaded);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the file is unlinked"
        );
        assert_eq!(parked.parked_in(), Some(dir.path()));
        let hashtags = vec!["WeTogether".to_string()];
        for (before, after) in loaded.messages.iter().zip(&parked.messages) {
            assert!(after.parked.is_some());
            assert!(after.text.values().all(String::is_empty));
            assert!(after.media.iter().all(|m| m.alt.is_empty()));
            assert_eq!(
                after.langs().collect::<Vec<_>>(),
                before.langs().collect::<Vec<_>>()
            );
            // Parked, a message does not render; given its words back, it
            // renders as before.
            let lang = before.langs().next().unwrap();
            assert_eq!(render(after, lang, &hashtags), None);
            let back = words(after).unwrap();
            assert_eq!(*back, *before);
            assert_eq!(
                render(&back, lang, &hashtags),
                render(before, lang, &hashtags)
            );
        }
    }

    #[test]
    fn parked_messages_share_their_image_paths() {
        let (catalog, _dir) = parked(&shipped());
        let en = Lang::new("en").unwrap();
        let cards: Vec<&Arc<Path>> = catalog
            .messages
            .iter()
            .flat_map(|m| &m.media)
            .filter_map(|m| match &m.path {
                MediaPath::PerLang(p) => p.get(&en),
                MediaPath::All(p) => Some(p),
            })
            .filter(|p| p.ends_with("campaign-card-en.jpg"))
            .collect();
        assert!(cards.len() > 1);
        assert!(cards.iter().all(|p| Arc::ptr_eq(p, cards[0])));
    }

    #[test]
    fn parking_again_moves_kept_words_to_the_new_file() {
        let loaded = shipped();
        let (parked, first) = parked(&loaded);
        // A reload keeps the last good version of a broken file: that
        // message comes from the earlier catalog, parked in its file.
        let mut again = parked.clone();
        again.park(first.path()).unwrap();
        drop(parked);
        for (before, after) in loaded.messages.iter().zip(&again.messages) {
            assert_eq!(*words(after).unwrap(), *before);
        }
    }

    #[test]
    fn a_folder_that_cannot_be_written_leaves_the_words_in_memory() {
        let loaded = shipped();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "").unwrap();
        let mut catalog = loaded.clone();
        assert!(catalog.park(&file).is_err());
        assert_eq!(catalog.messages, loaded.messages);
        assert_eq!(catalog.parked_in(), None);
    }
}
