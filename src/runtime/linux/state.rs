//! The state directory of a run, and the removal of what killed runs left behind.
//!
//! `<state>/runs/<run-id>/` holds:
//! - `owner`: the podspec process that owns the run (PID and start time);
//! - `procs/`: one record per process the run started (sandboxes, shims, container processes);
//! - `cgroups.json`: the root of the run's cgroups (`podspec/<run>` per hierarchy);
//! - `pods/<uid>/`: each pod's directories (volumes, /dev/shm, hosts file, container layers).
//!
//! Every mount podspec makes lives in a container's private mount namespace, so it disappears
//! with the container's processes; nothing is mounted on the node's own mount table.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;

use super::cgroup::{self, Cgroup};
use super::process::{recorded, ProcessId};

/// The file in a run's directory naming the root of its cgroups.
const CGROUPS_FILE: &str = "cgroups.json";

/// What a clean-up removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanReport {
    pub runs: Vec<PathBuf>,
    pub processes: usize,
    pub mounts: usize,
}

impl CleanReport {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// The directory of one run, owned by this process while it lives.
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn create(state_dir: &Path, run_id: &str) -> std::io::Result<Self> {
        let path = state_dir.join("runs").join(run_id);
        fs::create_dir_all(path.join("procs"))?;
        fs::create_dir_all(path.join("pods"))?;
        let me = ProcessId::of(std::process::id() as i32).ok_or_else(|| std::io::Error::other("cannot read own /proc entry"))?;
        fs::write(path.join("owner"), me.encode())?;
        Ok(Self { path })
    }

    pub fn procs(&self) -> PathBuf {
        self.path.join("procs")
    }

    /// Records the root of the run's cgroups, so that the run's end, or the clean-up of a
    /// killed run, removes them (wherever the cleaning process itself runs).
    pub fn record_cgroups(&self, cgroups: &Cgroup) -> std::io::Result<()> {
        fs::write(self.path.join(CGROUPS_FILE), serde_json::to_vec(cgroups).map_err(std::io::Error::other)?)
    }

    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.path.join("pods").join(uid)
    }

    /// Ends every process of the run and removes the run's directory.
    pub fn remove(&self) -> std::io::Result<CleanReport> {
        remove_run(&self.path)
    }
}

/// Removes runs whose owner is gone (killed): their processes, any mount under them, their
/// directories. Runs of live podspec processes are left alone.
pub fn clean_stale(state_dir: &Path) -> std::io::Result<CleanReport> {
    let mut report = CleanReport::default();
    let runs = state_dir.join("runs");
    let Ok(entries) = fs::read_dir(&runs) else { return Ok(report) };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let owner = fs::read_to_string(path.join("owner")).ok().and_then(|t| ProcessId::decode(&t));
        if owner.is_some_and(|o| o.is_alive()) {
            continue;
        }
        let r = remove_run(&path)?;
        report.processes += r.processes;
        report.mounts += r.mounts;
        report.runs.push(path);
    }
    Ok(report)
}

fn remove_run(path: &Path) -> std::io::Result<CleanReport> {
    let mut report = CleanReport { runs: vec![path.to_path_buf()], ..Default::default() };
    for p in recorded(&path.join("procs")) {
        if p.signal(Signal::SIGKILL) {
            report.processes += 1;
        }
    }
    wait_gone(&recorded(&path.join("procs")));
    if let Some(cgroups) = fs::read(path.join(CGROUPS_FILE)).ok().and_then(|b| serde_json::from_slice::<Cgroup>(&b).ok()) {
        cgroups.remove()?;
        cgroup::remove_subtree_if_empty(&cgroups);
    }
    report.mounts = unmount_under(path);
    fs::remove_dir_all(path).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })?;
    Ok(report)
}

fn wait_gone(procs: &[ProcessId]) {
    for _ in 0..200 {
        if procs.iter().all(|p| !p.is_alive()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Mount points under `dir` in the node's mount table. podspec never mounts there, but a
/// directory is only removed after checking, so removal never reaches into a mounted tree.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    // Deepest first.
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

fn unmount_under(dir: &Path) -> usize {
    let mut n = 0;
    for m in mounts_under(dir) {
        if nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH).is_ok() {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_whose_owner_is_gone_is_removed_and_a_live_one_is_kept() {
        let state = std::env::temp_dir().join(format!("podspec-state-test-{}", std::process::id()));
        let live = RunDir::create(&state, "live").unwrap();
        let dead = state.join("runs/dead");
        fs::create_dir_all(dead.join("pods/x")).unwrap();
        // An owner that cannot be alive: our PID with another start time.
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        fs::write(dead.join("owner"), ProcessId { start_time: me.start_time + 7, ..me }.encode()).unwrap();

        let report = clean_stale(&state).unwrap();
        assert_eq!(report.runs, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(live.path.exists());
        live.remove().unwrap();
        assert!(!live.path.exists());
        let _ = fs::remove_dir_all(&state);
    }
}
