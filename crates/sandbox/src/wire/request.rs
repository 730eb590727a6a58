//! How a request body becomes an operation's typed input (the inputs themselves are in
//! `firehose` and `kms`, one per operation, named and shaped as in the service models).
//!
//! Reading happens in two steps, so that every answer stays what the sandbox has always said:
//!
//! 1. [`read`]: the body is read as a JSON document, as serde_json reads one (an empty body
//!    reads as `{}`); one that is not JSON, or not an object, is a `SerializationException`.
//!    Reading the whole document first keeps that judgement whole: deserializing the input
//!    straight from the bytes would skip the members the operation does not know without
//!    checking them as strictly (a lone surrogate or an out-of-range number there would pass),
//!    and would refuse a member given twice, where a JSON object keeps the last.
//! 2. The document deserializes into the operation's input. Members the operation does not know
//!    are ignored; each member it knows is a [`Member`]: a value of its type or "present, of the
//!    wrong type", so a wrong type is not a `SerializationException` but a form error naming the
//!    member (`InvalidArgumentException` for Firehose, `ValidationException` for KMS), reported
//!    in the same order as every other form error of the operation. A JSON `null` reads as
//!    absent.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::vocabulary::{ApiError, codes};

/// A member of a request: its value, or the sign that it was given with the wrong JSON type.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Member<T> {
    Valid(T),
    WrongType(IgnoredAny),
}

/// A structure member: a JSON object read as `T`. A derived `Deserialize` would also take a
/// JSON array (the members in declaration order); a structure on the wire is an object only.
#[derive(Debug, Clone)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Reads a request body as the operation's input `T`.
pub fn read<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
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
    // Every member the input knows is optional and takes any JSON type, so this does not fail
    // on a JSON object; should it ever, the body was not one the sandbox can read.
    T::deserialize(&document).map_err(|e| {
        ApiError::new(
            codes::SERIALIZATION,
            format!("The request body cannot be read: {e}"),
        )
    })
}

/// Which service's form errors: Firehose answers `InvalidArgumentException`, KMS
/// `ValidationException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Firehose,
    Kms,
}

impl Service {
    pub fn invalid(self, message: impl Into<String>) -> ApiError {
        let code = match self {
            Service::Firehose => codes::INVALID_ARGUMENT,
            Service::Kms => codes::KMS_VALIDATION,
        };
        ApiError::new(code, message)
    }

    /// An optional string member.
    pub(super) fn opt_str<'a>(
        self,
        field: &str,
        member: &'a Option<Member<String>>,
    ) -> Result<Option<&'a str>, ApiError> {
        match member {
            None => Ok(None),
            Some(Member::Valid(s)) => Ok(Some(s)),
            Some(Member::WrongType(_)) => Err(self.invalid(format!("{field} must be a string."))),
        }
    }

    /// A required, non-empty string member.
    pub(super) fn req_str<'a>(
        self,
        field: &str,
        member: &'a Option<Member<String>>,
    ) -> Result<&'a str, ApiError> {
        match self.opt_str(field, member)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.invalid(format!("{field} is required."))),
        }
    }

    /// An optional non-negative integer member.
    pub(super) fn opt_u64(
        self,
        field: &str,
        member: &Option<Member<u64>>,
    ) -> Result<Option<u64>, ApiError> {
        match member {
            None => Ok(None),
            Some(Member::Valid(n)) => Ok(Some(*n)),
            Some(Member::WrongType(_)) => {
                Err(self.invalid(format!("{field} must be a positive integer.")))
            }
        }
    }
}

/// A string member's value, when it was given as a string.
pub(super) fn given(member: &Option<Member<String>>) -> Option<&str> {
    match member {
        Some(Member::Valid(s)) => Some(s),
        _ => None,
    }
}
