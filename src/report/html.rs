//! The report as one self-contained HTML file: inline SVG charts of the
//! engagement per post (by language, by message in each language, by
//! network, by weekday, by hour and by day), each with its table under it
//! for screen readers, and the top posts with their text, Arabic right to
//! left. No scripts, fonts or style sheets from elsewhere: it opens offline
//! and prints on A4. The only addresses in it are the links to the posts.
//!
//! The charts are drawn here, not with a plotting crate: without a font
//! back-end plotters cannot measure text, so it cannot keep labels apart;
//! here every label has a row or a slot of its own, wide enough for it.

use std::fmt::Write as _;

use super::{By, GROUP_COLUMNS, Group, Report};
use crate::model::Lang;

/// The drawing's width in SVG units; the page scales it to fit.
const WIDTH: f64 = 760.0;
/// Where bars start, after the labels of a horizontal bar chart.
const LABEL_W: f64 = 210.0;
/// Room kept right of the longest bar for its value.
const VALUE_W: f64 = 70.0;
const ROW: f64 = 26.0;
const BAR: f64 = 18.0;
/// Colours that colour-blind readers tell apart (Okabe and Ito), the
/// campaign's three languages first; colour is never the only carrier:
/// every bar is named in words too.
const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
];
const NEUTRAL: &str = "#0e3b5c";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Each language's colour, the same in every chart and list: English,
/// French and Arabic keep theirs whatever else was posted.
struct Colours(Vec<String>);

impl Colours {
    fn new(report: &Report) -> Colours {
        let mut langs: Vec<String> = ["en", "fr", "ar"].map(String::from).to_vec();
        for g in &report.by_lang {
            if !langs.contains(&g.key) {
                langs.push(g.key.clone());
            }
        }
        Colours(langs)
    }
    fn of(&self, lang: &str) -> &'static str {
        let i = self.0.iter().position(|l| l == lang).unwrap_or(usize::MAX);
        PALETTE
            .get(i)
            .copied()
            .unwrap_or(PALETTE[PALETTE.len() - 1])
    }
}

/// A label cut to fit its room (the whole of it in the bar's tooltip).
fn fit(label: &str, chars: usize) -> String {
    if label.chars().count() <= chars {
        label.to_string()
    } else {
        let cut: String = label.chars().take(chars - 1).collect();
        format!("{cut}…")
    }
}

/// One row of a horizontal bar chart.
struct Row {
    /// `None`: a heading row (a message above its languages).
    value: Option<f64>,
    label: String,
    colour: &'static str,
}

