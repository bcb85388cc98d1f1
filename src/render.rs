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

/// @mentions: `@` after a start, a space or an opening bracket, then a
/// handle (letters, digits, `_`, `.`).
static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(\[{])@[\p{L}\p{N}_][\p{L}\p{N}_.]*").expect("valid regex")
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
/// message has no text in that language, or if its words are parked (a
/// daemon's catalog: `posts::words` gives them back first).
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
        && overruns(&measure(&full, limits), limits)
            .iter()
            .any(|o| !o.soft)
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
    // Never an empty text with its hashtags: parked words are not words.
    if message.parked.is_some() {
        return None;
    }
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

/// What a limit counts. A network's limits are a few of these with their
/// maximum ([`Rule`]); a new way of counting is a new variant here, with
/// its measure and its words, and nothing else changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// Characters (grapheme clusters) of the content warning and the text,
    /// each link counting as `url_weight` (Mastodon).
    Characters { url_weight: usize },
    /// Grapheme clusters of the text.
    Graphemes,
    /// UTF-8 bytes of the text.
    Bytes,
    /// UTF-16 code units of the text (an emoji outside the Basic
    /// Multilingual Plane counts 2).
    Utf16,
    /// twitter-text's weighted length (v3: most scripts, Arabic included,
    /// count 1; CJK and emoji 2; each link 23).
    Weighted,
    /// How many links.
    Links,
    /// How many hashtags.
    Hashtags,
    /// How many @mentions.
    Mentions,
}

impl Count {
    /// What it counts, for people: `300 graphemes`.
    pub fn noun(self) -> &'static str {
        match self {
            Count::Characters { .. } => "characters",
            Count::Graphemes => "graphemes",
            Count::Bytes => "bytes",
            Count::Utf16 => "UTF-16 code units",
            Count::Weighted => "weighted characters",
            Count::Links => "links",
            Count::Hashtags => "hashtags",
            Count::Mentions => "mentions",
        }
    }
    /// How it counts, where that is not plain (issue 32: "weighted
    /// characters" alone is jargon).
    fn how(self) -> &'static str {
        match self {
            Count::Weighted => {
                "; an emoji and each Chinese, Japanese or Korean character count as 2, a link as 23"
            }
            Count::Utf16 => "; most emoji count as 2",
            Count::Bytes => "; an accented or Arabic letter takes 2 bytes, an emoji 4",
            _ => "",
        }
    }
}

/// One limit: at most `max` of `count`. A `soft` one is advice (a
/// warning), not a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub count: Count,
    pub max: usize,
    #[serde(default)]
    pub soft: bool,
}

impl Rule {
    pub const fn at_most(max: usize, count: Count) -> Rule {
        Rule {
            count,
            max,
            soft: false,
        }
    }
    /// A limit that only warns.
    pub const fn advised(max: usize, count: Count) -> Rule {
        Rule {
            count,
            max,
            soft: true,
        }
    }
}

/// How many rules a network's limits hold at most.
const MAX_RULES: usize = 4;

/// How a network counts a post's length, and its limits: a few [`Rule`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Vec<Rule>", into = "Vec<Rule>")]
pub struct Limits {
    rules: [Option<Rule>; MAX_RULES],
}

impl From<Vec<Rule>> for Limits {
    fn from(rules: Vec<Rule>) -> Limits {
        Limits::of(&rules)
    }
}

impl From<Limits> for Vec<Rule> {
    fn from(l: Limits) -> Vec<Rule> {
        l.rules().copied().collect()
    }
}

impl Limits {
    /// No limit (the outbox).
    pub const NONE: Limits = Limits {
        rules: [None; MAX_RULES],
    };

    /// The limits of `rules` (the first four).
    pub const fn of(rules: &[Rule]) -> Limits {
        let mut out = [None; MAX_RULES];
        let mut i = 0;
        while i < rules.len() && i < MAX_RULES {
            out[i] = Some(rules[i]);
            i += 1;
        }
        Limits { rules: out }
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().flatten()
    }

    /// The maximum of `count`, where a (hard or soft) rule sets one.
    pub fn max(&self, count: fn(&Count) -> bool) -> Option<usize> {
        self.rules().find(|r| count(&r.count)).map(|r| r.max)
    }

    /// Whether any length is limited at all.
    pub fn limits_anything(&self) -> bool {
        self.rules().next().is_some()
    }

