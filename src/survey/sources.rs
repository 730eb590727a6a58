//! The reads that say where a stream's encryption belongs, beside Describe: the Kinesis stream
//! a `KinesisStreamAsSource` stream reads from (`DescribeStreamSummary`, paced under its own
//! quota of 20 calls per second per account, each with the clients of the source's account)
//! and the streams CloudFormation stacks own (`GetResources`, per account and Region, 100 a
//! page). Neither failure stops a plan: a source that cannot be read says why on its line, an
//! owner lookup that fails is a warning naming the action it needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::cloud::Accounts;
use crate::iac::Owners;
use crate::model::{SourceEncryption, StreamId};
use crate::observe::{ObserveError, paced_read};
use crate::pace::{Operation, Pacer, Rates};

/// DescribeStreamSummary's quota: 20 transactions per second per account (its API reference).
const DESCRIBE_SOURCE_TPS: f64 = 20.0;

/// GetResources' pace per account and Region: the Tagging API publishes no rate for it, so
/// the Firehose control plane's (5 per second) is kept to.
const GET_RESOURCES_TPS: f64 = 5.0;

/// The pacing lane of DescribeStreamSummary: its quota is per account, whatever the Region.
const ACCOUNT_WIDE: &str = "*";

/// The account of an ARN (`arn:partition:service:region:account:...`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The Region of an ARN.
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// DescribeStreamSummary of every Kinesis source in `sources` (stream → source ARN), each
/// once; the encryption of each stream's source (or why it cannot be read). Returns the
/// throttles met too.
pub async fn describe_sources(
    accounts: &Accounts,
    sources: impl IntoIterator<Item = (StreamId, String)>,
) -> (HashMap<StreamId, SourceEncryption>, u32) {
    let pacer = Pacer::new(Rates {
        read_tps: DESCRIBE_SOURCE_TPS,
        write_tps: DESCRIBE_SOURCE_TPS,
        shared: false,
    });
    let mut by_arn: BTreeMap<String, Vec<StreamId>> = BTreeMap::new();
    for (stream, arn) in sources {
        by_arn.entry(arn).or_default().push(stream);
    }
    let mut out = HashMap::new();
    let mut throttles = 0;
    for (arn, streams) in by_arn {
        let (Some(account), Some(region)) = (arn_account(&arn), arn_region(&arn)) else {
            continue;
        };
        // Without --assume-role the base credentials are the only ones: a source of another
        // account is refused by AWS, which says why (and no STS call is spent to know it).
        let whose = accounts.roles().map(|_| account);
        let found = match accounts.cloud(whose).await {
            Err(why) => SourceEncryption::Unreadable {
                why: format!("account {account} is not reached: {why}"),
            },
            Ok(cloud) => {
                let key = accounts.pace_key(whose);
                let (result, t) = paced_read(
                    &pacer,
                    key,
                    ACCOUNT_WIDE,
                    Operation::DescribeSource,
                    false,
                    || cloud.describe_source(region, &arn),
                )
                .await;
                throttles += t;
                result.unwrap_or_else(|e| SourceEncryption::Unreadable {
                    why: ObserveError::from_call(
                        "kinesis:DescribeStreamSummary",
                        format!("DescribeStreamSummary of {arn}"),
                        e,
                    )
                    .to_string(),
                })
            }
        };
        for stream in streams {
            out.insert(stream, found.clone());
        }
    }
    (out, throttles)
}

/// What the owner lookups found: the stacks' streams added to `owners`, and a warning for
/// each account and Region whose streams could not be listed.
pub async fn find_stacks(
    accounts: &Accounts,
    lanes: BTreeSet<(Option<String>, String)>,
    owners: &mut Owners,
) -> Vec<String> {
    let pacer = Pacer::new(Rates {
        read_tps: GET_RESOURCES_TPS,
        write_tps: GET_RESOURCES_TPS,
        shared: false,
    });
    let mut warnings = Vec::new();
    for (account, region) in lanes {
        let label = account.as_deref().unwrap_or("the credentials'").to_owned();
        let cloud = match accounts.cloud(account.as_deref()).await {
            Ok(cloud) => cloud,
            Err(_) => continue,
        };
        let key = accounts.pace_key(account.as_deref());
        let mut token: Option<String> = None;
        let mut seen = BTreeSet::new();
        loop {
            let (page, _) =
                paced_read(&pacer, key, &region, Operation::GetResources, false, || {
                    cloud.stack_streams_page(&region, token.as_deref())
                })
                .await;
            match page {
                Ok(page) => {
                    for (arn, tags) in &page.resources {
                        owners.add_tagged(arn, tags);
                    }
                    match page.next {
                        // A token given twice would page for ever.
                        Some(next) if seen.insert(next.clone()) => token = Some(next),
                        _ => break,
                    }
                }
                Err(e) => {
                    let e = ObserveError::from_call(
                        "tag:GetResources",
                        format!("GetResources in {region}"),
                        e,
                    );
                    warnings.push(format!(
                        "account {label}, {region}: which streams CloudFormation stacks own is \
                         unknown ({e}); a stack's next deploy may undo changes there"
                    ));
                    break;
                }
            }
        }
    }
    warnings
}
