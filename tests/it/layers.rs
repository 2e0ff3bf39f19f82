//! Layer rules Cargo cannot hold inside one crate: the kubelet (in the `podspec-node` crate)
//! reaches a runtime only through the runtime interface (`podspec_cri::cri`), never the Linux
//! runtime's own modules (the `podspec-linux` crate, which the node itself uses to start its own
//! runtime), as the kubelet must run the same over a CRI runtime. What it shares with that
//! runtime (cgroups, safe paths, the mount table) lies in crates below both (`podspec-cgroup`,
//! `podspec-fs`).
//!
//! The API (`podspec-api`) lies below the kubelet, the runtime, the server and the targets; the
//! node (`podspec-node`) lies over the API and the runtimes and below the server, the targets and
//! the harness; the server (`podspec-server`, `podspec serve`'s HTTP API) lies over the node,
//! beside the harness. The harness (`podspec-harness`: the targets, the steps, the runner,
//! certify, bench) lies over the node and below the command line (the `podspec` package: `cli`,
//! `commands`). Cargo holds that (none of these crates depends on what lies above it); the rules
//! here say it where it can be read and name the line that breaks it.

use std::fs;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines of `text` (numbered from 1) that match `pattern`, outside comments.
fn code_lines_matching(text: &str, pattern: &str) -> Vec<(usize, String)> {
    let pattern = regex::Regex::new(pattern).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| pattern.is_match(l))
        .map(|(n, l)| (n + 1, l.trim().to_string()))
        .collect()
}

/// Each line of `files` that `names` finds, as `path:line: text` from the project's root.
fn found_in(files: &[std::path::PathBuf], names: fn(&str) -> Vec<(usize, String)>) -> Vec<String> {
    let mut found = Vec::new();
    for f in files {
        for (n, l) in names(&fs::read_to_string(f).unwrap()) {
            found.push(format!("{}:{n}: {l}", f.strip_prefix(ROOT).unwrap().display()));
        }
    }
    found
}

/// The lines of `text` that name the Linux runtime, outside comments.
fn names_of_the_linux_runtime(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(text, r"\bpodspec_linux\b|\blinux::|runtime::linux\b")
}

#[test]
fn the_kubelet_never_imports_the_linux_runtime() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("crates/podspec-node/src/kubelet"), &mut files);
    assert!(files.len() > 10, "the kubelet's files were not found: {files:?}");
    let found = found_in(&files, names_of_the_linux_runtime);
    assert!(found.is_empty(), "the kubelet reaches into the Linux runtime (use the runtime interface, or move what both need below both):\n{}", found.join("\n"));
}

#[test]
fn an_import_of_the_linux_runtime_is_seen() {
    let text = "use crate::runtime::linux::cgroup::Limits;\n// runtime::linux in a comment\n    pub cgroup: super::linux::cgroup::Cgroup,\nuse podspec_linux::state;\nuse podspec_cri::cri;\n";
    let lines: Vec<usize> = names_of_the_linux_runtime(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 3, 4]);
}

/// The lines of `text` that name podspec's layers above the API (the main crate, the kubelet,
/// the runtimes, the server, the targets, the harness), outside comments.
fn names_above_the_api(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(
        text,
        r"\bpodspec::|\bcrate::(runtime|kubelet|node|server|targets|steps|runner|commands|certify|bench)\b|\bkubelet::|\bpodspec_(cri|linux|cgroup|images|report|agent|harness)\b",
    )
}

#[test]
fn the_api_crate_names_nothing_above_it() {
    let api = Path::new(ROOT).join("crates/podspec-api");
    let mut files = Vec::new();
    rust_files(&api.join("src"), &mut files);
    assert!(files.len() > 20, "the API's files were not found: {files:?}");
    let mut found = found_in(&files, names_above_the_api);
    // Of podspec's own crates, it may use only the leaf that reads files.
    let manifest = fs::read_to_string(api.join("Cargo.toml")).unwrap();
    for (n, l) in manifest.lines().enumerate() {
        let l = l.trim();
        if l.starts_with("podspec") && !l.starts_with("podspec-fs ") {
            found.push(format!("crates/podspec-api/Cargo.toml:{}: {l}", n + 1));
        }
    }
    assert!(found.is_empty(), "the API reaches up (move what it needs into the API or below it):\n{}", found.join("\n"));
}

#[test]
fn a_name_above_the_api_is_seen() {
    let text = "crate::runtime::kubelet::node_status::node_object(k)\n// crate::server in a comment\nuse crate::runtime_classes::X;\nuse podspec::targets::Target;\n    podspec_cri::cri::PodSandbox,\nuse crate::validation::FieldError;\nuse podspec_harness::steps;\n";
    let lines: Vec<usize> = names_above_the_api(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 4, 5, 7]);
}

/// The lines of `text` that name podspec's layers above the node (the main crate, the server,
/// the targets, the harness, the run reports), outside comments.
fn names_above_the_node(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(
        text,
        r"\bpodspec::|\bcrate::(server|targets|steps|runner|commands|certify|bench)\b|\bpodspec_(server|report|harness)\b",
    )
}

#[test]
fn the_node_crate_names_nothing_above_it() {
    let node = Path::new(ROOT).join("crates/podspec-node");
    let mut files = Vec::new();
    rust_files(&node.join("src"), &mut files);
    assert!(files.len() > 20, "the node's files were not found: {files:?}");
    let mut found = found_in(&files, names_above_the_node);
    // Of podspec's own crates, it may use only those below it: the API, the runtime interface
    // and podspec's own runtime, the images, cgroups and files.
    let below = ["podspec-api ", "podspec-cgroup ", "podspec-cri ", "podspec-fs ", "podspec-images ", "podspec-linux "];
    let manifest = fs::read_to_string(node.join("Cargo.toml")).unwrap();
    for (n, l) in manifest.lines().enumerate() {
        let l = l.trim();
        if l.starts_with("podspec") && !below.iter().any(|b| l.starts_with(b)) {
            found.push(format!("crates/podspec-node/Cargo.toml:{}: {l}", n + 1));
        }
    }
    assert!(found.is_empty(), "the node reaches up (move what it needs into the node or below it):\n{}", found.join("\n"));
}

