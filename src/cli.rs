//! The command line: clap definitions only. Flags follow the AWS CLI's conventions (`--profile`,
//! `--region`, `--endpoint-url`, `AWS_*` variables) so they work the way operators expect; every
//! flag's help says what it does and its default.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "firehose-sse",
    version,
    about = "Roll out server-side encryption across a fleet of Amazon Data Firehose streams",
    long_about = "Roll out server-side encryption (SSE) across a fleet of Amazon Data Firehose \
        streams: read a CSV of streams and target KMS keys, show a dry-run plan, then carry it out \
        at the API's quota ceiling without breaching the 25-calls-per-stream-per-24h budget or the \
        500-streams-per-key limit, recording every call in an SQLite ledger so a run can be \
        interrupted at any instant and resumed.",
    after_help = "Exit codes: 0 ok, 1 runtime error, 2 usage or input error (nothing was called), \
        3 some streams failed, 4 some streams deferred, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a fleet CSV and show what would be done (a dry run: nothing is changed).
    Plan(PlanArgs),
    /// Serve an emulated Firehose + KMS API on loopback that enforces the real AWS limits.
    Sandbox(SandboxArgs),
}

/// Flags every subcommand understands.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// SQLite ledger recording every observation and every Start/Stop call. Created (mode 0600)
    /// on first use.
    #[arg(
        long,
        global = true,
        env = "FIREHOSE_SSE_LEDGER",
        default_value = "firehose-sse.db",
        value_name = "FILE"
    )]
    pub ledger: PathBuf,

    /// Default AWS region for fleet rows that name none (rows and stream ARNs take precedence).
    /// Falls back to AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Named profile from ~/.aws/config and ~/.aws/credentials (also AWS_PROFILE).
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    /// Send every Firehose and KMS request to this URL instead of the AWS endpoint (e.g. a
    /// sandbox). AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_FIREHOSE / _KMS work as in the AWS CLI.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// PEM file of extra root certificates to trust for HTTPS (corporate TLS proxies); also
    /// AWS_CA_BUNDLE.
    #[arg(long, global = true, env = "AWS_CA_BUNDLE", value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,

    /// Time allowed to open a connection: `5` (seconds), `500ms`, `2m`. Default: SDK's (3.1 s).
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_timeout)]
    pub connect_timeout: Option<Duration>,

    /// Time allowed to wait for a response once the request is sent: `30`, `10s`. Default: none.
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_timeout)]
    pub read_timeout: Option<Duration>,

    /// Output format of reports.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Colour in terminal output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Log the SDK's requests and responses on stderr (headers and bodies; credentials and
    /// signatures are redacted by the SDK).
    #[arg(long, global = true)]
    pub debug: bool,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr; no progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Fleet CSV: columns stream, region, key_arn, key_type (see README).
    #[arg(value_name = "FLEET.csv")]
    pub fleet: PathBuf,
}

/// `firehose-sse sandbox`: flags with the names of issue 3 / README "Sandbox". The sandbox's
/// default region (unsigned requests, `--streams`, seeded items without one) is the global
/// `--region`, else `us-east-1`.
#[derive(Debug, Args)]
#[command(
    next_help_heading = "Sandbox options",
    long_about = "Serve an emulated Amazon Data Firehose + KMS API (AWS JSON 1.1) on loopback that \
        enforces the real AWS limits: asynchronous ENABLING/DISABLING transitions, the Start+Stop \
        budget per stream, the streams-per-key limit and the per-operation throttle. Prints the \
        endpoint URL as the first line of stdout, serves until SIGINT/SIGTERM, and exposes its \
        ground truth at GET /_sandbox/stats. The region of each request is taken from its SigV4 \
        credential scope; --region (default us-east-1) is used for unsigned requests and for \
        seeded streams and keys that name none."
)]
pub struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port. Only loopback addresses are accepted
    /// unless --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4599")]
    pub listen: String,

    /// Accept a --listen address that is not loopback (the sandbox has no authentication).
    #[arg(long)]
    pub allow_remote: bool,

    /// Account id owning every stream and key.
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub account: String,

    /// Seed N ACTIVE, unencrypted DirectPut streams stream-00000, stream-00001, ... in --region.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub streams: usize,

    /// JSON description of the streams and keys to start with (format in README, "Sandbox");
    /// combines with --streams.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,

    /// Median time of ENABLING->ENABLED and DISABLING->DISABLED (also CREATING->ACTIVE), drawn
    /// per transition from a log-normal with p99 about 6x the median: 250ms, 5s, 2m.
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = parse_duration)]
    pub latency: Duration,

    /// Calls per second per Firehose operation per account and region (token bucket, burst =
    /// N); more get ThrottlingException. 0 = unlimited.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub tps: u32,

    /// Start+Stop calls accepted per stream per --window; more get LimitExceededException.
    /// Refused calls do not count.
    #[arg(long, value_name = "N", default_value_t = 25)]
    pub stream_budget: u32,

    /// Rolling window of --stream-budget: 250ms, 5s, 2m, 24h.
    #[arg(long, value_name = "DUR", default_value = "24h", value_parser = parse_duration)]
    pub window: Duration,

    /// Streams per customer-managed KMS key (ENABLED with it or ENABLING towards it); a Start
    /// past it gets LimitExceededException.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub cmk_limit: u32,

    /// Fraction (0 to 1) of API requests that get a fault: HTTP 500 InternalFailure, a dropped
    /// connection, or a 2 s delay, chosen by --seed. /_sandbox/stats is never faulted.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fraction)]
    pub fault_rate: f64,

    /// Seed of every random draw (transition latencies, faults, key ids): the same seed and
    /// the same requests give the same run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

/// A fraction between 0 and 1.
fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        Ok(_) => Err("must be between 0 and 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Durations as the sandbox and timeouts take them: `250ms`, `5s`, `2m`, `24h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (expected a duration such as 250ms, 5s, 2m or 24h)"))
}

/// Timeouts also take a bare number of seconds, as the AWS CLI's `--cli-*-timeout` do.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("must be positive".into()),
        Err(_) => parse_duration(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_timeout("0").is_err());
    }
}
