//! firehose-sse-sandbox: a loopback HTTP emulator of the Amazon Data Firehose and KMS APIs
//! that enforces the real AWS limits, so every test, benchmark and demo of firehose-sse runs
//! without an AWS account — or with a whole AWS Organization's worth of them: member accounts
//! with their own streams, keys and roles, STS `AssumeRole` into those roles and Organizations
//! `ListAccounts`, each request acting in the account of its credentials. Each account has its
//! IAM (users, groups, roles, managed policies; GetAccountAuthorizationDetails and
//! SimulatePrincipalPolicy), each key its key policy, and producers' `PutRecord` and
//! `PutRecordBatch` are allowed or refused by both, as AWS refuses a producer a customer key.
//! CloudWatch counts every stream's puts in `AWS/Firehose` (`IncomingRecords`, the SSE error
//! metrics such as `KMSKeyAccessDenied`), per the world file's metric period, for
//! `GetMetricData`, beside custom metrics and metric alarms; a world file's synthetic producers
//! put records by themselves, counted lazily against each stream's encryption history. It
//! speaks AWS JSON 1.1 (and the query protocol of STS and IAM; CloudWatch's RPC v2 CBOR, JSON
//! 1.0 and query protocols), so the Rust SDK, boto3 and the AWS CLI work against it unchanged,
//! and it serves its ground truth, per stream and per account, at `GET /_sandbox/stats`.
//! `crates/sandbox/README.md` is its reference.
//!
//! It depends on nothing of firehose-sse: an emulator that shared the client's parsing would
//! share its misreadings. Its yardstick is AWS's published service models: requests are checked
//! against their input shapes, and `tests/models` checks every answer against botocore's.
//!
//! Layers, each depending only on those before it:
//!
//! 1. [`vocabulary`]: names, Regions, ARNs, the API's enums, error codes, time;
//! 2. [`seed`]: the world to start from (`--fleet FILE`, `--streams N`, `--accounts N`), IAM
//!    principals, producers (synthetic ones too), key policies and the metric period included;
//! 3. [`world`]: the state and its rules (pure, time passed in), and beside it [`stats`],
//!    the ground-truth document it fills in;
//! 4. [`wire`]: requests read into typed inputs, answers written from typed outputs;
//! 5. [`server`]: the hyper loop, faults, graceful stop, and the [`Sandbox`] handle.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use firehose_sse_sandbox::{Sandbox, SandboxConfig, Seed};
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

pub mod seed;
pub mod server;
pub mod stats;
pub mod vocabulary;
pub mod wire;
pub mod world;

pub use seed::{
    FIRST_GENERATED_ACCOUNT, Seed, SeedAccount, SeedCredential, SeedEncryption, SeedError,
    SeedFailure, SeedGroup, SeedKey, SeedKmsGrant, SeedPolicy, SeedProducer, SeedRole,
    SeedStartError, SeedStream, SeedStreamFailure, SeedUser,
};
pub use server::{STATS_PATH, Sandbox, SandboxConfig};
pub use stats::{
    AccountStats, FaultRecord, FaultStats, LimitExceeded, Limits, MinuteRecords, RecordStats,
    Stats, StreamCall, StreamStats,
};
pub use vocabulary::{Clock, ManualClock, Millis, SystemClock};
