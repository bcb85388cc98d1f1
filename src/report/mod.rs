//! `campaign-bot report`: what worked, from the latest engagement snapshot of
//! each post: totals and per-post averages by message, language, target and
//! day, the top posts with their links; as a terminal table, CSV (one row
//! per post), JSON, or a self-contained HTML page with charts ([`html`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::{Config, TargetConfig};
use crate::store::{Intent, Store, StoreError};

pub mod html;
pub mod xlsx;

/// A published post: where and what, whether or not it has counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posted {
    pub target: String,
    pub kind: String,
    pub message_id: String,
    pub lang: String,
    pub posted_at: DateTime<Utc>,
    /// The local day it was posted (the campaign's time zone).
    pub day: NaiveDate,
    pub url: Option<String>,
    pub remote_id: String,
    pub text: String,
}

impl Posted {
    /// A published intent as posted on `target` (its configuration, `None`
    /// for a target no longer configured: kind `?`), its day in the
    /// campaign's time zone `tz`.
    fn of(i: Intent, target: Option<&TargetConfig>, tz: chrono_tz::Tz) -> Posted {
        let posted_at = i.published_at.unwrap_or(i.updated_at);
        Posted {
            kind: target
                .map(|t| t.kind.to_string())
                .unwrap_or_else(|| "?".into()),
            target: i.target,
            message_id: i.message_id.unwrap_or_default(),
            lang: i.lang.map(|l| l.to_string()).unwrap_or_default(),
            posted_at,
            day: posted_at.with_timezone(&tz).date_naive(),
            url: i.url,
            remote_id: i.remote_id.unwrap_or_default(),
            text: i.text.unwrap_or_default(),
        }
    }
}

/// One post, with its latest counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostRow {
    #[serde(flatten)]
    pub post: Posted,
    /// The local hour it was posted (0-23).
    pub hour: u32,
    /// The local weekday it was posted (Mon..Sun).
    pub weekday: String,
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    pub quotes: Option<u64>,
    pub total: u64,
    /// Impressions or views, where the network gives them.
    pub views: Option<u64>,
    /// Clicks (LinkedIn), shares out of the network (Threads, Facebook,
    /// Instagram) and saves (Instagram), where given; not part of `total`.
    pub clicks: Option<u64>,
    pub shares: Option<u64>,
    pub saves: Option<u64>,
    /// Engagement per view, in per cent (`None`, shown `n/a`, without views).
    pub rate: Option<f64>,
    /// The target's followers when the post went out: the daily count of
    /// its day, else the latest before it, else the first after it.
    pub followers: Option<u64>,
    /// Engagement per 1,000 followers at posting time.
    pub per_1k_followers: Option<f64>,
    pub checked_at: DateTime<Utc>,
}

impl PostRow {
    /// Its quotes, or `unknown` where its network does not count them.
    pub fn quotes_or(&self, unknown: &str) -> String {
        self.quotes
            .map(|q| q.to_string())
            .unwrap_or_else(|| unknown.into())
    }

    /// Sets the counts that derive from views and followers.
    fn derive(&mut self) {
        self.rate = self
            .views
            .filter(|v| *v > 0)
            .map(|v| self.total as f64 / v as f64 * 100.0);
        self.per_1k_followers = self
            .followers
            .filter(|f| *f > 0)
            .map(|f| self.total as f64 / f as f64 * 1000.0);
    }
}

/// The count of `series` (a target's daily follower counts, oldest first)
/// on `day`, else the latest before it, else the first after it.
fn followers_on(series: &[(NaiveDate, u64)], day: NaiveDate) -> Option<u64> {
    match series.partition_point(|(d, _)| *d <= day) {
        0 => series.first().map(|(_, c)| *c),
        i => Some(series[i - 1].1),
    }
}

/// Totals of a group of posts (one message, language, target or day).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// What groups the posts: a message id, a language code, a target…
    pub key: String,
    /// The key as people read it: a language's English name (`Arabic`),
    /// other keys as they are. Not in the JSON (codes are for tools).
    #[serde(skip)]
    pub label: String,
    pub posts: usize,
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    pub quotes: u64,
    pub total: u64,
    /// Total engagement per post.
    pub average: f64,
    /// The middle post's total engagement (less swayed by one viral post).
    pub median: f64,
    /// Engagement per view in per cent, over the posts whose network gives
    /// views (`None`, shown `n/a`, where none does).
    pub rate: Option<f64>,
    /// Engagement per 1,000 followers at posting time, averaged over the
    /// posts whose follower count is known.
    pub per_1k_followers: Option<f64>,
}

/// A post's counts, in the order the CSV and the workbook give them.
pub const COUNTS: [&str; 6] = ["likes", "reposts", "replies", "quotes", "total", "views"];

