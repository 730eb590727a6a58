//! The published input models, enforced: each request's document (a JSON body, or a query
//! form read into one by `query`) is checked against its operation's input shape from AWS's
//! service models (botocore's `service-2.json`, cut to the input shapes of the operations
//! served by `models/trim.py` and embedded from `crates/sandbox/models/`) before anything reads
//! it, and refused as AWS JSON 1.1 services refuse it (STS and Organizations word the same
//! findings their own way: `query`, `organizations`):
//!
//! - a member of the wrong JSON type (a string where a structure is expected, a number where a
//!   string is, ...) is a `SerializationException` (the first one found);
//! - otherwise every broken constraint (a required member missing, a length, pattern, enum
//!   value set or range not kept) is one error of a `ValidationException`: `1 validation error
//!   detected: Value '<v>' at '<path>' failed to satisfy constraint: Member must ...`, several
//!   joined with `; ` under `N validation errors detected: `. Paths are the members' names in
//!   camelCase joined with `.`, list elements `<n>.member` (1-based). A blob (base64 text) is
//!   measured decoded and shown as AWS's Java services show one
//!   (`'java.nio.HeapByteBuffer[pos=0 lim=N cap=N]'`); text that is not base64 is a
//!   `SerializationException`.
//!
//! Members the shape does not have are ignored, and a JSON `null` is an absent member, as AWS
//! does. Patterns are matched against the whole value.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use fancy_regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::vocabulary::{ApiError, codes};

/// The service whose model a request is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Firehose,
    Kms,
    Sts,
    Organizations,
    Iam,
    CloudWatch,
    Kinesis,
    Tagging,
}

/// One shape as the trimmed model gives it.
#[derive(Debug, Deserialize)]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    members: Map<String, Value>,
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default, rename = "enum")]
    values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct RawModel {
    operations: HashMap<String, String>,
    shapes: HashMap<String, RawShape>,
}

/// A shape, ready to check values against.
#[derive(Debug)]
struct Shape {
    raw: RawShape,
    /// Members in the model's order, with their shapes' names.
    members: Vec<(String, String)>,
    pattern: Option<Regex>,
}

/// One service's input model.
#[derive(Debug)]
pub struct Model {
    operations: HashMap<String, String>,
    shapes: HashMap<String, Shape>,
}

impl Model {
    fn parse(text: &str) -> Model {
        let raw: RawModel = serde_json::from_str(text).expect("the embedded model is JSON");
        let shapes = raw
            .shapes
            .into_iter()
            .map(|(name, raw)| {
                let members = raw
                    .members
                    .iter()
                    .map(|(m, s)| (m.clone(), s.as_str().unwrap_or_default().to_owned()))
                    .collect();
                // Java patterns match the whole value; anchoring keeps their `^...$` harmless.
                let pattern = raw.pattern.as_ref().map(|p| {
                    Regex::new(&format!("^(?:{})$", java_classes(p)))
                        .unwrap_or_else(|e| panic!("pattern {p} of {name}: {e}"))
                });
                (
                    name,
                    Shape {
                        raw,
                        members,
                        pattern,
                    },
                )
            })
            .collect();
        Model {
            operations: raw.operations,
            shapes,
        }
    }

