//! Command-line flags (clap derive). Flags are checked here; each command receives one typed
//! struct, and the job settings are made from it in one place (the `settings` methods).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The model registry's default directory.
pub const REGISTRY_DIR: &str = "models/registry";
/// The default model file.
pub const MODEL_FILE: &str = "models/model.json";

/// Six-week store-level sales forecasts for a retail chain.
#[derive(Debug, Parser)]
#[command(name = "storecast", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the data against every quality rule and report every failure.
    ///
    /// Exit status: 0 no error-severity finding, 1 some error finding, 2 input unreadable.
    Validate(ValidateArgs),
    /// Statistical analysis for sales teams: analysis.json, analysis.md, analysis.html.
    Analyze {
        #[command(flatten)]
        data: DataArgs,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write a synthetic chain (train.csv, store.csv, test.csv, test_truth.csv, effects.json)
    /// with planted, documented effects. Same seed, same bytes.
    Synth(SynthArgs),
    /// Backtest, then fit the forecasting model on the whole history and save its artifact.
    Train(TrainArgs),
    /// Rolling-origin backtest of the model and the baselines; writes the methodology report.
    Backtest {
        #[command(flatten)]
        data: DataArgs,
        /// Output directory (methodology.md/.html, backtest.json, predictions.csv).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        origins: OriginArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Business performance report for decision makers (report.html, report.md), from a
    /// backtest (`storecast backtest --out DIR` writes DIR/backtest.json).
    Report(ReportArgs),
    /// Forecast the store-days of a file in the competition's test.csv format; writes Id,Sales.
    Forecast(ForecastArgs),
    /// Explain one store-day's forecast: the waterfall in euros by business driver.
    Explain(ExplainArgs),
    /// Re-forecast a store with a changed plan and show the difference by driver.
    Whatif(WhatifArgs),
    /// Serve the web application (pages and JSON API) on a trained model.
    Serve {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        app: AppArgs,
    },
    /// The whole pipeline on the default data, then the app: validate → (analyze) → train and
    /// backtest when no model fits the data → forecast → serve. Prints the URL and a token.
    Demo(DemoArgs),
    /// Manage users and their access tokens (stored hashed).
    Users {
        #[command(flatten)]
        db: DbArg,
        #[command(subcommand)]
        what: UsersCommand,
    },
    /// The tamper-evident audit log: show it, or verify its hash chain.
    Audit {
        #[command(flatten)]
        db: DbArg,
        #[command(subcommand)]
        what: AuditCommand,
    },
    /// The model registry: list versions, promote one, roll back.
    Models {
        /// Registry directory.
        #[arg(long, value_name = "DIR", default_value = REGISTRY_DIR, global = true)]
        registry: PathBuf,
        #[command(flatten)]
        db: DbArg,
        #[command(subcommand)]
        what: ModelsCommand,
    },
    /// Append days of actuals (train.csv format) to the database, validated first; a bad file
    /// is refused whole; re-ingesting the same file changes nothing.
    Ingest(IngestArgs),
    /// Live accuracy of issued forecasts, input drift and error drift; records alerts.
    Monitor {
        #[command(flatten)]
        ops: OpsArgs,
        /// Write the full report as JSON (`-`: print it on stdout instead of the summary).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write the Prometheus gauges (the server's /metrics appends them).
        #[arg(long, value_name = "FILE")]
        prom: Option<PathBuf>,
    },
    /// Retrain on the ingested actuals, backtest, compare with the active model on the same
    /// fold, register, and promote only if not worse (policy in the monitor config); audited.
    Retrain {
        #[command(flatten)]
        ops: OpsArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Run operations by themselves: watch a folder for actuals files (train.csv format); each
    /// file runs the operations step at the lowest CPU priority (issue the next six weeks from
    /// the data's plan, ingest the file, monitor, retrain by policy, promote only what the
    /// policy allows); stored files move to done/, refused ones to refused/ with the report.
    Ops(OpsDaemonArgs),
    /// Replay operations week by week over the history from a date: a model trained on the
    /// history before it, then each week the operations step (issue, ingest that week's
    /// actuals, monitor, retrain by policy); writes replay.json with each week's live accuracy.
    Replay(ReplayArgs),
    /// Print performance figures (not a test: numbers for the notes and for regressions).
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// Where the chain's files are.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory with train.csv, store.csv and test.csv (each may be .csv.gz).
    /// Default: $STORECAST_DATA, else ../shared/data/rossmann, else data/, else a built-in
    /// synthetic chain (said so on stderr).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// `storecast validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Write the full report as JSON here (`-`: print it on stdout instead of the summary).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Examples printed per rule on the terminal.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

/// `storecast synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of stores.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    pub stores: u16,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Generate clean data, without the real data's quirks (gaps, blank Open, ...).
    #[arg(long)]
    pub no_quirks: bool,
}

/// `storecast train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the model artifact.
    #[arg(long, value_name = "MODEL", default_value = MODEL_FILE)]
    pub out: PathBuf,
    /// The registry whose key signs the artifact (`serve` and `models register` accept
    /// only artifacts signed by their registry).
    #[arg(long, value_name = "DIR", default_value = REGISTRY_DIR)]
    pub registry: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// A quick provisional model (one rolling fold, 150 trees at a larger learning rate),
    /// marked as such: what the app serves while the full model trains.
    #[arg(long)]
    pub provisional: bool,
    /// Train on several machines with LightGBM's data-parallel learner: run the same command
    /// on every machine with its own --rank; each computes the features of its share of the
    /// stores; rank 0 writes the model.
    #[arg(long, requires_all = ["rank", "machines"])]
    pub distributed: bool,
    /// This machine's position in --machines (0 writes the model).
    #[arg(long, requires = "distributed")]
    pub rank: Option<usize>,
    /// Every machine as host:port, comma separated, the same list on every rank (the port is
    /// the one its rank listens on).
    #[arg(long, value_delimiter = ',', requires = "distributed")]
    pub machines: Vec<String>,
    /// Seconds a rank waits for every other rank to answer before it gives up with an error
    /// naming the missing ones (nothing trained, nothing written).
    #[arg(long, default_value_t = storecast_cluster::DEFAULT_TIMEOUT.as_secs(), requires = "distributed")]
    pub wait: u64,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl TrainArgs {
    /// The train job's settings.
    pub fn settings(&self) -> storecast_pipeline::TrainSettings {
        storecast_pipeline::TrainSettings {
            backtest: if self.provisional {
                storecast_pipeline::provisional_config(self.model.threads)
            } else {
                storecast_pipeline::backtest_config(&self.model.settings())
            },
            out: self.out.clone(),
            registry: self.registry.clone(),
            provisional: self.provisional,
        }
    }
}

/// `storecast report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelPath,
    /// Backtest results (backtest.json); default: run a fresh 3-fold backtest.
    #[arg(long, value_name = "FILE")]
    pub backtest: Option<PathBuf>,
    /// Business assumptions (JSON; any field omitted keeps its default).
    #[arg(long, value_name = "FILE")]
    pub assumptions: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also print report.pdf with headless Chromium.
    #[arg(long)]
    pub pdf: bool,
    /// The monitoring thresholds in use (JSON, as `monitor --config`), quoted by the
    /// report's recommendations.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ReportArgs {
    /// The report job's settings.
    pub fn settings(&self) -> storecast_pipeline::reports::ReportSettings {
        storecast_pipeline::reports::ReportSettings {
            backtest: self.backtest.clone(),
            assumptions: self.assumptions.clone(),
            monitor: self.config.clone(),
            out: self.out.clone(),
            pdf: self.pdf,
        }
    }
}

/// `storecast forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelPath,
    /// Store-days to forecast (test.csv format). Default: the data directory's test.csv.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Output CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Add lo80,hi80,lo95,hi95 columns.
    #[arg(long)]
    pub intervals: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `storecast explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelPath,
    /// Store id.
    #[arg(long)]
    pub store: u16,
    /// Date (YYYY-MM-DD) inside the forecast horizon.
    #[arg(long)]
    pub date: chrono::NaiveDate,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `storecast whatif`.
#[derive(Debug, Args)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelPath,
    /// Store id.
    #[arg(long)]
    pub store: u16,
    /// First day to change.
    #[arg(long)]
    pub from: chrono::NaiveDate,
    /// Last day to change.
    #[arg(long)]
    pub to: chrono::NaiveDate,
    /// Promotion on or off.
    #[arg(long, value_parser = on_off)]
    pub promo: Option<bool>,
    /// Open or closed.
    #[arg(long, value_parser = on_off)]
    pub open: Option<bool>,
    /// School holiday on or off.
    #[arg(long, value_parser = on_off)]
    pub school_holiday: Option<bool>,
    /// Public holiday code (0, a, b, c).
    #[arg(long, value_parser = state_holiday)]
    pub state_holiday: Option<storecast_data::StateHoliday>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl WhatifArgs {
    /// The plan change asked for.
    pub fn change(&self) -> storecast_explain::PlanChange {
        storecast_explain::PlanChange {
            promo: self.promo,
            open: self.open,
            state_holiday: self.state_holiday,
            school_holiday: self.school_holiday,
        }
    }
}

/// `storecast demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Working directory for outputs (reports, model, database).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Stop after the pipeline (do not serve).
    #[arg(long)]
    pub no_serve: bool,
}

