//! What the server knows: the chain's data, and the active model with everything precomputed
//! from it (every store's six-week forecast with intervals, chain and store-type totals with
//! intervals, store rankings). The model state is swapped atomically (`ArcSwap`): a request
//! takes a snapshot and finishes on it, so switching models under load fails no request.

use arc_swap::ArcSwap;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use storecast_data::{ChainData, StoreType};
use storecast_explain::{CacheKey, ExplainTable};
use storecast_model::features::F;
use storecast_model::intervals::{SumCell, SumInterval};
use storecast_model::lfl::LikeForLike;
use storecast_model::{DayForecast, ForecastError, Forecaster, ModelArtifact, Scenario};
use storecast_validate::ValidationReport;

/// One store's precomputed forecast.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct StoreForecast {
    /// Store id.
    pub store: u16,
    /// Store type code.
    pub store_type: String,
    /// Assortment name.
    pub assortment: String,
    /// Daily forecasts over the horizon.
    pub days: Vec<DayForecast>,
    /// Weekly totals (Monday of the week, interval of the sum).
    pub weeks: Vec<(NaiveDate, SumInterval)>,
    /// Six-week total with its interval.
    pub total: SumInterval,
    /// Actual sales of the same 42 days one year earlier (364 days back).
    pub last_year: f64,
    /// The like-for-like comparison with last year (comparable days only).
    pub lfl: LikeForLike,
    /// Residual volatility of the store (feature).
    pub volatility: f64,
}

impl StoreForecast {
    /// Expected like-for-like change vs the same weekdays last year (`None`: the store has no
    /// comparable last year, see [`storecast_model::lfl`]).
    pub fn change_vs_last_year(&self) -> Option<f64> {
        self.lfl.change()
    }
    /// Relative width of the 80 % interval of the six-week total.
    pub fn uncertainty(&self) -> f64 {
        if self.total.point > 0.0 {
            (self.total.hi80 - self.total.lo80) / self.total.point
        } else {
            0.0
        }
    }
}

/// A daily series of sums with intervals (chain or a store type).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
pub struct TotalSeries {
    /// Scope label.
    pub scope: String,
    /// Per day: date and interval of the sum.
    pub days: Vec<(NaiveDate, SumInterval)>,
    /// Six-week total.
    pub total: SumInterval,
    /// Same days last year.
    pub last_year: f64,
    /// Like-for-like over the comparable stores of the scope.
    pub lfl: LikeForLike,
    /// Comparable stores, of `stores`.
    pub comparable_stores: usize,
    /// Stores in the scope.
    pub stores: usize,
}

impl TotalSeries {
    /// Expected like-for-like change of the scope (comparable stores only).
    pub fn change_vs_last_year(&self) -> Option<f64> {
        (self.comparable_stores > 0 && self.lfl.last_year > 0.0)
            .then(|| self.lfl.forecast / self.lfl.last_year - 1.0)
    }
}

/// Everything derived from one model.
pub struct ModelState {
    /// The model.
    pub forecaster: Forecaster,
    /// History + plan.
    pub scenario: Scenario,
    /// Per store, by id.
    pub stores: BTreeMap<u16, StoreForecast>,
    /// Chain total first, then one per store type.
    pub totals: Vec<TotalSeries>,
    /// Global driver importance on a sample of forecasts (all stores, then by store type).
    pub importance: Vec<storecast_explain::Importance>,
    /// The forecast API's answer per store, serialised once (the hot path sends bytes).
    pub forecast_json: BTreeMap<u16, Result<axum::body::Bytes, String>>,
    /// The history API's default answer (last [`HISTORY_DAYS`] days) per store, serialised once.
    pub history_json: BTreeMap<u16, Result<axum::body::Bytes, String>>,
    /// Precomputed explanations of every explainable horizon row (filled in the background
    /// by [`start_explanations`]; until then explain computes on demand).
    pub explanations: Arc<ExplainTable>,
    /// Store pages' caller-independent context, built on first view.
    pub store_pages: crate::pages::StorePages,
    /// When this state was built to be served (RFC 3339 UTC): the start, or the swap that
    /// brought this model in.
    pub serving_since: String,
}