    /// The model of `service`, read once.
    pub fn of(service: Service) -> &'static Model {
        static FIREHOSE: OnceLock<Model> = OnceLock::new();
        static KMS: OnceLock<Model> = OnceLock::new();
        static STS: OnceLock<Model> = OnceLock::new();
        static ORGANIZATIONS: OnceLock<Model> = OnceLock::new();
        static IAM: OnceLock<Model> = OnceLock::new();
        static CLOUDWATCH: OnceLock<Model> = OnceLock::new();
        static KINESIS: OnceLock<Model> = OnceLock::new();
        static TAGGING: OnceLock<Model> = OnceLock::new();
        match service {
            Service::Firehose => FIREHOSE
                .get_or_init(|| Model::parse(include_str!("../../models/firehose-input.json"))),
            Service::Kms => {
                KMS.get_or_init(|| Model::parse(include_str!("../../models/kms-input.json")))
            }
            Service::Sts => {
                STS.get_or_init(|| Model::parse(include_str!("../../models/sts-input.json")))
            }
            Service::Organizations => ORGANIZATIONS.get_or_init(|| {
                Model::parse(include_str!("../../models/organizations-input.json"))
            }),
            Service::Iam => {
                IAM.get_or_init(|| Model::parse(include_str!("../../models/iam-input.json")))
            }
            Service::CloudWatch => CLOUDWATCH
                .get_or_init(|| Model::parse(include_str!("../../models/cloudwatch-input.json"))),
            Service::Kinesis => KINESIS
                .get_or_init(|| Model::parse(include_str!("../../models/kinesis-input.json"))),
            Service::Tagging => TAGGING.get_or_init(|| {
                Model::parse(include_str!(
                    "../../models/resourcegroupstaggingapi-input.json"
                ))
            }),
        }
    }

    /// Checks `input`, the request's document, against the input of `operation`, and refuses
    /// it as AWS JSON 1.1 services do (`SerializationException`, `ValidationException`).
    pub fn check(&self, operation: &str, input: &Value) -> Result<(), ApiError> {
        let found = self.findings(operation, input);
        if let Some(message) = found.wrong_type {
            return Err(ApiError::new(codes::SERIALIZATION, message));
        }
        found.validation_message().map_or(Ok(()), |message| {
            Err(ApiError::new(codes::VALIDATION, message))
        })
    }

    /// How `input` breaks the input of `operation` (nothing for an operation the model does
    /// not have).
    pub fn findings(&self, operation: &str, input: &Value) -> Found {
        let mut found = Found::default();
        if let Some(shape) = self.operations.get(operation) {
            self.walk(shape, input, &mut Vec::new(), &mut found);
        }
        found
    }

    /// The shape `operation` takes as input.
    pub(super) fn input_shape(&self, operation: &str) -> Option<&str> {
        self.operations.get(operation).map(String::as_str)
    }

    /// The kind of shape `name` (`structure`, `list`, `string`, `integer`, ...) and, for a
    /// structure its members, for a list its member's shape.
    pub(super) fn shape(&self, name: &str) -> Option<ShapeView<'_>> {
        let shape = self.shapes.get(name)?;
        Some(ShapeView {
            kind: &shape.raw.kind,
            members: &shape.members,
            member: shape.raw.member.as_deref(),
        })
    }

    fn walk(&self, name: &str, value: &Value, path: &mut Vec<String>, found: &mut Found) {
        let shape = &self.shapes[name];
        let raw = &shape.raw;
        let expected = match raw.kind.as_str() {
            "structure" => {
                let Value::Object(fields) = value else {
                    return found.wrong(value, "a structure", path);
                };
                for (member, member_shape) in &shape.members {
                    path.push(camel(member));
                    match fields.get(member) {
                        None | Some(Value::Null) => {
                            if raw.required.contains(member) {
                                found.constraint(
                                    "INPUT_REQUIRED",
                                    path,
                                    "null",
                                    "must not be null".to_owned(),
                                );
                            }
                        }
                        Some(v) => self.walk(member_shape, v, path, found),
                    }
                    path.pop();
                }
                return;
            }
            "list" => {
                let Value::Array(items) = value else {
                    return found.wrong(value, "a list", path);
                };
                length(raw, items.len(), value, path, found);
                let member = raw.member.as_deref().unwrap_or_default();
                for (i, item) in items.iter().enumerate() {
                    path.push(format!("{}.member", i + 1));
                    if !item.is_null() {
                        self.walk(member, item, path, found);
                    }
                    path.pop();
                }
                return;
            }
            "map" => {
                let Value::Object(entries) = value else {
                    return found.wrong(value, "a map", path);
                };
                length(raw, entries.len(), value, path, found);
                let (key, val) = (
                    raw.key.as_deref().unwrap_or_default(),
                    raw.value.as_deref().unwrap_or_default(),
                );
                for (k, v) in entries {
                    path.push(k.clone());
                    self.walk(key, &Value::String(k.clone()), path, found);
                    if !v.is_null() {
                        self.walk(val, v, path, found);
                    }
                    path.pop();
                }
                return;
            }
            "blob" => {
                let Value::String(text) = value else {
                    return found.wrong(value, "a ByteBuffer", path);
                };
                match base64::engine::general_purpose::STANDARD.decode(text) {
                    Err(_) => {
                        if found.wrong_type.is_none() {
                            found.wrong_type =
                                Some(format!("Invalid base64 value at '{}'", path.join(".")));
                        }
                    }
                    Ok(bytes) => {
                        // AWS shows a blob as the Java buffer holding it.
                        let n = bytes.len();
                        let shown = format!("java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]");
                        length(raw, n, &Value::String(shown), path, found);
                    }
                }
                return;
            }
            "string" => {
                let Value::String(text) = value else {
                    return found.wrong(value, "a String", path);
                };
                if let Some(values) = &raw.values
                    && !values.contains(text)
                {
                    found.constraint(
                        "INVALID_ENUM",
                        path,
                        &quoted(text),
                        format!("must satisfy enum value set: [{}]", values.join(", ")),
                    );
                }
                length(raw, text.chars().count(), value, path, found);
                if let (Some(re), Some(p)) = (&shape.pattern, &raw.pattern)
                    && !re.is_match(text).unwrap_or(false)
                {
                    found.constraint(
                        "INVALID_PATTERN",
                        path,
                        &quoted(text),
                        format!("must satisfy regular expression pattern: {p}"),
                    );
                }
                return;
            }
            "integer" | "long" => "an Integer",
            "double" | "float" => "a Double",
            "boolean" => "a Boolean",
            "timestamp" => "a Date",
            _ => return,
        };
        let fits = match raw.kind.as_str() {
            "integer" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            "long" => value.as_i64().is_some(),
            "boolean" => value.is_boolean(),
            _ => value.is_number(),
        };
        if !fits {
            return found.wrong(value, expected, path);
        }
        if let Some(n) = value.as_f64() {
            let shown = quoted(&value.to_string());
            if let Some(min) = raw.min
                && n < min
            {
                found.constraint(
                    "MIN_VALUE_EXCEEDED",
                    path,
                    &shown,
                    format!("must have value greater than or equal to {}", min as i64),
                );
            }
            if let Some(max) = raw.max
                && n > max
            {
                found.constraint(
                    "MAX_VALUE_EXCEEDED",
                    path,
                    &shown,
                    format!("must have value less than or equal to {}", max as i64),
                );
            }
        }
    }
}

