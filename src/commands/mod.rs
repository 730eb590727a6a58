//! One function per subcommand: wires flags, ledger, cloud client, engine and reporter together.

mod apply;
mod inventory;
mod plan;
mod runs;

use std::sync::Arc;

use crate::cli::{GlobalArgs, PaceArgs};
use crate::clock::SystemClock;
use crate::cloud::Cloud;
use crate::input::{self, Target};
use crate::ledger::Ledger;
use crate::pace::{Pacer, Rates};
use crate::report::progress::Mode;

pub use apply::{apply, resume};
pub use inventory::inventory;
pub use plan::{plan, survey_fleet};
pub use runs::{history, report, status};

/// Reads and validates the fleet file named on the command line. Nothing is sent and no ledger
/// is touched before this succeeds.
pub async fn read_fleet(
    global: &GlobalArgs,
    path: &std::path::Path,
) -> anyhow::Result<Vec<Target>> {
    let default_region =
        crate::aws::default_region(global.single_region()?, global.profile.as_deref()).await;
    Ok(input::read_fleet(path, default_region.as_deref())?)
}

/// What a command that talks to AWS needs: the clients, the pacing, the ledger, how to draw.
#[derive(Debug)]
pub struct Session {
    pub cloud: Arc<Cloud>,
    pub pacer: Arc<Pacer>,
    pub ledger: Ledger,
    pub progress: Mode,
    pub color: bool,
    pub concurrency: usize,
}

impl Session {
    pub async fn open(global: &GlobalArgs, pace: &PaceArgs) -> anyhow::Result<Session> {
        let options = crate::aws::ConnectOptions::from_global(global);
        let sdk = crate::aws::sdk_config(&options).await?;
        let ledger = Ledger::open(&global.ledger, Arc::new(SystemClock))?;
        Ok(Session {
            cloud: Arc::new(Cloud::new(sdk)),
            pacer: Arc::new(Pacer::new(Rates {
                read_tps: pace.describe_tps,
                write_tps: pace.start_tps,
                shared: pace.shared_quota,
            })),
            ledger,
            progress: Mode::for_args(global),
            color: crate::report::color_enabled(
                global.color,
                std::io::IsTerminal::is_terminal(&std::io::stdout()),
            ),
            concurrency: pace.concurrency as usize,
        })
    }
}
