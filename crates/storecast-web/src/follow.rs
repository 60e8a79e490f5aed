//! The server follows the model registry.
//!
//! Why this module exists: a promotion or a rollback (`storecast models promote|rollback`, a
//! `retrain` that promotes) changes the registry's active pointer, and a running server must
//! serve the new model without a restart and without failing a request. A watcher thread reads
//! the pointer every few seconds; on a change it loads the verified (signed) artifact, builds
//! the whole model state — forecasts, intervals, pre-serialised answers — off the request path,
//! and swaps it in atomically. Requests in flight finish on the old state (each holds an `Arc`
//! of it); the next ones see the new one. The explanation table of the new model is read from
//! the registry or computed in the background, as at start. A version that cannot be served
//! (unreadable, unsigned, built for other features) is logged and left out: the old model keeps
//! serving, and the watcher tries again when the pointer moves.

use crate::state::{build_model_state, start_explanations, AppState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use storecast_store::Registry;

/// How often the watcher reads the registry's pointer by default.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The watcher thread; dropping it stops the watching (the served model stays).
pub struct Follower {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// What one look at the registry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// The served model is the active one (or none is active).
    Unchanged,
    /// The active version was swapped in.
    Swapped {
        /// The version served before.
        from: String,
        /// The version served now.
        to: String,
    },
    /// The active version cannot be served; the old one stays.
    Refused {
        /// The version.
        version: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Followed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unchanged => f.write_str("the served model is the active one"),
            Self::Swapped { from, to } => write!(f, "now serving {to} (was {from})"),
            Self::Refused { version, reason } => {
                write!(
                    f,
                    "{version} is active but not served ({reason}); the old model stays"
                )
            }
        }
    }
}

/// Serves the registry's active version if it is not the one served: the step the watcher
/// repeats. `refused` is the version that failed last (not retried until the pointer moves).
pub fn follow_once(state: &AppState, registry: &Registry, refused: Option<&str>) -> Followed {
    let active = match registry.current_version() {
        Ok(Some(v)) => v,
        Ok(None) => return Followed::Unchanged,
        Err(e) => {
            return Followed::Refused {
                version: "?".into(),
                reason: format!("the registry's pointer cannot be read: {e}"),
            }
        }
    };
    let served = state.model.load().artifact().model_version.clone();
    if active == served || refused == Some(active.as_str()) {
        return Followed::Unchanged;
    }
    let refuse = |reason: String| Followed::Refused {
        version: active.clone(),
        reason,
    };
    let artifact = match registry.load(&active) {
        Ok(a) => a,
        Err(e) => return refuse(e.to_string()),
    };
    let next = match build_model_state(&state.chain, artifact) {
        Ok(m) => Arc::new(m),
        Err(e) => return refuse(format!("forecasting with it failed: {e}")),
    };
    state.model.store(next.clone());
    state.metrics.set_model(&active);
    let fingerprint = state.chain.fingerprint.clone();
    let cache = storecast_pipeline::train::cache_store(registry, registry.dir());
    if let Err(e) = start_explanations(next, fingerprint, Some(cache), |l| tracing::info!("{l}")) {
        tracing::error!(error = %e, "explanations of the new model not started");
    }
    Followed::Swapped {
        from: served,
        to: active,
    }
}

/// Starts the watcher: every `every`, [`follow_once`]; each swap and refusal goes to `report`
/// (and the log).
pub fn follow_registry(
    state: AppState,
    registry: Registry,
    every: Duration,
    report: impl Fn(&Followed) + Send + 'static,
) -> std::io::Result<Follower> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("registry-follower".into())
        .spawn(move || {
            let mut refused: Option<String> = None;
            while !flag.load(Ordering::Relaxed) {
                let step = follow_once(&state, &registry, refused.as_deref());
                match &step {
                    Followed::Unchanged => {}
                    Followed::Swapped { from, to } => {
                        refused = None;
                        tracing::warn!(
                            from,
                            to,
                            "model swapped: now serving the registry's active version"
                        );
                    }
                    Followed::Refused { version, reason } => {
                        refused = Some(version.clone());
                        tracing::error!(
                            version,
                            reason,
                            "the registry's active version is not served; the old one stays"
                        );
                    }
                }
                if step != Followed::Unchanged {
                    report(&step);
                }
                let mut slept = Duration::ZERO;
                while slept < every && !flag.load(Ordering::Relaxed) {
                    let tick = Duration::from_millis(20).min(every - slept);
                    std::thread::sleep(tick);
                    slept += tick;
                }
            }
        })?;
    Ok(Follower {
        stop,
        handle: Some(handle),
    })
}
