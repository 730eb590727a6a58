//! What a command that talks to AWS needs, opened once: the clients (or the in-process
//! sandbox standing in for AWS), the pacing, the ledger, how to draw — and where the calls go
//! ([`Place`]), recorded with every run so that a run or a saved plan is never taken up against
//! another endpoint or account by accident.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use firehose_sse_sandbox::{Sandbox, SandboxConfig, Seed, SeedKey, SeedStream};
use serde::{Deserialize, Serialize};

use crate::clock::SystemClock;
use crate::cloud::Accounts;
use crate::error::UsageError;
use crate::input::Target;
use crate::ledger::{Ledger, RunRow};
use crate::options::{Global, PaceOptions, SandboxOptions};
use crate::pace::Pacer;
use crate::report::progress::Mode;
use crate::survey::Clients;

/// How a command takes the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerMode {
    /// Created when absent (`plan`, `apply FLEET`, `inventory`).
    Create,
    /// Must exist (`resume`, `apply --plan`): an empty new ledger could only say "nothing".
    Existing,
}

/// Where a run's calls go: the endpoint (a URL, the AWS endpoints, or an in-process sandbox)
/// and the account the credentials act in, when STS said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub endpoint: String,
    pub account: Option<String>,
    /// How other accounts were reached (`--assume-role`), taken up again by `resume`,
    /// `apply --plan` and `rollback` when not given anew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<crate::cloud::Roles>,
}

/// What `Place::endpoint` says for the in-process sandbox, which ends with its process.
pub const IN_PROCESS_SANDBOX: &str = "in-process sandbox";

impl Place {
    /// Read back from a run's recorded arguments; `None` for runs recorded before places were.
    pub fn of_run(run: &RunRow) -> Option<Place> {
        serde_json::from_value(run.arguments().place()?.clone()).ok()
    }

    /// As a run's arguments record it.
    pub fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a place is plain JSON")
    }

    /// Takes up the roles `then` reached other accounts with, unless roles were given now.
    pub async fn adopt_roles(then: &Place, session: &Session) -> anyhow::Result<()> {
        session
            .accounts
            .adopt_roles(then.roles.clone())
            .await
            .map_err(|e| {
                crate::observe::ObserveError::from_call(
                    "sts:GetCallerIdentity",
                    "GetCallerIdentity (for --assume-role)".into(),
                    e,
                )
                .into()
            })
    }

    /// The settings to take up `what` (a run or a plan) recorded at `then` with: `global`'s,
    /// with the endpoint `then` went to when no endpoint is given now (no `--endpoint-url`,
    /// no `AWS_ENDPOINT_URL`, no `--sandbox`) — so `resume 7` after a run against a served
    /// sandbox goes back there, as printed. Said on stderr unless quiet.
    pub fn endpoint_of_record<'g>(
        global: &'g Global,
        then: Option<&Place>,
        sandbox: bool,
        what: &str,
    ) -> std::borrow::Cow<'g, Global> {
        let recorded = then
            .map(|t| t.endpoint.as_str())
            .filter(|e| e.starts_with("http://") || e.starts_with("https://"));
        match recorded {
            Some(url) if !sandbox && endpoint_of(&global.connect) == AWS_ENDPOINTS => {
                if !global.quiet {
                    eprintln!("{what} went to {url}, as the ledger records: going there too.");
                }
                let mut adopted = global.clone();
                adopted.connect.endpoint_url = Some(url.to_owned());
                std::borrow::Cow::Owned(adopted)
            }
            _ => std::borrow::Cow::Borrowed(global),
        }
    }

    /// Refuses to take up `what` (a run or a plan) recorded at `then` from here, unless allowed.
    pub fn check(&self, then: &Place, what: &str, allow_change: bool) -> Result<(), UsageError> {
        let endpoint_moved = then.endpoint != self.endpoint;
        let account_moved = matches!((&then.account, &self.account), (Some(a), Some(b)) if a != b);
        if allow_change || (!endpoint_moved && !account_moved) {
            return Ok(());
        }
        let describe = |p: &Place| match &p.account {
            Some(account) => format!("{} as account {account}", p.endpoint),
            None => p.endpoint.clone(),
        };
        Err(UsageError::new(format!(
            "{what} went to {}, but these settings point at {}: refusing to send its calls \
             elsewhere. Use the same --endpoint-url/--profile (or --sandbox) as then, or pass \
             --allow-endpoint-change if this is really meant",
            describe(then),
            describe(self)
        )))
    }
}

