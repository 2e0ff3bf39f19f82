//! Running the `podman` command (never blocking the async runtime), with errors that carry the
//! command line and podman's own stderr.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

/// A podman command that failed, as podman said it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PodmanError {
    #[error("`{command}` could not be started: {message}")]
    Spawn { command: String, message: String },
    #[error("`{command}` exited {code}: {stderr}")]
    Failed { command: String, code: i32, stderr: String },
    #[error("`{command}` did not finish within {after:?}")]
    Timeout { command: String, after: Duration },
    #[error("`{command}` printed what podspec cannot read: {message}")]
    Output { command: String, message: String },
}

impl PodmanError {
    /// Podman's stderr, if it ran and failed.
    pub fn stderr(&self) -> &str {
        match self {
            PodmanError::Failed { stderr, .. } => stderr,
            _ => "",
        }
    }

    /// Whether podman says the object does not exist.
    pub fn is_no_such(&self) -> bool {
        let s = self.stderr().to_ascii_lowercase();
        s.contains("no such") || s.contains("no pod with name or id") || s.contains("no container with name or id")
    }
}

/// What a podman command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

/// The podman program and the environment podspec runs it with.
#[derive(Debug, Clone)]
pub struct Podman {
    pub program: PathBuf,
    /// `CONTAINERS_CONF` for every command (podspec's own containers.conf), if set.
    pub containers_conf: Option<PathBuf>,
    /// How long one podman command may take (exec has its own timeout).
    pub timeout: Duration,
    /// The working directory of every podman command, and so of the conmon processes it
    /// starts (conmon writes a file `oom` into its working directory when a container is
    /// OOM-killed): podspec's own directory, never the directory podspec was started in.
    pub work_dir: Option<PathBuf>,
}

impl Podman {
    pub fn new(program: PathBuf, containers_conf: Option<PathBuf>) -> Self {
        Self { program, containers_conf, timeout: Duration::from_secs(120), work_dir: None }
    }

    /// Runs every command in `dir` (see `work_dir`).
    pub fn in_dir(mut self, dir: PathBuf) -> Self {
        self.work_dir = Some(dir);
        self
    }

    /// The podman program: `PODSPEC_PODMAN`, else `podman` on the PATH.
    pub fn locate() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("PODSPEC_PODMAN") {
            return Some(PathBuf::from(p));
        }
        let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
        std::env::split_paths(&path).map(|d| d.join("podman")).find(|p| is_executable(p))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        if let Some(conf) = &self.containers_conf {
            c.env("CONTAINERS_CONF", conf);
        }
        if let Some(dir) = &self.work_dir {
            c.current_dir(dir);
        }
        c
    }

    pub fn describe(&self, args: &[&str]) -> String {
        let mut s = String::from("podman");
        for a in args {
            s.push(' ');
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                s.push_str(&format!("'{}'", a.replace('\'', "'\\''")));
            } else {
                s.push_str(a);
            }
        }
        s
    }

    /// Runs podman and returns what it printed, whatever its exit code.
    pub async fn output(&self, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output, PodmanError> {
        let command = self.describe(args);
        let mut cmd = self.command(args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| PodmanError::Spawn { command: command.clone(), message: e.to_string() })?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            let input = input.to_vec();
            // Written beside the wait, so a large input never deadlocks against full output pipes.
            tokio::spawn(async move {
                let _ = pipe.write_all(&input).await;
                let _ = pipe.shutdown().await;
            });
        }
        let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(r) => r.map_err(|e| PodmanError::Spawn { command: command.clone(), message: e.to_string() })?,
            Err(_) => return Err(PodmanError::Timeout { command, after: timeout }),
        };
        let code = out.status.code().unwrap_or(-1);
        tracing::debug!(%command, code, elapsed_ms = started.elapsed().as_millis() as u64, "podman");
        Ok(Output { stdout: out.stdout, stderr: out.stderr, code })
    }

    /// Runs podman; a non-zero exit is an error carrying the command and podman's stderr.
    pub async fn run(&self, args: &[&str]) -> Result<Vec<u8>, PodmanError> {
        self.run_with_input(args, None).await
    }

    pub async fn run_with_input(&self, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, PodmanError> {
        let out = self.output(args, stdin, self.timeout).await?;
        if out.code != 0 {
            return Err(PodmanError::Failed {
                command: self.describe(args),
                code: out.code,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs podman and reads its stdout as JSON.
    pub async fn json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> Result<T, PodmanError> {
        let stdout = self.run(args).await?;
        serde_json::from_slice(&stdout).map_err(|e| PodmanError::Output { command: self.describe(args), message: e.to_string() })
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_is_shown_as_a_shell_would_take_it() {
        let p = Podman::new("podman".into(), None);
        assert_eq!(p.describe(&["exec", "c", "sh", "-c", "echo 'hi' there"]), r#"podman exec c sh -c 'echo '\''hi'\'' there'"#);
    }

    #[tokio::test]
    async fn a_failure_carries_the_command_and_its_stderr() {
        // Any program stands in for podman here: `sh` fails the way podman does.
        let p = Podman::new("/bin/sh".into(), None);
        let e = p.run(&["-c", "echo 'Error: no such pod x' >&2; exit 125"]).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("exited 125") && text.contains("Error: no such pod x") && text.contains("podman -c"), "{text}");
        assert!(e.is_no_such());
    }

    #[tokio::test]
    async fn stdin_reaches_the_command_and_a_slow_one_times_out() {
        let p = Podman::new("/bin/sh".into(), None);
        let out = p.run_with_input(&["-c", "cat"], Some(b"kind: Pod\n")).await.unwrap();
        assert_eq!(out, b"kind: Pod\n");
        let e = p.output(&["-c", "sleep 5"], None, Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(e, PodmanError::Timeout { .. }), "{e}");
    }
}
