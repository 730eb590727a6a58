//! The AWS CLI's `--output text` and `--output table` renderings of a JSON document, written
//! from awscli's `text.py`, `table.py` and `formatter.py` (awscli 1.x): the same rows, keys in
//! sorted order, scalars as Python prints them (`None`, `True`, `5.0`), the same boxes, column
//! widths and nesting, so that what a script or an eye reads from `aws … --output text|table`
//! reads the same here. A test compares both with awscli's own formatters.

use serde_json::{Map, Value};

/// `--output text`: scalars tab-separated, a list of objects as one row each (the columns the
/// scalar keys of all of them, sorted), nested lists and objects on their own lines behind
/// their key in capitals.
pub fn text(document: &Value) -> String {
    let mut out = String::new();
    format_text(document, &mut out, None, None);
    out
}

fn format_text(item: &Value, out: &mut String, identifier: Option<&str>, keys: Option<&[String]>) {
    match item {
        Value::Object(map) => format_dict(keys, map, identifier, out),
        Value::Array(list) => format_list(list, identifier, out),
        scalar => {
            out.push_str(&python_str(scalar));
            out.push('\n');
        }
    }
}

fn format_list(list: &[Value], identifier: Option<&str>, out: &mut String) {
    if list.is_empty() {
        return;
    }
    if list.iter().any(Value::is_object) {
        let keys = all_scalar_keys(list);
        for element in list {
            format_text(element, out, identifier, Some(&keys));
        }
    } else if list.iter().any(Value::is_array) {
        let (scalars, others): (Vec<&Value>, Vec<&Value>) =
            list.iter().partition(|v| !is_container(v));
        if !scalars.is_empty() {
            format_scalar_list(&scalars, identifier, out);
        }
        for other in others {
            format_text(other, out, identifier, None);
        }
    } else {
        format_scalar_list(&list.iter().collect::<Vec<_>>(), identifier, out);
    }
}

fn format_scalar_list(elements: &[&Value], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(id) => {
            for item in elements {
                out.push_str(&format!("{}\t{}\n", id.to_uppercase(), python_str(item)));
            }
        }
        None => {
            let cells: Vec<String> = elements.iter().map(|v| python_str(v)).collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
    }
}

