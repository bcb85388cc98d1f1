//! French typography, checked (never changed: the text is the comms team's).
//!
//! French puts a space before `; ! ?` and `:`, and inside `« »`: a narrow
//! no-break space (U+202F) before `; ! ?`, before `»` and after `«`, and a
//! no-break space (U+00A0) before `:`, so a line never breaks before the
//! sign. A plain space lets a narrow screen put the `!` alone at the start
//! of a line. The apostrophe is the typographic one (’, U+2019).
//!
//! Each problem is reported at its place in the file: the TOML string is
//! decoded here with the byte offset of each character, escapes (`\u202F`)
//! and multi-line strings included.

/// NARROW NO-BREAK SPACE.
pub const NNBSP: char = '\u{202F}';
/// NO-BREAK SPACE.
pub const NBSP: char = '\u{A0}';

/// A typography problem: its byte offset in the string token, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub offset: usize,
    pub message: String,
}

/// The problems of the French text in `token`, a TOML string as written in
/// the file (its quotes included). Links are left alone.
pub fn french(token: &str) -> Vec<Advice> {
    let chars = decode(token);
    let text: String = chars.iter().map(|(c, _)| *c).collect();
    // Character index → byte offset in `text`, to skip links.
    let mut byte = 0;
    let mut byte_of = Vec::with_capacity(chars.len());
    for (c, _) in &chars {
        byte_of.push(byte);
        byte += c.len_utf8();
    }
    let links = crate::render::find_urls(&text);
    let in_link = |i: usize| links.iter().any(|r| r.contains(&byte_of[i]));
    let mut out = Vec::new();
    let before = |i: usize| i.checked_sub(1).map(|j| chars[j].0);
    let after = |i: usize| chars.get(i + 1).map(|(c, _)| *c);
    for (i, &(c, at)) in chars.iter().enumerate() {
        if in_link(i) {
            continue;
        }
        let prev = before(i);
        let space_before = |wanted: char, alt: Option<char>, sign: char| -> Option<String> {
            match prev {
                Some(p) if p == wanted || Some(p) == alt => None,
                // "?!", "!!": the space goes before the first only.
                Some(p) if "!?;:".contains(p) => None,
                None | Some('\n') => None,
                Some(' ') => Some(format!(
                    "French typography: the space before \"{sign}\" should be a {} ({}), so the line never breaks before it; replace the plain space (or write {})",
                    name(wanted),
                    code(wanted),
                    escape(wanted)
                )),
                Some(_) => Some(format!(
                    "French typography: \"{sign}\" takes a {} ({}) before it; add one (or write {})",
                    name(wanted),
                    code(wanted),
                    escape(wanted)
                )),
            }
        };
        let advice = match c {
            ';' | '!' | '?' => space_before(NNBSP, None, c),
            // A time (9:00) or a number ratio takes no space.
            ':' if prev.is_some_and(|p| p.is_ascii_digit())
                && after(i).is_some_and(|n| n.is_ascii_digit()) =>
            {
                None
            }
            ':' => space_before(NBSP, Some(NNBSP), c),
            '»' => space_before(NNBSP, Some(NBSP), c),
            '«' => match after(i) {
                Some(n) if n == NNBSP || n == NBSP => None,
                Some(' ') => Some(format!(
                    "French typography: the space after \"«\" should be a narrow no-break space (U+202F); replace the plain space (or write {})",
                    escape(NNBSP)
                )),
                _ => Some(format!(
                    "French typography: \"«\" takes a narrow no-break space (U+202F) after it; add one (or write {})",
                    escape(NNBSP)
                )),
            },
            '\'' if prev.is_some_and(char::is_alphabetic) => Some(
                "French typography: use the typographic apostrophe ’ (U+2019) rather than the straight '"
                    .into(),
            ),
            _ => None,
        };
        if let Some(message) = advice {
            out.push(Advice {
                offset: at,
                message,
            });
        }
    }
    out
}

fn name(c: char) -> &'static str {
    if c == NNBSP {
        "narrow no-break space"
    } else {
        "no-break space"
    }
}

