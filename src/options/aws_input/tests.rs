use super::*;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn start(
    name: Option<&str>,
    config: Option<&str>,
    json: Option<&str>,
) -> Result<Request, UsageError> {
    request(
        Operation::Start,
        &RawInput {
            delivery_stream_name: name.map(str::to_owned),
            configuration: config.map(str::to_owned),
            cli_input_json: json.map(str::to_owned),
        },
    )
}

fn customer() -> KeyChoice {
    KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap())
}

#[test]
fn shorthand_and_json_give_the_same_structure() {
    let shorthand = start(
        Some("orders"),
        Some(&format!("KeyType=CUSTOMER_MANAGED_CMK,KeyARN={KEY}")),
        None,
    )
    .unwrap();
    let json = start(
        Some("orders"),
        Some(&format!(
            r#"{{"KeyARN": "{KEY}", "KeyType": "CUSTOMER_MANAGED_CMK"}}"#
        )),
        None,
    )
    .unwrap();
    assert_eq!(shorthand, json);
    assert_eq!(
        shorthand,
        Request {
            name: "orders".into(),
            key: customer()
        }
    );
    let quoted = start(
        Some("orders"),
        Some(&format!("KeyType='CUSTOMER_MANAGED_CMK', KeyARN=\"{KEY}\"")),
        None,
    )
    .unwrap();
    assert_eq!(quoted, shorthand);
    let owned = start(Some("orders"), Some("KeyType=AWS_OWNED_CMK"), None).unwrap();
    assert_eq!(owned.key, KeyChoice::AwsOwned);
    // Without the structure, the service's default: the AWS-owned key.
    assert_eq!(
        start(Some("orders"), None, None).unwrap().key,
        KeyChoice::AwsOwned
    );
}

#[test]
fn cli_input_json_gives_the_input_and_the_command_line_wins() {
    let doc = format!(
        r#"{{"DeliveryStreamName": "from-json", "DeliveryStreamEncryptionConfigurationInput": {{"KeyARN": "{KEY}", "KeyType": "CUSTOMER_MANAGED_CMK"}}}}"#
    );
    let r = start(None, None, Some(&doc)).unwrap();
    assert_eq!(
        r,
        Request {
            name: "from-json".into(),
            key: customer()
        }
    );
    let r = start(Some("from-flag"), Some("KeyType=AWS_OWNED_CMK"), Some(&doc)).unwrap();
    assert_eq!(
        r,
        Request {
            name: "from-flag".into(),
            key: KeyChoice::AwsOwned
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.json");
    std::fs::write(&path, &doc).unwrap();
    let r = start(None, None, Some(&format!("file://{}", path.display()))).unwrap();
    assert_eq!(r.name, "from-json");
    let stop = request(
        Operation::Stop,
        &RawInput {
            cli_input_json: Some(r#"{"DeliveryStreamName": "s"}"#.into()),
            ..RawInput::default()
        },
    )
    .unwrap();
    assert_eq!(
        stop,
        Request {
            name: "s".into(),
            key: KeyChoice::Off
        }
    );
}

#[test]
fn mistakes_are_worded_as_the_aws_cli_words_them() {
    let err = |r: Result<Request, UsageError>| r.unwrap_err().to_string();
    assert!(
        err(start(None, None, None))
            .contains("the following arguments are required: --delivery-stream-name")
    );
    assert!(err(start(Some("s"), Some("KeyARN=x"), None)).contains(
        "Missing required parameter in DeliveryStreamEncryptionConfigurationInput: \"KeyType\""
    ));
    assert!(err(start(Some("s"), Some("KeyType=AWS_OWNED_CMK,Foo=1"), None)).contains(
        "Unknown parameter in DeliveryStreamEncryptionConfigurationInput: \"Foo\", must be one of: KeyARN, KeyType"
    ));
    assert!(err(start(Some("s"), None, Some(r#"{"Bogus": 1}"#)))
        .contains("Unknown parameter in input: \"Bogus\", must be one of: DeliveryStreamName, DeliveryStreamEncryptionConfigurationInput"));
    assert!(err(start(Some("s"), Some("{not json"), None)).contains("Invalid JSON"));
    assert!(err(start(Some("s"), Some("KeyType=NONE"), None)).contains("is not one of"));
    assert!(
        err(start(Some("s"), Some("KeyType=CUSTOMER_MANAGED_CMK"), None))
            .contains("needs the key's KeyARN")
    );
    assert!(
        err(start(
            Some("s"),
            Some(&format!("KeyType=AWS_OWNED_CMK,KeyARN={KEY}")),
            None
        ))
        .contains("has no ARN")
    );
    assert!(
        err(start(
            Some("s"),
            Some("KeyType=CUSTOMER_MANAGED_CMK,KeyARN=arn:aws:kms:us-east-1:123456789012:alias/x"),
            None
        ))
        .contains(": a KMS alias ARN, not a key ARN: Firehose needs the key ARN")
    );
    // The skeleton's empty KeyARN is no ARN given.
    assert!(
        start(
            Some("s"),
            Some(r#"{"KeyARN": "", "KeyType": "AWS_OWNED_CMK"}"#),
            None
        )
        .is_ok()
    );
    assert!(
        err(start(
            Some("s"),
            Some(r#"{"KeyARN": "", "KeyType": "CUSTOMER_MANAGED_CMK"}"#),
            None
        ))
        .contains("needs the key's KeyARN")
    );
    assert!(err(start(Some("bad name!"), None, None)).contains("invalid --delivery-stream-name"));
    assert!(
        err(start(
            Some("s"),
            Some("KeyType=AWS_OWNED_CMK,KeyType=AWS_OWNED_CMK"),
            None
        ))
        .contains("Second instance")
    );
    assert!(
        err(start(Some("s"), Some("file:///nonexistent/x.json"), None))
            .contains("Unable to load paramfile")
    );
}

#[test]
fn skeletons_are_the_aws_clis() {
    assert_eq!(
        Operation::Start.input_skeleton(),
        "{\n    \"DeliveryStreamName\": \"\",\n    \"DeliveryStreamEncryptionConfigurationInput\": {\n        \"KeyARN\": \"\",\n        \"KeyType\": \"AWS_OWNED_CMK\"\n    }\n}\n"
    );
    assert_eq!(
        Operation::Stop.input_skeleton(),
        "{\n    \"DeliveryStreamName\": \"\"\n}\n"
    );
}
