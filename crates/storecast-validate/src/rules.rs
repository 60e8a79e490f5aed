//! The rules. Each has a stable id ([`RuleId`]), a severity and a one-line title; `validate`
//! runs all of them over the lenient load and collects every failure. Rules that must list
//! every failure (gaps, open days without sales) say so with `list_all`.

use crate::report::{Example, Finding, RuleStatus, Severity, Summary, ValidationReport};
use chrono::{Duration, NaiveDate};
use std::collections::{BTreeMap, HashMap, HashSet};
use storecast_data::history::iso_weekday;
use storecast_data::{LoadReport, RowProblem, FILE_STORES, FILE_TEST, FILE_TRAIN};

/// A rule's identity.
#[derive(Debug, Clone, Copy)]
pub struct RuleDef {
    /// Stable id.
    pub id: RuleId,
    /// Severity of a failure.
    pub severity: Severity,
    /// What it checks, in one line.
    pub title: &'static str,
    /// What its count counts.
    pub unit: &'static str,
    /// Whether every failure is listed (not only a few examples).
    pub list_all: bool,
}

use Severity::{Error, Info, Warning};

/// Every rule, by its stable id (`Display` and serde give the snake_case name used in
/// reports, JSON and anchors).
#[derive(
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    /// every cell parses to its column's type and range
    ColumnType,
    /// StateHoliday is one of 0, a, b, c
    StateHolidayDomain,
    /// files have no columns beyond the published schema
    ExtraColumn,
    /// DayOfWeek agrees with Date
    DayOfWeekMismatch,
    /// one row per store and date
    DuplicateStoreDate,
    /// a closed store (Open=0) has no sales
    ClosedWithSales,
    /// sales, customers and distances are not negative
    NegativeValue,
    /// every store in train.csv and test.csv exists in store.csv
    UnknownStore,
    /// each store appears once in store.csv
    DuplicateStore,
    /// PromoInterval is blank or a known interval
    PromoIntervalValue,
    /// test.csv starts the day after train.csv ends and has every day for every store
    TestDatesContiguous,
    /// test.csv has unique Ids and one row per store and date
    TestDuplicate,
    /// an open store (Open=1) sold something
    OpenZeroSales,
    /// a day with sales has customers
    SalesWithoutCustomers,
    /// a day with customers has sales
    CustomersWithoutSales,
    /// every store has a row for every day of the history
    SeriesGap,
    /// every store in store.csv has sales history
    StoreWithoutHistory,
    /// Promo2=0 has blank Promo2Since*/PromoInterval; Promo2=1 has them all
    Promo2Inconsistent,
    /// a competitor's opening date is not after the history ends
    CompetitionOpenFuture,
    /// a competitor's opening year is plausible (1950 or later)
    CompetitionOpenImplausible,
    /// CompetitionDistance is known
    CompetitionDistanceMissing,
    /// test.csv states Open for every store-day
    OpenMissing,
    /// every store in test.csv has recent, sufficient history
    TestStoreNoRecentHistory,
    /// a day's sales are within the store's robust range (|log sales - median| <= k * 1.4826 * MAD)
    SalesOutlier,
    /// a known competitor has an opening date
    CompetitionSinceMissing,
    /// test.csv is present
    TestMissing,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 26] = [
        Self::ColumnType,
        Self::StateHolidayDomain,
        Self::ExtraColumn,
        Self::DayOfWeekMismatch,
        Self::DuplicateStoreDate,
        Self::ClosedWithSales,
        Self::NegativeValue,
        Self::UnknownStore,
        Self::DuplicateStore,
        Self::PromoIntervalValue,
        Self::TestDatesContiguous,
        Self::TestDuplicate,
        Self::OpenZeroSales,
        Self::SalesWithoutCustomers,
        Self::CustomersWithoutSales,
        Self::SeriesGap,
        Self::StoreWithoutHistory,
        Self::Promo2Inconsistent,
        Self::CompetitionOpenFuture,
        Self::CompetitionOpenImplausible,
        Self::CompetitionDistanceMissing,
        Self::OpenMissing,
        Self::TestStoreNoRecentHistory,
        Self::SalesOutlier,
        Self::CompetitionSinceMissing,
        Self::TestMissing,
    ];

    /// The rule's id, severity, title and unit.
    pub fn def(self) -> RuleDef {
        let rule = |id: &'static str, severity, title, unit, list_all| {
            debug_assert_eq!(id, self.name());
            RuleDef {
                id: self,
                severity,
                title,
                unit,
                list_all,
            }
        };
        #[rustfmt::skip]
        let def = match self {
            Self::ColumnType => rule("column_type", Error, "every cell parses to its column's type and range", "rows", false),
            Self::StateHolidayDomain => rule("state_holiday_domain", Error, "StateHoliday is one of 0, a, b, c", "rows", false),
            Self::ExtraColumn => rule("extra_column", Info, "files have no columns beyond the published schema", "columns", true),
            Self::DayOfWeekMismatch => rule("day_of_week_mismatch", Error, "DayOfWeek agrees with Date", "rows", false),
            Self::DuplicateStoreDate => rule("duplicate_store_date", Error, "one row per store and date", "rows", false),
            Self::ClosedWithSales => rule("closed_with_sales", Error, "a closed store (Open=0) has no sales", "rows", false),
            Self::NegativeValue => rule("negative_value", Error, "sales, customers and distances are not negative", "rows", false),
            Self::UnknownStore => rule("unknown_store", Error, "every store in train.csv and test.csv exists in store.csv", "stores", true),
            Self::DuplicateStore => rule("duplicate_store", Error, "each store appears once in store.csv", "rows", false),
            Self::PromoIntervalValue => rule("promo_interval_value", Error, "PromoInterval is blank or a known interval", "stores", false),
            Self::TestDatesContiguous => rule("test_dates_contiguous", Error, "test.csv starts the day after train.csv ends and has every day for every store", "problems", true),
            Self::TestDuplicate => rule("test_duplicate", Error, "test.csv has unique Ids and one row per store and date", "rows", false),
            Self::OpenZeroSales => rule("open_zero_sales", Warning, "an open store (Open=1) sold something", "rows", true),
            Self::SalesWithoutCustomers => rule("sales_without_customers", Warning, "a day with sales has customers", "rows", false),
            Self::CustomersWithoutSales => rule("customers_without_sales", Warning, "a day with customers has sales", "rows", false),
            Self::SeriesGap => rule("series_gap", Warning, "every store has a row for every day of the history", "gaps", true),
            Self::StoreWithoutHistory => rule("store_without_history", Warning, "every store in store.csv has sales history", "stores", true),
            Self::Promo2Inconsistent => rule("promo2_inconsistent", Warning, "Promo2=0 has blank Promo2Since*/PromoInterval; Promo2=1 has them all", "stores", false),
            Self::CompetitionOpenFuture => rule("competition_open_future", Warning, "a competitor's opening date is not after the history ends", "stores", false),
            Self::CompetitionOpenImplausible => rule("competition_open_implausible", Warning, "a competitor's opening year is plausible (1950 or later)", "stores", true),
            Self::CompetitionDistanceMissing => rule("competition_distance_missing", Warning, "CompetitionDistance is known", "stores", true),
            Self::OpenMissing => rule("open_missing", Warning, "test.csv states Open for every store-day", "rows", true),
            Self::TestStoreNoRecentHistory => rule("test_store_no_recent_history", Warning, "every store in test.csv has recent, sufficient history", "stores", true),
            Self::SalesOutlier => rule("sales_outlier", Warning, "a day's sales are within the store's robust range (|log sales - median| <= k * 1.4826 * MAD)", "rows", false),
            Self::CompetitionSinceMissing => rule("competition_since_missing", Info, "a known competitor has an opening date", "stores", false),
            Self::TestMissing => rule("test_missing", Info, "test.csv is present", "files", false),
        };
        def
    }

    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ColumnType => "column_type",
            Self::StateHolidayDomain => "state_holiday_domain",
            Self::ExtraColumn => "extra_column",
            Self::DayOfWeekMismatch => "day_of_week_mismatch",
            Self::DuplicateStoreDate => "duplicate_store_date",
            Self::ClosedWithSales => "closed_with_sales",
            Self::NegativeValue => "negative_value",
            Self::UnknownStore => "unknown_store",
            Self::DuplicateStore => "duplicate_store",
            Self::PromoIntervalValue => "promo_interval_value",
            Self::TestDatesContiguous => "test_dates_contiguous",
            Self::TestDuplicate => "test_duplicate",
            Self::OpenZeroSales => "open_zero_sales",
            Self::SalesWithoutCustomers => "sales_without_customers",
            Self::CustomersWithoutSales => "customers_without_sales",
            Self::SeriesGap => "series_gap",
            Self::StoreWithoutHistory => "store_without_history",
            Self::Promo2Inconsistent => "promo2_inconsistent",
            Self::CompetitionOpenFuture => "competition_open_future",
            Self::CompetitionOpenImplausible => "competition_open_implausible",
            Self::CompetitionDistanceMissing => "competition_distance_missing",
            Self::OpenMissing => "open_missing",
            Self::TestStoreNoRecentHistory => "test_store_no_recent_history",
            Self::SalesOutlier => "sales_outlier",
            Self::CompetitionSinceMissing => "competition_since_missing",
            Self::TestMissing => "test_missing",
        }
    }

    /// The rule named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Tests and callers may compare an id with its name.
impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

/// Tunable thresholds.
#[derive(Debug, Clone)]
pub struct ValidateConfig {
    /// Examples kept per rule (rules with `list_all` keep all).
    pub max_examples: usize,
    /// Outlier threshold `k`, in robust standard deviations (1.4826 * MAD) of log sales.
    pub outlier_k: f64,
    /// A store in test.csv needs a row within this many days before the history ends ...
    pub recent_days: i64,
    /// ... and at least this many open days of history.
    pub min_history_days: usize,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        Self {
            max_examples: 10,
            outlier_k: 6.0,
            recent_days: 28,
            min_history_days: 90,
        }
    }
}

/// The policy for blank `Open` in test.csv, stated wherever it applies.
pub const OPEN_MISSING_POLICY: &str = "blank Open is treated as open: a forecast is issued for the day (an unused forecast for a closed day costs nothing, a missing one for an open day leaves the manager without a number)";

struct Collector<'c> {
    cfg: &'c ValidateConfig,
    hits: BTreeMap<RuleId, (usize, Vec<Example>)>,
    policies: HashMap<RuleId, String>,
}

impl<'c> Collector<'c> {
    fn new(cfg: &'c ValidateConfig) -> Self {
        Self {
            cfg,
            hits: BTreeMap::new(),
            policies: HashMap::new(),
        }
    }

