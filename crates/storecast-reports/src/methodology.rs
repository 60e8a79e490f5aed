//! The methodology report: why RMSPE, why rolling-origin backtests, why LightGBM, shown by the
//! numbers of the backtest (models × folds × metrics, error by segment, residuals, intervals).

use crate::tables::{by_cut, f4, pct, spct, CUTS};
use storecast_charts::{Chart, Doc, Kind, Section, Series};
use storecast_model::artifact::CoverageRow;
use storecast_model::backtest::{BacktestResult, FoldKind, FoldScope, MODEL};
use storecast_model::gbdt::Objective;
use storecast_model::ModelKind;
use storecast_model::{Driver, FEATURE_DRIVERS, FEATURE_NAMES};

/// A table label for a model or an ensemble member (`member:<name>`).
fn member_label(model: &str) -> String {
    storecast_model::kind::label_of(model)
}

/// One line on the ensemble's members, weights and store-type corrections.
fn ensemble_line(bt: &BacktestResult) -> String {
    let e = &bt.ensemble;
    let model = match (&e.blend, e.members.len()) {
        (Some(b), n) if n > 1 => format!(
            "An ensemble of {n} LightGBM fits ({}), blended in log space with weights {} chosen on all folds together (each fold's score uses weights tuned on the other folds).",
            e.members.join(", "),
            b.weights.iter().map(|w| format!("{w:.1}")).collect::<Vec<_>>().join(" / "),
        ),
        _ => "A single LightGBM fit (an ensemble is `train --members 3`).".into(),
    };
    if e.correction_scores.is_empty() {
        return model;
    }
    let per_type = e.blend.as_ref().map_or(String::new(), |b| {
        format!(
            " (store types a/b/c/d: {})",
            b.type_scales
                .iter()
                .map(|s| format!("×{s:.3}"))
                .collect::<Vec<_>>()
                .join(" / ")
        )
    });
    format!(
        "{model} Bias correction, chosen by the pooled RMSPE of held-out folds (each fold corrected with values tuned on the others) among those that lower the RMSPE of most folds: {}; applied: {}{per_type}.",
        e.correction_summary(bt.folds.len()),
        e.correction.label(),
    )
}

