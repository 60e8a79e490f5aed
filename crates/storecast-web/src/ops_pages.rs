//! The operations pages: live accuracy (monitoring), alerts, deliveries of actuals and the
//! model registry.
//!
//! Why this module exists: each page shows what `crate::operations` and `crate::registry`
//! answer on the API, for the reader the issue names: a director reads the chain's live
//! accuracy against its limits, acts on alerts and reads the registry; an admin promotes and
//! rolls back; a store manager delivers and sees their own store. The figures are formatted
//! here and drawn by the shipped chart script; the actions are posted by the page script
//! with the session's CSRF token.

use crate::auth::Caller;
use crate::error::AppError;
use crate::operations::{alerts_for, monitoring_for, Monitoring};
use crate::pages::{merge, render_page};
use crate::registry::models_for;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Html;
use axum::Extension;
use minijinja::{context, Value};
use storecast_charts::{Chart, Kind, Numbers, Series};
use storecast_monitor::{Accuracy, StoreAccuracy};
use storecast_store::Alert;

/// Stores listed on the chain's monitoring page (the worst by RMSPE).
pub const WORST_STORES: usize = 30;

fn accuracy_context(n: Numbers, a: &Accuracy) -> Value {
    context! {
        n => a.n, rmspe => n.number(a.rmspe, 4), wape => n.pct(a.wape),
        bias => n.signed_pct(a.bias),
        c80 => n.pct(a.cover80), c95 => n.pct(a.cover95),
        actual => n.eur(a.actual_total), forecast => n.eur(a.forecast_total),
    }
}

fn store_row(n: Numbers, s: &StoreAccuracy, limit: f64) -> Value {
    merge(
        accuracy_context(n, &s.accuracy),
        context! {
            store => s.store, href => format!("/store/{}", s.store),
            store_type => s.store_type.map(|t| t.to_string()).unwrap_or_default(),
            over => s.accuracy.rmspe.is_finite() && s.accuracy.rmspe > limit,
        },
    )
}

/// The charts of the monitoring page: RMSPE and coverage by ISO week against their limits,
/// RMSPE by horizon week, PSI by feature against its levels.
fn monitoring_charts(n: Numbers, m: &Monitoring) -> Value {
    let t = &m.thresholds;
    // A manager's stores are judged by the limit of one store.
    let (limit, limit_label) = if m.scope == "chain" {
        (t.rmspe, format!("limit ({})", t.rmspe_basis))
    } else {
        (t.store_rmspe, "limit for one store".to_string())
    };
    let weeks: Vec<String> = m.by_week.iter().map(|w| w.label.clone()).collect();
    let rmspe: Vec<f64> = m.by_week.iter().map(|w| w.accuracy.rmspe).collect();
    let flat = |v: f64| vec![v; weeks.len()];
    let week_chart = Chart::new(
        "live-rmspe",
        Kind::Line,
        "RMSPE of the issued forecasts by ISO week",
    )
    .axes("ISO week", "RMSPE")
    .labels(weeks.clone())
    .series(Series::new("RMSPE", rmspe).color("#2e6fd8"))
    .series(
        Series::new(limit_label, flat(limit))
            .color("#d62728")
            .dashed(),
    )
    .from_zero()
    .embed_with(n);
    let cover = |f: fn(&Accuracy) -> f64| m.by_week.iter().map(|w| f(&w.accuracy)).collect();
    let coverage_chart = Chart::new(
        "live-coverage",
        Kind::Line,
        "Share of actuals inside the 80% and 95% bands by ISO week",
    )
    .axes("ISO week", "share inside")
    .labels(weeks.clone())
    .series(Series::new("inside 95%", cover(|a| a.cover95)).color("#2e6fd8"))
    .series(
        Series::new("nominal 95%", flat(0.95))
            .color("#2e6fd8")
            .dashed(),
    )
    .series(Series::new("inside 80%", cover(|a| a.cover80)).color("#ff7f0e"))
    .series(
        Series::new("nominal 80%", flat(0.80))
            .color("#ff7f0e")
            .dashed(),
    )
    .series(
        Series::new("alert below (80%)", flat(t.coverage80_min))
            .color("#d62728")
            .dashed(),
    )
    .percent()
    .embed_with(n);
    let horizon: Vec<String> = m
        .by_horizon
        .iter()
        .map(|h| format!("week {}", h.week))
        .collect();
    let horizon_chart = Chart::new(
        "live-horizon",
        Kind::Bar,
        "RMSPE by week of the horizon (week 1 = the first week after training)",
    )
    .axes("horizon", "RMSPE")
    .labels(horizon)
    .series(Series::new(
        "RMSPE",
        m.by_horizon.iter().map(|h| h.accuracy.rmspe).collect(),
    ))
    .reference(limit)
    .from_zero()
    .embed_with(n);
    let drift_chart = (!m.drift.is_empty()).then(|| {
        Chart::new(
            "live-drift",
            Kind::Bar,
            "Input drift: PSI of each feature against the same weeks a year earlier",
        )
        .axes("feature", "PSI")
        .labels(m.drift.iter().map(|d| d.feature.clone()))
        .series(Series::new("PSI", m.drift.iter().map(|d| d.psi).collect()))
        .series(
            Series::new("warn", vec![t.psi_warn; m.drift.len()])
                .kind(Kind::Line)
                .color("#ff7f0e")
                .dashed(),
        )
        .series(
            Series::new("alert", vec![t.psi_alert; m.drift.len()])
                .kind(Kind::Line)
                .color("#d62728")
                .dashed(),
        )
        .from_zero()
        .embed_with(n)
    });
    context! { week_chart, coverage_chart, horizon_chart, drift_chart }
}

