//! The least-privilege IAM policies in `policies/`, end to end on the sandbox, whose IAM
//! authorizes every call: a caller with exactly `firehose-sse.json` and
//! `firehose-sse-organization.json`, reaching a member account through a role with exactly
//! `firehose-sse-member-role.json` and the trust policy of `firehose-sse-member-role-trust.json`,
//! runs inventory, plan, apply, audit and rollback without one refusal; then each action is
//! taken out of the caller's policy in turn and the command that needs it refuses (or skips)
//! naming that action.

use serde_json::{Value, json};

use crate::common::{ACCOUNT, Run, Sandbox, Workdir, item, stream};

const R: &str = "us-east-1";
const MEMBER: &str = "111111111111";

fn policy(file: &str) -> Value {
    let path = format!("{}/policies/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `document` without `action` (a statement left with none is dropped).
fn without(document: &Value, action: &str) -> Value {
    let mut doc = document.clone();
    let statements = doc["Statement"].as_array_mut().unwrap();
    for s in statements.iter_mut() {
        match &s["Action"] {
            Value::String(a) if a == action => s["Action"] = json!([]),
            Value::Array(list) => {
                let kept: Vec<Value> = list.iter().filter(|a| *a != action).cloned().collect();
                s["Action"] = json!(kept);
            }
            _ => {}
        }
    }
    statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
    doc
}

/// Every action a policy allows.
fn actions(document: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in document["Statement"].as_array().unwrap() {
        match &s["Action"] {
            Value::String(a) => out.push(a.clone()),
            Value::Array(list) => out.extend(list.iter().map(|a| a.as_str().unwrap().to_owned())),
            _ => {}
        }
    }
    out
}

/// A user of the sandbox's account with `policies` and the access key `key`.
fn user(name: &str, key: &str, policies: Value) -> (Value, Value) {
    (
        json!({"name": name, "policies": policies}),
        json!({"access_key": key, "expires_after": "10h", "user": name}),
    )
}

/// The world: streams of each kind in the sandbox's account and in a member account (whose
/// role `firehose-sse` has exactly the member policy and the trust policy, its account filled
/// in), a producer that may use the key, a Kinesis source encrypted with Kinesis's key, a
/// stream a CloudFormation stack owns, and `users`.
fn world(users: Vec<(Value, Value)>) -> String {
    let trust = policy("firehose-sse-member-role-trust.json")
        .to_string()
        .replace("111122223333", ACCOUNT);
    let (users, credentials): (Vec<Value>, Vec<Value>) = users.into_iter().unzip();
    json!({
        "streams": [
            {"name": "orders", "producers": [{"role": "orders-app", "kms": true}]},
            {"name": "clicks"},
            {"name": "old", "encryption": {"key_type": "AWS_OWNED_CMK"}},
            {"name": "from-kinesis", "type": "KinesisStreamAsSource",
             "source_arn": format!("arn:aws:kinesis:{R}:{ACCOUNT}:stream/raw")},
            {"name": "stacked", "tags": {"aws:cloudformation:stack-name": "ingest",
                                         "aws:cloudformation:logical-id": "Stacked"}}
        ],
        "keys": [{"id": "k"}],
        "kinesis_streams": [{"name": "raw", "key_id": "alias/aws/kinesis"}],
        "users": users,
        "credentials": credentials,
        "accounts": [{"id": MEMBER, "streams": [{"name": "member-orders"}], "keys": [{"id": "m"}],
            "roles": [{"name": "firehose-sse", "trust": serde_json::from_str::<Value>(&trust).unwrap(),
                       "policies": {"firehose-sse": policy("firehose-sse-member-role.json")}}]}]
    })
    .to_string()
}

fn key(account: &str, id: &str) -> String {
    format!("arn:aws:kms:{R}:{account}:key/{id}")
}

fn fleet(w: &Workdir) -> std::path::PathBuf {
    let k = key(ACCOUNT, "k");
    let m = key(MEMBER, "m");
    w.fleet(
        "fleet.csv",
        &format!(
            "stream,region,key_arn\norders,{R},{k}\nclicks,{R},\nold,{R},{k}\nfrom-kinesis,{R},\nstacked,{R},\n\
             arn:aws:firehose:{R}:{MEMBER}:deliverystream/member-orders,{R},{m}\n"
        ),
    )
}

/// The binary as the caller whose access key is `key`.
fn run_as(w: &Workdir, key: &str, args: &[&str]) -> Run {
    w.command()
        .env("AWS_ACCESS_KEY_ID", key)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

fn caller_policies() -> Value {
    json!({"firehose-sse": policy("firehose-sse.json"),
           "organization": policy("firehose-sse-organization.json")})
}

#[test]
fn the_member_role_policy_is_the_single_account_policy() {
    assert_eq!(
        policy("firehose-sse.json"),
        policy("firehose-sse-member-role.json")
    );
}

#[test]
fn a_whole_rollout_runs_under_exactly_the_shipped_policies() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(vec![user("deployer", "AKIDDEPLOYER", caller_policies())]);
    let sandbox = Sandbox::with_world(dir.path(), &world, &["--latency", "100ms"]);
    let w = Workdir::new(&sandbox);
    let fleet = fleet(&w);
    let f = fleet.to_str().unwrap();
    let role = ["--assume-role", "firehose-sse"];
    let as_deployer = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&role);
        run_as(&w, "AKIDDEPLOYER", &all)
    };
    let clean = |run: &Run| {
        let all = format!("{}{}", run.stdout, run.stderr);
        for refusal in [
            "must allow",
            "not authorized",
            "AccessDenied",
            "unknown (",
            "cannot be read",
        ] {
            assert!(!all.contains(refusal), "{refusal} in:\n{all}");
        }
    };

    let inventory = as_deployer(&[
        "inventory",
        "--region",
        R,
        "--organization",
        "--output",
        "json",
    ]);
    inventory.assert_code(0);
    clean(&inventory);
    let regions = inventory.json()["regions"].as_array().unwrap().clone();
    assert_eq!(regions.len(), 2, "both accounts listed: {regions:?}");
    let own = regions.iter().find(|r| r["account"] == ACCOUNT).unwrap();
    assert_eq!(own["kinesis_sources"]["KMS"], 1, "{own:#}");

    let plan = as_deployer(&["plan", f, "--output", "json", "-q"]);
    plan.assert_code(0);
    clean(&plan);
    let plan = plan.json();
    for (name, action) in [
        ("orders", "enable"),
        ("clicks", "enable"),
        ("old", "rekey"),
        ("from-kinesis", "skip"),
        ("stacked", "enable"),
        ("member-orders", "enable"),
    ] {
        assert_eq!(item(&plan, name)["action"], action, "{name}: {plan:#}");
    }
    assert_eq!(
        item(&plan, "from-kinesis")["current"]["source"]["encryption"],
        "KMS"
    );
    assert_eq!(item(&plan, "stacked")["owner"]["stack"], "ingest");
    assert_eq!(
        item(&plan, "orders")["producers"]["producers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["verdict"] != "allowed")
            .count(),
        0,
        "{plan:#}"
    );

    let apply = as_deployer(&["apply", f, "--yes", "-q"]);
    apply.assert_code(0);
    clean(&apply);
    let truth = sandbox.stats();
    assert_eq!(
        stream(&truth, "orders").key_in_force.as_deref(),
        Some(key(ACCOUNT, "k").as_str())
    );
    assert_eq!(
        stream(&truth, "member-orders").key_in_force.as_deref(),
        Some(key(MEMBER, "m").as_str())
    );

    let audit = as_deployer(&["audit", "--region", R, "--organization", "--output", "json"]);
    audit.assert_code(0);
    clean(&audit);
    let audit = audit.json();
    assert_eq!(audit["producers"]["denied"], 0, "{audit:#}");
    assert_eq!(audit["elsewhere"]["kinesis_sources"]["KMS"], 1, "{audit:#}");
    assert_eq!(
        audit["elsewhere"]["owned_by"]["cloudformation"], 1,
        "{audit:#}"
    );

    let rollback = as_deployer(&["rollback", "--yes", "-q"]);
    rollback.assert_code(0);
    clean(&rollback);
    let truth = sandbox.stats();
    assert_eq!(stream(&truth, "orders").status, "DISABLED");
    assert_eq!(
        stream(&truth, "old").key_in_force.as_deref(),
        Some("AWS_OWNED_CMK")
    );
    assert_eq!(stream(&truth, "member-orders").status, "DISABLED");
}

/// Without `action`, `command` refuses (or skips) naming it.
struct Needs {
    action: &'static str,
    command: &'static [&'static str],
}

