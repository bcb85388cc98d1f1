//! `posts/` → validated [`Message`]s, with every problem named by file, line
//! and column and what to do about it.
//!
//! This module reads files and nothing else: it never writes into `posts/`
//! (which may be mounted read-only) and never looks at the clock. One bad file
//! never stops the others: it is reported and left out.

use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::{At, Lang, LangMap, Media, MediaPath, Message, MessageKind};

pub mod files;
pub mod typography;

use files::FileError;

/// Errors reported per file at most (then the file is fixed and read again).
const MAX_ERRORS_PER_FILE: usize = 10;

/// From this many files in a folder, they are read on every core.
const PARALLEL_FROM: usize = 200;

/// Post files larger than this are refused: a post is a few hundred bytes.
pub const MAX_POST_FILE_BYTES: u64 = 256 * 1024;

/// Images larger than this are refused (Mastodon takes 16 MB at most,
/// Bluesky 1 MB).
pub const MAX_MEDIA_BYTES: u64 = 16 * 1024 * 1024;

/// How serious a problem is: errors keep a file out, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

/// Something wrong in a post file, where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    pub severity: Severity,
    /// The file as the user knows it: `posts/rotation/x.toml`.
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {sev}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: {sev}: {}", self.file.display(), self.message)
        }
    }
}

/// Every message that loaded, and every problem found on the way.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Rotation messages in file-name order, then queue posts in file-name order.
    pub messages: Vec<Message>,
    pub problems: Vec<Problem>,
    /// Why the posts folder itself could not be read, if it could not.
    pub folder_problem: Option<String>,
    /// The problems already told (logged), by digest, once
    /// [`Catalog::take_problems`] has taken them out: the daemon keeps
    /// these rather than the problems themselves (ten thousand files with
    /// a warning each would hold megabytes of messages for ever).
    pub(crate) told: HashSet<u64>,
}

impl Catalog {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
    /// Takes the problems out to be told, remembering that they were.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        let problems = std::mem::take(&mut self.problems);
        self.told.extend(problems.iter().map(digest));
        problems
    }
    /// Whether `problem` was among those taken out before.
    pub fn told(&self, problem: &Problem) -> bool {
        self.told.contains(&digest(problem))
    }
    /// Counts `earlier`'s told problems as told here too.
    pub fn told_as_well(&mut self, earlier: &Catalog) {
        self.told.extend(earlier.told.iter().copied());
    }
    pub fn get(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }
    /// Why nothing at all can be posted, when that is so: the posts folder
    /// is missing or unreadable, or no file in it is valid and approved.
    pub fn why_nothing(&self) -> Option<String> {
        if self.rotation().next().is_some() || self.queue().next().is_some() {
            return None;
        }
        Some(match &self.folder_problem {
            Some(why) => why.clone(),
            None => "no valid, approved post in posts/ (run `campaign-bot validate`)".into(),
        })
    }

    /// Approved rotation messages, in order.
    pub fn rotation(&self) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.kind == MessageKind::Rotation && !m.draft)
    }
    /// Approved queue posts, in file-name order.
    pub fn queue(&self) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.kind == MessageKind::Queue && !m.draft)
    }

    /// Keeps, for each file that failed to load now, the version of it that
    /// loaded in `previous`, so a typo saved while the daemon runs does not
    /// take a post out of the campaign.
    pub fn keep_last_good(mut self, previous: &Catalog) -> Catalog {
        let failed: Vec<PathBuf> = self.errors().map(|p| p.file.clone()).collect();
        for file in failed {
            let loaded_now = self
                .messages
                .iter()
                .any(|m| display_path(&m.source) == file);
            if loaded_now {
                continue;
            }
            let kept: Vec<Message> = previous
                .messages
                .iter()
                .filter(|m| display_path(&m.source) == file)
                .filter(|m| self.get(&m.id).is_none())
                .cloned()
                .collect();
            if !kept.is_empty() {
                self.problems.push(Problem {
                    severity: Severity::Warning,
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    message: "this file has errors; the bot keeps using its last good version until they are fixed".into(),
                });
                self.messages.extend(kept);
            }
        }
        self.sort();
        self
    }

    fn sort(&mut self) {
        self.messages.sort_by(|a, b| {
            let rank = |m: &Message| (m.kind == MessageKind::Queue) as u8;
            (rank(a), &a.source).cmp(&(rank(b), &b.source))
        });
        self.problems
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    }
}

fn digest(problem: &Problem) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    problem.hash(&mut h);
    h.finish()
}

fn display_path(rel: &Path) -> PathBuf {
    Path::new("posts").join(rel)
}

