//! Message + language → the exact text a network receives, and its length
//! measured the way each network counts. Pure: no I/O.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use crate::model::{Lang, Message};

/// Links as the networks find them: an http(s) URL up to white space, less
/// trailing punctuation that usually ends the sentence rather than the URL.
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://[^\s<>]+").expect("valid regex"));
/// Hashtags: `#` after a start, a space, an opening bracket or a
/// direction mark (U+200E/U+200F, which start the tag line of right-to-left
/// posts), then letters, marks, digits or `_`.
static HASHTAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s(\[{\x{200E}\x{200F}])(#[\p{L}\p{M}\p{N}_]*[\p{L}\p{M}_][\p{L}\p{M}\p{N}_]*)",
    )
    .expect("valid regex")
});

/// LEFT-TO-RIGHT MARK: starts the tag line of a right-to-left post, so a
/// client that lays the whole post out right to left keeps each `#` before
/// its tag (without it the line's first `#` ends up at its far right).
pub const LRM: char = '\u{200E}';

/// Byte ranges of the links in `text`.
pub fn find_urls(text: &str) -> Vec<std::ops::Range<usize>> {
    URL.find_iter(text)
        .map(|m| {
            let s = m.as_str();
            let mut end = s.len();
            // Trailing punctuation belongs to the sentence; a closing bracket
            // stays when the URL opened one (Wikipedia-style links).
            while let Some(c) = s[..end].chars().last() {
                let opens = |o: char| s[..end].matches(o).count();
                let keep = match c {
                    ')' => opens('(') >= s[..end].matches(')').count(),
                    '.' | ',' | ';' | ':' | '!' | '?' | '"' | '\'' | '»' | '…' | ']' | '،'
                    | '؛' | '؟' => false,
                    _ => true,
                };
                if keep {
                    break;
                }
                end -= c.len_utf8();
            }
            m.start()..m.start() + end
        })
        .filter(|r| r.len() > "https://".len())
        .collect()
}

/// Byte ranges of the hashtags (with their `#`) in `text`, outside links.
pub fn find_hashtags(text: &str) -> Vec<std::ops::Range<usize>> {
    let urls = find_urls(text);
    HASHTAG
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.range())
        .filter(|r| !urls.iter().any(|u| u.start <= r.start && r.start < u.end))
        .collect()
}

/// A post ready to send: the text with its hashtags, and the content warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub spoiler: Option<String>,
}

/// Renders `message` in `lang`: the text, then the post's tags and the
/// campaign hashtags that the text does not already contain
/// (case-insensitive), on a line of their own, which starts with a
/// LEFT-TO-RIGHT MARK in a language written right to left. `None` if the
/// message has no text in that language.
pub fn render(message: &Message, lang: &Lang, campaign_hashtags: &[String]) -> Option<Rendered> {
    render_body(message, message.text.get(lang)?, lang, campaign_hashtags)
}

/// Renders the `[short]` text of `message` in `lang`, if it has one.
pub fn render_short(
    message: &Message,
    lang: &Lang,
    campaign_hashtags: &[String],
) -> Option<Rendered> {
    render_body(message, message.short.get(lang)?, lang, campaign_hashtags)
}

/// Which of a message's texts a target gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Full,
    /// The `[short]` text: the full one is over the target's limits.
    Short,
}

/// Renders `message` in `lang` for a target with `limits`: the full text,
/// or the `[short]` one where the full text goes over a limit and a short
/// one exists (which may itself be over: `validate` says so).
pub fn render_for(
    message: &Message,
    lang: &Lang,
    campaign_hashtags: &[String],
    limits: &Limits,
) -> Option<(Rendered, Variant)> {
    let full = render(message, lang, campaign_hashtags)?;
    if limits.limits_anything()
        && message.short.contains_key(lang)
        && !overruns(&measure(&full, limits), limits).is_empty()
    {
        return render_short(message, lang, campaign_hashtags).map(|r| (r, Variant::Short));
    }
    Some((full, Variant::Full))
}

