//! `podspec gate`.

use std::path::PathBuf;
use std::process::ExitCode;

use podspec::report;

use super::say_error;

#[derive(clap::Args)]
pub(crate) struct GateArgs {
    /// The run's report.json.
    #[arg(value_name = "REPORT.json")]
    pub(crate) report: PathBuf,
    /// The target's known failures: lines of `<feature path> | <scenario name> | <reason>`.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: PathBuf,
}

/// `podspec gate`: gates an existing report against a baseline; nothing is run or written.
pub(crate) fn gate(args: GateArgs) -> anyhow::Result<ExitCode> {
    let record = report::json::read(&args.report)?;
    let baseline = match report::baseline::read(&args.baseline) {
        Ok(b) => b,
        Err(e) => {
            for message in e.messages() {
                say_error(&message);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let verdict = report::baseline::evaluate(&baseline, &record);
    eprintln!("podspec: {} ({}): {}", args.report.display(), record.target, record.summary);
    eprint!("podspec: {verdict}");
    Ok(if verdict.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
