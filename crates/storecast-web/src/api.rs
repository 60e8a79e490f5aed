//! The JSON API under `/api/v1`: everything the pages show, for other tools. Handlers are
//! short: check access, read the model snapshot, answer. Bad parameters get 4xx with a clear
//! message, never a panic or a 5xx.

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::{AppState, ModelState, StoreForecast, HISTORY_DAYS};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use storecast_data::StateHoliday;
use storecast_explain::{explain, whatif_days, Explanation, Lookup, PlanChange};
use storecast_model::OpenState;

/// Parses a store id path segment (a clear 400 instead of axum's plain-text rejection).
pub fn parse_store(raw: &str) -> Result<u16, AppError> {
    raw.parse::<u16>().ok().filter(|s| *s > 0).ok_or_else(|| {
        AppError::BadRequest(format!(
            "store must be a number from 1 to 65535, not {raw:?}"
        ))
    })
}

/// Parses a `YYYY-MM-DD` date parameter.
pub fn parse_date(raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| AppError::BadRequest(format!("date must be YYYY-MM-DD, not {raw:?}")))
}

/// The store's forecast in the current model, after the access check.
pub fn store_forecast(m: &ModelState, caller: &Caller, id: u16) -> Result<StoreForecast, AppError> {
    caller.require_store(id)?;
    m.stores
        .get(&id)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("store {id} is not in the forecast")))
}

/// The served model and the forecast of the store named by `id` (a path segment), for a
/// caller who may see that store: the start of every store route.
pub fn store_of(
    st: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(std::sync::Arc<ModelState>, StoreForecast), AppError> {
    let id = parse_store(id)?;
    let m = st.model.load_full();
    let f = store_forecast(&m, caller, id)?;
    Ok((m, f))
}

/// Access check and presence of the store in the current model, without copying anything.
pub fn require_store(m: &ModelState, caller: &Caller, id: u16) -> Result<(), AppError> {
    caller.require_store(id)?;
    if m.stores.contains_key(&id) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "store {id} is not in the forecast"
        )))
    }
}

/// A store in the list.
#[derive(utoipa::ToSchema, Serialize)]
pub struct StoreSummary {
    store: u16,
    store_type: String,
    assortment: String,
    forecast_total: f64,
    change_vs_last_year: Option<f64>,
    uncertainty: f64,
}

/// `GET /api/v1/stores`: the stores the caller may see.
#[utoipa::path(get, path = "/api/v1/stores", tag = "forecasts", summary = "Stores the caller may see, with forecast totals", responses((status = 200, description = "the stores", body = [StoreSummary]), (status = 401, description = "not signed in", body = crate::error::ErrorBody)))]
pub async fn stores(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<Vec<StoreSummary>> {
    let m = st.model.load();
    Json(
        m.stores
            .values()
            .filter(|s| caller.role.can_view_store(s.store))
            .map(|s| StoreSummary {
                store: s.store,
                store_type: s.store_type.clone(),
                assortment: s.assortment.clone(),
                forecast_total: s.total.point,
                change_vs_last_year: s.change_vs_last_year(),
                uncertainty: s.uncertainty(),
            })
            .collect(),
    )
}

/// `GET /api/v1/stores/{id}/forecast`: served from the bytes serialised when the model loaded.
#[utoipa::path(get, path = "/api/v1/stores/{id}/forecast", tag = "forecasts", summary = "Daily forecast with 80/95% intervals and weekly totals", params(("id" = u16, Path, description = "store number (1 to 65535)")), responses((status = 200, description = "the forecast", body = ForecastBody), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 401, description = "not signed in", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn forecast(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let id = parse_store(&id)?;
    caller.require_store(id)?;
    let m = st.model.load();
    let body = m
        .forecast_json
        .get(&id)
        .ok_or_else(|| AppError::NotFound(format!("store {id} is not in the forecast")))?;
    cached_json(body, || format!("the forecast of store {id}"))
}

