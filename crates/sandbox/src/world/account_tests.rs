//! The rules of a world of many accounts, each on a hand-moved clock: whose account a request
//! acts in, AssumeRole (a missing role, an external id, session limits, role chaining, expiry),
//! per-account throttle buckets and budgets, the same stream name in two accounts, keys per
//! account, ListAccounts and its pages, and the ground truth per account.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::seed::Seed;
use crate::vocabulary::codes::{LIMIT_EXCEEDED, RESOURCE_NOT_FOUND};

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
/// The sandbox's own account: the management account.
const MGMT: &str = "123456789012";
const A: &str = "111111111111";
const B: &str = "222222222222";

fn config() -> SandboxConfig {
    SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

/// A world of the management account (stream `shared`, role `admin`) and members A (streams
/// `shared`, `a-only`, role `firehose-sse`, a key) and B (a delegated administrator, stream
/// `shared`, a role that needs an external id and allows 12 h sessions), and C, suspended.
fn world(config: SandboxConfig) -> World {
    let seed: Seed = serde_json::from_value(json!({
        "streams": [{"name": "shared"}],
        "roles": ["admin"],
        "accounts": [
            {"id": A, "roles": ["firehose-sse"], "streams": [{"name": "shared"}, {"name": "a-only"}],
             "keys": [{"id": "a-key"}]},
            {"id": B, "name": "Bee", "email": "bee@example.org", "joined_method": "INVITED",
             "delegated_administrator": true,
             "roles": [{"name": "firehose-sse", "external_id": "sesame", "max_session_duration": "12h"}],
             "streams": [{"name": "shared"}]},
            {"id": "333333333333", "status": "SUSPENDED", "roles": ["firehose-sse"]}
        ]
    }))
    .unwrap();
    World::new(&config, &seed, T0).unwrap()
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

fn assume<'a>(role_arn: &'a str, external_id: Option<&'a str>) -> AssumeRoleRequest<'a> {
    AssumeRoleRequest {
        role_arn,
        session_name: "run-1",
        duration_seconds: None,
        external_id,
    }
}

/// The base credentials' caller, and one AssumeRole into `account`'s `firehose-sse` role.
fn session_in(w: &mut World, account: &str, external_id: Option<&str>, now: Millis) -> Issued {
    let base = w.caller("AKIDBASE", now);
    let arn = role(account, "firehose-sse");
    w.assume_role(&base, R, &assume(&arn, external_id), now)
        .unwrap()
}

#[test]
fn a_request_acts_in_the_account_of_its_access_key() {
    let mut w = world(config());
    // Any key the sandbox did not issue is the base credentials: the sandbox's account.
    for key in ["", "AKIDBASE", "ASIAUNKNOWN"] {
        let c = w.caller(key, T0);
        assert_eq!(
            (c.account.as_str(), c.session.is_none(), c.expired),
            (MGMT, true, false)
        );
    }
    let issued = session_in(&mut w, A, None, T0);
    assert!(issued.access_key_id.starts_with("ASIA") && issued.access_key_id.len() == 20);
    let c = w.caller(&issued.access_key_id, T0);
    assert_eq!(c.account, A);
    let s = c.session.clone().unwrap();
    assert_eq!(
        (s.role.as_str(), s.name.as_str()),
        ("firehose-sse", "run-1")
    );
    assert_eq!(
        c.arn(R),
        "arn:aws:sts::111111111111:assumed-role/firehose-sse/run-1"
    );
    assert_eq!(issued.arn, c.arn(R));
    assert_eq!(issued.assumed_role_id, format!("{}:run-1", s.role_id));
    assert!(
        s.role_id.starts_with("AROA") && s.role_id.len() == 21,
        "{}",
        s.role_id
    );
    // The role's id is the same for every session of it.
    let again = session_in(&mut w, A, None, T0);
    assert_ne!(again.access_key_id, issued.access_key_id);
    assert_eq!(again.assumed_role_id, issued.assumed_role_id);
}

#[test]
fn a_role_that_cannot_be_assumed_is_access_denied() {
    let mut w = world(config());
    let base = w.caller("AKIDBASE", T0);
    let denied = |w: &mut World, arn: &str, external_id: Option<&str>| {
        let err = w
            .assume_role(&base, R, &assume(arn, external_id), T0)
            .unwrap_err();
        assert_eq!(
            (err.code.as_ref(), err.status()),
            ("AccessDenied", 403),
            "{arn}"
        );
        err.message
    };
    let missing = role(A, "nope");
    assert_eq!(
        denied(&mut w, &missing, None),
        "User: arn:aws:iam::123456789012:user/sandbox is not authorized to perform: \
         sts:AssumeRole on resource: arn:aws:iam::111111111111:role/nope"
    );
    // An account the world does not have; a suspended one; a user, not a role; a path.
    denied(&mut w, &role("444444444444", "firehose-sse"), None);
    denied(&mut w, &role("333333333333", "firehose-sse"), None);
    denied(&mut w, "arn:aws:iam::111111111111:user/firehose-sse", None);
    denied(
        &mut w,
        "arn:aws:iam::111111111111:role/ops/firehose-sse",
        None,
    );
    denied(&mut w, "not an arn at all", None);
    // B's role needs its external id.
    let b = role(B, "firehose-sse");
    denied(&mut w, &b, None);
    denied(&mut w, &b, Some("open-sesame"));
    w.assume_role(&base, R, &assume(&b, Some("sesame")), T0)
        .unwrap();
    // A's role needs none, and takes one given anyway.
    w.assume_role(
        &base,
        R,
        &assume(&role(A, "firehose-sse"), Some("whatever")),
        T0,
    )
    .unwrap();
    // The management account's own role.
    w.assume_role(&base, R, &assume(&role(MGMT, "admin"), None), T0)
        .unwrap();
    let stats = w.stats(T0);
    let of = |id: &str| stats.account_stats(id).unwrap().clone();
    // A's denials: `nope`, and `ops/firehose-sse` (a role of A's at a path it does not have).
    assert_eq!((of(A).assume_role_denied, of(A).sessions_issued), (2, 1));
    assert_eq!((of(B).assume_role_denied, of(B).sessions_issued), (2, 1));
    assert_eq!(of("333333333333").assume_role_denied, 1);
    assert_eq!(of(MGMT).sessions_issued, 1);
}

#[test]
fn session_durations_keep_the_roles_limit_and_role_chaining() {
    let mut w = world(config());
    let base = w.caller("AKIDBASE", T0);
    let a = role(A, "firehose-sse");
    let b = role(B, "firehose-sse");
    let with = |arn, secs, ext| AssumeRoleRequest {
        duration_seconds: Some(secs),
        ..assume(arn, ext)
    };
    // A's role has IAM's default maximum, one hour.
    let err = w
        .assume_role(&base, R, &with(&a, 3_601, None), T0)
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status(), err.message.as_str()),
        (
            "ValidationError",
            400,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    );
    let issued = w.assume_role(&base, R, &with(&a, 900, None), T0).unwrap();
    assert_eq!(issued.expires_at, T0 + 900_000);
    // B's allows 12 h, but not through role chaining.
    let long = w
        .assume_role(&base, R, &with(&b, 43_200, Some("sesame")), T0)
        .unwrap();
    assert_eq!(long.expires_at, T0 + 43_200_000);
    let chained = w.caller(&issued.access_key_id, T0);
    let err = w
        .assume_role(&chained, R, &with(&b, 3_601, Some("sesame")), T0)
        .unwrap_err();
    assert_eq!(
        err.message,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by \
         role chaining."
    );
    let hop = w
        .assume_role(&chained, R, &with(&b, 3_600, Some("sesame")), T0)
        .unwrap();
    assert_eq!(w.caller(&hop.access_key_id, T0).account, B);
    // The default duration is 3600 s.
    assert_eq!(session_in(&mut w, A, None, T0).expires_at, T0 + 3_600_000);
}

#[test]
fn issued_credentials_expire_after_their_duration() {
    let mut w = world(config());
    let issued = session_in(&mut w, A, None, T0);
    let key = issued.access_key_id.as_str();
    let admit = |w: &mut World, now: Millis| {
        let caller = w.caller(key, now);
        w.admit(
            "DescribeDeliveryStream",
            &caller,
            R,
            Quota::ControlPlane,
            true,
            now,
        )
    };
    assert_eq!(admit(&mut w, T0 + 3_599_999), Admission::Proceed);
    assert_eq!(admit(&mut w, T0 + 3_600_000), Admission::Expired);
    assert!(w.caller(key, T0 + 3_600_000).expired);
    // Still A's: the refusal counts for A.
    let stats = w.stats(T0 + 3_600_000);
    let a = stats.account_stats(A).unwrap();
    assert_eq!((a.expired, a.requests["DescribeDeliveryStream"]), (1, 2));
    assert_eq!(stats.account_stats(MGMT).unwrap().expired, 0);
}

#[test]
fn seeded_credentials_may_act_in_a_member_account() {
    let seed: Seed = serde_json::from_value(json!({
        "accounts": [{"id": A, "streams": [{"name": "s"}]}],
        "credentials": [{"access_key": "ASIAMEMBER", "expires_after": "1h", "account": A}]
    }))
    .unwrap();
    let mut w = World::new(&config(), &seed, T0).unwrap();
    let c = w.caller("ASIAMEMBER", T0);
    assert_eq!(
        (c.account.as_str(), &c.session, c.expired),
        (A, &None, false)
    );
    assert_eq!(c.arn(R), "arn:aws:iam::111111111111:user/sandbox");
    w.describe_stream(A, R, "s", T0).unwrap();
    assert!(w.caller("ASIAMEMBER", T0 + 3_600_000).expired);
}

#[test]
fn the_same_stream_name_is_a_different_stream_in_each_account() {
    let mut w = world(SandboxConfig {
        stream_budget: 1,
        ..config()
    });
    for account in [MGMT, A, B] {
        w.describe_stream(account, R, "shared", T0).unwrap();
    }
    assert_eq!(
        w.stream_arn(A, R, "shared"),
        "arn:aws:firehose:us-east-1:111111111111:deliverystream/shared"
    );
    // A stream of another account is not found: calls act in the caller's account.
    let err = w.describe_stream(B, R, "a-only", T0).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        (
            RESOURCE_NOT_FOUND,
            "Firehose a-only under account 222222222222 not found."
        )
    );
    // Budgets are per stream: A's Start spends A's budget only.
    w.start_encryption(A, R, "shared", KeyRef::AwsOwned, "", T0)
        .unwrap();
    w.start_encryption(B, R, "shared", KeyRef::AwsOwned, "", T0)
        .unwrap();
    let err = w.stop_encryption(A, R, "shared", T0 + 60_000).unwrap_err();
    assert_eq!(err.code, LIMIT_EXCEEDED);
    let (names, _) = w.list_streams(A, R, 10, None, None, T0);
    assert_eq!(names, ["a-only", "shared"]);
    let (names, _) = w.list_streams(B, R, 10, None, None, T0);
    assert_eq!(names, ["shared"]);
    let stats = w.stats(T0 + 60_000);
    let of = |account| stats.stream_of(account, R, "shared").unwrap();
    assert_eq!((of(A).start_calls, of(A).rejected_calls), (1, 1));
    assert_eq!((of(B).start_calls, of(B).rejected_calls), (1, 0));
    assert_eq!(of(MGMT).start_calls, 0);
    assert_eq!(stats.stream(R, "shared").unwrap().account, MGMT);
    // Streams are sorted by account, then region, then name.
    let order: Vec<(&str, &str)> = stats
        .streams
        .iter()
        .map(|s| (s.account.as_str(), s.name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (A, "a-only"),
            (A, "shared"),
            (MGMT, "shared"),
            (B, "shared")
        ]
    );
}

