//! Views of a [`ValidationReport`]: a terminal summary, JSON and a self-contained HTML page.
//! The report stays data; these functions only present it.

use crate::report::{Severity, ValidationReport};
use std::fmt::Write as _;

/// Errors while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template failed (a programming error, reported rather than panicking).
    #[error("HTML template: {0}")]
    Template(#[from] minijinja::Error),
    /// JSON serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

const TEMPLATE: &str = include_str!("../templates/report.html");

/// Pretty JSON with the shape `{"summary": {...}, "findings": [...]}`.
pub fn to_json(report: &ValidationReport) -> Result<String, RenderError> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// One self-contained HTML page (inline CSS, no script, no network).
pub fn to_html(report: &ValidationReport) -> Result<String, RenderError> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    let tmpl = env.get_template("report.html")?;
    Ok(tmpl.render(minijinja::context! { r => report })?)
}

/// The terminal summary: overview, then each failing rule with its first examples.
pub fn to_text(report: &ValidationReport, examples_per_rule: usize) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let _ = writeln!(out, "Data: {}", s.origin);
    for f in &s.files {
        let _ = writeln!(
            out,
            "  {:<10} {:>9} rows loaded, {} rejected{}",
            f.file,
            f.rows_loaded,
            f.rows_rejected,
            if f.extra_columns.is_empty() {
                String::new()
            } else {
                format!(", extra columns: {}", f.extra_columns.join(", "))
            }
        );
    }
    if let Some((a, b)) = s.history_dates {
        let _ = writeln!(
            out,
            "  history {a} .. {b}, {} stores with history, {} in store.csv",
            s.stores_with_history, s.stores
        );
    }
    if let Some((a, b)) = s.forecast_dates {
        let _ = writeln!(out, "  to forecast {a} .. {b}, {} rows", s.forecast_rows);
    }
    let _ = writeln!(
        out,
        "\n{} rules checked: {} passed, {} errors, {} warnings, {} info\n",
        s.rules.len(),
        s.rules.iter().filter(|r| r.count == 0).count(),
        s.errors,
        s.warnings,
        s.infos
    );
    for f in &report.findings {
        let tag = match f.severity {
            Severity::Error => "ERROR  ",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO   ",
        };
        let _ = writeln!(
            out,
            "{tag} {:<30} {:>7} {:<8} {}",
            f.rule, f.count, f.unit, f.title
        );
        for e in f.examples.iter().take(examples_per_rule) {
            let place = match e.line {
                Some(l) => format!("{}:{l}", e.file),
                None => e.file.clone(),
            };
            let _ = writeln!(out, "          {place:<16} {}", e.message);
        }
        if f.count > examples_per_rule.min(f.examples.len()) {
            let _ = writeln!(
                out,
                "          ... {} more (see --json/--html)",
                f.count - examples_per_rule.min(f.examples.len())
            );
        }
        if let Some(p) = &f.policy {
            let _ = writeln!(out, "          policy: {p}");
        }
    }
    out
}
