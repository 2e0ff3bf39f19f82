//! `podspec-agent`: a tiny observer that podspec copies into its busybox-based
//! test image and runs inside pod containers, to see what busybox cannot:
//! SysV IPC, POSIX shared memory and message queues, namespace identities,
//! addresses and sockets (TCP and UDP).
//!
//! Every subcommand prints its result on stdout and its errors on stderr, as
//! `SUBCOMMAND: what failed: errno text`. Exit status: 0 on success, 1 on
//! failure, 2 on a usage error. `podspec-agent help` lists the subcommands.
//!
//! Only std and libc are used (this crate's Cargo.toml has no other dependency). Every `unsafe` block is a libc call (or a copy
//! into or out of memory that libc mapped) and says why it is sound.

use std::ffi::{CString, OsString};
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::str::FromStr;
use std::time::Duration;
use std::{fs, process, ptr, thread};

/// Size of the segments and objects that `shm-create` and `posix-shm-create` make.
const SEGMENT_SIZE: usize = 4096;
/// Connect (and read) timeout of `connect` when none is given.
const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 2000;
/// Namespaces that `ns` reports, as named in /proc/self/ns.
const NAMESPACES: &[&str] = &["net", "ipc", "uts", "pid", "mnt", "user", "cgroup"];

/// One subcommand: its name, its arguments, what it does, and its handler.
/// A handler returns what to print on stdout (without the final newline).
struct Subcommand {
    name: &'static str,
    args: &'static str,
    about: &'static str,
    run: fn(&[String]) -> Result<String, Failure>,
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "shm-create",
        args: "KEY TEXT",
        about: "create a 4096-byte SysV shared memory segment with KEY, write TEXT; print its shmid",
        run: cmd_shm_create,
    },
    Subcommand {
        name: "shm-read",
        args: "KEY",
        about: "print the text (up to the first NUL) of the SysV segment with KEY",
        run: cmd_shm_read,
    },
    Subcommand {
        name: "shm-write",
        args: "KEY TEXT",
        about: "overwrite the text of the existing SysV segment with KEY; print its shmid",
        run: cmd_shm_write,
    },
    Subcommand {
        name: "sem-create",
        args: "KEY VALUE",
        about: "create a SysV semaphore set of 1 with KEY, set it to VALUE; print its semid",
        run: cmd_sem_create,
    },
    Subcommand {
        name: "sem-get",
        args: "KEY",
        about: "print the value of the SysV semaphore with KEY",
        run: cmd_sem_get,
    },
    Subcommand {
        name: "sem-op",
        args: "KEY DELTA",
        about: "add DELTA to the SysV semaphore with KEY (IPC_NOWAIT); print the new value",
        run: cmd_sem_op,
    },
    Subcommand {
        name: "posix-shm-create",
        args: "NAME TEXT",
        about: "create the 4096-byte POSIX shared memory object /NAME, write TEXT; print NAME",
        run: cmd_posix_shm_create,
    },
    Subcommand {
        name: "posix-shm-read",
        args: "NAME",
        about: "print the text (up to the first NUL) of the POSIX shared memory object /NAME",
        run: cmd_posix_shm_read,
    },
    Subcommand {
        name: "mq-create",
        args: "NAME",
        about: "create the POSIX message queue /NAME (mq_open O_CREAT|O_EXCL, the system's default sizes); print NAME",
        run: cmd_mq_create,
    },
    Subcommand {
        name: "mq-send",
        args: "NAME TEXT",
        about: "send TEXT to the existing POSIX message queue /NAME without waiting (mq_send); print 'sent'",
        run: cmd_mq_send,
    },
    Subcommand {
        name: "mq-receive",
        args: "NAME",
        about: "take the oldest message off the existing POSIX message queue /NAME without waiting (mq_receive); print it",
        run: cmd_mq_receive,
    },
    Subcommand {
        name: "ns",
        args: "ID",
        about: "print the identity of this process's namespace ID (net, ipc, uts, pid, mnt, user, cgroup), e.g. net:[4026532281]",
        run: cmd_ns,
    },
    Subcommand {
        name: "ip",
        args: "",
        about: "print the IPv4 addresses of all non-loopback interfaces, one per line, sorted",
        run: cmd_ip,
    },
    Subcommand {
        name: "listen",
        args: "PORT [CLOSE_FILE]",
        about: "listen on TCP 0.0.0.0:PORT (0: any free port), print 'listening on ADDR', then answer every connection with 'hello from HOSTNAME' and close, forever; with CLOSE_FILE, close the listener once that file exists, print 'closed', and wait forever",
        run: cmd_listen,
    },
    Subcommand {
        name: "http-serve",
        args: "PORT FAIL_FILE",
        about: "serve HTTP/1.1 on 0.0.0.0:PORT, print each request's line, its header lines and 'body: TEXT' on stdout; answer 200 'ok', but 500 'unhealthy' on a path under /healthz while FAIL_FILE exists",
        run: cmd_http_serve,
    },
    Subcommand {
        name: "ignore-term",
        args: "",
        about: "ignore SIGTERM, print 'ignoring SIGTERM', and wait forever (only SIGKILL ends it)",
        run: cmd_ignore_term,
    },
    Subcommand {
        name: "udp-echo",
        args: "PORT",
        about: "bind UDP 0.0.0.0:PORT, print 'listening on ADDR', then answer every datagram TEXT with 'echo from HOSTNAME: TEXT', forever",
        run: cmd_udp_echo,
    },
    Subcommand {
        name: "udp-send",
        args: "HOST PORT TEXT [TIMEOUT_MS]",
        about: "send TEXT in one UDP datagram and print the datagram that comes back (timeout 2000 ms by default)",
        run: cmd_udp_send,
    },
    Subcommand {
        name: "connect",
        args: "HOST PORT [TIMEOUT_MS]",
        about: "connect over TCP (timeout 2000 ms by default), print everything read until EOF",
        run: cmd_connect,
    },
    Subcommand {
        name: "hostname",
        args: "",
        about: "print the hostname (gethostname)",
        run: cmd_hostname,
    },
    Subcommand {
        name: "pause",
        args: "",
        about: "hold a pod sandbox's namespaces as its first process: reap children, exit 0 on SIGTERM or SIGINT (the pause image's entrypoint)",
        run: cmd_pause,
    },
    Subcommand {
        name: "mount",
        args: "SOURCE TARGET FSTYPE",
        about: "mount(2) SOURCE on TARGET as FSTYPE; print \"mounted\" (errors carry the errno text)",
        run: cmd_mount,
    },
    Subcommand {
        name: "mounttest",
        args: "[--fs_type=PATH] [--new_file_0644=PATH] [--new_file_0666=PATH] [--new_file_0777=PATH] [--file_mode=PATH] [--file_perm=PATH] [--file_content=PATH]",
        about: "what Kubernetes' e2e mounttest prints, in its order: the mount type of a path (\"tmpfs\", else statfs's magic in decimal), new files written with a mode (umask 0) and read back, a path's mode as Go prints a FileMode (-r--------, links followed), its permissions (-rwxr-xr-x), a file's content",
        run: cmd_mounttest,
    },
    Subcommand {
        name: "euid",
        args: "",
        about: "print \"Effective uid: N\", the process's effective uid (installed setuid root in the nonewprivs fixture image, as Kubernetes' e2e nonewprivs image prints it)",
        run: cmd_euid,
    },
    Subcommand {
        name: "argv",
        args: "[ARGS...]",
        about: "print how it was called: `argv[0]=...`, then `argv[1]=...` and so on, one a line (an image's ENTRYPOINT for command and args checks)",
        run: cmd_argv,
    },
    Subcommand {
        name: "paused",
        args: "",
        about: "print \"Paused\", then run as `main` does (the entrypoint image's default CMD, as agnhost's pause)",
        run: cmd_paused,
    },
    Subcommand {
        name: "main",
        args: "",
        about: "run as a container's main process until asked to crash (SIGUSR1: exit 1) or stopped (SIGTERM: exit 0)",
        run: cmd_main,
    },
    Subcommand {
        name: "crash",
        args: "",
        about: "ask the container's main process, which must be `podspec-agent main`, to crash (exit 1)",
        run: cmd_crash,
    },
    Subcommand {
        name: "help",
        args: "",
        about: "print this help",
        run: cmd_help,
    },
];

/// Why a subcommand did not succeed. The message already names the subcommand.
#[derive(Debug)]
enum Failure {
    /// Bad invocation: exit status 2.
    Usage(String),
    /// The operation failed: exit status 1.
    Failed(String),
}

impl Failure {
    /// An operation failed; `err` supplies the errno text.
    fn os(sub: &str, what: impl Display, err: io::Error) -> Self {
        Failure::Failed(format!("{sub}: {what}: {err}"))
    }

