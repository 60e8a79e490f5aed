//! Forecast Value Added and the directors' exception list, as the app serves them.
//!
//! Why this module exists: FVA is only worth showing on store-days that are over — issued
//! forecast, the override in force, and the actual that arrived by ingestion — so the live
//! record is joined here from the database; until there is one (and as proof that the method
//! tells good overrides from bad), the page also shows the planted managers of the synthetic
//! chain (`storecast_plan::evidence`). The exception list ranks stores by where a director's
//! attention pays: overrides far from the model, open alerts of the store, a large expected
//! change, data-quality findings.

use crate::auth::Caller;
use crate::error::AppError;
use crate::plan::{build_plan, db};
use crate::state::{AppState, ModelState};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use storecast_plan::evidence::Evidence;
use storecast_plan::fva::{self, FvaTable, ScoredDay};
use storecast_plan::{ManagerStyle, PlantedManagers};
use storecast_store::ExceptionAck;

/// Stores of the synthetic chain the evidence plants managers on.
pub const EVIDENCE_STORES: u16 = storecast_plan::evidence::STANDARD_STORES;
/// Seed of the live tables' bootstrap.
const LIVE_SEED: u64 = 11;

/// The planted-manager evidence, built once per process (deterministic: same numbers always).
pub fn evidence() -> Result<&'static Evidence, AppError> {
    static EVIDENCE: OnceLock<Result<Evidence, String>> = OnceLock::new();
    EVIDENCE
        .get_or_init(|| Evidence::standard().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::Internal(format!("FVA evidence: {e}")))
}

/// The live record: store-days of the caller's stores with an issued forecast and an actual,
/// scored with the override that was in force.
pub fn live_days(
    st: &AppState,
    m: &ModelState,
    caller: &Caller,
) -> Result<Vec<ScoredDay>, AppError> {
    scored_days(st, m, None, &|s| caller.role.can_view_store(s))
}

/// The live store-days of `store` (every store when `None`) that `visible` accepts.
fn scored_days(
    st: &AppState,
    m: &ModelState,
    store: Option<u16>,
    visible: &dyn Fn(u16) -> bool,
) -> Result<Vec<ScoredDay>, AppError> {
    let Some(db) = st.store.as_deref() else {
        return Ok(Vec::new());
    };
    let mut latest: BTreeMap<(u16, NaiveDate), storecast_store::ForecastVsActual> = BTreeMap::new();
    let mut first_of: HashMap<String, NaiveDate> = HashMap::new();
    for r in db.forecast_vs_actual_of(None, store)? {
        let first = first_of
            .entry(r.model_version.clone())
            .or_insert(r.forecast.date);
        *first = (*first).min(r.forecast.date);
        if !r.actual_open || r.actual_sales <= 0 || !visible(r.forecast.store) {
            continue;
        }
        let key = (r.forecast.store, r.forecast.date);
        if latest.get(&key).is_none_or(|o| o.issued_at < r.issued_at) {
            latest.insert(key, r);
        }
    }
    let overrides: HashMap<(u16, NaiveDate), storecast_store::OverrideRecord> = db
        .overrides_in_force(None)?
        .into_iter()
        .map(|o| ((o.store, o.date), o))
        .collect();
    let tl = &m.scenario.tl;
    Ok(latest
        .into_values()
        .filter_map(|r| {
            let f = r.forecast;
            let s = tl.store_index(f.store)?;
            let di = tl.day_index(f.date - chrono::Duration::days(364))?;
            let naive = f64::from(tl.actual_sales(s, di).filter(|v| *v > 0.0)?);
            let first = first_of.get(&r.model_version).copied().unwrap_or(f.date);
            let o = overrides.get(&(f.store, f.date));
            let plan = o
                .and_then(|o| o.adjustment)
                .map_or(f.sales, |a| a.apply(f.sales));
            Some(ScoredDay {
                store: f.store,
                store_type: st
                    .chain
                    .stores
                    .get(f.store)
                    .map_or("a", |i| i.store_type.code())
                    .to_string(),
                date: f.date,
                horizon_week: ((f.date - first).num_days() / 7 + 1).clamp(1, 255) as u8,
                actual: f64::from(r.actual_sales),
                naive,
                model: f.sales,
                plan,
                reason: o.filter(|o| o.adjustment.is_some()).map(|o| o.reason),
            })
        })
        .collect())
}

