//! Building the AWS SDK configuration the way the AWS CLI would: the default credential chain,
//! `--profile`, `--region`, `--endpoint-url` (and the `AWS_ENDPOINT_URL*` variables), extra CA
//! roots from `--ca-bundle`/`AWS_CA_BUNDLE`, and connect/read timeouts. One HTTPS client
//! (rustls) carries every call, including the credential providers' own.

use std::path::Path;
use std::time::Duration;

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::error::UsageError;

/// Where and how to reach AWS (or an emulator standing in for it).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub ca_bundle: Option<std::path::PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    /// Accept plain `http://` endpoints that are not on this machine.
    pub allow_insecure_endpoint: bool,
    /// Fixed credentials instead of the default chain (the in-process sandbox, tests).
    pub static_credentials: Option<aws_credential_types::Credentials>,
    /// The role to assume in every account other than the credentials' own (`--assume-role`).
    pub roles: Option<crate::cloud::Roles>,
    /// Session credentials first seen longer ago are refreshed before a Start towards a
    /// customer-managed key (`--max-credential-age`).
    pub max_credential_age: Duration,
    /// The first `--region` given.
    pub region: Option<String>,
    /// A Region of the streams the command acts on (the fleet's first row's), when known: its
    /// partition is the run's ([`home_region`]).
    pub streams_region: Option<String>,
}

/// The Region of the calls that are about no one Region's streams — STS `GetCallerIdentity` and
/// `AssumeRole`, Organizations (whose endpoint the SDK picks in that Region's partition), the
/// SDK's own default — chosen from `candidates` (`--region`, then `AWS_REGION` or the
/// profile's): the first in the partition of `streams` (a Region of the streams acted on), else
/// `streams` itself; with no streams known, the first candidate; else `us-east-1`. Credentials
/// of one partition reach nothing in another, so a GovCloud or China fleet's STS calls go to
/// its own partition even when the environment names a commercial Region.
pub fn home_region(candidates: &[&str], streams: Option<&str>) -> String {
    use crate::model::partition_of;
    match streams {
        Some(streams) => candidates
            .iter()
            .find(|c| partition_of(c) == partition_of(streams))
            .copied()
            .unwrap_or(streams),
        None => candidates.first().copied().unwrap_or("us-east-1"),
    }
    .to_owned()
}

/// `--max-credential-age`'s default: an hour short of the 6 h after which KMS grants fail.
pub const MAX_CREDENTIAL_AGE: Duration = Duration::from_secs(5 * 3600);

