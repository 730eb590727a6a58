//! The options every command takes (ledger, output, colour, quiet, the AWS connection).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

use super::values::{parse_external_id, parse_role_duration, parse_session_name, parse_timeout};
use super::{AWS_HEADING, GLOBAL_HEADING};

/// Flags given before or after the subcommand. The AWS connection's are listed only by the
/// commands that call AWS (plan, inventory, apply, resume): [`command`] hides them from the
/// others, which still accept them as they always did. Environment variables are read by
/// `options`, not clap, so a value from the environment never shows in a usage line as if it
/// had been typed.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Default AWS region for fleet rows that name none (rows and stream ARNs take precedence);
    /// for `inventory`, the region to list (repeat for several). Falls back to AWS_REGION,
    /// AWS_DEFAULT_REGION, then the profile's `region`.
    #[arg(long, global = true, value_name = "REGION", action = ArgAction::Append, help_heading = AWS_HEADING)]
    pub region: Vec<String>,

    /// Named profile from ~/.aws/config and ~/.aws/credentials. Also AWS_PROFILE.
    #[arg(long, global = true, value_name = "NAME", help_heading = AWS_HEADING)]
    pub profile: Option<String>,

    /// Send every request — Firehose, KMS, STS, Organizations, IAM and CloudWatch — to this URL
    /// instead of the AWS endpoints (e.g. a sandbox). AWS_ENDPOINT_URL and
    /// AWS_ENDPOINT_URL_FIREHOSE / _KMS / _STS / ... work as in the AWS CLI.
    #[arg(long, global = true, value_name = "URL", help_heading = AWS_HEADING)]
    pub endpoint_url: Option<String>,

    /// Allow a plain http:// --endpoint-url (or AWS_ENDPOINT_URL*) to another machine; without
    /// it only https:// or loopback addresses are accepted.
    #[arg(long, global = true, help_heading = AWS_HEADING)]
    pub allow_insecure_endpoint: bool,

    /// PEM file of extra root certificates to trust for HTTPS (corporate TLS proxies). Also
    /// AWS_CA_BUNDLE.
    #[arg(long, global = true, value_name = "PEM", help_heading = AWS_HEADING)]
    pub ca_bundle: Option<PathBuf>,

    /// Time allowed to open a connection: `5` (seconds), `500ms`, `2m`. Default: SDK's (3.1 s).
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_timeout, help_heading = AWS_HEADING)]
    pub connect_timeout: Option<Duration>,

    /// Time allowed to wait for a response once the request is sent: `30`, `10s`. Default: none.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_timeout, help_heading = AWS_HEADING)]
    pub read_timeout: Option<Duration>,

    /// Reach every account a fleet row names, other than the credentials' own, by assuming
    /// this role in it: a role NAME (arn:aws:iam::<account>:role/NAME) or a role ARN with
    /// {account} where the account goes. Each account's credentials refresh before they expire.
    #[arg(long, global = true, value_name = "ROLE", help_heading = AWS_HEADING)]
    pub assume_role: Option<String>,

    /// External ID the role's trust policy requires (with --assume-role).
    #[arg(long, global = true, value_name = "ID", value_parser = parse_external_id, help_heading = AWS_HEADING)]
    pub external_id: Option<String>,

    /// Session name of the assumed roles, as CloudTrail shows it (with --assume-role).
    /// [default: firehose-sse-run-<N>]
    #[arg(long, global = true, value_name = "NAME", value_parser = parse_session_name, help_heading = AWS_HEADING)]
    pub role_session_name: Option<String>,

    /// How long each assumed role's credentials last, 15m to 12h (within the role's maximum
    /// session duration). [default: 1h]
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_role_duration, help_heading = AWS_HEADING)]
    pub role_duration: Option<Duration>,

    /// Log the SDK's requests and responses on stderr (headers and bodies; credentials and
    /// signatures are redacted).
    #[arg(long, global = true, help_heading = AWS_HEADING)]
    pub debug: bool,

    /// SQLite ledger recording every observation and every Start/Stop call, created (mode
    /// 0600) on first use. Also FIREHOSE_SSE_LEDGER. [default: firehose-sse.db;
    /// firehose-sse.sandbox.db with --sandbox] `status`, `report` and `history` take it several
    /// times to read the shards of one rollout as one.
    #[arg(long, global = true, value_name = "FILE", action = ArgAction::Append, help_heading = GLOBAL_HEADING)]
    pub ledger: Vec<PathBuf>,

    /// Output format of what is printed on stdout (`report` chooses with --format): `table`,
    /// this tool's report (with --query: the AWS CLI's table of what the query selected);
    /// `json`, the command's JSON document; `text`, that document as the AWS CLI prints text
    /// (tab-separated values, a line per object).
    #[arg(long, global = true, value_enum, default_value_t = OutputArg::Table, help_heading = GLOBAL_HEADING)]
    pub output: OutputArg,

    /// A JMESPath expression applied to the command's JSON document before it is printed, as
    /// in the AWS CLI (e.g. 'items[?phase==`failed`].stream').
    #[arg(long, global = true, value_name = "JMESPATH", help_heading = GLOBAL_HEADING)]
    pub query: Option<String>,

    /// Colour in terminal output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, help_heading = GLOBAL_HEADING)]
    pub color: ColorArg,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = GLOBAL_HEADING)]
    pub verbose: u8,

    /// Only errors on stderr; no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL_HEADING)]
    pub quiet: bool,
}

impl GlobalArgs {
    /// The one `--region` given, if any; several are only meaningful to `inventory`.
    pub fn single_region(&self) -> Result<Option<&str>, crate::error::UsageError> {
        match self.region.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.as_str())),
            _ => Err(crate::error::UsageError::new(
                "--region was given more than once; only `inventory` takes several regions",
            )),
        }
    }
}

/// `--output`'s values; `options` turns them into `report::OutputFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Table,
    Json,
    Text,
}

/// `--color`'s values; `options` turns them into `report::ColorChoice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    On,
    Off,
}