fn code(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

fn escape(c: char) -> String {
    format!("\\u{:04X}", c as u32)
}

/// The characters of a TOML string token (quotes included), escapes
/// decoded, each with its byte offset in the token, leading and trailing
/// white space dropped (as the text is read).
pub fn decode(token: &str) -> Vec<(char, usize)> {
    let (open, basic) = if token.starts_with("\"\"\"") {
        (3, true)
    } else if token.starts_with("'''") {
        (3, false)
    } else if token.starts_with('"') {
        (1, true)
    } else if token.starts_with('\'') {
        (1, false)
    } else {
        (0, false)
    };
    let end = token.len().saturating_sub(open).max(open);
    let mut i = open;
    if open == 3 {
        // A newline right after the opening quotes is not part of the text.
        if token[i..].starts_with("\r\n") {
            i += 2;
        } else if token[i..].starts_with('\n') {
            i += 1;
        }
    }
    let mut out = Vec::new();
    while i < end {
        let Some(c) = token[i..].chars().next() else {
            break;
        };
        if basic && c == '\\' {
            let rest = &token[i + 1..end];
            let hex = |n: usize| {
                rest.get(1..=n)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
            };
            match rest.chars().next() {
                Some('u') if hex(4).is_some() => {
                    out.push((hex(4).expect("checked"), i));
                    i += 6;
                }
                Some('U') if hex(8).is_some() => {
                    out.push((hex(8).expect("checked"), i));
                    i += 10;
                }
                Some(e @ ('n' | 't' | 'r' | '"' | '\\' | 'b' | 'f' | 'e')) => {
                    let decoded = match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'e' => '\u{1b}',
                        other => other,
                    };
                    out.push((decoded, i));
                    i += 2;
                }
                // A backslash ending a line joins it with the next.
                Some(w) if w.is_whitespace() => {
                    i += 1;
                    while let Some(w) = token[i..end].chars().next().filter(|w| w.is_whitespace()) {
                        i += w.len_utf8();
                    }
                }
                _ => {
                    out.push((c, i));
                    i += 1;
                }
            }
        } else {
            out.push((c, i));
            i += c.len_utf8();
        }
    }
    let start = out
        .iter()
        .position(|(c, _)| !c.is_whitespace())
        .unwrap_or(out.len());
    let stop = out
        .iter()
        .rposition(|(c, _)| !c.is_whitespace())
        .map_or(start, |p| p + 1);
    out[start..stop].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advice(token: &str) -> Vec<(usize, String)> {
        french(token)
            .into_iter()
            .map(|a| (a.offset, a.message))
            .collect()
    }

    #[test]
    fn good_french_passes() {
        let good = "\"Notre engagement\u{A0}: des droits pour toutes et tous\u{202F}! « \u{202F}ok\u{202F}» ? non : l’accès, 9:00, https://x.org/a?b=1;c et «\u{202F}ici\u{202F}»\"";
        let found = advice(good);
        // The plain spaces after the first « and before "?" and ":".
        assert_eq!(found.len(), 3, "{found:?}");
        let good = "\"Notre engagement\u{A0}: des droits pour tous\u{202F}! «\u{202F}Ici\u{202F}» l’accès, à 9:00, https://x.org/a?b=1;c\u{202F}?!\"";
        assert_eq!(advice(good), []);
    }

    #[test]
    fn each_sign_gets_its_space_at_its_place() {
        let token = "\"\"\"\nVoilà : l'accès aux droits !\nVraiment?\"\"\"";
        let found = advice(token);
        let at = |s: &str| token.find(s).unwrap();
        assert_eq!(found[0].0, at(": l"));
        assert!(
            found[0].1.contains("no-break space (U+00A0)"),
            "{}",
            found[0].1
        );
        assert_eq!(found[1].0, at("'accès"));
        assert!(found[1].1.contains("’"));
        assert_eq!(found[2].0, at("!\n"));
        assert!(found[2].1.contains("narrow no-break space (U+202F)"));
        assert!(found[2].1.contains("replace the plain space"));
        assert_eq!(found[3].0, at("?"));
        assert!(found[3].1.contains("add one"));
        assert_eq!(found.len(), 4);
    }

    #[test]
    fn escapes_are_decoded_and_placed() {
        let token = "\"droits\\u202F! et \\\"ça\\\" !\"";
        let found = advice(token);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, token.rfind('!').unwrap());
        let chars: String = decode("\"\"\"\n  a\\\n   b\\tc  \"\"\"")
            .iter()
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(chars, "ab\tc");
    }
}
