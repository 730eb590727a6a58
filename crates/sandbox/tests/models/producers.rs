//! Producers and key policies: PutRecord and PutRecordBatch to streams on each kind of key, by
//! producers their identity policies and the key policy allow or refuse (AccessDeniedException,
//! InvalidKMSResourceException with each KMS code), to streams that cannot take them, and with
//! bad input; GetKeyPolicy and PutKeyPolicy through success and each refusal.

use base64::Engine;
use firehose_sse_sandbox::{SandboxConfig, Seed};
use serde_json::{Value, json};

use super::http::Exchange;
use super::organization::enc;
use super::{ACCOUNT, Driver, REGION, Server};

const OTHER: &str = "210987654321";

fn key(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

fn config() -> SandboxConfig {
    SandboxConfig {
        tps: 0,
        ..SandboxConfig::default()
    }
}

fn world() -> Seed {
    let root = format!("arn:aws:iam::{ACCOUNT}:root");
    serde_json::from_value(json!({
        "streams": [
            {"name": "plain", "producers": [{"role": "app"}, {"role": "app-kms", "kms": true}]},
            {"name": "aws-owned", "encryption": {"key_type": "AWS_OWNED_CMK"}, "producers": [{"role": "app"}]},
            {"name": "cmk", "encryption": {"key_arn": key("good")},
             "producers": [{"role": "app"}, {"role": "app-kms", "kms": true}]},
            {"name": "cmk-named", "encryption": {"key_arn": key("named")}, "producers": [{"role": "app"}]},
            {"name": "cmk-disabled", "encryption": {"key_arn": key("off")}, "producers": [{"role": "app-kms", "kms": true}]},
            {"name": "cmk-pending", "encryption": {"key_arn": key("going")}, "producers": [{"role": "app-kms", "kms": true}]},
            {"name": "cmk-gone", "encryption": {"key_arn": key("never-seeded")}, "producers": [{"role": "app-kms", "kms": true}]},
            {"name": "kinesis", "type": "KinesisStreamAsSource"},
            {"name": "creating", "status": "CREATING"}
        ],
        "keys": [
            {"id": "good"},
            {"id": "named", "policy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Producer", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/app")},
                 "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}]}},
            {"id": "off", "state": "Disabled"},
            {"id": "going", "state": "PendingDeletion"},
            {"id": "theirs", "account": OTHER}
        ]
    }))
    .unwrap()
}

fn data(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn put(stream: &str) -> Value {
    json!({"DeliveryStreamName": stream, "Record": {"Data": data(b"{\"order\": 1}\n")}})
}

fn batch(stream: &str, n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| json!({"Data": data(format!("{i}\n").as_bytes())}))
        .collect();
    json!({"DeliveryStreamName": stream, "Records": records})
}

/// Switches `d` to a session of role `name` (every producer role trusts the account's root).
fn become_role(d: &mut Driver, name: &str) {
    d.access_key = super::ACCESS_KEY.to_owned();
    d.token = None;
    d.sts(
        &format!("assume {name}"),
        &format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=producer&RoleArn={}",
            enc(&format!("arn:aws:iam::{ACCOUNT}:role/{name}"))
        ),
    );
    let body = d.last_body().to_owned();
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let at = body.find(&open).map_or(body.len(), |i| i + open.len());
        body[at..].split('<').next().unwrap_or_default().to_owned()
    };
    d.access_key = tag("AccessKeyId");
    d.token = Some(tag("SessionToken"));
}

pub fn scenarios(out: &mut Vec<Exchange>) {
    let server = Server::start(config(), world());
    let mut d = Driver::new(&server, out);
    puts(&mut d);
    key_policies(&mut d);
}