// ---------------------------------------------------------------- raw shape

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPost {
    id: Option<Spanned<String>>,
    commitment: Option<Spanned<i64>>,
    status: Option<Spanned<String>>,
    tags: Option<Spanned<Vec<Spanned<String>>>>,
    at: Option<Spanned<toml::value::Datetime>>,
    spoiler: Option<Spanned<RawSpoiler>>,
    text: Spanned<BTreeMap<Spanned<String>, Spanned<String>>>,
    /// Shorter texts, per language, for targets whose limit the full text
    /// exceeds.
    short: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    #[serde(default)]
    media: Vec<Spanned<RawMedia>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawMediaPath {
    One(String),
    PerLang(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSpoiler {
    All(String),
    PerLang(BTreeMap<String, String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    path: Spanned<RawMediaPath>,
    alt: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
}

// ---------------------------------------------------------------- loading

/// Loads `posts_dir/rotation/*.toml` and `posts_dir/queue/*.toml`.
///
/// `languages` are those some target posts in: a rotation message lacking
/// one of them gets a warning (it is not used for that language).
pub fn load(posts_dir: &Path, languages: &[Lang]) -> Catalog {
    let mut catalog = Catalog::default();
    let root = match files::root(posts_dir) {
        Ok(root) if root.is_dir() => root,
        _ => {
            let message = missing_folder(posts_dir);
            catalog.folder_problem = Some(message.clone());
            catalog.problems.push(Problem {
                severity: Severity::Error,
                file: posts_dir.to_path_buf(),
                line: 0,
                column: 0,
                message,
            });
            return catalog;
        }
    };
    for (sub, kind) in [
        ("rotation", MessageKind::Rotation),
        ("queue", MessageKind::Queue),
    ] {
        let dir = posts_dir.join(sub);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                catalog.folder_problem = Some(format!(
                    "{}: cannot read this folder: {e}",
                    posts_dir.join(sub).display()
                ));
                catalog.problems.push(whole_file(
                    Severity::Error,
                    &Path::new("posts").join(sub),
                    format!("cannot read this folder: {e}"),
                ));
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        // Files are read and parsed in parallel (thousands take a while on
        // one core), and kept in name order.
        // The folder is opened once (a folder that leads out of posts/ is
        // not: each file is then refused on its own).
        let folder = files::Folder::open(&root, Path::new(sub)).ok();
        let load_one = |path: &PathBuf| {
            let rel = Path::new(sub).join(path.file_name().expect("a listed file has a name"));
            let mut file_problems = Vec::new();
            let message = load_file(
                posts_dir,
                &root,
                folder.as_ref(),
                &rel,
                kind,
                &mut file_problems,
            );
            (message, file_problems)
        };
        // A few files are read on this thread: no pool of threads (and their
        // memory) for the shipped ten.
        let loaded: Vec<(Option<Message>, Vec<Problem>)> = if files.len() < PARALLEL_FROM {
            files.iter().map(load_one).collect()
        } else {
            files.par_iter().map(load_one).collect()
        };
        for (message, file_problems) in loaded {
            catalog.problems.extend(file_problems);
            catalog.messages.extend(message);
        }
    }
    check_duplicates(&mut catalog);
    check_placeholders(&mut catalog);
    check_languages(&mut catalog, languages);
    catalog.sort();
    catalog.messages.shrink_to_fit();
    catalog
}

/// Why `posts_dir` cannot be read, naming the folder looked in (made
/// absolute), and, when the current folder is itself a posts folder (it
/// holds `rotation/` or `queue/`), how to get out of it (issue 32).
pub fn missing_folder(posts_dir: &Path) -> String {
    let shown = std::path::absolute(posts_dir).unwrap_or_else(|_| posts_dir.to_path_buf());
    let here = std::env::current_dir().unwrap_or_default();
    if here_is_a_posts_folder() {
        format!(
            "there is no posts folder at {}: the current folder ({}) looks like a posts folder itself; run the bot from the folder above it, or set posts_dir",
            shown.display(),
            here.display()
        )
    } else {
        format!(
            "there is no posts folder at {}; create it with rotation/ and queue/ inside, or set posts_dir",
            shown.display()
        )
    }
}

/// Whether the current folder holds `rotation/` or `queue/`: the bot was
/// started inside `posts/` rather than beside it.
pub fn here_is_a_posts_folder() -> bool {
    ["rotation", "queue"].iter().any(|d| Path::new(d).is_dir())
}

fn whole_file(severity: Severity, file: &Path, message: String) -> Problem {
    Problem {
        severity,
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message,
    }
}

/// Line and column (1-based, in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

struct FileCtx<'a> {
    file: PathBuf,
    text: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl FileCtx<'_> {
    fn error_at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(Problem {
            severity: Severity::Error,
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }
    fn error_file(&mut self, message: impl Into<String>) {
        self.problems
            .push(whole_file(Severity::Error, &self.file, message.into()));
    }
    fn error_count(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }
}

fn load_file(
    posts_dir: &Path,
    root: &Path,
    folder: Option<&files::Folder<'_>>,
    rel: &Path,
    kind: MessageKind,
    problems: &mut Vec<Problem>,
) -> Option<Message> {
    let shown = display_path(rel);
    let read = match (folder, rel.file_name()) {
        (Some(folder), Some(name)) => folder.read(name, MAX_POST_FILE_BYTES),
        _ => files::read_inside(root, rel, MAX_POST_FILE_BYTES),
    };
    let bytes = match read {
        Ok(b) => b,
        Err(FileError::TooBig { size, .. }) => {
            problems.push(whole_file(
                Severity::Error,
                &shown,
                format!(
                    "the file is {size} bytes; a post file must be under {} KiB: is it the right file?",
                    MAX_POST_FILE_BYTES / 1024
                ),
            ));
            return None;
        }
        Err(e) => {
            problems.push(whole_file(
                Severity::Error,
                &shown,
                format!("this file {e}"),
            ));
            return None;
        }
    };
    parse(posts_dir, rel, kind, bytes, problems)
}

/// Parses and checks the bytes of one post file (`rel`, relative to
/// `posts_dir`, which media paths are checked against). Problems are added
/// to `problems`; the message is returned only if the file has no error.
pub fn parse(
    posts_dir: &Path,
    rel: &Path,
    kind: MessageKind,
    bytes: Vec<u8>,
    problems: &mut Vec<Problem>,
) -> Option<Message> {
    let shown = display_path(rel);
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let good = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let (line, column) = line_col(&good, valid);
            problems.push(Problem {
                severity: Severity::Error,
                file: shown,
                line,
                column,
                message: "the file is not UTF-8 text; save it as UTF-8 in your editor".into(),
            });
            return None;
        }
    };
    // Editors on Windows may add a byte-order mark; TOML does not allow one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        let (line, column) = line_col(text, at);
        problems.push(Problem {
            severity: Severity::Error,
            file: shown,
            line,
            column,
            message: format!(
                "the file contains an invisible control character (U+{:04X}); delete it, or retype the line",
                c as u32
            ),
        });
        return None;
    }
    let mut ctx = FileCtx {
        file: shown.clone(),
        text,
        problems,
    };
    let report = |ctx: &mut FileCtx<'_>, e: &toml::de::Error, doc: &str| {
        let mut message = explain_toml_error(e.message());
        let line_text = e
            .span()
            .and_then(|sp| doc[sp.start..].lines().next())
            .unwrap_or("");
        let line_start = e
            .span()
            .map(|sp| doc[..sp.start].rfind('\n').map_or(0, |i| i + 1))
            .and_then(|start| doc[start..].lines().next())
            .unwrap_or("");
        if line_text.trim_start().starts_with("[media]") {
            message = "each image needs its own [[media]] table, with double brackets".into();
        }
        // Alt text is a table of languages written on one line.
        if line_start.trim_start().starts_with("alt") && message.contains("table of languages") {
            message = "the alt text needs one text per language: write alt = { en = \"…\", fr = \"…\", ar = \"…\" }".into();
        }
        match e.span() {
            Some(span) => ctx.error_at(span, message),
            None => ctx.error_file(message),
        }
    };
    // A syntax error: what follows it cannot be trusted; say it alone.
    if let Err(e) = text.parse::<toml::Table>() {
        report(&mut ctx, &e, text);
        return None;
    }
    // Key-level errors (an unknown key, a value of the wrong kind): each
    // is reported, its line blanked (every offset kept) and the file read
    // again, so all of them, and the checks of the rest, come in one pass.
    let mut doc = text.to_string();
    let mut raw: Option<RawPost> = None;
    for _ in 0..MAX_ERRORS_PER_FILE {
        match toml::from_str::<RawPost>(&doc) {
            Ok(r) => {
                raw = Some(r);
                break;
            }
            Err(e) => {
                report(&mut ctx, &e, &doc);
                // A missing key has no line to blank.
                if e.message().starts_with("missing field") {
                    break;
                }
                let Some(span) = e.span() else { break };
                let start = doc[..span.start].rfind('\n').map_or(0, |i| i + 1);
                let end = doc[span.start..]
                    .find('\n')
                    .map_or(doc.len(), |i| span.start + i);
                let line = doc[start..end].trim_start();
                // A table's header: blanking it would move its keys
                // elsewhere; the text: blanking it would make it missing.
                let key = line.split('=').next().unwrap_or("").trim();
                if line.starts_with('[') || key == "text" {
                    break;
                }
                doc.replace_range(start..end, &" ".repeat(end - start));
            }
        }
    }
    let raw = raw?;
    let message = build_message(posts_dir, rel, kind, raw, &mut ctx);
    // Any error in the file keeps it out.
    if ctx.error_count() > 0 {
        return None;
    }
    message
}