/// A store's own record on its view: what its overrides did to the plan's WAPE so far, or
/// `None` before any overridden day has its actual.
pub fn store_record(st: &AppState, m: &ModelState, store: u16) -> Result<Option<String>, AppError> {
    // The store's own rows only: this runs on every view of the store page.
    let days = scored_days(st, m, Some(store), &|_| true)?;
    if !days.iter().any(|d| d.reason.is_some()) {
        return Ok(None);
    }
    let table = fva::table(&days, fva::Dimension::Chain, LIVE_SEED);
    let Some(row) = table.rows.first() else {
        return Ok(None);
    };
    let f = row.fva_plan;
    let verdict = if f.positive() {
        "they made the plan better"
    } else if f.negative() {
        "they made the plan worse"
    } else {
        "no clear effect yet"
    };
    Ok(Some(format!(
        "Your overrides so far: {:+.1} points of WAPE over {} store-week(s), {} overridden day(s) ({:.0}% interval {:+.1} to {:+.1}): {verdict}.",
        f.value * 100.0,
        row.store_weeks,
        row.overridden,
        fva::INTERVAL_LEVEL * 100.0,
        f.lo * 100.0,
        f.hi * 100.0,
    )))
}

/// `GET /api/v1/fva`: the live record of the caller's stores and the planted evidence.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct FvaReport {
    /// Live store-days scored.
    pub live_days: usize,
    /// Of which overridden.
    pub live_overridden: usize,
    /// Live tables (empty until actuals of overridden forecasts arrive).
    pub live: Vec<FvaTable>,
    /// The planted evidence's tables.
    pub evidence: Vec<FvaTable>,
    /// The planted evidence by manager style (chain-level row of that style's stores).
    pub evidence_by_style: Vec<(ManagerStyle, fva::FvaRow)>,
    /// The planted behaviours' sizes.
    pub planted: PlantedManagers,
}

/// The FVA report for `caller`.
pub fn report(st: &AppState, m: &ModelState, caller: &Caller) -> Result<FvaReport, AppError> {
    let days = live_days(st, m, caller)?;
    let ev = evidence()?;
    Ok(FvaReport {
        live_days: days.len(),
        live_overridden: days.iter().filter(|d| d.reason.is_some()).count(),
        live: if days.is_empty() {
            Vec::new()
        } else {
            fva::tables(&days, LIVE_SEED)
        },
        evidence: ev.tables.clone(),
        evidence_by_style: ev.by_style.clone(),
        planted: ev.managers.clone(),
    })
}

/// `GET /api/v1/fva`.
#[utoipa::path(get, path = "/api/v1/fva", tag = "plans", summary = "Forecast Value Added: naive, model and plan scored on the same store-days, by store, type, reason, manager and horizon week, with 90% intervals (a manager: their own record)", responses((status = 200, description = "FVA", body = FvaReport), (status = 400, description = "bad request", body = crate::error::ErrorBody)))]
pub async fn get_fva(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<FvaReport>, AppError> {
    let m = st.model.load();
    Ok(Json(report(&st, &m, &caller)?))
}

/// Why a store is on the exception list.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Overrides whose plan lies outside the model's 95 % band.
    OverrideOutsideBand,
    /// An open monitoring alert of the store (accuracy, coverage, bias, drift, CUSUM).
    OpenAlert,
    /// A large expected change vs the same weeks last year.
    LargeChange,
    /// Data-quality findings about the store.
    DataQuality,
    /// The store's overrides so far made the plan worse (live FVA below zero, the whole
    /// interval).
    NegativeFva,
}

impl ExceptionKind {
    /// How much one such reason weighs in the ranking.
    fn weight(self) -> f64 {
        match self {
            Self::OverrideOutsideBand => 3.0,
            Self::OpenAlert => 2.0,
            Self::LargeChange => 1.0,
            Self::DataQuality => 0.5,
            Self::NegativeFva => 2.0,
        }
    }

    /// Every kind, in the order the chain view counts them.
    pub const ALL: [ExceptionKind; 5] = [
        Self::OverrideOutsideBand,
        Self::OpenAlert,
        Self::NegativeFva,
        Self::LargeChange,
        Self::DataQuality,
    ];

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::OverrideOutsideBand => "overrides outside the model's 95% band",
            Self::OpenAlert => "open monitoring alerts",
            Self::NegativeFva => "overrides that made the plan worse",
            Self::LargeChange => "a large expected change vs last year",
            Self::DataQuality => "data-quality findings",
        }
    }
}

/// An expected like-for-like change at least this large (either way) needs a look.
pub const LARGE_CHANGE: f64 = 0.15;

/// One reason of an exception.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct ExceptionReason {
    /// What.
    pub kind: ExceptionKind,
    /// In words, with the numbers.
    pub text: String,
}

/// A store on the exception list.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Exception {
    /// Store id.
    pub store: u16,
    /// Store type code.
    pub store_type: String,
    /// Ranking score (weights of the reasons).
    pub score: f64,
    /// Why.
    pub reasons: Vec<ExceptionReason>,
    /// Link to the store view.
    pub href: String,
    /// The latest acknowledgement, if any.
    pub acknowledged: Option<ExceptionAck>,
}

