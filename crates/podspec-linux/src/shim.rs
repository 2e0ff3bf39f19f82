//! The shim: the small single-threaded program (`podspec-shim`) that does what must not
//! happen inside podspec's multi-threaded async process: entering and creating namespaces,
//! mounting, `pivot_root`, and `fork`.
//!
//! Three verbs:
//! - `sandbox`: become the holder of a pod's network, IPC and UTS namespaces (the pause process),
//!   with a PID namespace too when the pod shares one, or, with `--node`, of the node's own
//!   network, IPC, UTS and PID namespaces (what hostNetwork, hostIPC and hostPID pods join);
//! - `run SPEC.json`: start one container process in new mount and PID namespaces inside a
//!   sandbox, report its PID, copy its stdout and stderr into its log file in the CRI log
//!   format (`log_copy`) until it ends, and record how it ended;
//! - `exec`: run a command inside a running container, joining all its namespaces and its root.
//!
//! The shim is single-threaded, so `fork` here is safe.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{chdir, fork, pivot_root, sethostname, ForkResult, Pid};

use super::log_copy::{self, StdioPipes};
use super::safe_path::{self, fd_path, Scope};
use super::spec::{BindMount, ContainerProcessSpec, ExitRecord, ProcessSecurity, StartReport};

/// Exit code of the shim on bad usage.
const USAGE: i32 = 2;

/// Entry point of the `podspec-shim` binary. Returns the process exit code.
pub fn main(args: Vec<String>) -> i32 {
    // A clean signal mask for the shim and what it executes: podspec starts shims from threads
    // that hold SIGINT and SIGTERM (src/main.rs), and a spawned program inherits that mask; a
    // container's process that held SIGTERM would never see the kubelet's graceful stop.
    if let Err(e) = nix::sys::signal::SigSet::empty().thread_set_mask() {
        eprintln!("podspec-shim: cannot clear the signal mask: {e}");
        return 1;
    }
    let verb = args.get(1).map(String::as_str);
    let rest = if args.len() > 2 { &args[2..] } else { &[][..] };
    let result = match verb {
        Some("sandbox") => sandbox(rest),
        Some("run") => run(rest),
        Some("exec") => return exec(rest),
        _ => {
            eprintln!("usage: podspec-shim sandbox [--node] [--share-pid] [--hostname NAME] [--cgroup FILE]... [--sysctl K=V]... [--join-net|--join-ipc|--join-uts PID]... | run SPEC.json | exec --pid PID --spec SPEC.json [--cwd DIR] [--tty] [--env K=V]... -- CMD...");
            return USAGE;
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("podspec-shim {}: {e}", verb.unwrap_or(""));
            1
        }
    }
}

type ShimResult<T> = Result<T, String>;

fn ctx<T, E: std::fmt::Display>(r: Result<T, E>, what: impl FnOnce() -> String) -> ShimResult<T> {
    r.map_err(|e| format!("{}: {e}", what()))
}

/// Die with the parent: a killed podspec must not leave its processes behind.
fn die_with_parent() -> ShimResult<()> {
    ctx(nix::sys::prctl::set_pdeathsig(Signal::SIGKILL), || "prctl(PR_SET_PDEATHSIG)".into())?;
    // The parent may have died before the line above.
    if nix::unistd::getppid() == Pid::from_raw(1) {
        return Err("parent exited before the shim was ready".into());
    }
    Ok(())
}

/// fork(2) for a child that must not outlive the shim: the child asks for SIGKILL at the shim's
/// death (PR_SET_PDEATHSIG), then makes sure the shim has not died already, between the fork
/// and that request (a shim that exits at once, say because podspec is gone, would leave it
/// running for good). A pipe tells: only the shim holds its other end, which closes when the
/// shim dies; `getppid` cannot tell for the init of a new PID namespace, whose parent it does
/// not see.
fn fork_tied(what: &str) -> ShimResult<ForkResult> {
    let (alive_r, alive_w) = ctx(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC), || format!("{what}: pipe2"))?;
    // SAFETY: the shim is single-threaded, so the child may do anything after fork.
    let forked = ctx(unsafe { fork() }, || what.to_string())?;
    match forked {
        ForkResult::Child => {
            drop(alive_w);
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let mut fds = [nix::poll::PollFd::new(alive_r.as_fd(), nix::poll::PollFlags::POLLIN)];
            // Readable (at its end) only once the shim's end is closed: the shim is gone.
            if nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO).is_ok_and(|n| n > 0) {
                // SAFETY: _exit is always safe; it skips destructors of the copied parent state.
                unsafe { libc::_exit(0) };
            }
            drop(alive_r);
        }
        ForkResult::Parent { .. } => {
            drop(alive_r);
            // Held until the shim ends (close-on-exec: nothing it starts inherits it).
            std::mem::forget(alive_w);
        }
    }
    Ok(forked)
}

// ---------------------------------------------------------------------------------------------
// sandbox
// ---------------------------------------------------------------------------------------------

