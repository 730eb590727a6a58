//! IAM's rules, on seeded worlds: the evaluator (wildcards, `NotAction`/`NotResource`, an
//! explicit deny wins, groups, conditions the sandbox cannot evaluate become missing context
//! values), the simulator's answer shape, trust policies for AssumeRole, the IAM operations'
//! refusals, GetAccountAuthorizationDetails' pages and filters, and the roles and producers a
//! seed declares (the seed's checks of them are in `seed/tests.rs`).

use std::time::Duration;

use serde_json::{Value, json};

use super::iam::{
    Actor, Context, Decision, EntityFilter, NewPolicy, NewRole, SimulationRequest, SourceKind,
};
use super::*;
use crate::seed::Seed;
use crate::vocabulary::IamKind;
use crate::vocabulary::codes::{
    ENTITY_ALREADY_EXISTS, IAM_INVALID_INPUT, MALFORMED_POLICY_DOCUMENT, NO_SUCH_ENTITY,
};

const T0: Millis = 1_800_000_000_000;
const R: &str = "us-east-1";
const A: &str = "123456789012";
const STREAM: &str = "arn:aws:firehose:us-east-1:123456789012:deliverystream/orders";

fn world(seed: Value) -> World {
    let seed: Seed = serde_json::from_value(seed).unwrap();
    let config = SandboxConfig {
        latency: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    World::new(&config, &seed, T0).unwrap()
}

fn user(name: &str) -> Actor {
    Actor::User {
        account: A.into(),
        name: name.into(),
    }
}

fn decide(w: &World, actor: &Actor, action: &str, resource: &str) -> Decision {
    w.identity_outcome(actor, action, resource, &Context::default())
        .decision
}

fn simulate(
    w: &World,
    source: &str,
    actions: &[&str],
    resources: &[&str],
    context: Context,
) -> super::iam::Simulation {
    let actions: Vec<String> = actions.iter().map(|s| s.to_string()).collect();
    let resources: Vec<String> = resources.iter().map(|s| s.to_string()).collect();
    let request = SimulationRequest {
        source_arn: source,
        policy_inputs: &[],
        actions: &actions,
        resources: &resources,
        context,
        max_items: None,
        marker: None,
    };
    let base = Caller::base(A);
    w.simulate(&base.actor(), &base.arn(R), &request).unwrap()
}

/// A world of users and groups whose policies exercise the evaluator.
fn principals() -> World {
    world(json!({
        "streams": [{"name": "orders"}],
        "policies": [{"name": "put-all", "path": "/team/", "document": {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "firehose:Put*", "Resource": "*"}}}],
        "groups": [{"name": "writers", "managed": ["put-all"]},
                   {"name": "no-orders", "policies": {"deny": {"Statement": {
                       "Effect": "Deny", "Action": "firehose:PutRecord*",
                       "Resource": "arn:aws:firehose:*:*:deliverystream/orders"}}}}],
        "users": [
            {"name": "wild", "policies": {"p": {"Statement": {
                "Effect": "Allow", "Action": "FIREHOSE:putrecord?atch",
                "Resource": "arn:aws:firehose:us-east-1:123456789012:deliverystream/ord*"}}}},
            {"name": "not", "policies": {"p": {"Statement": [
                {"Effect": "Allow", "NotAction": "kms:*", "NotResource": "arn:aws:firehose:*:*:deliverystream/secret"}]}}},
            {"name": "member", "groups": ["writers"]},
            {"name": "denied", "groups": ["writers", "no-orders"]},
            {"name": "conditional", "policies": {"p": {"Statement": [
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": "firehose.us-east-1.amazonaws.com"}}},
                {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "*",
                 "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
                {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
                 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}}}
        ]
    }))
}

#[test]
fn actions_match_without_case_and_resources_with_wildcards() {
    let w = principals();
    let wild = user("wild");
    assert_eq!(
        decide(&w, &wild, "firehose:PutRecordBatch", STREAM),
        Decision::Allowed
    );
    assert_eq!(
        decide(&w, &wild, "firehose:PutRecord", STREAM),
        Decision::ImplicitDeny
    );
    let other = "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks";
    assert_eq!(
        decide(&w, &wild, "firehose:PutRecordBatch", other),
        Decision::ImplicitDeny
    );
    // Resources keep their case.
    let upper = "arn:aws:firehose:us-east-1:123456789012:deliverystream/ORDERS";
    assert_eq!(
        decide(&w, &wild, "firehose:PutRecordBatch", upper),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_action_and_not_resource_cover_what_they_do_not_name() {
    let w = principals();
    let not = user("not");
    assert_eq!(
        decide(&w, &not, "firehose:PutRecord", STREAM),
        Decision::Allowed
    );
    assert_eq!(decide(&w, &not, "kms:Decrypt", "*"), Decision::ImplicitDeny);
    let secret = "arn:aws:firehose:us-east-1:123456789012:deliverystream/secret";
    assert_eq!(
        decide(&w, &not, "firehose:PutRecord", secret),
        Decision::ImplicitDeny
    );
}

#[test]
fn group_policies_count_and_an_explicit_deny_wins() {
    let w = principals();
    assert_eq!(
        decide(&w, &user("member"), "firehose:PutRecord", STREAM),
        Decision::Allowed
    );
    let denied = user("denied");
    assert_eq!(
        decide(&w, &denied, "firehose:PutRecord", STREAM),
        Decision::ExplicitDeny
    );
    let other = "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks";
    assert_eq!(
        decide(&w, &denied, "firehose:PutRecord", other),
        Decision::Allowed
    );
    // The base user is the account's administrator.
    assert_eq!(
        decide(&w, &user("sandbox"), "kms:Decrypt", "*"),
        Decision::Allowed
    );
    assert_eq!(
        decide(&w, &user("nobody"), "kms:Decrypt", "*"),
        Decision::ImplicitDeny
    );
}

#[test]
fn conditions_are_evaluated_from_the_context_or_named_missing() {
    let w = principals();
    let c = user("conditional");
    let via = Context::default().with(
        "KMS:ViaService",
        vec!["firehose.us-east-1.amazonaws.com".into()],
    );
    let outcome = w.identity_outcome(&c, "kms:Decrypt", "*", &via);
    assert_eq!(outcome.decision, Decision::Allowed);
    assert!(outcome.missing.is_empty());
    let other =
        Context::default().with("kms:ViaService", vec!["s3.us-east-1.amazonaws.com".into()]);
    assert_eq!(
        w.identity_outcome(&c, "kms:Decrypt", "*", &other).decision,
        Decision::ImplicitDeny
    );
    let none = w.identity_outcome(&c, "kms:Decrypt", "*", &Context::default());
    assert_eq!(none.decision, Decision::ImplicitDeny);
    assert_eq!(none.missing.iter().collect::<Vec<_>>(), ["kms:ViaService"]);
    let grant = Context::default().with("kms:GrantIsForAWSResource", vec!["TRUE".into()]);
    assert_eq!(
        w.identity_outcome(&c, "kms:CreateGrant", "*", &grant)
            .decision,
        Decision::Allowed
    );
    // A key the sandbox does not evaluate never satisfies its statement, given or not.
    let ip = Context::default().with("aws:SourceIp", vec!["10.1.2.3".into()]);
    let encrypt = w.identity_outcome(&c, "kms:Encrypt", "*", &ip);
    assert_eq!(encrypt.decision, Decision::ImplicitDeny);
    assert_eq!(encrypt.missing.iter().collect::<Vec<_>>(), ["aws:SourceIp"]);
}

#[test]
fn the_simulator_answers_once_per_action_with_results_per_resource() {
    let w = principals();
    let denied = "arn:aws:iam::123456789012:user/denied";
    let clicks = "arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks";
    let sim = simulate(
        &w,
        denied,
        &["firehose:PutRecord", "kms:Decrypt"],
        &[clicks, STREAM],
        Context::default(),
    );
    assert_eq!(sim.results.len(), 2);
    let put = &sim.results[0];
    assert_eq!(
        (put.action.as_str(), put.resource.as_str()),
        ("firehose:PutRecord", clicks)
    );
    assert_eq!(
        put.decision,
        Decision::ExplicitDeny,
        "the most restrictive of the resources"
    );
    let per: Vec<_> = put
        .per_resource
        .iter()
        .map(|r| (r.resource.as_str(), r.decision))
        .collect();
    assert_eq!(
        per,
        [
            (clicks, Decision::Allowed),
            (STREAM, Decision::ExplicitDeny)
        ]
    );
    assert_eq!(put.matched.len(), 1);
    assert_eq!(
        (put.matched[0].id.as_str(), put.matched[0].kind),
        ("deny", SourceKind::Group)
    );
    assert_eq!(put.per_resource[0].matched[0].kind, SourceKind::UserManaged);
    assert_eq!(sim.results[1].decision, Decision::ImplicitDeny);
    assert!(sim.results[1].matched.is_empty());
    // Without resources: one result on `*`, no per-resource results, missing keys on top.
    let conditional = "arn:aws:iam::123456789012:user/conditional";
    let sim = simulate(&w, conditional, &["kms:Decrypt"], &[], Context::default());
    let r = &sim.results[0];
    assert_eq!(
        (r.resource.as_str(), r.decision),
        ("*", Decision::ImplicitDeny)
    );
    assert!(r.per_resource.is_empty());
    assert_eq!(r.missing, ["kms:ViaService"]);
    // A group and an AWS managed policy as sources.
    let sim = simulate(
        &w,
        "arn:aws:iam::123456789012:user/sandbox",
        &["s3:GetObject"],
        &[],
        Context::default(),
    );
    assert_eq!(sim.results[0].matched[0].id, "AdministratorAccess");
    assert_eq!(sim.results[0].matched[0].kind, SourceKind::AwsManaged);
    let sim = simulate(
        &w,
        "arn:aws:iam::123456789012:group/no-orders",
        &["firehose:PutRecord"],
        &[STREAM],
        Context::default(),
    );
    assert_eq!(sim.results[0].decision, Decision::ExplicitDeny);
}

#[test]
fn the_simulator_pages_by_action_and_refuses_what_it_cannot_find() {
    let w = principals();
    let base = Caller::base(A);
    let actor = base.actor();
    let actions: Vec<String> = ["a:A", "a:B", "a:C"].map(String::from).to_vec();
    let mut request = SimulationRequest {
        source_arn: "arn:aws:iam::123456789012:user/member",
        policy_inputs: &[],
        actions: &actions,
        resources: &[],
        context: Context::default(),
        max_items: Some(2),
        marker: None,
    };
    let first = w.simulate(&actor, "me", &request).unwrap();
    assert_eq!(first.results.len(), 2);
    let marker = first.marker.clone().unwrap();
    request.marker = Some(&marker);
    let second = w.simulate(&actor, "me", &request).unwrap();
    assert_eq!(
        (second.results.len(), second.results[0].action.as_str()),
        (1, "a:C")
    );
    assert_eq!(second.marker, None);
    request.marker = Some("not-a-marker");
    assert_eq!(
        w.simulate(&actor, "me", &request).unwrap_err().code,
        IAM_INVALID_INPUT
    );
    request.marker = None;
    for (source, code) in [
        ("arn:aws:iam::123456789012:user/nobody", NO_SUCH_ENTITY),
        ("arn:aws:iam::123456789012:user/team/member", NO_SUCH_ENTITY),
        ("arn:aws:iam::210987654321:user/member", NO_SUCH_ENTITY),
        (
            "arn:aws:iam::123456789012:policy/put-all",
            IAM_INVALID_INPUT,
        ),
    ] {
        request.source_arn = source;
        assert_eq!(
            w.simulate(&actor, "me", &request).unwrap_err().code,
            code,
            "{source}"
        );
    }
    // Extra policies of the request count, as `PolicyInputList.N`.
    let inputs =
        [r#"{"Statement": {"Effect": "Allow", "Action": "a:*", "Resource": "*"}}"#.to_owned()];
    request.source_arn = "arn:aws:iam::123456789012:user/wild";
    request.policy_inputs = &inputs;
    let sim = w.simulate(&actor, "me", &request).unwrap();
    assert_eq!(sim.results[0].decision, Decision::Allowed);
    assert_eq!(sim.results[0].matched[0].id, "PolicyInputList.1");
    let bad = ["{".to_owned()];
    request.policy_inputs = &bad;
    assert_eq!(
        w.simulate(&actor, "me", &request).unwrap_err().code,
        IAM_INVALID_INPUT
    );
}

fn new_role(name: &str, trust: Value) -> NewRole {
    NewRole {
        name: name.into(),
        path: "/".into(),
        trust: trust.to_string(),
        description: None,
        max_session: 3_600,
    }
}

fn assume(role: &str) -> AssumeRoleRequest<'_> {
    AssumeRoleRequest {
        role_arn: role,
        session_name: "s",
        duration_seconds: None,
        external_id: None,
    }
}

#[test]
fn trust_policies_decide_who_may_assume_a_role() {
    let mut w = principals();
    let base = Caller::base(A);
    let admin = base.actor();
    let arn = base.arn(R);
    let service_only = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "events.amazonaws.com"}}});
    let both = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "events.amazonaws.com", "AWS": "arn:aws:iam::123456789012:root"}}});
    let to_wild = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::123456789012:user/wild"}}});
    w.create_role(
        &admin,
        &arn,
        "aws",
        &new_role("events-only", service_only),
        T0,
    )
    .unwrap();
    w.create_role(&admin, &arn, "aws", &new_role("events-target", both), T0)
        .unwrap();
    w.create_role(&admin, &arn, "aws", &new_role("for-wild", to_wild), T0)
        .unwrap();
    let role = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
    let err = w
        .assume_role(&base, R, &assume(&role("events-only")), T0)
        .unwrap_err();
    assert_eq!(err.code, "AccessDenied");
    let issued = w
        .assume_role(&base, R, &assume(&role("events-target")), T0)
        .unwrap();
    // The session has the role's policies: none, so it may not chain into a role trusting
    // the account's root (that delegates to its identity policies)...
    let session = w.caller(&issued.access_key_id, T0);
    assert_eq!(session.session.as_ref().unwrap().role, "events-target");
    assert!(
        w.assume_role(&session, R, &assume(&role("events-target")), T0)
            .is_err()
    );
    // ... and a user named by a trust policy needs no policy of its own (same account).
    let wild = Caller {
        user: Some(UserRef {
            name: "wild".into(),
            path: "/".into(),
        }),
        ..Caller::base(A)
    };
    assert!(
        w.assume_role(&wild, R, &assume(&role("for-wild")), T0)
            .is_ok()
    );
    assert!(
        w.assume_role(&base, R, &assume(&role("for-wild")), T0)
            .is_err()
    );
}

