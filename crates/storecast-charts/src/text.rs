//! The text alternative of a chart: its figures as a table a screen reader can walk, or, when
//! a chart has more points than anyone reads row by row, each series' first, last, lowest and
//! highest value.
//!
//! Why this module exists: a canvas is a picture; a reader who cannot see it (or prints the
//! page) still needs the figures. Written from the same [`Chart`] spec the browser draws, so
//! the two cannot disagree.

use crate::format::Numbers;
use crate::{html_escape, Chart, Kind};

/// Rows above which a chart's figures are summarised instead of listed.
pub const MAX_TABLE_ROWS: usize = 200;

/// The HTML of `chart`'s text alternative.
pub fn alternative(chart: &Chart, numbers: Numbers) -> String {
    let value = |v: f64| value_text(chart, numbers, v);
    if chart.kind == Kind::Scatter || chart.series.iter().any(|s| !s.points.is_empty()) {
        return scatter(chart, numbers, &value);
    }
    if chart.labels.len() > MAX_TABLE_ROWS {
        return summary(chart, &value);
    }
    let mut out = String::from("<table class=\"chart-table\"><tr>");
    out.push_str(&format!("<th>{}</th>", html_escape(&chart.x_label)));
    for s in &chart.series {
        out.push_str(&format!("<th class=\"num\">{}</th>", html_escape(&s.name)));
    }
    out.push_str("</tr>");
    for (i, label) in chart.labels.iter().enumerate() {
        let cells: Vec<String> = chart
            .series
            .iter()
            .map(|s| {
                cell(
                    s.values.get(i).copied().flatten(),
                    s.intervals.get(i),
                    &value,
                )
            })
            .collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        out.push_str(&format!("<tr><td>{}</td>", html_escape(label)));
        for c in cells {
            out.push_str(&format!("<td class=\"num\">{c}</td>"));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

fn cell(v: Option<f64>, iv: Option<&Option<(f64, f64)>>, value: &dyn Fn(f64) -> String) -> String {
    match (v, iv.copied().flatten()) {
        (Some(v), Some((lo, hi))) => format!("{} ({} – {})", value(v), value(lo), value(hi)),
        (Some(v), None) => value(v),
        (None, _) => String::new(),
    }
}

/// A value as the chart's axis reads it: a percentage, euros, or a plain number.
fn value_text(chart: &Chart, numbers: Numbers, v: f64) -> String {
    if chart.percent {
        return numbers.pct(v);
    }
    let a = v.abs();
    let text = if a >= 1000.0 || v.fract() == 0.0 {
        numbers.int(v)
    } else if a >= 10.0 {
        numbers.number(v, 1)
    } else {
        numbers.number(v, 3)
    };
    if chart.y_label.contains('€') {
        format!("{text} €")
    } else {
        text
    }
}

fn summary(chart: &Chart, value: &dyn Fn(f64) -> String) -> String {
    let mut out = format!(
        "<p>{} points from {} to {}.</p><ul>",
        chart.labels.len(),
        html_escape(chart.labels.first().map_or("", String::as_str)),
        html_escape(chart.labels.last().map_or("", String::as_str)),
    );
    for s in &chart.series {
        let known: Vec<(usize, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        let (Some(first), Some(last)) = (known.first(), known.last()) else {
            continue;
        };
        let low = known
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(first);
        let high = known
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(first);
        let at = |i: usize| html_escape(chart.labels.get(i).map_or("", String::as_str));
        out.push_str(&format!(
            "<li>{}: first {} ({}), last {} ({}), lowest {} ({}), highest {} ({})</li>",
            html_escape(&s.name),
            value(first.1),
            at(first.0),
            value(last.1),
            at(last.0),
            value(low.1),
            at(low.0),
            value(high.1),
            at(high.0),
        ));
    }
    out.push_str("</ul>");
    out
}

fn scatter(chart: &Chart, numbers: Numbers, value: &dyn Fn(f64) -> String) -> String {
    let mut out = format!(
        "<table class=\"chart-table\"><tr><th>series</th><th class=\"num\">{}</th><th class=\"num\">{}</th></tr>",
        html_escape(&chart.x_label),
        html_escape(&chart.y_label)
    );
    let mut rows = 0;
    for s in &chart.series {
        for (x, y) in s.points.iter().take(MAX_TABLE_ROWS.saturating_sub(rows)) {
            out.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                html_escape(&s.name),
                numbers.number(*x, if x.fract() == 0.0 { 0 } else { 2 }),
                value(*y)
            ));
            rows += 1;
        }
    }
    out.push_str("</table>");
    let total: usize = chart.series.iter().map(|s| s.points.len()).sum();
    if total > rows {
        out.push_str(&format!("<p>First {rows} of {total} points.</p>"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Locale, Series};

    #[test]
    fn a_small_chart_is_a_table_with_its_bands() {
        let chart = Chart::new("c", Kind::Line, "Sales")
            .axes("date", "€ per day")
            .labels(["2015-06-20", "2015-06-21"])
            .series(
                Series::new("forecast", vec![5395.0, 0.0])
                    .with_intervals(vec![(4746.0, 6077.0), (0.0, 0.0)]),
            );
        let html = alternative(&chart, Numbers::new(Locale::De));
        assert!(
            html.contains("<td>2015-06-20</td><td class=\"num\">5.395 € (4.746 € – 6.077 €)</td>"),
            "{html}"
        );
        assert!(html.contains("<th>date</th><th class=\"num\">forecast</th>"));
    }

    #[test]
    fn a_long_chart_is_summarised() {
        let n = MAX_TABLE_ROWS + 1;
        let values: Vec<f64> = (0..n).map(|i| i as f64 / 1000.0).collect();
        let chart = Chart::new("c", Kind::Line, "Share")
            .labels((0..n).map(|i| format!("d{i}")))
            .series(Series::new("share", values))
            .percent();
        let html = alternative(&chart, Numbers::EN);
        assert!(!html.contains("<table"));
        assert!(
            html.contains(
                "share: first 0.0% (d0), last 20.0% (d200), lowest 0.0% (d0), highest 20.0% (d200)"
            ),
            "{html}"
        );
    }

    #[test]
    fn scatter_points_are_listed_up_to_the_cap() {
        let pts: Vec<(f64, f64)> = (0..(MAX_TABLE_ROWS + 5)).map(|i| (i as f64, 1.5)).collect();
        let chart = Chart::new("c", Kind::Scatter, "S")
            .axes("x", "y")
            .series(Series::points("p", pts));
        let html = alternative(&chart, Numbers::EN);
        assert_eq!(html.matches("<tr><td>p</td>").count(), MAX_TABLE_ROWS);
        assert!(html.contains(&format!(
            "First {MAX_TABLE_ROWS} of {} points.",
            MAX_TABLE_ROWS + 5
        )));
    }
}