const NEEDS: &[Needs] = &[
    Needs {
        action: "firehose:ListDeliveryStreams",
        command: &["inventory", "--region", R],
    },
    Needs {
        action: "firehose:DescribeDeliveryStream",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "firehose:StartDeliveryStreamEncryption",
        command: &["apply", "ON", "--yes", "-q"],
    },
    Needs {
        action: "firehose:StopDeliveryStreamEncryption",
        command: &["apply", "OFF", "--yes", "-q"],
    },
    Needs {
        action: "kms:DescribeKey",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "kms:GetKeyPolicy",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "kms:CreateGrant",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "iam:GetAccountAuthorizationDetails",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "iam:SimulatePrincipalPolicy",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "kinesis:DescribeStreamSummary",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "tag:GetResources",
        command: &["plan", "FLEET"],
    },
    Needs {
        action: "organizations:ListAccounts",
        command: &[
            "inventory",
            "--region",
            R,
            "--organization",
            "--assume-role",
            "firehose-sse",
        ],
    },
    Needs {
        action: "sts:AssumeRole",
        command: &["plan", "FLEET", "--assume-role", "firehose-sse"],
    },
];

#[test]
fn each_action_taken_out_of_the_policy_is_refused_by_name() {
    let single = policy("firehose-sse.json");
    let organization = policy("firehose-sse-organization.json");
    // Every action the policies allow is covered, but the wave gates' CloudWatch reads.
    let mut covered: Vec<&str> = NEEDS.iter().map(|n| n.action).collect();
    covered.sort();
    let mut allowed: Vec<String> = actions(&single)
        .into_iter()
        .chain(actions(&organization))
        .filter(|a| !a.starts_with("cloudwatch:"))
        .collect();
    allowed.sort();
    assert_eq!(covered, allowed);

    let users: Vec<(Value, Value)> = NEEDS
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let policies = match n.action.starts_with("organizations:") || n.action.starts_with("sts:") {
                true => json!({"firehose-sse": single, "organization": without(&organization, n.action)}),
                false => json!({"firehose-sse": without(&single, n.action), "organization": organization}),
            };
            user(&format!("no-{i}"), &format!("AKIDNO{i}"), policies)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::with_world(dir.path(), &world(users), &["--latency", "100ms"]);
    for (i, n) in NEEDS.iter().enumerate() {
        let w = Workdir::new(&sandbox);
        let fleet = fleet(&w);
        let on = w.fleet("on.csv", &format!("stream,region\nclicks,{R}\n"));
        let off = w.fleet(
            "off.csv",
            &format!("stream,region,key_type\nold,{R},NONE\n"),
        );
        let args: Vec<&str> = n
            .command
            .iter()
            .map(|a| match *a {
                "FLEET" => fleet.to_str().unwrap(),
                "ON" => on.to_str().unwrap(),
                "OFF" => off.to_str().unwrap(),
                a => a,
            })
            .collect();
        let out = run_as(&w, &format!("AKIDNO{i}"), &args);
        let all = format!("{}{}", out.stdout, out.stderr);
        if std::env::var_os("SHOW_REFUSALS").is_some() {
            for line in all.lines().filter(|l| l.contains(n.action)) {
                eprintln!("{}: {line}", n.action);
            }
        }
        assert!(
            all.contains(n.action),
            "without {}, `{}` does not name it (exit {:?}):\n{all}",
            n.action,
            args.join(" "),
            out.code
        );
    }
    // Nothing was changed by a caller refused its Start or Stop.
    let truth = sandbox.stats();
    assert_eq!(stream(&truth, "clicks").status, "DISABLED");
    assert_eq!(
        stream(&truth, "old").key_in_force.as_deref(),
        Some("AWS_OWNED_CMK")
    );
}
