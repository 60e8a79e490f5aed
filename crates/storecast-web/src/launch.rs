//! The web app starts itself: which model to serve (one rule), the application state from
//! typed parts (one builder), and `launch`, which starts the background work (explanation
//! table, registry follower, Prometheus file reader) and serves on a listener it is given.
//!
//! Why this module exists: the CLI's `serve` and `demo`, the tests and later an operations
//! daemon must start the same server the same way; when the CLI filled the state's fields by
//! hand, each caller drifted (atuin's `launch_with_tcp_listener` is the model).

use crate::state::{build_model_state, AppState, ReportPage};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use storecast_data::ChainData;
use storecast_model::ModelArtifact;
use storecast_store::{Registry, Store};
use storecast_validate::ValidationReport;
use thiserror::Error;

/// Why the app cannot start.
#[derive(Debug, Error)]
pub enum LaunchError {
    /// The model registry (or a model file it verifies) failed.
    #[error("{what}: {source}")]
    Registry {
        /// What was being done.
        what: String,
        /// The cause.
        source: storecast_store::RegistryError,
    },
    /// No model to serve.
    #[error("no model: train one with `storecast train` (or pass --model, or promote one in the registry)")]
    NoModel,
    /// Forecasting for the app failed.
    #[error("forecasting for the app: {0}")]
    Forecast(#[from] storecast_model::ForecastError),
    /// Metrics, threads, the runtime.
    #[error("{0}")]
    Start(String),
}

/// Where the served model comes from: the directory of its files (the explanation cache) and,
/// when it is the registry's active version, the registry to follow.
#[derive(Debug)]
pub struct ModelSource {
    /// Directory of the model's companion files.
    pub dir: PathBuf,
    /// The registry whose promotions and rollbacks the server follows.
    pub follow: Option<Registry>,
    /// The registry whose key verified the model and signs its explanation cache (without
    /// one, the table is computed and not cached).
    pub key: Option<Registry>,
    /// How the model was chosen, for the operator.
    pub note: String,
}

/// The model-choice rule: an explicit file (verified by the registry's key), else the
/// registry's active version (followed), else `fallback` (verified).
pub fn choose_model(
    registry_dir: &Path,
    explicit: Option<&Path>,
    fallback: &Path,
) -> Result<(ModelArtifact, ModelSource), LaunchError> {
    let reg = |what: String| move |source| LaunchError::Registry { what, source };
    let registry =
        Registry::open(registry_dir).map_err(reg("opening the model registry".into()))?;
    let file = |path: &Path, registry: &Registry| {
        let a = registry
            .open_file(path)
            .map_err(reg(format!("loading the model {}", path.display())))?;
        let dir = storecast_model::artifact::companion_dir(path).to_path_buf();
        let note = format!("model: {} from {}", a.model_version, path.display());
        Ok::<_, LaunchError>((
            a,
            ModelSource {
                dir,
                follow: None,
                key: Some(registry.clone()),
                note,
            },
        ))
    };
    if let Some(path) = explicit {
        return file(path, &registry);
    }
    if let Some((version, artifact)) = registry
        .current()
        .map_err(reg("reading the active model".into()))?
    {
        let note = format!(
            "model: {version} (active in {}; a promotion or rollback there is served within {} s)",
            registry_dir.display(),
            crate::follow::FOLLOW_EVERY.as_secs()
        );
        let source = ModelSource {
            dir: registry_dir.to_path_buf(),
            follow: Some(registry.clone()),
            key: Some(registry),
            note,
        };
        return Ok((artifact, source));
    }
    if !fallback.exists() {
        return Err(LaunchError::NoModel);
    }
    file(fallback, &registry)
}

/// Builds an [`AppState`] from its parts; what is not given takes the safe default
/// (authentication required, no reports, no analysis).
pub struct AppStateBuilder {
    chain: ChainData,
    validation: ValidationReport,
    artifact: ModelArtifact,
    store: Option<Arc<Store>>,
    reports: Vec<ReportPage>,
    analysis: Option<crate::state::LoadedAnalysis>,
    job: Option<storecast_pipeline::background::Board>,
    auth_required: bool,
    web: crate::auth::WebSecurity,
    registry: Option<Registry>,
    numbers: storecast_charts::Numbers,
}

impl AppState {
    /// A builder for the state serving `artifact` on `chain`.
    pub fn builder(
        chain: ChainData,
        validation: ValidationReport,
        artifact: ModelArtifact,
    ) -> AppStateBuilder {
        AppStateBuilder {
            chain,
            validation,
            artifact,
            store: None,
            reports: Vec::new(),
            analysis: None,
            job: None,
            auth_required: true,
            web: Default::default(),
            registry: None,
            numbers: Default::default(),
        }
    }
}

impl AppState {
    /// Reads the reports and the analysis in `dir` again (a background job wrote them).
    pub fn reload_reports(&self, dir: &Path) {
        let (reports, analysis) = read_reports(dir);
        self.reports.store(Arc::new(reports));
        self.analysis.store(Arc::new(analysis));
    }
}

impl AppStateBuilder {
    /// The database of users, sessions, audit, actuals and forecasts.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }
    /// Reports shown inside the app.
    pub fn reports(mut self, reports: Vec<ReportPage>) -> Self {
        self.reports = reports;
        self
    }
    /// The statistical analysis (HTML body and JSON).
    pub fn analysis(mut self, analysis: Option<crate::state::LoadedAnalysis>) -> Self {
        self.analysis = analysis;
        self
    }
    /// The background job whose progress the pages show.
    pub fn job(mut self, board: storecast_pipeline::background::Board) -> Self {
        self.job = Some(board);
        self
    }
    /// Serve without authentication (local demo on loopback only; the caller checks).
    pub fn without_auth(mut self) -> Self {
        self.auth_required = false;
        self
    }
    /// Session lifetimes and HTTPS mode.
    pub fn web(mut self, web: crate::auth::WebSecurity) -> Self {
        self.web = web;
        self
    }
    /// How the pages write numbers (the chain's locale).
    pub fn locale(mut self, locale: storecast_charts::Locale) -> Self {
        self.numbers = storecast_charts::Numbers::new(locale);
        self
    }
    /// The registry the model is served from (the app's promote and roll back act on it).
    pub fn registry(mut self, registry: Option<Registry>) -> Self {
        self.registry = registry;
        self
    }
    /// Forecasts everything the app shows for the model and assembles the state.
    pub fn build(self) -> Result<AppState, LaunchError> {
        let model = build_model_state(&self.chain, self.artifact)?;
        let metrics = crate::metrics::Metrics::new()
            .map_err(|e| LaunchError::Start(format!("metrics: {e}")))?;
        metrics.set_model(&model.artifact().model_version);
        Ok(AppState {
            chain: Arc::new(self.chain),
            validation: Arc::new(self.validation),
            analysis: Arc::new(ArcSwap::from_pointee(self.analysis)),
            model: Arc::new(arc_swap::ArcSwap::from_pointee(model)),
            store: self.store,
            metrics: Arc::new(metrics),
            reports: Arc::new(ArcSwap::from_pointee(self.reports)),
            job: self.job,
            auth_cache: Default::default(),
            auth_version: Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN)),
            auth_required: self.auth_required,
            heavy: Default::default(),
            throttle: Default::default(),
            web: self.web,
            registry: self.registry,
            monitoring: Default::default(),
            numbers: self.numbers,
        })
    }
}

