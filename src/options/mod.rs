//! The command line resolved once into typed, validated options (ripgrep's low args → high
//! args): `main` parses with clap (`cli`), calls [`Options::resolve`], sets up logging from
//! [`Options::log`], and runs the command with its own options. A flag problem found here is a
//! `UsageError` (exit 2) raised before anything is sent or written. Past this point no module
//! sees a clap struct — the `sandbox` subcommand aside, which reads its own flags.
//!
//! What needs the environment beyond the flags and the terminal (the profile's default region)
//! is looked up by the commands, at the moment today's behaviour looks it up.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

pub mod aws_input;
mod encryption;
mod global;
mod run;

pub use encryption::{EncryptionAction, EncryptionOptions};
use global::global;
pub use global::{Global, ledger_path};
pub use run::{ApplyOptions, PlanSource, ResumeOptions, RollbackOptions, RunOptions, wave_plan};
use run::{apply, check_confirmable, for_run, no_in_process_sandbox, resume, run};

use crate::cli::{
    AuditArgs, Cli, ColorArg, Command, GlobalArgs, IacOwnedArg, InProcessSandbox, InventoryArgs,
    LimitArgs, OutputArg, PaceArgs, PlanArgs, ProducerArgs, ReportArgs, ReportFormatArg,
    SandboxArgs, ShowArgs,
};
use crate::error::UsageError;
use crate::logging::LogOptions;
use crate::model::{KeyChoice, KmsKeyArn};
use crate::pace::Rates;
use crate::plan::{Pace, Settings};
use crate::report::apply::ReportFormat;
use crate::report::{ColorChoice, OutputFormat, color_enabled};
use crate::shard::Shard;

/// A command line, resolved.
#[derive(Debug)]
pub struct Options {
    pub log: LogOptions,
    pub command: CommandOptions,
}

/// Each subcommand with the options it runs with.
#[derive(Debug)]
pub enum CommandOptions {
    Plan(Box<PlanOptions>),
    Inventory(Box<InventoryOptions>),
    Audit(Box<AuditOptions>),
    Apply(Box<ApplyOptions>),
    Resume(Box<ResumeOptions>),
    Rollback(Box<RollbackOptions>),
    Status(RunQuery),
    Report(ReportOptions),
    /// `show FILE`: a plan file printed.
    Show(ShowOptions),
    History(Global),
    /// `start-delivery-stream-encryption` and `stop-delivery-stream-encryption`.
    Encryption(Box<EncryptionOptions>),
    /// The sandbox subcommand reads its own flags.
    Sandbox(Box<(GlobalArgs, SandboxArgs)>),
    /// `completions SHELL`: a completion script on standard output.
    Completions(clap_complete::Shell),
    /// `man [COMMAND]`: the manual page on standard output.
    Man(Option<String>),
}

/// How fast to call AWS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceOptions {
    pub describe_tps: f64,
    pub start_tps: f64,
    /// One quota per account and region for every operation.
    pub shared_quota: bool,
    /// Most requests in flight at once per region, for Starts and for Describes each.
    pub concurrency: usize,
    /// The producer check's IAM calls per second per account.
    pub iam_tps: f64,
}

impl PaceOptions {
    /// The limiter's rates.
    pub fn rates(&self) -> Rates {
        Rates {
            read_tps: self.describe_tps,
            write_tps: self.start_tps,
            shared: self.shared_quota,
        }
    }

    /// The rates the planner estimates with.
    pub fn plan(&self) -> Pace {
        Pace {
            start_tps: self.start_tps,
            describe_tps: self.describe_tps,
        }
    }
}

/// `--sandbox`: run against an emulator started inside the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// `--sandbox-fleet`: the world it starts with.
    pub world: Option<PathBuf>,
    /// `--sandbox-latency`: median ENABLING→ENABLED time.
    pub latency: Duration,
}

/// `plan FLEET.csv`.
#[derive(Debug)]
pub struct PlanOptions {
    pub global: Global,
    pub fleet: PathBuf,
    /// `--max-plan-age`: observations younger than this stand in for Describes; `None` with
    /// `--refresh`.
    pub recent_within: Option<Duration>,
    /// The one `--region` given, the default for rows that name none.
    pub region: Option<String>,
    pub pace: PaceOptions,
    pub settings: Settings,
    pub sandbox: Option<SandboxOptions>,
    /// Exit 2 when the plan has changes (`--detailed-exitcode`).
    pub detailed_exitcode: bool,
    /// Only the rows of this shard's accounts (`--shard I/N`).
    pub shard: Option<Shard>,
    /// `--out-policies DIR`: where the fixes for refused producers are written.
    pub out_policies: Option<PathBuf>,
    /// `--out-iac DIR`: where the changes to the owning code are written.
    pub out_iac: Option<PathBuf>,
    /// `--terraform-state`s, read.
    pub iac: crate::iac::IacInput,
    /// `--waves ...`: the waves an apply of this plan would take, shown.
    pub waves: Option<crate::waves::WavePlan>,
    /// `--format` (else `--output`): how the plan is printed.
    pub format: ReportFormat,
    /// `--out FILE`: the plan file to write.
    pub out: Option<PathBuf>,
}