/// `storecast ops`.
#[derive(Debug, Args)]
pub struct OpsDaemonArgs {
    #[command(flatten)]
    pub ops: OpsArgs,
    /// The folder watched for actuals files (`*.csv`).
    #[arg(long, value_name = "DIR")]
    pub watch: PathBuf,
    /// Retrain when the actuals reach this many weeks past the newest registered model's
    /// training end (0: only on alerts).
    #[arg(long, default_value_t = 1)]
    pub retrain_every: u32,
    /// Alerts that bring a retrain forward (comma separated).
    #[arg(long, value_delimiter = ',', default_value = "accuracy", value_parser = alert_kind)]
    pub early_on: Vec<storecast_store::AlertKind>,
    /// Seconds between looks at the folder.
    #[arg(long, default_value_t = 10)]
    pub poll: u64,
    /// Process the files waiting now, then exit (for cron or a test).
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `storecast replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// First day replayed (the first forecast's first day).
    #[arg(long)]
    pub from: chrono::NaiveDate,
    /// Weeks replayed.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=104))]
    pub weeks: u32,
    /// Output folder (database, registry, models, replay.json); must not hold a replay yet.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Retrain every this many weeks (0: only on alerts).
    #[arg(long, default_value_t = 4)]
    pub retrain_every: u32,
    /// Alerts that bring a retrain forward (comma separated: accuracy, drift, cusum, ...).
    #[arg(long, value_delimiter = ',', default_value = "accuracy", value_parser = alert_kind)]
    pub early_on: Vec<storecast_store::AlertKind>,
    /// Train the first model and the retrains with the full configuration (3 folds and the
    /// same-season fold, tuned trees) instead of the provisional one (one fold, 150 trees).
    #[arg(long)]
    pub full: bool,
    /// Monitoring thresholds and promotion policy (JSON; default: the defaults with a 2 %
    /// tolerance, so a retrain on fresher data that scores like the active model is served).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn alert_kind(name: &str) -> Result<storecast_store::AlertKind, String> {
    storecast_store::AlertKind::from_name(name).ok_or_else(|| format!("no alert kind {name:?}"))
}

/// `storecast ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The file of actuals.
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    /// Store rows the plausibility check refuses (a date far from the history and today,
    /// sales far above the store's range), for this reason (written to the audit log).
    #[arg(long, value_name = "REASON")]
    pub accept_implausible: Option<String>,
    /// Replace stored actuals that the file contradicts (a late correction by the stores),
    /// for this reason; the previous values are kept (`storecast audit corrections`).
    #[arg(long, value_name = "REASON")]
    pub correct: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What monitoring and retraining work on: data, registry, database, thresholds.
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Registry directory.
    #[arg(long, value_name = "DIR", default_value = REGISTRY_DIR)]
    pub registry: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    /// Monitoring thresholds and promotion policy (JSON; defaults otherwise).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The model artifact to use.
#[derive(Debug, Clone, Args)]
pub struct ModelPath {
    /// Model artifact.
    #[arg(long = "model", value_name = "MODEL", env = "STORECAST_MODEL", default_value = MODEL_FILE)]
    pub path: PathBuf,
}

/// Settings of the web application.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// Model artifact (default: the registry's active model, else models/model.json).
    #[arg(long, value_name = "MODEL", env = "STORECAST_MODEL")]
    pub model: Option<PathBuf>,
    /// Model registry directory.
    #[arg(long, value_name = "DIR", default_value = REGISTRY_DIR)]
    pub registry: PathBuf,
    /// SQLite database (users, audit, forecasts, actuals).
    #[command(flatten)]
    pub db: DbArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Directory of generated reports to show (methodology, business, analysis bodies).
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Serve without authentication (only allowed on a loopback address).
    #[arg(long)]
    pub no_auth: bool,
    /// Prometheus gauges written by `storecast monitor --prom FILE`, re-read every minute and
    /// appended to /metrics.
    #[arg(long, value_name = "FILE")]
    pub monitor_prom: Option<PathBuf>,
    /// Directory of the precomputed explanations cache (default: next to the model file).
    #[arg(long, value_name = "DIR")]
    pub explain_cache: Option<PathBuf>,
    /// Browsers reach the app through an HTTPS reverse proxy (nginx, Caddy) that terminates
    /// TLS and forwards to `--addr`: session cookies become `Secure` with the `__Host-`
    /// prefix and every answer carries `Strict-Transport-Security`.
    #[arg(long)]
    pub https_proxy: bool,
    /// How the pages write numbers: `en` (1,234.5 €, 12.3%) or `de` (1.234,5 €, 12,3 %).
    #[arg(long, default_value = "en", value_parser = parse_locale, env = "STORECAST_LOCALE")]
    pub locale: storecast_charts::Locale,
}

