//! How a job says how far it is: one small trait, so the CLI draws bars, the app shows a
//! banner and a test records the steps, all from the same calls.

/// Receives a job's progress: the step it is in, units done and units in the step (folds,
/// rows, files). A step starts with `done = 0` and ends with `done = total`.
pub trait Progress {
    /// `done` of `total` units of `step` are finished.
    fn report(&mut self, step: &str, done: u64, total: u64);
}

/// Ignores progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn report(&mut self, _: &str, _: u64, _: u64) {}
}

/// Keeps every report, in order (tests; a status page).
#[derive(Debug, Default, Clone)]
pub struct Recorder(pub Vec<(String, u64, u64)>);

impl Progress for Recorder {
    fn report(&mut self, step: &str, done: u64, total: u64) {
        self.0.push((step.to_string(), done, total));
    }
}

impl Recorder {
    /// The steps in the order they reported, consecutive reports of one step merged.
    pub fn steps(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (s, _, _) in &self.0 {
            if out.last() != Some(&s.as_str()) {
                out.push(s);
            }
        }
        out
    }
}

/// Steps of the model's training, as they report.
pub mod steps {
    /// Rolling-origin backtest (units: folds).
    pub const BACKTEST: &str = "backtest";
    /// Features of the whole history for the final fit.
    pub const FINAL_FEATURES: &str = "final features";
    /// The final fit on the whole history.
    pub const FINAL_FIT: &str = "final fit";
    /// The explanation table of the horizon (units: rows).
    pub const EXPLANATIONS: &str = "explanations";
    /// Forecasting the requested store-days (units: rows).
    pub const FORECAST: &str = "forecast";
}

/// Turns the model crate's training events into [`Progress`] reports: folds of the backtest,
/// then the final features and fit, each closed before the next starts.
pub fn training_events(
    progress: &mut dyn Progress,
) -> impl FnMut(storecast_model::backtest::Progress) + '_ {
    use storecast_model::backtest::Progress as P;
    let mut folds = (0u64, 0u64);
    let mut open: Option<&'static str> = None;
    move |event| match event {
        P::Fold { index, of, .. } => {
            folds = (index as u64 - 1, of as u64);
            progress.report(steps::BACKTEST, folds.0, folds.1);
        }
        P::Step(s @ (steps::FINAL_FEATURES | steps::FINAL_FIT)) => {
            match open.replace(s) {
                Some(prev) => progress.report(prev, 1, 1),
                None => progress.report(steps::BACKTEST, folds.1, folds.1),
            }
            progress.report(s, 0, 1);
        }
        P::Step(_) => {}
    }
}
