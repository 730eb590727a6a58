//! One function per subcommand: wires flags, ledger, cloud client, engine and reporter together.

use std::collections::BTreeMap;

use crate::cli::{GlobalArgs, OutputFormat, PlanArgs};
use crate::error::Exit;
use crate::input::{self, Target};

/// Reads and validates the fleet file named on the command line. Nothing is sent and no ledger
/// is touched before this succeeds.
pub async fn read_fleet(
    global: &GlobalArgs,
    path: &std::path::Path,
) -> anyhow::Result<Vec<Target>> {
    let default_region =
        crate::aws::default_region(global.region.as_deref(), global.profile.as_deref()).await;
    Ok(input::read_fleet(path, default_region.as_deref())?)
}

pub async fn plan(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<Exit> {
    let targets = read_fleet(global, &args.fleet).await?;
    let mut groups: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for t in &targets {
        *groups
            .entry((t.region.as_str(), t.key.to_string()))
            .or_default() += 1;
    }
    match global.output {
        OutputFormat::Json => {
            let groups: Vec<_> = groups
                .iter()
                .map(|((region, key), n)| serde_json::json!({"region": region, "key": key, "streams": n}))
                .collect();
            let out = serde_json::json!({
                "fleet": args.fleet.display().to_string(),
                "streams": targets.len(),
                "groups": groups,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Table => {
            println!("{}: {} streams", args.fleet.display(), targets.len());
            let mut table = crate::report::table(["region", "key", "streams"]);
            for ((region, key), n) in &groups {
                table.add_row(vec![region.to_string(), key.clone(), n.to_string()]);
            }
            println!("{}", table.trim_fmt());
        }
    }
    Ok(Exit::Ok)
}