    /// Counts one failure of `rule`; builds the example only when it will be kept.
    fn hit(&mut self, rule: RuleId, example: impl FnOnce() -> Example) {
        let keep_all = rule.def().list_all;
        let entry = self.hits.entry(rule).or_default();
        entry.0 += 1;
        if keep_all || entry.1.len() < self.cfg.max_examples {
            entry.1.push(example());
        }
    }

    /// Adds `n` hits of `rule` that have no example to show.
    fn count_more(&mut self, rule: RuleId, n: usize) {
        if n > 0 {
            self.hits.entry(rule).or_default().0 += n;
        }
    }

    fn finish(mut self, summary_base: Summary) -> ValidationReport {
        let mut findings = Vec::new();
        let mut statuses = Vec::new();
        for def in RuleId::ALL.map(RuleId::def) {
            let (count, examples) = self.hits.remove(&def.id).unwrap_or_default();
            statuses.push(RuleStatus {
                rule: def.id,
                severity: def.severity,
                title: def.title,
                count,
            });
            if count > 0 {
                findings.push(Finding {
                    rule: def.id,
                    severity: def.severity,
                    title: def.title,
                    count,
                    unit: def.unit,
                    examples_complete: examples.len() == count,
                    examples,
                    policy: self.policies.remove(&def.id),
                });
            }
        }
        findings.sort_by_key(|f| f.severity);
        let tally = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            errors: tally(Error),
            warnings: tally(Warning),
            infos: tally(Info),
            rules: statuses,
            ..summary_base
        };
        ValidationReport { summary, findings }
    }
}

fn row_example(file: &str, line: u32, store: u16, date: NaiveDate, message: String) -> Example {
    Example {
        file: file.to_string(),
        line: Some(u64::from(line)),
        store: Some(store),
        date: Some(date),
        message,
        ..Example::default()
    }
}

