//! Jobs off the request path: a thread at the lowest CPU priority whose progress anyone can
//! read (a banner in the app, a status route, a test), and whose failure is kept and logged,
//! never lost.
//!
//! Why here: the demo's full training while the app already serves, and later the weekly
//! operations step and retrains started from the app, all run a job beside a server that must
//! stay responsive on 2 cores. On Linux the nice value is per thread and inherited by the
//! threads a thread starts (LightGBM's OpenMP team, scoped workers), so lowering the job's
//! thread before it starts lowers all of its work, and request threads keep their priority.

use crate::progress::Progress;
use serde::Serialize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The nice value of background jobs (the lowest priority).
pub const BACKGROUND_NICE: i32 = 19;

/// Lowers the calling thread (and the threads it starts from now on) to [`BACKGROUND_NICE`].
pub fn lower_this_thread() -> std::io::Result<()> {
    rustix::process::setpriority_process(None, BACKGROUND_NICE).map_err(std::io::Error::from)
}

/// What a background job is doing, as the app shows it.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, PartialEq)]
pub struct JobStatus {
    /// The job's name ("training the full model").
    pub job: String,
    /// True until it ends, well or not.
    pub running: bool,
    /// The step it is in.
    pub step: Option<String>,
    /// Units of the step done.
    pub done: u64,
    /// Units in the step.
    pub total: u64,
    /// Seconds since the job started.
    pub elapsed_seconds: f64,
    /// Seconds the step still needs at its pace so far (`None` until a unit is done).
    pub step_eta_seconds: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it ended (seconds since the Unix epoch).
    pub ended_at: Option<u64>,
}

#[derive(Debug)]
struct State {
    job: String,
    started: Instant,
    step: Option<(String, Instant)>,
    done: u64,
    total: u64,
    error: Option<String>,
    ended_at: Option<u64>,
}

/// A job's shared status: a [`Progress`] the job writes and anyone reads (cheap to clone).
#[derive(Debug, Clone)]
pub struct Board(Arc<Mutex<State>>);

impl Board {
    /// The board of a job that starts now.
    pub fn new(job: impl Into<String>) -> Self {
        Self(Arc::new(Mutex::new(State {
            job: job.into(),
            started: Instant::now(),
            step: None,
            done: 0,
            total: 0,
            error: None,
            ended_at: None,
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The status now.
    pub fn status(&self) -> JobStatus {
        self.with(|s| {
            let eta = s.step.as_ref().and_then(|(_, at)| {
                (s.done > 0 && s.done < s.total).then(|| {
                    let per_unit = at.elapsed().as_secs_f64() / s.done as f64;
                    per_unit * (s.total - s.done) as f64
                })
            });
            JobStatus {
                job: s.job.clone(),
                running: s.ended_at.is_none(),
                step: s.step.as_ref().map(|(name, _)| name.clone()),
                done: s.done,
                total: s.total,
                elapsed_seconds: s.started.elapsed().as_secs_f64(),
                step_eta_seconds: eta,
                error: s.error.clone(),
                ended_at: s.ended_at,
            }
        })
    }

    /// Records the end of the job, with its error when it failed.
    pub fn end(&self, result: Result<(), String>) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.with(|s| {
            s.error = result.err();
            s.ended_at = Some(now);
        });
    }
}

impl Progress for Board {
    fn report(&mut self, step: &str, done: u64, total: u64) {
        self.with(|s| {
            if s.step.as_ref().is_none_or(|(name, _)| name != step) {
                s.step = Some((step.to_string(), Instant::now()));
            }
            s.done = done;
            s.total = total;
        });
    }
}

/// Sends every report to two sinks (a board and terminal bars).
pub struct Tee<'a>(pub &'a mut dyn Progress, pub &'a mut dyn Progress);

impl Progress for Tee<'_> {
    fn report(&mut self, step: &str, done: u64, total: u64) {
        self.0.report(step, done, total);
        self.1.report(step, done, total);
    }
}

/// Runs `job` on a thread of its own at the lowest priority, reporting to `board`, and records
/// its end there (the error text when it fails; `log` receives it too, so an operator sees it
/// even with no page open).
pub fn spawn<F>(
    board: Board,
    log: impl Fn(String) + Send + 'static,
    job: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce(&mut Board) -> Result<(), String> + Send + 'static,
{
    let name = board.status().job;
    std::thread::Builder::new()
        .name("storecast-job".into())
        .spawn(move || {
            if let Err(e) = lower_this_thread() {
                log(format!(
                    "{name}: could not lower its priority ({e}); it runs at normal priority"
                ));
            }
            let mut progress = board.clone();
            let result = job(&mut progress);
            if let Err(e) = &result {
                log(format!("{name} failed: {e}"));
            }
            board.end(result);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_board_shows_the_step_its_counts_and_the_end() {
        let mut b = Board::new("job");
        assert_eq!(b.status().step, None);
        b.report("backtest", 0, 4);
        b.report("backtest", 1, 4);
        let s = b.status();
        assert_eq!(
            (s.step.as_deref(), s.done, s.total),
            (Some("backtest"), 1, 4)
        );
        assert!(s.running && s.step_eta_seconds.is_some());
        b.report("final fit", 0, 1);
        assert_eq!(
            b.status().step_eta_seconds,
            None,
            "no pace yet in a new step"
        );
        b.end(Err("disk full".into()));
        let s = b.status();
        assert!(!s.running && s.ended_at.is_some());
        assert_eq!(s.error.as_deref(), Some("disk full"));
    }

    #[test]
    fn a_spawned_job_runs_at_the_lowest_priority_and_its_failure_is_kept() {
        let board = Board::new("failing job");
        let before = rustix::process::getpriority_process(None).ok();
        let (tx, rx) = std::sync::mpsc::channel();
        let logged = Arc::new(Mutex::new(Vec::new()));
        let sink = logged.clone();
        let log = move |l: String| sink.lock().unwrap_or_else(PoisonError::into_inner).push(l);
        let h = spawn(board.clone(), log, move |p| {
            p.report("step", 0, 1);
            let _ = tx.send(rustix::process::getpriority_process(None).ok());
            Err("no model".to_string())
        })
        .expect("a thread");
        h.join().expect("the job ends");
        assert_eq!(rx.recv().ok().flatten(), Some(BACKGROUND_NICE));
        let s = board.status();
        assert_eq!((s.running, s.error.as_deref()), (false, Some("no model")));
        let lines = logged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        assert_eq!(lines, vec!["failing job failed: no model".to_string()]);
        assert_eq!(
            rustix::process::getpriority_process(None).ok(),
            before,
            "the caller's thread keeps its priority"
        );
    }
}