#[test]
fn a_name_above_the_node_is_seen() {
    let text = "use podspec::targets::Target;\n// crate::server in a comment\nuse crate::kubelet::Kubelet;\n    crate::steps::World,\nuse podspec_report::RunRecord;\nuse podspec_api::Api;\nuse crate::runner;\nuse podspec_harness::targets::Target;\n";
    let lines: Vec<usize> = names_above_the_node(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 4, 5, 7, 8]);
}

/// The lines of `text` that name the harness (the main crate, the harness crate, the targets,
/// the steps, the runner, the commands, certify, bench, the run reports), outside comments.
fn names_of_the_harness(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(text, r"\bpodspec::|\bpodspec_harness\b|\bcrate::(targets|steps|runner|commands|certify|bench)\b|\bpodspec_report\b")
}

#[test]
fn the_server_crate_names_nothing_of_the_harness() {
    let server = Path::new(ROOT).join("crates/podspec-server");
    let mut files = Vec::new();
    rust_files(&server.join("src"), &mut files);
    assert!(files.len() > 20, "the server's files were not found: {files:?}");
    let mut found = found_in(&files, names_of_the_harness);
    // Of podspec's own crates, it may use only the node and those below it.
    let below = ["podspec-api ", "podspec-cri ", "podspec-images ", "podspec-node "];
    let manifest = fs::read_to_string(server.join("Cargo.toml")).unwrap();
    for (n, l) in manifest.lines().enumerate() {
        let l = l.trim();
        if l.starts_with("podspec") && !below.iter().any(|b| l.starts_with(b)) {
            found.push(format!("crates/podspec-server/Cargo.toml:{}: {l}", n + 1));
        }
    }
    assert!(found.is_empty(), "the server reaches into the harness (move what both need into the node or below it):\n{}", found.join("\n"));
}

#[test]
fn a_name_of_the_harness_is_seen() {
    let text = "use podspec::targets::Target;\n// crate::steps in a comment\nuse crate::pods::create;\n    crate::runner::run(),\nuse podspec_node::Node;\nuse podspec_report::RunRecord;\nuse podspec_harness::steps::PodWorld;\n";
    let lines: Vec<usize> = names_of_the_harness(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 4, 6, 7]);
}

/// The lines of `text` that name the command line (the `podspec` package: its library, `cli`,
/// `commands`, and what only the binaries set up), outside comments.
fn names_of_the_cli(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(text, r"\bpodspec::|\bcrate::(cli|commands|signals|docs|limits|privileges)\b")
}

/// The lines of a Cargo.toml that make the `podspec` package (the command line) a dependency.
fn the_cli_as_a_dependency(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(text, r#"^\s*podspec\s*=|^\s*\[.*dependencies\.podspec\]|package\s*=\s*"podspec""#)
}

#[test]
fn the_harness_crate_names_nothing_of_the_cli() {
    let harness = Path::new(ROOT).join("crates/podspec-harness");
    let mut files = Vec::new();
    rust_files(&harness.join("src"), &mut files);
    assert!(files.len() > 40, "the harness's files were not found: {files:?}");
    let mut found = found_in(&files, names_of_the_cli);
    let manifest = fs::read_to_string(harness.join("Cargo.toml")).unwrap();
    for (n, l) in the_cli_as_a_dependency(&manifest) {
        found.push(format!("crates/podspec-harness/Cargo.toml:{n}: {l}"));
    }
    assert!(found.is_empty(), "the harness reaches into the command line (move what it needs into the harness, or keep it in the CLI):\n{}", found.join("\n"));
}

#[test]
fn a_name_of_the_cli_is_seen() {
    let text = "use crate::commands::run;\n// crate::cli in a comment\nuse crate::client::X;\n    crate::cli::Cli::parse(),\nuse podspec::docs;\nuse crate::steps::World;\n";
    let lines: Vec<usize> = names_of_the_cli(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 4, 5]);
    let manifest = "[dependencies]\npodspec-node = { path = \"../podspec-node\" }\npodspec = { path = \"../..\" }\n[dev-dependencies.podspec]\ncli = { package = \"podspec\", path = \"../..\" }\n";
    let lines: Vec<usize> = the_cli_as_a_dependency(manifest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![3, 4, 5]);
}

/// The lines of `text` that name podspec serve's HTTP API, outside comments.
fn names_of_the_server(text: &str) -> Vec<(usize, String)> {
    code_lines_matching(text, r"\bpodspec_server\b|\bcrate::server\b|^\s*podspec-server\s*=")
}

#[test]
fn the_harness_crate_names_nothing_of_the_server() {
    let harness = Path::new(ROOT).join("crates/podspec-harness");
    let mut files = Vec::new();
    rust_files(&harness.join("src"), &mut files);
    files.push(harness.join("Cargo.toml"));
    let found = found_in(&files, names_of_the_server);
    assert!(
        found.is_empty(),
        "the harness reaches into podspec serve's HTTP API, which stands beside it over the node (move what both need down into the API or the node):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_name_of_the_server_is_seen() {
    let text = "use crate::server::patch;\n// podspec_server in a comment\nuse crate::servers::X;\npodspec-server = { path = \"../podspec-server\" }\n    podspec_server::run(),\n";
    let lines: Vec<usize> = names_of_the_server(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 4, 5]);
}