/// Runs every rule over a lenient load.
pub fn validate(load: &LoadReport, cfg: &ValidateConfig) -> ValidationReport {
    let mut c = Collector::new(cfg);
    loading_rules(load, &mut c);
    history_rules(load, &mut c);
    store_rules(load, &mut c);
    forecast_rules(load, &mut c);
    let data = &load.data;
    let summary = Summary {
        origin: data.origin.clone(),
        fingerprint: data.fingerprint.clone(),
        files: load.tables.clone(),
        history_rows: data.history.len(),
        stores: data.stores.len(),
        stores_with_history: data.history.store_ids().len(),
        history_dates: data.history.date_range(),
        forecast_rows: data.requests.as_ref().map_or(0, |r| r.len()),
        forecast_dates: data.requests.as_ref().and_then(|r| r.date_range()),
        errors: 0,
        warnings: 0,
        infos: 0,
        rules: Vec::new(),
    };
    c.finish(summary)
}

fn loading_rules(load: &LoadReport, c: &mut Collector<'_>) {
    for e in &load.rejected {
        let rule = match (&e.problem, e.column.as_deref()) {
            (RowProblem::NotInDomain { .. }, Some("StateHoliday")) => RuleId::StateHolidayDomain,
            _ => RuleId::ColumnType,
        };
        c.hit(rule, || Example {
            file: e.file.clone(),
            line: Some(e.line),
            column: e.column.clone(),
            value: e.value.clone(),
            message: e.to_string(),
            ..Example::default()
        });
    }
    for t in &load.tables {
        // Rows rejected past the reasons the loader keeps are counted, not listed.
        let listed = load.rejected.iter().filter(|e| e.file == t.file).count();
        c.count_more(RuleId::ColumnType, t.rows_rejected.saturating_sub(listed));
        for col in &t.extra_columns {
            c.hit(RuleId::ExtraColumn, || Example {
                file: t.file.clone(),
                line: Some(1),
                column: Some(col.clone()),
                message: format!("column {col} is not part of the schema and is ignored"),
                ..Example::default()
            });
        }
    }
}

/// Days of the history grid: index of `date` from `first`.
fn day_index(first: NaiveDate, date: NaiveDate) -> usize {
    usize::try_from((date - first).num_days()).unwrap_or(0)
}

fn history_rules(load: &LoadReport, c: &mut Collector<'_>) {
    let h = &load.data.history;
    let stores = &load.data.stores;
    let Some((first, last)) = h.date_range() else {
        return;
    };
    let days = day_index(first, last) + 1;
    let max_store = h.store.iter().copied().max().map_or(0, usize::from);
    // seen[store][day] = line of the first row for that store-day (0 = none).
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); max_store + 1];
    let mut unknown: BTreeMap<u16, (usize, u32)> = BTreeMap::new();
    for i in 0..h.len() {
        let r = h.row(i);
        let line = h.line[i];
        let ex = |msg: String| row_example(FILE_TRAIN, line, r.store, r.date, msg);
        if iso_weekday(r.date) != r.day_of_week {
            c.hit(RuleId::DayOfWeekMismatch, || {
                ex(format!(
                    "DayOfWeek is {} but {} is a {}",
                    r.day_of_week,
                    r.date,
                    r.date.format("%A")
                ))
            });
        }
        let grid = &mut seen[usize::from(r.store)];
        if grid.is_empty() {
            grid.resize(days, 0);
        }
        let d = day_index(first, r.date);
        if grid[d] != 0 {
            let prev = grid[d];
            c.hit(RuleId::DuplicateStoreDate, || {
                ex(format!(
                    "store {} has another row for {} at line {prev}",
                    r.store, r.date
                ))
            });
        } else {
            grid[d] = line.max(1);
        }
        if !r.open && r.sales > 0 {
            c.hit(RuleId::ClosedWithSales, || {
                ex(format!("Open=0 but Sales={}", r.sales))
            });
        }
        if r.open && r.sales == 0 {
            c.hit(RuleId::OpenZeroSales, || {
                ex(format!("Open=1 but Sales=0 (Customers={})", r.customers))
            });
        }
        if r.sales > 0 && r.customers == 0 {
            c.hit(RuleId::SalesWithoutCustomers, || {
                ex(format!("Sales={} with Customers=0", r.sales))
            });
        }
        if r.sales == 0 && r.customers > 0 {
            c.hit(RuleId::CustomersWithoutSales, || {
                ex(format!("Customers={} with Sales=0", r.customers))
            });
        }
        if r.sales < 0 || r.customers < 0 {
            c.hit(RuleId::NegativeValue, || {
                ex(format!("Sales={}, Customers={}", r.sales, r.customers))
            });
        }
        if stores.get(r.store).is_none() {
            let e = unknown.entry(r.store).or_insert((0, line));
            e.0 += 1;
        }
    }
    for (store, (rows, line)) in unknown {
        c.hit(RuleId::UnknownStore, || Example {
            file: FILE_TRAIN.into(),
            line: Some(u64::from(line)),
            store: Some(store),
            message: format!("store {store} has {rows} rows in train.csv but is not in store.csv"),
            ..Example::default()
        });
    }
    for (store, grid) in seen.iter().enumerate() {
        let Ok(store) = u16::try_from(store) else {
            continue;
        };
        if grid.is_empty() {
            continue;
        }
        let mut d = 0;
        while d < days {
            if grid[d] != 0 {
                d += 1;
                continue;
            }
            let start = d;
            while d < days && grid[d] == 0 {
                d += 1;
            }
            let from = first + Duration::days(start as i64);
            let until = first + Duration::days(d as i64 - 1);
            let missing = d - start;
            c.hit(RuleId::SeriesGap, || Example {
                file: FILE_TRAIN.into(),
                store: Some(store),
                date: Some(from),
                until: Some(until),
                message: format!(
                    "store {store} has no rows from {from} to {until} ({missing} days)"
                ),
                ..Example::default()
            });
        }
    }
    outlier_rule(load, c);
}

