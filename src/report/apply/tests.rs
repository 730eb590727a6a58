use super::*;

#[test]
fn spreadsheet_injection_is_defused() {
    assert_eq!(
        spreadsheet_safe("=cmd|' /C calc'!A0"),
        "'=cmd|' /C calc'!A0"
    );
    assert_eq!(spreadsheet_safe("+1"), "'+1");
    assert_eq!(spreadsheet_safe("-1"), "'-1");
    assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(spreadsheet_safe("orders"), "orders");
    assert_eq!(spreadsheet_safe(""), "");
}

#[test]
fn the_markdown_table_has_as_many_separator_cells_as_header_cells() {
    let text = report_markdown(&[]);
    let mut lines = text.lines();
    let pipes = |line: &str| line.matches('|').count();
    let header = lines.next().unwrap();
    let separator = lines.next().unwrap();
    assert_eq!(pipes(header), COLUMNS.len());
    assert_eq!(pipes(separator), COLUMNS.len(), "{separator}");
    assert_eq!(separator, format!("|{}", "---|".repeat(COLUMNS.len() - 1)));
}

#[test]
fn untrusted_text_in_a_markdown_cell_cannot_become_html_or_break_the_table() {
    let mut r = row(0, "123456789012", Phase::Failed);
    r.failure_details = Some("<script>alert(1)</script> | & more\nlines".into());
    let md = report_markdown(&[r]);
    let line = md.lines().nth(2).unwrap();
    assert!(!md.contains("<script>"), "{md}");
    assert!(line.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\| &amp; more lines"));
    assert_eq!(line.matches(" | ").count(), COLUMNS.len() - 2, "{line}");
}

fn row(seq: usize, account: &str, phase: Phase) -> RunItemRow {
    RunItemRow {
        seq,
        line: seq as u64 + 2,
        account: Some(account.into()),
        region: "us-east-1".into(),
        name: format!("s{seq}"),
        target: crate::model::KeyChoice::AwsOwned,
        action: Some(crate::plan::Action::Enable),
        phase,
        reason: None,
        old_key: None,
        starts: 1,
        enabled_at: None,
        failure_type: None,
        failure_details: None,
        next_slot: None,
        updated_at: 0,
        last_status: None,
        last_key: None,
    }
}

#[test]
fn the_table_fits_a_terminal_with_real_key_ids_and_gives_reasons_a_column() {
    let key = crate::model::KeyChoice::Customer(
        crate::model::KmsKeyArn::parse(
            "arn:aws:kms:us-east-1:123456789012:key/6f1c2a4e-5b7d-4c8e-9a0f-1b2c3d4e5f60",
        )
        .unwrap(),
    );
    let mut rows = Vec::new();
    for (i, phase) in [Phase::Done, Phase::Failed, Phase::Skipped, Phase::Deferred]
        .into_iter()
        .enumerate()
    {
        let mut r = row(i, "123456789012", phase);
        r.name = format!("orders-ingest-prod-{i:02}");
        r.target = key.clone();
        r.last_key = Some(key.clone());
        r.last_status = Some("ENABLED".into());
        r.enabled_at = Some(1_800_000_000_000);
        match phase {
            Phase::Failed => {
                r.last_status = Some("ENABLING_FAILED".into());
                r.failure_type = Some("KMS_ACCESS_DENIED".into());
                r.failure_details =
                    Some("Access denied to the key: the key policy does not allow it".into());
            }
            Phase::Skipped => r.reason = Some("not_direct_put".into()),
            Phase::Deferred => {
                r.reason = Some("budget".into());
                r.next_slot = Some(1_800_000_100_000);
            }
            _ => {}
        }
        rows.push(r);
    }
    let text = report_table(&rows);
    for line in text.lines().take_while(|l| !l.is_empty()) {
        assert!(
            line.chars().count() <= 100,
            "{} wide: {line}\n{text}",
            line.chars().count()
        );
    }
    assert!(text.contains("key/6f1c2a4e…"), "{text}");
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("reason") && !header.contains("failure_type"),
        "{header}"
    );
    assert!(text.contains("not_direct_put") && text.contains("KMS_ACCESS_DENIED"));
    // What the table leaves out is below it.
    assert!(text.contains("Access denied to the key"), "{text}");
    assert!(text.contains("next slot"), "{text}");
    // CSV: a skip's reason in `reason`, a failure's type in `failure_type`.
    let csv = report_csv(&rows, &Default::default()).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cells: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(cells[2][col("reason")], "not_direct_put");
    assert_eq!(cells[2][col("failure_type")], "");
    assert_eq!(cells[1][col("failure_type")], "KMS_ACCESS_DENIED");
}

#[test]
fn the_account_is_a_column_of_csv_always_and_of_a_table_over_several_accounts() {
    let one = [
        row(0, "111111111111", Phase::Done),
        row(1, "111111111111", Phase::Done),
    ];
    let two = [
        row(0, "111111111111", Phase::Done),
        row(1, "222222222222", Phase::Done),
    ];
    let csv = report_csv(&one, &Default::default()).unwrap();
    assert!(csv.starts_with("stream,region,account,action"), "{csv}");
    assert!(csv.contains("s0,us-east-1,111111111111,enable"), "{csv}");
    let header = |text: &str| text.lines().next().unwrap().to_owned();
    assert!(!header(&report_table(&one)).contains("account"));
    assert!(header(&report_table(&two)).contains("account"));
    assert!(report_table(&two).contains("222222222222"));
    assert!(!header(&report_markdown(&one)).contains("account"));
    assert!(header(&report_markdown(&two)).contains("| account |"));
}

#[test]
fn a_stream_never_described_is_of_the_credentials_account() {
    let args = crate::ledger::RunArgs::Apply {
        fleet: None,
        plan: None,
        shard: None,
        reserve: 1,
        cmk_limit: 500,
        place: json!({"endpoint": "x", "account": "123456789012"}),
        waves: None,
        reviewed: None,
    };
    let run = crate::ledger::RunRow {
        id: 1,
        kind: crate::ledger::RunKind::Apply,
        plan_id: None,
        started_at: 0,
        ended_at: None,
        outcome: None,
        args: serde_json::to_string(&args).unwrap(),
    };
    let mut gone = row(0, "1", Phase::Skipped);
    gone.account = None;
    let rows = with_accounts(&run, vec![gone, row(1, "222222222222", Phase::Done)]);
    assert_eq!(rows[0].account.as_deref(), Some("123456789012"));
    assert_eq!(rows[1].account.as_deref(), Some("222222222222"));
}

#[test]
fn a_run_over_several_accounts_is_counted_per_account() {
    let rows = [
        row(0, "111111111111", Phase::Done),
        row(1, "111111111111", Phase::Polling),
        row(2, "222222222222", Phase::Done),
    ];
    let by = counts_by_account(&rows);
    assert_eq!(by["111111111111"]["done"], 1);
    assert_eq!(by["111111111111"]["polling"], 1);
    assert_eq!(by["222222222222"]["done"], 1);
    let text = report_counts(&rows);
    assert!(
        text.contains("account 111111111111: 2 streams: 1 done, 1 polling"),
        "{text}"
    );
    // One account: the total line only.
    let text = report_counts(&rows[..2]);
    assert!(!text.contains("account "), "{text}");
}
