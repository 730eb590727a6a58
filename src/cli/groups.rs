//! The option groups several commands share: pacing, limits, waves, the producer check, code
//! owners, and the in-process sandbox.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

use super::values::{parse_margin, parse_max_errors, parse_share, parse_steps, parse_tps};
use super::{DESCRIBE_TPS, parse_duration};

/// Run against an emulator started inside this command instead of AWS.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Sandbox")]
pub struct InProcessSandbox {
    /// Start an in-process sandbox (emulated Firehose + KMS enforcing the AWS limits) and run
    /// against it with test credentials: seeded from --sandbox-fleet, else from
    /// `<fleet>.sandbox.json` next to the fleet file when it exists, else from the fleet file
    /// itself (each stream an unencrypted DirectPut stream, each key an enabled symmetric key).
    /// It lives as long as the command.
    #[arg(long)]
    pub sandbox: bool,

    /// The world the in-process sandbox starts with (JSON, see README "Sandbox").
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub sandbox_fleet: Option<PathBuf>,

    /// Median ENABLING→ENABLED time of the in-process sandbox.
    #[arg(long, value_name = "DUR", default_value = "2s", value_parser = parse_duration, requires = "sandbox")]
    pub sandbox_latency: Duration,
}

/// How fast to call AWS. The quota is 5 calls per second per operation per account and
/// region, shared with every other caller of the account: Starts go at the quota, Describes a
/// call under it.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Pacing")]
pub struct PaceArgs {
    /// DescribeDeliveryStream, ListDeliveryStreams and KMS DescribeKey calls per second, per
    /// account and region. The quota (5/s) is shared with everything else that reads the
    /// account's streams (consoles, Terraform, monitoring), so the default leaves one call a
    /// second to them; a throttle slows it further.
    #[arg(long, default_value_t = DESCRIBE_TPS, value_name = "N", value_parser = parse_tps)]
    pub describe_tps: f64,

    /// StartDeliveryStreamEncryption (and Stop) calls per second, per account and region.
    #[arg(long, default_value_t = 5.0, value_name = "N", value_parser = parse_tps)]
    pub start_tps: f64,

    /// Treat the per-second quota as one budget shared by every operation of an account and
    /// region (at the lower of the two rates), for accounts where other tools call Firehose too.
    #[arg(long)]
    pub shared_quota: bool,

    /// Most requests in flight at once per region, for Starts and for Describes each.
    #[arg(long, default_value_t = 32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,

    /// IAM calls per second per account for the producer check (GetAccountAuthorizationDetails,
    /// SimulatePrincipalPolicy; and KMS GetKeyPolicy). IAM is global and its quotas are low and
    /// unpublished per operation: a throttle slows it further.
    #[arg(long, default_value_t = 5.0, value_name = "N", value_parser = parse_tps)]
    pub iam_tps: f64,
}

/// A rollout in waves, each watched before the next (apply; plan shows the waves).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Waves")]
pub struct WaveArgs {
    /// Roll out in waves: cumulative counts or shares of the fleet, ending at 100%, e.g.
    /// `1,5%,25%,100%` (one stream first, then up to 5% of the fleet, ...). Each wave is
    /// carried out, then watched for --bake before the next; a failed gate halts the rollout.
    #[arg(long, value_name = "SPEC", value_parser = parse_steps)]
    pub waves: Option<crate::waves::Steps>,

    /// What a wave takes whole: `account` or `region` keeps a bad change inside the accounts or
    /// regions it reached; `none` takes streams in fleet order.
    #[arg(long, value_enum, default_value_t = WaveByArg::None, requires = "waves")]
    pub wave_by: WaveByArg,

    /// How long each wave is watched once all its streams have ended, before the next starts
    /// (default 15m with --waves). At least three --metric-period (and 5 s and two periods).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "waves")]
    pub bake: Option<Duration>,

