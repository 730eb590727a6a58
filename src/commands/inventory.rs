//! `inventory`: list and describe every stream of one or more regions — of the credentials'
//! account, of the accounts named with `--account`, or of every ACTIVE account of the
//! organization (`--organization`), each through its own credentials — record them in the
//! ledger (so per-key counts include streams outside any fleet file), print counts per account
//! and region by source type, encryption status and key, and optionally write a starting fleet
//! file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;
use tokio::sync::mpsc;

use super::{LedgerMode, Session};
use crate::cloud::{Cloud, SELF};
use crate::error::Exit;
use crate::model::{EncStatus, KeyChoice, SourceType, StreamObservation};
use crate::observe::{self, ObserveError, Observed, Query};
use crate::options::{AccountScope, InventoryOptions};
use crate::pace::Operation;
use crate::pace::Pacer;
use crate::report::progress::Progress;

/// Page size for ListDeliveryStreams (the API's maximum is 10,000).
const PAGE: i32 = 1000;

/// One observed stream and the key protecting it.
#[derive(Debug)]
pub(super) struct Row {
    pub obs: StreamObservation,
    pub in_force: Option<KeyChoice>,
    /// First seen failed or mid-transition: it may well be encrypted with a key Describe no
    /// longer shows.
    pub in_force_unknown: bool,
}

impl Row {
    /// Not yet encrypted: nothing in force (as far as anyone knows), and not on its way to
    /// encryption.
    fn unencrypted(&self) -> bool {
        self.in_force.is_none()
            && !self.in_force_unknown
            && !matches!(
                self.obs.encryption.status,
                EncStatus::Enabled | EncStatus::Enabling
            )
    }
}

/// Every stream name of one account's region (`key`: the account's pacing key).
async fn list_region(
    pacer: &Pacer,
    cloud: &Cloud,
    key: &str,
    region: &str,
) -> Result<Vec<String>, ObserveError> {
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, _) = observe::paced_read(pacer, key, region, Operation::List, false, || {
            cloud.list_streams(region, after.as_deref(), PAGE)
        })
        .await;
        let page = page.map_err(|e| {
            ObserveError::from_call(
                "firehose:ListDeliveryStreams",
                format!("ListDeliveryStreams in {region}"),
                e,
            )
        })?;
        let next =
            next_page(region, after.as_deref(), &page).map_err(|why| ObserveError::Failed {
                what: format!("ListDeliveryStreams in {region}"),
                error: crate::cloud::CallError::Unknown(why),
            })?;
        names.extend(page.names);
        match next {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    Ok(names)
}

/// Where the next page of a listing starts (`None`: the listing is complete). A page that
/// says more follow but is empty, or does not move past the previous one (names come in
/// alphabetical order), would end the listing short without anyone knowing: an error.
fn next_page(
    region: &str,
    after: Option<&str>,
    page: &crate::cloud::StreamPage,
) -> Result<Option<String>, String> {
    if !page.has_more {
        return Ok(None);
    }
    match page.names.last() {
        None => Err(format!(
            "ListDeliveryStreams in {region} answered HasMoreDeliveryStreams with an empty \
             page: the listing cannot go on, and counts would be short; try again"
        )),
        Some(last) if after.is_some_and(|a| last.as_str() <= a) => Err(format!(
            "ListDeliveryStreams in {region} answered a page ending at {last:?}, not past \
             {:?}, and said more follow: the listing does not advance, and counts would be \
             short; try again",
            after.unwrap_or_default()
        )),
        Some(last) => Ok(Some(last.clone())),
    }
}

