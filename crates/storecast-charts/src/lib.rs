//! Charts as data, drawn in the browser by a vendored Chart.js.
//!
//! Why this crate exists: the analysis, the methodology and business reports and the web app
//! all show charts, and they must work offline. A chart is a serde [`Chart`] (kind, labels,
//! series, intervals) that any view can embed as JSON; one small script (`render.js`) turns
//! every embedded spec into a Chart.js chart. Standalone HTML pages inline the scripts
//! ([`standalone_page`]); the web app serves the same scripts as files so its Content Security
//! Policy can forbid inline scripts. Every chart carries its figures as text for readers who
//! cannot see it (`text`). The presentation layer's other shared pieces live here too: the one
//! number formatter ([`format::Numbers`], in the chain's locale) and the flags headless Chromium
//! prints pages with ([`CHROMIUM_FLAGS`]).

use serde::{Deserialize, Serialize};

pub mod doc;
pub mod format;
pub mod render;
mod text;
pub use doc::{Block, Doc, Section};
pub use format::{Locale, Numbers};

/// Chart.js 4.6.1, UMD build (MIT, see `assets/THIRD_PARTY_LICENSES.txt`).
pub const CHART_JS: &str = include_str!("../assets/chart.umd.min.js");
/// chartjs-plugin-zoom 2.2.0 (MIT): drag and wheel zoom on time series.
pub const ZOOM_JS: &str = include_str!("../assets/chartjs-plugin-zoom.min.js");
/// Turns every `<script type="application/json" class="chart-spec">` into a chart.
pub const RENDER_JS: &str = include_str!("../assets/render.js");

/// How a series is drawn.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Vertical bars over categorical labels.
    Bar,
    /// A line over labels (categories or dates).
    Line,
    /// Points at (x, y).
    Scatter,
}

/// One series of a chart.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Drawn as (defaults to the chart's kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// One value per label (`None` = gap); ignored for scatter.
    #[serde(default)]
    pub values: Vec<Option<f64>>,
    /// (x, y) points, for scatter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<(f64, f64)>,
    /// Interval per label (low, high): whiskers on bars and points, a shaded band on lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<Option<(f64, f64)>>,
    /// CSS colour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Dashed line (e.g. a baseline or a forecast).
    #[serde(default)]
    pub dashed: bool,
}

impl Series {
    /// A series of values, one per label.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            kind: None,
            values: values.into_iter().map(Some).collect(),
            points: Vec::new(),
            intervals: Vec::new(),
            color: None,
            dashed: false,
        }
    }

    /// A scatter series.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            points,
            ..Self::new(name, Vec::new())
        }
    }

    /// Adds an interval (low, high) per label.
    pub fn with_intervals(mut self, intervals: Vec<(f64, f64)>) -> Self {
        self.intervals = intervals.into_iter().map(Some).collect();
        self
    }

    /// Sets the colour.
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }

    /// Draws this series with another kind than the chart's.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Dashed line.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A chart specification.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// DOM id (unique within a page).
    pub id: String,
    /// Default kind of the series.
    pub kind: Kind,
    /// Title shown above the chart.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Category or date labels of the x axis.
    pub labels: Vec<String>,
    /// The series.
    pub series: Vec<Series>,
    /// Start the y axis at zero.
    #[serde(default)]
    pub y_from_zero: bool,
    /// Draw a horizontal reference line at this y (e.g. 0 % uplift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_y: Option<f64>,
    /// Allow drag/wheel zoom on the x axis.
    #[serde(default)]
    pub zoom: bool,
    /// Format y values as percentages (values are fractions).
    #[serde(default)]
    pub percent: bool,
    /// Logarithmic x and y axes (a scatter's points joined by lines): a power law reads as a
    /// straight line whose slope is its exponent.
    #[serde(default)]
    pub log_axes: bool,
}

