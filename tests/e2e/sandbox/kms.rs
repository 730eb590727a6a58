//! The KMS side: keys created, described by id or ARN, listed by page, disabled and enabled.

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};

use super::{REGION, code};
use crate::common::{ACCOUNT, Sandbox, key_arn};

#[tokio::test]
async fn kms_keys_can_be_created_described_listed_disabled_and_enabled() {
    let sb = Sandbox::start(&[]);
    let kms = sb.kms(REGION);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let meta = kms.create_key().send().await.unwrap().key_metadata.unwrap();
        assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));
        assert_eq!(meta.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
        assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
        assert!(meta.enabled());
        assert_eq!(meta.aws_account_id(), Some(ACCOUNT));
        assert_eq!(meta.arn(), Some(key_arn(REGION, meta.key_id()).as_str()));
        ids.push(meta.key_id().to_owned());
    }
    ids.sort();
    let by_id = kms.describe_key().key_id(&ids[0]).send().await.unwrap();
    let by_arn = kms
        .describe_key()
        .key_id(key_arn(REGION, &ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.key_metadata(), by_arn.key_metadata());

    kms.disable_key().key_id(&ids[1]).send().await.unwrap();
    let meta = kms.describe_key().key_id(&ids[1]).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(
        (meta.key_state(), meta.enabled()),
        (Some(&KeyState::Disabled), false)
    );
    kms.enable_key().key_id(&ids[1]).send().await.unwrap();
    let meta = kms.describe_key().key_id(&ids[1]).send().await.unwrap();
    assert_eq!(
        meta.key_metadata().unwrap().key_state(),
        Some(&KeyState::Enabled)
    );

    let mut listed = Vec::new();
    let mut marker = None;
    loop {
        let page = kms
            .list_keys()
            .limit(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        listed.extend(page.keys().iter().map(|k| k.key_id().unwrap().to_owned()));
        if !page.truncated() {
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    assert_eq!(listed, ids);

    let missing = kms.describe_key().key_id("no-such-key").send().await;
    assert_eq!(code(missing), "NotFoundException");
    let elsewhere = sb
        .kms("eu-west-1")
        .describe_key()
        .key_id(key_arn(REGION, &ids[0]))
        .send()
        .await;
    assert_eq!(code(elsewhere), "NotFoundException");
    let alias = kms.describe_key().key_id("alias/prod").send().await;
    assert_eq!(code(alias), "NotFoundException");
    // KMS is not throttled by --tps (5 here): the calls above were far more than 5 in a second.
    assert!(sb.stats().throttled.is_empty());
}
