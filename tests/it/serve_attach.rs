//! `pods/attach` of `podspec serve`, driven by the real kubectl: `kubectl attach -i` to a pod
//! whose container has stdin, `kubectl run --rm -i` (which attaches to the pod it made) and
//! `kubectl debug -i` (which attaches to the ephemeral container it added), each with stdin
//! piped and the container's answer read back; then `kubectl run -it`, `kubectl debug -it` and
//! `kubectl attach -it`,
//! whose containers have a terminal (`tty: true`), with kubectl on a terminal of its own
//! (`script`, as kubectl puts only a terminal in raw mode and sends its size). The oldest
//! kubectl on the machine (SPDY before 1.30) and the newest (WebSocket v5) both run them.
//! Needs root (the reference node).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::Serve;

/// How long one kubectl may take.
const LIMIT: Duration = Duration::from_secs(90);

struct Kubectl<'a> {
    bin: &'a Path,
    kubeconfig: &'a Path,
    home: &'a Path,
}

impl Kubectl<'_> {
    /// Runs kubectl with `input` as its stdin (then closed); its stdout, stderr and success,
    /// or why it did not end in time (then it is killed).
    fn run(&self, args: &[&str], input: &str) -> Result<(String, String, bool), String> {
        let mut child = Command::new(self.bin)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig)
            .env("HOME", self.home)
            .env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run kubectl");
        let mut stdin = child.stdin.take().expect("piped");
        let input = input.to_string();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let start = Instant::now();
        while child.try_wait().expect("wait kubectl").is_none() {
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let out = child.wait_with_output().expect("kubectl output");
                return Err(format!(
                    "kubectl {} did not end within {LIMIT:?}; it wrote {:?}, {:?}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = writer.join();
        let out = child.wait_with_output().expect("kubectl output");
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.success()))
    }

    /// Runs kubectl on a terminal of its own (util-linux `script`), which gets `input` and stays
    /// open until kubectl ends; what the terminal showed, or why kubectl failed.
    fn on_terminal(&self, args: &[&str], input: &str) -> Result<String, String> {
        let quoted: Vec<String> = std::iter::once(self.bin.to_str().unwrap()).chain(args.iter().copied()).map(shell_quote).collect();
        let mut child = Command::new("script")
            .args(["-qec", &quoted.join(" "), "/dev/null"])
            .env("KUBECONFIG", self.kubeconfig)
            .env("HOME", self.home)
            .env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("run script (util-linux): {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(input.as_bytes()).map_err(|e| format!("write to script: {e}"))?;
        let start = Instant::now();
        while child.try_wait().expect("wait script").is_none() {
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let out = child.wait_with_output().expect("script output");
                return Err(format!(
                    "kubectl {} did not end within {LIMIT:?}; its terminal showed {:?}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(stdin);
        let out = child.wait_with_output().expect("script output");
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        match out.status.success() {
            true => Ok(shown),
            false => Err(format!("kubectl {} failed ({}): {shown:?} {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr))),
        }
    }

    fn ok(&self, args: &[&str], input: &str) -> Result<String, String> {
        match self.run(args, input)? {
            (out, _, true) => Ok(out),
            (out, err, false) => Err(format!("kubectl {} failed: {out}{err}", args.join(" "))),
        }
    }

    fn create(&self, dir: &Path, name: &str, manifest: &str) -> Result<(), String> {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, manifest).unwrap();
        self.ok(&["create", "-f", file.to_str().unwrap()], "")?;
        self.ok(&["wait", "--for=condition=Ready", &format!("pod/{name}"), "--timeout=60s"], "").map(|_| ())
    }
}

/// `s` quoted for sh.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// What a command in a container with a terminal says: the line it read, and whether its
/// stdin and stdout are a terminal, what it wrote to stderr coming on the same stream.
const ON_TERMINAL: &str = "read x; echo got $x; [ -t 0 ] && echo stdin-is-a-tty; [ -t 1 ] && echo stdout-is-a-tty; echo to-stderr >&2";

/// Whether a terminal showed what `ON_TERMINAL` says (lines end with CR LF on a terminal).
fn said_on_terminal(shown: &str, got: &str) -> Result<(), String> {
    let want = [got, "stdin-is-a-tty", "stdout-is-a-tty", "to-stderr"];
    let lines: Vec<&str> = shown.split("\r\n").collect();
    match want.iter().all(|w| lines.contains(w)) {
        true => Ok(()),
        false => Err(format!("the terminal showed {shown:?}, not each of {want:?}")),
    }
}

fn pod(name: &str, container: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 1\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox:1.36\n{container}"
    )
}

fn check(failures: &mut Vec<String>, minor: u32, what: &str, r: Result<(), String>) {
    match r {
        Ok(()) => println!("kubectl 1.{minor}: {what}: pass"),
        Err(e) => failures.push(format!("kubectl 1.{minor}: {what}: {e}")),
    }
}

#[test]
#[ignore = "podspec serve runs the reference node, which needs root"]
fn kubectl_attach_run_and_debug_with_stdin() {
    crate::support::require_root("podspec serve runs the reference node, which needs root");
    let mut found = crate::serve_kubectl::kubectls();
    assert!(!found.is_empty(), "needs kubectl (none on PATH)");
    // The oldest (SPDY before 1.30) and the newest (WebSocket v5).
    if found.len() > 2 {
        found = vec![found[0].clone(), found[found.len() - 1].clone()];
    }
    let serve = Serve::start();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (minor, bin) in &found {
        let home = dir.path().join(format!("home-{minor}"));
        std::fs::create_dir_all(&home).unwrap();
        let k = Kubectl { bin, kubeconfig: &serve.kubeconfig, home: &home };

        // attach -i: the container's stdin (stdinOnce) gets the lines and then its end.
        let attached = format!("k{minor}-attached");
        check(&mut failures, *minor, "attach -i", {
            let spec = "    stdin: true\n    stdinOnce: true\n    command: [sh, -c, 'while read l; do echo got:$l; done; echo stdin ended; echo to stderr >&2']\n";
            k.create(dir.path(), &attached, &pod(&attached, spec))
                .and_then(|()| k.ok(&["attach", "-i", &attached], "one\ntwo\n"))
                .and_then(|out| if out == "got:one\ngot:two\nstdin ended\n" { Ok(()) } else { Err(format!("stdout {out:?}")) })
        });
        // Asking for stdin of a container without it is refused.
        let plain = format!("k{minor}-plain");
        check(&mut failures, *minor, "attach -i to a container without stdin", {
            k.create(dir.path(), &plain, &pod(&plain, "    command: [sleep, '3600']\n")).and_then(|()| {
                match k.run(&["attach", "-i", &plain], "x\n")? {
                    (_, err, false) if err.contains(&format!("container main in pod {plain} has no stdin")) => Ok(()),
                    other => Err(format!("not refused as expected: {other:?}")),
                }
            })
        });
        // run --rm -i: kubectl makes the pod with stdin, attaches, then deletes it.
        let ran = format!("k{minor}-ran");
        check(&mut failures, *minor, "run --rm -i", {
            k.ok(
                &["run", &ran, "--rm", "-i", "--restart=Never", "--image=busybox:1.36", "--", "sh", "-c", "read x; echo got $x"],
                "hello\n",
            )
            .and_then(|out| if out.lines().next() == Some("got hello") { Ok(()) } else { Err(format!("stdout {out:?}")) })
        });
        // debug -i: an ephemeral container with stdin, in the target's PID namespace.
        let debugged = format!("k{minor}-debugged");
        check(&mut failures, *minor, "debug -i --target", {
            k.create(dir.path(), &debugged, &pod(&debugged, "    command: [sleep, '3600']\n"))
                .and_then(|()| {
                    k.ok(
                        &[
                            "debug",
                            "-i",
                            &debugged,
                            "--image=busybox:1.36",
                            "--target=main",
                            "-c",
                            "dbg",
                            "--",
                            "sh",
                            "-c",
                            "read x; echo debug got $x; cat /proc/1/cmdline",
                        ],
                        "hi\n",
                    )
                })
                .and_then(|out| if out.contains("debug got hi\nsleep\u{0}3600") { Ok(()) } else { Err(format!("stdout {out:?}")) })
        });
        // run -it: the container has a terminal (tty, stdin, stdinOnce); kubectl, on a terminal
        // of its own, attaches to it and deletes the pod when it ends.
        let ran_tty = format!("k{minor}-ran-tty");
        check(&mut failures, *minor, "run -it --rm", {
            k.on_terminal(
                &["run", &ran_tty, "-it", "--rm", "--restart=Never", "--image=busybox:1.36", "--", "sh", "-c", ON_TERMINAL],
                "hello\r",
            )
            .and_then(|shown| said_on_terminal(&shown, "got hello"))
        });
        // debug -it: an ephemeral container with a terminal, in the target's PID namespace.
        let debugged_tty = format!("k{minor}-debugged-tty");
        check(&mut failures, *minor, "debug -it --target", {
            let command = format!("{ON_TERMINAL}; tr '\\0' ' ' < /proc/1/cmdline; echo");
            k.create(dir.path(), &debugged_tty, &pod(&debugged_tty, "    command: [sleep, '3600']\n"))
                .and_then(|()| {
                    k.on_terminal(
                        &["debug", "-it", &debugged_tty, "--image=busybox:1.36", "--target=main", "-c", "dbg", "--", "sh", "-c", &command],
                        "hi\r",
                    )
                })
                .and_then(|shown| {
                    said_on_terminal(&shown, "got hi")?;
                    match shown.contains("sleep 3600 \r\n") {
                        true => Ok(()),
                        false => Err(format!("the target's process is not shown: {shown:?}")),
                    }
                })
        });
        // attach -it: a running container with a terminal (tty, stdin, stdinOnce), made first and
        // attached to afterwards; its command waits for the line the attached terminal types.
        let attached_tty = format!("k{minor}-attached-tty");
        let spec = format!("    stdin: true\n    stdinOnce: true\n    tty: true\n    command: [sh, -c, {}]\n", shell_quote(ON_TERMINAL));
        let made = k.create(dir.path(), &attached_tty, &pod(&attached_tty, &spec));
        // attach -i without a terminal: kubectl asks for stderr, which a terminal's attach does
        // not have; refused at once, as the runtime refuses it (not left waiting).
        check(&mut failures, *minor, "attach -i to a container with a terminal, from no terminal", {
            made.clone().and_then(|()| {
                let start = Instant::now();
                match k.run(&["attach", "-i", &attached_tty, "-c", "main"], "x\n")? {
                    (_, err, false) if err.contains("tty and stderr cannot both be true") && start.elapsed() < Duration::from_secs(20) => {
                        Ok(())
                    }
                    other => Err(format!("not refused at once ({:?}): {other:?}", start.elapsed())),
                }
            })
        });
        check(&mut failures, *minor, "attach -it", {
            made.and_then(|()| k.on_terminal(&["attach", "-it", &attached_tty, "-c", "main"], "hello\r"))
                .and_then(|shown| said_on_terminal(&shown, "got hello"))
        });
        for name in [&attached, &plain, &debugged, &debugged_tty, &attached_tty] {
            let _ = k.run(&["delete", "pod", name, "--grace-period=0", "--force", "--wait=false"], "");
        }
    }
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
    assert!(failures.is_empty(), "{} check(s) failed:\n{}", failures.len(), failures.join("\n"));
}
