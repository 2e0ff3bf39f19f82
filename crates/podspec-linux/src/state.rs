//! The state directory of a run, and the removal of what killed runs left behind.
//!
//! `<state>/runs/<run-id>/` holds:
//! - `owner`: the podspec process that owns the run (PID and start time);
//! - `procs/`: one record per process the run started (sandboxes, shims, container processes);
//! - `cgroups.json`: the root of the run's cgroups (`podspec/<run>` per hierarchy);
//! - `pods/<uid>/`: each pod's directories (volumes, /dev/shm, hosts file, container layers).
//!
//! A run directory is made as `runs/.new-<pid>-<start time>-<run-id>` with its `owner` file,
//! then renamed into place, all under the lock `<state>/runs.lock`; the clean-up of killed runs
//! holds the same lock, and removes only a directory whose owner is proven gone (the PID no
//! longer names the process that started at that time). A run starting at the same moment as
//! another is never mistaken for a killed one.
//!
//! Where the state directory is on a disk (on some machines `/run` is not a tmpfs), each run's
//! directory is a tmpfs of the run's own, mounted on it once it is in place (under the lock)
//! and marked private: a pod's start makes some forty files and directories there (container
//! layers, volumes, hosts file, specs, records of processes), which on ext4 cost the inode
//! allocator's search on each create (a two-container pod's start, debug build: a median of
//! 70-110 ms with the state on the root disk, 52-66 ms on a tmpfs). The `owner` file is written both beneath the
//! mount and on it, so a run is known whether or not its tmpfs is still mounted; the run's
//! removal, and the clean-up of a killed run (`podspec clean`, each start), unmount it with
//! everything under it before removing the directory. Every other mount podspec makes lives in
//! a container's private mount namespace, so it disappears with the container's processes.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;

use super::cgroup::{self, Cgroup};
use super::process::{recorded, ProcessId};
/// The mount table, read before a tree is removed (in `podspec-fs`, which the kubelet shares).
pub use podspec_fs::mounts_under;

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
        let runs = state_dir.join("runs");
        let path = runs.join(run_id);
        let me = ProcessId::of(std::process::id() as i32).ok_or_else(|| std::io::Error::other("cannot read own /proc entry"))?;
        let _lock = lock_runs(state_dir)?;
        let new = runs.join(format!(".new-{}-{}-{run_id}", me.pid, me.start_time));
        fs::create_dir_all(new.join("procs"))?;
        fs::create_dir_all(new.join("pods"))?;
        fs::write(new.join("owner"), me.encode())?;
        fs::rename(&new, &path)?;
        // Not where a mount would propagate to other mount namespaces: their copies would
        // outlive the run's unmount.
        if !on_tmpfs(&runs) && !podspec_fs::mount_propagates(&runs) {
            if let Err(e) = mount_run_tmpfs(&path) {
                // Without the right to mount (a user namespace), the run stays on the disk.
                tracing::debug!(error = %e, run = %path.display(), "the run's directory stays on the state directory's file system");
            } else {
                fs::create_dir_all(path.join("procs"))?;
                fs::create_dir_all(path.join("pods"))?;
                fs::write(path.join("owner"), me.encode())?;
            }
        }
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
    if !runs.exists() {
        return Ok(report);
    }
    let _lock = lock_runs(state_dir)?;
    let Ok(entries) = fs::read_dir(&runs) else { return Ok(report) };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        // Only a directory whose owner is proven gone is removed, or one whose removal
        // stopped halfway: a run directory is renamed into place with its `owner` file, and
        // removal takes that file last, so one without it is what a removal left.
        match owner_of(&path) {
            Some(owner) if owner.is_alive() => continue,
            Some(_) => {}
            None if is_half_removed(&path) => {}
            None => continue,
        }
        let r = remove_run(&path)?;
        report.processes += r.processes;
        report.mounts += r.mounts;
        report.runs.push(path);
    }
    Ok(report)
}

/// The owner of a run directory: its `owner` file, or for a directory still being made
/// (`.new-<pid>-<start time>-<run>`), its name.
fn owner_of(path: &Path) -> Option<ProcessId> {
    if let Some(owner) = fs::read_to_string(path.join("owner")).ok().and_then(|t| ProcessId::decode(&t)) {
        return Some(owner);
    }
    let name = path.file_name()?.to_str()?.strip_prefix(".new-")?;
    let mut parts = name.splitn(3, '-');
    Some(ProcessId { pid: parts.next()?.parse().ok()?, start_time: parts.next()?.parse().ok()? })
}