fn sandbox(args: &[String]) -> ShimResult<()> {
    let mut hostname: Option<&str> = None;
    let mut node = false;
    let mut share_pid = false;
    let mut node_pid: Option<i32> = None;
    let mut cgroups: Vec<&str> = Vec::new();
    let mut sysctls: Vec<&str> = Vec::new();
    let mut joins: Vec<(&str, &str)> = Vec::new();
    let mut tmpfs: Vec<(&str, &str)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().map(String::as_str).ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--node" => node = true,
            "--share-pid" => share_pid = true,
            "--node-pid" => node_pid = Some(value()?.parse::<i32>().map_err(|e| format!("--node-pid: {e}"))?),
            "--hostname" => hostname = Some(value()?),
            "--cgroup" => cgroups.push(value()?),
            "--sysctl" => sysctls.push(value()?),
            "--join-net" => joins.push(("net", value()?)),
            "--join-ipc" => joins.push(("ipc", value()?)),
            "--join-uts" => joins.push(("uts", value()?)),
            "--tmpfs" => match value()?.rsplit_once('=') {
                Some(t) => tmpfs.push(t),
                None => return Err("--tmpfs takes PATH=SIZE_BYTES".into()),
            },
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    die_with_parent()?;
    // The holder has one thread (the shim starts none), so moving its thread moves it whole,
    // and the namespaces' init it forks below starts in the cgroup too.
    debug_check_one_thread()?;
    for file in &cgroups {
        ctx(fs::write(file, "0"), || format!("join cgroup {file}"))?;
    }
    // Namespaces of the node's holder to join (hostNetwork, hostIPC), opened before any join.
    let mut fds = Vec::new();
    for (ns, pid) in &joins {
        let path = format!("/proc/{pid}/ns/{ns}");
        fds.push((OwnedFd::from(ctx(File::open(&path), || format!("open {path} (is the node's holder running?)"))?), *ns));
    }
    let mut flags = CloneFlags::empty();
    for (ns, flag) in [("net", CloneFlags::CLONE_NEWNET), ("ipc", CloneFlags::CLONE_NEWIPC), ("uts", CloneFlags::CLONE_NEWUTS)] {
        if !joins.iter().any(|(j, _)| *j == ns) {
            flags |= flag;
        }
    }
    // The pod's shared PID namespace is a child of the node's, as on a node: made by a child
    // that enters the node's PID namespace (a process's own never changes), which this holder
    // then joins for its children (what the pod's containers join).
    let nest_pid = share_pid && !node && node_pid.is_some();
    if node || (share_pid && !nest_pid) {
        flags |= CloneFlags::CLONE_NEWPID;
    }
    if let (true, Some(pid)) = (nest_pid, node_pid) {
        hold_pid_namespace_under(pid)?;
    }
    for (fd, ns) in fds {
        ctx(setns(fd, CloneFlags::empty()), || format!("join the node's {ns} namespace"))?;
    }
    ctx(unshare(flags), || "unshare the sandbox's namespaces".into())?;
    if let Some(name) = hostname {
        ctx(sethostname(name), || format!("sethostname({name:?})"))?;
    }
    // Memory-backed volumes: tmpfs mounts in a mount namespace of the sandbox's own, which the
    // pod's containers start from; they go when the sandbox and its containers are gone.
    if !tmpfs.is_empty() {
        let none: Option<&str> = None;
        ctx(unshare(CloneFlags::CLONE_NEWNS), || "unshare(mount namespace)".into())?;
        ctx(mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none), || "make / private".into())?;
        for (path, size) in tmpfs {
            let options = format!("mode=777,size={size}");
            ctx(mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(options.as_str())), || {
                format!("mount tmpfs on {path}")
            })?;
        }
    }
    // Namespaced sysctls, written from inside the namespaces they belong to.
    for s in &sysctls {
        let (key, value) = s.split_once('=').ok_or_else(|| format!("sysctl {s:?} is not KEY=VALUE"))?;
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        ctx(fs::write(&path, value), || format!("set sysctl {key}={value}"))?;
    }
    if flags.contains(CloneFlags::CLONE_NEWPID) {
        // The new PID namespace needs its PID 1, which reaps orphans as the pause process does.
        if let ForkResult::Child = fork_tied("fork the PID namespace's init")? {
            loop {
                if waitpid(None::<Pid>, None).is_err() {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
    }
    let mut out = std::io::stdout().lock();
    ctx(writeln!(out, "ready"), || "report ready".into())?;
    ctx(out.flush(), || "report ready".into())?;
    drop(out);
    // Hold the namespaces until killed.
    loop {
        nix::unistd::pause();
    }
}

/// Makes a PID namespace that is a child of the one the process `node_holder` holds for its
/// children (the node's), with its init, and has this process's children start in it: a child
/// enters the node's namespace, makes the new one and its init (which reaps, as the pause
/// process does), and holds it; this process joins it once the init is there. Both end with
/// this process.
fn hold_pid_namespace_under(node_holder: i32) -> ShimResult<()> {
    let path = format!("/proc/{node_holder}/ns/pid_for_children");
    let node_ns = ctx(File::open(&path), || format!("open {path} (is the node's holder running?)"))?;
    let (ready_r, ready_w) = ctx(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC), || "pipe2".into())?;
    ctx(setns(node_ns.as_fd(), CloneFlags::CLONE_NEWPID), || "join the node's PID namespace".into())?;
    match fork_tied("fork into the node's PID namespace")? {
        ForkResult::Child => {
            drop(ready_r);
            let made =
                unshare(CloneFlags::CLONE_NEWPID).map_err(|e| format!("unshare(PID namespace): {e}")).and_then(|()| {
                    match fork_tied("fork the PID namespace's init")? {
                        ForkResult::Child => loop {
                            if waitpid(None::<Pid>, None).is_err() {
                                std::thread::sleep(std::time::Duration::from_secs(1));
                            }
                        },
                        ForkResult::Parent { .. } => Ok(()),
                    }
                });
            let mut w = File::from(ready_w);
            let _ = w.write_all(match &made {
                Ok(()) => b"ok".as_slice(),
                Err(e) => e.as_bytes(),
            });
            drop(w);
            if made.is_err() {
                // SAFETY: _exit is always safe; it skips destructors of the copied parent state.
                unsafe { libc::_exit(1) };
            }
            loop {
                nix::unistd::pause();
            }
        }
        ForkResult::Parent { child } => {
            drop(ready_w);
            // One read: the namespace's init holds a copy of the pipe's other end, so it never
            // reaches its end.
            let mut buf = [0u8; 512];
            let n = File::from(ready_r).read(&mut buf).unwrap_or(0);
            let answer = String::from_utf8_lossy(&buf[..n]);
            if answer != "ok" {
                return Err(format!("make the pod's PID namespace under the node's: {answer}"));
            }
            let path = format!("/proc/{child}/ns/pid_for_children");
            let pod_ns = ctx(File::open(&path), || format!("open {path}"))?;
            ctx(setns(pod_ns, CloneFlags::CLONE_NEWPID), || "join the pod's PID namespace".into())?;
            Ok(())
        }
    }
}

/// Enters the node's PID namespace for the rest of `run`: a child of this process goes on in
/// it (a process's own PID namespace never changes) while this one waits and ends as it ends.
/// Returns in the child only.
fn continue_in_pid_namespace(path: &Path) -> ShimResult<()> {
    let f = ctx(File::open(path), || format!("open {} (is the node's holder running?)", path.display()))?;
    ctx(setns(f, CloneFlags::CLONE_NEWPID), || "join the node's PID namespace".into())?;
    match fork_tied("fork into the node's PID namespace")? {
        ForkResult::Child => Ok(()),
        ForkResult::Parent { child } => {
            // The container's stdin is its alone: its end comes when podspec closes it.
            stdin_to_null()?;
            let code = match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => code,
                Ok(WaitStatus::Signaled(_, signal, _)) => 128 + signal as i32,
                _ => 1,
            };
            std::process::exit(code);
        }
    }
}

