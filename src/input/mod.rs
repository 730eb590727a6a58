//! The fleet CSV reader: raw rows become validated [`Target`]s, or every problem in the file is
//! reported at once (line, column, value, reason) before anything is sent or written.
//!
//! Columns (header names are case-insensitive; the AWS spellings are accepted too):
//! `stream` / `DeliveryStreamName` (name or Firehose ARN, required), `region`,
//! `key_arn` / `KeyARN`, `key_type` / `KeyType`. UTF-8 with or without BOM, LF or CRLF, quoted
//! fields, surrounding whitespace, blank lines and `#` comment lines are all accepted, and so is
//! a column with no name that every row leaves empty (spreadsheet exports add one).
//!
//! `read` walks the CSV (line numbers from byte offsets, comment lines blanked), `rows`
//! validates the header and each row into a [`Target`], `problems` is what is reported.

mod problems;
mod read;
mod rows;

use std::path::Path;
use std::sync::Arc;

use crate::model::KeyChoice;

pub use problems::{FleetErrors, MAX_SHOWN, Problem};
pub use read::parse_fleet;

/// One stream of the fleet and the key it should be encrypted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Line of the fleet file the row starts on (1-based, the header is line 1).
    pub line: u64,
    pub name: String,
    /// One shared copy per distinct region of the file.
    pub region: Arc<str>,
    /// Known only when the row gives a stream ARN or an account column; otherwise the
    /// credentials' account. One shared copy per distinct account of the file.
    pub account: Option<Arc<str>>,
    pub key: KeyChoice,
    /// Where the stream is expected to be before the change (a rollback's starting point: what
    /// the rolled-back run left it at); one found elsewhere was changed since by someone else
    /// and is not touched. `None` for a fleet file's rows.
    pub expect: Option<KeyChoice>,
}

/// Reads and validates a fleet file. `default_region` applies to rows that give no region
/// (neither a region column nor a stream ARN).
pub fn read_fleet(path: &Path, default_region: Option<&str>) -> Result<Vec<Target>, FleetErrors> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FleetErrors {
        file: file.clone(),
        problems: vec![problems::file_problem(format!("cannot be read: {e}"))],
    })?;
    parse_fleet(&bytes, default_region).map_err(|problems| FleetErrors { file, problems })
}

#[cfg(test)]
mod tests;
