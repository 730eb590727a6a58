//! `audit`: the question AWS's enforcement asks of every stream already on a customer-managed
//! key — do its producers hold `kms:GenerateDataKey` and `kms:Decrypt` on it? Lists and
//! describes the streams of the regions and accounts given (as `inventory` does), checks the
//! producers of those on a customer key (as `plan` does for streams moving to one), prints the
//! report and the fixes, and exits 2 when a producer would be refused, so it can run in cron or
//! CI. It changes nothing in AWS.

use super::inventory::{Row, Scanned, scan};
use super::{LedgerMode, Session};
use crate::error::Exit;
use crate::model::{EncStatus, KeyChoice};
use crate::options::AuditOptions;
use crate::producers::Subject;
use crate::report::apply::ReportFormat;
use crate::report::audit::{Audit, Elsewhere};
use crate::report::producers::StreamRow;
use crate::report::{Output, OutputFormat};
use crate::survey::producers;

/// The customer key protecting a stream, if one does: the key in force, or the key it is
/// moving to.
fn customer_key(row: &Row) -> Option<&crate::model::KmsKeyArn> {
    let shown = match row.obs.encryption.status {
        EncStatus::Enabled | EncStatus::Enabling => row.obs.encryption.key.as_ref(),
        _ => None,
    };
    row.in_force.as_ref().or(shown).and_then(KeyChoice::key_arn)
}

pub async fn audit(args: &AuditOptions) -> anyhow::Result<Exit> {
    let global = &args.global;
    let default_region = if args.regions.is_empty() {
        crate::aws::default_region(None, global.connect.profile.as_deref()).await
    } else {
        None
    };
    let regions = args.regions(default_region)?;
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
        unreachable,
        lanes,
        ..
    } = scanned;
    let elsewhere = elsewhere(&session, &rows, &lanes, &args.iac).await;
    let (stream_rows, check) = producer_rows(&session, &rows).await?;
    let report = Audit {
        regions,
        listed: rows.len(),
        rows: stream_rows,
        check,
        unreachable,
        made_at: session.ledger.now(),
        elsewhere,
    };
    let as_format = |format| Output {
        format,
        ..global.output.clone()
    };
    match args.format {
        Some(ReportFormat::Csv) => crate::out!("{}", report.csv()?),
        Some(ReportFormat::Md) => crate::out!("{}", report.markdown()),
        Some(ReportFormat::Html) => crate::out!("{}", report.page()),
        Some(ReportFormat::Json) => {
            as_format(OutputFormat::Json).print("Audit", || report.json(), String::new)?
        }
        Some(ReportFormat::Text) => {
            as_format(OutputFormat::Text).print("Audit", || report.json(), String::new)?
        }
        Some(ReportFormat::Table) | None => {
            global
                .output
                .print("Audit", || report.json(), || report.text())?
        }
    }
    if let Some(dir) = &args.out_policies {
        let n = super::write_fixes(dir, report.rows.iter().map(|r| &r.found))?;
        if !global.quiet {
            eprintln!(
                "Wrote {n} policy file(s) to {} (nothing was applied).",
                dir.display()
            );
        }
    }
    Ok(match report.any_denied() {
        true => Exit::ProducersDenied,
        false if missed > 0 => Exit::Skipped,
        false => Exit::Ok,
    })
}

/// The streams of `rows` on a customer-managed key, each with its producers and their
/// verdicts on the key; and the producer check's summary.
async fn producer_rows(
    session: &Session,
    rows: &[Row],
) -> anyhow::Result<(Vec<StreamRow>, Option<crate::producers::CheckSummary>)> {
    let on_keys: Vec<(&Row, Subject)> = rows
        .iter()
        .filter_map(|r| {
            let key = customer_key(r)?.clone();
            Some((
                r,
                Subject {
                    stream: r.obs.id.clone(),
                    arn: r.obs.arn.clone(),
                    key,
                },
            ))
        })
        .collect();
    let findings = match on_keys.is_empty() {
        true => None,
        false => Some(
            producers::check(
                &session.ledger,
                &session.accounts,
                on_keys.iter().map(|(_, s)| s.clone()).collect(),
                session.clients().producers,
                None,
            )
            .await?,
        ),
    };
    let stream_rows: Vec<StreamRow> = on_keys
        .iter()
        .enumerate()
        .filter_map(|(seq, (row, _))| {
            let found = findings.as_ref()?.streams.get(&row.obs.id)?.clone();
            Some(StreamRow {
                seq,
                account: row.obs.id.account.clone(),
                region: row.obs.id.region.clone(),
                stream: row.obs.id.name.clone(),
                found,
            })
        })
        .collect();
    Ok((stream_rows, findings.map(|f| f.summary)))
}

/// Where the other streams' encryption is decided: the Kinesis sources of the Kinesis-sourced
/// streams, and the streams CloudFormation stacks (GetResources in each account and Region
/// listed) or the `--terraform-state`s own.
async fn elsewhere(
    session: &Session,
    rows: &[Row],
    lanes: &[(String, String)],
    iac: &crate::iac::IacInput,
) -> Elsewhere {
    let sources = super::inventory::sources_of(session, rows).await;
    let base = session.accounts.base_account_now().map(str::to_owned);
    let lanes = lanes
        .iter()
        .map(|(account, region)| {
            let own = account == crate::cloud::SELF || Some(account) == base.as_ref();
            ((!own).then(|| account.clone()), region.clone())
        })
        .collect();
    let mut owners = crate::iac::Owners::from_terraform(&iac.terraform);
    let notes = crate::survey::sources::find_stacks(&session.accounts, lanes, &mut owners).await;
    let owned = rows
        .iter()
        .filter_map(|r| {
            let owner = owners.owner(&r.obs.arn, &r.obs.id.name)?.clone();
            Some((r.obs.id.clone(), owner))
        })
        .collect();
    Elsewhere {
        sources,
        owned,
        notes,
    }
}
