//! The report's data model: findings with severity, count and examples, and a summary that
//! lists every rule run (with zero counts too, so "checked and clean" is visible).

use chrono::NaiveDate;
use serde::Serialize;
use storecast_data::TableSummary;

/// How bad a finding is.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The data is wrong; downstream results cannot be trusted until it is fixed or excluded.
    Error,
    /// Probably a real-world oddity or a gap; downstream code must handle it knowingly.
    Warning,
    /// Worth knowing; no action needed.
    Info,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// One place where a rule failed.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Serialize)]
pub struct Example {
    /// File name.
    pub file: String,
    /// 1-based line in the file, when the example is one row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Column, when the example is one cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Store id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<u16>,
    /// Date (the first date, for a range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// Last date, for a range (e.g. a gap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// The offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong here, in words.
    pub message: String,
}

/// Everything one rule found.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[schema(as = ValidationFinding)]
pub struct Finding {
    /// Rule id (serialised as its stable snake_case name).
    pub rule: crate::RuleId,
    /// Severity.
    pub severity: Severity,
    /// What the rule checks.
    pub title: &'static str,
    /// Number of failures.
    pub count: usize,
    /// What `count` counts (rows, stores, gaps, ...).
    pub unit: &'static str,
    /// A few examples, or all of them when `examples_complete`.
    pub examples: Vec<Example>,
    /// True when `examples` lists every failure.
    pub examples_complete: bool,
    /// The policy applied downstream, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// Outcome of one rule, for the summary.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct RuleStatus {
    /// Rule id.
    pub rule: crate::RuleId,
    /// Severity of a failure.
    pub severity: Severity,
    /// What it checks.
    pub title: &'static str,
    /// Failures found (0 = passed).
    pub count: usize,
}

/// Overview of the input and of the outcome.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[schema(as = ValidationSummary)]
pub struct Summary {
    /// Where the data came from.
    pub origin: String,
    /// Fingerprint of the input files.
    pub fingerprint: String,
    /// Per-file loading summary.
    pub files: Vec<TableSummary>,
    /// Rows in the history.
    pub history_rows: usize,
    /// Stores in store.csv.
    pub stores: usize,
    /// Stores with history.
    pub stores_with_history: usize,
    /// First and last date of the history.
    pub history_dates: Option<(NaiveDate, NaiveDate)>,
    /// Rows to forecast in test.csv.
    pub forecast_rows: usize,
    /// First and last date of test.csv.
    pub forecast_dates: Option<(NaiveDate, NaiveDate)>,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Info findings.
    pub infos: usize,
    /// Every rule run, with its count.
    pub rules: Vec<RuleStatus>,
}

/// The whole report.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// Overview.
    pub summary: Summary,
    /// Failing rules, most severe first.
    pub findings: Vec<Finding>,
}

impl ValidationReport {
    /// True when some finding has error severity.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }

    /// The finding of a rule, if it failed.
    pub fn finding(&self, rule: crate::RuleId) -> Option<&Finding> {
        self.findings.iter().find(|f| f.rule == rule)
    }

    /// Failures of a rule (0 when it passed).
    pub fn count(&self, rule: crate::RuleId) -> usize {
        self.finding(rule).map_or(0, |f| f.count)
    }
}