fn monitoring_context(n: Numbers, m: &Monitoring) -> Value {
    let t = &m.thresholds;
    let mut stores: Vec<&StoreAccuracy> = m.by_store.iter().filter(|s| s.accuracy.n > 0).collect();
    stores.sort_by(|a, b| b.accuracy.rmspe.total_cmp(&a.accuracy.rmspe));
    let chain = m.scope == "chain";
    let shown = if chain { WORST_STORES } else { stores.len() };
    let mut cusum: Vec<Value> = m
        .cusum
        .iter()
        .map(|c| context! {
            store => c.store, n => c.n, upper => n.number(c.last_upper, 1), lower => n.number(c.last_lower, 1),
            alarm => c.alarm.as_ref().map(|a| format!(
                "sales {} the forecast since {} (alarm on {})",
                if a.direction == storecast_monitor::Direction::Up { "above" } else { "below" },
                a.since, a.date
            )),
        })
        .collect();
    cusum.sort_by_key(|c| c.get_attr("alarm").map_or(true, |a| a.is_none()));
    context! {
        scope => m.scope.clone(), chain => chain, version => m.model_version.clone(),
        dates => m.dates.map(|(a, b)| format!("{a} – {b}")),
        overall => accuracy_context(n, &m.overall), scored => m.overall.n > 0,
        limit => n.number(if chain { t.rmspe } else { t.store_rmspe }, 4),
        limit_basis => if chain { t.rmspe_basis.clone() } else { format!("{} × the chain's limit, {}", n.number(t.store_rmspe / t.rmspe, 2), t.rmspe_basis) },
        store_limit => n.number(t.store_rmspe, 4),
        c80_min => n.pct(t.coverage80_min), c95_min => n.pct(t.coverage95_min),
        bias_max => n.pct(t.bias_abs_max), min_days => t.min_days, cusum_h => n.number(t.cusum_h, 0),
        psi_warn => t.psi_warn, psi_alert => t.psi_alert,
        types => m.by_store_type.iter().map(|ty| merge(accuracy_context(n, &ty.accuracy), context! { store_type => ty.store_type.to_string(), stores => ty.stores })).collect::<Vec<_>>(),
        stores => stores.iter().take(shown).map(|s| store_row(n, s, t.store_rmspe)).collect::<Vec<_>>(),
        stores_total => stores.len(),
        weeks => m.by_week.iter().map(|w| merge(accuracy_context(n, &w.accuracy), context! { label => w.label.clone() })).collect::<Vec<_>>(),
        horizon => m.by_horizon.iter().map(|h| merge(accuracy_context(n, &h.accuracy), context! { week => h.week })).collect::<Vec<_>>(),
        drift_unavailable => m.drift_unavailable.clone(),
        drift => m.drift.iter().map(|d| context! { feature => d.feature.clone(), driver => d.driver.label(), psi => n.number(d.psi, 3), level => format!("{:?}", d.level).to_lowercase() }).collect::<Vec<_>>(),
        cusum => cusum,
        charts => monitoring_charts(n, m),
    }
}

