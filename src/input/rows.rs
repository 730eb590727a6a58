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

/// One row being checked: its fields by column, and where its problems go.
struct RowCheck<'a> {
    columns: &'a [Option<Column>],
    fields: &'a [String],
    line: u64,
    problems: &'a mut Vec<Problem>,
}

/// What the stream column says: a name, and from an ARN its region and account.
#[derive(Default)]
struct StreamField {
    name: Option<String>,
    arn_region: Option<String>,
    arn_account: Option<String>,
}

impl RowCheck<'_> {
    fn get(&self, want: Column) -> &str {
        self.columns
            .iter()
            .position(|c| *c == Some(want))
            .map(|i| self.fields[i].as_str())
            .unwrap_or("")
    }

    fn problem(&mut self, column: Column, value: &str, message: String) {
        self.problems.push(Problem {
            line: Some(self.line),
            column: Some(column.name().into()),
            value: Some(value.to_owned()),
            message,
        });
    }

    /// As many fields as the header has columns, and nothing under a column without a name.
    fn shape(&mut self) -> bool {
        if self.fields.len() != self.columns.len() {
            self.problems.push(Problem {
                line: Some(self.line),
                column: None,
                value: None,
                message: format!(
                    "{} fields, but the header has {}",
                    self.fields.len(),
                    self.columns.len()
                ),
            });
            return false;
        }
        // A column without a name is ignored only while it is empty.
        for (i, value) in self.fields.iter().enumerate() {
            if self.columns[i] == Some(Column::Unnamed) && !value.is_empty() {
                self.problems.push(Problem {
                    line: Some(self.line),
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
        true
    }

    /// Stream: a name or a Firehose ARN.
    fn stream(&mut self) -> StreamField {
        let stream = self.get(Column::Stream).to_owned();
        if stream.is_empty() {
            self.problem(Column::Stream, &stream, "stream is empty".into());
            return StreamField::default();
        }
        if stream.starts_with("arn:") {
            return match FirehoseArn::parse(&stream) {
                Ok(arn) => StreamField {
                    name: Some(arn.name),
                    arn_region: Some(arn.region),
                    arn_account: Some(arn.account),
                },
                Err(e) => {
                    self.problem(
                        Column::Stream,
                        &stream,
                        format!("malformed Firehose ARN: {e}"),
                    );
                    StreamField::default()
                }
            };
        }
        if is_valid_stream_name(&stream) {
            return StreamField {
                name: Some(stream),
                ..StreamField::default()
            };
        }
        self.problem(
            Column::Stream,
            &stream,
            "not a stream name: 1-64 characters of a-z A-Z 0-9 _ . - (or a Firehose ARN)".into(),
        );
        StreamField::default()
    }

    /// Account: the column, else the ARN's; both must agree.
    fn account(&mut self, from_arn: Option<String>) -> Option<String> {
        let column = self.get(Column::Account).to_owned();
        if column.is_empty() {
            return from_arn;
        }
        if column.len() != 12 || !column.bytes().all(|b| b.is_ascii_digit()) {
            self.problem(
                Column::Account,
                &column,
                "not an AWS account id (12 digits)".into(),
            );
            return from_arn;
        }
        if let Some(arn) = from_arn.as_deref().filter(|a| *a != column) {
            let message =
                format!("the stream ARN is in account {arn}, the account column says {column}");
            self.problem(Column::Account, &column, message);
            return from_arn;
        }
        Some(column)
    }

    /// Region: the column, else the ARN's, else the default.
    fn region(
        &mut self,
        from_arn: Option<String>,
        default_region: Option<&str>,
        named: bool,
    ) -> Option<String> {
        let column = self.get(Column::Region).to_owned();
        if !column.is_empty() {
            if !is_valid_region(&column) {
                self.problem(
                    Column::Region,
                    &column,
                    "malformed region (expected e.g. us-east-1)".into(),
                );
                return None;
            }
            if let Some(arn) = from_arn.as_deref().filter(|r| *r != column) {
                let message =
                    format!("the stream ARN is in region {arn}, the region column says {column}");
                self.problem(Column::Region, &column, message);
                return None;
            }
            return Some(column);
        }
        if from_arn.is_some() {
            return from_arn;
        }
        match default_region {
            Some(r) if is_valid_region(r) => Some(r.to_owned()),
            Some(r) => {
                self.problem(
                    Column::Region,
                    r,
                    "malformed default region (from --region or AWS_REGION)".into(),
                );
                None
            }
            None => {
                if named {
                    self.problem(
                        Column::Region,
                        "",
                        "no region: add a region column, give the stream as an ARN, or pass \
                         --region"
                            .into(),
                    );
                }
                None
            }
        }
    }

    /// Key: the ARN (of the stream's region) and the type must agree. `None` with a problem
    /// recorded when they do not.
    fn key(&mut self, region: Option<&str>) -> Option<KeyChoice> {
        let arn_text = self.get(Column::KeyArn).to_owned();
        let mut key_arn = None;
        if !arn_text.is_empty() {
            match KmsKeyArn::parse(&arn_text) {
                Ok(arn) => {
                    if let Some(r) = region.filter(|r| *r != arn.region()) {
                        let message = format!(
                            "the key is in region {} but the stream is in {r}: KMS keys are \
                             regional, use a key of the stream's region",
                            arn.region()
                        );
                        self.problem(Column::KeyArn, &arn_text, message);
                        return None;
                    }
                    key_arn = Some(arn);
                }
                Err(e) => {
                    self.problem(Column::KeyArn, &arn_text, e.as_key_problem());
                    return None;
                }
            }
        }
        let type_text = self.get(Column::KeyType).to_owned();
        if type_text.is_empty() {
            return Some(key_arn.map_or(KeyChoice::AwsOwned, KeyChoice::Customer));
        }
        let refuse = |check: &mut Self, message: String| {
            check.problem(Column::KeyType, &type_text, message);
            None
        };
        match (KeyType::parse(&type_text), key_arn) {
            (None, _) => refuse(
                self,
                format!(
                    "unknown key type; expected {}, {} or {} (encryption off)",
                    KeyType::AWS_OWNED,
                    KeyType::CUSTOMER_MANAGED,
                    KeyType::NONE
                ),
            ),
            (Some(KeyType::AwsOwned), None) => Some(KeyChoice::AwsOwned),
            (Some(KeyType::AwsOwned), Some(_)) => refuse(
                self,
                "AWS_OWNED_CMK takes no key ARN: empty key_arn, or use CUSTOMER_MANAGED_CMK".into(),
            ),
            (Some(KeyType::CustomerManaged), Some(arn)) => Some(KeyChoice::Customer(arn)),
            (Some(KeyType::None), None) => Some(KeyChoice::Off),
            (Some(KeyType::None), Some(_)) => refuse(
                self,
                "NONE (encryption off) takes no key ARN: empty key_arn".into(),
            ),
            (Some(KeyType::CustomerManaged), None) => refuse(
                self,
                "CUSTOMER_MANAGED_CMK needs a key ARN in the key_arn column".into(),
            ),
        }
    }
}

/// One row checked into a target, or `None` with every problem it has recorded.
pub(super) fn row(
    columns: &[Option<Column>],
    line: u64,
    fields: &[String],
    default_region: Option<&str>,
    names: &mut Interner,
    problems: &mut Vec<Problem>,
) -> Option<Target> {
    let before = problems.len();
    let mut check = RowCheck {
        columns,
        fields,
        line,
        problems,
    };
    if !check.shape() {
        return None;
    }
    let stream = check.stream();
    let account = check.account(stream.arn_account);
    let region = check.region(stream.arn_region, default_region, stream.name.is_some());
    let key = check.key(region.as_deref());
    if problems.len() != before {
        return None;
    }
    Some(Target {
        line,
        name: stream.name?,
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