/// A run directory (not one being made) that has lost its `owner` file: only the removal of
/// a run made before removal took the owner last leaves one.
fn is_half_removed(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
    !name.starts_with('.') && path.is_dir() && !path.join("owner").exists()
}

/// Removes a run directory with its `owner` file last, so that a removal stopped halfway
/// (a killed process, a file that would not go) leaves a directory whose owner is still known.
fn remove_owner_last(path: &Path, remove: &dyn Fn(&Path) -> std::io::Result<()>) -> std::io::Result<()> {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name() != "owner" {
            remove(&entry.path())?;
        }
    }
    remove(&path.join("owner"))?;
    remove(path)
}

/// Removes a file, or a directory with everything under it; one already gone is no error.
fn remove_entry(path: &Path) -> std::io::Result<()> {
    let r = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    r.or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
}

/// The lock every creation of a run directory and every clean-up holds.
fn lock_runs(state_dir: &Path) -> std::io::Result<nix::fcntl::Flock<fs::File>> {
    // The state tree's root is podspec's user's alone (a pod's volumes, termination logs and
    // container specs lie under it).
    podspec_fs::private_dir(state_dir)?;
    fs::create_dir_all(state_dir.join("runs"))?;
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(state_dir.join("runs.lock"))?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| std::io::Error::from(e))
}

fn remove_run(path: &Path) -> std::io::Result<CleanReport> {
    let mut report = CleanReport { runs: vec![path.to_path_buf()], ..Default::default() };
    let procs = recorded(&path.join("procs"));
    // The PID namespaces of the run's containers: what was exec'd into a container lives there
    // without a record, and dies with the namespace's first process.
    let namespaces = container_pid_namespaces(&procs);
    for p in &procs {
        if p.signal(Signal::SIGKILL) {
            report.processes += 1;
        }
    }
    wait_gone(&procs, &namespaces)?;
    if let Some(cgroups) = fs::read(path.join(CGROUPS_FILE)).ok().and_then(|b| serde_json::from_slice::<Cgroup>(&b).ok()) {
        cgroups.remove()?;
        cgroup::remove_subtree_if_empty(&cgroups);
    }
    report.mounts = unmount_under(path);
    remove_owner_last(path, &remove_entry)?;
    Ok(report)
}

fn pid_namespace(pid: i32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/ns/pid")).ok()
}

/// The PID namespaces of `procs` other than this process's own.
fn container_pid_namespaces(procs: &[ProcessId]) -> Vec<PathBuf> {
    let own = pid_namespace(std::process::id() as i32);
    let mut found: Vec<PathBuf> = procs.iter().filter_map(|p| pid_namespace(p.pid)).filter(|ns| Some(ns) != own.as_ref()).collect();
    found.sort();
    found.dedup();
    found
}

/// Processes (not zombies) in any of `namespaces`.
fn members_of(namespaces: &[PathBuf]) -> Vec<i32> {
    if namespaces.is_empty() {
        return Vec::new();
    }
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid_namespace(pid).is_some_and(|ns| namespaces.contains(&ns)) && ProcessId::of(pid).is_some())
        .collect()
}

/// Returns once every process of the run is gone: those recorded, and every process in their
/// containers' PID namespaces. Gives up, saying which remain, after 10 s.
fn wait_gone(procs: &[ProcessId], namespaces: &[PathBuf]) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let alive: Vec<i32> = procs.iter().filter(|p| p.is_alive()).map(|p| p.pid).chain(members_of(namespaces)).collect();
        if alive.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(std::io::Error::other(format!("processes of the run still alive after 10 s: {alive:?}")));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// statfs's f_type of a tmpfs.
const TMPFS_MAGIC: nix::sys::statfs::FsType = nix::sys::statfs::TMPFS_MAGIC;

fn on_tmpfs(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| s.filesystem_type() == TMPFS_MAGIC)
}

/// Mounts a tmpfs (the run's user's alone) on the run's directory, private, so that nothing
/// mounted beneath it reaches another mount namespace.
fn mount_run_tmpfs(path: &Path) -> nix::Result<()> {
    use nix::mount::{mount, MsFlags};
    let none: Option<&str> = None;
    mount(Some("podspec"), path, Some("tmpfs"), MsFlags::empty(), Some("mode=0700"))?;
    if let Err(e) = mount(none, path, none, MsFlags::MS_PRIVATE, none) {
        let _ = nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH);
        return Err(e);
    }
    Ok(())
}