fn format_dict(
    keys: Option<&[String]>,
    map: &Map<String, Value>,
    identifier: Option<&str>,
    out: &mut String,
) {
    let mut scalars: Vec<String> = Vec::new();
    let mut others: Vec<(&str, &Value)> = Vec::new();
    match keys {
        None => {
            for (key, value) in sorted(map) {
                if is_container(value) {
                    others.push((key, value));
                } else {
                    scalars.push(python_str(value));
                }
            }
        }
        Some(keys) => {
            for key in keys {
                scalars.push(map.get(key).map(python_str).unwrap_or_default());
            }
            for (key, value) in sorted(map) {
                if !keys.iter().any(|k| k == key) {
                    others.push((key, value));
                }
            }
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (id, value) in others {
        format_text(value, out, Some(id), None);
    }
}

/// The keys with a scalar value in any of the objects of a list, sorted.
fn all_scalar_keys(list: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = list
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.iter().filter(|(_, v)| !is_container(v)).map(|(k, _)| k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn sorted(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn is_container(v: &Value) -> bool {
    v.is_object() || v.is_array()
}

/// Python's `str()` of a value decoded from JSON.
pub fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of a value decoded from JSON (what `str()` of a list or dict shows).
fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => python_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(list) => {
            let items: Vec<String> = list.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        python_repr(&Value::String(k.clone())),
                        python_repr(v)
                    )
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python's `repr()` of a float: the shortest digits that read back, positional from 1e-4 up
/// to 1e16 (with `.0` when whole), else `1.5e+16` / `1e-05`.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e3`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{text}")
    } else {
        let mantissa = match digits.len() {
            1 => digits.clone(),
            _ => format!("{}.{}", &digits[..1], &digits[1..]),
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exp.abs())
    }
}

/// `--output table`: the AWS CLI's boxed table of a document, titled `title` (the AWS CLI
/// titles it with the operation's name). `width`: the terminal's (80 when it is none); a table
/// wider than it is turned, each single-row section becoming key/value rows. `color`: values
/// in bright blue and nesting bars dim yellow, as awscli colours a terminal. Nothing at all
/// for an empty or false document, as awscli.
pub fn table(title: &str, document: &Value, width: usize, color: bool) -> String {
    let mut t = MultiTable::default();
    if !build_table(&mut t, Some(title), document, 0) {
        return String::new();
    }
    t.render(width, color)
}

/// Python's truth value of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

fn build_table(t: &mut MultiTable, title: Option<&str>, current: &Value, indent: usize) -> bool {
    if !truthy(current) {
        return false;
    }
    if let Some(title) = title {
        t.new_section(Some(title), indent);
    }
    match current {
        Value::Array(list) if list[0].is_object() => sub_table_from_list(t, list, indent, title),
        Value::Array(list) => {
            for item in list {
                match item {
                    Value::Array(inner) if inner.iter().all(|v| !is_container(v)) => {
                        t.add_row(inner.iter().map(python_str).collect());
                    }
                    // Iterating a dict yields its keys, all scalars: awscli adds them as a row.
                    Value::Object(map) => t.add_row(map.keys().cloned().collect()),
                    Value::Array(_) => {
                        build_table(t, None, item, 0);
                    }
                    scalar => t.add_row(vec![python_str(scalar)]),
                }
            }
        }
        Value::Object(map) => sub_table_from_dict(t, map, indent),
        _ => {}
    }
    true
}

fn sub_table_from_dict(t: &mut MultiTable, map: &Map<String, Value>, indent: usize) {
    let (headers, more) = group_scalar_keys(map);
    if headers.len() == 1 {
        t.add_row(vec![headers[0].clone(), python_str(&map[&headers[0]])]);
    } else if !headers.is_empty() {
        let row = headers.iter().map(|k| python_str(&map[k])).collect();
        t.add_header(headers);
        t.add_row(row);
    }
    for key in more {
        build_table(t, Some(&key), &map[&key], indent + 1);
    }
}

fn sub_table_from_list(t: &mut MultiTable, list: &[Value], indent: usize, title: Option<&str>) {
    let empty = Map::new();
    let mut headers: Vec<String> = Vec::new();
    let mut more: Vec<String> = Vec::new();
    for item in list {
        let (h, m) = group_scalar_keys(item.as_object().unwrap_or(&empty));
        headers.extend(h);
        more.extend(m);
    }
    for keys in [&mut headers, &mut more] {
        keys.sort();
        keys.dedup();
    }
    t.add_header(headers.clone());
    for (i, element) in list.iter().enumerate() {
        let element = element.as_object().unwrap_or(&empty);
        if i > 0 && !more.is_empty() {
            t.new_section(title, indent);
            t.add_header(headers.clone());
        }
        t.add_row(
            headers
                .iter()
                .map(|h| element.get(h).map(python_str).unwrap_or_default())
                .collect(),
        );
        for key in &more {
            if let Some(value) = element.get(key) {
                build_table(t, Some(key), value, indent + 1);
            }
        }
    }
}

/// The keys of scalar values and those of the others, each sorted.
fn group_scalar_keys(map: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let (mut headers, mut more): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for (key, value) in map {
        if is_container(value) {
            more.push(key.clone());
        } else {
            headers.push(key.clone());
        }
    }
    headers.sort();
    more.sort();
    (headers, more)
}

/// Display width as awscli counts it: East Asian wide, full-width and ambiguous characters
/// take two columns, every other character one.
fn text_length(text: &str) -> usize {
    use unicode_width::UnicodeWidthChar as _;
    text.chars()
        .map(|c| if c.width_cjk() == Some(2) { 2 } else { 1 })
        .sum()
}

#[derive(Debug, Default, Clone)]
struct Section {
    title: Option<String>,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
    max_widths: Vec<usize>,
}

impl Section {
    fn add_header(&mut self, headers: Vec<String>) {
        self.update_max_widths(&headers);
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) {
        self.update_max_widths(&row);
        self.rows.push(row);
    }

    fn update_max_widths(&mut self, row: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|c| text_length(c)).collect();
            return;
        }
        for (i, cell) in row.iter().enumerate() {
            let w = text_length(cell);
            match self.max_widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => self.max_widths.push(w),
            }
        }
    }

    /// The columns' widths with `padding` each, scaled to add up to `max_width` when given.
    fn column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else {
            return unscaled;
        };
        if unscaled.is_empty() {
            return unscaled;
        }
        let scale = max_width as f64 / unscaled.iter().sum::<usize>() as f64;
        // Python's round() rounds halves to even.
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|w| (scale * *w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self) -> usize {
        let outer = 2 * self.indent;
        let columns: usize = self.column_widths(0, None).iter().map(|w| w + 4).sum();
        let title = self.title.as_deref().map_or(0, text_length);
        (title + 2 + outer).max(columns + 2 + outer)
    }
}

#[derive(Debug, Default)]
struct MultiTable {
    sections: Vec<Section>,
}

impl MultiTable {
    fn new_section(&mut self, title: Option<&str>, indent: usize) {
        self.sections.push(Section {
            title: title.map(str::to_owned),
            indent,
            ..Section::default()
        });
    }

