//! The cgroup v2 code of the reference runtime, on a real unified hierarchy. Machines of this
//! kind mount their controllers on v1 and an empty v2 hierarchy beside them
//! (`/sys/fs/cgroup/unified`): there the tree is made, a process joins it, a limit the
//! hierarchy cannot apply is an error naming it, and removal ends the process and leaves no
//! directory. Only podspec's own subtree is written. The test needs root and such a
//! hierarchy: it is ignored by a plain `cargo test`, and fails where it is run on purpose without them.

use std::path::{Path, PathBuf};
use std::process::Command;

use podspec::runtime::linux::cgroup::{Cgroup, Limits};

/// A cgroup2 mount point from /proc/self/mountinfo, if one is writable.
fn unified_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let point = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        right.starts_with("cgroup2 ").then(|| left.split(' ').nth(4).map(PathBuf::from))?
    })?;
    nix::unistd::access(&point, nix::unistd::AccessFlags::W_OK).ok().map(|()| point)
}

fn cgroup_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap().lines().find(|l| l.starts_with("0::")).unwrap_or("").to_string()
}

#[test]
#[ignore = "needs root and a writable cgroup v2 hierarchy"]
fn a_v2_tree_is_made_joined_limited_honestly_and_removed() {
    let mount = unified_mount().expect("no writable cgroup v2 hierarchy is mounted here");
    // Where podspec's process sits in the unified hierarchy, podspec's subtree goes.
    let own = cgroup_of(std::process::id());
    let own = own.trim_start_matches("0::").trim_start_matches('/');
    let base = mount.join(own).join("podspec").join(format!("test-v2-{}", std::process::id()));
    let run = Cgroup { v2: true, dirs: vec![(String::new(), base.clone())] };
    let container = run.child("podx").child("app");
    container.create().expect("the v2 tree is made");
    assert!(container.dirs[0].1.is_dir());

    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    std::fs::write(&container.procs_files()[0], sleeper.id().to_string()).expect("the process joins its cgroup");
    let relative = container.dirs[0].1.strip_prefix(&mount).unwrap().display().to_string();
    assert_eq!(cgroup_of(sleeper.id()), format!("0::/{relative}"));

    // Limits need the controllers enabled for the subtree: where the hierarchy has none, a
    // limit asked for is an error that names it, never a silent no-op.
    let available = std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
    if !available.split_whitespace().any(|c| c == "memory") {
        assert!(!container.has("memory"));
        let err = container.set_limits(&Limits { memory_bytes: Some(64 << 20), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("memory.max"), "{err}");
    }

    run.remove().expect("the tree is removed");
    assert!(!Path::new(&base).exists(), "{} is left behind", base.display());
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "the process in the removed cgroup was ended: {status:?}");
    podspec::runtime::linux::cgroup::remove_subtree_if_empty(&run);
}
