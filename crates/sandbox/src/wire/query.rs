//! The query protocol's requests (STS, IAM, CloudWatch): a form-encoded body (`Action=AssumeRole&Version=...&
//! RoleArn=...`) read into the operation's input document by its published input shape
//! (nested members joined with `.`, list elements `<member>.member.<n>`, numbers and booleans
//! parsed), then checked against the model as every request is. STS words the findings its own
//! way: a broken constraint is `ValidationError` ("1 validation error detected: ..."), a value
//! that is not of its type (a `DurationSeconds` that is no number) `MalformedInput`.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use super::model::{Model, Service};
use crate::vocabulary::{ApiError, codes, parse_iso8601};

/// The value of `name` in a form-encoded body, decoded.
pub fn form_value(body: &str, name: &str) -> Option<String> {
    pairs(body).find_map(|(k, v)| (k == name).then_some(v))
}

/// The form's pairs, decoded, in order.
fn pairs(body: &str) -> impl Iterator<Item = (String, String)> + '_ {
    body.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match text.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                    Some(Ok(b)) => {
                        out.push(b);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a form as the input `T` of `operation` of `service` (a query-protocol service).
pub fn read<T: DeserializeOwned>(
    service: Service,
    operation: &str,
    form: &str,
) -> Result<T, ApiError> {
    let model = Model::of(service);
    // The first of a parameter given twice counts.
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs(form) {
        params.entry(k).or_insert(v);
    }
    let mut reader = Reader {
        model,
        params: &params,
        malformed: None,
    };
    let document = match model.input_shape(operation) {
        Some(shape) => reader
            .value(shape, "")
            .unwrap_or_else(|| Value::Object(Map::new())),
        None => Value::Object(Map::new()),
    };
    if let Some(message) = reader.malformed {
        return Err(ApiError::new(codes::MALFORMED_INPUT, message));
    }
    let found = model.findings(operation, &document);
    if let Some(message) = found.validation_message() {
        return Err(ApiError::new(codes::VALIDATION_QUERY, message));
    }
    serde_json::from_value(document).map_err(|e| {
        ApiError::new(
            codes::MALFORMED_INPUT,
            format!("The request cannot be read: {e}"),
        )
    })
}

/// Reads parameters into a document, shape by shape.
struct Reader<'a> {
    model: &'a Model,
    params: &'a HashMap<String, String>,
    /// The first parameter whose value is not of its shape's type.
    malformed: Option<String>,
}

impl Reader<'_> {
    /// The value of shape `shape` at parameter `key` (`""` for the input itself), `None` when
    /// the form has nothing for it.
    fn value(&mut self, shape: &str, key: &str) -> Option<Value> {
        let view = self.model.shape(shape)?;
        let join = |member: &str| {
            if key.is_empty() {
                member.to_owned()
            } else {
                format!("{key}.{member}")
            }
        };
        match view.kind {
            "structure" => {
                let mut fields = Map::new();
                for (member, member_shape) in view.members {
                    if let Some(v) = self.value(member_shape, &join(member)) {
                        fields.insert(member.clone(), v);
                    }
                }
                (key.is_empty() || !fields.is_empty()).then_some(Value::Object(fields))
            }
            "list" => {
                let member = view.member?;
                let mut items = Vec::new();
                while let Some(item) =
                    self.value(member, &join(&format!("member.{}", items.len() + 1)))
                {
                    items.push(item);
                }
                let empty = self.params.get(key).is_some_and(|v| v.is_empty());
                (!items.is_empty() || empty).then_some(Value::Array(items))
            }
            kind => {
                let text = self.params.get(key)?;
                Some(self.scalar(kind, key, text))
            }
        }
    }

    fn scalar(&mut self, kind: &str, key: &str, text: &str) -> Value {
        let parsed = match kind {
            "integer" | "long" => text.parse::<i64>().ok().map(Value::from),
            "double" | "float" => text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number),
            // ISO 8601, as the SDKs write a timestamp in a form (epoch seconds taken too).
            "timestamp" => parse_iso8601(text)
                .map(|ms| Value::from(ms as f64 / 1_000.0))
                .or_else(|| {
                    text.parse::<f64>()
                        .ok()
                        .and_then(Number::from_f64)
                        .map(Value::Number)
                }),
            "boolean" => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => return Value::String(text.to_owned()),
        };
        parsed.unwrap_or_else(|| {
            self.malformed.get_or_insert_with(|| {
                format!("Invalid value {text:?} for parameter {key}: not a valid {kind}.")
            });
            Value::String(text.to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn forms_are_decoded() {
        let body = "Action=GetCallerIdentity&Version=2011-06-15&X=a%2Bb+c%zz";
        assert_eq!(
            form_value(body, "Action").as_deref(),
            Some("GetCallerIdentity")
        );
        assert_eq!(form_value(body, "X").as_deref(), Some("a+b c%zz"));
        assert_eq!(form_value(body, "Nope"), None);
        assert_eq!(form_value("Action", "Action").as_deref(), Some(""));
    }

    fn document(form: &str) -> Result<Value, (String, String)> {
        read::<Value>(Service::Sts, "AssumeRole", form).map_err(|e| (e.code.to_string(), e.message))
    }

    #[test]
    fn forms_become_the_input_document_by_its_shape() {
        let form = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fr\
                    &RoleSessionName=ss&DurationSeconds=900&Tags.member.1.Key=k&Tags.member.1.Value=v\
                    &Tags.member.2.Key=k2&Tags.member.2.Value=&TransitiveTagKeys.member.1=k\
                    &PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess";
        assert_eq!(
            document(form).unwrap(),
            json!({
                "RoleArn": "arn:aws:iam::111111111111:role/r",
                "RoleSessionName": "ss",
                "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
                "DurationSeconds": 900,
                "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": ""}],
                "TransitiveTagKeys": ["k"],
            })
        );
    }

    #[test]
    fn findings_are_worded_as_sts_words_them() {
        assert_eq!(
            document("Action=AssumeRole&RoleSessionName=a b").unwrap_err(),
            (
                "ValidationError".into(),
                "2 validation errors detected: Value null at 'roleArn' failed to satisfy \
                 constraint: Member must not be null; Value 'a b' at 'roleSessionName' failed \
                 to satisfy constraint: Member must satisfy regular expression pattern: \
                 [\\w+=,.@-]*"
                    .into()
            )
        );
        let (code, message) = document(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fr&RoleSessionName=ss&DurationSeconds=43201",
        )
        .unwrap_err();
        assert_eq!(code, "ValidationError");
        assert!(
            message.ends_with("Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"),
            "{message}"
        );
        let (code, _) = document(
            "RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fr&RoleSessionName=ss&DurationSeconds=soon",
        )
        .unwrap_err();
        assert_eq!(code, "MalformedInput");
    }
}
