//! The command line as operators meet it: help, version, and refusing a bad fleet file.

use std::process::Command;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firehose-sse"));
    // Nothing from the developer's environment may steer these runs.
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "FIREHOSE_SSE_LEDGER",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    // Fleet paths below are relative to the package root, whatever this process's directory.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn version_and_help() {
    let out = bin().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("firehose-sse "));
    let out = bin().args(["plan", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--ledger",
        "--region",
        "--profile",
        "--endpoint-url",
        "--ca-bundle",
        "--connect-timeout",
        "--read-timeout",
        "--color",
        "--debug",
        "--output",
    ] {
        assert!(help.contains(flag), "plan --help lacks {flag}:\n{help}");
    }
}

#[test]
fn a_dozen_mistakes_are_all_reported_with_lines_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let out = bin()
        .args(["plan", "tests/data/dozen-mistakes.csv", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let expected = [
        ("line 1", "unknown column"),
        ("line 3", "not a stream name"),
        ("line 4", "not a stream name"),
        ("line 5", "malformed Firehose ARN"),
        ("line 6", "ARN is in region us-east-1"),
        ("line 7", "no region"),
        ("line 8", "malformed region"),
        ("line 9", "alias"),
        ("line 10", "KMS keys are regional"),
        ("line 11", "unknown key type"),
        ("line 12", "needs a key ARN"),
        ("line 13", "takes no key ARN"),
        ("line 14", "appears twice: lines 2 and 14"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    for (line, what) in expected {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("{line},")) && l.contains(what)),
            "no '{what}' on {line}:\n{stderr}"
        );
    }
    assert!(stderr.contains("13 problems"), "{stderr}");
    assert!(!ledger.exists(), "no ledger may be created for a bad fleet");
    assert!(out.stdout.is_empty());
}

#[test]
fn without_credentials_plan_says_how_to_provide_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["plan", "plans/example.csv", "-q", "--ledger"])
        .arg(dir.path().join("l.db"))
        // Never ask an instance metadata service from a test.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials") && stderr.contains("--profile"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("region from IMDS"),
        "region looked up on IMDS: {stderr}"
    );
    assert!(!stderr.contains("WARN"), "-q shows errors only: {stderr}");
}

#[test]
fn missing_fleet_file_is_an_input_error() {
    let out = bin().args(["plan", "does-not-exist.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().last(),
        Some(
            "error: the fleet file does-not-exist.csv: cannot be read: No such file or \
             directory (os error 2); nothing was sent"
        ),
        "one line, the file named once:\n{stderr}"
    );
}

#[test]
fn values_from_the_environment_are_not_shown_as_typed_in_a_usage_line() {
    let out = bin()
        .args(["plan"])
        .env("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
        .env("AWS_PROFILE", "prod")
        .env("FIREHOSE_SSE_LEDGER", "/tmp/l.db")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let usage = stderr.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert_eq!(usage, "Usage: firehose-sse plan <FLEET.csv>", "{stderr}");
}

#[test]
fn a_swapped_letter_in_a_flag_gets_a_suggestion() {
    let out = bin().args(["apply", "f.csv", "--yse"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a similar argument exists: '--yes'"),
        "{stderr}"
    );
}

#[test]
fn commands_that_call_no_aws_api_list_no_aws_option() {
    for sub in ["status", "report", "history", "sandbox", "show"] {
        let out = bin().args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in ["--profile", "--endpoint-url", "--ca-bundle"] {
            assert!(!help.contains(flag), "{sub} --help lists {flag}:\n{help}");
        }
    }
}

fn stdout_of(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every command the program's help lists (clap's own `help` aside).
fn commands() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let listed: Vec<String> = help
        .split_once("Commands:\n")
        .unwrap()
        .1
        .lines()
        .take_while(|l| l.starts_with("  "))
        // A name stands two spaces in; its description's next lines further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect();
    assert!(listed.len() >= 14, "{listed:?}");
    listed
}

/// What bash completes for the words typed so far, with the script `completions bash` prints
/// loaded as a user's shell would load it.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let typed: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_firehose__sse firehose-sse '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        typed.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn shell_completions_offer_every_command_and_each_command_its_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("firehose-sse.bash");
    std::fs::write(&script, stdout_of(&["completions", "bash"])).unwrap();
    let all = bash_completes(&script, &["firehose-sse", ""]);
    for command in commands() {
        assert!(all.contains(&command), "{command} not offered: {all:?}");
    }
    assert_eq!(
        bash_completes(&script, &["firehose-sse", "roll"]),
        ["rollback"]
    );
    // Each command's own options, from the definitions the command line is parsed with.
    let status = bash_completes(&script, &["firehose-sse", "status", "--"]);
    assert!(status.contains(&"--ledger".to_owned()), "{status:?}");
    assert!(!status.contains(&"--waves".to_owned()), "{status:?}");
    let apply = bash_completes(&script, &["firehose-sse", "apply", "--"]);
    for flag in ["--profile", "--waves", "--yes", "--reserve"] {
        assert!(apply.contains(&flag.to_owned()), "{flag}: {apply:?}");
    }
    // The other shells get a script naming the commands too.
    for shell in ["zsh", "fish", "powershell"] {
        let text = stdout_of(&["completions", shell]);
        for command in commands() {
            assert!(text.contains(&command), "{shell}: {command} missing");
        }
    }
    let out = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_has_every_command_and_each_command_its_own_page() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH firehose-sse 1"), "{page}");
    let listed = &page[page.find(".SH SUBCOMMANDS").expect("a SUBCOMMANDS section")..];
    for command in commands() {
        // Roff escapes the dashes of a name.
        let name = format!("firehose\\-sse\\-{}(1)", command.replace('-', "\\-"));
        assert!(listed.contains(&name), "{name} not listed");
        let own = stdout_of(&["man", &command]);
        assert!(
            own.contains(&format!(".TH firehose-sse-{command} 1")),
            "{command}: {}",
            &own[..own.len().min(300)]
        );
    }
    assert!(stdout_of(&["man", "apply"]).contains("\\-\\-waves"));
    let out = bin().args(["man", "aply"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply"));
}
