//! SIGINT (Ctrl-C) and SIGTERM, for every command that runs until told to stop (shutdown is a
//! parameter: docs/design.md#shutdown-is-a-parameter). `apply`/`resume` get a stop request whose
//! first signal asks the engine to stop dispatching and whose second exits at once; the sandbox
//! serves until the first.

use tokio::sync::watch;

/// SIGINT and SIGTERM, listened to from creation on (a signal between two waits is not lost).
pub struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Returns on the next SIGINT or SIGTERM.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A stop request: turns `true` on the first signal (after printing `first_words`). The second
/// signal prints `last_words` and exits the process with `code` — the ledger never depends on
/// a clean exit.
pub fn stop_on_signals(
    first_words: &'static str,
    last_words: String,
    code: u8,
) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let signals = Signals::new();
    tokio::spawn(async move {
        let Ok(mut signals) = signals else {
            return;
        };
        signals.next().await;
        crate::report::progress::announce(first_words);
        let _ = tx.send(true);
        signals.next().await;
        crate::report::progress::announce_last(&last_words);
        std::process::exit(code.into());
    });
    rx
}
