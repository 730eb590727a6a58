use super::*;
use crate::model::{KeyType, KmsKeyArn};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn ok(text: &str) -> Vec<Target> {
    parse_fleet(text.as_bytes(), None).unwrap_or_else(|p| panic!("{p:#?}"))
}

fn problems(text: &str) -> Vec<Problem> {
    problems_with(text.as_bytes(), None)
}

fn problems_with(bytes: &[u8], default_region: Option<&str>) -> Vec<Problem> {
    parse_fleet(bytes, default_region).expect_err("expected problems")
}

fn one(text: &str) -> Problem {
    let mut p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.remove(0)
}

#[test]
fn reads_names_arns_and_both_key_types() {
    let text = format!(
        "stream,region,key_arn,key_type\n\
         orders,us-east-1,,\n\
         arn:aws:firehose:us-east-1:123456789012:deliverystream/clicks,,{KEY},\n\
         logs,us-east-1,{KEY},CUSTOMER_MANAGED_CMK\n\
         audit,us-east-1,,aws_owned_cmk\n"
    );
    let t = ok(&text);
    assert_eq!(t.len(), 4);
    assert_eq!(
        t[0],
        Target {
            line: 2,
            name: "orders".into(),
            region: "us-east-1".into(),
            account: None,
            key: KeyChoice::AwsOwned,
            expect: None,
        }
    );
    assert_eq!(t[1].name, "clicks");
    assert_eq!(t[1].account.as_deref(), Some("123456789012"));
    assert_eq!(
        t[1].key,
        KeyChoice::Customer(KmsKeyArn::parse(KEY).unwrap())
    );
    assert_eq!(t[2].key.key_type(), KeyType::CustomerManaged);
    assert_eq!(t[3].key, KeyChoice::AwsOwned);
}

#[test]
fn aws_spellings_any_case() {
    let t = ok(&format!(
        "DeliveryStreamName,REGION,KeyARN,KeyType\nlogs,us-east-1,{KEY},CUSTOMER_MANAGED_CMK\n"
    ));
    assert_eq!(t[0].name, "logs");
    assert_eq!(t[0].key.key_type(), KeyType::CustomerManaged);
}

#[test]
fn tolerates_bom_crlf_quotes_whitespace_blank_and_comment_lines() {
    let text = "\u{FEFF}# fleet for prod\r\n stream , region \r\n\r\n\"orders\" ,  us-east-1\r\n# a comment\r\n   \r\n\" logs \",us-east-1\r\n";
    let t = ok(text);
    assert_eq!(
        t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["orders", "logs"]
    );
    assert_eq!(t[0].line, 4);
    assert_eq!(t[1].line, 7);
}

#[test]
fn missing_stream_column() {
    let all = problems("name,region\nx,us-east-1\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(all[0].message.contains("unknown column"));
    assert!(all[1].message.contains("no stream column"));
    let all = problems("region\nus-east-1\n");
    assert!(
        all.iter().any(|p| p.message.contains("no stream column")),
        "{all:#?}"
    );
}

#[test]
fn unknown_columns_list_the_accepted_ones() {
    let all = problems("stream,region,owner\nx,us-east-1,me\nbad name,us-east-1,you\n");
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1].line, Some(3), "rows are still checked: {all:#?}");
    assert_eq!(all[0].value.as_deref(), Some("owner"));
    assert_eq!(all[0].column.as_deref(), Some("#3"));
    assert!(
        all[0].message.contains("DeliveryStreamName"),
        "{}",
        all[0].message
    );
}

#[test]
fn empty_file_and_header_only() {
    assert!(one("").message.contains("empty"));
    assert!(one("# only a comment\n\n").message.contains("empty"));
    let p = one("stream,region\n");
    assert_eq!(p.line, Some(1));
    assert!(p.message.contains("no streams"));
}

#[test]
fn bad_stream_names() {
    for bad in [
        "has space",
        "ѕtream",
        "=cmd|' /C calc'!A0",
        &"x".repeat(65),
        "a/b",
    ] {
        let p = one(&format!("stream,region\n\"{bad}\",us-east-1\n"));
        assert_eq!(
            (p.line, p.column.as_deref(), p.value.as_deref()),
            (Some(2), Some("stream"), Some(bad))
        );
        assert!(p.message.contains("not a stream name"), "{}", p.message);
    }
    assert!(
        one("stream,region\n\"\",us-east-1\n")
            .message
            .contains("empty")
    );
}