/// What a command that talks to AWS needs: the clients, the pacing, the ledger, how to draw.
#[derive(Debug)]
pub struct Session {
    /// The in-process sandbox, when asked for; stopped when the session ends.
    pub sandbox: Option<Sandbox>,
    /// Where the calls go: the endpoint's description.
    pub endpoint: String,
    /// The clients of every account the session reaches.
    pub accounts: Arc<Accounts>,
    pub pacer: Arc<Pacer>,
    pub ledger: Ledger,
    pub progress: Mode,
    pub color: bool,
    pub concurrency: usize,
    /// The producer check's IAM calls per second per account.
    pub iam_tps: f64,
    /// The code that owns streams, as the command line gave it (`--terraform-state`).
    pub iac: crate::iac::IacInput,
}

impl Session {
    /// The clients a survey observes with.
    pub fn clients(&self) -> Clients {
        Clients {
            accounts: self.accounts.clone(),
            pacer: self.pacer.clone(),
            concurrency: self.concurrency,
            // A pass over an account's principals younger than a plan may be (`--max-plan-age`'s
            // default) is read again rather than asked of IAM; `plan` sets its own.
            producers: crate::survey::producers::CheckOptions {
                iam_tps: self.iam_tps,
                reuse_since: Some(self.ledger.now() - crate::clock::HOUR),
            },
            iac: self.iac.clone(),
        }
    }

    /// Where this session's calls go, with the credentials' account when STS answers (the
    /// account is best effort: an endpoint without STS leaves it unknown).
    pub async fn place(&self) -> Place {
        let account = match self.accounts.base_account().await {
            Ok(account) => Some(account),
            Err(e) => {
                tracing::info!("the credentials' account is unknown: {e}");
                None
            }
        };
        Place {
            endpoint: self.endpoint.clone(),
            account,
            roles: self.accounts.roles().cloned(),
        }
    }

    /// Connects to AWS (or starts the in-process sandbox), then opens the ledger. `fleet`
    /// seeds the in-process sandbox when no world file is given.
    pub async fn open(
        global: &Global,
        pace: &PaceOptions,
        sandbox: Option<&SandboxOptions>,
        fleet: Option<(&Path, &[Target])>,
        mode: LedgerMode,
    ) -> anyhow::Result<Session> {
        // Flags are checked (endpoint, CA bundle) before the ledger is touched.
        let connection = Connection::open(global, sandbox, fleet).await?;
        let ledger = Session::open_ledger(global, mode)?;
        Ok(connection.with(ledger, global, pace))
    }

    /// As [`Session::open`], on the ledger a command opened first to read what it was asked
    /// to take up (a saved plan, a run to roll back) before anything else: the command opens
    /// its ledger once.
    pub async fn open_on(
        ledger: Ledger,
        global: &Global,
        pace: &PaceOptions,
        sandbox: Option<&SandboxOptions>,
        fleet: Option<(&Path, &[Target])>,
    ) -> anyhow::Result<Session> {
        let connection = Connection::open(global, sandbox, fleet).await?;
        Ok(connection.with(ledger, global, pace))
    }

