//! Business report tests: every table of the report is recomputed here, independently, from
//! the raw backtest predictions of a small synthetic chain (and of a hand-made backtest with
//! planted hard stores), and compared with what the report module computes and prints.

use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use storecast_charts::Block;
use storecast_data::{Assortment, StoreType};
use storecast_model::backtest::{self, BacktestConfig, BacktestResult, Fold, Prediction};
use storecast_model::training::coverage_rows;
use storecast_model::Timeline;
use storecast_reports::business::{
    self, accuracy_bands, hardest_stores, headline, savings, segments, staffing_value,
    stock_buffer, Assumptions, Reason,
};
use storecast_reports::tables::eur;

/// The forecaster stored as `name`.
fn kind(name: &str) -> storecast_model::ModelKind {
    storecast_model::ModelKind::parse(name).expect("a model kind")
}

/// A 24-store synthetic chain, backtested on 2 folds with 100 trees (built once per run).
fn bt() -> &'static BacktestResult {
    static BT: OnceLock<BacktestResult> = OnceLock::new();
    BT.get_or_init(|| {
        let data = storecast_testkit::chain_of(&storecast_testkit::clean(24, 7), false);
        let tl = Timeline::build(&data.history, None).expect("timeline");
        let bc = storecast_testkit::quick(2, 100, 0.15, 2);
        backtest::run(&tl, &data.stores, &bc, &mut |_| {}).expect("backtest")
    })
}

type Pick = fn(&Prediction) -> f64;
const FORECASTS: [(&str, Pick); 3] = [
    ("lightgbm", |p| p.model),
    ("last_year_same_weekday", |p| {
        p.forecast(storecast_model::ModelKind::LastYear)
    }),
    ("store_weekday_promo_median", |p| {
        p.forecast(storecast_model::ModelKind::Median)
    }),
];

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs())),
        "{what}: report {a} vs recomputed {b}"
    );
}

fn scored(bt: &BacktestResult, fold: usize) -> Vec<&Prediction> {
    bt.predictions
        .iter()
        .filter(|p| (fold == 0 || p.fold == fold) && p.actual > 0.0)
        .collect()
}

/// (actual, forecast) totals per (fold, store, 7-day block after the origin).
fn weekly(ps: &[&Prediction], f: Pick) -> BTreeMap<(usize, u16, u16), (f64, f64, f64)> {
    let mut m: BTreeMap<(usize, u16, u16), (f64, f64, f64)> = BTreeMap::new();
    for p in ps {
        let e = m.entry((p.fold, p.store, p.horizon_day / 7)).or_default();
        e.0 += p.actual;
        e.1 += f(p);
        e.2 += (f(p) - p.actual).abs();
    }
    m
}

fn rmspe(ps: &[&Prediction], f: Pick) -> f64 {
    let s: f64 = ps
        .iter()
        .map(|p| ((p.actual - f(p)) / p.actual).powi(2))
        .sum();
    (s / ps.len() as f64).sqrt()
}

#[test]
fn headline_matches_an_independent_recomputation() {
    let bt = bt();
    assert_eq!(bt.folds.len(), 2);
    let hl = headline(bt);
    for fold in [bt.folds.len(), 0] {
        let ps = scored(bt, fold);
        assert!(ps.len() > 500, "too few predictions: {}", ps.len());
        for (name, f) in FORECASTS {
            let row = hl.get(kind(name), fold).expect("row");
            let w = weekly(&ps, f);
            let sum_a: f64 = ps.iter().map(|p| p.actual).sum();
            let abs: f64 = ps.iter().map(|p| (f(p) - p.actual).abs()).sum();
            close(row.metrics.rmspe, rmspe(&ps, f), "rmspe");
            close(row.metrics.wape, abs / sum_a, "wape");
            close(
                row.metrics.bias,
                ps.iter().map(|p| f(p) - p.actual).sum::<f64>() / sum_a,
                "bias",
            );
            assert_eq!(row.store_weeks, w.len());
            close(
                row.eur_per_store_week,
                abs / w.len() as f64,
                "€ per store-week",
            );
            close(
                row.weekly_total_miss,
                w.values().map(|x| (x.1 - x.0).abs()).sum::<f64>() / w.len() as f64,
                "weekly total miss",
            );
            close(row.sales_per_store_week, sum_a / w.len() as f64, "sales");
        }
        // The improvement is the € ratio.
        let m = hl
            .get(kind("lightgbm"), fold)
            .expect("model")
            .eur_per_store_week;
        let b = hl
            .get(business::MEDIAN, fold)
            .expect("median")
            .eur_per_store_week;
        close(
            hl.improvement(business::MEDIAN, fold),
            1.0 - m / b,
            "improvement",
        );
    }
    // The model beats the stand-ins on a synthetic chain (a sanity check of the setup).
    assert!(hl.improvement(hl.best_stand_in(0), 0) > 0.0);
}

