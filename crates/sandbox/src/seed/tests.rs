//! The fleet file: its format, defaults and every-problem-at-once checks, accounts, roles and
//! IAM principals included.

use super::*;

const ACCOUNT: &str = "123456789012";

#[test]
fn generated_names_are_zero_padded_and_sorted() {
    let seed = Seed::generated(3, "us-east-1");
    let names: Vec<_> = seed.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["stream-00000", "stream-00001", "stream-00002"]);
    assert_eq!(
        Seed::generated(100_001, "us-east-1").streams[100_000].name,
        "stream-100000"
    );
    seed.check(ACCOUNT, "us-east-1").unwrap();
}

#[test]
fn parses_the_documented_format_with_defaults() {
    let seed: Seed = serde_json::from_str(
        r#"{
          "streams": [
            {"name": "orders", "region": "eu-west-1"},
            {"name": "clicks", "type": "KinesisStreamAsSource"},
            {"name": "audit", "encryption": {"key_arn": "arn:aws:kms:us-east-1:123456789012:key/k1"}}
          ],
          "keys": [
            {"id": "k1"},
            {"id": "k2", "region": "eu-west-1", "state": "Disabled"},
            {"id": "k3", "failure": {"type": "KMS_ACCESS_DENIED", "times": 2}}
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(seed.streams[0].stream_type, "DirectPut");
    assert_eq!(seed.streams[0].status, "ACTIVE");
    assert_eq!(seed.keys[0].spec, "SYMMETRIC_DEFAULT");
    assert_eq!(seed.keys[2].failure.as_ref().unwrap().times, Some(2));
    seed.check(ACCOUNT, "us-east-1").unwrap();
    let key = seed.streams[2]
        .encryption
        .as_ref()
        .unwrap()
        .key(ACCOUNT, &Default::default())
        .unwrap();
    let SeedKeyRef::Customer(arn) = key else {
        panic!("a customer key: {key:?}");
    };
    assert_eq!(arn.key_id, "k1");
}

#[test]
fn reports_every_problem_at_once() {
    let seed: Seed = serde_json::from_str(
        r#"{
          "streams": [
            {"name": "bad name"},
            {"name": "a", "type": "Firehose"},
            {"name": "a", "type": "Firehose"},
            {"name": "b", "type": "MSKAsSource", "encryption": {}},
            {"name": "c", "encryption": {"key_type": "CUSTOMER_MANAGED_CMK"}}
          ],
          "keys": [{"id": "k/1", "state": "Gone", "spec": "AES"}]
        }"#,
    )
    .unwrap();
    let SeedError::Invalid(errors) = seed.check(ACCOUNT, "us-east-1").unwrap_err() else {
        panic!("expected Invalid");
    };
    assert_eq!(errors.len(), 9, "{errors:#?}");
}

#[test]
fn unknown_fields_are_refused() {
    let err =
        serde_json::from_str::<Seed>(r#"{"streams": [{"name": "a", "colour": 1}]}"#).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn the_documented_fields_are_read_and_checked() {
    let seed: Seed = serde_json::from_value(serde_json::json!({
        "streams": [
            {"name": "a", "encryption": {"key_arn": "arn:aws:kms:us-east-1:210987654321:key/theirs", "status": "DISABLING"}},
            {"name": "b", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING_FAILED", "in_force": null,
                "failure": {"type": "KMS_ACCESS_DENIED", "description": "stream"}}},
            {"name": "c", "type": "MSKAsSource", "source_arn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/x"}
        ],
        "keys": [
            {"id": "theirs", "account": "210987654321", "manager": "AWS",
             "describe_error": "AccessDeniedException", "start_error": {"code": "DisabledException", "times": 1},
             "failure": {"type": "UNKNOWN_ERROR", "description": "none"}}
        ],
        "credentials": [{"access_key": "ASIAX", "expires_after": "3s"}]
    }))
    .unwrap();
    seed.check(ACCOUNT, "us-east-1").unwrap();
    assert_eq!(
        seed.streams[1].encryption.as_ref().unwrap().in_force,
        Some(None)
    );
    assert_eq!(
        seed.credentials[0].expires_after().unwrap(),
        std::time::Duration::from_secs(3)
    );
    let bad: Seed = serde_json::from_value(serde_json::json!({
        "streams": [
            {"name": "a", "encryption": {"key_arn": "arn:aws:kms:us-east-1:210987654321:key/unseeded"}},
            {"name": "b", "encryption": {"key_type": "AWS_OWNED_CMK", "status": "ENABLING"}},
            {"name": "c", "encryption": {"key_type": "AWS_OWNED_CMK", "in_force": "nonsense"}},
            {"name": "d", "encryption": {"key_type": "AWS_OWNED_CMK", "failure": {"type": "X"}}},
            {"name": "e", "source_arn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"},
            {"name": "f", "type": "KinesisStreamAsSource", "source_arn": "stream/s"}
        ],
        "keys": [
            {"id": "k1", "manager": "SOMEONE"},
            {"id": "k2", "account": "12"},
            {"id": "k3", "describe_error": "not a code"},
            {"id": "k4", "start_error": {"code": "ThrottlingException"}},
            {"id": "k5", "failure": {"type": "X", "description": "elsewhere"}}
        ],
        "credentials": [
            {"access_key": "ASIAY", "expires_after": "soon"},
            {"access_key": "ASIAY", "expires_after": "1s"}
        ]
    }))
    .unwrap();
    let SeedError::Invalid(errors) = bad.check(ACCOUNT, "us-east-1").unwrap_err() else {
        panic!("expected Invalid");
    };
    assert_eq!(errors.len(), 13, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("belongs to account 210987654321")),
        "{errors:#?}"
    );
    assert!(errors.iter().any(|e| e.contains(r#"status "ENABLING" is not one of ENABLED, ENABLING_FAILED, DISABLING, DISABLING_FAILED"#)), "{errors:#?}");
}

#[test]
fn accounts_roles_and_their_defaults_are_read() {
    let seed: Seed = serde_json::from_value(serde_json::json!({
        "streams": [{"name": "orders"}],
        "roles": ["admin"],
        "accounts": [
            {"id": "111111111111", "roles": ["firehose-sse"],
             "streams": [{"name": "orders"}, {"name": "audit",
                 "encryption": {"key_arn": "arn:aws:kms:us-east-1:111111111111:key/k1"}}],
             "keys": [{"id": "k1"}]},
            {"id": "222222222222", "name": "Two", "email": "two@example.org", "status": "SUSPENDED",
             "joined_method": "INVITED",
             "roles": [{"name": "firehose-sse", "external_id": "sesame", "max_session_duration": "12h"}],
             "streams": [{"name": "cross",
                 "encryption": {"key_arn": "arn:aws:kms:us-east-1:111111111111:key/k1"}}]}
        ],
        "credentials": [{"access_key": "ASIAONE", "expires_after": "1h", "account": "111111111111"}]
    }))
    .unwrap();
    seed.check(ACCOUNT, "us-east-1").unwrap();
    assert_eq!(seed.roles, [SeedRole::named("admin")]);
    let two = &seed.accounts[1].roles[0];
    assert_eq!(two.external_id.as_deref(), Some("sesame"));
    assert_eq!(
        two.max_session().unwrap(),
        std::time::Duration::from_secs(43_200)
    );
    assert_eq!(
        SeedRole::named("x").max_session().unwrap(),
        std::time::Duration::from_secs(3_600)
    );
    // Written back as read (a role with no more than a name as its object form).
    let again: Seed = serde_json::from_value(serde_json::to_value(&seed).unwrap()).unwrap();
    assert_eq!(again, seed);
}

#[test]
fn account_problems_are_reported_with_the_account() {
    let bad: Seed = serde_json::from_value(serde_json::json!({
        "roles": ["bad role"],
        "accounts": [
            {"id": "123456789012"},
            {"id": "12"},
            {"id": "111111111111", "status": "CLOSED", "joined_method": "BORN", "email": "nope",
             "name": "",
             "roles": ["r", "r", {"name": "x", "external_id": "!", "max_session_duration": "13h"},
                       {"name": "y", "max_session_duration": "soon"}],
             "streams": [{"name": "s"}, {"name": "s"},
                 {"name": "theirs", "encryption": {"key_arn": "arn:aws:kms:us-east-1:222222222222:key/unseeded"}}]},
            {"id": "111111111111"}
        ],
        "credentials": [{"access_key": "ASIAX", "expires_after": "1h", "account": "999999999999"}]
    }))
    .unwrap();
    let SeedError::Invalid(errors) = bad.check(ACCOUNT, "us-east-1").unwrap_err() else {
        panic!("expected Invalid");
    };
    for expected in [
        r#"roles[0] "bad role": a role name is 1-64 letters, digits or _+=,.@-"#,
        r#"accounts[0] "123456789012": that account is the sandbox's own (--account) or listed already"#,
        r#"accounts[1] "12": id must be 12 digits"#,
        r#"accounts[2] "111111111111": status "CLOSED" is not one of ACTIVE, SUSPENDED, PENDING_CLOSURE"#,
        r#"accounts[2] "111111111111": joined_method "BORN" is not one of INVITED, CREATED"#,
        r#"accounts[2] "111111111111": email "nope" is not an address (6-64 characters, name@domain.tld)"#,
        r#"accounts[2] "111111111111": name must be 1-128 characters"#,
        r#"accounts[2] "111111111111": roles[1] "r": that role is listed already"#,
        r#"accounts[2] "111111111111": roles[2] "x": external_id must be 2-1224 letters, digits or _+=,.@:/-"#,
        r#"accounts[2] "111111111111": roles[2] "x": max_session_duration must be whole seconds from 1h to 12h"#,
        r#"accounts[2] "111111111111": streams[1] "s": a stream of that name already exists in us-east-1"#,
        r#"accounts[3] "111111111111": that account is the sandbox's own (--account) or listed already"#,
        r#"credentials[0] "ASIAX": account "999999999999" is neither the sandbox's (123456789012) nor one of `accounts`"#,
    ] {
        assert!(
            errors.iter().any(|e| e == expected),
            "{expected}\nnot in {errors:#?}"
        );
    }
    assert!(
        errors.iter().any(|e| e.starts_with(
            r#"accounts[2] "111111111111": roles[3] "y": max_session_duration "soon""#
        )),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e
            .contains("belongs to account 222222222222, the stream is of account 111111111111")),
        "{errors:#?}"
    );
    assert_eq!(errors.len(), 15, "{errors:#?}");
    // Unknown members of an account or a role are refused.
    for text in [
        r#"{"accounts": [{"id": "111111111111", "colour": 1}]}"#,
        r#"{"roles": [{"name": "r", "colour": 1}]}"#,
    ] {
        let err = serde_json::from_str::<Seed>(text).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }
}

#[test]
fn an_organization_is_generated_with_the_same_streams_in_each_account() {
    let seed = Seed::organization(3, 2, "eu-west-1", "firehose-sse");
    seed.check(ACCOUNT, "us-east-1").unwrap();
    assert!(seed.streams.is_empty());
    let ids: Vec<&str> = seed.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["100000000001", "100000000002", "100000000003"]);
    for a in &seed.accounts {
        assert_eq!(a.roles, [SeedRole::named("firehose-sse")]);
        let names: Vec<&str> = a.streams.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["stream-00000", "stream-00001"]);
        assert_eq!(a.streams[0].region.as_deref(), Some("eu-west-1"));
    }
    assert_eq!(
        format!("{:012}", FIRST_GENERATED_ACCOUNT),
        seed.accounts[0].id
    );
    // The sandbox's own account may not be one of the generated ones.
    assert!(seed.check("100000000002", "us-east-1").is_err());
}

