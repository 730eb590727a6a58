//! The command line: clap definitions (`options` turns them into typed settings once, before
//! anything runs; `parse` parses with them). Flags follow the AWS CLI's conventions
//! (`--profile`, `--region`, `--endpoint-url`, `AWS_*` variables) so they work the way
//! operators expect; every flag's help says what it does and its default, under a heading:
//! the command's own options, then Pacing, Limits, Sandbox, AWS connection (only on the
//! commands that call AWS) and Global options.

use std::path::PathBuf;
use std::time::Duration;

use crate::shard::Shard;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

mod examples;
mod global;
mod groups;
mod parse;
mod sandbox;
mod values;
pub use global::{ColorArg, GlobalArgs, OutputArg};
pub use groups::{
    IacArgs, IacOwnedArg, InProcessSandbox, LimitArgs, OnGateFailureArg, PaceArgs, ProducerArgs,
    RollbackScopeArg, WaveArgs, WaveByArg,
};
pub use parse::{command, parse, try_parse_from};
pub use sandbox::SandboxArgs;
use values::parse_account;
pub use values::parse_duration;

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
    after_help = examples::EXIT_CODES,
    after_long_help = examples::PROGRAM
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Observe a fleet and its keys, decide what apply would do, save that plan and print it
    /// (a dry run: no Start or Stop is ever sent).
    #[command(after_long_help = examples::PLAN)]
    Plan(PlanArgs),
    /// List and describe every stream of a region (repeat --region for several), record them
    /// so per-key counts include streams outside any fleet file, and optionally write a fleet
    /// file of the DirectPut streams not yet encrypted.
    #[command(after_long_help = examples::INVENTORY)]
    Inventory(InventoryArgs),
    /// Who writes to every stream already on a customer-managed key, and whether each may use
    /// its key: the question AWS's enforcement of producers' KMS permissions (from 2027-02-28
    /// on existing streams) asks. Exits 2 when a producer would be refused, 0 when none, 1 on
    /// error. Changes nothing; --out-policies writes the statements that would fix it.
    #[command(after_long_help = examples::AUDIT)]
    Audit(AuditArgs),
    /// Carry out a plan: a fleet file (observed and planned first) or a saved plan. Asks for
    /// confirmation unless --yes. Safe to run again after a crash: it resumes.
    #[command(after_long_help = examples::APPLY)]
    Apply(ApplyArgs),
    /// Continue an interrupted apply or rollback run (the newest unfinished one unless RUN is
    /// given).
    #[command(after_long_help = examples::RESUME)]
    Resume(ResumeArgs),
    /// Return every stream a run changed to its encryption before that run: the earlier key
    /// restored, or encryption stopped where there was none. Shown as a plan and confirmed
    /// like apply, carried out by the same engine (budget, key room, pacing, polling,
    /// resumable); streams changed since by someone else are left alone.
    #[command(after_long_help = examples::ROLLBACK)]
    Rollback(RollbackArgs),
    /// Where a run stands, from the ledger alone (no AWS calls).
    #[command(after_long_help = examples::STATUS)]
    Status(RunSelector),
    /// Per-stream outcome of a run: stream, action, final status, key, attempts, enabled-at,
    /// failure and hint. Of a plan run: its plan, in any format (Markdown for a pull request,
    /// a page for a ticket).
    #[command(after_long_help = examples::REPORT)]
    Report(ReportArgs),
    /// Print a plan file written by `plan --out` in any format (the terminal report, JSON,
    /// Markdown for a pull request, a page), once its hash is checked: a file edited by hand is
    /// refused. Reads no ledger, calls no AWS API.
    #[command(after_long_help = examples::SHOW)]
    Show(ShowArgs),
    /// The runs recorded in the ledger.
    #[command(after_long_help = examples::HISTORY)]
    History,
    /// Serve an emulated Firehose + KMS API on loopback that enforces the real AWS limits.
    #[command(after_long_help = examples::SANDBOX)]
    Sandbox(SandboxArgs),
    /// The AWS CLI's command for one stream, carried out through the ledger and waited to
    /// ENABLED.
    ///
    /// Spelled as `aws firehose start-delivery-stream-encryption` (shorthand or JSON structure,
    /// --cli-input-json, --generate-cli-skeleton), but carried out as a one-stream apply:
    /// budget-checked against the reserve, key room checked, paced, recorded, and waited to
    /// ENABLED (--no-wait returns once the call is accepted, as the AWS CLI does). Exit codes as
    /// apply.
    #[command(name = "start-delivery-stream-encryption", after_long_help = examples::START)]
    StartDeliveryStreamEncryption(StartEncryptionArgs),
    /// The AWS CLI's command for one stream, carried out through the ledger and waited to
    /// DISABLED.
    ///
    /// Spelled as `aws firehose stop-delivery-stream-encryption` (--cli-input-json,
    /// --generate-cli-skeleton), but carried out as a one-stream apply: budget-checked against
    /// the reserve, paced, recorded, and waited to DISABLED (--no-wait returns once the call is
    /// accepted, as the AWS CLI does). Exit codes as apply.
    #[command(name = "stop-delivery-stream-encryption", after_long_help = examples::STOP)]
    StopDeliveryStreamEncryption(StopEncryptionArgs),
    /// Print a completion script for a shell (bash, zsh, fish, powershell, elvish).
    ///
    /// Generated from the same definitions the command line is parsed with, so it offers every
    /// command of this version and each command's options. Install it where the shell looks
    /// for completions (see the examples).
    #[command(after_long_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff, section 1).
    ///
    /// Generated from the same definitions the command line is parsed with: the program's page
    /// has every command with what it does, the global options, the exit codes; `man COMMAND`
    /// prints the page of one command, `firehose-sse-COMMAND(1)`. Read it with `man -l -`, or
    /// install it in a man1 directory (see the examples).
    #[command(after_long_help = examples::MAN)]
    Man(ManArgs),
}

