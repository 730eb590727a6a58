//! The fleet CSV reader: raw rows become validated [`Target`]s, or every problem in the file is
//! reported at once (line, column, value, reason) before anything is sent or written.
//!
//! Columns (header names are case-insensitive; the AWS spellings are accepted too):
//! `stream` / `DeliveryStreamName` (name or Firehose ARN, required), `region`,
//! `key_arn` / `KeyARN`, `key_type` / `KeyType`. UTF-8 with or without BOM, LF or CRLF, quoted
//! fields, surrounding whitespace, blank lines and `#` comment lines are all accepted.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::model::{
    FirehoseArn, KeyChoice, KeyType, KmsKeyArn, is_valid_region, is_valid_stream_name,
};

/// One stream of the fleet and the key it should be encrypted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Line of the fleet file the row starts on (1-based, the header is line 1).
    pub line: u64,
    pub name: String,
    pub region: String,
    /// Known only when the row gives a stream ARN; otherwise the credentials' account.
    pub account: Option<String>,
    pub key: KeyChoice,
}

/// How many problems are printed before the rest are only counted.
pub const MAX_SHOWN: usize = 50;

/// One problem of a fleet file. `line` is `None` for problems of the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<u64>,
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
}

/// Every problem found in a fleet file; displayed as a list, at most [`MAX_SHOWN`] of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FleetErrors {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for FleetErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{} in the fleet file, nothing was sent",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems.iter().take(MAX_SHOWN) {
            write!(f, "\n  ")?;
            if let Some(line) = p.line {
                write!(f, "line {line}")?;
            } else {
                write!(f, "file")?;
            }
            if let Some(column) = &p.column {
                write!(f, ", column {column}")?;
            }
            if let Some(value) = &p.value {
                write!(f, ", value {}", shown(value))?;
            }
            write!(f, ": {}", p.message)?;
        }
        if n > MAX_SHOWN {
            write!(f, "\n  ... and {} more", n - MAX_SHOWN)?;
        }
        Ok(())
    }
}

/// A value as shown in an error: quoted and escaped (so NULs and look-alikes are visible),
/// and cut short when long.
fn shown(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Stream,
    Region,
    KeyArn,
    KeyType,
}

impl Column {
    fn from_header(name: &str) -> Option<Column> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "stream" | "deliverystreamname" | "stream_name" => Some(Column::Stream),
            "region" => Some(Column::Region),
            "key_arn" | "keyarn" => Some(Column::KeyArn),
            "key_type" | "keytype" => Some(Column::KeyType),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Column::Stream => "stream",
            Column::Region => "region",
            Column::KeyArn => "key_arn",
            Column::KeyType => "key_type",
        }
    }
}

const ACCEPTED: &str =
    "stream (or DeliveryStreamName), region, key_arn (or KeyARN), key_type (or KeyType)";

/// Reads and validates a fleet file. `default_region` applies to rows that give no region
/// (neither a region column nor a stream ARN).
pub fn read_fleet(path: &Path, default_region: Option<&str>) -> Result<Vec<Target>, FleetErrors> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| FleetErrors {
        file: file.clone(),
        problems: vec![file_problem(format!("cannot read the file: {e}"))],
    })?;
    parse_fleet(&bytes, default_region).map_err(|problems| FleetErrors { file, problems })
}

fn file_problem(message: impl Into<String>) -> Problem {
    Problem {
        line: None,
        column: None,
        value: None,
        message: message.into(),
    }
}

