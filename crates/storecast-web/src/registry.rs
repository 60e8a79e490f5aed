//! The model registry in the app: the versions with their backtest folds, signatures and
//! training data, who promoted them and when; promote and roll back for admins.
//!
//! Why this module exists: choosing the model the chain plans with is a decision people take
//! and answer for. The list shows what each version promised (RMSPE per fold) and whether it
//! can be served at all (a version that does not verify shows why); the actions are the
//! CLI's audited `models::promote`/`rollback`, refused with the reason for a version that does
//! not verify, and the server swaps to the new active version before answering (through the
//! same step as its registry follower), so the answer names the version now served. A caller
//! without the admin role gets 403 and the attempt is in the audit log.

use crate::auth::Caller;
use crate::error::AppError;
use crate::follow::{follow_once, Followed};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use storecast_store::audit::actions;
use storecast_store::Registry;

/// One registered version.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct VersionOut {
    /// Version name.
    pub version: String,
    /// When trained (RFC 3339).
    pub trained_at: String,
    /// Last day of its training data.
    pub train_end: Option<chrono::NaiveDate>,
    /// Fingerprint of its training data.
    pub data_fingerprint: String,
    /// Code version that trained it.
    pub code_version: String,
    /// Backtest RMSPE of the model by fold (fold 1 oldest).
    pub fold_rmspe: Vec<f64>,
    /// Whether the artifact verifies (signed by this registry's key, readable).
    pub verified: bool,
    /// Why it does not, when it does not.
    pub problem: Option<String>,
    /// The registry's active version.
    pub active: bool,
    /// The version this server serves.
    pub served: bool,
    /// Who last made it active, and when (from the audit log).
    pub promoted_by: Option<String>,
    /// When.
    pub promoted_at: Option<String>,
}

/// The registry as the app shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct Models {
    /// The version served.
    pub served: String,
    /// Whether the caller may promote and roll back.
    pub can_act: bool,
    /// Versions, newest training first.
    pub versions: Vec<VersionOut>,
}

/// A promotion or a rollback.
#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchRequest {
    /// Why (kept in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a switch did.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct SwitchAnswer {
    /// The version active before.
    pub from: Option<String>,
    /// The version active now.
    pub to: String,
    /// The version the server serves now.
    pub served: String,
    /// What the server did, in words.
    pub message: String,
}

fn registry(st: &AppState) -> Result<Registry, AppError> {
    st.registry.clone().ok_or_else(|| {
        AppError::NotFound(
            "this server serves a model file, not a registry (serve --registry DIR)".into(),
        )
    })
}

/// Who promoted each version last, and when (the newest promote audit row naming it).
fn promotions(st: &AppState) -> Vec<(String, String, String)> {
    let Some(db) = &st.store else {
        return Vec::new();
    };
    match db.audit_of(actions::MODEL_PROMOTE, 10_000) {
        Ok(entries) => entries
            .into_iter()
            .map(|e| (e.target, e.actor, e.at))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "reading the audit log");
            Vec::new()
        }
    }
}

/// The registry's versions, for directors and admins.
pub fn models_for(st: &AppState, caller: &Caller) -> Result<Models, AppError> {
    caller.require_chain()?;
    let reg = registry(st)?;
    let served = st.model.load().artifact().model_version.clone();
    let promoted = promotions(st);
    // The registry's own list (oldest first), newest first here.
    let versions: Vec<VersionOut> = reg
        .list()
        .map_err(|e| AppError::Internal(e.to_string()))?
        .into_iter()
        .rev()
        .map(|v| {
            let by = promoted.iter().find(|p| p.0 == v.version);
            VersionOut {
                served: served == v.version,
                promoted_by: by.map(|p| p.1.clone()),
                promoted_at: by.map(|p| p.2.clone()),
                verified: v.problem.is_none(),
                trained_at: v.trained_at,
                train_end: v.train_end,
                data_fingerprint: v.data_fingerprint,
                code_version: v.code_version,
                fold_rmspe: v.fold_rmspe,
                problem: v.problem,
                active: v.active,
                version: v.version,
            }
        })
        .collect();
    Ok(Models {
        served,
        can_act: caller.role.is_admin(),
        versions,
    })
}

