//! `podspec serve --kubeconfig-out PATH` writes the token's file safely (issue 17): a link at
//! PATH is refused and its target left as it was; a file that is not a kubeconfig podspec wrote
//! is refused; podspec's own kubeconfig, even one left at 0644, is replaced by a new file of
//! mode 0600, whatever the umask; on stop serve removes the file only while PATH still names
//! the file it wrote. Runs only as root (serve's reference node); otherwise it says that it did
//! not run.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn prerequisites() {
    crate::support::require_root("podspec serve needs root");
}

fn command(path: &Path, umask: u32) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_podspec"));
    c.arg("serve").arg("--kubeconfig-out").arg(path).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only umask, async-signal-safe, between fork and exec.
    unsafe {
        c.pre_exec(move || {
            libc::umask(umask as libc::mode_t);
            Ok(())
        });
    }
    c
}

/// serve must refuse: it exits with an error naming `words`, within a minute.
fn refused(path: &Path, words: &str) {
    let mut child = command(path, 0o022).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            stop(child);
            panic!("serve did not refuse --kubeconfig-out {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve accepted --kubeconfig-out {}: {stderr}", path.display());
    assert!(stderr.contains(words), "serve's refusal does not say {words:?}: {stderr}");
}

/// A serve that is stopped (SIGTERM, by its PID) when dropped, a failed assertion included.
struct Serving(Option<Child>);

impl Serving {
    fn stop(mut self) -> std::process::ExitStatus {
        stop(self.0.take().unwrap())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            stop(child);
        }
    }
}

/// Starts serve; returns once it is serving.
fn serving(path: &Path, umask: u32) -> Serving {
    let mut child = command(path, umask).stderr(Stdio::inherit()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("serve prints its address").unwrap();
    assert!(first.starts_with("podspec: serving the reference node at https://127.0.0.1:"), "serve began with {first:?}");
    std::thread::spawn(move || for _ in lines {});
    Serving(Some(child))
}

fn stop(mut child: Child) -> std::process::ExitStatus {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
#[ignore = "needs root"]
fn a_link_at_the_path_is_refused_and_its_target_untouched() {
    prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, "precious\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("kubeconfig");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused(&link, "symbolic link");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n", "the link's target was written");
    assert_eq!(mode(&target), 0o644);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    // A dangling link: serve would have created its target.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("made-through-the-link"), &dangling).unwrap();
    refused(&dangling, "symbolic link");
    assert!(!dir.path().join("made-through-the-link").exists(), "serve created a file through a dangling link");
}

#[test]
#[ignore = "needs root"]
fn a_file_that_is_not_podspecs_kubeconfig_is_refused() {
    prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("config");
    std::fs::write(&other, "apiVersion: v1\nkind: Config\ncurrent-context: prod\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    refused(&other, "not a kubeconfig podspec wrote");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "apiVersion: v1\nkind: Config\ncurrent-context: prod\n");
    assert_eq!(mode(&other), 0o644);
    // Another user's file (uid 65534), even one that looks like podspec's.
    let theirs = dir.path().join("theirs");
    let text = podspec::server::tls::kubeconfig("https://127.0.0.1:1", "ca", "token");
    std::fs::write(&theirs, &text).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    refused(&theirs, "belongs to uid 65534");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), text);
    refused(dir.path(), "not a regular file");
}

#[test]
#[ignore = "needs root"]
fn the_kubeconfig_is_a_new_file_of_mode_0600_whatever_the_umask_and_removed_only_if_it_is_still_serves() {
    prerequisites();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    for umask in [0o000, 0o277] {
        // podspec's own kubeconfig from before, left world-readable; held open, so that its
        // inode number cannot be given to the new file once it is gone.
        std::fs::write(&path, podspec::server::tls::kubeconfig("https://127.0.0.1:1", "ca", "old")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let old = std::fs::File::open(&path).unwrap();
        let old_ino = old.metadata().unwrap().ino();
        let child = serving(&path, umask);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(mode(&path), 0o600, "umask {umask:03o}: the kubeconfig's mode");
        assert_ne!(meta.ino(), old_ino, "umask {umask:03o}: the old file was reused");
        assert!(std::fs::read_to_string(&path).unwrap().contains("token: "), "no token written");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "files beside the kubeconfig: {leftovers:?}");
        let status = child.stop();
        assert!(status.success(), "serve ended with {status}");
        assert!(!path.exists(), "serve left its kubeconfig");
        std::fs::write(&path, podspec::server::tls::kubeconfig("https://127.0.0.1:1", "ca", "old")).unwrap();
    }
    // Replaced while serve runs: serve leaves the file that is there now.
    std::fs::remove_file(&path).unwrap();
    let child = serving(&path, 0o022);
    let other = dir.path().join("other");
    std::fs::write(&other, "someone else's\n").unwrap();
    std::fs::rename(&other, &path).unwrap();
    let status = child.stop();
    assert!(status.success(), "serve ended with {status}");
    assert_eq!(std::fs::read_to_string(&path).ok().as_deref(), Some("someone else's\n"), "serve removed a file it did not write");
}