fn outlier_rule(load: &LoadReport, c: &mut Collector<'_>) {
    let h = &load.data.history;
    let k = c.cfg.outlier_k;
    let mut flagged: Vec<(f64, usize, f64)> = Vec::new();
    for rows in h.rows_by_store() {
        let idx: Vec<usize> = rows
            .into_iter()
            .filter(|&i| h.open[i] && h.sales[i] > 0)
            .collect();
        if idx.len() < 30 {
            continue;
        }
        let logs: Vec<f64> = idx.iter().map(|&i| f64::from(h.sales[i]).ln()).collect();
        let med = median(&logs);
        let dev: Vec<f64> = logs.iter().map(|x| (x - med).abs()).collect();
        let scale = 1.4826 * median(&dev);
        if scale <= 0.0 {
            continue;
        }
        for (j, &i) in idx.iter().enumerate() {
            let z = (logs[j] - med) / scale;
            if z.abs() > k {
                flagged.push((z, i, med.exp()));
            }
        }
    }
    // Most extreme first, so the examples are the ones worth looking at.
    flagged.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    for (z, i, typical) in flagged {
        let r = h.row(i);
        c.hit(RuleId::SalesOutlier, || {
            row_example(
                FILE_TRAIN,
                h.line[i],
                r.store,
                r.date,
                format!(
                    "Sales={} vs the store's median {:.0} ({z:+.1} robust SD{})",
                    r.sales,
                    typical,
                    if r.promo { ", promo day" } else { "" }
                ),
            )
        });
    }
}

fn median(values: &[f64]) -> f64 {
    storecast_stats::median(values)
}

