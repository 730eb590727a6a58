use super::parse::swaps_and_edits;
use super::values::parse_timeout;
use super::*;
use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
    command().debug_assert();
}

fn help(sub: &str) -> String {
    let mut cmd = command();
    cmd.build();
    cmd.find_subcommand_mut(sub)
        .unwrap()
        .render_help()
        .to_string()
}

#[test]
fn aws_options_are_listed_only_by_the_commands_that_call_aws() {
    let aws = [
        "--region",
        "--profile",
        "--endpoint-url",
        "--allow-insecure-endpoint",
        "--ca-bundle",
        "--connect-timeout",
        "--read-timeout",
        "--debug",
    ];
    for sub in ["plan", "inventory", "audit", "apply", "resume"] {
        let help = help(sub);
        for flag in aws {
            assert!(help.contains(flag), "{sub} lacks {flag}:\n{help}");
        }
        for heading in [AWS_HEADING, GLOBAL_HEADING, "Pacing"] {
            assert!(help.contains(&format!("{heading}:")), "{sub}:\n{help}");
        }
    }
    for sub in ["status", "report", "history"] {
        let help = help(sub);
        for flag in aws {
            assert!(!help.contains(flag), "{sub} lists {flag}:\n{help}");
        }
        assert!(help.contains("--ledger"), "{sub}:\n{help}");
    }
    // `show` reads a file: no AWS option, no ledger either.
    let show = help("show");
    for flag in aws.iter().chain(&["--ledger"]) {
        assert!(!show.contains(flag), "show lists {flag}:\n{show}");
    }
    assert!(show.contains("--format <FORMAT>"), "{show}");
    let sandbox = help("sandbox");
    for flag in [
        "--ledger",
        "--profile",
        "--endpoint-url",
        "--output",
        "--debug",
    ] {
        assert!(!sandbox.contains(flag), "sandbox lists {flag}:\n{sandbox}");
    }
    assert!(sandbox.contains("--region <REGION>"), "{sandbox}");
    assert!(sandbox.contains("[default: us-east-1]"), "{sandbox}");
}

#[test]
fn report_offers_one_way_to_choose_its_format() {
    let report = help("report");
    assert!(report.contains("--format"), "{report}");
    assert!(!report.contains("--output <OUTPUT>"), "{report}");
    // Still read as it always was.
    let cli = try_parse_from(["fs", "report", "--output", "json"]).unwrap();
    assert_eq!(cli.global.output, OutputArg::Json);
    let cli = try_parse_from(["fs", "--output", "json", "report"]).unwrap();
    assert_eq!(cli.global.output, OutputArg::Json);
}

#[test]
fn help_says_what_resume_does_with_yes_and_shows_first_poll() {
    let resume = help("resume");
    assert!(resume.contains("resume never asks"), "{resume}");
    assert!(!resume.contains("required when stdin"), "{resume}");
    assert!(help("apply").contains("required when stdin"));
    assert!(resume.contains("--first-poll"), "{resume}");
    assert!(help("apply").contains("--first-poll"));
}

#[test]
fn hidden_options_are_still_accepted_where_they_were() {
    for args in [
        &["fs", "status", "--profile", "p", "--debug"][..],
        &["fs", "--endpoint-url", "http://127.0.0.1:1", "history"],
        &[
            "fs",
            "report",
            "--region",
            "us-east-1",
            "--read-timeout",
            "5",
        ],
        &["fs", "sandbox", "--ledger", "l.db", "--output", "json"],
    ] {
        assert!(try_parse_from(args).is_ok(), "{args:?}");
    }
    let cli = try_parse_from(["fs", "status", "--profile", "p"]).unwrap();
    assert_eq!(cli.global.profile.as_deref(), Some("p"));
    for args in [
        &["fs", "sandbox", "--region", "eu-central-1"][..],
        &["fs", "--region", "eu-central-1", "sandbox"],
    ] {
        let cli = try_parse_from(args).unwrap();
        assert_eq!(cli.global.region, ["eu-central-1"], "{args:?}");
    }
}