fn parse_locale(text: &str) -> Result<storecast_charts::Locale, String> {
    storecast_charts::Locale::parse(text)
        .ok_or_else(|| format!("unknown locale {text:?}: use en or de"))
}

impl AppArgs {
    /// The server's settings.
    pub fn settings(&self) -> storecast_web::ServeSettings {
        storecast_web::ServeSettings {
            addr: self.addr,
            db: self.db.path.clone(),
            reports: self.reports.clone(),
            no_auth: self.no_auth,
            https_proxy: self.https_proxy,
            locale: self.locale,
            launch: storecast_web::LaunchSettings {
                explain_cache: self.explain_cache.clone(),
                monitor_prom: self.monitor_prom.clone(),
            },
        }
    }
}

/// Model settings shared by train and backtest.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Backtest folds of six weeks, ending on the last history day.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=12))]
    pub folds: u16,
    /// Boosting rounds (trees).
    #[arg(long)]
    pub trees: Option<u32>,
    /// Worker threads (default: free cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// LightGBM fits in the ensemble (1 = a single model). On the real chain, over 12 origins
    /// a year apart, three members lowered the mean RMSPE by 0.7 % and WAPE by 0.7 %, at 3.5
    /// times the fitting time (and three times the forecasting and explaining): below the 2 %
    /// RMSPE gain that would pay for it, so one is the default.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub members: u8,
    /// Shrinkage per tree (default: the tuned 0.08); with --trees, --leaves and --depth, the
    /// tree shape to compare on a backtest.
    #[arg(long, value_parser = fraction)]
    pub learning_rate: Option<f64>,
    /// Leaves per tree (default: the tuned 63).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=1024))]
    pub leaves: Option<u32>,
    /// Depth limit of a tree (default: the tuned 10).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub depth: Option<u32>,
    /// Share of the features each tree may use (default: the tuned 0.7).
    #[arg(long, value_parser = fraction)]
    pub feature_fraction: Option<f64>,
    /// Loss on log sales: `huber` (the default: robust to rare collapsed days; over 11 origins
    /// a year apart on the data, WAPE lower on 9 than squared error's, RMSPE on 6) or
    /// `regression` (squared error).
    #[arg(long, value_parser = objective)]
    pub objective: Option<storecast_model::Objective>,
    /// Most rows one tree samples (default: 1,000,000; 0 = no cap): on more rows the
    /// bagging fraction shrinks to it. It never binds on the data's 1,115 stores; on a chain
    /// ten times the size it cuts the fits from 2,121 s to 1,587 s, at no loss of accuracy.
    #[arg(long)]
    pub max_rows_per_tree: Option<u64>,
    /// Split the store type, assortment, region and state holiday as categories (`true`) or
    /// as the numbers of their codes (`false`, the default: over 11 origins a year apart on
    /// the data, categories scored worse on 7, mean RMSPE +0.5 %, WAPE +0.9 %).
    #[arg(long, value_name = "BOOL")]
    pub categorical: Option<bool>,
}

