//! Operations in the app: delivering actuals, reading live accuracy, acting on alerts, and
//! promoting or rolling back a model, through the same library calls as the CLI.
//!
//! Why this module exists: the people who keep a chain's forecasts good work in a browser, not
//! a shell on the server. Each action here is the CLI's job (`storecast_pipeline::ingest`,
//! `ops::assess`, `models::promote`/`rollback`, `Store::acknowledge_alert`) with the same
//! checks and the same audit rows; what this module adds is the role check (a store manager
//! delivers and sees their own stores only; directors read; admins act on models), the audit
//! of a refused attempt, and answers shaped for the pages. The monitoring report is computed
//! off the request path and kept until the data or the served model changes.

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use storecast_monitor::{
    Accuracy, FeatureDrift, HorizonAccuracy, MonitorReport, StoreAccuracy, StoreCusum, Thresholds,
    TypeAccuracy, WeekAccuracy,
};
use storecast_pipeline::ingest::{Delivery, Ingested};
use storecast_pipeline::PipelineError;
use storecast_store::audit::actions;
use storecast_store::{Alert, IngestError, IngestOptions, Store};

/// Bytes an upload of actuals may have: a year of a 3,000-store chain's days (≈ 45 MB)
/// fits; more is refused with 413 before it is read.
pub const UPLOAD_LIMIT: usize = 64 << 20;

/// The monitoring report of the served model, kept until the data or the model changes.
#[derive(Default)]
pub struct MonitoringCache {
    /// Bumped by every write through the app (the database's own data version only moves
    /// for writes of other connections).
    generation: AtomicU64,
    kept: Mutex<Option<(CacheKey, Arc<MonitorReport>)>>,
}

type CacheKey = (u64, i64, String);

impl MonitoringCache {
    /// Forgets the kept report (after an upload, an acknowledgement, a model switch).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

fn db(st: &AppState) -> Result<Arc<Store>, AppError> {
    st.store.clone().ok_or_else(|| {
        AppError::BadRequest("operations need the app's database (serve with --db)".into())
    })
}

/// Records that `caller` tried `action` on `target` and was refused, then answers 403.
pub(crate) fn denied(
    st: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    why: &str,
) -> AppError {
    if let Some(db) = &st.store {
        let details = serde_json::json!({ "action": action, "role": caller.role.kind() });
        if let Err(e) = db.audit(&caller.name, actions::DENIED, target, details) {
            tracing::error!(error = %e, "the refused attempt could not be audited");
        }
    }
    AppError::Forbidden(why.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("operations task: {e}")))?
}

// ---------------------------------------------------------------- actuals

/// Options of an upload (the CLI's `ingest` flags).
#[derive(utoipa::IntoParams, Debug, Default, Deserialize)]
pub struct UploadQuery {
    /// The file's name as the deliverer knows it (kept with the ingestion).
    #[serde(default)]
    pub name: Option<String>,
    /// Replace stored actuals the file contradicts, for this reason.
    #[serde(default)]
    pub correct: Option<String>,
    /// Store rows the plausibility check refuses, for this reason.
    #[serde(default)]
    pub accept_implausible: Option<String>,
}

/// One problem of a refused file, at its place.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct RowFinding {
    /// 1-based line in the file, when the problem is one row.
    pub line: Option<u64>,
    /// Column, when it is one cell.
    pub column: Option<String>,
    /// Store of the row, when known.
    pub store: Option<u16>,
    /// The check that failed.
    pub rule: String,
    /// What is wrong, in words.
    pub message: String,
}

/// What an upload did: stored (with counts) or refused (with every finding).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct UploadAnswer {
    /// Whether the rows were stored.
    pub stored: bool,
    /// The file's name.
    pub file: String,
    /// SHA-256 of the bytes delivered.
    pub sha256: String,
    /// Data rows in the file (0 when refused).
    pub rows: usize,
    /// Rows stored.
    pub inserted: usize,
    /// Rows already stored, identical.
    pub unchanged: usize,
    /// Stored rows replaced (a correction with a reason).
    pub corrected: usize,
    /// Alerts the monitor raised on the new actuals.
    pub alerts_raised: usize,
    /// What happened, in a sentence.
    pub message: String,
    /// Every problem found, row by row (refused) or the warnings (stored).
    pub findings: Vec<RowFinding>,
}

/// A clean file name for the record: no directories, no control characters, 100 characters.
fn clean_name(name: Option<&str>) -> String {
    let base = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>();
    let base = base.trim();
    if base.is_empty() || base.starts_with('.') {
        "upload.csv".into()
    } else {
        base.to_string()
    }
}

