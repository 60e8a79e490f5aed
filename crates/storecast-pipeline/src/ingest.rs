//! The ingest job: a delivered file of daily actuals checked and stored (every row or none),
//! and a refusal recorded in the audit log with who tried and why.

use crate::error::PipelineError;
use storecast_data::StoreTable;
use storecast_store::{IngestError, IngestOptions, IngestOutcome, Store};
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

/// The outcome of a delivery that the job could judge.
#[derive(Debug)]
pub enum Ingested {
    /// Stored.
    Stored(Box<IngestOutcome>),
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
        Ok(o) => Ok(Ingested::Stored(Box::new(o))),
        Err(IngestError::Invalid { report, .. }) => Ok(Ingested::Refused(report)),
        Err(e) => Err(PipelineError::Ingest(e)),
    }
}