/// `man`: the page of the program, or of one of its commands.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, `firehose-sse-COMMAND(1)` (default: the program's,
    /// which lists every command).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `completions`: the shell to write a script for.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

/// Help heading of the options every command takes.
pub const GLOBAL_HEADING: &str = "Global options";
/// Help heading of the options of the commands that call AWS.
pub const AWS_HEADING: &str = "AWS connection";

/// `--describe-tps`'s default: a call a second under Firehose's 5 per second per operation,
/// account and region, which every other reader of the account's streams shares.
pub const DESCRIBE_TPS: f64 = 4.0;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Fleet CSV: columns stream, region, key_arn, key_type (see README).
    #[arg(value_name = "FLEET.csv")]
    pub fleet: PathBuf,

    /// A stream `inventory` observed more recently than this (in the credentials' account,
    /// settled, sent nothing since) is planned from that observation instead of being
    /// described again; the plan's age then counts from the oldest one used.
    #[arg(long, default_value = "1h", value_name = "DUR", value_parser = parse_duration)]
    pub max_plan_age: Duration,

    /// Describe every stream again, whatever the ledger observed lately.
    #[arg(long)]
    pub refresh: bool,

    /// Exit 0 when every stream is at its target, 2 when the plan has changes, 1 on any
    /// error (Terraform's convention): for cron jobs and CI pipelines that page on drift.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Plan only the rows of shard I of N: the accounts whose stable hash falls in it (a row
    /// naming no account is the credentials'). See apply --shard.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,

    /// Write the statements that would let each refused producer use its key, as JSON files
    /// (one per principal and key) in DIR. Nothing is applied.
    #[arg(long, value_name = "DIR")]
    pub out_policies: Option<PathBuf>,

    /// Output format of the plan on stdout: `table` (the terminal report), `json`, `text`
    /// (the JSON as the AWS CLI prints text), `csv`, `md` (Markdown for a pull-request comment,
    /// kept under GitHub's comment limit), `html` (one self-contained page). --query applies to
    /// `json`, `text` and `table`; `--output json|text` is read as `--format json|text`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ReportFormatArg>,

    /// Also write the plan as a plan file (JSON: the plan, every observation it was decided
    /// from, its settings, where it was made, its hash) for `show FILE` and `apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the change to make in the code that owns each changed stream (a Terraform
    /// server_side_encryption block, a CloudFormation property) as files in DIR.
    #[arg(long, value_name = "DIR")]
    pub out_iac: Option<PathBuf>,

    #[command(flatten)]
    pub waves: WaveArgs,

    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub producers: ProducerArgs,

    #[command(flatten)]
    pub iac: IacArgs,

    #[command(flatten)]
    pub sandbox: InProcessSandbox,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file written by `plan --out`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Output format: as `plan --format` (`table`, `json`, `text`, `csv`, `md`, `html`).
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Table)]
    pub format: ReportFormatArg,
}

