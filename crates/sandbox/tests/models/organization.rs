//! An organization of accounts, through STS and Organizations: AssumeRole (success, each way it
//! is denied, each bad input, the role's and role chaining's session limits), the assumed
//! credentials on Firehose, KMS, STS and Organizations (their own account's streams and keys,
//! another account's not found), their expiry, and ListAccounts (pages, bad input, a member's
//! denial, a world with no organization).

use std::time::Duration;

use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::json;

use super::http::Exchange;
use super::{ACCOUNT, Driver, Server};

const A: &str = "111111111111";
const B: &str = "222222222222";
const SUSPENDED: &str = "333333333333";

fn config() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_secs(1),
        tps: 0,
        ..SandboxConfig::default()
    }
}

fn world() -> Seed {
    serde_json::from_value(json!({
        "streams": [{"name": "mine"}],
        "roles": ["admin"],
        "accounts": [
            {"id": A, "roles": ["firehose-sse"], "streams": [{"name": "shared"}, {"name": "a-only"}],
             "keys": [{"id": "a-key"}]},
            {"id": B, "name": "Bee", "email": "bee@example.org", "joined_method": "INVITED",
             "roles": [{"name": "firehose-sse", "external_id": "sesame", "max_session_duration": "12h"}],
             "streams": [{"name": "shared"}]},
            {"id": SUSPENDED, "status": "SUSPENDED", "roles": ["firehose-sse"]}
        ]
    }))
    .unwrap()
}

/// `%`-encodes a form value.
pub fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assume(role_arn: &str, rest: &str) -> String {
    format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}{rest}",
        enc(role_arn)
    )
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// The text of the XML element `tag` in `body`.
fn xml(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    body.find(&open)
        .map(|at| {
            let rest = &body[at + open.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].to_owned()
        })
        .unwrap_or_default()
}

/// The credentials of the last (AssumeRole) answer: access key and session token.
fn issued(d: &Driver) -> (String, String) {
    let body = d.last_body();
    let key = xml(body, "AccessKeyId");
    assert!(key.starts_with("ASIA"), "AssumeRole failed: {body}");
    (key, xml(body, "SessionToken"))
}

fn name(n: &str) -> serde_json::Value {
    json!({"DeliveryStreamName": n})
}

const IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