fn render_body(
    message: &Message,
    body: &String,
    lang: &Lang,
    campaign_hashtags: &[String],
) -> Option<Rendered> {
    let mut present: HashSet<String> = find_hashtags(body)
        .into_iter()
        .map(|r| body[r.start + 1..r.end].to_lowercase())
        .collect();
    let mut added = Vec::new();
    for tag in message.tags.iter().chain(campaign_hashtags) {
        if present.insert(tag.to_lowercase()) {
            added.push(format!("#{tag}"));
        }
    }
    let text = if added.is_empty() {
        body.clone()
    } else {
        let mark = if lang.is_rtl() {
            LRM.to_string()
        } else {
            String::new()
        };
        format!("{body}\n\n{mark}{}", added.join(" "))
    };
    Some(Rendered {
        text,
        spoiler: message.spoiler.get(lang).cloned(),
    })
}

/// How a network counts a post's length, and its limits. `None` = no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Mastodon: characters (grapheme clusters) of the spoiler plus the text,
    /// each link counting as `url_weight`.
    pub max_characters: Option<usize>,
    pub url_weight: usize,
    /// Bluesky: grapheme clusters of the text.
    pub max_graphemes: Option<usize>,
    /// Bluesky: UTF-8 bytes of the text.
    pub max_bytes: Option<usize>,
    /// Telegram: UTF-16 code units of the text (an emoji outside the
    /// Basic Multilingual Plane counts 2).
    #[serde(default)]
    pub max_utf16: Option<usize>,
    /// X: twitter-text's weighted length (v3: most scripts, Arabic
    /// included, count 1; CJK and emoji 2; each link 23).
    #[serde(default)]
    pub max_weighted: Option<usize>,
    /// Threads: how many links a post may carry.
    #[serde(default)]
    pub max_links: Option<usize>,
}

impl Limits {
    /// Whether any length is limited at all.
    pub fn limits_anything(&self) -> bool {
        self.max_characters.is_some()
            || self.max_graphemes.is_some()
            || self.max_bytes.is_some()
            || self.max_utf16.is_some()
            || self.max_weighted.is_some()
            || self.max_links.is_some()
    }

    /// No limit (the outbox).
    pub const NONE: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: None,
        max_bytes: None,
        max_utf16: None,
        max_weighted: None,
        max_links: None,
    };
    /// Bluesky's fixed limits (app.bsky.feed.post lexicon).
    pub const BLUESKY: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: Some(300),
        max_bytes: Some(3000),
        max_utf16: None,
        max_weighted: None,
        max_links: None,
    };
    /// Telegram's for a message's text (Bot API `sendMessage`).
    pub const TELEGRAM: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: None,
        max_bytes: None,
        max_utf16: Some(4096),
        max_weighted: None,
        max_links: None,
    };
    /// LinkedIn's `commentary` (3,000 characters, counted here as UTF-16
    /// code units, the conservative reading).
    pub const LINKEDIN: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: None,
        max_bytes: None,
        max_utf16: Some(3000),
        max_weighted: None,
        max_links: None,
    };
    /// X's (API v2 `POST /2/tweets`, twitter-text v3).
    pub const X: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: None,
        max_bytes: None,
        max_utf16: None,
        max_weighted: Some(280),
        max_links: None,
    };
    /// Threads' (500, emoji counted as their UTF-8 bytes by Meta's docs;
    /// every other character is counted as its bytes here too, the
    /// conservative reading, since the docs do not say how Arabic counts;
    /// at most 5 links).
    pub const THREADS: Limits = Limits {
        max_characters: None,
        url_weight: 23,
        max_graphemes: None,
        max_bytes: Some(500),
        max_utf16: None,
        max_weighted: None,
        max_links: Some(5),
    };
    /// Mastodon's, from the instance (default 500 characters, URLs as 23).
    pub fn mastodon(max_characters: usize, url_weight: usize) -> Limits {
        Limits {
            max_characters: Some(max_characters),
            url_weight,
            max_graphemes: None,
            max_bytes: None,
            max_utf16: None,
            max_weighted: None,
            max_links: None,
        }
    }
}