fn nonblank(s: Option<&String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The findings of `report` about the delivered file `file` (the store table's own findings,
/// which every delivery repeats, are not the file's); errors only when `errors_only`. A
/// refusal whose errors name no row of the file shows them all, so it is never unexplained.
fn report_findings(
    report: &storecast_validate::ValidationReport,
    file: &str,
    errors_only: bool,
) -> Vec<RowFinding> {
    let of = |this_file_only: bool| -> Vec<RowFinding> {
        report
            .findings
            .iter()
            .filter(|f| !errors_only || f.severity == storecast_validate::Severity::Error)
            .flat_map(|f| {
                f.examples
                    .iter()
                    .filter(move |e| !this_file_only || e.file == file)
                    .map(move |e| RowFinding {
                        line: e.line,
                        column: e.column.clone(),
                        store: e.store,
                        rule: f.rule.name().to_string(),
                        message: e.message.clone(),
                    })
            })
            .collect()
    };
    let mine = of(true);
    if mine.is_empty() && errors_only {
        of(false)
    } else {
        mine
    }
}

fn refusal_findings(e: &IngestError) -> Vec<RowFinding> {
    let row = |line: u32, store: u16, rule: &str, message: String| RowFinding {
        line: Some(u64::from(line)),
        column: None,
        store: Some(store),
        rule: rule.into(),
        message,
    };
    match e {
        IngestError::Invalid { report, file, .. } => report_findings(report, file, true),
        IngestError::Implausible { rows, .. } => rows
            .iter()
            .map(|r| row(r.line, r.store, "implausible", r.to_string()))
            .collect(),
        IngestError::Conflict { conflicts, .. } => conflicts
            .iter()
            .map(|c| row(c.line, c.incoming.store, "conflict", c.to_string()))
            .collect(),
        IngestError::OutOfScope { rows, .. } => rows
            .iter()
            .map(|&(line, store)| {
                let message = format!("line {line}: store {store} is not one of your stores");
                row(line, store, "store_scope", message)
            })
            .collect(),
        IngestError::Load { source, .. } => vec![RowFinding {
            line: None,
            column: None,
            store: None,
            rule: "load".into(),
            message: source.to_string(),
        }],
        IngestError::Store(_) => Vec::new(),
    }
}

/// `POST /api/v1/actuals`: a file of daily actuals (train.csv format, optionally gzipped) as
/// the body. Admins and directors deliver for any store, a store manager for their own; the
/// file is checked like `storecast ingest` and stored whole or not at all (422 with every
/// finding); each delivery is audited with who and the file's SHA-256.
#[utoipa::path(post, path = "/api/v1/actuals", tag = "operations", summary = "Deliver daily actuals (train.csv format, optionally gzipped) as the body: checked like `storecast ingest`, stored whole or not at all, audited; a store manager delivers their own stores' rows only", params(UploadQuery), request_body(content = String, content_type = "text/csv"), responses((status = 200, description = "stored", body = UploadAnswer), (status = 403, description = "rows of stores the caller may not deliver for, by line", body = UploadAnswer), (status = 413, description = "body too large", body = crate::error::ErrorBody), (status = 422, description = "refused, nothing written: every finding by line and column", body = UploadAnswer)))]
pub async fn post_actuals(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let db = db(&st)?;
    let options = IngestOptions {
        accept_implausible: nonblank(q.accept_implausible.as_ref()),
        correct: nonblank(q.correct.as_ref()),
        only_stores: caller.store_scope().map(<[u16]>::to_vec),
    };
    let name = clean_name(q.name.as_deref());
    // A stored delivery's SHA-256 comes with its outcome; a refused one's is computed here.
    let sha256 = |body: &[u8]| -> String {
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(body))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let st2 = st.clone();
    let (actor, name2) = (caller.name.clone(), name.clone());
    let result = blocking(move || {
        let delivery = Delivery {
            bytes: &body,
            name: &name2,
            actor: &actor,
        };
        let stores = &st2.chain.stores;
        match storecast_pipeline::ingest(&db, delivery, stores, &options) {
            Ok(Ingested::Stored(o)) => {
                st2.monitoring.invalidate();
                let alerts = monitor_after_upload(&st2, &db);
                Ok(Ok((o, alerts)))
            }
            Ok(Ingested::Refused(report)) => Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                report_findings(&report, &name2, true),
                sha256(&body),
            ))),
            Err(PipelineError::Ingest(IngestError::Store(e))) => {
                Err(AppError::Internal(e.to_string()))
            }
            Err(PipelineError::Ingest(e)) => {
                // Rows of another store are a question of rights, not of data.
                let status = if matches!(e, IngestError::OutOfScope { .. }) {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                Ok(Err((status, refusal_findings(&e), sha256(&body))))
            }
            Err(e) => Err(AppError::Internal(e.to_string())),
        }
    })
    .await?;
    let answer = match result {
        Ok((o, alerts_raised)) => UploadAnswer {
            stored: true,
            message: format!(
                "{}: {} rows, {} stored, {} already there, {} corrected",
                o.file_name, o.rows, o.inserted, o.unchanged, o.corrected
            ),
            file: o.file_name,
            sha256: o.sha256,
            rows: o.rows,
            inserted: o.inserted,
            unchanged: o.unchanged,
            corrected: o.corrected,
            alerts_raised,
            findings: report_findings(&o.report, &name, false),
        },
        Err((status, findings, sha256)) => {
            let answer = UploadAnswer {
                stored: false,
                message: format!(
                    "{name} was refused and nothing was written: {} problem(s), listed by line",
                    findings.len().max(1)
                ),
                file: name,
                sha256,
                rows: 0,
                inserted: 0,
                unchanged: 0,
                corrected: 0,
                alerts_raised: 0,
                findings,
            };
            return Ok((status, Json(answer)).into_response());
        }
    };
    Ok(Json(answer).into_response())
}

