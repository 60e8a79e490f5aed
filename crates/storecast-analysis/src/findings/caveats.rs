//! Data caveats: what in the data limits the findings, linked to the validation report.
//!
//! Why this module exists: a sales director reading "+20 % promo uplift" must also read which
//! stores and months are missing and how odd days were treated. The gaps are measured from the
//! data itself; the validation report (when given) adds its rule counts, each linked to its
//! entry (e.g. `validation.html#series_gap`), so the two reports tell one story.

use super::{Conclusion, Ctx, Draft};
use crate::model::{Finding, Link, Statistic, Table, Unit};
use crate::panel::{F_OPEN, F_PRESENT};
use crate::text;
use std::collections::BTreeMap;
use storecast_charts::{Chart, Kind, Series};

/// Rules whose counts become statistics of the finding.
const KEY_RULES: [storecast_validate::RuleId; 5] = [
    storecast_validate::RuleId::SeriesGap,
    storecast_validate::RuleId::SalesOutlier,
    storecast_validate::RuleId::OpenMissing,
    storecast_validate::RuleId::OpenZeroSales,
    storecast_validate::RuleId::CompetitionDistanceMissing,
];

/// The caveats finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let (mut stats_v, gap_text) = data_gaps(ctx);
    let href = ctx.cfg.validation_href.clone();
    let mut links = Vec::new();
    let mut rows = Vec::new();
    let mut rule_labels = Vec::new();
    let mut rule_counts = Vec::new();
    if let Some(v) = ctx.validation {
        for f in &v.findings {
            links.push(Link {
                label: format!(
                    "{} ({} {})",
                    f.title,
                    text::thousands(f.count as f64),
                    f.unit
                ),
                href: format!("{href}#{}", f.rule),
            });
            rows.push(vec![
                f.rule.to_string(),
                f.severity.name().to_string(),
                text::thousands(f.count as f64),
                f.unit.to_string(),
                f.title.to_string(),
            ]);
            rule_labels.push(f.rule.to_string());
            rule_counts.push(f.count as f64);
        }
        for rule in KEY_RULES {
            let unit = v.finding(rule).map_or("", |f| f.unit);
            stats_v.push(Statistic::new(
                &format!("validation_{rule}"),
                format!("Validation rule {rule}: failures ({unit})"),
                v.count(rule) as f64,
                Unit::Count,
                v.summary.history_rows,
            ));
        }
    } else {
        links.push(Link {
            label: "Validation report (run `storecast validate`)".into(),
            href: href.clone(),
        });
    }
    let mut charts = vec![coverage_chart(ctx)];
    if !rule_counts.is_empty() {
        charts.push(
            Chart::new(
                "validation-counts",
                Kind::Bar,
                "Validation findings by rule",
            )
            .axes("rule", "count")
            .labels(rule_labels)
            .series(Series::new("count", rule_counts))
            .from_zero(),
        );
    }
    let finding = Finding {
        id: "caveats".into(),
        title: "Data caveats".into(),
        question: "What in the data limits these findings?".into(),
        method: "Missing days are counted from the history grid (every store × every day of the range). Stores \
                 missing part of the range simply drop out of comparisons that need the missing weeks (every \
                 comparison is within a store). Open days with zero sales, state holidays and the days next to \
                 closures are left out of the comparisons; sales outliers are kept (they enter only through \
                 store-level ratios and means over many days). Rule counts come from the validation report."
            .into(),
        statistics: stats_v,
        effect_business: String::new(),
        test: None,
        charts,
        tables: if rows.is_empty() {
            Vec::new()
        } else {
            vec![Table::new(
                "Validation findings",
                &["rule", "severity", "count", "unit", "what it checks"],
                rows,
            )]
        },
        conclusion: String::new(),
        links,
    };
    let has_validation = ctx.validation.is_some();
    let conclude = Words {
        gap_text,
        has_validation,
    };
    Draft::new(finding, conclude)
}

