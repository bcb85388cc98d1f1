//! The plain data every layer shares: languages, messages, slots and the
//! results of publishing. No I/O here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An ISO 639-1 language code, lower case (`en`, `fr`, `ar`): two ASCII
/// letters, held inline (a campaign holds one per text, tens of thousands).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lang([u8; 2]);

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lang({:?})", self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an ISO 639-1 language code; use two letters such as en, fr or ar")]
pub struct BadLang(pub String);

impl Lang {
    pub fn new(code: &str) -> Result<Self, BadLang> {
        let lower = code.to_ascii_lowercase();
        if let [a, b] = *lower.as_bytes()
            && isolang::Language::from_639_1(&lower).is_some()
        {
            Ok(Lang([a, b]))
        } else {
            Err(BadLang(code.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        // Two ASCII letters, checked by `new`.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
    /// True for scripts written right to left.
    pub fn is_rtl(&self) -> bool {
        matches!(
            self.as_str(),
            "ar" | "he" | "fa" | "ur" | "ps" | "yi" | "dv" | "ku" | "sd" | "ug"
        )
    }
}

impl TryFrom<String> for Lang {
    type Error = BadLang;
    fn try_from(s: String) -> Result<Self, BadLang> {
        Lang::new(&s)
    }
}

impl From<Lang> for String {
    fn from(l: Lang) -> String {
        l.as_str().to_string()
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value per language: a few entries, kept sorted in one small vector (a
/// `BTreeMap` node is ten times the size, and a campaign holds tens of
/// thousands of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LangMap<V>(Vec<(Lang, V)>);

impl<V> Default for LangMap<V> {
    fn default() -> Self {
        LangMap(Vec::new())
    }
}

impl<V> LangMap<V> {
    pub fn new() -> Self {
        Self::default()
    }
    fn position(&self, lang: &Lang) -> Result<usize, usize> {
        self.0.binary_search_by(|(l, _)| l.cmp(lang))
    }
    /// Sets `lang`'s value, returning the one it replaces.
    pub fn insert(&mut self, lang: Lang, value: V) -> Option<V> {
        match self.position(&lang) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (lang, value));
                None
            }
        }
    }
    pub fn get(&self, lang: &Lang) -> Option<&V> {
        self.position(lang).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, lang: &Lang) -> bool {
        self.position(lang).is_ok()
    }
    /// In language-code order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Lang, &V)> + ExactSizeIterator {
        self.0.iter().map(|(l, v)| (l, v))
    }
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Lang> + ExactSizeIterator {
        self.0.iter().map(|(l, _)| l)
    }
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Gives back spare room once the map is built.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl<V> std::ops::Index<&Lang> for LangMap<V> {
    type Output = V;
    /// Like a map's: panics when `lang` has no value.
    fn index(&self, lang: &Lang) -> &V {
        match self.get(lang) {
            Some(v) => v,
            None => panic!("no {lang} value"),
        }
    }
}

impl<V> FromIterator<(Lang, V)> for LangMap<V> {
    fn from_iter<I: IntoIterator<Item = (Lang, V)>>(iter: I) -> Self {
        let mut map = LangMap::new();
        for (l, v) in iter {
            map.insert(l, v);
        }
        map.shrink_to_fit();
        map
    }
}

impl<V, const N: usize> From<[(Lang, V); N]> for LangMap<V> {
    fn from(entries: [(Lang, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<'a, V> IntoIterator for &'a LangMap<V> {
    type Item = (&'a Lang, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Lang, V)>, fn(&'a (Lang, V)) -> (&'a Lang, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(l, v)| (l, v))
    }
}

impl<V> IntoIterator for LangMap<V> {
    type Item = (Lang, V);
    type IntoIter = std::vec::IntoIter<(Lang, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<V: Serialize> Serialize for LangMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for LangMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<Lang, V>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Whether a message is evergreen or a one-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Rotation,
    Queue,
}

/// A queue post's own time. Without an offset it is read in the schedule's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Fixed(DateTime<FixedOffset>),
    Local(NaiveDateTime),
}

impl At {
    /// The instant, reading a local time in `tz`. In a DST gap the time after
    /// the gap is used; in a repeated hour, the first pass.
    pub fn resolve(&self, tz: Tz) -> DateTime<Utc> {
        match self {
            At::Fixed(t) => t.with_timezone(&Utc),
            At::Local(naive) => match tz.from_local_datetime(naive) {
                chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
                chrono::LocalResult::None => {
                    // The first wall-clock minute that exists after the gap,
                    // as the cron slots do (see `schedule`).
                    (1..=24 * 60)
                        .find_map(|m| {
                            let later = *naive + chrono::Duration::minutes(m);
                            let later = later.with_second(0)?;
                            tz.from_local_datetime(&later).earliest()
                        })
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_else(|| Utc.from_utc_datetime(naive))
                }
            },
        }
    }
}

impl At {
    /// Why this time is unusual when a DST change touches it: a local time
    /// that does not exist (moved after the gap) or happens twice (the
    /// first pass is used). A fixed offset is never affected.
    pub fn dst_note(&self, tz: Tz) -> Option<String> {
        let At::Local(naive) = self else { return None };
        match tz.from_local_datetime(naive) {
            chrono::LocalResult::Single(_) => None,
            chrono::LocalResult::Ambiguous(..) => Some(format!(
                "{} happens twice on {} (clocks went back): posted at the first pass",
                naive.format("%H:%M"),
                naive.format("%Y-%m-%d")
            )),
            chrono::LocalResult::None => Some(format!(
                "{} does not exist on {} (clocks went forward): posted at {} instead",
                naive.format("%H:%M"),
                naive.format("%Y-%m-%d"),
                self.resolve(tz).with_timezone(&tz).format("%H:%M %Z")
            )),
        }
    }
}

/// An image attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The image, relative to `posts/` (checked to stay inside it).
    pub path: MediaPath,
    pub alt: LangMap<String>,
}

/// One image for every language, or one per language (a card in each
/// language's own words). Shared: ten thousand posts that carry the same
/// cards hold each path once (see `posts::Catalog::park`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaPath {
    All(Arc<Path>),
    PerLang(LangMap<Arc<Path>>),
}

impl Media {
    /// The image a post in `lang` carries.
    pub fn path_for(&self, lang: &Lang) -> Option<&Path> {
        match &self.path {
            MediaPath::All(p) => Some(p),
            MediaPath::PerLang(m) => m.get(lang).map(|p| &**p),
        }
    }

    /// Every file of this image, each once.
    pub fn files(&self) -> Vec<&Path> {
        let mut files: Vec<&Path> = match &self.path {
            MediaPath::All(p) => vec![p],
            MediaPath::PerLang(m) => m.values().map(|p| &**p).collect(),
        };
        files.sort();
        files.dedup();
        files
    }

    /// For messages: the file, or the files joined.
    pub fn describe(&self) -> String {
        self.files()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A validated post, in all its languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// The file it came from, relative to `posts/`.
    pub source: PathBuf,
    pub kind: MessageKind,
    pub commitment: Option<u8>,
    pub draft: bool,
    pub tags: Vec<String>,
    pub at: Option<At>,
    pub spoiler: LangMap<String>,
    pub text: LangMap<String>,
    /// Shorter texts (`[short]`), used on targets whose limit the full text
    /// in that language exceeds.
    pub short: LangMap<String>,
    /// The line of each language's text in the file, for messages about it.
    pub text_lines: LangMap<usize>,
    pub media: Vec<Media>,
    /// Where the words are while a daemon waits (see
    /// `posts::Catalog::park`): then `text` keeps its languages with empty
    /// strings, `spoiler`, `short` and the images' `alt` are empty, and
    /// nothing renders the message until `posts::words` gives them back.
    pub parked: Option<Parked>,
}

/// A message's words kept in a file: which file, and where in it.
#[derive(Debug, Clone)]
pub struct Parked {
    pub file: Arc<std::fs::File>,
    pub at: u64,
    pub len: u32,
}

impl PartialEq for Parked {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && (self.at, self.len) == (other.at, other.len)
    }
}
impl Eq for Parked {}

impl Message {
    pub fn has_lang(&self, lang: &Lang) -> bool {
        self.text.contains_key(lang)
    }
    pub fn langs(&self) -> impl Iterator<Item = &Lang> {
        self.text.keys()
    }
}

/// A moment the bot posts at, and what identifies it for idempotency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    /// The instant the post is due.
    pub at: DateTime<Utc>,
    /// Stable text naming the slot: the RFC 3339 instant for a cron slot,
    /// `INSTANT/ID/LANG` for a timed queue post.
    pub key: String,
}

impl Slot {
    pub fn cron(at: DateTime<Utc>) -> Self {
        Slot {
            at,
            key: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
    pub fn timed(at: DateTime<Utc>, message_id: &str, lang: &Lang) -> Self {
        Slot {
            at,
            key: format!(
                "{}/{message_id}/{lang}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }
    /// The idempotency key of this slot on `target`: the same on every retry
    /// and every restart, different for every other (slot, target).
    pub fn intent_key(&self, target: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.key.as_bytes());
        h.update(b"\n");
        h.update(target.as_bytes());
        hex::encode(&h.finalize()[..16])
    }
}

/// What a slot posts on a target, fixed when its intent is recorded: the
/// exact text, and the images with their alt text in the post's language.
/// A retry or a restart sends exactly this, whatever the files in `posts/`
/// say by then (an image's path and alt are recorded; its file is read when
/// sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub message_id: String,
    pub lang: Lang,
    pub text: String,
    pub spoiler: Option<String>,
    pub media: Vec<PostMedia>,
}

/// An image of a [`Post`]: its path relative to `posts/`, its alt text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMedia {
    pub path: PathBuf,
    pub alt: String,
}

/// What a network answered for a published post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The network's id for the post (status id, AT URI, outbox key).
    pub remote_id: String,
    pub url: Option<String>,
}

/// How a published post is doing, as its network counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    /// `None` where the network does not count quotes.
    pub quotes: Option<u64>,
    /// How many times the post was seen (impressions or views), where the
    /// network tells; `None` where it does not (Mastodon, Bluesky).
    pub views: Option<u64>,
    /// Clicks on the post (LinkedIn), where the network tells.
    #[serde(default)]
    pub clicks: Option<u64>,
    /// Shares of the post out of the network (Threads), where it tells;
    /// not reposts, which are counted apart.
    #[serde(default)]
    pub shares: Option<u64>,
    /// Saves of the post for later (Instagram), where the network tells.
    #[serde(default)]
    pub saves: Option<u64>,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.likes + self.reposts + self.replies + self.quotes.unwrap_or(0)
    }
}

/// The answer of one engagement check of one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Counts(Counts),
    /// Deleted at its source (confirmed there, not only missing from an
    /// index): not checked again.
    Gone,
    /// Still at its source but not in the network's index yet (Bluesky's
    /// AppView lags behind the PDS): checked again later.
    NotYet,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_codes() {
        assert!(Lang::new("ar").is_ok());
        assert_eq!(Lang::new("FR").unwrap().as_str(), "fr");
        assert!(Lang::new("xx").is_err());
        assert!(Lang::new("eng").is_err());
        assert!(Lang::new("ar").unwrap().is_rtl());
    }

    #[test]
    fn intent_keys_are_stable_and_distinct() {
        let t = Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap();
        let s = Slot::cron(t);
        assert_eq!(s.key, "2026-12-18T08:00:00Z");
        assert_eq!(s.intent_key("outbox"), Slot::cron(t).intent_key("outbox"));
        assert_ne!(s.intent_key("outbox"), s.intent_key("mastodon"));
        assert_eq!(s.intent_key("outbox").len(), 32);
    }

    // Issue 13: every timed queue post got a false "a slot time did not
    // exist" note.
    #[test]
    fn only_a_local_time_in_a_gap_or_overlap_gets_a_note() {
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        let local = |d, h, m| {
            At::Local(
                chrono::NaiveDate::from_ymd_opt(2026, 3, d)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
        };
        assert_eq!(local(18, 9, 0).dst_note(tz), None);
        let fixed = At::Fixed(DateTime::parse_from_rfc3339("2026-12-18T09:00:00+01:00").unwrap());
        assert_eq!(fixed.dst_note(tz), None);
        assert_eq!(
            local(29, 2, 30).dst_note(tz).unwrap(),
            "02:30 does not exist on 2026-03-29 (clocks went forward): posted at 03:00 CEST instead"
        );
    }

    #[test]
    fn local_at_in_a_gap_moves_after_it() {
        let tz: Tz = "Europe/Brussels".parse().unwrap();
        let naive = chrono::NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let t = At::Local(naive).resolve(tz);
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    }
}
