use super::parse::swaps_and_edits;
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
