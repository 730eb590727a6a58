//! The fleet CSV reader (placeholder until the reader lands).

#[derive(Debug, thiserror::Error)]
#[error("fleet file has errors")]
pub struct FleetErrors;