impl ModelState {
    /// The artifact.
    pub fn artifact(&self) -> &ModelArtifact {
        &self.forecaster.artifact
    }
}

/// Recently authenticated tokens: SHA-256 of the token → (caller, when verified).
pub type AuthCache =
    std::sync::RwLock<HashMap<[u8; 32], (crate::auth::Caller, std::time::Instant)>>;

/// A generated report shown inside the app.
#[derive(Debug, Clone)]
pub struct ReportPage {
    /// URL segment.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Body HTML (charts as JSON specs).
    pub body: String,
    /// Only for directors and admins.
    pub directors_only: bool,
}

/// The statistical analysis the app shows: the report's body and its figures.
#[derive(Debug, Clone)]
pub struct LoadedAnalysis {
    /// The rendered findings (HTML body).
    pub body: String,
    /// The figures (`analysis.json`), or why they could not be read: said on the data page
    /// and answered as a server error by the API, never taken for "no figures".
    pub json: Result<serde_json::Value, String>,
}

/// Shared, cheap-to-clone application state.
#[derive(Clone)]
pub struct AppState {
    /// The chain's data.
    pub chain: Arc<ChainData>,
    /// The validation report of the data.
    pub validation: Arc<ValidationReport>,
    /// The statistical analysis, as rendered HTML body and JSON (when available); replaced
    /// when a background job writes it again.
    pub analysis: Arc<ArcSwap<Option<LoadedAnalysis>>>,
    /// The active model (swapped atomically).
    pub model: Arc<ArcSwap<ModelState>>,
    /// Storage (users, audit, forecasts), when configured.
    pub store: Option<Arc<storecast_store::Store>>,
    /// Request metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Generated reports (replaced as a background job writes them).
    pub reports: Arc<ArcSwap<Vec<ReportPage>>>,
    /// The background job beside the server (the demo's full training), when there is one:
    /// its progress is shown to directors and admins, its error to admins.
    pub job: Option<storecast_pipeline::background::Board>,
    /// Recently authenticated tokens (SHA-256 of the token → caller and expiry), so the hot
    /// path skips the database; emptied whenever another connection wrote to the database
    /// ([`AppState::auth_version`]), so a revocation from the CLI takes effect on the next
    /// request, and at the latest after [`crate::auth::CACHE_TTL`].
    pub auth_cache: Arc<AuthCache>,
    /// The database's data version the auth cache was filled under.
    pub auth_version: Arc<std::sync::atomic::AtomicI64>,
    /// Authentication required (false only in local demo mode without a database).
    pub auth_required: bool,
    /// The bounded pool of CPU-heavy work (what-if, explanations computed on demand).
    pub heavy: crate::heavy::HeavyPool,
    /// Failed-authentication throttle per client address.
    pub throttle: Arc<crate::auth::Throttle>,
    /// Session lifetimes and HTTPS mode.
    pub web: crate::auth::WebSecurity,
    /// The model registry the server serves from and follows, when it does: the app's
    /// promote and roll back act on it.
    pub registry: Option<storecast_store::Registry>,
    /// The monitoring report of the served model, kept until the data or the model changes.
    pub monitoring: Arc<crate::operations::MonitoringCache>,
    /// How the pages write numbers: the chain's locale (`serve --locale`).
    pub numbers: storecast_charts::Numbers,
}

/// Days of history the history API answers by default.
pub const HISTORY_DAYS: usize = 120;
const DRAWS: usize = 300;
const IMPORTANCE_SAMPLE: usize = 240;

/// Last year's figures of a scope (chain or store type) while stores are added.
#[derive(Debug, Clone, Copy, Default)]
struct Scope {
    last_year: f64,
    lfl: LikeForLike,
    comparable: usize,
    stores: usize,
}

