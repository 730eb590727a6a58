//! The server: the [`Sandbox`] handle that binds a port, seeds a [`World`] and serves it over
//! HTTP on the current tokio runtime (`http`: the accept loop, faults, graceful stop), with
//! [`SandboxConfig`] saying how it behaves.

mod http;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::http::STATS_PATH;
pub use crate::world::SandboxConfig;

use crate::seed::Seed;
use crate::stats::Stats;
use crate::vocabulary::{Clock, SystemClock};
use crate::world::World;

/// A running sandbox. Dropping it stops it too (without waiting); prefer [`Sandbox::shutdown`].
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<http::Shared>,
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
        let world = World::new(&config, &seed, clock.now())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        crate::wire::load_models();
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(http::Shared::new(
            world,
            config.region.clone(),
            clock,
            config.seed,
        ));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(http::serve(listener, shared.clone(), stopped));
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
