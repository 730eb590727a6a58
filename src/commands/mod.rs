//! One function per subcommand: wires typed options, ledger, cloud client, engine and reporter
//! together.

mod apply;
mod inventory;
mod plan;
mod runs;
mod sandbox;

use std::sync::Arc;

use anyhow::Context as _;
use firehose_sse_sandbox::{Sandbox, SandboxConfig, Seed, SeedKey, SeedStream};

use crate::aws::ConnectOptions;
use crate::clock::SystemClock;
use crate::cloud::Cloud;
use crate::input::{self, Target};
use crate::ledger::Ledger;
use crate::options::{Global, PaceOptions, SandboxOptions};
use crate::pace::Pacer;
use crate::report::progress::Mode;
use crate::survey::Clients;

pub use apply::{apply, resume};
pub use inventory::inventory;
pub use plan::plan;
pub use runs::{history, report, status};
pub use sandbox::sandbox;

/// Reads and validates the fleet file named on the command line; `region` is the one
/// `--region` given. Nothing is sent and no ledger is touched before this succeeds.
pub async fn read_fleet(
    connect: &ConnectOptions,
    region: Option<&str>,
    path: &std::path::Path,
) -> anyhow::Result<Vec<Target>> {
    let default_region = crate::aws::default_region(region, connect.profile.as_deref()).await;
    Ok(input::read_fleet(path, default_region.as_deref())?)
}

/// The fleet file as recorded in plans: its canonical path, so the same file is recognised
/// whatever the working directory.
pub fn fleet_name(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// What a command that talks to AWS needs: the clients, the pacing, the ledger, how to draw.
#[derive(Debug)]
pub struct Session {
    /// The in-process sandbox, when asked for; stopped when the session ends.
    pub sandbox: Option<Sandbox>,
    pub cloud: Arc<Cloud>,
    pub pacer: Arc<Pacer>,
    pub ledger: Ledger,
    pub progress: Mode,
    pub color: bool,
    pub concurrency: usize,
}

impl Session {
    /// The clients a survey observes with.
    pub fn clients(&self) -> Clients {
        Clients {
            cloud: self.cloud.clone(),
            pacer: self.pacer.clone(),
            concurrency: self.concurrency,
        }
    }

    /// Connects to AWS (or starts the in-process sandbox) and opens the ledger. `fleet` seeds
    /// the in-process sandbox when no world file is given.
    pub async fn open(
        global: &Global,
        pace: &PaceOptions,
        sandbox: Option<&SandboxOptions>,
        fleet: Option<(&std::path::Path, &[Target])>,
    ) -> anyhow::Result<Session> {
        let mut options = global.connect.clone();
        let sandbox = match sandbox {
            None => None,
            Some(sandbox) => {
                let sb = start_sandbox(sandbox, fleet).await?;
                options.endpoint_url = Some(sb.endpoint());
                options.static_credentials = Some(aws_credential_types::Credentials::new(
                    "AKIDSANDBOX",
                    "sandbox-secret",
                    None,
                    None,
                    "in-process sandbox",
                ));
                Some(sb)
            }
        };
        let sdk = crate::aws::sdk_config(&options).await?;
        let ledger = Ledger::open(&global.ledger, Arc::new(SystemClock))?;
        Ok(Session {
            sandbox,
            cloud: Arc::new(Cloud::new(sdk)),
            pacer: Arc::new(Pacer::new(pace.rates())),
            ledger,
            progress: global.progress,
            color: global.color,
            concurrency: pace.concurrency,
        })
    }
}

/// Starts the in-process sandbox: seeded from `--sandbox-fleet`, else `<fleet>.sandbox.json`
/// beside the fleet file, else the fleet file itself.
async fn start_sandbox(
    flags: &SandboxOptions,
    fleet: Option<(&std::path::Path, &[Target])>,
) -> anyhow::Result<Sandbox> {
    let beside = fleet
        .map(|(path, _)| path.with_extension("sandbox.json"))
        .filter(|p| p.exists());
    let world = flags.world.clone().or(beside);
    let seed = match (&world, fleet) {
        (Some(path), _) => Seed::from_file(path)
            .map_err(|e| crate::error::UsageError::new(format!("{}: {e}", path.display())))?,
        (None, Some((_, targets))) => seed_from_targets(targets),
        (None, None) => Seed::default(),
    };
    let config = SandboxConfig {
        latency: flags.latency,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().expect("literal address"),
        config,
        seed,
    )
    .await
    .context("cannot start the in-process sandbox")?;
    tracing::warn!(
        endpoint = %sandbox.endpoint(),
        world = world.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "the fleet file".into()),
        "running against an in-process sandbox, not AWS"
    );
    Ok(sandbox)
}

/// Every target's stream as an unencrypted DirectPut stream, every key as an enabled
/// symmetric key.
fn seed_from_targets(targets: &[Target]) -> Seed {
    let mut seed = Seed::default();
    let mut keys = std::collections::BTreeSet::new();
    for t in targets {
        seed.streams
            .push(SeedStream::direct_put(t.name.clone(), t.region.clone()));
        if let Some(arn) = t.key.key_arn()
            && keys.insert(arn.as_str().to_owned())
        {
            seed.keys
                .push(SeedKey::symmetric(arn.key_id(), arn.region()));
        }
    }
    seed
}
