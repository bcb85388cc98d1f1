//! The `outbox` target: appends what would be posted to a JSON Lines file.
//! No account needed; the default target, and what `--dry-run` uses.
//!
//! Each line carries the intent key, so the outbox is idempotent like a real
//! network: publishing a key that is already in the file writes nothing.

use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::keys::KeyError;
use super::network::{self, At, BuildContext, Building, Network};
use super::profile::{Engagement, MediaRules, Profile};
use super::{Lookup, Outgoing, PublishError, Publisher, TargetId};
use crate::model::Published;
use crate::render::Limits;

/// The file name under `data/` when the target does not set `path`.
pub const FILE_NAME: &str = "outbox.jsonl";

// ---------------------------------------------------------------- home

/// The outbox, described.
pub static PROFILE: Profile = Profile {
    name: "outbox",
    kinds: &["outbox"],
    limits: Limits::NONE,
    media: MediaRules {
        max_images: usize::MAX,
        max_bytes: crate::posts::MAX_MEDIA_BYTES,
        ..MediaRules::DEFAULT
    },
    engagement: Engagement::NotCounted(
        "an outbox's posts are lines in a file on this machine, which nobody can like or repost",
    ),
    example: "[targets.outbox]\nkind = \"outbox\"\nlanguages = [\"en\", \"fr\", \"ar\"]",
    ..Profile::DEFAULT
};

/// `kind = "outbox"`: `path` (default `data/outbox.jsonl`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The JSON Lines file; `None` means `data_dir/outbox.jsonl`.
    pub path: Option<PathBuf>,
}

/// The outbox in the registry of networks. It has no login: it needs no
/// account.
impl Network<Settings> for Settings {
    fn read(raw: Settings, _: At<'_>) -> Result<Self, KeyError> {
        Ok(raw)
    }
    fn writes_to(&self, data_dir: &Path) -> Option<PathBuf> {
        Some(
            self.path
                .clone()
                .unwrap_or_else(|| data_dir.join(FILE_NAME)),
        )
    }
    fn build(&self, target: &str, ctx: &BuildContext<'_>) -> Building {
        let path = self
            .writes_to(ctx.data_dir)
            .expect("an outbox writes to a file");
        Ok(Arc::new(Outbox::new(target, path, ctx.clock)))
    }
    async fn login(
        _: network::LoginRequest<'_, Self>,
        _: &'static Profile,
    ) -> Result<(), network::LoginError> {
        Err(network::LoginError::Usage(
            "outbox has no login: it needs no account".into(),
        ))
    }
}

/// One line of the outbox file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxLine {
    pub posted_at: String,
    pub slot: String,
    pub target: String,
    pub message_id: String,
    pub lang: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoiler: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<OutboxMedia>,
    /// The intent key of (slot, target).
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMedia {
    pub path: String,
    pub alt: String,
}

pub struct Outbox {
    target: TargetId,
    path: PathBuf,
    clock: crate::clock::Clock,
    /// Appends from concurrent slots go one at a time.
    lock: tokio::sync::Mutex<()>,
}

impl Outbox {
    pub fn new(name: &str, path: PathBuf, clock: crate::clock::Clock) -> Self {
        Outbox {
            target: TargetId::new(name, &PROFILE),
            path,
            clock,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Every well-formed line of an outbox file. A line cut short by a crash is
/// passed over.
pub fn read_lines(path: &Path) -> std::io::Result<Vec<OutboxLine>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        if let Ok(parsed) = serde_json::from_str::<OutboxLine>(&line?) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// The line of `key` on `target`, looked for among the lines written since
/// `since` only: the file is read backwards, and a line older than that
/// ends the search (a post cannot be there before its intent was recorded).
/// The cost is the lines written since, not the file's whole history.
fn find(
    path: &Path,
    key: &str,
    target: &str,
    since: DateTime<Utc>,
) -> std::io::Result<Option<Published>> {
    let since = since.timestamp() - 1; // posted_at has whole seconds
    let needle = format!("\"key\":\"{key}\"");
    let mut found = None;
    for_lines_backwards(path, |line| {
        if let Some(at) = posted_at(line)
            && at < since
        {
            return false;
        }
        if line.contains(&needle)
            && let Ok(l) = serde_json::from_str::<OutboxLine>(line)
            && l.key == key
            && l.target == target
        {
            found = Some(Published {
                remote_id: format!("outbox:{}", l.key),
                url: None,
            });
            return false;
        }
        true
    })?;
    Ok(found)
}

/// The Unix second of a line's `posted_at`, read without parsing the rest
/// (it is the first field written).
fn posted_at(line: &str) -> Option<i64> {
    // As the bot writes it, or re-spaced by a person or a tool.
    let rest = line.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"posted_at\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    DateTime::parse_from_rfc3339(&rest[..end])
        .ok()
        .map(|t| t.timestamp())
}

/// Calls `f` on each line of the file, last first, until it returns false.
fn for_lines_backwards(path: &Path, mut f: impl FnMut(&str) -> bool) -> std::io::Result<()> {
    const CHUNK: u64 = 64 * 1024;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut end = file.metadata()?.len();
    // The start of a line cut by the chunk before: its end is in `carry`.
    let mut carry: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        let mut pieces: Vec<&[u8]> = chunk.split(|b| *b == b'\n').collect();
        // Unless the file starts here, the first piece may be only the end
        // of a line: keep it for the next chunk.
        let first = if start > 0 {
            pieces.remove(0).to_vec()
        } else {
            Vec::new()
        };
        for line in pieces.into_iter().rev().filter(|l| !l.is_empty()) {
            if let Ok(text) = std::str::from_utf8(line)
                && !f(text)
            {
                return Ok(());
            }
        }
        carry = first;
        end = start;
    }
    Ok(())
}

fn append(path: &Path, line: &OutboxLine) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let mut text = serde_json::to_string(line).expect("an outbox line serialises");
    text.push('\n');
    // A crash mid-write can leave a last line without its newline: start on
    // a fresh line so the new record stays readable.
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.insert(0, '\n');
        }
    }
    // One write of the whole line, then fsync: the line is either wholly
    // there after a crash or recognisably cut.
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

