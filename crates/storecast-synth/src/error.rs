//! Errors of the generator.
//!
//! Why this module exists: generation itself cannot fail once the configuration is sane, so
//! the only failures are a nonsensical configuration (caught up front, before any work) and
//! writing the files to disk. Both are reported with enough context to act on.

use std::path::PathBuf;

/// Everything that can go wrong while generating or writing a synthetic chain.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The configuration cannot produce a chain (no stores, end before start, negative sigma…).
    #[error("invalid synthetic-chain configuration: {0}")]
    InvalidConfig(String),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The planted truth could not be serialised to JSON.
    #[error("cannot serialise effects.json: {0}")]
    Json(#[from] serde_json::Error),
}