/// The forecast API's answer: a store's six weeks from the served model.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ForecastBody<'a> {
    /// The served model.
    pub model_version: &'a str,
    /// The store's forecast.
    pub forecast: &'a StoreForecast,
}

/// JSON bytes of `value`, or why it could not be serialised (kept, and answered as a server
/// error when asked for: never an empty 200).
pub fn json_bytes<T: Serialize>(value: &T) -> Result<axum::body::Bytes, String> {
    serde_json::to_vec(value)
        .map(axum::body::Bytes::from)
        .map_err(|e| e.to_string())
}

/// A JSON body serialised ahead of time, or the error of its serialisation as a 500.
pub fn cached_json(
    body: &Result<axum::body::Bytes, String>,
    what: impl FnOnce() -> String,
) -> Result<axum::response::Response, AppError> {
    match body {
        Ok(b) => Ok(([(header::CONTENT_TYPE, "application/json")], b.clone()).into_response()),
        Err(e) => Err(AppError::Internal(format!(
            "{} could not be serialised: {e}",
            what()
        ))),
    }
}

/// `GET /api/v1/stores/{id}/forecast.csv`.
#[utoipa::path(get, path = "/api/v1/stores/{id}/forecast.csv", tag = "forecasts", summary = "The store's forecast as CSV", params(("id" = u16, Path, description = "store number (1 to 65535)")), responses((status = 200, description = "CSV", content_type = "text/csv", body = String), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn forecast_csv(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let id = parse_store(id.trim_end_matches(".csv"))?;
    let m = st.model.load();
    let f = store_forecast(&m, &caller, id)?;
    let plan = crate::plan::build_plan(&m, &f, &crate::plan::in_force(&st, id)?)?;
    let csv = forecast_csv_bytes(&f, &plan)
        .map_err(|e| AppError::Internal(format!("writing the CSV: {e}")))?;
    Ok(csv_answer(&format!("store-{id}-forecast.csv"), csv))
}

/// The columns of a store's forecast CSV: the model's forecast and bands, the override in
/// force and the final plan side by side.
pub const FORECAST_CSV_HEADER: [&str; 13] = [
    "store",
    "date",
    "open",
    "promo",
    "forecast",
    "lo80",
    "hi80",
    "lo95",
    "hi95",
    "override_kind",
    "override_value",
    "override_reason",
    "plan",
];

/// A store's forecast and plan as CSV (the csv crate quotes notes and reasons).
fn forecast_csv_bytes(
    f: &StoreForecast,
    plan: &crate::plan::StorePlan,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(FORECAST_CSV_HEADER)?;
    write_store_rows(&mut w, f, plan)?;
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The lines of store `f` in the forecast CSV's columns.
fn write_store_rows(
    w: &mut csv::Writer<Vec<u8>>,
    f: &StoreForecast,
    plan: &crate::plan::StorePlan,
) -> Result<(), csv::Error> {
    for (d, p) in f.days.iter().zip(&plan.days) {
        let o = p.over.as_ref();
        w.write_record([
            d.store.to_string(),
            d.date.to_string(),
            u8::from(d.open).to_string(),
            u8::from(d.promo).to_string(),
            format!("{:.2}", d.sales),
            format!("{:.2}", d.interval.lo80),
            format!("{:.2}", d.interval.hi80),
            format!("{:.2}", d.interval.lo95),
            format!("{:.2}", d.interval.hi95),
            o.map_or(String::new(), |o| o.kind.code().to_string()),
            o.map_or(String::new(), |o| format!("{:.2}", o.value)),
            o.map_or(String::new(), |o| o.reason.code().to_string()),
            format!("{:.2}", p.plan),
        ])?;
    }
    Ok(())
}

fn csv_answer(name: &str, bytes: Vec<u8>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
}

/// `GET /api/v1/chain/forecast.csv`: every store's daily forecast with its bands, override
/// and plan, in the store CSV's columns (directors and admins).
#[utoipa::path(get, path = "/api/v1/chain/forecast.csv", tag = "chain", summary = "Every store's daily forecast with 80/95% bands, override and plan, as CSV (directors and admins)", responses((status = 200, description = "CSV", content_type = "text/csv", body = String), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn chain_forecast_csv(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<impl IntoResponse, AppError> {
    caller.require_chain()?;
    let m = st.model.load();
    let overrides = crate::plan::in_force_by_store(&st)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| AppError::Internal(format!("writing the CSV: {e}"));
    w.write_record(FORECAST_CSV_HEADER).map_err(failed)?;
    for (id, f) in &m.stores {
        let records = overrides.get(id).map_or(&[][..], Vec::as_slice);
        let plan = crate::plan::build_plan(&m, f, records)?;
        write_store_rows(&mut w, f, &plan).map_err(failed)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| failed(csv::Error::from(e.into_error())))?;
    Ok(csv_answer("chain-forecast.csv", bytes))
}

