//! Logging on stderr with tracing: `-q` errors only, default warnings, `-v`/`-vv`/`-vvv` more;
//! `--debug` adds the SDK's wire logs. `RUST_LOG` overrides all of it.

use tracing_subscriber::EnvFilter;

use crate::cli::GlobalArgs;

pub fn init(global: &GlobalArgs) {
    let ours = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // The SDK logs credentials' provenance at debug and request bodies at trace; it never logs
    // secret keys or signatures, so raising it is safe. It stays at warn unless --debug.
    let sdk = if global.debug { "trace" } else { "warn" };
    let default = if global.quiet {
        "error".to_owned()
    } else {
        format!(
            "warn,firehose_sse={ours},aws_smithy_runtime={sdk},aws_smithy_http_client={sdk},aws_sigv4={sdk},aws_config={sdk},hyper_util={}",
            if global.debug { "debug" } else { "warn" }
        )
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = crate::report::color_enabled(
        global.color,
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(global.verbose >= 2 || global.debug)
        .try_init();
}
