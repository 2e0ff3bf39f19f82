//! A `podspec serve` started for a test and stopped (SIGTERM, by its PID) at the end.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Serve {
    child: Child,
    pub kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    pub fn start() -> Serve {
        Self::start_with(&[], "reference")
    }

    /// `podspec serve ARGS...`, serving the node named `node` (`reference`, `cri`).
    pub fn start_with(args: &[&str], node: &str) -> Serve {
        Self::start_limited(args, node, None)
    }

    /// The reference node's serve with at most `files` open files (RLIMIT_NOFILE, soft and hard).
    pub fn start_with_open_files(files: u64) -> Serve {
        Self::start_limited(&[], "reference", Some(files))
    }

    /// The reference node's serve with these environment variables set (a data dir of its own).
    pub fn start_with_env(env: &[(&str, &std::path::Path)]) -> Serve {
        Self::start_command(&[], "reference", None, env)
    }

    fn start_limited(args: &[&str], node: &str, files: Option<u64>) -> Serve {
        Self::start_command(args, node, files, &[])
    }

    fn start_command(args: &[&str], node: &str, files: Option<u64>, env: &[(&str, &std::path::Path)]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let mut command = Command::new(env!("CARGO_BIN_EXE_podspec"));
        command.envs(env.iter().copied());
        if let Some(files) = files {
            use std::os::unix::process::CommandExt as _;
            // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, files, files).map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command
            .arg("serve")
            .args(args)
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start podspec serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("serve prints its address").unwrap();
        if !first.starts_with(&format!("podspec: serving the {node} node at https://127.0.0.1:")) {
            // Stopped first: a serve left running would hold the test's output open.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let _ = child.wait();
            panic!("podspec serve {args:?} began with {first:?}, not serving the {node} node");
        }
        std::thread::spawn(move || for _ in lines {});
        Serve { child, kubeconfig, _dir: dir }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGTERM);
            let _ = self.child.wait();
        }
    }
}
