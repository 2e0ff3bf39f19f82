//! `cargo test` runs every feature against the reference runtime (a cucumber test target with
//! `harness = false`). Reports go to target/podspec-reports/.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use podspec::paths::Paths;
use podspec::runner::{self, RunError, RunOptions};
use podspec::steps::Timeouts;
use podspec::targets::ReferenceTarget;
use podspec::targets::Target;

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_var("PODSPEC_SHIM", env!("CARGO_BIN_EXE_podspec-shim"));
    std::env::set_var("PODSPEC_AGENT", env!("CARGO_BIN_EXE_podspec-agent"));
    if let Err(e) = podspec::limits::raise_open_files() {
        eprintln!("features: cannot raise the open-file limit: {e}");
    }
    if let Err(e) = podspec::privileges::ensure() {
        eprintln!("features: {e}");
        return ExitCode::FAILURE;
    }
    let options = RunOptions {
        features: vec![root.join("features")],
        tags: std::env::var("PODSPEC_TAGS").ok(),
        report_dir: root.join("target/podspec-reports"),
        concurrency: 4,
        fixtures_dir: root.join("fixtures"),
        timeouts: Timeouts::default(),
        progress: true,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let target: Arc<dyn Target> = match ReferenceTarget::start(Paths::from_env().expect("helper programs")).await {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("features: cannot start the reference target: {e}");
                return ExitCode::FAILURE;
            }
        };
        let result = runner::run(&options, target.clone()).await;
        let shutdown = target.shutdown().await;
        let code = match result {
            Err(RunError::Input(errors)) => {
                errors.iter().for_each(|e| eprintln!("features: {e}"));
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("features: {e}");
                ExitCode::FAILURE
            }
            Ok(record) => {
                let s = record.summary;
                // The plain closing line CI reads.
                println!("features: {} passed, {} failed, {} skipped", s.passed, s.failed, s.skipped);
                if s.failed > 0 || s.passed == 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                }
            }
        };
        if let Err(e) = shutdown {
            eprintln!("features: shutting the reference target down: {e}");
            return ExitCode::FAILURE;
        }
        code
    })
}