    /// The ledger, as a command takes it.
    pub fn open_ledger(global: &Global, mode: LedgerMode) -> anyhow::Result<Ledger> {
        let clock = Arc::new(SystemClock);
        Ok(match mode {
            LedgerMode::Create => Ledger::open(&global.ledger, clock)?,
            LedgerMode::Existing => Ledger::open_existing(&global.ledger, clock)?,
        })
    }
}

/// A session before its ledger: where the calls go and the clients that make them.
struct Connection {
    sandbox: Option<Sandbox>,
    endpoint: String,
    accounts: Arc<Accounts>,
}

impl Connection {
    async fn open(
        global: &Global,
        sandbox: Option<&SandboxOptions>,
        fleet: Option<(&Path, &[Target])>,
    ) -> anyhow::Result<Connection> {
        let mut options = global.connect.clone();
        // STS and Organizations are called in the fleet's partition.
        if let Some((_, targets)) = fleet {
            options.streams_region = targets.first().map(|t| t.region.to_string());
        }
        let mut endpoint = endpoint_of(&options);
        let sandbox = match sandbox {
            None => None,
            Some(sandbox) => {
                let sb = start_sandbox(sandbox, fleet).await?;
                options.endpoint_url = Some(sb.endpoint());
                endpoint = IN_PROCESS_SANDBOX.to_owned();
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
        let accounts = Arc::new(Accounts::new(
            sdk,
            options.roles.clone(),
            options.max_credential_age,
        ));
        if accounts.roles().is_some() {
            // Pacing files the credentials' own account apart from the others: it must be
            // known before the first call.
            accounts.base_account().await.map_err(|e| {
                crate::observe::ObserveError::from_call(
                    "sts:GetCallerIdentity",
                    "GetCallerIdentity (for --assume-role)".into(),
                    e,
                )
            })?;
        }
        Ok(Connection {
            sandbox,
            endpoint,
            accounts,
        })
    }

    fn with(self, ledger: Ledger, global: &Global, pace: &PaceOptions) -> Session {
        Session {
            sandbox: self.sandbox,
            endpoint: self.endpoint,
            accounts: self.accounts,
            pacer: Arc::new(Pacer::new(pace.rates())),
            ledger,
            progress: global.progress,
            color: global.color,
            concurrency: pace.concurrency,
            iam_tps: pace.iam_tps,
            iac: Default::default(),
        }
    }
}

/// Starts the in-process sandbox: seeded from `--sandbox-fleet`, else `<fleet>.sandbox.json`
/// beside the fleet file, else the fleet file itself.
async fn start_sandbox(
    flags: &SandboxOptions,
    fleet: Option<(&Path, &[Target])>,
) -> anyhow::Result<Sandbox> {
    let beside = fleet
        .map(|(path, _)| path.with_extension("sandbox.json"))
        .filter(|p| p.exists());
    let world = flags.world.clone().or(beside);
    let seed = match (&world, fleet) {
        (Some(path), _) => Seed::from_file(path)
            .map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?,
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
    let world = match (&world, fleet) {
        (Some(path), _) => path.display().to_string(),
        (None, Some((path, _))) => format!("the streams and keys of {}", path.display()),
        (None, None) => "empty".to_owned(),
    };
    tracing::warn!(
        endpoint = %sandbox.endpoint(),
        world,
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
            .push(SeedStream::direct_put(t.name.clone(), t.region.to_string()));
        if let Some(arn) = t.key.key_arn()
            && keys.insert(arn.as_str().to_owned())
        {
            seed.keys
                .push(SeedKey::symmetric(arn.key_id(), arn.region()));
        }
    }
    seed
}

/// What [`Place::endpoint`] says when no endpoint was given: AWS's own.
const AWS_ENDPOINTS: &str = "the AWS endpoints";

/// The endpoint the calls go to, as an operator would name it.
fn endpoint_of(options: &crate::aws::ConnectOptions) -> String {
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    options
        .endpoint_url
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL_FIREHOSE"))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| AWS_ENDPOINTS.to_owned())
}