/// Validates a fleet file's bytes; on failure returns every problem found.
pub fn parse_fleet(
    bytes: &[u8],
    default_region: Option<&str>,
) -> Result<Vec<Target>, Vec<Problem>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(vec![file_problem(
            "the file is UTF-16; save it as UTF-8 (CSV UTF-8 in spreadsheet programs)",
        )]);
    }
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    // The csv crate's own comment handling miscounts line numbers, so comment lines are blanked
    // here (their newlines kept) and line numbers are computed from byte offsets.
    let bytes = blank_comment_lines(bytes);
    let lines = LineIndex::new(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());

    let mut problems = Vec::new();
    let mut records = reader.byte_records();
    let mut columns: Option<(Vec<Option<Column>>, u64)> = None;
    // Rows are checked as they are read (the header comes first): a large fleet is not held
    // twice, as text fields and as targets.
    let mut header_ok = false;
    let mut rows = 0usize;
    // At most one target per line after the header.
    let mut targets = Vec::with_capacity(lines.newlines.len());

    for record in &mut records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| lines.line_of(p.byte()));
                problems.push(Problem {
                    line,
                    column: None,
                    value: None,
                    message: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_of(p.byte()));
        if is_blank_or_comment(&record) {
            continue;
        }
        let mut fields = Vec::with_capacity(record.len());
        let mut utf8_ok = true;
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(text) => fields.push(text.to_owned()),
                Err(_) => {
                    utf8_ok = false;
                    problems.push(Problem {
                        line: Some(line),
                        column: None,
                        value: Some(String::from_utf8_lossy(field).into_owned()),
                        message: "not valid UTF-8: save the file as UTF-8".into(),
                    });
                    break;
                }
            }
        }
        if !utf8_ok {
            continue;
        }
        match &columns {
            None => {
                let cols = header(&fields, line, &mut problems);
                // Without a single stream column no row can be read: only the header is
                // reported.
                header_ok = cols.contains(&Some(Column::Stream)) && !has_duplicate_columns(&cols);
                columns = Some((cols, line));
            }
            Some((cols, _)) => {
                rows += 1;
                if header_ok
                    && let Some(target) = row(cols, line, &fields, default_region, &mut problems)
                {
                    targets.push(target);
                }
            }
        }
    }

    let Some((_, header_line)) = columns else {
        problems.push(file_problem(format!(
            "the file is empty: expected a header row with {ACCEPTED}"
        )));
        return Err(problems);
    };
    if rows == 0 && problems.is_empty() {
        problems.push(Problem {
            line: Some(header_line),
            column: None,
            value: None,
            message: "the file has a header but no streams".into(),
        });
    }
    if !header_ok {
        return Err(problems);
    }
    duplicates(&targets, &mut problems);
    if problems.is_empty() {
        Ok(targets)
    } else {
        Err(problems)
    }
}

fn has_duplicate_columns(columns: &[Option<Column>]) -> bool {
    let known: Vec<Column> = columns.iter().flatten().copied().collect();
    known
        .iter()
        .enumerate()
        .any(|(i, c)| known[..i].contains(c))
}

fn is_blank_or_comment(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.is_empty())
}

/// Replaces the text of every line whose first non-blank character is `#` with spaces.
fn blank_comment_lines(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for line in out.split_mut(|b| *b == b'\n') {
        let text_start = line.iter().position(|b| !matches!(b, b' ' | b'\t'));
        if text_start.is_some_and(|i| line[i] == b'#') {
            line.iter_mut()
                .filter(|b| **b != b'\r')
                .for_each(|b| *b = b' ');
        }
    }
    out
}

/// Maps byte offsets to 1-based line numbers. The csv reader reports a record at the end of the
/// previous one, before the blank lines it skipped, so those are skipped here too.
struct LineIndex<'a> {
    bytes: &'a [u8],
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let newlines = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i)
            .collect();
        LineIndex { bytes, newlines }
    }

    fn line_of(&self, offset: u64) -> u64 {
        let mut at = offset as usize;
        while at < self.bytes.len() && matches!(self.bytes[at], b'\r' | b'\n') {
            at += 1;
        }
        1 + self.newlines.partition_point(|&nl| nl < at) as u64
    }
}