    /// How long the last wave is watched (default: not at all).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, requires = "waves")]
    pub final_bake: Option<Duration>,

    /// Failed streams a wave may have before the rollout halts: a count or a share of the
    /// wave (`2`, `10%`), as SSM's MaxErrors.
    #[arg(long, value_name = "N|P%", value_parser = parse_max_errors, default_value = "0", requires = "waves")]
    pub max_errors: crate::waves::gate::MaxErrors,

    /// A CloudWatch alarm (repeatable) watched in each account and region of a wave during the
    /// wave and its bake: any in ALARM fails the gate.
    #[arg(long = "alarm", value_name = "NAME", action = ArgAction::Append, requires = "waves")]
    pub alarms: Vec<String>,

    /// The largest fall of a stream's incoming records (after ENABLED against the hour before
    /// its Start) that passes the gate; a stream with no data before has no signal and never
    /// gates.
    #[arg(long, value_name = "P%", value_parser = parse_share, default_value = "50%", requires = "waves")]
    pub gate_drop: f64,

    /// The CloudWatch period the gate reads metrics at (AWS publishes Firehose's per minute).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1m", requires = "waves")]
    pub metric_period: Duration,

    /// What a failed gate does: `halt` (stop, exit 5) or `rollback` (halt, then return the
    /// streams the run changed to their earlier encryption, with every limit of an apply).
    #[arg(long, value_enum, default_value_t = OnGateFailureArg::Halt, requires = "waves")]
    pub on_gate_failure: OnGateFailureArg,

    /// With --on-gate-failure rollback: the failing wave's streams (`wave`) or every wave's of
    /// the run (`run`).
    #[arg(long, value_enum, default_value_t = RollbackScopeArg::Wave, requires = "waves")]
    pub rollback_scope: RollbackScopeArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaveByArg {
    None,
    Account,
    Region,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnGateFailureArg {
    Halt,
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RollbackScopeArg {
    Wave,
    Run,
}

/// Who writes to a stream moved to a customer-managed key, and whether they may use the key.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Producers")]
pub struct ProducerArgs {
    /// Do not ask IAM who writes to the streams (for accounts where IAM may not be read): the
    /// plan says loudly that nobody checked their producers.
    #[arg(long)]
    pub skip_producer_check: bool,

    /// Start a stream even when a producer would be refused its new key (kms:GenerateDataKey,
    /// kms:Decrypt); without it such a stream is skipped `producers_denied`.
    #[arg(long)]
    pub allow_producer_risk: bool,
}

/// Streams that code owns: a CloudFormation stack (found by its tag) or Terraform.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Code that owns streams")]
pub struct IacArgs {
    /// The JSON of `terraform show -json` (repeat for several states): streams its
    /// aws_kinesis_firehose_delivery_stream resources manage are shown with their address and
    /// whether the next `terraform apply` would revert the change.
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    pub terraform_state: Vec<PathBuf>,

    /// What to do with a stream a CloudFormation stack or Terraform owns: warn (change it, its
    /// line says who owns it) or skip it (`iac_owned`).
    #[arg(long, value_enum, default_value_t = IacOwnedArg::Warn)]
    pub iac_owned: IacOwnedArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IacOwnedArg {
    Skip,
    Warn,
}

/// The limits the plan keeps to.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Start/Stop calls per stream never spent by a plan, kept for an emergency Stop or
    /// rollback (of the 25 per rolling 24 h).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=25))]
    pub reserve: u32,

    /// Streams one customer-managed key may protect (the AWS limit is 500).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub cmk_limit: u32,

    /// A call keeps counting against its stream's budget this long after it leaves the 24 h
    /// window before the slot is used again: AWS does not say where its 24 h start, and a call
    /// refused at the edge would fill the budget for another day. At most 1h.
    #[arg(long, default_value = "5m", value_name = "DUR", value_parser = parse_margin)]
    pub budget_margin: Duration,
}
