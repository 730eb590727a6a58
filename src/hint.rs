//! The commands this tool prints for the operator to run next ("Continue with: firehose-sse
//! resume 7"), written so that each works as printed: the program as it can be run from here
//! (`firehose-sse` when that is this binary on `PATH`, else the path it was started by, as
//! after `cargo run`), and the flags that chose what the next command must find again — the
//! ledger (`--ledger`) and the profile (`--profile`) given on this command line (an environment
//! variable that chose them is still set in the same shell). The endpoint is not repeated: the
//! commands that take a run or a plan up (`resume`, `rollback`, `apply --plan`) go where the
//! ledger says it was made when no `--endpoint-url` is given. A leaf: it knows no other module.

use std::path::Path;
use std::sync::OnceLock;

/// How this process was invoked, as far as the next command must repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program, quoted for a shell.
    pub program: String,
    /// Flags to append to every printed command, quoted for a shell.
    pub flags: Vec<String>,
}

static INVOCATION: OnceLock<Invocation> = OnceLock::new();

/// Records how this process was invoked (once, when its command line is read).
pub fn remember(ledgers: &[std::path::PathBuf], profile: Option<&str>) {
    let _ = INVOCATION.set(Invocation::new(program(), ledgers, profile));
}

impl Invocation {
    pub fn new(program: String, ledgers: &[std::path::PathBuf], profile: Option<&str>) -> Self {
        let mut flags = Vec::new();
        for ledger in ledgers {
            flags.push("--ledger".to_owned());
            flags.push(quote(&ledger.display().to_string()));
        }
        if let Some(profile) = profile {
            flags.push("--profile".to_owned());
            flags.push(quote(profile));
        }
        Invocation { program, flags }
    }

    /// `rest` (a subcommand and its arguments, already quoted) as a command to run.
    pub fn command(&self, rest: &str) -> String {
        let mut text = format!("{} {rest}", self.program);
        for flag in &self.flags {
            text.push(' ');
            text.push_str(flag);
        }
        text
    }
}

/// `rest` (a subcommand and its arguments, e.g. `resume 7`) as a command that works as printed.
pub fn command(rest: &str) -> String {
    match INVOCATION.get() {
        Some(invocation) => invocation.command(rest),
        None => format!("firehose-sse {rest}"),
    }
}

/// The program to print: `firehose-sse` when the first `firehose-sse` on `PATH` is this very
/// binary, else the path this process was started by (relative to the working directory when
/// under it, as `target/release/firehose-sse` after `cargo run --release`).
fn program() -> String {
    let exe = std::env::current_exe().ok();
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("firehose-sse"))
            .find(|candidate| candidate.is_file())
    });
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let (Some(exe), Some(found)) = (&exe, &on_path)
        && same(exe, found)
    {
        return "firehose-sse".to_owned();
    }
    let Some(exe) = exe else {
        return "firehose-sse".to_owned();
    };
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .map(|rel| {
            // A bare name would be looked up on PATH: keep a slash in it.
            match rel.components().count() {
                1 => Path::new(".").join(rel),
                _ => rel,
            }
        })
        .unwrap_or(exe);
    quote(&shown.display().to_string())
}

/// A word for a POSIX shell: as it is when it needs no quoting, else in single quotes.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_command_repeats_the_ledger_and_the_profile_given() {
        let none = Invocation::new("firehose-sse".into(), &[], None);
        assert_eq!(none.command("report 1"), "firehose-sse report 1");
        let both = Invocation::new(
            "target/release/firehose-sse".into(),
            &["shard 1.db".into()],
            Some("prod"),
        );
        assert_eq!(
            both.command("resume 7"),
            "target/release/firehose-sse resume 7 --ledger 'shard 1.db' --profile prod"
        );
    }

    #[test]
    fn words_are_quoted_for_a_shell_only_when_they_must_be() {
        assert_eq!(quote("/tmp/a-b_c.db"), "/tmp/a-b_c.db");
        assert_eq!(quote("it's here"), r"'it'\''s here'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }
}
