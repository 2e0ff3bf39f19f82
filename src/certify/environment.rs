//! environment.json: what was certified, with what, and how much of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::targets::kube::connect::NodeInfo;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub target: String,
    /// The API server's URL (empty for the reference target).
    pub server_url: String,
    pub server_version: String,
    pub nodes: Vec<NodeInfo>,
    pub podspec_version: String,
    pub features_sha256: String,
    /// The tag expression the run used.
    pub tags: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// True when the run was narrowed (by tags) or a `@conformance` scenario was skipped.
    pub partial: bool,
    /// How the run was narrowed (tags, a features path other than the suite's).
    #[serde(default)]
    pub narrowed_by: Vec<String>,
    /// The `@conformance` scenarios the run did not run, and why.
    pub missing: Vec<Missing>,
    /// What the target changed in what the scenarios wrote.
    #[serde(default)]
    pub target_changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub feature_path: String,
    pub scenario: String,
    pub reason: String,
}