#[test]
fn iam_operations_refuse_as_iam_does() {
    let mut w = principals();
    let base = Caller::base(A);
    let admin = base.actor();
    let arn = base.arn(R);
    let trust =
        json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}});
    w.create_role(&admin, &arn, "aws", &new_role("r", trust.clone()), T0)
        .unwrap();
    let again = w
        .create_role(&admin, &arn, "aws", &new_role("R", trust), T0)
        .unwrap_err();
    assert_eq!(
        (again.code.as_ref(), again.status()),
        (ENTITY_ALREADY_EXISTS, 409)
    );
    assert_eq!(again.message, "Role with name R already exists.");
    let ghost = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/ghost"}}});
    let err = w
        .create_role(&admin, &arn, "aws", &new_role("g", ghost), T0)
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        (
            MALFORMED_POLICY_DOCUMENT,
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/ghost\""
        )
    );
    let err = w
        .put_inline_policy(&admin, &arn, "aws", IamKind::Role, "nope", "p", "{}")
        .unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), (NO_SUCH_ENTITY, 404));
    assert_eq!(err.message, "The role with name nope cannot be found.");
    let err = w
        .put_inline_policy(
            &admin,
            &arn,
            "aws",
            IamKind::User,
            "wild",
            "p",
            "{\"Statement\": []}",
        )
        .unwrap_err();
    assert_eq!(
        (err.code.as_ref(), err.message.as_str()),
        (MALFORMED_POLICY_DOCUMENT, "Syntax errors in policy.")
    );
    let err = w
        .attach_policy(
            &admin,
            &arn,
            "aws",
            IamKind::Role,
            "r",
            "arn:aws:iam::aws:policy/NoSuchPolicy",
        )
        .unwrap_err();
    assert_eq!(
        err.message,
        "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable."
    );
    let err = w
        .attach_policy(
            &admin,
            &arn,
            "aws",
            IamKind::Role,
            "r",
            "arn:aws:iam::123456789012:role/r",
        )
        .unwrap_err();
    assert_eq!(err.code, IAM_INVALID_INPUT);
    w.attach_policy(
        &admin,
        &arn,
        "aws",
        IamKind::Role,
        "r",
        "arn:aws:iam::123456789012:policy/team/put-all",
    )
    .unwrap();
    let err = w
        .add_user_to_group(&admin, &arn, "aws", "writers", "nobody")
        .unwrap_err();
    assert_eq!(err.message, "The user with name nobody cannot be found.");
    let new = NewPolicy {
        name: "PUT-ALL".into(),
        path: "/".into(),
        description: None,
        document: "{}".into(),
    };
    assert_eq!(
        w.create_policy(&admin, &arn, "aws", &new, T0)
            .unwrap_err()
            .code,
        ENTITY_ALREADY_EXISTS
    );
    // A caller whose policies do not allow it is refused: AccessDenied, 403.
    let wild = Actor::User {
        account: A.into(),
        name: "wild".into(),
    };
    let err = w
        .create_user(
            &wild,
            "arn:aws:iam::123456789012:user/wild",
            "aws",
            "eve",
            "/",
            T0,
        )
        .unwrap_err();
    assert_eq!((err.code.as_ref(), err.status()), ("AccessDenied", 403));
    assert_eq!(
        err.message,
        "User: arn:aws:iam::123456789012:user/wild is not authorized to perform: iam:CreateUser on \
         resource: arn:aws:iam::123456789012:user/eve because no identity-based policy allows the \
         iam:CreateUser action"
    );
}

