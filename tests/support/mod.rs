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

/// What `cargo test -- ARGS` passes to a `harness = false` test file, read as libtest reads
/// it: a name filter, `--skip NAME` (repeatable), and `--include-ignored` / `--ignored`.
#[derive(Debug, Default)]
pub struct TestArgs {
    pub filter: Option<String>,
    pub skip: Vec<String>,
    pub include_ignored: bool,
}

impl TestArgs {
    pub fn from_env() -> Self {
        let mut parsed = Self::default();
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--skip" => parsed.skip.extend(args.next()),
                "--include-ignored" | "--ignored" => parsed.include_ignored = true,
                _ if a.starts_with('-') => {}
                _ => parsed.filter = parsed.filter.or(Some(a)),
            }
        }
        parsed
    }

    /// Whether the check called `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f)) && !self.skip.iter().any(|s| name.contains(s.as_str()))
    }
}

/// For a `harness = false` suite whose checks need root and tools CI installs: without
/// `--include-ignored` they are ignored, as libtest ignores `#[ignore]` tests, and it says so;
/// with it, a suite that cannot run here fails, saying why. `None`: run the checks.
pub fn ignored_unless_asked(suite: &str, checks: usize, needs: &str, cannot_run: Option<String>) -> Option<std::process::ExitCode> {
    if !TestArgs::from_env().include_ignored {
        println!("{suite}: {checks} checks ignored ({needs}); run them with `cargo test -- --include-ignored`");
        return Some(std::process::ExitCode::SUCCESS);
    }
    let why = cannot_run?;
    println!("{suite}: {checks} checks cannot run here: {why}");
    Some(std::process::ExitCode::FAILURE)
}

/// Runs the selected `checks` ([`TestArgs::selects`]) in order, each with `env`; prints each
/// one's outcome and time, then `suite`'s counts; fails if any check failed.
pub fn run_checks<E>(suite: &str, env: &E, checks: &[(&str, Check<E>)]) -> std::process::ExitCode {
    let args = TestArgs::from_env();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, check) in checks {
        if !args.selects(name) {
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

/// The first line of a test marked `#[ignore]` because it needs root: run on purpose
/// (`cargo test -- --include-ignored`, as CI does), it fails at once, saying why, instead of
/// passing without having checked anything.
pub fn require_root(why: &str) {
    assert!(nix::unistd::geteuid().is_root(), "{why}: run it as root (`cargo test -- --include-ignored`)");
}

/// Likewise for a program the test runs (CI's set-up, `bash ci/run-tests.sh`, installs it).
pub fn require_program(name: &str) {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(found, "needs {name} on PATH (`bash ci/run-tests.sh` installs it)");
}
