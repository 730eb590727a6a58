//! Reading the fleet CSV: encoding checks, comment lines blanked, records walked with the csv
//! crate, each record's line found from its byte offset (the csv crate's own line counting
//! skips comment and blank lines), the header and every row handed to `rows` for validation.

use super::Target;
use super::problems::{Problem, file_problem};
use super::rows::{ACCEPTED, Column, duplicates, has_duplicate_columns, header, row};
use crate::model::Interner;

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
    // Regions and accounts repeat on every row: one shared copy of each.
    let mut names = Interner::default();

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
        let Some(fields) = utf8_fields(&record, line, &mut problems) else {
            continue;
        };
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
                    && let Some(target) = row(
                        cols,
                        line,
                        &fields,
                        default_region,
                        &mut names,
                        &mut problems,
                    )
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

/// A record's fields as text; `None` (and a problem) when one is not UTF-8.
fn utf8_fields(
    record: &csv::ByteRecord,
    line: u64,
    problems: &mut Vec<Problem>,
) -> Option<Vec<String>> {
    let mut fields = Vec::with_capacity(record.len());
    for field in record.iter() {
        match std::str::from_utf8(field) {
            Ok(text) => fields.push(text.to_owned()),
            Err(_) => {
                problems.push(Problem {
                    line: Some(line),
                    column: None,
                    value: Some(String::from_utf8_lossy(field).into_owned()),
                    message: "not valid UTF-8: save the file as UTF-8".into(),
                });
                return None;
            }
        }
    }
    Some(fields)
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
