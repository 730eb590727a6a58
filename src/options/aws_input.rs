//! The AWS CLI's ways of giving an operation's input, for `start-delivery-stream-encryption`
//! and `stop-delivery-stream-encryption`: a structure in shorthand (`KeyType=…,KeyARN=…`) or
//! as JSON, any value from a file (`file://PATH`), the whole input as `--cli-input-json`
//! (values given on the command line win), and `--generate-cli-skeleton input|output`. Each
//! mistake is a usage error worded as the AWS CLI words it; the input then becomes a validated
//! stream name and target key.

use serde_json::{Map, Value};

use crate::error::UsageError;
use crate::model::{KeyChoice, KeyType, KmsKeyArn, is_valid_stream_name};

/// The members of `DeliveryStreamEncryptionConfigurationInput`, in the model's order.
const CONFIG_MEMBERS: [&str; 2] = ["KeyARN", "KeyType"];

/// Which of the two operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Stop,
}

impl Operation {
    /// The command's name, as the AWS CLI spells it.
    pub fn command(self) -> &'static str {
        match self {
            Operation::Start => "start-delivery-stream-encryption",
            Operation::Stop => "stop-delivery-stream-encryption",
        }
    }

    /// The API operation's name (the AWS CLI's table title).
    pub fn operation(self) -> &'static str {
        match self {
            Operation::Start => "StartDeliveryStreamEncryption",
            Operation::Stop => "StopDeliveryStreamEncryption",
        }
    }

    /// The members of the operation's input, in the model's order.
    fn members(self) -> &'static [&'static str] {
        match self {
            Operation::Start => &[
                "DeliveryStreamName",
                "DeliveryStreamEncryptionConfigurationInput",
            ],
            Operation::Stop => &["DeliveryStreamName"],
        }
    }

    /// What `--generate-cli-skeleton input` prints: every member, strings empty and enums at
    /// their first value, indented by four as the AWS CLI's `json.dumps`.
    pub fn input_skeleton(self) -> String {
        let mut doc = Map::new();
        doc.insert("DeliveryStreamName".into(), Value::from(""));
        if self == Operation::Start {
            doc.insert(
                "DeliveryStreamEncryptionConfigurationInput".into(),
                serde_json::json!({"KeyARN": "", "KeyType": KeyType::AWS_OWNED}),
            );
        }
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        serde::Serialize::serialize(&Value::Object(doc), &mut ser).expect("JSON serializes");
        let mut text = String::from_utf8(out).expect("JSON is UTF-8");
        text.push('\n');
        text
    }
}

/// The input as the command line gave it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawInput {
    pub delivery_stream_name: Option<String>,
    pub configuration: Option<String>,
    pub cli_input_json: Option<String>,
}

/// A value given as `file://PATH` is the file's text, as the AWS CLI reads parameters.
pub fn load_value(param: &str, text: &str) -> Result<String, UsageError> {
    match text.strip_prefix("file://") {
        None => Ok(text.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!(
                "Error parsing parameter '{param}': Unable to load paramfile {text}: {e}"
            ))
        }),
    }
}

/// A structure given as JSON (it starts with `{`) or in shorthand (`Key=value,Key=value`,
/// values optionally quoted).
pub fn parse_structure(param: &str, text: &str) -> Result<Map<String, Value>, UsageError> {
    let bad = |why: String| UsageError::new(format!("Error parsing parameter '{param}': {why}"));
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(bad("Expected: an object".into())),
            Err(e) => Err(bad(format!("Invalid JSON: {e}\nJSON received: {trimmed}"))),
        };
    }
    let mut map = Map::new();
    let mut chars = trimmed.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().to_owned();
        if key.is_empty() || key.contains(',') {
            return Err(bad(format!(
                "Expected: '=', received: '{}' for input: {trimmed}",
                key.chars().last().map_or(String::from("EOF"), String::from)
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let value = match chars.peek() {
            Some(&q @ ('"' | '\'')) => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' if chars.peek() == Some(&q) => {
                            value.push(chars.next().expect("peeked"))
                        }
                        c if c == q => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(bad(format!(
                        "Expected: '{q}', received: 'EOF' for input: {trimmed}"
                    )));
                }
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                match chars.next() {
                    None | Some(',') => {}
                    Some(c) => {
                        return Err(bad(format!(
                            "Expected: ',', received: '{c}' for input: {trimmed}"
                        )));
                    }
                }
                value
            }
            _ => chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_owned(),
        };
        if map.insert(key.clone(), Value::String(value)).is_some() {
            return Err(bad(format!(
                "Second instance of key \"{key}\" encountered for input: {trimmed}"
            )));
        }
    }
    Ok(map)
}

/// The stream and its target once the input is validated: the name, and the key to start
/// encryption with (`KeyChoice::Off` for Stop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub key: KeyChoice,
}

