//! IAM through the query protocol: every operation the sandbox serves through success and each
//! error its model lists (NoSuchEntity, EntityAlreadyExists, MalformedPolicyDocument,
//! InvalidInput) or the query protocol has (AccessDenied, ValidationError, MalformedInput,
//! InvalidAction, MissingAuthenticationToken, Throttling), GetAccountAuthorizationDetails
//! whole, filtered and paged, SimulatePrincipalPolicy with and without resources, context and
//! pages, and AssumeRole into the roles created.

use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::json;

use super::http::Exchange;
use super::organization::enc;
use super::{Driver, Server};

const ACCOUNT: &str = "123456789012";

fn config() -> SandboxConfig {
    SandboxConfig {
        tps: 0,
        ..SandboxConfig::default()
    }
}

/// A world with IAM principals of each kind, seeded.
fn world() -> Seed {
    serde_json::from_value(json!({
        "streams": [{"name": "orders", "producers": [
            {"role": "orders-events", "service": "events.amazonaws.com"},
            {"user": "batch-job", "kms": true}]}],
        "policies": [{"name": "put-all", "path": "/team/", "description": "put anywhere",
            "document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "firehose:Put*", "Resource": "*"}}}],
        "groups": [{"name": "writers", "managed": ["put-all", "AmazonKinesisFirehoseReadOnlyAccess"],
                    "policies": {"kms": {"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                        "Condition": {"StringEquals": {"kms:ViaService": "firehose.us-east-1.amazonaws.com"}}}}}}],
        "users": [{"name": "alice", "path": "/people/", "groups": ["writers"],
                   "policies": {"deny-secret": {"Statement": {"Effect": "Deny", "Action": "firehose:*",
                       "Resource": "arn:aws:firehose:*:*:deliverystream/secret"}}}}],
        "roles": ["firehose-sse",
                  {"name": "reader", "trust": {"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
                      "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}}},
                   "managed": ["arn:aws:iam::aws:policy/AmazonKinesisFirehoseReadOnlyAccess"]}]
    }))
    .unwrap()
}

const V: &str = "Version=2010-05-08";

fn action(name: &str, rest: &str) -> String {
    format!("Action={name}&{V}{rest}")
}

fn doc(value: serde_json::Value) -> String {
    enc(&value.to_string())
}

fn trust_to(principal: serde_json::Value) -> String {
    doc(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]}),
    )
}

fn put_policy() -> String {
    doc(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
        "Resource": format!("arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/orders")}]}),
    )
}

pub fn scenarios(out: &mut Vec<Exchange>) {
    let server = Server::start(config(), world());
    let mut d = Driver::new(&server, out);
    entities(&mut d);
    details(&mut d);
    simulations(&mut d);
    assume(&mut d);
    malformed(&mut d);
    drop(d);
    drop(server);
    throttled(out);
}