pub async fn inventory(args: &InventoryOptions) -> anyhow::Result<Exit> {
    let global = &args.global;
    // The profile's region only when no --region is given, as the AWS CLI would.
    let default_region = if args.regions.is_empty() {
        crate::aws::default_region(None, global.connect.profile.as_deref()).await
    } else {
        None
    };
    let (regions, key) = args.scope(default_region)?;
    super::warn_of_unlisted_regions(global.quiet, regions.iter().map(String::as_str));

    let session = Session::open(
        global,
        &args.pace,
        args.sandbox.as_ref(),
        None,
        LedgerMode::Create,
    )
    .await?;
    let scanned = scan(&session, &args.accounts, &regions, global.quiet).await?;
    let missed = scanned.missed_accounts();
    let Scanned {
        rows,
        lanes,
        unreachable,
        throttles,
    } = scanned;

    // Rows of several accounts are named by their ARNs, which carry the account.
    let arns = args.accounts != AccountScope::Own;
    if let Some(out) = &args.out {
        write_fleet(out, &rows, &key, arns)?;
    }
    let sources = sources_of(&session, &rows).await;
    let mut summary = summarize(&rows, &lanes, &unreachable, throttles);
    add_source_counts(&mut summary, &sources);
    let to_stdout = args.out.as_deref() == Some(Path::new("-"));
    if to_stdout {
        // The fleet file took standard output: the summary goes to standard error, so what a
        // pipe reads is the CSV alone.
        if !global.quiet {
            let text = global.output.render(
                "Inventory",
                || summary.clone(),
                || summary_text(&summary, args.out.as_deref()),
                80,
            )?;
            eprint!("{text}");
        }
    } else {
        global.output.print(
            "Inventory",
            || summary.clone(),
            || summary_text(&summary, args.out.as_deref()),
        )?;
    }
    if missed > 0 {
        // Said even with -q: it is why the exit code is not 0.
        eprintln!(
            "{missed} account(s) could not be listed (see above): their streams are in neither \
             the counts nor the fleet file. Pass --assume-role ROLE to reach them."
        );
        return Ok(Exit::Skipped);
    }
    Ok(Exit::Ok)
}

/// The encryption of the Kinesis stream each of `rows`' `KinesisStreamAsSource` streams reads
/// from: (stream, source ARN, encryption), in the rows' order.
pub(super) async fn sources_of(
    session: &Session,
    rows: &[Row],
) -> Vec<(
    crate::model::StreamId,
    String,
    crate::model::SourceEncryption,
)> {
    let wanted: Vec<(crate::model::StreamId, String)> = rows
        .iter()
        .filter(|r| r.obs.source == SourceType::KinesisStreamAsSource)
        .filter_map(|r| {
            let arn = r.obs.source_arn.clone()?;
            crate::model::kinesis_stream_name(&arn)?;
            Some((r.obs.id.clone(), arn))
        })
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let (found, _) =
        crate::survey::sources::describe_sources(&session.accounts, wanted.clone()).await;
    wanted
        .into_iter()
        .filter_map(|(id, arn)| {
            let enc = found.get(&id)?.clone();
            Some((id, arn, enc))
        })
        .collect()
}

/// Every stream of a scope, listed and described, each observation recorded in the ledger
/// (and each account and region recorded as inventoried, so its per-key counts are whole).
pub(super) struct Scanned {
    pub rows: Vec<Row>,
    /// (account, region) of every listing made.
    pub lanes: Vec<(String, String)>,
    /// The accounts not listed, with why.
    pub unreachable: Vec<(String, String)>,
    pub throttles: u32,
}

/// Why an account of the organization is not listed when it is not ACTIVE there: nobody's
/// fault, unlike an account no credentials reach.
const NOT_ACTIVE: &str = "not ACTIVE in the organization";

impl Scanned {
    /// Accounts of the scope left unlisted for a cause the operator can fix (no role to
    /// assume there, or assuming it failed): the scan is short of what it was asked for.
    pub fn missed_accounts(&self) -> usize {
        self.unreachable
            .iter()
            .filter(|(_, why)| why != NOT_ACTIVE)
            .count()
    }
}

