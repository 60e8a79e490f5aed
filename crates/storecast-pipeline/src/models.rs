//! The registry's actions as jobs: register an artifact file, promote a version, roll back,
//! sign; each one audited in the same step (the audit row is written with the change, or the
//! change does not happen), and who acted named as the kernel knows them.
//!
//! Why here: the CLI's `models` commands, the demo, the weekly operations step and the app's
//! registry actions all switch the served model; one audited path means no switch escapes the
//! audit log and a refused registration is recorded the same way everywhere.

use crate::PipelineError;
use std::path::Path;
use storecast_model::ModelArtifact;
use storecast_store::audit::actions;
use storecast_store::{Registered, Registry, Store, Switch};

/// Who runs a command on this machine, as the audit log records it: the process's user id as
/// the kernel reports it (the owner of `/proc/self`) with its name from `/etc/passwd`. `$USER`,
/// which anyone can set, is only noted beside it when it disagrees (issue 13: it was the actor).
pub fn process_actor() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let name = uid.and_then(passwd_name);
    let who = match (uid, &name) {
        (Some(u), Some(n)) => format!("cli:{n} (uid {u})"),
        (Some(u), None) => format!("cli:uid {u}"),
        (None, _) => "cli".to_string(),
    };
    match std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        Some(claimed) if Some(&claimed) != name.as_ref() => format!("{who}, $USER={claimed}"),
        _ => who,
    }
}

/// The login name of `uid` in `/etc/passwd`.
fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

/// Registers the artifact in `file` (audited); a signature the registry does not accept is
/// refused and the refusal audited. The explanation table written beside the file is copied
/// into the registry, where the server looks for it.
pub fn register(
    registry: &Registry,
    store: &Store,
    file: &Path,
    actor: &str,
) -> Result<Registered, PipelineError> {
    let a = ModelArtifact::load(file)?;
    let shown = file.display().to_string();
    if let Err(e) = registry.verify(&a) {
        store
            .audit(
                actor,
                actions::MODEL_REGISTER_REFUSED,
                &a.model_version,
                serde_json::json!({"file": shown, "error": e.to_string()}),
            )
            .map_err(PipelineError::Audit)?;
        return Err(PipelineError::Store(format!("registering {shown}: {e}")));
    }
    let details = serde_json::json!({"file": shown});
    let r = store
        .audited(
            actor,
            actions::MODEL_REGISTER,
            &a.model_version,
            details,
            || registry.register(&a),
        )
        .map_err(|e| PipelineError::Store(format!("registering {shown}: {e}")))?;
    copy_explanations(&a, file, registry);
    Ok(r)
}

/// Copies the explanation table `train` wrote beside `file` into the registry (a missing
/// table is computed by the server at start, so a failed copy only costs time).
fn copy_explanations(a: &ModelArtifact, file: &Path, registry: &Registry) {
    let key = storecast_explain::table::CacheKey {
        model_checksum: a.checksum.clone(),
        data_fingerprint: a.data_fingerprint.clone(),
    };
    let dir = storecast_model::artifact::companion_dir(file);
    let (from, to) = (key.file_in(dir), key.file_in(registry.dir()));
    if from.exists() && !to.exists() {
        if let Err(e) = std::fs::copy(&from, &to) {
            tracing::warn!("explanations not copied to the registry ({e}); serve computes them");
        }
    }
}

/// Makes `version` the active model (audited with the version it replaces and `reason`).
pub fn promote(
    registry: &Registry,
    store: &Store,
    version: &str,
    actor: &str,
    reason: Option<&str>,
) -> Result<Switch, PipelineError> {
    let from = registry
        .current_version()
        .map_err(PipelineError::registry("reading the active version"))?;
    store
        .audited(
            actor,
            actions::MODEL_PROMOTE,
            version,
            serde_json::json!({"from": from, "reason": reason}),
            || registry.promote(version),
        )
        .map_err(|e| PipelineError::Store(format!("promoting {version}: {e}")))
}

/// Returns to the previously active version (audited).
pub fn rollback(registry: &Registry, store: &Store, actor: &str) -> Result<Switch, PipelineError> {
    let from = registry
        .current_version()
        .map_err(PipelineError::registry("reading the active version"))?;
    store
        .audited(
            actor,
            actions::MODEL_ROLLBACK,
            from.as_deref().unwrap_or("none"),
            serde_json::json!({"from": from}),
            || registry.rollback(),
        )
        .map_err(|e| PipelineError::Store(format!("rolling back: {e}")))
}

/// Signs the artifact in `file` with the registry's key, rewriting it in place (audited);
/// returns its version.
pub fn sign(
    registry: &Registry,
    store: &Store,
    file: &Path,
    actor: &str,
) -> Result<String, PipelineError> {
    let mut a = ModelArtifact::load(file)?;
    registry.sign(&mut a);
    let version = a.model_version.clone();
    let details = serde_json::json!({"file": file.display().to_string(), "checksum": a.checksum});
    store
        .audited(actor, actions::MODEL_SIGN, &version, details, || {
            a.save(file)
        })
        .map_err(|e| PipelineError::Store(format!("signing {}: {e}", file.display())))?;
    Ok(version)
}
