//! Rendering shared by commands: the backtest table, the interval coverage lines, the replay's
//! weeks, and stored text made safe for a terminal.

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
        println!(
            "bias correction chosen on held-out folds: {} (pooled RMSPE: {})",
            bt.ensemble.correction.label(),
            bt.ensemble.correction_summary(bt.folds.len())
        );
    }
}

/// The backtest at chosen origins: per origin (then pooled) each forecast's RMSPE on open
/// days with the mean log error, WAPE and MASE over every store-day, bias, the share of the
/// squared error in the worst 1 % of store-days, the origin's cost and its stores without
/// recent history (with their RMSPE).
pub fn origin_table(rows: &[storecast_pipeline::backtest::OriginRow]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\n{:<11} {:<28} {:>7} {:>8} {:>7} {:>7} {:>8} {:>7} {:>9} {:>6} {:>14}",
        "origin",
        "model",
        "RMSPE",
        "log err",
        "WAPE",
        "MASE",
        "bias",
        "worst1%",
        "open days",
        "secs",
        "no recent (RMSPE)"
    );
    for r in rows {
        let s = &r.score;
        println!(
            "{:<11} {:<28} {:>7.4} {:>+8.4} {:>7.4} {:>7.4} {:>+8.4} {:>6.0}% {:>9} {:>6.1} {:>6}{}",
            r.origin.map_or("all".to_string(), |d| d.to_string()),
            s.model.name(),
            s.rmspe,
            s.mean_log_error,
            s.wape,
            s.mase,
            s.bias,
            s.worst_share * 100.0,
            s.open_days,
            r.seconds,
            r.no_recent_stores,
            if s.no_recent_days > 0 {
                format!(" ({:.4})", s.rmspe_no_recent)
            } else {
                String::new()
            },
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

/// The replay's weeks: live accuracy, alerts, retrains; then the totals.
pub fn replay_table(r: &storecast_pipeline::replay::Replay) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<10} {:<22} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6}  retrain",
        "week", "served", "RMSPE", "WAPE", "bias", "80%", "95%", "alerts"
    );
    for w in &r.weeks {
        let l = &w.live;
        let retrain = w
            .retrain
            .as_ref()
            .map_or(String::new(), |t| t.decision.clone());
        let _ = writeln!(
            s,
            "{:<10} {:<22} {:>7.4} {:>6.1}% {:>+6.1}% {:>5.1}% {:>5.1}% {:>6}  {retrain}",
            w.start,
            w.served,
            l.rmspe,
            l.wape * 100.0,
            l.bias * 100.0,
            l.cover80 * 100.0,
            l.cover95 * 100.0,
            w.alerts.len()
        );
    }
    let rmspe: Vec<f64> = r.weeks.iter().map(|w| w.live.rmspe).collect();
    let (lo, hi) = rmspe
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let retrains = r.weeks.iter().filter(|w| w.retrain.is_some()).count();
    let promoted = r
        .weeks
        .iter()
        .filter(|w| w.retrain.as_ref().is_some_and(|t| t.promoted.is_some()))
        .count();
    let _ = writeln!(
        s,
        "{} weeks from {}: live RMSPE {lo:.4} .. {hi:.4}; {retrains} retrains, {promoted} promoted; {} alerts; {:.0} s",
        r.weeks.len(),
        r.from,
        r.weeks.iter().map(|w| w.alerts.len()).sum::<usize>(),
        r.seconds
    );
    s
}

/// `text` with every control character written as an escape (`\u{1b}`, `\n`): stored text
/// (a file name, an audit target, a user name) cannot move the cursor, recolour the terminal
/// or forge a line of output.
pub fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// `println!` of one line with its control characters escaped (see [`clean`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        println!("{}", $crate::render::clean(&format!($($arg)*)))
    };
}
pub(crate) use outln;

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::clean("plain"), "plain");
        assert_eq!(super::clean("a\u{1b}[31m\nFORGED"), "a\\u{1b}[31m\\nFORGED");
    }
}
