//! The `RuntimeDefault` seccomp profile, as container runtimes give it under Kubernetes: an
//! allow-list of system calls; any other call fails with EPERM. Calls that need a capability
//! are allowed only when the container holds it; `clone` without CAP_SYS_ADMIN may not make
//! namespaces, and `clone3` then fails with ENOSYS so that the C library falls back to `clone`.
//!
//! The lists are the x86_64 system calls of containerd's default profile
//! (contrib/seccomp, the profile the CRI plugin loads for `RuntimeDefault`). The filters are
//! compiled with `seccompiler` and installed without no_new_privs, as runc installs them: the
//! process still holds CAP_SYS_ADMIN at that point, and no_new_privs stays what
//! `allowPrivilegeEscalation` says.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule};

/// `(name, number)` pairs of x86_64 system calls.
macro_rules! calls {
    ($($name:ident),* $(,)?) => { &[$((stringify!($name), libc::$name)),*] };
}

/// Allowed for every container.
#[rustfmt::skip]
const ALLOWED: &[(&str, i64)] = calls![
    SYS_accept, SYS_accept4, SYS_access, SYS_adjtimex, SYS_alarm, SYS_bind, SYS_brk, SYS_capget,
    SYS_capset, SYS_chdir, SYS_chmod, SYS_chown, SYS_clock_adjtime, SYS_clock_getres,
    SYS_clock_gettime, SYS_clock_nanosleep, SYS_close, SYS_close_range, SYS_connect,
    SYS_copy_file_range, SYS_creat, SYS_dup, SYS_dup2, SYS_dup3, SYS_epoll_create,
    SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_ctl_old, SYS_epoll_pwait, SYS_epoll_pwait2,
    SYS_epoll_wait, SYS_epoll_wait_old, SYS_eventfd, SYS_eventfd2, SYS_execve, SYS_execveat,
    SYS_exit, SYS_exit_group, SYS_faccessat, SYS_faccessat2, SYS_fadvise64, SYS_fallocate,
    SYS_fanotify_mark, SYS_fchdir, SYS_fchmod, SYS_fchmodat, SYS_fchown, SYS_fchownat, SYS_fcntl,
    SYS_fdatasync, SYS_fgetxattr, SYS_flistxattr, SYS_flock, SYS_fork, SYS_fremovexattr,
    SYS_fsetxattr, SYS_fstat, SYS_fstatfs, SYS_fsync, SYS_ftruncate, SYS_futex, SYS_futex_waitv,
    SYS_futimesat, SYS_getcpu, SYS_getcwd, SYS_getdents, SYS_getdents64, SYS_getegid,
    SYS_geteuid, SYS_getgid, SYS_getgroups, SYS_getitimer, SYS_getpeername, SYS_getpgid,
    SYS_getpgrp, SYS_getpid, SYS_getppid, SYS_getpriority, SYS_getrandom, SYS_getresgid,
    SYS_getresuid, SYS_getrlimit, SYS_get_robust_list, SYS_getrusage, SYS_getsid,
    SYS_getsockname, SYS_getsockopt, SYS_get_thread_area, SYS_gettid, SYS_gettimeofday,
    SYS_getuid, SYS_getxattr, SYS_inotify_add_watch, SYS_inotify_init, SYS_inotify_init1,
    SYS_inotify_rm_watch, SYS_io_cancel, SYS_ioctl, SYS_io_destroy, SYS_io_getevents,
    SYS_ioprio_get, SYS_ioprio_set, SYS_io_setup, SYS_io_submit,
    SYS_io_uring_enter, SYS_io_uring_register, SYS_io_uring_setup, SYS_kill,
    SYS_landlock_add_rule, SYS_landlock_create_ruleset, SYS_landlock_restrict_self, SYS_lchown,
    SYS_lgetxattr, SYS_link, SYS_linkat, SYS_listen, SYS_listxattr, SYS_llistxattr,
    SYS_lremovexattr, SYS_lseek, SYS_lsetxattr, SYS_lstat, SYS_madvise, SYS_membarrier,
    SYS_memfd_create, SYS_memfd_secret, SYS_mincore, SYS_mkdir, SYS_mkdirat, SYS_mknod,
    SYS_mknodat, SYS_mlock, SYS_mlock2, SYS_mlockall, SYS_mmap, SYS_mprotect, SYS_mq_getsetattr,
    SYS_mq_notify, SYS_mq_open, SYS_mq_timedreceive, SYS_mq_timedsend, SYS_mq_unlink,
    SYS_mremap, SYS_msgctl, SYS_msgget, SYS_msgrcv, SYS_msgsnd, SYS_msync, SYS_munlock,
    SYS_munlockall, SYS_munmap, SYS_nanosleep, SYS_newfstatat, SYS_open, SYS_openat,
    SYS_openat2, SYS_pause, SYS_pidfd_open, SYS_pidfd_send_signal, SYS_pipe, SYS_pipe2,
    SYS_poll, SYS_ppoll, SYS_prctl, SYS_pread64, SYS_preadv, SYS_preadv2, SYS_prlimit64,
    SYS_process_mrelease, SYS_pselect6, SYS_ptrace, SYS_pwrite64, SYS_pwritev, SYS_pwritev2,
    SYS_read, SYS_readahead, SYS_readlink, SYS_readlinkat, SYS_readv, SYS_recvfrom,
    SYS_recvmmsg, SYS_recvmsg, SYS_remap_file_pages, SYS_removexattr, SYS_rename,
    SYS_renameat, SYS_renameat2, SYS_restart_syscall, SYS_rmdir, SYS_rseq, SYS_rt_sigaction,
    SYS_rt_sigpending, SYS_rt_sigprocmask, SYS_rt_sigqueueinfo, SYS_rt_sigreturn,
    SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_rt_tgsigqueueinfo, SYS_sched_getaffinity,
    SYS_sched_getattr, SYS_sched_getparam, SYS_sched_get_priority_max,
    SYS_sched_get_priority_min, SYS_sched_getscheduler, SYS_sched_rr_get_interval,
    SYS_sched_setaffinity, SYS_sched_setattr, SYS_sched_setparam, SYS_sched_setscheduler,
    SYS_sched_yield, SYS_seccomp, SYS_select, SYS_semctl, SYS_semget, SYS_semop,
    SYS_semtimedop, SYS_sendfile, SYS_sendmmsg, SYS_sendmsg, SYS_sendto, SYS_setfsgid,
    SYS_setfsuid, SYS_setgid, SYS_setgroups, SYS_setitimer, SYS_setpgid, SYS_setpriority,
    SYS_setregid, SYS_setresgid, SYS_setresuid, SYS_setreuid, SYS_setrlimit,
    SYS_set_robust_list, SYS_setsid, SYS_setsockopt, SYS_set_thread_area, SYS_set_tid_address,
    SYS_setuid, SYS_setxattr, SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_shmget, SYS_shutdown,
    SYS_sigaltstack, SYS_signalfd, SYS_signalfd4, SYS_socket, SYS_socketpair, SYS_splice,
    SYS_stat, SYS_statfs, SYS_statx, SYS_symlink, SYS_symlinkat, SYS_sync, SYS_sync_file_range,
    SYS_syncfs, SYS_sysinfo, SYS_tee, SYS_tgkill, SYS_time, SYS_timer_create, SYS_timer_delete,
    SYS_timer_getoverrun, SYS_timer_gettime, SYS_timer_settime, SYS_timerfd_create,
    SYS_timerfd_gettime, SYS_timerfd_settime, SYS_times, SYS_tkill, SYS_truncate, SYS_umask,
    SYS_uname, SYS_unlink, SYS_unlinkat, SYS_utime, SYS_utimensat, SYS_utimes, SYS_vfork,
    SYS_vmsplice, SYS_wait4, SYS_waitid, SYS_write, SYS_writev,
    // x86_64 only.
    SYS_arch_prctl, SYS_modify_ldt,
];

