//! One file per subcommand; `dispatch` sends each command to its own.

pub(crate) mod bench;
pub(crate) mod certify;
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

use crate::cli::{Cli, Command};
use crate::signals::Signals;

/// An error on stderr: it may quote the user's input (a step, a Gherkin line, a name), so its
/// control characters are escaped before they reach the terminal.
pub(crate) fn say_error(e: &str) {
    eprintln!("podspec: {}", podspec::report::terminal_safe(e));
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