/// The PID of this process's only child as the machine sees it, read from its
/// `/proc/thread-self/children` (opened before the container changed the root this process
/// shares with it): after `continue_in_pid_namespace`, fork returns the PID in the node's
/// namespace, and podspec, which watches and signals the container, needs the machine's.
fn only_child_machine_pid(children: &mut File) -> ShimResult<i32> {
    let mut text = String::new();
    ctx(children.read_to_string(&mut text), || "read /proc/thread-self/children".into())?;
    let pids: Vec<i32> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    match pids[..] {
        [pid] => Ok(pid),
        _ => Err(format!("expected one child in /proc/thread-self/children, found {text:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------------------------

fn run(args: &[String]) -> ShimResult<()> {
    let [spec_path] = args else {
        return Err("run takes exactly one argument: the spec file".into());
    };
    let text = ctx(fs::read_to_string(spec_path), || format!("read {spec_path}"))?;
    let spec: ContainerProcessSpec = ctx(serde_json::from_str(&text), || format!("parse {spec_path}"))?;
    die_with_parent()?;
    // A PID namespace of the container's own is made under the node's, as on a node: made from
    // inside the node's namespace.
    let nested = match (&spec.pid_namespace, &spec.node_pid_namespace) {
        (None, Some(node)) => {
            continue_in_pid_namespace(node)?;
            true
        }
        _ => false,
    };

    // Everything that can fail with a clear message is prepared before the fork. The log is
    // the shim's to write (close-on-exec, as every file Rust opens): the container gets pipes.
    let mut log = ctx(OpenOptions::new().create(true).append(true).mode(0o640).open(&spec.log_path), || {
        format!("open log {}", spec.log_path.display())
    })?;
    let pipes = StdioPipes::new().map_err(|e| e.to_string())?;
    // With `tty`, the shim's stdin is a terminal's master side (podspec keeps it too, for the
    // container's stdin and its size): the shim keeps a copy to read what the container writes,
    // and the container gets the slave side.
    let terminal = match spec.tty {
        true => {
            let master = ctx(std::io::stdin().as_fd().try_clone_to_owned(), || "keep the terminal's master side".into())?;
            let slave = ctx(super::exec::slave_of(&master), || "open the terminal's slave side (is stdin a terminal's master?)".into())?;
            Some((master, slave))
        }
        false => None,
    };
    // The container's exit is watched through a pidfd, which needs Linux 5.3: asked for this
    // process now, so that asking for the container's after the fork does not fail.
    drop(log_copy::pidfd_open(std::process::id() as i32).map_err(|e| format!("{e} (the reference runtime needs Linux 5.3 or later)"))?);
    let prepared = PreparedExec::new(&spec.args, &spec.env)?;
    // Opened now: once the container has switched its root, this process (which shares its
    // mount namespace) no longer sees the node's paths. Close-on-exec, so the container does
    // not inherit it.
    let mut exit_file = ctx(
        OpenOptions::new().create(true).truncate(true).write(true).custom_flags(libc::O_CLOEXEC).mode(0o640).open(&spec.exit_path),
        || format!("open {}", spec.exit_path.display()),
    )?;
    let cgroups = open_cgroups(&spec.cgroup_join)?;
    // The container gets fds 0, 1 and 2 only, nothing the shim inherited (as runc closes the
    // rest before exec).
    close_on_exec_from_3()?;
    join_sandbox(spec.sandbox_pid, spec.sandbox_mounts)?;
    match &spec.pid_namespace {
        Some(ns) => {
            let f = ctx(File::open(ns), || format!("open {} (is the pod's holder running?)", ns.display()))?;
            ctx(setns(f, CloneFlags::CLONE_NEWPID), || "join the PID namespace".into())?;
            ctx(unshare(CloneFlags::CLONE_NEWNS), || "unshare(mount namespace)".into())?;
        }
        None => ctx(unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID), || "unshare(mount, PID namespaces)".into())?,
    }

    // Where the machine's PID of the container will be read (see only_child_machine_pid).
    let mut children = match nested {
        true => Some(ctx(File::open("/proc/thread-self/children"), || "open /proc/thread-self/children".into())?),
        false => None,
    };
    // Opened before the container's root switch, which this process sees too.
    let null = ctx(File::open("/dev/null"), || "open /dev/null".into())?;
    // A close-on-exec pipe tells the parent whether the container's exec happened.
    let (err_read, err_write) = ctx(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC), || "pipe2".into())?;

    // The shim is single-threaded, so the child may do anything after fork.
    match fork_tied("fork")? {
        ForkResult::Child => {
            drop(err_read);
            let StdioPipes { stdout: (stdout_read, stdout), stderr: (stderr_read, stderr) } = pipes;
            drop((stdout_read, stderr_read, log));
            let slave = terminal.as_ref().map(|(_, slave)| slave);
            // fork copies the calling thread only: this child has one, and /proc is still the
            // node's to ask.
            let error = match debug_check_one_thread().and_then(|()| join_cgroups(cgroups)) {
                Ok(()) => container_init(&spec, (&stdout, &stderr), slave, &prepared),
                Err(e) => e,
            };
            let mut w = File::from(err_write);
            let _ = w.write_all(error.as_bytes());
            // SAFETY: _exit is always safe; it skips destructors of the copied parent state.
            unsafe { libc::_exit(127) };
        }
        ForkResult::Parent { child } => {
            drop(err_write);
            stdin_from(&null)?;
            let StdioPipes { stdout: (stdout, stdout_write), stderr: (stderr, stderr_write) } = pipes;
            drop((stdout_write, stderr_write));
            // Only the container holds the slave side: its end is the end of the master's reads.
            let master = terminal.map(|(master, _slave)| master);
            let exit = log_copy::pidfd_open(child.as_raw());
            let mut error = String::new();
            let _ = File::from(err_read).read_to_string(&mut error);
            if let Err(e) = &exit {
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                error = format!("watch the container's exit: {e}");
            }
            let pid = match children.as_mut() {
                Some(children) => only_child_machine_pid(children),
                None => Ok(child.as_raw()),
            };
            if let (true, Err(e)) = (error.is_empty(), &pid) {
                let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
                error = e.clone();
            }
            let report = match pid {
                Ok(pid) if error.is_empty() => StartReport::Started { pid },
                _ => StartReport::Failed { error: error.clone() },
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", serde_json::to_string(&report).expect("report serializes"));
            let _ = out.flush();
            drop(out);
            // The log is complete before the exit is recorded: whoever reads the record (the
            // kubelet, for a termination message from the log) finds all the container wrote.
            match (&exit, master) {
                (Ok(exit), Some(master)) => {
                    drop((stdout, stderr));
                    log_copy::copy_terminal_until_exit(master, exit, &mut log);
                }
                (Ok(exit), None) => log_copy::copy_until_exit(stdout, stderr, exit, &mut log),
                (Err(_), _) => {}
            }
            let record = wait_exit(child)?;
            let json = serde_json::to_string(&record).expect("record serializes");
            ctx(exit_file.write_all(json.as_bytes()), || format!("write {}", spec.exit_path.display()))?;
            Ok(())
        }
    }
}

/// Marks every descriptor above stderr close-on-exec: what the shim inherited from podspec and
/// its environment does not reach the container's process.
fn close_on_exec_from_3() -> ShimResult<()> {
    let fds: Vec<i32> = ctx(fs::read_dir("/proc/self/fd"), || "list /proc/self/fd".into())?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: F_SETFD only changes the descriptor's flags; one that was the listing's own
        // and is closed by now gives EBADF, which is no harm.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBADF) {
                return Err(format!("make fd {fd} close-on-exec: {e}"));
            }
        }
    }
    Ok(())
}