/// The Create, Put, Attach and AddUserToGroup operations, each through success and each error.
fn entities(d: &mut Driver) {
    let both = trust_to(
        json!({"Service": "events.amazonaws.com", "AWS": format!("arn:aws:iam::{ACCOUNT}:root")}),
    );
    d.iam(
        "create role",
        &action(
            "CreateRole",
            &format!("&RoleName=events-target&AssumeRolePolicyDocument={both}"),
        ),
    );
    d.iam(
        "create role with path, description and session",
        &action("CreateRole", &format!(
            "&RoleName=app&Path=%2Fservice-role%2F&Description=the+app&MaxSessionDuration=7200&AssumeRolePolicyDocument={}",
            trust_to(json!({"Service": "lambda.amazonaws.com"}))
        )),
    );
    d.iam(
        "create role again",
        &action(
            "CreateRole",
            &format!("&RoleName=EVENTS-TARGET&AssumeRolePolicyDocument={both}"),
        ),
    );
    d.iam(
        "create role, trust not json",
        &action("CreateRole", "&RoleName=r1&AssumeRolePolicyDocument=%7B"),
    );
    d.iam(
        "create role, trust with a resource",
        &action(
            "CreateRole",
            &format!(
                "&RoleName=r2&AssumeRolePolicyDocument={}",
                doc(json!({"Statement": {
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*", "Resource": "*"}}))
            ),
        ),
    );
    d.iam(
        "create role, trust naming no one",
        &action(
            "CreateRole",
            &format!(
                "&RoleName=r3&AssumeRolePolicyDocument={}",
                trust_to(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:role/ghost")}))
            ),
        ),
    );
    d.iam(
        "create user",
        &action("CreateUser", "&UserName=bob&Path=%2Fpeople%2F"),
    );
    d.iam("create user again", &action("CreateUser", "&UserName=Bob"));
    d.iam("create group", &action("CreateGroup", "&GroupName=ops"));
    d.iam(
        "create group again",
        &action("CreateGroup", "&GroupName=writers"),
    );
    d.iam("create policy", &action("CreatePolicy", &format!("&PolicyName=orders-put&Path=%2Fapps%2F&Description=put+to+orders&PolicyDocument={}", put_policy())));
    d.iam(
        "create policy again",
        &action(
            "CreatePolicy",
            &format!("&PolicyName=Orders-Put&PolicyDocument={}", put_policy()),
        ),
    );
    d.iam(
        "create policy, a principal",
        &action(
            "CreatePolicy",
            &format!(
                "&PolicyName=p2&PolicyDocument={}",
                doc(json!({"Statement": {
        "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}}))
            ),
        ),
    );
    d.iam(
        "add user to group",
        &action("AddUserToGroup", "&GroupName=ops&UserName=bob"),
    );
    d.iam(
        "add user to no group",
        &action("AddUserToGroup", "&GroupName=nope&UserName=bob"),
    );
    d.iam(
        "add no user to group",
        &action("AddUserToGroup", "&GroupName=ops&UserName=nope"),
    );
    let policy_arn = enc(&format!("arn:aws:iam::{ACCOUNT}:policy/apps/orders-put"));
    let aws_arn = enc("arn:aws:iam::aws:policy/AmazonKinesisFirehoseFullAccess");
    for (kind, name) in [("Role", "events-target"), ("User", "bob"), ("Group", "ops")] {
        let entity = format!("&{kind}Name={name}");
        let ghost = format!("&{kind}Name=ghost");
        d.iam(
            &format!("put {kind} policy"),
            &action(
                &format!("Put{kind}Policy"),
                &format!("{entity}&PolicyName=put&PolicyDocument={}", put_policy()),
            ),
        );
        d.iam(
            &format!("put {kind} policy again"),
            &action(
                &format!("Put{kind}Policy"),
                &format!("{entity}&PolicyName=put&PolicyDocument={}", put_policy()),
            ),
        );
        d.iam(
            &format!("put {kind} policy, no entity"),
            &action(
                &format!("Put{kind}Policy"),
                &format!("{ghost}&PolicyName=put&PolicyDocument={}", put_policy()),
            ),
        );
        d.iam(&format!("put {kind} policy, malformed"), &action(&format!("Put{kind}Policy"), &format!("{entity}&PolicyName=bad&PolicyDocument={}",
            doc(json!({"Statement": {"Effect": "Allow", "Action": "PutRecord", "Resource": "*"}})))));
        d.iam(
            &format!("attach {kind} policy"),
            &action(
                &format!("Attach{kind}Policy"),
                &format!("{entity}&PolicyArn={policy_arn}"),
            ),
        );
        d.iam(
            &format!("attach {kind} AWS policy"),
            &action(
                &format!("Attach{kind}Policy"),
                &format!("{entity}&PolicyArn={aws_arn}"),
            ),
        );
        d.iam(
            &format!("attach {kind} policy, no entity"),
            &action(
                &format!("Attach{kind}Policy"),
                &format!("{ghost}&PolicyArn={policy_arn}"),
            ),
        );
        d.iam(
            &format!("attach {kind} policy, no policy"),
            &action(
                &format!("Attach{kind}Policy"),
                &format!(
                    "{entity}&PolicyArn={}",
                    enc("arn:aws:iam::aws:policy/NoSuchPolicy")
                ),
            ),
        );
        d.iam(
            &format!("attach {kind} policy, not a policy"),
            &action(
                &format!("Attach{kind}Policy"),
                &format!(
                    "{entity}&PolicyArn={}",
                    enc(&format!("arn:aws:iam::{ACCOUNT}:role/reader"))
                ),
            ),
        );
    }
}

/// GetAccountAuthorizationDetails whole, by each filter, paged, and a marker not given.
fn details(d: &mut Driver) {
    d.iam("details", &action("GetAccountAuthorizationDetails", ""));
    for filter in [
        "User",
        "Role",
        "Group",
        "LocalManagedPolicy",
        "AWSManagedPolicy",
    ] {
        d.iam(
            &format!("details of {filter}"),
            &action(
                "GetAccountAuthorizationDetails",
                &format!("&Filter.member.1={filter}"),
            ),
        );
    }
    d.iam(
        "details of users and roles",
        &action(
            "GetAccountAuthorizationDetails",
            "&Filter.member.1=User&Filter.member.2=Role",
        ),
    );
    let mut marker = String::new();
    for page in 0..20 {
        let rest = if marker.is_empty() {
            "&MaxItems=3".to_owned()
        } else {
            format!("&MaxItems=3&Marker={}", enc(&marker))
        };
        d.iam(
            &format!("details page {page}"),
            &action("GetAccountAuthorizationDetails", &rest),
        );
        marker = xml(d.last_body(), "Marker");
        if marker.is_empty() {
            break;
        }
    }
    d.iam(
        "details, a marker not given",
        &action("GetAccountAuthorizationDetails", "&Marker=not-a-marker"),
    );
}

/// SimulatePrincipalPolicy of a user (its groups' policies included), a group and a role.
fn simulations(d: &mut Driver) {
    let alice = enc(&format!("arn:aws:iam::{ACCOUNT}:user/people/alice"));
    let orders = enc(&format!(
        "arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/orders"
    ));
    let secret = enc(&format!(
        "arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/secret"
    ));
    let actions = "&ActionNames.member.1=firehose%3APutRecord&ActionNames.member.2=kms%3ADecrypt&ActionNames.member.3=kms%3AGenerateDataKey";
    let simulate = |rest: &str| {
        action(
            "SimulatePrincipalPolicy",
            &format!("&PolicySourceArn={alice}{rest}"),
        )
    };
    d.iam("simulate on *", &simulate(actions));
    d.iam(
        "simulate on resources",
        &simulate(&format!(
            "{actions}&ResourceArns.member.1={orders}&ResourceArns.member.2={secret}"
        )),
    );
    d.iam("simulate with context", &simulate(&format!(
        "{actions}&ResourceArns.member.1={orders}&ContextEntries.member.1.ContextKeyName=kms%3AViaService\
         &ContextEntries.member.1.ContextKeyValues.member.1=firehose.us-east-1.amazonaws.com&ContextEntries.member.1.ContextKeyType=string")));
    d.iam(
        "simulate with a policy of the request",
        &simulate(&format!(
            "{actions}&PolicyInputList.member.1={}",
            doc(json!({"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}))
        )),
    );
    d.iam(
        "simulate, a page",
        &simulate(&format!("{actions}&MaxItems=2")),
    );
    let marker = xml(d.last_body(), "Marker");
    d.iam(
        "simulate, next page",
        &simulate(&format!("{actions}&MaxItems=2&Marker={}", enc(&marker))),
    );
    d.iam(
        "simulate, a marker not given",
        &simulate(&format!("{actions}&Marker=not-a-marker")),
    );
    d.iam(
        "simulate a group",
        &action(
            "SimulatePrincipalPolicy",
            &format!(
                "&PolicySourceArn={}{actions}",
                enc(&format!("arn:aws:iam::{ACCOUNT}:group/writers"))
            ),
        ),
    );
    d.iam(
        "simulate a role",
        &action(
            "SimulatePrincipalPolicy",
            &format!(
                "&PolicySourceArn={}{actions}&ResourceArns.member.1={orders}",
                enc(&format!("arn:aws:iam::{ACCOUNT}:role/orders-events"))
            ),
        ),
    );
    d.iam(
        "simulate no such user",
        &action(
            "SimulatePrincipalPolicy",
            &format!(
                "&PolicySourceArn={}{actions}",
                enc(&format!("arn:aws:iam::{ACCOUNT}:user/ghost"))
            ),
        ),
    );
    d.iam(
        "simulate a policy",
        &action(
            "SimulatePrincipalPolicy",
            &format!(
                "&PolicySourceArn={}{actions}",
                enc(&format!("arn:aws:iam::{ACCOUNT}:policy/team/put-all"))
            ),
        ),
    );
    d.iam(
        "simulate a malformed policy of the request",
        &simulate(&format!("{actions}&PolicyInputList.member.1=%7B")),
    );
}

/// AssumeRole into the roles IAM created, and what a session of one may do in IAM.
fn assume(d: &mut Driver) {
    let form = |role: &str| {
        format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=run-1&RoleArn={}",
            enc(&format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
        )
    };
    d.sts("assume a role trusting the account", &form("events-target"));
    d.sts(
        "assume a role trusting a service only",
        &form("service-role/app"),
    );
    d.sts("assume a role at another path", &form("app"));
    d.sts("assume the reader", &form("reader"));
    let body = d.last_body().to_owned();
    let key = xml(&body, "AccessKeyId");
    let token = xml(&body, "SessionToken");
    d.access_key = key;
    d.token = Some(token);
    d.iam(
        "details by a session not allowed",
        &action("GetAccountAuthorizationDetails", ""),
    );
    d.iam(
        "create user by a session not allowed",
        &action("CreateUser", "&UserName=mallory"),
    );
    d.access_key = super::ACCESS_KEY.to_owned();
    d.token = None;
}

/// Forms IAM's model refuses, actions it does not have, and a request not signed.
fn malformed(d: &mut Driver) {
    for (label, form) in [
        (
            "create user, name with a space",
            action("CreateUser", "&UserName=a+b"),
        ),
        ("create user, no name", action("CreateUser", "")),
        (
            "create user, path without slashes",
            action("CreateUser", "&UserName=u2&Path=people"),
        ),
        (
            "create role, session too short",
            action(
                "CreateRole",
                &format!(
                    "&RoleName=r4&MaxSessionDuration=100&AssumeRolePolicyDocument={}",
                    trust_to(json!("*"))
                ),
            ),
        ),
        (
            "create role, session not a number",
            action(
                "CreateRole",
                &format!(
                    "&RoleName=r5&MaxSessionDuration=long&AssumeRolePolicyDocument={}",
                    trust_to(json!("*"))
                ),
            ),
        ),
        (
            "create role, no trust",
            action("CreateRole", "&RoleName=r6"),
        ),
        (
            "create policy, bad path",
            action(
                "CreatePolicy",
                &format!(
                    "&PolicyName=p3&Path=%2Fa+b%2F&PolicyDocument={}",
                    put_policy()
                ),
            ),
        ),
        (
            "details, max items 0",
            action("GetAccountAuthorizationDetails", "&MaxItems=0"),
        ),
        (
            "details, max items 1001",
            action("GetAccountAuthorizationDetails", "&MaxItems=1001"),
        ),
        (
            "details, max items not a number",
            action("GetAccountAuthorizationDetails", "&MaxItems=many"),
        ),
        (
            "details, filter off its enum",
            action("GetAccountAuthorizationDetails", "&Filter.member.1=Users"),
        ),
        (
            "simulate, no actions",
            action(
                "SimulatePrincipalPolicy",
                "&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Fsandbox",
            ),
        ),
        (
            "simulate, no source",
            action(
                "SimulatePrincipalPolicy",
                "&ActionNames.member.1=s3%3AGetObject",
            ),
        ),
        (
            "attach, policy arn too short",
            action("AttachUserPolicy", "&UserName=bob&PolicyArn=arn%3Aaws"),
        ),
        (
            "put policy, document empty",
            action(
                "PutUserPolicy",
                "&UserName=bob&PolicyName=p&PolicyDocument=",
            ),
        ),
        (
            "an action IAM does not have",
            action("GetRole", "&RoleName=reader"),
        ),
    ] {
        d.iam(&format!("input: {label}"), &form);
    }
    d.access_key = String::new();
    d.iam("unsigned", &action("GetAccountAuthorizationDetails", ""));
    d.access_key = super::ACCESS_KEY.to_owned();
}

/// IAM's requests per second per account, over: `Throttling`.
fn throttled(out: &mut Vec<Exchange>) {
    let seed: Seed = serde_json::from_value(json!({"iam_tps": 1})).unwrap();
    let server = Server::start(config(), seed);
    let mut d = Driver::new(&server, out);
    d.iam(
        "within the IAM rate",
        &action("CreateUser", "&UserName=first"),
    );
    d.iam(
        "over the IAM rate",
        &action("CreateUser", "&UserName=second"),
    );
    d.iam(
        "over the IAM rate, another operation",
        &action("GetAccountAuthorizationDetails", ""),
    );
    server.clock.advance(1_000);
    d.iam(
        "within the IAM rate again",
        &action("GetAccountAuthorizationDetails", "&Filter.member.1=User"),
    );
}

/// The text of the XML element `tag` in `body` ("" when absent).
fn xml(body: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    body.find(&open)
        .map(|at| {
            let rest = &body[at + open.len()..];
            rest[..rest.find('<').unwrap_or(rest.len())].to_owned()
        })
        .unwrap_or_default()
}
