//! Validating the fleet's header and rows: which column is which (the AWS spellings
//! accepted), a stream name or ARN, a region, a key ARN and key type that agree, and no stream
//! twice. Every problem of a row is collected; a row with any yields no target.

use std::collections::HashMap;

use super::Target;
use super::problems::Problem;
use crate::model::Interner;
use crate::model::{
    FirehoseArn, KeyChoice, KeyType, KmsKeyArn, is_valid_region, is_valid_stream_name,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Stream,
    Region,
    /// The stream's account (12 digits), when the stream is a name.
    Account,
    KeyArn,
    KeyType,
    /// A column with no name in the header, as spreadsheet programs add after the last
    /// column: ignored while every row leaves it empty.
    Unnamed,
}

impl Column {
    fn from_header(name: &str) -> Option<Column> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "" => Some(Column::Unnamed),
            "stream" | "deliverystreamname" | "stream_name" => Some(Column::Stream),
            "region" => Some(Column::Region),
            "account" | "account_id" | "accountid" => Some(Column::Account),
            "key_arn" | "keyarn" => Some(Column::KeyArn),
            "key_type" | "keytype" => Some(Column::KeyType),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Column::Stream => "stream",
            Column::Region => "region",
            Column::Account => "account",
            Column::KeyArn => "key_arn",
            Column::KeyType => "key_type",
            Column::Unnamed => "(unnamed)",
        }
    }
}

pub(super) const ACCEPTED: &str = "stream (or DeliveryStreamName), region, account, key_arn \
     (or KeyARN), key_type (or KeyType)";

pub(super) fn has_duplicate_columns(columns: &[Option<Column>]) -> bool {
    let known: Vec<Column> = columns
        .iter()
        .flatten()
        .copied()
        .filter(|c| *c != Column::Unnamed)
        .collect();
    known
        .iter()
        .enumerate()
        .any(|(i, c)| known[..i].contains(c))
}

pub(super) fn header(
    fields: &[String],
    line: u64,
    problems: &mut Vec<Problem>,
) -> Vec<Option<Column>> {
    let mut seen: HashMap<&'static str, usize> = HashMap::new();
    let mut columns = Vec::with_capacity(fields.len());
    for (i, name) in fields.iter().enumerate() {
        let column = Column::from_header(name);
        match column {
            None => problems.push(Problem {
                line: Some(line),
                column: Some(format!("#{}", i + 1)),
                value: Some(name.clone()),
                message: format!("unknown column; accepted columns are {ACCEPTED}"),
            }),
            Some(Column::Unnamed) => {}
            Some(c) => {
                if let Some(first) = seen.insert(c.name(), i) {
                    problems.push(Problem {
                        line: Some(line),
                        column: Some(format!("#{}", i + 1)),
                        value: Some(name.clone()),
                        message: format!(
                            "column {} appears twice (also column #{})",
                            c.name(),
                            first + 1
                        ),
                    });
                }
            }
        }
        columns.push(column);
    }
    if !columns.contains(&Some(Column::Stream)) {
        problems.push(Problem {
            line: Some(line),
            column: None,
            value: Some(fields.join(",")),
            message: format!(
                "no stream column in the header (the first row); accepted columns are {ACCEPTED}"
            ),
        });
    }
    columns
}

