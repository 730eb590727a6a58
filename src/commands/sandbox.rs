//! `firehose-sse sandbox`: flags → configuration and seed, a tokio runtime, serve until
//! SIGINT/SIGTERM. The endpoint URL is the first line of stdout (flushed at once) so scripts
//! and tests can read it; everything else goes to stderr. The emulator itself is the
//! `firehose-sse-sandbox` crate; this is its wiring to our command line.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::Context;

use firehose_sse_sandbox::vocabulary::is_valid_role_name;
use firehose_sse_sandbox::{Sandbox, SandboxConfig, Seed};

use crate::cli::{GlobalArgs, SandboxArgs};
use crate::error::{Exit, UsageError};
use crate::model::{is_valid_account, is_valid_region};

/// Runs the sandbox until a signal.
pub fn sandbox(global: &GlobalArgs, args: &SandboxArgs) -> anyhow::Result<Exit> {
    let listen = listen_addr(&args.listen, args.allow_remote)?;
    let config = config(global, args)?;
    let seed = seed(args, &config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(listen, config, seed))
}

/// The address to listen on: loopback only, unless `allow_remote`.
fn listen_addr(text: &str, allow_remote: bool) -> Result<SocketAddr, UsageError> {
    let addr = text
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| {
            UsageError::new(format!(
                "--listen {text:?} is not an address such as 127.0.0.1:4599"
            ))
        })?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(UsageError::new(format!(
            "--listen {addr} is not a loopback address; the sandbox has no authentication, \
             pass --allow-remote to serve other machines anyway"
        )));
    }
    Ok(addr)
}

fn config(global: &GlobalArgs, args: &SandboxArgs) -> Result<SandboxConfig, UsageError> {
    if !is_valid_account(&args.account) {
        return Err(UsageError::new(format!(
            "--account {:?} is not a 12-digit account id",
            args.account
        )));
    }
    let region = global
        .single_region()?
        .map_or_else(|| "us-east-1".to_owned(), str::to_owned);
    if !is_valid_region(&region) {
        return Err(UsageError::new(format!(
            "--region {region:?} is not a region code"
        )));
    }
    if args.window.is_zero() {
        return Err(UsageError::new("--window must be longer than 0"));
    }
    if !is_valid_role_name(&args.role) {
        return Err(UsageError::new(format!(
            "--role {:?} is not a role name (1-64 letters, digits or _+=,.@-)",
            args.role
        )));
    }
    Ok(SandboxConfig {
        account: args.account.clone(),
        region,
        latency: args.latency,
        tps: args.tps,
        stream_budget: args.stream_budget,
        window: args.window,
        cmk_limit: args.cmk_limit,
        grant_retirement: args.grant_retirement,
        fault_rate: args.fault_rate,
        seed: args.seed,
    })
}

fn seed(args: &SandboxArgs, config: &SandboxConfig) -> Result<Seed, UsageError> {
    let mut seed = match &args.fleet {
        Some(path) => Seed::from_file(path).map_err(|e| UsageError::new(e.to_string()))?,
        None => Seed::default(),
    };
    if args.accounts > 0 {
        seed.extend(Seed::organization(
            args.accounts,
            args.streams,
            &config.region,
            &args.role,
        ));
    } else if args.streams > 0 {
        seed.extend(Seed::generated(args.streams, &config.region));
    }
    if let Some(period) = args.metric_period {
        seed = seed.with_metric_period(period);
    }
    seed.check(&config.account, &config.region)
        .map_err(|e| UsageError::new(e.to_string()))?;
    Ok(seed)
}