fn io_error(path: &Path, e: std::io::Error) -> PublishError {
    let message = format!("cannot write {}: {e}", path.display());
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            PublishError::permanent(message)
        }
        _ => PublishError::Transient(message),
    }
}

#[async_trait]
impl Publisher for Outbox {
    fn target(&self) -> &TargetId {
        &self.target
    }

    async fn publish(&self, post: &Outgoing) -> Result<Published, PublishError> {
        let _guard = self.lock.lock().await;
        let path = self.path.clone();
        let post = post.clone();
        let target = self.target.name.clone();
        let now = self.clock.now();
        tokio::task::spawn_blocking(move || {
            if let Some(p) = find(&path, &post.intent_key, &target, post.not_before)
                .map_err(|e| io_error(&path, e))?
            {
                return Ok(p);
            }
            let line = OutboxLine {
                posted_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
                slot: post.slot.key.clone(),
                target: target.clone(),
                message_id: post.message_id.clone(),
                lang: post.lang.to_string(),
                text: post.text.clone(),
                spoiler: post.spoiler.clone(),
                media: post
                    .media
                    .iter()
                    .map(|m| OutboxMedia {
                        path: m.shown.display().to_string(),
                        alt: m.alt.clone(),
                    })
                    .collect(),
                key: post.intent_key.clone(),
            };
            append(&path, &line).map_err(|e| io_error(&path, e))?;
            Ok(Published {
                remote_id: format!("outbox:{}", post.intent_key),
                url: None,
            })
        })
        .await
        .map_err(|e| PublishError::Transient(format!("outbox writer stopped: {e}")))?
    }

    async fn find_published(&self, post: &Outgoing) -> Result<Lookup, PublishError> {
        let path = self.path.clone();
        let key = post.intent_key.clone();
        let target = self.target.name.clone();
        let since = post.not_before;
        let found = tokio::task::spawn_blocking(move || {
            find(&path, &key, &target, since).map_err(|e| io_error(&path, e))
        })
        .await
        .map_err(|e| PublishError::Transient(format!("outbox reader stopped: {e}")))??;
        Ok(found.map_or(Lookup::NotPosted, Lookup::Posted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Lang, Slot};

    fn post(key: &str) -> Outgoing {
        Outgoing {
            intent_key: key.into(),
            slot: Slot::cron(chrono::Utc::now()),
            target: "outbox".into(),
            message_id: "m".into(),
            lang: Lang::new("ar").unwrap(),
            text: "نص #WeTogether".into(),
            spoiler: None,
            media: vec![],
            not_before: chrono::Utc::now() - chrono::Duration::minutes(1),
        }
    }

    // Issue 17: every post read the whole outbox to look for its key.
    #[test]
    fn a_key_is_looked_for_only_among_lines_written_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let t0 = chrono::Utc::now() - chrono::Duration::hours(2);
        let mut text = String::new();
        for i in 0..5000 {
            let at = t0 + chrono::Duration::seconds(i);
            let line = OutboxLine {
                posted_at: at.to_rfc3339_opts(SecondsFormat::Secs, true),
                slot: "s".into(),
                target: "outbox".into(),
                message_id: "m".into(),
                lang: "en".into(),
                text: "x".repeat(300),
                spoiler: None,
                media: vec![],
                key: format!("k{i}"),
            };
            text.push_str(&serde_json::to_string(&line).unwrap());
            text.push('\n');
        }
        text.push_str("{\"posted_at\":\"20"); // a torn last line
        std::fs::write(&path, text).unwrap();
        let at = |i: i64| t0 + chrono::Duration::seconds(i);
        assert!(find(&path, "k4990", "outbox", at(4980)).unwrap().is_some());
        assert!(
            find(&path, "k10", "outbox", at(0)).unwrap().is_some(),
            "across chunks"
        );
        assert!(
            find(&path, "k10", "outbox", at(4000)).unwrap().is_none(),
            "older: not looked at"
        );
        assert!(
            find(&path, "k4990", "other", at(4980)).unwrap().is_none(),
            "another target's"
        );
        let mut seen = 0;
        for_lines_backwards(&path, |_| {
            seen += 1;
            seen < 100
        })
        .unwrap();
        assert_eq!(seen, 100, "stops when told");
        // A line re-spaced by a tool still tells its time.
        assert_eq!(
            posted_at(r#" { "posted_at" : "2026-12-18T08:00:01Z", "slot": "s"}"#),
            Some(1_797_580_801)
        );
    }

    #[tokio::test]
    async fn same_key_writes_once_and_a_torn_line_is_survived() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let ob = Outbox::new("outbox", path.clone(), crate::clock::Clock::System);
        assert_eq!(
            ob.find_published(&post("k1")).await.unwrap(),
            Lookup::NotPosted
        );
        ob.publish(&post("k1")).await.unwrap();
        ob.publish(&post("k1")).await.unwrap();
        // A crash left half a line behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"posted_at\":\"20")
            .unwrap();
        ob.publish(&post("k2")).await.unwrap();
        let lines = read_lines(&path).unwrap();
        assert_eq!(
            lines.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
            ["k1", "k2"]
        );
        assert_eq!(lines[0].text, "نص #WeTogether");
        assert!(matches!(
            ob.find_published(&post("k2")).await.unwrap(),
            Lookup::Posted(_)
        ));
    }
}
