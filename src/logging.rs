//! Logging on stderr with tracing: `-q` errors only, default warnings, `-v`/`-vv`/`-vvv` more;
//! `--debug` adds the SDK's wire logs. `RUST_LOG` overrides all of it. Whatever the level,
//! every line goes through [`redact`] first, so no credential reaches the terminal or a log file.

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// What logging needs from the command line, resolved once by `options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// `-q`: errors only.
    pub quiet: bool,
    /// `-v` count: 1 info, 2 debug, 3 or more trace.
    pub verbose: u8,
    /// `--debug`: the SDK's wire logs.
    pub debug: bool,
    /// Colour the log lines (stderr is a terminal and colour is allowed).
    pub ansi: bool,
}

/// The SDK's credential chain warns, at length, about each provider that found nothing (the
/// instance metadata service's raw HTTP answer included) before the call fails with
/// `no AWS credentials`, which says it once and how to fix it. Its warnings show with
/// `--debug` only; the error itself is never swallowed.
const CHAIN: &str = "aws_config::meta::credentials::chain";

/// The filter for `log` when `RUST_LOG` does not say otherwise.
fn default_filter(log: &LogOptions) -> String {
    let ours = match (log.quiet, log.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // The SDK logs requests, responses and the credentials' provenance at debug and trace; it
    // stays at warn unless --debug. Secrets it would print are redacted below anyway.
    let sdk = if log.debug { "trace" } else { "warn" };
    if log.quiet {
        "error".to_owned()
    } else {
        format!(
            "warn,firehose_sse={ours},aws_smithy_runtime={sdk},aws_smithy_http_client={sdk},aws_sigv4={sdk},aws_config={sdk},{CHAIN}={},hyper_util={}",
            if log.debug { "trace" } else { "error" },
            if log.debug { "debug" } else { "warn" }
        )
    }
}

pub fn init(log: &LogOptions) {
    let default = default_filter(log);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr::from_env())
        .with_ansi(log.ansi)
        .with_target(log.verbose >= 2 || log.debug)
        .try_init();
}

/// Where each log event is written: buffered whole, redacted, then written to stderr (above
/// the status line, when one is drawn).
#[derive(Debug, Clone, Default)]
pub struct RedactingStderr {
    /// Secret values known to this process (the credential environment variables).
    known: Vec<String>,
}

impl RedactingStderr {
    pub fn from_env() -> Self {
        let known = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .filter(|v| v.len() >= 8)
        .collect();
        RedactingStderr { known }
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = EventBuffer<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer {
            known: &self.known,
            buf: Vec::new(),
        }
    }
}

/// One event's text, written redacted when dropped.
#[derive(Debug)]
pub struct EventBuffer<'a> {
    known: &'a [String],
    buf: Vec<u8>,
}

impl Write for EventBuffer<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        crate::report::progress::write_above(redact(&text, self.known).as_bytes());
    }
}

const REDACTED: &str = "** redacted **";

/// Masks credentials in a log line: the values given in `known`, and whatever follows the
/// markers the SDK and SigV4 use for them (`access_key_id: "…"`, `Credential=…/`,
/// `Signature=…`, the `x-amz-security-token` header, `session_token`), in any letter case.
pub fn redact(text: &str, known: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in known {
        if !secret.is_empty() {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    // (marker, characters that end the value)
    const MARKERS: &[(&str, &[char])] = &[
        ("access_key_id: \"", &['"']),
        ("access_key_id=", &[' ', ',', '&', '"']),
        ("credential=", &['/', ',', ' ', '"']),
        ("signature=", &[',', ' ', '"', '&']),
        ("x-amz-security-token\": \"", &['"']),
        ("x-amz-security-token: ", &['\r', '\n', ',', '"']),
        ("x-amz-security-token=", &['&', ' ', '"']),
        ("session_token: some(\"", &['"']),
        ("session_token: \"", &['"']),
    ];
    for (marker, ends) in MARKERS {
        out = mask_after(&out, marker, ends);
    }
    out
}

/// Replaces the value after each case-insensitive occurrence of `marker`, up to the first of
/// `ends` (or the end of the text).
fn mask_after(text: &str, marker: &str, ends: &[char]) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower[from..].find(marker) {
        let value_start = from + found + marker.len();
        let value_end = text[value_start..]
            .find(|c| ends.contains(&c))
            .map_or(text.len(), |e| value_start + e);
        out.push_str(&text[from..value_start]);
        if value_end > value_start && &text[value_start..value_end] != REDACTED {
            out.push_str(REDACTED);
        } else {
            out.push_str(&text[value_start..value_end]);
        }
        from = value_end;
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_values_and_marked_ones() {
        let known = vec![
            "AKIAFAKEKEYID1234567".to_owned(),
            "s3cr3t-value-here".to_owned(),
        ];
        let line = r#"Credentials { provider_name: "Env", access_key_id: "AKIAOTHERKEY99999999", secret_access_key: "** redacted **" } authorization: AWS4-HMAC-SHA256 Credential=AKIAFAKEKEYID1234567/20261126/us-east-1/firehose/aws4_request, SignedHeaders=host, Signature=abcdef0123456789 x-amz-security-token: FQoGZXIvYXdzE-token s3cr3t-value-here"#;
        let out = redact(line, &known);
        for secret in [
            "AKIAFAKEKEYID1234567",
            "AKIAOTHERKEY99999999",
            "abcdef0123456789",
            "FQoGZXIvYXdzE-token",
            "s3cr3t-value-here",
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(
            out.contains("/20261126/us-east-1/firehose/aws4_request"),
            "{out}"
        );
        assert!(out.contains("SignedHeaders=host"), "{out}");
    }

    #[test]
    fn the_credential_chain_is_quiet_unless_debugging() {
        let normal = default_filter(&LogOptions::default());
        assert!(normal.contains(&format!("{CHAIN}=error")), "{normal}");
        let verbose = default_filter(&LogOptions {
            verbose: 3,
            ..LogOptions::default()
        });
        assert!(verbose.contains(&format!("{CHAIN}=error")), "{verbose}");
        let debug = default_filter(&LogOptions {
            debug: true,
            ..LogOptions::default()
        });
        assert!(debug.contains(&format!("{CHAIN}=trace")), "{debug}");
        for filter in [normal, verbose, debug] {
            assert!(EnvFilter::try_new(&filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let line = "observing: 10/20 (50%) orders-ingest ENABLED";
        assert_eq!(redact(line, &[]), line);
    }
}