#[test]
fn throttle_buckets_are_per_account_region_and_operation() {
    let mut w = world(SandboxConfig { tps: 1, ..config() });
    let a = session_in(&mut w, A, None, T0);
    let b = session_in(&mut w, B, Some("sesame"), T0);
    let op = "DescribeDeliveryStream";
    let admit = |w: &mut World, key: &str, region: &str| {
        let caller = w.caller(key, T0);
        w.admit(op, &caller, region, Quota::ControlPlane, true, T0)
    };
    // Each account has its own bucket of 1 per second for the operation in each Region.
    for key in ["AKIDBASE", &a.access_key_id, &b.access_key_id] {
        assert_eq!(admit(&mut w, key, R), Admission::Proceed, "{key}");
        assert_eq!(admit(&mut w, key, R), Admission::Throttled, "{key}");
        assert_eq!(admit(&mut w, key, "eu-west-1"), Admission::Proceed, "{key}");
    }
    let stats = w.stats(T0);
    assert_eq!(stats.throttled_for(op), 3);
    for id in [MGMT, A, B] {
        let acct = stats.account_stats(id).unwrap();
        assert_eq!(
            (acct.requests[op], acct.throttled[op], acct.max_rate[op]),
            (3, 1, 3),
            "{id}"
        );
    }
}