/// Runs the monitor on the served model after new actuals and records its new alerts; the
/// upload stands even when this fails (logged).
fn monitor_after_upload(st: &AppState, db: &Store) -> usize {
    // The report is the monitoring page's (computed once, kept for the next view).
    let run = report(st).and_then(|r| {
        storecast_pipeline::ops::record_alerts(db, &r)
            .map_err(|e| AppError::Internal(e.to_string()))
    });
    match run {
        Ok(fresh) => fresh.len(),
        Err(e) => {
            tracing::error!(error = %e, "monitor after an upload failed");
            0
        }
    }
}

// ---------------------------------------------------------------- monitoring

/// Live accuracy of the served model's issued forecasts, as the caller may see it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Monitoring {
    /// The model whose forecasts are scored.
    pub model_version: String,
    /// What the figures cover: `chain`, or the caller's stores.
    pub scope: String,
    /// The limits applied.
    pub thresholds: Thresholds,
    /// First and last scored date.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// All the figures of the scope together.
    pub overall: Accuracy,
    /// By store type (chain scope only).
    pub by_store_type: Vec<TypeAccuracy>,
    /// By store.
    pub by_store: Vec<StoreAccuracy>,
    /// By ISO week.
    pub by_week: Vec<WeekAccuracy>,
    /// By week of the horizon.
    pub by_horizon: Vec<HorizonAccuracy>,
    /// Input drift per feature against the same weeks last year (chain scope only).
    pub drift: Vec<FeatureDrift>,
    /// Why drift was not measured, when it could not be (chain scope only).
    pub drift_unavailable: Option<String>,
    /// CUSUM state per store.
    pub cusum: Vec<StoreCusum>,
}

/// The served model's monitoring report (cached).
pub fn report(st: &AppState) -> Result<Arc<MonitorReport>, AppError> {
    let db = db(st)?;
    let m = st.model.load_full();
    let key: CacheKey = (
        st.monitoring.generation.load(Ordering::Relaxed),
        db.data_version().unwrap_or(0),
        m.artifact().model_version.clone(),
    );
    let lock = || {
        st.monitoring
            .kept
            .lock()
            .map_err(|_| AppError::Internal("monitoring cache poisoned".into()))
    };
    if let Some((k, r)) = lock()?.as_ref() {
        if *k == key {
            return Ok(r.clone());
        }
    }
    let cfg = storecast_pipeline::ops::monitor_config(None)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let fresh = storecast_pipeline::ops::assess(&db, m.artifact(), (*st.chain).clone(), &cfg)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let fresh = Arc::new(fresh);
    *lock()? = Some((key, fresh.clone()));
    Ok(fresh)
}

