//! Managers in the loop: their overrides of the forecast, and whether those overrides help.
//!
//! Why this crate exists: a chain does not plan on the model's numbers alone. A store manager
//! knows things the model cannot see (a street festival, roadworks, a sick team) and enters
//! an estimate or an adjustment; the plan the store works to is the model's forecast with
//! those overrides applied. Whether that helps is measured, not assumed: Forecast Value Added
//! (FVA) compares each step of the process on the same store-days once the actuals arrive —
//! a naive stand-in (last year's same weekday), the model, and the final plan — so a director
//! sees which overrides add value and which destroy it.
//!
//! The crate is pure domain logic, free of storage and HTTP: [`overrides`] validates and
//! applies an override (and parses bulk CSV uploads with line and column in every error),
//! [`fva`] scores the steps with intervals from a bootstrap over store-weeks, [`planted`]
//! generates manager behaviour with known effects (the data has no manager estimates), and
//! [`evidence`] runs the planted managers on the synthetic chain.

pub mod evidence;
pub mod fva;
pub mod overrides;
pub mod planted;

pub use fva::{Dimension, FvaRow, FvaTable, ScoredDay, Step};
pub use overrides::{
    Adjustment, AdjustmentKind, Horizon, OverrideError, OverrideInput, PlanDay, Reason,
};
pub use planted::{ManagerStyle, PlantedManagers};