/// `GET /api/v1/models`: the registry's versions (directors and admins).
#[utoipa::path(get, path = "/api/v1/models", tag = "operations", summary = "The registry's versions with fold RMSPE, signature check, training data and who promoted them (directors and admins)", responses((status = 200, description = "versions", body = Models), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn get_models(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Models>, AppError> {
    tokio::task::spawn_blocking(move || models_for(&st, &caller))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map(Json)
}

/// Runs an audited switch for an admin (others: 403, audited), then swaps the served model.
async fn switch(
    st: AppState,
    caller: Caller,
    action: &'static str,
    target: String,
    run: impl FnOnce(
            &Registry,
            &storecast_store::Store,
            &str,
        ) -> Result<storecast_store::Switch, storecast_pipeline::PipelineError>
        + Send
        + 'static,
) -> Result<Json<SwitchAnswer>, AppError> {
    if !caller.role.is_admin() {
        let why = "promoting and rolling back models needs the admin role";
        return Err(crate::operations::denied(
            &st, &caller, action, &target, why,
        ));
    }
    let reg = registry(&st)?;
    let db = st
        .store
        .clone()
        .ok_or_else(|| AppError::BadRequest("model actions are audited: serve with --db".into()))?;
    tokio::task::spawn_blocking(move || {
        let done = run(&reg, &db, &caller.name).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let message = match follow_once(&st, &reg, None) {
            Followed::Refused { reason, .. } => {
                return Err(AppError::Internal(format!(
                    "{} is active but cannot be served: {reason}",
                    done.to
                )))
            }
            other => other.to_string(),
        };
        st.monitoring.invalidate();
        Ok(Json(SwitchAnswer {
            from: done.from,
            to: done.to,
            served: st.model.load().artifact().model_version.clone(),
            message,
        }))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

/// `POST /api/v1/models/{version}/promote`: makes `version` active (admins; audited with the
/// reason); refused with the reason for a version that does not verify.
#[utoipa::path(post, path = "/api/v1/models/{version}/promote", tag = "operations", summary = "Make a version active and serve it (admins; audited; refused for a version that does not verify)", params(("version" = String, Path, description = "model version")), request_body = SwitchRequest, responses((status = 200, description = "switched", body = SwitchAnswer), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn post_promote(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    Json(req): Json<SwitchRequest>,
) -> Result<Json<SwitchAnswer>, AppError> {
    // The role is checked first (and a refusal audited); the registry refuses a bad name.
    let target = if storecast_store::registry::valid_version(&version) {
        version.clone()
    } else {
        "(not a version name)".to_string()
    };
    let reason = req.reason.filter(|r| !r.trim().is_empty());
    let v = version;
    switch(
        st,
        caller,
        actions::MODEL_PROMOTE,
        target,
        move |reg, db, actor| {
            storecast_pipeline::models::promote(reg, db, &v, actor, reason.as_deref())
        },
    )
    .await
}

/// `POST /api/v1/models/rollback`: makes the previously active version active again
/// (admins; audited).
#[utoipa::path(post, path = "/api/v1/models/rollback", tag = "operations", summary = "Make the previously active version active again and serve it (admins; audited)", request_body = SwitchRequest, responses((status = 200, description = "switched", body = SwitchAnswer), (status = 400, description = "bad request", body = crate::error::ErrorBody), (status = 403, description = "outside the caller's role or stores", body = crate::error::ErrorBody), (status = 404, description = "not found", body = crate::error::ErrorBody)))]
pub async fn post_rollback(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Json(_req): Json<SwitchRequest>,
) -> Result<Json<SwitchAnswer>, AppError> {
    switch(
        st,
        caller,
        actions::MODEL_ROLLBACK,
        "active".into(),
        storecast_pipeline::models::rollback,
    )
    .await
}
