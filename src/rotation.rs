//! Which (message, language) a target posts next. Pure and deterministic: the
//! same state and catalog always give the same choice; no clock, no I/O.
//!
//! At each slot a target takes the next language in its list
//! (`en → fr → ar → en …`; a language no message has is passed over), then the
//! first queue post in that language it has not posted yet, else a rotation
//! message with that language, chosen so that:
//! - every (message, language) pair goes out once before any goes out again
//!   (a pair's count never runs ahead of the least-posted pair of its
//!   language by more than one);
//! - no two consecutive posts share a message, whenever the language has
//!   another message to offer (a short look-ahead over the rest of the cycle
//!   avoids painting itself into a corner);
//! - a message added mid-cycle joins the current cycle (it counts as posted as
//!   often as the least-posted message of its language), so it neither floods
//!   the feed nor waits for the next cycle; a removed one is simply no longer
//!   offered.
//!
//! The state is small, serialisable and kept per target in the state store,
//! so the rotation resumes where it stopped after a restart.
//!
//! A slot that fails for good (refused, or its target paused) still uses up
//! its message: the position is recorded with the intent, before sending,
//! and is not given back, so a text a network refuses cannot block every
//! slot after it; the pair comes back in the next cycle.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{Lang, Message};
use crate::posts::Catalog;

/// Where one target's rotation stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationState {
    /// Index into the target's language list of the next slot's language.
    pub next_lang: usize,
    /// The message this target posted last (rotation or queue).
    pub last_message: Option<String>,
    /// How often each rotation message went out, per language.
    pub counts: BTreeMap<String, BTreeMap<Lang, u32>>,
    /// Untimed queue posts already posted on this target.
    pub queue_done: BTreeSet<String>,
}

/// What a slot posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub message_id: String,
    pub lang: Lang,
    pub from_queue: bool,
    /// Position in the language list this choice used.
    lang_index: usize,
}

/// Nodes the look-ahead may visit before it settles for the greedy choice.
const LOOKAHEAD_BUDGET: usize = 20_000;

/// The look-ahead searches only when this few pairs are left in the cycle.
/// A corner (a language whose only message left is the one just posted)
/// can only come at a cycle's end; with more pairs left, the greedy order
/// (hardest first) keeps every way open, and the search, exact on a short
/// remainder, takes over as the end nears. Searching a long remainder
/// cost minutes per slot with thousands of messages.
const LOOKAHEAD_PAIRS: usize = 60;

/// The choice for the next slot, or `None` if no message has any of the
/// target's languages.
pub fn next(state: &RotationState, languages: &[Lang], catalog: &Catalog) -> Option<Choice> {
    (0..languages.len()).find_map(|step| {
        choose_at(
            state,
            languages,
            (state.next_lang + step) % languages.len(),
            catalog,
        )
    })
}

/// The choice for a slot that must be in `lang` (`post-now --lang`), picked
/// with the whole language list in view so the cycle stays fair. Record it
/// with [`record_manual`]: the next slot then takes the language after it.
pub fn next_in(
    state: &RotationState,
    languages: &[Lang],
    lang: &Lang,
    catalog: &Catalog,
) -> Option<Choice> {
    let index = languages.iter().position(|l| l == lang)?;
    choose_at(state, languages, index, catalog)
}

fn choose_at(
    state: &RotationState,
    languages: &[Lang],
    lang_index: usize,
    catalog: &Catalog,
) -> Option<Choice> {
    let lang = &languages[lang_index];
    if let Some(q) = catalog
        .queue()
        .find(|m| m.at.is_none() && m.has_lang(lang) && !state.queue_done.contains(&m.id))
    {
        return Some(Choice {
            message_id: q.id.clone(),
            lang: *lang,
            from_queue: true,
            lang_index,
        });
    }
    pick_rotation(state, languages, lang_index, catalog).map(|id| Choice {
        message_id: id,
        lang: *lang,
        from_queue: false,
        lang_index,
    })
}

/// Records `choice` as posted.
pub fn advance(state: &mut RotationState, languages: &[Lang], choice: &Choice, catalog: &Catalog) {
    record(
        state,
        &choice.message_id,
        &choice.lang,
        choice.from_queue,
        catalog,
    );
    state.next_lang = (choice.lang_index + 1) % languages.len().max(1);
}

/// Records a post made outside the schedule (`post-now`): the message is
/// now the last one and counts as posted in that language, and the post
/// takes that language's turn: the next slot takes the language after it
/// in `languages` (a manual Arabic post is not followed by a scheduled
/// Arabic one).
pub fn record_manual(
    state: &mut RotationState,
    languages: &[Lang],
    message: &Message,
    lang: &Lang,
    from_queue: bool,
    catalog: &Catalog,
) {
    record(state, &message.id, lang, from_queue, catalog);
    if let Some(i) = languages.iter().position(|l| l == lang) {
        state.next_lang = (i + 1) % languages.len();
    }
}

