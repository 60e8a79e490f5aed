//! Settings of the analysis.
//!
//! Why this module exists: the few choices that change numbers (bootstrap size, seed, window
//! lengths, significance level, correction) are named in one place, written into the report's
//! `methods`, and can be tightened in tests without touching the statistics.

use serde::Serialize;

/// Multiple-comparison correction applied to every p-value of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm–Bonferroni: controls the family-wise error rate.
    Holm,
    /// Benjamini–Hochberg: controls the false discovery rate.
    BenjaminiHochberg,
}

impl Correction {
    /// Name in words.
    pub fn name(self) -> &'static str {
        match self {
            Self::Holm => "Holm–Bonferroni (family-wise error rate)",
            Self::BenjaminiHochberg => "Benjamini–Hochberg (false discovery rate)",
        }
    }
    /// Short name for table headers.
    pub fn short(self) -> &'static str {
        match self {
            Self::Holm => "Holm",
            Self::BenjaminiHochberg => "BH",
        }
    }
}

/// Settings of [`crate::analyze`].
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisConfig {
    /// Bootstrap replicates per confidence interval.
    pub bootstrap_reps: usize,
    /// Seed of the bootstrap random streams (each finding has its own stream).
    pub seed: u64,
    /// Significance level of the conclusions (on adjusted p-values).
    pub alpha: f64,
    /// Correction across all p-values of the report.
    pub correction: Correction,
    /// Weeks before and after an event (competitor opening, Promo2 start, reopening).
    pub event_weeks: usize,
    /// Minimum closed non-holiday days for a closure to count as a long closure.
    pub min_closure_days: usize,
    /// Worker threads for the bootstraps (1 = no extra threads).
    pub threads: usize,
    /// Relative URL of the validation report, for links from the data caveats.
    pub validation_href: String,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            bootstrap_reps: 1000,
            seed: 20_150_619,
            alpha: 0.05,
            correction: Correction::Holm,
            event_weeks: 8,
            min_closure_days: 7,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(4),
            validation_href: "validation.html".into(),
        }
    }
}