/// `show FILE`.
#[derive(Debug)]
pub struct ShowOptions {
    pub global: Global,
    pub path: PathBuf,
    pub format: ReportFormat,
}

/// `inventory`.
#[derive(Debug)]
pub struct InventoryOptions {
    pub global: Global,
    /// The `--region`s given (none: the profile's default, see [`InventoryOptions::scope`]).
    pub regions: Vec<String>,
    /// Whose streams to list.
    pub accounts: AccountScope,
    pub out: Option<PathBuf>,
    pub key_arn: Option<String>,
    pub pace: PaceOptions,
    pub sandbox: Option<SandboxOptions>,
}

/// `audit`: the producers of every stream already on a customer-managed key.
#[derive(Debug)]
pub struct AuditOptions {
    pub global: Global,
    /// The `--region`s given (none: the profile's default, see [`AuditOptions::regions`]).
    pub regions: Vec<String>,
    /// Whose streams to audit.
    pub accounts: AccountScope,
    /// `--format csv|md|html` (else `--output`).
    pub format: Option<ReportFormat>,
    pub out_policies: Option<PathBuf>,
    pub pace: PaceOptions,
    pub sandbox: Option<SandboxOptions>,
    /// `--terraform-state`s, read.
    pub iac: crate::iac::IacInput,
}

impl AuditOptions {
    /// The regions to audit: those given, else the profile's default.
    pub fn regions(&self, default_region: Option<String>) -> Result<Vec<String>, UsageError> {
        checked_regions(&self.regions, default_region, "audit")
    }
}

/// The regions a command covers: those given (checked, sorted, once each), else the default.
fn checked_regions(
    given: &[String],
    default_region: Option<String>,
    command: &str,
) -> Result<Vec<String>, UsageError> {
    let mut regions = given.to_vec();
    if regions.is_empty() {
        regions.extend(default_region);
    }
    if regions.is_empty() {
        return Err(UsageError::new(format!(
            "{command} needs a region: pass --region REGION (repeatable)"
        )));
    }
    for r in &regions {
        if !crate::model::is_valid_region(r) {
            return Err(UsageError::new(format!(
                "malformed region {r:?} (expected e.g. us-east-1)"
            )));
        }
    }
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// Whose streams `inventory` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountScope {
    /// The credentials' own account.
    Own,
    /// These accounts (`--account`).
    Listed(Vec<String>),
    /// Every ACTIVE account of the organization (`--organization`).
    Organization,
}

/// `status [RUN]`.
#[derive(Debug)]
pub struct RunQuery {
    pub global: Global,
    pub run_id: Option<i64>,
}

/// `report [RUN]`.
#[derive(Debug)]
pub struct ReportOptions {
    pub global: Global,
    pub run_id: Option<i64>,
    pub format: ReportFormat,
}

impl From<OutputArg> for OutputFormat {
    fn from(arg: OutputArg) -> Self {
        match arg {
            OutputArg::Table => OutputFormat::Table,
            OutputArg::Json => OutputFormat::Json,
            OutputArg::Text => OutputFormat::Text,
        }
    }
}

impl From<ColorArg> for ColorChoice {
    fn from(arg: ColorArg) -> Self {
        match arg {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::On => ColorChoice::On,
            ColorArg::Off => ColorChoice::Off,
        }
    }
}

impl From<ReportFormatArg> for ReportFormat {
    fn from(arg: ReportFormatArg) -> Self {
        match arg {
            ReportFormatArg::Table => ReportFormat::Table,
            ReportFormatArg::Json => ReportFormat::Json,
            ReportFormatArg::Text => ReportFormat::Text,
            ReportFormatArg::Csv => ReportFormat::Csv,
            ReportFormatArg::Md => ReportFormat::Md,
            ReportFormatArg::Html => ReportFormat::Html,
        }
    }
}