#[test]
fn malformed_firehose_arns() {
    for bad in [
        "arn:aws:firehose:us-east-1:12345:deliverystream/x",
        "arn:aws:kinesis:us-east-1:123456789012:stream/x",
        "arn:aws:firehose:us-east-1:123456789012:x",
        "arn:aws:firehose",
    ] {
        let p = one(&format!("stream\n{bad}\n"));
        assert_eq!(p.column.as_deref(), Some("stream"));
        assert!(
            p.message.contains("malformed Firehose ARN"),
            "{}",
            p.message
        );
    }
}

#[test]
fn an_account_column_names_the_streams_account_and_must_agree_with_its_arn() {
    let t = ok("stream,region,Account\norders,us-east-1,111111111111\nclicks,us-east-1,\n");
    assert_eq!(t[0].account.as_deref(), Some("111111111111"));
    assert_eq!(
        t[1].account, None,
        "an empty cell: the credentials' own account"
    );
    let t = ok(
        "stream,account\narn:aws:firehose:us-east-1:222222222222:deliverystream/x,222222222222\n",
    );
    assert_eq!(t[0].account.as_deref(), Some("222222222222"));
    let p = one(
        "stream,account\narn:aws:firehose:us-east-1:222222222222:deliverystream/x,111111111111\n",
    );
    assert_eq!(p.column.as_deref(), Some("account"));
    assert!(
        p.message.contains("ARN is in account 222222222222"),
        "{}",
        p.message
    );
    let p = one("stream,region,account\norders,us-east-1,12345\n");
    assert!(p.message.contains("12 digits"), "{}", p.message);
    // The same name in two accounts is two streams.
    let t = ok("stream,region,account\no,us-east-1,111111111111\no,us-east-1,222222222222\n");
    assert_eq!(t.len(), 2);
}

#[test]
fn region_missing_malformed_or_contradicting_the_arn() {
    let p = one("stream\norders\n");
    assert!(p.message.contains("no region"), "{}", p.message);
    let t = parse_fleet(b"stream\norders\n", Some("eu-west-1")).unwrap();
    assert_eq!(&*t[0].region, "eu-west-1");
    let p = one("stream,region\norders,US-East-1\n");
    assert!(p.message.contains("malformed region"), "{}", p.message);
    let p =
        one("stream,region\narn:aws:firehose:us-east-1:123456789012:deliverystream/x,eu-west-1\n");
    assert!(
        p.message.contains("ARN is in region us-east-1"),
        "{}",
        p.message
    );
    let p = problems_with(b"stream\norders\n", Some("nowhere")).remove(0);
    assert!(
        p.message.contains("malformed default region"),
        "{}",
        p.message
    );
}

#[test]
fn key_arns_and_aliases() {
    let p =
        one("stream,region,key_arn\nx,us-east-1,arn:aws:kms:us-east-1:123456789012:alias/prod\n");
    assert!(
        p.message.contains("alias") && p.message.contains("key ARN"),
        "{}",
        p.message
    );
    for bad in [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:1234:key/abc",
        "arn:aws:s3:::bucket",
        "arn:aws:kms:us-east-1:123456789012:key/",
    ] {
        let p = one(&format!("stream,region,key_arn\nx,us-east-1,{bad}\n"));
        assert_eq!(p.column.as_deref(), Some("key_arn"));
        assert!(
            p.message.contains("not a KMS key ARN"),
            "{bad}: {}",
            p.message
        );
    }
}

#[test]
fn key_in_another_region() {
    let p = one(&format!("stream,region,key_arn\nx,eu-west-1,{KEY}\n"));
    assert!(p.message.contains("KMS keys are regional"), "{}", p.message);
}

#[test]
fn key_type_rules() {
    let p = one("stream,region,key_type\nx,us-east-1,SYMMETRIC\n");
    assert!(p.message.contains("unknown key type"), "{}", p.message);
    let p = one("stream,region,key_type\nx,us-east-1,CUSTOMER_MANAGED_CMK\n");
    assert!(p.message.contains("needs a key ARN"), "{}", p.message);
    let p = one(&format!(
        "stream,region,key_arn,key_type\nx,us-east-1,{KEY},AWS_OWNED_CMK\n"
    ));
    assert!(p.message.contains("takes no key ARN"), "{}", p.message);
}

#[test]
fn duplicates_name_both_lines() {
    let text = "stream,region\n\
                a,us-east-1\n\
                a,eu-west-1\n\
                arn:aws:firehose:us-east-1:123456789012:deliverystream/a,\n\
                arn:aws:firehose:us-east-1:210987654321:deliverystream/b,\n\
                arn:aws:firehose:us-east-1:123456789012:deliverystream/b,\n";
    let p = one(text);
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("lines 2 and 4"), "{}", p.message);
}