pub fn scenarios(out: &mut Vec<Exchange>) {
    let config = config();
    let server = Server::start(config.clone(), world());
    let mut d = Driver::new(&server, out);
    let session = "&RoleSessionName=run-1";
    let a_role = role(A, "firehose-sse");
    let b_role = role(B, "firehose-sse");

    d.sts("caller identity, base credentials", IDENTITY);
    // AssumeRole: success, then every way it is denied.
    d.sts("assume role of A", &assume(&a_role, session));
    let (a_key, a_token) = issued(&d);
    d.sts(
        "assume role of own account",
        &assume(&role(ACCOUNT, "admin"), session),
    );
    d.sts(
        "assume role of B, external id, 12 h",
        &assume(
            &b_role,
            &format!("{session}&ExternalId=sesame&DurationSeconds=43200"),
        ),
    );
    for (label, form) in [
        ("missing role", assume(&role(A, "admin"), session)),
        (
            "unknown account",
            assume(&role("444444444444", "firehose-sse"), session),
        ),
        (
            "suspended account",
            assume(&role(SUSPENDED, "firehose-sse"), session),
        ),
        ("no external id", assume(&b_role, session)),
        (
            "wrong external id",
            assume(&b_role, &format!("{session}&ExternalId=open-sesame")),
        ),
        (
            "a user, not a role",
            assume(&format!("arn:aws:iam::{A}:user/firehose-sse"), session),
        ),
        (
            "a role with a path",
            assume(&format!("arn:aws:iam::{A}:role/ops/firehose-sse"), session),
        ),
        (
            "past the role's maximum session",
            assume(&a_role, &format!("{session}&DurationSeconds=7200")),
        ),
    ] {
        d.sts(&format!("assume role denied: {label}"), &form);
    }
    // Bad input, as the model says.
    for (label, form) in [
        ("no session name", assume(&a_role, "")),
        (
            "session name with a space",
            assume(&a_role, "&RoleSessionName=a+b"),
        ),
        (
            "session name of one character",
            assume(&a_role, "&RoleSessionName=a"),
        ),
        (
            "session name of 65",
            assume(&a_role, &format!("&RoleSessionName={}", "s".repeat(65))),
        ),
        (
            "duration below 900",
            assume(&a_role, &format!("{session}&DurationSeconds=899")),
        ),
        (
            "duration above 43200",
            assume(&a_role, &format!("{session}&DurationSeconds=43201")),
        ),
        (
            "duration not a number",
            assume(&a_role, &format!("{session}&DurationSeconds=soon")),
        ),
        ("role arn too short", assume("arn:aws", session)),
        (
            "external id pattern",
            assume(&a_role, &format!("{session}&ExternalId=n%21")),
        ),
        (
            "no role arn",
            format!("Action=AssumeRole&Version=2011-06-15{session}"),
        ),
        (
            "tags",
            assume(
                &a_role,
                &format!(
                    "{session}&Tags.member.1.Key=team&Tags.member.1.Value=data&TransitiveTagKeys.member.1=team"
                ),
            ),
        ),
    ] {
        d.sts(&format!("assume role input: {label}"), &form);
    }

    // A's credentials: A's account everywhere.
    d.access_key = a_key.clone();
    d.token = Some(a_token);
    d.sts("caller identity, A's session", IDENTITY);
    d.firehose(
        "A describes its shared",
        "DescribeDeliveryStream",
        name("shared"),
    );
    d.firehose(
        "A describes the base's stream",
        "DescribeDeliveryStream",
        name("mine"),
    );
    d.firehose("A lists its streams", "ListDeliveryStreams", json!({}));
    d.firehose(
        "A starts a-only",
        "StartDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "a-only", "DeliveryStreamEncryptionConfigurationInput": {
            "KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": format!("arn:aws:kms:us-east-1:{A}:key/a-key")}}),
    );
    d.kms("A lists its keys", "ListKeys", json!({}));
    d.kms(
        "A describes its key",
        "DescribeKey",
        json!({"KeyId": "a-key"}),
    );
    d.organizations("A lists accounts", "ListAccounts", json!({}));
    // Role chaining: at most one hour.
    d.sts(
        "chained past one hour",
        &assume(
            &b_role,
            &format!("{session}&ExternalId=sesame&DurationSeconds=3601"),
        ),
    );
    d.sts(
        "chained for one hour",
        &assume(
            &b_role,
            &format!("{session}&ExternalId=sesame&DurationSeconds=3600"),
        ),
    );

    // ListAccounts from the management account.
    d.access_key = super::ACCESS_KEY.to_owned();
    d.token = None;
    d.organizations("list accounts", "ListAccounts", json!({}));
    let first = d.organizations(
        "list accounts, 2 a page",
        "ListAccounts",
        json!({"MaxResults": 2}),
    );
    let token = first["NextToken"].as_str().unwrap_or_default().to_owned();
    d.organizations(
        "list accounts, next page",
        "ListAccounts",
        json!({"MaxResults": 2, "NextToken": token}),
    );
    for (label, body) in [
        ("max results 0", json!({"MaxResults": 0})),
        ("max results 21", json!({"MaxResults": 21})),
        ("max results a string", json!({"MaxResults": "2"})),
        ("a token not given", json!({"NextToken": "not-a-token"})),
    ] {
        d.organizations(
            &format!("list accounts input: {label}"),
            "ListAccounts",
            body,
        );
    }
    d.raw_json(
        "list accounts, not JSON",
        "organizations",
        Some("AWSOrganizationsV20161128.ListAccounts"),
        "{",
    );

    // A's credentials expire after their hour.
    server.clock.advance(3_600_000);
    d.access_key = a_key;
    d.firehose(
        "expired A describes",
        "DescribeDeliveryStream",
        name("shared"),
    );
    d.kms("expired A lists keys", "ListKeys", json!({}));
    d.sts("expired A caller identity", IDENTITY);
    d.sts("expired A assumes a role", &assume(&b_role, session));
    d.organizations("expired A lists accounts", "ListAccounts", json!({}));
    d.access_key = super::ACCESS_KEY.to_owned();
    d.firehose(
        "base describes its stream",
        "DescribeDeliveryStream",
        name("mine"),
    );
    drop(d);
    drop(server);

    // No organization: no member accounts.
    let alone = Server::start(config, Seed::generated(1, super::REGION));
    let mut d = Driver::new(&alone, out);
    d.organizations("no organization", "ListAccounts", json!({}));
}
