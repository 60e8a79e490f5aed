//! The plan a store works to: the model's forecast with the managers' overrides; entering
//! them (one day, a week, or a CSV for many stores), and the API that shows model, override
//! and plan side by side.
//!
//! Why this module exists: the page, the API and the CSV export must show the same plan, so
//! it is computed once here from the served forecast and the overrides in force (stored in
//! `storecast_store::overrides`, checked by `storecast_plan::overrides`). "Today" of the plan
//! is the first day of the served forecast: the app's clock is the data's, not the wall's
//! (a replay or a demo on 2015 data runs in 2026).

use crate::api::{parse_date, parse_store, store_forecast};
use crate::auth::Caller;
use crate::error::AppError;
use crate::state::{AppState, ModelState, StoreForecast};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use storecast_plan::overrides::{
    self, Adjustment, AdjustmentKind, DayOverride, Horizon, ModelDay, OverrideInput, Reason, Target,
};
use storecast_store::{OverrideRecord, StoreError};

/// The legend name of the plan's series on the store chart.
pub const PLAN_SERIES: &str = "plan (with overrides)";

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidInput(m) => Self::BadRequest(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<overrides::OverrideError> for AppError {
    fn from(e: overrides::OverrideError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

/// The database, or the answer that overrides need one.
pub fn db(st: &AppState) -> Result<&storecast_store::Store, AppError> {
    st.store.as_deref().ok_or_else(|| {
        AppError::BadRequest("overrides need the app's database (serve with --db)".into())
    })
}

/// The override in force on a day, as the plan shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct OverrideOut {
    /// How the value is meant.
    pub kind: AdjustmentKind,
    /// The value entered (the day's share of a week's entry).
    pub value: f64,
    /// Why.
    pub reason: Reason,
    /// Note.
    pub note: String,
    /// Who.
    pub author: String,
    /// When.
    pub at: String,
    /// The model version it was entered against.
    pub model_version: String,
}

/// One day of a store's plan.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct PlanDayOut {
    /// Date.
    pub date: NaiveDate,
    /// Planned open.
    pub open: bool,
    /// The model's forecast (€).
    pub model: f64,
    /// Lower 95 % bound of the model.
    pub lo95: f64,
    /// Upper 95 % bound of the model.
    pub hi95: f64,
    /// The override in force.
    #[serde(rename = "override")]
    pub over: Option<OverrideOut>,
    /// The final plan (€).
    pub plan: f64,
    /// The plan lies outside the model's 95 % band.
    pub outside95: bool,
}

/// A calendar week of the plan (days inside the horizon only).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct WeekPlan {
    /// Monday.
    pub monday: NaiveDate,
    /// Days of the week in the horizon.
    pub days: usize,
    /// The model's total (€).
    pub model: f64,
    /// The plan's total (€).
    pub plan: f64,
}

/// A store's plan: `GET /api/v1/stores/{id}/plan`.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct StorePlan {
    /// Store id.
    pub store: u16,
    /// The served model version.
    pub model_version: String,
    /// First day that may be changed.
    pub first_day: NaiveDate,
    /// Last day of the forecast.
    pub last_day: NaiveDate,
    /// Per day.
    pub days: Vec<PlanDayOut>,
    /// Per calendar week.
    pub weeks: Vec<WeekPlan>,
    /// The model's six-week total.
    pub model_total: f64,
    /// The plan's six-week total.
    pub plan_total: f64,
    /// Days with an override in force.
    pub overridden_days: usize,
}

/// The model's days of a store, as overrides see them.
pub fn model_days(f: &StoreForecast) -> Vec<ModelDay> {
    f.days
        .iter()
        .map(|d| ModelDay {
            date: d.date,
            open: d.open,
            forecast: if d.open { d.sales } else { 0.0 },
            lo95: d.interval.lo95,
            hi95: d.interval.hi95,
        })
        .collect()
}

/// The days that may be changed: the served forecast's.
pub fn horizon(f: &StoreForecast) -> Result<Horizon, AppError> {
    match (f.days.first(), f.days.last()) {
        (Some(a), Some(b)) => Ok(Horizon {
            first: a.date,
            last: b.date,
        }),
        _ => Err(AppError::NotFound(format!(
            "store {} has no forecast",
            f.store
        ))),
    }
}

/// Monday of `d`'s calendar week.
pub fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// The overrides in force of a store (none without a database).
pub fn in_force(st: &AppState, store: u16) -> Result<Vec<OverrideRecord>, AppError> {
    match st.store.as_deref() {
        Some(db) => Ok(db.overrides_in_force(Some(store))?),
        None => Ok(Vec::new()),
    }
}

