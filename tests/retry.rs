//! `--retry`: a scenario that fails and then passes when run again is reported as flaky, with
//! each failed attempt, in every report; one that fails on every attempt stays failed; a
//! baseline gate counts a flaky scenario as passed and lists it.
//!
//! The scenarios run against the reference target. What makes one fail on its first attempt
//! only is a step this test binary alone defines (no feature of the project can reach it):
//! `the attempt counted in "FILE" is at least N` adds one to the counter in FILE, a file in the
//! test's own temporary directory, and fails while the count is below N.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use cucumber::then;
use podspec::paths::Paths;
use podspec::report::{self, Status};
use podspec::runner::{self, RunOptions};
use podspec::steps::{PodWorld, StepFailure, Timeouts};
use podspec::targets::ReferenceTarget;
use podspec::targets::Target;

#[then(regex = r#"^the attempt counted in "([^"]+)" is at least (\d+)$"#)]
async fn attempt_at_least(_world: &mut PodWorld, file: String, n: u32) -> Result<(), StepFailure> {
    let count = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse::<u32>().ok()).unwrap_or(0) + 1;
    std::fs::write(&file, count.to_string()).map_err(|e| StepFailure::new(format!("write {file}: {e}")))?;
    if count < n {
        return Err(StepFailure::new(format!("attempt {count} of the counter {file}: below {n}")));
    }
    Ok(())
}

fn feature(dir: &Path) -> String {
    let counter = |name: &str| dir.join(name).display().to_string();
    format!(
        r#"Feature: Retried scenarios

  Scenario: Fails on its first attempt only
    Given a running pod from fixture "two-containers.yaml"
    Then the attempt counted in "{}" is at least 2

  Scenario: Fails on every attempt
    Then the attempt counted in "{}" is at least 100

  Scenario: Passes at once
    Then the attempt counted in "{}" is at least 1
"#,
        counter("flaky"),
        counter("always"),
        counter("once")
    )
}

fn check(cond: bool, what: impl FnOnce() -> String, errors: &mut Vec<String>) {
    if !cond {
        errors.push(what());
    }
}

/// Runs the feature in a directory of its own; `baseline` lists, as scenario names, the known
/// failures to gate the run against.
async fn run(target: Arc<dyn Target>, retry: usize, baseline: &[&str]) -> Result<(report::RunRecord, tempfile::TempDir), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let features = dir.path().join("features");
    std::fs::create_dir_all(&features).map_err(|e| e.to_string())?;
    let feature_path = features.join("retry.feature");
    std::fs::write(&feature_path, feature(dir.path())).map_err(|e| e.to_string())?;
    let baseline = match baseline {
        [] => None,
        names => {
            let path = dir.path().join("baseline.txt");
            let lines: Vec<String> = names.iter().map(|n| format!("{} | {n} | fails by design\n", feature_path.display())).collect();
            std::fs::write(&path, lines.concat()).map_err(|e| e.to_string())?;
            Some(path)
        }
    };
    let options = RunOptions {
        features: vec![features],
        report_dir: dir.path().join("reports"),
        concurrency: 3,
        fixtures_dir: root.join("fixtures"),
        timeouts: Timeouts::default(),
        retry,
        baseline,
        ..Default::default()
    };
    let record = runner::run(&options, target).await.map_err(|e| e.to_string())?;
    Ok((record, dir))
}

fn by_name<'a>(record: &'a report::RunRecord, name: &str) -> &'a report::ScenarioRecord {
    record.scenarios.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name:?} in {:?}", record.scenarios))
}

