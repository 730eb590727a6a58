use super::*;

fn resolve(args: &[&str]) -> Result<Options, UsageError> {
    let mut argv = vec!["firehose-sse"];
    argv.extend(args);
    Options::resolve(crate::cli::try_parse_from(argv).unwrap())
}

#[test]
fn defaults_reach_the_typed_options() {
    let Options { log, command } = resolve(&["-vv", "plan", "fleet.csv"]).unwrap();
    assert_eq!((log.quiet, log.verbose, log.debug), (false, 2, false));
    let CommandOptions::Plan(plan) = command else {
        panic!("not plan")
    };
    assert_eq!(plan.fleet, PathBuf::from("fleet.csv"));
    assert_eq!(plan.region, None);
    assert_eq!(plan.settings, Settings::default());
    assert_eq!(
        (
            plan.pace.start_tps,
            plan.pace.describe_tps,
            plan.pace.shared_quota
        ),
        (5.0, 4.0, false),
        "Describes leave a call a second of the shared quota to the account's other readers"
    );
    assert_eq!(plan.pace.concurrency, 32);
    assert_eq!(plan.sandbox, None);
    assert_eq!(plan.global.output.format, OutputFormat::Table);
}

#[test]
fn several_regions_only_for_inventory() {
    let err = resolve(&["--region", "a", "--region", "b", "plan", "f.csv"]).unwrap_err();
    assert!(err.to_string().contains("only `inventory`"), "{err}");
    let err = resolve(&["apply", "f.csv", "--yes", "--region", "a", "--region", "b"]);
    assert!(err.is_err());
    // A saved plan needs no region: as before, several are not refused.
    assert!(
        resolve(&[
            "apply", "--plan", "3", "--yes", "--region", "a", "--region", "b"
        ])
        .is_ok()
    );
    let Ok(Options {
        command: CommandOptions::Inventory(inv),
        ..
    }) = resolve(&[
        "inventory",
        "--region",
        "us-west-2",
        "--region",
        "eu-west-1",
        "--region",
        "us-west-2",
    ])
    else {
        panic!("not inventory")
    };
    assert_eq!(inv.scope(None).unwrap().0, ["eu-west-1", "us-west-2"]);
}

#[test]
fn apply_source_and_run_options() {
    let Ok(Options {
        command: CommandOptions::Apply(apply),
        ..
    }) = resolve(&[
        "apply",
        "--plan",
        "7",
        "--yes",
        "--max-plan-age",
        "2h",
        "--reserve",
        "2",
        "--max-attempts",
        "5",
        "--sandbox",
    ])
    else {
        panic!("not apply")
    };
    assert_eq!(
        apply.source,
        PlanSource::Saved {
            id: 7,
            max_age: Duration::from_secs(7200)
        }
    );
    assert_eq!((apply.settings.reserve, apply.settings.cmk_limit), (2, 500));
    assert_eq!(apply.run.max_attempts, 5);
    assert_eq!(
        apply.run.retirement_wait,
        crate::engine::GRANT_RETIREMENT_WAIT,
        "--grant-retirement-wait defaults to the engine's reading"
    );
    assert_eq!(
        apply.run.sandbox,
        Some(SandboxOptions {
            world: None,
            latency: Duration::from_secs(2)
        })
    );
}

#[test]
fn report_format_follows_output_json_unless_given() {
    let format = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Report(r) => r.format,
        _ => panic!("not report"),
    };
    assert_eq!(format(&["report"]), ReportFormat::Table);
    assert_eq!(format(&["--output", "json", "report"]), ReportFormat::Json);
    assert_eq!(
        format(&["--output", "json", "report", "--format", "csv"]),
        ReportFormat::Csv
    );
}

#[test]
fn report_reads_output_text_as_format_text_and_takes_a_query_only_on_its_document() {
    let format = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Report(r) => r.format,
        _ => panic!("not report"),
    };
    assert_eq!(format(&["--output", "text", "report"]), ReportFormat::Text);
    assert_eq!(format(&["report", "--format", "html"]), ReportFormat::Html);
    assert_eq!(
        format(&["report", "--format", "json", "--query", "items[].stream"]),
        ReportFormat::Json
    );
    for refused in ["csv", "md", "html"] {
        let err = resolve(&["report", "--format", refused, "--query", "items"]).unwrap_err();
        assert!(err.to_string().contains("--query"), "{err}");
    }
}

#[test]
fn a_query_is_checked_before_anything_runs() {
    let err = resolve(&["status", "--query", "items[?phase=="]).unwrap_err();
    assert!(
        err.to_string().contains("not a JMESPath expression"),
        "{err}"
    );
    let CommandOptions::Status(status) = resolve(&["status", "--query", "phases.done"])
        .unwrap()
        .command
    else {
        panic!("not status")
    };
    assert_eq!(
        status.global.output.query.as_ref().map(|q| q.as_str()),
        Some("phases.done")
    );
}

