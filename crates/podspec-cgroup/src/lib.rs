//! Control groups of podspec's node, on cgroup v1 or v2: the kubelet makes each pod's cgroup
//! (as its container manager does) and the Linux runtime the sandboxes' and containers' in it,
//! so neither owns this code; the kubelet reaches the runtime only through the runtime
//! interface.
//!
//! Every cgroup podspec makes lives in a subtree of its own, under the cgroup podspec itself
//! runs in (per controller on v1): `<own cgroup>/podspec/<run>/pod<uid>/<container>`. Nothing
//! outside that subtree is ever created, limited, moved or removed.
//!
//! On v1 the controllers used are memory, cpu, pids and devices, each where the machine mounts
//! it; on v2 the unified hierarchy, with memory, cpu and pids enabled down the subtree where
//! the kernel lets podspec enable them. The devices allow-list is a v1 feature (v2 needs an eBPF
//! program, which the reference runtime does not load).
//!
//! A cgroup can only be removed once its processes are gone: removal kills what is still in
//! the cgroup (only processes inside podspec's own subtree, which podspec put there) and
//! retries until the kernel lets the directory go.

#![forbid(unsafe_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The v1 controllers podspec uses.
const V1_CONTROLLERS: &[&str] = &["memory", "cpu", "pids", "devices"];
/// The v2 controllers podspec enables in its subtree.
const V2_CONTROLLERS: &[&str] = &["memory", "cpu", "pids"];
/// The name of podspec's subtree under its own cgroup.
const SUBTREE: &str = "podspec";
/// How long removal waits for a cgroup's processes to go.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(5);

/// One cgroup, as a directory per hierarchy: `(controller, dir)` on v1, `("", dir)` on v2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    pub v2: bool,
    pub dirs: Vec<(String, PathBuf)>,
}

/// The limits of one cgroup (CRI `LinuxContainerResources`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<i64>,
    /// CFS quota per period, in microseconds.
    pub cpu_quota_us: Option<i64>,
    pub cpu_period_us: i64,
    /// cgroup v1 `cpu.shares` (v2: converted to `cpu.weight`).
    pub cpu_shares: Option<u64>,
    pub pids_max: Option<i64>,
}

/// Device rules of a container that is not privileged, as runc allows them by default: any
/// device node may be made (`m`), only the standard devices may be read and written.
const DEFAULT_DEVICE_RULES: &[&str] = &[
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",   // null
    "c 1:5 rwm",   // zero
    "c 1:7 rwm",   // full
    "c 1:8 rwm",   // random
    "c 1:9 rwm",   // urandom
    "c 5:0 rwm",   // tty
    "c 5:2 rwm",   // ptmx
    "c 136:* rwm", // pts
];