/// `GET /api/v1/chain/submission.csv`: the served forecast in the competition format, one
/// line per request of the forecast period (`Id,Sales`; directors and admins).
#[utoipa::path(get, path = "/api/v1/chain/submission.csv", tag = "chain", summary = "The served forecast in the competition format (Id,Sales), one line per request of the forecast period (directors and admins)", responses((status = 200, description = "CSV", content_type = "text/csv", body = String), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn chain_submission_csv(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<impl IntoResponse, AppError> {
    caller.require_chain()?;
    let requests =
        st.chain.requests.as_ref().ok_or_else(|| {
            AppError::NotFound("the data has no forecast requests (test.csv)".into())
        })?;
    let m = st.model.load();
    let rows = requests
        .rows
        .iter()
        .map(|r| {
            m.stores
                .get(&r.store)
                .and_then(|f| f.days.iter().find(|d| d.date == r.date))
                .copied()
                .ok_or_else(|| {
                    AppError::Internal(format!("no forecast of store {} on {}", r.store, r.date))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut bytes = Vec::new();
    storecast_pipeline::forecast::write_submission(&mut bytes, requests, &rows, false)
        .map_err(|e| AppError::Internal(format!("writing the CSV: {e}")))?;
    Ok(csv_answer("submission.csv", bytes))
}

/// Query of the history endpoint.
#[derive(utoipa::IntoParams, Deserialize)]
pub struct HistoryQuery {
    days: Option<usize>,
}

/// Actual sales of the last `days` days (default 120).
pub fn history(m: &ModelState, id: u16, days: usize) -> Vec<(NaiveDate, Option<f64>, bool)> {
    let sc = &m.scenario;
    let Some(s) = sc.tl.store_index(id) else {
        return Vec::new();
    };
    let from = sc.origin.saturating_sub(days);
    (from..sc.origin)
        .map(|d| {
            let open = sc.tl.plan(s, d as isize).open == OpenState::Open;
            (
                sc.tl.date(d),
                sc.tl.sales_before(s, d as isize, sc.origin).map(f64::from),
                open,
            )
        })
        .collect()
}

/// One day of a store's history.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct HistoryDay {
    /// The day.
    pub date: NaiveDate,
    /// Actual sales in € (`null` where unknown).
    pub sales: Option<f64>,
    /// Whether the store was open.
    pub open: bool,
}

/// The history API's answer.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct HistoryBody {
    /// The store.
    pub store: u16,
    /// Its days, oldest first.
    pub history: Vec<HistoryDay>,
}

/// The history API's answer for `days` days.
pub fn history_body(m: &ModelState, id: u16, days: usize) -> HistoryBody {
    let history = history(m, id, days)
        .into_iter()
        .map(|(date, sales, open)| HistoryDay { date, sales, open })
        .collect();
    HistoryBody { store: id, history }
}

/// `GET /api/v1/stores/{id}/history?days=120`: the default answer is bytes serialised when
/// the model loaded; other lengths are built from the grid (direct indexing, no scan).
#[utoipa::path(get, path = "/api/v1/stores/{id}/history", tag = "forecasts", summary = "Actual sales of the last days", params(("id" = u16, Path, description = "store number (1 to 65535)"), HistoryQuery), responses((status = 200, description = "the history", body = HistoryBody), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn store_history(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<axum::response::Response, AppError> {
    let id = parse_store(&id)?;
    let m = st.model.load();
    require_store(&m, &caller, id)?;
    let days = q.days.unwrap_or(HISTORY_DAYS);
    if days == 0 || days > 1000 {
        return Err(AppError::BadRequest(
            "days must be between 1 and 1000".into(),
        ));
    }
    if days == HISTORY_DAYS {
        if let Some(body) = m.history_json.get(&id) {
            return cached_json(body, || format!("the history of store {id}"));
        }
    }
    Ok(Json(history_body(&m, id, days)).into_response())
}