#[test]
fn authorization_details_are_filtered_and_paged() {
    let w = principals();
    let base = Caller::base(A);
    let admin = base.actor();
    let all = w
        .authorization_details(&admin, "me", &[], Some(1000), None)
        .unwrap();
    let users: Vec<_> = all.users.iter().map(|u| u.entity.name.as_str()).collect();
    assert_eq!(
        users,
        ["conditional", "denied", "member", "not", "sandbox", "wild"]
    );
    assert_eq!(
        (all.groups.len(), all.roles.len(), all.policies.len()),
        (2, 0, 1)
    );
    // Of AWS's managed policies, the ones attached here.
    let aws: Vec<_> = all.aws_policies.iter().map(|p| p.name).collect();
    assert_eq!(aws, ["AdministratorAccess"]);
    assert_eq!(all.marker, None);
    let only = w
        .authorization_details(
            &admin,
            "me",
            &[EntityFilter::Group, EntityFilter::LocalManagedPolicy],
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        (
            only.users.len(),
            only.groups.len(),
            only.policies.len(),
            only.aws_policies.len()
        ),
        (0, 2, 1, 0)
    );
    let mut seen = 0;
    let mut marker: Option<String> = None;
    loop {
        let page = w
            .authorization_details(&admin, "me", &[], Some(4), marker.as_deref())
            .unwrap();
        let n = page.users.len()
            + page.groups.len()
            + page.roles.len()
            + page.policies.len()
            + page.aws_policies.len();
        assert!(n <= 4);
        seen += n;
        marker = page.marker.clone();
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen, 6 + 2 + 1 + 1);
    let err = w
        .authorization_details(&admin, "me", &[], None, Some("x"))
        .unwrap_err();
    assert_eq!(err.code, "ValidationError");
}

