//! environment.json: what was certified, with what, and how much of it.

use jiff::Timestamp;
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
    #[serde(with = "podspec_report::time")]
    pub started: Timestamp,
    #[serde(with = "podspec_report::time")]
    pub finished: Timestamp,
    /// True exactly when a `@conformance` scenario of the suite was not run (left out by the
    /// options in `narrowed_by`, or skipped): `missing` names each.
    pub partial: bool,
    /// The options that left scenarios out (`--features` naming part of its suite, `--tags`,
    /// `--name`); empty when nothing was left out.
    #[serde(default)]
    pub narrowed_by: Vec<String>,
    /// The `@conformance` scenarios the run did not run, and why.
    pub missing: Vec<Missing>,
    /// What the target changed in what the scenarios wrote.
    #[serde(default)]
    pub target_changes: Vec<String>,
    /// What the run counts against: Kubernetes' Pod-related conformance tests of this release.
    #[serde(default)]
    pub conformance: ConformanceCount,
}

/// How many of a Kubernetes release's Pod-related conformance tests the features mirror
/// (`podspec list --conformance --release R` lists them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConformanceCount {
    /// The release (`1.32`); empty in a bundle written before podspec counted.
    pub release: String,
    /// The list it counts against (`fixtures/conformance/pod-tests-v1.32.txt`).
    pub list: String,
    /// Tests of the list with an equivalent scenario.
    pub covered: usize,
    /// Tests in the list.
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub feature_path: String,
    pub scenario: String,
    pub reason: String,
}