/// Opens the cgroups' join files while the node's paths are still in view.
fn open_cgroups(files: &[PathBuf]) -> ShimResult<Vec<(File, PathBuf)>> {
    files
        .iter()
        .map(|f| ctx(OpenOptions::new().write(true).open(f), || format!("open {}", f.display())).map(|file| (file, f.clone())))
        .collect()
}

/// Moves the calling process into the cgroups: `0` (the writer itself) into each join file
/// (`Cgroup::join_files`). On cgroup v1 that file is `tasks`, which moves the calling *thread*
/// alone, without the kernel's global lock that moving a whole thread group takes (and which
/// waits for an RCU grace period, ~10 ms on a loaded machine). That is sound because every
/// caller has exactly one thread, so its thread is the whole process: the callers are children
/// of `fork`, which copies the calling thread only, and they start no thread before this.
fn join_cgroups(files: Vec<(File, PathBuf)>) -> ShimResult<()> {
    for (mut f, path) in files {
        ctx(f.write_all(b"0"), || format!("join cgroup {}", path.display()))?;
    }
    Ok(())
}

/// The number of threads of this process, from `/proc/self/status`; None where it cannot be
/// read.
fn threads_of_this_process() -> Option<usize> {
    threads_in(&fs::read_to_string("/proc/self/status").ok()?)
}

/// The `Threads:` count of a `/proc/PID/status` text.
fn threads_in(status: &str) -> Option<usize> {
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok())
}

/// In debug builds, checks that moving this process's thread into a cgroup moves the whole
/// process (see `join_cgroups`): it has one thread. Called only where /proc is the node's
/// (never a container's, which the container could have replaced).
fn debug_check_one_thread() -> ShimResult<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    match threads_of_this_process() {
        Some(n) if n != 1 => {
            Err(format!("this process has {n} threads: joining its cgroups by its own thread would leave the others behind"))
        }
        _ => Ok(()),
    }
}

fn join_sandbox(sandbox_pid: i32, mounts: bool) -> ShimResult<()> {
    // Open all first: after joining one, the others' paths still refer to the node's /proc.
    let mut fds: Vec<(OwnedFd, CloneFlags, &str)> = Vec::new();
    let mut namespaces = vec![("ipc", CloneFlags::CLONE_NEWIPC), ("uts", CloneFlags::CLONE_NEWUTS), ("net", CloneFlags::CLONE_NEWNET)];
    if mounts {
        namespaces.push(("mnt", CloneFlags::CLONE_NEWNS));
    }
    for (ns, flag) in namespaces {
        let path = format!("/proc/{sandbox_pid}/ns/{ns}");
        let f = ctx(File::open(&path), || format!("open {path} (is the pod sandbox still running?)"))?;
        fds.push((OwnedFd::from(f), flag, ns));
    }
    for (fd, flag, ns) in fds {
        ctx(setns(fd, flag), || format!("join the sandbox's {ns} namespace"))?;
    }
    Ok(())
}

fn wait_exit(child: Pid) -> ShimResult<ExitRecord> {
    loop {
        let status = ctx(waitpid(child, None), || "waitpid".into());
        let (exit_code, signal) = match status {
            Ok(WaitStatus::Exited(_, code)) => (code, None),
            Ok(WaitStatus::Signaled(_, sig, _)) => (128 + sig as i32, Some(sig as i32)),
            Ok(_) => continue,
            Err(e) if e.contains("EINTR") => continue,
            Err(e) => return Err(e),
        };
        return Ok(ExitRecord { exit_code, signal, finished_at_ms: now_ms() });
    }
}

fn now_ms() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_millis() as i64
}