impl Cgroup {
    /// The root of this run's subtree, `<own cgroup>/podspec/<run>`, on this machine's
    /// hierarchies. None when the machine mounts no cgroup hierarchy podspec can use.
    pub fn for_run(run_id: &str) -> Option<Self> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let base = locate(&mountinfo, &own)?;
        Some(base.child(SUBTREE).child(run_id))
    }

    /// For a CRI runtime's pods: the run's subtree `<P>/podspec/<run>` as one path `P/...`
    /// that names a place inside this process's own cgroup in *every* hierarchy mounted (a CRI
    /// runtime applies a cgroup parent to all of them), with its directory in each. `P` is the
    /// deepest of this process's own paths; None when those are not all prefixes of it (no one
    /// path lies inside podspec's own cgroup everywhere) or no hierarchy is mounted.
    pub fn for_cri_run(run_id: &str) -> Option<(String, Self)> {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let (path, root) = cri_parent(&mountinfo, &own)?;
        let parent = format!("{}/{SUBTREE}/{run_id}", path.trim_end_matches('/'));
        Some((parent, root.child(SUBTREE).child(run_id)))
    }

    pub fn child(&self, name: &str) -> Self {
        Self { v2: self.v2, dirs: self.dirs.iter().map(|(c, d)| (c.clone(), d.join(name))).collect() }
    }

    /// Makes the directories (and their parents within the hierarchy). On v2, enables podspec's
    /// controllers in each new level's parent, where the kernel allows it.
    pub fn create(&self) -> io::Result<()> {
        for (_, dir) in &self.dirs {
            if self.v2 {
                create_v2(dir)?;
            } else {
                fs::create_dir_all(dir)?;
            }
        }
        Ok(())
    }

    /// The `cgroup.procs` files: a process's PID written into each moves it, all its threads.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.join("cgroup.procs")).collect()
    }

    /// The files a **single-threaded** process writes `0` (itself) into to join this cgroup:
    /// on v1 each hierarchy's `tasks`, on v2 `cgroup.procs`.
    ///
    /// On v1, `0` written to `tasks` moves the writing thread alone, and the kernel moves the
    /// writer's own thread without taking its global `cgroup_threadgroup_rwsem` for writing
    /// (`cgroup_procs_write_start`), which moving a thread group through `cgroup.procs` takes
    /// and which waits for an RCU grace period first: 14.2 ms median per move against 0.04 ms
    /// on this project's test machine (kernel 6.18, cgroup v1, load 6). A process that has one
    /// thread is moved whole by moving that thread, and what it forks or clones afterwards
    /// starts in the cgroup; a process with more threads would leave the others behind, so
    /// the writer must have one thread only. v2 has no such file for a process in a cgroup
    /// that is not threaded: there `cgroup.procs` is written, the whole process moves.
    pub fn join_files(&self) -> Vec<PathBuf> {
        let file = if self.v2 { "cgroup.procs" } else { "tasks" };
        self.dirs.iter().map(|(_, d)| d.join(file)).collect()
    }

    /// Whether the machine gives this cgroup the controller (v2: the unified hierarchy, with
    /// the controller enabled for it).
    pub fn has(&self, controller: &str) -> bool {
        match self.dir(controller) {
            Some(dir) if self.v2 => dir.join(format!("{controller}.max")).exists() || dir.join(format!("{controller}.weight")).exists(),
            Some(_) => true,
            None => false,
        }
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        let want = if self.v2 { "" } else { controller };
        self.dirs.iter().find(|(c, _)| c == want).map(|(_, d)| d.as_path())
    }

    fn write(&self, controller: &str, file: &str, value: &str) -> io::Result<()> {
        let dir = self.dir(controller).ok_or_else(|| io::Error::other(format!("the machine has no {controller} cgroup controller")))?;
        let path = dir.join(file);
        fs::write(&path, value).map_err(|e| io::Error::new(e.kind(), format!("write {value:?} to {}: {e}", path.display())))
    }

    /// Applies limits; a limit the machine cannot apply is an error naming it.
    pub fn set_limits(&self, limits: &Limits) -> io::Result<()> {
        if let Some(bytes) = limits.memory_bytes {
            let (file, value) = if self.v2 { ("memory.max", bytes.to_string()) } else { ("memory.limit_in_bytes", bytes.to_string()) };
            self.write("memory", file, &value)?;
            // As the kubelet asks without swap: none beyond the limit (where swap is accounted).
            let swap = if self.v2 { ("memory.swap.max", "0".to_string()) } else { ("memory.memsw.limit_in_bytes", value) };
            if self.dir("memory").is_some_and(|d| d.join(swap.0).exists()) {
                self.write("memory", swap.0, &swap.1)?;
            }
        }
        if let Some(quota) = limits.cpu_quota_us {
            if self.v2 {
                self.write("cpu", "cpu.max", &format!("{quota} {}", limits.cpu_period_us))?;
            } else {
                self.write("cpu", "cpu.cfs_period_us", &limits.cpu_period_us.to_string())?;
                self.write("cpu", "cpu.cfs_quota_us", &quota.to_string())?;
            }
        }
        if let Some(shares) = limits.cpu_shares {
            if self.v2 {
                self.write("cpu", "cpu.weight", &shares_to_weight(shares).to_string())?;
            } else {
                self.write("cpu", "cpu.shares", &shares.to_string())?;
            }
        }
        if let Some(max) = limits.pids_max {
            self.write("pids", "pids.max", &max.to_string())?;
        }
        Ok(())
    }

    /// The default device allow-list of a container that is not privileged (v1 only; on v2
    /// this does nothing, see the module's documentation).
    pub fn restrict_devices(&self) -> io::Result<()> {
        if self.v2 || self.dir("devices").is_none() {
            return Ok(());
        }
        self.write("devices", "devices.deny", "a")?;
        for rule in DEFAULT_DEVICE_RULES {
            self.write("devices", "devices.allow", rule)?;
        }
        Ok(())
    }

    /// How many processes of this cgroup the kernel's OOM killer killed.
    pub fn oom_kills(&self) -> u64 {
        let Some(dir) = self.dir("memory") else { return 0 };
        let file = if self.v2 { "memory.events" } else { "memory.oom_control" };
        let text = fs::read_to_string(dir.join(file)).unwrap_or_default();
        text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }

    /// Removes this cgroup and everything under it, ending the processes still inside.
    pub fn remove(&self) -> io::Result<()> {
        let mut first_error = None;
        for (_, dir) in &self.dirs {
            if let Err(e) = remove_tree(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Removes a cgroup directory and its descendants, deepest first; processes still in them are
/// killed (they can only be podspec's: the directory is inside podspec's subtree). A directory
/// already gone is not an error.
pub fn remove_tree(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path())?;
            }
        }
    }
    let deadline = Instant::now() + REMOVE_TIMEOUT;
    loop {
        if dir.join("cgroup.kill").exists() {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
        } else {
            for pid in fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default().lines().filter_map(|l| l.trim().parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(io::Error::new(e.kind(), format!("remove cgroup {}: {e}", dir.display())));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Removes the directory of podspec's subtree itself when no run is left in it (another
/// podspec process may still have its run there: then it stays).
pub fn remove_subtree_if_empty(run_root: &Cgroup) {
    for (_, dir) in &run_root.dirs {
        if let Some(parent) = dir.parent().filter(|p| p.file_name().is_some_and(|n| n == SUBTREE)) {
            let _ = fs::remove_dir(parent);
        }
    }
}

fn create_v2(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_v2(parent)?;
        // Enabling controllers for the children is refused in a cgroup that holds processes
        // (podspec's own): then the subtree has no limits, and a limit is refused when set.
        let enable: Vec<String> = V2_CONTROLLERS.iter().map(|c| format!("+{c}")).collect();
        let _ = fs::write(parent.join("cgroup.subtree_control"), enable.join(" "));
    }
    match fs::create_dir(dir) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// cgroup v2's conversion of v1 shares [2, 262144] into a weight [1, 10000], as runc does it.
fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 100;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

/// Finds the hierarchies and this process's place in them, from `/proc/self/mountinfo` and
/// `/proc/self/cgroup`. v2 is used when `/sys/fs/cgroup` itself is the unified hierarchy;
/// otherwise each v1 controller podspec uses, where one is mounted.
fn locate(mountinfo: &str, own: &str) -> Option<Cgroup> {
    struct M<'a> {
        root: &'a str,
        point: &'a str,
        fstype: &'a str,
        options: &'a str,
    }
    let mounts: Vec<M> = mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split_whitespace().collect();
            let r: Vec<&str> = right.split_whitespace().collect();
            Some(M { root: f.get(3)?, point: f.get(4)?, fstype: r.first()?, options: r.get(2).copied().unwrap_or("") })
        })
        .collect();
    // Lines of /proc/self/cgroup: `ID:CONTROLLERS:PATH`.
    let own_path = |controller: &str| -> Option<&str> {
        own.lines().find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, list, path) = (it.next()?, it.next()?, it.next()?);
            let matches = if controller.is_empty() { list.is_empty() } else { list.split(',').any(|c| c == controller) };
            matches.then_some(path)
        })
    };
    let place = |m: &M, path: &str| -> PathBuf {
        // The mount may show a part of the hierarchy only (its root): the path is relative to it.
        let rel = if m.root != "/" { path.strip_prefix(m.root).unwrap_or(path) } else { path };
        Path::new(m.point).join(rel.trim_start_matches('/'))
    };
    if let Some(m) = mounts.iter().find(|m| m.point == "/sys/fs/cgroup" && m.fstype == "cgroup2") {
        let path = own_path("")?;
        return Some(Cgroup { v2: true, dirs: vec![(String::new(), place(m, path))] });
    }
    let mut dirs = Vec::new();
    for controller in V1_CONTROLLERS {
        let Some(m) = mounts.iter().find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == *controller)) else { continue };
        let Some(path) = own_path(controller) else { continue };
        dirs.push((controller.to_string(), place(m, path)));
    }
    (!dirs.is_empty()).then_some(Cgroup { v2: false, dirs })
}