/// A store's plan from the served forecast and the given overrides in force.
pub fn build_plan(
    m: &ModelState,
    f: &StoreForecast,
    records: &[OverrideRecord],
) -> Result<StorePlan, AppError> {
    let h = horizon(f)?;
    let model = model_days(f);
    let forced: Vec<(NaiveDate, Adjustment, Reason)> = records
        .iter()
        .filter_map(|r| Some((r.date, r.adjustment?, r.reason)))
        .collect();
    let by_date: BTreeMap<NaiveDate, &OverrideRecord> =
        records.iter().map(|r| (r.date, r)).collect();
    let days: Vec<PlanDayOut> = overrides::plan(&model, &forced)
        .into_iter()
        .map(|p| PlanDayOut {
            date: p.model.date,
            open: p.model.open,
            model: p.model.forecast,
            lo95: p.model.lo95,
            hi95: p.model.hi95,
            over: p.adjustment.and_then(|a| {
                let r = by_date.get(&p.model.date)?;
                Some(OverrideOut {
                    kind: a.kind,
                    value: a.value,
                    reason: r.reason,
                    note: r.note.clone(),
                    author: r.author.clone(),
                    at: r.at.clone(),
                    model_version: r.model_version.clone(),
                })
            }),
            plan: p.plan,
            outside95: p.outside95,
        })
        .collect();
    let mut weeks: BTreeMap<NaiveDate, WeekPlan> = BTreeMap::new();
    for d in &days {
        let w = weeks.entry(monday(d.date)).or_insert(WeekPlan {
            monday: monday(d.date),
            days: 0,
            model: 0.0,
            plan: 0.0,
        });
        w.days += 1;
        w.model += d.model;
        w.plan += d.plan;
    }
    Ok(StorePlan {
        store: f.store,
        model_version: m.artifact().model_version.clone(),
        first_day: h.first,
        last_day: h.last,
        model_total: days.iter().map(|d| d.model).sum(),
        plan_total: days.iter().map(|d| d.plan).sum(),
        overridden_days: days.iter().filter(|d| d.over.is_some()).count(),
        days,
        weeks: weeks.into_values().collect(),
    })
}

/// Every store's overrides in force, in one query (none without a database).
pub fn in_force_by_store(st: &AppState) -> Result<BTreeMap<u16, Vec<OverrideRecord>>, AppError> {
    let mut by_store: BTreeMap<u16, Vec<OverrideRecord>> = BTreeMap::new();
    if let Some(db) = st.store.as_deref() {
        for r in db.overrides_in_force(None)? {
            by_store.entry(r.store).or_default().push(r);
        }
    }
    Ok(by_store)
}

/// How much the overrides in force move each store's six-week total (plan − model, €), for
/// the stores that have any: what the chain and store-type totals add to show the plan.
pub fn plan_deltas(st: &AppState, m: &ModelState) -> Result<BTreeMap<u16, f64>, AppError> {
    let mut out = BTreeMap::new();
    for (store, records) in in_force_by_store(st)? {
        if let Some(f) = m.stores.get(&store) {
            let p = build_plan(m, f, &records)?;
            out.insert(store, p.plan_total - p.model_total);
        }
    }
    Ok(out)
}

/// How much the overrides move each total of the chain view (`chain`, `type a`, …; plan −
/// model over six weeks, €), and how many stores have overrides in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScopeDeltas {
    /// Stores with overrides in force.
    pub stores: usize,
    /// Plan − model of each scope's six-week total.
    pub by_scope: BTreeMap<String, f64>,
}

/// The [`ScopeDeltas`] of the served model's totals.
pub fn scope_deltas(st: &AppState, m: &ModelState) -> Result<ScopeDeltas, AppError> {
    let deltas = plan_deltas(st, m)?;
    let by_scope = m
        .totals
        .iter()
        .map(|t| {
            let moved: f64 = deltas
                .iter()
                .filter(|(s, _)| {
                    t.scope == "chain"
                        || m.stores
                            .get(s)
                            .is_some_and(|f| t.scope == format!("type {}", f.store_type))
                })
                .map(|(_, d)| d)
                .sum();
            (t.scope.clone(), moved)
        })
        .collect();
    Ok(ScopeDeltas {
        stores: deltas.len(),
        by_scope,
    })
}

