//! `firehose-sse sandbox`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::values::{parse_duration, parse_fraction};

/// `firehose-sse sandbox`: flags as crates/sandbox/README.md#flags documents them. The sandbox's
/// default region (unsigned requests, `--streams`, seeded items without one) is the global
/// `--region`, else `us-east-1`.
#[derive(Debug, Args)]
#[command(
    next_help_heading = "Sandbox options",
    long_about = "Serve an emulated Amazon Data Firehose + KMS API (AWS JSON 1.1) on loopback that \
        enforces the real AWS limits: asynchronous ENABLING/DISABLING transitions, the Start+Stop \
        budget per stream, the streams-per-key limit and the per-operation throttle, per account: \
        STS AssumeRole into the roles of an organization's member accounts and Organizations \
        ListAccounts serve a whole organization from one endpoint. Prints the \
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

    /// The sandbox's own account: of the fleet file's top-level streams and keys, of unsigned
    /// requests and of any credentials STS did not issue, and the management account of the
    /// organization of --accounts.
    #[arg(long, value_name = "ID", default_value = "123456789012")]
    pub account: String,

    /// Seed N ACTIVE, unencrypted DirectPut streams stream-00000, stream-00001, ... in --region
    /// (in each of the --accounts member accounts when given).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub streams: usize,

    /// Seed an organization that --account manages, of N member accounts 100000000001,
    /// 100000000002, ..., each with --streams streams and the role --role (STS AssumeRole,
    /// Organizations ListAccounts).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub accounts: usize,

    /// The role each --accounts account has: arn:aws:iam::<account>:role/NAME.
    #[arg(long, value_name = "NAME", default_value = "firehose-sse")]
    pub role: String,

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

    /// How long a key a stream stopped using (its rekey or Stop completed) keeps counting
    /// toward --cmk-limit: AWS only schedules the old grant for retirement.
    #[arg(long, value_name = "DUR", default_value = "0s", value_parser = parse_duration)]
    pub grant_retirement: Duration,

    /// Fraction (0 to 1) of API requests that get a fault: HTTP 500 InternalFailure, a dropped
    /// connection, or a 2 s delay, chosen by --seed. /_sandbox/stats is never faulted.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fraction)]
    pub fault_rate: f64,

    /// Seed of every random draw (transition latencies, faults, key ids): the same seed and
    /// the same requests give the same run.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// The CloudWatch period the sandbox keeps datapoints at (1s, 5s, 10s, 20s, 30s or a
    /// multiple of 1m; default: the world file's `metric_period`, else 1m). Short periods let a
    /// rollout's bake be tested in seconds.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub metric_period: Option<Duration>,
}
