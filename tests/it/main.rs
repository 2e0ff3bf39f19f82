//! The integration tests: one test binary (each file a module) instead of one per file, each
//! linking the whole library. The cucumber-driven suites (`features`, `podman`, `cri`, `retry`)
//! are test targets of their own (`harness = false`).
//!
//! Tests that need root, or a tool CI installs (podman, containerd, kubectl, python3), are
//! `#[ignore = "why"]`: `cargo test` says they were ignored, and CI runs them as root with
//! `cargo test -- --include-ignored`, where a missing tool fails the test.

#[path = "../support/mod.rs"]
mod support;

/// `podspec serve` started for a test, and what several test files do with it.
mod serve;

mod agent;
mod certify;
mod cgroup_v2;
mod cli;
mod conformance;
mod docs;
mod escape;
mod fuzz;
mod image_pull;
mod input;
mod kube;
mod import_graph;
mod layers;
mod reference_runtime;
mod reliability;
mod serve_attach;
mod serve_bench;
mod serve_concurrent_writes;
mod serve_cri;
mod serve_hostile;
mod serve_kubeconfig;
mod serve_kubectl;
mod serve_node_refusals;
mod serve_python;
mod serve_rbac;
mod serve_runtime_classes;
mod sonobuoy;