/// `GET /monitoring`: live accuracy of the served model (a manager: their own stores).
pub async fn monitoring_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let (st2, c2) = (st.clone(), caller.clone());
    let m = tokio::task::spawn_blocking(move || monitoring_for(&st2, &c2))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let model = st.model.load();
    render_page(
        &st,
        &caller,
        &model,
        "monitoring",
        "Live accuracy",
        monitoring_context(st.numbers, &m),
    )
}

fn when(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

fn alert_context(n: Numbers, a: &Alert) -> Value {
    context! {
        id => a.id, kind => a.kind.name(), scope => a.scope.clone(), since => when(&a.at),
        value => n.number(a.value, 3), threshold => n.number(a.threshold, 3), message => a.message.clone(),
        by => a.acknowledged_by.clone(), at => a.acknowledged_at.as_deref().map(when), note => a.acknowledged_note.clone(),
    }
}

/// `GET /alerts`: open alerts to acknowledge and the acknowledged history (directors, admins).
pub async fn alerts_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    let a = alerts_for(&st, &caller)?;
    let m = st.model.load();
    let ctx = context! {
        open => a.open.iter().map(|x| alert_context(n, x)).collect::<Vec<_>>(),
        history => a.acknowledged.iter().map(|x| alert_context(n, x)).collect::<Vec<_>>(),
    };
    render_page(&st, &caller, &m, "alerts", "Alerts", ctx)
}

/// `GET /actuals`: deliver a file of actuals; the deliveries so far (a manager: their own).
pub async fn actuals_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let db = st.store.as_ref().ok_or_else(|| {
        AppError::BadRequest("deliveries need the app's database (serve with --db)".into())
    })?;
    let mine_only = caller.store_scope().is_some();
    let deliveries: Vec<Value> = db
        .ingestions()?
        .iter()
        .rev()
        .filter(|i| !mine_only || i.actor == caller.name)
        .take(50)
        .map(|i| context! {
            file => i.file_name.clone(), at => when(&i.at), actor => i.actor.clone(), rows => i.rows,
            inserted => i.inserted, unchanged => i.unchanged, sha => i.sha256.get(..12).unwrap_or(&i.sha256).to_string(),
        })
        .collect();
    let m = st.model.load();
    let ctx = context! {
        deliveries => deliveries,
        scope => caller.store_scope().map(|s| s.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")),
        limit_mib => crate::operations::UPLOAD_LIMIT >> 20,
        columns => storecast_data::history::COLUMNS.join(","),
    };
    render_page(&st, &caller, &m, "actuals", "Deliver actuals", ctx)
}

/// `GET /registry`: the model versions (directors read, admins promote and roll back).
pub async fn registry_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    let (st2, c2) = (st.clone(), caller.clone());
    let models = tokio::task::spawn_blocking(move || models_for(&st2, &c2))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let folds = models
        .versions
        .iter()
        .map(|v| v.fold_rmspe.len())
        .max()
        .unwrap_or(0);
    let versions: Vec<Value> = models
        .versions
        .iter()
        .map(|v| context! {
            version => v.version.clone(), trained_at => when(&v.trained_at), train_end => v.train_end.map(|d| d.to_string()),
            folds => v.fold_rmspe.iter().map(|r| n.number(*r, 4)).collect::<Vec<_>>(), verified => v.verified, problem => v.problem.clone(),
            fingerprint => v.data_fingerprint.get(..12).unwrap_or(&v.data_fingerprint).to_string(), code => v.code_version.clone(),
            active => v.active, served => v.served, promoted => v.promoted_by.as_ref().map(|by| format!("{by}, {}", v.promoted_at.as_deref().map(when).unwrap_or_default())),
        })
        .collect();
    let m = st.model.load();
    let ctx = context! { versions => versions, folds => (1..=folds).collect::<Vec<_>>(), can_act => models.can_act, served => models.served };
    render_page(&st, &caller, &m, "registry", "Model registry", ctx)
}
