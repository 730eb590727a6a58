use super::*;
use crate::input::Target;
use crate::model::{EncStatus, StreamStatus};

fn item(seq: usize, name: &str, action: Action, reason: Option<Reason>) -> Item {
    Item {
        seq,
        target: Target {
            line: seq as u64 + 2,
            name: name.into(),
            region: "us-east-1".into(),
            account: None,
            key: KeyChoice::AwsOwned,
            expect: None,
        },
        stream: None,
        action,
        reason,
        next_slot: None,
        current: Some(Current {
            stream_status: StreamStatus::Active,
            status: EncStatus::Disabled,
            key: None,
            source_arn: None,
            source_encryption: None,
            in_force_unknown: false,
        }),
        producers: None,
        owner: None,
        budget_used: 0,
    }
}

fn view(items: &[Item]) -> PlanView<'_> {
    PlanView {
        plan_id: 1,
        items,
        keys: Vec::new(),
        settings: Settings::default(),
        warnings: Vec::new(),
        estimated_ms: 1000,
        pace: Pace {
            start_tps: 5.0,
            describe_tps: 5.0,
        },
        throttles: 0,
        next: None,
        producer_check: None,
        waves: None,
        hash: None,
    }
}

#[test]
fn colour_changes_no_column_of_the_plan() {
    let items = [
        item(0, "orders", Action::Enable, None),
        item(1, "clicks", Action::Noop, None),
        item(2, "logs", Action::Skip, Some(Reason::NotFound)),
        item(3, "audit", Action::Rekey, None),
    ];
    let plain = table_text(&view(&items), false);
    let coloured = table_text(&view(&items), true);
    assert_ne!(plain, coloured);
    assert_eq!(console::strip_ansi_codes(&coloured), plain);
    // Every row's stream name starts in the same column, coloured or not.
    let column = |text: &str, name: &str| {
        let line = text.lines().find(|l| l.contains(name)).unwrap();
        console::measure_text_width(&line[..line.find(name).unwrap()])
    };
    for name in ["orders", "clicks", "logs", "audit"] {
        assert_eq!(column(&coloured, name), column(&plain, "orders"), "{name}");
    }
}

#[test]
fn a_skip_is_a_warning_not_a_destroy() {
    let items = [item(0, "logs", Action::Skip, Some(Reason::NotFound))];
    let coloured = table_text(&view(&items), true);
    let row = coloured.lines().find(|l| l.contains("logs")).unwrap();
    assert!(
        row.contains("\u{1b}[33m") || row.contains(";33m"),
        "yellow: {row:?}"
    );
    assert!(!row.contains("\u{1b}[31m"), "not red: {row:?}");
}

#[test]
fn a_rollback_plan_says_what_it_disables_restores_and_leaves() {
    let mut untouched = item(2, "same", Action::Noop, None);
    untouched.current = None;
    let items = [
        item(0, "plain", Action::Disable, None),
        item(1, "owned", Action::Restore, None),
        untouched,
        item(3, "done", Action::Noop, None),
    ];
    let text = table_text(&view(&items), false);
    assert!(
        text.contains("0 to enable, 0 to rekey, 1 to disable, 1 to restore, 2 unchanged"),
        "{text}"
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    assert!(line("plain").trim_start().starts_with('-'), "{text}");
    assert!(line("owned").trim_start().starts_with('<'), "{text}");
    assert!(line("same").contains("nothing to undo"), "{text}");
    assert!(line("done").contains("already at target"), "{text}");
    // A plan without either keeps its usual line.
    let plain = [item(0, "a", Action::Enable, None)];
    assert!(
        table_text(&view(&plain), false)
            .contains("1 to enable, 0 to rekey, 0 unchanged, 0 skipped, 0 deferred."),
    );
}

#[test]
fn a_plan_over_several_accounts_names_each_streams_account_and_sums_per_account() {
    let mut a = item(0, "orders", Action::Enable, None);
    a.target.account = Some("111111111111".into());
    let mut b = item(1, "orders", Action::Noop, None);
    b.target.account = Some("222222222222".into());
    let mut c = item(2, "clicks", Action::Enable, None);
    c.target.account = Some("222222222222".into());
    let items = [a, b, c];
    let text = table_text(&view(&items), false);
    assert!(text.contains(" account "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("111111111111") && l.contains("orders")),
        "{text}"
    );
    assert!(
        text.contains("222222222222: 1 to enable, 0 to rekey, 1 unchanged"),
        "{text}"
    );
    let doc = json(&view(&items));
    assert_eq!(doc["accounts"].as_array().unwrap().len(), 2, "{doc:#}");
    assert_eq!(doc["accounts"][1]["account"], "222222222222");
    assert_eq!(doc["accounts"][1]["summary"]["enable"], 1);
    // One account: no account column, no per-account lines.
    let one = [item(0, "orders", Action::Enable, None)];
    let text = table_text(&view(&one), false);
    assert!(!text.contains("By account"), "{text}");
}

#[test]
fn a_kinesis_sourced_stream_says_how_its_source_is_encrypted() {
    let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders-raw";
    let line = |enc: SourceEncryption| {
        let mut it = item(0, "orders", Action::Skip, Some(Reason::NotDirectPut));
        if let Some(c) = it.current.as_mut() {
            c.source_arn = Some(arn.into());
            c.source_encryption = Some(enc);
        }
        let items = [it];
        let text = table_text(&view(&items), false);
        let doc = json(&view(&items));
        (
            text.lines()
                .find(|l| l.contains("orders"))
                .unwrap()
                .to_owned(),
            doc["items"][0]["current"]["source"].clone(),
        )
    };
    let (text, doc) = line(SourceEncryption::Kms {
        key_id: "alias/aws/kinesis".into(),
    });
    assert!(
        text.contains("not_direct_put (source orders-raw: KMS, key alias/aws/kinesis)"),
        "{text}"
    );
    assert_eq!(doc["encryption"], "KMS");
    assert_eq!(doc["key_id"], "alias/aws/kinesis");
    let (text, doc) = line(SourceEncryption::None);
    assert!(
        text.contains("not_direct_put (source orders-raw: NOT encrypted)"),
        "{text}"
    );
    assert_eq!(doc["stream"], "orders-raw");
    let (text, _) = line(SourceEncryption::Unreadable {
        why: "access denied calling kinesis:DescribeStreamSummary".into(),
    });
    assert!(
        text.contains("(source orders-raw: cannot be read: access denied calling kinesis:DescribeStreamSummary)"),
        "{text}"
    );
}

#[test]
fn a_stream_code_owns_names_its_owner_on_its_line_and_in_json() {
    let mut it = item(0, "orders", Action::Enable, None);
    it.owner = Some(Box::new(crate::iac::Owner::Stack {
        name: "ingest".into(),
        logical_id: Some("Orders".into()),
    }));
    let items = [it];
    let text = table_text(&view(&items), false);
    assert!(text.contains("⚠ owned by stack ingest"), "{text}");
    let doc = json(&view(&items));
    assert_eq!(doc["items"][0]["owner"]["stack"], "ingest");
    assert_eq!(
        doc["items"][0]["owner"]["next_deploy"],
        "keeps_until_template_changes"
    );
    // Not changed: no warning on its line.
    let mut it = item(0, "orders", Action::Noop, None);
    it.owner = items[0].owner.clone();
    let items = [it];
    assert!(!table_text(&view(&items), false).contains("owned by"));
}