/// The exception list, highest score first (directors and admins).
pub fn exceptions(st: &AppState, m: &ModelState) -> Result<Vec<Exception>, AppError> {
    let n = st.numbers;
    let mut reasons: BTreeMap<u16, Vec<ExceptionReason>> = BTreeMap::new();
    let mut add = |store: u16, kind, text: String| {
        reasons
            .entry(store)
            .or_default()
            .push(ExceptionReason { kind, text });
    };
    for (id, records) in &crate::plan::in_force_by_store(st)? {
        let Some(f) = m.stores.get(id) else {
            continue;
        };
        let plan = build_plan(m, f, records)?;
        let outside: Vec<_> = plan.days.iter().filter(|d| d.outside95).collect();
        if let Some(worst) = outside
            .iter()
            .max_by(|a, b| (a.plan / a.model.max(1.0)).total_cmp(&(b.plan / b.model.max(1.0))))
        {
            add(
                *id,
                ExceptionKind::OverrideOutsideBand,
                format!(
                "{} overridden day(s) outside the model's 95% band (e.g. {}: plan {} vs model {})",
                outside.len(), worst.date, n.eur(worst.plan), n.eur(worst.model)),
            );
        }
    }
    for (id, f) in &m.stores {
        if let Some(c) = f.change_vs_last_year().filter(|c| c.abs() >= LARGE_CHANGE) {
            add(
                *id,
                ExceptionKind::LargeChange,
                format!(
                    "expected {:+.1}% vs the same weeks last year (like-for-like)",
                    c * 100.0
                ),
            );
        }
    }
    if let Some(db) = st.store.as_deref() {
        for a in db.alerts(true)? {
            if let Some(store) = a
                .scope
                .strip_prefix("store ")
                .and_then(|s| s.parse::<u16>().ok())
            {
                add(
                    store,
                    ExceptionKind::OpenAlert,
                    format!("open {} alert: {}", a.kind, a.message),
                );
            }
        }
    }
    let live = scored_days(st, m, None, &|_| true)?;
    if live.iter().any(|d| d.reason.is_some()) {
        let by_store = fva::table(&live, fva::Dimension::Store, LIVE_SEED);
        for row in by_store
            .rows
            .iter()
            .filter(|r| r.overridden > 0 && r.fva_plan.negative())
        {
            if let fva::GroupKey::Store(store) = row.group {
                let f = row.fva_plan;
                add(store, ExceptionKind::NegativeFva, format!(
                    "its overrides made the plan worse: FVA {:+.1} pts of WAPE ({:+.1} to {:+.1}) over {} overridden day(s)",
                    f.value * 100.0, f.lo * 100.0, f.hi * 100.0, row.overridden));
            }
        }
    }
    let mut quality: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for finding in &st.validation.findings {
        for e in &finding.examples {
            if let Some(s) = e.store {
                quality.entry(s).or_default().push(finding.title);
            }
        }
    }
    for (store, mut titles) in quality {
        titles.dedup();
        add(
            store,
            ExceptionKind::DataQuality,
            format!("data quality: {}", titles.join("; ")),
        );
    }
    let acks: HashMap<u16, ExceptionAck> = match st.store.as_deref() {
        Some(db) => db
            .exception_acks()?
            .into_iter()
            .map(|a| (a.store, a))
            .collect(),
        None => HashMap::new(),
    };
    let mut list: Vec<Exception> = reasons
        .into_iter()
        .filter(|(s, _)| m.stores.contains_key(s))
        .map(|(store, reasons)| Exception {
            store,
            store_type: m
                .stores
                .get(&store)
                .map_or(String::new(), |f| f.store_type.clone()),
            score: reasons.iter().map(|r| r.kind.weight()).sum(),
            reasons,
            href: format!("/store/{store}"),
            acknowledged: acks.get(&store).cloned(),
        })
        .collect();
    list.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.store.cmp(&b.store)));
    Ok(list)
}

/// `GET /api/v1/exceptions`.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "plans", summary = "Stores ranked by where a director's attention pays, with reasons (directors and admins)", responses((status = 200, description = "the list", body = [Exception]), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn get_exceptions(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<Exception>>, AppError> {
    caller.require_chain()?;
    let m = st.model.load();
    Ok(Json(exceptions(&st, &m)?))
}

/// `POST /api/v1/exceptions/{id}/ack`: a director acknowledges a store with a note (audited).
#[utoipa::path(post, path = "/api/v1/exceptions/{id}/ack", tag = "plans", summary = "Acknowledge a store of the exception list with a note (directors and admins; audited)", params(("id" = u16, Path, description = "store number (1 to 65535)")), request_body = crate::operations::AckRequest, responses((status = 200, description = "acknowledged", body = storecast_store::ExceptionAck), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn post_ack(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<crate::operations::AckRequest>,
) -> Result<Json<ExceptionAck>, AppError> {
    caller.require_chain()?;
    let id = crate::api::parse_store(&id)?;
    let m = st.model.load();
    crate::api::require_store(&m, &caller, id)?;
    Ok(Json(db(&st)?.acknowledge_exception(
        &caller.name,
        id,
        &req.note,
        &m.artifact().model_version,
    )?))
}