fn record(state: &mut RotationState, id: &str, lang: &Lang, from_queue: bool, catalog: &Catalog) {
    if from_queue {
        state.queue_done.insert(id.to_string());
    } else {
        // Every message of this language gets its count from now on: one
        // that first appears later joins at the least count of its day.
        let base = base_count(state, lang);
        for m in catalog.rotation().filter(|m| m.has_lang(lang)) {
            state
                .counts
                .entry(m.id.clone())
                .or_default()
                .entry(*lang)
                .or_insert(base);
        }
        *state
            .counts
            .entry(id.to_string())
            .or_default()
            .entry(*lang)
            .or_insert(base) += 1;
    }
    state.last_message = Some(id.to_string());
}

/// The count a message that never went out in `lang` is treated as having:
/// the least count among those that did, so it joins the current cycle.
fn base_count(state: &RotationState, lang: &Lang) -> u32 {
    state
        .counts
        .values()
        .filter_map(|per_lang| per_lang.get(lang).copied())
        .min()
        .unwrap_or(0)
}

fn count(state: &RotationState, id: &str, lang: &Lang, base: u32) -> u32 {
    state
        .counts
        .get(id)
        .and_then(|m| m.get(lang))
        .copied()
        .unwrap_or(base)
        .max(base)
}

fn pick_rotation(
    state: &RotationState,
    languages: &[Lang],
    lang_index: usize,
    catalog: &Catalog,
) -> Option<String> {
    let lang = &languages[lang_index];
    let candidates: Vec<&Message> = catalog.rotation().filter(|m| m.has_lang(lang)).collect();
    if candidates.is_empty() {
        return None;
    }
    let last = state.last_message.as_deref();
    let base = base_count(state, lang);
    // Candidates by count, lowest first; catalog order breaks ties.
    let mut by_count: Vec<(u32, &str)> = candidates
        .iter()
        .map(|m| (count(state, &m.id, lang, base), m.id.as_str()))
        .collect();
    by_count.sort_by_key(|(c, _)| *c);
    let min = by_count[0].0;
    let tier: Vec<&str> = by_count
        .iter()
        .filter(|(c, _)| *c == min)
        .map(|(_, id)| *id)
        .collect();
    let tier_not_last: Vec<&str> = tier
        .iter()
        .copied()
        .filter(|id| Some(*id) != last)
        .collect();
    if tier_not_last.is_empty() {
        // The only message left in this cycle is the one just posted (the
        // look-ahead could not avoid it, e.g. it is the only one in some
        // language). Fairness comes first: taking another would put that
        // one a whole cycle ahead and, repeated, starve this pair.
        return Some(tier[0].to_string());
    }
    let plan = Lookahead::new(state, languages, lang_index, catalog);
    let ordered = plan.order(&tier_not_last);
    for first in &ordered {
        if plan.completes(first) {
            return Some(first.to_string());
        }
    }
    ordered.first().map(|s| s.to_string())
}

/// A bounded search over the rest of the current cycle: does choosing a
/// message now still let every remaining pair go out without two
/// consecutive posts of one message?
struct Lookahead<'a> {
    languages: &'a [Lang],
    lang_index: usize,
    /// For each language index, the messages still due in this cycle.
    remaining: Vec<Vec<String>>,
    /// In how many languages each message is still due.
    pairs_left: std::collections::HashMap<String, usize>,
}

impl<'a> Lookahead<'a> {
    fn new(
        state: &RotationState,
        languages: &'a [Lang],
        lang_index: usize,
        catalog: &Catalog,
    ) -> Self {
        let remaining = languages
            .iter()
            .map(|lang| {
                let base = base_count(state, lang);
                let cands: Vec<(u32, String)> = catalog
                    .rotation()
                    .filter(|m| m.has_lang(lang))
                    .map(|m| (count(state, &m.id, lang, base), m.id.clone()))
                    .collect();
                let min = cands.iter().map(|(c, _)| *c).min().unwrap_or(0);
                cands
                    .into_iter()
                    .filter(|(c, _)| *c == min)
                    .map(|(_, id)| id)
                    .collect()
            })
            .collect::<Vec<Vec<String>>>();
        let mut pairs_left = std::collections::HashMap::new();
        for id in remaining.iter().flatten() {
            *pairs_left.entry(id.clone()).or_insert(0) += 1;
        }
        Lookahead {
            languages,
            lang_index,
            remaining,
            pairs_left,
        }
    }

