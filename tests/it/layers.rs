//! Layer rules Cargo cannot hold inside the `podspec` crate: the kubelet reaches a runtime only
//! through the runtime interface (`runtime::cri`), never the Linux runtime's own modules (the
//! `podspec-linux` crate, re-exported as `runtime::linux`), as the kubelet must run the same over
//! a CRI runtime. What it shares with that runtime (cgroups, safe paths, the mount table) lies
//! in crates below both (`podspec-cgroup`, `podspec-fs`).

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

/// The lines of `text` that name the Linux runtime, outside comments.
fn names_of_the_linux_runtime(text: &str) -> Vec<(usize, String)> {
    let linux = regex::Regex::new(r"\bpodspec_linux\b|\blinux::|runtime::linux\b").unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| linux.is_match(l))
        .map(|(n, l)| (n + 1, l.trim().to_string()))
        .collect()
}

#[test]
fn the_kubelet_never_imports_the_linux_runtime() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src/runtime/kubelet"), &mut files);
    assert!(files.len() > 10, "the kubelet's files were not found: {files:?}");
    let mut found = Vec::new();
    for f in &files {
        for (n, l) in names_of_the_linux_runtime(&fs::read_to_string(f).unwrap()) {
            found.push(format!("{}:{n}: {l}", f.strip_prefix(ROOT).unwrap().display()));
        }
    }
    assert!(found.is_empty(), "the kubelet reaches into the Linux runtime (use the runtime interface, or move what both need below both):\n{}", found.join("\n"));
}

#[test]
fn an_import_of_the_linux_runtime_is_seen() {
    let text = "use crate::runtime::linux::cgroup::Limits;\n// runtime::linux in a comment\n    pub cgroup: super::linux::cgroup::Cgroup,\nuse podspec_linux::state;\nuse podspec_cri::cri;\n";
    let lines: Vec<usize> = names_of_the_linux_runtime(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![1, 3, 4]);
}