impl fmt::Display for Limits {
    /// For people: `500 characters (links count 23)`, `300 graphemes and
    /// 3000 bytes`, `no limit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(w) = self.max_weighted {
            return write!(f, "{w} weighted characters (links count 23)");
        }
        if let Some(u) = self.max_utf16 {
            return write!(f, "{u} UTF-16 code units");
        }
        if let (Some(b), Some(l)) = (self.max_bytes, self.max_links) {
            return write!(f, "{b} bytes (UTF-8) and {l} links");
        }
        match (self.max_characters, self.max_graphemes, self.max_bytes) {
            (Some(c), _, _) => write!(f, "{c} characters (links count {})", self.url_weight),
            (None, Some(g), Some(b)) => write!(f, "{g} graphemes and {b} bytes"),
            (None, Some(g), None) => write!(f, "{g} graphemes"),
            (None, None, Some(b)) => write!(f, "{b} bytes"),
            (None, None, None) => f.write_str("no limit"),
        }
    }
}

/// The measures of a rendered post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub graphemes: usize,
    pub bytes: usize,
    /// Mastodon's count (spoiler included, links as the URL weight).
    pub characters: usize,
    /// Telegram's count: UTF-16 code units.
    pub utf16: usize,
    /// X's weighted count (0 where no limit asked for it).
    pub weighted: usize,
    /// How many links (Threads).
    pub links: usize,
}

/// Measures `r` with the URL weight of `limits`.
pub fn measure(r: &Rendered, limits: &Limits) -> Measure {
    Lengths::of(r).measure_text(&r.text, limits)
}

/// The weight-1 ranges of twitter-text v3 (code points): most scripts,
/// Latin, French accents and Arabic included, and some punctuation.
const WEIGHT_ONE: [(u32, u32); 4] = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)];

/// X's weighted length of a text without links, where each character's
/// weight is certain: 1 in the weight-1 ranges, 2 for the marks and spaces
/// our texts carry outside them (a left-to-right mark before an Arabic
/// post's hashtags, the narrow no-break space of French typography) and
/// for CJK, on a normalised (NFC) text. `None` where twitter-text must
/// count (emoji, which weigh 2 as a whole sequence, and anything else).
fn plain_weighted(text: &str) -> Option<usize> {
    if unicode_normalization::is_nfc_quick(text.chars()) != unicode_normalization::IsNormalized::Yes
    {
        return None;
    }
    // twitter-text also takes `name.org` without a scheme for a link.
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' && chars.peek().is_some_and(|n| n.is_alphabetic()) {
            return None;
        }
    }
    let mut weight = 0;
    for c in text.chars() {
        let code = c as u32;
        weight += match code {
            // © and ® may be read as emoji.
            0xA9 | 0xAE => return None,
            _ if WEIGHT_ONE.iter().any(|(a, b)| (*a..=*b).contains(&code)) => 1,
            0x200E | 0x200F | 0x202F | 0x2066..=0x2069 => 2,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF => 2,
            _ => return None,
        };
    }
    Some(weight)
}

/// X's weighted length of `text` (twitter-text v3, links as 23).
pub fn weighted_length(text: &str) -> usize {
    twitter_text::parse(text, twitter_text_config::config_v3(), true)
        .weighted_length
        .max(0) as usize
}

/// What a rendered post's measures are made of, whatever the network:
/// counted once, then weighed for each target's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lengths {
    graphemes: usize,
    bytes: usize,
    /// Graphemes inside links, and how many links.
    url_graphemes: usize,
    urls: usize,
    spoiler_graphemes: usize,
    utf16: usize,
    /// X's weighted length where each character's weight is certain (no
    /// link, no emoji); `None`: twitter-text must parse the text.
    weighted_plain: Option<usize>,
}