#[test]
fn accuracy_bands_match_an_independent_recomputation() {
    let bt = bt();
    for fold in [bt.folds.len(), 0] {
        let ps = scored(bt, fold);
        let rows = accuracy_bands(bt, fold);
        assert_eq!(rows.len(), 3);
        for (name, f) in FORECASTS {
            let row = rows.iter().find(|r| r.model == kind(name)).expect("row");
            let w = weekly(&ps, f);
            for (k, band) in [0.05, 0.10, 0.20].into_iter().enumerate() {
                let days = ps
                    .iter()
                    .filter(|p| (f(p) / p.actual - 1.0).abs() <= band + 1e-12)
                    .count() as f64
                    / ps.len() as f64;
                let weeks = w
                    .values()
                    .filter(|x| (x.1 / x.0 - 1.0).abs() <= band + 1e-12)
                    .count() as f64
                    / w.len() as f64;
                // Ties at the band edge may round differently; allow one case.
                assert!(
                    (row.days[k] - days).abs() <= 1.0 / ps.len() as f64,
                    "{name} days ±{band}: {} vs {days}",
                    row.days[k]
                );
                assert!(
                    (row.weeks[k] - weeks).abs() <= 1.0 / w.len() as f64,
                    "{name} weeks ±{band}: {} vs {weeks}",
                    row.weeks[k]
                );
            }
            assert!(row.days[0] <= row.days[1] && row.days[1] <= row.days[2]);
            assert_eq!(row.store_days, ps.len());
            assert_eq!(row.store_weeks, w.len());
        }
    }
}

#[test]
fn segments_match_an_independent_recomputation() {
    let bt = bt();
    let last = bt.folds.len();
    let ps = scored(bt, last);
    let tables = segments(bt, last);
    let find = |cut: &str| tables.iter().find(|t| t.cut == cut).expect("cut");
    // Store type.
    let t = find("store type");
    let types: BTreeSet<String> = ps.iter().map(|p| p.store_type.code().to_string()).collect();
    assert_eq!(t.rows.len(), types.len());
    for code in &types {
        let sub: Vec<&Prediction> = ps
            .iter()
            .copied()
            .filter(|p| p.store_type.code() == code)
            .collect();
        let row = t.rows.iter().find(|r| &r.group == code).expect("group");
        for (i, (_, f)) in FORECASTS.iter().enumerate() {
            close(row.metrics[i].rmspe, rmspe(&sub, *f), "store type rmspe");
        }
        assert_eq!(row.metrics[0].n, sub.len());
    }
    // Weekday, with its own weekday names.
    let t = find("weekday");
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    for (i, name) in names.iter().enumerate() {
        let sub: Vec<&Prediction> = ps
            .iter()
            .copied()
            .filter(|p| p.date.weekday().num_days_from_monday() as usize == i)
            .collect();
        match t.rows.iter().find(|r| r.group == *name) {
            Some(row) => {
                close(row.metrics[0].rmspe, rmspe(&sub, FORECASTS[0].1), "weekday");
                close(row.metrics[2].rmspe, rmspe(&sub, FORECASTS[2].1), "weekday");
            }
            None => assert!(sub.is_empty(), "{name} missing"),
        }
    }
    // Promo.
    let t = find("promo");
    let sub: Vec<&Prediction> = ps.iter().copied().filter(|p| p.promo).collect();
    let row = t
        .rows
        .iter()
        .find(|r| r.group == "promo day")
        .expect("promo");
    close(row.metrics[0].rmspe, rmspe(&sub, FORECASTS[0].1), "promo");
    // Horizon week: weeks 1..=6 in order.
    let t = find("horizon week");
    let groups: Vec<&str> = t.rows.iter().map(|r| r.group.as_str()).collect();
    assert_eq!(
        groups,
        ["week 1", "week 2", "week 3", "week 4", "week 5", "week 6"]
    );
    for (w, row) in t.rows.iter().enumerate() {
        let sub: Vec<&Prediction> = ps
            .iter()
            .copied()
            .filter(|p| usize::from(p.horizon_day) / 7 == w)
            .collect();
        close(
            row.metrics[1].rmspe,
            rmspe(&sub, FORECASTS[1].1),
            "horizon week",
        );
    }
}

