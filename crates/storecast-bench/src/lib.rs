//! Benchmarks of storecast, out of the production job path: the load generator and the
//! server benchmark (`bench serve`), the model's engines and timings (`bench model`), data
//! loading and analysis (`bench load`, `bench analyze`), a newcomer's first minutes (`bench
//! demo`: first page, full model served, responsiveness meanwhile, rerun), and the cost of
//! every step as the chain grows (`bench scale`).
//!
//! Why its own crate: performance targets are checked by benchmarks that print numbers, never
//! by timed tests; the HTTP client, the workloads and the engine comparisons are tools, not
//! jobs, and the CLI only passes them their settings. They print their figures themselves
//! (their output is the product) and return `anyhow` errors like a binary would.

pub mod demo;
pub mod loadgen;
pub mod model;
pub mod scale;
pub mod serve;

pub use demo::{demo, DemoBench};
pub use model::{analyze, engines, load, model, peak_rss_mib, Loaded};
pub use scale::{scale, ScaleBench, ScaleReport};
pub use serve::{serve, ServeBench, ServeWorkload, StartUp};