    /// An operation failed for a reason that has no errno.
    fn failed(sub: &str, what: impl Display) -> Self {
        Failure::Failed(format!("{sub}: {what}"))
    }

    /// An argument of `sub` is malformed.
    fn usage(sub: &str, what: impl Display) -> Self {
        Failure::Usage(format!("{sub}: {what}\n{}", synopsis(sub)))
    }

    fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Usage(msg) | Failure::Failed(msg) => msg,
        }
    }
}

/// The `podspec-agent` program: runs the subcommand its arguments name and exits with its status.
/// The binary (`src/bin/podspec-agent.rs` of the `podspec` package, so that its tests and the image
/// store find it beside `podspec`) is this call alone.
pub fn main() -> ! {
    process::exit(run(std::env::args_os().skip(1).collect()));
}

/// Runs one invocation (arguments without the program name); returns the exit status.
fn run(args: Vec<OsString>) -> i32 {
    let args: Result<Vec<String>, OsString> = args.into_iter().map(OsString::into_string).collect();
    let result = match args {
        Ok(args) => dispatch(&args),
        Err(bad) => Err(Failure::Usage(format!("podspec-agent: argument {bad:?} is not valid UTF-8"))),
    };
    match result {
        Ok(out) => match print_stdout(&out) {
            Ok(()) => 0,
            Err(err) => {
                eprintln!("podspec-agent: cannot write to stdout: {err}");
                1
            }
        },
        Err(failure) => {
            eprintln!("{}", failure.message());
            failure.exit_code()
        }
    }
}

fn dispatch(args: &[String]) -> Result<String, Failure> {
    let Some((name, rest)) = args.split_first() else {
        return Err(Failure::Usage(format!("podspec-agent: no subcommand given\n\n{}", usage())));
    };
    if name == "-h" || name == "--help" {
        return Ok(usage());
    }
    match SUBCOMMANDS.iter().find(|sub| sub.name == name) {
        Some(sub) => (sub.run)(rest),
        None => Err(Failure::Usage(format!("podspec-agent: unknown subcommand '{name}'\n\n{}", usage()))),
    }
}

/// Prints `out` followed by a newline, unless `out` is empty; then flushes.
fn print_stdout(out: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    if !out.is_empty() {
        writeln!(stdout, "{out}")?;
    }
    stdout.flush()
}

fn usage() -> String {
    let mut text = String::from(
        "usage: podspec-agent SUBCOMMAND [ARGS...]\n\n\
         Observes a container from the inside, for podspec scenarios. Results go to stdout,\n\
         errors to stderr. Exit status: 0 success, 1 failure, 2 usage error.\n\
         KEY is a SysV IPC key, decimal or 0x-hexadecimal, not 0 (IPC_PRIVATE).\n\nsubcommands:\n",
    );
    for sub in SUBCOMMANDS {
        let call = format!("{} {}", sub.name, sub.args);
        text.push_str(&format!("  {:<32}{}\n", call.trim_end(), sub.about));
    }
    text.pop();
    text
}

/// The "usage: ..." line of one subcommand.
fn synopsis(name: &str) -> String {
    match SUBCOMMANDS.iter().find(|sub| sub.name == name) {
        Some(sub) => format!("usage: podspec-agent {} {}", sub.name, sub.args).trim_end().to_string(),
        None => "run 'podspec-agent help' for usage".to_string(),
    }
}

// ---------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------

/// Exactly `N` arguments, or a usage error.
fn expect_args<'a, const N: usize>(sub: &str, args: &'a [String]) -> Result<[&'a str; N], Failure> {
    if args.len() != N {
        return Err(Failure::usage(sub, format!("expected {N} argument(s), got {}", args.len())));
    }
    Ok(std::array::from_fn(|i| args[i].as_str()))
}

fn parse_number<T: FromStr>(sub: &str, what: &str, value: &str) -> Result<T, Failure> {
    value.parse().map_err(|_| Failure::usage(sub, format!("{what} must be an integer in range, got '{value}'")))
}

/// A SysV IPC key: decimal (may be negative, as key_t is signed) or 0x-hexadecimal.
fn parse_key(sub: &str, value: &str) -> Result<libc::key_t, Failure> {
    let parsed = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok().map(|k| k as libc::key_t),
        None => {
            value.parse::<i64>().ok().filter(|k| (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(k)).map(|k| k as u32 as libc::key_t)
        }
    };
    match parsed {
        Some(libc::IPC_PRIVATE) => Err(Failure::usage(sub, "KEY 0 is IPC_PRIVATE, which cannot be found again by key")),
        Some(key) => Ok(key),
        None => Err(Failure::usage(sub, format!("KEY must be a 32-bit integer (decimal or 0x-hex), got '{value}'"))),
    }
}

/// Checks that `text` and its terminating NUL fit in `capacity` bytes.
fn check_fits(sub: &str, text: &str, capacity: usize) -> Result<(), Failure> {
    if text.len() < capacity {
        Ok(())
    } else {
        Err(Failure::failed(
            sub,
            format!(
                "TEXT is {} bytes; at most {} fit (with the terminating NUL) in {capacity} bytes",
                text.len(),
                capacity.saturating_sub(1)
            ),
        ))
    }
}

/// The text stored in a segment: its bytes up to the first NUL.
fn text_until_nul(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

// ---------------------------------------------------------------------------
// Shared memory, as mapped into this process
// ---------------------------------------------------------------------------

/// How a [`SharedRegion`] is released.
enum Release {
    /// Attached with shmat: detach with shmdt.
    SysvDetach,
    /// Mapped with mmap: unmap with munmap.
    Munmap,
}

/// Memory shared with other processes, mapped into this one until dropped.
/// It is only ever copied into or out of, never borrowed as a Rust slice,
/// since other processes may change it at any time.
struct SharedRegion {
    ptr: *mut u8,
    len: usize,
    release: Release,
}

impl SharedRegion {
    fn read_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.len];
        // SAFETY: `ptr` points to `len` mapped, readable bytes for as long as
        // `self` lives; `bytes` is a distinct buffer of `len` bytes.
        unsafe { ptr::copy_nonoverlapping(self.ptr, bytes.as_mut_ptr(), self.len) };
        bytes
    }

    /// Writes `text`, a NUL, and zeros up to the end. `text` must fit (see [`check_fits`]).
    fn write_text(&mut self, text: &str) {
        assert!(text.len() < self.len, "text does not fit in the region");
        // SAFETY: `ptr` points to `len` mapped, writable bytes (the region was
        // mapped read-write by its creator); `text.len() < len`, so the copy
        // and the zero fill stay inside the region.
        unsafe {
            ptr::copy_nonoverlapping(text.as_ptr(), self.ptr, text.len());
            ptr::write_bytes(self.ptr.add(text.len()), 0, self.len - text.len());
        }
    }
}

impl Drop for SharedRegion {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful shmat or mmap and are
        // released exactly once, here; nothing refers to the memory afterwards.
        unsafe {
            match self.release {
                Release::SysvDetach => libc::shmdt(self.ptr as *const libc::c_void),
                Release::Munmap => libc::munmap(self.ptr as *mut libc::c_void, self.len),
            };
        }
    }
}

// ---------------------------------------------------------------------------
// SysV shared memory
// ---------------------------------------------------------------------------

fn cmd_shm_create(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "shm-create";
    let [key, text] = expect_args(SUB, args)?;
    let key = parse_key(SUB, key)?;
    check_fits(SUB, text, SEGMENT_SIZE)?;
    shm_create(key, text).map(|id| id.to_string())
}

fn cmd_shm_read(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "shm-read";
    let [key] = expect_args(SUB, args)?;
    shm_read(SUB, parse_key(SUB, key)?)
}

fn cmd_shm_write(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "shm-write";
    let [key, text] = expect_args(SUB, args)?;
    shm_write(SUB, parse_key(SUB, key)?, text).map(|id| id.to_string())
}

/// Creates the segment (failing if `key` is taken), writes `text`; returns the shmid.
fn shm_create(key: libc::key_t, text: &str) -> Result<libc::c_int, Failure> {
    const SUB: &str = "shm-create";
    // SAFETY: shmget takes only integers and touches no memory of ours.
    let id = unsafe { libc::shmget(key, SEGMENT_SIZE, libc::IPC_CREAT | libc::IPC_EXCL | 0o666) };
    if id < 0 {
        let err = io::Error::last_os_error();
        return Err(Failure::os(SUB, format!("cannot create SysV shared memory segment with key {key}"), err));
    }
    let written = shm_attach(id, false).map(|mut region| region.write_text(text));
    if let Err(err) = written {
        shm_remove(id);
        return Err(Failure::os(SUB, format!("cannot attach new segment {id} (key {key}); removed it"), err));
    }
    Ok(id)
}