#[test]
fn hardest_stores_are_ordered_by_store_rmspe() {
    let bt = bt();
    let last = bt.folds.len();
    let ps = scored(bt, last);
    let mut per: BTreeMap<u16, Vec<&Prediction>> = BTreeMap::new();
    for p in &ps {
        per.entry(p.store).or_default().push(p);
    }
    let mut expected: Vec<(u16, f64, f64)> = per
        .iter()
        .map(|(s, v)| (*s, rmspe(v, FORECASTS[0].1), rmspe(v, FORECASTS[2].1)))
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    let got = hardest_stores(bt, last, 20);
    assert_eq!(got.len(), 20.min(per.len()));
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.store, e.0, "order of hardest stores");
        close(g.rmspe, e.1, "store rmspe");
        close(g.median_rmspe, e.2, "store median rmspe");
        assert_eq!(g.days, per[&g.store].len());
        assert!(!g.reasons.is_empty() && !g.why.is_empty());
        // The worst day is the largest relative miss.
        let worst = per[&g.store]
            .iter()
            .map(|p| ((p.model - p.actual) / p.actual).abs())
            .fold(0.0, f64::max);
        close(g.worst_error.abs(), worst, "worst day");
    }
    // Every store is listed when asked for all.
    assert_eq!(hardest_stores(bt, last, usize::MAX).len(), per.len());
}

/// Independent staffing cost of error per store-week.
fn staffing(ps: &[&Prediction], f: Pick, a: &Assumptions) -> (f64, f64) {
    let weeks: BTreeSet<(usize, u16, u16)> = ps
        .iter()
        .map(|p| (p.fold, p.store, p.horizon_day / 7))
        .collect();
    let mut over = 0.0;
    let mut under = 0.0;
    for p in ps {
        let fc = f(p);
        let hours_planned = fc / a.sales_per_staff_hour;
        let hours_needed = p.actual / a.sales_per_staff_hour;
        if hours_planned > hours_needed {
            over += (hours_planned - hours_needed) * a.staff_cost_per_hour;
        } else {
            under += (p.actual - fc) * a.lost_sale_share_of_shortfall * a.gross_margin;
        }
    }
    (over / weeks.len() as f64, under / weeks.len() as f64)
}