async fn checks(target: Arc<dyn Target>) -> Vec<String> {
    let mut errors = Vec::new();

    // Without --retry, the scenario that fails on its first attempt fails.
    let (record, _dir) = match run(target.clone(), 0, &[]).await {
        Ok(r) => r,
        Err(e) => return vec![format!("the run without --retry: {e}")],
    };
    let s = by_name(&record, "Fails on its first attempt only");
    check(s.status == Status::Failed && s.attempts.is_empty(), || format!("without --retry: {s:?}"), &mut errors);

    // With --retry 2: flaky, failed, passed.
    let (record, dir) = match run(target.clone(), 2, &[]).await {
        Ok(r) => r,
        Err(e) => return vec![format!("the run with --retry 2: {e}")],
    };
    let flaky = by_name(&record, "Fails on its first attempt only");
    check(flaky.status == Status::Flaky, || format!("the scenario that failed once is flaky: {flaky:?}"), &mut errors);
    check(
        flaky.attempts.len() == 1 && flaky.attempts[0].message.contains("attempt 1 of the counter") && flaky.attempts[0].step_line == 5,
        || format!("its first attempt's failure is kept: {:?}", flaky.attempts),
        &mut errors,
    );
    check(flaky.failure.is_none(), || format!("a flaky scenario has no failure of its own: {:?}", flaky.failure), &mut errors);
    check(
        flaky.manifest_changes.iter().any(|c| c.contains("spec.nodeName")),
        || format!("the reference's one change to the manifest is recorded: {:?}", flaky.manifest_changes),
        &mut errors,
    );
    let always = by_name(&record, "Fails on every attempt");
    check(
        always.status == Status::Failed
            && always.attempts.len() == 2
            && always.failure.as_ref().is_some_and(|f| f.message.contains("attempt 3 ")),
        || format!("a scenario that fails on all 3 attempts is failed, with the 2 earlier ones: {always:?}"),
        &mut errors,
    );
    let once = by_name(&record, "Passes at once");
    check(once.status == Status::Passed && once.attempts.is_empty(), || format!("{once:?}"), &mut errors);
    check(
        record.summary.passed == 1 && record.summary.flaky == 1 && record.summary.failed == 1,
        || format!("summary: {:?}", record.summary),
        &mut errors,
    );

    let reports = dir.path().join("reports");
    let json = std::fs::read_to_string(reports.join(report::JSON_FILE)).unwrap_or_default();
    check(json.contains("\"status\": \"flaky\"") && json.contains("\"attempts\""), || format!("report.json:\n{json}"), &mut errors);
    let md = std::fs::read_to_string(reports.join(report::MARKDOWN_FILE)).unwrap_or_default();
    check(
        md.contains("## Flaky") && md.contains("1 flaky (passed on a retry)") && md.contains("#### Attempt 1"),
        || format!("report.md:\n{md}"),
        &mut errors,
    );
    let xml = std::fs::read_to_string(reports.join(report::JUNIT_FILE)).unwrap_or_default();
    let case = xml.split("<testcase").find(|c| c.contains("Fails on its first attempt only")).unwrap_or_default();
    check(
        case.contains("<flakyFailure message=\"Then the attempt counted in")
            && case.contains("type=\"StepFailed\"")
            && case.contains("<system-out>Attempt 1 of 2 failed")
            && case.contains("<stackTrace>")
            && !case.contains("<failure"),
        || format!("junit.xml, the flaky testcase: {case}"),
        &mut errors,
    );
    let case = xml.split("<testcase").find(|c| c.contains("Fails on every attempt")).unwrap_or_default();
    check(
        case.contains("<failure") && case.matches("<rerunFailure").count() == 2,
        || format!("junit.xml, the failed testcase: {case}"),
        &mut errors,
    );

    // A baseline that lists the scenario that always fails: the gate passes, and lists the flaky one.
    match run(target, 2, &["Fails on every attempt"]).await {
        Err(e) => errors.push(format!("the gated run: {e}")),
        Ok((record, _dir)) => {
            let v = record.baseline.clone().unwrap_or_default();
            check(
                v.passed && v.new_failures.is_empty() && v.flaky.len() == 1 && v.flaky[0].scenario == "Fails on its first attempt only",
                || format!("the gate counts the flaky scenario as passed and lists it: {v:?}"),
                &mut errors,
            );
        }
    }
    errors
}

fn main() -> ExitCode {
    std::env::set_var("PODSPEC_SHIM", env!("CARGO_BIN_EXE_podspec-shim"));
    std::env::set_var("PODSPEC_AGENT", env!("CARGO_BIN_EXE_podspec-agent"));
    if let Err(e) = podspec::privileges::ensure() {
        println!("retry: NOT RUN: {e}");
        return ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let target: Arc<dyn Target> = match ReferenceTarget::start(Paths::from_env().expect("helper programs")).await {
            Ok(t) => Arc::new(t),
            Err(e) => {
                eprintln!("retry: cannot start the reference target: {e}");
                return ExitCode::FAILURE;
            }
        };
        let errors = checks(target.clone()).await;
        let shutdown = target.shutdown().await;
        for e in &errors {
            eprintln!("retry: FAILED: {e}");
        }
        if let Err(e) = shutdown {
            eprintln!("retry: shutting the reference target down: {e}");
            return ExitCode::FAILURE;
        }
        if errors.is_empty() {
            println!("retry: flaky, failed and passed scenarios are reported as such in every report");
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