impl Lengths {
    pub fn of(r: &Rendered) -> Lengths {
        let (mut url_graphemes, mut urls) = (0, 0);
        for u in find_urls(&r.text) {
            url_graphemes += r.text[u].graphemes(true).count();
            urls += 1;
        }
        let urls_found = urls;
        Lengths {
            graphemes: r.text.graphemes(true).count(),
            bytes: r.text.len(),
            utf16: r.text.encode_utf16().count(),
            weighted_plain: (urls_found == 0).then(|| plain_weighted(&r.text)).flatten(),
            url_graphemes,
            urls,
            spoiler_graphemes: r
                .spoiler
                .as_deref()
                .map_or(0, |s| s.graphemes(true).count()),
        }
    }

    /// The measures against `limits` (links weigh its URL weight).
    /// X's weighted length is counted only when `limits` has one; see
    /// [`Lengths::measure_text`] for a text that needs twitter-text.
    pub fn measure(&self, limits: &Limits) -> Measure {
        Measure {
            weighted: if limits.max_weighted.is_some() {
                self.weighted_plain.unwrap_or(usize::MAX)
            } else {
                0
            },
            graphemes: self.graphemes,
            bytes: self.bytes,
            characters: self.graphemes - self.url_graphemes
                + self.urls * limits.url_weight
                + self.spoiler_graphemes,
            utf16: self.utf16,
            links: self.urls,
        }
    }
}

impl Lengths {
    /// Whether measuring against `limits` needs the text itself (X's
    /// weighted length of a text twitter-text must parse).
    pub fn needs_text(&self, limits: &Limits) -> bool {
        limits.max_weighted.is_some() && self.weighted_plain.is_none()
    }

    /// As [`Lengths::measure`], with `text` (the rendered text these
    /// lengths are of) counted by twitter-text where X's limit needs it.
    pub fn measure_text(&self, text: &str, limits: &Limits) -> Measure {
        let mut m = self.measure(limits);
        if self.needs_text(limits) {
            m.weighted = weighted_length(text);
        }
        m
    }
}

/// A limit a rendered post goes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun {
    pub what: &'static str,
    pub length: usize,
    pub limit: usize,
}

impl fmt::Display for Overrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} over the limit of {} ({} too many{})",
            self.length,
            self.what,
            self.limit,
            self.length - self.limit,
            how_counted(self.what)
        )
    }
}

/// What a count that is not plain characters means, for people (issue 32:
/// "weighted characters" is jargon).
fn how_counted(what: &str) -> &'static str {
    match what {
        "weighted characters" => {
            "; X counts an emoji and each Chinese, Japanese or Korean character as 2, a link as 23"
        }
        "UTF-16 code units" => "; Telegram counts most emoji as 2",
        "bytes" => "; an accented or Arabic letter takes 2 bytes, an emoji 4",
        _ => "",
    }
}

/// The limits of `limits` that `m` goes over.
pub fn overruns(m: &Measure, limits: &Limits) -> Vec<Overrun> {
    let mut out = Vec::new();
    let mut check = |what, length, limit: Option<usize>| {
        if let Some(limit) = limit
            && length > limit
        {
            out.push(Overrun {
                what,
                length,
                limit,
            });
        }
    };
    check("characters", m.characters, limits.max_characters);
    check("graphemes", m.graphemes, limits.max_graphemes);
    check("bytes", m.bytes, limits.max_bytes);
    check("UTF-16 code units", m.utf16, limits.max_utf16);
    check("weighted characters", m.weighted, limits.max_weighted);
    check("links", m.links, limits.max_links);
    out
}

