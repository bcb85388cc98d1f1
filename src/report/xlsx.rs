//! `report --xlsx FILE`: the report as an Excel workbook for the comms
//! team: a sheet of posts and a sheet per view (message, language, target,
//! day, weekday, hour, and the period against the one before it), with
//! numbers as numbers, dates as dates (local days; times in UTC, as in the
//! CSV) and Arabic intact.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{By, COUNTS, Figure, GROUP_COLUMNS, Group, Report};

/// Writes the workbook to `path`.
pub fn write(report: &Report, path: &Path) -> Result<(), XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let one_decimal = Format::new().set_num_format("0.0");
    let two_decimals = Format::new().set_num_format("0.00");

    let sheet = book.add_worksheet().set_name("Posts")?;
    let mut head = vec![
        "posted at (UTC)",
        "day",
        "weekday",
        "hour",
        "target",
        "network",
        "message",
        "language",
    ];
    head.extend(COUNTS);
    head.extend([
        "rate (%)",
        "followers",
        "per 1k followers",
        "checked at (UTC)",
        "link",
        "text",
        "clicks",
        "shares",
        "saves",
    ]);
    header(sheet, &head, &bold)?;
    for (i, p) in report.posts.iter().enumerate() {
        let r = i as u32 + 1;
        sheet.write_datetime_with_format(r, 0, p.post.posted_at.naive_utc(), &time)?;
        sheet.write_datetime_with_format(r, 1, p.post.day, &day)?;
        sheet.write_string(r, 2, &p.weekday)?;
        sheet.write_number(r, 3, p.hour)?;
        sheet.write_string(r, 4, &p.post.target)?;
        sheet.write_string(r, 5, &p.post.kind)?;
        sheet.write_string(r, 6, &p.post.message_id)?;
        sheet.write_string(r, 7, &p.post.lang)?;
        sheet.write_number(r, 8, p.likes as f64)?;
        sheet.write_number(r, 9, p.reposts as f64)?;
        sheet.write_number(r, 10, p.replies as f64)?;
        if let Some(q) = p.quotes {
            sheet.write_number(r, 11, q as f64)?;
        }
        sheet.write_number(r, 12, p.total as f64)?;
        // Left empty where the network does not tell: never 0.
        if let Some(v) = p.views {
            sheet.write_number(r, 13, v as f64)?;
        }
        if let Some(v) = p.rate {
            sheet.write_number_with_format(r, 14, v, &two_decimals)?;
        }
        if let Some(v) = p.followers {
            sheet.write_number(r, 15, v as f64)?;
        }
        if let Some(v) = p.per_1k_followers {
            sheet.write_number_with_format(r, 16, v, &two_decimals)?;
        }
        sheet.write_datetime_with_format(r, 17, p.checked_at.naive_utc(), &time)?;
        if let Some(url) = &p.post.url {
            sheet.write_string(r, 18, url)?;
        }
        sheet.write_string(r, 19, &p.post.text)?;
        if let Some(v) = p.clicks {
            sheet.write_number(r, 20, v as f64)?;
        }
        if let Some(v) = p.shares {
            sheet.write_number(r, 21, v as f64)?;
        }
        if let Some(v) = p.saves {
            sheet.write_number(r, 22, v as f64)?;
        }
    }
    // Posts without counts: listed, their counts left empty (never 0).
    for (i, u) in report.unchecked.iter().enumerate() {
        let r = (report.posts.len() + i) as u32 + 1;
        let local = u.post.day;
        sheet.write_datetime_with_format(r, 0, u.post.posted_at.naive_utc(), &time)?;
        sheet.write_datetime_with_format(r, 1, local, &day)?;
        sheet.write_string(r, 4, &u.post.target)?;
        sheet.write_string(r, 5, &u.post.kind)?;
        sheet.write_string(r, 6, &u.post.message_id)?;
        sheet.write_string(r, 7, &u.post.lang)?;
        sheet.write_string(r, 17, &u.why)?;
        if let Some(url) = &u.post.url {
            sheet.write_string(r, 18, url)?;
        }
        sheet.write_string(r, 19, &u.post.text)?;
    }
    sheet.set_column_width(0, 17)?;
    sheet.set_column_width(1, 11)?;
    sheet.set_column_width(17, 17)?;
    sheet.set_column_width(19, 80)?;
    sheet.set_freeze_panes(1, 0)?;

    for by in By::ALL {
        let name = match by {
            By::Message => "By message",
            By::Lang => "By language",
            By::Target => "By target",
            By::Day => "By day",
            By::Weekday => "By weekday",
            By::Hour => "By hour",
        };
        let sheet = book.add_worksheet().set_name(name)?;
        groups(sheet, by, report.groups(by), &bold, &day, &one_decimal)?;
    }

    if !report.audience.is_empty() {
        let sheet = book.add_worksheet().set_name("Audience")?;
        header(
            sheet,
            &[
                "target",
                "first day",
                "followers",
                "last day",
                "followers",
                "change",
            ],
            &bold,
        )?;
        for (i, a) in report.audience.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, &a.target)?;
            sheet.write_datetime_with_format(r, 1, a.first_day, &day)?;
            sheet.write_number(r, 2, a.first as f64)?;
            sheet.write_datetime_with_format(r, 3, a.last_day, &day)?;
            sheet.write_number(r, 4, a.last as f64)?;
            sheet.write_number(r, 5, a.change as f64)?;
        }
        sheet.set_column_width(0, 18)?;
        sheet.set_column_width(1, 11)?;
        sheet.set_column_width(3, 11)?;
    }

    if let (Some(now), Some(before)) = (&report.period, &report.previous) {
        let sheet = book.add_worksheet().set_name("Periods")?;
        header(
            sheet,
            &["period", "from", "to", "posts", "total", "per post"],
            &bold,
        )?;
        for (r, (what, p)) in [
            (1u32, ("this period", now)),
            (2, ("the period before", before)),
        ] {
            sheet.write_string(r, 0, what)?;
            sheet.write_datetime_with_format(r, 1, p.since, &day)?;
            sheet.write_datetime_with_format(r, 2, p.until, &day)?;
            sheet.write_number(r, 3, p.posts as f64)?;
            sheet.write_number(r, 4, p.total as f64)?;
            sheet.write_number_with_format(r, 5, p.average, &one_decimal)?;
        }
        sheet.set_column_width(0, 18)?;
        sheet.set_column_width(1, 11)?;
        sheet.set_column_width(2, 11)?;
    }
    book.save(path)
}