#[test]
fn keys_are_per_account_and_shared_by_arn() {
    let mut w = world(config());
    let arn = "arn:aws:kms:us-east-1:111111111111:key/a-key";
    assert_eq!(w.describe_key(A, R, "a-key").unwrap().arn, arn);
    // By id, only the caller's own account's keys.
    let err = w.describe_key(MGMT, R, "a-key").unwrap_err();
    assert_eq!(
        err.message,
        "Key 'arn:aws:kms:us-east-1:123456789012:key/a-key' does not exist"
    );
    assert_eq!(w.describe_key(B, R, arn).unwrap().account, A);
    assert_eq!(w.list_keys(A, R, 10, None).0.len(), 1);
    assert!(w.list_keys(MGMT, R, 10, None).0.is_empty());
    let created = w.create_key(B, R, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "", T0);
    assert!(
        created.arn.contains(":222222222222:key/"),
        "{}",
        created.arn
    );
    assert_eq!(w.list_keys(B, R, 10, None).0.len(), 1);
    // A Start in B with A's key (by ARN) is as good as with B's own.
    w.start_encryption(B, R, "shared", KeyRef::Customer(arn.into()), "", T0)
        .unwrap();
    assert_eq!(w.stats(T0 + 10_001).cmk_streams[arn], 1);
}