/// A horizontal bar chart of values per post, one row each, labelled on
/// the left and valued at the bar's end.
fn hbars(id: &str, rows: &[Row]) -> String {
    let max = rows
        .iter()
        .filter_map(|r| r.value)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    let span = WIDTH - LABEL_W - VALUE_W;
    let mut svg = open_svg(id, height);
    let _ = write!(
        svg,
        "<line x1=\"{LABEL_W}\" y1=\"4\" x2=\"{LABEL_W}\" y2=\"{}\" stroke=\"#888\"/>",
        height - 4.0
    );
    for (i, r) in rows.iter().enumerate() {
        let top = 4.0 + ROW * i as f64;
        let mid = top + ROW / 2.0;
        match r.value {
            None => {
                let _ = write!(
                    svg,
                    "<text x=\"0\" y=\"{mid:.1}\" class=\"head\">{}</text>",
                    escape(&fit(&r.label, 60))
                );
            }
            Some(v) => {
                let w = (v / max * span).max(if v > 0.0 { 1.0 } else { 0.0 });
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{mid:.1}\" text-anchor=\"end\">{}</text>\
                     <rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\"><title>{}: {v:.1}</title></rect>\
                     <text x=\"{:.1}\" y=\"{mid:.1}\" class=\"value\">{v:.1}</text>",
                    LABEL_W - 8.0,
                    escape(&fit(&r.label, 28)),
                    top + (ROW - BAR) / 2.0,
                    r.colour,
                    escape(&r.label),
                    LABEL_W + w + 6.0,
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A round step for an axis reaching `max` in about four steps.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 4.0).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// A column chart of values per post along an ordered axis (days, hours,
/// weekdays): a y axis of round numbers, and as many x labels as fit.
fn columns(id: &str, points: &[(String, f64)]) -> String {
    const HEIGHT: f64 = 250.0;
    const LEFT: f64 = 56.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 208.0;
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let step = nice_step(if max > 0.0 { max } else { 1.0 });
    let top_value = (max / step).ceil().max(1.0) * step;
    let y = |v: f64| BOTTOM - v / top_value * (BOTTOM - TOP);
    let mut svg = open_svg(id, HEIGHT);
    let mut tick = 0.0;
    while tick <= top_value + step / 2.0 {
        let ty = y(tick);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{ty:.1}\" x2=\"{:.1}\" y2=\"{ty:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            if step < 1.0 {
                format!("{tick:.1}")
            } else {
                format!("{tick:.0}")
            }
        );
        tick += step;
    }
    let n = points.len().max(1);
    let slot = (WIDTH - LEFT - RIGHT) / n as f64;
    let bar = (slot * 0.7).min(48.0);
    // Labels about 56 units apart at least ("18 Dec" is about 40 wide).
    let every = (56.0 / slot).ceil().max(1.0) as usize;
    for (i, (label, v)) in points.iter().enumerate() {
        let cx = LEFT + slot * (i as f64 + 0.5);
        let top = y(*v);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{NEUTRAL}\"><title>{}: {v:.1}</title></rect>",
            cx - bar / 2.0,
            BOTTOM - top,
            escape(label)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"tick\">{}</text>",
                BOTTOM + 18.0,
                escape(label)
            );
        }
        // The value over its column where the columns are wide enough.
        if slot >= 40.0 {
            let _ = write!(
                svg,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"value\">{v:.1}</text>",
                top - 8.0
            );
        }
    }
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{:.1}\" y2=\"{BOTTOM}\" stroke=\"#888\"/></svg>",
        WIDTH - RIGHT
    );
    svg
}

fn open_svg(id: &str, height: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height:.0}\" width=\"{WIDTH}\" height=\"{height:.0}\" role=\"img\" aria-labelledby=\"{id}\" class=\"chart\">"
    )
}

/// A chart, its caption and its table.
fn figure(out: &mut String, id: &str, caption: &str, svg: &str, table: &str) {
    let _ = write!(
        out,
        "<figure><figcaption id=\"{id}\">{}</figcaption>{svg}{table}</figure>",
        escape(caption)
    );
}

