//! Generated reports about the model, every number computed from backtest predictions, and
//! the replay of operations over weeks.
//!
//! Why a crate of its own: the model crate computes, the reports explain. The methodology
//! report argues the metric, the validation scheme and the algorithm with the backtest table;
//! the business report translates the same predictions into money and decisions. Both are
//! [`storecast_charts::Doc`]s, so Markdown, standalone HTML and the web app show the same data.

pub mod business;
pub mod fva;
pub mod methodology;
pub mod replay;
pub mod tables;

pub use business::business;
pub use methodology::methodology;