impl Scope {
    fn add(&mut self, last_year: f64, store: &LikeForLike) {
        self.last_year += last_year;
        self.lfl.add(store);
        self.comparable += usize::from(store.comparable());
        self.stores += 1;
    }
}

/// Precomputes a model's forecasts, totals and rankings for the chain's forecast period.
pub fn build_model_state(
    chain: &ChainData,
    artifact: ModelArtifact,
) -> Result<ModelState, ForecastError> {
    let requests = chain.requests.clone().unwrap_or_default();
    let scenario = Scenario::new(&chain.history, &requests)?;
    let forecaster = Forecaster::new(artifact)?;
    let frame = scenario.features(&chain.stores, &scenario.all_cells());
    let forecasts = forecaster.forecast_frame(&scenario, &frame)?;
    let residuals = &forecaster.artifact.residuals;
    let mut stores = BTreeMap::new();
    let mut chain_cells: Vec<SumCell> = Vec::new();
    let mut type_cells: HashMap<StoreType, Vec<SumCell>> = HashMap::new();
    let mut last_year_chain = Scope::default();
    let mut last_year_type: HashMap<StoreType, Scope> = HashMap::new();
    let mut i = 0;
    while i < forecasts.len() {
        let store = forecasts[i].store;
        let j = forecasts[i..]
            .iter()
            .position(|f| f.store != store)
            .map_or(forecasts.len(), |k| i + k);
        let (forecast, sum_cells, st) =
            store_forecast(chain, &scenario, &frame, &forecaster, &forecasts, i, j);
        last_year_chain.add(forecast.last_year, &forecast.lfl);
        last_year_type
            .entry(st)
            .or_default()
            .add(forecast.last_year, &forecast.lfl);
        chain_cells.extend_from_slice(&sum_cells);
        type_cells
            .entry(st)
            .or_default()
            .extend_from_slice(&sum_cells);
        stores.insert(store, forecast);
        i = j;
    }
    let series = |scope: String, cells: &[SumCell], ly: &Scope| {
        let mut by_day: BTreeMap<NaiveDate, Vec<SumCell>> = BTreeMap::new();
        for c in cells {
            by_day.entry(c.date).or_default().push(*c);
        }
        TotalSeries {
            days: by_day
                .into_iter()
                .map(|(d, cs)| {
                    (
                        d,
                        residuals.sum_interval(&cs, 200, d.num_days_from_ce() as u64),
                    )
                })
                .collect(),
            total: residuals.sum_interval(cells, 200, 1),
            last_year: ly.last_year,
            lfl: ly.lfl,
            comparable_stores: ly.comparable,
            stores: ly.stores,
            scope,
        }
    };
    let mut totals = vec![series("chain".into(), &chain_cells, &last_year_chain)];
    for t in StoreType::ALL {
        if let Some(cs) = type_cells.get(&t) {
            totals.push(series(
                format!("type {t}"),
                cs,
                &last_year_type.get(&t).copied().unwrap_or_default(),
            ));
        }
    }
    // Global importance from exact explanations of an even sample of open store-days.
    let open_cells: Vec<(u32, u32)> = frame
        .rows
        .iter()
        .zip(&forecasts)
        .filter(|(_, f)| f.open)
        .map(|(c, _)| *c)
        .collect();
    let step = (open_cells.len() / IMPORTANCE_SAMPLE).max(1);
    let sample: Vec<(u32, u32)> = open_cells.iter().step_by(step).copied().collect();
    let explanations = storecast_explain::explain(&forecaster, &scenario, &chain.stores, &sample)?;
    let importance = storecast_explain::global_importance(&explanations, |e| {
        chain
            .stores
            .get(e.store)
            .map(|i| format!("store type {}", i.store_type))
    });
    let version = forecaster.artifact.model_version.clone();
    let forecast_json = stores
        .iter()
        .map(|(id, f)| {
            let body = crate::api::json_bytes(&crate::api::ForecastBody {
                model_version: &version,
                forecast: f,
            });
            (*id, body)
        })
        .collect();
    let explanations = Arc::new(ExplainTable::new(
        &scenario,
        &frame,
        forecaster.artifact.scale,
    ));
    let mut m = ModelState {
        forecaster,
        scenario,
        stores,
        totals,
        importance,
        forecast_json,
        history_json: BTreeMap::new(),
        explanations,
        store_pages: Default::default(),
        serving_since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    m.history_json = m
        .stores
        .keys()
        .map(|id| {
            let body = crate::api::json_bytes(&crate::api::history_body(&m, *id, HISTORY_DAYS));
            (*id, body)
        })
        .collect();
    Ok(m)
}

/// One store's forecast (rows `i..j` of the frame): its days, weekly and six-week totals with
/// their bands, last year's sales and like-for-like; with its open days as cells of the
/// chain's totals and its store type.
fn store_forecast(
    chain: &ChainData,
    scenario: &Scenario,
    frame: &storecast_model::features::Frame,
    forecaster: &Forecaster,
    forecasts: &[DayForecast],
    i: usize,
    j: usize,
) -> (StoreForecast, Vec<SumCell>, StoreType) {
    let tl = &scenario.tl;
    let residuals = &forecaster.artifact.residuals;
    let store = forecasts[i].store;
    let s = tl.store_index(store).unwrap_or(0);
    let days: Vec<DayForecast> = forecasts[i..j].to_vec();
    let vol = f64::from(frame.row(i)[F::store_volatility as usize]);
    let sum_cells: Vec<SumCell> = days
        .iter()
        .filter(|d| d.open)
        .map(|d| SumCell {
            store,
            date: d.date,
            forecast: d.sales,
            volatility: vol,
        })
        .collect();
    let seed = u64::from(store);
    let total = residuals.sum_interval(&sum_cells, DRAWS, seed);
    let mut weeks: BTreeMap<NaiveDate, Vec<SumCell>> = BTreeMap::new();
    for c in &sum_cells {
        let monday =
            c.date - chrono::Duration::days(i64::from(c.date.weekday().num_days_from_monday()));
        weeks.entry(monday).or_default().push(*c);
    }
    let weeks = weeks
        .into_iter()
        .map(|(m, cs)| {
            (
                m,
                residuals.sum_interval(&cs, DRAWS, seed ^ m.num_days_from_ce() as u64),
            )
        })
        .collect();
    let last_year: f64 = days
        .iter()
        .filter_map(|d| {
            let di = tl.day_index(d.date)? as isize - 364;
            tl.sales_before(s, di, scenario.origin).map(f64::from)
        })
        .sum();
    let lfl = storecast_model::lfl::store_like_for_like(
        tl,
        s,
        scenario.origin,
        days.iter()
            .filter_map(|d| Some((tl.day_index(d.date)?, d.open, d.sales))),
    );
    let info = chain.stores.get(store);
    let st = info.map_or(StoreType::A, |x| x.store_type);
    let forecast = StoreForecast {
        store,
        store_type: st.code().to_string(),
        assortment: info.map_or("", |x| x.assortment.name()).to_string(),
        days,
        weeks,
        total,
        last_year,
        lfl,
        volatility: vol,
    };
    (forecast, sum_cells, st)
}

/// Fills `m.explanations` on a background thread: read from the cache file in `cache_dir`
/// when it matches the model and the data, else compute (table TreeSHAP on all cores) and
/// save. Stops early when `m` is no longer used (swapped out). `report` receives one line on
/// the outcome.
pub fn start_explanations(
    m: Arc<ModelState>,
    data_fingerprint: String,
    cache: Option<storecast_explain::table::CacheStore>,
    report: impl Fn(String) + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("explanations".into())
        .spawn(move || {
            let key = CacheKey {
                model_checksum: m.artifact().checksum.clone(),
                data_fingerprint,
            };
            let filled = m.explanations.fill(
                m.forecaster.gbdt(),
                &key,
                cache.as_ref(),
                || Arc::strong_count(&m) > 1,
                &mut |_, _| {},
            );
            report(filled.to_string());
        })
}