fn puts(d: &mut Driver) {
    let put_record = "PutRecord";
    let put_batch = "PutRecordBatch";
    // The base user is the account's administrator: it may put anywhere.
    for stream in ["plain", "aws-owned", "cmk"] {
        d.firehose(
            &format!("put to {stream} by the administrator"),
            put_record,
            put(stream),
        );
        d.firehose(
            &format!("put a batch to {stream} by the administrator"),
            put_batch,
            batch(stream, 3),
        );
    }
    become_role(d, "app");
    for stream in ["plain", "aws-owned", "cmk-named"] {
        d.firehose(&format!("put to {stream} by app"), put_record, put(stream));
    }
    d.firehose(
        "put to cmk by app, no KMS permission",
        put_record,
        put("cmk"),
    );
    d.firehose(
        "put a batch to cmk by app, no KMS permission",
        put_batch,
        batch("cmk", 2),
    );
    d.firehose(
        "put to a stream app may not put to",
        put_record,
        put("kinesis"),
    );
    become_role(d, "app-kms");
    d.firehose("put to cmk by app-kms", put_record, put("cmk"));
    d.firehose(
        "put a batch to cmk by app-kms",
        put_batch,
        batch("cmk", 500),
    );
    d.firehose("put to a disabled key", put_record, put("cmk-disabled"));
    d.firehose(
        "put to a key pending deletion",
        put_record,
        put("cmk-pending"),
    );
    d.firehose(
        "put to a key that does not exist",
        put_batch,
        batch("cmk-gone", 1),
    );
    d.firehose(
        "put to a stream app-kms may not put to",
        put_record,
        put("nope"),
    );
    d.access_key = super::ACCESS_KEY.to_owned();
    d.token = None;
    d.firehose("put to no such stream", put_record, put("nope"));
    d.firehose(
        "put to a Kinesis-sourced stream",
        put_record,
        put("kinesis"),
    );
    d.firehose(
        "put to a stream being created",
        put_batch,
        batch("creating", 1),
    );
    let over: Vec<Value> = (0..5)
        .map(|_| json!({"Data": data(&vec![b'x'; 1_000_000])}))
        .collect();
    d.firehose(
        "put a batch over 4 MiB",
        put_batch,
        json!({"DeliveryStreamName": "plain", "Records": over}),
    );
    d.firehose(
        "put an empty record",
        put_record,
        json!({"DeliveryStreamName": "plain", "Record": {"Data": ""}}),
    );
    d.firehose(
        "put the largest record",
        put_record,
        json!({"DeliveryStreamName": "plain", "Record": {"Data": data(&vec![b'y'; 1_024_000])}}),
    );
    for (label, op, body) in [
        (
            "a record too large",
            put_record,
            json!({"DeliveryStreamName": "plain", "Record": {"Data": data(&vec![b'z'; 1_024_001])}}),
        ),
        (
            "data not base64",
            put_record,
            json!({"DeliveryStreamName": "plain", "Record": {"Data": "not base64!"}}),
        ),
        (
            "data a number",
            put_record,
            json!({"DeliveryStreamName": "plain", "Record": {"Data": 7}}),
        ),
        (
            "no record",
            put_record,
            json!({"DeliveryStreamName": "plain"}),
        ),
        (
            "record without data",
            put_record,
            json!({"DeliveryStreamName": "plain", "Record": {}}),
        ),
        (
            "no stream name",
            put_record,
            json!({"Record": {"Data": ""}}),
        ),
        (
            "no records",
            put_batch,
            json!({"DeliveryStreamName": "plain", "Records": []}),
        ),
        ("501 records", put_batch, batch("plain", 501)),
        (
            "records a record",
            put_batch,
            json!({"DeliveryStreamName": "plain", "Records": {"Data": ""}}),
        ),
        (
            "a batch record too large",
            put_batch,
            json!({"DeliveryStreamName": "plain", "Records": [{"Data": data(&vec![b'z'; 1_024_001])}]}),
        ),
    ] {
        d.firehose(&format!("put input: {label}"), op, body);
    }
    d.raw_json(
        "put, not json",
        "firehose",
        Some("Firehose_20150804.PutRecord"),
        "{",
    );
}

fn key_policies(d: &mut Driver) {
    let get = "GetKeyPolicy";
    let set = "PutKeyPolicy";
    d.kms("get the default key policy", get, json!({"KeyId": "good"}));
    d.kms(
        "get a seeded key policy by arn",
        get,
        json!({"KeyId": key("named"), "PolicyName": "default"}),
    );
    d.kms(
        "get the AWS_RAM key policy",
        get,
        json!({"KeyId": "good", "PolicyName": "AWS_RAM"}),
    );
    d.kms(
        "get the policy of no key",
        get,
        json!({"KeyId": "00000000-0000-0000-0000-000000000000"}),
    );
    d.kms(
        "get the policy of another account's key",
        get,
        json!({"KeyId": format!("arn:aws:kms:{REGION}:{OTHER}:key/theirs")}),
    );
    let root_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"}]});
    let app_only = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/app")}, "Action": "kms:*", "Resource": "*"}]});
    d.kms(
        "put a key policy",
        set,
        json!({"KeyId": "good", "Policy": root_only.to_string()}),
    );
    d.kms(
        "put a key policy named default",
        set,
        json!({"KeyId": key("good"), "PolicyName": "default", "Policy": root_only.to_string()}),
    );
    d.kms(
        "put a key policy locking the caller out",
        set,
        json!({"KeyId": "good", "Policy": app_only.to_string()}),
    );
    d.kms("put a key policy locking the caller out, bypassed", set, json!({"KeyId": "off", "Policy": app_only.to_string(), "BypassPolicyLockoutSafetyCheck": true}));
    d.kms("put a key policy naming no one", set, json!({"KeyId": "good", "Policy": json!({"Statement": {"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:user/ghost")}, "Action": "kms:*", "Resource": "*"}}).to_string()}));
    d.kms("put a key policy without principal", set, json!({"KeyId": "good", "Policy": json!({"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}).to_string()}));
    d.kms(
        "put a key policy not JSON",
        set,
        json!({"KeyId": "good", "Policy": "{"}),
    );
    d.kms(
        "put the AWS_RAM key policy",
        set,
        json!({"KeyId": "good", "PolicyName": "AWS_RAM", "Policy": root_only.to_string()}),
    );
    d.kms(
        "put a key policy over 32 KB",
        set,
        json!({"KeyId": "good", "Policy": format!("{}{}", root_only, " ".repeat(33_000))}),
    );
    d.kms(
        "put a key policy to no key",
        set,
        json!({"KeyId": "nope", "Policy": root_only.to_string()}),
    );
    d.kms("put a key policy to another account's key", set, json!({"KeyId": format!("arn:aws:kms:{REGION}:{OTHER}:key/theirs"), "Policy": root_only.to_string()}));
    for (label, op, body) in [
        ("get without key", get, json!({})),
        (
            "get, policy name off pattern",
            get,
            json!({"KeyId": "good", "PolicyName": "not default"}),
        ),
        ("put without policy", set, json!({"KeyId": "good"})),
        (
            "put, policy empty",
            set,
            json!({"KeyId": "good", "Policy": ""}),
        ),
        (
            "put, bypass a string",
            set,
            json!({"KeyId": "good", "Policy": "{}", "BypassPolicyLockoutSafetyCheck": "yes"}),
        ),
    ] {
        d.kms(&format!("key policy input: {label}"), op, body);
    }
    // The producer named by the key it was moved to, after its key policy changed.
    become_role(d, "app");
    d.firehose(
        "put to cmk-named by app, named by the key policy",
        "PutRecord",
        put("cmk-named"),
    );
}