/// The deepest own path `P` (see `Cgroup::for_cri_run`) and the directory of `P` in every
/// cgroup hierarchy mounted.
fn cri_parent(mountinfo: &str, own: &str) -> Option<(String, Cgroup)> {
    // (controllers the place is for, mount point, own path); v1 hierarchies are named by
    // their controllers (`Cgroup::has` and `set_limits` find them so), the unified one by "".
    let mut places: Vec<(Vec<String>, String, String)> = Vec::new();
    let own_lines: Vec<(&str, &str)> = own
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, list, path) = (it.next()?, it.next()?, it.next()?);
            Some((list, path))
        })
        .collect();
    let mut v2_only = false;
    for l in mountinfo.lines() {
        let Some((left, right)) = l.split_once(" - ") else { continue };
        let f: Vec<&str> = left.split_whitespace().collect();
        let r: Vec<&str> = right.split_whitespace().collect();
        let (Some(root), Some(point), Some(fstype)) = (f.get(3), f.get(4), r.first()) else { continue };
        if !matches!(*fstype, "cgroup" | "cgroup2") {
            continue;
        }
        if *root != "/" {
            return None; // a part of a hierarchy only: the runtime's paths would not match
        }
        let own_line = match *fstype {
            "cgroup2" => {
                v2_only |= *point == "/sys/fs/cgroup";
                own_lines.iter().find(|(list, _)| list.is_empty())
            }
            _ => {
                let options: Vec<&str> = r.get(2).copied().unwrap_or("").split(',').collect();
                own_lines.iter().find(|(list, _)| !list.is_empty() && list.split(',').all(|c| options.contains(&c)))
            }
        };
        let (list, path) = own_line?;
        let labels = if list.is_empty() { vec![String::new()] } else { list.split(',').map(str::to_string).collect() };
        places.push((labels, point.to_string(), path.to_string()));
    }
    let deepest = places.iter().map(|(_, _, p)| p.as_str()).max_by_key(|p| Path::new(p).components().count())?.to_string();
    if !places.iter().all(|(_, _, p)| Path::new(&deepest).starts_with(p)) {
        return None;
    }
    let dirs = places
        .iter()
        .flat_map(|(labels, point, _)| {
            let dir = Path::new(point).join(deepest.trim_start_matches('/'));
            labels.iter().map(move |l| (l.clone(), dir.clone()))
        })
        .collect();
    Some((deepest, Cgroup { v2: v2_only, dirs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cri_parent_lies_in_podspecs_own_cgroup_in_every_hierarchy() {
        let own = "4:memory:/session/abc\n1:cpu:/\n0::/\n";
        let mounts = "25 1 0:21 /sub /mnt/bound rw - ext4 /dev/vda rw\n\
                      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let (path, c) = cri_parent(mounts, own).unwrap();
        assert_eq!(path, "/session/abc");
        assert_eq!(c.dirs[0], ("cpu".into(), PathBuf::from("/sys/fs/cgroup/cpu/session/abc")));
        assert_eq!(c.dirs[1], ("memory".into(), PathBuf::from("/sys/fs/cgroup/memory/session/abc")));
        assert_eq!(c.dirs[2], (String::new(), PathBuf::from("/sys/fs/cgroup/unified/session/abc")));
        assert!(c.has("memory") && !c.has("pids"));
        // Two own paths of which neither holds the other: no one path is podspec's everywhere.
        assert!(cri_parent(mounts, "4:memory:/a\n1:cpu:/b\n0::/\n").is_none());
    }

    const V1_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const V1_OWN: &str = "8:pids:/\n5:devices:/\n4:memory:/process_api/81a6\n1:cpu:/\n0::/\n";

    #[test]
    fn v1_subtrees_are_under_the_cgroup_podspec_is_in_per_controller() {
        let base = locate(V1_MOUNTS, V1_OWN).unwrap();
        assert!(!base.v2);
        let run = base.child("podspec").child("r1");
        assert_eq!(
            run.dirs,
            vec![
                ("memory".to_string(), PathBuf::from("/sys/fs/cgroup/memory/process_api/81a6/podspec/r1")),
                ("cpu".to_string(), PathBuf::from("/sys/fs/cgroup/cpu/podspec/r1")),
                ("pids".to_string(), PathBuf::from("/sys/fs/cgroup/pids/podspec/r1")),
                ("devices".to_string(), PathBuf::from("/sys/fs/cgroup/devices/podspec/r1")),
            ]
        );
    }

    #[test]
    fn v2_is_used_when_sys_fs_cgroup_is_the_unified_hierarchy() {
        let mounts = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
        let base = locate(mounts, "0::/user.slice/session-1.scope\n").unwrap();
        assert!(base.v2);
        assert_eq!(base.dirs, vec![(String::new(), PathBuf::from("/sys/fs/cgroup/user.slice/session-1.scope"))]);
    }

    #[test]
    fn a_mount_of_part_of_the_hierarchy_is_followed() {
        let mounts = "35 31 0:32 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let base = locate(mounts, "4:memory:/outer/inner\n").unwrap();
        assert_eq!(base.dirs, vec![("memory".to_string(), PathBuf::from("/sys/fs/cgroup/memory/inner"))]);
    }

    /// On this machine's hierarchies (needs root, as the runtime does): a single-threaded
    /// process that writes `0` into each of a cgroup's join files is then, as a process, in the
    /// cgroup of every hierarchy (listed in each one's `cgroup.procs`), and the cgroup's removal
    /// ends it and leaves no directory. Only a subtree of podspec's own is made.
    #[test]
    fn a_single_threaded_process_joins_every_hierarchy_through_the_join_files() {
        use std::io::BufRead;
        let run = Cgroup::for_run(&format!("test-join-{}", std::process::id())).expect("a cgroup hierarchy podspec can use");
        let cgroup = run.child("pod").child("app");
        cgroup.create().expect("the cgroup is made (as root)");
        // sh has one thread; it joins, says so, and becomes the process that stays.
        let mut child = std::process::Command::new("sh")
            .args(["-c", r#"for f; do printf 0 > "$f" || exit 1; done; echo joined; exec sleep 60"#, "sh"])
            .args(cgroup.join_files())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let listed: Vec<bool> = cgroup
            .dirs
            .iter()
            .map(|(_, d)| fs::read_to_string(d.join("cgroup.procs")).unwrap().lines().any(|p| p == child.id().to_string()))
            .collect();
        let ours = fs::read_to_string("/proc/self/cgroup").unwrap();
        run.remove().expect("the tree is removed");
        remove_subtree_if_empty(&run);
        let status = child.wait().unwrap();
        assert_eq!(line.trim(), "joined");
        assert!(listed.iter().all(|l| *l), "the process is not in every hierarchy's cgroup: {listed:?} of {:?}", cgroup.dirs);
        assert!(!ours.contains("test-join-"), "the test's own process moved: {ours}");
        assert!(run.dirs.iter().all(|(_, d)| !d.exists()), "left behind: {:?}", run.dirs);
        assert!(!status.success(), "the process in the removed cgroup was ended: {status:?}");
    }

    #[test]
    fn join_files_are_tasks_on_v1_and_cgroup_procs_on_v2() {
        let v1 = locate(V1_MOUNTS, V1_OWN).unwrap();
        assert!(v1.join_files().iter().all(|f| f.file_name().unwrap() == "tasks"), "{:?}", v1.join_files());
        assert_eq!(v1.join_files().len(), v1.dirs.len());
        let v2 = Cgroup { v2: true, dirs: vec![(String::new(), PathBuf::from("/sys/fs/cgroup/x"))] };
        assert_eq!(v2.join_files(), vec![PathBuf::from("/sys/fs/cgroup/x/cgroup.procs")]);
    }

    #[test]
    fn shares_convert_to_weights_as_runc_does() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }
}
