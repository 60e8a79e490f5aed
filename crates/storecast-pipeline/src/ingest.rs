//! The ingest job: a delivered file of daily actuals checked and stored (every row or none),
//! and a refusal recorded in the audit log with who tried and why.

use crate::error::PipelineError;
use serde::Serialize;
use storecast_data::StoreTable;
use storecast_store::{IngestError, IngestOptions, Store};
use storecast_validate::ValidationReport;

/// A delivery of actuals.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The file's bytes.
    pub bytes: &'a [u8],
    /// Its name as given (kept with the ingestion).
    pub name: &'a str,
    /// Who delivers it (audited).
    pub actor: &'a str,
}

/// What an accepted file did.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    /// File name as given.
    pub file_name: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Data rows in the file.
    pub rows: usize,
    /// New rows stored.
    pub inserted: usize,
    /// Rows already stored with the same values.
    pub unchanged: usize,
    /// Stored rows replaced (only with the correction option).
    pub corrected: usize,
}

/// The outcome of a delivery that the job could judge.
#[derive(Debug)]
pub enum Ingested {
    /// Stored.
    Stored(Stored),
    /// Refused for failed checks; nothing written; the report names every finding.
    Refused(Box<ValidationReport>),
}

/// Checks and stores `delivery` in `store` (store table `stores` for the checks); a refusal
/// other than a storage failure is audited as `ingest.refused`.
pub fn ingest(
    store: &Store,
    delivery: Delivery<'_>,
    stores: &StoreTable,
    options: &IngestOptions,
) -> Result<Ingested, PipelineError> {
    let result = store.ingest_csv_with(
        delivery.bytes,
        delivery.name,
        delivery.actor,
        stores,
        options,
    );
    if let Err(e) = &result {
        if !matches!(e, IngestError::Store(_)) {
            store
                .audit(
                    delivery.actor,
                    "ingest.refused",
                    delivery.name,
                    serde_json::json!({"error": e.to_string()}),
                )
                .map_err(PipelineError::Audit)?;
        }
    }
    match result {
        Ok(o) => Ok(Ingested::Stored(Stored {
            file_name: o.file_name,
            sha256: o.sha256,
            rows: o.rows,
            inserted: o.inserted,
            unchanged: o.unchanged,
            corrected: o.corrected,
        })),
        Err(IngestError::Invalid { report, .. }) => Ok(Ingested::Refused(report)),
        Err(e) => Err(PipelineError::Ingest(e)),
    }
}