#[test]
fn seeded_principals_are_checked_every_problem_at_once() {
    let seed: Seed = serde_json::from_value(serde_json::json!({
        "streams": [{"name": "orders", "producers": [
            {"role": "r", "user": "u"},
            {"user": "u", "service": "events.amazonaws.com"},
            {"role": "declared", "service": "events.amazonaws.com"},
            {"role": "x", "service": "a.amazonaws.com"},
            {"role": "x", "service": "b.amazonaws.com"},
            {"role": "y", "kms": "arn:aws:kms:us-east-1:123456789012:alias/a"}]}],
        "roles": [{"name": "declared"},
                  {"name": "both", "trust": {"Statement": []}, "service": "events.amazonaws.com"},
                  {"name": "bad-trust", "trust": {"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}}},
                  {"name": "ext", "external_id": "abc", "service": "events.amazonaws.com"}],
        "users": [{"name": "u", "groups": ["missing"], "managed": ["NoSuchPolicy"],
                   "policies": {"p": {"Statement": {"Effect": "Allow", "Action": "x:y"}}}},
                  {"name": "u"}],
        "groups": [{"name": "g", "path": "no-slash"}],
        "policies": [{"name": "p", "document": "not json"}],
        "keys": [{"id": "k", "policy": {"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}}],
        "credentials": [{"access_key": "AKIDX", "expires_after": "1h", "user": "ghost"}]
    }))
    .unwrap();
    let Err(SeedError::Invalid(problems)) = seed.check(ACCOUNT, "us-east-1") else {
        panic!("the seed should be refused");
    };
    let text = problems.join("\n");
    for expected in [
        "producers[0]: give a role or a user (one of them)",
        "producers[1]: service is for a role, not a user",
        "producers[2]: role \"declared\" is declared in roles",
        "producers[4]: role \"x\" is given another service by an earlier producer",
        "producers[5]: kms \"arn:aws:kms:us-east-1:123456789012:alias/a\" is a KMS alias ARN",
        "roles[1] \"both\": give trust or service, not both",
        "roles[2] \"bad-trust\": trust: Missing required field Principal",
        "roles[3] \"ext\": external_id is for roles without trust or service",
        "users[0] \"u\": group \"missing\" is not one of this account's groups",
        "users[0] \"u\": managed policy \"NoSuchPolicy\" is neither",
        "users[0] \"u\": policies \"p\": Policy statement must contain resources.",
        "users[1] \"u\": that user is listed already",
        "groups[0] \"g\": path \"no-slash\" is not /",
        "policies[0] \"p\": document: This policy contains invalid Json",
        "keys[0] \"k\": policy: Missing required field Principal",
        "credentials[0] \"AKIDX\": user \"ghost\" is not one of the users",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(problems.len(), 16, "{text}");
}

/// The world file of `crates/sandbox/README.md`'s example, as written there.
pub(crate) fn readme_example() -> Seed {
    let readme = include_str!("../../README.md");
    let marker = readme
        .find("<!-- world-example")
        .expect("the README marks its example");
    let block = &readme[marker..];
    let start = block.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + block[start..].find("```").expect("the block ends");
    serde_json::from_str(&block[start..end]).expect("the README's example is a world file")
}

#[test]
fn the_readmes_example_world_passes_the_checks() {
    let seed = readme_example();
    seed.check(ACCOUNT, "us-east-1").unwrap();
    assert_eq!(seed.iam_tps, Some(5));
    assert_eq!(seed.streams[0].producers.len(), 2);
}
