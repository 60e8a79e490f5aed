//! Typed loading of a retail chain's files in the published Rossmann format.
//!
//! Why this crate exists: every later stage (validation, analysis, model, app) needs the same
//! three tables with the same types and the same error story. Loading lives here once so that a
//! malformed cell is reported the same way everywhere: file, line, column, value, problem.
//!
//! Why plain typed columns and not a dataframe crate: the data is one 1M-row fact table and two
//! small dimension tables with fixed schemas. `csv` + hand-placed `Vec` columns read the full
//! `train.csv` in a fraction of a second, build in seconds, and keep peak memory near the size
//! of the data (about 25 bytes per row); polars would cost ~10 minutes of build time on CI for
//! no query we need. The columns are public and documented; helpers give per-store views.

// Cell parsers return `RowError` by value: it is only built on the cold path of a bad cell,
// carries the strings its message needs, and boxing it would add nothing to the hot path.
#![allow(clippy::result_large_err)]

pub mod chain;
pub mod domain;
pub mod error;
pub mod history;
pub mod location;
mod reader;
pub use reader::{MAX_COLUMNS, MAX_REJECTED_KEPT};
mod stream;
pub use stream::{read_bounded, MAX_FILE_BYTES, MAX_LINE_BYTES};
pub mod requests;
pub mod stores;

pub use chain::{ChainData, LoadReport, TableSummary};
pub use domain::{Assortment, PromoInterval, StateHoliday, StoreType};
pub use error::{LoadError, RowError, RowProblem};
pub use history::{SalesHistory, SalesRow};
pub use location::{
    real_data_dir, DataLocation, LocationSource, FILE_STORES, FILE_TEST, FILE_TRAIN,
};
pub use requests::{ForecastRequest, ForecastRequests};
pub use stores::{StoreInfo, StoreTable};