/// Checks the input of `operation` as the AWS CLI (and the service) would, command-line values
/// over `--cli-input-json`'s.
pub fn request(operation: Operation, raw: &RawInput) -> Result<Request, UsageError> {
    let mut input = match &raw.cli_input_json {
        None => Map::new(),
        Some(text) => {
            let text = load_value("--cli-input-json", text)?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(UsageError::new(
                        "Invalid type for parameter --cli-input-json: expected a JSON object",
                    ));
                }
                Err(e) => {
                    return Err(UsageError::new(format!(
                        "Error parsing parameter '--cli-input-json': Invalid JSON: {e}\nJSON received: {text}"
                    )));
                }
            }
        }
    };
    if let Some(name) = &raw.delivery_stream_name {
        let name = load_value("--delivery-stream-name", name)?;
        input.insert("DeliveryStreamName".into(), Value::String(name));
    }
    if let Some(text) = &raw.configuration {
        let param = "--delivery-stream-encryption-configuration-input";
        let structure = parse_structure(param, &load_value(param, text)?)?;
        input.insert(
            "DeliveryStreamEncryptionConfigurationInput".into(),
            Value::Object(structure),
        );
    }
    let members = operation.members();
    if let Some(unknown) = input.keys().find(|k| !members.contains(&k.as_str())) {
        return Err(UsageError::new(format!(
            "Parameter validation failed:\nUnknown parameter in input: \"{unknown}\", must be one of: {}",
            members.join(", ")
        )));
    }
    let name = match input.get("DeliveryStreamName") {
        None => {
            return Err(UsageError::new(
                "the following arguments are required: --delivery-stream-name",
            ));
        }
        Some(Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(UsageError::new(format!(
                "Parameter validation failed:\nInvalid type for parameter DeliveryStreamName, value: {other}, type: {}, valid types: <class 'str'>",
                json_type(other)
            )));
        }
    };
    if !is_valid_stream_name(&name) {
        return Err(UsageError::new(format!(
            "invalid --delivery-stream-name {name:?}: a Firehose stream name is 1 to 64 of \
             [a-zA-Z0-9_.-]"
        )));
    }
    let key = match operation {
        Operation::Stop => KeyChoice::Off,
        Operation::Start => match input.get("DeliveryStreamEncryptionConfigurationInput") {
            // The service's default: the AWS-owned key.
            None => KeyChoice::AwsOwned,
            Some(Value::Object(config)) => key_choice(config)?,
            Some(other) => {
                return Err(UsageError::new(format!(
                    "Parameter validation failed:\nInvalid type for parameter DeliveryStreamEncryptionConfigurationInput, value: {other}, type: {}, valid types: <class 'dict'>",
                    json_type(other)
                )));
            }
        },
    };
    Ok(Request { name, key })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// `DeliveryStreamEncryptionConfigurationInput` as a target key: `KeyType` required,
/// `KeyARN` a key ARN (never an alias) exactly when the type is `CUSTOMER_MANAGED_CMK`.
fn key_choice(config: &Map<String, Value>) -> Result<KeyChoice, UsageError> {
    let invalid = |why: String| UsageError::new(format!("Parameter validation failed:\n{why}"));
    if let Some(unknown) = config
        .keys()
        .find(|k| !CONFIG_MEMBERS.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "Unknown parameter in DeliveryStreamEncryptionConfigurationInput: \"{unknown}\", must be one of: {}",
            CONFIG_MEMBERS.join(", ")
        )));
    }
    let text = |member: &str| -> Result<Option<&str>, UsageError> {
        match config.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(invalid(format!(
                "Invalid type for parameter DeliveryStreamEncryptionConfigurationInput.{member}, value: {other}, type: {}, valid types: <class 'str'>",
                json_type(other)
            ))),
        }
    };
    let key_type = text("KeyType")?.ok_or_else(|| {
        invalid(
            "Missing required parameter in DeliveryStreamEncryptionConfigurationInput: \"KeyType\""
                .into(),
        )
    })?;
    // The skeleton (`--generate-cli-skeleton`) has `"KeyARN": ""`: left empty, it is absent.
    let key_arn = text("KeyARN")?.filter(|arn| !arn.is_empty());
    let parsed = KeyType::parse(key_type).filter(|t| *t != KeyType::None);
    match (parsed, key_arn) {
        (Some(KeyType::AwsOwned), None) => Ok(KeyChoice::AwsOwned),
        (Some(KeyType::AwsOwned), Some(_)) => Err(UsageError::new(
            "KeyARN is given with KeyType AWS_OWNED_CMK: an AWS-owned key has no ARN (use \
             CUSTOMER_MANAGED_CMK for a key of yours)",
        )),
        (Some(KeyType::CustomerManaged), None) => Err(UsageError::new(
            "KeyType CUSTOMER_MANAGED_CMK needs the key's KeyARN \
             (arn:aws:kms:<region>:<account>:key/<key-id>)",
        )),
        (Some(KeyType::CustomerManaged), Some(arn)) => KmsKeyArn::parse(arn)
            .map(KeyChoice::Customer)
            .map_err(|e| UsageError::new(format!("KeyARN {arn:?}: {}", e.as_key_problem()))),
        _ => Err(UsageError::new(format!(
            "KeyType {key_type:?} is not one of AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK"
        ))),
    }
}

#[cfg(test)]
mod tests;
