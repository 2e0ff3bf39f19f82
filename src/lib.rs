//! podspec: a conformance harness for Kubernetes Pods.
//!
//! Layers, each seeing only the ones below it:
//! 1. `steps`: the Gherkin step vocabulary, run by `runner` over `features/`;
//! 2. `targets`: the Target trait that steps drive (`targets/target.rs`), beside its implementations;
//!    the reference and cri targets, and `server` (`podspec serve`), are clients of `node`
//!    (the API of `api`, the controllers, the scheduler's bind, the kubelet);
//! 3. `runtime`: the reference runtime (a kubelet over a CRI-shaped Linux runtime);
//! 4. `images`: fixture images built locally and images pulled from a registry (the
//!    `podspec-images` crate).
//!
//! Beside them: `manifest` (reading pod YAML), `report` (JUnit, JSON, Markdown), `bench`,
//! `certify` (the conformance results bundle, Sonobuoy mode).
//!
//! Crates of the workspace below this one (crates/): `podspec-api` (the node's API, its store,
//! strategies and validation, and `manifest`; here as `api` and `manifest`), `podspec-node` (the
//! node: its controllers, the cluster's CA, the scheduler's bind and the kubelet; here as `node`
//! and `runtime::kubelet`), `podspec-server` (`podspec serve`'s HTTP API over the node; here as
//! `server`), `podspec-report` (run records and their
//! writers, the baseline gate, the matrix; here as `report`), `podspec-cri` (the runtime
//! interface, the CRI client, the CRI log format, the remote command protocol; here as
//! `runtime::cri*` and `remotecommand`), `podspec-linux` (the Linux runtime and its shim; here as
//! `runtime::linux`), `podspec-images` (here as `images`), `podspec-fs` (reading a file podspec
//! is given, a regular file only; paths a container controls resolved inside their root;
//! podspec's private directories and where they are; here also as `paths`) and `podspec-agent` (the
//! in-container agent, std and libc only; its binary is `src/bin/podspec-agent.rs`).

pub use podspec_api as api;
pub use podspec_harness::{bench, certify, runner, runtime, steps, targets};
pub mod docs;
pub use podspec_images as images;
pub mod limits;
pub use podspec_api::manifest;
pub use podspec_node as node;
pub use podspec_fs::paths;
pub mod privileges;
pub use podspec_cri::remotecommand;
pub use podspec_report as report;
pub use podspec_server as server;