/// The container's first process, PID 1 of its PID namespace: build the root filesystem in the
/// container's own mount namespace, switch to it, and exec the command. Returns only on error.
fn container_init(spec: &ContainerProcessSpec, stdio: (&OwnedFd, &OwnedFd), terminal: Option<&OwnedFd>, exec: &PreparedExec) -> String {
    match setup_and_exec(spec, stdio, terminal, exec) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

enum Never {}

fn setup_and_exec(
    spec: &ContainerProcessSpec,
    stdio: (&OwnedFd, &OwnedFd),
    terminal: Option<&OwnedFd>,
    exec: &PreparedExec,
) -> ShimResult<Never> {
    ctx(nix::sys::prctl::set_pdeathsig(Signal::SIGKILL), || "prctl(PR_SET_PDEATHSIG)".into())?;
    ctx(nix::unistd::setsid(), || "setsid".into())?;
    build_rootfs(spec)?;
    enter_rootfs(&spec.rootfs)?;
    // A working directory the image lacks is made, as runc makes it (where the root is
    // read-only, chdir says what is missing). It is resolved in the container's root without
    // magic links: this process still has every capability, and `/proc/PID/root` of a process
    // it sees (the node's, with hostPID) leads to another root.
    let root = ctx(safe_path::open_dir(Path::new("/")), || "open the container's root".into())?;
    let cwd = Path::new(&spec.cwd);
    let dir = safe_path::mkdir_all_in(&root, cwd, Scope::InRoot, 0o755).or_else(|_| safe_path::open_in(&root, cwd, Scope::InRoot));
    let dir = ctx(dir, || format!("chdir to working directory {:?}", spec.cwd))?;
    ctx(nix::unistd::fchdir(&dir), || format!("chdir to working directory {:?}", spec.cwd))?;
    match terminal {
        // The session this process leads (setsid above) gets the terminal as its controlling one.
        Some(slave) => terminal_stdio(slave)?,
        None => redirect_stdio(stdio, spec.stdin)?,
    }
    confine(&spec.security)?;
    exec.exec()
}

use podspec_cri::cri::{MASKED_PATHS, READONLY_PATHS};

/// The device nodes of a container that is not privileged, bound from the node's `/dev`.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Mounts, all inside the container's private mount namespace, so they vanish with it.
///
/// Every path under the root filesystem is resolved in it (`safe_path`, `RESOLVE_IN_ROOT`):
/// it holds links of the image's and of the pod's volumes, which lead where they lead inside
/// the container and never to the machine's paths. Each mount is made onto `/proc/self/fd/N`
/// of the descriptor that resolution gave.
fn build_rootfs(spec: &ContainerProcessSpec) -> ShimResult<()> {
    let none: Option<&str> = None;
    let privileged = spec.security.privileged;
    ctx(mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none), || "make / private".into())?;
    let root = &spec.rootfs;
    let overlay =
        format!("lowerdir={},upperdir={},workdir={}", spec.image_rootfs.display(), spec.upper_dir.display(), spec.work_dir.display());
    ctx(mount(Some("overlay"), root, Some("overlay"), MsFlags::empty(), Some(overlay.as_str())), || {
        format!("mount overlay on {}", root.display())
    })?;
    // The overlay's root: every path of the container is resolved from it.
    let rootfd = ctx(safe_path::open_dir(root), || format!("open {}", root.display()))?;
    let rootfd = rootfd.as_fd();
    let hidden = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;

    let proc_dir = ensure_dir(rootfd, "/proc")?;
    ctx(mount(Some("proc"), &fd_path(&proc_dir), Some("proc"), hidden, none), || "mount /proc".into())?;
    let sys = ensure_dir(rootfd, "/sys")?;
    let sys_flags = if privileged { hidden } else { hidden | MsFlags::MS_RDONLY };
    ctx(mount(Some("sysfs"), &fd_path(&sys), Some("sysfs"), sys_flags, none), || "mount /sys".into())?;
    mount_cgroups(rootfd, spec, hidden)?;
    if !privileged {
        for path in MASKED_PATHS {
            mask(rootfd, path)?;
        }
        for path in READONLY_PATHS {
            let Some(target) = existing(rootfd, path)? else { continue };
            ctx(mount(Some(&fd_path(&target)), &fd_path(&target), none, MsFlags::MS_BIND | MsFlags::MS_REC, none), || {
                format!("bind {path}")
            })?;
            remount_read_only(rootfd, path, &target, hidden)?;
        }
    }

    let dev = ensure_dir(rootfd, "/dev")?;
    if privileged {
        // A privileged container sees the node's devices.
        ctx(mount(Some("/dev"), &fd_path(&dev), none, MsFlags::MS_BIND | MsFlags::MS_REC, none), || "bind the node's /dev".into())?;
    } else {
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME;
        ctx(mount(Some("tmpfs"), &fd_path(&dev), Some("tmpfs"), flags, Some("mode=755,size=65536k")), || "mount /dev".into())?;
        // The new tmpfs, found again from the root: only this process has seen it yet.
        let dev = ensure_dir(rootfd, "/dev")?;
        let dev = dev.as_fd();
        for node in DEVICES {
            let target = ctx(safe_path::ensure_file_in(dev, Path::new(node), Scope::Beneath, 0o644), || format!("create /dev/{node}"))?;
            ctx(mount(Some(Path::new("/dev").join(node).as_path()), &fd_path(&target), none, MsFlags::MS_BIND, none), || {
                format!("bind /dev/{node}")
            })?;
        }
        let pts = ctx(safe_path::mkdir_all_in(dev, Path::new("pts"), Scope::Beneath, 0o755), || "create /dev/pts".into())?;
        let pts = fd_path(&pts);
        let pts_flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
        let with_tty_group = "newinstance,ptmxmode=0666,mode=0620,gid=5";
        // In a user namespace (podspec without root) the tty group may not be mapped.
        let pts_mounted = mount(Some("devpts"), &pts, Some("devpts"), pts_flags, Some(with_tty_group))
            .or_else(|_| mount(Some("devpts"), &pts, Some("devpts"), pts_flags, Some("newinstance,ptmxmode=0666,mode=0620")));
        ctx(pts_mounted, || "mount /dev/pts".into())?;
        ctx(rustix::fs::symlinkat("pts/ptmx", dev, "ptmx"), || "link /dev/ptmx".into())?;
        let mqueue = ctx(safe_path::mkdir_all_in(dev, Path::new("mqueue"), Scope::Beneath, 0o755), || "create /dev/mqueue".into())?;
        ctx(mount(Some("mqueue"), &fd_path(&mqueue), Some("mqueue"), hidden, none), || "mount /dev/mqueue".into())?;
        for (link, to) in
            [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]
        {
            ctx(rustix::fs::symlinkat(to, dev, link), || format!("link /dev/{link}"))?;
        }
    }
    for m in &spec.mounts {
        bind(rootfd, m)?;
    }
    if spec.security.readonly_rootfs {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        ctx(mount(none, root, none, flags, none), || "make the root filesystem read-only".into())?;
    }
    Ok(())
}