/// Query of the explain endpoint.
#[derive(utoipa::IntoParams, Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

/// One driver's share of a day's forecast.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct DriverBody {
    /// The driver.
    pub driver: storecast_model::Driver,
    /// Its label.
    pub label: &'static str,
    /// Whether the day has it.
    pub presence: storecast_explain::Presence,
    /// Its euros.
    pub euro: f64,
    /// Its log contribution.
    pub log: f64,
}

/// One feature's value and contribution.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct FeatureBody {
    /// Feature name.
    pub feature: String,
    /// Its value that day.
    pub value: f32,
    /// Its log contribution.
    pub contribution: f64,
}

/// The explain API's answer: a day's forecast from a usual day, by driver.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ExplanationBody {
    /// The store.
    pub store: u16,
    /// The day.
    pub date: NaiveDate,
    /// Whether the store is planned open (a closed day has no drivers).
    pub open: bool,
    /// The forecast in €.
    pub forecast: f64,
    /// The chain's usual day in €.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain_baseline: Option<f64>,
    /// The store's usual day in €.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// What makes the store's usual day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usual_day: Option<Vec<DriverBody>>,
    /// The day's drivers.
    pub drivers: Vec<DriverBody>,
    /// The twelve largest feature contributions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<FeatureBody>>,
}

fn explanation_json(id: u16, date: NaiveDate, e: Option<&Explanation>) -> ExplanationBody {
    let Some(e) = e else {
        return ExplanationBody {
            store: id,
            date,
            open: false,
            forecast: 0.0,
            chain_baseline: None,
            baseline: None,
            usual_day: None,
            drivers: Vec::new(),
            features: None,
        };
    };
    let drivers = |ds: &[storecast_explain::DriverEuro]| -> Vec<DriverBody> {
        ds.iter()
            .map(|d| DriverBody {
                driver: d.driver,
                label: d.label,
                presence: d.presence,
                euro: d.euro,
                log: d.log,
            })
            .collect()
    };
    let features = e
        .features
        .iter()
        .take(12)
        .map(|(n, v, c)| FeatureBody {
            feature: n.clone(),
            value: *v,
            contribution: *c,
        })
        .collect();
    ExplanationBody {
        store: id,
        date,
        open: true,
        forecast: e.forecast,
        chain_baseline: Some(e.chain_baseline),
        baseline: Some(e.baseline),
        usual_day: Some(drivers(&e.usual_day)),
        drivers: drivers(&e.drivers),
        features: Some(features),
    }
}