/// How the error varies across folds, and which fold resembles the forecast window.
fn fold_variation(bt: &BacktestResult) -> Section {
    let last = bt.last_fold();
    let mut rows = Vec::new();
    let mut rmspes = Vec::new();
    for f in &bt.folds {
        let m = bt.score(MODEL, FoldScope::Fold(f.index));
        if let Some(m) = m {
            rmspes.push(m.rmspe);
        }
        let p = &f.profile;
        rows.push(vec![
            format!("{} ({})", f.index, f.kind.label()),
            format!("{} – {}", f.origin, f.end),
            m.map_or("–".into(), |m| f4(m.rmspe)),
            pct(p.promo),
            pct(p.school_holiday),
            pct(p.holiday_week),
            pct(p.ly_gap),
        ]);
    }
    let distance = |p: &storecast_model::backtest::WindowProfile,
                    w: &storecast_model::backtest::WindowProfile| {
        (p.promo - w.promo).abs()
            + (p.school_holiday - w.school_holiday).abs()
            + (p.holiday_week - w.holiday_week).abs()
            + (p.ly_gap - w.ly_gap).abs()
    };
    let mut sec = Section::new(
        "fold-variation",
        "How the error varies by fold, and which fold looks like the forecast window",
    );
    if let Some(w) = &bt.window {
        rows.push(vec![
            "forecast window".into(),
            format!("{} store-days", w.n),
            "?".into(),
            pct(w.promo),
            pct(w.school_holiday),
            pct(w.holiday_week),
            pct(w.ly_gap),
        ]);
        if let Some(closest) = bt
            .folds
            .iter()
            .min_by(|a, b| distance(&a.profile, w).total_cmp(&distance(&b.profile, w)))
        {
            sec = sec.callout(format!(
                "The fold that resembles the forecast window most (sum of the share differences in promo, school holiday, holiday weeks and missing last-year weeks) is fold {} ({}, {} – {}); its RMSPE is {}. The most recent fold is fold {last}.",
                closest.index,
                closest.kind.label(),
                closest.origin,
                closest.end,
                bt.score(MODEL, FoldScope::Fold(closest.index)).map_or("–".into(), |m| f4(m.rmspe)),
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (
        rmspes.iter().copied().reduce(f64::min),
        rmspes.iter().copied().reduce(f64::max),
    ) {
        let mean = rmspes.iter().sum::<f64>() / rmspes.len() as f64;
        sec = sec.para(format!(
            "Across the {} folds the model's RMSPE ranges from {} to {} (mean {}): one fold alone is a noisy judge, which is why every choice is made on all of them. The same-season fold is the only one whose weeks hold the start of the summer school holidays.",
            rmspes.len(),
            f4(lo),
            f4(hi),
            f4(mean)
        ));
    }
    let same_season = bt.folds.iter().any(|f| f.kind == FoldKind::SameSeason);
    if !same_season {
        sec = sec.para("The history is too short for a same-season fold (a year of training data before the weeks one year ahead of the window).");
    }
    sec.table(
        &[
            "fold",
            "days",
            "model RMSPE",
            "promo days",
            "school holiday days",
            "days in a holiday week",
            "no last-year week",
        ],
        rows,
    )
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    storecast_stats::nearest_rank(sorted, q)
}

/// Builds the methodology report. `coverage` comes from the artifact (or is computed by the
/// caller with `storecast_model::training::coverage_rows`); `model_info` is a one-line
/// description of the model version, when there is one.
pub fn methodology(
    bt: &BacktestResult,
    coverage: &[CoverageRow],
    data_origin: &str,
    model_info: Option<&str>,
) -> Doc {
    let sections = [
        Some(summary_section(bt)),
        Some(metric_section(bt)),
        Some(validation_section(bt)),
        Some(fold_variation(bt)),
        Some(backtest_section(bt)),
        origins_section(bt),
        Some(segments_section(bt)),
        Some(residuals_section(bt)),
        intervals_section(coverage),
        Some(features_section(bt)),
    ]
    .into_iter()
    .flatten()
    .collect();
    Doc {
        title: "storecast · forecasting methodology".into(),
        subtitle: format!(
            "Data: {data_origin}{} · generated from {} backtest folds",
            model_info.map_or(String::new(), |m| format!(" · model {m}")),
            bt.folds.len()
        ),
        sections,
    }
}

/// The summary: the model against the best stand-in, last fold and pooled.
fn summary_section(bt: &BacktestResult) -> Section {
    let lf = bt.folds.last();
    let span = lf.map_or(String::new(), |f| format!("{} to {}", f.origin, f.end));
    let m_last = bt.score(MODEL, FoldScope::Last);
    let best_baseline = ModelKind::BASELINES
        .iter()
        .filter_map(|b| bt.score_of(*b, FoldScope::Last).map(|m| (*b, m)))
        .min_by(|a, b| a.1.rmspe.total_cmp(&b.1.rmspe));
    let mut summary = Section::new("summary", "Summary");
    if let (Some(m), Some((bname, b))) = (m_last, best_baseline) {
        summary = summary.callout(format!(
            "On the most recent six weeks ({span}), the model's RMSPE is **{}** against **{}** for the best stand-in for today's practice ({}): **{} lower** error. Its WAPE is {} (baseline {}), its bias {}.",
            f4(m.rmspe),
            f4(b.rmspe),
            bname.label(),
            pct(1.0 - m.rmspe / b.rmspe),
            pct(m.wape),
            pct(b.wape),
            spct(m.bias)
        ));
    }
    let pooled = bt.score(MODEL, FoldScope::All);
    if let Some(p) = pooled {
        summary = summary.para(format!(
            "Over all {} folds ({} store-days), the model's RMSPE is {}, MAPE {}, WAPE {}, bias {}.",
            bt.folds.len(),
            p.n,
            f4(p.rmspe),
            pct(p.mape),
            pct(p.wape),
            spct(p.bias)
        ));
    }
    summary
}

/// Why RMSPE, and what stands beside it.
fn metric_section(bt: &BacktestResult) -> Section {
    let loss = match bt.config.params.objective {
        Objective::Huber => "a Huber loss (squared for ordinary misses, linear for the rare collapsed days, which would otherwise pull every forecast of their store)",
        Objective::Regression => "squared loss",
    };
    Section::new("metric", "The metric: RMSPE, with MAPE, WAPE and bias beside it")
            .para("A store manager plans staff and stock for their own store, so an error of 500 € matters more to a small store than to a large one: the error must be relative. RMSPE (root mean squared percentage error over open days with sales) weighs every store-day's relative error equally and, through the square, punishes the large misses that cause empty shelves or idle staff. It is also the metric the chain used to compare forecasts publicly, which makes results comparable.")
            .para("No single number tells everything, so each table also shows MAPE (the typical relative miss), WAPE (total absolute error over total sales: the error in euros across the chain) and the bias (sum of forecasts over sum of actuals minus one: a systematic over- or under-forecast that a manager would notice within weeks). Days with zero sales (closed stores) are excluded from the relative metrics because a relative error is undefined there; the model forecasts them as 0 from the opening plan.")
            .para(format!("Because the model is trained on log(sales) with {loss}, it targets relative error directly; a multiplicative correction factor, tuned on the backtests only (each fold uses the factor tuned on the other folds), removes the small bias that exponentiating a log forecast introduces."))
}

/// The validation scheme: rolling-origin folds with the real horizon, and the same-season fold.
fn validation_section(bt: &BacktestResult) -> Section {
    let fold_rows: Vec<Vec<String>> = bt
        .folds
        .iter()
        .map(|f| {
            vec![
                f.index.to_string(),
                f.kind.label().to_string(),
                f.origin.to_string(),
                f.end.to_string(),
                f.train_rows.to_string(),
                f.scored_rows.to_string(),
                format!(
                    "×{:.3}",
                    bt.fold_scales.get(f.index - 1).copied().unwrap_or(1.0)
                ),
            ]
        })
        .collect();
    Section::new("validation", "Validation: rolling-origin backtests with the real horizon")
            .para(format!(
                "Managers forecast up to six weeks ahead, so the model is judged the same way: {} folds of {} days end on the last day of the history. Each fold trains only on data before its origin and computes every feature as of the origin: the plan for the six weeks (open days, promotions, holidays) is known, sales are not. Store aggregates (level, weekday profile, promo effect, volatility, trend) use only history before the origin. A test perturbs every sale after an origin and checks that no feature of that fold changes (no leakage).",
                bt.folds.len(),
                bt.config.horizon
            ))
            .para("A random split would be wrong here: it would let the model see the same weeks it is scored on (through neighbouring days and store aggregates) and overstate accuracy. Time order is what the business lives with.")
            .para("Besides the rolling folds, a same-season fold backtests the same six weeks one year before the forecast window, trained only on the history before them: the rolling folds lie in the months just before the window and cannot show what its season holds (the start of the summer school holidays, July, the weeks whose last-year sales fall in the 2014 gap). Every model choice (ensemble weights, corrections) is made on all folds together, never on one.")
            .table(&["fold", "kind", "origin", "last day", "training rows", "scored store-days", "correction"], fold_rows)
}

/// The algorithm argued by the backtest table: the model, its members and the baselines by fold.
fn backtest_section(bt: &BacktestResult) -> Section {
    let last = bt.last_fold();
    let mut rows = Vec::new();
    let members = bt.member_models();
    let models: Vec<&str> = ModelKind::ALL
        .iter()
        .map(|k| k.name())
        .chain(members.iter().map(String::as_str))
        .collect();
    for model in models {
        for scope in bt.scopes() {
            if let Some(m) = bt.score(model, scope) {
                rows.push(vec![
                    member_label(model),
                    scope.label(last),
                    f4(m.rmspe),
                    pct(m.mape),
                    pct(m.wape),
                    spct(m.bias),
                    m.n.to_string(),
                ]);
            }
        }
    }
    let fold_labels: Vec<String> = bt
        .folds
        .iter()
        .map(|f| format!("fold {} ({})", f.index, f.origin))
        .collect();
    let mut chart = Chart::new(
        "bt-rmspe",
        Kind::Bar,
        "RMSPE by fold: model vs baselines (lower is better)",
    )
    .axes("fold", "RMSPE")
    .labels(fold_labels)
    .from_zero();
    for model in std::iter::once(ModelKind::Model).chain(ModelKind::BASELINES) {
        let v: Vec<f64> = (1..=bt.folds.len())
            .map(|f| {
                bt.score_of(model, FoldScope::Fold(f))
                    .map_or(f64::NAN, |m| m.rmspe)
            })
            .collect();
        chart = chart.series(Series::new(model.label(), v));
    }
    Section::new("backtest", "Algorithm: the backtest table")
            .para("Three baselines stand in for what stores do today: the median of the store's sales on the same weekday with the same promo status over the last 52 weeks; last year's sales on the same weekday (52 weeks back, falling back to the median when that day was closed); and a ridge regression on log sales with a free level per store and weekday, month, promo, holiday and closure effects. Gradient-boosted trees (LightGBM) are the candidate: they learn interactions (promo × store type × weekday, holiday × region, closures before and after) that a linear model cannot, need no scaling, handle missing values (new stores, the 2014 gap) natively, fit 800,000 rows in about twenty seconds on two cores, and give exact per-forecast explanations (TreeSHAP).")
            .table(&["model", "fold", "RMSPE", "MAPE", "WAPE", "bias", "store-days"], rows)
            .chart(chart)
}

/// The last fold's error by segment.
fn segments_section(bt: &BacktestResult) -> Section {
    // At chosen origins spread over the year, the cuts pool every origin; otherwise the most
    // recent fold.
    let (scope, heading, which) = if chosen_origins(bt) {
        (
            None,
            "Where the error is: by segment (every origin)",
            "every origin's",
        )
    } else {
        (
            Some(bt.last_fold()),
            "Where the error is: by segment (last fold)",
            "the last fold's",
        )
    };
    let mut seg = Section::new("segments", heading).para(format!(
        "The model's and the median baseline's errors on {which} predictions, cut by store type, assortment, horizon week, weekday, promo, holidays and whether last year's sales of the day were known. The mean log error beside RMSPE is the bias a few collapsed days cannot sway (negative: under-forecast); the bias column weighs by euros. A segment where the model is much worse than elsewhere is a place to look before a roll-out.",
    ));
    for cut in CUTS {
        let groups = by_cut(bt, cut, &[ModelKind::Model, ModelKind::Median], scope);
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|(k, ms)| {
                vec![
                    k.clone(),
                    f4(ms[0].rmspe),
                    spct(ms[0].mean_log_error),
                    pct(ms[0].wape),
                    spct(ms[0].bias),
                    f4(ms[1].rmspe),
                    ms[0].n.to_string(),
                ]
            })
            .collect();
        seg = seg.table(
            &[
                cut.name,
                "model RMSPE",
                "model mean log error",
                "model WAPE",
                "model bias",
                "median RMSPE",
                "store-days",
            ],
            rows,
        );
        if ["store type", "horizon week", "weekday"].contains(&cut.name) {
            let labels: Vec<String> = groups.iter().map(|g| g.0.clone()).collect();
            seg = seg.chart(
                Chart::new(
                    format!("seg-{}", cut.name.replace(' ', "-")),
                    Kind::Bar,
                    format!("RMSPE by {}", cut.name),
                )
                .axes(cut.name, "RMSPE")
                .labels(labels)
                .from_zero()
                .series(Series::new(
                    "model",
                    groups.iter().map(|g| g.1[0].rmspe).collect(),
                ))
                .series(Series::new(
                    "median baseline",
                    groups.iter().map(|g| g.1[1].rmspe).collect(),
                )),
            );
        }
    }
    seg
}

/// The last fold's residuals: quantiles, bias by forecast decile, the worst stores.
fn residuals_section(bt: &BacktestResult) -> Section {
    let last = bt.last_fold();
    let mut logres: Vec<f64> = bt
        .predictions
        .iter()
        .filter(|p| p.fold == last && p.actual > 0.0 && p.model > 0.0)
        .map(|p| (p.actual / p.model).ln())
        .collect();
    logres.sort_by(f64::total_cmp);
    let qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
    let qrow: Vec<Vec<String>> = qs
        .iter()
        .map(|&q| {
            vec![
                format!("{:.0}%", q * 100.0),
                spct(quantile(&logres, q).exp() - 1.0),
            ]
        })
        .collect();
    // Bias by forecast decile.
    let mut lastp: Vec<(f64, f64)> = bt
        .predictions
        .iter()
        .filter(|p| p.fold == last)
        .map(|p| (p.model, p.actual))
        .collect();
    lastp.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut dec_labels = Vec::new();
    let mut dec_bias = Vec::new();
    for k in 0..10 {
        let chunk = &lastp[k * lastp.len() / 10..(k + 1) * lastp.len() / 10];
        if chunk.is_empty() {
            continue;
        }
        let f: f64 = chunk.iter().map(|x| x.0).sum();
        let a: f64 = chunk.iter().map(|x| x.1).sum();
        dec_labels.push(format!("D{} (~{:.0} €)", k + 1, f / chunk.len() as f64));
        dec_bias.push(f / a - 1.0);
    }
    // Worst stores.
    let mut by_store: std::collections::BTreeMap<u16, (f64, usize)> =
        std::collections::BTreeMap::new();
    for p in bt
        .predictions
        .iter()
        .filter(|p| p.fold == last && p.actual > 0.0)
    {
        let e = by_store.entry(p.store).or_default();
        e.0 += ((p.actual - p.model) / p.actual).powi(2);
        e.1 += 1;
    }
    let mut worst: Vec<(u16, f64, usize)> = by_store
        .into_iter()
        .map(|(s, (sq, n))| (s, (sq / n as f64).sqrt(), n))
        .collect();
    worst.sort_by(|a, b| b.1.total_cmp(&a.1));
    let worst_rows: Vec<Vec<String>> = worst
        .iter()
        .take(10)
        .map(|(s, e, n)| vec![s.to_string(), f4(*e), n.to_string()])
        .collect();
    let in10 = logres.iter().filter(|r| r.abs() <= (1.1f64).ln()).count() as f64
        / logres.len().max(1) as f64;
    Section::new("residuals", "Residual analysis (last fold)")
            .para(format!(
                "Residuals are actual ÷ forecast − 1. Half of all store-days fall between {} and {}; {} of store-days are within ±10%. The tails are what RMSPE punishes: the 1% worst days are off by {} or more, typically days whose actual sales collapsed (a partial closure, an unrecorded event) that no forecast from the plan can anticipate.",
                spct(quantile(&logres, 0.25).exp() - 1.0),
                spct(quantile(&logres, 0.75).exp() - 1.0),
                pct(in10),
                spct(quantile(&logres, 0.01).exp() - 1.0),
            ))
            .table(&["quantile", "actual ÷ forecast − 1"], qrow)
            .chart(
                Chart::new("res-decile", Kind::Bar, "Bias by forecast size decile (forecast ÷ actual − 1)")
                    .axes("forecast decile", "bias")
                    .labels(dec_labels)
                    .percent()
                    .reference(0.0)
                    .series(Series::new("bias", dec_bias)),
            )
            .para("The stores with the largest error on the last fold (RMSPE per store); the business report explains what makes them hard.")
            .table(&["store", "RMSPE", "store-days"], worst_rows)
}

/// The measured coverage of the prediction intervals (none without coverage rows).
fn intervals_section(coverage: &[CoverageRow]) -> Option<Section> {
    if coverage.is_empty() {
        return None;
    }
    let rows: Vec<Vec<String>> = crate::tables::coverage_table(coverage);
    Some(Section::new("intervals", "Prediction intervals: measured coverage")
                .para("Every forecast comes with 80% and 95% intervals. They are calibrated on backtest residuals (split-conformal quantiles of log(actual / forecast)), separately for each horizon week and for calm, average and volatile stores. Totals (a store's week, a store type's week, the chain's day) get intervals from a simulation that draws chain-wide weekly shocks, store-week shifts and day-level rests from the backtest residuals; because a few dozen backtest weeks understate how far a whole period can be off, the simulated bands are stretched by conformal factors measured on held-out folds. Coverage below is honest: each fold in turn is held out, everything (bands, simulation, stretch factors) is calibrated on the other folds, and the held-out fold's actuals are checked; the figures pool the held-out folds. Targets: 77–83% and 92–98% (nominal ± 3 points).")
                .table(&["scope", "inside 80% band", "inside 95% band", "store-days"], rows),)
}

/// The features by business driver, and the parameters.
fn features_section(bt: &BacktestResult) -> Section {
    let mut feat_rows = Vec::new();
    for d in Driver::ALL {
        let names: Vec<&str> = FEATURE_NAMES
            .iter()
            .zip(FEATURE_DRIVERS)
            .filter(|(_, dr)| **dr == d)
            .map(|(n, _)| *n)
            .collect();
        feat_rows.push(vec![
            d.label().to_string(),
            if d.is_usual_day() {
                "the store's usual day"
            } else {
                "what moves the day"
            }
            .to_string(),
            names.len().to_string(),
            names.join(", "),
        ]);
    }
    Section::new("features", "Features, grouped by business driver")
            .para("Every feature is known on the forecast day: the calendar, the six-week plan (open days, promotions, public and school holidays), store attributes, and aggregates of sales before the origin. Customers are never used (they are not known in advance). Regions are inferred from shared holiday calendars (the data has no state column). Explanations of each forecast sum the exact TreeSHAP contributions of the features by these drivers, in two stages. The store's usual day for this weekday and season is the chain's average day (the model's reference) moved by the drivers marked \"the store's usual day\": its size and format, its own recent sales on this weekday, the calendar, and its same weeks last year; an explanation starts there. The other drivers are what moves one day away from it: promotion, holidays, competition, closures and the long-run trend, each with its exact Shapley share in euros of the step from the usual day to the forecast, so the amounts add up to the forecast. A driver whose event is absent on the day is named as such (\"no promotion this day\"): its amount is the effect of that absence against an average day, which is how the model sees it.")
            .table(&["driver", "stage", "features", "names"], feat_rows)
            .list(vec![
                format!("Parameters: {} trees, learning rate {}, {} leaves, at least {} rows per leaf, feature fraction {}, bagging fraction {}, L2 {}, seed {}.",
                    bt.config.params.num_trees, bt.config.params.learning_rate, bt.config.params.num_leaves,
                    bt.config.params.min_data_in_leaf, bt.config.params.feature_fraction, bt.config.params.bagging_fraction,
                    bt.config.params.lambda_l2, bt.config.params.seed),
                format!("Bias correction for the final model: ×{:.3} (tuned on all folds).", bt.scale),
                ensemble_line(bt),
            ])
}

/// Whether the backtest ran at chosen origins (`backtest --origins`).
fn chosen_origins(bt: &BacktestResult) -> bool {
    bt.folds
        .iter()
        .any(|f| f.kind == storecast_model::backtest::FoldKind::Chosen)
}

/// The error by origin over the year (chosen origins only): RMSPE with the mean log error
/// beside it, WAPE and MASE over every store-day, the best baseline's WAPE, and the share of
/// the squared error that the worst 1 % of store-days carry.
fn origins_section(bt: &BacktestResult) -> Option<Section> {
    use storecast_model::origins::{origin_table, WORST_SHARE};
    if !chosen_origins(bt) {
        return None;
    }
    let table = origin_table(bt);
    let row = |m: ModelKind, fold: usize| table.iter().find(|r| r.model == m && r.fold == fold);
    let best_wape = |fold: usize| {
        ModelKind::BASELINES
            .iter()
            .filter_map(|b| row(*b, fold))
            .map(|r| r.wape)
            .fold(f64::INFINITY, f64::min)
    };
    let label = |fold: usize| {
        bt.folds
            .iter()
            .find(|f| f.index == fold)
            .map_or("all origins".to_string(), |f| f.origin.to_string())
    };
    let folds: Vec<usize> = bt.folds.iter().map(|f| f.index).chain([0]).collect();
    let rows: Vec<Vec<String>> = folds
        .iter()
        .filter_map(|&k| {
            let m = row(ModelKind::Model, k)?;
            Some(vec![
                label(k),
                f4(m.rmspe),
                spct(m.mean_log_error),
                pct(m.wape),
                format!("{:.3}", m.mase),
                pct(best_wape(k)),
                pct(m.worst_share),
                m.open_days.to_string(),
            ])
        })
        .collect();
    let pooled = row(ModelKind::Model, 0)?;
    let chart = Chart::new(
        "origins-wape",
        Kind::Line,
        "WAPE by origin: the model against the best baseline (lower is better)",
    )
    .axes("origin", "WAPE")
    .labels(bt.folds.iter().map(|f| f.origin.to_string()))
    .percent()
    .from_zero()
    .series(Series::new(
        "model",
        bt.folds
            .iter()
            .map(|f| row(ModelKind::Model, f.index).map_or(f64::NAN, |r| r.wape))
            .collect(),
    ))
    .series(Series::new(
        "best baseline",
        bt.folds.iter().map(|f| best_wape(f.index)).collect(),
    ));
    Some(
        Section::new("origins", "The error over the year: one fold per origin")
            .para(format!(
                "{} origins from {} to {}, each trained only on the history before it and scored on the next {} days. RMSPE counts open days with sales; WAPE and MASE count every store-day (a closed day is forecast 0 from the opening plan, so it adds no error, but it counts in MASE's mean; MASE divides by each store's seasonal-naive error over the year before the origin). The mean log error beside RMSPE is the bias a model trained on log sales sees. Over all origins, the worst {} of store-days carry {} of the squared percentage error behind RMSPE: where RMSPE jumps while WAPE does not, a few days with collapsed sales (a partial closure, an unrecorded event) decide it.",
                bt.folds.len(),
                bt.folds.first().map_or(String::new(), |f| f.origin.to_string()),
                bt.folds.last().map_or(String::new(), |f| f.origin.to_string()),
                bt.config.horizon,
                pct(WORST_SHARE),
                pct(pooled.worst_share),
            ))
            .table(
                &[
                    "origin",
                    "RMSPE",
                    "mean log error",
                    "WAPE",
                    "MASE",
                    "best baseline WAPE",
                    "worst 1% share",
                    "store-days",
                ],
                rows,
            )
            .chart(chart),
    )
}
