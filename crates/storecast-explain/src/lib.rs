//! Why a forecast says what it says, how sure it is, and what would change it.
//!
//! Why this crate exists: a store manager acts on a number only if they can see its reasons
//! and its uncertainty, and a sales director wants to test a promotion before running it.
//! Everything here sits on the trained model's own outputs: LightGBM's exact TreeSHAP
//! contributions (grouped into business drivers and turned into euros), the backtest residuals
//! (for intervals of sums over days and stores), and re-prediction under a changed plan
//! (what-if). The web app and the CLI both call this library.

pub mod contributions;
pub mod render;
pub mod table;
pub mod whatif;

pub use contributions::{
    describe, explain, global_importance, DriverEuro, Explanation, Importance, Presence,
};
pub use storecast_model::intervals::{ResidualBlocks, SumCell, SumInterval};
pub use table::{CacheKey, ExplainTable, Lookup};
pub use whatif::{whatif, whatif_days, PlanChange, WhatIf};