/// Allowed for every container, numbered here where the libc crate names no constant.
const ALLOWED_UNNAMED: &[(&str, i64)] = &[("io_pgetevents", 333)];

/// Allowed when the container holds the capability.
#[rustfmt::skip]
const BY_CAPABILITY: &[(&str, &[(&str, i64)])] = &[
    ("CAP_DAC_READ_SEARCH", calls![SYS_open_by_handle_at]),
    ("CAP_SYS_ADMIN", calls![
        SYS_bpf, SYS_clone, SYS_clone3, SYS_fanotify_init, SYS_fsconfig, SYS_fsmount, SYS_fsopen,
        SYS_fspick, SYS_lookup_dcookie, SYS_mount, SYS_mount_setattr, SYS_move_mount,
        SYS_name_to_handle_at, SYS_open_tree, SYS_perf_event_open, SYS_quotactl, SYS_quotactl_fd,
        SYS_setdomainname, SYS_sethostname, SYS_setns, SYS_syslog, SYS_umount2, SYS_unshare,
    ]),
    ("CAP_SYS_BOOT", calls![SYS_reboot]),
    ("CAP_SYS_CHROOT", calls![SYS_chroot]),
    ("CAP_SYS_MODULE", calls![SYS_delete_module, SYS_init_module, SYS_finit_module]),
    ("CAP_SYS_PACCT", calls![SYS_acct]),
    ("CAP_SYS_PTRACE", calls![SYS_kcmp, SYS_pidfd_getfd, SYS_process_madvise, SYS_process_vm_readv, SYS_process_vm_writev]),
    ("CAP_SYS_RAWIO", calls![SYS_iopl, SYS_ioperm]),
    ("CAP_SYS_TIME", calls![SYS_settimeofday, SYS_clock_settime]),
    ("CAP_SYS_TTY_CONFIG", calls![SYS_vhangup]),
    ("CAP_SYSLOG", calls![SYS_syslog]),
    ("CAP_BPF", calls![SYS_bpf]),
    ("CAP_PERFMON", calls![SYS_perf_event_open]),
];