fn store_rules(load: &LoadReport, c: &mut Collector<'_>) {
    let data = &load.data;
    let history_end = data.history.date_range().map(|(_, last)| last);
    let with_history: HashSet<u16> = data.history.store_ids().into_iter().collect();
    let mut seen_ids: HashMap<u16, u32> = HashMap::new();
    for s in &data.stores.rows {
        let ex = |msg: String| Example {
            file: FILE_STORES.into(),
            line: Some(u64::from(s.line)),
            store: Some(s.store),
            message: msg,
            ..Example::default()
        };
        if let Some(prev) = seen_ids.insert(s.store, s.line) {
            c.hit(RuleId::DuplicateStore, || {
                ex(format!("store {} is also at line {prev}", s.store))
            });
        }
        if !data.history.is_empty() && !with_history.contains(&s.store) {
            c.hit(RuleId::StoreWithoutHistory, || {
                ex(format!("store {} has no rows in train.csv", s.store))
            });
        }
        if let Some(text) = &s.promo_interval_text {
            if s.promo_interval.is_none() {
                c.hit(RuleId::PromoIntervalValue, || {
                    let mut e = ex(format!("unknown PromoInterval {text:?}"));
                    e.value = Some(text.clone());
                    e
                });
            }
        }
        let since_parts = [
            s.promo2_since_week.is_some(),
            s.promo2_since_year.is_some(),
            s.promo_interval_text.is_some(),
        ];
        if !s.promo2 && since_parts.iter().any(|&p| p) {
            c.hit(RuleId::Promo2Inconsistent, || {
                ex("Promo2=0 but Promo2SinceWeek/Year or PromoInterval is filled".into())
            });
        } else if s.promo2 && !since_parts.iter().all(|&p| p) {
            c.hit(RuleId::Promo2Inconsistent, || {
                ex("Promo2=1 but Promo2SinceWeek/Year or PromoInterval is blank".into())
            });
        }
        match s.competition_distance {
            None => c.hit(RuleId::CompetitionDistanceMissing, || {
                ex(format!("store {} has no CompetitionDistance", s.store))
            }),
            Some(d) if d < 0.0 => c.hit(RuleId::NegativeValue, || {
                let mut e = ex(format!("CompetitionDistance={d}"));
                e.column = Some("CompetitionDistance".into());
                e
            }),
            Some(_) => {
                if s.competition_open_since_year.is_none()
                    || s.competition_open_since_month.is_none()
                {
                    c.hit(RuleId::CompetitionSinceMissing, || {
                        ex(format!(
                            "store {} has a competitor at {:.0} m but no opening month/year",
                            s.store,
                            s.competition_distance.unwrap_or_default()
                        ))
                    });
                }
            }
        }
        if let Some(year) = s.competition_open_since_year {
            if year < 1950 {
                c.hit(RuleId::CompetitionOpenImplausible, || {
                    let mut e = ex(format!("CompetitionOpenSinceYear={year}"));
                    e.value = Some(year.to_string());
                    e
                });
            }
        }
        if let (Some(open), Some(end)) = (s.competition_open_date(), history_end) {
            if open > end {
                c.hit(RuleId::CompetitionOpenFuture, || {
                    ex(format!(
                        "competitor opens {open}, after the history ends ({end})"
                    ))
                });
            }
        }
    }
}

fn forecast_rules(load: &LoadReport, c: &mut Collector<'_>) {
    let data = &load.data;
    let Some(req) = &data.requests else {
        c.hit(RuleId::TestMissing, || Example {
            file: FILE_TEST.into(),
            message: "no test.csv: nothing to forecast was given".into(),
            ..Example::default()
        });
        return;
    };
    let h = &data.history;
    let history_end = h.date_range().map(|(_, last)| last);
    // Weekday opening habit of each store, for the open_missing evidence.
    let mut weekday_open: HashMap<(u16, u8), (usize, usize)> = HashMap::new();
    let mut last_row: HashMap<u16, NaiveDate> = HashMap::new();
    let mut open_days: HashMap<u16, usize> = HashMap::new();
    for i in 0..h.len() {
        let e = weekday_open
            .entry((h.store[i], h.day_of_week[i]))
            .or_default();
        e.1 += 1;
        if h.open[i] {
            e.0 += 1;
            *open_days.entry(h.store[i]).or_default() += 1;
        }
        let l = last_row.entry(h.store[i]).or_insert(h.date[i]);
        *l = (*l).max(h.date[i]);
    }
    let mut ids: HashMap<u32, u32> = HashMap::new();
    let mut store_days: HashMap<(u16, NaiveDate), u32> = HashMap::new();
    let mut unknown: BTreeMap<u16, (usize, u32)> = BTreeMap::new();
    let mut dates_by_store: BTreeMap<u16, Vec<NaiveDate>> = BTreeMap::new();
    for q in &req.rows {
        let ex = |msg: String| row_example(FILE_TEST, q.line, q.store, q.date, msg);
        if iso_weekday(q.date) != q.day_of_week {
            c.hit(RuleId::DayOfWeekMismatch, || {
                ex(format!(
                    "DayOfWeek is {} but {} is a {}",
                    q.day_of_week,
                    q.date,
                    q.date.format("%A")
                ))
            });
        }
        if let Some(prev) = ids.insert(q.id, q.line) {
            c.hit(RuleId::TestDuplicate, || {
                ex(format!("Id {} is also at line {prev}", q.id))
            });
        }
        if let Some(prev) = store_days.insert((q.store, q.date), q.line) {
            c.hit(RuleId::TestDuplicate, || {
                ex(format!(
                    "store {} has another row for {} at line {prev}",
                    q.store, q.date
                ))
            });
        }
        if data.stores.get(q.store).is_none() {
            unknown.entry(q.store).or_insert((0, q.line)).0 += 1;
        }
        dates_by_store.entry(q.store).or_default().push(q.date);
        if q.open.is_none() {
            let (open, total) = weekday_open
                .get(&(q.store, q.day_of_week))
                .copied()
                .unwrap_or_default();
            let hol = if q.state_holiday.is_holiday() {
                format!(", state holiday {}", q.state_holiday.code())
            } else {
                String::new()
            };
            c.hit(RuleId::OpenMissing, || {
                ex(format!(
                    "Open is blank on a {}{hol}; the store opened on {open} of its {total} past {}s",
                    q.date.format("%A"),
                    q.date.format("%A")
                ))
            });
        }
    }
    if c.hits.contains_key(&RuleId::OpenMissing) {
        c.policies
            .insert(RuleId::OpenMissing, OPEN_MISSING_POLICY.to_string());
    }
    for (store, (rows, line)) in unknown {
        c.hit(RuleId::UnknownStore, || Example {
            file: FILE_TEST.into(),
            line: Some(u64::from(line)),
            store: Some(store),
            message: format!("store {store} has {rows} rows in test.csv but is not in store.csv"),
            ..Example::default()
        });
    }
    test_coverage(c, req, history_end, &dates_by_store, &last_row, &open_days);
}