#[test]
fn list_accounts_pages_through_the_organization_from_the_management_account() {
    let w = world(config());
    let base = w.caller("", T0);
    let ids = |page: &AccountPage| {
        page.accounts
            .iter()
            .map(|a| a.id.clone())
            .collect::<Vec<_>>()
    };
    let all = w.list_accounts(&base, None, None).unwrap();
    assert_eq!(ids(&all), [MGMT, A, B, "333333333333"]);
    assert!(all.next_token.is_none());
    let first = w.list_accounts(&base, Some(3), None).unwrap();
    assert_eq!(ids(&first), [MGMT, A, B]);
    let token = first.next_token.clone().unwrap();
    let rest = w.list_accounts(&base, Some(3), Some(&token)).unwrap();
    assert_eq!(
        (ids(&rest), rest.next_token),
        (vec!["333333333333".to_owned()], None)
    );
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = w.list_accounts(&base, Some(1), token.as_deref()).unwrap();
        seen.extend(ids(&page));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4);
    let b = &all.accounts[2];
    assert_eq!(
        (b.name.as_str(), b.email.as_str(), b.joined_method.as_str()),
        ("Bee", "bee@example.org", "INVITED")
    );
    assert_eq!(all.accounts[3].status.as_str(), "SUSPENDED");
    assert!(
        all.accounts
            .windows(2)
            .all(|p| p[0].joined_at < p[1].joined_at)
    );
    assert_eq!(all.accounts[1].name, "account-111111111111");
    let arn = w.account_arn(A, R);
    assert!(
        arn.starts_with("arn:aws:organizations::123456789012:account/o-")
            && arn.ends_with("/111111111111"),
        "{arn}"
    );
    // In the partition of the Region the request was signed for.
    assert!(
        w.account_arn(A, "us-gov-west-1")
            .starts_with("arn:aws-us-gov:organizations::123456789012:account/o-")
    );
    assert!(
        w.account_arn(A, "cn-northwest-1")
            .starts_with("arn:aws-cn:organizations::")
    );
    let err = w.list_accounts(&base, None, Some("garbage")).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.reason),
        ("InvalidInputException", Some("INVALID_NEXT_TOKEN"))
    );
}

#[test]
fn a_member_that_is_no_delegated_administrator_may_not_list_accounts() {
    let mut w = world(config());
    let key = session_in(&mut w, A, None, T0).access_key_id;
    let member = w.caller(&key, T0);
    let err = w.list_accounts(&member, None, None).unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.status(), err.message.as_str()),
        (
            "AccessDeniedException",
            400,
            "You don't have permissions to access this resource."
        )
    );
    let alone = World::new(&config(), &Seed::generated(1, R), T0).unwrap();
    let err = alone
        .list_accounts(&alone.caller("", T0), None, None)
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        (
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization."
        )
    );
}