/// A learning rate or a feature fraction: a number in (0, 1].
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r <= 1.0 => Ok(r),
        _ => Err(format!("{s:?} is not a number in (0, 1]")),
    }
}

/// A loss by the name artifacts and reports use.
fn objective(s: &str) -> Result<storecast_model::Objective, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("{s:?} is not a loss: regression or huber"))
}

impl ModelArgs {
    /// The validated settings of the model jobs (flags become settings here, once).
    pub fn settings(&self) -> storecast_pipeline::ModelSettings {
        storecast_pipeline::ModelSettings {
            folds: usize::from(self.folds),
            trees: self.trees,
            threads: self.threads,
            members: usize::from(self.members),
            learning_rate: self.learning_rate,
            leaves: self.leaves,
            depth: self.depth,
            feature_fraction: self.feature_fraction,
            objective: self.objective,
            max_rows_per_tree: self.max_rows_per_tree,
            categorical: self.categorical,
        }
    }

    /// The backtest's configuration.
    pub fn backtest(&self) -> storecast_model::backtest::BacktestConfig {
        storecast_pipeline::backtest_config(&self.settings())
    }
}

/// A backtest at chosen origins instead of the rolling folds: the error by time of year.
#[derive(Debug, Clone, Args)]
pub struct OriginArgs {
    /// First forecast days, comma separated (e.g. 2014-03-01,2014-04-12): one fold each,
    /// trained on the history before it.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "DATES",
        conflicts_with = "every"
    )]
    pub origins: Vec<chrono::NaiveDate>,
    /// One origin every STEP (6w, 42d) from --from, while the horizon fits in the history.
    #[arg(long, value_name = "STEP", value_parser = storecast_pipeline::origins::parse_step, requires = "from")]
    pub every: Option<i64>,
    /// The first origin of --every.
    #[arg(long, value_name = "DATE", requires = "every")]
    pub from: Option<chrono::NaiveDate>,
    /// Days forecast from each origin (and each rolling fold's length).
    #[arg(long, default_value_t = 42, value_parser = clap::value_parser!(u16).range(7..=366))]
    pub horizon: u16,
}