/// Turns serde's wording into advice for someone who is not a programmer.
fn explain_toml_error(message: &str) -> String {
    let m = message.trim().trim_end_matches('.');
    if let Some(rest) = m.strip_prefix("unknown field ") {
        return format!(
            "unknown key {}; check its spelling. {}",
            rest.split(',').next().unwrap_or(rest),
            rest.split_once(", expected ")
                .map(|(_, allowed)| format!(
                    "Allowed keys: {}",
                    allowed.trim_start_matches("one of ")
                ))
                .unwrap_or_default()
        );
    }
    // (Multi-line first: its message contains the single-line one's.)
    if m.contains("invalid multiline basic string") || m.contains("invalid multi-line basic string")
    {
        return "a text in \"\"\" is not closed; end it with \"\"\"".into();
    }
    if m.contains("invalid multi-line literal string") {
        return "a text in ''' is not closed; end it with '''".into();
    }
    if m.contains("invalid literal string") {
        return "a text in single quotes ' is not closed; end it with ' on the same line, or put the text in double quotes \"…\" (a text in single quotes cannot hold an apostrophe)".into();
    }
    if m.contains("string values must be quoted") {
        return "text must be in quotes: write en = \"…\", or \"\"\" … \"\"\" for text on several lines".into();
    }
    if m.starts_with("unexpected key or value") {
        return "something follows the value on this line: put one key = value per line; a text in single quotes ends at the next ' (an apostrophe ends it), so use double quotes \"…\" for text".into();
    }
    if m.contains("invalid basic string") {
        return "a quoted text is not closed; end it with \" on the same line, or use \"\"\" … \"\"\" for text on several lines".into();
    }
    if m.starts_with("unclosed table") {
        return "a [table] header is not closed; end it with ]".into();
    }
    if m.starts_with("key with no value") {
        return "this line has no `=`: write it as key = value, with text in quotes".into();
    }
    if m.starts_with("duplicate key") {
        return "this key is set twice in the file; keep one".into();
    }
    if m.starts_with("invalid date") || m.starts_with("invalid time") {
        return format!("{m}: this date or time does not exist; check the day, month and hour");
    }
    if m.contains("untagged enum RawSpoiler") {
        return "the spoiler must be text in quotes, or a [spoiler] table with one line per language".into();
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let friendly = rest
            .replace("expected i64", "expected a whole number, e.g. 1")
            .replace(
                "expected a sequence",
                "expected a list in square brackets, e.g. [\"HumanRights\"]",
            )
            .replace(
                "expected a map",
                "expected a table of languages: [text] then en = \"…\"",
            )
            .replace("expected a string", "expected text in quotes")
            .replace(
                "expected a TOML datetime",
                "expected a date and time without quotes and without an offset, e.g. 2026-12-18T09:00:00 (read in the campaign's time zone)",
            );
        return format!("wrong kind of value: {friendly}");
    }
    if m.starts_with("missing field `text`") {
        return "missing the [text] table; add one line per language, e.g. en = \"...\"".into();
    }
    format!("{m}; see posts/README.md for the file format")
}

