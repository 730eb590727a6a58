//! The two backends behind one interface: moto server or our sandbox, SDK clients for it, and
//! a runtime to drive them.

use super::REGION;
use super::moto::Moto;
use crate::common::{Sandbox, Workdir, firehose_client, kms_client};

enum Server {
    /// Kept for its Drop, which stops the server.
    Moto {
        _process: Moto,
    },
    Sandbox(Sandbox),
}

/// A running implementation of the APIs, SDK clients for it, and a runtime to drive them.
pub struct Backend {
    server: Server,
    url: String,
    rt: tokio::runtime::Runtime,
}

impl Backend {
    pub fn moto() -> Backend {
        let moto = Moto::start();
        let url = moto.url.clone();
        Backend::new(Server::Moto { _process: moto }, url)
    }

    /// Our sandbox with short transitions (CREATING and ENABLING are real there) and no
    /// throttle, so that it and moto run the same scenarios in about the same time.
    pub fn sandbox() -> Backend {
        let sandbox = Sandbox::start(&["--latency", "40ms", "--tps", "0"]);
        let url = sandbox.url.clone();
        Backend::new(Server::Sandbox(sandbox), url)
    }

    fn new(server: Server, url: String) -> Backend {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Backend { server, url, rt }
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    pub fn firehose(&self) -> aws_sdk_firehose::Client {
        firehose_client(&self.url, REGION)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        kms_client(&self.url, REGION)
    }

    /// A working directory whose binary talks to this backend.
    pub fn workdir(&self) -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
            endpoint: self.url.clone(),
        }
    }

    /// The sandbox's count of the Start requests it received; moto keeps none.
    pub fn starts_received(&self) -> Option<u64> {
        match &self.server {
            Server::Sandbox(s) => Some(s.stats().requests_for("StartDeliveryStreamEncryption")),
            Server::Moto { .. } => None,
        }
    }
}