/// Lists and describes every stream of `regions` in the accounts of `scope`.
pub(super) async fn scan(
    session: &Session,
    scope: &AccountScope,
    regions: &[String],
    quiet: bool,
) -> anyhow::Result<Scanned> {
    let ledger = &session.ledger;
    let (accounts, mut unreachable) = accounts_to_list(session, scope).await?;
    let (queries, listed) = list_streams(session, &accounts, regions, &mut unreachable).await?;
    for (account, why) in &unreachable {
        // An account no credentials reach is said even with -q: it makes the exit code 6.
        if !quiet || why != NOT_ACTIVE {
            eprintln!("account {account} is not listed: {why}");
        }
    }
    let (rows, throttles) = describe_listed(session, queries).await?;
    let mut lanes = Vec::new();
    for ((given, region), n) in &listed {
        // The account the streams are in: as given, else as their ARNs say, else the
        // credentials' own (known or not).
        let account = match given.as_str() {
            "" => rows
                .iter()
                .find(|r| &r.obs.id.region == region)
                .map(|r| r.obs.id.account.clone())
                .or_else(|| session.accounts.base_account_now().map(str::to_owned))
                .unwrap_or_else(|| SELF.to_owned()),
            a => a.to_owned(),
        };
        ledger.record_inventory(&account, region, *n)?;
        lanes.push((account, region.clone()));
    }

    Ok(Scanned {
        rows,
        lanes,
        unreachable,
        throttles,
    })
}

/// Every stream of `accounts` in `regions`, listed: a query for each, and how many each
/// (account as given, or empty for the credentials' own; region) holds. An account no
/// credentials reach is added to `unreachable`.
async fn list_streams(
    session: &Session,
    accounts: &[Option<String>],
    regions: &[String],
    unreachable: &mut Vec<(String, String)>,
) -> anyhow::Result<(Vec<Query>, BTreeMap<(String, String), usize>)> {
    let mut queries = Vec::new();
    // Streams listed per (account as given, or empty for the credentials' own; region).
    let mut listed: BTreeMap<(String, String), usize> = BTreeMap::new();
    for account in accounts {
        let cloud = match account {
            None => session.accounts.base().clone(),
            Some(a) => match session.accounts.reach(a).await {
                Ok(cloud) => cloud,
                Err(why) => {
                    unreachable.push((a.clone(), why));
                    continue;
                }
            },
        };
        let key = session.accounts.pace_key(account.as_deref()).to_owned();
        let shared_account: Option<Arc<str>> = account.as_deref().map(Arc::from);
        for region in regions {
            let names = list_region(&session.pacer, &cloud, &key, region).await?;
            listed.insert(
                (account.clone().unwrap_or_default(), region.clone()),
                names.len(),
            );
            let shared: Arc<str> = region.as_str().into();
            for name in names {
                queries.push(Query {
                    seq: queries.len(),
                    account: shared_account.clone(),
                    region: shared.clone(),
                    name: name.into(),
                });
            }
        }
    }
    Ok((queries, listed))
}

/// The listed streams described (at the Describe quota), each recorded in the ledger; the
/// rows in listing order (a stream deleted since it was listed is gone), and throttles met.
async fn describe_listed(
    session: &Session,
    queries: Vec<Query>,
) -> anyhow::Result<(Vec<Row>, u32)> {
    let ledger = &session.ledger;
    let progress = Progress::new(session.progress, "describing", queries.len() as u64);
    let (tx, mut rx) = mpsc::channel::<Observed>(256);
    let total = queries.len();
    let observer = observe::observe_streams(
        session.accounts.clone(),
        session.pacer.clone(),
        queries,
        session.concurrency,
        tx,
    );
    let mut rows: Vec<Option<Row>> = (0..total).map(|_| None).collect();
    let mut throttles = 0;
    while let Some(observed) = rx.recv().await {
        throttles += observed.throttles;
        // A stream deleted between List and Describe is simply gone.
        if let Some(obs) = observed.result? {
            ledger.record_stream(&obs, None)?;
            let state = ledger.stream_state(&obs.id)?;
            let in_force = state.as_ref().and_then(|s| s.in_force.clone());
            let in_force_unknown = state.is_some_and(|s| s.in_force_unknown);
            rows[observed.seq] = Some(Row {
                obs,
                in_force,
                in_force_unknown,
            });
        }
        progress.inc(1);
    }
    observer.await.context("observation task failed")?;
    progress.finish();
    Ok((rows.into_iter().flatten().collect(), throttles))
}

