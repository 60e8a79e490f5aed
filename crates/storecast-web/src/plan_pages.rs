//! The pages of managers in the loop: the plan part of the store view (overrides entered,
//! the plan beside the model, the edit history), the directors' FVA page and exception list.
//!
//! Why this module exists: the store view's forecast part is cached per model (it is the
//! same for everyone), while the plan changes with every override; keeping the plan's
//! context here, built per request from `crate::plan`, keeps the cache right and the store
//! page's handler short.

use crate::auth::Caller;
use crate::error::AppError;
use crate::fva::{self, Exception};
use crate::pages::{merge, render_page};
use crate::plan::{build_plan, in_force};
use crate::state::{AppState, ModelState, StoreForecast};
use axum::extract::State;
use axum::response::Html;
use axum::Extension;
use minijinja::{context, Value};
use storecast_charts::{Chart, Kind, Numbers, Series};
use storecast_plan::fva::{FvaRow, FvaTable};
use storecast_plan::overrides::{AdjustmentKind, Reason};
use storecast_plan::Dimension;

/// A number of percentage points, signed ("+2.4 pts").
pub fn pts(n: Numbers, x: f64) -> String {
    format!("{} pts", n.signed(x * 100.0, 1))
}

/// An adjustment as entered, in words ("+10.0%", "−200 €", "estimate 4,100 €").
pub fn adjustment_text(n: Numbers, kind: AdjustmentKind, value: f64) -> String {
    match kind {
        AdjustmentKind::Estimate => format!("estimate {}", n.eur(value)),
        AdjustmentKind::DeltaEur => n.signed_eur(value),
        AdjustmentKind::DeltaPct => n.signed_pct(value / 100.0),
    }
}

/// The plan part of store `f`'s page (per request: overrides change it).
pub fn store_plan_context(
    st: &AppState,
    m: &ModelState,
    f: &StoreForecast,
) -> Result<Value, AppError> {
    let n = st.numbers;
    let records = in_force(st, f.store)?;
    let plan = build_plan(m, f, &records)?;
    let days: Vec<Value> = plan
        .days
        .iter()
        .map(|d| {
            context! {
                plan => if d.open { n.eur(d.plan) } else { String::new() },
                changed => d.over.is_some(), outside95 => d.outside95,
                over => d.over.as_ref().map(|o| format!("{} · {}{}", adjustment_text(n, o.kind, o.value), o.reason.label(),
                    if o.note.is_empty() { String::new() } else { format!(" ({})", o.note) })),
                by => d.over.as_ref().map(|o| format!("{} at {}", o.author, o.at.get(..16).unwrap_or(&o.at))),
            }
        })
        .collect();
    let weeks: std::collections::BTreeMap<String, Value> = plan
        .weeks
        .iter()
        .map(|w| {
            (
                w.monday.to_string(),
                context! { plan => n.eur(w.plan), changed => (w.plan - w.model).abs() >= 0.5, days => w.days },
            )
        })
        .collect();
    let history = match st.store.as_deref() {
        Some(db) => db.override_history(f.store)?,
        None => Vec::new(),
    };
    let history: Vec<Value> = history
        .iter()
        .take(30)
        .map(|r| context! {
            at => r.at.get(..16).unwrap_or(&r.at).replace('T', " "), author => r.author.clone(), date => r.date.to_string(),
            what => r.adjustment.map_or("cleared (model stands)".to_string(), |a| adjustment_text(n, a.kind, a.value)),
            reason => r.reason.label(), note => r.note.clone(), model => n.eur(r.model_forecast), plan => n.eur(r.plan),
            version => r.model_version.clone(),
        })
        .collect();
    let mut ctx = context! {
        plan_days => days, week_plan => weeks, history => history,
        plan_total => n.eur(plan.plan_total), plan_changed => plan.overridden_days > 0,
        overridden_days => plan.overridden_days, plan_first => plan.first_day.to_string(),
        can_override => st.store.is_some(),
        record => crate::fva::store_record(st, m, f.store)?,
        open_days => plan.days.iter().filter(|d| d.open).map(|d| d.date.to_string()).collect::<Vec<_>>(),
        mondays => plan.weeks.iter().map(|w| w.monday.to_string()).collect::<Vec<_>>(),
        reasons => Reason::ALL.iter().map(|r| context! { code => r.code(), label => r.label() }).collect::<Vec<_>>(),
    };
    if plan.overridden_days > 0 {
        let values: Vec<f64> = plan.days.iter().map(|d| d.plan).collect();
        ctx = merge(
            ctx,
            context! { plan_chart => crate::pages::store_chart(n, m, f, f.store, Some(&values)) },
        );
    }
    Ok(ctx)
}

fn row_context(n: Numbers, r: &FvaRow) -> Value {
    let cls = |lo: f64, hi: f64| {
        if lo > 0.0 {
            "up"
        } else if hi < 0.0 {
            "down"
        } else {
            ""
        }
    };
    context! {
        group => r.group.to_string(), days => r.days, overridden => r.overridden, store_weeks => r.store_weeks,
        naive => n.pct(r.naive.wape), model => n.pct(r.model.wape), plan => n.pct(r.plan.wape),
        fva_model => pts(n, r.fva_model.value), fva_model_band => format!("{} … {}", pts(n, r.fva_model.lo), pts(n, r.fva_model.hi)),
        fva_plan => pts(n, r.fva_plan.value), fva_plan_band => format!("{} … {}", pts(n, r.fva_plan.lo), pts(n, r.fva_plan.hi)),
        fva_plan_class => cls(r.fva_plan.lo, r.fva_plan.hi),
        bias_model => n.signed_pct(r.model.bias), bias_plan => n.signed_pct(r.plan.bias),
        err_model => n.eur(r.model.abs_error_eur), err_plan => n.eur(r.plan.abs_error_eur),
        rmspe_model => n.number(r.model.rmspe, 3), rmspe_plan => n.number(r.plan.rmspe, 3),
    }
}

