use super::{list_accounts_refused, next_page, summary_text};
use crate::cloud::StreamPage;

fn page(names: &[&str], has_more: bool) -> StreamPage {
    StreamPage {
        names: names.iter().map(|n| n.to_string()).collect(),
        has_more,
    }
}

#[test]
fn a_listing_that_says_more_follow_must_advance() {
    assert_eq!(next_page("r", None, &page(&["a", "b"], false)), Ok(None));
    assert_eq!(
        next_page("r", None, &page(&["a", "b"], true)),
        Ok(Some("b".into()))
    );
    assert_eq!(
        next_page("r", Some("b"), &page(&["c"], true)),
        Ok(Some("c".into()))
    );
    let empty = next_page("r", Some("b"), &page(&[], true)).unwrap_err();
    assert!(empty.contains("empty page"), "{empty}");
    let repeated = next_page("r", Some("b"), &page(&["a", "b"], true)).unwrap_err();
    assert!(repeated.contains("does not advance"), "{repeated}");
    // An empty last page is the normal end.
    assert_eq!(next_page("r", Some("b"), &page(&[], false)), Ok(None));
}

#[test]
fn each_table_has_a_heading_and_no_key_table_is_printed_empty() {
    let summary = serde_json::json!({"regions": [
        {"region": "eu-west-1", "streams": 9, "unencrypted_direct_put": 8,
         "key_in_force_unknown": 0,
         "by_source_type": {"DirectPut": 8, "MSKAsSource": 1},
         "by_encryption_status": {"DISABLED": 9}, "by_key": {}},
        {"region": "us-east-1", "streams": 2, "unencrypted_direct_put": 0,
         "key_in_force_unknown": 0,
         "by_source_type": {"DirectPut": 2},
         "by_encryption_status": {"ENABLED": 2},
         "by_key": {"AWS_OWNED_CMK": 1,
                    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": 1}},
    ], "throttles": 0});
    let text = summary_text(&summary, None);
    assert_eq!(
        text,
        "eu-west-1: 9 streams, 8 DirectPut without encryption
  By source type (streams):
   DirectPut    8
   MSKAsSource  1
  By encryption status (streams):
   DISABLED  9
  No customer-managed keys.

us-east-1: 2 streams, 0 DirectPut without encryption
  By source type (streams):
   DirectPut  2
  By encryption status (streams):
   ENABLED  2
  By key protecting them (streams):
   AWS_OWNED_CMK                                                                1
   arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab  1
"
    );
}

#[test]
fn a_refused_listing_names_both_accounts_that_may_list() {
    let denied = crate::model::CallError::Denied {
        code: "AccessDeniedException".into(),
        message: "You don't have permissions to access this resource.".into(),
    };
    let text = list_accounts_refused(&denied);
    for part in [
        "AccessDeniedException",
        "management account",
        "delegated administrator",
        "organizations:ListAccounts",
        "--account",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(
        !text.contains("inventory --organization"),
        "audit says it too: {text}"
    );
}

#[test]
fn a_region_without_streams_has_no_headings() {
    let summary = serde_json::json!({"regions": [
        {"region": "us-east-1", "streams": 0, "unencrypted_direct_put": 0,
         "key_in_force_unknown": 0, "by_source_type": {}, "by_encryption_status": {},
         "by_key": {}}
    ]});
    assert_eq!(
        summary_text(&summary, None),
        "us-east-1: 0 streams, 0 DirectPut without encryption\n"
    );
}