/// A group's figure, as each format shows it.
#[derive(Debug, Clone, Copy)]
pub enum Figure {
    Count(u64),
    /// Shown with one decimal.
    Decimal(f64),
    /// Shown with one decimal and its unit, `n/a` where not known.
    Known(Option<f64>, &'static str),
}

impl Figure {
    /// As the text table and the page show it.
    pub fn shown(self) -> String {
        match self {
            Figure::Count(n) => n.to_string(),
            Figure::Decimal(v) => format!("{v:.1}"),
            Figure::Known(v, unit) => or_na(v, unit),
        }
    }
}

/// A column of the tables by message, language, target…, after the
/// group's label: the same columns in the same order in the text table,
/// the page and the workbook.
pub struct Column {
    /// Its headings in the text table (narrow), the page and the workbook
    /// (where the unit is said: its cells are bare numbers).
    pub headings: [&'static str; 3],
    /// The width it is set in, in the text table.
    pub width: usize,
    pub figure: fn(&Group) -> Figure,
}

const fn column(headings: [&'static str; 3], width: usize, figure: fn(&Group) -> Figure) -> Column {
    Column {
        headings,
        width,
        figure,
    }
}

pub const GROUP_COLUMNS: [Column; 10] = [
    column(["posts"; 3], 5, |g| Figure::Count(g.posts as u64)),
    column(["likes"; 3], 6, |g| Figure::Count(g.likes)),
    column(["reposts"; 3], 7, |g| Figure::Count(g.reposts)),
    column(["replies"; 3], 7, |g| Figure::Count(g.replies)),
    column(["quotes"; 3], 6, |g| Figure::Count(g.quotes)),
    column(["total"; 3], 6, |g| Figure::Count(g.total)),
    column(["per post"; 3], 8, |g| Figure::Decimal(g.average)),
    column(["median"; 3], 6, |g| Figure::Decimal(g.median)),
    column(
        ["per 1k fol", "per 1,000 followers", "per 1k followers"],
        10,
        |g| Figure::Known(g.per_1k_followers, ""),
    ),
    column(["per view", "per view", "rate (%)"], 8, |g| {
        Figure::Known(g.rate, " %")
    }),
];

/// How a target's audience grew over the report's period: its first and
/// last daily follower counts in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audience {
    pub target: String,
    pub first_day: NaiveDate,
    pub first: u64,
    pub last_day: NaiveDate,
    pub last: u64,
    pub change: i64,
}

/// A target whose network gives no engagement counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotCounted {
    pub target: String,
    pub why: String,
}

/// A published post with no engagement check yet: listed, never left out
/// nor shown with counts of 0 (issue 27).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unchecked {
    #[serde(flatten)]
    pub post: Posted,
    /// Why it has no counts: "not checked yet", or why its network is
    /// never counted, or that it was deleted before its first check.
    pub why: String,
}

fn t_kind(target: Option<&TargetConfig>) -> String {
    target.map(|t| t.kind.to_string()).unwrap_or_default()
}

/// The engagement of a period: this one, or the one before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub posts: usize,
    pub total: u64,
    /// Total engagement per post (0 without posts).
    pub average: f64,
}

/// The dimensions a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Message,
    Lang,
    Target,
    Day,
    /// The local weekday (Mon..Sun), in the campaign's time zone.
    Weekday,
    /// The local hour of the day (00..23), in the campaign's time zone.
    Hour,
}