/// The sentence a director acts on, for one reason's row.
pub fn reason_verdict(n: Numbers, r: &FvaRow) -> String {
    let f = r.fva_plan;
    let what = format!(
        "\u{201c}{}\u{201d} overrides ({} store-days)",
        r.group, r.days
    );
    if f.positive() {
        format!(
            "{what} improve WAPE by {:.1} points ({:.1} to {:.1}): keep them.",
            f.value * 100.0,
            f.lo * 100.0,
            f.hi * 100.0
        )
    } else if f.negative() {
        format!(
            "{what} worsen WAPE by {:.1} points ({:.1} to {:.1}): stop them or ask for evidence.",
            -f.value * 100.0,
            -f.hi * 100.0,
            -f.lo * 100.0
        )
    } else {
        format!("{what}: no clear effect ({} … {}); not worth the managers' time unless the reason is documented.", pts(n, f.lo), pts(n, f.hi))
    }
}

fn tables_context(n: Numbers, tables: &[FvaTable], skip_store: bool) -> Vec<Value> {
    tables
        .iter()
        .filter(|t| !(skip_store && t.dimension == Dimension::Store))
        .map(|t| context! { id => format!("fva-{}", serde_json::to_value(t.dimension).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()),
            title => t.dimension.label(), rows => t.rows.iter().map(|r| row_context(n, r)).collect::<Vec<_>>() })
        .collect()
}

/// The FVA chart: FVA of the overrides by reason, with their intervals.
fn reason_chart(n: Numbers, t: &FvaTable, id: &str) -> String {
    let labels: Vec<String> = t.rows.iter().map(|r| r.group.to_string()).collect();
    let mut s = Series::new(
        "FVA of the overrides (WAPE points)",
        t.rows.iter().map(|r| r.fva_plan.value * 100.0).collect(),
    )
    .color("#2e6fd8");
    s.intervals = t
        .rows
        .iter()
        .map(|r| Some((r.fva_plan.lo * 100.0, r.fva_plan.hi * 100.0)))
        .collect();
    Chart::new(
        id,
        Kind::Bar,
        "Value added by the overrides, by reason (positive: better than the model)",
    )
    .axes("reason", "WAPE points")
    .labels(labels)
    .series(s)
    .reference(0.0)
    .embed_with(n)
}

/// `GET /fva`: Forecast Value Added for directors (a manager sees their own stores' record).
pub async fn fva_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    let m = st.model.load();
    let r = fva::report(&st, &m, &caller)?;
    let ev = fva::evidence()?;
    let by_reason = ev.table(Dimension::Reason);
    let verdicts: Vec<String> = by_reason.map_or(Vec::new(), |t| {
        t.rows.iter().map(|r| reason_verdict(n, r)).collect()
    });
    let styles: Vec<Value> = r
        .evidence_by_style
        .iter()
        .map(|(s, row)| merge(row_context(n, row), context! { style => s.label() }))
        .collect();
    let live_reason = r.live.iter().find(|t| t.dimension == Dimension::Reason);
    let ctx = context! {
        live_days => r.live_days, live_overridden => r.live_overridden,
        live => tables_context(n, &r.live, false),
        live_verdicts => live_reason.map_or(Vec::new(), |t| t.rows.iter().map(|r| reason_verdict(n, r)).collect::<Vec<_>>()),
        live_chart => live_reason.filter(|t| !t.rows.is_empty()).map(|t| reason_chart(n, t, "fva-live-reasons")),
        evidence => tables_context(n, &r.evidence, true), styles => styles, verdicts => verdicts,
        evidence_chart => by_reason.map(|t| reason_chart(n, t, "fva-reasons")),
        stores => fva::EVIDENCE_STORES, planted => r.planted.clone(),
        is_viewer => !caller.role.can_view_chain(),
        level => n.pct_with(storecast_plan::fva::INTERVAL_LEVEL, 0),
    };
    render_page(&st, &caller, &m, "fva", "Forecast Value Added", ctx)
}

fn exception_context(n: Numbers, e: &Exception) -> Value {
    context! {
        store => e.store, store_type => e.store_type.clone(), score => n.number(e.score, 1), href => e.href.clone(),
        reasons => e.reasons.iter().map(|r| r.text.clone()).collect::<Vec<_>>(),
        ack => e.acknowledged.as_ref().map(|a| format!("{} — {} ({})", a.note, a.author, a.at.get(..16).unwrap_or(&a.at).replace('T', " "))),
    }
}

/// `GET /exceptions`: stores ranked by where a director's attention pays.
pub async fn exceptions_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    caller.require_chain()?;
    let m = st.model.load();
    let list = fva::exceptions(&st, &m)?;
    let ctx = context! {
        rows => list.iter().map(|x| exception_context(n, x)).collect::<Vec<_>>(),
        can_ack => st.store.is_some(), large_change => n.pct_with(fva::LARGE_CHANGE, 0),
    };
    render_page(&st, &caller, &m, "exceptions", "Exception list", ctx)
}
