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

    /// An IAM client (IAM is global: it signs in us-east-1).
    pub fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(crate::common::test_credentials())
            .http_client(firehose_sse::aws::http_client(None).unwrap())
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    /// A CloudWatch client (the Rust SDK speaks its CBOR protocol).
    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new(REGION))
            .endpoint_url(&self.url)
            .credentials_provider(crate::common::test_credentials())
            .http_client(firehose_sse::aws::http_client(None).unwrap())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    pub fn is_moto(&self) -> bool {
        matches!(self.server, Server::Moto { .. })
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
