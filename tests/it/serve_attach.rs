//! `pods/attach` of `podspec serve`, driven by the real kubectl: `kubectl attach -i` to a pod
//! whose container has stdin, `kubectl run --rm -i` (which attaches to the pod it made) and
//! `kubectl debug -i` (which attaches to the ephemeral container it added), each with stdin
//! piped and the container's answer read back. The oldest kubectl on the machine (SPDY before
//! 1.30) and the newest (WebSocket v5) both run them. Needs root (the reference node).

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
        for name in [&attached, &plain, &debugged] {
            let _ = k.run(&["delete", "pod", name, "--grace-period=0", "--force", "--wait=false"], "");
        }
    }
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
    assert!(failures.is_empty(), "{} check(s) failed:\n{}", failures.len(), failures.join("\n"));
}
