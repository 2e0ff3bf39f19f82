//! What a run tells observers as it goes: each scenario's start, each step's outcome, each
//! scenario's end with its record. A certification log and Sonobuoy's progress reports are
//! observers.

use crate::report::ScenarioRecord;

/// One thing that happened in a run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The run begins: how many scenarios it selected and how many it skips.
    Started {
        selected: usize,
        skipped: usize,
    },
    /// A scenario skipped before the run (a capability the target lacks).
    Skipped {
        record: &'a ScenarioRecord,
    },
    ScenarioStarted {
        feature_path: &'a str,
        line: usize,
        name: &'a str,
    },
    /// A step ended: `error` is its failure message, `None` when it passed.
    Step {
        feature_path: &'a str,
        line: usize,
        step: &'a str,
        step_line: usize,
        error: Option<&'a str>,
    },
    /// A scenario ended; `done` of `total` scenarios are over, `failed` of them failed, and the
    /// run has taken `elapsed` so far.
    ScenarioFinished {
        record: &'a ScenarioRecord,
        done: usize,
        total: usize,
        failed: usize,
        elapsed: std::time::Duration,
    },
}

/// How far a run is: `12 done, 1 failed, 208 remaining, 3m12s elapsed`, as the progress line on
/// stderr, the certification log and Sonobuoy's progress message say it.
pub fn progress_text(done: usize, failed: usize, total: usize, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    let elapsed = match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    };
    format!("{done} done, {failed} failed, {} remaining, {elapsed} elapsed", total.saturating_sub(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn progress_says_done_failed_remaining_and_elapsed() {
        assert_eq!(progress_text(12, 1, 220, Duration::from_secs(192)), "12 done, 1 failed, 208 remaining, 3m12s elapsed");
        assert_eq!(progress_text(1, 0, 1, Duration::from_millis(6500)), "1 done, 0 failed, 0 remaining, 6s elapsed");
        assert_eq!(progress_text(3, 0, 9, Duration::from_secs(3 * 3600 + 65)), "3 done, 0 failed, 6 remaining, 3h01m05s elapsed");
    }
}

pub trait Observer: Send + Sync + std::fmt::Debug {
    fn event(&self, event: &RunEvent<'_>);
}
