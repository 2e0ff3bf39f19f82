//! One file per subcommand; `dispatch` sends each command to its own.

pub(crate) mod bench;
pub(crate) mod certify;
pub(crate) mod cli;
pub(crate) mod clean;
pub(crate) mod gate;
pub(crate) mod images;
pub(crate) mod list;
pub(crate) mod matrix;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod target;

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::commands::cli::{Cli, Command};
use crate::signals::Signals;

/// An error on stderr: it may quote the user's input (a step, a Gherkin line, a name), so its
/// control characters are escaped before they reach the terminal.
pub(crate) fn say_error(e: &str) {
    eprintln!("podspec: {}", podspec::report::terminal_safe(e));
}

/// An error and its causes on one line, as `{:#}` says them, each once: a cause whose text the
/// line already holds (an error that says its source in its own message) is not said again.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Runs `command`. `run`, `serve` and `certify` take the signals themselves (to end cleanly);
/// any other command stops at a signal, as it would without handlers.
pub(crate) async fn dispatch(command: Command, mut signals: Signals) -> anyhow::Result<ExitCode> {
    let command = match command {
        Command::Run(args) => return run::run(args, signals).await,
        Command::Serve(args) => return serve::serve(args, signals).await,
        Command::Certify(args) => return certify::certify(*args, signals).await,
        other => other,
    };
    tokio::select! {
        r = at_once(command) => r,
        sig = signals.next() => {
            eprintln!("podspec: interrupted by {sig}");
            Ok(ExitCode::from(130))
        }
    }
}

/// Waits for the target's shutdown after a run ended (or a first signal stopped it); a second
/// SIGINT or SIGTERM while it waits ends the process at once, as users expect of a second
/// Ctrl-C, saying what may be left and how to remove it. Nothing else could end a clean-up
/// that hangs but SIGKILL.
pub(crate) async fn clean_up_or_leave_at_second_signal<T>(
    clean_up: impl std::future::Future<Output = T>,
    signals: &mut Signals,
) -> T {
    tokio::select! {
        done = clean_up => done,
        sig = signals.next() => {
            eprintln!(
                "podspec: {sig} during clean-up: ending at once; what the run started may be left: `podspec clean` with the same --target and target options removes it"
            );
            // Not a return: dropping the runtime would wait for the clean-up's blocking work.
            std::process::exit(130);
        }
    }
}

async fn at_once(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(_) | Command::Serve(_) | Command::Certify(_) => unreachable!("dispatched with the signals"),
        Command::Clean(args) => clean::clean_target(args).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::Images { command } => images::images(command).await,
        Command::Matrix(args) => matrix::matrix(args),
        Command::Gate(args) => gate::gate(args),
        Command::List(args) => list::list(args),
        Command::Fields => {
            print!("{}", podspec::manifest::fields::markdown_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Docs { out, features, bench_results } => docs(&out, &features, &bench_results),
    }
}

/// `podspec docs`: the book's generated reference pages.
fn docs(out: &Path, features: &[std::path::PathBuf], bench_results: &Path) -> anyhow::Result<ExitCode> {
    let pages = podspec::docs::pages(&Cli::command(), features, bench_results)?;
    podspec::docs::write(out, &pages)?;
    for p in &pages {
        println!("{}", out.join(p.file).display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("start the cri target: {0}")]
    struct SaysItsSource(#[source] std::io::Error);

    #[test]
    fn an_error_that_says_its_source_says_it_once() {
        let e = anyhow::Error::new(SaysItsSource(std::io::Error::other("connection refused"))).context("starting the target cri");
        assert_eq!(error_text(&e), "starting the target cri: start the cri target: connection refused");
        let plain = anyhow::Error::new(std::io::Error::other("gone")).context("reading a");
        assert_eq!(error_text(&plain), format!("{plain:#}"));
    }
}