    fn current(&mut self) -> &mut Section {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        self.sections.last_mut().expect("a section")
    }

    fn add_header(&mut self, headers: Vec<String>) {
        self.current().add_header(headers);
    }

    fn add_row(&mut self, row: Vec<String>) {
        self.current().add_row(row);
    }

    fn max_width(&self) -> usize {
        self.sections
            .iter()
            .map(Section::total_width)
            .max()
            .unwrap_or(0)
    }

    /// Sections of one row become rows of `header | value`.
    fn turn_vertical(&mut self) {
        for section in &mut self.sections {
            if section.rows.len() == 1 && !section.headers.is_empty() {
                let mut turned = Section {
                    title: section.title.clone(),
                    indent: section.indent,
                    ..Section::default()
                };
                for (header, value) in section.headers.iter().zip(&section.rows[0]) {
                    turned.add_row(vec![header.clone(), value.clone()]);
                }
                *section = turned;
            }
        }
    }

    fn render(mut self, terminal_width: usize, color: bool) -> String {
        let mut max_width = self.max_width();
        if max_width > terminal_width {
            self.turn_vertical();
            max_width = self.max_width();
        }
        let mut out = format!("{}\n", "-".repeat(max_width));
        for section in &self.sections {
            render_section(section, max_width, color, &mut out);
        }
        out
    }
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

/// `text` centred in `length` columns between two edges (awscli's `center_text`).
fn center(text: &str, length: usize, left: &str, right: &str) -> String {
    let text_len = text_length(text) as i64;
    let start = (length as i64 / 2) - (text_len / 2) - 1;
    let so_far = left.len() as i64 + start + text_len;
    let right_spaces = length as i64 - right.len() as i64 - so_far;
    format!(
        "{left}{}{text}{}{right}",
        spaces(start),
        spaces(right_spaces)
    )
}

/// `styled` (whose visible text is `text`) left-aligned with two spaces of padding when they
/// fit (awscli's `align_left`).
fn align_left(styled: &str, text: &str, length: usize, left: &str, right: &str) -> String {
    let text_len = text_length(text) as i64;
    let needed = text_len + 2 + left.len() as i64 + right.len() as i64;
    let padding = if length as i64 - needed >= 0 { 2 } else { 0 };
    let so_far = left.len() as i64 + padding + text_len;
    format!(
        "{left}{}{styled}{}{right}",
        spaces(padding),
        spaces(length as i64 - so_far - right.len() as i64)
    )
}

fn line_break(widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i == 0 {
            line.push_str(&format!("+{}+", "-".repeat(w.saturating_sub(2))));
        } else {
            line.push_str(&format!("{}+", "-".repeat(w.saturating_sub(1))));
        }
    }
    line
}

fn render_section(section: &Section, max_width: usize, color: bool, out: &mut String) {
    let bar = if color {
        "\x1b[2m\x1b[33m|\x1b[0m"
    } else {
        "|"
    };
    let edge = bar.repeat(section.indent);
    let mut line = |text: &str| {
        out.push_str(&edge);
        out.push_str(text);
        out.push_str(&edge);
        out.push('\n');
    };
    let max_width = max_width.saturating_sub(section.indent * 2);
    if let Some(title) = section.title.as_deref().filter(|t| !t.is_empty()) {
        line(&center(title, max_width, "|", "|"));
        if section.headers.is_empty() && section.rows.is_empty() {
            line(&format!("+{}+", "-".repeat(max_width.saturating_sub(2))));
        }
    }
    if !section.headers.is_empty() {
        let widths = section.column_widths(4, Some(max_width));
        let mut header = String::new();
        for (i, (w, h)) in widths.iter().zip(&section.headers).enumerate() {
            header.push_str(&center(h, *w, if i == 0 { "|" } else { "" }, "|"));
        }
        line(&line_break(&widths));
        line(&header);
    }
    if section.rows.is_empty() {
        return;
    }
    let widths = section.column_widths(4, Some(max_width));
    if widths.is_empty() {
        return;
    }
    line(&line_break(&widths));
    for row in &section.rows {
        let mut text = String::new();
        for (i, (w, cell)) in widths.iter().zip(row).enumerate() {
            let styled = if color {
                format!("\x1b[1m\x1b[34m{cell}\x1b[0m")
            } else {
                cell.clone()
            };
            text.push_str(&align_left(
                &styled,
                cell,
                *w,
                if i == 0 { "|" } else { "" },
                "|",
            ));
        }
        line(&text);
    }
    line(&line_break(&widths));
}

#[cfg(test)]
mod tests;