/// test.csv's dates: it starts the day after the history and every store covers every day;
/// and each of its stores has recent history enough to forecast from.
fn test_coverage(
    c: &mut Collector<'_>,
    req: &storecast_data::ForecastRequests,
    history_end: Option<NaiveDate>,
    dates_by_store: &BTreeMap<u16, Vec<NaiveDate>>,
    last_row: &HashMap<u16, NaiveDate>,
    open_days: &HashMap<u16, usize>,
) {
    if let (Some((first, last)), Some(end)) = (req.date_range(), history_end) {
        let expected = end + Duration::days(1);
        if first != expected {
            c.hit(RuleId::TestDatesContiguous, || Example {
                file: FILE_TEST.into(),
                date: Some(first),
                message: format!(
                    "test.csv starts {first}; the history ends {end}, so {expected} was expected"
                ),
                ..Example::default()
            });
        }
        let span = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        for (store, dates) in dates_by_store {
            let distinct: HashSet<&NaiveDate> = dates.iter().collect();
            if distinct.len() < span {
                let missing: Vec<NaiveDate> = first
                    .iter_days()
                    .take(span)
                    .filter(|d| !distinct.contains(d))
                    .collect();
                c.hit(RuleId::TestDatesContiguous, || Example {
                    file: FILE_TEST.into(),
                    store: Some(*store),
                    date: missing.first().copied(),
                    until: missing.last().copied(),
                    message: format!(
                        "store {store} lacks {} of the {span} days from {first} to {last}",
                        missing.len()
                    ),
                    ..Example::default()
                });
            }
        }
        for store in dates_by_store.keys() {
            let last_seen = last_row.get(store).copied();
            let days_open = open_days.get(store).copied().unwrap_or(0);
            let recent = last_seen.is_some_and(|d| (end - d).num_days() < c.cfg.recent_days);
            if !recent || days_open < c.cfg.min_history_days {
                let why = match last_seen {
                    None => "no history at all".to_string(),
                    Some(d) if !recent => format!(
                        "last row on {d}, {} days before the history ends",
                        (end - d).num_days()
                    ),
                    Some(_) => format!(
                        "only {days_open} open days of history (fewer than {})",
                        c.cfg.min_history_days
                    ),
                };
                c.hit(RuleId::TestStoreNoRecentHistory, || Example {
                    file: FILE_TEST.into(),
                    store: Some(*store),
                    date: last_seen,
                    message: format!(
                        "store {store}: {why}; its forecast rests on chain-level patterns"
                    ),
                    ..Example::default()
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn every_rule_name_is_unique_and_round_trips() {
        let names: HashSet<&str> = RuleId::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), RuleId::ALL.len());
        for r in RuleId::ALL {
            assert_eq!(r.def().id, r);
            assert_eq!(RuleId::from_name(r.name()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).expect("json"),
                format!("\"{}\"", r.name())
            );
        }
        assert_eq!(RuleId::from_name("no_such_rule"), None);
    }
}
