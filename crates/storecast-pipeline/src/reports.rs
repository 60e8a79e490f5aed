//! The report jobs: the statistical analysis (Markdown, HTML, JSON and the app's body) and
//! the model's methodology and business reports, written where the CLI and the app read them.

use crate::error::PipelineError;
use std::path::{Path, PathBuf};
use storecast_data::LoadReport;
use storecast_model::backtest::BacktestResult;
use storecast_model::ModelArtifact;
use storecast_validate::ValidationReport;

/// Writes `bytes` to `path`, creating its directory; the path is in any error.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), PipelineError> {
    let err = |source| PipelineError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

/// Analyzes the data and writes `analysis.md/.html/.json` into `out` and the app's body
/// (`analysis.body.html`, `analysis.json`) into `app_dir`.
pub fn analysis(
    load: &LoadReport,
    validation: &ValidationReport,
    out: &Path,
    app_dir: &Path,
) -> Result<storecast_analysis::Analysis, PipelineError> {
    let a = storecast_analysis::analyze(
        &load.data,
        Some(validation),
        &storecast_analysis::AnalysisConfig::default(),
    );
    storecast_analysis::write_outputs(&a, out)
        .map_err(|e| PipelineError::Input(format!("writing the analysis: {e}")))?;
    let json = storecast_analysis::to_json(&a)
        .map_err(|e| PipelineError::Input(format!("the analysis as JSON: {e}")))?;
    write(
        &app_dir.join("analysis.body.html"),
        storecast_analysis::body_html(&a)
            .map_err(|e| PipelineError::Input(format!("rendering the analysis: {e}")))?,
    )?;
    write(&app_dir.join("analysis.json"), json)?;
    Ok(a)
}

/// Writes the methodology (`methodology.html/.md`) and business (`report.html/.md`) reports
/// of a model into `out`, and their bodies for the app into `app_dir`.
pub fn model_reports(
    backtest: &BacktestResult,
    artifact: &ModelArtifact,
    monitor: &storecast_monitor::MonitorConfig,
    data_origin: &str,
    out: &Path,
    app_dir: &Path,
) -> Result<(), PipelineError> {
    let version = Some(artifact.model_version.as_str());
    let doc = storecast_reports::methodology(backtest, &artifact.coverage, data_origin, version);
    write(&out.join("methodology.html"), doc.to_html()?)?;
    write(&out.join("methodology.md"), doc.to_markdown())?;
    write(&app_dir.join("methodology.body.html"), doc.body_html()?)?;
    business_report(
        backtest,
        artifact,
        &Default::default(),
        monitor,
        data_origin,
        out,
        app_dir,
    )
    .map(|_| ())
}

/// Writes the business report of a model under `assumptions` (`report.html/.md` into `out`,
/// its body for the app into `app_dir`); returns the HTML and Markdown files.
pub fn business_report(
    backtest: &BacktestResult,
    artifact: &ModelArtifact,
    assumptions: &storecast_reports::business::Assumptions,
    monitor: &storecast_monitor::MonitorConfig,
    data_origin: &str,
    out: &Path,
    app_dir: &Path,
) -> Result<(PathBuf, PathBuf), PipelineError> {
    let mut business = storecast_reports::business(
        backtest,
        &artifact.coverage,
        assumptions,
        monitor,
        data_origin,
        Some(artifact.model_version.as_str()),
    );
    // FVA goes before the risks and the recommendations.
    let evidence = storecast_plan::evidence::Evidence::standard()
        .map_err(|e| tracing::warn!("FVA evidence left out of the report: {e}"))
        .ok();
    let at = business
        .sections
        .iter()
        .position(|s| s.id == "risks")
        .unwrap_or(business.sections.len());
    business.sections.insert(
        at,
        storecast_reports::fva::section(backtest, evidence.as_ref()),
    );
    let files = storecast_reports::business::write_report(&business, out).map_err(|source| {
        PipelineError::Write {
            path: out.join("report.html").display().to_string(),
            source,
        }
    })?;
    write(&app_dir.join("business.body.html"), business.body_html()?)?;
    Ok(files)
}

/// What `storecast report` is asked for.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// A backtest.json to report on; `None` runs a fresh backtest with the model's parameters.
    pub backtest: Option<PathBuf>,
    /// Business assumptions (JSON; omitted fields keep their defaults).
    pub assumptions: Option<PathBuf>,
    /// The monitoring thresholds in use (JSON, as `monitor --config`; defaults otherwise),
    /// which the report's recommendations quote.
    pub monitor: Option<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
    /// Also print report.pdf with headless Chromium.
    pub pdf: bool,
}

/// The business report job: reads or runs the backtest, writes report.html and report.md
/// (and report.pdf when asked); returns the files written.
pub fn report(
    chain: &storecast_data::ChainData,
    artifact: &ModelArtifact,
    settings: &ReportSettings,
    progress: &mut dyn crate::Progress,
) -> Result<Vec<PathBuf>, PipelineError> {
    let bt: BacktestResult = match &settings.backtest {
        Some(p) => read_json(p, "a backtest.json")?,
        None => {
            let tl = storecast_model::Timeline::build(&chain.history, None)
                .ok_or_else(|| PipelineError::Input("the history is empty".into()))?;
            let cfg = storecast_model::backtest::BacktestConfig {
                params: artifact.params.clone(),
                ..Default::default()
            };
            let mut events = crate::progress::training_events(progress);
            storecast_model::backtest::run(&tl, &chain.stores, &cfg, &mut events)
                .map_err(|e| PipelineError::model("backtesting")(e.into()))?
        }
    };
    let a: storecast_reports::business::Assumptions = match &settings.assumptions {
        Some(p) => read_json(p, "valid assumptions JSON")?,
        None => Default::default(),
    };
    let out = &settings.out;
    let monitor = crate::ops::monitor_config(settings.monitor.as_deref())?;
    let (html, md) = business_report(&bt, artifact, &a, &monitor, &chain.origin, out, out)?;
    let mut files = vec![html.clone(), md];
    if settings.pdf {
        let pdf = out.join("report.pdf");
        print_pdf(&html, &pdf)?;
        files.push(pdf);
    }
    Ok(files)
}

/// Reads a JSON file of type `T`; the error names the file and what it should have been.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, PipelineError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PipelineError::Input(format!("reading {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| PipelineError::Input(format!("{} is not {what}: {e}", path.display())))
}

/// Prints `html` to `pdf` with headless Chromium (no network, no profile sync).
pub fn print_pdf(html: &Path, pdf: &Path) -> Result<(), PipelineError> {
    let fail = |why: String| PipelineError::Input(format!("printing {}: {why}", pdf.display()));
    let page = std::fs::canonicalize(html).map_err(|e| fail(e.to_string()))?;
    let out = std::process::Command::new("chromium")
        .args(storecast_charts::CHROMIUM_FLAGS)
        .args(["--no-pdf-header-footer", "--virtual-time-budget=5000"])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .map_err(|e| fail(format!("running chromium ({e}); install chromium")))?;
    // Chromium's own log (D-Bus, GPU notices) is noise unless printing failed.
    if out.status.success() && pdf.exists() {
        Ok(())
    } else {
        let log = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(fail(format!(
            "chromium exited with {}: {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )))
    }
}