#[test]
fn inventory_scope() {
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let inv = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Inventory(i) => i,
        _ => panic!("not inventory"),
    };
    let none = inv(&["inventory"]);
    assert!(
        none.scope(None)
            .unwrap_err()
            .to_string()
            .contains("needs a region")
    );
    assert_eq!(
        none.scope(Some("us-east-1".into())).unwrap(),
        (vec!["us-east-1".to_owned()], KeyChoice::AwsOwned)
    );
    let bad = inv(&["--region", "moon", "inventory"]);
    assert!(
        bad.scope(None)
            .unwrap_err()
            .to_string()
            .contains("malformed region")
    );
    let keyed = inv(&[
        "--region",
        "eu-west-1",
        "inventory",
        "--out",
        "f.csv",
        "--key-arn",
        key,
    ]);
    assert!(
        keyed
            .scope(None)
            .unwrap_err()
            .to_string()
            .contains("KMS keys are regional")
    );
    let keyed = inv(&[
        "--region",
        "us-east-1",
        "inventory",
        "--out",
        "f.csv",
        "--key-arn",
        key,
    ]);
    assert!(matches!(
        keyed.scope(None).unwrap().1,
        KeyChoice::Customer(_)
    ));
}

// `cli` stays the clap definition: the sandbox subcommand keeps its flags.
#[test]
fn the_sandbox_keeps_its_flags() {
    let Ok(Options {
        command: CommandOptions::Sandbox(sandbox),
        ..
    }) = resolve(&["sandbox", "--streams", "3"])
    else {
        panic!("not sandbox")
    };
    let (_, args): &(GlobalArgs, SandboxArgs) = &sandbox;
    assert_eq!(args.streams, 3);
}

#[test]
fn plan_uses_recent_observations_unless_refreshing() {
    let within = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Plan(p) => p.recent_within,
        _ => panic!("not plan"),
    };
    assert_eq!(within(&["plan", "f.csv"]), Some(Duration::from_secs(3600)));
    assert_eq!(
        within(&["plan", "f.csv", "--max-plan-age", "10m"]),
        Some(Duration::from_secs(600))
    );
    assert_eq!(within(&["plan", "f.csv", "--refresh"]), None);
}

#[test]
fn the_ledger_is_the_flag_else_the_default() {
    let ledger = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::History(g) => g.ledger,
        _ => panic!("not history"),
    };
    assert_eq!(
        ledger(&["--ledger", "a.db", "history"]),
        PathBuf::from("a.db")
    );
    assert_eq!(
        ledger(&["history", "--ledger", "b.db"]),
        PathBuf::from("b.db")
    );
    if std::env::var_os("FIREHOSE_SSE_LEDGER").is_none() {
        assert_eq!(ledger(&["history"]), PathBuf::from("firehose-sse.db"));
    }
}

#[test]
fn a_plan_file_is_told_from_a_fleet_file_and_a_plan_id_and_checked_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, "{\"format\": \"firehose-sse plan\"}").unwrap();
    let fleet = dir.path().join("fleet.csv");
    std::fs::write(&fleet, "stream\ns\n").unwrap();
    let (file, fleet) = (file.to_str().unwrap(), fleet.to_str().unwrap());
    let source = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Apply(a) => (a.source, a.expect_hash),
        _ => panic!("not apply"),
    };
    let hash = "AB".repeat(32);
    assert!(matches!(
        source(&["apply", file, "--yes"]).0,
        PlanSource::File { .. }
    ));
    assert!(matches!(
        source(&["apply", fleet, "--yes"]).0,
        PlanSource::Fleet { .. }
    ));
    assert!(matches!(
        source(&["apply", "--plan", "3", "--yes"]).0,
        PlanSource::Saved { id: 3, .. }
    ));
    let (from_flag, expected) = source(&[
        "apply",
        "--plan",
        file,
        "--yes",
        "--expect-plan-hash",
        &hash,
    ]);
    assert!(matches!(from_flag, PlanSource::File { .. }));
    assert_eq!(expected, Some("ab".repeat(32)), "kept in lowercase");
    let err = |args: &[&str]| resolve(args).unwrap_err().to_string();
    assert!(
        err(&["apply", fleet, "--yes", "--expect-plan-hash", &hash])
            .contains("a fleet file is decided")
    );
    assert!(
        err(&["apply", file, "--yes", "--expect-plan-hash", "abababababab"])
            .contains("not a whole SHA-256")
    );
    assert!(
        err(&["apply", file, "--yes", "--shard", "1/2"])
            .contains("a plan file is carried out whole")
    );
    assert!(err(&["plan", fleet, "--out", "-"]).contains("--out - would mix"));
    assert!(
        err(&["plan", fleet, "--format", "md", "--query", "items"]).contains("--query selects")
    );
    let format = |args: &[&str]| match resolve(args).unwrap().command {
        CommandOptions::Plan(p) => p.format,
        _ => panic!("not plan"),
    };
    assert_eq!(format(&["plan", fleet]), ReportFormat::Table);
    assert_eq!(
        format(&["plan", fleet, "--output", "json"]),
        ReportFormat::Json
    );
    assert_eq!(format(&["plan", fleet, "--format", "md"]), ReportFormat::Md);
}