fn header(fields: &[String], line: u64, problems: &mut Vec<Problem>) -> Vec<Option<Column>> {
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

fn row(
    columns: &[Option<Column>],
    line: u64,
    fields: &[String],
    default_region: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Target> {
    let before = problems.len();
    let mut problem = |column: Column, value: &str, message: String| {
        problems.push(Problem {
            line: Some(line),
            column: Some(column.name().into()),
            value: Some(value.to_owned()),
            message,
        });
    };
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
                problem(
                    Column::KeyArn,
                    key_arn_text,
                    format!("not a KMS key ARN: {e}"),
                );
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
                        "unknown key type; expected {} or {}",
                        KeyType::AWS_OWNED,
                        KeyType::CUSTOMER_MANAGED
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
        region: region?,
        account,
        key: key?,
    })
}

/// The same stream (account, region, name) twice, naming every line it appears on. A row
/// without an account (a plain name) matches a row with one: both name the stream the
/// credentials' account holds.
fn duplicates(targets: &[Target], problems: &mut Vec<Problem>) {
    let mut by_name: HashMap<(&str, &str), Vec<&Target>> = HashMap::new();
    for t in targets {
        by_name
            .entry((t.region.as_str(), t.name.as_str()))
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn ok(text: &str) -> Vec<Target> {
        parse_fleet(text.as_bytes(), None).unwrap_or_else(|p| panic!("{p:#?}"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        problems_with(text.as_bytes(), None)
    }

    fn problems_with(bytes: &[u8], default_region: Option<&str>) -> Vec<Problem> {
        parse_fleet(bytes, default_region).expect_err("expected problems")
    }

    fn one(text: &str) -> Problem {
        let mut p = problems(text);
        assert_eq!(p.len(), 1, "{p:#?}");
        p.remove(0)
    }

    #[test]
    fn reads_names_arns_and_both_key_types() {
        let text = format!(
            "stream,region,key_arn,key_type\n\
             orders,us-east-1,,\n\
             arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks,,{KEY},\n\
             logs,us-east-1,{KEY},CUSTOMER_MANAGED_CMK\n\
             audit,us-east-1,,aws_owned_cmk\n"
        );
        let t = ok(&text);
        assert_eq!(t.len(), 4);
        assert_eq!(
            t[0],
            Target {
                line: 2,
                name: "orders".into(),
                region: "us-east-1".into(),
                account: None,
                key: KeyChoice::AwsOwned
            }
        );
        assert_eq!(t[1].name, "clicks");
        assert_eq!(t[1].account.as_deref(), Some("123456789012"));
        assert_eq!(
            t[1].key,
            KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap())
        );
        assert_eq!(t[2].key.key_type(), KeyType::CustomerManaged);
        assert_eq!(t[3].key, KeyChoice::AwsOwned);
    }

    #[test]
    fn aws_spellings_any_case() {
        let t = ok(&format!(
            "DeliveryStreamName,REGION,KeyARN,KeyType\nlogs,us-east-1,{KEY},CUSTOMER_MANAGED_CMK\n"
        ));
        assert_eq!(t[0].name, "logs");
        assert_eq!(t[0].key.key_type(), KeyType::CustomerManaged);
    }

    #[test]
    fn tolerates_bom_crlf_quotes_whitespace_blank_and_comment_lines() {
        let text = "\u{FEFF}# fleet for prod\r\n stream , region \r\n\r\n\"orders\" ,  us-east-1\r\n# a comment\r\n   \r\n\" logs \",us-east-1\r\n";
        let t = ok(text);
        assert_eq!(
            t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["orders", "logs"]
        );
        assert_eq!(t[0].line, 4);
        assert_eq!(t[1].line, 7);
    }

    #[test]
    fn missing_stream_column() {
        let all = problems("name,region\nx,us-east-1\n");
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(all[0].message.contains("unknown column"));
        assert!(all[1].message.contains("no stream column"));
        let all = problems("region\nus-east-1\n");
        assert!(
            all.iter().any(|p| p.message.contains("no stream column")),
            "{all:#?}"
        );
    }

    #[test]
    fn unknown_columns_list_the_accepted_ones() {
        let all = problems("stream,region,owner\nx,us-east-1,me\nbad name,us-east-1,you\n");
        assert_eq!(all.len(), 2, "{all:#?}");
        assert_eq!(all[1].line, Some(3), "rows are still checked: {all:#?}");
        assert_eq!(all[0].value.as_deref(), Some("owner"));
        assert_eq!(all[0].column.as_deref(), Some("#3"));
        assert!(
            all[0].message.contains("DeliveryStreamName"),
            "{}",
            all[0].message
        );
    }

    #[test]
    fn empty_file_and_header_only() {
        assert!(one("").message.contains("empty"));
        assert!(one("# only a comment\n\n").message.contains("empty"));
        let p = one("stream,region\n");
        assert_eq!(p.line, Some(1));
        assert!(p.message.contains("no streams"));
    }

    #[test]
    fn bad_stream_names() {
        for bad in [
            "has space",
            "ѕtream",
            "=cmd|' /C calc'!A0",
            &"x".repeat(65),
            "a/b",
        ] {
            let p = one(&format!("stream,region\n\"{bad}\",us-east-1\n"));
            assert_eq!(
                (p.line, p.column.as_deref(), p.value.as_deref()),
                (Some(2), Some("stream"), Some(bad))
            );
            assert!(p.message.contains("not a stream name"), "{}", p.message);
        }
        assert!(
            one("stream,region\n\"\",us-east-1\n")
                .message
                .contains("empty")
        );
    }

    #[test]
    fn malformed_firehose_arns() {
        for bad in [
            "arn:aws:firehose:us-east-1:12345:deliverystream/x",
            "arn:aws:kinesis:us-east-1:123456789012:stream/x",
            "arn:aws:firehose:us-east-1:123456789012:x",
            "arn:aws:firehose",
        ] {
            let p = one(&format!("stream\n{bad}\n"));
            assert_eq!(p.column.as_deref(), Some("stream"));
            assert!(
                p.message.contains("malformed Firehose ARN"),
                "{}",
                p.message
            );
        }
    }

    #[test]
    fn region_missing_malformed_or_contradicting_the_arn() {
        let p = one("stream\norders\n");
        assert!(p.message.contains("no region"), "{}", p.message);
        let t = parse_fleet(b"stream\norders\n", Some("eu-west-1")).unwrap();
        assert_eq!(t[0].region, "eu-west-1");
        let p = one("stream,region\norders,US-East-1\n");
        assert!(p.message.contains("malformed region"), "{}", p.message);
        let p = one(
            "stream,region\narn:aws:firehose:us-east-1:123456789012:deliverystream/x,eu-west-1\n",
        );
        assert!(
            p.message.contains("ARN is in region us-east-1"),
            "{}",
            p.message
        );
        let p = problems_with(b"stream\norders\n", Some("nowhere")).remove(0);
        assert!(
            p.message.contains("malformed default region"),
            "{}",
            p.message
        );
    }

    #[test]
    fn key_arns_and_aliases() {
        let p = one(
            "stream,region,key_arn\nx,us-east-1,arn:aws:kms:us-east-1:123456789012:alias/prod\n",
        );
        assert!(
            p.message.contains("alias") && p.message.contains("key ARN"),
            "{}",
            p.message
        );
        for bad in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:1234:key/abc",
            "arn:aws:s3:::bucket",
            "arn:aws:kms:us-east-1:123456789012:key/",
        ] {
            let p = one(&format!("stream,region,key_arn\nx,us-east-1,{bad}\n"));
            assert_eq!(p.column.as_deref(), Some("key_arn"));
            assert!(
                p.message.contains("not a KMS key ARN"),
                "{bad}: {}",
                p.message
            );
        }
    }

    #[test]
    fn key_in_another_region() {
        let p = one(&format!("stream,region,key_arn\nx,eu-west-1,{KEY}\n"));
        assert!(p.message.contains("KMS keys are regional"), "{}", p.message);
    }

    #[test]
    fn key_type_rules() {
        let p = one("stream,region,key_type\nx,us-east-1,SYMMETRIC\n");
        assert!(p.message.contains("unknown key type"), "{}", p.message);
        let p = one("stream,region,key_type\nx,us-east-1,CUSTOMER_MANAGED_CMK\n");
        assert!(p.message.contains("needs a key ARN"), "{}", p.message);
        let p = one(&format!(
            "stream,region,key_arn,key_type\nx,us-east-1,{KEY},AWS_OWNED_CMK\n"
        ));
        assert!(p.message.contains("takes no key ARN"), "{}", p.message);
    }

    #[test]
    fn duplicates_name_both_lines() {
        let text = "stream,region\n\
                    a,us-east-1\n\
                    a,eu-west-1\n\
                    arn:aws:firehose:us-east-1:123456789012:deliverystream/a,\n\
                    arn:aws:firehose:us-east-1:210987654321:deliverystream/b,\n\
                    arn:aws:firehose:us-east-1:123456789012:deliverystream/b,\n";
        let p = one(text);
        assert_eq!(p.line, Some(4));
        assert!(p.message.contains("lines 2 and 4"), "{}", p.message);
    }

    #[test]
    fn every_problem_at_once_with_lines() {
        let text = format!(
            "stream,region,key_arn,key_type\n\
             ok-1,us-east-1,,\n\
             bad name,us-east-1,,\n\
             ok-2,moon-1,,\n\
             ok-3,us-east-1,arn:aws:kms:us-east-1:123456789012:alias/x,\n\
             ok-4,eu-west-1,{KEY},\n\
             ok-5,us-east-1,,WHATEVER\n\
             ok-1,us-east-1,,\n\
             ok-6,us-east-1\n"
        );
        let p = problems(&text);
        let lines: Vec<_> = p.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 9, 8], "{p:#?}");
    }

    #[test]
    fn shows_fifty_then_counts() {
        let mut text = String::from("stream,region\n");
        for i in 0..60 {
            text.push_str(&format!("bad name {i},us-east-1\n"));
        }
        let err = FleetErrors {
            file: "f.csv".into(),
            problems: problems(&text),
        };
        let shown = err.to_string();
        assert!(shown.starts_with("f.csv: 60 problems"), "{shown}");
        assert_eq!(shown.lines().count(), 1 + MAX_SHOWN + 1);
        assert!(shown.ends_with("... and 10 more"), "{shown}");
    }

    #[test]
    fn encodings() {
        let p = problems_with(b"\xFF\xFEs\0t\0", None);
        assert!(p[0].message.contains("UTF-16"));
        let p = problems_with(b"stream,region\nor\xE9ers,us-east-1\n", None);
        assert_eq!(p[0].line, Some(2));
        assert!(p[0].message.contains("UTF-8"));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(10_000);
        let err = FleetErrors {
            file: "f".into(),
            problems: problems(&format!("stream,region\n{long},us-east-1\n")),
        };
        let text = err.to_string();
        assert!(text.len() < 400, "{}", text.len());
        assert!(text.contains("(10000 bytes)"));
    }

    #[test]
    fn line_numbers_survive_multiline_quotes_and_leading_blank_lines() {
        let text = "\n\n# c\nstream,region\n\"a\",\"us-east-1\"\n\n\nbad name,us-east-1\n";
        let p = one(text);
        assert_eq!(p.line, Some(8), "{p:#?}");
    }

    #[test]
    fn wrong_field_count() {
        let p = one("stream,region\na,us-east-1,extra\n");
        assert!(
            p.message.contains("3 fields, but the header has 2"),
            "{}",
            p.message
        );
    }
}