    /// Messages with more pairs left first: they are the hardest to place.
    fn order<'s>(&self, ids: &[&'s str]) -> Vec<&'s str> {
        let mut v: Vec<&str> = ids.to_vec();
        v.sort_by_key(|id| std::cmp::Reverse(self.pairs_left.get(*id).copied().unwrap_or(0)));
        v
    }

    fn completes(&self, first: &str) -> bool {
        if self.remaining.iter().map(Vec::len).sum::<usize>() > LOOKAHEAD_PAIRS {
            return true;
        }
        let mut remaining = self.remaining.clone();
        remaining[self.lang_index].retain(|id| id != first);
        let mut budget = LOOKAHEAD_BUDGET;
        let next = (self.lang_index + 1) % self.languages.len();
        dfs(&mut remaining, next, Some(first.to_string()), &mut budget).unwrap_or(true)
    }
}

/// `Some(true)` if the remaining pairs can all be placed; `None` when the
/// budget ran out (the caller then trusts the greedy order).
fn dfs(
    remaining: &mut [Vec<String>],
    lang_index: usize,
    prev: Option<String>,
    budget: &mut usize,
) -> Option<bool> {
    if remaining.iter().all(Vec::is_empty) {
        return Some(true);
    }
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let n = remaining.len();
    let next = (lang_index + 1) % n;
    if remaining[lang_index].is_empty() {
        // This language starts its next cycle here: any message fits.
        return dfs(remaining, next, None, budget);
    }
    let options: Vec<String> = remaining[lang_index]
        .iter()
        .filter(|id| Some(*id) != prev.as_ref())
        .cloned()
        .collect();
    let mut options = options;
    options
        .sort_by_key(|id| std::cmp::Reverse(remaining.iter().filter(|r| r.contains(id)).count()));
    for id in options {
        let pos = remaining[lang_index]
            .iter()
            .position(|x| *x == id)
            .expect("option is remaining");
        remaining[lang_index].remove(pos);
        let r = dfs(remaining, next, Some(id.clone()), budget);
        remaining[lang_index].insert(pos, id);
        match r {
            Some(false) => continue,
            other => return other,
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LangMap, MessageKind};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lang(s: &str) -> Lang {
        Lang::new(s).unwrap()
    }
    fn langs() -> Vec<Lang> {
        vec![lang("en"), lang("fr"), lang("ar")]
    }

    fn message(id: &str, kind: MessageKind, langs: &[Lang]) -> Message {
        Message {
            id: id.into(),
            source: format!(
                "{}/{id}.toml",
                if kind == MessageKind::Queue {
                    "queue"
                } else {
                    "rotation"
                }
            )
            .into(),
            kind,
            commitment: None,
            draft: false,
            tags: vec![],
            at: None,
            spoiler: LangMap::new(),
            text: langs.iter().map(|l| (*l, format!("{id} in {l}"))).collect(),
            short: LangMap::new(),
            text_lines: LangMap::new(),
            media: vec![],
            parked: None,
        }
    }

    fn catalog(n: usize) -> Catalog {
        Catalog {
            messages: (0..n)
                .map(|i| message(&format!("m{i:02}"), MessageKind::Rotation, &langs()))
                .collect(),
            ..Default::default()
        }
    }

    fn run(
        state: &mut RotationState,
        langs: &[Lang],
        cat: &Catalog,
        slots: usize,
    ) -> Vec<(String, Lang)> {
        (0..slots)
            .map(|_| {
                let c = next(state, langs, cat).expect("something to post");
                advance(state, langs, &c, cat);
                (c.message_id, c.lang)
            })
            .collect()
    }

    #[test]
    fn three_messages_one_cycle() {
        let mut s = RotationState::default();
        let seq = run(&mut s, &langs(), &catalog(3), 9);
        let shown: Vec<String> = seq.iter().map(|(m, l)| format!("{m}:{l}")).collect();
        expect_test::expect![[r#"["m00:en", "m01:fr", "m02:ar", "m01:en", "m02:fr", "m00:ar", "m02:en", "m00:fr", "m01:ar"]"#]]
            .assert_eq(&format!("{shown:?}"));
    }

    #[test]
    fn untimed_queue_posts_go_first_once_in_a_language_they_have() {
        let mut cat = catalog(3);
        cat.messages
            .push(message("q-fr", MessageKind::Queue, &[lang("fr")]));
        cat.messages
            .push(message("q-all", MessageKind::Queue, &langs()));
        let mut s = RotationState::default();
        let seq = run(&mut s, &langs(), &cat, 4);
        assert_eq!(seq[0], ("q-all".to_string(), lang("en")));
        assert_eq!(seq[1], ("q-fr".to_string(), lang("fr")));
        assert!(!seq[2].0.starts_with('q') && !seq[3].0.starts_with('q'));
    }

    #[test]
    fn a_language_nobody_has_is_passed_over() {
        let cat = Catalog {
            messages: vec![
                message("a", MessageKind::Rotation, &[lang("en"), lang("fr")]),
                message("b", MessageKind::Rotation, &[lang("en"), lang("fr")]),
            ],
            ..Default::default()
        };
        let mut s = RotationState::default();
        let seq = run(&mut s, &langs(), &cat, 4);
        let ls: Vec<&str> = seq.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(ls, ["en", "fr", "en", "fr"]);
    }

    /// Issue 17: with thousands of messages, each slot's look-ahead
    /// searched the whole cycle (minutes per slot, the daemon stuck at
    /// start). Now it searches only a cycle's short end.
    #[test]
    fn thousands_of_messages_rotate_without_repeats() {
        let cat = catalog(3000);
        let mut s = RotationState::default();
        let seq = run(&mut s, &langs(), &cat, 300);
        let pairs: BTreeSet<_> = seq.iter().collect();
        assert_eq!(pairs.len(), 300);
        for w in seq.windows(2) {
            assert_ne!(w[0].0, w[1].0);
        }
    }

    proptest! {
        #[test]
        fn each_pair_once_per_cycle_and_no_repeats(n in 2usize..25, cycles in 1usize..4) {
            let cat = catalog(n);
            let mut s = RotationState::default();
            let seq = run(&mut s, &langs(), &cat, 3 * n * cycles);
            for cycle in seq.chunks(3 * n) {
                let pairs: BTreeSet<_> = cycle.iter().collect();
                prop_assert_eq!(pairs.len(), 3 * n);
            }
            for w in seq.windows(2) {
                prop_assert_ne!(&w[0].0, &w[1].0);
            }
        }

        #[test]
        fn uneven_languages_still_fair(mask in proptest::collection::vec(1u8..8, 2..10), slots in 10usize..80) {
            let all = langs();
            let messages: Vec<Message> = mask.iter().enumerate().map(|(i, bits)| {
                let ls: Vec<Lang> = (0..3).filter(|b| bits & (1 << b) != 0).map(|b| all[b]).collect();
                message(&format!("m{i}"), MessageKind::Rotation, &ls)
            }).collect();
            let cat = Catalog { messages, ..Default::default() };
            let mut s = RotationState::default();
            run(&mut s, &all, &cat, slots);
            // Within each language, no pair is more than one ahead of another.
            for l in &all {
                let counts: Vec<u32> = cat.rotation().filter(|m| m.has_lang(l))
                    .map(|m| s.counts.get(&m.id).and_then(|c| c.get(l)).copied().unwrap_or(0)).collect();
                if let (Some(min), Some(max)) = (counts.iter().min(), counts.iter().max()) {
                    prop_assert!(max - min <= 1, "{l}: {counts:?}");
                }
            }
        }

        #[test]
        fn deterministic_and_resumable(n in 2usize..10, before in 0usize..40, after in 1usize..40) {
            let cat = catalog(n);
            let mut straight = RotationState::default();
            let expected = run(&mut straight, &langs(), &cat, before + after);
            let mut s = RotationState::default();
            let mut got = run(&mut s, &langs(), &cat, before);
            let saved = serde_json::to_string(&s).unwrap();
            let mut restored: RotationState = serde_json::from_str(&saved).unwrap();
            got.extend(run(&mut restored, &langs(), &cat, after));
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn adding_or_removing_mid_cycle_neither_repeats_nor_starves(n in 3usize..10, at in 1usize..30, remove in any::<bool>()) {
            let mut cat = catalog(n);
            let mut s = RotationState::default();
            run(&mut s, &langs(), &cat, at);
            if remove {
                cat.messages.remove(at % n);
            } else {
                cat.messages.push(message("new", MessageKind::Rotation, &langs()));
            }
            let m = cat.messages.len();
            let seq = run(&mut s, &langs(), &cat, 6 * m);
            // Every pair of the current catalog comes up within two cycles…
            let seen: BTreeSet<_> = seq.iter().cloned().collect();
            prop_assert_eq!(seen.len(), 3 * m);
            // …and none comes up more than three times (at most one cycle ahead).
            let mut per_pair: BTreeMap<&(String, Lang), usize> = BTreeMap::new();
            for p in &seq { *per_pair.entry(p).or_default() += 1; }
            prop_assert!(per_pair.values().all(|&c| c <= 3), "{per_pair:?}");
        }
    }
}
