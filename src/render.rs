//! Rendering shared by commands: the backtest table and the interval coverage lines.

use storecast_model::artifact::CoverageRow;
use storecast_model::backtest::BacktestResult;

/// Prints the models × folds table (each ensemble member too) and the folds.
pub fn backtest_table(bt: &BacktestResult) {
    println!(
        "\n{:<28} {:>5}  {:>7} {:>7} {:>7} {:>8} {:>8}",
        "model", "fold", "RMSPE", "MAPE", "WAPE", "bias", "n"
    );
    for r in storecast_pipeline::score_rows(bt) {
        let m = r.metrics;
        println!(
            "{:<28} {:>5}  {:>7.4} {:>7.4} {:>7.4} {:>+8.4} {:>8}",
            r.model, r.fold, m.rmspe, m.mape, m.wape, m.bias, m.n
        );
    }
    for f in &bt.folds {
        println!(
            "fold {} ({}): {} .. {}, {} training rows, {} scored store-days, promo {:.0}%, school holiday {:.0}%, holiday weeks {:.0}%, no last-year week {:.0}%",
            f.index,
            f.kind.label(),
            f.origin,
            f.end,
            f.train_rows,
            f.scored_rows,
            f.profile.promo * 100.0,
            f.profile.school_holiday * 100.0,
            f.profile.holiday_week * 100.0,
            f.profile.ly_gap * 100.0,
        );
    }
    if let Some(w) = &bt.window {
        println!(
            "forecast window: {} store-days, promo {:.0}%, school holiday {:.0}%, holiday weeks {:.0}%, no last-year week {:.0}%",
            w.n,
            w.promo * 100.0,
            w.school_holiday * 100.0,
            w.holiday_week * 100.0,
            w.ly_gap * 100.0
        );
    }
    if let Some(b) = &bt.ensemble.blend {
        let weights: Vec<String> = bt
            .ensemble
            .members
            .iter()
            .zip(&b.weights)
            .map(|(n, w)| format!("{n} {w:.1}"))
            .collect();
        println!(
            "ensemble weights (tuned on all folds): {}; correction per store type a/b/c/d: {}",
            weights.join(", "),
            b.type_scales
                .iter()
                .map(|s| format!("x{s:.3}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    if !bt.ensemble.correction_scores.is_empty() {
        let scores: Vec<String> = bt
            .ensemble
            .correction_scores
            .iter()
            .map(|(c, r)| format!("{} {r:.4}", c.label()))
            .collect();
        println!(
            "bias correction chosen on held-out folds: {} (pooled RMSPE: {})",
            bt.ensemble.correction.label(),
            scores.join(", ")
        );
    }
}

/// One line per coverage row.
pub fn coverage(rows: &[CoverageRow]) {
    for c in rows {
        println!(
            "interval coverage {:<34} 80%: {:.1}%  95%: {:.1}%  (n={})",
            c.scope,
            c.cover80 * 100.0,
            c.cover95 * 100.0,
            c.n
        );
    }
}