/// Unmounts every mount under `dir`, deepest first, `dir` itself (a run's tmpfs) last.
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

    #[test]
    fn a_run_on_a_disk_gets_a_tmpfs_of_its_own_which_its_removal_and_the_clean_up_of_a_killed_run_unmount() {
        // The test's state directory is on the disk (/var/tmp), as /run is on some machines.
        let state = std::path::PathBuf::from(format!("/var/tmp/podspec-state-test-tmpfs-{}", std::process::id()));
        fs::create_dir_all(&state).unwrap();
        if on_tmpfs(&state) || !nix::unistd::geteuid().is_root() || podspec_fs::mount_propagates(&state) {
            // Nothing to show where the state is already on a tmpfs, where mounts are not ours to
            // make, or where they would propagate (no tmpfs is mounted there).
            let _ = fs::remove_dir_all(&state);
            return;
        }
        let live = RunDir::create(&state, "live").unwrap();
        assert!(on_tmpfs(&live.path), "the run's directory is a tmpfs");
        assert!(live.path.join("procs").is_dir() && live.path.join("pods").is_dir());
        assert!(owner_of(&live.path).is_some_and(|o| o.is_alive()), "its owner is known on the tmpfs");
        live.remove().unwrap();
        assert!(!live.path.exists());
        assert!(mounts_under(&state).is_empty(), "removed with its mount");

        // A killed run's tmpfs: its owner's start time another than ours.
        let killed = RunDir::create(&state, "killed").unwrap();
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        fs::write(killed.path.join("owner"), ProcessId { start_time: me.start_time + 7, ..me }.encode()).unwrap();
        let report = clean_stale(&state).unwrap();
        assert_eq!(report.runs, vec![killed.path.clone()]);
        assert_eq!(report.mounts, 1, "{report:?}");
        assert!(!killed.path.exists());
        assert!(mounts_under(&state).is_empty());
        let _ = fs::remove_dir_all(&state);
    }

    #[test]
    fn a_run_directory_being_made_is_removed_only_once_its_maker_is_gone() {
        // A run being made by a live process (this one) is kept.
        let state = std::env::temp_dir().join(format!("podspec-state-test-owner-{}", std::process::id()));
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        let starting = state.join(format!("runs/.new-{}-{}-y", me.pid, me.start_time));
        fs::create_dir_all(starting.join("procs")).unwrap();
        let report = clean_stale(&state).unwrap();
        assert!(report.is_empty(), "{report:?}");
        assert!(starting.exists());
        fs::remove_dir_all(&starting).unwrap();
        // One being made by a killed process (its name says who) is removed.
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        let killed = state.join(format!("runs/.new-{}-{}-x", me.pid, me.start_time + 3));
        fs::create_dir_all(killed.join("procs")).unwrap();
        let report = clean_stale(&state).unwrap();
        assert_eq!(report.runs, vec![killed.clone()]);
        let _ = fs::remove_dir_all(&state);
    }

    #[test]
    fn a_run_whose_removal_stopped_halfway_is_still_removed() {
        // As a removal that took the owner first, then stopped, left it.
        let state = std::env::temp_dir().join(format!("podspec-state-test-half-{}", std::process::id()));
        let half = state.join("runs/half");
        fs::create_dir_all(half.join("pods/x/volumes")).unwrap();
        fs::create_dir_all(half.join("procs")).unwrap();
        let report = clean_stale(&state).unwrap();
        assert_eq!(report.runs, vec![half.clone()]);
        assert!(!half.exists());
        let _ = fs::remove_dir_all(&state);
    }

    #[test]
    fn removal_takes_the_owner_last_so_a_stopped_removal_is_still_known() {
        let state = std::env::temp_dir().join(format!("podspec-state-test-last-{}", std::process::id()));
        let dead = state.join("runs/dead");
        fs::create_dir_all(dead.join("pods/x")).unwrap();
        fs::create_dir_all(dead.join("procs")).unwrap();
        fs::write(dead.join("zz-last-listed"), "").unwrap();
        let me = ProcessId::of(std::process::id() as i32).unwrap();
        fs::write(dead.join("owner"), ProcessId { start_time: me.start_time + 7, ..me }.encode()).unwrap();
        // A removal that fails at the second thing it removes (the owner went first before).
        let calls = std::cell::Cell::new(0);
        let failing = |p: &Path| {
            calls.set(calls.get() + 1);
            if calls.get() == 2 {
                return Err(std::io::Error::other("stopped"));
            }
            remove_entry(p)
        };
        remove_owner_last(&dead, &failing).unwrap_err();
        assert!(dead.join("owner").exists(), "the owner went before the rest");
        assert_eq!(owner_of(&dead).map(|o| o.start_time), Some(me.start_time + 7));
        let report = clean_stale(&state).unwrap();
        assert_eq!(report.runs, vec![dead.clone()]);
        assert!(!dead.exists());
        let _ = fs::remove_dir_all(&state);
    }
}