impl OriginArgs {
    /// The chosen origins, when any were asked for.
    pub fn spec(&self) -> Option<storecast_pipeline::origins::OriginSpec> {
        use storecast_pipeline::origins::OriginSpec;
        match (self.every, self.from) {
            (Some(step_days), Some(from)) => Some(OriginSpec::Every { step_days, from }),
            _ if !self.origins.is_empty() => Some(OriginSpec::Dates(self.origins.clone())),
            _ => None,
        }
    }
}

/// How a command's result is shown.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Print the result as one JSON document on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

impl OutputArgs {
    /// Progress bars, unless quiet or printing JSON.
    pub fn bars(&self) -> crate::progress::Bars {
        crate::progress::Bars::new(self.quiet || self.json)
    }
}

/// `storecast users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user and print its token (shown once).
    Add {
        /// User name.
        name: String,
        /// viewer, director or admin.
        #[arg(long)]
        role: String,
        /// Stores a viewer may see (comma separated).
        #[arg(long, value_delimiter = ',')]
        stores: Vec<u16>,
        /// When the token stops working: a number of days from now (`90d`) or a UTC date
        /// (`2027-03-31`, the end of that day). Default: never.
        #[arg(long, value_name = "90d|DATE", value_parser = |t: &str| storecast_store::expiry_from(t, chrono::Utc::now()))]
        expires: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List users.
    List,
    /// Revoke a user's token.
    Revoke {
        /// User name.
        name: String,
    },
}

/// The operations database (`--db`, `$STORECAST_DB`).
#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// Database.
    #[arg(
        long = "db",
        value_name = "FILE",
        env = "STORECAST_DB",
        default_value = "storecast.db",
        global = true
    )]
    pub path: PathBuf,
}