/// The container's own cgroups under `/sys/fs/cgroup`, read-only unless privileged.
fn mount_cgroups(rootfd: BorrowedFd<'_>, spec: &ContainerProcessSpec, hidden: MsFlags) -> ShimResult<()> {
    let none: Option<&str> = None;
    if spec.cgroup_dirs.is_empty() {
        return Ok(());
    }
    let ro = if spec.security.privileged { MsFlags::empty() } else { MsFlags::MS_RDONLY };
    let path = "/sys/fs/cgroup";
    let base = ctx(safe_path::open_in(rootfd, Path::new(path), Scope::InRoot), || format!("open {path}"))?;
    let bind_ro = |source: &Path, target: &OwnedFd, what: &str| -> ShimResult<()> {
        let source = ctx(safe_path::open_dir(source), || format!("open cgroup {}", source.display()))?;
        ctx(mount(Some(&fd_path(&source)), &fd_path(target), none, MsFlags::MS_BIND, none), || format!("bind cgroup {what}"))?;
        // The new mount, found again from the root and checked to be the one just made.
        let bound = ctx(safe_path::open_in(rootfd, Path::new(what), Scope::InRoot), || format!("open {what}"))?;
        if !ctx(safe_path::same_file(&bound, &source), || format!("check {what}"))? {
            return Err(format!("{what} changed while it was mounted"));
        }
        ctx(mount(none, &fd_path(&bound), none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | hidden | ro, none), || "remount cgroup".into())
    };
    if let [(c, dir)] = &spec.cgroup_dirs[..] {
        if c.is_empty() {
            return bind_ro(dir, &base, path);
        }
    }
    ctx(mount(Some("tmpfs"), &fd_path(&base), Some("tmpfs"), hidden, Some("mode=755")), || "mount /sys/fs/cgroup".into())?;
    let base = ctx(safe_path::open_in(rootfd, Path::new(path), Scope::InRoot), || format!("open {path}"))?;
    for (controller, dir) in &spec.cgroup_dirs {
        let target = ctx(safe_path::mkdir_all_in(&base, Path::new(controller), Scope::Beneath, 0o755), || {
            format!("create /sys/fs/cgroup/{controller}")
        })?;
        bind_ro(dir, &target, &format!("{path}/{controller}"))?;
    }
    ctx(mount(none, &fd_path(&base), none, MsFlags::MS_REMOUNT | hidden | ro, Some("mode=755")), || "remount /sys/fs/cgroup".into())
}

/// Hides a path: a file under `/dev/null`, a directory under an empty read-only tmpfs.
fn mask(rootfd: BorrowedFd<'_>, path: &str) -> ShimResult<()> {
    let none: Option<&str> = None;
    let Some(target) = existing(rootfd, path)? else { return Ok(()) };
    if ctx(safe_path::is_dir(&target), || format!("stat {path}"))? {
        ctx(mount(Some("tmpfs"), &fd_path(&target), Some("tmpfs"), MsFlags::MS_RDONLY, none), || format!("mask {path}"))
    } else {
        ctx(mount(Some("/dev/null"), &fd_path(&target), none, MsFlags::MS_BIND, none), || format!("mask {path}"))
    }
}

/// Takes the container's identity and drops what it may not do, last before exec: the
/// bounding set first (while every capability is still there to do it), then groups, gid and
/// uid (keeping capabilities across the uid change), then the effective and permitted sets,
/// and no_new_privs. A seccomp filter goes first of all, while CAP_SYS_ADMIN still allows it
/// without no_new_privs; it lets through every call made here after it.
fn confine(sec: &ProcessSecurity) -> ShimResult<()> {
    use caps::{CapSet, Capability, CapsHashSet};
    let mut wanted = CapsHashSet::new();
    for name in &sec.capabilities {
        wanted.insert(name.parse::<Capability>().map_err(|_| format!("unknown capability {name:?}"))?);
    }
    if sec.seccomp == super::spec::SeccompProfile::RuntimeDefault {
        let filters = super::seccomp::runtime_default(&sec.capabilities).map_err(|e| e.to_string())?;
        super::seccomp::install(&filters).map_err(|e| e.to_string())?;
    }
    for cap in caps::read(None, CapSet::Bounding).map_err(|e| format!("read the bounding set: {e}"))? {
        if !wanted.contains(&cap) {
            ctx(caps::drop(None, CapSet::Bounding, cap), || format!("drop {cap} from the bounding set"))?;
        }
    }
    let groups: Vec<nix::unistd::Gid> = sec.groups.iter().map(|g| nix::unistd::Gid::from_raw(*g)).collect();
    // In a user namespace that denies setgroups (podspec without root) only the gid itself can
    // be had: asking for no other group is then no reason to fail.
    let denied = fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !(denied && sec.groups.iter().all(|g| *g == sec.gid)) {
        ctx(nix::unistd::setgroups(&groups), || "setgroups".into())?;
    }
    ctx(nix::unistd::setgid(nix::unistd::Gid::from_raw(sec.gid)), || format!("setgid({})", sec.gid))?;
    if sec.uid != 0 {
        ctx(nix::sys::prctl::set_keepcaps(true), || "prctl(PR_SET_KEEPCAPS)".into())?;
        ctx(nix::unistd::setuid(nix::unistd::Uid::from_raw(sec.uid)), || format!("setuid({})", sec.uid))?;
    }
    ctx(caps::clear(None, CapSet::Ambient), || "clear the ambient set".into())?;
    ctx(caps::clear(None, CapSet::Inheritable), || "clear the inheritable set".into())?;
    ctx(caps::set(None, CapSet::Effective, &wanted), || "set the effective set".into())?;
    ctx(caps::set(None, CapSet::Permitted, &wanted), || "set the permitted set".into())?;
    if sec.no_new_privs {
        ctx(nix::sys::prctl::set_no_new_privs(), || "prctl(PR_SET_NO_NEW_PRIVS)".into())?;
    }
    Ok(())
}

