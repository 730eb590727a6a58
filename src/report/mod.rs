//! Presentation: colour decisions, the human-readable renderings of what the engine did, and
//! the AWS CLI's conventions for a command's JSON document (`output`). The engine never prints;
//! this module draws.

pub use output::{Output, OutputFormat, Query, QueryError};

/// Whether to colour terminal output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    On,
    Off,
}

/// Whether to colour output: `on`/`off` decide; `auto` colours a terminal unless `NO_COLOR`
/// is set to a non-empty value (https://no-color.org).
pub fn color_enabled(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::On => true,
        ColorChoice::Off => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A borderless table in the style of `terraform` and `kubectl` output.
/// HTML-escapes text for an element or an attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown table cell: text from AWS (failure messages), from policies or from a fleet is
/// untrusted, so `<`, `>`, `&` and quotes are escaped as HTML would (a Markdown page renders
/// inline HTML: a `<script>` would reach a pull request or a wiki), `|` so the table holds, and
/// a line break becomes a space.
pub fn md_cell(text: &str) -> String {
    escape(text).replace('|', "\\|").replace('\n', " ")
}

/// Untrusted text in Markdown prose or a table cell where its own Markdown must not render
/// either: [`md_cell`], with the characters that make emphasis, code, links and strikethrough
/// escaped too (`*`, `_`, `` ` ``, `[`, `]`, `~`, and `\\` itself).
pub fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape(text).chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

pub fn table<'a>(header: impl IntoIterator<Item = &'a str>) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(header.into_iter().collect::<Vec<_>>());
    table
}

pub mod apply;
pub mod audit;
pub mod aws_cli;
pub mod failures;
pub mod html;
pub mod live;
pub mod output;
pub mod plan;
pub mod plan_review;
pub mod producers;
pub mod progress;
pub mod waves;

/// A duration for people: `45s`, `3m 20s`, `1h 05m`.
pub fn human_duration(ms: crate::clock::EpochMillis) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A span in the units its flags take (`250ms`, `5s`, `2m`, `24h`): whole hours stay hours
/// rather than becoming days, as a 24 h window is spoken of.
pub fn span(d: std::time::Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours < 24 {
        return humantime::format_duration(d).to_string();
    }
    let rest = d - std::time::Duration::from_secs(hours * 3600);
    if rest.is_zero() {
        format!("{hours}h")
    } else {
        format!("{hours}h {}", humantime::format_duration(rest))
    }
}

/// A key for a narrow column: `aws-owned`, or the key id of a key ARN.
pub fn short_key(key: Option<&crate::model::KeyChoice>) -> String {
    match key {
        None => "(none)".to_owned(),
        Some(crate::model::KeyChoice::AwsOwned) => "aws-owned".to_owned(),
        Some(crate::model::KeyChoice::Customer(arn)) => format!("key/{}", arn.key_id()),
        Some(crate::model::KeyChoice::Off) => "off".to_owned(),
    }
}

/// Writes to stdout. A reader that went away (`firehose-sse report | head`) is not an error:
/// the rest of the output is dropped quietly and the command ends as it would have.
pub fn stdout(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        // A reader that stopped early (`| head`): as the shell expects, nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let _ = STDOUT_FAILED.set(e.to_string());
        }
    }
}

/// Why standard output could not be written (a full disk, a device that refuses), once it
/// could not: the command then exits 1 saying so instead of reporting success over a
/// truncated output.
static STDOUT_FAILED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Why standard output could not be written, if it could not.
pub fn stdout_failed() -> Option<&'static str> {
    STDOUT_FAILED.get().map(String::as_str)
}

/// Writes to standard error, dropping what cannot be written: a closed stderr
/// (`cmd 2>&1 | head`) changes neither a run's outcome nor its exit code.
pub fn stderr(text: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// `println!` to [`stdout`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::report::stdout(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` to [`stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::report::stdout(&format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(44_001), "45s");
        assert_eq!(human_duration(200_000), "3m 20s");
        assert_eq!(human_duration(3_900_000), "1h 05m");
    }

    #[test]
    fn spans_in_the_units_of_flags() {
        use std::time::Duration;
        assert_eq!(span(Duration::from_secs(86_400)), "24h");
        assert_eq!(span(Duration::from_secs(2 * 86_400 + 90)), "48h 1m 30s");
        assert_eq!(span(Duration::from_millis(250)), "250ms");
        assert_eq!(span(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn markdown_text_cannot_become_a_link_code_or_html() {
        let text = md_text("[click](x) `code` *b* _i_ ~s~ <b>&</b> a|b \\ end\nnext");
        assert_eq!(
            text,
            "\\[click\\](x) \\`code\\` \\*b\\* \\_i\\_ \\~s\\~ &lt;b&gt;&amp;&lt;/b&gt; a\\|b \\\\ end next"
        );
    }

    #[test]
    fn color_choice() {
        assert!(color_enabled(ColorChoice::On, false));
        assert!(!color_enabled(ColorChoice::Off, true));
        assert!(!color_enabled(ColorChoice::Auto, false));
    }
}