fn build_message(
    posts_dir: &Path,
    rel: &Path,
    kind: MessageKind,
    raw: RawPost,
    ctx: &mut FileCtx<'_>,
) -> Option<Message> {
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = match raw.id {
        Some(id) => {
            let span = id.span();
            let id = id.into_inner();
            if !valid_id(&id) {
                ctx.error_at(
                    span,
                    format!("id {id:?} must be non-empty, at most 100 letters, digits, - or _"),
                );
            }
            id
        }
        None => {
            if !valid_id(&stem) {
                ctx.error_file(format!(
                    "the file name {stem:?} cannot serve as id; rename the file or add id = \"some-name\""
                ));
            }
            stem
        }
    };

    let commitment = raw.commitment.and_then(|c| {
        let span = c.span();
        let v = c.into_inner();
        if (1..=6).contains(&v) {
            Some(v as u8)
        } else {
            ctx.error_at(
                span,
                format!("commitment {v} does not exist; the statement has commitments 1 to 6"),
            );
            None
        }
    });

    let draft = match raw.status {
        None => false,
        Some(s) => match s.get_ref().as_str() {
            "approved" => false,
            "draft" => true,
            other => {
                ctx.error_at(
                    s.span(),
                    format!("status {other:?} is not known; write \"approved\" or \"draft\""),
                );
                true
            }
        },
    };

    let mut tags = Vec::new();
    if let Some(list) = raw.tags {
        for t in list.into_inner() {
            let span = t.span();
            let tag = t.into_inner();
            let tag = tag.trim().trim_start_matches('#').to_string();
            if tag.is_empty() || !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                ctx.error_at(
                    span,
                    format!("tag {tag:?} is not a hashtag: use letters, digits and _ (no spaces)"),
                );
            } else {
                tags.push(tag);
            }
        }
    }

    let at = match raw.at {
        None => None,
        Some(at) => {
            let span = at.span();
            if kind == MessageKind::Rotation {
                ctx.error_at(
                    span,
                    "`at` is for queue posts only; move this file to posts/queue/ or remove `at`",
                );
                None
            } else {
                parse_at(at.get_ref()).or_else(|| {
                    ctx.error_at(
                        span,
                        "`at` needs a date and a time, e.g. at = 2026-12-18T09:00:00+01:00 (or without +01:00 for the schedule's time zone)",
                    );
                    None
                })
            }
        }
    };

    let text_span = raw.text.span();
    let mut text = LangMap::new();
    let mut text_lines = LangMap::new();
    for (k, v) in raw.text.into_inner() {
        let Some(lang) = lang_key(&k, ctx) else {
            continue;
        };
        let value = v.get_ref().trim().to_string();
        if value.is_empty() {
            ctx.error_at(
                v.span(),
                format!("the {lang} text is empty; write the post or remove the line"),
            );
            continue;
        }
        check_bidi(ctx, v.span(), &value, &format!("the {lang} text"));
        if lang.as_str() == "fr" {
            check_french(ctx, v.span());
        }
        text_lines.insert(lang, line_col(ctx.text, k.span().start).0);
        text.insert(lang, value);
    }
    if text.is_empty() && ctx.error_count() == 0 {
        ctx.error_at(
            text_span,
            "[text] has no language; add at least one line such as en = \"...\"",
        );
    }

    let mut short = LangMap::new();
    for (k, v) in raw.short.map(|s| s.into_inner()).unwrap_or_default() {
        let Some(lang) = lang_key(&k, ctx) else {
            continue;
        };
        let value = v.get_ref().trim().to_string();
        if !text.contains_key(&lang) {
            ctx.error_at(
                k.span(),
                format!("[short] has a {lang} text but [text] does not; add the full {lang} text or remove this line"),
            );
        } else if value.is_empty() {
            ctx.error_at(
                v.span(),
                format!("the short {lang} text is empty; write it or remove the line"),
            );
        } else if value.chars().count() >= text[&lang].chars().count() {
            ctx.error_at(
                v.span(),
                format!("the short {lang} text is not shorter than the full one; shorten it or remove the line"),
            );
        } else {
            check_bidi(ctx, v.span(), &value, &format!("the short {lang} text"));
            if lang.as_str() == "fr" {
                check_french(ctx, v.span());
            }
            short.insert(lang, value);
        }
    }

    let mut spoiler = LangMap::new();
    if let Some(sp) = raw.spoiler {
        let span = sp.span();
        match sp.into_inner() {
            RawSpoiler::All(s) if !s.trim().is_empty() => {
                for lang in text.keys() {
                    spoiler.insert(*lang, s.trim().to_string());
                }
            }
            RawSpoiler::All(_) => ctx.error_at(
                span,
                "the spoiler is empty; write a content warning or remove it",
            ),
            RawSpoiler::PerLang(map) => {
                for (k, v) in map {
                    match Lang::new(&k) {
                        Ok(lang) if text.contains_key(&lang) && !v.trim().is_empty() => {
                            spoiler.insert(lang, v.trim().to_string());
                        }
                        Ok(lang) if !text.contains_key(&lang) => ctx.error_at(
                            span.clone(),
                            format!("the spoiler has a {lang} version but the text does not; add the text or remove it"),
                        ),
                        Ok(lang) => ctx.error_at(span.clone(), format!("the {lang} spoiler is empty")),
                        Err(e) => ctx.error_at(span.clone(), format!("in [spoiler]: {e}")),
                    }
                }
                for lang in text.keys() {
                    if !spoiler.contains_key(lang) {
                        ctx.error_at(span.clone(), format!("the spoiler has no {lang} version; add one for every language of the text"));
                    }
                }
            }
        }
    }

    let mut media = Vec::new();
    for m in raw.media {
        let span = m.span();
        let m = m.into_inner();
        let path_span = m.path.span();
        let path = match m.path.into_inner() {
            RawMediaPath::One(p) => media_path(posts_dir, &p, path_span, ctx).map(MediaPath::All),
            RawMediaPath::PerLang(map) => {
                let mut paths = LangMap::new();
                let mut complete = true;
                for (k, v) in map {
                    let Ok(lang) = Lang::new(&k) else {
                        ctx.error_at(
                            path_span.clone(),
                            format!("in the image's path: {}", Lang::new(&k).unwrap_err()),
                        );
                        complete = false;
                        continue;
                    };
                    match media_path(posts_dir, &v, path_span.clone(), ctx) {
                        Some(p) => {
                            paths.insert(lang, p);
                        }
                        None => complete = false,
                    }
                }
                for lang in text.keys() {
                    if !paths.contains_key(lang) {
                        ctx.error_at(
                            path_span.clone(),
                            format!("the image has no {lang} file; add {lang} = \"media/….png\" to its path, or give one path for every language"),
                        );
                        complete = false;
                    }
                }
                complete.then_some(MediaPath::PerLang(paths))
            }
        };
        let Some(path) = path else {
            continue;
        };
        let image = Media {
            path,
            alt: LangMap::new(),
        };
        let mut alt = LangMap::new();
        match m.alt {
            None => ctx.error_at(
                span.clone(),
                format!(
                    "the image {} has no alt text; add alt = {{ {} }} describing it for people who cannot see it",
                    image.describe(),
                    text.keys().map(|l| format!("{l} = \"...\"")).collect::<Vec<_>>().join(", ")
                ),
            ),
            Some(alts) => {
                let alt_span = alts.span();
                for (k, v) in alts.into_inner() {
                    let Some(lang) = lang_key(&k, ctx) else { continue };
                    if v.get_ref().trim().is_empty() {
                        ctx.error_at(v.span(), format!("the {lang} alt text is empty; describe the image"));
                    } else {
                        alt.insert(lang, v.get_ref().trim().to_string());
                    }
                }
                for lang in text.keys() {
                    if !alt.contains_key(lang) && ctx.error_count() == 0 {
                        ctx.error_at(
                            alt_span.clone(),
                            format!("the image {} has no {lang} alt text; add {lang} = \"...\" to its alt", image.describe()),
                        );
                    }
                }
            }
        }
        media.push(Media { alt, ..image });
    }

    // Built by inserts: give back the spare room (thousands are held).
    for map in [&mut spoiler, &mut text, &mut short] {
        map.shrink_to_fit();
    }
    text_lines.shrink_to_fit();
    Some(Message {
        id,
        source: rel.to_path_buf(),
        kind,
        commitment,
        draft,
        tags,
        at,
        spoiler,
        text,
        short,
        text_lines,
        media,
    })
}

