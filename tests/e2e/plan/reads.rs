//! Reading only, at the pace asked for: plan and inventory never send Start or Stop, and
//! observation stays under `--describe-tps` and close to it.

use std::time::Instant;

use super::{FAST, MIXED_WORLD, R, assert_only_reads, mixed_fleet};
use crate::common::{Sandbox, Workdir, fleet_csv, stream_names};

#[test]
fn plan_and_inventory_never_send_start_or_stop() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), MIXED_WORLD, &["--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &mixed_fleet());
    w.run(&["plan", fleet.to_str().unwrap(), "-q", FAST[0], FAST[1]])
        .assert_code(0);
    w.run(&[
        "inventory",
        "--region",
        R,
        "-q",
        "--out",
        "out.csv",
        FAST[0],
        FAST[1],
    ])
    .assert_code(0);
    let truth = sandbox.stats();
    assert_only_reads(&truth);
    // Exactly one Describe per fleet stream (13) and per listed stream (12), one List, one
    // DescribeKey per distinct key (good, missing, off, rsa, small), and the plan's one STS
    // GetCallerIdentity (where its calls went); the producer check reads the account's
    // principals once (one page), simulates its one candidate (the administrator, user
    // `sandbox`, who may put to every stream) and the caller's own kms:CreateGrant, and reads
    // each key's policy once; the Kinesis-sourced stream's source is read once by the plan and
    // once by the inventory, and the plan lists the Region's stacks' streams in one page.
    assert_eq!(
        truth.requests,
        [
            ("DescribeDeliveryStream".to_owned(), 13 + 12),
            ("DescribeKey".to_owned(), 5),
            ("DescribeStreamSummary".to_owned(), 2),
            ("GetAccountAuthorizationDetails".to_owned(), 1),
            ("GetCallerIdentity".to_owned(), 1),
            ("GetKeyPolicy".to_owned(), 5),
            ("GetResources".to_owned(), 1),
            ("ListDeliveryStreams".to_owned(), 1),
            ("SimulatePrincipalPolicy".to_owned(), 2),
        ]
        .into()
    );
}

#[test]
fn observation_stays_under_describe_tps_and_close_to_it() {
    let sandbox = Sandbox::start(&["--streams", "60", "--tps", "0"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(60), R));
    let started = Instant::now();
    let plan = w
        .run(&[
            "plan",
            fleet.to_str().unwrap(),
            "-q",
            "--output",
            "json",
            "--describe-tps",
            "10",
        ])
        .assert_code(0)
        .json();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(plan["summary"]["enable"], 60);
    let truth = sandbox.stats();
    assert_eq!(truth.requests_for("DescribeDeliveryStream"), 60);
    let max_rate = truth.max_rate["DescribeDeliveryStream"];
    assert!(max_rate <= 10, "{max_rate} Describes in one second");
    // 60 calls, the first at once: 59 intervals at 10/s is 5.9 s. Loose: this is a sanity
    // check on a shared machine, not a benchmark.
    let rate = 59.0 / elapsed;
    assert!(
        rate >= 0.85 * 10.0,
        "observed at {rate:.2}/s ({elapsed:.2} s for 60 streams)"
    );
}
