//! A Terraform state as `terraform show -json` writes it (Terraform's JSON output format,
//! `format_version` 1.x): `values.root_module` with its `resources` and, recursively, its
//! `child_modules`; each resource with `address`, `mode` (`managed` or `data`), `type` and
//! `values` (its attributes). The streams are the managed `aws_kinesis_firehose_delivery_stream`
//! resources: `values.name`, `values.arn`, and `values.server_side_encryption`, a list of at
//! most one block `{enabled, key_type, key_arn}` (the AWS provider's schema: `enabled` default
//! false, `key_type` `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`, default `AWS_OWNED_CMK`).

use serde_json::{Value, json};

use crate::model::KeyChoice;

/// The resource type of a Firehose stream in the AWS provider.
pub const RESOURCE_TYPE: &str = "aws_kinesis_firehose_delivery_stream";

/// A stream a Terraform state manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TfStream {
    /// Its address, e.g. `module.ingest.aws_kinesis_firehose_delivery_stream.this[0]`.
    pub address: String,
    /// The state file it was read from.
    pub state: String,
    pub name: String,
    pub arn: Option<String>,
    /// Its `server_side_encryption` block (`None`: the state has none).
    pub sse: Option<TfSse>,
}

/// A `server_side_encryption` block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfSse {
    pub enabled: bool,
    pub key_type: String,
    pub key_arn: Option<String>,
}

impl TfSse {
    /// Whether the block says `target`.
    pub fn is(&self, target: &KeyChoice) -> bool {
        match target {
            KeyChoice::Off => !self.enabled,
            KeyChoice::AwsOwned => self.enabled && self.key_type == "AWS_OWNED_CMK",
            KeyChoice::Customer(arn) => {
                self.enabled
                    && self.key_type == "CUSTOMER_MANAGED_CMK"
                    && self.key_arn.as_deref() == Some(arn.as_str())
            }
        }
    }

    /// `DISABLED`, `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK <arn>`.
    pub fn describe(&self) -> String {
        match (self.enabled, self.key_arn.as_deref()) {
            (false, _) => "DISABLED".to_owned(),
            (true, Some(arn)) if self.key_type == "CUSTOMER_MANAGED_CMK" => {
                format!("CUSTOMER_MANAGED_CMK {arn}")
            }
            (true, _) => self.key_type.clone(),
        }
    }

    pub fn json(&self) -> Value {
        json!({"enabled": self.enabled, "key_type": self.key_type, "key_arn": self.key_arn})
    }
}

/// The streams of the state `text` (from the file `path`), or what is wrong with it.
pub fn read_state(text: &str, path: &str) -> Result<Vec<TfStream>, String> {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        format!("{path} is not JSON ({e}): give the output of `terraform show -json`")
    })?;
    let version = doc
        .get("format_version")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!(
                "{path} has no format_version: it is not the JSON of `terraform show -json` (a raw \
                 .tfstate file is not read; run `terraform show -json > state.json`)"
            )
        })?;
    if version.split('.').next() != Some("1") {
        return Err(format!(
            "{path}: format_version {version} is not one this tool reads (1.x)"
        ));
    }
    let mut out = Vec::new();
    // A state with no resources has no `values` at all.
    if let Some(root) = doc.pointer("/values/root_module") {
        walk(root, path, &mut out)?;
    }
    Ok(out)
}

fn walk(module: &Value, path: &str, out: &mut Vec<TfStream>) -> Result<(), String> {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |name: &str| r.get(name).and_then(Value::as_str);
        if field("type") != Some(RESOURCE_TYPE) || field("mode") != Some("managed") {
            continue;
        }
        let address = field("address").unwrap_or("?").to_owned();
        let values = r.get("values").unwrap_or(&Value::Null);
        let text = |name: &str| {
            values
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let name = text("name").ok_or_else(|| format!("{path}: {address} has no values.name"))?;
        let sse = values
            .get("server_side_encryption")
            .and_then(Value::as_array)
            .and_then(|blocks| blocks.first())
            .map(|b| TfSse {
                enabled: b.get("enabled").and_then(Value::as_bool).unwrap_or(false),
                key_type: b
                    .get("key_type")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("AWS_OWNED_CMK")
                    .to_owned(),
                key_arn: b
                    .get("key_arn")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            });
        out.push(TfStream {
            address,
            state: path.to_owned(),
            name,
            arn: text("arn"),
            sse,
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk(child, path, out)?;
    }
    Ok(())
}