/// Binds a mount's source onto its destination in the root filesystem. The source is a
/// node path of podspec's own (a volume's directory, a file of the pod's); a `subPath` is
/// resolved beneath it, never leaving it (and made where missing, as the kubelet makes it:
/// a memory-backed volume's content is only seen here, in the pod's mount namespace). Both
/// ends are held as descriptors, and the mount goes through them.
fn bind(rootfd: BorrowedFd<'_>, m: &BindMount) -> ShimResult<()> {
    let none: Option<&str> = None;
    let source =
        ctx(rustix::fs::open(&m.source, rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()), || {
            format!("open {}", m.source.display())
        })?;
    let source = match m.sub_path.as_deref().filter(|s| !s.is_empty()) {
        None => source,
        Some(sub) => {
            let sub = Path::new(sub);
            let resolved = match safe_path::open_in(&source, sub, Scope::Beneath) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let mode = ctx(rustix::fs::fstat(&source), || format!("stat {}", m.source.display()))?.st_mode & 0o7777;
                    safe_path::mkdir_all_in(&source, sub, Scope::Beneath, mode)
                }
                r => r,
            };
            ctx(resolved, || format!("subPath {:?} of the volume at {}", sub.display(), m.destination))?
        }
    };
    let is_dir = ctx(safe_path::is_dir(&source), || format!("stat {}", m.source.display()))?;
    let target = if is_dir { ensure_dir(rootfd, &m.destination)? } else { ensure_file(rootfd, &m.destination)? };
    ctx(mount(Some(&fd_path(&source)), &fd_path(&target), none, MsFlags::MS_BIND | MsFlags::MS_REC, none), || {
        format!("bind {} to {}", m.source.display(), m.destination)
    })?;
    if m.readonly {
        remount_read_only(rootfd, &m.destination, &source, MsFlags::empty())?;
    }
    Ok(())
}

/// Makes the bind mount of `source` just made at `path` read-only: the new mount is found
/// again from the root and must be that bind (the descriptor of the target holds what was
/// under it), else another container changed the path meanwhile and the start fails.
fn remount_read_only(rootfd: BorrowedFd<'_>, path: &str, source: &OwnedFd, extra: MsFlags) -> ShimResult<()> {
    let none: Option<&str> = None;
    let bound = ctx(safe_path::open_in(rootfd, Path::new(path), Scope::InRoot), || format!("open {path}"))?;
    if !ctx(safe_path::same_file(&bound, source), || format!("check {path}"))? {
        return Err(format!("{path} changed while it was mounted"));
    }
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | extra;
    ctx(mount(none, &fd_path(&bound), none, flags, none), || format!("make {path} read-only"))
}

/// A path of the container, if it exists (resolved in its root).
fn existing(rootfd: BorrowedFd<'_>, path: &str) -> ShimResult<Option<OwnedFd>> {
    match safe_path::open_in(rootfd, Path::new(path), Scope::InRoot) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("open {path}: {e}")),
    }
}

/// A directory of the container, made where missing, resolved in its root.
fn ensure_dir(rootfd: BorrowedFd<'_>, path: &str) -> ShimResult<OwnedFd> {
    ctx(safe_path::mkdir_all_in(rootfd, Path::new(path), Scope::InRoot, 0o755), || format!("create directory {path}"))
}

/// A file of the container (a mount target for a file), made empty where missing.
fn ensure_file(rootfd: BorrowedFd<'_>, path: &str) -> ShimResult<OwnedFd> {
    ctx(safe_path::ensure_file_in(rootfd, Path::new(path), Scope::InRoot, 0o644), || format!("create file {path}"))
}

fn enter_rootfs(root: &Path) -> ShimResult<()> {
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new.
    ctx(chdir(root), || format!("chdir {}", root.display()))?;
    ctx(pivot_root(".", "."), || "pivot_root".into())?;
    ctx(umount2(".", MntFlags::MNT_DETACH), || "detach the old root".into())?;
    ctx(chdir("/"), || "chdir /".into())?;
    Ok(())
}