impl By {
    pub const ALL: [By; 6] = [
        By::Message,
        By::Lang,
        By::Target,
        By::Day,
        By::Weekday,
        By::Hour,
    ];
    pub fn label(self) -> &'static str {
        match self {
            By::Message => "message",
            By::Lang => "language",
            By::Target => "target",
            By::Day => "day",
            By::Weekday => "weekday",
            By::Hour => "hour",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    /// The campaign's time zone, in which days and hours are given.
    #[serde(skip)]
    pub timezone: Option<chrono_tz::Tz>,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    /// This period and the one of the same length just before it, when
    /// the report covers a period (`--since`).
    pub period: Option<Period>,
    pub previous: Option<Period>,
    /// Follower counts per target over the period (daily snapshots).
    pub audience: Vec<Audience>,
    /// Targets with nothing to count, and why (no numbers are invented
    /// for them).
    pub not_counted: Vec<NotCounted>,
    pub posts: Vec<PostRow>,
    /// Published posts with no counts yet (or never: an outbox), oldest
    /// first. Not part of any total.
    pub unchecked: Vec<Unchecked>,
    pub by_message: Vec<Group>,
    pub by_lang: Vec<Group>,
    pub by_target: Vec<Group>,
    pub by_day: Vec<Group>,
    pub by_weekday: Vec<Group>,
    pub by_hour: Vec<Group>,
    /// The posts with the most engagement, best first.
    pub top: Vec<PostRow>,
}

/// How many top posts a report lists.
pub const TOP: usize = 5;

impl Report {
    /// Builds the report from the state store; `since` and `until` keep
    /// the posts of those local days (both included).
    pub fn build(
        config: &Config,
        store: &Store,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> Result<Report, StoreError> {
        let tz = config.schedule.timezone();
        let mut series: BTreeMap<String, Vec<(NaiveDate, u64)>> = BTreeMap::new();
        for t in &config.targets {
            series.insert(t.name.clone(), store.followers(&t.name, None, None)?);
        }
        let posts: Vec<PostRow> = store
            .latest_snapshots()?
            .into_iter()
            .map(|(i, checked_at, c)| {
                let target = config.target(&i.target);
                let post = Posted::of(i, target, tz);
                let local = post.posted_at.with_timezone(&tz);
                let followers = series
                    .get(&post.target)
                    .and_then(|s| followers_on(s, post.day));
                let mut row = PostRow {
                    post,
                    hour: chrono::Timelike::hour(&local),
                    weekday: chrono::Datelike::weekday(&local).to_string(),
                    likes: c.likes,
                    reposts: c.reposts,
                    replies: c.replies,
                    quotes: c.quotes,
                    total: c.total(),
                    views: c.views,
                    clicks: c.clicks,
                    shares: c.shares,
                    saves: c.saves,
                    rate: None,
                    followers,
                    per_1k_followers: None,
                    checked_at,
                };
                row.derive();
                row
            })
            .collect();
        let today = now.with_timezone(&tz).date_naive();
        let mut report = Self::for_period(posts, since, until, today, now);
        report.timezone = Some(tz);
        let until_day = until.unwrap_or(today);
        for i in store.unchecked()? {
            let gone = i.gone;
            let target = config.target(&i.target);
            let post = Posted::of(i, target, tz);
            if since.is_some_and(|s| post.day < s) || post.day > until_day {
                continue;
            }
            let why = match target.and_then(|t| t.profile().no_engagement_reason()) {
                Some(_) => format!("never counted ({})", t_kind(target)),
                None if gone => "deleted on its network before its first check".into(),
                None if target.is_none() => "its target is no longer configured".into(),
                None => "not checked yet".into(),
            };
            report.unchecked.push(Unchecked { post, why });
        }
        for t in &config.targets {
            if let Some(why) = t.profile().no_engagement_reason() {
                report.not_counted.push(NotCounted {
                    target: t.name.clone(),
                    why: why.to_string(),
                });
            }
            let all = &series[&t.name];
            let counts: Vec<&(NaiveDate, u64)> = all
                .iter()
                .filter(|(d, _)| since.is_none_or(|s| *d >= s) && until.is_none_or(|u| *d <= u))
                .collect();
            if let (Some(first), Some(last)) = (counts.first(), counts.last()) {
                report.audience.push(Audience {
                    target: t.name.clone(),
                    first_day: first.0,
                    first: first.1,
                    last_day: last.0,
                    last: last.1,
                    change: last.1 as i64 - first.1 as i64,
                });
            }
        }
        Ok(report)
    }

    /// The report of the posts in `[since, until]` (local days; `until`
    /// defaults to `today`), with the period before it of the same length
    /// when `since` is given.
    pub fn for_period(
        all: Vec<PostRow>,
        since: Option<NaiveDate>,
        until: Option<NaiveDate>,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Report {
        let inside = |p: &PostRow, from: Option<NaiveDate>, to: Option<NaiveDate>| {
            from.is_none_or(|d| p.post.day >= d) && to.is_none_or(|d| p.post.day <= d)
        };
        let (period, previous) = match since {
            Some(from) => {
                let to = until.unwrap_or(today).max(from);
                let days = (to - from).num_days() + 1;
                let before_to = from - chrono::Duration::days(1);
                let before_from = from - chrono::Duration::days(days);
                let totals = |a: NaiveDate, b: NaiveDate| {
                    let ps: Vec<&PostRow> =
                        all.iter().filter(|p| inside(p, Some(a), Some(b))).collect();
                    let total: u64 = ps.iter().map(|p| p.total).sum();
                    Period {
                        since: a,
                        until: b,
                        posts: ps.len(),
                        total,
                        average: if ps.is_empty() {
                            0.0
                        } else {
                            total as f64 / ps.len() as f64
                        },
                    }
                };
                (Some(totals(from, to)), Some(totals(before_from, before_to)))
            }
            None => (None, None),
        };
        let posts: Vec<PostRow> = all
            .into_iter()
            .filter(|p| inside(p, since, until))
            .collect();
        let mut report = Self::from_posts(posts, since, now);
        report.until = until;
        report.period = period;
        report.previous = previous;
        report
    }

    pub fn from_posts(posts: Vec<PostRow>, since: Option<NaiveDate>, now: DateTime<Utc>) -> Report {
        let group = |by: By| group(&posts, by);
        let mut top = posts.clone();
        top.sort_by(|a, b| {
            b.total
                .cmp(&a.total)
                .then(a.post.posted_at.cmp(&b.post.posted_at))
        });
        top.truncate(TOP);
        Report {
            generated_at: now,
            timezone: None,
            since,
            until: None,
            period: None,
            previous: None,
            audience: Vec::new(),
            not_counted: Vec::new(),
            unchecked: Vec::new(),
            by_message: group(By::Message),
            by_lang: group(By::Lang),
            by_target: group(By::Target),
            by_day: group(By::Day),
            by_weekday: group(By::Weekday),
            by_hour: group(By::Hour),
            top,
            posts,
        }
    }

    pub fn groups(&self, by: By) -> &[Group] {
        match by {
            By::Message => &self.by_message,
            By::Lang => &self.by_lang,
            By::Target => &self.by_target,
            By::Day => &self.by_day,
            By::Weekday => &self.by_weekday,
            By::Hour => &self.by_hour,
        }
    }
}

/// The group a post falls in.
fn key_of(p: &PostRow, by: By) -> String {
    match by {
        By::Message => p.post.message_id.clone(),
        By::Lang => p.post.lang.clone(),
        By::Target => p.post.target.clone(),
        By::Day => p.post.day.to_string(),
        By::Weekday => p.weekday.clone(),
        By::Hour => format!("{:02}", p.hour),
    }
}

/// A group's key as people read it.
fn label_of(by: By, key: &str) -> String {
    match by {
        By::Lang => isolang::Language::from_639_1(key)
            .map(|l| l.to_name().to_string())
            .unwrap_or_else(|| key.to_string()),
        _ => key.to_string(),
    }
}

fn group(posts: &[PostRow], by: By) -> Vec<Group> {
    /// What a group gathers besides its sums.
    #[derive(Default)]
    struct Acc {
        totals: Vec<u64>,
        viewed_total: u64,
        views: u64,
        per_1k: Vec<f64>,
    }
    let mut map: BTreeMap<String, (Group, Acc)> = BTreeMap::new();
    for p in posts {
        let key = key_of(p, by);
        let (g, acc) = map.entry(key.clone()).or_insert_with(|| {
            let g = Group {
                label: label_of(by, &key),
                key,
                posts: 0,
                likes: 0,
                reposts: 0,
                replies: 0,
                quotes: 0,
                total: 0,
                average: 0.0,
                median: 0.0,
                rate: None,
                per_1k_followers: None,
            };
            (g, Acc::default())
        });
        g.posts += 1;
        g.likes += p.likes;
        g.reposts += p.reposts;
        g.replies += p.replies;
        g.quotes += p.quotes.unwrap_or(0);
        g.total += p.total;
        acc.totals.push(p.total);
        if let Some(v) = p.views {
            acc.views += v;
            acc.viewed_total += p.total;
        }
        acc.per_1k.extend(p.per_1k_followers);
    }
    let mut groups: Vec<Group> = map
        .into_values()
        .map(|(mut g, mut acc)| {
            g.average = g.total as f64 / g.posts as f64;
            g.median = median(&mut acc.totals);
            g.rate = (acc.views > 0).then(|| acc.viewed_total as f64 / acc.views as f64 * 100.0);
            g.per_1k_followers = (!acc.per_1k.is_empty())
                .then(|| acc.per_1k.iter().sum::<f64>() / acc.per_1k.len() as f64);
            g
        })
        .collect();
    match by {
        // Days and hours in order, weekdays Monday first; the rest best first,
        By::Day | By::Hour => {}
        By::Weekday => groups.sort_by_key(|g| {
            g.key
                .parse::<chrono::Weekday>()
                .map(|d| d.num_days_from_monday())
                .unwrap_or(7)
        }),
        // Per post, so that what was posted most does not look best for it.
        _ => groups.sort_by(|a, b| {
            b.average
                .total_cmp(&a.average)
                .then_with(|| a.key.cmp(&b.key))
        }),
    }
    groups
}

fn median(values: &mut [u64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    }
}

/// The terminal table: every dimension (or the one asked for), then the top posts.
pub fn table(report: &Report, only: Option<By>) -> String {
    let mut out = String::new();
    if report.posts.is_empty() {
        let mut out = String::new();
        if report.unchecked.is_empty() {
            let _ = writeln!(
                out,
                "Nothing posted yet{}. The report reads the state store (data/state.db), \
                 where every post is recorded; how each post on {} does is checked from \
                 1 h after it goes out (`campaign-bot engagement --all` checks at once).",
                if report.since.is_some() || report.until.is_some() {
                    " in this period"
                } else {
                    ""
                },
                crate::publish::registry::collecting_networks()
            );
        } else {
            let _ = writeln!(
                out,
                "No engagement counted yet: {} published, listed below. The report reads the state store (data/state.db).",
                posts_count(report.unchecked.len())
            );
        }
        for n in &report.not_counted {
            let _ = writeln!(out, "Not counted: {}: {}", n.target, n.why);
        }
        out.push_str(&unchecked_table(report));
        return out;
    }
    if let (Some(now), Some(before)) = (&report.period, &report.previous) {
        out.push_str(&compare(now, before));
        out.push('\n');
    }
    for n in &report.not_counted {
        let _ = writeln!(out, "Not counted: {}: {}", n.target, n.why);
    }
    if !report.not_counted.is_empty() {
        out.push('\n');
    }
    if !report.audience.is_empty() {
        out.push_str("Audience (followers, daily counts)\n");
        for a in &report.audience {
            let _ = writeln!(
                out,
                "  {}: {} on {} → {} on {} ({:+})",
                a.target, a.first, a.first_day, a.last, a.last_day, a.change
            );
        }
        out.push('\n');
    }
    let dims: Vec<By> = only.map(|b| vec![b]).unwrap_or_else(|| By::ALL.to_vec());
    for by in dims {
        let groups = report.groups(by);
        let w = groups
            .iter()
            .map(|g| g.label.chars().count())
            .max()
            .unwrap_or(0)
            .max(by.label().len());
        let _ = write!(out, "By {}\n  {:<w$}", by.label(), by.label());
        for c in &GROUP_COLUMNS {
            let _ = write!(out, "  {:>width$}", c.headings[0], width = c.width);
        }
        out.push('\n');
        for g in groups {
            let _ = write!(out, "  {:<w$}", g.label);
            for c in &GROUP_COLUMNS {
                let shown = (c.figure)(g).shown();
                let _ = write!(out, "  {shown:>width$}", width = c.width);
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(
        "per post: likes + reposts + replies + quotes, per post\n\
         per 1k fol: the same per 1,000 followers the target had when it posted\n\
         per view: the same per impression, where the network counts them\n\
         n/a: not known (never shown as 0)\n\n",
    );
    if only.is_none() {
        let SideBySide { langs, rows } = side_by_side(report);
        let names: Vec<String> = langs.iter().map(|l| language_name(l)).collect();
        let w = rows
            .iter()
            .map(|(m, _)| m.chars().count())
            .max()
            .unwrap_or(0)
            .max("message".len());
        let _ = writeln!(out, "Each message in its languages (engagement per post)");
        let _ = write!(out, "  {:<w$}", "message");
        for n in &names {
            let _ = write!(out, "  {n:>9}");
        }
        out.push('\n');
        for (m, cells) in &rows {
            let _ = write!(out, "  {m:<w$}");
            for c in cells {
                match c {
                    Some(v) => {
                        let _ = write!(out, "  {v:>9.1}");
                    }
                    None => {
                        let _ = write!(out, "  {:>9}", "-");
                    }
                }
            }
            out.push('\n');
        }
        out.push('\n');
    }
    let _ = writeln!(out, "Top posts");
    for (i, p) in report.top.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {} [{}] on {}, {}: {} (♥ {} ⟲ {} ↩ {} ❝ {})  {}",
            i + 1,
            p.post.message_id,
            p.post.lang,
            p.post.target,
            p.post.day,
            p.total,
            p.likes,
            p.reposts,
            p.replies,
            p.quotes_or("-"),
            p.post.url.as_deref().unwrap_or(&p.post.remote_id)
        );
    }
    out.push_str(&unchecked_table(report));
    out
}

fn posts_count(n: usize) -> String {
    if n == 1 {
        "1 post".into()
    } else {
        format!("{n} posts")
    }
}

/// How many of the listed posts the table shows; CSV, JSON and the
/// workbook have them all.
const UNCHECKED_SHOWN: usize = 20;

/// The published posts without counts: how many, why, and the latest of
/// them (issue 27: a post just published is not "nothing").
pub fn unchecked_table(report: &Report) -> String {
    let mut out = String::new();
    if report.unchecked.is_empty() {
        return out;
    }
    let mut why: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &report.unchecked {
        *why.entry(u.why.as_str()).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "\nWithout counts ({} published, not in the figures above):",
        posts_count(report.unchecked.len())
    );
    for (why, n) in &why {
        let _ = writeln!(out, "  {}: {why}", posts_count(*n));
    }
    if why.contains_key("not checked yet") {
        out.push_str(
            "  (each is checked from 1 h after it goes out; `campaign-bot engagement --all` checks now)\n",
        );
    }
    let skip = report.unchecked.len().saturating_sub(UNCHECKED_SHOWN);
    if skip > 0 {
        let _ = writeln!(
            out,
            "  the latest {UNCHECKED_SHOWN} (all of them: --format csv):"
        );
    }
    let zone = report.timezone.unwrap_or(chrono_tz::UTC);
    for u in report.unchecked.iter().skip(skip) {
        let _ = writeln!(
            out,
            "  {} [{}] on {}, {}: {}  {}",
            u.post.message_id,
            u.post.lang,
            u.post.target,
            u.post
                .posted_at
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M"),
            u.why,
            u.post.url.as_deref().unwrap_or(&u.post.remote_id)
        );
    }
    out
}

/// A count that may not exist, with one decimal, or `n/a` (never 0 for
/// "not told").
pub fn or_na(v: Option<f64>, unit: &str) -> String {
    v.map(|v| format!("{v:.1}{unit}"))
        .unwrap_or_else(|| "n/a".into())
}

/// Each message across its languages (see [`side_by_side`]).
pub struct SideBySide {
    /// The languages posted, as codes, in order.
    pub langs: Vec<String>,
    /// Per message, the engagement per post in each language (`None` where
    /// it was not posted in it).
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

/// Each message across its languages: the comparison no other tool makes,
/// the same words in three languages.
pub fn side_by_side(report: &Report) -> SideBySide {
    let mut sums: BTreeMap<&str, BTreeMap<&str, (u64, u64)>> = BTreeMap::new();
    let mut langs: Vec<String> = Vec::new();
    for p in &report.posts {
        let e = sums
            .entry(&p.post.message_id)
            .or_default()
            .entry(&p.post.lang)
            .or_default();
        e.0 += 1;
        e.1 += p.total;
        if !langs.contains(&p.post.lang) {
            langs.push(p.post.lang.clone());
        }
    }
    langs.sort();
    let rows = sums
        .into_iter()
        .map(|(m, by_lang)| {
            let cells = langs
                .iter()
                .map(|l| {
                    by_lang
                        .get(l.as_str())
                        .map(|(n, total)| *total as f64 / *n as f64)
                })
                .collect();
            (m.to_string(), cells)
        })
        .collect();
    SideBySide { langs, rows }
}

/// A language code as people read it (`ar` → `Arabic`).
pub fn language_name(code: &str) -> String {
    label_of(By::Lang, code)
}

/// This period against the one before, in words and numbers (not colour).
pub fn compare(now: &Period, before: &Period) -> String {
    let way = |d: f64| {
        if d > 0.0 {
            "up"
        } else if d < 0.0 {
            "down"
        } else {
            "the same"
        }
    };
    let pct = |a: f64, b: f64| {
        if b == 0.0 {
            String::new()
        } else {
            // Whole per cents, but a small change is not shown as "+0 %".
            let p = (a - b) / b * 100.0;
            if p.abs() >= 10.0 {
                format!(" ({p:+.0} %)")
            } else {
                format!(" ({p:+.1} %)")
            }
        }
    };
    let total_change = now.total as f64 - before.total as f64;
    let avg_change = now.average - before.average;
    format!(
        "This period, {} to {}: {} posts, {} engagements, {:.1} per post\n\
         The period before, {} to {}: {} posts, {} engagements, {:.1} per post\n\
         Engagements {} by {}{}; per post {} by {:.1}{}\n",
        now.since,
        now.until,
        now.posts,
        now.total,
        now.average,
        before.since,
        before.until,
        before.posts,
        before.total,
        before.average,
        way(total_change),
        total_change.abs(),
        pct(now.total as f64, before.total as f64),
        way(avg_change),
        avg_change.abs(),
        pct(now.average, before.average),
    )
}

/// One row per post, UTF-8 (Arabic intact), quoted where needed.
pub fn csv(report: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["posted_at", "day", "target", "kind", "message_id", "lang"];
    head.extend(COUNTS);
    head.extend([
        "rate_percent",
        "followers",
        "per_1k_followers",
        "checked_at",
        "url",
        "remote_id",
        "text",
        "clicks",
        "shares",
        "saves",
    ]);
    w.write_record(head).expect("writing to memory");
    for p in &report.posts {
        w.write_record(csv_row(&p.post, Some(p)))
            .expect("writing to memory");
    }
    for u in &report.unchecked {
        w.write_record(csv_row(&u.post, None))
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("flushing memory")).expect("UTF-8 in, UTF-8 out")
}

/// A post's CSV row, in the header's order, its counts empty (never 0)
/// where it has none.
fn csv_row(post: &Posted, counts: Option<&PostRow>) -> Vec<String> {
    fn some(n: Option<u64>) -> Option<String> {
        n.map(|n| n.to_string())
    }
    fn two(r: Option<f64>) -> Option<String> {
        r.map(|r| format!("{r:.2}"))
    }
    let count = |f: fn(&PostRow) -> Option<String>| counts.and_then(f).unwrap_or_default();
    vec![
        post.posted_at.to_rfc3339(),
        post.day.to_string(),
        post.target.clone(),
        post.kind.clone(),
        post.message_id.clone(),
        post.lang.clone(),
        count(|p| Some(p.likes.to_string())),
        count(|p| Some(p.reposts.to_string())),
        count(|p| Some(p.replies.to_string())),
        count(|p| some(p.quotes)),
        count(|p| Some(p.total.to_string())),
        count(|p| some(p.views)),
        count(|p| two(p.rate)),
        count(|p| some(p.followers)),
        count(|p| two(p.per_1k_followers)),
        count(|p| Some(p.checked_at.to_rfc3339())),
        post.url.clone().unwrap_or_default(),
        post.remote_id.clone(),
        post.text.clone(),
        count(|p| some(p.clicks)),
        count(|p| some(p.shares)),
        count(|p| some(p.saves)),
    ]
}

pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report serialises")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn sample() -> Report {
        let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        let row = |target: &str,
                   m: &str,
                   lang: &str,
                   at: DateTime<Utc>,
                   likes: u64,
                   reposts: u64,
                   text: &str| PostRow {
            post: Posted {
                target: target.into(),
                kind: if target == "sky" {
                    "bluesky".into()
                } else {
                    "mastodon".into()
                },
                message_id: m.into(),
                lang: lang.into(),
                posted_at: at,
                day: at.date_naive(),
                url: Some(format!("https://example.social/@bot/{m}-{lang}")),
                remote_id: format!("{m}-{lang}"),
                text: text.into(),
            },
            hour: chrono::Timelike::hour(&at),
            weekday: chrono::Datelike::weekday(&at).to_string(),
            likes,
            reposts,
            replies: 1,
            quotes: if target == "sky" { Some(0) } else { None },
            total: likes + reposts + 1,
            views: None,
            clicks: None,
            shares: None,
            saves: None,
            rate: None,
            followers: None,
            per_1k_followers: None,
            checked_at: at + chrono::Duration::hours(24),
        };
        Report::from_posts(
            vec![
                row(
                    "masto",
                    "access-to-rights",
                    "en",
                    t(17, 8),
                    5,
                    2,
                    "Rights for all, \"everyone\".\n\n#WeTogether",
                ),
                row(
                    "sky",
                    "access-to-rights",
                    "fr",
                    t(17, 14),
                    3,
                    1,
                    "Des droits pour tous #WeTogether",
                ),
                row(
                    "masto",
                    "hubs-of-opportunity",
                    "ar",
                    t(18, 8),
                    9,
                    4,
                    "المدن مراكز للفرص #WeTogether",
                ),
            ],
            None,
            t(20, 0),
        )
    }

    #[test]
    fn table_snapshot() {
        expect_test::expect![[r#"
            By message
              message              posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              hubs-of-opportunity      1       9        4        1       0      14      14.0    14.0         n/a       n/a
              access-to-rights         2       8        3        2       0      13       6.5     6.5         n/a       n/a

            By language
              language  posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              Arabic        1       9        4        1       0      14      14.0    14.0         n/a       n/a
              English       1       5        2        1       0       8       8.0     8.0         n/a       n/a
              French        1       3        1        1       0       5       5.0     5.0         n/a       n/a

            By target
              target  posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              masto       2      14        6        2       0      22      11.0    11.0         n/a       n/a
              sky         1       3        1        1       0       5       5.0     5.0         n/a       n/a

            By day
              day         posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              2026-12-17      2       8        3        2       0      13       6.5     6.5         n/a       n/a
              2026-12-18      1       9        4        1       0      14      14.0    14.0         n/a       n/a

            By weekday
              weekday  posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              Thu          2       8        3        2       0      13       6.5     6.5         n/a       n/a
              Fri          1       9        4        1       0      14      14.0    14.0         n/a       n/a

            By hour
              hour  posts   likes  reposts  replies  quotes   total  per post  median  per 1k fol  per view
              08        2      14        6        2       0      22      11.0    11.0         n/a       n/a
              14        1       3        1        1       0       5       5.0     5.0         n/a       n/a

            per post: likes + reposts + replies + quotes, per post
            per 1k fol: the same per 1,000 followers the target had when it posted
            per view: the same per impression, where the network counts them
            n/a: not known (never shown as 0)

            Each message in its languages (engagement per post)
              message                 Arabic    English     French
              access-to-rights             -        8.0        5.0
              hubs-of-opportunity       14.0          -          -

            Top posts
              1. hubs-of-opportunity [ar] on masto, 2026-12-18: 14 (♥ 9 ⟲ 4 ↩ 1 ❝ -)  https://example.social/@bot/hubs-of-opportunity-ar
              2. access-to-rights [en] on masto, 2026-12-17: 8 (♥ 5 ⟲ 2 ↩ 1 ❝ -)  https://example.social/@bot/access-to-rights-en
              3. access-to-rights [fr] on sky, 2026-12-17: 5 (♥ 3 ⟲ 1 ↩ 1 ❝ 0)  https://example.social/@bot/access-to-rights-fr
        "#]]
        .assert_eq(&table(&sample(), None));
    }

    #[test]
    fn csv_snapshot_keeps_arabic_and_quotes_newlines() {
        expect_test::expect![[r#"
            posted_at,day,target,kind,message_id,lang,likes,reposts,replies,quotes,total,views,rate_percent,followers,per_1k_followers,checked_at,url,remote_id,text,clicks,shares,saves
            2026-12-17T08:00:00+00:00,2026-12-17,masto,mastodon,access-to-rights,en,5,2,1,,8,,,,,2026-12-18T08:00:00+00:00,https://example.social/@bot/access-to-rights-en,access-to-rights-en,"Rights for all, ""everyone"".

            #WeTogether",,,
            2026-12-17T14:00:00+00:00,2026-12-17,sky,bluesky,access-to-rights,fr,3,1,1,0,5,,,,,2026-12-18T14:00:00+00:00,https://example.social/@bot/access-to-rights-fr,access-to-rights-fr,Des droits pour tous #WeTogether,,,
            2026-12-18T08:00:00+00:00,2026-12-18,masto,mastodon,hubs-of-opportunity,ar,9,4,1,,14,,,,,2026-12-19T08:00:00+00:00,https://example.social/@bot/hubs-of-opportunity-ar,hubs-of-opportunity-ar,المدن مراكز للفرص #WeTogether,,,
        "#]]
        .assert_eq(&csv(&sample()));
    }

    #[test]
    fn a_post_without_counts_has_empty_count_cells_in_csv_never_0() {
        let mut r = sample();
        r.posts.clear();
        r.unchecked.push(Unchecked {
            post: Posted {
                target: "sky".into(),
                kind: "bluesky".into(),
                message_id: "access-to-rights".into(),
                lang: "ar".into(),
                posted_at: Utc.with_ymd_and_hms(2026, 12, 18, 8, 0, 0).unwrap(),
                day: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
                url: Some("https://example.social/p/1".into()),
                remote_id: "at://p/1".into(),
                text: "حقوق للجميع".into(),
            },
            why: "not checked yet".into(),
        });
        let out = csv(&r);
        let row = out.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "2026-12-18T08:00:00+00:00,2026-12-18,sky,bluesky,access-to-rights,ar,,,,,,,,,,,https://example.social/p/1,at://p/1,حقوق للجميع,,,"
        );
    }

    #[test]
    fn a_period_is_compared_with_the_one_of_the_same_length_before_it() {
        let posts = sample().posts;
        let row = |day: u32, total: u64| {
            let mut p = posts[0].clone();
            p.post.day = NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
            p.total = total;
            p
        };
        // 1-3 December: totals 1, 2, 100; 4-6 December: 4 and 6.
        let all = vec![row(1, 1), row(2, 2), row(3, 100), row(4, 4), row(6, 6)];
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day);
        let now = Utc::now();
        let r = Report::for_period(all, d(4), d(6), d(20).unwrap(), now);
        assert_eq!(r.posts.len(), 2, "only the period's posts");
        let (this, before) = (r.period.clone().unwrap(), r.previous.clone().unwrap());
        assert_eq!(
            (this.since, this.until, this.posts, this.total),
            (d(4).unwrap(), d(6).unwrap(), 2, 10)
        );
        assert_eq!(
            (before.since, before.until, before.posts, before.total),
            (d(1).unwrap(), d(3).unwrap(), 3, 103)
        );
        let said = compare(&this, &before);
        assert!(said.contains("Engagements down by 93 (-90 %)"), "{said}");
        assert!(said.contains("per post down by 29.3"), "{said}");
        assert!(table(&r, None).starts_with("This period, 2026-12-04 to 2026-12-06: 2 posts"));
        // The median is the middle post: one viral post does not move it.
        let earlier = Report::for_period(r.posts.clone(), None, None, d(20).unwrap(), now);
        assert!(earlier.period.is_none(), "no period without --since");
        let mut three = vec![1, 100, 2];
        assert_eq!(median(&mut three), 2.0);
        assert_eq!(median(&mut [4, 6]), 5.0);
    }

    #[test]
    fn json_snapshot_of_the_groups() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap();
        expect_test::expect![[r#"[{"average":14.0,"key":"ar","likes":9,"median":14.0,"per_1k_followers":null,"posts":1,"quotes":0,"rate":null,"replies":1,"reposts":4,"total":14},{"average":8.0,"key":"en","likes":5,"median":8.0,"per_1k_followers":null,"posts":1,"quotes":0,"rate":null,"replies":1,"reposts":2,"total":8},{"average":5.0,"key":"fr","likes":3,"median":5.0,"per_1k_followers":null,"posts":1,"quotes":0,"rate":null,"replies":1,"reposts":1,"total":5}]"#]]
            .assert_eq(&v["by_lang"].to_string());
        assert_eq!(v["posts"].as_array().unwrap().len(), 3);
        assert_eq!(v["top"][0]["message_id"], "hubs-of-opportunity");
    }
}