/// A short description of the length against the limit, for `preview`.
pub fn describe_length(m: &Measure, limits: &Limits) -> String {
    if let Some(max) = limits.max_weighted {
        format!("{}/{} weighted characters", m.weighted, max)
    } else if let Some(max) = limits.max_utf16 {
        format!("{}/{} UTF-16 code units", m.utf16, max)
    } else if let (Some(b), Some(l)) = (limits.max_bytes, limits.max_links) {
        format!("{}/{} bytes, {}/{} links", m.bytes, b, m.links, l)
    } else if let Some(max) = limits.max_characters {
        format!("{}/{} characters", m.characters, max)
    } else if let (Some(g), Some(b)) = (limits.max_graphemes, limits.max_bytes) {
        format!("{}/{} graphemes, {}/{} bytes", m.graphemes, g, m.bytes, b)
    } else {
        format!("{} characters, no limit", m.graphemes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LangMap;
    use crate::model::MessageKind;

    fn msg(lang: &str, text: &str, tags: &[&str]) -> Message {
        Message {
            id: "m".into(),
            source: "rotation/m.toml".into(),
            kind: MessageKind::Rotation,
            commitment: None,
            draft: false,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            at: None,
            spoiler: LangMap::new(),
            text: LangMap::from([(Lang::new(lang).unwrap(), text.to_string())]),
            short: LangMap::new(),
            text_lines: LangMap::new(),
            media: vec![],
        }
    }

    fn campaign() -> Vec<String> {
        vec!["WeTogether".into(), "Cities4Migration".into()]
    }

    #[test]
    fn appends_missing_tags_once() {
        let m = msg(
            "en",
            "Cities welcome. #wetogether",
            &["HumanRights", "WeTogether"],
        );
        let r = render(&m, &Lang::new("en").unwrap(), &campaign()).unwrap();
        assert_eq!(
            r.text,
            "Cities welcome. #wetogether\n\n#HumanRights #Cities4Migration"
        );
    }

    #[test]
    fn arabic_keeps_latin_hashtags_after_the_text_behind_a_mark() {
        let m = msg("ar", "المدن ترحب بالجميع.", &[]);
        let r = render(&m, &Lang::new("ar").unwrap(), &campaign()).unwrap();
        assert_eq!(
            r.text,
            "المدن ترحب بالجميع.\n\n\u{200E}#WeTogether #Cities4Migration"
        );
        let ms = measure(&r, &Limits::BLUESKY);
        assert_eq!(ms.graphemes, 19 + 2 + 1 + 29);
        assert!(ms.bytes > ms.graphemes);
        // Both tags are still tags, the mark outside them.
        let tags: Vec<&str> = find_hashtags(&r.text)
            .into_iter()
            .map(|x| &r.text[x])
            .collect();
        assert_eq!(tags, ["#WeTogether", "#Cities4Migration"]);
        // Left-to-right languages get no mark.
        let en = render(
            &msg("en", "Cities welcome all.", &[]),
            &Lang::new("en").unwrap(),
            &campaign(),
        );
        assert!(!en.unwrap().text.contains(LRM));
    }

    /// The tag line's visual order in a paragraph laid out right to left (as
    /// Elk, Bluesky's web app with dir="auto", or Mastodon before 4.3 do),
    /// by the Unicode bidi algorithm.
    fn visual_rtl(line: &str) -> String {
        let info = unicode_bidi::BidiInfo::new(line, Some(unicode_bidi::Level::rtl()));
        let para = &info.paragraphs[0];
        info.reorder_line(para, para.range.clone()).into_owned()
    }

    // Issue 14: "#MigrantsDay #WeTogether #Cities4Migration" displayed as
    // "MigrantsDay #WeTogether #Cities4Migration#" in a right-to-left layout.
    #[test]
    fn in_a_right_to_left_layout_each_hash_stays_glued_to_its_tag() {
        let m = msg("ar", "اليوم هو اليوم الدولي للمهاجرين.", &["MigrantsDay"]);
        let r = render(&m, &Lang::new("ar").unwrap(), &campaign()).unwrap();
        let line = r.text.lines().last().unwrap();
        let shown = visual_rtl(line);
        for tag in ["#MigrantsDay", "#WeTogether", "#Cities4Migration"] {
            assert!(shown.contains(tag), "{tag} broken up in {shown:?}");
        }
        assert!(!shown.ends_with('#'), "{shown:?}");
        // Without the mark the first `#` moves to the far end.
        let bare = line.trim_start_matches(LRM);
        assert!(visual_rtl(bare).ends_with('#'), "{:?}", visual_rtl(bare));
    }

    #[test]
    fn a_tag_inside_a_link_is_not_a_tag() {
        let m = msg("en", "See https://example.org/#WeTogether now", &[]);
        let r = render(&m, &Lang::new("en").unwrap(), &campaign()).unwrap();
        assert!(r.text.ends_with("#WeTogether #Cities4Migration"));
    }

    #[test]
    fn urls_drop_trailing_punctuation() {
        let t = "Read https://example.org/a_(b). And https://x.org/p?q=1, then (https://y.org/z).";
        let urls: Vec<&str> = find_urls(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(
            urls,
            [
                "https://example.org/a_(b)",
                "https://x.org/p?q=1",
                "https://y.org/z"
            ]
        );
    }

    #[test]
    fn mastodon_counts_urls_as_23_and_the_spoiler() {
        let r = Rendered {
            text: format!("a https://example.org/{}", "x".repeat(100)),
            spoiler: Some("cw".into()),
        };
        let ms = measure(&r, &Limits::mastodon(500, 23));
        assert_eq!(ms.characters, 2 + 23 + 2);
    }

    #[test]
    fn graphemes_not_code_points() {
        let r = Rendered {
            text: "👨‍👩‍👧‍👦".repeat(121),
            spoiler: None,
        };
        let ms = measure(&r, &Limits::BLUESKY);
        assert_eq!(ms.graphemes, 121);
        assert_eq!(ms.bytes, 3025);
        let over = overruns(&ms, &Limits::BLUESKY);
        assert_eq!(over.len(), 1);
        assert_eq!(
            over[0].to_string(),
            "3025 bytes over the limit of 3000 (25 too many; an accented or Arabic letter takes 2 bytes, an emoji 4)"
        );
    }

    #[test]
    fn a_target_gets_the_short_text_only_where_the_full_one_is_over() {
        let mut m = msg("en", &"Cities welcome everyone. ".repeat(20), &[]);
        let en = Lang::new("en").unwrap();
        m.short.insert(en, "Cities welcome everyone.".into());
        let (r, v) = render_for(&m, &en, &campaign(), &Limits::BLUESKY).unwrap();
        assert_eq!(v, Variant::Short);
        assert!(
            r.text
                .starts_with("Cities welcome everyone.\n\n#WeTogether")
        );
        let (r, v) = render_for(&m, &en, &campaign(), &Limits::TELEGRAM).unwrap();
        assert_eq!(v, Variant::Full, "it fits Telegram's 4096");
        assert!(r.text.len() > 400);
        let (_, v) = render_for(&m, &en, &campaign(), &Limits::NONE).unwrap();
        assert_eq!(v, Variant::Full, "no limit, no cut");
    }

    #[test]
    fn x_weighted_length_without_the_parser_agrees_with_twitter_text() {
        let lrm = '\u{200E}';
        for text in [
            "Cities welcome everyone.\n\n#WeTogether #Cities4Migration".to_string(),
            "Les villes accueillent tout le monde\u{202F}!\n\n#WeTogether".to_string(),
            format!("المدن مراكز للفرص\n\n{lrm}#WeTogether #Cities4Migration"),
            "城市欢迎所有人 #WeTogether".to_string(),
            "Déjà vu, à Genève — « citoyens ».".to_string(),
        ] {
            assert_eq!(
                plain_weighted(&text),
                Some(weighted_length(&text)),
                "{text:?}"
            );
        }
        // Emoji and links, with or without a scheme, go to twitter-text.
        assert_eq!(plain_weighted("We 🤝 cities"), None);
        assert_eq!(plain_weighted("See cities4migration.org"), None);
        let r = Rendered {
            text: "See cities4migration.org".into(),
            spoiler: None,
        };
        assert_eq!(measure(&r, &Limits::X).weighted, 4 + 23);
        assert_eq!(weighted_length("We 🤝 cities"), 12);
        let r = Rendered {
            text: "Read https://example.org/a/very/long/path/indeed".into(),
            spoiler: None,
        };
        assert_eq!(measure(&r, &Limits::X).weighted, 5 + 23);
    }
}