/// A shape as the query protocol's reader sees it.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShapeView<'a> {
    pub(super) kind: &'a str,
    pub(super) members: &'a [(String, String)],
    pub(super) member: Option<&'a str>,
}

/// What a walk found: the first member of the wrong type, and every constraint not kept (each
/// with the `InvalidInputExceptionReason` Organizations gives such a constraint).
#[derive(Debug, Default)]
pub struct Found {
    pub wrong_type: Option<String>,
    pub constraints: Vec<String>,
    pub reasons: Vec<&'static str>,
}

impl Found {
    /// `1 validation error detected: ...` (`N validation errors detected: ...; ...`), when a
    /// constraint is broken.
    pub fn validation_message(&self) -> Option<String> {
        match self.constraints.len() {
            0 => None,
            1 => Some(format!(
                "1 validation error detected: {}",
                self.constraints[0]
            )),
            n => Some(format!(
                "{n} validation errors detected: {}",
                self.constraints.join("; ")
            )),
        }
    }

    fn wrong(&mut self, value: &Value, expected: &str, path: &[String]) {
        if self.wrong_type.is_some() {
            return;
        }
        let at = path.join(".");
        self.wrong_type = Some(match value {
            Value::Object(_) => "Start of structure or map found where not expected.".to_owned(),
            Value::Array(_) => "Start of list found where not expected.".to_owned(),
            Value::String(_) => {
                format!("STRING_VALUE can not be converted to {expected} at '{at}'")
            }
            Value::Number(_) => {
                format!("NUMBER_VALUE can not be converted to {expected} at '{at}'")
            }
            Value::Bool(_) => format!("BOOLEAN_VALUE can not be converted to {expected} at '{at}'"),
            Value::Null => format!("null can not be converted to {expected} at '{at}'"),
        });
    }

    fn constraint(&mut self, reason: &'static str, path: &[String], value: &str, rule: String) {
        self.reasons.push(reason);
        self.constraints.push(format!(
            "Value {value} at '{}' failed to satisfy constraint: Member {rule}",
            path.join(".")
        ));
    }
}

/// The length bounds of a string, list or map.
fn length(raw: &RawShape, n: usize, value: &Value, path: &[String], found: &mut Found) {
    let shown = match value {
        Value::String(s) => quoted(s),
        other => quoted(&render(other)),
    };
    if let Some(min) = raw.min
        && (n as f64) < min
    {
        found.constraint(
            "MIN_LENGTH_EXCEEDED",
            path,
            &shown,
            format!("must have length greater than or equal to {}", min as i64),
        );
    }
    if let Some(max) = raw.max
        && (n as f64) > max
    {
        found.constraint(
            "MAX_LENGTH_EXCEEDED",
            path,
            &shown,
            format!("must have length less than or equal to {}", max as i64),
        );
    }
}