#[test]
fn seeded_roles_and_producers() {
    let w = world(json!({
        "streams": [{"name": "orders", "producers": [
            {"role": "orders-events", "service": "events.amazonaws.com"},
            {"role": "orders-app", "kms": true},
            {"user": "batch-job", "kms": "arn:aws:kms:us-east-1:123456789012:key/k1"}]}],
        "roles": ["firehose-sse", {"name": "orders-app", "path": "/apps/", "description": "the app"}]
    }));
    let iam = w.iam(A).unwrap();
    let events = &iam.roles["orders-events"];
    assert!(events.trust.text.contains("events.amazonaws.com"));
    assert_eq!(
        events.entity.inline.keys().collect::<Vec<_>>(),
        ["firehose-put-us-east-1-orders"]
    );
    assert!(
        !events.entity.inline["firehose-put-us-east-1-orders"]
            .text
            .contains("kms:")
    );
    // An open role (no trust given) trusts anyone and is an administrator, as roles always were.
    let open = &iam.roles["firehose-sse"];
    assert!(open.trust.text.contains("\"AWS\":\"*\""));
    assert_eq!(
        decide(
            &w,
            &Actor::Session {
                account: A.into(),
                role: "firehose-sse".into(),
                session: "s".into()
            },
            "kms:Decrypt",
            "*"
        ),
        Decision::Allowed
    );
    // A declared role is extended, keeping its path.
    let app = &iam.roles["orders-app"];
    assert_eq!(app.entity.path, "/apps/");
    let session = Actor::Session {
        account: A.into(),
        role: "orders-app".into(),
        session: "s".into(),
    };
    assert_eq!(
        decide(&w, &session, "firehose:PutRecordBatch", STREAM),
        Decision::Allowed
    );
    assert_eq!(
        decide(
            &w,
            &session,
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:123456789012:key/any"
        ),
        Decision::Allowed
    );
    let job = user("batch-job");
    assert_eq!(
        decide(
            &w,
            &job,
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:123456789012:key/k1"
        ),
        Decision::Allowed
    );
    assert_eq!(
        decide(
            &w,
            &job,
            "kms:Decrypt",
            "arn:aws:kms:us-east-1:123456789012:key/k2"
        ),
        Decision::ImplicitDeny
    );
}