/// `GET /api/v1/stores/{id}/explain?date=YYYY-MM-DD`: a lookup in the precomputed table;
/// while it is being computed, an exact computation on the heavy pool.
#[utoipa::path(get, path = "/api/v1/stores/{id}/explain", tag = "forecasts", summary = "A day's forecast explained in euros by driver", params(("id" = u16, Path, description = "store number (1 to 65535)"), DateQuery), responses((status = 200, description = "the explanation", body = ExplanationBody), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn explain_day(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<DateQuery>,
) -> Result<Json<ExplanationBody>, AppError> {
    let id = parse_store(&id)?;
    let date = parse_date(
        q.date
            .as_deref()
            .ok_or_else(|| AppError::BadRequest("date is required".into()))?,
    )?;
    let m: Arc<ModelState> = st.model.load_full();
    require_store(&m, &caller, id)?;
    let sc = &m.scenario;
    let s = sc
        .tl
        .store_index(id)
        .ok_or_else(|| AppError::NotFound(format!("store {id}")))?;
    let d = sc
        .tl
        .day_index(date)
        .filter(|d| *d >= sc.origin)
        .ok_or_else(|| AppError::BadRequest(format!("{date} is outside the forecast horizon")))?;
    match m.explanations.lookup(sc, s, d) {
        Lookup::Ready(e) => return Ok(Json(explanation_json(id, date, Some(&e)))),
        Lookup::NotExplained => return Ok(Json(explanation_json(id, date, None))),
        Lookup::Pending => {}
    }
    let stores = st.chain.clone();
    let ex = st
        .heavy
        .run(move || {
            explain(
                &m.forecaster,
                &m.scenario,
                &stores.stores,
                &[(s as u32, d as u32)],
            )
        })
        .await??;
    Ok(Json(explanation_json(id, date, ex.first())))
}

/// One day's change in a what-if request (unknown fields are refused: a misspelt `promo`
/// must not silently forecast the unchanged plan).
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayChange {
    date: String,
    promo: Option<bool>,
    open: Option<bool>,
    school_holiday: Option<bool>,
    state_holiday: Option<String>,
}

/// Body of `POST /api/v1/stores/{id}/whatif`.
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIfBody {
    changes: Vec<DayChange>,
}

/// Parses and checks a what-if body: 1 to 62 days, valid dates and holiday codes.
pub fn parse_whatif_body(bytes: &[u8]) -> Result<Vec<(NaiveDate, PlanChange)>, AppError> {
    let body: WhatIfBody = serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("malformed what-if body: {e}")))?;
    if body.changes.is_empty() || body.changes.len() > 62 {
        return Err(AppError::BadRequest(
            "changes must list 1 to 62 days".into(),
        ));
    }
    let mut changes = Vec::new();
    for c in &body.changes {
        let sh = match c.state_holiday.as_deref() {
            None => None,
            Some(code) => Some(StateHoliday::from_code(code).ok_or_else(|| {
                AppError::BadRequest(format!("state_holiday must be 0, a, b or c, not {code:?}"))
            })?),
        };
        changes.push((
            parse_date(&c.date)?,
            PlanChange {
                promo: c.promo,
                open: c.open,
                school_holiday: c.school_holiday,
                state_holiday: sh,
            },
        ));
    }
    Ok(changes)
}

/// `POST /api/v1/stores/{id}/whatif`.
#[utoipa::path(post, path = "/api/v1/stores/{id}/whatif", tag = "forecasts", summary = "Re-forecast with changed days (promo, open, holidays)", params(("id" = u16, Path, description = "store number (1 to 65535)")), request_body = WhatIfBody, responses((status = 200, description = "the change in euros and percent, by driver", body = WhatIfAnswer), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn whatif(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<WhatIfAnswer>, AppError> {
    let id = parse_store(&id)?;
    let changes = parse_whatif_body(&body)?;
    let m: Arc<ModelState> = st.model.load_full();
    store_forecast(&m, &caller, id)?;
    let chain = st.chain.clone();
    let w = st
        .heavy
        .run(move || whatif_days(&m.forecaster, &m.scenario, &chain.stores, id, &changes))
        .await??;
    let drivers = w
        .driver_deltas
        .iter()
        .map(|(d, v)| DriverDelta {
            driver: *d,
            label: d.label(),
            euro: *v,
        })
        .collect();
    Ok(Json(WhatIfAnswer {
        store: id,
        delta_eur: w.delta_eur,
        delta_pct: w.delta_pct,
        drivers,
        before: w.before,
        after: w.after,
    }))
}

