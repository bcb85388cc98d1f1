//! Any text and tags: rendering never panics, lengths are consistent
//! (Bluesky's graphemes and bytes, Telegram's UTF-16 code units, X's
//! weighted count against twitter-text, Threads' bytes and links, and its
//! topic tag one of the text's hashtags), and
//! every Bluesky facet covers exactly a hashtag or link on character
//! boundaries of the text.
#![no_main]

use campaign_bot::model::{Lang, LangMap, Message, MessageKind};
use campaign_bot::publish::bluesky::facets;
use campaign_bot::publish::threads::topic_tag;
use campaign_bot::render::{Limits, find_hashtags, find_urls, measure, overruns, render, weighted_length};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let mut parts = input.splitn(2, '\u{0}');
    let text = parts.next().unwrap_or_default();
    let tags: Vec<String> = parts
        .next()
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .map(str::to_string)
        .collect();
    let lang = Lang::new("ar").unwrap();
    let message = Message {
        id: "fuzz".into(),
        source: "rotation/fuzz.toml".into(),
        kind: MessageKind::Rotation,
        commitment: None,
        draft: false,
        tags,
        at: None,
        spoiler: LangMap::new(),
        text: LangMap::from([(lang.clone(), text.to_string())]),
        short: LangMap::new(),
        text_lines: LangMap::new(),
        media: vec![],
        parked: None,
    };
    let campaign = vec!["WeTogether".to_string(), "Cities4Migration".to_string()];
    let r = render(&message, &lang, &campaign).unwrap();
    assert!(r.text.starts_with(text));
    for tag in &campaign {
        assert!(r.text.to_lowercase().contains(&format!("#{}", tag.to_lowercase())));
    }
    let m = measure(&r, &campaign_bot::publish::bluesky::LIMITS);
    assert!(m.graphemes <= m.bytes);
    assert_eq!(m.bytes, r.text.len());
    // Telegram's rule: UTF-16 code units, between graphemes and bytes.
    let t = measure(&r, &campaign_bot::publish::telegram::LIMITS);
    assert_eq!(t.utf16, r.text.encode_utf16().count());
    assert!(m.graphemes <= t.utf16 && t.utf16 <= m.bytes);
    assert_eq!(overruns(&t, &campaign_bot::publish::telegram::LIMITS).is_empty(), t.utf16 <= 4096);
    // X's rule: the quick count, where it applies, is twitter-text's.
    let x = measure(&r, &campaign_bot::publish::x::LIMITS);
    assert_eq!(x.weighted, weighted_length(&r.text));
    assert_eq!(overruns(&x, &campaign_bot::publish::x::LIMITS).is_empty(), x.weighted <= 280);
    // Threads' rule: every character as its UTF-8 bytes, 5 links at most.
    let th = measure(&r, &campaign_bot::publish::threads::LIMITS);
    assert_eq!(th.bytes, r.text.len());
    assert_eq!(th.links, find_urls(&r.text).len());
    assert_eq!(
        overruns(&th, &campaign_bot::publish::threads::LIMITS).is_empty(),
        th.bytes <= 500 && th.links <= 5
    );
    if let Some(topic) = topic_tag(&r.text) {
        let tags: Vec<&str> = find_hashtags(&r.text).into_iter().map(|h| &r.text[h]).collect();
        assert!(tags.iter().any(|t| t.ends_with(topic.as_str())), "{topic} among {tags:?}");
    }
    for f in facets(&r.text) {
        let (a, b) = (f["index"]["byteStart"].as_u64().unwrap() as usize, f["index"]["byteEnd"].as_u64().unwrap() as usize);
        assert!(a < b && b <= r.text.len());
        assert!(r.text.is_char_boundary(a) && r.text.is_char_boundary(b));
        let covered = &r.text[a..b];
        let feature = &f["features"][0];
        match feature["$type"].as_str().unwrap() {
            "app.bsky.richtext.facet#tag" => assert_eq!(&covered[1..], feature["tag"].as_str().unwrap()),
            "app.bsky.richtext.facet#link" => assert_eq!(covered, feature["uri"].as_str().unwrap()),
            other => panic!("unknown facet {other}"),
        }
    }
});
