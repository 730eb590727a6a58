//! A private certificate authority, as behind a corporate TLS-inspecting proxy: moto over HTTPS
//! with a certificate from a throwaway CA.

use std::path::Path;
use std::process::Command;

use super::REGION;
use super::moto::{MOTO, Moto, moto_server};
use crate::common::{Run, Workdir};

/// moto serves HTTPS with a certificate signed by a throwaway CA: the SDK's client trusts it
/// only with `--ca-bundle` (or `AWS_CA_BUNDLE`), and without it the error says what to do.
#[test]
fn a_private_ca_is_trusted_only_through_ca_bundle() {
    let certs = tempfile::tempdir().unwrap();
    let python = moto_server().parent().unwrap().join("python");
    MOTO.setup(
        Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/make_test_ca.py"))
            .arg(certs.path()),
        "make a test certificate authority",
    );
    let (ca, cert, key) = (
        certs.path().join("ca.pem"),
        certs.path().join("cert.pem"),
        certs.path().join("key.pem"),
    );
    let moto = Moto::start_with(Some((&cert, &key)));
    assert!(moto.url.starts_with("https://"), "{}", moto.url);
    let w = Workdir {
        dir: tempfile::tempdir().unwrap(),
        endpoint: moto.url.clone(),
    };
    let inventory = ["inventory", "--region", REGION, "--output", "json"];

    let flag = w
        .command()
        .args(inventory)
        .arg("--ca-bundle")
        .arg(&ca)
        .output()
        .unwrap();
    let flag = Run::from(flag);
    let regions = &flag.assert_code(0).json()["regions"];
    assert_eq!(regions[0]["region"], REGION, "{}", flag.stdout);
    assert_eq!(regions[0]["streams"], 0, "{}", flag.stdout);

    let env = Run::from(
        w.command()
            .args(inventory)
            .env("AWS_CA_BUNDLE", &ca)
            .output()
            .unwrap(),
    );
    env.assert_code(0);

    let untrusted = Run::from(w.command().args(inventory).output().unwrap());
    untrusted.assert_code(1);
    for needle in ["certificate", "--ca-bundle", "AWS_CA_BUNDLE"] {
        assert!(
            untrusted.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            untrusted.stderr
        );
    }
}