/// A driver's share of a what-if's change.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct DriverDelta {
    /// The driver.
    pub driver: storecast_model::Driver,
    /// Its label.
    pub label: &'static str,
    /// The euros it moves over the six weeks.
    pub euro: f64,
}

/// The what-if API's answer: the six weeks re-forecast with the changed plan.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct WhatIfAnswer {
    /// The store.
    pub store: u16,
    /// Change of the six-week total in €.
    pub delta_eur: f64,
    /// Change of the six-week total as a share.
    pub delta_pct: f64,
    /// The change by driver.
    pub drivers: Vec<DriverDelta>,
    /// The days before the change.
    pub before: Vec<storecast_model::DayForecast>,
    /// The days after it.
    pub after: Vec<storecast_model::DayForecast>,
}

/// One scope's total with and without the overrides in force.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ScopePlan {
    /// `chain` or a store type.
    pub scope: String,
    /// The model's six-week total in €.
    pub model_total: f64,
    /// The plan's.
    pub plan_total: f64,
}

/// The chain forecast API's answer.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ChainForecastBody<'a> {
    /// The served model.
    pub model_version: &'a str,
    /// Chain and store-type totals with their intervals.
    pub totals: &'a [crate::state::TotalSeries],
    /// The same totals with the overrides in force.
    pub plan: Vec<ScopePlan>,
    /// Stores with an override in force.
    pub overridden_stores: usize,
}

/// `GET /api/v1/chain/forecast`.
#[utoipa::path(get, path = "/api/v1/chain/forecast", tag = "chain", summary = "Chain and store-type daily totals with intervals (directors and admins)", responses((status = 200, description = "the totals", body = ChainForecastBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn chain_forecast(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<axum::response::Response, AppError> {
    caller.require_chain()?;
    let m = st.model.load();
    let deltas = crate::plan::scope_deltas(&st, &m)?;
    let plan = m
        .totals
        .iter()
        .map(|t| {
            let moved = deltas.by_scope.get(&t.scope).copied().unwrap_or(0.0);
            ScopePlan {
                scope: t.scope.clone(),
                model_total: t.total.point,
                plan_total: t.total.point + moved,
            }
        })
        .collect();
    let body = ChainForecastBody {
        model_version: &m.artifact().model_version,
        totals: &m.totals,
        plan,
        overridden_stores: deltas.stores,
    };
    Ok(Json(body).into_response())
}

/// What the model API tells every caller (its identity), and directors and admins (its
/// data, parameters, folds, scores and coverage: chain figures, since a store type can be
/// one store on a small chain).
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ModelBody<'a> {
    /// Version.
    pub model_version: &'a str,
    /// When it was trained.
    pub trained_at: &'a str,
    /// The code that trained it.
    pub code_version: &'a str,
    /// First training day.
    pub train_start: NaiveDate,
    /// Last training day.
    pub train_end: NaiveDate,
    /// Its features.
    pub features: &'a [String],
    /// Its drivers.
    pub drivers: &'a [storecast_model::Driver],
    /// Whether every forecast day's explanation is precomputed.
    pub explanations_ready: bool,
    /// Since when it serves.
    pub serving_since: &'a str,
    /// A provisional model (one fold, fewer trees) while the full one trains.
    pub provisional: bool,
    /// What to say about it, when provisional.
    pub provisional_note: Option<String>,
    /// The chain's figures (directors and admins only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ModelChainFigures<'a>>,
}

