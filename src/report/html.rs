//! The report as one self-contained HTML file: inline SVG charts drawn with
//! plotters (engagement by language, by message, and over time), tables, and
//! the top posts with their text, Arabic right to left. No scripts, fonts or
//! style sheets from elsewhere: it opens offline. The only addresses in it
//! are the links to the posts themselves.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::{By, Group, Report};
use crate::model::Lang;

const WIDTH: u32 = 760;
const BLUE: RGBColor = RGBColor(14, 59, 92);
const GOLD: RGBColor = RGBColor(242, 169, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A horizontal bar chart of the groups' totals.
fn bars(title: &str, groups: &[Group], colour: RGBColor) -> String {
    let mut svg = String::new();
    let height = 80 + 34 * groups.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = groups.iter().map(|g| g.total).max().unwrap_or(0).max(1);
        let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
        let n = groups.len().max(1);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(220)
            .build_cartesian_2d(0u64..max + max / 10 + 1, (0..n).into_segmented());
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_style(("sans-serif", 15))
            .x_label_style(("sans-serif", 13))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc("likes + reposts + replies + quotes")
            .draw();
        let _ = chart.draw_series(groups.iter().enumerate().map(|(i, g)| {
            let mut bar = Rectangle::new(
                [
                    (0, SegmentValue::Exact(i)),
                    (g.total, SegmentValue::Exact(i + 1)),
                ],
                colour.filled(),
            );
            bar.set_margin(5, 5, 0, 0);
            bar
        }));
        let _ = root.present();
    }
    svg
}

/// Total engagement per day, as a line.
fn over_time(groups: &[Group]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let max = groups.iter().map(|g| g.total).max().unwrap_or(0).max(1);
        let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
        let n = groups.len().max(1);
        let chart = ChartBuilder::on(&root)
            .caption("Engagement by day posted", ("sans-serif", 20))
            .margin(12)
            .margin_right(48)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0..n.saturating_sub(1).max(1), 0u64..max + max / 10 + 1);
        let Ok(mut chart) = chart else {
            return String::new();
        };
        let _ = chart
            .configure_mesh()
            .x_labels(n.min(12))
            .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .y_desc("engagement")
            .draw();
        let points: Vec<(usize, u64)> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.total))
            .collect();
        let _ = chart.draw_series(LineSeries::new(points.clone(), GREEN.stroke_width(3)));
        let _ = chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 5, GREEN.filled())),
        );
        let _ = root.present();
    }
    svg
}

