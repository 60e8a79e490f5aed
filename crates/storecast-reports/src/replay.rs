//! The replay report: what weeks of unattended operations did to the forecasts. Live RMSPE and
//! coverage week by week (retrain weeks marked), accuracy by how far ahead a forecast was
//! issued, the alerts and the retrains with their decisions.
//!
//! Why: a chain buys operations when it sees them keep the forecasts good over time; this is
//! the page an operations lead reads after a replay (and, later, over live weeks).

use crate::tables::{f4, pct, spct};
use storecast_charts::{Chart, Doc, Kind, Section, Series};
use storecast_monitor::replay::{Replay, ReplayWeek};

/// Marks a week whose retrain was promoted (its successor is served by the new model).
const RETRAIN_MARK: &str = "↻";

fn label(w: &ReplayWeek) -> String {
    match &w.retrain {
        Some(t) if t.promoted.is_some() => format!("{} {RETRAIN_MARK}", w.start),
        _ => w.start.to_string(),
    }
}

fn summary(r: &Replay) -> Section {
    let (lo, hi) = r.rmspe_range().unwrap_or((f64::NAN, f64::NAN));
    let (run, promoted) = r.retrains();
    let alerts: Vec<String> = r
        .alerts_by_kind()
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let policy = match r.every_weeks {
        0 => "only on alerts".to_string(),
        n => format!("every {n} weeks"),
    };
    let early: Vec<String> = r.early_on.iter().map(|k| k.to_string()).collect();
    Section::new("summary", "Summary")
        .callout(format!(
            "{} weeks from {}: live RMSPE between {} and {} each week; {run} retrains, {promoted} promoted; alerts: {}.",
            r.weeks.len(),
            r.from,
            f4(lo),
            f4(hi),
            if alerts.is_empty() { "none".into() } else { alerts.join(", ") }
        ))
        .para(format!(
            "Each week the operations step issued the served model's next six weeks, ingested the week's actuals (the checks of `storecast ingest`), ran the monitor and retrained {policy} (earlier on {} alerts), promoting a candidate only when the promotion policy allowed it. The first model ({}) was trained on the history before {} only. Retrains: {} backtest fold(s), {} trees. The replay took {:.0} s.",
            if early.is_empty() { "no".into() } else { early.join(", ") },
            r.initial_model,
            r.from,
            r.retrain_folds,
            r.retrain_trees,
            r.seconds
        ))
}

fn charts(r: &Replay) -> Section {
    let labels: Vec<String> = r.weeks.iter().map(label).collect();
    let rmspe = Chart::new(
        "replay-rmspe",
        Kind::Line,
        "Live RMSPE of the forecasts issued at each week's start",
    )
    .axes(
        format!("week ({RETRAIN_MARK}: a retrain promoted at its end)"),
        "RMSPE",
    )
    .labels(labels.clone())
    .series(Series::new(
        "live RMSPE",
        r.weeks.iter().map(|w| w.live.rmspe).collect(),
    ))
    .from_zero()
    .percent();
    let coverage = Chart::new(
        "replay-coverage",
        Kind::Line,
        "Actuals inside the forecast bands",
    )
    .axes("week", "share of store-days")
    .labels(labels)
    .series(Series::new(
        "80% band",
        r.weeks.iter().map(|w| w.live.cover80).collect(),
    ))
    .series(Series::new("95% band", r.weeks.iter().map(|w| w.live.cover95).collect()).dashed())
    .reference(0.8)
    .percent();
    Section::new("weeks", "Week by week")
        .chart(rmspe)
        .chart(coverage)
        .table(
            &[
                "week",
                "served",
                "RMSPE",
                "WAPE",
                "bias",
                "in 80%",
                "in 95%",
                "store-days",
                "alerts",
                "retrain",
            ],
            r.weeks.iter().map(row).collect(),
        )
}

fn row(w: &ReplayWeek) -> Vec<String> {
    let l = &w.live;
    let retrain = w
        .retrain
        .as_ref()
        .map_or(String::new(), |t| format!("{}: {}", t.reason, t.decision));
    vec![
        w.start.to_string(),
        w.served.clone(),
        f4(l.rmspe),
        pct(l.wape),
        spct(l.bias),
        pct(l.cover80),
        pct(l.cover95),
        l.n.to_string(),
        w.alerts.len().to_string(),
        retrain,
    ]
}

fn horizons(r: &Replay) -> Section {
    let headers = [
        "week",
        "issued that week",
        "1 week before",
        "2 weeks before",
        "3 weeks before",
        "4 weeks before",
        "5 weeks before",
    ];
    let rows = r
        .weeks
        .iter()
        .map(|w| {
            let mut cells = vec![w.start.to_string()];
            cells.extend((0..6).map(|h| {
                w.by_horizon
                    .iter()
                    .find(|(ago, _, _)| *ago == h)
                    .map_or(String::new(), |(_, rmspe, _)| f4(*rmspe))
            }));
            cells
        })
        .collect();
    Section::new("horizons", "RMSPE by how far ahead the forecast was issued")
        .para("Each week's actuals scored against every forecast issued for it: at the week's start, and one to five weeks earlier (by the model served then).")
        .table(&headers, rows)
}

fn alerts(r: &Replay) -> Section {
    let items: Vec<String> = r
        .weeks
        .iter()
        .flat_map(|w| {
            w.alerts
                .iter()
                .map(move |a| format!("{} · {} · {}: {}", w.start, a.kind, a.scope, a.message))
        })
        .collect();
    let shown = items.len().min(60);
    let mut s = Section::new("alerts", "Alerts raised");
    if items.is_empty() {
        return s.para("No alert was raised.");
    }
    if items.len() > shown {
        s = s.para(format!(
            "The first {shown} of {} alerts (all are in replay.json):",
            items.len()
        ));
    }
    s.list(items.into_iter().take(shown).collect())
}

/// The replay's document (`data_origin`: where the chain came from).
pub fn replay(r: &Replay, data_origin: &str) -> Doc {
    Doc {
        title: "Operations replay".into(),
        subtitle: format!("{} weeks from {} on {data_origin}", r.weeks.len(), r.from),
        sections: vec![summary(r), charts(r), horizons(r), alerts(r)],
    }
}