/// The monitoring figures `caller` may see: the chain's for directors and admins; a store
/// manager's own stores, recomputed from their rows only, without chain-wide drift.
pub fn monitoring_for(st: &AppState, caller: &Caller) -> Result<Monitoring, AppError> {
    let report = report(st)?;
    let version = st.model.load().artifact().model_version.clone();
    let Some(stores) = caller.store_scope() else {
        let live = &report.live;
        return Ok(Monitoring {
            model_version: version,
            scope: "chain".into(),
            thresholds: report.thresholds.clone(),
            dates: live.dates,
            overall: live.overall,
            by_store_type: live.by_store_type.clone(),
            by_store: live.by_store.clone(),
            by_week: live.by_week.clone(),
            by_horizon: report.by_horizon.clone(),
            drift: report.drift.clone(),
            drift_unavailable: report.drift_unavailable.clone(),
            cusum: report.cusum.clone(),
        });
    };
    let rows: Vec<_> = db(st)?
        .forecast_vs_actual(Some(&version))?
        .into_iter()
        .filter(|r| stores.contains(&r.forecast.store))
        .collect();
    let types = storecast_monitor::store_types(&st.chain.stores);
    let live = storecast_monitor::live_accuracy(&rows, &types);
    let train_end = st.model.load().artifact().train_end;
    Ok(Monitoring {
        model_version: version,
        scope: format!(
            "store {}",
            stores
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        thresholds: report.thresholds.clone(),
        dates: live.dates,
        overall: live.overall,
        by_store_type: Vec::new(),
        by_store: live.by_store,
        by_week: live.by_week,
        by_horizon: storecast_monitor::by_horizon_week(&rows, train_end),
        drift: Vec::new(),
        drift_unavailable: None,
        cusum: report
            .cusum
            .iter()
            .filter(|c| stores.contains(&c.store))
            .cloned()
            .collect(),
    })
}

/// `GET /api/v1/monitoring`: live accuracy (RMSPE, WAPE, bias, 80/95 % coverage) by store
/// type, store, ISO week and horizon week, drift by feature and CUSUM per store, with the
/// thresholds; a store manager gets their own stores only.
#[utoipa::path(get, path = "/api/v1/monitoring", tag = "operations", summary = "Live accuracy of the served model's issued forecasts by store type, store, ISO week and horizon week; coverage; drift; CUSUM; thresholds (a store manager: their stores only)", responses((status = 200, description = "monitoring", body = Monitoring), (status = 400, description = "bad request", body = crate::error::ErrorBody)))]
pub async fn get_monitoring(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Monitoring>, AppError> {
    blocking(move || monitoring_for(&st, &caller))
        .await
        .map(Json)
}

// ---------------------------------------------------------------- alerts

/// The alerts: open ones first, then the acknowledged history.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Alerts {
    /// Not yet acknowledged, newest first.
    pub open: Vec<Alert>,
    /// Acknowledged, newest first (at most [`ALERT_HISTORY`]).
    pub acknowledged: Vec<Alert>,
}

/// Acknowledged alerts listed at most.
pub const ALERT_HISTORY: usize = 500;

/// The alerts, for directors and admins.
pub fn alerts_for(st: &AppState, caller: &Caller) -> Result<Alerts, AppError> {
    caller.require_chain()?;
    let all = db(st)?.alerts(false)?;
    let (open, mut acknowledged): (Vec<Alert>, Vec<Alert>) =
        all.into_iter().partition(|a| !a.acknowledged);
    acknowledged.truncate(ALERT_HISTORY);
    Ok(Alerts { open, acknowledged })
}

/// Open alerts, for a page header (`None` for callers who do not see alerts or without a
/// database).
pub fn open_alert_count(st: &AppState, caller: &Caller) -> Option<usize> {
    if !caller.role.can_view_chain() {
        return None;
    }
    let db = st.store.as_ref()?;
    match db.alerts(true) {
        Ok(a) => Some(a.len()),
        Err(e) => {
            tracing::error!(error = %e, "counting open alerts");
            None
        }
    }
}

/// `GET /api/v1/alerts`: open alerts and the acknowledged history (directors and admins).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "operations", summary = "Open alerts and the acknowledged history (directors and admins)", responses((status = 200, description = "alerts", body = Alerts), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody)))]
pub async fn get_alerts(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Alerts>, AppError> {
    alerts_for(&st, &caller).map(Json)
}

/// The body of an acknowledgement, of an alert or of a store on the exception list.
#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// What was done or decided (required).
    pub note: String,
}

/// `POST /api/v1/alerts/{id}/ack`: acknowledges an alert with a note (directors and admins;
/// audited with who and when).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "operations", summary = "Acknowledge an alert with a note (directors and admins; audited)", params(("id" = i64, Path, description = "alert number")), request_body = AckRequest, responses((status = 200, description = "the alert", body = storecast_store::Alert), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn post_alert_ack(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(req): Json<AckRequest>,
) -> Result<Json<Alert>, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::BadRequest(format!("{id:?} is not an alert id")))?;
    if !caller.role.can_view_chain() {
        let why = "acknowledging alerts is for directors and admins";
        return Err(denied(
            &st,
            &caller,
            actions::ALERT_ACK,
            &id.to_string(),
            why,
        ));
    }
    if req.note.trim().is_empty() {
        return Err(AppError::BadRequest(
            "say what was done about the alert in the note".into(),
        ));
    }
    let alert = db(&st)?
        .acknowledge_alert(&caller.name, id, &req.note)
        .map_err(|e| match e {
            storecast_store::StoreError::UnknownAlert(_) => {
                AppError::NotFound(format!("no alert {id}"))
            }
            other => other.into(),
        })?;
    st.monitoring.invalidate();
    Ok(Json(alert))
}