/// Reports known to the app: slug, title, directors only.
pub const REPORTS: [(&str, &str, bool); 3] = [
    ("business", "Business performance and recommendations", true),
    (
        "methodology",
        "Forecasting methodology: metric, validation, algorithm",
        // It names the hardest stores and scores small store types: chain figures.
        true,
    ),
    ("analysis", "Statistical analysis for sales teams", true),
];

/// The text of the regular file `path`; `None` when missing or a symlink (a link in the
/// reports folder must not serve a file from elsewhere).
fn read_regular(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        tracing::warn!("{} is not a regular file: not served", path.display());
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The report bodies (`<slug>.body.html`) and the analysis (`analysis.body.html`,
/// `analysis.json`) found in `dir` (regular files only: symlinks are not followed).
pub fn read_reports(dir: &Path) -> (Vec<ReportPage>, Option<crate::state::LoadedAnalysis>) {
    let reports = REPORTS
        .iter()
        .filter_map(|(slug, title, directors_only)| {
            let body = read_regular(&dir.join(format!("{slug}.body.html")))?;
            Some(ReportPage {
                slug: slug.to_string(),
                title: title.to_string(),
                body,
                directors_only: *directors_only,
            })
        })
        .collect();
    let analysis = read_regular(&dir.join("analysis.body.html")).map(|body| {
        let json = read_regular(&dir.join("analysis.json"))
            .ok_or_else(|| "analysis.json is missing".to_string())
            .and_then(|b| {
                serde_json::from_str(&b).map_err(|e| format!("analysis.json does not parse: {e}"))
            });
        if let Err(e) = &json {
            tracing::error!(
                "the analysis' figures could not be read from {}: {e}",
                dir.display()
            );
        }
        crate::state::LoadedAnalysis { body, json }
    });
    (reports, analysis)
}

/// What `launch` starts besides the server.
#[derive(Debug, Clone, Default)]
pub struct LaunchSettings {
    /// Where the explanation table's cache lives (default: the model's directory).
    pub explain_cache: Option<PathBuf>,
    /// A Prometheus text file (from `storecast monitor --prom`) appended to `/metrics`,
    /// re-read every minute.
    pub monitor_prom: Option<PathBuf>,
}

/// Starts the background work of `state` (the explanation table, the registry follower, the
/// Prometheus file) and serves on `listener` until the server stops. `log` receives the
/// operator's lines (explanations ready, model swapped).
pub async fn launch(
    state: AppState,
    source: ModelSource,
    settings: LaunchSettings,
    listener: tokio::net::TcpListener,
    log: impl Fn(String) + Send + Sync + Clone + 'static,
) -> Result<(), LaunchError> {
    let t = Instant::now();
    let cache_dir = settings.explain_cache.unwrap_or_else(|| source.dir.clone());
    let cache =
        (source.key.as_ref()).map(|r| storecast_pipeline::train::cache_store(r, &cache_dir));
    let log_explain = log.clone();
    crate::state::start_explanations(
        state.model.load_full(),
        state.chain.fingerprint.clone(),
        cache,
        move |line| {
            log_explain(format!(
                "{line} ({:.1} s after start)",
                t.elapsed().as_secs_f64()
            ))
        },
    )
    .map_err(|e| LaunchError::Start(format!("starting the explanations thread: {e}")))?;
    let _follower = match source.follow {
        Some(reg) => {
            let log = log.clone();
            Some(
                crate::follow::follow_registry(
                    state.clone(),
                    reg,
                    crate::follow::FOLLOW_EVERY,
                    move |step| log(format!("registry: {step}")),
                )
                .map_err(|e| LaunchError::Start(format!("starting the registry follower: {e}")))?,
            )
        }
        None => None,
    };
    if let Some(path) = settings.monitor_prom {
        let metrics = state.metrics.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(text) = tokio::fs::read_to_string(&path).await {
                    if let Ok(mut extra) = metrics.extra.write() {
                        *extra = text;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
        });
    }
    crate::serve(state, listener)
        .await
        .map_err(|e| LaunchError::Start(format!("serving: {e}")))
}

/// What `storecast serve` and the demo ask of the server.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Address to listen on.
    pub addr: std::net::SocketAddr,
    /// The database of users, audit, forecasts and actuals.
    pub db: PathBuf,
    /// Directory of generated reports to show.
    pub reports: Option<PathBuf>,
    /// Serve without authentication (refused unless `addr` is a loopback address).
    pub no_auth: bool,
    /// Browsers come through an HTTPS reverse proxy (secure cookies, HSTS).
    pub https_proxy: bool,
    /// How the pages write numbers (`1,234.5 €` or, for a German chain, `1.234,5 €`).
    pub locale: storecast_charts::Locale,
    /// Background work besides the server.
    pub launch: LaunchSettings,
}

/// Builds the state of `artifact` on `chain` with the server's settings (reports, database,
/// authentication). `log` receives the operator's lines (a model trained on other data, no
/// users yet, ready).
pub fn prepare(
    chain: ChainData,
    validation: ValidationReport,
    artifact: ModelArtifact,
    settings: &ServeSettings,
    log: &impl Fn(String),
) -> Result<AppStateBuilder, LaunchError> {
    let addr = settings.addr;
    if settings.no_auth && !addr.ip().is_loopback() {
        return Err(LaunchError::Start(format!(
            "--no-auth is only allowed on a loopback address, not {addr}"
        )));
    }
    if artifact.data_fingerprint != chain.fingerprint {
        let short = |f: &str| f.chars().take(12).collect::<String>();
        log(format!(
            "warning: the model {} was trained on other data (fingerprint {}…) than the data served ({}…): check --data",
            artifact.model_version,
            short(&artifact.data_fingerprint),
            short(&chain.fingerprint)
        ));
    }
    let (reports, analysis) = match &settings.reports {
        Some(dir) => read_reports(dir),
        None => (Vec::new(), read_reports(Path::new(".")).1),
    };
    let web = crate::auth::WebSecurity {
        https: settings.https_proxy,
        ..Default::default()
    };
    let builder = AppState::builder(chain, validation, artifact)
        .reports(reports)
        .analysis(analysis)
        .locale(settings.locale)
        .web(web);
    Ok(if settings.no_auth {
        builder.without_auth()
    } else {
        builder.store(open_store(&settings.db, log)?)
    })
}

/// Serves `state` on `settings.addr` until stopped, on a runtime of its own, with the
/// background work of [`launch`]. `log` receives the operator's lines (serving, swaps).
pub fn serve_state_blocking(
    state: AppState,
    source: ModelSource,
    settings: ServeSettings,
    log: impl Fn(String) + Send + Sync + Clone + 'static,
) -> Result<(), LaunchError> {
    let addr = settings.addr;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| LaunchError::Start(format!("starting the async runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| LaunchError::Start(format!("binding {addr}: {e}")))?;
        log(format!(
            "storecast is serving on http://{addr}/  (Ctrl-C to stop)"
        ));
        launch(state, source, settings.launch, listener, log).await
    })
}

/// [`prepare`], build, then [`serve_state_blocking`]: `storecast serve`.
pub fn serve_blocking(
    chain: ChainData,
    validation: ValidationReport,
    artifact: ModelArtifact,
    source: ModelSource,
    settings: ServeSettings,
    log: impl Fn(String) + Send + Sync + Clone + 'static,
) -> Result<(), LaunchError> {
    let t = Instant::now();
    let state = prepare(chain, validation, artifact, &settings, &log)?
        .registry(source.follow.clone())
        .build()?;
    log(format!("app ready in {:.1} s", t.elapsed().as_secs_f64()));
    serve_state_blocking(state, source, settings, log)
}

/// Opens the database of users and sessions, saying how to create the first user.
fn open_store(db: &Path, log: &impl Fn(String)) -> Result<Store, LaunchError> {
    let fail =
        |e: String| LaunchError::Start(format!("opening the database {}: {e}", db.display()));
    let store = Store::open(db).map_err(|e| fail(e.to_string()))?;
    if store
        .list_users()
        .map_err(|e| fail(e.to_string()))?
        .iter()
        .all(|u| !u.is_active())
    {
        log(format!(
            "note: no users yet: create one with `storecast users add NAME --role admin --db {}`",
            db.display()
        ));
    }
    Ok(store)
}

/// The demo's app, ready to serve: its state, where its model comes from (the demo's registry,
/// followed), and the background training of the full model with its board, when the demo
/// started on a provisional model.
pub struct DemoApp {
    /// The state to serve.
    pub state: AppState,
    /// The demo's registry, followed and keying the explanation cache.
    pub source: ModelSource,
    /// The full model's training: its progress board and its thread.
    pub job: Option<(
        storecast_pipeline::background::Board,
        std::thread::JoinHandle<()>,
    )>,
}

/// Builds the app of a demo run (`d`, trained with `demo`) and, after a provisional start,
/// starts the full model's training at the lowest priority: `before_full` runs first on its
/// thread, then [`storecast_pipeline::complete`] with its progress on the app's banner and on
/// `terminal`; the reports are read again when it ends, and the registry follower swaps the
/// promoted model in. `storecast demo` and the tests start the demo the same way.
pub fn demo_app(
    d: storecast_pipeline::DemoResult,
    demo: storecast_pipeline::DemoSettings,
    settings: &ServeSettings,
    before_full: impl FnOnce(&mut dyn storecast_pipeline::Progress) -> Result<(), String>
        + Send
        + 'static,
    mut terminal: impl storecast_pipeline::Progress + Send + 'static,
    log: impl Fn(String) + Send + Sync + Clone + 'static,
) -> Result<DemoApp, LaunchError> {
    use storecast_pipeline::background::{spawn, Board, Tee};
    let paths = d.paths.clone();
    let registry = Registry::open(&paths.registry).map_err(|source| LaunchError::Registry {
        what: format!("opening the demo's registry {}", paths.registry.display()),
        source,
    })?;
    let mut builder = prepare(d.chain, d.validation, d.artifact, settings, &log)?;
    let board = d
        .first
        .is_provisional()
        .then(|| Board::new("training the full model"));
    if let Some(b) = &board {
        builder = builder.job(b.clone());
    }
    let state = builder.registry(Some(registry.clone())).build()?;
    let job = match board {
        None => None,
        Some(b) => {
            let (st, log_job) = (state.clone(), log.clone());
            let handle = spawn(b.clone(), log, move |progress| {
                before_full(progress)?;
                let mut tee = Tee(progress, &mut terminal);
                let done = storecast_pipeline::complete(&st.chain, &paths, &demo, &mut tee);
                st.reload_reports(&paths.reports);
                let c = done.map_err(|e| e.to_string())?;
                log_job(format!(
                    "the full model {} is promoted; the server swaps it in",
                    c.artifact.model_version
                ));
                Ok(())
            })
            .map_err(|e| LaunchError::Start(format!("starting the background training: {e}")))?;
            Some((b, handle))
        }
    };
    let source = ModelSource {
        dir: registry.dir().to_path_buf(),
        follow: Some(registry.clone()),
        key: Some(registry),
        note: String::new(),
    };
    Ok(DemoApp { state, source, job })
}