/// A Java pattern's `\w`, `\d` and `\s` as Java reads them, ASCII only (Rust's are
/// Unicode): `[0-9A-Za-z_]`, `[0-9]`, `[ \t\n\x0B\f\r]`, inside a character class or out.
fn java_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push(c);
                    break;
                };
                let ascii = match next {
                    'w' => Some("0-9A-Za-z_"),
                    'd' => Some("0-9"),
                    's' => Some(" \\t\\n\\x0B\\f\\r"),
                    _ => None,
                };
                match ascii {
                    Some(set) if in_class => out.push_str(set),
                    Some(set) => {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    None => {
                        out.push(c);
                        out.push(next);
                    }
                }
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value as the messages show it: `'text'`.
fn quoted(text: &str) -> String {
    format!("'{text}'")
}

/// A list or structure as Java prints one: `[a, b]`, `{K=v}`.
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A member name as the messages spell it: `DeliveryStreamName` → `deliveryStreamName`.
fn camel(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(service: Service, op: &str, body: Value) -> Result<(), (String, String)> {
        Model::of(service)
            .check(op, &body)
            .map_err(|e| (e.code.to_string(), e.message))
    }

    #[test]
    fn java_classes_are_ascii() {
        assert_eq!(
            java_classes(r"arn:.*:s3:::[\w\.\-]{1,255}"),
            r"arn:.*:s3:::[0-9A-Za-z_\.\-]{1,255}"
        );
        assert_eq!(java_classes(r"\d{12}:\S+"), r"[0-9]{12}:\S+");
        assert_eq!(java_classes(r"^(?!\s*$).+"), r"^(?![ \t\n\x0B\f\r]*$).+");
    }

    #[test]
    fn every_pattern_of_every_model_compiles() {
        for service in [
            Service::Firehose,
            Service::Kms,
            Service::Sts,
            Service::Organizations,
            Service::Iam,
            Service::CloudWatch,
            Service::Kinesis,
            Service::Tagging,
        ] {
            let model = Model::of(service);
            assert!(model.shapes.values().any(|s| s.pattern.is_some()));
        }
    }

    #[test]
    fn constraints_are_validation_errors_in_the_published_form() {
        let op = "StartDeliveryStreamEncryption";
        assert_eq!(
            check(Service::Firehose, op, json!({})).unwrap_err(),
            (
                "ValidationException".into(),
                "1 validation error detected: Value null at 'deliveryStreamName' failed to \
                 satisfy constraint: Member must not be null"
                    .into()
            )
        );
        let (code, message) = check(
            Service::Firehose,
            op,
            json!({"DeliveryStreamName": "", "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "NONE"}}),
        )
        .unwrap_err();
        assert_eq!(code, "ValidationException");
        assert_eq!(
            message,
            "3 validation errors detected: \
             Value '' at 'deliveryStreamName' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value '' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value 'NONE' at 'deliveryStreamEncryptionConfigurationInput.keyType' failed to satisfy constraint: Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]"
        );
        let (_, message) = check(
            Service::Firehose,
            "ListDeliveryStreams",
            json!({"Limit": 0}),
        )
        .unwrap_err();
        assert!(
            message.ends_with("Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
            "{message}"
        );
        let (_, message) = check(
            Service::Firehose,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "a", "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": "arn:aws:s3:::b",
                "ProcessingConfiguration": {"Processors": [{"Type": "NotLambda"}]}}}),
        )
        .unwrap_err();
        assert!(
            message.contains("at 'extendedS3DestinationConfiguration.processingConfiguration.processors.1.member.type' failed to satisfy constraint: Member must satisfy enum value set: ["),
            "{message}"
        );
        let (_, message) = check(
            Service::Firehose,
            "CreateDeliveryStream",
            json!({"DeliveryStreamName": "a", "Tags": []}),
        )
        .unwrap_err();
        assert!(message.contains("Value '[]' at 'tags'"), "{message}");
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        for (body, message) in [
            (
                json!({"DeliveryStreamName": {"a": 1}}),
                "Start of structure or map found where not expected.",
            ),
            (
                json!({"DeliveryStreamName": ["a"]}),
                "Start of list found where not expected.",
            ),
            (
                json!({"DeliveryStreamName": 5}),
                "NUMBER_VALUE can not be converted to a String at 'deliveryStreamName'",
            ),
            (
                json!({"DeliveryStreamName": "a", "DeliveryStreamEncryptionConfigurationInput": "AWS_OWNED_CMK"}),
                "STRING_VALUE can not be converted to a structure at 'deliveryStreamEncryptionConfigurationInput'",
            ),
        ] {
            assert_eq!(
                check(Service::Firehose, "StartDeliveryStreamEncryption", body).unwrap_err(),
                ("SerializationException".into(), message.into())
            );
        }
        for limit in [json!("10"), json!(2.5), json!(true), json!(1u64 << 40)] {
            let (code, _) = check(
                Service::Firehose,
                "ListDeliveryStreams",
                json!({ "Limit": limit }),
            )
            .unwrap_err();
            assert_eq!(code, "SerializationException", "{limit}");
        }
    }

    #[test]
    fn unknown_members_and_nulls_are_ignored() {
        check(
            Service::Firehose,
            "ListDeliveryStreams",
            json!({"Limit": null, "Colour": 5}),
        )
        .unwrap();
        check(Service::Kms, "CreateKey", json!({})).unwrap();
        let (code, message) = check(Service::Kms, "DescribeKey", json!({"KeyId": ""})).unwrap_err();
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "ValidationException",
                "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: \
                 Member must have length greater than or equal to 1"
            )
        );
    }
}