    /// What each link weighs where characters are counted (23 otherwise).
    fn url_weight(&self) -> usize {
        self.rules()
            .find_map(|r| match r.count {
                Count::Characters { url_weight } => Some(url_weight),
                _ => None,
            })
            .unwrap_or(23)
    }

    fn counts(&self, count: Count) -> bool {
        self.rules().any(|r| r.count == count)
    }
}

impl fmt::Display for Limits {
    /// For people: `500 characters (links count 23)`, `300 graphemes and
    /// 3000 bytes`, `no limit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .rules()
            .map(|r| match r.count {
                Count::Characters { url_weight } => {
                    format!("{} characters (links count {url_weight})", r.max)
                }
                Count::Weighted => format!("{} weighted characters (links count 23)", r.max),
                Count::Bytes => format!("{} bytes (UTF-8)", r.max),
                c => format!("{} {}", r.max, c.noun()),
            })
            .collect();
        if parts.is_empty() {
            f.write_str("no limit")
        } else {
            f.write_str(&parts.join(" and "))
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
    /// How many links.
    pub links: usize,
    /// How many hashtags and @mentions.
    pub hashtags: usize,
    pub mentions: usize,
}

impl Measure {
    /// Its length as `count` counts.
    pub fn of(&self, count: Count) -> usize {
        match count {
            Count::Characters { .. } => self.characters,
            Count::Graphemes => self.graphemes,
            Count::Bytes => self.bytes,
            Count::Utf16 => self.utf16,
            Count::Weighted => self.weighted,
            Count::Links => self.links,
            Count::Hashtags => self.hashtags,
            Count::Mentions => self.mentions,
        }
    }
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
    /// X's weighted length, hashtags and mentions are counted only when
    /// `limits` has them; see [`Lengths::measure_text`] for those that
    /// need the text itself.
    pub fn measure(&self, limits: &Limits) -> Measure {
        let unknown = |count: Count| {
            if limits.counts(count) { usize::MAX } else { 0 }
        };
        Measure {
            weighted: if limits.counts(Count::Weighted) {
                self.weighted_plain.unwrap_or(usize::MAX)
            } else {
                0
            },
            graphemes: self.graphemes,
            bytes: self.bytes,
            characters: self.graphemes - self.url_graphemes
                + self.urls * limits.url_weight()
                + self.spoiler_graphemes,
            utf16: self.utf16,
            links: self.urls,
            hashtags: unknown(Count::Hashtags),
            mentions: unknown(Count::Mentions),
        }
    }

    /// Whether measuring against `limits` needs the text itself (X's
    /// weighted length of a text twitter-text must parse; hashtags and
    /// mentions).
    pub fn needs_text(&self, limits: &Limits) -> bool {
        (limits.counts(Count::Weighted) && self.weighted_plain.is_none())
            || limits.counts(Count::Hashtags)
            || limits.counts(Count::Mentions)
    }

    /// As [`Lengths::measure`], with `text` (the rendered text these
    /// lengths are of) counted where the limits need it.
    pub fn measure_text(&self, text: &str, limits: &Limits) -> Measure {
        let mut m = self.measure(limits);
        if limits.counts(Count::Weighted) && self.weighted_plain.is_none() {
            m.weighted = weighted_length(text);
        }
        if limits.counts(Count::Hashtags) {
            m.hashtags = find_hashtags(text).len();
        }
        if limits.counts(Count::Mentions) {
            m.mentions = MENTION.find_iter(text).count();
        }
        m
    }
}

/// A limit a rendered post goes over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrun {
    pub count: Count,
    pub length: usize,
    pub limit: usize,
    /// Advice, not a refusal (see [`Rule::soft`]).
    pub soft: bool,
}

impl fmt::Display for Overrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} over the limit of {} ({} too many{})",
            self.length,
            self.count.noun(),
            self.limit,
            self.length - self.limit,
            self.count.how()
        )
    }
}

/// The limits of `limits` that `m` goes over.
pub fn overruns(m: &Measure, limits: &Limits) -> Vec<Overrun> {
    limits
        .rules()
        .filter(|r| m.of(r.count) > r.max)
        .map(|r| Overrun {
            count: r.count,
            length: m.of(r.count),
            limit: r.max,
            soft: r.soft,
        })
        .collect()
}