impl Options {
    /// Validates the parsed command line and turns it into typed options.
    pub fn resolve(cli: Cli) -> Result<Options, UsageError> {
        let g = &cli.global;
        let log = LogOptions {
            quiet: g.quiet,
            verbose: g.verbose,
            debug: g.debug,
            ansi: color_enabled(g.color.into(), std::io::stderr().is_terminal()),
        };
        let global = global(g, cli.command.in_process_sandbox())?;
        let reads_only = matches!(
            cli.command,
            Command::Status(_) | Command::Report(_) | Command::History | Command::Show(_)
        );
        if global.ledgers.len() > 1 && !reads_only {
            return Err(UsageError::new(
                "--ledger is given several times: only status, report and history read several \
                 ledgers (the shards of one rollout); every other command writes one",
            ));
        }
        let command = match cli.command {
            Command::Plan(args) => CommandOptions::Plan(Box::new(plan(g, global, args)?)),
            Command::Inventory(args) => {
                CommandOptions::Inventory(Box::new(inventory(g, global, args)))
            }
            Command::Audit(args) => CommandOptions::Audit(Box::new(audit(g, global, args)?)),
            Command::Apply(args) => CommandOptions::Apply(Box::new(apply(g, global, args)?)),
            Command::Resume(args) => {
                no_in_process_sandbox("resume", &args.run)?;
                CommandOptions::Resume(Box::new(resume(global, args)))
            }
            Command::Rollback(args) => {
                no_in_process_sandbox("rollback", &args.run)?;
                check_confirmable("roll back", args.run.yes || args.dry_run)?;
                let waves = wave_plan(&args.waves)?;
                if waves
                    .as_ref()
                    .is_some_and(|w| w.on_failure == crate::waves::OnGateFailure::Rollback)
                {
                    return Err(UsageError::new(
                        "rollback --on-gate-failure rollback would undo the rollback: a \
                         rollback in waves halts on a failed gate (exit 5); `firehose-sse \
                         resume RUN --override-gate` goes on",
                    ));
                }
                CommandOptions::Rollback(Box::new(RollbackOptions {
                    waves,
                    global: for_run(global, &args.run),
                    run_id: args.run_id,
                    dry_run: args.dry_run,
                    plan: args.plan.map(|id| (id, args.max_plan_age)),
                    settings: Settings {
                        restore: true,
                        ..settings(&args.limits, &args.producers)
                    },
                    run: run(&args.run),
                }))
            }
            Command::Status(args) => CommandOptions::Status(RunQuery {
                global,
                run_id: args.run_id,
            }),
            Command::Report(args) => CommandOptions::Report(report(global, args)?),
            Command::Show(args) => CommandOptions::Show(show(global, args)?),
            Command::History => CommandOptions::History(global),
            Command::StartDeliveryStreamEncryption(args) => {
                CommandOptions::Encryption(Box::new(encryption::start(g, global, args)?))
            }
            Command::StopDeliveryStreamEncryption(args) => {
                CommandOptions::Encryption(Box::new(encryption::stop(g, global, args)?))
            }
            Command::Sandbox(args) => CommandOptions::Sandbox(Box::new((cli.global, args))),
            Command::Completions(args) => CommandOptions::Completions(args.shell),
            Command::Man(args) => CommandOptions::Man(args.command),
        };
        Ok(Options { log, command })
    }
}

fn pace(args: &PaceArgs) -> PaceOptions {
    PaceOptions {
        describe_tps: args.describe_tps,
        start_tps: args.start_tps,
        shared_quota: args.shared_quota,
        concurrency: args.concurrency as usize,
        iam_tps: args.iam_tps,
    }
}

fn settings(limits: &LimitArgs, producers: &ProducerArgs) -> Settings {
    Settings {
        reserve: limits.reserve,
        cmk_limit: limits.cmk_limit,
        margin: limits.budget_margin.as_millis() as i64,
        skip_producer_check: producers.skip_producer_check,
        allow_producer_risk: producers.allow_producer_risk,
        ..Settings::default()
    }
}

fn sandbox(args: &InProcessSandbox) -> Option<SandboxOptions> {
    args.sandbox.then(|| SandboxOptions {
        world: args.sandbox_fleet.clone(),
        latency: args.sandbox_latency,
    })
}

fn plan(g: &GlobalArgs, global: Global, args: PlanArgs) -> Result<PlanOptions, UsageError> {
    Ok(PlanOptions {
        region: g.single_region()?.map(str::to_owned),
        pace: pace(&args.pace),
        settings: Settings {
            skip_iac_owned: args.iac.iac_owned == IacOwnedArg::Skip,
            ..settings(&args.limits, &args.producers)
        },
        sandbox: sandbox(&args.sandbox),
        recent_within: (!args.refresh).then_some(args.max_plan_age),
        detailed_exitcode: args.detailed_exitcode,
        shard: args.shard,
        out_policies: args.out_policies,
        out_iac: args.out_iac,
        iac: iac_input(&args.iac.terraform_state)?,
        waves: wave_plan(&args.waves)?,
        format: format(args.format, &global)?,
        out: match args.out {
            Some(out) if out.as_os_str() == "-" => {
                return Err(UsageError::new(
                    "--out - would mix the plan file with the report on standard output: name \
                     a file (the report stays on stdout), or print the plan's JSON with \
                     --format json",
                ));
            }
            out => out,
        },
        fleet: args.fleet,
        global,
    })
}