/// The accounts to list (`None`: the credentials' own) and those that will not be, with why.
async fn accounts_to_list(
    session: &Session,
    scope: &AccountScope,
) -> anyhow::Result<(Vec<Option<String>>, Vec<(String, String)>)> {
    match scope {
        AccountScope::Own => Ok((vec![None], Vec::new())),
        AccountScope::Listed(ids) => Ok((ids.iter().cloned().map(Some).collect(), Vec::new())),
        AccountScope::Organization => {
            let all = session
                .accounts
                .base()
                .list_accounts()
                .await
                .map_err(|e| anyhow::anyhow!(list_accounts_refused(&e)))?;
            let (active, other): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, a)| *a);
            let skipped = other
                .into_iter()
                .map(|(id, _)| (id, NOT_ACTIVE.to_owned()))
                .collect();
            Ok((
                active.into_iter().map(|(id, _)| Some(id)).collect(),
                skipped,
            ))
        }
    }
}

/// Why `--organization` could not list the accounts, and who may: Organizations lets only the
/// management account and a member account that is a delegated administrator call ListAccounts
/// (its API reference).
fn list_accounts_refused(error: &crate::model::CallError) -> String {
    format!(
        "Organizations ListAccounts failed ({error}): --organization needs the credentials of \
         the organization's management account, or of a member account that is a delegated \
         administrator (for any AWS service), allowed organizations:ListAccounts; or name the \
         accounts with --account ID"
    )
}

fn summarize(
    rows: &[Row],
    lanes: &[(String, String)],
    unreachable: &[(String, String)],
    throttles: u32,
) -> serde_json::Value {
    let mut by_region = Vec::new();
    for (account, region) in lanes {
        let here: Vec<&Row> = rows
            .iter()
            .filter(|r| &r.obs.id.region == region && &r.obs.id.account == account)
            .collect();
        let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        let mut unencrypted_direct_put = 0;
        let mut key_unknown = 0;
        for r in &here {
            key_unknown += usize::from(r.in_force_unknown);
            *by_source
                .entry(r.obs.source.as_str().to_owned())
                .or_default() += 1;
            *by_status
                .entry(r.obs.encryption.status.as_str().to_owned())
                .or_default() += 1;
            let protecting = r.in_force.as_ref().or(match r.obs.encryption.status {
                EncStatus::Enabling => r.obs.encryption.key.as_ref(),
                _ => None,
            });
            if let Some(k) = protecting {
                *by_key
                    .entry(
                        k.key_arn()
                            .map_or(KeyChoice::AwsOwned.key_type().as_str().to_owned(), |a| {
                                a.as_str().to_owned()
                            }),
                    )
                    .or_default() += 1;
            }
            if r.obs.source == SourceType::DirectPut && r.unencrypted() {
                unencrypted_direct_put += 1;
            }
        }
        by_region.push(json!({
            "account": account,
            "region": region,
            "streams": here.len(),
            "by_source_type": by_source,
            "by_encryption_status": by_status,
            "by_key": by_key,
            "unencrypted_direct_put": unencrypted_direct_put,
            "key_in_force_unknown": key_unknown,
        }));
    }
    let unreachable: Vec<_> = unreachable
        .iter()
        .map(|(account, why)| json!({"account": account, "why": why}))
        .collect();
    json!({ "regions": by_region, "unreachable": unreachable, "throttles": throttles })
}

/// Adds each region's `kinesis_sources` counts (`KMS`, `NONE`, `unreadable`: how the Kinesis
/// streams its Kinesis-sourced streams read from are encrypted).
fn add_source_counts(
    summary: &mut serde_json::Value,
    sources: &[(
        crate::model::StreamId,
        String,
        crate::model::SourceEncryption,
    )],
) {
    let Some(regions) = summary["regions"].as_array_mut() else {
        return;
    };
    for region in regions {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (id, _, enc) in sources {
            if region["account"] == id.account.as_str() && region["region"] == id.region.as_str() {
                *counts.entry(enc.kind()).or_default() += 1;
            }
        }
        if !counts.is_empty() {
            region["kinesis_sources"] = json!(counts);
        }
    }
}