/// `GET /api/v1/stores/{id}/plan`: model, override and plan of every day and week.
#[utoipa::path(get, path = "/api/v1/stores/{id}/plan", tag = "plans", summary = "The store's plan: each day's and week's model forecast, override in force and final plan", params(("id" = u16, Path, description = "store number (1 to 65535)")), responses((status = 200, description = "the plan", body = StorePlan), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn get_plan(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<StorePlan>, AppError> {
    let (m, f) = crate::api::store_of(&st, &caller, &id)?;
    let id = f.store;
    Ok(Json(build_plan(&m, &f, &in_force(&st, id)?)?))
}

/// Whether an entry covers a day or a week.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One day.
    Day,
    /// The calendar week from a Monday.
    Week,
}

/// `POST /api/v1/stores/{id}/overrides`: an entry of the store view.
#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// Day or week.
    pub scope: Scope,
    /// The day, or the Monday of the week (YYYY-MM-DD).
    pub date: String,
    /// How `value` is meant (not needed to clear).
    pub kind: Option<AdjustmentKind>,
    /// The number (not needed to clear).
    pub value: Option<f64>,
    /// Why (not needed to clear).
    pub reason: Option<Reason>,
    /// Free text ("other" needs one).
    #[serde(default)]
    pub note: String,
    /// Remove the overrides of the day or week instead (the model stands again).
    #[serde(default)]
    pub clear: bool,
    /// Keep a plan outside the model's 95 % band (asked for when it is).
    #[serde(default)]
    pub confirm: bool,
}

/// Refuses an entry whose plan leaves the model's 95 % band unless it is confirmed: such an
/// override is kept only on purpose, and the director sees it on the exception list.
fn require_confirmation(
    n: storecast_charts::Numbers,
    days: &[overrides::DayOverride],
    model: &[ModelDay],
    confirmed: bool,
) -> Result<(), AppError> {
    if confirmed {
        return Ok(());
    }
    let out = overrides::outside_band(days, model);
    let Some(first) = out.first() else {
        return Ok(());
    };
    let day = model.iter().find(|d| d.date == first.date);
    let band = day.map_or(String::new(), |d| {
        format!(" ({} – {})", n.eur(d.lo95), n.eur(d.hi95))
    });
    Err(AppError::Conflict(format!(
        "the plan of store {} on {} ({}) lies outside the model's 95% band{band}{}: confirm to keep it (`confirm`; the director sees it on the exception list)",
        first.store,
        first.date,
        n.eur(first.plan),
        if out.len() > 1 { format!(", as do {} more day(s)", out.len() - 1) } else { String::new() },
    )))
}

/// `POST /api/v1/stores/{id}/overrides`: enter, change or clear an override; answers the new
/// plan. Managers of the store, directors and admins only; days of the horizon only.
#[utoipa::path(post, path = "/api/v1/stores/{id}/overrides", tag = "plans", summary = "Enter, change or withdraw an override of a day or a week of the horizon (the store's managers, directors, admins; audited)", params(("id" = u16, Path, description = "store number (1 to 65535)")), request_body = OverrideRequest, responses((status = 200, description = "the new plan", body = StorePlan), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody), (status = 409, description = "conflict", body = crate::error::ErrorBody)))]
pub async fn post_override(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<OverrideRequest>,
) -> Result<Json<StorePlan>, AppError> {
    let (m, f) = crate::api::store_of(&st, &caller, &id)?;
    let id = f.store;
    let db = db(&st)?;
    let date = parse_date(&req.date)?;
    let target = match req.scope {
        Scope::Day => Target::Day(date),
        Scope::Week => Target::Week(date),
    };
    let version = m.artifact().model_version.clone();
    if req.clear {
        let days = to_clear(&f, target, &in_force(&st, id)?)?;
        db.clear_overrides(&caller.name, &version, &days)?;
    } else {
        let (Some(kind), Some(value), Some(reason)) = (req.kind, req.value, req.reason) else {
            return Err(AppError::BadRequest(
                "an override needs kind (estimate, delta_eur, delta_pct), value and reason".into(),
            ));
        };
        let input = OverrideInput {
            store: id,
            target,
            adjustment: Adjustment { kind, value },
            reason,
            note: req.note,
        };
        let model = model_days(&f);
        let days = input.expand(&horizon(&f)?, &model)?;
        require_confirmation(st.numbers, &days, &model, req.confirm)?;
        db.record_overrides(&caller.name, &version, &days)?;
    }
    Ok(Json(build_plan(&m, &f, &in_force(&st, id)?)?))
}