/// `storecast audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// The latest entries.
    Show {
        /// Entries.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Recompute the hash chain and its keyed head: exit 0 when intact, 1 naming the first
    /// bad row after any edit, deletion, insertion or reordering.
    Verify,
    /// Stored actuals replaced by `ingest --correct`, with their previous values.
    Corrections,
}

/// `storecast models ...`
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List registered versions.
    List {
        /// Print the versions as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Register a model artifact file.
    Register {
        /// Artifact file.
        file: PathBuf,
    },
    /// Make a version the active one.
    Promote {
        /// Version.
        version: String,
    },
    /// Return to the previously active version.
    Rollback,
    /// Sign an artifact file with the registry's key (a model trained before artifacts were
    /// signed, or elsewhere and reviewed); audited.
    Sign {
        /// Artifact file (rewritten in place with its signature).
        file: PathBuf,
    },
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(format!("expected on or off, got {s:?}")),
    }
}

fn state_holiday(code: &str) -> Result<storecast_data::StateHoliday, String> {
    storecast_data::StateHoliday::from_code(code)
        .ok_or_else(|| format!("must be 0, a, b or c, not {code:?}"))
}

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load + validate the full data set, repeated; prints timings and peak memory.
    Load {
        #[command(flatten)]
        data: DataArgs,
        /// Repetitions.
        #[arg(long, default_value_t = 5)]
        iterations: usize,
    },
    /// Time the statistical analysis on the data.
    Analyze {
        #[command(flatten)]
        data: DataArgs,
        /// Repetitions.
        #[arg(long, default_value_t = 3)]
        iterations: usize,
    },
    /// Forecast, explain every row of test.csv, and time what-if calls for one store.
    Model {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelPath,
        /// What-if calls to time.
        #[arg(long, default_value_t = 50)]
        whatifs: usize,
    },
    /// Start the app on a loopback port and load it with random-store workloads (each route,
    /// a 60/30/10 forecast/history/explain mix, a what-if flood); prints p50/p90/p99/max,
    /// req/s, errors and 503s per route, start-up time and the server's peak RSS.
    Serve(ServeBenchArgs),
    /// Every step (load, validate, analyze, features, train, forecast, explain one store,
    /// serve start-up) on synthetic chains of growing size: seconds, peak memory, rows/s and
    /// each step's growth exponent; writes scale.json and scale.html (log-log charts).
    Scale {
        /// Stores of each chain (comma separated).
        #[arg(long, value_delimiter = ',', default_values_t = storecast_bench::scale::DEFAULT_SIZES)]
        sizes: Vec<u16>,
        /// Seed of every chain.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Boosting rounds (default: the tuned 800; fewer to explore, time per tree is what grows).
        #[arg(long)]
        trees: Option<u32>,
        /// Backtest folds of six weeks (plus the same-season fold), as `train --folds`.
        #[arg(long, default_value_t = 3)]
        folds: usize,
        /// Worker threads (default: free cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Output directory (scale.json, scale.html).
        #[arg(long)]
        out: PathBuf,
        /// Loopback address for the server's start-up.
        #[arg(long, default_value = "127.0.0.1:8099")]
        addr: String,
        /// Measure in this process instead of one child process per size (what each child runs).
        #[arg(long, hide = true)]
        in_process: bool,
    },
    /// Run `storecast demo` from a clean temporary folder: seconds to the first page and to
    /// the full model served, page latencies while it trains, both models' last-fold RMSPE,
    /// and a rerun's seconds to the first page.
    Demo {
        #[command(flatten)]
        data: DataArgs,
        /// Loopback address for the demo's server.
        #[arg(long, default_value = "127.0.0.1:8098")]
        addr: std::net::SocketAddr,
        /// Seconds to wait for the full model at most.
        #[arg(long, default_value_t = 1800)]
        limit: u64,
    },
}

/// Options of `bench serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeBenchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelPath,
    /// Seconds per workload.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connections per workload.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Requests per workload at most.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_requests: u64,
    /// Workloads to run (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<storecast_bench::ServeWorkload>,
    /// Loopback address for the server.
    #[arg(long, default_value = "127.0.0.1:8097")]
    pub addr: String,
    /// Directory of the explanation cache (passed to `serve --explain-cache`).
    #[arg(long, value_name = "DIR")]
    pub explain_cache: Option<PathBuf>,
}