/// Invisible characters that reorder how text displays. Overrides
/// (U+202D, U+202E) can make a post read differently from what was
/// approved ("Trojan source"): an error. Embeddings and isolates are
/// legitimate but easy to leave unbalanced: a warning. The marks a right-to-
/// left text needs (U+200E, U+200F, U+061C) are fine.
fn check_bidi(ctx: &mut FileCtx<'_>, span: std::ops::Range<usize>, value: &str, what: &str) {
    const OVERRIDES: &[(char, &str)] = &[
        ('\u{202D}', "LEFT-TO-RIGHT OVERRIDE"),
        ('\u{202E}', "RIGHT-TO-LEFT OVERRIDE"),
    ];
    const OTHERS: &[(char, &str)] = &[
        ('\u{202A}', "LEFT-TO-RIGHT EMBEDDING"),
        ('\u{202B}', "RIGHT-TO-LEFT EMBEDDING"),
        ('\u{202C}', "POP DIRECTIONAL FORMATTING"),
        ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
        ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
        ('\u{2068}', "FIRST STRONG ISOLATE"),
        ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
    ];
    for (c, name) in OVERRIDES.iter().chain(OTHERS) {
        if !value.contains(*c) {
            continue;
        }
        let raw = &ctx.text[span.clone()];
        let at = span.start + raw.find(*c).unwrap_or(0);
        let (line, column) = line_col(ctx.text, at);
        let error = OVERRIDES.iter().any(|(o, _)| o == c);
        ctx.problems.push(Problem {
            severity: if error { Severity::Error } else { Severity::Warning },
            file: ctx.file.clone(),
            line,
            column,
            message: format!(
                "{what} contains an invisible U+{:04X} {name}, which {}; delete it (in most editors: place the cursor after it and press Backspace)",
                *c as u32,
                if error { "makes the text display in another order than it was written" } else { "changes how the text around it displays" }
            ),
        });
    }
}

/// French typography (see [`typography`]): warnings at their place.
fn check_french(ctx: &mut FileCtx<'_>, span: std::ops::Range<usize>) {
    let token = &ctx.text[span.clone()];
    for advice in typography::french(token) {
        let (line, column) = line_col(ctx.text, span.start + advice.offset);
        ctx.problems.push(Problem {
            severity: Severity::Warning,
            file: ctx.file.clone(),
            line,
            column,
            message: advice.message,
        });
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

fn lang_key(k: &Spanned<String>, ctx: &mut FileCtx<'_>) -> Option<Lang> {
    match Lang::new(k.get_ref()) {
        Ok(l) => Some(l),
        Err(e) => {
            ctx.error_at(k.span(), e.to_string());
            None
        }
    }
}

fn parse_at(dt: &toml::value::Datetime) -> Option<At> {
    let (date, time) = (dt.date?, dt.time?);
    let naive =
        chrono::NaiveDate::from_ymd_opt(date.year as i32, date.month as u32, date.day as u32)?
            .and_hms_nano_opt(
                time.hour as u32,
                time.minute as u32,
                time.second.unwrap_or(0) as u32,
                time.nanosecond.unwrap_or(0),
            )?;
    match dt.offset {
        None => Some(At::Local(naive)),
        Some(toml::value::Offset::Z) => Some(At::Fixed(naive.and_utc().fixed_offset())),
        Some(toml::value::Offset::Custom { minutes }) => {
            let off = chrono::FixedOffset::east_opt(minutes as i32 * 60)?;
            Some(At::Fixed(naive.and_local_timezone(off).single()?))
        }
    }
}

/// A media path relative to `posts/`, that stays inside it and exists.
fn media_path(
    posts_dir: &Path,
    raw: &str,
    span: std::ops::Range<usize>,
    ctx: &mut FileCtx<'_>,
) -> Option<PathBuf> {
    let p = Path::new(raw.trim());
    let outside = p.is_absolute()
        || p.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        });
    if outside || p.as_os_str().is_empty() {
        ctx.error_at(
            span.clone(),
            format!(
                "media path {:?} must be inside posts/, written relative to it (e.g. \"media/card.png\"), without .. or a leading /",
                raw
            ),
        );
        return None;
    }
    let read = files::root(posts_dir)
        .map_err(FileError::Io)
        .and_then(|root| files::read_inside(&root, p, MAX_MEDIA_BYTES));
    let problem = match read {
        Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => format!(
            "media file posts/{} does not exist; add the image there or fix the path",
            p.display()
        ),
        Err(e) => format!("media file posts/{} {e}", p.display()),
        Ok(bytes) => match files::sniff_image(&bytes) {
            Ok(_) => return Some(p.to_path_buf()),
            Err(what) => format!(
                "media file posts/{} is {what}; use a PNG, JPEG, GIF or WebP image",
                p.display()
            ),
        },
    };
    ctx.error_at(span.clone(), problem);
    None
}

