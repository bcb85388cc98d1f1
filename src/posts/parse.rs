//! One post file → a [`Message`], or problems naming the file, the line
//! and what to do: TOML syntax, keys, texts per language, typography,
//! dates, images. Pure but for reading the file (inside `posts/`).

use super::*;

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
    /// What the images named so far turned out to be (see [`Images`]).
    images: &'a Images,
}

/// The images checked during one load of `posts/`, with what each turned
/// out to be (`Err`: the problem to report): ten thousand posts that carry
/// the same cards open and read each card once, not ten thousand times.
pub(super) struct Images {
    posts_dir: PathBuf,
    /// The real path of `posts/` (or why it has none), once an image has
    /// needed it.
    root: std::sync::OnceLock<Result<PathBuf, String>>,
    seen: std::sync::Mutex<HashMap<PathBuf, Result<(), String>>>,
}

impl Images {
    pub(super) fn new(posts_dir: &Path) -> Images {
        Images {
            posts_dir: posts_dir.to_path_buf(),
            root: std::sync::OnceLock::new(),
            seen: Default::default(),
        }
    }

    /// Whether `p` (relative to `posts/`) is an image the networks take,
    /// or the problem to report.
    fn check(&self, p: &Path) -> Result<(), String> {
        if let Some(known) = self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(p) {
            return known.clone();
        }
        let told = self.look(p);
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.to_path_buf(), told.clone());
        told
    }

    fn look(&self, p: &Path) -> Result<(), String> {
        // Why `posts/` cannot be resolved, said of each image that needs it.
        let root = self
            .root
            .get_or_init(|| files::root(&self.posts_dir).map_err(|e| FileError::Io(e).to_string()));
        let read = match root {
            Ok(root) => files::image_inside(root, p, MAX_MEDIA_BYTES),
            Err(why) => return Err(format!("media file posts/{} {why}", p.display())),
        };
        match read {
            Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "media file posts/{} does not exist; add the image there or fix the path",
                p.display()
            )),
            Err(e) => Err(format!("media file posts/{} {e}", p.display())),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(what)) => Err(format!(
                "media file posts/{} is {what}; use a PNG, JPEG, GIF or WebP image",
                p.display()
            )),
        }
    }
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

pub(super) fn load_file(
    images: &Images,
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
    parse_with(images, rel, kind, bytes, problems)
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
    parse_with(&Images::new(posts_dir), rel, kind, bytes, problems)
}

fn parse_with(
    images: &Images,
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
        images,
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
    let message = build_message(rel, kind, raw, &mut ctx);
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
            RawMediaPath::One(p) => {
                media_path(&p, path_span, ctx).map(|p| MediaPath::All(p.into()))
            }
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
                    match media_path(&v, path_span.clone(), ctx) {
                        Some(p) => {
                            paths.insert(lang, p.into());
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
        parked: None,
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
fn media_path(raw: &str, span: std::ops::Range<usize>, ctx: &mut FileCtx<'_>) -> Option<PathBuf> {
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
    let problem = match ctx.images.check(p) {
        Ok(()) => return Some(p.to_path_buf()),
        Err(problem) => problem,
    };
    ctx.error_at(span.clone(), problem);
    None
}
