//! The forecasters a backtest compares, as a type: the model (corrected and raw) and the
//! baselines that stand in for what stores do today.
//!
//! Why this module exists: model names were strings written in a dozen places (tables,
//! labels, the predictions file, the promotion rule), so a misspelled name silently read the
//! model's forecast and labels drifted apart ("LightGBM (corrected)" here, "LightGBM (the
//! model)" there). Each forecaster is one [`ModelKind`]: its stored name, its label, its
//! place in report order; a new baseline is one new variant, and every `match` on it is
//! exhaustive, so the compiler lists what must learn about it.

use serde::{Deserialize, Serialize};

/// One forecaster of the backtest tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ModelKind {
    /// The model: LightGBM (or the ensemble) with the bias correction chosen on the folds.
    #[serde(rename = "lightgbm")]
    Model,
    /// The model before the correction.
    #[serde(rename = "lightgbm_raw")]
    ModelRaw,
    /// The median of the store's sales on the same weekday and promo status, last 52 weeks.
    #[serde(rename = "store_weekday_promo_median")]
    Median,
    /// Last year's sales on the same weekday (52 weeks back).
    #[serde(rename = "last_year_same_weekday")]
    LastYear,
    /// A ridge regression on log sales.
    #[serde(rename = "ridge_linear")]
    Ridge,
}

impl ModelKind {
    /// Every forecaster, in report order.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Model,
        ModelKind::ModelRaw,
        ModelKind::Median,
        ModelKind::LastYear,
        ModelKind::Ridge,
    ];

    /// The baselines, in report order.
    pub const BASELINES: [ModelKind; 3] =
        [ModelKind::Median, ModelKind::LastYear, ModelKind::Ridge];

    /// The name stored in score tables, artifacts and files (`lightgbm`, `ridge_linear`).
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::Model => "lightgbm",
            ModelKind::ModelRaw => "lightgbm_raw",
            ModelKind::Median => "store_weekday_promo_median",
            ModelKind::LastYear => "last_year_same_weekday",
            ModelKind::Ridge => "ridge_linear",
        }
    }

    /// The label people read, everywhere it is shown.
    pub const fn label(self) -> &'static str {
        match self {
            ModelKind::Model => "LightGBM (corrected)",
            ModelKind::ModelRaw => "LightGBM (raw)",
            ModelKind::Median => "store × weekday × promo median",
            ModelKind::LastYear => "last year, same weekday",
            ModelKind::Ridge => "ridge linear model",
        }
    }

    /// The short column name of the predictions file (`lightgbm`, `median`).
    pub const fn column(self) -> &'static str {
        match self {
            ModelKind::Model => "lightgbm",
            ModelKind::ModelRaw => "lightgbm_raw",
            ModelKind::Median => "median",
            ModelKind::LastYear => "last_year",
            ModelKind::Ridge => "ridge",
        }
    }

    /// The forecaster stored as `name`; `None` for another name (an ensemble member).
    pub fn parse(name: &str) -> Option<ModelKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A baseline (not the model)?
    pub fn is_baseline(self) -> bool {
        Self::BASELINES.contains(&self)
    }

    /// The baseline's place in [`ModelKind::BASELINES`] (`None` for the model).
    pub fn baseline_index(self) -> Option<usize> {
        Self::BASELINES.iter().position(|k| *k == self)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The label of a stored model name: a [`ModelKind`]'s, an ensemble member's
/// (`member:<name>`), or the name itself.
pub fn label_of(name: &str) -> String {
    match (ModelKind::parse(name), name.strip_prefix("member:")) {
        (Some(k), _) => k.label().to_string(),
        (None, Some(member)) => format!("ensemble member {member} (raw)"),
        (None, None) => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for k in ModelKind::ALL {
            assert_eq!(ModelKind::parse(k.name()), Some(k));
            assert_eq!(
                serde_json::to_string(&k).expect("json"),
                format!("\"{}\"", k.name())
            );
        }
        assert_eq!(ModelKind::parse("lightgbm_typo"), None);
        assert_eq!(label_of("member:deep"), "ensemble member deep (raw)");
        assert_eq!(
            ModelKind::BASELINES
                .iter()
                .filter(|k| k.is_baseline())
                .count(),
            3
        );
        assert!(!ModelKind::Model.is_baseline());
    }
}
