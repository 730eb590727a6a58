//! The sandbox: a loopback HTTP emulator of the Firehose and KMS APIs that enforces the real
//! AWS limits (DESIGN §7), so every test, benchmark and demo runs without an AWS account. It
//! speaks AWS JSON 1.1, so the Rust SDK, boto3 and the AWS CLI work against it unchanged, and
//! it serves its ground truth at `GET /_sandbox/stats`.
//!
//! - [`state`]: the world and its rules (pure, time passed in);
//! - [`protocol`]: requests and answers on the wire;
//! - [`server`]: the hyper accept loop, faults, graceful stop;
//! - [`seed`]: the world to start from (`--fleet FILE`, `--streams N`);
//! - [`stats`]: the ground-truth document;
//! - [`command`]: `firehose-sse sandbox`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use firehose_sse::sandbox::{Sandbox, SandboxConfig, Seed};
//! let sandbox = Sandbox::start(
//!     "127.0.0.1:0".parse().unwrap(),
//!     SandboxConfig::default(),
//!     Seed::generated(10, "us-east-1"),
//! )
//! .await?;
//! println!("{}", sandbox.endpoint()); // point --endpoint-url here
//! let truth = sandbox.stats();
//! assert!(truth.streams.iter().all(|s| s.calls_in_window <= 25));
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod command;
pub mod protocol;
pub mod seed;
pub mod server;
pub mod state;
pub mod stats;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use seed::{Seed, SeedEncryption, SeedError, SeedFailure, SeedKey, SeedStream};
pub use stats::{FaultRecord, FaultStats, LimitExceeded, Limits, Stats, StreamStats};

use crate::clock::{Clock, SystemClock};

/// How the sandbox behaves. `Default` gives the values of AWS (and of `firehose-sse sandbox`).
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// The account every stream and key belongs to.
    pub account: String,
    /// Region of unsigned requests and of seeded streams and keys that name none.
    pub region: String,
    /// Median time of ENABLING→ENABLED, DISABLING→DISABLED (and CREATING→ACTIVE); each
    /// transition draws log-normal with p99 ≈ 6× this.
    pub latency: Duration,
    /// Calls per second per Firehose operation per account and region (token bucket, burst =
    /// tps); 0 = unlimited.
    pub tps: u32,
    /// Start+Stop calls accepted per stream per `window`.
    pub stream_budget: u32,
    /// The rolling window of `stream_budget`.
    pub window: Duration,
    /// Streams per customer-managed key (ENABLED with it or ENABLING towards it).
    pub cmk_limit: u32,
    /// Fraction of requests that get a fault (500, dropped connection or 2 s delay).
    pub fault_rate: f64,
    /// Seeds every random draw (latencies, faults, key ids).
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            account: "123456789012".into(),
            region: "us-east-1".into(),
            latency: Duration::from_secs(5),
            tps: 5,
            stream_budget: 25,
            window: Duration::from_secs(24 * 3600),
            cmk_limit: 500,
            fault_rate: 0.0,
            seed: 1,
        }
    }
}

/// A running sandbox. Dropping it stops it too (without waiting); prefer [`Sandbox::shutdown`].
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `listen` (port 0 picks a free port), seeds the world and starts serving on the
    /// current tokio runtime. Fails with `InvalidInput` when the seed does not pass
    /// [`Seed::check`].
    pub async fn start(
        listen: SocketAddr,
        config: SandboxConfig,
        seed: Seed,
    ) -> io::Result<Sandbox> {
        Self::start_with_clock(listen, config, seed, Arc::new(SystemClock)).await
    }

    /// [`Sandbox::start`] with a clock of the caller's (tests of time-dependent clients).
    pub async fn start_with_clock(
        listen: SocketAddr,
        config: SandboxConfig,
        seed: Seed,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Sandbox> {
        let world = state::World::new(&config, &seed, clock.now())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(
            world,
            config.region.clone(),
            clock,
            config.seed,
        ));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), stopped));
        tracing::info!(%addr, "sandbox serving");
        Ok(Sandbox {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL for SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ground truth, as `GET /_sandbox/stats` serves it.
    pub fn stats(&self) -> Stats {
        let now = self.shared.now();
        self.shared.world().stats(now)
    }

    /// Stops accepting, lets open connections finish their current request (up to 5 s), and
    /// returns when the server is down.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