fn summary_text(summary: &serde_json::Value, out: Option<&Path>) -> String {
    let mut text = String::new();
    let empty = Vec::new();
    for (i, region) in summary["regions"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .enumerate()
    {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!(
            "{}{}: {} streams, {} DirectPut without encryption\n",
            account_label(&region["account"]),
            region["region"].as_str().unwrap_or("?"),
            region["streams"],
            region["unencrypted_direct_put"]
        ));
        // A region without streams has nothing to count: no headings over empty tables.
        if region["streams"].as_u64() == Some(0) {
            continue;
        }
        if region["key_in_force_unknown"].as_u64().unwrap_or(0) > 0 {
            text.push_str(&format!(
                "  {} stream(s) first seen ENABLING_FAILED, DISABLING or DISABLING_FAILED: the key \
                 protecting them is unknown (not listed as unencrypted; counted under the key \
                 Describe shows)\n",
                region["key_in_force_unknown"]
            ));
        }
        let counts = |field: &str| -> Vec<(String, String)> {
            region[field]
                .as_object()
                .map(|map| {
                    map.iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        for (heading, field) in [
            ("By source type", "by_source_type"),
            ("By encryption status", "by_encryption_status"),
        ] {
            text.push_str(&counts_table(heading, &counts(field)));
        }
        let sources = counts("kinesis_sources");
        if !sources.is_empty() {
            text.push_str(&counts_table(
                "Kinesis sources by encryption (KMS, NONE, unreadable; encryption belongs there)",
                &sources,
            ));
        }
        let keys = counts("by_key");
        if !keys.is_empty() {
            text.push_str(&counts_table("By key protecting them", &keys));
        }
        let aws_owned = KeyChoice::AwsOwned.key_type().as_str();
        if keys.iter().all(|(k, _)| k == aws_owned) {
            text.push_str("  No customer-managed keys.\n");
        }
    }
    if let Some(path) = out {
        let place = match path == Path::new("-") {
            true => "standard output".to_owned(),
            false => path.display().to_string(),
        };
        text.push_str(&format!(
            "\nFleet file of the unencrypted DirectPut streams written to {place}\n"
        ));
    }
    text
}

/// `account 111111111111, ` before a region's heading, for a known account.
fn account_label(account: &serde_json::Value) -> String {
    match account.as_str() {
        Some(a) if a != SELF => format!("account {a}, "),
        _ => String::new(),
    }
}

/// `  Heading (streams):` then one indented line per (name, count).
fn counts_table(heading: &str, rows: &[(String, String)]) -> String {
    let mut table = crate::report::table(["", ""]);
    for (name, n) in rows {
        table.add_row(vec![name.clone(), n.clone()]);
    }
    let mut text = format!("  {heading} (streams):\n");
    for line in table.lines().skip(1) {
        text.push_str(&format!("  {}\n", line.trim_end()));
    }
    text
}

/// Writes the fleet file of unencrypted DirectPut streams as [`crate::files`] writes files: a
/// regular file whole or not at all, through a symbolic link, a device or pipe in place, `-` on
/// standard output. `arns`: name each stream by its ARN (rows of several accounts).
fn write_fleet(path: &Path, rows: &[Row], key: &KeyChoice, arns: bool) -> anyhow::Result<()> {
    crate::files::write_with(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["stream", "region", "key_arn", "key_type"])?;
        for r in rows
            .iter()
            .filter(|r| r.obs.source == SourceType::DirectPut && r.unencrypted())
        {
            let id = &r.obs.id;
            w.write_record([
                if arns {
                    r.obs.arn.as_str()
                } else {
                    id.name.as_str()
                },
                id.region.as_str(),
                key.key_arn().map_or("", |a| a.as_str()),
                key.key_type().as_str(),
            ])?;
        }
        w.flush()
    })
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot write the fleet file {}: {}",
            e.path.display(),
            e.source
        )
    })
}

#[cfg(test)]
mod tests;