fn group_table(by: By, groups: &[Group]) -> String {
    let mut t = format!("<table><thead><tr><th scope=\"col\">{}</th>", by.label());
    for c in &GROUP_COLUMNS {
        let _ = write!(t, "<th scope=\"col\">{}</th>", c.headings[1]);
    }
    t.push_str("</tr></thead><tbody>");
    for g in groups {
        let _ = write!(t, "<tr><th scope=\"row\">{}</th>", escape(&g.label));
        for c in &GROUP_COLUMNS {
            let _ = write!(t, "<td>{}</td>", (c.figure)(g).shown());
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// A group's points for a column chart: days as `18 Dec`, hours as `09h`.
fn points(by: By, groups: &[Group]) -> Vec<(String, f64)> {
    groups
        .iter()
        .map(|g| {
            let label = match by {
                By::Day => g
                    .key
                    .parse::<chrono::NaiveDate>()
                    .map(|d| d.format("%-d %b").to_string())
                    .unwrap_or_else(|_| g.key.clone()),
                By::Hour => format!("{}h", g.key),
                _ => g.label.clone(),
            };
            (label, g.average)
        })
        .collect()
}

/// A post's text, a block per line, each line finding its own direction:
/// in an Arabic post the line of Latin hashtags reads left to right
/// (`#WeTogether`, not `WeTogether#`), as it does on the networks.
fn lines(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim().is_empty() {
                "<br>".to_string()
            } else {
                format!("<span dir=\"auto\">{}</span>", escape(l))
            }
        })
        .collect()
}

/// The charts and their tables.
fn charts(body: &mut String, report: &Report, colours: &Colours) {
    // A bar a group, its engagement per post, and the group's table.
    let bars = |body: &mut String,
                by: By,
                id: &str,
                caption: &str,
                colour: &dyn Fn(&Group) -> &'static str| {
        let groups = report.groups(by);
        let rows: Vec<Row> = groups
            .iter()
            .map(|g| Row {
                value: Some(g.average),
                label: g.label.clone(),
                colour: colour(g),
            })
            .collect();
        figure(
            body,
            id,
            caption,
            &hbars(id, &rows),
            &group_table(by, groups),
        );
    };
    bars(
        body,
        By::Lang,
        "chart-lang",
        "Engagement per post, by language",
        &|g| colours.of(&g.key),
    );

    // Each message, then its languages under it: the same words compared.
    let super::SideBySide {
        langs,
        rows: messages,
    } = super::side_by_side(report);
    let mut rows = Vec::new();
    for (m, cells) in &messages {
        rows.push(Row {
            value: None,
            label: m.clone(),
            colour: NEUTRAL,
        });
        for (l, c) in langs.iter().zip(cells) {
            if let Some(v) = c {
                rows.push(Row {
                    value: Some(*v),
                    label: super::language_name(l),
                    colour: colours.of(l),
                });
            }
        }
    }
    let mut table = String::from("<table><thead><tr><th scope=\"col\">message</th>");
    for l in &langs {
        let _ = write!(
            table,
            "<th scope=\"col\">{}</th>",
            escape(&super::language_name(l))
        );
    }
    table.push_str("</tr></thead><tbody>");
    for (m, cells) in &messages {
        let _ = write!(table, "<tr><th scope=\"row\">{}</th>", escape(m));
        for c in cells {
            match c {
                Some(v) => {
                    let _ = write!(table, "<td>{v:.1}</td>");
                }
                None => table.push_str("<td>–</td>"),
            }
        }
        table.push_str("</tr>");
    }
    table.push_str("</tbody></table>");
    figure(
        body,
        "chart-message",
        "Engagement per post, by message in each language",
        &hbars("chart-message", &rows),
        &table,
    );

    bars(
        body,
        By::Target,
        "chart-target",
        "Engagement per post, by target",
        &|_| NEUTRAL,
    );

    for (by, id, caption) in [
        (
            By::Weekday,
            "chart-weekday",
            "Engagement per post, by weekday posted (campaign time)",
        ),
        (
            By::Hour,
            "chart-hour",
            "Engagement per post, by hour posted (campaign time)",
        ),
        (By::Day, "chart-day", "Engagement per post, by day posted"),
    ] {
        let groups = report.groups(by);
        figure(
            body,
            id,
            caption,
            &columns(id, &points(by, groups)),
            &group_table(by, groups),
        );
    }
}

/// A note for each target whose posts are never counted, and why.
fn not_counted(body: &mut String, report: &Report) {
    for n in &report.not_counted {
        let _ = write!(
            body,
            "<p class=\"note\">Not counted: {}: {}.</p>",
            escape(&n.target),
            escape(&n.why)
        );
    }
}