fn shm_read(sub: &str, key: libc::key_t) -> Result<String, Failure> {
    let id = shm_lookup(sub, key)?;
    let region = shm_attach(id, true).map_err(|err| Failure::os(sub, format!("cannot attach segment {id} (key {key})"), err))?;
    Ok(text_until_nul(&region.read_bytes()))
}

/// Overwrites the text of an existing segment; returns its shmid.
fn shm_write(sub: &str, key: libc::key_t, text: &str) -> Result<libc::c_int, Failure> {
    let id = shm_lookup(sub, key)?;
    let mut region = shm_attach(id, false).map_err(|err| Failure::os(sub, format!("cannot attach segment {id} (key {key})"), err))?;
    check_fits(sub, text, region.len)?;
    region.write_text(text);
    Ok(id)
}

/// The shmid of the existing segment with `key`.
fn shm_lookup(sub: &str, key: libc::key_t) -> Result<libc::c_int, Failure> {
    // SAFETY: shmget takes only integers and touches no memory of ours.
    let id = unsafe { libc::shmget(key, 0, 0) };
    if id >= 0 {
        return Ok(id);
    }
    let err = io::Error::last_os_error();
    let what = if err.raw_os_error() == Some(libc::ENOENT) {
        format!("no SysV shared memory segment with key {key}")
    } else {
        format!("cannot open SysV shared memory segment with key {key}")
    };
    Err(Failure::os(sub, what, err))
}

/// Attaches segment `id` whole, read-only or read-write.
fn shm_attach(id: libc::c_int, read_only: bool) -> io::Result<SharedRegion> {
    // SAFETY: shmid_ds is plain old data, for which all zeros is valid.
    let mut stat: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one shmid_ds into `stat`, which we own.
    if unsafe { libc::shmctl(id, libc::IPC_STAT, &mut stat) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if read_only { libc::SHM_RDONLY } else { 0 };
    // SAFETY: a null address lets the kernel choose where to attach; on
    // success the segment stays mapped until shmdt in SharedRegion::drop.
    let addr = unsafe { libc::shmat(id, ptr::null(), flags) };
    if addr as isize == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(SharedRegion { ptr: addr.cast(), len: stat.shm_segsz, release: Release::SysvDetach })
}

/// Marks segment `id` for removal (best effort, used to undo a failed create).
fn shm_remove(id: libc::c_int) {
    // SAFETY: IPC_RMID reads no buffer, so a null pointer is allowed.
    unsafe { libc::shmctl(id, libc::IPC_RMID, ptr::null_mut()) };
}

// ---------------------------------------------------------------------------
// SysV semaphores
// ---------------------------------------------------------------------------

/// The fourth argument of semctl, which the caller must define (see semctl(2)).
#[repr(C)]
union Semun {
    val: libc::c_int,
    _pointer: *mut libc::c_void,
}

fn cmd_sem_create(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "sem-create";
    let [key, value] = expect_args(SUB, args)?;
    let key = parse_key(SUB, key)?;
    let value = parse_number(SUB, "VALUE", value)?;
    sem_create(key, value).map(|id| id.to_string())
}

fn cmd_sem_get(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "sem-get";
    let [key] = expect_args(SUB, args)?;
    let key = parse_key(SUB, key)?;
    let id = sem_lookup(SUB, key)?;
    sem_value(SUB, id).map(|value| value.to_string())
}

fn cmd_sem_op(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "sem-op";
    let [key, delta] = expect_args(SUB, args)?;
    let key = parse_key(SUB, key)?;
    let delta = parse_number(SUB, "DELTA", delta)?;
    sem_op(key, delta).map(|value| value.to_string())
}

/// Creates a set of one semaphore (failing if `key` is taken) set to `value`; returns the semid.
fn sem_create(key: libc::key_t, value: libc::c_int) -> Result<libc::c_int, Failure> {
    const SUB: &str = "sem-create";
    // SAFETY: semget takes only integers and touches no memory of ours.
    let id = unsafe { libc::semget(key, 1, libc::IPC_CREAT | libc::IPC_EXCL | 0o666) };
    if id < 0 {
        let err = io::Error::last_os_error();
        return Err(Failure::os(SUB, format!("cannot create SysV semaphore set with key {key}"), err));
    }
    // SAFETY: SETVAL takes a union semun by value and reads only its `val`.
    if unsafe { libc::semctl(id, 0, libc::SETVAL, Semun { val: value }) } < 0 {
        let err = io::Error::last_os_error();
        sem_remove(id);
        return Err(Failure::os(SUB, format!("cannot set new semaphore {id} (key {key}) to {value}; removed it"), err));
    }
    Ok(id)
}

/// Applies `delta` to the semaphore without waiting; returns its new value.
fn sem_op(key: libc::key_t, delta: libc::c_short) -> Result<libc::c_int, Failure> {
    const SUB: &str = "sem-op";
    let id = sem_lookup(SUB, key)?;
    let mut op = libc::sembuf { sem_num: 0, sem_op: delta, sem_flg: libc::IPC_NOWAIT as libc::c_short };
    // SAFETY: `op` is one valid sembuf that we own, and we pass nsops = 1.
    if unsafe { libc::semop(id, &mut op, 1) } < 0 {
        let err = io::Error::last_os_error();
        let blocked = if err.raw_os_error() == Some(libc::EAGAIN) { " would block" } else { "" };
        return Err(Failure::os(SUB, format!("semop {delta:+} on semaphore with key {key}{blocked}"), err));
    }
    sem_value(SUB, id)
}

/// The semid of the existing semaphore set with `key`.
fn sem_lookup(sub: &str, key: libc::key_t) -> Result<libc::c_int, Failure> {
    // SAFETY: semget takes only integers and touches no memory of ours.
    let id = unsafe { libc::semget(key, 0, 0) };
    if id >= 0 {
        return Ok(id);
    }
    let err = io::Error::last_os_error();
    let what = if err.raw_os_error() == Some(libc::ENOENT) {
        format!("no SysV semaphore set with key {key}")
    } else {
        format!("cannot open SysV semaphore set with key {key}")
    };
    Err(Failure::os(sub, what, err))
}

/// The value of semaphore 0 of set `id`.
fn sem_value(sub: &str, id: libc::c_int) -> Result<libc::c_int, Failure> {
    // SAFETY: GETVAL takes no fourth argument and touches no memory of ours.
    let value = unsafe { libc::semctl(id, 0, libc::GETVAL) };
    if value < 0 {
        return Err(Failure::os(sub, format!("cannot read semaphore {id}"), io::Error::last_os_error()));
    }
    Ok(value)
}

/// Removes semaphore set `id` (best effort, used to undo a failed create).
fn sem_remove(id: libc::c_int) {
    // SAFETY: IPC_RMID takes no fourth argument and touches no memory of ours.
    unsafe { libc::semctl(id, 0, libc::IPC_RMID) };
}

// ---------------------------------------------------------------------------
// POSIX shared memory
// ---------------------------------------------------------------------------

fn cmd_posix_shm_create(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "posix-shm-create";
    let [name, text] = expect_args(SUB, args)?;
    let name = posix_shm_name(SUB, name)?;
    check_fits(SUB, text, SEGMENT_SIZE)?;
    posix_shm_create(&name, text)?;
    Ok(name)
}

fn cmd_posix_shm_read(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "posix-shm-read";
    let [name] = expect_args(SUB, args)?;
    posix_shm_read(&posix_shm_name(SUB, name)?)
}

/// NAME without its optional leading '/'; it must be a single path component.
fn posix_shm_name(sub: &str, name: &str) -> Result<String, Failure> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() || bare.len() > 255 || bare.contains(['/', '\0']) || bare == "." || bare == ".." {
        return Err(Failure::usage(sub, format!("NAME must be one path component (1-255 bytes, no '/'), got '{name}'")));
    }
    Ok(bare.to_string())
}

/// The argument shm_open takes for a (validated) bare name: "/NAME".
fn posix_shm_path(name: &str) -> CString {
    CString::new(format!("/{name}")).expect("validated names contain no NUL")
}

fn posix_shm_open(path: &CString, flags: libc::c_int) -> io::Result<fs::File> {
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    let fd = unsafe { libc::shm_open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o666) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Maps `len` bytes of `file` shared, read-only or read-write.
fn posix_shm_map(file: &fs::File, len: usize, writable: bool) -> io::Result<SharedRegion> {
    let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
    // SAFETY: a null address lets the kernel choose; `file` is open with the
    // needed access; on success the mapping lives until munmap in
    // SharedRegion::drop (and survives closing `file`).
    let addr = unsafe { libc::mmap(ptr::null_mut(), len, prot, libc::MAP_SHARED, file.as_raw_fd(), 0) };
    if addr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(SharedRegion { ptr: addr.cast(), len, release: Release::Munmap })
}

/// Creates /NAME (failing if it exists) with SEGMENT_SIZE bytes holding `text`.
fn posix_shm_create(name: &str, text: &str) -> Result<(), Failure> {
    const SUB: &str = "posix-shm-create";
    let path = posix_shm_path(name);
    let file = posix_shm_open(&path, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR)
        .map_err(|err| Failure::os(SUB, format!("cannot create POSIX shared memory object /{name}"), err))?;
    if let Err((step, err)) = posix_shm_fill(&file, text) {
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::shm_unlink(path.as_ptr()) };
        return Err(Failure::os(SUB, format!("{step} /{name} failed; removed it"), err));
    }
    Ok(())
}

