//! The options every command shares ([`Global`]): the ledger (or the shards' ledgers), how
//! the command's document is printed, how progress is drawn, and how AWS is reached —
//! endpoint, CA bundle, timeouts, profile, and the role assumed in other accounts.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aws::ConnectOptions;
use crate::cli::GlobalArgs;
use crate::cloud::Roles;
use crate::error::UsageError;
use crate::report::progress::Mode;
use crate::report::{Output, Query, color_enabled};

/// What every command needs: the ledger, how to print, how to reach AWS.
#[derive(Debug, Clone)]
pub struct Global {
    pub ledger: PathBuf,
    /// Every `--ledger` given (the shards of one rollout, for the reading commands); at least
    /// `ledger`.
    pub ledgers: Vec<PathBuf>,
    /// `--output` and `--query`: how the command's JSON document is printed.
    pub output: Output,
    /// Colour on stdout.
    pub color: bool,
    /// How progress is drawn on stderr.
    pub progress: Mode,
    /// `-q`: no progress, no notes on stderr.
    pub quiet: bool,
    pub connect: ConnectOptions,
}

/// An environment variable's value, unset when empty.
fn env(var: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(var).filter(|v| !v.is_empty())
}

/// The default ledger of runs against AWS (or an endpoint given).
pub const LEDGER: &str = "firehose-sse.db";

/// The default ledger of runs on an in-process sandbox (`--sandbox`): kept apart from real
/// runs, so a demo's plans, runs and budget counts never mix with an account's.
pub const SANDBOX_LEDGER: &str = "firehose-sse.sandbox.db";

/// The ledger: `--ledger`, else FIREHOSE_SSE_LEDGER, else `firehose-sse.db` —
/// `firehose-sse.sandbox.db` for a command on an in-process sandbox.
pub fn ledger_path(g: &GlobalArgs, sandbox: bool) -> PathBuf {
    g.ledger
        .first()
        .cloned()
        .or_else(|| env("FIREHOSE_SSE_LEDGER").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(if sandbox { SANDBOX_LEDGER } else { LEDGER }))
}

/// `sandbox`: the command runs on an in-process sandbox (`--sandbox`).
pub(super) fn global(g: &GlobalArgs, sandbox: bool) -> Result<Global, UsageError> {
    let color = color_enabled(g.color.into(), std::io::stdout().is_terminal());
    let query = match &g.query {
        None => None,
        Some(text) => Some(Query::parse(text).map_err(|e| {
            UsageError::new(format!(
                "--query {text:?} is not a JMESPath expression: {e}"
            ))
        })?),
    };
    let ledger = ledger_path(g, sandbox);
    // The commands printed for the operator to run next repeat the ledger and the profile
    // given here — and the sandbox's own ledger, which they would not find by default.
    let named = match (g.ledger.is_empty(), ledger == Path::new(SANDBOX_LEDGER)) {
        (true, true) => vec![ledger.clone()],
        _ => g.ledger.clone(),
    };
    crate::hint::remember(&named, g.profile.as_deref());
    Ok(Global {
        ledgers: match g.ledger.len() {
            0 | 1 => vec![ledger.clone()],
            _ => g.ledger.clone(),
        },
        ledger,
        output: Output {
            format: g.output.into(),
            query,
            color,
        },
        color,
        progress: Mode::choose(
            g.quiet,
            std::io::stderr().is_terminal(),
            color_enabled(g.color.into(), std::io::stderr().is_terminal()),
        ),
        quiet: g.quiet,
        connect: ConnectOptions {
            profile: g
                .profile
                .clone()
                .or_else(|| env("AWS_PROFILE").map(|p| p.to_string_lossy().into_owned())),
            endpoint_url: g.endpoint_url.clone(),
            ca_bundle: g
                .ca_bundle
                .clone()
                .or_else(|| env("AWS_CA_BUNDLE").map(PathBuf::from)),
            connect_timeout: g.connect_timeout,
            read_timeout: g.read_timeout,
            allow_insecure_endpoint: g.allow_insecure_endpoint,
            static_credentials: None,
            roles: roles(g)?,
            max_credential_age: crate::aws::MAX_CREDENTIAL_AGE,
            region: g.region.first().cloned(),
            streams_region: None,
        },
    })
}

/// `--assume-role` and the flags that go with it.
fn roles(g: &GlobalArgs) -> Result<Option<Roles>, UsageError> {
    let Some(role) = &g.assume_role else {
        for (flag, given) in [
            ("--external-id", g.external_id.is_some()),
            ("--role-session-name", g.role_session_name.is_some()),
            ("--role-duration", g.role_duration.is_some()),
        ] {
            if given {
                return Err(UsageError::new(format!(
                    "{flag} goes with --assume-role ROLE"
                )));
            }
        }
        return Ok(None);
    };
    Ok(Some(Roles {
        template: Roles::template_of(role).map_err(UsageError::new)?,
        external_id: g.external_id.clone(),
        session_name: g.role_session_name.clone(),
        duration: g.role_duration.unwrap_or(Duration::from_secs(3600)),
    }))
}
