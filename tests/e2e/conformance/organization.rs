//! Scenario 6, an organization: three member accounts, each holding two streams (one to the
//! AWS-owned key, one to a key of its own), seeded through STS AssumeRole as any operator
//! would; then `inventory --organization`, `plan` and `apply` with `--assume-role`, and every
//! stream checked by a direct Describe with its own account's credentials. moto makes the
//! organization through Organizations (CreateOrganization, CreateAccount) and lets any role be
//! assumed; the sandbox is started with `--accounts 3` and its roles.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_firehose::types::DeliveryStreamStatus;

use super::REGION;
use super::moto::Moto;
use super::sdk::{Seen, Source, create_key, create_stream, settle};
use crate::common::{ACCOUNT, Sandbox, Workdir, test_credentials};

const ROLE: &str = "firehose-sse";

/// A test server: moto, or a sandbox serving three member accounts.
enum Server {
    Moto(Moto),
    Sandbox(Sandbox),
}

impl Server {
    fn url(&self) -> String {
        match self {
            Server::Moto(m) => m.url.clone(),
            Server::Sandbox(s) => s.url.clone(),
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sdk_config(url: &str, creds: Credentials) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(firehose_sse::aws::http_client(None).unwrap())
        .build()
}

/// The credentials of the role `ROLE` in `account`, as AssumeRole hands them out.
async fn assume(url: &str, account: &str) -> Credentials {
    let sts = aws_sdk_sts::Client::new(&sdk_config(url, test_credentials()));
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{ROLE}"))
        .role_session_name("conformance-seed")
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole in {account}: {e:?}"));
    let c = out.credentials.expect("AssumeRole returns Credentials");
    Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "assumed",
    )
}

/// The member accounts: made through Organizations on moto, the sandbox's own otherwise.
async fn member_accounts(server: &Server) -> Vec<String> {
    match server {
        Server::Sandbox(_) => (1..=3)
            .map(|i| format!("{:012}", 100_000_000_000u64 + i))
            .collect(),
        Server::Moto(m) => {
            let org = aws_sdk_organizations::Client::new(&sdk_config(&m.url, test_credentials()));
            org.create_organization()
                .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
                .send()
                .await
                .expect("CreateOrganization");
            let mut ids = Vec::new();
            for i in 1..=3 {
                let status = org
                    .create_account()
                    .account_name(format!("member-{i}"))
                    .email(format!("member-{i}@example.com"))
                    .send()
                    .await
                    .expect("CreateAccount")
                    .create_account_status
                    .expect("CreateAccountStatus");
                ids.push(status.account_id.expect("moto creates the account at once"));
            }
            ids
        }
    }
}

/// Each member's two streams and its key, seeded with its own credentials.
struct Member {
    account: String,
    creds: Credentials,
    key: String,
}

fn fleet_csv(members: &[Member]) -> String {
    let mut csv = String::from("stream,key_arn\n");
    for m in members {
        let arn = |name: &str| {
            format!(
                "arn:aws:firehose:{REGION}:{}:deliverystream/{name}",
                m.account
            )
        };
        csv.push_str(&format!(
            "{},\n{},{}\n",
            arn("orders"),
            arn("clicks"),
            m.key
        ));
    }
    csv
}

fn organization(server: Server) {
    let url = server.url();
    let rt = rt();
    let members: Vec<Member> = rt.block_on(async {
        let mut members = Vec::new();
        for account in member_accounts(&server).await {
            let creds = assume(&url, &account).await;
            let config = sdk_config(&url, creds.clone());
            let fh = aws_sdk_firehose::Client::new(&config);
            let key = create_key(&aws_sdk_kms::Client::new(&config)).await;
            assert!(key.contains(&account), "{key} is the member's own key");
            for name in ["orders", "clicks"] {
                create_stream(&fh, name, Source::DirectPut).await;
                settle(&fh, name, |d| {
                    d.delivery_stream_status() == &DeliveryStreamStatus::Active
                })
                .await;
            }
            members.push(Member {
                account,
                creds,
                key,
            });
        }
        members
    });
    let w = Workdir {
        dir: tempfile::tempdir().unwrap(),
        endpoint: url.clone(),
    };
    let role = [
        "--assume-role",
        ROLE,
        "--describe-tps",
        "50",
        "--start-tps",
        "50",
    ];

    // The organization's inventory: every member's streams, through its role.
    let out = w.path("inventory.csv");
    let mut args = vec![
        "inventory",
        "--organization",
        "--region",
        REGION,
        "-q",
        "--output",
        "json",
    ];
    args.extend(role);
    args.extend(["--out", out.to_str().unwrap()]);
    let inventory = w.run(&args).assert_code(0).json();
    for m in &members {
        let region = inventory["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["account"] == m.account.as_str())
            .unwrap_or_else(|| panic!("{} not inventoried: {inventory:#}", m.account));
        assert_eq!(region["streams"], 2, "{region:#}");
        assert_eq!(region["unencrypted_direct_put"], 2, "{region:#}");
    }
    let listed = std::fs::read_to_string(&out).unwrap();
    for m in &members {
        assert!(
            listed.contains(&format!(":{}:deliverystream/clicks", m.account)),
            "{listed}"
        );
    }

    // Plan and apply a fleet of those streams, one of each account to its own key.
    let fleet = w.fleet("fleet.csv", &fleet_csv(&members));
    let mut args = vec!["plan", fleet.to_str().unwrap(), "-q", "--output", "json"];
    args.extend(role);
    let plan = w.run(&args).assert_code(0).json();
    assert_eq!(plan["summary"]["enable"], 6, "{plan:#}");
    let mut args = vec![
        "apply",
        fleet.to_str().unwrap(),
        "--yes",
        "-q",
        "--first-poll",
        "100ms",
    ];
    args.extend(role);
    w.run(&args).assert_code(0);
    let report = w.run(&["report", "--format", "json"]).assert_code(0).json();
    assert_eq!(report["outcome"], "converged", "{report:#}");

    // Each stream as its own account's credentials describe it.
    rt.block_on(async {
        for m in &members {
            let fh = aws_sdk_firehose::Client::new(&sdk_config(&url, m.creds.clone()));
            for (name, key) in [("orders", None), ("clicks", Some(m.key.as_str()))] {
                let d = fh
                    .describe_delivery_stream()
                    .delivery_stream_name(name)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{}/{name}: {e:?}", m.account))
                    .delivery_stream_description
                    .unwrap();
                let c = d.delivery_stream_encryption_configuration().unwrap();
                let seen = Seen::new(
                    d.delivery_stream_type().as_str(),
                    c.status().map_or("DISABLED", |s| s.as_str()),
                    Some(c.key_arn()),
                );
                assert_eq!(
                    seen,
                    Seen::new("DirectPut", "ENABLED", Some(key)),
                    "{}/{name}",
                    m.account
                );
            }
        }
    });
    // The management account's own streams were never touched: it holds none here.
    if let Server::Sandbox(s) = &server {
        let truth = s.stats();
        assert!(truth.streams.iter().all(|s| s.account != ACCOUNT));
        for a in &truth.accounts {
            assert!(
                a.stream_not_found.is_empty(),
                "{}: {:?}",
                a.id,
                a.stream_not_found
            );
        }
    }
}

#[test]
fn moto() {
    organization(Server::Moto(Moto::start()));
}

#[test]
fn sandbox() {
    organization(Server::Sandbox(Sandbox::start(&[
        "--accounts",
        "3",
        "--latency",
        "40ms",
        "--tps",
        "0",
    ])));
}
