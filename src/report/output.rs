//! What a command prints on stdout, as the AWS CLI does it: the command's JSON document,
//! through `--query` (JMESPath) when one is given, rendered by `--output`: `json`, `text` (the
//! AWS CLI's tab-separated lines) or `table`. `table`, the default, is this tool's own report
//! of the document — unless `--query` selected part of it, which that report cannot show: then
//! it is the AWS CLI's boxed table of what the query selected. Every command that prints a
//! JSON document prints it through [`Output::print`].

use serde_json::Value;

use super::aws_cli;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// This tool's report (the AWS CLI's table of a `--query`'s result).
    Table,
    Json,
    /// The AWS CLI's text: tab-separated values.
    Text,
}

/// A JMESPath expression, checked when the command line is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// As given.
    text: String,
    /// As compiled: a literal that is not JSON read as a string, as the AWS CLI reads it.
    compiled: String,
}

/// A query the document does not answer (a function given a value of the wrong type).
#[derive(Debug, thiserror::Error)]
#[error("--query {query:?}: {reason}")]
pub struct QueryError {
    pub query: String,
    pub reason: String,
}

impl Query {
    /// Checks an expression's syntax.
    pub fn parse(text: &str) -> Result<Query, String> {
        let compiled = legacy_literals(text);
        jmespath::compile(&compiled).map_err(|e| e.to_string())?;
        Ok(Query {
            text: text.to_owned(),
            compiled,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the expression selects from `document`.
    pub fn search(&self, document: &Value) -> Result<Value, QueryError> {
        let error = |reason: String| QueryError {
            query: self.text.clone(),
            reason,
        };
        let expression = jmespath::compile(&self.compiled).map_err(|e| error(e.to_string()))?;
        let found = expression
            .search(document)
            .map_err(|e| error(e.to_string()))?;
        serde_json::to_value(&*found).map_err(|e| error(e.to_string()))
    }
}

/// The expression with each backtick literal that is not JSON (`` `failed` ``) turned into the
/// JSON string it stands for (`` `"failed"` ``). The JMESPath specification wants JSON there,
/// but the AWS CLI's jmespath reads such a literal as a string (JEP 12's deprecated form), and
/// its documentation's examples are written so: a query copied from them works here too.
fn legacy_literals(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut chars = expression.chars().peekable();
    // Raw strings ('…') and quoted identifiers ("…") are copied whole: a backtick inside one is
    // no literal.
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == c {
                        break;
                    }
                }
            }
            '`' => {
                let mut raw = String::new();
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' && chars.peek() == Some(&'`') {
                        raw.push_str("\\`");
                        chars.next();
                    } else if d == '`' {
                        closed = true;
                        break;
                    } else {
                        raw.push(d);
                    }
                }
                let lexeme = raw.replace("\\`", "`");
                let literal = if !closed || serde_json::from_str::<Value>(&lexeme).is_ok() {
                    raw
                } else {
                    match serde_json::from_str::<Value>(&format!("\"{}\"", lexeme.trim_start())) {
                        Ok(string) => string.to_string().replace('`', "\\`"),
                        Err(_) => raw,
                    }
                };
                out.push('`');
                out.push_str(&literal);
                if closed {
                    out.push('`');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// How a command prints its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: OutputFormat,
    pub query: Option<Query>,
    /// Colour on stdout (the AWS CLI's table colours its values).
    pub color: bool,
}

impl Output {
    /// Prints `document()` (what `--output json` shows), or `human()` (the tool's report) for
    /// `--output table` without `--query`. `title` names the AWS CLI's table, which the AWS CLI
    /// titles with the operation (`Plan`, `Report`, ...).
    pub fn print(
        &self,
        title: &str,
        document: impl FnOnce() -> Value,
        human: impl FnOnce() -> String,
    ) -> Result<(), QueryError> {
        let width = console::Term::stdout()
            .size_checked()
            .map_or(80, |(_, w)| usize::from(w));
        super::stdout(&self.render(title, document, human, width)?);
        Ok(())
    }

    /// What [`Output::print`] writes, for a terminal `width` columns wide (80 when none).
    pub fn render(
        &self,
        title: &str,
        document: impl FnOnce() -> Value,
        human: impl FnOnce() -> String,
        width: usize,
    ) -> Result<String, QueryError> {
        if self.format == OutputFormat::Table && self.query.is_none() {
            return Ok(human());
        }
        let document = document();
        let selected = match &self.query {
            Some(query) => query.search(&document)?,
            None => document,
        };
        Ok(match self.format {
            // The AWS CLI prints nothing for an empty object (an operation without output).
            OutputFormat::Json
                if self.query.is_some() && selected == Value::Object(Default::default()) =>
            {
                String::new()
            }
            OutputFormat::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&selected).expect("a JSON value serializes")
            ),
            OutputFormat::Text => aws_cli::text(&selected),
            OutputFormat::Table => aws_cli::table(title, &selected, width, self.color),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn output(format: OutputFormat, query: Option<&str>) -> Output {
        Output {
            format,
            query: query.map(|q| Query::parse(q).unwrap()),
            color: false,
        }
    }

    fn render(out: &Output) -> String {
        let doc = || json!({"items": [{"stream": "a", "phase": "failed"}, {"stream": "b", "phase": "done"}]});
        out.render("Report", doc, || "the report\n".into(), 80)
            .unwrap()
    }

    #[test]
    fn the_default_is_the_tools_own_report_and_a_query_selects_from_the_document() {
        assert_eq!(render(&output(OutputFormat::Table, None)), "the report\n");
        assert_eq!(
            render(&output(
                OutputFormat::Json,
                Some("items[?phase==`failed`].stream")
            )),
            "[\n  \"a\"\n]\n"
        );
        assert_eq!(
            render(&output(OutputFormat::Text, Some("items[].stream"))),
            "a\tb\n"
        );
        let table = render(&output(OutputFormat::Table, Some("items[].stream")));
        assert!(table.starts_with("-----"), "{table}");
        assert!(
            table.contains("|  a   |") || table.contains("|  a"),
            "{table}"
        );
    }

    #[test]
    fn a_literal_that_is_not_json_is_a_string_as_in_the_aws_cli() {
        assert_eq!(
            legacy_literals("items[?phase==`failed`].stream"),
            "items[?phase==`\"failed\"`].stream"
        );
        // JSON literals, raw strings and quoted identifiers stay as they are.
        for kept in [
            "items[?attempts==`2`]",
            "items[?phase==`\"done\"`]",
            "items[?stream=='a`b']",
            "\"odd`key\"",
            "[`true`, `null`, `[1]`]",
        ] {
            assert_eq!(legacy_literals(kept), kept);
        }
        assert_eq!(legacy_literals("`  spaced`"), "`\"spaced\"`");
        let doc = json!({"items": [{"stream": "a", "phase": "failed"}, {"stream": "b", "phase": "done"}]});
        let query = Query::parse("items[?phase==`failed`].stream").unwrap();
        assert_eq!(query.search(&doc).unwrap(), json!(["a"]));
        assert_eq!(query.as_str(), "items[?phase==`failed`].stream");
    }

    #[test]
    fn a_malformed_query_is_refused_when_read() {
        assert!(Query::parse("items[?phase==").is_err());
        assert!(Query::parse("items[].stream").is_ok());
    }

    #[test]
    fn a_query_the_document_cannot_answer_is_an_error() {
        let out = output(OutputFormat::Json, Some("length(`5`)"));
        let err = out
            .render("Report", || json!({}), String::new, 80)
            .unwrap_err();
        assert!(err.to_string().contains("--query"), "{err}");
    }
}