fn header(sheet: &mut Worksheet, names: &[&str], bold: &Format) -> Result<(), XlsxError> {
    for (c, name) in names.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, bold)?;
    }
    Ok(())
}

fn groups(
    sheet: &mut Worksheet,
    by: By,
    groups: &[Group],
    bold: &Format,
    day: &Format,
    one_decimal: &Format,
) -> Result<(), XlsxError> {
    let mut headings = vec![by.label()];
    headings.extend(GROUP_COLUMNS.iter().map(|c| c.headings[2]));
    header(sheet, &headings, bold)?;
    for (i, g) in groups.iter().enumerate() {
        let r = i as u32 + 1;
        match by {
            By::Day => match g.key.parse::<chrono::NaiveDate>() {
                Ok(d) => sheet.write_datetime_with_format(r, 0, d, day)?,
                Err(_) => sheet.write_string(r, 0, &g.key)?,
            },
            By::Hour => sheet.write_number(r, 0, g.key.parse::<f64>().unwrap_or(0.0))?,
            _ => sheet.write_string(r, 0, &g.label)?,
        };
        for (c, column) in (1..).zip(&GROUP_COLUMNS) {
            match (column.figure)(g) {
                Figure::Count(n) => sheet.write_number(r, c, n as f64)?,
                Figure::Decimal(v) | Figure::Known(Some(v), _) => {
                    sheet.write_number_with_format(r, c, v, one_decimal)?
                }
                // Not known: an empty cell, never 0.
                Figure::Known(None, _) => continue,
            };
        }
    }
    sheet.set_column_width(0, 24)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}