/// The HTTPS client every SDK client uses: rustls with the platform's roots plus, when given,
/// the PEM certificates of `extra_roots`.
pub fn http_client(extra_roots: Option<&Path>) -> Result<SharedHttpClient, UsageError> {
    let mut trust = TrustStore::default();
    if let Some(path) = extra_roots {
        let pem = std::fs::read(path).map_err(|e| {
            UsageError::new(format!("cannot read CA bundle {}: {e}", path.display()))
        })?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(UsageError::new(format!(
                "CA bundle {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        trust = trust.with_pem_certificate(pem);
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| UsageError::new(format!("invalid TLS settings: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(context)
        .build_https())
}

/// Loads the shared SDK configuration. The region set here is only a fallback: every client is
/// built for the region of the streams it serves.
pub async fn sdk_config(opts: &ConnectOptions) -> Result<SdkConfig, UsageError> {
    if let Some(url) = &opts.endpoint_url {
        check_endpoint_url("--endpoint-url", url, opts.allow_insecure_endpoint)?;
    }
    // The AWS CLI's endpoint variables are honoured by the SDK; hold them to the same rule.
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_FIREHOSE",
        "AWS_ENDPOINT_URL_KMS",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_ORGANIZATIONS",
    ] {
        if let Ok(url) = std::env::var(var)
            && !url.is_empty()
            && opts.endpoint_url.is_none()
        {
            check_endpoint_url(var, &url, opts.allow_insecure_endpoint)?;
        }
    }
    // Every client is built for its streams' region; the loader still needs one (without it
    // it would ask the instance metadata service), and STS and Organizations go to it.
    let default = default_region(None, opts.profile.as_deref()).await;
    let candidates: Vec<&str> = [opts.region.as_deref(), default.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let region = home_region(&candidates, opts.streams_region.as_deref());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .http_client(http_client(opts.ca_bundle.as_deref())?);
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(creds) = &opts.static_credentials {
        loader = loader.credentials_provider(creds.clone());
    }
    let mut timeouts = TimeoutConfig::builder();
    if let Some(t) = opts.connect_timeout {
        timeouts = timeouts.connect_timeout(t);
    }
    if let Some(t) = opts.read_timeout {
        timeouts = timeouts.read_timeout(t);
    }
    loader = loader.timeout_config(timeouts.build());
    let config = loader.load().await;
    // An endpoint on this machine is most likely a sandbox, which takes any keys: a missing
    // one says so, instead of leaving the operator with the instance metadata's failure.
    let local = match &opts.endpoint_url {
        Some(url) => Some(url.clone()),
        None => std::env::var("AWS_ENDPOINT_URL").ok(),
    }
    .filter(|url| is_loopback_url(url));
    Ok(match (local, config.credentials_provider()) {
        (Some(url), Some(inner)) if opts.static_credentials.is_none() => config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(OnThisMachine { url, inner }))
            .build(),
        _ => config,
    })
}

/// What a sandbox on this machine accepts, said where credentials are missing.
pub const SANDBOX_KEYS: &str = "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test";

/// A credentials provider for an endpoint on this machine: its failure says that a sandbox
/// takes any keys, and how to give some.
#[derive(Debug)]
struct OnThisMachine {
    url: String,
    inner: SharedCredentialsProvider,
}

impl ProvideCredentials for OnThisMachine {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                CredentialsError::not_loaded(format!(
                    "{}. The endpoint {} is on this machine: a sandbox takes any keys, e.g. \
                     `{SANDBOX_KEYS}`",
                    aws_smithy_types::error::display::DisplayErrorContext(&e),
                    self.url
                ))
            })
        })
    }
}

/// Whether `url`'s host is this machine (`localhost` or a loopback address).
fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The regions AWS lists, as the partitions of the SDK this binary is built with name them
/// (aws-sdk-firehose's endpoint rules: aws, aws-cn, aws-us-gov, aws-eusc, the ISO partitions).
const REGIONS: [&str; 48] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "eusc-de-east-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "aws-global",
    "aws-cn-global",
];

/// A warning for a region AWS does not list (a misspelling finds no stream, and a listing of
/// it looks like an empty region), with the listed one it is likely meant to be.
pub fn unlisted_region(region: &str) -> Option<String> {
    if REGIONS.contains(&region) {
        return None;
    }
    let nearest = REGIONS
        .iter()
        .map(|r| (edit_distance(r, region), *r))
        .min()
        .filter(|(d, _)| *d <= 2)
        .map(|(_, r)| format!(" (did you mean {r}?)"))
        .unwrap_or_default();
    Some(format!(
        "warning: {region:?} is not a region AWS lists{nearest}: no stream will be found there"
    ))
}

/// Levenshtein distance: edits (insert, delete, replace) from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The region for rows that name none: `--region`, else AWS_REGION / AWS_DEFAULT_REGION, else
/// the profile's `region`. Never asks the instance metadata service: reading a fleet file must
/// not send anything anywhere.
pub async fn default_region(flag: Option<&str>, profile: Option<&str>) -> Option<String> {
    if let Some(region) = flag {
        return Some(region.to_owned());
    }
    let mut from_profile = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(name) = profile {
        from_profile = from_profile.profile_name(name);
    }
    RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(from_profile.build())
    .region()
    .await
    .map(|r| r.as_ref().to_owned())
}

