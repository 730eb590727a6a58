//! How the sandbox behaves: the parameters of the world's rules (and the default Region of
//! the requests and seeded items that name none).

use std::time::Duration;

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
    /// How long a key a stream stopped using (rekey or Stop completed) keeps counting toward
    /// `cmk_limit`: AWS only schedules the old grant for retirement.
    pub grant_retirement: Duration,
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
            grant_retirement: Duration::ZERO,
            fault_rate: 0.0,
            seed: 1,
        }
    }
}
