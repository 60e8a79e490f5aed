//! Trend: like-for-like year-over-year growth, by store type, and the stores that grow or
//! decline.
//!
//! Why this module exists: targets are set against last year, so the sales team needs the
//! like-for-like growth (same stores, same calendar window, weekday- and promo-adjusted) and the
//! list of stores that really moved — not the ones whose numbers wobble. Store-level
//! significance uses monthly means (weekly values are autocorrelated) and a Benjamini–Hochberg
//! correction across stores, a separate family from the report's headline tests.

use super::{stat_from, type_label, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::stats;
use crate::text;
use chrono::{Datelike, NaiveDate};
use storecast_charts::{Chart, Kind, Series};

/// Per store: adjusted sales sums and counts of normal days per month within a date window.
fn window_months(ctx: &Ctx<'_>, i: usize, from: NaiveDate, to: NaiveDate) -> Vec<(f64, usize)> {
    let p = ctx.panel;
    let mut m = vec![(0.0, 0usize); 12];
    let (Some(a), Some(b)) = (p.index(from), p.index(to)) else {
        return m;
    };
    for d in a..=b {
        if p.stores[i].normal(d) {
            let k = p.dates[d].month0() as usize;
            m[k].0 += ctx.adjusted(i, d);
            m[k].1 += 1;
        }
    }
    m
}

fn level(m: &[(f64, usize)]) -> Option<f64> {
    let (s, n) = m.iter().fold((0.0, 0usize), |a, x| (a.0 + x.0, a.1 + x.1));
    (n >= 60).then(|| s / n as f64)
}

/// The trend finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let end = p.end();
    let y1 = end.year();
    let mut stats_v = Vec::new();
    let mut charts = Vec::new();
    let mut tables = Vec::new();
    let window = |y: i32| -> Option<(NaiveDate, NaiveDate)> {
        let from = NaiveDate::from_ymd_opt(y, 1, 1)?;
        let to = NaiveDate::from_ymd_opt(y, end.month(), end.day())
            .or_else(|| NaiveDate::from_ymd_opt(y, end.month(), 28))?;
        (from >= p.start).then_some((from, to))
    };
    let mut type_rows = Vec::new();
    let mut latest: Option<(Vec<usize>, Vec<f64>)> = None;
    let mut per_store_p: Vec<(usize, f64, f64)> = Vec::new();
    for (j, y) in [y1, y1 - 1].into_iter().enumerate() {
        let (Some(w1), Some(w0)) = (window(y), window(y - 1)) else {
            continue;
        };
        let mut st = Vec::new();
        let mut logs = Vec::new();
        for i in 0..p.stores.len() {
            let m1 = window_months(ctx, i, w1.0, w1.1);
            let m0 = window_months(ctx, i, w0.0, w0.1);
            let (Some(l1), Some(l0)) = (level(&m1), level(&m0)) else {
                continue;
            };
            st.push(i);
            logs.push((l1 / l0).ln());
            if j == 0 {
                let a: Vec<f64> = m1
                    .iter()
                    .filter(|x| x.1 >= 8)
                    .map(|x| (x.0 / x.1 as f64).ln())
                    .collect();
                let b: Vec<f64> = m0
                    .iter()
                    .filter(|x| x.1 >= 8)
                    .map(|x| (x.0 / x.1 as f64).ln())
                    .collect();
                if a.len() >= 3 && b.len() >= 3 {
                    let t = stats::welch_t(&a, &b);
                    per_store_p.push((i, (l1 / l0).ln(), t.p));
                }
            }
        }
        let window_name = format!(
            "{}–{} {} vs {}",
            w1.0.format("%d %b"),
            w1.1.format("%d %b"),
            y,
            y - 1
        );
        if let Some((e, pv)) = ctx.store_effect(1000 + j as u64, &st, &logs) {
            let name = if j == 0 {
                "yoy_growth".to_string()
            } else {
                "yoy_growth_previous".to_string()
            };
            stats_v.push(
                stat_from(
                    &name,
                    format!("Like-for-like growth, {window_name}"),
                    &e,
                    Unit::Change,
                    st.len(),
                )
                .p(pv),
            );
            if j == 0 {
                charts.push(by_type(
                    ctx,
                    &st,
                    &logs,
                    &e,
                    &window_name,
                    &mut stats_v,
                    &mut type_rows,
                ));
                latest = Some((st.clone(), logs.clone()));
            }
        }
    }
    full_year(ctx, &mut stats_v);
    tables.push(movers(ctx, &per_store_p, &mut stats_v));
    tables.push(Table::new(
        "Like-for-like growth by store type",
        &["type", "stores", "growth", "95% CI"],
        type_rows,
    ));
    if let Some((_, logs)) = &latest {
        charts.push(histogram(logs));
    }
    let chain_level = ctx.chain_level();
    let n_stores = p.stores.len();
    let open_days = ctx.open_days_per_year();
    let finding = Finding {
        id: "trend".into(),
        title: "Trend: like-for-like growth".into(),
        question: "Are sales growing year over year, for which store types, and which stores grow or decline?".into(),
        method: "Like-for-like: the same calendar window (1 January to the last day of the data) in consecutive \
                 years, each store's mean weekday- and promo-adjusted sales on normal days (at least 60 days in \
                 each window), growth = ratio − 1, averaged over stores that have both windows (so the stores \
                 missing the second half of 2014 drop out of comparisons needing it). Full year: stores with \
                 every month of both years. Intervals: store bootstrap; tests: one-sample t-test of the log \
                 growth. Store level: Welch t-test on the monthly log means of the two windows, Benjamini–Hochberg \
                 across stores (a separate family from the report's tests)."
            .into(),
        statistics: stats_v,
        effect_business: String::new(),
        test: Some("One-sample t-test on log growth; per store Welch t-test on monthly means with BH correction".into()),
        charts,
        tables,
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words {
        chain_level,
        n_stores,
        open_days,
    };
    Draft::new(finding, conclude)
}

/// Like-for-like growth by store type in the latest window: its statistics and table rows,
/// and the chart beside the chain's growth `all`.
fn by_type(
    ctx: &Ctx<'_>,
    st: &[usize],
    logs: &[f64],
    all: &crate::boot::Est,
    window_name: &str,
    stats_v: &mut Vec<Statistic>,
    type_rows: &mut Vec<Vec<String>>,
) -> Chart {
    let e = all;
    let mut labels = vec!["all".to_string()];
    let mut vals = vec![e.est];
    let mut iv = vec![e.ci()];
    for t in 0..4 {
        let (ts, tl): (Vec<usize>, Vec<f64>) = st
            .iter()
            .zip(logs)
            .filter(|(i, _)| usize::from(ctx.strata[**i]) == t)
            .map(|(i, l)| (*i, *l))
            .unzip();
        if let Some((te, tp)) = ctx.store_effect(1010 + t as u64, &ts, &tl) {
            stats_v.push(
                stat_from(
                    &format!("yoy_growth_type_{}", type_label(t)),
                    format!(
                        "Like-for-like growth of type-{} stores, {window_name}",
                        type_label(t)
                    ),
                    &te,
                    Unit::Change,
                    ts.len(),
                )
                .p(tp),
            );
            labels.push(format!("type {}", type_label(t)));
            vals.push(te.est);
            iv.push(te.ci());
            type_rows.push(vec![
                type_label(t).to_string(),
                ts.len().to_string(),
                text::pct(te.est),
                format!("{} to {}", text::pct(te.lo), text::pct(te.hi)),
            ]);
        }
    }
    Chart::new(
        "yoy-by-type",
        Kind::Bar,
        format!("Like-for-like growth by store type, {window_name} (95% CI)"),
    )
    .axes("store type", "growth")
    .labels(labels)
    .series(Series::new("growth", vals).with_intervals(iv))
    .percent()
    .reference(0.0)
}

/// Like-for-like growth of the last full calendar year against the year before, for stores
/// with both years (nearly) complete.
fn full_year(ctx: &Ctx<'_>, stats_v: &mut Vec<Statistic>) {
    let p = ctx.panel;
    let end = p.end();
    let y1 = end.year();
    let full = (p.start.year()..y1).rev().find(|&y| {
        NaiveDate::from_ymd_opt(y, 12, 31).is_some_and(|d| d <= end)
            && NaiveDate::from_ymd_opt(y - 1, 1, 1).is_some_and(|d| d >= p.start)
    });
    if let Some(y) = full {
        let (mut st, mut logs) = (Vec::new(), Vec::new());
        for i in 0..p.stores.len() {
            let f = |yy: i32| {
                let m = window_months(
                    ctx,
                    i,
                    NaiveDate::from_ymd_opt(yy, 1, 1).unwrap_or(p.start),
                    NaiveDate::from_ymd_opt(yy, 12, 31).unwrap_or(end),
                );
                m.iter().all(|x| x.1 >= 8).then(|| level(&m)).flatten()
            };
            if let (Some(a), Some(b)) = (f(y), f(y - 1)) {
                st.push(i);
                logs.push((a / b).ln());
            }
        }
        if let Some((e, pv)) = ctx.store_effect(1020, &st, &logs) {
            stats_v.push(
                stat_from(
                    "full_year_growth",
                    format!("Like-for-like growth, full year {y} vs {} (stores with both years complete)", y - 1),
                    &e,
                    Unit::Change,
                    st.len(),
                )
                .p(pv),
            );
        }
    }
}

/// The stores that grow or decline significantly (Welch t on monthly means, Benjamini–Hochberg
/// across stores): their counts as statistics, and the table of the top ten each way.
fn movers(ctx: &Ctx<'_>, per_store_p: &[(usize, f64, f64)], stats_v: &mut Vec<Statistic>) -> Table {
    let p = ctx.panel;
    let ps: Vec<f64> = per_store_p.iter().map(|x| x.2).collect();
    let adj = stats::benjamini_hochberg(&ps);
    let mut sig: Vec<(usize, f64, f64)> = per_store_p
        .iter()
        .zip(&adj)
        .filter(|(_, a)| **a < ctx.cfg.alpha)
        .map(|(x, a)| (x.0, x.1, *a))
        .collect();
    let up = sig.iter().filter(|x| x.1 > 0.0).count();
    let down = sig.iter().filter(|x| x.1 < 0.0).count();
    stats_v.push(Statistic::new(
        "growing_stores",
        "Stores with significant like-for-like growth (Welch t on monthly means, BH across stores)",
        up as f64,
        Unit::Count,
        per_store_p.len(),
    ));
    stats_v.push(Statistic::new(
        "declining_stores",
        "Stores with a significant like-for-like decline (Welch t on monthly means, BH across stores)",
        down as f64,
        Unit::Count,
        per_store_p.len(),
    ));
    sig.sort_by(|a, b| a.1.total_cmp(&b.1));
    let row = |x: &(usize, f64, f64)| {
        let s = &p.stores[x.0];
        vec![
            s.id.to_string(),
            s.store_type.code().to_string(),
            s.assortment.code().to_string(),
            text::eur(ctx.prof.level[x.0]),
            text::pct(x.1.exp_m1()),
            text::p_cell(Some(x.2)),
        ]
    };
    let mut store_rows: Vec<Vec<String>> =
        sig.iter().filter(|x| x.1 < 0.0).take(10).map(row).collect();
    store_rows.extend(sig.iter().rev().filter(|x| x.1 > 0.0).take(10).map(row));
    Table::new(
        "Significant decliners (top) and growers (bottom), latest window",
        &[
            "store",
            "type",
            "assortment",
            "normal day",
            "growth",
            "BH-adjusted p",
        ],
        store_rows,
    )
}

/// Stores by like-for-like growth in the latest window, in bins of 5 points.
fn histogram(logs: &[f64]) -> Chart {
    let g: Vec<f64> = logs.iter().map(|l| l.exp_m1()).collect();
    let edges: Vec<f64> = (-6..=6).map(|k| f64::from(k) * 0.05).collect();
    let mut counts = vec![0.0; edges.len() + 1];
    for x in &g {
        let b = edges.iter().filter(|&&e| *x >= e).count();
        counts[b] += 1.0;
    }
    let mut labels = vec![format!("< {}", text::pct(edges[0]))];
    for k in 0..edges.len() - 1 {
        labels.push(format!(
            "{} to {}",
            text::pct(edges[k]),
            text::pct(edges[k + 1])
        ));
    }
    labels.push(format!("≥ {}", text::pct(edges[edges.len() - 1])));
    Chart::new(
        "yoy-histogram",
        Kind::Bar,
        "Stores by like-for-like growth (latest window)",
    )
    .axes("growth", "stores")
    .labels(labels)
    .series(Series::new("stores", counts))
    .from_zero()
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    chain_level: f64,
    n_stores: usize,
    open_days: f64,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words {
            chain_level,
            n_stores,
            open_days,
        } = self;
        let mut c = Conclusion::default();
        let mut t = String::new();
        if let Some(s) = f.stat("yoy_growth") {
            t.push_str(&format!(
                "Like-for-like sales {} by {} year over year. ",
                if s.estimate >= 0.0 { "grew" } else { "fell" },
                wd.full(s)
            ));
            let types: Vec<&Statistic> = f
                .statistics
                .iter()
                .filter(|x| x.name.starts_with("yoy_growth_type_"))
                .collect();
            if let (Some(hi), Some(lo)) = (
                types
                    .iter()
                    .max_by(|a, b| a.estimate.total_cmp(&b.estimate)),
                types
                    .iter()
                    .min_by(|a, b| a.estimate.total_cmp(&b.estimate)),
            ) {
                t.push_str(&format!(
                    "Type {} grows most ({}), type {} least ({}). ",
                    hi.name.trim_start_matches("yoy_growth_type_"),
                    text::pct(hi.estimate),
                    lo.name.trim_start_matches("yoy_growth_type_"),
                    text::pct(lo.estimate)
                ));
            }
            if wd.sure(s) {
                let year = s.estimate * chain_level * open_days * n_stores as f64;
                c.headlines.push(HeadlineCandidate {
                    text: format!(
                        "Like-for-like sales are {} year over year ({} a year chain-wide).",
                        text::pct(s.estimate),
                        text::eur_big(year)
                    ),
                    eur_per_year: Some(year.abs()),
                    score: year.abs() * 0.5,
                });
            }
        }
        if let Some(s) = f.stat("full_year_growth") {
            t.push_str(&format!("Full-year growth: {}. ", wd.full(s)));
        }
        let up = f.stat("growing_stores").map_or(0.0, |s| s.estimate);
        let down = f.stat("declining_stores").map_or(0.0, |s| s.estimate);
        let n = f.stat("growing_stores").map_or(0, |s| s.n);
        t.push_str(&format!(
                "{} of {} stores grow and {} decline significantly (BH-adjusted, across stores); the table lists them.",
                up, n, down
            ));
        if down > 0.0 {
            c.headlines.push(HeadlineCandidate {
                    text: format!(
                        "{} stores decline significantly year over year and {} grow — review the decliners listed in the trend section.",
                        down, up
                    ),
                    eur_per_year: None,
                    score: 1.1,
                });
        }
        c.text = t.trim().to_string();
        c
    }
}