/// An endpoint must be an http(s) URL with a host, and plain `http://` only to this machine
/// (a sandbox, a local proxy) unless explicitly allowed: signed requests carry the access key
/// id and the session token, and plain HTTP would show them to the network.
pub fn check_endpoint_url(what: &str, url: &str, allow_insecure: bool) -> Result<(), UsageError> {
    let (plain, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (false, rest),
        (None, Some(rest)) => (true, rest),
        _ => {
            return Err(UsageError::new(format!(
                "{what} {url:?} must start with https:// or http://"
            )));
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() {
        return Err(UsageError::new(format!("{what} {url:?} has no host")));
    }
    let loopback = is_loopback_url(url);
    if plain && !loopback && !allow_insecure {
        return Err(UsageError::new(format!(
            "{what} {url:?} is plain http:// to another machine: requests would cross the network \
             unencrypted. Use https://, or pass --allow-insecure-endpoint if you mean it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_aws_does_not_list_is_warned_of_with_the_one_meant() {
        assert_eq!(unlisted_region("us-east-1"), None);
        assert_eq!(unlisted_region("eu-central-2"), None);
        let typo = unlisted_region("us-eest-1").unwrap();
        assert!(typo.contains("did you mean us-east-1?"), "{typo}");
        let far = unlisted_region("mars-north-9").unwrap();
        assert!(!far.contains("did you mean"), "{far}");
    }

    #[test]
    fn endpoint_urls() {
        let check = |url| check_endpoint_url("--endpoint-url", url, false);
        assert!(check("http://127.0.0.1:4599").is_ok());
        assert!(check("http://localhost:4599/").is_ok());
        assert!(check("http://[::1]:4599").is_ok());
        assert!(check("https://firehose.us-east-1.amazonaws.com").is_ok());
        assert!(check("https://10.0.0.5:8443").is_ok());
        assert!(check("127.0.0.1:4599").is_err());
        assert!(check("http://").is_err());
        let insecure = check("http://10.0.0.5:4599").unwrap_err();
        assert!(
            insecure.to_string().contains("--allow-insecure-endpoint"),
            "{insecure}"
        );
        assert!(check("http://firehose.example.com").is_err());
        assert!(check_endpoint_url("--endpoint-url", "http://10.0.0.5:4599", true).is_ok());
        // Where a missing key is said to be one a sandbox would take.
        assert!(is_loopback_url("http://127.0.0.1:4599"));
        assert!(is_loopback_url("http://localhost"));
        assert!(is_loopback_url("http://[::1]:4599/"));
        assert!(!is_loopback_url("https://firehose.us-east-1.amazonaws.com"));
        assert!(!is_loopback_url("http://10.0.0.5:4599"));
    }

    #[test]
    fn the_home_region_is_in_the_partition_of_the_streams() {
        // A GovCloud or China fleet while the environment names a commercial Region.
        assert_eq!(
            home_region(&["us-east-1"], Some("us-gov-west-1")),
            "us-gov-west-1"
        );
        assert_eq!(
            home_region(&["eu-west-1"], Some("cn-north-1")),
            "cn-north-1"
        );
        // A candidate of the streams' partition is kept (the operator's choice of STS Region).
        assert_eq!(
            home_region(&["us-east-1", "us-gov-east-1"], Some("us-gov-west-1")),
            "us-gov-east-1"
        );
        assert_eq!(home_region(&["eu-west-1"], Some("us-east-1")), "eu-west-1");
        // No streams known (inventory, resume): --region, then the profile's; else us-east-1.
        assert_eq!(home_region(&["cn-northwest-1"], None), "cn-northwest-1");
        assert_eq!(home_region(&[], None), "us-east-1");
    }

    #[test]
    fn ca_bundle_must_be_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        std::fs::write(&path, "not a certificate").unwrap();
        let err = http_client(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let missing = http_client(Some(&dir.path().join("nope.pem"))).unwrap_err();
        assert!(
            missing.to_string().contains("cannot read CA bundle"),
            "{missing}"
        );
    }
}
