//! One function per subcommand: wires flags, ledger, cloud client, engine and reporter together.

use crate::cli::{GlobalArgs, PlanArgs};
use crate::error::Exit;

pub fn plan(_global: &GlobalArgs, _args: &PlanArgs) -> anyhow::Result<Exit> {
    Ok(Exit::Ok)
}