/// A short description of the length against the limits, for `preview`.
pub fn describe_length(m: &Measure, limits: &Limits) -> String {
    let parts: Vec<String> = limits
        .rules()
        .map(|r| format!("{}/{} {}", m.of(r.count), r.max, r.count.noun()))
        .collect();
    if parts.is_empty() {
        format!("{} characters, no limit", m.graphemes)
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LangMap;
    use crate::model::MessageKind;

    // The networks' limits, as their folders under publish/ set them.
    const BLUESKY: Limits = Limits::of(&[
        Rule::at_most(300, Count::Graphemes),
        Rule::at_most(3000, Count::Bytes),
    ]);
    const TELEGRAM: Limits = Limits::of(&[Rule::at_most(4096, Count::Utf16)]);
    const X: Limits = Limits::of(&[Rule::at_most(280, Count::Weighted)]);
    fn mastodon(max: usize, url_weight: usize) -> Limits {
        Limits::of(&[Rule::at_most(max, Count::Characters { url_weight })])
    }

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
            parked: None,
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
        let ms = measure(&r, &BLUESKY);
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

    // Instagram's caption rule (issue 29): hashtags and mentions counted,
    // a soft limit only advising.
    #[test]
    fn hashtags_and_mentions_are_counted_and_a_soft_limit_only_advises() {
        let limits = Limits::of(&[
            Rule::at_most(30, Count::Hashtags),
            Rule::advised(5, Count::Hashtags),
            Rule::at_most(2, Count::Mentions),
        ]);
        let r = Rendered {
            text: "Hi @city.hall and @un_habitat, mail a@b.org #A #B #C #D #E #F\n\n#WeTogether"
                .into(),
            spoiler: None,
        };
        let m = measure(&r, &limits);
        assert_eq!((m.hashtags, m.mentions), (7, 2));
        let over = overruns(&m, &limits);
        assert_eq!(over.len(), 1);
        assert!(over[0].soft);
        assert_eq!(
            over[0].to_string(),
            "7 hashtags over the limit of 5 (2 too many)"
        );
        assert_eq!(
            describe_length(&m, &limits),
            "7/30 hashtags, 7/5 hashtags, 2/2 mentions"
        );
        // Not counted where no rule asks.
        assert_eq!(measure(&r, &BLUESKY).hashtags, 0);
    }

    #[test]
    fn limits_keep_their_rules_through_the_state_store() {
        let l = mastodon(1000, 23);
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(
            json,
            r#"[{"count":{"characters":{"url_weight":23}},"max":1000,"soft":false}]"#
        );
        assert_eq!(serde_json::from_str::<Limits>(&json).unwrap(), l);
        assert_eq!(l.to_string(), "1000 characters (links count 23)");
        assert_eq!(BLUESKY.to_string(), "300 graphemes and 3000 bytes (UTF-8)");
    }

    #[test]
    fn mastodon_counts_urls_as_23_and_the_spoiler() {
        let r = Rendered {
            text: format!("a https://example.org/{}", "x".repeat(100)),
            spoiler: Some("cw".into()),
        };
        let ms = measure(&r, &mastodon(500, 23));
        assert_eq!(ms.characters, 2 + 23 + 2);
    }

    #[test]
    fn graphemes_not_code_points() {
        let r = Rendered {
            text: "👨‍👩‍👧‍👦".repeat(121),
            spoiler: None,
        };
        let ms = measure(&r, &BLUESKY);
        assert_eq!(ms.graphemes, 121);
        assert_eq!(ms.bytes, 3025);
        let over = overruns(&ms, &BLUESKY);
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
        let (r, v) = render_for(&m, &en, &campaign(), &BLUESKY).unwrap();
        assert_eq!(v, Variant::Short);
        assert!(
            r.text
                .starts_with("Cities welcome everyone.\n\n#WeTogether")
        );
        let (r, v) = render_for(&m, &en, &campaign(), &TELEGRAM).unwrap();
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
        assert_eq!(measure(&r, &X).weighted, 4 + 23);
        assert_eq!(weighted_length("We 🤝 cities"), 12);
        let r = Rendered {
            text: "Read https://example.org/a/very/long/path/indeed".into(),
            spoiler: None,
        };
        assert_eq!(measure(&r, &X).weighted, 5 + 23);
    }
}