impl Command {
    /// Whether the command runs on an in-process sandbox (`--sandbox`).
    pub fn in_process_sandbox(&self) -> bool {
        match self {
            Command::Plan(a) => a.sandbox.sandbox,
            Command::Inventory(a) => a.sandbox.sandbox,
            Command::Audit(a) => a.sandbox.sandbox,
            Command::Apply(a) => a.run.sandbox.sandbox,
            Command::Resume(a) => a.run.sandbox.sandbox,
            Command::Rollback(a) => a.run.sandbox.sandbox,
            Command::StartDeliveryStreamEncryption(a) => a.common.sandbox.sandbox,
            Command::StopDeliveryStreamEncryption(a) => a.common.sandbox.sandbox,
            Command::Status(_)
            | Command::Report(_)
            | Command::History
            | Command::Show(_)
            | Command::Sandbox(_)
            | Command::Completions(_)
            | Command::Man(_) => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// List this account's streams (repeat for several), through --assume-role for any other
    /// than the credentials' own. Default: the credentials' account.
    #[arg(long, value_name = "ID", action = ArgAction::Append, value_parser = parse_account)]
    pub account: Vec<String>,

    /// List the streams of every ACTIVE account of the organization (Organizations
    /// ListAccounts, with the credentials of the management account or of a delegated
    /// administrator), through --assume-role.
    #[arg(long, conflicts_with = "account")]
    pub organization: bool,

    /// Write a fleet CSV of the DirectPut streams not yet encrypted, ready for `plan` (`-`:
    /// standard output, the summary then on standard error). A regular file is replaced whole,
    /// a symbolic link written through, a device or pipe written in place.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// The key to put in the fleet file written by --out (default: the AWS-owned key).
    #[arg(long, value_name = "KEY_ARN", requires = "out")]
    pub key_arn: Option<String>,

    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub sandbox: InProcessSandbox,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit this account's streams (repeat for several), through --assume-role for any other
    /// than the credentials' own. Default: the credentials' account.
    #[arg(long, value_name = "ID", action = ArgAction::Append, value_parser = parse_account)]
    pub account: Vec<String>,

    /// Audit every ACTIVE account of the organization (Organizations ListAccounts, with the
    /// credentials of the management account or of a delegated administrator), through
    /// --assume-role.
    #[arg(long, conflicts_with = "account")]
    pub organization: bool,

    /// The report's format: csv, md or html (a self-contained page); table, json and text
    /// follow --output.
    #[arg(long, value_enum)]
    pub format: Option<ReportFormatArg>,

    /// Write the statements that would let each refused producer use its key, as JSON files
    /// (one per principal and key) in DIR. Nothing is applied.
    #[arg(long, value_name = "DIR")]
    pub out_policies: Option<PathBuf>,

    /// The JSON of `terraform show -json` (repeat for several): the streams it manages are
    /// reported as owned by Terraform.
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    pub terraform_state: Vec<PathBuf>,

    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub sandbox: InProcessSandbox,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["fleet", "plan"]))]
pub struct ApplyArgs {
    /// Fleet CSV to observe, plan and apply; or a plan file written by `plan --out` (a file
    /// whose content is a JSON object), carried out as `--plan FILE`.
    #[arg(value_name = "FLEET.csv|PLAN.json")]
    pub fleet: Option<PathBuf>,

    /// Apply a saved plan: its id in the ledger (`plan` prints it), or a plan file written by
    /// `plan --out` (from this machine or another; its observations go into this ledger).
    #[arg(long, value_name = "ID|FILE")]
    pub plan: Option<String>,

