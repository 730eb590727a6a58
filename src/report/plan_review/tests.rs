//! The plan's Markdown for a pull request: what comes first, escaping, and folding a large plan
//! under GitHub's comment limit.

use super::*;
use crate::input::Target;
use crate::model::{EncStatus, KeyChoice, StreamId, StreamStatus};
use crate::plan::{Current, Pace, Reason, Settings};

fn item(seq: usize, account: &str, region: &str, name: &str, action: Action) -> Item {
    Item {
        seq,
        target: Target {
            line: seq as u64 + 2,
            name: name.into(),
            region: region.into(),
            account: Some(account.into()),
            key: KeyChoice::AwsOwned,
            expect: None,
        },
        stream: Some(StreamId {
            account: account.into(),
            region: region.into(),
            name: name.into(),
        }),
        action,
        reason: (action == Action::Skip).then_some(Reason::NotActive),
        next_slot: None,
        current: Some(Current {
            stream_status: StreamStatus::Active,
            status: EncStatus::Disabled,
            key: None,
            source_arn: None,
            source_encryption: None,
            in_force_unknown: false,
        }),
        budget_used: 0,
        producers: None,
        owner: None,
    }
}

fn view(items: &[Item]) -> PlanView<'_> {
    PlanView {
        plan_id: 3,
        items,
        keys: Vec::new(),
        settings: Settings::default(),
        warnings: vec!["<script>alert(1)</script> [x](http://example) | `code`".into()],
        estimated_ms: 61_000,
        pace: Pace {
            start_tps: 5.0,
            describe_tps: 5.0,
        },
        throttles: 0,
        next: Some(format!(
            "apply plan.json --expect-plan-hash {}",
            "ab".repeat(32)
        )),
        producer_check: None,
        waves: None,
        hash: Some("ab".repeat(32)),
    }
}

fn review<'a>(view: &'a PlanView<'a>) -> Review<'a> {
    Review {
        view,
        made_at: Some(1_800_000_000_000),
        observed_at: Some(1_800_000_000_000),
        fleet: Some("fleet.csv".into()),
        place: Some("https://firehose.us-east-1.amazonaws.com as account 111111111111".into()),
        source: "firehose-sse show plan.json".into(),
    }
}

/// A plan of `n` streams over `accounts` accounts and two regions, most to enable, some
/// unchanged, some skipped.
fn large(n: usize, accounts: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let account = format!("{:012}", 100_000_000_000 + (i % accounts) as u64);
            let region = if i % 3 == 0 { "eu-west-1" } else { "us-east-1" };
            let action = match i % 10 {
                0..=5 => Action::Enable,
                6 | 7 => Action::Noop,
                8 => Action::Rekey,
                _ => Action::Skip,
            };
            item(
                i,
                &account,
                region,
                &format!("orders-stream-{i:05}"),
                action,
            )
        })
        .collect()
}

#[test]
fn the_summary_keys_and_warnings_come_before_the_streams_each_place_folded_away() {
    let items = vec![
        item(0, "111111111111", "us-east-1", "orders", Action::Enable),
        item(1, "111111111111", "eu-west-1", "clicks", Action::Noop),
        item(2, "222222222222", "us-east-1", "logs", Action::Skip),
    ];
    let v = view(&items);
    let md = markdown(&review(&v));
    let at = |text: &str| {
        md.find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{md}"))
    };
    assert!(md.starts_with("## firehose-sse plan 3: 1 to enable, 0 to rekey, 1 unchanged"));
    assert!(at("hash `abababababab`") < at("| account | region | streams |"));
    assert!(at("| 222222222222 | us-east-1 | 1 | 0 | 0 | 0 | 1 | 0 |") < at("### Warnings"));
    assert!(at("### Warnings") < at("### Estimated apply time"));
    assert!(at("### Estimated apply time") < at("### Streams"));
    assert_eq!(md.matches("<details><summary>").count(), 3, "{md}");
    assert_eq!(md.matches("</details>").count(), 3, "{md}");
    assert!(at("### Streams") < at("### Carry it out"));
    assert!(md.contains(&format!("Plan hash (SHA-256): `{}`", "ab".repeat(32))));
    assert!(md.contains("```sh\nfirehose-sse apply plan.json --expect-plan-hash"));
    // Each table: as many separator cells as header cells.
    for (header, separator) in md.lines().zip(md.lines().skip(1)) {
        if separator.starts_with("|--") || separator.starts_with("|:-") {
            assert_eq!(
                header.matches(" |").count(),
                separator.matches('|').count() - 1,
                "{header}\n{separator}"
            );
        }
    }
}

