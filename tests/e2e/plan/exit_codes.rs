//! plan's exit codes: 0 when a plan was made, 2 on a bad fleet file, 1 when the endpoint is
//! down or there are no credentials, each with what it says.

use super::R;
use crate::common::{Run, Sandbox, Workdir, fleet_csv, stream_names};

#[test]
fn plan_exits_0_when_a_plan_was_made_even_if_nothing_can_be_done() {
    let sandbox = Sandbox::start(&[]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(["nowhere".to_owned()], R));
    let plan = w
        .run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"])
        .assert_code(0)
        .json();
    assert_eq!(plan["summary"]["skip"], 1);
    assert_eq!(plan["estimated_seconds"], 0);
}

#[test]
fn plan_exits_2_on_a_bad_fleet_file_without_calling_or_writing_anything() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet(
        "fleet.csv",
        "stream,region,colour\nstream-00000,us-east-1,blue\nbad name!,us-east-1,\n",
    );
    let run = w.run(&["plan", fleet.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("colour"), "{}", run.stderr);
    let missing = w.path("missing.csv");
    w.run(&["plan", missing.to_str().unwrap()]).assert_code(2);
    assert!(!w.ledger().exists());
    assert!(sandbox.stats().requests.is_empty());
}

#[test]
fn plan_exits_1_and_says_the_connection_was_refused_when_the_endpoint_is_down() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    drop(sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(1), R));
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("stream-00000") && run.stderr.contains("Connection refused"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn plan_exits_1_and_says_how_to_provide_credentials_when_there_are_none() {
    let sandbox = Sandbox::start(&["--streams", "1"]);
    let w = Workdir::new(&sandbox);
    let fleet = w.fleet("fleet.csv", &fleet_csv(stream_names(1), R));
    let run: Run = w
        .command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["plan", fleet.to_str().unwrap(), "-q"])
        .output()
        .unwrap()
        .into();
    run.assert_code(1);
    assert!(
        run.stderr.contains("no AWS credentials") && run.stderr.contains("aws configure"),
        "{}",
        run.stderr
    );
    assert!(sandbox.stats().requests.is_empty());
}