pub(super) fn row(
    columns: &[Option<Column>],
    line: u64,
    fields: &[String],
    default_region: Option<&str>,
    names: &mut Interner,
    problems: &mut Vec<Problem>,
) -> Option<Target> {
    let before = problems.len();
    if fields.len() != columns.len() {
        problems.push(Problem {
            line: Some(line),
            column: None,
            value: None,
            message: format!(
                "{} fields, but the header has {}",
                fields.len(),
                columns.len()
            ),
        });
        return None;
    }
    // A column without a name is ignored only while it is empty.
    for (i, value) in fields.iter().enumerate() {
        if columns[i] == Some(Column::Unnamed) && !value.is_empty() {
            problems.push(Problem {
                line: Some(line),
                column: Some(format!("#{}", i + 1)),
                value: Some(value.clone()),
                message: format!(
                    "a value in column #{}, which has no name in the header: name it \
                     (accepted columns are {ACCEPTED}) or leave it empty",
                    i + 1
                ),
            });
        }
    }
    let mut problem = |column: Column, value: &str, message: String| {
        problems.push(Problem {
            line: Some(line),
            column: Some(column.name().into()),
            value: Some(value.to_owned()),
            message,
        });
    };
    let get = |want: Column| {
        columns
            .iter()
            .position(|c| *c == Some(want))
            .map(|i| fields[i].as_str())
            .unwrap_or("")
    };

    // Stream: a name or a Firehose ARN.
    let stream = get(Column::Stream);
    let mut name = None;
    let mut arn_region = None;
    let mut account = None;
    if stream.is_empty() {
        problem(Column::Stream, stream, "stream is empty".into());
    } else if stream.starts_with("arn:") {
        match FirehoseArn::parse(stream) {
            Ok(arn) => {
                name = Some(arn.name);
                arn_region = Some(arn.region);
                account = Some(arn.account);
            }
            Err(e) => problem(
                Column::Stream,
                stream,
                format!("malformed Firehose ARN: {e}"),
            ),
        }
    } else if is_valid_stream_name(stream) {
        name = Some(stream.to_owned());
    } else {
        problem(
            Column::Stream,
            stream,
            "not a stream name: 1-64 characters of a-z A-Z 0-9 _ . - (or a Firehose ARN)".into(),
        );
    }

    // Account: the column, else the ARN's; both must agree.
    let column_account = get(Column::Account);
    if !column_account.is_empty() {
        if column_account.len() != 12 || !column_account.bytes().all(|b| b.is_ascii_digit()) {
            problem(
                Column::Account,
                column_account,
                "not an AWS account id (12 digits)".into(),
            );
        } else if let Some(from_arn) = account.as_deref().filter(|a| *a != column_account) {
            problem(
                Column::Account,
                column_account,
                format!(
                    "the stream ARN is in account {from_arn}, the account column says \
                     {column_account}"
                ),
            );
        } else {
            account = Some(column_account.to_owned());
        }
    }

    // Region: column, else the ARN's, else the default.
    let column_region = get(Column::Region);
    let mut region = None;
    if !column_region.is_empty() {
        if !is_valid_region(column_region) {
            problem(
                Column::Region,
                column_region,
                "malformed region (expected e.g. us-east-1)".into(),
            );
        } else if let Some(from_arn) = arn_region.as_deref().filter(|r| *r != column_region) {
            problem(
                Column::Region,
                column_region,
                format!(
                    "the stream ARN is in region {from_arn}, the region column says {column_region}"
                ),
            );
        } else {
            region = Some(column_region.to_owned());
        }
    } else if let Some(r) = arn_region {
        region = Some(r);
    } else if let Some(r) = default_region {
        if is_valid_region(r) {
            region = Some(r.to_owned());
        } else {
            problem(
                Column::Region,
                r,
                "malformed default region (from --region or AWS_REGION)".into(),
            );
        }
    } else if name.is_some() {
        problem(
            Column::Region,
            "",
            "no region: add a region column, give the stream as an ARN, or pass --region".into(),
        );
    }

    // Key: ARN and type must agree.
    let key_arn_text = get(Column::KeyArn);
    let mut key_arn = None;
    let mut key_ok = true;
    if !key_arn_text.is_empty() {
        match KmsKeyArn::parse(key_arn_text) {
            Ok(arn) => {
                if let Some(r) = region.as_deref().filter(|r| *r != arn.region()) {
                    key_ok = false;
                    problem(
                        Column::KeyArn,
                        key_arn_text,
                        format!(
                            "the key is in region {} but the stream is in {r}: KMS keys are regional, use a key of the stream's region",
                            arn.region()
                        ),
                    );
                }
                key_arn = Some(arn);
            }
            Err(e) => {
                key_ok = false;
                problem(Column::KeyArn, key_arn_text, e.as_key_problem());
            }
        }
    }
    let key_type_text = get(Column::KeyType);
    let key = if key_type_text.is_empty() {
        Some(
            key_arn
                .clone()
                .map_or(KeyChoice::AwsOwned, KeyChoice::Customer),
        )
    } else {
        match (KeyType::parse(key_type_text), key_arn.clone()) {
            (None, _) => {
                problem(
                    Column::KeyType,
                    key_type_text,
                    format!(
                        "unknown key type; expected {}, {} or {} (encryption off)",
                        KeyType::AWS_OWNED,
                        KeyType::CUSTOMER_MANAGED,
                        KeyType::NONE
                    ),
                );
                None
            }
            (Some(KeyType::AwsOwned), None) if key_arn_text.is_empty() => Some(KeyChoice::AwsOwned),
            (Some(KeyType::AwsOwned), _) => {
                problem(
                    Column::KeyType,
                    key_type_text,
                    "AWS_OWNED_CMK takes no key ARN: empty key_arn, or use CUSTOMER_MANAGED_CMK"
                        .into(),
                );
                None
            }
            (Some(KeyType::CustomerManaged), Some(arn)) => Some(KeyChoice::Customer(arn)),
            (Some(KeyType::None), None) if key_arn_text.is_empty() => Some(KeyChoice::Off),
            (Some(KeyType::None), _) => {
                problem(
                    Column::KeyType,
                    key_type_text,
                    "NONE (encryption off) takes no key ARN: empty key_arn".into(),
                );
                None
            }
            (Some(KeyType::CustomerManaged), None) => {
                if key_arn_text.is_empty() {
                    problem(
                        Column::KeyType,
                        key_type_text,
                        "CUSTOMER_MANAGED_CMK needs a key ARN in the key_arn column".into(),
                    );
                }
                None
            }
        }
    };

    if problems.len() != before || !key_ok {
        return None;
    }
    Some(Target {
        line,
        name: name?,
        region: names.get(&region?),
        account: account.map(|a| names.get(&a)),
        key: key?,
        expect: None,
    })
}

/// The same stream (account, region, name) twice, naming every line it appears on. A row
/// without an account (a plain name) matches a row with one: both name the stream the
/// credentials' account holds.
pub(super) fn duplicates(targets: &[Target], problems: &mut Vec<Problem>) {
    let mut by_name: HashMap<(&str, &str), Vec<&Target>> = HashMap::new();
    for t in targets {
        by_name
            .entry((&*t.region, t.name.as_str()))
            .or_default()
            .push(t);
    }
    let mut found = Vec::new();
    for group in by_name.values().filter(|g| g.len() > 1) {
        for (i, later) in group.iter().enumerate().skip(1) {
            let same = group[..i]
                .iter()
                .find(|earlier| match (&earlier.account, &later.account) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                });
            if let Some(first) = same {
                found.push(Problem {
                    line: Some(later.line),
                    column: Some("stream".into()),
                    value: Some(later.name.clone()),
                    message: format!(
                        "stream {} in {} appears twice: lines {} and {}",
                        later.name, later.region, first.line, later.line
                    ),
                });
            }
        }
    }
    found.sort_by_key(|p| p.line);
    problems.extend(found);
}
