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
    /// A scenario ended; `done` of `total` scenarios are over.
    ScenarioFinished {
        record: &'a ScenarioRecord,
        done: usize,
        total: usize,
    },
}

pub trait Observer: Send + Sync + std::fmt::Debug {
    fn event(&self, event: &RunEvent<'_>);
}