#[test]
fn a_misspelt_or_misplaced_flag_gets_a_tip() {
    let err = try_parse_from(["fs", "apply", "f.csv", "--yse"]).unwrap_err();
    let text = err.render().to_string();
    assert!(
        text.contains("a similar argument exists: '--yes'"),
        "{text}"
    );
    let err = try_parse_from(["fs", "status", "--concurrency", "4"]).unwrap_err();
    let text = err.render().to_string();
    assert!(
        text.contains(
            "--concurrency is an option of plan, inventory, audit, apply, rollback, resume, \
             start-delivery-stream-encryption, stop-delivery-stream-encryption, not of status"
        ),
        "{text}"
    );
    // Before the subcommand, clap's own tip names where it belongs.
    let err = try_parse_from(["fs", "--yes", "apply", "f.csv"]).unwrap_err();
    let text = err.render().to_string();
    assert!(text.contains("'apply --yes' exists"), "{text}");
    assert!(!text.contains("similar argument"), "{text}");
}

#[test]
fn edits_count_a_swap_as_one() {
    assert_eq!(swaps_and_edits("yse", "yes"), 1);
    assert_eq!(swaps_and_edits("concurency", "concurrency"), 1);
    assert_eq!(swaps_and_edits("yes", "yes"), 0);
    assert_eq!(swaps_and_edits("abc", ""), 3);
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

/// The lines of a help's Examples section, each cut before its comment and any redirection or
/// pipe: the words typed to the program.
fn examples(long_help: &str) -> Vec<Vec<String>> {
    let Some((_, section)) = long_help.split_once("Examples:\n") else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|line| {
            let typed = line
                .split(" #")
                .next()
                .unwrap()
                .split(['>', '|'])
                .next()
                .unwrap();
            typed.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn every_command_s_help_has_examples_that_parse_as_that_command() {
    let mut cmd = command();
    cmd.build();
    let mut commands: Vec<(Option<String>, String)> =
        vec![(None, cmd.render_long_help().to_string())];
    for sub in cmd.get_subcommands_mut() {
        if sub.get_name() != "help" {
            commands.push((
                Some(sub.get_name().to_owned()),
                sub.render_long_help().to_string(),
            ));
        }
    }
    assert!(commands.len() >= 15, "{}", commands.len());
    for (name, long_help) in commands {
        let lines = examples(&long_help);
        assert!(
            (2..=4).contains(&lines.len()),
            "{name:?}: {} examples:\n{long_help}",
            lines.len()
        );
        let too_wide = long_help
            .split_once("Examples:\n")
            .map_or("", |(_, e)| e)
            .lines()
            .take_while(|l| l.starts_with("  "))
            .find(|l| l.chars().count() > 80);
        assert_eq!(too_wide, None, "{name:?}: an example wider than a terminal");
        for words in lines {
            assert_eq!(words[0], "firehose-sse", "{name:?}: {words:?}");
            let matches = command()
                .try_get_matches_from(&words)
                .unwrap_or_else(|e| panic!("{name:?}: {words:?} does not parse: {e}"));
            if let Some(name) = &name {
                assert_eq!(matches.subcommand_name(), Some(name.as_str()), "{words:?}");
            }
            // And as the program itself reads it (flags it hides, values it checks).
            try_parse_from(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
        }
    }
}

#[test]
fn short_help_is_shorter_than_long_help_for_every_command() {
    let mut cmd = command();
    cmd.build();
    let (short, long) = (
        cmd.render_help().to_string(),
        cmd.render_long_help().to_string(),
    );
    assert!(short.len() < long.len());
    assert!(!short.contains("Examples:"), "{short}");
    for sub in cmd.get_subcommands_mut() {
        let name = sub.get_name().to_owned();
        let short = sub.render_help().to_string();
        let long = sub.render_long_help().to_string();
        if name == "help" {
            continue;
        }
        assert!(
            short.lines().count() < long.lines().count(),
            "{name}: -h has {} lines, --help {}",
            short.lines().count(),
            long.lines().count()
        );
        assert!(
            long.contains("Examples:") && !short.contains("Examples:"),
            "{name}"
        );
    }
}

#[test]
fn the_examples_reader_finds_what_it_is_for() {
    let help = "Usage: x\n\nExamples:\n  firehose-sse plan f.csv   # note\n  firehose-sse man | man -l -\n\nExit codes: 0";
    assert_eq!(
        examples(help),
        vec![
            vec!["firehose-sse", "plan", "f.csv"],
            vec!["firehose-sse", "man"]
        ]
    );
    assert!(examples("no section").is_empty());
}
