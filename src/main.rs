//! The `podspec` command line: signals held from the start, logging, privileges, then the
//! subcommand (`commands/`, one file each).

mod commands;
mod signals;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;

use crate::commands::cli::Cli;
use crate::commands::{dispatch, error_text, say_error};
use crate::signals::{early_signals, Signals};

fn main() -> ExitCode {
    let early = early_signals();
    if let Err(e) = early.thread_block() {
        eprintln!("podspec: cannot hold SIGINT and SIGTERM until their handlers are installed: {e}");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODSPEC_LOG").unwrap_or_else(|_| "warn,kube_client::client::builder=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.command.only_prints() {
        // SAFETY: before any thread starts; the default action of SIGPIPE ends the process
        // at a write to a closed pipe instead of the panic of println!.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    match podspec::limits::raise_open_files() {
        Ok(hard) if cli.command.needs_privileges() => {
            if let Some(warning) = podspec::limits::open_files_warning(hard, 1000) {
                tracing::warn!("{warning}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    // Before any thread starts: a non-root user enters a user namespace of their own.
    if cli.command.needs_privileges() {
        if let Err(e) = podspec::privileges::ensure() {
            eprintln!("podspec: {e}");
            return ExitCode::from(2);
        }
    }
    limit_malloc_arenas(WORKER_THREADS);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(WORKER_THREADS).enable_all().build().expect("tokio runtime");
    match runtime.block_on(async {
        // Before any state is made: a signal from now on ends the run cleanly; one that came
        // before is delivered as the main thread takes signals again.
        let signals = Signals::install()?;
        early.thread_unblock().context("taking SIGINT and SIGTERM again")?;
        dispatch(cli.command, signals).await
    }) {
        Ok(code) => code,
        Err(e) => {
            say_error(&error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// The async runtime's worker threads.
const WORKER_THREADS: usize = 2;

/// glibc gives each thread that allocates while another holds an arena's lock an arena of its
/// own, up to eight per CPU; with a pod's blocking work spread over a hundred threads and more,
/// most of those arenas hold freed pages the others cannot use. As many arenas as the async
/// runtime has workers keep the peak resident set of 1000 pods near what their data needs
/// (docs/src/developer/performance.md: 203 MiB with glibc's default, 193 MiB with two, release
/// build). A `MALLOC_ARENA_MAX` in the environment is the user's and is kept.
fn limit_malloc_arenas(arenas: usize) {
    #[cfg(target_env = "gnu")]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: before any thread starts; mallopt only sets the allocator's parameter.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas as libc::c_int) };
    }
}