/// The overridden days a clear of `target` removes (past days cannot be cleared either).
fn to_clear(
    f: &StoreForecast,
    target: Target,
    records: &[OverrideRecord],
) -> Result<Vec<DayOverride>, AppError> {
    let h = horizon(f)?;
    let dates: Vec<NaiveDate> = match target {
        Target::Day(d) => {
            h.check(d)?;
            vec![d]
        }
        Target::Week(m) => (0..7)
            .map(|i| m + Duration::days(i))
            .filter(|d| h.check(*d).is_ok())
            .collect(),
    };
    let model = model_days(f);
    let days: Vec<DayOverride> = records
        .iter()
        .filter(|r| dates.contains(&r.date))
        .filter_map(|r| {
            let md = model.iter().find(|d| d.date == r.date)?;
            Some(DayOverride {
                store: r.store,
                date: r.date,
                adjustment: r.adjustment?,
                reason: r.reason,
                note: r.note.clone(),
                model: md.forecast,
                plan: md.forecast,
            })
        })
        .collect();
    if days.is_empty() {
        return Err(AppError::BadRequest(
            "there is no override to remove there".into(),
        ));
    }
    Ok(days)
}

/// `GET /api/v1/stores/{id}/overrides`: every edit of the store's overrides, newest first.
#[utoipa::path(get, path = "/api/v1/stores/{id}/overrides", tag = "plans", summary = "Every edit of the store's overrides, newest first", params(("id" = u16, Path, description = "store number (1 to 65535)")), responses((status = 200, description = "the history", body = [storecast_store::OverrideRecord]), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn override_history(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Vec<OverrideRecord>>, AppError> {
    let id = parse_store(&id)?;
    caller.require_store(id)?;
    Ok(Json(db(&st)?.override_history(id)?))
}

/// Options of a bulk upload.
#[derive(utoipa::IntoParams, Debug, Default, Deserialize)]
pub struct BulkQuery {
    /// Keep rows whose plan lies outside the model's 95 % band.
    #[serde(default)]
    pub confirm: bool,
}

/// What a bulk upload did.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct BulkOutcome {
    /// Store-days recorded.
    pub days: usize,
    /// Stores changed.
    pub stores: Vec<u16>,
}

/// `POST /api/v1/overrides.csv`: many overrides at once (`store,date,kind,value,reason,note`),
/// for the caller's stores (a director: any store). All or nothing: every refused row is
/// named with its line and column, and then nothing is recorded.
#[utoipa::path(post, path = "/api/v1/overrides.csv", tag = "plans", summary = "Bulk overrides (store,date,kind,value,reason,note; one day per line) for the caller's stores; all or nothing, every bad row named by line and column", params(BulkQuery), request_body(content = String, content_type = "text/csv"), responses((status = 200, description = "recorded", body = BulkOutcome), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn bulk_csv(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    axum::extract::Query(q): axum::extract::Query<BulkQuery>,
    body: Bytes,
) -> Result<Json<BulkOutcome>, AppError> {
    let rows = overrides::parse_csv(&body).map_err(|errs| bad_rows(&errs))?;
    let m = st.model.load();
    let mut days = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let line = i as u64 + 2;
        let expanded = store_forecast(&m, &caller, row.store).and_then(|f| {
            let model = model_days(&f);
            let days = row.expand(&horizon(&f)?, &model)?;
            require_confirmation(st.numbers, &days, &model, q.confirm)?;
            Ok(days)
        });
        match expanded {
            Ok(d) => days.extend(d),
            Err(e) => errors.push(overrides::CsvRowError {
                line,
                column: match e {
                    AppError::Forbidden(_) | AppError::NotFound(_) => "store".into(),
                    AppError::Conflict(_) => "value".into(),
                    _ => "date".into(),
                },
                message: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        // Rows of stores the caller may not plan for are a question of rights: 403.
        return Err(match bad_rows(&errors) {
            e if errors.iter().any(|r| r.column == "store") => AppError::Forbidden(e.to_string()),
            e => e,
        });
    }
    if days.is_empty() {
        return Err(AppError::BadRequest("the file has no rows".into()));
    }
    db(&st)?.record_overrides(&caller.name, &m.artifact().model_version, &days)?;
    let mut stores: Vec<u16> = days.iter().map(|d| d.store).collect();
    stores.sort_unstable();
    stores.dedup();
    Ok(Json(BulkOutcome {
        days: days.len(),
        stores,
    }))
}

fn bad_rows(errs: &[overrides::CsvRowError]) -> AppError {
    let shown: Vec<String> = errs.iter().take(20).map(|e| e.to_string()).collect();
    let more = errs.len().saturating_sub(shown.len());
    AppError::BadRequest(format!(
        "nothing was recorded: {}{}",
        shown.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    ))
}