/// stdin from `/dev/null` (or, with `stdin`, the shim's own, which podspec holds open for
/// attach), stdout and stderr the write ends of the log pipes (dup2 leaves the copies without
/// close-on-exec; the originals close at the exec).
fn redirect_stdio((stdout, stderr): (&OwnedFd, &OwnedFd), stdin: bool) -> ShimResult<()> {
    if !stdin {
        stdin_to_null()?;
    }
    // SAFETY: dup2 on valid descriptors owned by this process.
    unsafe {
        if libc::dup2(stdout.as_raw_fd(), 1) < 0 || libc::dup2(stderr.as_raw_fd(), 2) < 0 {
            return Err(format!("dup2: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// stdin, stdout and stderr the terminal's slave side `slave`, which becomes the controlling
/// terminal of the session this process leads.
fn terminal_stdio(slave: &OwnedFd) -> ShimResult<()> {
    for fd in 0..=2 {
        // SAFETY: dup2 on valid descriptors owned by this process.
        if unsafe { libc::dup2(slave.as_raw_fd(), fd) } < 0 {
            return Err(format!("dup2 the terminal onto fd {fd}: {}", std::io::Error::last_os_error()));
        }
    }
    // SAFETY: TIOCSCTTY takes an int argument; fd 0 stays open for the call.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY as _, 0) } != 0 {
        return Err(format!("make the tty the controlling terminal: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Makes this process's stdin `/dev/null`: a shim process that is not the container lets go of
/// the stdin pipe it was given, so that the container alone holds it and sees its end.
fn stdin_to_null() -> ShimResult<()> {
    stdin_from(&ctx(File::open("/dev/null"), || "open /dev/null".into())?)
}

/// Makes this process's stdin `null` (a `/dev/null` opened earlier).
fn stdin_from(null: &File) -> ShimResult<()> {
    // SAFETY: dup2 on valid descriptors owned by this process.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(format!("dup2 /dev/null onto stdin: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A command with its arguments and environment converted before any fork.
struct PreparedExec {
    args: Vec<CString>,
    env: Vec<CString>,
    path: Option<String>,
}

impl PreparedExec {
    fn new(args: &[String], env: &[String]) -> ShimResult<Self> {
        if args.is_empty() {
            return Err("the container has no command: the image has no default and the pod sets none".into());
        }
        let cstr = |s: &String| CString::new(s.as_bytes()).map_err(|_| format!("argument {s:?} contains a NUL byte"));
        let path = env.iter().find_map(|e| e.strip_prefix("PATH=")).map(str::to_owned);
        Ok(Self { args: args.iter().map(cstr).collect::<Result<_, _>>()?, env: env.iter().map(cstr).collect::<Result<_, _>>()?, path })
    }

    /// Looks the program up in the container's PATH (from the container's environment, as
    /// container runtimes do) and executes it. Returns only on error.
    fn exec(&self) -> ShimResult<Never> {
        let program = self.args[0].to_string_lossy().into_owned();
        let candidates: Vec<PathBuf> = if program.contains('/') {
            vec![PathBuf::from(&program)]
        } else {
            let path = self.path.as_deref().unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            path.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join(&program)).collect()
        };
        for candidate in &candidates {
            let Ok(meta) = fs::metadata(candidate) else { continue };
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                continue;
            }
            let c = CString::new(candidate.as_os_str().as_bytes()).map_err(|_| "path contains NUL".to_string())?;
            // Rust's runtime ignores SIGPIPE in the shim, and an ignored signal stays ignored
            // across exec: the container's process starts with SIGPIPE's default action, as
            // under runc, so that a write to a closed pipe ends it (`yes | head -n 1`).
            // SAFETY: setting a signal's disposition to its default just before execve.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            let err = nix::unistd::execve(&c, &self.args, &self.env).unwrap_err();
            return Err(format!("exec {}: {err}", candidate.display()));
        }
        if program.contains('/') {
            Err(format!("exec {program:?}: no such file or directory"))
        } else {
            Err(format!("exec {program:?}: executable file not found in $PATH"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// exec
// ---------------------------------------------------------------------------------------------

/// Runs a command in a running container. stdout and stderr pass through; the exit code is the
/// command's, 126 when it could not be executed, 1 when the container could not be entered.
fn exec(args: &[String]) -> i32 {
    match exec_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("podspec-shim exec: {e}");
            if e.starts_with("exec ") {
                126
            } else {
                1
            }
        }
    }
}

/// Makes stdin, a terminal, the controlling terminal of a new session.
fn controlling_terminal() -> ShimResult<()> {
    nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
    // SAFETY: TIOCSCTTY takes an int argument; fd 0 stays open for the call.
    let r = unsafe { libc::ioctl(0, libc::TIOCSCTTY as _, 0) };
    if r != 0 {
        return Err(format!("make the tty the controlling terminal: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Goes to an exec's working directory, resolved in the container's root (where joining its
/// mount namespace put this process) without magic links, as the container's own was: a link a
/// container put in a volume since never takes this process, not confined yet, elsewhere.
fn enter_cwd(cwd: &str) -> ShimResult<()> {
    let root = ctx(safe_path::open_dir(Path::new("/")), || "open the container's root".into())?;
    let dir = ctx(safe_path::open_in(&root, Path::new(cwd), Scope::InRoot), || format!("chdir {cwd}"))?;
    ctx(nix::unistd::fchdir(&dir), || format!("chdir {cwd}"))
}

fn exec_inner(args: &[String]) -> ShimResult<i32> {
    let mut pid: Option<i32> = None;
    let mut spec_path: Option<String> = None;
    let mut cwd = "/".to_string();
    let mut tty = false;
    let mut env = Vec::new();
    let mut it = args.iter();
    let mut command = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pid" => pid = it.next().and_then(|p| p.parse().ok()),
            "--spec" => spec_path = it.next().cloned(),
            "--cwd" => cwd = it.next().cloned().unwrap_or_else(|| "/".into()),
            "--tty" => tty = true,
            "--env" => env.extend(it.next().cloned()),
            "--" => {
                command = it.by_ref().cloned().collect();
                break;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let pid = pid.ok_or("--pid is required")?;
    let spec_path = spec_path.ok_or("--spec is required")?;
    let text = ctx(fs::read_to_string(&spec_path), || format!("read {spec_path}"))?;
    let spec: ContainerProcessSpec = ctx(serde_json::from_str(&text), || format!("parse {spec_path}"))?;
    let prepared = PreparedExec::new(&command, &env)?;
    die_with_parent()?;
    // An exec'd process is confined as the container is: its cgroups, identity, capabilities.
    let cgroups = open_cgroups(&spec.cgroup_join)?;
    close_on_exec_from_3()?;

    let mut fds = Vec::new();
    for (ns, flag) in [
        ("ipc", CloneFlags::CLONE_NEWIPC),
        ("uts", CloneFlags::CLONE_NEWUTS),
        ("net", CloneFlags::CLONE_NEWNET),
        ("pid", CloneFlags::CLONE_NEWPID),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ] {
        let path = format!("/proc/{pid}/ns/{ns}");
        let f = ctx(File::open(&path), || format!("open {path} (is the container running?)"))?;
        fds.push((OwnedFd::from(f), flag, ns));
    }
    for (fd, flag, ns) in fds {
        ctx(setns(fd, flag), || format!("join the container's {ns} namespace"))?;
    }
    // Joining the mount namespace put us at its root, which is the container's root.
    // Single-threaded; the child only execs or exits.
    match fork_tied("fork")? {
        ForkResult::Child => {
            // With a tty (stdin, stdout and stderr are its slave side), the command leads a
            // session of its own with that terminal as its controlling one, as a runtime's
            // exec with `tty` does.
            let terminal = if tty { controlling_terminal() } else { Ok(()) };
            // One thread (fork copies the caller's only), so joining the cgroups by this thread
            // moves the process; its /proc is the container's, not read to check it.
            let entered =
                terminal.and_then(|()| join_cgroups(cgroups)).and_then(|()| enter_cwd(&cwd)).and_then(|()| confine(&spec.security));
            let err = match entered {
                Ok(()) => match prepared.exec() {
                    Ok(never) => match never {},
                    Err(e) => e,
                },
                Err(e) => e,
            };
            eprintln!("podspec-shim exec: {err}");
            // SAFETY: _exit is always safe.
            unsafe { libc::_exit(if err.starts_with("exec ") { 126 } else { 1 }) };
        }
        ForkResult::Parent { child } => Ok(wait_exit(child)?.exit_code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_count_is_read_from_the_status_line() {
        let status = "Name:\tpodspec-shim\nTgid:\t42\nPPid:\t1\nThreadsX:\t9\nThreads:\t3\nSigQ:\t0/1\n";
        assert_eq!(threads_in(status), Some(3));
        assert_eq!(threads_in("Name:\tx\n"), None);
    }

    /// The check of `join_cgroups`'s premise sees a second thread: this test's process has its
    /// main thread and this one at least, and one more while it is spawned.
    #[test]
    fn a_process_with_more_than_one_thread_is_refused_its_cgroup_join_by_thread() {
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || wait.recv());
        let threads = threads_of_this_process();
        let checked = debug_check_one_thread();
        drop(stop);
        let _ = other.join();
        assert!(threads.is_some_and(|n| n >= 3), "{threads:?}");
        if cfg!(debug_assertions) {
            assert!(checked.as_ref().is_err_and(|e| e.contains("threads")), "{checked:?}");
        }
    }
}