#[test]
fn every_problem_at_once_with_lines() {
    let text = format!(
        "stream,region,key_arn,key_type\n\
         ok-1,us-east-1,,\n\
         bad name,us-east-1,,\n\
         ok-2,moon-1,,\n\
         ok-3,us-east-1,arn:aws:kms:us-east-1:123456789012:alias/x,\n\
         ok-4,eu-west-1,{KEY},\n\
         ok-5,us-east-1,,WHATEVER\n\
         ok-1,us-east-1,,\n\
         ok-6,us-east-1\n"
    );
    let p = problems(&text);
    let lines: Vec<_> = p.iter().map(|p| p.line.unwrap()).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7, 9, 8], "{p:#?}");
}

#[test]
fn shows_fifty_then_counts() {
    let mut text = String::from("stream,region\n");
    for i in 0..60 {
        text.push_str(&format!("bad name {i},us-east-1\n"));
    }
    let err = FleetErrors {
        file: "f.csv".into(),
        problems: problems(&text),
    };
    let shown = err.to_string();
    assert!(shown.starts_with("f.csv: 60 problems"), "{shown}");
    assert_eq!(shown.lines().count(), 1 + MAX_SHOWN + 1);
    assert!(shown.ends_with("... and 10 more"), "{shown}");
}

#[test]
fn encodings() {
    let p = problems_with(b"\xFF\xFEs\0t\0", None);
    assert!(p[0].message.contains("UTF-16"));
    let p = problems_with(b"stream,region\nor\xE9ers,us-east-1\n", None);
    assert_eq!(p[0].line, Some(2));
    assert!(p[0].message.contains("UTF-8"));
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(10_000);
    let err = FleetErrors {
        file: "f".into(),
        problems: problems(&format!("stream,region\n{long},us-east-1\n")),
    };
    let text = err.to_string();
    assert!(text.len() < 400, "{}", text.len());
    assert!(text.contains("(10000 bytes)"));
}

#[test]
fn line_numbers_survive_multiline_quotes_and_leading_blank_lines() {
    let text = "\n\n# c\nstream,region\n\"a\",\"us-east-1\"\n\n\nbad name,us-east-1\n";
    let p = one(text);
    assert_eq!(p.line, Some(8), "{p:#?}");
}

#[test]
fn wrong_field_count() {
    let p = one("stream,region\na,us-east-1,extra\n");
    assert!(
        p.message.contains("3 fields, but the header has 2"),
        "{}",
        p.message
    );
}

#[test]
fn a_spreadsheet_export_with_an_empty_trailing_column_is_read() {
    // What Excel's "CSV UTF-8" writes: a BOM, CRLF, and an empty column after the last one.
    let text = format!(
        "\u{FEFF}stream,region,key_arn,key_type,\r\n\
         orders,us-east-1,,,\r\n\
         logs,us-east-1,{KEY},CUSTOMER_MANAGED_CMK,\r\n"
    );
    let t = ok(&text);
    assert_eq!(
        t.iter()
            .map(|t| (t.name.as_str(), t.line))
            .collect::<Vec<_>>(),
        [("orders", 2), ("logs", 3)]
    );
    // An empty, unnamed column in the middle is ignored as well.
    let t = ok("stream,,region\norders,,us-east-1\n");
    assert_eq!(&*t[0].region, "us-east-1");
}

#[test]
fn an_unnamed_column_with_a_value_is_named_in_the_error() {
    let all = problems("stream,region,\norders,us-east-1,\nlogs,us-east-1,prod\n");
    assert_eq!(all.len(), 1, "{all:#?}");
    let p = &all[0];
    assert_eq!(p.line, Some(3));
    assert_eq!(p.column.as_deref(), Some("#3"));
    assert_eq!(p.value.as_deref(), Some("prod"));
    assert!(p.message.contains("no name in the header"), "{}", p.message);
    // Two unnamed columns are no duplicate of each other.
    assert_eq!(ok("stream,region,,\norders,us-east-1,,\n").len(), 1);
}

#[test]
fn key_type_none_asks_for_encryption_off() {
    let t = ok("stream,region,key_type\na,us-east-1,NONE\nb,us-east-1,none\n");
    assert_eq!(t[0].key, KeyChoice::Off);
    assert_eq!(t[1].key, KeyChoice::Off);
    let p = one("stream,region,key_arn,key_type\n\
         a,us-east-1,arn:aws:kms:us-east-1:123456789012:key/k1,NONE\n");
    assert!(p.message.contains("takes no key ARN"), "{p:?}");
}
