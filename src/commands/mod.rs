//! One function per subcommand: wires typed options, ledger, cloud client, engine and reporter
//! together.

mod apply;
mod audit;
mod described;
mod encryption;
mod inventory;
mod merged;
mod plan;
mod resume;
mod review;
mod rollback;
mod running;
mod runs;
mod sandbox;
mod session;
mod show;
mod undo;
mod waves;

use crate::aws::ConnectOptions;
use crate::cloud::Cloud;
use crate::input::{self, Target};
use crate::shard::Shard;

pub use apply::apply;
pub use audit::audit;
pub use described::{completions, man};
pub use encryption::encryption;
pub use inventory::inventory;
pub use plan::plan;
pub use resume::resume;
pub use rollback::rollback;
pub use runs::{history, report, status};
pub use sandbox::sandbox;
pub use session::{LedgerMode, Place, Session};
pub use show::show;

/// Reads and validates the fleet file named on the command line; `region` is the one
/// `--region` given. Nothing is sent and no ledger is touched before this succeeds. A region
/// AWS does not list (a misspelling, whose streams would all be `not_found`) is warned of.
pub async fn read_fleet(
    global: &crate::options::Global,
    region: Option<&str>,
    path: &std::path::Path,
) -> anyhow::Result<Vec<Target>> {
    let connect: &ConnectOptions = &global.connect;
    let default_region = crate::aws::default_region(region, connect.profile.as_deref()).await;
    let targets = input::read_fleet(path, default_region.as_deref())?;
    let regions: std::collections::BTreeSet<&str> = targets.iter().map(|t| &*t.region).collect();
    warn_of_unlisted_regions(global.quiet, regions);
    Ok(targets)
}

/// Warns of each region AWS does not list (unless quiet).
pub fn warn_of_unlisted_regions<'a>(quiet: bool, regions: impl IntoIterator<Item = &'a str>) {
    if quiet {
        return;
    }
    for warning in regions.into_iter().filter_map(crate::aws::unlisted_region) {
        eprintln!("{warning}");
    }
}

/// Keeps the rows of `shard`'s accounts (a row naming no account is the credentials' own, which
/// STS tells) and says how many it kept.
pub async fn keep_shard(
    session: &Session,
    targets: Vec<Target>,
    shard: Option<Shard>,
    quiet: bool,
) -> anyhow::Result<Vec<Target>> {
    let Some(shard) = shard else {
        return Ok(targets);
    };
    let own = match targets.iter().any(|t| t.account.is_none()) {
        true => Some(session.accounts.base_account().await.map_err(|e| {
            crate::observe::ObserveError::from_call(
                "sts:GetCallerIdentity",
                "GetCallerIdentity (for --shard)".into(),
                e,
            )
        })?),
        false => None,
    };
    let total = targets.len();
    let kept: Vec<Target> = targets
        .into_iter()
        .filter(|t| {
            let account = t.account.as_deref().or(own.as_deref()).unwrap_or_default();
            shard.holds(account)
        })
        .collect();
    if !quiet {
        eprintln!(
            "Shard {shard}: {} of the fleet's {total} streams.",
            kept.len()
        );
    }
    Ok(kept)
}

/// Writes the fixes for the refused producers among `found` into `dir` (created when absent),
/// one JSON file per principal, key and side; says how many.
pub fn write_fixes<'a>(
    dir: &std::path::Path,
    found: impl IntoIterator<Item = &'a crate::producers::StreamProducers>,
) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    let fixes = crate::producers::fix::fixes(found);
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the --out-policies directory {}",
            dir.display()
        )
    })?;
    let mut written = 0;
    for fix in &fixes {
        for (name, text) in fix.files() {
            crate::files::write(&dir.join(name), text.as_bytes())?;
            written += 1;
        }
    }
    Ok(written)
}

/// The fleet file as recorded in plans: its canonical path, so the same file is recognised
/// whatever the working directory.
pub fn fleet_name(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Warns when the run targets customer-managed keys with session credentials that cannot be
/// refreshed: KMS grants fail for credentials older than 6 h
/// (docs/design.md#credential-age-and-kms-grants), in every path that may Start — not only in
/// `plan`.
pub async fn warn_if_credentials_cannot_refresh(cloud: &Cloud, customer_keys: bool) {
    if customer_keys && cloud.static_session_credentials().await {
        eprintln!(
            "warning: these are session credentials that cannot be refreshed (a session token \
             without an expiry, e.g. AWS_SESSION_TOKEN): KMS grants fail for credentials older \
             than 6 h, so Starts towards customer-managed keys made 6 h after they were issued \
             will fail CREATE_KMS_GRANT_FAILED. Prefer a profile with a role or SSO, which \
             refresh."
        );
    }
}