fn show(global: Global, args: ShowArgs) -> Result<ShowOptions, UsageError> {
    Ok(ShowOptions {
        format: format(Some(args.format), &global)?,
        global,
        path: args.file,
    })
}

/// The `--terraform-state` files, read now: one that cannot be read is a usage error.
fn iac_input(paths: &[PathBuf]) -> Result<crate::iac::IacInput, UsageError> {
    let mut streams = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!("--terraform-state {shown} cannot be read: {e}"))
        })?;
        streams.extend(
            crate::iac::terraform::read_state(&text, &shown)
                .map_err(|e| UsageError::new(format!("--terraform-state {e}")))?,
        );
    }
    Ok(crate::iac::IacInput {
        terraform: std::sync::Arc::new(streams),
    })
}

/// Whose streams: `--organization`, the `--account`s given, or the credentials' own.
fn account_scope(organization: bool, listed: Vec<String>) -> AccountScope {
    match (organization, listed) {
        (true, _) => AccountScope::Organization,
        (false, listed) if listed.is_empty() => AccountScope::Own,
        (false, mut listed) => {
            listed.sort();
            listed.dedup();
            AccountScope::Listed(listed)
        }
    }
}

fn audit(g: &GlobalArgs, global: Global, args: AuditArgs) -> Result<AuditOptions, UsageError> {
    Ok(AuditOptions {
        global,
        regions: g.region.clone(),
        accounts: account_scope(args.organization, args.account),
        format: args.format.map(ReportFormat::from),
        out_policies: args.out_policies,
        pace: pace(&args.pace),
        sandbox: sandbox(&args.sandbox),
        iac: iac_input(&args.terraform_state)?,
    })
}

fn inventory(g: &GlobalArgs, global: Global, args: InventoryArgs) -> InventoryOptions {
    InventoryOptions {
        global,
        regions: g.region.clone(),
        accounts: account_scope(args.organization, args.account),
        out: args.out,
        key_arn: args.key_arn,
        pace: pace(&args.pace),
        sandbox: sandbox(&args.sandbox),
    }
}

fn report(global: Global, args: ReportArgs) -> Result<ReportOptions, UsageError> {
    Ok(ReportOptions {
        format: format(Some(args.format), &global)?,
        global,
        run_id: args.run_id,
    })
}

/// A report's format: `--format`, where `--output json|text` turns the default table into JSON
/// or text (an explicit --format other than table wins); `--query` only where there is a
/// document to select from.
fn format(given: Option<ReportFormatArg>, global: &Global) -> Result<ReportFormat, UsageError> {
    let format = match (
        given.unwrap_or(ReportFormatArg::Table),
        global.output.format,
    ) {
        (ReportFormatArg::Table, OutputFormat::Json) => ReportFormat::Json,
        (ReportFormatArg::Table, OutputFormat::Text) => ReportFormat::Text,
        (f, _) => f.into(),
    };
    if global.output.query.is_some()
        && matches!(
            format,
            ReportFormat::Csv | ReportFormat::Md | ReportFormat::Html
        )
    {
        return Err(UsageError::new(
            "--query selects from the report's JSON document: use it with --format json, text \
             or table, not csv, md or html",
        ));
    }
    Ok(format)
}

impl InventoryOptions {
    /// The regions to inventory and the key for `--out`'s fleet file: the `--region`s given,
    /// else `default_region` (the profile's, looked up by the command), each a region code;
    /// `--key-arn` a key ARN of the one region inventoried.
    pub fn scope(
        &self,
        default_region: Option<String>,
    ) -> Result<(Vec<String>, KeyChoice), UsageError> {
        let regions = checked_regions(&self.regions, default_region, "inventory")?;
        let key = match &self.key_arn {
            None => KeyChoice::AwsOwned,
            Some(text) => {
                let arn = KmsKeyArn::parse(text).map_err(|e| {
                    UsageError::new(format!("--key-arn {text:?}: {}", e.as_key_problem()))
                })?;
                if let Some(other) = regions.iter().find(|r| *r != arn.region()) {
                    return Err(UsageError::new(format!(
                        "--key-arn is a key of {}, but {other} is inventoried too: KMS keys are regional, inventory one region per key",
                        arn.region()
                    )));
                }
                KeyChoice::Customer(arn)
            }
        };
        Ok((regions, key))
    }
}

#[cfg(test)]
mod tests;