/// The `personality` values allowed: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and
/// the query 0xffffffff.
const PERSONALITIES: &[u64] = &[0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff];

/// The namespace flags that `clone` may not carry without CAP_SYS_ADMIN.
const NEW_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64;

/// Why `RuntimeDefault`'s filters could not be made or installed; the text reaches the shim's
/// error as before.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("the RuntimeDefault seccomp profile is written for x86_64, not {0}")]
    Arch(&'static str),
    #[error("seccomp rule: {0}")]
    Rule(#[source] seccompiler::BackendError),
    #[error("seccomp filter: {0}")]
    Filter(#[source] seccompiler::BackendError),
    #[error("seccomp filter too long")]
    TooLong,
    #[error("seccomp(SECCOMP_SET_MODE_FILTER): {0}")]
    Install(#[source] std::io::Error),
}

fn arch() -> Result<seccompiler::TargetArch, SeccompError> {
    if cfg!(target_arch = "x86_64") {
        Ok(seccompiler::TargetArch::x86_64)
    } else {
        Err(SeccompError::Arch(std::env::consts::ARCH))
    }
}

fn compile(filter: Result<SeccompFilter, seccompiler::BackendError>) -> Result<BpfProgram, SeccompError> {
    let filter = filter.map_err(SeccompError::Filter)?;
    filter.try_into().map_err(SeccompError::Filter)
}

/// The filters of `RuntimeDefault` for a container holding `capabilities` (`CAP_...`), in the
/// order they are installed. Two filters, because `clone3` answers ENOSYS where every other
/// refused call answers EPERM: of two filters that both return an errno, the kernel takes the
/// one installed last.
pub fn runtime_default(capabilities: &[String]) -> Result<Vec<BpfProgram>, SeccompError> {
    let arch = arch()?;
    let holds = |cap: &str| capabilities.iter().any(|c| c == cap);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = ALLOWED.iter().chain(ALLOWED_UNNAMED).map(|(_, nr)| (*nr, Vec::new())).collect();
    for (cap, calls) in BY_CAPABILITY.iter().filter(|(cap, _)| holds(cap)) {
        let _ = cap;
        rules.extend(calls.iter().map(|(_, nr)| (*nr, Vec::new())));
    }
    let condition = |index, op, value| SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value).map_err(SeccompError::Rule);
    let personality = PERSONALITIES
        .iter()
        .map(|v| SeccompRule::new(vec![condition(0, SeccompCmpOp::Eq, *v)?]).map_err(SeccompError::Rule))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_personality, personality);
    let admin = holds("CAP_SYS_ADMIN");
    if !admin {
        let no_namespaces = SeccompRule::new(vec![condition(0, SeccompCmpOp::MaskedEq(NEW_NAMESPACES), 0)?]).map_err(SeccompError::Rule)?;
        rules.insert(libc::SYS_clone, vec![no_namespaces]);
    }
    let eperm = SeccompAction::Errno(libc::EPERM as u32);
    let mut programs = vec![compile(SeccompFilter::new(rules, eperm, SeccompAction::Allow, arch))?];
    if !admin {
        let clone3 = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
        programs.push(compile(SeccompFilter::new(clone3, SeccompAction::Allow, SeccompAction::Errno(libc::ENOSYS as u32), arch))?);
    }
    Ok(programs)
}

/// Installs the filters on the calling thread without setting no_new_privs (the caller holds
/// CAP_SYS_ADMIN in its user namespace).
pub fn install(programs: &[BpfProgram]) -> Result<(), SeccompError> {
    for program in programs {
        let len = u16::try_from(program.len()).map_err(|_| SeccompError::TooLong)?;
        let prog = libc::sock_fprog { len, filter: program.as_ptr() as *mut libc::sock_filter };
        // SAFETY: `prog` points at a live, well-formed BPF program; the kernel copies it.
        let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const libc::sock_fprog) };
        if rc != 0 {
            return Err(SeccompError::Install(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_texts() {
        assert_eq!(SeccompError::Arch("aarch64").to_string(), "the RuntimeDefault seccomp profile is written for x86_64, not aarch64");
        assert_eq!(SeccompError::TooLong.to_string(), "seccomp filter too long");
    }

    #[test]
    fn the_default_capabilities_get_two_filters_and_sys_admin_one() {
        let default: Vec<String> = ["CAP_CHOWN", "CAP_SYS_CHROOT"].iter().map(|s| s.to_string()).collect();
        assert_eq!(runtime_default(&default).unwrap().len(), 2);
        assert_eq!(runtime_default(&["CAP_SYS_ADMIN".to_string()]).unwrap().len(), 1);
    }

    #[test]
    fn no_call_is_listed_twice_in_the_allow_list() {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in ALLOWED.iter().chain(ALLOWED_UNNAMED) {
            assert!(seen.insert(name), "{name} twice");
        }
    }

    /// Runs `check` in a forked child under the default capabilities' filters; its exit code.
    fn in_filtered_child(check: fn() -> i32) -> i32 {
        let filters = runtime_default(&["CAP_CHOWN".to_string()]).unwrap();
        // SAFETY: the child makes raw system calls only, then _exit.
        match unsafe { libc::fork() } {
            0 => {
                let code = if install(&filters).is_ok() { check() } else { 100 };
                // SAFETY: _exit is always safe.
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                libc::WEXITSTATUS(status)
            }
        }
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn allowed_calls_pass_and_namespaces_without_sys_admin_are_refused() {
        // getpid is allowed; unshare(CLONE_NEWUSER) needs CAP_SYS_ADMIN under the profile:
        // EPERM; clone3 answers ENOSYS; keyctl is on no list: EPERM.
        let code = in_filtered_child(|| {
            // SAFETY: plain system calls with no pointers.
            unsafe {
                if libc::getpid() <= 0 {
                    return 1;
                }
                if libc::unshare(libc::CLONE_NEWUSER) == 0 || errno() != libc::EPERM {
                    return 2;
                }
                if libc::syscall(libc::SYS_clone3, 0usize, 0usize) == 0 || errno() != libc::ENOSYS {
                    return 3;
                }
                if libc::syscall(libc::SYS_keyctl, 0usize) == 0 || errno() != libc::EPERM {
                    return 4;
                }
            }
            0
        });
        assert_eq!(code, 0, "1: getpid refused, 2: unshare not EPERM, 3: clone3 not ENOSYS, 4: keyctl not EPERM, 100: install failed");
    }
}
