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
mod parked;
mod parse;
pub mod typography;

pub use parked::words;

pub use parse::parse;
use parse::{Images, load_file};

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
    /// The folder whose file holds the messages' words, once
    /// [`Catalog::park`] has put them there; a reload parks there again.
    pub(crate) parked_in: Option<PathBuf>,
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
    // Each image once for the whole folder.
    let images = Images::new(posts_dir);
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
                &images,
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