/// What the history grid lacks: stores and store-days without rows, open days without sales,
/// stores without history, and the gap most stores share (its sentence).
fn data_gaps(ctx: &Ctx<'_>) -> (Vec<Statistic>, String) {
    let p = ctx.panel;
    let n = p.stores.len();
    // Missing days per store, grouped by the range they span.
    let mut ranges: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut stores_missing = 0;
    let mut missing_days = 0usize;
    for s in &p.stores {
        let miss: Vec<usize> = (0..p.n_days)
            .filter(|&d| s.flags[d] & F_PRESENT == 0)
            .collect();
        if let (Some(&a), Some(&b)) = (miss.first(), miss.last()) {
            stores_missing += 1;
            missing_days += miss.len();
            *ranges.entry((a, b)).or_default() += 1;
        }
    }
    let main_gap = ranges
        .iter()
        .max_by_key(|(_, c)| **c)
        .map(|(r, c)| (*r, *c));
    let open_zero: usize = p
        .stores
        .iter()
        .map(|s| {
            (0..p.n_days)
                .filter(|&d| {
                    s.flags[d] & (F_PRESENT | F_OPEN) == (F_PRESENT | F_OPEN) && s.sales[d] <= 0.0
                })
                .count()
        })
        .sum();
    let mut stats_v = vec![
        Statistic::new(
            "stores_with_missing_days",
            "Stores with at least one missing day in the history",
            stores_missing as f64,
            Unit::Count,
            n,
        ),
        Statistic::new(
            "missing_store_days",
            "Store-days without a row",
            missing_days as f64,
            Unit::Count,
            n * p.n_days,
        ),
        Statistic::new(
            "open_days_without_sales",
            "Open days with zero sales (left out of every comparison)",
            open_zero as f64,
            Unit::Count,
            p.rows,
        ),
        Statistic::new(
            "stores_without_history",
            "Stores in store.csv without any history",
            p.stores_without_history.len() as f64,
            Unit::Count,
            n + p.stores_without_history.len(),
        ),
    ];
    let mut gap_text = String::new();
    if let Some(((a, b), c)) = main_gap {
        stats_v.push(Statistic::new(
            "main_gap_stores",
            format!("Stores missing {} .. {}", p.dates[a], p.dates[b]),
            c as f64,
            Unit::Count,
            n,
        ));
        gap_text = format!(
            "{} stores ({}) have no rows from {} to {}",
            c,
            text::share(c as f64 / n.max(1) as f64),
            p.dates[a],
            p.dates[b]
        );
    }
    (stats_v, gap_text)
}

/// Stores with data, by week.
fn coverage_chart(ctx: &Ctx<'_>) -> Chart {
    let p = ctx.panel;
    let coverage: Vec<f64> = (0..p.n_weeks)
        .map(|k| {
            p.stores
                .iter()
                .filter(|s| {
                    (0..7)
                        .filter_map(|w| p.day(k, w))
                        .any(|d| s.flags[d] & F_PRESENT != 0)
                })
                .count() as f64
        })
        .collect();
    let week_labels: Vec<String> = (0..p.n_weeks)
        .map(|k| p.dates[p.day(k, 0).or_else(|| p.day(k, 6)).unwrap_or(0)].to_string())
        .collect();
    Chart::new("data-coverage", Kind::Line, "Stores with data, by week")
        .axes("week", "stores with rows")
        .labels(week_labels)
        .series(Series::new("stores", coverage))
        .from_zero()
        .zoomable()
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    gap_text: String,
    has_validation: bool,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, _wd: &super::Wording) -> Conclusion {
        let Words {
            gap_text,
            has_validation,
        } = self;
        let mut c = Conclusion::default();
        let mut t = String::new();
        if !gap_text.is_empty() {
            t.push_str(&format!(
                "{gap_text}: findings that need those weeks rest on the other stores. "
            ));
        }
        if let Some(s) = f.stat("validation_sales_outlier") {
            t.push_str(&format!(
                    "The validation report flags {} outlier days (kept; they barely move store-level ratios). ",
                    text::thousands(s.estimate)
                ));
        }
        if let Some(s) = f.stat("validation_open_missing") {
            if s.estimate > 0.0 {
                t.push_str(&format!(
                    "{} forecast rows have a blank Open flag. ",
                    text::thousands(s.estimate)
                ));
            }
        }
        let oz = f
            .stat("open_days_without_sales")
            .map_or(0.0, |s| s.estimate);
        t.push_str(&format!(
            "{} open days without sales are left out.",
            text::thousands(oz)
        ));
        if !has_validation {
            t.push_str(" No validation report was given; run the validation for the full list.");
        }
        c.text = t.trim().to_string();
        c
    }
}