/// Gives a new object its mode, size and text; on error names the failed step.
fn posix_shm_fill(file: &fs::File, text: &str) -> Result<(), (&'static str, io::Error)> {
    // shm_open's mode is reduced by the umask; make it 0666, as for SysV segments.
    file.set_permissions(fs::Permissions::from_mode(0o666)).map_err(|err| ("fchmod", err))?;
    file.set_len(SEGMENT_SIZE as u64).map_err(|err| ("ftruncate", err))?;
    let mut region = posix_shm_map(file, SEGMENT_SIZE, true).map_err(|err| ("mmap", err))?;
    region.write_text(text);
    Ok(())
}

fn posix_shm_read(name: &str) -> Result<String, Failure> {
    const SUB: &str = "posix-shm-read";
    let file = posix_shm_open(&posix_shm_path(name), libc::O_RDONLY).map_err(|err| {
        let what = if err.raw_os_error() == Some(libc::ENOENT) {
            format!("no POSIX shared memory object /{name}")
        } else {
            format!("cannot open POSIX shared memory object /{name}")
        };
        Failure::os(SUB, what, err)
    })?;
    let len = file.metadata().map_err(|err| Failure::os(SUB, format!("cannot stat /{name}"), err))?.len();
    if len == 0 {
        return Ok(String::new());
    }
    let len = usize::try_from(len).map_err(|_| Failure::failed(SUB, format!("/{name} is too large to map")))?;
    let region = posix_shm_map(&file, len, false).map_err(|err| Failure::os(SUB, format!("cannot map /{name}"), err))?;
    Ok(text_until_nul(&region.read_bytes()))
}

// ---------------------------------------------------------------------------
// POSIX message queues
// ---------------------------------------------------------------------------

fn cmd_mq_create(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "mq-create";
    let [name] = expect_args(SUB, args)?;
    let name = posix_shm_name(SUB, name)?;
    let queue = mq_open(&name, libc::O_CREAT | libc::O_EXCL | libc::O_RDWR)
        .map_err(|err| Failure::os(SUB, format!("cannot create POSIX message queue /{name}"), err))?;
    drop(queue);
    Ok(name)
}

fn cmd_mq_send(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "mq-send";
    let [name, text] = expect_args(SUB, args)?;
    let name = posix_shm_name(SUB, name)?;
    let queue = mq_open(&name, libc::O_WRONLY | libc::O_NONBLOCK)
        .map_err(|err| Failure::os(SUB, format!("cannot open POSIX message queue /{name}"), err))?;
    // SAFETY: `text` is valid for `text.len()` bytes during the call; `queue` is an open descriptor.
    if unsafe { libc::mq_send(queue.0, text.as_ptr().cast(), text.len(), 0) } < 0 {
        return Err(Failure::os(SUB, format!("cannot send to /{name}"), io::Error::last_os_error()));
    }
    Ok("sent".to_string())
}

