//! How a step fails: a message, and for a value that did not match, what was expected against
//! what was seen, which the reports show as a diff.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Clone)]
pub struct StepFailure {
    pub message: String,
    pub mismatch: Option<Mismatch>,
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), mismatch: None }
    }

    pub fn mismatch(message: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self { message: message.into(), mismatch: Some(Mismatch { expected: expected.into(), actual: actual.into() }) }
    }
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(m) = &self.mismatch {
            write!(f, "\n  expected: {:?}\n  actual:   {:?}", m.expected, m.actual)?;
        }
        Ok(())
    }
}

impl std::error::Error for StepFailure {}

impl From<crate::targets::TargetError> for StepFailure {
    fn from(e: crate::targets::TargetError) -> Self {
        Self::new(e.to_string())
    }
}

/// Keeps a failure's mismatch in the world (where the report writer finds it) and returns it.
pub fn record(world: &mut super::PodWorld, result: Result<(), StepFailure>) -> Result<(), StepFailure> {
    if let Err(e) = &result {
        world.mismatch = e.mismatch.clone();
    }
    result
}