#[test]
fn a_role_is_assumed_only_in_the_partition_of_the_region_sts_is_called_in() {
    let mut w = world(config());
    let base = w.caller("AKIDBASE", T0);
    let gov = "us-gov-west-1";
    let commercial = role(A, "firehose-sse");
    let err = w
        .assume_role(&base, gov, &assume(&commercial, None), T0)
        .unwrap_err();
    assert_eq!(err.code.as_ref(), "AccessDenied");
    let govcloud = format!("arn:aws-us-gov:iam::{A}:role/firehose-sse");
    let issued = w
        .assume_role(&base, gov, &assume(&govcloud, None), T0)
        .unwrap();
    assert!(
        issued
            .arn
            .starts_with("arn:aws-us-gov:sts::111111111111:assumed-role/")
    );
    // And a China role only from a China Region.
    let china = format!("arn:aws-cn:iam::{A}:role/firehose-sse");
    assert!(w.assume_role(&base, R, &assume(&china, None), T0).is_err());
    let china_key = w
        .assume_role(&base, "cn-north-1", &assume(&china, None), T0)
        .unwrap()
        .access_key_id;
    // Credentials are good only in the partition that issued them: elsewhere they are unknown.
    let admit = |w: &mut World, key: &str, region: &str| {
        let caller = w.caller(key, T0);
        w.admit(
            "DescribeDeliveryStream",
            &caller,
            region,
            Quota::ControlPlane,
            false,
            T0,
        )
    };
    assert_eq!(
        admit(&mut w, &china_key, "cn-northwest-1"),
        Admission::Proceed
    );
    assert_eq!(admit(&mut w, &china_key, R), Admission::OtherPartition);
    assert_eq!(
        admit(&mut w, &issued.access_key_id, R),
        Admission::OtherPartition
    );
    assert_eq!(
        admit(&mut w, &issued.access_key_id, "us-gov-east-1"),
        Admission::Proceed
    );
    // Seeded and base credentials are good anywhere.
    assert_eq!(
        admit(&mut w, "AKIDBASE", "us-gov-west-1"),
        Admission::Proceed
    );
}

#[test]
fn a_delegated_administrator_lists_the_accounts_as_the_management_account_does() {
    // Organizations API reference, ListAccounts: "You can only call this operation from the
    // management account or a member account that is a delegated administrator."
    let mut w = world(config());
    let management = w
        .list_accounts(&w.caller("", T0), None, None)
        .unwrap()
        .accounts
        .iter()
        .map(|a| a.id.clone())
        .collect::<Vec<_>>();
    let key = session_in(&mut w, B, Some("sesame"), T0).access_key_id;
    let delegated = w.caller(&key, T0);
    assert_eq!(delegated.account, B);
    let page = w.list_accounts(&delegated, None, None).unwrap();
    let ids: Vec<String> = page.accounts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids, management);
    // A member that is not one is still refused.
    let key = session_in(&mut w, A, None, T0).access_key_id;
    let err = w
        .list_accounts(&w.caller(&key, T0), None, None)
        .unwrap_err();
    assert_eq!(err.code.as_ref(), "AccessDeniedException");
}

#[test]
fn ground_truth_records_which_account_named_which_stream() {
    let mut w = world(config());
    let a = session_in(&mut w, A, None, T0);
    let caller = w.caller(&a.access_key_id, T0);
    let describe = "DescribeDeliveryStream";
    for name in ["a-only", "shared", "shared", "b-only"] {
        let found = w.describe_stream(&caller.account, R, name, T0).is_ok();
        w.note_stream_request(&caller.account, R, name, describe, found);
    }
    w.note_stream_request(MGMT, R, "a-only", "StartDeliveryStreamEncryption", false);
    let stats = w.stats(T0);
    let of = |account| stats.stream_of(account, R, "shared").unwrap();
    assert_eq!(of(A).requests[describe], 2);
    assert!(of(MGMT).requests.is_empty() && of(B).requests.is_empty());
    assert_eq!(
        stats.stream_of(A, R, "a-only").unwrap().requests[describe],
        1
    );
    let not_found = |id| stats.account_stats(id).unwrap().stream_not_found.clone();
    assert_eq!(
        not_found(A),
        [crate::stats::StreamCall {
            region: R.into(),
            stream: "b-only".into(),
            operation: describe.into(),
            calls: 1
        }]
    );
    assert_eq!(not_found(MGMT)[0].stream, "a-only");
    assert!(not_found(B).is_empty());
    let accounts: Vec<(&str, bool, u64)> = stats
        .accounts
        .iter()
        .map(|a| (a.id.as_str(), a.member, a.streams))
        .collect();
    assert_eq!(
        accounts,
        [
            (MGMT, false, 1),
            (A, true, 2),
            (B, true, 1),
            ("333333333333", true, 0)
        ]
    );
    assert_eq!(stats.account_stats(B).unwrap().roles, ["firehose-sse"]);
}
