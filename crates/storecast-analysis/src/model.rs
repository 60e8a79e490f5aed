//! The analysis as data: a headline list and findings made of statistics, tables and charts.
//!
//! Why this module exists: the CLI writes the analysis as JSON, Markdown and HTML, and the web
//! app renders the same findings later. Keeping every number in these serde types (never only
//! in prose) lets each view present the same result and lets tests check the numbers directly.

use chrono::NaiveDate;
use serde::Serialize;
use storecast_charts::Chart;

/// What a statistic's number measures; decides how it is printed.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A relative change as a fraction (0.23 = +23 %).
    Change,
    /// A share or fraction of a whole (0.25 = 25 %).
    Share,
    /// An index relative to a reference (1.0 = reference level).
    Index,
    /// Euros (a total or a level).
    Eur,
    /// Euros per store and day.
    EurPerStoreDay,
    /// Euros per customer (basket).
    EurPerCustomer,
    /// Customers per store and day.
    Customers,
    /// A count (stores, rows, days, events).
    Count,
    /// A correlation coefficient.
    Correlation,
    /// An effect size (epsilon squared, share of variance).
    EffectSize,
    /// Days.
    Days,
}

impl Unit {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Share => "share",
            Self::Index => "index",
            Self::Eur => "€",
            Self::EurPerStoreDay => "€ per store-day",
            Self::EurPerCustomer => "€ per customer",
            Self::Customers => "customers per store-day",
            Self::Count => "count",
            Self::Correlation => "correlation",
            Self::EffectSize => "effect size",
            Self::Days => "days",
        }
    }
}

/// One estimated quantity with its uncertainty and, where a test makes sense, its p-values.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct Statistic {
    /// Stable name within the finding (snake_case, e.g. `promo_uplift_type_a`).
    pub name: String,
    /// What it is, in words.
    pub label: String,
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: Option<f64>,
    /// Upper end of the 95% confidence interval.
    pub ci_high: Option<f64>,
    /// What the number measures.
    pub unit: Unit,
    /// Unadjusted two-sided p-value of the finding's test.
    pub p_value: Option<f64>,
    /// p-value adjusted for multiple comparisons across the whole report.
    pub p_adjusted: Option<f64>,
    /// Number of independent units behind the estimate (usually stores).
    pub n: usize,
}

impl Statistic {
    /// A statistic without interval or test.
    pub fn new(name: &str, label: impl Into<String>, estimate: f64, unit: Unit, n: usize) -> Self {
        Self {
            name: name.to_string(),
            label: label.into(),
            estimate,
            ci_low: None,
            ci_high: None,
            unit,
            p_value: None,
            p_adjusted: None,
            n,
        }
    }

    /// Adds a confidence interval (ignored when either end is not finite).
    pub fn ci(mut self, (low, high): (f64, f64)) -> Self {
        if low.is_finite() && high.is_finite() {
            self.ci_low = Some(low);
            self.ci_high = Some(high);
        }
        self
    }

    /// Adds a raw p-value (ignored when not finite).
    pub fn p(mut self, p: f64) -> Self {
        if p.is_finite() {
            self.p_value = Some(p.clamp(0.0, 1.0));
        }
        self
    }

    /// True when the interval exists and excludes `value`.
    pub fn ci_excludes(&self, value: f64) -> bool {
        match (self.ci_low, self.ci_high) {
            (Some(l), Some(h)) => value < l || value > h,
            _ => false,
        }
    }

    /// True when the adjusted p-value is below `alpha`.
    pub fn significant(&self, alpha: f64) -> bool {
        self.p_adjusted.is_some_and(|p| p < alpha)
    }
}

/// A small table of results (rows of already formatted cells).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Caption.
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table.
    pub fn new(title: impl Into<String>, headers: &[&str], rows: Vec<Vec<String>>) -> Self {
        Self {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }
}

/// A link to a related document (e.g. the validation report's entry for a rule).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Link text.
    pub label: String,
    /// Relative URL.
    pub href: String,
}

/// One question answered from the data.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[schema(as = AnalysisFinding)]
pub struct Finding {
    /// Stable id (also the HTML anchor).
    pub id: String,
    /// Section title.
    pub title: String,
    /// The question a sales team asks.
    pub question: String,
    /// How the numbers were computed, in words (design, comparison, sample).
    pub method: String,
    /// The estimates.
    pub statistics: Vec<Statistic>,
    /// The effect in business units (€ per store-day, %).
    pub effect_business: String,
    /// Which test produced the p-values, when there is one.
    pub test: Option<String>,
    /// Charts (specs for `storecast-charts`).
    pub charts: Vec<Chart>,
    /// Optional result tables.
    pub tables: Vec<Table>,
    /// One or two sentences generated from the numbers: sign, size, certainty.
    pub conclusion: String,
    /// Related documents.
    pub links: Vec<Link>,
}

impl Finding {
    /// The statistic with this name.
    pub fn stat(&self, name: &str) -> Option<&Statistic> {
        self.statistics.iter().find(|s| s.name == name)
    }
}

/// One of the report's headline conclusions.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Headline {
    /// 1 = most actionable.
    pub rank: usize,
    /// The finding it summarises.
    pub finding_id: String,
    /// The sentence.
    pub text: String,
    /// Rough yearly € at stake for the chain, used for ranking (when it can be stated).
    pub eur_per_year: Option<f64>,
}

/// How the report's statistics were computed.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Methods {
    /// Bootstrap replicates per interval.
    pub bootstrap_reps: usize,
    /// Seed of the bootstrap random streams.
    pub seed: u64,
    /// Multiple-comparison correction applied across the report.
    pub correction: String,
    /// Number of p-values in the correction family.
    pub tests_in_family: usize,
    /// Significance level used in the conclusions.
    pub alpha: f64,
    /// What a "normal day" is in the comparisons, in words.
    pub normal_day: String,
}

/// The data the analysis ran on.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct DataSummary {
    /// Where the data came from.
    pub origin: String,
    /// Fingerprint of the input files.
    pub fingerprint: String,
    /// First day of the history.
    pub first_date: Option<NaiveDate>,
    /// Last day of the history.
    pub last_date: Option<NaiveDate>,
    /// Stores with history.
    pub stores: usize,
    /// Rows in the history.
    pub rows: usize,
    /// Open store-days with sales.
    pub open_days: usize,
}

/// The whole analysis.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Analysis {
    /// Report title.
    pub title: String,
    /// The input.
    pub data: DataSummary,
    /// Methods common to all findings.
    pub methods: Methods,
    /// The most actionable conclusions, ranked.
    pub headlines: Vec<Headline>,
    /// All findings, in report order.
    pub findings: Vec<Finding>,
}

impl Analysis {
    /// The finding with this id.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }
}
