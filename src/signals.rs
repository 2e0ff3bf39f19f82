//! SIGINT and SIGTERM: held from the first instruction until their handlers are installed.

use anyhow::Context as _;

/// SIGINT and SIGTERM, held (blocked) from the start of the process until their handlers are
/// installed, so that a signal in a run's first milliseconds ends it as a later one does
/// (reports of its own, none of an earlier run's left) instead of killing it.
pub(crate) fn early_signals() -> nix::sys::signal::SigSet {
    nix::sys::signal::SigSet::from_iter([nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGTERM])
}

/// Holds SIGINT and SIGTERM before Rust's runtime and `main` start: an ELF constructor, run
/// by the C library as the program starts, so no window is left before `main`'s first line
/// (under load a process can wait milliseconds there). Threads started later inherit the mask
/// (they never take these signals; the main thread does once `main` lets them through), and
/// programs podspec starts get a clean mask (std's process spawning resets it).
#[used]
#[link_section = ".init_array"]
static HOLD_SIGNALS_FROM_THE_START: extern "C" fn() = {
    extern "C" fn hold() {
        // Nothing to report to yet: `main` holds them again, and says so if that fails.
        let _ = early_signals().thread_block();
    }
    hold
};

/// SIGINT and SIGTERM, caught from the start of the process.
pub(crate) struct Signals {
    pub(crate) term: tokio::signal::unix::Signal,
    pub(crate) int: tokio::signal::unix::Signal,
}

impl Signals {
    pub(crate) fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    /// The name of the next signal received.
    pub(crate) async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
