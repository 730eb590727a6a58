//! How a request body becomes an operation's typed input (the inputs themselves are in
//! `firehose` and `kms`, one per operation, named and shaped as in the service models).
//!
//! Reading happens in three steps ([`read`] takes all three; Organizations, which words the
//! model's findings its own way, takes the first and the last):
//!
//! 1. [`document`]: the body is read as a JSON document, as serde_json reads one (an empty body
//!    reads as `{}`); one that is not JSON, or not an object, is a `SerializationException`.
//!    Reading the whole document first keeps that judgement whole: deserializing the input
//!    straight from the bytes would skip the members the operation does not know without
//!    checking them as strictly (a lone surrogate or an out-of-range number there would pass),
//!    and would refuse a member given twice, where a JSON object keeps the last.
//! 2. The document is checked against the operation's published input model ([`super::model`]):
//!    a member of the wrong JSON type is a `SerializationException`, a broken constraint a
//!    `ValidationException`.
//! 3. [`typed`]: the document deserializes into the operation's input: every member is then of its type,
//!    so what is left to check is what the model cannot say (`InvalidArgumentException` for
//!    Firehose, e.g. a `CUSTOMER_MANAGED_CMK` without a `KeyARN`). Members the operation does
//!    not read are ignored; a JSON `null` reads as absent.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::model::{Model, Service};
use crate::vocabulary::{ApiError, codes};

/// Reads a request body as the input `T` of `operation` of `service`.
pub fn read<T: DeserializeOwned>(
    service: Service,
    operation: &str,
    body: &[u8],
) -> Result<T, ApiError> {
    let document = document(body)?;
    Model::of(service).check(operation, &document)?;
    typed(document)
}

/// Step 1: the body as a JSON object (an empty body reads as `{}`).
pub fn document(body: &[u8]) -> Result<Value, ApiError> {
    let document = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                codes::SERIALIZATION,
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !document.is_object() {
        return Err(ApiError::new(
            codes::SERIALIZATION,
            "The request body must be a JSON object.",
        ));
    }
    Ok(document)
}

/// Step 3: a document the model has checked, as the operation's input.
pub fn typed<T: DeserializeOwned>(document: Value) -> Result<T, ApiError> {
    // The model has checked every member the input reads, so this does not fail; should it
    // ever, the body was not one the sandbox can read.
    serde_json::from_value(document).map_err(|e| {
        ApiError::new(
            codes::SERIALIZATION,
            format!("The request body cannot be read: {e}"),
        )
    })
}