impl Chart {
    /// A chart with no series yet.
    pub fn new(id: impl Into<String>, kind: Kind, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind,
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            labels: Vec::new(),
            series: Vec::new(),
            y_from_zero: false,
            reference_y: None,
            zoom: false,
            percent: false,
            log_axes: false,
        }
    }

    /// Sets the axis labels.
    pub fn axes(mut self, x: impl Into<String>, y: impl Into<String>) -> Self {
        self.x_label = x.into();
        self.y_label = y.into();
        self
    }

    /// Sets the x labels.
    pub fn labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a series.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Y axis from zero.
    pub fn from_zero(mut self) -> Self {
        self.y_from_zero = true;
        self
    }

    /// Reference line.
    pub fn reference(mut self, y: f64) -> Self {
        self.reference_y = Some(y);
        self
    }

    /// Values are fractions shown as percentages.
    pub fn percent(mut self) -> Self {
        self.percent = true;
        self
    }

    /// Logarithmic axes (see [`Chart::log_axes`](Chart#structfield.log_axes)).
    pub fn log_axes(mut self) -> Self {
        self.log_axes = true;
        self
    }

    /// Enables zoom.
    pub fn zoomable(mut self) -> Self {
        self.zoom = true;
        self
    }

    /// The HTML that places this chart: a canvas and its JSON spec. Safe to embed anywhere in
    /// a page that also loads the scripts ([`scripts_inline`] or the app's asset routes).
    pub fn embed(&self) -> String {
        self.embed_with(Numbers::EN)
    }

    /// [`Chart::embed`] with its text alternative (the chart's figures as a table, or a
    /// summary of each series when there are too many points to read) written by `numbers`.
    pub fn embed_with(&self, numbers: Numbers) -> String {
        // `</` inside JSON would end the script element early; escape it.
        let json = serde_json::to_string(self)
            .unwrap_or_else(|_| "{}".into())
            .replace("</", "<\\/");
        format!(
            "<figure class=\"chart\"><div class=\"chart-box\"><canvas id=\"{id}\" role=\"img\" aria-label=\"{title}\" aria-describedby=\"{id}-data\"></canvas></div>\
             <script type=\"application/json\" class=\"chart-spec\" data-for=\"{id}\">{json}</script>\
             <details class=\"chart-data\" id=\"{id}-data\"><summary>{title}: the figures</summary>{alt}</details></figure>",
            id = html_escape(&self.id),
            title = html_escape(&self.title),
            alt = text::alternative(self, numbers),
        )
    }
}

/// Whole euros with thousands separators (`1,234 €`, `-56 €`); `–` when not finite. Shared
/// by the reports and the app so the same amount reads the same everywhere.
pub fn eur(x: f64) -> String {
    Numbers::EN.eur(x)
}

/// A range of whole euros with one unit, for tight table cells (`3,970–5,078 €`).
pub fn eur_range(lo: f64, hi: f64) -> String {
    Numbers::EN.eur_range(lo, hi)
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The three scripts inline, for a standalone page (place at the end of `<body>`).
pub fn scripts_inline() -> String {
    format!(
        "<script>{CHART_JS}</script>\n<script>{ZOOM_JS}</script>\n<script>{RENDER_JS}</script>\n"
    )
}

/// The flags storecast runs headless Chromium with, to print a page to PDF and in the browser
/// tests: headless, root-safe, and silent on the network (a server has none to spare).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
];

/// Base CSS shared by the generated pages (reports and app).
pub const BASE_CSS: &str = include_str!("../assets/base.css");

/// A complete self-contained page: `body_html` plus inline CSS and chart scripts; opens
/// offline, sends no request.
pub fn standalone_page(title: &str, body_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{BASE_CSS}</style>\n</head>\n<body>\n{body_html}\n{scripts}</body>\n</html>\n",
        title = html_escape(title),
        scripts = scripts_inline()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_escapes_script_end_and_round_trips() {
        let c = Chart::new("c1", Kind::Bar, "a </script> title")
            .labels(["x", "y"])
            .series(Series::new("s", vec![1.0, 2.0]).with_intervals(vec![(0.5, 1.5), (1.0, 3.0)]));
        let html = c.embed();
        assert_eq!(html.matches("</script>").count(), 1, "{html}");
        let start = html.find("data-for=\"c1\">").map(|i| i + 14).unwrap_or(0);
        let end = html.rfind("</script>").unwrap_or(0);
        let json = html[start..end].replace("<\\/", "</");
        let back: Chart = serde_json::from_str(&json).expect("valid json");
        assert_eq!(back, c);
    }

    #[test]
    fn euros_are_grouped_by_thousands() {
        assert_eq!(eur(1234567.4), "1,234,567 €");
        assert_eq!(eur(-999.6), "-1,000 €");
        assert_eq!(eur(12.0), "12 €");
        assert_eq!(eur(f64::NAN), "–");
    }

    #[test]
    fn standalone_page_has_no_external_reference() {
        let page = standalone_page("t", "<p>x</p>");
        assert!(!page.contains("src=\"http"));
        assert!(!page.contains("href=\"http"));
        assert!(page.contains("Chart.js") || page.contains("chart.js"));
    }
}