fn check_duplicates(catalog: &mut Catalog) {
    let mut first: HashMap<String, PathBuf> = HashMap::new();
    let mut dup = Vec::new();
    for (i, m) in catalog.messages.iter().enumerate() {
        match first.get(&m.id) {
            Some(src) => {
                catalog.problems.push(whole_file(
                    Severity::Error,
                    &display_path(&m.source),
                    format!(
                        "id {:?} is already used by {}; ids must be unique, so change one of them",
                        m.id,
                        display_path(src).display()
                    ),
                ));
                dup.push(i);
            }
            None => {
                first.insert(m.id.clone(), m.source.clone());
            }
        }
    }
    for i in dup.into_iter().rev() {
        catalog.messages.remove(i);
    }
}

/// Approved texts that are not ready: a placeholder (`…`, `TODO`) or a
/// copy of another message's text (a guide's example saved as a trial, a
/// file duplicated to start a new one). Warnings: the file still loads, and
/// the fix may be `status = "draft"` (issue 26).
fn check_placeholders(catalog: &mut Catalog) {
    let mut seen: HashMap<(Lang, String), (&str, &Path)> = HashMap::new();
    let mut problems = Vec::new();
    for m in catalog.messages.iter().filter(|m| !m.draft) {
        for (table, texts) in [("text", &m.text), ("short", &m.short)] {
            for (lang, text) in texts.iter() {
                let line = if table == "text" {
                    m.text_lines.get(lang).copied().unwrap_or(0)
                } else {
                    0
                };
                let warn = |message: String| Problem {
                    severity: Severity::Warning,
                    file: display_path(&m.source),
                    line,
                    column: usize::from(line > 0),
                    message,
                };
                let placeholder = text
                    .chars()
                    .all(|c| c.is_whitespace() || ".…-_?*".contains(c))
                    || text.contains("TODO")
                    || text.contains("TBD")
                    || text.to_lowercase().contains("lorem ipsum");
                if placeholder {
                    problems.push(warn(format!(
                        "the {lang} text under [{table}] is a placeholder ({}), and this message is approved: write the real text, or set status = \"draft\" until it is ready",
                        text.trim().chars().take(40).collect::<String>()
                    )));
                    continue;
                }
                let plain = text.split_whitespace().collect::<Vec<_>>().join(" ");
                match seen.get(&(*lang, plain.clone())) {
                    Some((id, source)) if *id != m.id => problems.push(warn(format!(
                        "the {lang} text under [{table}] is word for word the one of message {id} ({}): the same words would go out twice; write this message's own words, or set status = \"draft\"",
                        display_path(source).display()
                    ))),
                    Some(_) => {}
                    None => {
                        seen.insert((*lang, plain), (m.id.as_str(), m.source.as_path()));
                    }
                }
            }
        }
    }
    catalog.problems.extend(problems);
}

