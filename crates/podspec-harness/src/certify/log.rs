//! podspec.log, a run log in the manner of Kubernetes' `e2e.log`: a version line, each
//! scenario's start (`[It]`) and end, each step, each failure with its message, each skipped
//! scenario with its reason. Every line starts with its UTC time.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use crate::report::Status;
use crate::runner::observe::{Observer, RunEvent};

/// The version line's prefix (`--verify` looks for it).
pub const VERSION_LINE: &str = "podspec version ";
/// A scenario's start: `[It] FEATURE_PATH:LINE NAME`.
pub const STARTED: &str = "[It] ";
/// A scenario skipped before the run: `[SKIPPED] FEATURE_PATH:LINE NAME: REASON`.
pub const SKIPPED: &str = "[SKIPPED] ";

#[derive(Debug)]
pub struct RunLog {
    file: Mutex<std::fs::File>,
}

impl RunLog {
    /// Creates the log and writes its version line.
    pub fn create(path: &Path, version_line: &str) -> std::io::Result<Self> {
        let log = Self { file: Mutex::new(std::fs::File::create(path)?) };
        log.line(&format!("{VERSION_LINE}{version_line}"));
        Ok(log)
    }

    pub fn line(&self, text: &str) {
        let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
        let mut file = self.file.lock().unwrap();
        for l in text.lines() {
            let _ = writeln!(file, "{now} {l}");
        }
    }
}

impl Observer for RunLog {
    fn event(&self, event: &RunEvent<'_>) {
        match event {
            RunEvent::Started { selected, skipped } => self.line(&format!("Running {selected} scenarios ({skipped} skipped)")),
            RunEvent::Skipped { record } => self.line(&format!(
                "{SKIPPED}{}:{} {}: {}",
                record.feature_path,
                record.line,
                record.name,
                record.reason.as_deref().unwrap_or("")
            )),
            RunEvent::ScenarioStarted { feature_path, line, name } => self.line(&format!("{STARTED}{feature_path}:{line} {name}")),
            RunEvent::Step { feature_path, line, step, step_line, error } => {
                self.line(&format!("STEP: {step} ({feature_path}:{step_line}, scenario at line {line})"));
                if let Some(e) = error {
                    self.line(&format!("[FAILED] {feature_path}:{step_line}: {e}"));
                }
            }
            RunEvent::ScenarioFinished { record, done, total, failed, elapsed } => {
                let verdict = match record.status {
                    Status::Passed => "PASSED",
                    Status::Flaky => "FLAKY",
                    Status::Failed => "FAILED",
                    Status::Skipped => "SKIPPED",
                };
                self.line(&format!(
                    "• [{verdict}] [{} ms] {}:{} {} ({done}/{total}: {})",
                    record.duration_ms,
                    record.feature_path,
                    record.line,
                    record.name,
                    crate::runner::observe::progress_text(*done, *failed, *total, *elapsed)
                ));
            }
        }
    }
}

/// The last line, in the manner of Ginkgo's at the end of `e2e.log`:
/// `SUCCESS! -- 1 Passed | 0 Failed | 0 Pending | 1 Skipped` (`FAIL!` when any failed).
pub fn verdict_line(passed: usize, failed: usize, skipped: usize) -> String {
    let verdict = if failed == 0 { "SUCCESS!" } else { "FAIL!" };
    format!("{verdict} -- {passed} Passed | {failed} Failed | 0 Pending | {skipped} Skipped")
}

/// The scenario names a log says were run or skipped, in its order.
pub fn scenario_names(log: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in log.lines() {
        let Some((_, rest)) = line.split_once(' ') else { continue };
        if let Some(s) = rest.strip_prefix(STARTED) {
            names.push(s.split_once(' ').map(|(_, name)| name.to_string()).unwrap_or_default());
        } else if let Some(s) = rest.strip_prefix(SKIPPED) {
            let name = s.split_once(' ').map(|(_, n)| n).unwrap_or_default();
            names.push(name.split_once(": ").map(|(n, _)| n).unwrap_or(name).to_string());
        }
    }
    names
}
