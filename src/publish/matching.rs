//! Is this status the post we sent? Fediverse servers give back a post's
//! text rewritten, so a post of unknown fate is recognised among the
//! account's statuses by its text *after normalising what servers rewrite*,
//! never by exact text.
//!
//! Rewrites seen on real servers, each handled here (and tested below):
//! - **Mastodon**: HTML (`<p>`, `<br />`), entities (`&amp;`, `&#39;`),
//!   hashtags as `#<span>Tag</span>` links, long links cut for display with
//!   the rest in `<span class="invisible">` (still in the HTML).
//! - **Pleroma/Akkoma** (`text/markdown`) and **GoToSocial** (markdown
//!   statuses): `*x*` → `<em>x</em>`, `**x**` → `<strong>x</strong>`,
//!   `_x_` → `<em>x</em>`; custom emoji `:blobcat:` → `<img alt=":blobcat:">`.
//! - **Friendica** smilies: `<3` → ❤, `:-)` → 🙂 (and the like).
//! - **Firefish/Sharkey** (Misskey's MFM through the Mastodon API): `$[x2
//!   …]` effects rendered away, links without their scheme.
//! - **Sanitisers**: a raw `1 < 2 > 0` loses `< 2 >` as an unknown tag.
//!
//! So both sides are reduced to their words (letters and digits, lower
//! case), after removing markup, entities, emoji shortcodes, emoticons,
//! pictographs and link schemes; ours is also tried as the sanitiser would
//! read it. Equal word sequences are the same post. Similar ones (by
//! normalised Levenshtein distance) with the same numbers are *perhaps* the
//! same post: the bot does not guess, a person decides. Different numbers
//! are different posts ("message 12" is not "message 13").
//!
//! What a server may rewrite is no evidence that a status is *not* ours:
//! one Mastodon-API server reports `language: "en"` for every status,
//! others `null`, `fr-FR` or their own guess, and visibility, content
//! warnings and media are as changeable. So a candidate is excluded only
//! by what identifies a post and cannot be rewritten away — the bot's own
//! account, made after the intent was recorded, and its words — and those
//! other fields only break ties between candidates ([`decide`], issue 27).

use std::sync::LazyLock;

use regex::Regex;

use super::http::strip_tags;

/// At or above this similarity (0–1) a status that is not an exact match
/// is perhaps the post: too close to call.
pub const SIMILAR: f64 = 0.8;

/// How a status compares with the post looked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Match {
    /// The same words: it is the post.
    Same,
    /// Close, with the same numbers, but not the same words.
    Similar(f64),
    /// Another post.
    Different,
}

static SHORTCODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r":[A-Za-z0-9_+\-]{2,}:").expect("valid regex"));
static EMOTICON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|\s)([:;=8][\-o']?[)(\]\[DPpOo/\\|*]|[xX][Dd])(\s|$)").expect("valid regex")
});
/// A heart, wherever it stands: Friendica turns `J'<3` into `J'❤` too, and
/// a heart is no word (issue 27: French posts after an apostrophe were not
/// recognised, and went out twice).
static HEART: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"</?3(\D|$)").expect("valid regex"));
static SCHEME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bhttps?://(www\.)?").expect("valid regex"));
/// What a naive sanitiser takes for a tag: `<` to the next `>`.
static NAIVE_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^<>]*>").expect("valid regex"));
static MFM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\[[a-z0-9.,=]+\s").expect("valid regex"));

/// The words of a text: markup, entities, shortcodes, emoticons, link
/// schemes and everything but letters and digits removed, lower case,
/// single spaces.
pub fn words(text: &str) -> String {
    let text = SHORTCODE.replace_all(text, " ");
    let text = HEART.replace_all(&text, " $1");
    // Emoticons may touch each other (":) :)"): twice catches the second.
    let text = EMOTICON.replace_all(&text, " ");
    let text = EMOTICON.replace_all(&text, " ");
    let text = MFM.replace_all(&text, " ");
    let text = SCHEME.replace_all(&text, "");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The text a server shows (HTML) reduced to its words.
pub fn words_of_html(html: &str) -> String {
    words(&strip_tags(html))
}

fn numbers(words: &str) -> Vec<&str> {
    words
        .split(' ')
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// Compares our text (as sent) with a status's HTML content.
pub fn compare(ours: &str, their_html: &str) -> Match {
    compare_words(ours, &words_of_html(their_html))
}

/// Compares our text with a plain text a network gives back (no HTML).
pub fn compare_plain(ours: &str, theirs: &str) -> Match {
    compare_words(ours, &words(theirs))
}

fn compare_words(ours: &str, theirs: &str) -> Match {
    let theirs = theirs.to_string();
    // As written, and as a sanitiser that drops `<…>` would read it.
    let variants = [words(ours), words(&NAIVE_TAG.replace_all(ours, " "))];
    if variants.contains(&theirs) {
        return Match::Same;
    }
    let best = variants
        .iter()
        .filter(|v| numbers(v) == numbers(&theirs))
        .map(|v| strsim::normalized_levenshtein(v, &theirs))
        .fold(0.0, f64::max);
    if best >= SIMILAR {
        Match::Similar(best)
    } else {
        Match::Different
    }
}

/// A post on the account that may be the one looked for.
#[derive(Debug, Clone)]
pub struct Candidate<T> {
    /// How its text compares with ours.
    pub text: Match,
    /// How many of the fields a server may rewrite (language, visibility,
    /// content warning, number of images) agree with ours: evidence *for*
    /// it, never against it.
    pub agreeing: usize,
    /// Where a person can see it.
    pub shown: String,
    pub found: T,
}

/// What the candidates say, given oldest first (if a post went out twice,
/// the first is ours). The same words decide; among several, the one with
/// the most agreeing fields, then the oldest. Only similar words are a
/// question for a person. Nothing is excluded for a field that disagrees.
pub fn decide<T>(candidates: Vec<Candidate<T>>) -> Decision<T> {
    let mut same: Option<Candidate<T>> = None;
    let mut similar: Option<(f64, String)> = None;
    for c in candidates {
        match c.text {
            Match::Same if same.as_ref().is_none_or(|s| c.agreeing > s.agreeing) => {
                same = Some(c);
            }
            Match::Similar(score) if similar.as_ref().is_none_or(|(b, _)| score > *b) => {
                similar = Some((score, c.shown));
            }
            _ => {}
        }
    }
    match (same, similar) {
        (Some(c), _) => Decision::Found(c.found),
        (None, Some((score, shown))) => Decision::Unsure(format!(
            "a post {:.0} % like it was posted since ({shown}), but not the same text",
            score * 100.0
        )),
        (None, None) => Decision::NotFound,
    }
}

/// The answer of [`decide`].
#[derive(Debug, PartialEq)]
pub enum Decision<T> {
    Found(T),
    Unsure(String),
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = "Cities welcome everyone <3 *welcome* home: 1 < 2 > 0 & more :blobcat: \
                        https://example.org/a/very/long/path\n\n#WeTogether #Cities4Migration";

    #[test]
    fn mastodon_html_with_entities_hashtags_and_cut_links() {
        let html = r#"<p>Cities welcome everyone &lt;3 *welcome* home: 1 &lt; 2 &gt; 0 &amp; more :blobcat: <a href="https://example.org/a/very/long/path" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="ellipsis">example.org/a/very/lo</span><span class="invisible">ng/path</span></a></p><p><a href="https://m.example/tags/WeTogether" class="mention hashtag" rel="tag">#<span>WeTogether</span></a> <a href="https://m.example/tags/Cities4Migration" class="mention hashtag" rel="tag">#<span>Cities4Migration</span></a></p>"#;
        assert_eq!(compare(SENT, html), Match::Same);
    }

    #[test]
    fn markdown_emoji_and_emoticon_rewrites() {
        // Pleroma/Akkoma/GoToSocial markdown, custom emoji as an image, a
        // Friendica heart, a sanitised `< 2 >`.
        let html = r#"<p>Cities welcome everyone ❤️ <em>welcome</em> home: 1  0 &amp; more <img class="emoji" alt=":blobcat:" src="https://m.example/e.png"> <a href="https://example.org/a/very/long/path">example.org/a/very/long/path</a></p><p>#WeTogether #Cities4Migration</p>"#;
        assert_eq!(compare(SENT, html), Match::Same);
        let plain = "I <3 cities :-) and **you**";
        assert_eq!(
            compare(plain, "<p>I ❤ cities 🙂 and <strong>you</strong></p>"),
            Match::Same
        );
        assert_eq!(
            compare("$[x2 Welcome] home", "<p>Welcome home</p>"),
            Match::Same
        );
    }

    #[test]
    fn arabic_and_french_survive_normalising() {
        let ar = "المدن ترحب بالجميع.\n\n\u{200E}#WeTogether #Cities4Migration";
        let html = "<p>المدن ترحب بالجميع.</p><p>\u{200E}<a href=\"x\">#<span>WeTogether</span></a> #Cities4Migration</p>";
        assert_eq!(compare(ar, html), Match::Same);
        assert_eq!(
            compare(
                "L\u{2019}accès aux droits\u{202F}!",
                "<p>L&#39;accès aux droits !</p>"
            ),
            Match::Same
        );
    }

    #[test]
    fn a_heart_after_an_apostrophe_is_no_word() {
        // Issue 27: Friendica's heart right after "J'".
        let sent = "J'<3 nos villes : *bienvenue*, 1 < 2 > 0, message 10.";
        let html = "<p>J'\u{2764}\u{fe0f} nos villes : <em>bienvenue</em>, 1  0, message 10.</p>";
        assert_eq!(compare(sent, html), Match::Same);
        let kept = "<p>J&#39;&lt;3 nos villes : *bienvenue*, 1 &lt; 2 &gt; 0, message 10.</p>";
        assert_eq!(compare(sent, kept), Match::Same);
        // A number after the sign stays a number.
        assert_ne!(words("under <30 km"), words("under km"));
    }

    fn candidate(text: Match, agreeing: usize, id: u32) -> Candidate<u32> {
        Candidate {
            text,
            agreeing,
            shown: format!("https://m.example/{id}"),
            found: id,
        }
    }

    #[test]
    fn fields_a_server_rewrites_only_break_ties() {
        // Issue 27: a status reported in another language (agreeing 0) with
        // our words is ours.
        assert_eq!(
            decide(vec![
                candidate(Match::Different, 2, 1),
                candidate(Match::Same, 0, 2)
            ]),
            Decision::Found(2)
        );
        // Two with our words: the one whose language agrees, else the oldest.
        assert_eq!(
            decide(vec![
                candidate(Match::Same, 0, 1),
                candidate(Match::Same, 1, 2)
            ]),
            Decision::Found(2)
        );
        assert_eq!(
            decide(vec![
                candidate(Match::Same, 1, 1),
                candidate(Match::Same, 1, 2)
            ]),
            Decision::Found(1)
        );
        // Similar words, however many fields agree, are for a person.
        assert!(matches!(
            decide(vec![candidate(Match::Similar(0.9), 3, 1)]),
            Decision::Unsure(why) if why.contains("90 %") && why.contains("/1")
        ));
        assert_eq!(decide::<u32>(vec![]), Decision::NotFound);
    }

    #[test]
    fn a_close_text_is_similar_and_other_numbers_are_another_post() {
        let sent = "Cities welcome everyone who makes them home, message 12.";
        assert!(matches!(
            compare(sent, "<p>Cities welcome everyone who makes them home (edited), message 12.</p>"),
            Match::Similar(s) if s >= SIMILAR
        ));
        assert_eq!(
            compare(
                sent,
                "<p>Cities welcome everyone who makes them home, message 13.</p>"
            ),
            Match::Different
        );
        assert_eq!(
            compare(
                sent,
                "<p>Migration policy is decided in national capitals.</p>"
            ),
            Match::Different
        );
    }
}
