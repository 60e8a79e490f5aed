//! The forecast export job: the store-days of a request file (the competition's test.csv
//! format) forecast with a model and written as `Id,Sales` (and the bands when asked).

use crate::error::PipelineError;
use crate::progress::{steps, Progress};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;
use storecast_data::{ChainData, ForecastRequests};
use storecast_model::{DayForecast, Forecaster, ModelArtifact, Scenario};

/// Writes the competition format (`Id,Sales`, and the bands when `intervals`): one line per
/// request, `rows` in the requests' order. The CLI's export and the app's download.
pub fn write_submission<W: std::io::Write>(
    out: W,
    requests: &ForecastRequests,
    rows: &[DayForecast],
    intervals: bool,
) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    if intervals {
        w.write_record(["Id", "Sales", "lo80", "hi80", "lo95", "hi95"])?;
    } else {
        w.write_record(["Id", "Sales"])?;
    }
    for (r, f) in requests.rows.iter().zip(rows) {
        let mut rec = vec![r.id.to_string(), format!("{:.2}", f.sales)];
        if intervals {
            let i = f.interval;
            rec.extend(
                [i.lo80, i.hi80, i.lo95, i.hi95]
                    .iter()
                    .map(|v| format!("{v:.2}")),
            );
        }
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// What the forecast export needs.
#[derive(Debug, Clone)]
pub struct ForecastSettings {
    /// The CSV to write.
    pub out: PathBuf,
    /// Also write the 80 % and 95 % bounds.
    pub intervals: bool,
}

/// What the forecast export did.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastExport {
    /// Rows forecast (the request file's rows, in its order).
    pub rows: usize,
    /// Rows planned closed (forecast 0).
    pub closed: usize,
    /// Rows with a blank `Open`, forecast as open.
    pub blank_open: usize,
    /// Sum of the forecasts written (€).
    pub total_sales: f64,
    /// The model's version.
    pub model_version: String,
    /// True when the data differs from the model's training data (features use the data given).
    pub data_differs: bool,
    /// Seconds to build the grid and forecast.
    pub seconds: f64,
    /// The file written.
    pub out: PathBuf,
}

/// Forecasts `requests` from `chain`'s history with `artifact` and writes the CSV.
pub fn export_forecast(
    chain: &ChainData,
    artifact: ModelArtifact,
    requests: &ForecastRequests,
    settings: &ForecastSettings,
    progress: &mut dyn Progress,
) -> Result<ForecastExport, PipelineError> {
    export_forecast_rows(chain, artifact, requests, settings, progress).map(|(e, _)| e)
}

/// [`export_forecast`], also returning the forecasts written (one per request row, in order),
/// for a caller that records them too.
pub fn export_forecast_rows(
    chain: &ChainData,
    artifact: ModelArtifact,
    requests: &ForecastRequests,
    settings: &ForecastSettings,
    progress: &mut dyn Progress,
) -> Result<(ForecastExport, Vec<DayForecast>), PipelineError> {
    let data_differs = chain.fingerprint != artifact.data_fingerprint;
    let forecaster = Forecaster::new(artifact)
        .map_err(|e| PipelineError::model("starting the model")(e.into()))?;
    let total = requests.len() as u64;
    progress.report(steps::FORECAST, 0, total);
    let t = Instant::now();
    let sc = Scenario::new(&chain.history, requests)
        .map_err(PipelineError::model("building the forecast grid"))?;
    let rows = forecaster
        .forecast_requests(&sc, &chain.stores, requests)
        .map_err(PipelineError::model("forecasting"))?;
    let seconds = t.elapsed().as_secs_f64();
    progress.report(steps::FORECAST, total, total);
    let write = |source: std::io::Error| PipelineError::Write {
        path: settings.out.display().to_string(),
        source,
    };
    let csv_err = |e: csv::Error| write(std::io::Error::other(e));
    let file = std::fs::File::create(&settings.out).map_err(write)?;
    write_submission(file, requests, &rows, settings.intervals).map_err(csv_err)?;
    let export = ForecastExport {
        rows: rows.len(),
        closed: rows.iter().filter(|f| !f.open).count(),
        blank_open: requests.rows.iter().filter(|r| r.open.is_none()).count(),
        total_sales: storecast_model::intervals::total_of(rows.iter().map(|f| f.sales)),
        model_version: forecaster.artifact.model_version.clone(),
        data_differs,
        seconds,
        out: settings.out.clone(),
    };
    Ok((export, rows))
}
