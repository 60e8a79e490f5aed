//! Errors of writing the analysis outputs.
//!
//! Why this module exists: the analysis itself cannot fail (it reports what it can estimate),
//! but writing and rendering it can; the CLI needs the path or template that failed.

use std::path::PathBuf;

/// What went wrong while writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The analysis could not be serialised.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The HTML template failed to render.
    #[error(transparent)]
    Render(#[from] storecast_charts::render::RenderError),
}