async fn serve(listen: SocketAddr, config: SandboxConfig, seed: Seed) -> anyhow::Result<Exit> {
    let members = &seed.accounts;
    let streams = seed.streams.len() + members.iter().map(|a| a.streams.len()).sum::<usize>();
    let keys = seed.keys.len() + members.iter().map(|a| a.keys.len()).sum::<usize>();
    let organization = if members.is_empty() {
        String::new()
    } else {
        format!(" managing {} member account(s)", members.len())
    };
    // Listening before the endpoint is printed: whoever reads it may signal at once.
    let mut signals = crate::signal::Signals::new().context("cannot wait for signals")?;
    let sandbox = Sandbox::start(listen, config.clone(), seed)
        .await
        .with_context(|| format!("cannot serve the sandbox on {listen}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", sandbox.endpoint()).context("cannot write to stdout")?;
        out.flush().context("cannot write to stdout")?;
    }
    eprintln!(
        "firehose-sse sandbox: account {}{organization}, {streams} stream(s), {keys} key(s); latency {}, \
         tps {}, budget {} per {}, {} streams per key, fault rate {}; ground truth at {}/_sandbox/stats. \
         Ctrl-C stops.",
        config.account,
        humantime::format_duration(config.latency),
        if config.tps == 0 {
            "unlimited".to_owned()
        } else {
            config.tps.to_string()
        },
        config.stream_budget,
        crate::report::span(config.window),
        config.cmk_limit,
        config.fault_rate,
        sandbox.endpoint(),
    );
    signals.next().await;
    tracing::info!("signal received, stopping the sandbox");
    sandbox.shutdown().await;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> (GlobalArgs, SandboxArgs) {
        let cli = Cli::try_parse_from(args).unwrap();
        match cli.command {
            Command::Sandbox(a) => (cli.global, a),
            _ => panic!("not the sandbox command"),
        }
    }

    #[test]
    fn flag_defaults_are_the_config_defaults() {
        let (global, args) = parse(&["firehose-sse", "sandbox"]);
        assert_eq!(config(&global, &args).unwrap(), SandboxConfig::default());
        assert_eq!(
            listen_addr(&args.listen, false).unwrap(),
            "127.0.0.1:4599".parse().unwrap()
        );
    }

    #[test]
    fn flags_reach_the_config() {
        let (global, args) = parse(&[
            "firehose-sse",
            "sandbox",
            "--region",
            "eu-west-1",
            "--latency",
            "250ms",
            "--window",
            "2m",
            "--tps",
            "0",
            "--fault-rate",
            "0.5",
            "--seed",
            "7",
            "--grant-retirement",
            "1h",
        ]);
        let c = config(&global, &args).unwrap();
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.latency, std::time::Duration::from_millis(250));
        assert_eq!(c.window, std::time::Duration::from_secs(120));
        assert_eq!(c.grant_retirement, std::time::Duration::from_secs(3600));
        assert_eq!((c.tps, c.fault_rate, c.seed), (0, 0.5, 7));
        assert!(Cli::try_parse_from(["firehose-sse", "sandbox", "--fault-rate", "1.5"]).is_err());
    }

    #[test]
    fn accounts_seed_an_organization_with_streams_in_each() {
        let (global, args) = parse(&[
            "firehose-sse",
            "sandbox",
            "--accounts",
            "3",
            "--streams",
            "2",
            "--role",
            "deployer",
        ]);
        let c = config(&global, &args).unwrap();
        let org = seed(&args, &c).unwrap();
        assert!(org.streams.is_empty());
        let ids: Vec<&str> = org.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["100000000001", "100000000002", "100000000003"]);
        for a in &org.accounts {
            assert_eq!(a.streams.len(), 2);
            assert_eq!(a.roles.len(), 1);
            assert_eq!(a.roles[0].name, "deployer");
        }
        let (_, args) = parse(&["firehose-sse", "sandbox", "--streams", "2"]);
        assert_eq!((args.accounts, args.role.as_str()), (0, "firehose-sse"));
        let one = seed(&args, &c).unwrap();
        assert_eq!((one.streams.len(), one.accounts.len()), (2, 0));
        let (global, args) = parse(&["firehose-sse", "sandbox", "--role", "no spaces"]);
        let err = config(&global, &args).unwrap_err();
        assert!(err.to_string().contains("--role"), "{err}");
    }

    #[test]
    fn only_loopback_unless_allowed() {
        assert!(listen_addr("127.0.0.1:0", false).is_ok());
        assert!(listen_addr("[::1]:0", false).is_ok());
        assert!(listen_addr("localhost:0", false).is_ok());
        let err = listen_addr("0.0.0.0:4599", false).unwrap_err();
        assert!(err.to_string().contains("--allow-remote"), "{err}");
        assert!(listen_addr("0.0.0.0:4599", true).is_ok());
        assert!(listen_addr("nonsense", false).is_err());
    }
}
