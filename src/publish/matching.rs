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
    Regex::new(r"(^|\s)(</?3|[:;=8][\-o']?[)(\]\[DPpOo/\\|*]|[xX][Dd])(\s|$)").expect("valid regex")
});
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
    // Emoticons may touch each other ("<3 <3"): twice catches the second.
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
    let theirs = words_of_html(their_html);
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
