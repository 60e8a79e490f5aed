//! Shared cuts of backtest predictions (by store type, horizon week, weekday ...), computed
//! once and used by both reports, with small formatting helpers.

use storecast_model::backtest::{BacktestResult, Prediction};
use storecast_model::Metrics;

/// A named way to split predictions into groups.
pub struct Cut {
    /// Column header.
    pub name: &'static str,
    /// Group label of a prediction.
    pub key: fn(&Prediction) -> String,
    /// Sort order of groups.
    pub order: fn(&str) -> i64,
}

fn weekday_name(p: &Prediction) -> String {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][(p.weekday() as usize).clamp(1, 7) - 1]
        .to_string()
}

fn weekday_order(k: &str) -> i64 {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .position(|d| *d == k)
        .map_or(9, |i| i as i64)
}

fn season_order(k: &str) -> i64 {
    storecast_model::backtest::Season::ALL
        .iter()
        .position(|s| s.label() == k)
        .map_or(9, |i| i as i64)
}

fn natural(k: &str) -> i64 {
    k.chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn alpha(k: &str) -> i64 {
    k.bytes().next().map_or(0, i64::from)
}

/// The standard cuts.
pub const CUTS: &[Cut] = &[
    Cut {
        name: "store type",
        key: |p| p.store_type.code().to_string(),
        order: alpha,
    },
    Cut {
        name: "assortment",
        key: |p| p.assortment.name().to_string(),
        order: alpha,
    },
    Cut {
        name: "horizon week",
        key: |p| format!("week {}", p.horizon_week()),
        order: natural,
    },
    Cut {
        name: "weekday",
        key: weekday_name,
        order: weekday_order,
    },
    Cut {
        name: "promo",
        key: |p| {
            if p.promo {
                "promo day".into()
            } else {
                "no promo".into()
            }
        },
        order: alpha,
    },
    Cut {
        name: "holidays",
        key: |p| {
            if p.near_holiday {
                "near a public holiday".into()
            } else if p.school_holiday {
                "school holiday".into()
            } else {
                "ordinary day".into()
            }
        },
        order: alpha,
    },
    Cut {
        name: "season",
        key: |p| {
            p.season
                .map_or("not recorded (older backtest)", |s| s.label())
                .into()
        },
        order: season_order,
    },
    Cut {
        name: "last year",
        key: |p| {
            match p.last_year_known {
                Some(true) => "last year's sales known",
                Some(false) => "no last-year sales",
                None => "not recorded (older backtest)",
            }
            .into()
        },
        order: alpha,
    },
];

/// Metrics of several models per group of a cut, optionally restricted to one fold.
pub fn by_cut(
    bt: &BacktestResult,
    cut: &Cut,
    models: &[storecast_model::ModelKind],
    fold: Option<usize>,
) -> Vec<(String, Vec<Metrics>)> {
    let mut keys: Vec<String> = bt
        .predictions
        .iter()
        .filter(|p| fold.is_none_or(|f| p.fold == f))
        .map(|p| (cut.key)(p))
        .collect();
    keys.sort_by_key(|k| ((cut.order)(k), k.clone()));
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let ms = models
                .iter()
                .map(|m| {
                    bt.metrics_where(*m, |p| {
                        fold.is_none_or(|f| p.fold == f) && (cut.key)(p) == k
                    })
                })
                .collect();
            (k, ms)
        })
        .collect()
}

/// `0.1234` → `12.3%`.
pub fn pct(x: f64) -> String {
    storecast_charts::Numbers::EN.pct(x)
}

/// Signed percentage.
pub fn spct(x: f64) -> String {
    storecast_charts::Numbers::EN.signed_pct(x)
}

/// `0.12345` → `0.1235`.
pub fn f4(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "–".into()
    }
}

pub use storecast_charts::eur;

/// Interval coverage as table rows: scope, inside 80 %, inside 95 %, count.
pub fn coverage_table(coverage: &[storecast_model::artifact::CoverageRow]) -> Vec<Vec<String>> {
    coverage
        .iter()
        .map(|c| {
            vec![
                c.scope.clone(),
                pct(c.cover80),
                pct(c.cover95),
                c.n.to_string(),
            ]
        })
        .collect()
}
