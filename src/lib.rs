//! podspec: a conformance harness for Kubernetes Pods. This package is the command line (the
//! `podspec` binary: `main.rs`, `cli.rs`, `commands/`, one file per subcommand, `signals.rs`; and
//! the helper binaries under `bin/`, built here so that they land beside `podspec`). Its library
//! holds what only the command line and the cucumber test binaries use (`docs`, the book's
//! generated pages; `limits` and `privileges`, set up before any thread starts) and re-exports
//! the layers below it, so that `podspec::targets`, `podspec::steps`, `podspec::runner`, ... keep
//! their paths for the binaries and `tests/`.
//!
//! Layers, each seeing only the ones below it (Cargo holds the crates to them; `tests/it/layers.rs`
//! names a line that breaks one):
//! 1. the command line (this package);
//! 2. the harness (`podspec-harness`): `steps` (the Gherkin step vocabulary, run by `runner` over
//!    `features/`), `targets` (the Target trait the steps drive, beside its implementations: the
//!    reference and cri targets are clients of `node`), `certify` (the conformance results bundle,
//!    Sonobuoy mode), `bench`, and `runtime` (re-exports of the runtimes, as the targets name them);
//! 3. beside the harness, `server` (`podspec-server`, `podspec serve`'s HTTP API over the node);
//! 4. `node` (`podspec-node`: the node's controllers, the cluster's CA, the scheduler's bind and
//!    the kubelet, `runtime::kubelet`), over `api` (`podspec-api`: the store, strategies and
//!    validation, and `manifest`, reading pod YAML);
//! 5. the runtimes: `podspec-cri` (the runtime interface, the CRI client, the CRI log format, the
//!    remote command protocol; here as `runtime::cri*` and `remotecommand`), `podspec-linux` (the
//!    Linux runtime and its shim; `runtime::linux`), `podspec-cgroup`; `images` (`podspec-images`).
//!
//! Beside them: `report` (`podspec-report`: run records and their writers, the baseline gate, the
//! matrix), `paths` (`podspec-fs`: reading a file podspec is given, a regular file only; paths a
//! container controls resolved inside their root; podspec's private directories), and
//! `podspec-agent` (the in-container agent, std and libc only; its binary is
//! `src/bin/podspec-agent.rs`).

pub use podspec_harness::api;
pub use podspec_harness::{bench, bench_stored, certify, runner, runtime, steps, targets};
pub mod docs;
pub use podspec_harness::images;
pub mod limits;
pub use podspec_harness::manifest;
pub use podspec_harness::node;
pub use podspec_harness::paths;
pub mod privileges;
pub use podspec_cri::remotecommand;
pub use podspec_harness::report;
pub use podspec_server as server;