fn group_table(by: By, groups: &[Group]) -> String {
    let mut t = format!(
        "<table><caption>By {}</caption><tr><th>{}</th><th>posts</th><th>likes</th><th>reposts</th><th>replies</th><th>quotes</th><th>total</th><th>per post</th><th>median</th></tr>",
        by.label(),
        by.label()
    );
    for g in groups {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            escape(&g.label),
            g.posts,
            g.likes,
            g.reposts,
            g.replies,
            g.quotes,
            g.total,
            g.average,
            g.median
        );
    }
    t.push_str("</table>");
    t
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

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut body = String::new();
    if report.posts.is_empty() {
        body.push_str(
            "<p>No engagement recorded yet: posts are checked one hour after they go out.</p>",
        );
    } else {
        let total: u64 = report.posts.iter().map(|p| p.total).sum();
        let _ = write!(
            body,
            "<p class=\"summary\">{} posts, {} interactions in all ({:.1} per post).</p>",
            report.posts.len(),
            total,
            total as f64 / report.posts.len() as f64
        );
        let _ = write!(
            body,
            "<figure>{}</figure>",
            bars("Engagement by language", &report.by_lang, BLUE)
        );
        let _ = write!(
            body,
            "<figure>{}</figure>",
            bars("Engagement by message", &report.by_message, GOLD)
        );
        let _ = write!(body, "<figure>{}</figure>", over_time(&report.by_day));
        body.push_str("<h2>Top posts</h2><ol class=\"top\">");
        for p in &report.top {
            let rtl = Lang::new(&p.lang).is_ok_and(|l| l.is_rtl());
            let link = match &p.url {
                Some(u) => format!("<a href=\"{}\">{}</a>", escape(u), escape(&p.target)),
                None => escape(&p.target),
            };
            let _ = write!(
                body,
                "<li><p class=\"meta\">{} [{}] on {}, {}: <strong>{}</strong> (♥ {} · reposts {} · replies {} · quotes {})</p><p class=\"text\" lang=\"{}\" dir=\"{}\">{}</p></li>",
                escape(&p.message_id),
                escape(&p.lang),
                link,
                p.day,
                p.total,
                p.likes,
                p.reposts,
                p.replies,
                p.quotes
                    .map(|q| q.to_string())
                    .unwrap_or_else(|| "–".into()),
                escape(&p.lang),
                if rtl { "rtl" } else { "ltr" },
                lines(&p.text)
            );
        }
        body.push_str("</ol><h2>Tables</h2>");
        if !report.audience.is_empty() {
            body.push_str("<table><caption>Audience (followers, daily counts)</caption><tr><th>target</th><th>first</th><th>last</th><th>change</th></tr>");
            for a in &report.audience {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{:+}</td></tr>",
                    escape(&a.target),
                    a.first,
                    a.first_day,
                    a.last,
                    a.last_day,
                    a.change
                );
            }
            body.push_str("</table>");
        }
        let super::SideBySide { langs, rows } = super::side_by_side(report);
        body.push_str("<table><caption>Each message in its languages (engagement per post)</caption><tr><th>message</th>");
        for l in &langs {
            let _ = write!(body, "<th>{}</th>", escape(&super::language_name(l)));
        }
        body.push_str("</tr>");
        for (m, cells) in &rows {
            let _ = write!(body, "<tr><td>{}</td>", escape(m));
            for c in cells {
                match c {
                    Some(v) => {
                        let _ = write!(body, "<td>{v:.1}</td>");
                    }
                    None => body.push_str("<td>–</td>"),
                }
            }
            body.push_str("</tr>");
        }
        body.push_str("</table>");
        for by in By::ALL {
            body.push_str(&group_table(by, report.groups(by)));
        }
    }
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
figure {{ margin: 1.5em 0; }}
figure svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin: 1em 0; width: 100%; }}
caption {{ text-align: left; font-weight: bold; padding: .3em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.text {{ background: #f4f7fa; padding: .5em .8em; border-radius: 4px; }}
.text span {{ display: block; }}
.text[dir=rtl] span {{ text-align: right; }}
.meta {{ margin-bottom: .2em; }}
</style>
</head>
<body>
<h1>#WeTogether #Cities4Migration: what worked</h1>
<p>Report generated {}{}{}. Counts are the latest check of each post.</p>
{}{}
</body>
</html>
",
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
        report.since.map(|d| format!(", posts since {d}")).unwrap_or_default(),
        report.until.map(|d| format!(" until {d}")).unwrap_or_default(),
        match (&report.period, &report.previous) {
            (Some(now), Some(before)) => format!(
                "<p class=\"compare\">{}</p>\n",
                escape(&super::compare(now, before)).replace('\n', "<br>")
            ),
            _ => String::new(),
        },
        body
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_contained_with_three_charts_and_rtl_arabic() {
        let html = render(&crate::report::tests::sample());
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(
            html.contains("Engagement by language")
                && html.contains("Engagement by message")
                && html.contains("Engagement by day")
        );
        assert!(
            html.contains("dir=\"rtl\"><span dir=\"auto\">المدن مراكز للفرص #WeTogether</span>")
        );
        // No external resource: the only addresses are links to posts.
        for (i, _) in html.match_indices("http") {
            let before = &html[..i];
            assert!(
                before.ends_with("href=\"")
                    || before.ends_with("xmlns=\"")
                    || before.ends_with("xmlns:xlink=\""),
                "unexpected address at {}",
                &html[i.saturating_sub(30)..(i + 60).min(html.len())]
            );
        }
        assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("@import"));
    }
}
