//! Parsing with [`super::Cli`]'s definitions: each subcommand lists only the options it
//! uses ([`command`]), and a mistyped or misplaced flag gets a tip clap's own matching misses
//! ([`try_parse_from`]).

use super::Cli;

/// The ids of the AWS connection's options, the roles assumed in other accounts included.
const AWS_OPTIONS: [&str; 12] = [
    "region",
    "profile",
    "endpoint_url",
    "allow_insecure_endpoint",
    "ca_bundle",
    "connect_timeout",
    "read_timeout",
    "debug",
    "assume_role",
    "external_id",
    "role_session_name",
    "role_duration",
];

/// The ids of the in-process sandbox's options, which `resume` and `rollback` cannot use.
const IN_PROCESS_SANDBOX: [&str; 3] = ["sandbox", "sandbox_fleet", "sandbox_latency"];

/// The command line as parsed: [`Cli`]'s definition, with each subcommand listing only the
/// options it uses. `status`, `report`, `history` and `show` call no AWS API: the AWS
/// connection's options (the roles to assume included) are hidden there (still accepted, as they
/// always were); `resume` and `rollback` hide the in-process sandbox's, which cannot work there;
/// `report` chooses its format
/// with --format, where `--output json|text` is still read as `--format json|text`; `sandbox`
/// lists its own --region and hides the ledger, output, query and AWS options it has no use for; `resume`
/// never asks for confirmation, and its --yes says so; `completions` and `man` list no option.
pub fn command() -> clap::Command {
    use clap::CommandFactory as _;
    let cli = Cli::command();
    let globals: Vec<clap::Arg> = cli.get_arguments().cloned().collect();
    // A subcommand's own argument of a global's id takes its place there (clap propagates a
    // global only where no argument of that id exists); values still reach `Cli::global`.
    let hidden = |ids: &[&str]| -> Vec<clap::Arg> {
        globals
            .iter()
            .filter(|a| ids.contains(&a.get_id().as_str()))
            .map(|a| a.clone().global(false).hide(true))
            .collect()
    };
    let region = globals
        .iter()
        .find(|a| a.get_id() == "region")
        .expect("--region is defined")
        .clone()
        .global(false)
        .help_heading("Sandbox options")
        .help(
            "Region of unsigned requests, of --streams and of seeded streams and keys that name \
             none [default: us-east-1]",
        );
    let mut sandbox_hidden: Vec<&str> = AWS_OPTIONS[1..].to_vec();
    sandbox_hidden.extend(["ledger", "output", "query"]);
    // `completions` and `man` describe the command line and use none of its options.
    let all: Vec<&str> = globals.iter().map(|a| a.get_id().as_str()).collect();
    let mut report_hidden = AWS_OPTIONS.to_vec();
    report_hidden.push("output");
    // `show` reads a file: no ledger either.
    let mut show_hidden = report_hidden.clone();
    show_hidden.push("ledger");
    cli.mut_subcommand("status", |c| c.args(hidden(&AWS_OPTIONS)))
        .mut_subcommand("history", |c| c.args(hidden(&AWS_OPTIONS)))
        .mut_subcommand("report", |c| c.args(hidden(&report_hidden)))
        .mut_subcommand("show", |c| c.args(hidden(&show_hidden)))
        .mut_subcommand("sandbox", |c| c.arg(region).args(hidden(&sandbox_hidden)))
        .mut_subcommand("rollback", |c| hide_args(c, &IN_PROCESS_SANDBOX))
        .mut_subcommand("completions", |c| c.args(hidden(&all)))
        .mut_subcommand("man", |c| c.args(hidden(&all)))
        .mut_subcommand("resume", |c| {
            hide_args(c, &IN_PROCESS_SANDBOX).mut_arg("yes", |a| {
                a.help(
                    "Accepted, as apply takes it; resume never asks for confirmation (the run \
                     it continues was confirmed when it began)",
                )
            })
        })
        // Where a tip names the commands a flag belongs to, the one-stream commands come after
        // the fleet's (a changed subcommand moves to the end of clap's list).
        .mut_subcommand("start-delivery-stream-encryption", |c| c)
        .mut_subcommand("stop-delivery-stream-encryption", |c| c)
}

/// `command` with its own arguments `ids` hidden from its help (still accepted).
fn hide_args(command: clap::Command, ids: &[&str]) -> clap::Command {
    ids.iter()
        .fold(command, |c, id| c.mut_arg(*id, |a| a.hide(true)))
}

/// Parses the process's arguments with [`command`]; on a mistake prints clap's error (with a
/// suggestion for a misspelt flag clap's own matching misses) and exits 2.
pub fn parse() -> Cli {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// [`parse`] of given arguments.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches as _;
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let mut cmd = command();
    let parsed = cmd
        .try_get_matches_from_mut(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    parsed.map_err(|e| suggest(e, &mut cmd, &args))
}

/// Helps with an unknown flag where clap's own matching (Jaro similarity above 0.7) says
/// nothing: a swap of two letters in a short flag (`--yse` for `--yes`) gets "a similar
/// argument exists"; a flag of other commands given to one without it is named with them.
fn suggest(
    mut err: clap::Error,
    cmd: &mut clap::Command,
    args: &[std::ffi::OsString],
) -> clap::Error {
    use clap::builder::StyledStr;
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument || err.get(ContextKind::SuggestedArg).is_some() {
        return err;
    }
    let Some(ContextValue::String(typed)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let typed = typed.clone();
    let Some(long) = typed.strip_prefix("--").map(str::to_owned) else {
        return err;
    };
    cmd.build();
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    let at = words
        .iter()
        .position(|w| *w == typed || w.starts_with(&format!("{typed}=")));
    let sub = words
        .iter()
        .enumerate()
        .find(|(_, w)| cmd.find_subcommand(w).is_some())
        .filter(|(i, _)| at.is_none_or(|at| at > *i))
        .map(|(_, w)| (*w).to_owned());
    let Some(sub) = sub else {
        // Before the subcommand: clap names the subcommand that has it.
        return err;
    };
    let Some(scope) = cmd.find_subcommand(&sub) else {
        return err;
    };
    let best = scope
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .map(|candidate| (swaps_and_edits(&long, candidate), candidate))
        .filter(|(d, candidate)| *d <= if candidate.len() <= 4 { 1 } else { 2 })
        .min();
    if let Some((_, candidate)) = best {
        err.insert(
            ContextKind::SuggestedArg,
            ContextValue::String(format!("--{candidate}")),
        );
        return err;
    }
    let owners: Vec<&str> = cmd
        .get_subcommands()
        .filter(|c| {
            c.get_arguments()
                .any(|a| !a.is_hide_set() && a.get_long() == Some(long.as_str()))
        })
        .map(|c| c.get_name())
        .collect();
    if !owners.is_empty() {
        err.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![StyledStr::from(format!(
                "{typed} is an option of {}, not of {sub}",
                owners.join(", ")
            ))]),
        );
    }
    err
}

/// Edits from `a` to `b`, a swap of two neighbours counting one (optimal string alignment).
pub(super) fn swaps_and_edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
