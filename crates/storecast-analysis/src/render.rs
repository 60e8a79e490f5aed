//! Views of an [`Analysis`]: JSON for machines, Markdown for a short report, one
//! self-contained HTML page with the charts, and [`write_outputs`] for the CLI.
//!
//! Why this module exists: the analysis is data; presenting it is a separate concern, and the
//! three views must show the same numbers. The Markdown reads as a short report for the sales
//! team (headline conclusions first, then one section per finding); the HTML is its template
//! (`templates/analysis.html`) rendered in the shared document environment of
//! `storecast-charts`, with the charts embedded (one canvas and one JSON spec per chart).

use crate::model::{Analysis, Finding, Statistic, Table};
use crate::text;
use crate::AnalysisError;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use storecast_charts::standalone_page;

/// Pretty JSON of the whole analysis.
pub fn to_json(analysis: &Analysis) -> Result<String, AnalysisError> {
    Ok(serde_json::to_string_pretty(analysis)?)
}

fn subtitle(a: &Analysis) -> String {
    let d = &a.data;
    let range = match (d.first_date, d.last_date) {
        (Some(f), Some(l)) => format!("{f} to {l}"),
        _ => "no dates".into(),
    };
    format!(
        "Data: {} — {}, {} stores, {} rows. Intervals: 95%, bootstrap with {} replicates (seed {}). \
         p-values adjusted with {} across all {} tests of this report; significant means adjusted p < {}.",
        d.origin,
        range,
        text::thousands(d.stores as f64),
        text::thousands(d.rows as f64),
        a.methods.bootstrap_reps,
        a.methods.seed,
        a.methods.correction,
        a.methods.tests_in_family,
        a.methods.alpha
    )
}

fn short_correction(a: &Analysis) -> &'static str {
    if a.methods.correction.starts_with("Holm") {
        "Holm"
    } else {
        "BH"
    }
}

fn stat_row(s: &Statistic) -> Vec<String> {
    vec![
        s.label.clone(),
        text::value(s.estimate, s.unit),
        text::ci(s),
        text::p_cell(s.p_value),
        text::p_cell(s.p_adjusted),
        text::thousands(s.n as f64),
    ]
}

fn stat_headers(a: &Analysis) -> Vec<String> {
    vec![
        "statistic".into(),
        "estimate".into(),
        "95% CI".into(),
        "p".into(),
        format!("p adj. ({})", short_correction(a)),
        "n".into(),
    ]
}

fn md_table(out: &mut String, headers: &[String], rows: &[Vec<String>]) {
    let esc = |c: &str| c.replace('|', "\\|");
    let _ = writeln!(
        out,
        "| {} |",
        headers
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}",
        headers.iter().map(|_| "---|").collect::<String>()
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    out.push('\n');
}

/// The Markdown report: headline conclusions first, then one section per finding.
pub fn to_markdown(a: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", a.title);
    let _ = writeln!(out, "_{}_\n", subtitle(a));
    let _ = writeln!(out, "## Headline conclusions\n");
    if a.headlines.is_empty() {
        let _ = writeln!(out, "No conclusion could be drawn from this data.\n");
    }
    for h in &a.headlines {
        let _ = writeln!(out, "{}. {} ([details](#{}))", h.rank, h.text, h.finding_id);
    }
    out.push('\n');
    let _ = writeln!(out, "## Contents\n");
    for f in &a.findings {
        let _ = writeln!(out, "- [{}](#{})", f.title, f.id);
    }
    out.push('\n');
    for f in &a.findings {
        md_finding(&mut out, a, f);
    }
    let _ = writeln!(out, "---\n\n_Normal day: {}._", a.methods.normal_day);
    out
}