    /// Refuse to start unless the plan is exactly the one of this hash: the whole SHA-256
    /// every plan report shows (what was reviewed is what runs). Recorded with the run.
    #[arg(long, value_name = "HASH")]
    pub expect_plan_hash: Option<String>,

    /// A saved plan whose observations are older than this is observed again before apply
    /// (refused instead with --expect-plan-hash: deciding again is not the plan reviewed); a
    /// plan file made longer ago than this is refused as stale.
    #[arg(long, default_value = "1h", value_name = "DUR", value_parser = parse_duration)]
    pub max_plan_age: Duration,

    /// Carry out only the rows of shard I of N: the accounts whose stable hash falls in it (a
    /// row naming no account is the credentials'). Each shard is its own process with its own
    /// --ledger; `report --ledger A --ledger B ...` merges them.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, conflicts_with = "plan")]
    pub shard: Option<Shard>,

    #[command(flatten)]
    pub waves: WaveArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub producers: ProducerArgs,

    #[command(flatten)]
    pub iac: IacArgs,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to continue (default: the newest unfinished one).
    #[arg(value_name = "RUN")]
    pub run_id: Option<i64>,

    /// Go on past a wave whose health gate failed (the ledger records who and when).
    #[arg(long)]
    pub override_gate: bool,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to roll back (default: the newest apply run).
    #[arg(value_name = "RUN")]
    pub run_id: Option<i64>,

    /// Show the rollback's plan, as `plan` does (in `--output json` too), and send nothing;
    /// it is saved, to be carried out with --plan.
    #[arg(long, conflicts_with = "plan")]
    pub dry_run: bool,

    /// Carry out the rollback plan a `rollback --dry-run` saved (the number it printed),
    /// without describing its streams again while it is younger than --max-plan-age.
    #[arg(long, value_name = "PLAN")]
    pub plan: Option<i64>,

    /// A saved rollback plan whose observations are older than this is observed again.
    #[arg(long, default_value = "1h", value_name = "DUR", value_parser = parse_duration, requires = "plan")]
    pub max_plan_age: Duration,

    #[command(flatten)]
    pub waves: WaveArgs,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub producers: ProducerArgs,
}

/// Flags of apply, resume and rollback.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Carry a saved plan or a run on against another endpoint or account than the one it was
    /// made with (refused otherwise, naming both).
    #[arg(long)]
    pub allow_endpoint_change: bool,

    /// How long a stream may wait for its 24 h budget to free up before it is reported
    /// deferred (0: defer at once).
    #[arg(long, default_value = "0s", value_name = "DUR", value_parser = parse_duration)]
    pub max_wait: Duration,

    /// How long a stream may stay ENABLING before it is reported failed (timed out; resume
    /// polls it again).
    #[arg(long, default_value = "10m", value_name = "DUR", value_parser = parse_duration)]
    pub poll_timeout: Duration,

    /// Start calls per stream in one run, retries of transient failures included.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=25))]
    pub max_attempts: u32,

    /// Delay of the first poll after a Start until the run has learned the transition time.
    #[arg(long, default_value = "5s", value_name = "DUR", value_parser = parse_duration)]
    pub first_poll: Duration,

    /// How long after a rekey or Stop freed a slot under a customer key a Start refused for the
    /// key's limit is taken to meet the old grant, not yet retired (Firehose retires it once it
    /// has delivered what it buffered, up to 900 s; KMS takes up to about 5 minutes to see
    /// it): the Start is tried again once this has passed (deferred `grant_retiring` when that
    /// is beyond --max-wait), and the key is not taken to be full.
    #[arg(long, default_value = "20m", value_name = "DUR", value_parser = parse_duration)]
    pub grant_retirement_wait: Duration,

    /// Session credentials first seen longer ago than this are refreshed before a Start towards
    /// a customer-managed key (KMS grants fail for sessions older than 6 h); a session that
    /// cannot be refreshed stops that account's customer-key Starts.
    #[arg(long, default_value = "5h", value_name = "DUR", value_parser = parse_duration)]
    pub max_credential_age: Duration,

    // Flattened groups last: each sets the help heading of what follows it.
    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub sandbox: InProcessSandbox,
}