#[test]
fn untrusted_text_cannot_become_html_links_or_code_in_the_comment() {
    let items = vec![item(
        0,
        "111111111111",
        "us-east-1",
        "orders",
        Action::Enable,
    )];
    let v = view(&items);
    let md = markdown(&review(&v));
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
    assert!(
        md.contains("\\[x\\](http://example) \\| \\`code\\`"),
        "{md}"
    );
}

#[test]
fn a_5000_stream_plan_fits_a_comment_with_every_accounts_counts() {
    let items = large(5_000, 12);
    let v = view(&items);
    let md = markdown(&review(&v));
    assert!(
        md.len() <= MARKDOWN_BUDGET && md.chars().count() < COMMENT_LIMIT,
        "{} bytes",
        md.len()
    );
    // Every account and region's counts, and the totals.
    for p in places(&items) {
        let s = &p.summary;
        let row = format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            p.label,
            p.region,
            p.items.len(),
            s.enable,
            s.rekey,
            s.noop,
            s.skip,
            s.defer
        );
        assert!(md.contains(&row), "no {row}");
    }
    assert!(
        md.contains("| **all** |  | 5000 | 3000 | 500 | 1000 | 500 | 0 |"),
        "{md}"
    );
    // Folded sections say how to list them.
    assert!(
        md.contains(
            "`firehose-sse show plan.json --query \"items[?account=='100000000001' && \
             region=='us-east-1']\"`"
        ),
        "{md}"
    );
    assert!(md.contains("### Carry it out"));
    assert!(md.ends_with(&format!("Plan hash (SHA-256): `{}`\n", "ab".repeat(32))));
}

#[test]
fn the_longest_sections_are_folded_first_and_unchanged_streams_before_the_others() {
    // One large place and a few small ones: the large one is folded, the small ones stay whole.
    let mut items = large(3_000, 1);
    let n = items.len();
    items.extend((0..4).map(|i| {
        item(
            n + i,
            "999999999999",
            "ap-south-1",
            &format!("small-{i}"),
            Action::Enable,
        )
    }));
    let v = view(&items);
    let md = markdown(&review(&v));
    assert!(md.len() <= MARKDOWN_BUDGET, "{}", md.len());
    for i in 0..4 {
        assert!(md.contains(&format!("| small-{i} |")), "small-{i} folded");
    }
    // A small plan is not folded at all.
    let small = large(40, 2);
    let v = view(&small);
    let md = markdown(&review(&v));
    assert!(!md.contains("not listed"), "{md}");
    assert_eq!(md.matches("| orders-stream-").count(), 40);
    // Folding the unchanged streams first: a plan just over the budget keeps its changes.
    let mid = large(600, 1);
    let v = view(&mid);
    let md = markdown(&review(&v));
    assert!(md.len() <= MARKDOWN_BUDGET, "{}", md.len());
    if md.contains("unchanged stream(s) not listed") {
        assert!(md.contains("| + | orders-stream-00000 |"), "{md}");
        assert!(!md.contains("| = |"), "{md}");
    }
}

#[test]
fn so_many_places_that_even_their_summary_is_too_long_are_cut_at_a_line() {
    let items = large(5_000, 5_000);
    let v = view(&items);
    let md = markdown(&review(&v));
    assert!(md.len() <= MARKDOWN_BUDGET, "{}", md.len());
    assert!(
        md.contains("cut here to keep this comment under GitHub's limit"),
        "{md}"
    );
    assert!(md.ends_with(&format!("Plan hash (SHA-256): `{}`\n", "ab".repeat(32))));
}

#[test]
fn the_plan_as_csv_has_a_row_per_stream_defused_for_spreadsheets() {
    let items = vec![item(0, "111111111111", "us-east-1", "=cmd", Action::Enable)];
    let text = csv(&view(&items)).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "account,region,stream,line,action,reason,status,key,target_key_type,target_key_arn,\
         budget_used,next_slot,note"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("111111111111,us-east-1,'=cmd,2,enable,,DISABLED,"),
        "{row}"
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn a_rollback_plan_estimates_its_stops_as_the_terminal_does() {
    let stops = vec![item(
        0,
        "111111111111",
        "us-east-1",
        "orders",
        Action::Disable,
    )];
    let v = view(&stops);
    let md = markdown(&review(&v));
    assert!(md.contains(" Stops/s and "), "{md}");
    assert!(!md.contains("Starts/s"), "{md}");
    let both = vec![
        item(0, "111111111111", "us-east-1", "orders", Action::Disable),
        item(1, "111111111111", "us-east-1", "clicks", Action::Enable),
    ];
    let v = view(&both);
    assert!(markdown(&review(&v)).contains(" Starts or Stops/s and "));
}