fn check_languages(catalog: &mut Catalog, languages: &[Lang]) {
    // A text in a language no target posts in is never posted: say so.
    if !languages.is_empty() {
        // (A post with no such language at all has its own warning.)
        let posted = |m: &&Message| m.langs().any(|l| languages.contains(l));
        for m in catalog.messages.iter().filter(|m| !m.draft).filter(posted) {
            for lang in m.langs().filter(|l| !languages.contains(l)) {
                catalog.problems.push(Problem {
                    severity: Severity::Warning,
                    file: display_path(&m.source),
                    line: m.text_lines.get(lang).copied().unwrap_or(0),
                    column: 1,
                    message: format!(
                        "no target posts in {lang}: this text is never posted (the targets post in {}); add {lang} to a target's languages, or check the language code",
                        languages.iter().map(Lang::as_str).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    for m in &catalog.messages {
        if m.kind != MessageKind::Rotation || m.draft {
            continue;
        }
        let missing: Vec<&str> = languages
            .iter()
            .filter(|l| !m.has_lang(l))
            .map(Lang::as_str)
            .collect();
        if !missing.is_empty() {
            catalog.problems.push(whole_file(
                Severity::Warning,
                &display_path(&m.source),
                format!(
                    "no {} text: this message is not posted in {}",
                    missing.join(", "),
                    if missing.len() == 1 {
                        "that language"
                    } else {
                        "those languages"
                    }
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn langs() -> Vec<Lang> {
        ["en", "fr", "ar"]
            .iter()
            .map(|l| Lang::new(l).unwrap())
            .collect()
    }

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["rotation", "queue", "media"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("media/card.png"), files::tests::PNG_1X1).unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        dir
    }

    fn check(files: &[(&str, &str)], expect: Expect) {
        let dir = dir_with(files);
        let c = load(dir.path(), &langs());
        let out: Vec<String> = c.problems.iter().map(|p| p.to_string()).collect();
        expect.assert_eq(&out.join("\n"));
    }

    const GOOD: &str = r#"
commitment = 1
tags = ["HumanRights"]
[text]
en = "Rights for all."
fr = "Des droits pour tous."
ar = "حقوق للجميع."
"#;

    #[test]
    fn a_good_file_loads() {
        let dir = dir_with(&[("rotation/rights.toml", GOOD)]);
        let c = load(dir.path(), &langs());
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let m = &c.messages[0];
        assert_eq!(m.id, "rights");
        assert_eq!(m.commitment, Some(1));
        assert_eq!(m.tags, ["HumanRights"]);
        assert_eq!(m.text.len(), 3);
    }

    #[test]
    fn invalid_toml_names_line_and_column() {
        check(
            &[("rotation/a.toml", "[text]\nen = \"unterminated\n")],
            expect![[
                r#"posts/rotation/a.toml:2:19: error: a quoted text is not closed; end it with " on the same line, or use """ … """ for text on several lines"#
            ]],
        );
    }

    #[test]
    fn unknown_key() {
        check(
            &[(
                "rotation/a.toml",
                "titel = \"x\"\n[text]\nen = \"x\"\nfr = \"x\"\nar = \"x\"\n",
            )],
            expect![
                "posts/rotation/a.toml:1:1: error: unknown key `titel`; check its spelling. Allowed keys: `id`, `commitment`, `status`, `tags`, `at`, `spoiler`, `text`, `short`, `media`"
            ],
        );
    }

    // Issue 15: only the first error of a file was shown.
    #[test]
    fn every_error_a_file_has_comes_in_one_pass() {
        check(
            &[(
                "rotation/a.toml",
                "titel = \"x\"\ncommitment = \"one\"\n[text]\nen = \" \"\nfr = \"y\"\nxx = \"z\"\n",
            )],
            expect![[r#"
                posts/rotation/a.toml:1:1: error: unknown key `titel`; check its spelling. Allowed keys: `id`, `commitment`, `status`, `tags`, `at`, `spoiler`, `text`, `short`, `media`
                posts/rotation/a.toml:2:14: error: wrong kind of value: string "one", expected a whole number, e.g. 1
                posts/rotation/a.toml:4:6: error: the en text is empty; write the post or remove the line
                posts/rotation/a.toml:6:1: error: "xx" is not an ISO 639-1 language code; use two letters such as en, fr or ar"#]],
        );
    }

    #[test]
    fn wrong_type_empty_text_and_bad_language() {
        check(
            &[
                (
                    "rotation/a.toml",
                    "commitment = \"one\"\n[text]\nen = \"x\"\n",
                ),
                (
                    "rotation/b.toml",
                    "[text]\nen = \"  \"\nfr = \"x\"\nar = \"y\"\n",
                ),
                ("rotation/c.toml", "[text]\neng = \"x\"\n"),
            ],
            expect![[r#"
                posts/rotation/a.toml:1:14: error: wrong kind of value: string "one", expected a whole number, e.g. 1
                posts/rotation/b.toml:2:6: error: the en text is empty; write the post or remove the line
                posts/rotation/c.toml:2:1: error: "eng" is not an ISO 639-1 language code; use two letters such as en, fr or ar"#]],
        );
    }

    #[test]
    fn media_must_stay_inside_and_exist_with_alt_text() {
        check(
            &[
                (
                    "rotation/a.toml",
                    "[text]\nen = \"x\"\n[[media]]\npath = \"../secret.png\"\nalt = { en = \"x\" }\n",
                ),
                (
                    "rotation/b.toml",
                    "[text]\nen = \"x\"\n[[media]]\npath = \"media/missing.png\"\nalt = { en = \"x\" }\n",
                ),
                (
                    "rotation/c.toml",
                    "[text]\nen = \"x\"\nfr = \"y\"\n[[media]]\npath = \"media/card.png\"\nalt = { en = \"x\" }\n",
                ),
                (
                    "rotation/d.toml",
                    "[text]\nen = \"x\"\n[[media]]\npath = \"/etc/passwd\"\nalt = { en = \"x\" }\n",
                ),
                ("media/fake.png", "not an image at all"),
                (
                    "rotation/e.toml",
                    "[text]\nen = \"x\"\n[[media]]\npath = \"media/fake.png\"\nalt = { en = \"x\" }\n",
                ),
            ],
            expect![[r#"
                posts/rotation/a.toml:4:8: error: media path "../secret.png" must be inside posts/, written relative to it (e.g. "media/card.png"), without .. or a leading /
                posts/rotation/b.toml:4:8: error: media file posts/media/missing.png does not exist; add the image there or fix the path
                posts/rotation/c.toml:6:7: error: the image media/card.png has no fr alt text; add fr = "..." to its alt
                posts/rotation/d.toml:4:8: error: media path "/etc/passwd" must be inside posts/, written relative to it (e.g. "media/card.png"), without .. or a leading /
                posts/rotation/e.toml:4:8: error: media file posts/media/fake.png is text, not an image; use a PNG, JPEG, GIF or WebP image"#]],
        );
    }

    // Issue 13: a link in posts/ to a file outside it was read (a post file
    // linked to /etc/passwd showed its first line in the error) and
    // published (an image linked to a secret was uploaded).
    #[test]
    fn links_that_leave_posts_are_refused_without_reading_them() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(
            outside.path().join("passwd"),
            "root:x:0:0:root:/root:/bin/bash\n",
        )
        .unwrap();
        std::fs::write(outside.path().join("token"), files::tests::PNG_1X1).unwrap();
        std::fs::write(outside.path().join("good.toml"), GOOD).unwrap();
        let dir = dir_with(&[(
            "rotation/b.toml",
            "[text]\nen = \"x\"\nfr = \"y\"\nar = \"z\"\n[[media]]\npath = \"media/link.png\"\nalt = { en = \"x\", fr = \"y\", ar = \"z\" }\n",
        )]);
        let link =
            |to: &Path, at: &str| std::os::unix::fs::symlink(to, dir.path().join(at)).unwrap();
        link(&outside.path().join("passwd"), "rotation/a.toml");
        link(&outside.path().join("token"), "media/link.png");
        link(&outside.path().join("good.toml"), "rotation/c.toml");
        // A link inside posts/ is fine.
        std::fs::write(dir.path().join("rotation/real.toml"), GOOD).unwrap();
        link(Path::new("real.toml"), "rotation/d.toml");
        std::fs::remove_file(dir.path().join("rotation/real.toml")).unwrap();
        std::fs::write(dir.path().join("queue/e.toml"), "[text]\nen = \"queue\"\n").unwrap();
        link(Path::new("../queue/e.toml"), "rotation/f.toml");
        let c = load(dir.path(), &langs());
        let out: Vec<String> = c.problems.iter().map(|p| p.to_string()).collect();
        let out = out.join("\n");
        assert!(!out.contains("root:x"), "{out}");
        let outside_path = outside.path().canonicalize().unwrap();
        assert!(
            out.contains(&format!(
                "posts/rotation/a.toml: error: this file is a link to {}/passwd, outside posts/",
                outside_path.display()
            )),
            "{out}"
        );
        assert!(
            out.contains("posts/rotation/c.toml: error: this file is a link to"),
            "{out}"
        );
        assert!(
            out.contains(
                "posts/rotation/b.toml:6:8: error: media file posts/media/link.png is a link to"
            ),
            "{out}"
        );
        assert!(
            out.contains("posts/rotation/d.toml: error: this file cannot be read"),
            "a dangling link: {out}"
        );
        assert_eq!(
            c.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["f", "e"],
            "a link inside posts/ is read"
        );
    }

    // Issue 14: a card in each language's own words.
    #[test]
    fn an_image_may_have_one_file_per_language() {
        let dir = dir_with(&[(
            "rotation/a.toml",
            "[text]\nen = \"x\"\nfr = \"y\"\nar = \"z\"\n[[media]]\npath = { en = \"media/card.png\", fr = \"media/card-fr.png\", ar = \"media/card-ar.png\" }\nalt = { en = \"a\", fr = \"b\", ar = \"c\" }\n",
        )]);
        for l in ["fr", "ar"] {
            std::fs::copy(
                dir.path().join("media/card.png"),
                dir.path().join(format!("media/card-{l}.png")),
            )
            .unwrap();
        }
        let c = load(dir.path(), &langs());
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let md = &c.messages[0].media[0];
        assert_eq!(
            md.path_for(&Lang::new("fr").unwrap()),
            Some(Path::new("media/card-fr.png"))
        );
        assert_eq!(
            md.path_for(&Lang::new("en").unwrap()),
            Some(Path::new("media/card.png"))
        );
        assert_eq!(md.files().len(), 3);
        check(
            &[(
                "rotation/b.toml",
                "[text]\nen = \"x\"\nfr = \"y\"\n[[media]]\npath = { en = \"media/card.png\", fr = \"media/nope.png\", xx = \"media/card.png\" }\nalt = { en = \"a\", fr = \"b\" }\n",
            )],
            expect![[r#"
                posts/rotation/b.toml:5:8: error: media file posts/media/nope.png does not exist; add the image there or fix the path
                posts/rotation/b.toml:5:8: error: in the image's path: "xx" is not an ISO 639-1 language code; use two letters such as en, fr or ar
                posts/rotation/b.toml:5:8: error: the image has no fr file; add fr = "media/….png" to its path, or give one path for every language"#]],
        );
    }

    #[test]
    fn duplicates_and_missing_languages() {
        check(
            &[
                ("rotation/a.toml", GOOD),
                ("rotation/b.toml", &format!("id = \"a\"\n{GOOD}")),
                ("rotation/c.toml", "[text]\nen = \"only English\"\n"),
                (
                    "queue/d.toml",
                    "[text]\nen = \"queue posts may have one language\"\n",
                ),
            ],
            expect![[r#"
                posts/rotation/b.toml: error: id "a" is already used by posts/rotation/a.toml; ids must be unique, so change one of them
                posts/rotation/c.toml: warning: no fr, ar text: this message is not posted in those languages"#]],
        );
    }

    #[test]
    fn one_bad_file_never_stops_the_others() {
        let dir = dir_with(&[("rotation/a.toml", GOOD), ("rotation/b.toml", "nonsense")]);
        let c = load(dir.path(), &langs());
        assert_eq!(c.messages.len(), 1);
        assert!(c.has_errors());
    }

    #[test]
    fn bom_crlf_and_invalid_utf8() {
        let with_bom = format!("\u{feff}{}", GOOD.replace('\n', "\r\n"));
        let dir = dir_with(&[("rotation/a.toml", &with_bom)]);
        std::fs::write(
            dir.path().join("rotation/b.toml"),
            b"[text]\nen = \"caf\xe9\"\n",
        )
        .unwrap();
        let c = load(dir.path(), &langs());
        assert_eq!(c.messages.len(), 1);
        assert_eq!(c.problems.len(), 1);
        assert_eq!(
            c.problems[0].to_string(),
            "posts/rotation/b.toml:2:10: error: the file is not UTF-8 text; save it as UTF-8 in your editor"
        );
    }

    #[test]
    fn queue_at_and_drafts() {
        let dir = dir_with(&[
            (
                "queue/2026-12-18-day.toml",
                "at = 2026-12-18T09:00:00+01:00\n[text]\nen = \"x\"\n",
            ),
            (
                "queue/2026-12-19-local.toml",
                "at = 2026-12-19T09:00:00\nstatus = \"draft\"\n[text]\nen = \"x\"\n",
            ),
            (
                "rotation/x.toml",
                "at = 2026-12-18T09:00:00Z\n[text]\nen = \"x\"\n",
            ),
        ]);
        let c = load(dir.path(), &langs());
        assert_eq!(c.queue().count(), 1);
        let tz: chrono_tz::Tz = "Europe/Brussels".parse().unwrap();
        let at = c.get("2026-12-18-day").unwrap().at.unwrap().resolve(tz);
        assert_eq!(at.to_rfc3339(), "2026-12-18T08:00:00+00:00");
        assert!(c.get("2026-12-19-local").unwrap().draft);
        assert!(c.problems[0].message.contains("queue posts only"));
    }

    #[test]
    fn problems_taken_out_are_remembered_as_told() {
        let dir = dir_with(&[("rotation/a.toml", GOOD), ("rotation/b.toml", "[text\n")]);
        let mut first = load(dir.path(), &langs());
        let told = first.take_problems();
        assert!(!told.is_empty());
        assert!(first.problems.is_empty(), "the catalog keeps no problem");
        let again = load(dir.path(), &langs());
        assert!(again.problems.iter().all(|p| first.told(p)));
        std::fs::write(dir.path().join("rotation/b.toml"), "[text]\nen = 1\n").unwrap();
        let changed = load(dir.path(), &langs());
        assert!(
            changed.problems.iter().any(|p| !first.told(p)),
            "a new problem is new"
        );
    }

    #[test]
    fn last_good_version_is_kept() {
        let dir = dir_with(&[("rotation/a.toml", GOOD)]);
        let first = load(dir.path(), &langs());
        std::fs::write(dir.path().join("rotation/a.toml"), "[text\n").unwrap();
        let second = load(dir.path(), &langs()).keep_last_good(&first);
        assert_eq!(second.messages, first.messages);
        assert!(
            second
                .problems
                .iter()
                .any(|p| p.message.contains("last good version"))
        );
    }
}