/// The published posts without counts, as a table (issue 27).
fn unchecked_section(body: &mut String, report: &Report) {
    if report.unchecked.is_empty() {
        return;
    }
    let zone = report.timezone.unwrap_or(chrono_tz::UTC);
    let _ = write!(
        body,
        "<h2 id=\"unchecked\">Without counts</h2><p>{} published, not in the figures above. Each post is checked from 1 h after it goes out; an outbox is never counted.</p><table><caption>Posts without counts</caption><thead><tr><th scope=\"col\">posted</th><th scope=\"col\">message</th><th scope=\"col\">language</th><th scope=\"col\">target</th><th scope=\"col\">why</th></tr></thead><tbody>",
        report.unchecked.len()
    );
    for u in &report.unchecked {
        let target = match &u.post.url {
            Some(url) if url.starts_with("http") => {
                format!("<a href=\"{}\">{}</a>", escape(url), escape(&u.post.target))
            }
            _ => escape(&u.post.target),
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            u.post
                .posted_at
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M"),
            escape(&u.post.message_id),
            escape(&super::language_name(&u.post.lang)),
            target,
            escape(&u.why)
        );
    }
    body.push_str("</tbody></table>");
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut body = String::new();
    let colours = Colours::new(report);
    if report.posts.is_empty() {
        // What the terminal says (issue 32): nothing posted, or posts not
        // checked yet, and the networks that are never counted.
        if report.unchecked.is_empty() {
            let _ = write!(
                body,
                "<p class=\"summary\">Nothing posted yet. How each post on {} does is checked from 1 h after it goes out.</p>",
                escape(&crate::publish::registry::collecting_networks())
            );
        } else {
            let _ = write!(
                body,
                "<p class=\"summary\">No engagement counted yet: {} published, listed below.</p>",
                report.unchecked.len()
            );
        }
        not_counted(&mut body, report);
    } else {
        let total: u64 = report.posts.iter().map(|p| p.total).sum();
        let _ = write!(
            body,
            "<p class=\"summary\">{} posts, {} interactions in all ({:.1} per post). \
             Charts show engagement per post (likes, reposts, replies and quotes), \
             so that what was posted more often does not look better for it.</p>",
            report.posts.len(),
            total,
            total as f64 / report.posts.len() as f64
        );
        if let (Some(now), Some(before)) = (&report.period, &report.previous) {
            let _ = write!(
                body,
                "<p class=\"compare\">{}</p>",
                escape(&super::compare(now, before)).replace('\n', "<br>")
            );
        }
        not_counted(&mut body, report);
        if !report.audience.is_empty() {
            body.push_str("<table><caption>Audience (followers, daily counts)</caption><thead><tr><th scope=\"col\">target</th><th scope=\"col\">first</th><th scope=\"col\">last</th><th scope=\"col\">change</th></tr></thead><tbody>");
            for a in &report.audience {
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\">{}</th><td>{} ({})</td><td>{} ({})</td><td>{:+}</td></tr>",
                    escape(&a.target),
                    a.first,
                    a.first_day,
                    a.last,
                    a.last_day,
                    a.change
                );
            }
            body.push_str("</tbody></table>");
        }
        charts(&mut body, report, &colours);
        body.push_str("<h2>Top posts</h2><ol class=\"top\">");
        for p in &report.top {
            let rtl = Lang::new(&p.post.lang).is_ok_and(|l| l.is_rtl());
            let link = match &p.post.url {
                Some(u) => format!("<a href=\"{}\">{}</a>", escape(u), escape(&p.post.target)),
                None => escape(&p.post.target),
            };
            let _ = write!(
                body,
                "<li><p class=\"meta\"><span class=\"lang\" style=\"border-color:{}\">{}</span> {} on {}, {} {:02}h: <strong>{}</strong> (likes {} · reposts {} · replies {} · quotes {}{})</p><p class=\"text\" lang=\"{}\" dir=\"{}\">{}</p></li>",
                colours.of(&p.post.lang),
                escape(&super::language_name(&p.post.lang)),
                escape(&p.post.message_id),
                link,
                p.post.day,
                p.hour,
                p.total,
                p.likes,
                p.reposts,
                p.replies,
                p.quotes_or("n/a"),
                p.per_1k_followers
                    .map(|v| format!(" · {v:.1} per 1,000 followers"))
                    .unwrap_or_default(),
                escape(&p.post.lang),
                if rtl { "rtl" } else { "ltr" },
                lines(&p.post.text)
            );
        }
        body.push_str("</ol>");
    }
    unchecked_section(&mut body, report);
    let zone = report.timezone.unwrap_or(chrono_tz::UTC);
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>#WeTogether #Cities4Migration: engagement report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 800px; margin: 2em auto; padding: 0 1em; color: #1a1a1a; }}
h1 {{ color: #0e3b5c; }}
figure {{ margin: 2em 0; }}
figcaption {{ font-weight: bold; font-size: 1.1em; margin-bottom: .4em; }}
svg.chart {{ display: block; width: 100%; height: auto; font-family: system-ui, sans-serif; font-size: 13px; }}
svg.chart text {{ dominant-baseline: central; fill: #1a1a1a; }}
svg.chart .head {{ font-weight: bold; }}
svg.chart .tick {{ font-size: 12px; fill: #444; }}
svg.chart .value {{ font-size: 12px; }}
table {{ border-collapse: collapse; margin: .8em 0; width: 100%; font-size: .9em; }}
caption {{ text-align: left; font-weight: bold; padding: .3em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .25em .4em; text-align: right; }}
th:first-child {{ text-align: left; font-weight: normal; white-space: nowrap; }}
thead th {{ font-weight: bold; }}
.text {{ background: #f4f7fa; padding: .5em .8em; border-radius: 4px; }}
.text span {{ display: block; }}
.text[dir=rtl] span {{ text-align: right; }}
.meta {{ margin-bottom: .2em; }}
.lang {{ border-left: 8px solid; padding-left: .3em; font-weight: bold; }}
@page {{ size: A4; margin: 14mm; }}
@media print {{
  body {{ max-width: none; margin: 0; padding: 0; font-size: 10pt; }}
  figure, table, li {{ break-inside: avoid; }}
  a {{ color: inherit; }}
}}
</style>
</head>
<body>
<h1>#WeTogether #Cities4Migration: what worked</h1>
<p>Report generated {}{}{}. Counts are the latest check of each post; days and hours are in the campaign's time zone ({}).</p>
{}
</body>
</html>
",
        report
            .generated_at
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M"),
        report.since.map(|d| format!(", posts since {d}")).unwrap_or_default(),
        report.until.map(|d| format!(" until {d}")).unwrap_or_default(),
        zone.name(),
        body
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_contained_with_six_charts_each_with_its_table_and_rtl_arabic() {
        let html = render(&crate::report::tests::sample());
        assert_eq!(html.matches("<svg").count(), 6);
        assert_eq!(html.matches("<figure>").count(), 6);
        for id in [
            "chart-lang",
            "chart-message",
            "chart-target",
            "chart-weekday",
            "chart-hour",
            "chart-day",
        ] {
            let at = html.find(&format!("aria-labelledby=\"{id}\"")).unwrap();
            let end = at + html[at..].find("</figure>").unwrap();
            assert!(html[at..end].contains("<table>"), "{id} has its table");
        }
        assert!(html.contains(">Arabic</text>") && html.contains(">hubs-of-opportunity</text>"));
        assert!(
            html.contains("dir=\"rtl\"><span dir=\"auto\">المدن مراكز للفرص #WeTogether</span>")
        );
        // No external resource: the only addresses are links to posts.
        for (i, _) in html.match_indices("http") {
            let before = &html[..i];
            assert!(
                before.ends_with("href=\"") || before.ends_with("xmlns=\""),
                "unexpected address at {}",
                &html[i.saturating_sub(30)..(i + 60).min(html.len())]
            );
        }
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("@import"));
    }

    // Issue 32, item 6 and issue 27: an empty page said posts are checked
    // an hour after they go out (an outbox never is), gave its time in UTC
    // while saying hours are in the campaign's zone, and hid posts not
    // checked yet.
    #[test]
    fn posts_without_counts_are_listed_and_times_are_in_the_campaigns_zone() {
        use chrono::{TimeZone, Utc};
        let now = Utc.with_ymd_and_hms(2026, 12, 18, 8, 30, 0).unwrap();
        let mut report = Report::from_posts(Vec::new(), None, now);
        report.timezone = Some(chrono_tz::Europe::Brussels);
        report.unchecked.push(crate::report::Unchecked {
            post: crate::report::Posted {
                target: "sky".into(),
                kind: "bluesky".into(),
                message_id: "living-together".into(),
                lang: "ar".into(),
                posted_at: now,
                day: now.date_naive(),
                url: Some("https://bsky.app/profile/x/post/1".into()),
                remote_id: "at://x/1".into(),
                text: "…".into(),
            },
            why: "not checked yet".into(),
        });
        let html = render(&report);
        assert!(html.contains("Report generated 2026-12-18 09:30"), "{html}");
        assert!(html.contains("(Europe/Brussels)"));
        assert!(html.contains("No engagement counted yet: 1 published"));
        assert!(html.contains(
            "<th scope=\"row\">2026-12-18 09:30</th><td>living-together</td><td>Arabic</td>"
        ));
        assert!(html.contains(">not checked yet</td>"));
        assert!(!html.contains("posts are checked one hour after they go out"));
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(1.0), 0.25);
        assert_eq!(nice_step(14.0), 5.0);
        assert_eq!(nice_step(100.0), 25.0);
        assert_eq!(nice_step(3300.0), 1000.0);
    }

    #[test]
    fn languages_keep_their_colours() {
        let c = Colours::new(&crate::report::tests::sample());
        assert_eq!(c.of("en"), PALETTE[0]);
        assert_eq!(c.of("ar"), PALETTE[2]);
        assert_ne!(c.of("de"), c.of("en"));
    }
}