fn cmd_mq_receive(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "mq-receive";
    let [name] = expect_args(SUB, args)?;
    let name = posix_shm_name(SUB, name)?;
    let queue = mq_open(&name, libc::O_RDONLY | libc::O_NONBLOCK)
        .map_err(|err| Failure::os(SUB, format!("cannot open POSIX message queue /{name}"), err))?;
    // SAFETY: mq_attr is plain integers; zeroed is a valid value for mq_getattr to overwrite.
    let mut attr: libc::mq_attr = unsafe { std::mem::zeroed() };
    // SAFETY: `attr` is a valid mq_attr for the call to fill in.
    if unsafe { libc::mq_getattr(queue.0, &mut attr) } < 0 {
        return Err(Failure::os(SUB, format!("cannot read the attributes of /{name}"), io::Error::last_os_error()));
    }
    // mq_receive needs a buffer of at least the queue's message size.
    let mut buf = vec![0u8; usize::try_from(attr.mq_msgsize).unwrap_or(0).max(1)];
    let mut priority: libc::c_uint = 0;
    // SAFETY: `buf` is writable for `buf.len()` bytes and `priority` is a valid c_uint.
    let n = unsafe { libc::mq_receive(queue.0, buf.as_mut_ptr().cast(), buf.len(), &mut priority) };
    if n < 0 {
        return Err(Failure::os(SUB, format!("cannot receive from /{name}"), io::Error::last_os_error()));
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// An open message queue descriptor, closed when dropped.
struct MessageQueue(libc::mqd_t);

impl Drop for MessageQueue {
    fn drop(&mut self) {
        // SAFETY: the descriptor was opened by mq_open and is closed once, here.
        unsafe { libc::mq_close(self.0) };
    }
}

/// Opens the queue /NAME (a validated bare name); with O_CREAT, mode 0666 and default sizes.
fn mq_open(name: &str, flags: libc::c_int) -> io::Result<MessageQueue> {
    let path = posix_shm_path(name);
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call; with O_CREAT the
    // variadic mode and a null attribute pointer (the system's defaults) are passed.
    let mqd = unsafe { libc::mq_open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o666 as libc::mode_t, ptr::null_mut::<libc::mq_attr>()) };
    if mqd == -1 as libc::mqd_t {
        return Err(io::Error::last_os_error());
    }
    Ok(MessageQueue(mqd))
}

// ---------------------------------------------------------------------------
// Namespaces, addresses, hostname
// ---------------------------------------------------------------------------

fn cmd_ns(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "ns";
    let [id] = expect_args(SUB, args)?;
    if !NAMESPACES.contains(&id) {
        return Err(Failure::usage(SUB, format!("ID must be one of {}, got '{id}'", NAMESPACES.join(", "))));
    }
    let link = format!("/proc/self/ns/{id}");
    let target = fs::read_link(&link).map_err(|err| Failure::os(SUB, format!("readlink {link}"), err))?;
    Ok(target.to_string_lossy().into_owned())
}

fn cmd_ip(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("ip", args)?;
    let addrs = ipv4_addresses().map_err(|err| Failure::os("ip", "getifaddrs", err))?;
    let lines: Vec<String> = addrs.iter().map(Ipv4Addr::to_string).collect();
    Ok(lines.join("\n"))
}

/// The IPv4 addresses of all non-loopback interfaces, sorted, without duplicates.
fn ipv4_addresses() -> io::Result<Vec<Ipv4Addr>> {
    let mut list: *mut libc::ifaddrs = ptr::null_mut();
    // SAFETY: getifaddrs stores a list it allocated into `list`, which we own.
    if unsafe { libc::getifaddrs(&mut list) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut addrs = Vec::new();
    let mut entry = list;
    while !entry.is_null() {
        // SAFETY: `entry` is a non-null node of the list from getifaddrs,
        // which stays valid until freeifaddrs below.
        let ifa = unsafe { &*entry };
        if !ifa.ifa_addr.is_null() && ifa.ifa_flags & libc::IFF_LOOPBACK as libc::c_uint == 0 {
            // SAFETY: a non-null ifa_addr points to a sockaddr; we read the
            // family first and read it as a sockaddr_in only if it is AF_INET.
            unsafe {
                if libc::c_int::from((*ifa.ifa_addr).sa_family) == libc::AF_INET {
                    let sin = ptr::read_unaligned(ifa.ifa_addr.cast::<libc::sockaddr_in>());
                    addrs.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
                }
            }
        }
        entry = ifa.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once; no reference into it remains.
    unsafe { libc::freeifaddrs(list) };
    addrs.sort();
    addrs.dedup();
    Ok(addrs)
}

fn cmd_hostname(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("hostname", args)?;
    hostname().map_err(|err| Failure::os("hostname", "gethostname", err))
}

fn hostname() -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(text_until_nul(&buf))
}

fn cmd_mount(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "mount";
    let [source, target, fstype] = expect_args(SUB, args)?;
    let c = |s: &str| CString::new(s.as_bytes()).map_err(|_| Failure::failed(SUB, format!("{s:?} contains a NUL byte")));
    let (source, target, fstype) = (c(source)?, c(target)?, c(fstype)?);
    // SAFETY: the three strings are NUL-terminated and live across the call; no data is passed.
    if unsafe { libc::mount(source.as_ptr(), target.as_ptr(), fstype.as_ptr(), 0, ptr::null()) } < 0 {
        return Err(Failure::os(SUB, "mount", io::Error::last_os_error()));
    }
    Ok("mounted".into())
}

// ---------------------------------------------------------------------------
// Volumes, as Kubernetes' e2e mounttest sees them
// ---------------------------------------------------------------------------

/// statfs's f_type of a tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// What `mounttest` writes into each new file.
const MOUNTTEST_CONTENT: &str = "mount-tester new file\n";

/// Prints what the e2e tests' mounttest prints, line for line, so that a scenario asserts the
/// same lines as `test/e2e/common/storage/empty_dir.go`: `mount type of "P": tmpfs`, `content of
/// file "P": mount-tester new file` and `perms of file "P": -rw-r--r--`.
fn cmd_mounttest(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "mounttest";
    let (mut fs_type, mut perm, mut mode, mut content) = (None, None, None, None);
    let mut new_files: Vec<(u32, String)> = Vec::new();
    for a in args {
        let (flag, value) = a.split_once('=').ok_or_else(|| Failure::usage(SUB, format!("expected --FLAG=PATH, got {a:?}")))?;
        match flag {
            "--fs_type" => fs_type = Some(value.to_string()),
            "--file_perm" => perm = Some(value.to_string()),
            "--file_mode" => mode = Some(value.to_string()),
            "--file_content" => content = Some(value.to_string()),
            "--new_file_0644" => new_files.push((0o644, value.to_string())),
            "--new_file_0666" => new_files.push((0o666, value.to_string())),
            "--new_file_0777" => new_files.push((0o777, value.to_string())),
            _ => return Err(Failure::usage(SUB, format!("unknown flag {flag:?}"))),
        }
    }
    // mounttest's order: the mount type, the new files (by mode), then the permissions.
    new_files.sort_by_key(|(mode, _)| *mode);
    // SAFETY: umask only sets this process's file mode creation mask.
    unsafe { libc::umask(0) };
    let mut out = Vec::new();
    if let Some(path) = fs_type {
        let c = CString::new(path.as_bytes()).map_err(|_| Failure::failed(SUB, format!("{path:?} contains a NUL byte")))?;
        // SAFETY: statfs fills the zeroed struct it is given; the path is NUL-terminated.
        let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statfs(c.as_ptr(), &mut buf) } < 0 {
            return Err(Failure::os(SUB, format!("statfs {path:?}"), io::Error::last_os_error()));
        }
        #[allow(clippy::unnecessary_cast)]
        let magic = buf.f_type as i64;
        let name = if magic == TMPFS_MAGIC { "tmpfs".to_string() } else { magic.to_string() };
        out.push(format!("mount type of {path:?}: {name}"));
    }
    for (mode, path) in new_files {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .map_err(|e| Failure::os(SUB, format!("write new file {path:?}"), e))?;
        f.write_all(MOUNTTEST_CONTENT.as_bytes()).map_err(|e| Failure::os(SUB, format!("write new file {path:?}"), e))?;
        drop(f);
        let content = fs::read_to_string(&path).map_err(|e| Failure::os(SUB, format!("read {path:?}"), e))?;
        out.push(format!("content of file {path:?}: {content}"));
    }
    if let Some(path) = mode {
        let meta = fs::metadata(&path).map_err(|e| Failure::os(SUB, format!("stat {path:?}"), e))?;
        out.push(format!("mode of file {path:?}: {}", go_file_mode(meta.permissions().mode())));
    }
    if let Some(path) = perm {
        let meta = fs::metadata(&path).map_err(|e| Failure::os(SUB, format!("stat {path:?}"), e))?;
        out.push(format!("perms of file {path:?}: {}", perm_string(meta.permissions().mode())));
    }
    if let Some(path) = content {
        let text = fs::read(&path).map_err(|e| Failure::os(SUB, format!("read {path:?}"), e))?;
        out.push(format!("content of file {path:?}: {}", String::from_utf8_lossy(&text)));
    }
    Ok(out.join("\n"))
}

/// A mode as Go's `FileMode.String` prints it: the type and special bits as letters (`d`,
/// `L`, `D`, `p`, `S`, `u`, `g`, `c`, `t`; `-` when none), then the permissions.
fn go_file_mode(mode: u32) -> String {
    let kind = mode & libc::S_IFMT;
    let mut s = String::new();
    for (set, c) in [
        (kind == libc::S_IFDIR, 'd'),
        (kind == libc::S_IFLNK, 'L'),
        (kind == libc::S_IFBLK || kind == libc::S_IFCHR, 'D'),
        (kind == libc::S_IFIFO, 'p'),
        (kind == libc::S_IFSOCK, 'S'),
        (mode & libc::S_ISUID != 0, 'u'),
        (mode & libc::S_ISGID != 0, 'g'),
        (kind == libc::S_IFCHR, 'c'),
        (mode & libc::S_ISVTX != 0, 't'),
    ] {
        if set {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    s + &perm_string(mode)[1..]
}

/// The permission bits as `ls -l` and Go's FileMode.Perm() show them: `-rwxr-x---`.
fn perm_string(mode: u32) -> String {
    let mut s = String::from("-");
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// The process's effective uid (a setuid-root copy of the agent shows 0 unless no_new_privs
/// kept the caller's).
fn cmd_euid(_args: &[String]) -> Result<String, Failure> {
    // SAFETY: geteuid takes nothing and cannot fail.
    Ok(format!("Effective uid: {}", unsafe { libc::geteuid() }))
}

/// How the process was called, one argument a line, as the image's ENTRYPOINT shows what a
/// container's command and args made of it.
fn cmd_argv(args: &[String]) -> Result<String, Failure> {
    let argv0 = std::env::args_os().next().map(|a| a.to_string_lossy().into_owned()).unwrap_or_default();
    let mut lines = vec![format!("argv[0]={argv0}"), "argv[1]=argv".to_string()];
    lines.extend(args.iter().enumerate().map(|(i, a)| format!("argv[{}]={a}", i + 2)));
    Ok(lines.join("\n"))
}

// ---------------------------------------------------------------------------
// A main process that crashes when asked
// ---------------------------------------------------------------------------

/// Exit status of `main` when asked to crash.
const CRASH_EXIT_CODE: i32 = 1;
/// How long `main` waits for the `crash` that asked it to end first.
const CRASH_WAIT: Duration = Duration::from_secs(5);
/// How long `main` waits after that `crash` has ended, before it crashes.
const CRASH_GRACE: Duration = Duration::from_millis(500);

/// The PID of the process that asked to crash (0: nobody yet).
static CRASH_ASKED_BY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn crash_asked(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; an atomic store is
    // async-signal-safe.
    let pid = unsafe { (*info).si_pid() };
    CRASH_ASKED_BY.store(pid.max(1), std::sync::atomic::Ordering::SeqCst);
}

extern "C" fn stop_now(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

/// Whether a process is gone (ended and reaped: whoever waits for it has its exit status).
fn is_gone(pid: i32) -> bool {
    fs::metadata(format!("/proc/{pid}")).is_err()
}

/// The entrypoint image's default: says it runs, then waits as `main` does.
fn cmd_paused(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("paused", args)?;
    print_stdout("Paused").map_err(|e| Failure::os("paused", "write stdout", e))?;
    cmd_main(&[])
}

/// PID 1 of a PID namespace receives only the signals it has handlers for, so the main process
/// installs them: SIGUSR1 (from `crash`) ends it as a crash, SIGTERM (the kubelet's stop) as a
/// clean exit. It crashes only once the `crash` that asked has ended, so that `crash` itself
/// exits 0 rather than being killed with the container.
fn cmd_main(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("main", args)?;
    // SAFETY: sigprocmask, sigaction and sigsuspend with sets and actions made here; the
    // handlers only store an atomic or call _exit.
    unsafe {
        // SIGUSR1 is blocked while its handler is installed and between two looks at
        // CRASH_ASKED_BY, and taken only inside sigsuspend: one that comes at any other moment
        // waits there, never lost (a pause() would miss one sent just before it).
        let mut blocked: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut blocked);
        libc::sigaddset(&mut blocked, libc::SIGUSR1);
        let mut waiting: libc::sigset_t = std::mem::zeroed();
        if libc::sigprocmask(libc::SIG_BLOCK, &blocked, &mut waiting) < 0 {
            return Err(Failure::os("main", "block SIGUSR1", io::Error::last_os_error()));
        }
        libc::sigdelset(&mut waiting, libc::SIGUSR1);
        let mut crash: libc::sigaction = std::mem::zeroed();
        crash.sa_sigaction = crash_asked as *const () as libc::sighandler_t;
        crash.sa_flags = libc::SA_SIGINFO;
        let mut stop: libc::sigaction = std::mem::zeroed();
        stop.sa_sigaction = stop_now as *const () as libc::sighandler_t;
        for (sig, action) in [(libc::SIGUSR1, &crash), (libc::SIGTERM, &stop)] {
            if libc::sigaction(sig, action, ptr::null_mut()) < 0 {
                return Err(Failure::os("main", format_args!("install the handler of signal {sig}"), io::Error::last_os_error()));
            }
        }
        while CRASH_ASKED_BY.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            libc::sigsuspend(&waiting);
        }
    }
    let asker = CRASH_ASKED_BY.load(std::sync::atomic::Ordering::SeqCst);
    let start = std::time::Instant::now();
    while asker > 1 && !is_gone(asker) && start.elapsed() < CRASH_WAIT {
        thread::sleep(Duration::from_millis(5));
    }
    // The runtime's exec session outlives the `crash` process a little (podman records its exit
    // after conmon reaps it): give it that time, so the exec reports the crash request's own
    // exit rather than a container gone under it.
    thread::sleep(CRASH_GRACE);
    process::exit(CRASH_EXIT_CODE);
}

/// How long `crash` waits for the main process to install its SIGUSR1 handler (a container
/// counts as running from its process' start, which comes before the handler).
const HANDLER_WAIT: Duration = Duration::from_secs(10);

/// Whether PID 1 catches `signal` (its `SigCgt` in /proc/1/status); failures name `sub`.
fn main_catches(sub: &str, signal: libc::c_int) -> Result<bool, Failure> {
    let status = fs::read_to_string("/proc/1/status").map_err(|err| Failure::os(sub, "read /proc/1/status", err))?;
    let caught = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .ok_or_else(|| Failure::failed(sub, "/proc/1/status has no SigCgt mask"))?;
    Ok(caught & (1 << (signal - 1)) != 0)
}

/// Signals the container's main process (PID 1 of the container's PID namespace) to crash,
/// after checking that it is `podspec-agent main`: any other main process would ignore the
/// signal, and the step would wait for a restart that never comes.
fn cmd_crash(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "crash";
    let [] = expect_args(SUB, args)?;
    let cmdline = fs::read("/proc/1/cmdline").map_err(|err| Failure::os(SUB, "read /proc/1/cmdline", err))?;
    let words: Vec<String> =
        cmdline.split(|b| *b == 0).filter(|w| !w.is_empty()).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
    let is_agent_main = words.len() == 2 && words[0].rsplit('/').next() == Some("podspec-agent") && words[1] == "main";
    if !is_agent_main {
        return Err(Failure::failed(
            SUB,
            format_args!(
                "the container's main process is {:?}, not `podspec-agent main`; only that main process crashes when asked",
                words.join(" ")
            ),
        ));
    }
    // PID 1 of a PID namespace drops a signal it has no handler for: wait for the handler.
    let start = std::time::Instant::now();
    while !main_catches(SUB, libc::SIGUSR1)? {
        if start.elapsed() > HANDLER_WAIT {
            return Err(Failure::failed(SUB, format_args!("the main process catches no SIGUSR1 after {HANDLER_WAIT:?}")));
        }
        thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill only sends a signal.
    if unsafe { libc::kill(1, libc::SIGUSR1) } < 0 {
        return Err(Failure::os(SUB, "signal the main process", io::Error::last_os_error()));
    }
    Ok(String::new())
}

fn cmd_help(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("help", args)?;
    Ok(usage())
}

// ---------------------------------------------------------------------------
// TCP
// ---------------------------------------------------------------------------

fn cmd_listen(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "listen";
    let (port, close_file) = match args {
        [port] => (port, None),
        [port, file] => (port, Some(file.as_str())),
        _ => return Err(Failure::usage(SUB, format!("expected 1 or 2 arguments, got {}", args.len()))),
    };
    let port: u16 = parse_number(SUB, "PORT", port)?;
    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    let listener = TcpListener::bind(addr).map_err(|err| Failure::os(SUB, format!("bind {addr}"), err))?;
    let bound = listener.local_addr().map_err(|err| Failure::os(SUB, "getsockname", err))?;
    let greeting = format!("hello from {}\n", hostname().map_err(|err| Failure::os(SUB, "gethostname", err))?);
    print_stdout(&format!("listening on {bound}")).map_err(|err| Failure::os(SUB, "write to stdout", err))?;
    let Some(close_file) = close_file else { serve(&listener, &greeting) };
    // Accepts without blocking, looking for the file between connections.
    listener.set_nonblocking(true).map_err(|err| Failure::os(SUB, "set the listener non-blocking", err))?;
    while fs::symlink_metadata(close_file).is_err() {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let greeting = greeting.clone();
                let _ = stream.set_nonblocking(false);
                thread::spawn(move || greet(stream, &greeting));
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL_INTERVAL),
            Err(err) => {
                eprintln!("listen: accept: {err}");
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
    drop(listener);
    print_stdout("closed").map_err(|err| Failure::os(SUB, "write to stdout", err))?;
    wait_forever()
}

/// How often `listen` looks for its CLOSE_FILE.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Sleeps until a signal ends the process.
fn wait_forever() -> ! {
    loop {
        thread::sleep(Duration::from_secs(3600));
    }
}

fn cmd_ignore_term(args: &[String]) -> Result<String, Failure> {
    let [] = expect_args("ignore-term", args)?;
    // SAFETY: signal() with SIG_IGN installs no handler.
    if unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) } == libc::SIG_ERR {
        return Err(Failure::os("ignore-term", "ignore SIGTERM", io::Error::last_os_error()));
    }
    print_stdout("ignoring SIGTERM").map_err(|err| Failure::os("ignore-term", "write to stdout", err))?;
    wait_forever()
}

/// The longest request head `http-serve` reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

fn cmd_http_serve(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "http-serve";
    let [port, fail_file] = expect_args(SUB, args)?;
    let port: u16 = parse_number(SUB, "PORT", port)?;
    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    let listener = TcpListener::bind(addr).map_err(|err| Failure::os(SUB, format!("bind {addr}"), err))?;
    let bound = listener.local_addr().map_err(|err| Failure::os(SUB, "getsockname", err))?;
    print_stdout(&format!("serving HTTP on {bound}")).map_err(|err| Failure::os(SUB, "write to stdout", err))?;
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let fail_file = fail_file.to_string();
                thread::spawn(move || answer_http(stream, &fail_file));
            }
            Err(err) => {
                eprintln!("{SUB}: accept: {err}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Reads one request, prints it (its request line, each header line, then `body: TEXT` when
/// it has a body) and answers it.
fn answer_http(mut stream: TcpStream, fail_file: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if head.len() >= MAX_REQUEST_HEAD {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    };
    let mut body = head.split_off(end + 4);
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let Some(request_line) = lines.next() else { return };
    let headers: Vec<&str> = lines.collect();
    let length = headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST_HEAD);
    while body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let mut record = request_line.to_string();
    for header in &headers {
        record.push('\n');
        record.push_str(header);
    }
    if !body.is_empty() {
        record.push_str("\nbody: ");
        record.push_str(&String::from_utf8_lossy(&body));
    }
    let _ = print_stdout(&record);
    let path = request_line.split(' ').nth(1).unwrap_or("");
    let failing = path.starts_with("/healthz") && fs::symlink_metadata(fail_file).is_ok();
    let (status, body) = if failing { ("500 Internal Server Error", "unhealthy\n") } else { ("200 OK", "ok\n") };
    let answer =
        format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Answers every connection with `greeting`, each on its own thread, forever.
fn serve(listener: &TcpListener, greeting: &str) -> ! {
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let greeting = greeting.to_string();
                thread::spawn(move || greet(stream, &greeting));
            }
            Err(err) => {
                eprintln!("listen: accept: {err}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn greet(mut stream: TcpStream, greeting: &str) {
    if let Err(err) = stream.write_all(greeting.as_bytes()) {
        eprintln!("listen: write to client: {err}");
        return;
    }
    // Close our side, then drain what the client sent: closing a socket with
    // unread input sends a reset, which may make the client lose the greeting.
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = io::copy(&mut stream, &mut io::sink());
}

fn cmd_connect(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "connect";
    let (host, port, timeout_ms) = match args {
        [host, port] => (host, port, DEFAULT_CONNECT_TIMEOUT_MS),
        [host, port, timeout] => (host, port, parse_number(SUB, "TIMEOUT_MS", timeout)?),
        _ => return Err(Failure::usage(SUB, format!("expected 2 or 3 arguments, got {}", args.len()))),
    };
    let port: u16 = parse_number(SUB, "PORT", port)?;
    if timeout_ms == 0 {
        return Err(Failure::usage(SUB, "TIMEOUT_MS must be positive"));
    }
    let received =
        connect_and_read(host, port, Duration::from_millis(timeout_ms)).map_err(|err| Failure::os(SUB, format!("{host}:{port}"), err))?;
    let text = String::from_utf8_lossy(&received);
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

fn cmd_udp_echo(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "udp-echo";
    let [port] = expect_args(SUB, args)?;
    let port: u16 = parse_number(SUB, "PORT", port)?;
    let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
    let socket = UdpSocket::bind(addr).map_err(|err| Failure::os(SUB, format!("bind UDP {addr}"), err))?;
    let bound = socket.local_addr().map_err(|err| Failure::os(SUB, "getsockname", err))?;
    let host = hostname().map_err(|err| Failure::os(SUB, "gethostname", err))?;
    print_stdout(&format!("listening on {bound}")).map_err(|err| Failure::os(SUB, "write to stdout", err))?;
    let mut buf = [0u8; 65536];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                let reply = format!("echo from {host}: {}", String::from_utf8_lossy(&buf[..n]));
                if let Err(err) = socket.send_to(reply.as_bytes(), peer) {
                    eprintln!("{SUB}: send to {peer}: {err}");
                }
            }
            Err(err) => eprintln!("{SUB}: recv: {err}"),
        }
    }
}

fn cmd_udp_send(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "udp-send";
    let (host, port, text, timeout_ms) = match args {
        [host, port, text] => (host, port, text, DEFAULT_CONNECT_TIMEOUT_MS),
        [host, port, text, timeout] => (host, port, text, parse_number(SUB, "TIMEOUT_MS", timeout)?),
        _ => return Err(Failure::usage(SUB, format!("expected 3 or 4 arguments, got {}", args.len()))),
    };
    let port: u16 = parse_number(SUB, "PORT", port)?;
    if timeout_ms == 0 {
        return Err(Failure::usage(SUB, "TIMEOUT_MS must be positive"));
    }
    let reply = udp_exchange(host, port, text.as_bytes(), Duration::from_millis(timeout_ms))
        .map_err(|err| Failure::os(SUB, format!("{host}:{port}"), err))?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// Sends `payload` to the first IPv4 address of `host` from a connected socket (so an ICMP
/// "port unreachable" comes back as ECONNREFUSED) and returns the first datagram answered.
fn udp_exchange(host: &str, port: u16, payload: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let addr = (host, port)
        .to_socket_addrs()?
        .find(|a| a.is_ipv4())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host has no IPv4 address"))?;
    let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    socket.connect(addr)?;
    socket.set_read_timeout(Some(timeout))?;
    socket.send(payload)?;
    let mut buf = vec![0u8; 65536];
    match socket.recv(&mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Ok(buf)
        }
        Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            Err(io::Error::new(io::ErrorKind::TimedOut, format!("no answer within {} ms", timeout.as_millis())))
        }
        Err(err) => Err(err),
    }
}

/// Connects to the first address of `host` that accepts, reads until EOF.
/// `timeout` bounds the connect and each read.
fn connect_and_read(host: &str, port: u16, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "host has no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return read_to_eof(stream, timeout),
            Err(err) => last_err = err,
        }
    }
    Err(last_err)
}

fn read_to_eof(mut stream: TcpStream, timeout: Duration) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(timeout))?;
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => Ok(received),
        Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no EOF within {} ms ({} bytes received)", timeout.as_millis(), received.len()),
        )),
        Err(err) => Err(err),
    }
}

