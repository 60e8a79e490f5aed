//! Progress bars for the jobs' reports (rendering only): one bar per step with its counts,
//! elapsed time and ETA, on stderr, under one multi-progress view; nothing with `--quiet`.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use storecast_pipeline::Progress;

/// Draws a bar per step of a job.
pub struct Bars {
    multi: MultiProgress,
    bars: Vec<(String, ProgressBar)>,
}

impl Bars {
    /// Bars on stderr, or hidden when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Vec::new(),
        }
    }

    fn bar(&mut self, step: &str) -> &ProgressBar {
        let i = match self.bars.iter().position(|(s, _)| s == step) {
            Some(i) => i,
            None => {
                let style = ProgressStyle::with_template(
                    "{prefix:>14} [{bar:30}] {pos}/{len} {elapsed_precise} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                let bar = self.multi.add(ProgressBar::new(0).with_style(style));
                bar.set_prefix(step.to_string());
                bar.enable_steady_tick(std::time::Duration::from_millis(250));
                self.bars.push((step.to_string(), bar));
                self.bars.len() - 1
            }
        };
        &self.bars[i].1
    }
}

impl Progress for Bars {
    fn report(&mut self, step: &str, done: u64, total: u64) {
        let bar = self.bar(step);
        bar.set_length(total);
        bar.set_position(done);
        if done >= total {
            bar.finish();
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for (_, b) in &self.bars {
            b.finish();
        }
    }
}