#[derive(Debug, Args)]
pub struct RunSelector {
    /// The run (default: the newest apply run).
    #[arg(value_name = "RUN")]
    pub run_id: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run (default: the newest apply run).
    #[arg(value_name = "RUN")]
    pub run_id: Option<i64>,

    /// Output format; `csv` and `md` suit spreadsheets and tickets, `html` is one
    /// self-contained page with charts (the run's timeline, time to ENABLED, keys) to attach
    /// to a ticket or print, `text` the JSON document as the AWS CLI prints text. --query
    /// applies to `json`, `text` and `table`. (The global `--output json` and `--output text`
    /// are read as `--format json` and `--format text` here.)
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Table)]
    pub format: ReportFormatArg,
}

/// `report --format`'s values; `options` turns them into `report::apply::ReportFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormatArg {
    Table,
    Json,
    Text,
    Csv,
    Md,
    Html,
}

/// `start-delivery-stream-encryption`: the AWS CLI's parameters, then the tool's.
#[derive(Debug, Args)]
pub struct StartEncryptionArgs {
    /// The name of the Firehose stream for which you want to enable server-side encryption
    /// (SSE). Required unless given by --cli-input-json.
    #[arg(long, value_name = "NAME")]
    pub delivery_stream_name: Option<String>,

    /// The type and ARN of the KMS key: shorthand `KeyType=CUSTOMER_MANAGED_CMK,KeyARN=arn:…`
    /// (or `KeyType=AWS_OWNED_CMK`), JSON `{"KeyType": "…", "KeyARN": "…"}`, or `file://PATH`.
    /// Default: the AWS-owned key.
    #[arg(long, value_name = "VALUE")]
    pub delivery_stream_encryption_configuration_input: Option<String>,

    #[command(flatten)]
    pub common: EncryptionArgs,
}

/// `stop-delivery-stream-encryption`: the AWS CLI's parameters, then the tool's.
#[derive(Debug, Args)]
pub struct StopEncryptionArgs {
    /// The name of the Firehose stream for which you want to disable server-side encryption
    /// (SSE). Required unless given by --cli-input-json.
    #[arg(long, value_name = "NAME")]
    pub delivery_stream_name: Option<String>,

    #[command(flatten)]
    pub common: EncryptionArgs,
}

/// What the two encryption commands share: the AWS CLI's input options, then how the call is
/// carried out.
#[derive(Debug, Args)]
pub struct EncryptionArgs {
    /// The whole input as JSON, in the shape --generate-cli-skeleton prints (inline or
    /// `file://PATH`); parameters given on the command line override its values.
    #[arg(long, value_name = "JSON")]
    pub cli_input_json: Option<String>,

    /// Print a JSON skeleton without calling anything: `input` (the default) for
    /// --cli-input-json, `output` (after checking the input) what the operation returns.
    #[arg(long, value_name = "input|output", num_args = 0..=1, default_missing_value = "input", value_parser = ["input", "output"])]
    pub generate_cli_skeleton: Option<String>,

    /// Return once the call is accepted, as the AWS CLI does, leaving the run open: `firehose-sse
    /// resume` (or `status`) follows the stream to the end.
    #[arg(long)]
    pub no_wait: bool,

    /// How long the stream may wait for its 24 h budget to free up before it is reported
    /// deferred (0: defer at once).
    #[arg(long, default_value = "0s", value_name = "DUR", value_parser = parse_duration)]
    pub max_wait: Duration,

    /// How long the stream may stay in its transition before it is reported failed.
    #[arg(long, default_value = "10m", value_name = "DUR", value_parser = parse_duration)]
    pub poll_timeout: Duration,

    /// Calls to the stream in this run, retries of transient failures included.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=25))]
    pub max_attempts: u32,

    /// Delay of the first poll after the call.
    #[arg(long, default_value = "5s", value_name = "DUR", value_parser = parse_duration)]
    pub first_poll: Duration,

    // Flattened groups last: each sets the help heading of what follows it.
    #[command(flatten)]
    pub pace: PaceArgs,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub producers: ProducerArgs,

    #[command(flatten)]
    pub sandbox: InProcessSandbox,
}

#[cfg(test)]
mod tests;