// ---------------------------------------------------------------------------
// Tests (run on the host; the IPC tests need root or IPC rights, as the agent does in a pod)
// ---------------------------------------------------------------------------

/// The pause image's entrypoint: the first process of a pod sandbox, which holds its
/// namespaces. It waits for signals: SIGCHLD reaps what ended, SIGTERM or SIGINT end it.
fn cmd_pause(args: &[String]) -> Result<String, Failure> {
    const SUB: &str = "pause";
    expect_args::<0>(SUB, args)?;
    extern "C" fn ignore(_: libc::c_int) {}
    // SAFETY: sigset_t is plain data that sigemptyset/sigaddset fill in; `ignore` is a valid
    // handler; the calls only change this process's signal disposition and mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGCHLD] {
            // A handler of its own: as PID 1 of a namespace, a signal left at its default is dropped.
            libc::signal(sig, ignore as extern "C" fn(libc::c_int) as libc::sighandler_t);
            libc::sigaddset(&mut set, sig);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, ptr::null_mut()) != 0 {
            return Err(Failure::os(SUB, "cannot block signals", io::Error::last_os_error()));
        }
        loop {
            let mut sig: libc::c_int = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                continue;
            }
            if sig == libc::SIGCHLD {
                while libc::waitpid(-1, ptr::null_mut(), libc::WNOHANG) > 0 {}
            } else {
                return Ok(String::new());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU32, Ordering};

    // ---- unique names and cleanup guards ----

    fn random_u32() -> u32 {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(process::id());
        hasher.write_u32(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.finish() as u32
    }

    /// A random positive key, never IPC_PRIVATE.
    fn unique_key() -> libc::key_t {
        ((random_u32() & 0x3fff_ffff) | 0x4000_0000) as libc::key_t
    }

    fn unique_posix_name() -> String {
        format!("podspec-agent-test-{}-{:08x}", process::id(), random_u32())
    }

    /// Removes the SysV segment with this key, if any, when dropped.
    struct ShmKeyGuard(libc::key_t);

    impl Drop for ShmKeyGuard {
        fn drop(&mut self) {
            // SAFETY: shmget takes only integers.
            let id = unsafe { libc::shmget(self.0, 0, 0) };
            if id >= 0 {
                shm_remove(id);
            }
        }
    }

    /// Removes the SysV semaphore set with this key, if any, when dropped.
    struct SemKeyGuard(libc::key_t);

    impl Drop for SemKeyGuard {
        fn drop(&mut self) {
            // SAFETY: semget takes only integers.
            let id = unsafe { libc::semget(self.0, 0, 0) };
            if id >= 0 {
                sem_remove(id);
            }
        }
    }

    /// Unlinks the POSIX shared memory object with this name, if any, when dropped.
    struct PosixShmGuard(String);

    impl Drop for PosixShmGuard {
        fn drop(&mut self) {
            let path = posix_shm_path(&self.0);
            // SAFETY: `path` is a valid NUL-terminated string.
            unsafe { libc::shm_unlink(path.as_ptr()) };
        }
    }

    fn shm_exists(key: libc::key_t) -> bool {
        // SAFETY: shmget takes only integers.
        unsafe { libc::shmget(key, 0, 0) >= 0 }
    }

    fn sem_exists(key: libc::key_t) -> bool {
        // SAFETY: semget takes only integers.
        unsafe { libc::semget(key, 0, 0) >= 0 }
    }

    fn message(result: Result<impl std::fmt::Debug, Failure>) -> String {
        result.expect_err("expected a failure").message().to_string()
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    // ---- argument handling ----

    #[test]
    fn keys_parse_as_decimal_negative_or_hex() {
        assert_eq!(parse_key("t", "4242").unwrap(), 4242);
        assert_eq!(parse_key("t", "-5").unwrap(), -5);
        assert_eq!(parse_key("t", "0x1092").unwrap(), 0x1092);
        assert_eq!(parse_key("t", "0xffffffff").unwrap(), -1);
        assert_eq!(parse_key("t", "4294967295").unwrap(), -1);
        for bad in ["0", "0x0", "abc", "", "4294967296", "0x1ffffffff"] {
            assert!(matches!(parse_key("t", bad), Err(Failure::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn usage_errors_exit_2_and_name_the_subcommand() {
        for args in [
            vec![],
            vec!["no-such-subcommand"],
            vec!["shm-create", "1"],
            vec!["shm-read", "x"],
            vec!["sem-op", "1", "99999"],
            vec!["ns", "bogus"],
            vec!["listen", "70000"],
            vec!["connect", "h"],
            vec!["connect", "h", "1", "0"],
            vec!["posix-shm-read", "a/b"],
            vec!["hostname", "extra"],
        ] {
            let failure = dispatch(&strings(&args)).expect_err("usage error");
            assert_eq!(failure.exit_code(), 2, "{args:?}: {}", failure.message());
            if let Some(sub) = args.first().filter(|s| !s.starts_with("no-such")) {
                assert!(failure.message().starts_with(&format!("{sub}: ")), "{}", failure.message());
            }
        }
    }

    #[test]
    fn help_lists_every_subcommand() {
        let help = dispatch(&strings(&["help"])).unwrap();
        for sub in SUBCOMMANDS {
            assert!(help.contains(&format!("\n  {}", sub.name)), "{} missing from:\n{help}", sub.name);
        }
        assert_eq!(dispatch(&strings(&["--help"])).unwrap(), help);
    }

    #[test]
    fn text_stops_at_the_first_nul() {
        assert_eq!(text_until_nul(b"hello\0world"), "hello");
        assert_eq!(text_until_nul(b"no nul"), "no nul");
        assert_eq!(text_until_nul(b"\0"), "");
    }

    // ---- SysV shared memory ----

    #[test]
    fn shm_create_read_write_round_trip() {
        let key = unique_key();
        let _guard = ShmKeyGuard(key);
        let id = shm_create(key, "hello world").unwrap();
        assert_eq!(shm_read("t", key).unwrap(), "hello world");
        assert_eq!(shm_write("t", key, "bye").unwrap(), id);
        assert_eq!(shm_read("t", key).unwrap(), "bye", "a shorter text replaces the old one whole");
        let key_arg = key.to_string();
        assert_eq!(dispatch(&strings(&["shm-read", &key_arg])).unwrap(), "bye");
    }

    #[test]
    fn shm_create_fails_when_the_key_exists() {
        let key = unique_key();
        let _guard = ShmKeyGuard(key);
        shm_create(key, "first").unwrap();
        let msg = message(shm_create(key, "second"));
        assert!(msg.starts_with("shm-create: cannot create SysV shared memory segment"), "{msg}");
        assert!(msg.contains("File exists"), "{msg}");
        assert_eq!(shm_read("t", key).unwrap(), "first");
    }

    #[test]
    fn shm_read_of_a_missing_key_names_it_and_the_errno() {
        let key = unique_key();
        let failure = dispatch(&strings(&["shm-read", &key.to_string()])).unwrap_err();
        assert_eq!(failure.exit_code(), 1);
        let expected = format!("shm-read: no SysV shared memory segment with key {key}: No such file or directory");
        assert!(failure.message().starts_with(&expected), "{}", failure.message());
        assert!(message(shm_write("shm-write", key, "x")).starts_with("shm-write: no SysV"));
    }

    #[test]
    fn shm_text_must_fit_with_its_nul() {
        let key = unique_key();
        let _guard = ShmKeyGuard(key);
        let key_arg = key.to_string();
        let too_long = "x".repeat(SEGMENT_SIZE);
        let failure = dispatch(&strings(&["shm-create", &key_arg, &too_long])).unwrap_err();
        assert_eq!(failure.exit_code(), 1);
        assert!(!shm_exists(key), "nothing is created for a text that does not fit");
        let longest = "y".repeat(SEGMENT_SIZE - 1);
        dispatch(&strings(&["shm-create", &key_arg, &longest])).unwrap();
        assert_eq!(shm_read("t", key).unwrap(), longest);
        assert!(dispatch(&strings(&["shm-write", &key_arg, &too_long])).is_err());
    }

    // ---- SysV semaphores ----

    #[test]
    fn sem_create_get_and_op() {
        let key = unique_key();
        let _guard = SemKeyGuard(key);
        let key_arg = key.to_string();
        let id = dispatch(&strings(&["sem-create", &key_arg, "3"])).unwrap();
        assert!(id.parse::<i32>().unwrap() >= 0);
        assert_eq!(dispatch(&strings(&["sem-get", &key_arg])).unwrap(), "3");
        assert_eq!(dispatch(&strings(&["sem-op", &key_arg, "-2"])).unwrap(), "1");
        assert_eq!(dispatch(&strings(&["sem-op", &key_arg, "+4"])).unwrap(), "5");
        assert_eq!(sem_op(key, -5).unwrap(), 0);
    }

    #[test]
    fn sem_op_that_would_block_fails_at_once() {
        let key = unique_key();
        let _guard = SemKeyGuard(key);
        sem_create(key, 0).unwrap();
        let msg = message(sem_op(key, -1));
        assert!(msg.starts_with(&format!("sem-op: semop -1 on semaphore with key {key} would block: ")), "{msg}");
        assert!(msg.contains(&io::Error::from_raw_os_error(libc::EAGAIN).to_string()), "{msg}");
    }

    #[test]
    fn sem_errors() {
        let key = unique_key();
        let _guard = SemKeyGuard(key);
        let msg = message(dispatch(&strings(&["sem-get", &key.to_string()])));
        assert!(msg.starts_with(&format!("sem-get: no SysV semaphore set with key {key}: No such file")), "{msg}");
        let msg = message(sem_create(key, 1 << 20));
        assert!(msg.contains("removed it"), "{msg}");
        assert!(!sem_exists(key), "a set that could not be initialised is removed");
        sem_create(key, 1).unwrap();
        assert!(message(sem_create(key, 1)).contains("File exists"));
    }

    // ---- POSIX shared memory ----

    #[test]
    fn posix_shm_create_and_read() {
        let name = unique_posix_name();
        let _guard = PosixShmGuard(name.clone());
        let out = dispatch(&strings(&["posix-shm-create", &format!("/{name}"), "hello posix"])).unwrap();
        assert_eq!(out, name);
        assert_eq!(dispatch(&strings(&["posix-shm-read", &name])).unwrap(), "hello posix");
        let msg = message(posix_shm_create(&name, "again"));
        assert!(msg.contains("File exists"), "{msg}");
    }

    #[test]
    fn posix_shm_read_of_a_missing_name_fails_clearly() {
        let name = unique_posix_name();
        let failure = dispatch(&strings(&["posix-shm-read", &name])).unwrap_err();
        assert_eq!(failure.exit_code(), 1);
        let expected = format!("posix-shm-read: no POSIX shared memory object /{name}: No such file or directory");
        assert!(failure.message().starts_with(&expected), "{}", failure.message());
    }

    // ---- POSIX message queues ----

    /// Unlinks the POSIX message queue with this name, if any, when dropped.
    struct MqGuard(String);

    impl Drop for MqGuard {
        fn drop(&mut self) {
            let path = posix_shm_path(&self.0);
            // SAFETY: `path` is a valid NUL-terminated string.
            unsafe { libc::mq_unlink(path.as_ptr()) };
        }
    }

    #[test]
    fn mq_messages_come_out_in_order_and_an_empty_queue_does_not_block() {
        let name = unique_posix_name();
        let _guard = MqGuard(name.clone());
        assert_eq!(dispatch(&strings(&["mq-create", &format!("/{name}")])).unwrap(), name);
        assert!(dispatch(&strings(&["mq-create", &name])).unwrap_err().message().contains("File exists"));
        assert_eq!(dispatch(&strings(&["mq-send", &name, "first"])).unwrap(), "sent");
        assert_eq!(dispatch(&strings(&["mq-send", &name, "second"])).unwrap(), "sent");
        assert_eq!(dispatch(&strings(&["mq-receive", &name])).unwrap(), "first");
        assert_eq!(dispatch(&strings(&["mq-receive", &name])).unwrap(), "second");
        let empty = dispatch(&strings(&["mq-receive", &name])).unwrap_err();
        assert!(empty.message().contains("Resource temporarily unavailable"), "{}", empty.message());
    }

    #[test]
    fn mq_send_to_a_missing_queue_fails_clearly() {
        let name = unique_posix_name();
        let failure = dispatch(&strings(&["mq-send", &name, "x"])).unwrap_err();
        assert_eq!(failure.exit_code(), 1);
        let expected = format!("mq-send: cannot open POSIX message queue /{name}: No such file or directory");
        assert!(failure.message().starts_with(&expected), "{}", failure.message());
    }

    // ---- UDP ----

    #[test]
    fn udp_send_gets_the_echo_and_a_closed_port_is_refused() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, peer) = socket.recv_from(&mut buf).unwrap();
            socket.send_to(&[b"echo: ", &buf[..n]].concat(), peer).unwrap();
        });
        let out = dispatch(&strings(&["udp-send", "127.0.0.1", &port.to_string(), "ping"])).unwrap();
        assert_eq!(out, "echo: ping");
        server.join().unwrap();
        // Nothing listens on the port any more: the kernel answers with port unreachable.
        let refused = dispatch(&strings(&["udp-send", "127.0.0.1", &port.to_string(), "ping", "500"])).unwrap_err();
        assert!(refused.message().contains("Connection refused"), "{}", refused.message());
    }

    // ---- namespaces, addresses, hostname ----

    #[test]
    fn ns_prints_the_namespace_identity() {
        for id in ["net", "ipc", "uts", "pid", "mnt"] {
            let out = dispatch(&strings(&["ns", id])).unwrap();
            let inode = out
                .strip_prefix(&format!("{id}:["))
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or_else(|| panic!("unexpected identity {out}"));
            inode.parse::<u64>().unwrap();
        }
    }

    #[test]
    fn ip_lists_only_non_loopback_ipv4_sorted() {
        let addrs = ipv4_addresses().unwrap();
        assert!(addrs.iter().all(|a| !a.is_loopback()), "{addrs:?}");
        assert!(addrs.windows(2).all(|w| w[0] < w[1]), "{addrs:?}");
        let out = dispatch(&strings(&["ip"])).unwrap();
        assert_eq!(out.lines().count(), addrs.len());
    }

    #[test]
    fn hostname_matches_the_kernel() {
        let expected = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(dispatch(&strings(&["hostname"])).unwrap(), expected.trim_end());
    }
}