#[test]
fn business_value_matches_an_independent_recomputation() {
    let bt = bt();
    let custom = Assumptions {
        staff_cost_per_hour: 31.0,
        sales_per_staff_hour: 120.0,
        gross_margin: 0.4,
        lost_sale_share_of_shortfall: 0.5,
        service_z: 1.65,
        stock_cover_days: 14.0,
        holding_cost_rate: 0.1,
        stores: 300,
        weeks_per_year: 50.0,
    };
    for a in [Assumptions::default(), custom] {
        for fold in [0, bt.folds.len()] {
            let ps = scored(bt, fold);
            let value = staffing_value(bt, fold, &a);
            let buffer = stock_buffer(bt, fold, &a);
            let mut cost = BTreeMap::new();
            let mut stock = BTreeMap::new();
            for (name, f) in FORECASTS {
                let (over, under) = staffing(&ps, f, &a);
                let row = value
                    .iter()
                    .find(|r| r.model == kind(name))
                    .expect("value row");
                close(row.over_staffing, over, "over-staffing");
                close(row.lost_margin, under, "lost margin");
                close(
                    row.per_store_year,
                    (over + under) * a.weeks_per_year,
                    "per store-year",
                );
                close(
                    row.chain_year,
                    (over + under) * a.weeks_per_year * a.stores as f64,
                    "chain",
                );
                cost.insert(name, row.chain_year);
                // Safety stock: z × RMS weekly € error × √(cover / 7), at cost.
                let w = weekly(&ps, f);
                let sigma =
                    (w.values().map(|x| (x.1 - x.0).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
                let per_store = a.service_z
                    * sigma
                    * (a.stock_cover_days / 7.0).sqrt()
                    * (1.0 - a.gross_margin);
                let row = buffer
                    .iter()
                    .find(|r| r.model == kind(name))
                    .expect("buffer row");
                close(row.weekly_rmse, sigma, "weekly sigma");
                close(row.per_store, per_store, "buffer per store");
                close(row.chain, per_store * a.stores as f64, "buffer chain");
                close(
                    row.chain_holding_year,
                    per_store * a.stores as f64 * a.holding_cost_rate,
                    "holding",
                );
                stock.insert(name, row.chain);
            }
            let s = savings(&value, &buffer);
            assert_eq!(s.len(), 2);
            for x in &s {
                close(
                    x.chain_year,
                    cost[x.stand_in.name()] - cost["lightgbm"],
                    "saving",
                );
                close(
                    x.buffer_reduction,
                    stock[x.stand_in.name()] - stock["lightgbm"],
                    "buffer reduction",
                );
            }
        }
    }
}

fn charts(doc: &storecast_charts::Doc) -> Vec<&storecast_charts::Chart> {
    doc.sections
        .iter()
        .flat_map(|s| &s.blocks)
        .filter_map(|b| match b {
            Block::Chart(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn report_renders_headline_first_with_charts_and_no_external_urls() {
    let bt = bt();
    let coverage = coverage_rows(bt);
    let a = Assumptions::default();
    let doc = business::business(
        bt,
        &coverage,
        &a,
        &Default::default(),
        "synthetic chain",
        Some("v-test"),
    );
    let md = doc.to_markdown();
    // The first section is the headline, and its first line is the € comparison.
    let first_h2 = md
        .lines()
        .find(|l| l.starts_with("## "))
        .expect("a section");
    assert!(first_h2.starts_with("## Headline"), "{first_h2}");
    let after: Vec<&str> = md
        .split_once(first_h2)
        .expect("heading")
        .1
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let hl = headline(bt);
    let m = hl.get(kind("lightgbm"), bt.folds.len()).expect("row");
    assert!(after[0].starts_with("> "), "{}", after[0]);
    assert!(
        after[0].contains(&eur(m.eur_per_store_week)),
        "headline misses the model's € figure: {}",
        after[0]
    );
    assert!(md.contains("v-test") && md.contains("synthetic chain"));
    // Every assumption is printed.
    for (k, _, _) in a.describe() {
        assert!(md.contains(&format!("| {k} |")), "{k} not printed");
    }
    // The chain saving in the value table is the one computed.
    let s = savings(&staffing_value(bt, 0, &a), &stock_buffer(bt, 0, &a));
    for x in &s {
        assert!(
            md.contains(&eur(x.chain_year)),
            "saving {} not printed",
            x.chain_year
        );
    }
    // One spec per chart, at least four, ids unique.
    let cs = charts(&doc);
    assert!(cs.len() >= 4, "{} charts", cs.len());
    let ids: BTreeSet<&str> = cs.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), cs.len());
    let html = doc.to_html().expect("renders");
    // (The renderer script mentions the spec element in a comment; count the embedded ones.)
    assert_eq!(
        html.matches("class=\"chart-spec\" data-for=").count(),
        cs.len()
    );
    for c in &cs {
        assert!(html.contains(&format!("data-for=\"{}\"", c.id)));
        assert!(
            !c.labels.is_empty() && !c.series.is_empty(),
            "{} empty",
            c.id
        );
    }
    // Self-contained: the report's own content has no URL, the page loads nothing remote.
    let body = doc.body_html().expect("renders");
    assert!(!body.contains("http://") && !body.contains("https://"));
    for bad in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "src='http",
        "href='http",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
    // Changing an assumption changes the figures printed.
    let a2 = Assumptions {
        staff_cost_per_hour: 40.0,
        ..Assumptions::default()
    };
    let md2 = business::business(
        bt,
        &coverage,
        &a2,
        &Default::default(),
        "synthetic chain",
        None,
    )
    .to_markdown();
    assert!(md2.contains("| staff_cost_per_hour | 40.00 € |"));
    let s2 = savings(&staffing_value(bt, 0, &a2), &stock_buffer(bt, 0, &a2));
    assert!(md2.contains(&eur(s2[0].chain_year)));
    assert!((s2[0].chain_year - s[0].chain_year).abs() > 1.0);
}

#[test]
fn write_report_writes_both_files() {
    let bt = bt();
    let doc = business::business(
        bt,
        &[],
        &Assumptions::default(),
        &Default::default(),
        "synth",
        None,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("nested").join("report");
    let (html, md) = business::write_report(&doc, &out).expect("written");
    assert_eq!(html, out.join("report.html"));
    assert_eq!(md, out.join("report.md"));
    assert_eq!(std::fs::read_to_string(&md).expect("md"), doc.to_markdown());
    assert_eq!(
        std::fs::read_to_string(&html).expect("html"),
        doc.to_html().expect("renders")
    );
}

#[test]
fn assumptions_default_and_partial_json() {
    let a: Assumptions = serde_json::from_str(r#"{"stores": 10, "gross_margin": 0.5}"#)
        .expect("partial assumptions parse");
    assert_eq!(a.stores, 10);
    assert_eq!(a.gross_margin, 0.5);
    let d = Assumptions::default();
    assert_eq!(a.staff_cost_per_hour, d.staff_cost_per_hour);
    assert_eq!(d.stores, 1115);
    assert_eq!(d.weeks_per_year, 52.0);
    let back: Assumptions =
        serde_json::from_str(&serde_json::to_string(&d).expect("json")).expect("round trip");
    assert_eq!(back, d);
}

/// A hand-made one-fold backtest: 12 stores open Monday to Saturday for six weeks, with a
/// closure (store 2), a collapse on one day (store 3), a level shift (store 4), an erratic
/// store (5) and a store without history (6).
fn planted() -> BacktestResult {
    let origin = NaiveDate::from_ymd_opt(2015, 1, 5).expect("date"); // a Monday
    let mut predictions = Vec::new();
    for store in 1u16..=12 {
        for d in 0..42u16 {
            let date = origin + chrono::Days::new(u64::from(d));
            if date.weekday() == chrono::Weekday::Sun || (store == 2 && (10..20).contains(&d)) {
                continue;
            }
            let base = 5000.0 + 100.0 * f64::from(store) + 300.0 * (f64::from(d) * 0.7).sin();
            let wiggle = if (d + store) % 2 == 0 { 1.0 } else { -1.0 };
            let (actual, model) = match store {
                2 => (base, base * (1.0 + 0.2 * wiggle)),
                3 if d == 15 => (base * 0.2, base),
                4 => (base, base * (1.2 + 0.01 * wiggle)),
                5 => (base, base * (1.0 + 0.1 * wiggle)),
                _ => (base, base * (1.0 + 0.02 * wiggle)),
            };
            predictions.push(Prediction {
                fold: 1,
                store,
                date,
                horizon_day: d,
                actual,
                promo: d % 14 < 5,
                school_holiday: false,
                near_holiday: false,
                store_type: if store % 2 == 0 {
                    StoreType::A
                } else {
                    StoreType::D
                },
                assortment: Assortment::Basic,
                volatility: match store {
                    5 => 0.5,
                    6 => f64::NAN,
                    _ => 0.1 + 0.001 * f64::from(store),
                },
                model_raw: model,
                model,
                // Median, last year, ridge (ModelKind::BASELINES order).
                baselines: [base * 1.05, base * 0.9, base],
                mase_scale: f64::NAN,
                no_recent_history: false,
                last_year_known: Some(true),
                season: None,
            });
        }
    }
    let n = predictions.len();
    BacktestResult {
        config: BacktestConfig {
            folds: 1,
            ..BacktestConfig::default()
        },
        folds: vec![Fold {
            index: 1,
            kind: Default::default(),
            profile: Default::default(),
            origin,
            end: origin + chrono::Days::new(41),
            train_rows: 0,
            scored_rows: n,
            last_year_fallback: 0.0,
            closed_days: 0,
            no_recent_stores: 0,
            seconds: 0.0,
        }],
        scale: 1.0,
        fold_scales: vec![1.0],
        predictions,
        scores: Vec::new(),
        ensemble: Default::default(),
        window: None,
    }
}

#[test]
fn hard_store_reasons_are_classified_from_the_predictions() {
    let bt = planted();
    let all = hardest_stores(&bt, 1, usize::MAX);
    assert_eq!(all.len(), 12);
    let get = |s: u16| all.iter().find(|h| h.store == s).expect("store");
    assert_eq!(get(2).reasons[0], Reason::Closure, "{}", get(2).why);
    assert_eq!(get(2).longest_gap, 11, "10 closed days plus a Sunday");
    assert_eq!(get(3).reasons, vec![Reason::Outlier], "{}", get(3).why);
    assert_eq!(
        get(3).worst_date,
        NaiveDate::from_ymd_opt(2015, 1, 20).expect("date")
    );
    assert!(get(3).why.contains("collapsed to 20.0%"), "{}", get(3).why);
    assert_eq!(get(4).reasons, vec![Reason::LevelShift], "{}", get(4).why);
    assert!(get(4).why.contains("too high"));
    assert_eq!(get(5).reasons, vec![Reason::Volatile], "{}", get(5).why);
    assert_eq!(get(6).reasons, vec![Reason::ShortHistory]);
    assert_eq!(get(7).reasons, vec![Reason::Noise]);
    // Order: the collapse (RMSPE ≈ 4/√36) first, then the closure and the level shift.
    assert_eq!(all[0].store, 3);
    let top3: BTreeSet<u16> = all[..3].iter().map(|h| h.store).collect();
    assert_eq!(top3, BTreeSet::from([2, 3, 4]));
    assert_eq!(all[3].store, 5);
    // The whole report builds on it (one fold, no coverage) and names the reasons.
    let md = business::business(
        &bt,
        &[],
        &Assumptions::default(),
        &Default::default(),
        "planted",
        None,
    )
    .to_markdown();
    assert!(md.contains("One extreme day, 2015-01-20"));
    assert!(md.contains("Closed or missing from the data for 11 days in a row"));
    assert!(md.contains("With a single fold, the backtest cannot show drift"));
    // An empty backtest still renders (no panic), headline first.
    let empty = BacktestResult {
        folds: Vec::new(),
        fold_scales: Vec::new(),
        predictions: Vec::new(),
        ..bt
    };
    let md = business::business(
        &empty,
        &[],
        &Assumptions::default(),
        &Default::default(),
        "empty",
        None,
    )
    .to_markdown();
    assert!(md.contains("## Headline"));
}

#[test]
fn the_fva_section_matches_a_plain_recomputation_from_the_predictions() {
    // Issue 33: the report's FVA of the model over the naive forecast, by scope, recomputed
    // with plain loops from the last fold's predictions (days with an actual and a last year).
    let bt = bt();
    let last = bt.folds.len();
    let section = storecast_reports::fva::section(bt, None);
    let Some(Block::Table { rows, .. }) = section
        .blocks
        .iter()
        .find(|b| matches!(b, Block::Table { .. }))
    else {
        panic!("no table in the FVA section");
    };
    let mut scopes: BTreeMap<String, (usize, f64, f64, f64)> = BTreeMap::new();
    for p in bt.predictions.iter().filter(|p| {
        p.fold == last && p.actual > 0.0 && p.forecast(storecast_model::ModelKind::LastYear) > 0.0
    }) {
        for scope in [
            "all stores".to_string(),
            format!("type {}", p.store_type.code()),
        ] {
            let e = scopes.entry(scope).or_default();
            e.0 += 1;
            e.1 += p.actual;
            e.2 += (p.actual - p.forecast(storecast_model::ModelKind::LastYear)).abs();
            e.3 += (p.actual - p.model).abs();
        }
    }
    assert_eq!(rows.len(), scopes.len(), "{rows:?}");
    for row in rows {
        let (n, actual, naive, model) = scopes[&row[0]];
        assert_eq!(row[1], n.to_string(), "{}", row[0]);
        assert_eq!(
            row[2],
            format!("{:.1}%", naive / actual * 100.0),
            "{}",
            row[0]
        );
        assert_eq!(
            row[3],
            format!("{:.1}%", model / actual * 100.0),
            "{}",
            row[0]
        );
        let fva = (naive - model) / actual * 100.0;
        assert!(
            row[4].starts_with(&format!("{fva:+.1} pts")),
            "{}: {} vs {fva:+.1}",
            row[0],
            row[4]
        );
    }
}

/// Every forecaster the backtest compares has a row of its own in the methodology's
/// backtest table, under its one label.
#[test]
fn every_model_kind_appears_in_the_methodology_table() {
    let doc = storecast_reports::methodology(bt(), &[], "synth", None);
    let rows: Vec<&Vec<String>> = doc
        .sections
        .iter()
        .filter(|s| s.id == "backtest")
        .flat_map(|s| &s.blocks)
        .filter_map(|b| match b {
            storecast_charts::Block::Table { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(!rows.is_empty(), "the backtest table");
    for k in storecast_model::ModelKind::ALL {
        assert!(
            rows.iter()
                .any(|r| r.first().is_some_and(|c| c == k.label())),
            "{k} ({}) has no row",
            k.label()
        );
    }
}

/// The recommendations quote the monitoring thresholds the operator runs with, not the
/// defaults.
#[test]
fn the_report_quotes_the_monitoring_thresholds_in_use() {
    let mon = storecast_monitor::MonitorConfig {
        psi_alert: 0.37,
        rmspe_factor: 1.6,
        ..Default::default()
    };
    let md =
        business::business(bt(), &[], &Assumptions::default(), &mon, "synth", None).to_markdown();
    assert!(
        md.contains("exceeds 1.60 × its backtest level"),
        "the RMSPE factor in use"
    );
    assert!(md.contains("exceeds 0.37 against"), "the PSI limit in use");
}

/// A backtest at chosen origins gets its own section in the methodology: one row per origin
/// and the pooled one, the mean log error beside RMSPE, the worst 1 % share; its segments pool
/// every origin and cut by whether last year's sales were known and by season. Rolling folds
/// get neither.
#[test]
fn the_methodology_shows_the_error_by_origin_for_chosen_origins() {
    let rolling = storecast_reports::methodology(bt(), &[], "synth", None);
    assert!(!rolling.sections.iter().any(|s| s.id == "origins"));
    let mut chosen = bt().clone();
    for f in &mut chosen.folds {
        f.kind = storecast_model::backtest::FoldKind::Chosen;
    }
    let doc = storecast_reports::methodology(&chosen, &[], "synth", None);
    let section = doc
        .sections
        .iter()
        .find(|s| s.id == "origins")
        .expect("the origins section");
    let rows: Vec<&Vec<String>> = section
        .blocks
        .iter()
        .filter_map(|b| match b {
            storecast_charts::Block::Table { rows, .. } => Some(rows),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(rows.len(), chosen.folds.len() + 1);
    assert_eq!(rows[0][0], chosen.folds[0].origin.to_string());
    assert_eq!(rows.last().map(|r| r[0].as_str()), Some("all origins"));
    let md = doc.to_markdown();
    assert!(md.contains("by segment (every origin)"), "{md}");
    assert!(md.contains("last year's sales known"), "{md}");
    assert!(md.contains("| rest of the year |"), "the season cut: {md}");
    let table = storecast_model::origins::origin_table(&chosen);
    let pooled = table
        .iter()
        .find(|r| r.model == storecast_model::ModelKind::Model && r.fold == 0)
        .expect("pooled");
    assert!(
        pooled.worst_share > 0.01 && pooled.worst_share < 1.0,
        "{pooled:?}"
    );
    assert!(pooled.mean_log_error.abs() < 0.1, "{pooled:?}");
    // Each segment row has the mean log error beside its RMSPE, the same as the pooled
    // score's over the model's predictions.
    assert!(
        md.contains("| model RMSPE | model mean log error |"),
        "{md}"
    );
    let m = chosen
        .score(
            storecast_model::backtest::MODEL,
            storecast_model::backtest::FoldScope::All,
        )
        .expect("pooled");
    assert!(
        m.mean_log_error.is_finite() && m.mean_log_error.abs() < 0.1,
        "{m:?}"
    );
}
