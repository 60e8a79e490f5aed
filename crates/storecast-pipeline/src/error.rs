//! Errors of the jobs, typed: a caller can tell a bad registry from a failed fit or an
//! unwritable file, and each message names what failed.

use thiserror::Error;

/// Why a job failed.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The registry (whose key signs artifacts) could not be opened.
    #[error("opening the registry {path} (its key signs the model): {source}")]
    Registry {
        /// The registry directory.
        path: String,
        /// The cause.
        source: storecast_store::RegistryError,
    },
    /// Training or forecasting with the model failed.
    #[error("{what}: {source}")]
    Model {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: storecast_model::ForecastError,
    },
    /// An artifact could not be read or written.
    #[error(transparent)]
    Artifact(#[from] storecast_model::artifact::ArtifactError),
    /// A document template failed to render.
    #[error(transparent)]
    Render(#[from] storecast_charts::render::RenderError),
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A delivery of actuals was refused or could not be stored.
    #[error(transparent)]
    Ingest(#[from] storecast_store::IngestError),
    /// The audit log could not be written (the job is not done without its audit row).
    #[error("writing the audit log: {0}")]
    Audit(storecast_store::StoreError),
    /// The database or the registry failed.
    #[error("{0}")]
    Store(String),
    /// The chain's files could not be loaded (the source is the data crate's error, which
    /// names the file, line and column).
    #[error("{what}")]
    Load {
        /// What was being loaded.
        what: String,
        /// The cause.
        #[source]
        source: storecast_data::LoadError,
    },
    /// A distributed training's machines are wrong or could not meet.
    #[error("distributed training")]
    Cluster(#[from] storecast_cluster::ClusterError),
    /// The input cannot be used for this job.
    #[error("{0}")]
    Input(String),
}

impl PipelineError {
    /// A model error while doing `what`.
    pub fn model(what: &'static str) -> impl FnOnce(storecast_model::ForecastError) -> Self {
        move |source| Self::Model { what, source }
    }
    /// A database error while doing `what`.
    pub fn store(what: &'static str) -> impl FnOnce(storecast_store::StoreError) -> Self {
        move |e| Self::Store(format!("{what}: {e}"))
    }
    /// A registry error while doing `what`.
    pub fn registry(what: &'static str) -> impl FnOnce(storecast_store::RegistryError) -> Self {
        move |e| Self::Store(format!("{what}: {e}"))
    }
}