fn md_finding(out: &mut String, a: &Analysis, f: &Finding) {
    let _ = writeln!(out, "<a id=\"{}\"></a>\n\n## {}\n", f.id, f.title);
    let _ = writeln!(out, "**Question.** {}\n", f.question);
    if !f.conclusion.is_empty() {
        let _ = writeln!(out, "> **Conclusion.** {}\n", f.conclusion);
    }
    if !f.effect_business.is_empty() {
        let _ = writeln!(out, "**For the business.** {}\n", f.effect_business);
    }
    if !f.statistics.is_empty() {
        let rows: Vec<Vec<String>> = f.statistics.iter().map(stat_row).collect();
        md_table(out, &stat_headers(a), &rows);
    }
    if let Some(t) = &f.test {
        let _ = writeln!(out, "**Test.** {t}\n");
    }
    let _ = writeln!(out, "**How it was computed.** {}\n", f.method);
    for t in &f.tables {
        md_table_block(out, t);
    }
    if !f.charts.is_empty() {
        let _ = writeln!(
            out,
            "_Charts (in analysis.html): {}._\n",
            f.charts
                .iter()
                .map(|c| c.title.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !f.links.is_empty() {
        let _ = writeln!(out, "**See also:**\n");
        for l in &f.links {
            let _ = writeln!(out, "- [{}]({})", l.label, l.href);
        }
        out.push('\n');
    }
}

fn md_table_block(out: &mut String, t: &Table) {
    if t.rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "**{}**\n", t.title);
    md_table(out, &t.headers, &t.rows);
}

/// The analysis's template, rendered in the shared document environment.
const TEMPLATE: &str = include_str!("../templates/analysis.html");

/// The body of the HTML report (without page chrome), for embedding in a page that loads the
/// chart scripts itself: the analysis's figures handed to its template.
pub fn body_html(a: &Analysis) -> Result<String, AnalysisError> {
    let mut env = storecast_charts::render::environment()?;
    env.add_template("analysis.html", TEMPLATE)
        .map_err(|source| storecast_charts::render::RenderError {
            template: "analysis.html".into(),
            source,
        })?;
    Ok(storecast_charts::render::render(
        &env,
        "analysis.html",
        page_view(a),
    )?)
}

/// What the template reads: the analysis as text, key figures as cards, every chart as its
/// embedded HTML with an id unique in the page.
fn page_view(a: &Analysis) -> serde_json::Value {
    use serde_json::json;
    let card = |f: &str, s: &str| -> Option<serde_json::Value> {
        let st = a.finding(f)?.stat(s)?;
        Some(json!({"value": text::value(st.estimate, st.unit), "label": st.label}))
    };
    let cards: Vec<serde_json::Value> = [
        ("promo", "promo_uplift"),
        ("promo", "promo_eur_per_store_day"),
        ("seasonality", "december_vs_november"),
        ("weekday", "sunday_closed_share"),
        ("competition", "competitor_opening_effect"),
        ("trend", "yoy_growth"),
    ]
    .iter()
    .filter_map(|(f, s)| card(f, s))
    .collect();
    let mut ids: HashSet<String> = HashSet::new();
    let findings: Vec<serde_json::Value> = a
        .findings
        .iter()
        .map(|f| {
            let charts: Vec<String> = f
                .charts
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    let base = c.id.clone();
                    let mut k = 2;
                    while !ids.insert(c.id.clone()) {
                        c.id = format!("{base}-{k}");
                        k += 1;
                    }
                    c.embed()
                })
                .collect();
            json!({
                "id": f.id, "title": f.title, "question": f.question,
                "conclusion": f.conclusion, "effect_business": f.effect_business,
                "charts": charts,
                "stats": f.statistics.iter().map(stat_row).collect::<Vec<_>>(),
                "tables": f.tables, "test": f.test, "method": f.method, "links": f.links,
            })
        })
        .collect();
    json!({
        "title": a.title, "subtitle": subtitle(a), "cards": cards,
        "headlines": a.headlines, "findings": findings,
        "stat_headers": stat_headers(a), "normal_day": a.methods.normal_day,
    })
}

/// One self-contained HTML page (inline CSS and chart scripts; works offline).
pub fn to_html(a: &Analysis) -> Result<String, AnalysisError> {
    Ok(standalone_page(&a.title, &body_html(a)?))
}

/// Writes `analysis.json`, `analysis.md` and `analysis.html` into `out_dir` (created if
/// needed); returns the paths written.
pub fn write_outputs(a: &Analysis, out_dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
    std::fs::create_dir_all(out_dir).map_err(|source| AnalysisError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let files = [
        ("analysis.json", to_json(a)?),
        ("analysis.md", to_markdown(a)),
        ("analysis.html", to_html(a)?),
    ];
    let mut written = Vec::new();
    for (name, body) in files {
        let path = out_dir.join(name);
        std::fs::write(&path, body).map_err(|source| AnalysisError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}