/// The model's chain figures.
#[derive(utoipa::ToSchema, Debug, Serialize)]
pub struct ModelChainFigures<'a> {
    /// The data it was trained on.
    pub data_fingerprint: &'a str,
    /// Training rows.
    pub train_rows: usize,
    /// Its parameters.
    pub params: &'a storecast_model::GbdtParams,
    /// The correction scale.
    pub scale: f64,
    /// The backtest folds.
    pub folds: &'a [storecast_model::backtest::Fold],
    /// Scores by model and fold.
    pub scores: &'a [storecast_model::backtest::ScoreRow],
    /// Interval coverage by scope.
    pub coverage: &'a [storecast_model::artifact::CoverageRow],
}

/// `GET /api/v1/model`.
#[utoipa::path(get, path = "/api/v1/model", tag = "model", summary = "Model version and features; training data fingerprint, backtest metrics and coverage for directors and admins", responses((status = 200, description = "the model", body = ModelBody)))]
pub async fn model(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> axum::response::Response {
    let m = st.model.load();
    let a = m.artifact();
    let chain = caller.role.can_view_chain().then(|| ModelChainFigures {
        data_fingerprint: &a.data_fingerprint,
        train_rows: a.train_rows,
        params: &a.params,
        scale: a.scale,
        folds: &a.folds,
        scores: &a.scores,
        coverage: &a.coverage,
    });
    Json(ModelBody {
        model_version: &a.model_version,
        trained_at: &a.trained_at,
        code_version: &a.code_version,
        train_start: a.train_start,
        train_end: a.train_end,
        features: &a.features,
        drivers: &a.drivers,
        explanations_ready: m.explanations.is_ready(),
        serving_since: &m.serving_since,
        provisional: a.provisional,
        provisional_note: a.provisional_note(),
        chain,
    })
    .into_response()
}

/// `GET /api/v1/validation`.
#[utoipa::path(get, path = "/api/v1/validation", tag = "data", summary = "The data quality report (directors and admins)", responses((status = 200, description = "the report", body = storecast_validate::ValidationReport), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn validation(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, AppError> {
    caller.require_chain()?;
    let mut body =
        serde_json::to_value(&*st.validation).map_err(|e| AppError::Internal(e.to_string()))?;
    // The server's path to the data is not the reader's business: the data set's name is.
    let origin = crate::pages::data_source(&st.validation.summary.origin);
    if let Some(summary) = body.get_mut("summary").and_then(|s| s.as_object_mut()) {
        summary.insert("origin".into(), serde_json::Value::String(origin));
    }
    Ok(Json(body))
}

/// `GET /api/v1/analysis`.
#[utoipa::path(get, path = "/api/v1/analysis", tag = "data", summary = "The statistical analysis findings (directors and admins)", responses((status = 200, description = "the analysis", body = storecast_analysis::Analysis), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn analysis(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, AppError> {
    caller.require_chain()?;
    match &**st.analysis.load() {
        Some(a) => match &a.json {
            Ok(json) => Ok(Json(json.clone())),
            Err(e) => Err(AppError::Internal(format!(
                "the analysis could not be read: {e}"
            ))),
        },
        None => Err(AppError::NotFound(
            "no statistical analysis was loaded".into(),
        )),
    }
}

/// Unknown API routes: JSON 404.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API route; see /api/v1/openapi.json".into())
}

#[cfg(test)]
mod cached_tests {
    use super::*;

    /// A value whose serialisation fails, as a map with non-string keys does.
    struct Unserialisable;
    impl Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("a key that is not a string"))
        }
    }

    #[test]
    fn a_body_that_did_not_serialise_is_a_server_error_not_an_empty_200() {
        let body = json_bytes(&Unserialisable);
        assert!(body.is_err());
        let answer = cached_json(&body, || "the forecast of store 1".into());
        assert!(
            matches!(&answer, Err(AppError::Internal(cause)) if cause.contains("could not be serialised")),
            "{:?}",
            answer.map(|r| r.status())
        );
        let ok = cached_json(&json_bytes(&[1, 2]), String::new).expect("200");
        assert_eq!(ok.status(), axum::http::StatusCode::OK);
    }
}
