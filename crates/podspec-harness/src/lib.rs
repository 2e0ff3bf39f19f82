//! podspec's harness: the targets a scenario runs against, the Gherkin steps, the runner,
//! certify and bench. Layers, each seeing only the ones below it:
//! 1. `steps`: the Gherkin step vocabulary, run by `runner` over `features/`;
//! 2. `targets`: the Target trait that steps drive (`targets/target.rs`), beside its
//!    implementations; the reference and cri targets are clients of `node` (the API of `api`,
//!    the controllers, the scheduler's bind, the kubelet);
//! 3. `runtime`: re-exports of the reference runtime (a kubelet over a CRI-shaped Linux runtime);
//! 4. `images`: fixture images built locally and images pulled from a registry.
//!
//! Beside them: `bench` and `bench_stored` (`podspec bench`), `certify` (the conformance results bundle,
//! Sonobuoy mode). The crate lies over the node, the API, the runtimes and the run reports; the
//! command line (the `podspec` package: `cli`, `commands`) lies over it, and it sees none of it.

#![forbid(unsafe_code)]

pub use podspec_api as api;
pub mod bench;
pub mod bench_stored;
pub mod certify;
pub use podspec_api::manifest;
pub use podspec_fs::paths;
pub use podspec_images as images;
pub use podspec_node as node;
pub use podspec_report as report;
pub mod runner;
pub mod runtime;
pub mod steps;
pub mod targets;
