//! What the command-line test files share: a scratch project with its own features, the
//! project's fixtures and its own state directory, and a look at the machine for leftovers.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A scratch project: its own features, the project's fixtures, its own state directory.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("podspec-cli-").tempdir().unwrap();
        fs::create_dir_all(dir.path().join("features")).unwrap();
        fs::create_dir_all(dir.path().join("fixtures/pods")).unwrap();
        for f in fs::read_dir(Path::new(ROOT).join("fixtures/pods")).unwrap() {
            let f = f.unwrap().path();
            fs::copy(&f, dir.path().join("fixtures/pods").join(f.file_name().unwrap())).unwrap();
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn feature(&self, name: &str, text: &str) -> &Self {
        fs::write(self.path().join("features").join(name), text).unwrap();
        self
    }

    pub fn fixture(&self, name: &str, text: &str) -> &Self {
        fs::write(self.path().join("fixtures/pods").join(name), text).unwrap();
        self
    }

    pub fn podspec(&self) -> Command {
        let mut cmd = Command::cargo_bin("podspec").unwrap();
        cmd.current_dir(self.path()).env("PODSPEC_STATE_DIR", self.state()).timeout(Duration::from_secs(240));
        cmd
    }

    /// `podspec run` as a plain process (to run several at once, or to signal it).
    pub fn spawn_run(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("podspec"));
        cmd.arg("run").args(args).current_dir(self.path()).env("PODSPEC_STATE_DIR", self.state());
        cmd
    }

    pub fn run(&self) -> Command {
        let mut cmd = self.podspec();
        cmd.args(["run", "--report-dir", "out"]);
        cmd
    }

    /// No run directory, no mount and no process of ours is left.
    pub fn assert_clean(&self) {
        let runs = self.state().join("runs");
        let left: Vec<_> = fs::read_dir(&runs)
            .map(|d| {
                d.filter_map(Result::ok).map(|e| e.path()).filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')).collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "run directories left behind: {left:?}");
        let state = self.state().display().to_string();
        let mounts = fs::read_to_string("/proc/mounts").unwrap();
        assert!(!mounts.contains(&state), "mounts left under {state}");
        let procs = processes_mentioning(&state);
        assert!(procs.is_empty(), "processes left behind: {procs:?}");
    }
}

/// PIDs whose command line mentions `text` (zombies excluded).
pub fn processes_mentioning(text: &str) -> Vec<(i32, String)> {
    processes_where(|_, cmdline| cmdline.contains(text))
}

/// PIDs whose working directory is `dir` (zombies excluded), with their command lines.
pub fn processes_in(dir: &Path) -> Vec<(i32, String)> {
    processes_where(|proc_dir, _| fs::read_link(proc_dir.join("cwd")).is_ok_and(|cwd| cwd == dir))
}

/// The live processes (zombies excluded) that `wanted` picks by their /proc directory and
/// command line.
fn processes_where(wanted: impl Fn(&Path, &str) -> bool) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
        if !zombie && wanted(&e.path(), &cmdline) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// A check of a test file that runs its own checks in order (`harness = false`): an error is
/// what it found.
pub type Check<E> = fn(&E) -> Result<(), String>;

/// Runs the `checks` whose names contain the command line's filter (the first argument that is
/// not a flag), in order, each with `env`; prints each one's outcome and time, then `suite`'s
/// counts; fails if any check failed.
pub fn run_checks<E>(suite: &str, env: &E, checks: &[(&str, Check<E>)]) -> std::process::ExitCode {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, check) in checks {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        println!("test {name} ...");
        let started = std::time::Instant::now();
        match check(env) {
            Ok(()) => println!("test {name} ... ok ({:.1} s)", started.elapsed().as_secs_f64()),
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed.push(*name);
            }
        }
    }
    println!("{suite}: {} passed, {} failed", ran - failed.len(), failed.len());
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
