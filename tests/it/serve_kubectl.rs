//! `podspec serve` driven by clients nobody here wrote: every kubectl on the machine
//! (the PATH's, and the kubectl.1.NN beside the file it links to) runs the same checks
//! against one serve. Needs root (the reference node); without it, or without any kubectl,
//! the test says so and skips.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::serve::Serve;
use std::time::{Duration, Instant};

/// The kubectls on the machine, with their minor version: the PATH's kubectl, and every
/// `kubectl.1.NN` beside the file it links to (the Cloud SDK's layout).
pub(crate) fn kubectls() -> Vec<(u32, PathBuf)> {
    let mut found = Vec::new();
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file());
    let real = on_path.as_ref().and_then(|p| std::fs::canonicalize(p).ok());
    if let Some(dir) = real.as_ref().and_then(|r| r.parent()) {
        for minor in 20..=40 {
            let p = dir.join(format!("kubectl.1.{minor}"));
            if p.exists() {
                found.push((minor, p));
            }
        }
    }
    if let Some(plain) = on_path {
        if let Some(minor) = minor_of(&plain) {
            if !found.iter().any(|(m, _)| *m == minor) {
                found.push((minor, plain));
            }
        }
    }
    found.sort();
    // PODSPEC_KUBECTLS=1.29,1.33 runs only those (while working on one check).
    if let Ok(only) = std::env::var("PODSPEC_KUBECTLS") {
        found.retain(|(m, _)| only.split(',').any(|v| v.trim() == format!("1.{m}")));
    }
    found
}

fn minor_of(kubectl: &Path) -> Option<u32> {
    let out = Command::new(kubectl).args(["version", "--client", "-o", "json"]).output().ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["clientVersion"]["minor"].as_str()?.trim_end_matches('+').parse().ok()
}

struct Kubectl<'a> {
    bin: &'a Path,
    kubeconfig: &'a Path,
    home: &'a Path,
}

impl Kubectl<'_> {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.bin);
        c.args(args).env("KUBECONFIG", self.kubeconfig).env("HOME", self.home).env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run kubectl")
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: &Output, what: &str) -> Result<String, String> {
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!("{what}: exit {:?}: {}", o.status.code(), text(o)))
    }
}

fn expect(cond: bool, what: String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what)
    }
}

fn pod_manifest(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox:1.36\n    command: [sh, -c, 'echo hello from {name}; exec sleep 3600']\n{extra}"
    )
}

/// One check's outcome: passed, failed with why, or skipped with the reason.
enum Outcome {
    Pass,
    Fail(String),
    Skip(&'static str),
}

type Results = Vec<(&'static str, Outcome)>;

fn record(results: &mut Results, name: &'static str, r: Result<(), String>) {
    results.push((name, r.map_or_else(Outcome::Fail, |_| Outcome::Pass)));
}

fn checks(k: &Kubectl<'_>, minor: u32, dir: &Path) -> Vec<(&'static str, Outcome)> {
    let p = format!("k{minor}");
    let web = format!("{p}-web");
    let mut results: Vec<(&'static str, Outcome)> = Vec::new();
    let web_file = dir.join(format!("{web}.yaml"));
    std::fs::write(&web_file, pod_manifest(&web, "")).unwrap();
    let f = web_file.to_str().unwrap();

    record(&mut results, "create -f", ok(&k.run(&["create", "-f", f]), "create").and_then(|o| expect(o.contains("created"), o)));
    // A container that ends once and runs on after its restart (its count kept in an emptyDir):
    // made now, read at the end, while the restart's back-off (10 s) passes.
    let restarter = format!("{p}-restarter");
    let follower = format!("{p}-follower");
    let lines_file = dir.join(format!("{restarter}.yaml"));
    std::fs::write(&lines_file, format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {restarter}\nspec:\n  terminationGracePeriodSeconds: 1\n  volumes: [{{name: state, emptyDir: {{}}}}]\n  containers:\n  - name: main\n    image: busybox:1.36\n    volumeMounts: [{{name: state, mountPath: /state}}]\n    command: [sh, -c, 'n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; echo first line; echo second line; echo instance $n; [ $n -ge 2 ] && exec sleep 3600; exit 1']\n"
    )).unwrap();
    let made_log_pods = ok(&k.run(&["create", "-f", lines_file.to_str().unwrap()]), "create");
    record(
        &mut results,
        "wait --for=condition=Ready",
        ok(&k.run(&["wait", "--for=condition=Ready", &format!("pod/{web}"), "--timeout=60s"]), "wait").map(|_| ()),
    );
    record(
        &mut results,
        "get (table)",
        ok(&k.run(&["get", "pods", &web]), "get").and_then(|o| {
            let header = o.lines().next().unwrap_or("").split_whitespace().collect::<Vec<_>>();
            expect(header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] && o.contains("1/1") && o.contains("Running"), o)
        }),
    );
    record(
        &mut results,
        "get -o wide",
        ok(&k.run(&["get", "pods", &web, "-o", "wide"]), "get")
            .and_then(|o| expect(o.contains("IP") && o.contains("NODE") && o.contains("podspec-node"), o)),
    );
    record(
        &mut results,
        "get -o yaml",
        ok(&k.run(&["get", "pod", &web, "-o", "yaml"]), "get")
            .and_then(|o| expect(o.contains(&format!("name: {web}")) && o.contains("phase: Running"), o)),
    );
    record(
        &mut results,
        "get -o json",
        ok(&k.run(&["get", "pod", &web, "-o", "json"]), "get").and_then(|o| {
            let v: serde_json::Value = serde_json::from_str(&o).map_err(|e| e.to_string())?;
            expect(v["kind"] == "Pod" && v["status"]["phase"] == "Running", o)
        }),
    );
    record(
        &mut results,
        "describe",
        ok(&k.run(&["describe", "pod", &web]), "describe").and_then(|o| {
            // The kubelet's events, with Kubernetes' reasons, under "Events:".
            let events = o.split("Events:").nth(1).unwrap_or("");
            let reasons = ["Scheduled", "Pulled", "Created", "Started"].iter().all(|r| events.contains(r));
            let assigned = events.contains(&format!("Successfully assigned default/{web} to podspec-node"));
            expect(o.contains("Status:") && o.contains("Running") && reasons && assigned && events.contains("kubelet"), o)
        }),
    );
    let labels = |k: &Kubectl<'_>| -> serde_json::Value {
        let o = k.run(&["get", "pod", &web, "-o", "json"]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default()
    };
    record(
        &mut results,
        "label",
        ok(&k.run(&["label", "pod", &web, "tier=front"]), "label")
            .and_then(|_| expect(labels(k)["metadata"]["labels"]["tier"] == "front", "label not set".into())),
    );
    record(
        &mut results,
        "annotate",
        ok(&k.run(&["annotate", "pod", &web, "note=x"]), "annotate")
            .and_then(|_| expect(labels(k)["metadata"]["annotations"]["note"] == "x", "annotation not set".into())),
    );
    record(
        &mut results,
        "patch --type merge",
        ok(&k.run(&["patch", "pod", &web, "--type", "merge", "-p", r#"{"metadata":{"labels":{"m":"1"}}}"#]), "patch")
            .and_then(|_| expect(labels(k)["metadata"]["labels"]["m"] == "1", "merge patch not applied".into())),
    );
    record(
        &mut results,
        "patch --type json",
        ok(&k.run(&["patch", "pod", &web, "--type", "json", "-p", r#"[{"op":"add","path":"/metadata/labels/j","value":"2"}]"#]), "patch")
            .and_then(|_| expect(labels(k)["metadata"]["labels"]["j"] == "2", "json patch not applied".into())),
    );
    record(
        &mut results,
        "patch --type strategic",
        ok(
            &k.run(&[
                "patch",
                "pod",
                &web,
                "--type",
                "strategic",
                "-p",
                r#"{"metadata":{"labels":{"s":"3"}},"spec":{"containers":[{"name":"main","image":"busybox:1.36"}]}}"#,
            ]),
            "patch",
        )
        .and_then(|_| {
            let v = labels(k);
            expect(
                v["metadata"]["labels"]["s"] == "3" && v["spec"]["containers"][0]["command"][0] == "sh",
                format!("strategic patch lost the container's fields: {v}"),
            )
        }),
    );
    // A replace sends the resourceVersion it read: a status the kubelet wrote in between is a
    // Conflict, as on any cluster, and the user reads again (three tries).
    record(&mut results, "replace", {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut v = labels(k);
            v["metadata"]["labels"]["replaced"] = "yes".into();
            let file = dir.join(format!("{web}-replace.json"));
            std::fs::write(&file, v.to_string()).unwrap();
            let o = k.run(&["replace", "-f", file.to_str().unwrap()]);
            if !o.status.success() && text(&o).contains("(Conflict)") && tries < 3 {
                continue;
            }
            break ok(&o, "replace")
                .and_then(|_| expect(labels(k)["metadata"]["labels"]["replaced"] == "yes", "replace not applied".into()));
        }
    });
    // Kubernetes' own text for a forbidden change (pkg/apis/core/validation ValidatePodUpdate).
    record(&mut results, "refused update", {
        let o = k.run(&["patch", "pod", &web, "--type", "merge", "-p", r#"{"spec":{"restartPolicy":"Never"}}"#]);
        expect(!o.status.success() && text(&o).contains("pod updates may not change fields other than"), text(&o))
    });
    results.extend(dry_runs_and_field_validation(k, &p, &web, dir));
    // kubectl before 1.30 execs over SPDY/3.1, from 1.30 over WebSocket (v5.channel.k8s.io)
    // unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, which the last check here sets.
    {
        record(
            &mut results,
            "exec -- hostname",
            ok(&k.run(&["exec", &web, "--", "hostname"]), "exec").and_then(|o| expect(o.trim() == web, o)),
        );
        record(&mut results, "exec exit status", {
            let o = k.run(&["exec", &web, "--", "sh", "-c", "exit 3"]);
            expect(o.status.code() == Some(3), text(&o))
        });
        record(&mut results, "exec -i (stdin)", {
            let mut child = k
                .cmd(&["exec", "-i", &web, "--", "sh", "-c", "while read l; do echo got:$l; done"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(b"one\ntwo\n").unwrap(); // then closed: end of input
            let o = child.wait_with_output().unwrap();
            ok(&o, "exec -i").and_then(|out| expect(out == "got:one\ngot:two\n", out))
        });
        // A tty, with the terminal size kubectl sends (its own terminal is one `script` makes).
        record(&mut results, "exec -it (tty)", {
            let inner = format!(
                "stty cols 91 rows 33; KUBECONFIG={} HOME={} {} exec -it {web} -- sh -c 'tty; stty size'",
                k.kubeconfig.display(),
                k.home.display(),
                k.bin.display()
            );
            // script's input stays open (a pipe nobody writes) until the command is done.
            let o = Command::new("script").args(["-qec", &inner, "/dev/null"]).stdin(Stdio::piped()).output();
            match o {
                Err(e) => Err(format!("run script(1) for a terminal: {e}")),
                Ok(o) => ok(&o, "exec -it").and_then(|out| expect(out.contains("/dev/pts/") && out.contains("33 91"), out)),
            }
        });
        if minor < 30 {
            results.push((
                "exec -i over SPDY (websockets off)",
                Outcome::Skip("kubectl < 1.30 speaks SPDY only: the exec checks above went over it"),
            ));
        } else {
            record(&mut results, "exec -i over SPDY (websockets off)", {
                let mut child = k
                    .cmd(&["exec", "-i", &web, "--", "sh", "-c", "cat | sed s/^/got:/; echo end"])
                    .env("KUBECTL_REMOTE_COMMAND_WEBSOCKETS", "false")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(b"one\n").unwrap();
                let o = child.wait_with_output().unwrap();
                ok(&o, "exec -i").and_then(|out| expect(out == "got:one\nend\n", out))
            });
        }
    }
    // kubectl debug adds an ephemeral container with a strategic merge patch of the pod's
    // ephemeralcontainers subresource; with --target it shares that container's PID namespace,
    // so its PID 1 is the target's main process (`sleep 3600` after the shell's exec).
    record(&mut results, "debug --target (ephemeral container)", {
        let debugged = format!("{p}-debugged");
        let file = dir.join(format!("{debugged}.yaml"));
        std::fs::write(&file, pod_manifest(&debugged, "")).unwrap();
        ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create")
            .and_then(|_| ok(&k.run(&["wait", "--for=condition=Ready", &format!("pod/{debugged}"), "--timeout=60s"]), "wait"))
            .and_then(|_| {
                ok(&k.run(&["debug", &debugged, "--image=busybox:1.36", "--target=main", "-c", "dbg", "--", "sleep", "3601"]), "debug")
            })
            .and_then(|_| {
                // The node starts it after the write: exec until it runs (at most 30 s).
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let o = k.run(&[
                        "exec",
                        &debugged,
                        "-c",
                        "dbg",
                        "--",
                        "sh",
                        "-c",
                        "tr '\\0' ' ' < /proc/1/cmdline; echo; pidof sleep | wc -w",
                    ]);
                    if o.status.success() || Instant::now() > deadline {
                        break ok(&o, "exec -c dbg");
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
            .and_then(|out| expect(out == "sleep 3600 \n2\n", format!("dbg's PID 1 and the sleeps it sees: {out:?}")))
            .and_then(|_| {
                let o = k.run(&[
                    "get",
                    "pod",
                    &debugged,
                    "-o",
                    "jsonpath={.status.ephemeralContainerStatuses[0].name} {.status.ephemeralContainerStatuses[0].state.running.startedAt}",
                ]);
                ok(&o, "get")
                    .and_then(|out| expect(out.starts_with("dbg ") && out.len() > 4, format!("ephemeralContainerStatuses: {out:?}")))
            })
            .and_then(|_| {
                // The write is recorded as the API server records it: an Update of the
                // subresource by kubectl, owning the ephemeral container it added.
                let o = k.run(&[
                    "get",
                    "pod",
                    &debugged,
                    "--show-managed-fields",
                    "-o",
                    "jsonpath={range .metadata.managedFields[?(@.subresource==\"ephemeralcontainers\")]}{.manager} {.operation} {.fieldsV1}{end}",
                ]);
                ok(&o, "get managedFields").and_then(|out| {
                    expect(
                        out.starts_with("kubectl") && out.contains(" Update ") && out.contains(r#"k:{\"name\":\"dbg\"}"#),
                        format!("the ephemeralcontainers entry of managedFields: {out:?}"),
                    )
                })
            })
    });
    record(&mut results, "logs", ok(&k.run(&["logs", &web]), "logs").and_then(|o| expect(o.contains(&format!("hello from {web}")), o)));
    // The follower writes "later" 3 s after "start"; logs -f prints both, the second as it comes,
    // and ends when the container does (kubelet: follow ends with the instance).
    let follow_file = dir.join(format!("{follower}.yaml"));
    std::fs::write(&follow_file, format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {follower}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: busybox:1.36\n    command: [sh, -c, 'echo start; sleep 3; echo later']\n"
    )).unwrap();
    record(
        &mut results,
        "logs -f",
        ok(&k.run(&["create", "-f", follow_file.to_str().unwrap()]), "create").and_then(|_| {
            ok(&k.run(&["wait", "--for=condition=Ready", &format!("pod/{follower}"), "--timeout=60s"]), "wait")?;
            let started = Instant::now();
            let mut child = k.cmd(&["logs", "-f", &follower]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
            let first = lines.next();
            let first_at = started.elapsed();
            let second = lines.next();
            let second_at = started.elapsed();
            let rest: Vec<String> = lines.collect();
            let status = child.wait().unwrap();
            expect(
                first.as_deref() == Some("start")
                    && second.as_deref() == Some("later")
                    && rest.is_empty()
                    && status.success()
                    && second_at >= first_at + Duration::from_millis(1000),
                format!("{first:?} at {first_at:?}, {second:?} at {second_at:?}, then {rest:?}, {status:?}"),
            )
        }),
    );
    // The restarter: restarted once (after 10 s of back-off); its previous instance's log is
    // kept and shown by -p.
    let restarted = made_log_pods.and_then(|_| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let o = k.run(&["get", "pod", &restarter, "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.phase}"]);
            let now = String::from_utf8_lossy(&o.stdout).into_owned();
            if now == "1 Running" && ok(&k.run(&["logs", &restarter]), "logs").is_ok_and(|l| l.contains("instance 2")) {
                break Ok(());
            }
            if Instant::now() > deadline {
                break Err(format!("{restarter} not restarted once after 60 s: {now:?}"));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    record(
        &mut results,
        "logs -p",
        restarted.clone().and_then(|_| {
            let prev = ok(&k.run(&["logs", "-p", &restarter]), "logs -p")?;
            let now = ok(&k.run(&["logs", &restarter]), "logs")?;
            expect(
                prev == "first line\nsecond line\ninstance 1\n" && now == "first line\nsecond line\ninstance 2\n",
                format!("-p: {prev:?}, now: {now:?}"),
            )
        }),
    );
    record(
        &mut results,
        "logs --tail",
        restarted.clone().and_then(|_| {
            let o = ok(&k.run(&["logs", "--tail=2", &restarter]), "logs --tail")?;
            expect(o == "second line\ninstance 2\n", o)
        }),
    );
    record(
        &mut results,
        "logs --limit-bytes",
        restarted.and_then(|_| {
            let o = ok(&k.run(&["logs", "--limit-bytes=8", &restarter]), "logs --limit-bytes")?;
            expect(o == "first li", o)
        }),
    );
    record(&mut results, "logs -p (no previous)", {
        let o = k.run(&["logs", "-p", &web]);
        expect(
            !o.status.success() && text(&o).contains(&format!("previous terminated container \"main\" in pod \"{web}\" not found")),
            text(&o),
        )
    });
    // The follower's two lines with the times they were written: --timestamps puts each line's
    // RFC 3339 time and a space before it; --since (sinceSeconds) and --since-time (sinceTime,
    // which kubectl sends to the second) keep the lines written at or after a time
    // (kubernetes.io/docs/reference/kubectl/generated/kubectl_logs/; the kubelet's
    // ReadLogs drops the entries before `since`).
    let times = phase_becomes(k, &follower, "Succeeded")
        .and_then(|_| ok(&k.run(&["logs", "--timestamps", &follower]), "logs --timestamps"))
        .and_then(|o| {
            let lines: Vec<(&str, &str)> = o.lines().map(|l| l.split_once(' ').unwrap_or((l, ""))).collect();
            let texts: Vec<&str> = lines.iter().map(|(_, text)| *text).collect();
            let times = lines
                .iter()
                .map(|(t, _)| podspec::api::time::parse_rfc3339(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{o:?}: a line does not start with an RFC 3339 time: {e}"))?;
            expect(texts == ["start", "later"], format!("{o:?}"))?;
            // "later" is written 3 s after "start": the times are the lines', not the read's.
            expect(times[1].duration_since(times[0]) >= jiff::SignedDuration::from_secs(2), format!("{o:?}: lines written 3 s apart"))?;
            Ok(times)
        });
    record(&mut results, "logs --timestamps", times.clone().map(|_| ()));
    record(
        &mut results,
        "logs --since",
        times.clone().and_then(|times| {
            let all = ok(&k.run(&["logs", "--since=1h", &follower]), "logs --since=1h")?;
            let quiet_from = times[1] + jiff::SignedDuration::from_secs(2);
            if let Ok(wait) = Duration::try_from(quiet_from.duration_since(jiff::Timestamp::now())) {
                std::thread::sleep(wait);
            }
            let none = ok(&k.run(&["logs", "--since=1s", &follower]), "logs --since=1s")?;
            expect(
                all == "start\nlater\n" && none.is_empty(),
                format!("--since=1h: {all:?}; --since=1s, 2 s after the last line: {none:?}"),
            )
        }),
    );
    record(
        &mut results,
        "logs --since-time",
        times.and_then(|times| {
            // The second after "start" was written (before "later"), and the one after "later".
            let second_after = |t: jiff::Timestamp| format!("{:.0}", t + jiff::SignedDuration::from_secs(1));
            let between = second_after(times[0]);
            let after = second_after(times[1]);
            let later = ok(&k.run(&["logs", &format!("--since-time={between}"), &follower]), "logs --since-time")?;
            let none = ok(&k.run(&["logs", &format!("--since-time={after}"), &follower]), "logs --since-time")?;
            expect(later == "later\n" && none.is_empty(), format!("--since-time={between}: {later:?}; --since-time={after}: {none:?}"))
        }),
    );
    for pod in [&restarter, &follower] {
        let _ = k.run(&["delete", "pod", pod, "--grace-period=0", "--force"]);
    }

    // get -w sees a new pod become Running. kubectl lists the pods labelled for it first (none
    // yet), then watches from the list's resourceVersion, so it misses nothing of the create that
    // follows. (A watch of one named pod starts from "now", and kubectl drops its first event,
    // the pod as it was then: a pod that became Running between kubectl's GET and its watch
    // would never be shown Running, against any API server.)
    let watched = format!("{p}-watch");
    let wfile = dir.join(format!("{watched}.yaml"));
    std::fs::write(&wfile, pod_manifest(&watched, "")).unwrap();
    let errors = dir.join(format!("{watched}.watch-stderr"));
    let stderr = std::fs::File::create(&errors).unwrap();
    let selector = format!("app={watched}");
    let mut watch = k.cmd(&["get", "pods", "-l", &selector, "-w", "-v=6"]).stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // kubectl -v=6 logs each request once answered: the list is the first with the selector.
    let listed = format!("labelSelector=app%3D{watched}");
    let list_deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&errors).unwrap_or_default().contains(&listed) && Instant::now() < list_deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    record(
        &mut results,
        "apply -f",
        ok(&k.run(&["apply", "-f", wfile.to_str().unwrap()]), "apply").and_then(|o| expect(o.contains("created"), o)),
    );
    record(&mut results, "get -w", {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let r = loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) if l.contains(&watched) && l.contains("Running") => break Ok(()),
                Ok(l) => seen.push(l),
                Err(_) => break Err(format!("no Running line: {seen:?}")),
            }
        };
        let _ = watch.kill();
        let _ = watch.wait();
        // What kubectl asked and was told, and the pod as the API has it now.
        r.map_err(|why| {
            let requests = std::fs::read_to_string(&errors).unwrap_or_default();
            let now = text(&k.run(&["get", "pod", &watched, "-o", "jsonpath={.metadata.resourceVersion} {.status.phase}"]));
            format!("{why}; kubectl -v=6: {requests}; the pod now: {now}")
        })
    });
    record(&mut results, "apply -f (change)", {
        std::fs::write(&wfile, pod_manifest(&watched, "").replace("busybox:1.36", "busybox:1.35")).unwrap();
        ok(&k.run(&["apply", "-f", wfile.to_str().unwrap()]), "apply")
            .and_then(|o| expect(o.contains("configured") && labels_of(k, &watched)["spec"]["containers"][0]["image"] == "busybox:1.35", o))
    });
    record(
        &mut results,
        "delete --wait",
        ok(&k.run(&["delete", "pod", &watched, "--wait=true"]), "delete").and_then(|_| {
            let o = k.run(&["get", "pod", &watched]);
            expect(!o.status.success() && text(&o).contains("not found"), text(&o))
        }),
    );
    // The kubelet stopped the running container for the delete: a Killing event, found by the
    // field selector kubectl's describe uses.
    record(&mut results, "get events --field-selector", {
        let selector = format!("involvedObject.kind=Pod,involvedObject.name={watched},reason=Killing");
        ok(&k.run(&["get", "events", "--field-selector", &selector]), "get events").and_then(|o| {
            let header = o.lines().next().unwrap_or("").split_whitespace().collect::<Vec<_>>();
            expect(header == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"] && o.contains("Stopping container main"), o)
        })
    });
    record(
        &mut results,
        "delete --grace-period=0 --force",
        ok(&k.run(&["delete", "pod", &web, "--grace-period=0", "--force"]), "delete").and_then(|_| {
            let o = k.run(&["get", "pod", &web]);
            expect(text(&o).contains("not found"), text(&o))
        }),
    );
    // Watches of namespaces and nodes: a namespace created and deleted while `get ns -w` runs
    // is seen Active, then Terminating; `get nodes -w` shows the node and stays open.
    record(&mut results, "get namespaces -w", {
        let ns = format!("{p}-ns");
        let (mut child, rx) = watch_lines(k, &["get", "namespaces", "-w"]);
        let seen = |want: &dyn Fn(&str) -> bool, secs: u64| -> Result<String, String> {
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut lines = Vec::new();
            loop {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(l) if want(&l) => break Ok(l),
                    Ok(l) => lines.push(l),
                    Err(_) => break Err(format!("not seen in {secs} s: {lines:?}")),
                }
            }
        };
        let r = seen(&|l| l.split_whitespace().collect::<Vec<_>>() == ["NAME", "STATUS", "AGE"], 20)
            .and_then(|_| seen(&|l| l.starts_with("default ") && l.contains("Active"), 20))
            .and_then(|_| ok(&k.run(&["create", "namespace", &ns]), "create namespace"))
            .and_then(|_| seen(&|l| l.starts_with(&format!("{ns} ")) && l.contains("Active"), 20))
            .and_then(|_| ok(&k.run(&["delete", "namespace", &ns, "--wait=false"]), "delete namespace"))
            .and_then(|_| seen(&|l| l.starts_with(&format!("{ns} ")) && l.contains("Terminating"), 20))
            .map(|_| ());
        let _ = child.kill();
        let _ = child.wait();
        r
    });
    record(&mut results, "get nodes -w", {
        let (mut child, rx) = watch_lines(k, &["get", "nodes", "-w"]);
        let first = rx.recv_timeout(Duration::from_secs(20));
        let more = rx.recv_timeout(Duration::from_secs(2));
        let running = child.try_wait().map(|s| s.is_none()).unwrap_or(false);
        let _ = child.kill();
        let _ = child.wait();
        match (first, more) {
            (Ok(h), Ok(l))
                if h.split_whitespace().collect::<Vec<_>>() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
                    && l.starts_with("podspec-node")
                    && l.contains("Ready")
                    && running =>
            {
                Ok(())
            }
            (first, more) => Err(format!("lines {first:?}, {more:?}; still watching: {running}")),
        }
    });
    // kubectl explain reads the schemas of serve's OpenAPI v3 document.
    record(&mut results, "explain pod", {
        ok(&k.run(&["explain", "pod"]), "explain").and_then(|o| {
            expect(o.contains("KIND:") && o.contains("Pod") && o.contains("Pod is a collection of containers") && o.contains("spec\t<"), o)
        })
    });
    record(&mut results, "explain pod.spec.containers.image", {
        ok(&k.run(&["explain", "pod.spec.containers.image"]), "explain").and_then(|o| expect(o.contains("Container image name."), o))
    });
    results.extend(server_side_apply(k, &p, dir));
    results.extend(config_objects(k, &p));
    results.extend(config_objects_server_side_apply(k, &p, dir));
    record(&mut results, "401 without the token", {
        let o = k.run(&["--token", "wrong", "get", "pods"]);
        expect(!o.status.success() && text(&o).contains("Unauthorized"), text(&o))
    });
    results
}

/// Server-side apply (the docs page "Server-Side Apply",
/// kubernetes.io/docs/reference/using-api/server-side-apply/): an apply creates the pod, a
/// second one changes a label, `--show-managed-fields` shows kubectl's Apply entry; a label
/// another manager (`kubectl label`: kubectl-label, Update) set is a conflict naming it, which
/// `--force-conflicts` overrides; a label left out of the next apply is removed; the kubelet's
/// status writes have their own entry (manager kubelet, subresource status).
fn server_side_apply(k: &Kubectl<'_>, p: &str, dir: &Path) -> Results {
    let mut results = Results::new();
    let name = format!("{p}-ssa");
    let file = dir.join(format!("{name}.yaml"));
    let manifest = |labels: &str| pod_manifest(&name, "").replace(&format!("labels: {{app: {name}}}"), &format!("labels: {{{labels}}}"));
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--server-side", "-f", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        k.run(&args)
    };
    let managers = |name: &str| -> Vec<(String, String)> {
        let o = k.run(&["get", "pod", name, "-o", "json", "--show-managed-fields"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["manager"].as_str().unwrap_or("").to_string(), e["operation"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    std::fs::write(&file, manifest("app: one, tier: front")).unwrap();
    record(&mut results, "apply --server-side (create)", {
        ok(&apply(&[]), "apply --server-side")
            .and_then(|o| expect(o.contains("serverside-applied") && labels_of(k, &name)["metadata"]["labels"]["app"] == "one", o))
    });
    std::fs::write(&file, manifest("app: two, tier: front")).unwrap();
    record(&mut results, "apply --server-side --dry-run=server", {
        ok(&apply(&["--dry-run=server"]), "apply --server-side --dry-run=server").and_then(|o| {
            expect(o.contains("serverside-applied (server dry run)") && labels_of(k, &name)["metadata"]["labels"]["app"] == "one", o)
        })
    });
    record(&mut results, "apply --server-side (change), --show-managed-fields", {
        ok(&apply(&[]), "apply --server-side").and_then(|o| {
            let m = managers(&name);
            expect(
                labels_of(k, &name)["metadata"]["labels"]["app"] == "two" && m.contains(&("kubectl".into(), "Apply".into())),
                format!("{o}; managers: {m:?}"),
            )
        })
    });
    record(&mut results, "apply --server-side, conflict with kubectl label", {
        ok(&k.run(&["label", "pod", &name, "app=three", "--overwrite"]), "label").and_then(|_| {
            let m = managers(&name);
            let o = apply(&[]);
            let t = text(&o);
            expect(
                !o.status.success()
                    && m.contains(&("kubectl-label".into(), "Update".into()))
                    && t.contains("Apply failed with 1 conflict: conflict with \"kubectl-label\" using v1 at ")
                    && t.contains(": .metadata.labels.app")
                    && labels_of(k, &name)["metadata"]["labels"]["app"] == "three",
                format!("{t}; managers: {m:?}"),
            )
        })
    });
    record(&mut results, "apply --server-side --force-conflicts", {
        ok(&apply(&["--force-conflicts"]), "apply --server-side --force-conflicts").and_then(|o| {
            let m = managers(&name);
            expect(
                labels_of(k, &name)["metadata"]["labels"]["app"] == "two" && !m.contains(&("kubectl-label".into(), "Update".into())),
                format!("{o}; managers: {m:?}"),
            )
        })
    });
    std::fs::write(&file, manifest("app: two")).unwrap();
    record(&mut results, "apply --server-side, a field left out is removed", {
        ok(&apply(&[]), "apply --server-side").and_then(|o| {
            let labels = labels_of(k, &name)["metadata"]["labels"].clone();
            expect(labels.get("tier").is_none() && labels["app"] == "two", format!("{o}; labels: {labels}"))
        })
    });
    // The kubelet's status writes are its own: an Update entry with subresource status.
    record(&mut results, "--show-managed-fields: the kubelet's status entry", {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = k.run(&["get", "pod", &name, "-o", "json", "--show-managed-fields"]);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            let entries = v["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
            let kubelet = entries.iter().find(|e| e["manager"] == "kubelet");
            let ok = kubelet.is_some_and(|e| {
                e["operation"] == "Update" && e["subresource"] == "status" && e["fieldsV1"]["f:status"]["f:phase"].is_object()
            });
            if ok {
                break Ok(());
            }
            if Instant::now() > deadline {
                break Err(format!("no kubelet status entry: {entries:?}"));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let _ = k.run(&["delete", "pod", &name, "--grace-period=0", "--force"]);
    results
}

/// `--dry-run=server` (dryRun=All) on create, apply, patch and delete changes nothing;
/// `--validate=strict|warn|ignore` (fieldValidation) on create and patch; a delete with
/// `--cascade=foreground` (propagationPolicy). `web` is a running pod.
fn dry_runs_and_field_validation(k: &Kubectl<'_>, p: &str, web: &str, dir: &Path) -> Results {
    let mut results = Results::new();
    let dry = format!("{p}-dry");
    let file = dir.join(format!("{dry}.yaml"));
    std::fs::write(&file, pod_manifest(&dry, "")).unwrap();
    let f = file.to_str().unwrap();
    let absent = |name: &str| {
        let o = k.run(&["get", "pod", name]);
        expect(!o.status.success() && text(&o).contains("not found"), format!("{name} exists: {}", text(&o)))
    };
    record(&mut results, "create --dry-run=server", {
        ok(&k.run(&["create", "-f", f, "--dry-run=server", "-o", "json"]), "create")
            .and_then(|o| {
                let v: serde_json::Value = serde_json::from_str(&o).map_err(|e| format!("{e}: {o}"))?;
                expect(v["metadata"]["name"] == dry.as_str() && v["spec"]["nodeName"] == "podspec-node", o)
            })
            .and_then(|_| absent(&dry))
    });
    record(&mut results, "apply --dry-run=server", {
        ok(&k.run(&["apply", "-f", f, "--dry-run=server"]), "apply")
            .and_then(|o| expect(o.contains("(server dry run)"), o))
            .and_then(|_| absent(&dry))
    });
    record(&mut results, "patch --dry-run=server", {
        ok(
            &k.run(&[
                "patch",
                "pod",
                web,
                "--type",
                "merge",
                "-p",
                r#"{"metadata":{"labels":{"dry":"yes"}}}"#,
                "--dry-run=server",
                "-o",
                "json",
            ]),
            "patch",
        )
        .and_then(|o| expect(o.contains(r#""dry": "yes""#), o))
        .and_then(|_| expect(labels_of(k, web)["metadata"]["labels"]["dry"].is_null(), "the dry-run patch was written".into()))
    });
    record(&mut results, "delete --dry-run=server", {
        ok(&k.run(&["delete", "pod", web, "--dry-run=server"]), "delete").and_then(|o| expect(o.contains("(server dry run)"), o)).and_then(
            |_| {
                expect(
                    labels_of(k, web)["metadata"]["deletionTimestamp"].is_null() && labels_of(k, web)["status"]["phase"] == "Running",
                    "the dry-run delete was done".into(),
                )
            },
        )
    });
    // An unknown field: kubectl's default (--validate=strict) makes the server refuse it, warn
    // reports it, ignore drops it.
    let unknown = format!("{p}-unknown");
    let ufile = dir.join(format!("{unknown}.yaml"));
    std::fs::write(&ufile, pod_manifest(&unknown, "  bogusField: 1\n")).unwrap();
    let uf = ufile.to_str().unwrap();
    record(&mut results, "create, unknown field (strict)", {
        let o = k.run(&["create", "-f", uf]);
        expect(!o.status.success() && text(&o).contains(r#"strict decoding error: unknown field "spec.bogusField""#), text(&o))
            .and_then(|_| absent(&unknown))
    });
    record(&mut results, "create --validate=warn", {
        let o = k.run(&["create", "-f", uf, "--validate=warn"]);
        expect(o.status.success() && String::from_utf8_lossy(&o.stderr).contains(r#"unknown field "spec.bogusField""#), text(&o))
    });
    let _ = k.run(&["delete", "pod", &unknown, "--grace-period=0", "--force"]);
    let _ = k.run(&["wait", "--for=delete", &format!("pod/{unknown}"), "--timeout=30s"]);
    record(&mut results, "create --validate=false", {
        let o = k.run(&["create", "-f", uf, "--validate=false"]);
        expect(o.status.success() && !text(&o).contains("unknown field"), text(&o))
    });
    let _ = k.run(&["delete", "pod", &unknown, "--grace-period=0", "--force"]);
    // kubectl patch sends no fieldValidation: the server's default, Warn.
    record(&mut results, "patch, unknown field (warn)", {
        let o = k.run(&["patch", "pod", web, "--type", "merge", "-p", r#"{"spec":{"bogusField":1}}"#]);
        expect(o.status.success() && String::from_utf8_lossy(&o.stderr).contains(r#"unknown field "spec.bogusField""#), text(&o))
    });
    // kubectl apply patches an existing pod with fieldValidation=Strict.
    record(&mut results, "apply, unknown field (strict)", {
        let file = dir.join(format!("{web}-bogus.yaml"));
        std::fs::write(&file, pod_manifest(web, "  bogusField: 1\n")).unwrap();
        let o = k.run(&["apply", "-f", file.to_str().unwrap()]);
        expect(!o.status.success() && text(&o).contains(r#"strict decoding error: unknown field "spec.bogusField""#), text(&o))
    });
    // The status subresource: GET and a merge PATCH of a condition the kubelet does not own.
    record(&mut results, "get/patch --subresource=status", {
        ok(&k.run(&["get", "pod", web, "--subresource=status", "-o", "jsonpath={.status.phase}"]), "get status")
            .and_then(|o| expect(o == "Running", o))
            .and_then(|_| {
                ok(
                    &k.run(&[
                        "patch",
                        "pod",
                        web,
                        "--subresource=status",
                        "--type",
                        "merge",
                        "-p",
                        r#"{"status":{"conditions":[{"type":"example.com/Checked","status":"True"}]}}"#,
                    ]),
                    "patch status",
                )
            })
            .and_then(|_| {
                let v = labels_of(k, web);
                let has = v["status"]["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "example.com/Checked"));
                expect(has && v["status"]["phase"] == "Running", format!("{}", v["status"]))
            })
    });
    record(&mut results, "delete --cascade=foreground", {
        let fg = format!("{p}-fg");
        let file = dir.join(format!("{fg}.yaml"));
        std::fs::write(&file, pod_manifest(&fg, "")).unwrap();
        ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create")
            .and_then(|_| ok(&k.run(&["delete", "pod", &fg, "--cascade=foreground", "--wait=true"]), "delete"))
            .and_then(|_| absent(&fg))
    });
    results
}

/// A kubectl whose output lines arrive on a channel.
fn watch_lines(k: &Kubectl<'_>, args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = k.cmd(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn labels_of(k: &Kubectl<'_>, name: &str) -> serde_json::Value {
    let o = k.run(&["get", "pod", name, "-o", "json"]);
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// Polls the pod's phase (`wait --for=jsonpath` is not in every kubectl).
fn phase_becomes(k: &Kubectl<'_>, name: &str, phase: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = k.run(&["get", "pod", name, "-o", "jsonpath={.status.phase}"]);
        let now = String::from_utf8_lossy(&o.stdout).into_owned();
        if now == phase {
            return Ok(now);
        }
        if Instant::now() > deadline {
            return Err(format!("pod {name} is {now:?}, not {phase}, after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Manifests as people write them, through the newest kubectl.
fn manifests(k: &Kubectl<'_>, dir: &Path) -> Vec<(&'static str, Outcome)> {
    let mut results = Vec::new();
    // Two containers sharing an emptyDir (kubernetes.io/docs/tasks/access-application-cluster/
    // communicate-containers-same-pod-shared-volume/).
    let shared = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: two-containers\nspec:\n  volumes:\n  - name: shared-data\n    emptyDir: {}\n  containers:\n  - name: writer\n    image: busybox:1.36\n    command: [sh, -c, 'echo Hello from the writer > /pod-data/index.html; exec sleep 3600']\n    volumeMounts:\n    - {name: shared-data, mountPath: /pod-data}\n  - name: reader\n    image: busybox:1.36\n    command: [sleep, '3600']\n    volumeMounts:\n    - {name: shared-data, mountPath: /usr/share/data}\n";
    let file = dir.join("two.yaml");
    std::fs::write(&file, shared).unwrap();
    let r = ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create")
        .and_then(|_| ok(&k.run(&["wait", "--for=condition=Ready", "pod/two-containers", "--timeout=60s"]), "wait"))
        .and_then(|_| ok(&k.run(&["exec", "two-containers", "-c", "reader", "--", "cat", "/usr/share/data/index.html"]), "exec"))
        .and_then(|o| expect(o.trim() == "Hello from the writer", o));
    results.push(("two containers sharing an emptyDir", r.map_or_else(Outcome::Fail, |_| Outcome::Pass)));
    // A Job's pod template as people write it (kubernetes.io/docs/concepts/workloads/controllers/job/).
    let job = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: job-pod\nspec:\n  restartPolicy: OnFailure\n  containers:\n  - name: work\n    image: busybox\n    command: [sh, -c, 'echo job done']\n";
    let file = dir.join("job.yaml");
    std::fs::write(&file, job).unwrap();
    let r = ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create")
        .and_then(|_| phase_becomes(k, "job-pod", "Succeeded"))
        .and_then(|_| ok(&k.run(&["logs", "job-pod"]), "logs"))
        .and_then(|o| expect(o.trim() == "job done", o))
        .and_then(|_| ok(&k.run(&["get", "pod", "job-pod"]), "get"))
        .and_then(|o| expect(o.contains("Completed"), o));
    results.push(("a Job's pod template (OnFailure)", r.map_or_else(Outcome::Fail, |_| Outcome::Pass)));
    // What the kubelet did, as events: a container that keeps failing backs off (BackOff), one
    // whose image the node lacks cannot be created (Failed); each names its container.
    let crasher = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crasher\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox:1.36\n    command: [sh, -c, 'exit 1']\n  - name: missing\n    image: podspec.invalid/none:1\n";
    let file = dir.join("crasher.yaml");
    std::fs::write(&file, crasher).unwrap();
    let r = ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create").and_then(|_| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let o = k.run(&["get", "events", "--field-selector", "involvedObject.name=crasher", "-o", "json"]);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let has = |reason: &str, path: &str, text: &str| {
                items.iter().any(|e| {
                    e["reason"] == reason
                        && e["involvedObject"]["fieldPath"] == path
                        && e["message"].as_str().is_some_and(|m| m.contains(text))
                        && e["source"]["component"] == "kubelet"
                })
            };
            if has("BackOff", "spec.containers{main}", "Back-off restarting failed container main in pod crasher_default")
                && has("Failed", "spec.containers{missing}", "Error: ")
            {
                break Ok(());
            }
            if Instant::now() > deadline {
                break Err(format!("no BackOff and Failed events for crasher after 60 s: {}", text(&o)));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    results.push(("events: BackOff, Failed", r.map_or_else(Outcome::Fail, |_| Outcome::Pass)));
    // The pod of kubernetes.io/docs/tasks/configure-pod-container/security-context/ ("Set the
    // security context for a Pod"), with busybox:1.36 for its busybox:1.28 (the image the
    // machine has): `id` shows uid 1000, gid 3000 and the fsGroup 2000 among the groups, and a
    // file written in the emptyDir belongs to group 2000.
    let secure = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: security-context-demo\nspec:\n  securityContext:\n    runAsUser: 1000\n    runAsGroup: 3000\n    fsGroup: 2000\n  volumes:\n  - name: sec-ctx-vol\n    emptyDir: {}\n  containers:\n  - name: sec-ctx-demo\n    image: busybox:1.36\n    command: [ \"sh\", \"-c\", \"sleep 1h\" ]\n    volumeMounts:\n    - name: sec-ctx-vol\n      mountPath: /data/demo\n    securityContext:\n      allowPrivilegeEscalation: false\n";
    let file = dir.join("security-context.yaml");
    std::fs::write(&file, secure).unwrap();
    let r = ok(&k.run(&["create", "-f", file.to_str().unwrap()]), "create")
        .and_then(|_| ok(&k.run(&["wait", "--for=condition=Ready", "pod/security-context-demo", "--timeout=60s"]), "wait"))
        .and_then(|_| ok(&k.run(&["exec", "security-context-demo", "--", "id"]), "exec id"))
        .and_then(|o| expect(o.starts_with("uid=1000 gid=3000 groups=") && o.contains("2000"), o))
        .and_then(|_| {
            ok(
                &k.run(&[
                    "exec",
                    "security-context-demo",
                    "--",
                    "sh",
                    "-c",
                    "echo hello > /data/demo/testfile; stat -c '%u %g' /data/demo/testfile",
                ]),
                "exec stat",
            )
        })
        .and_then(|o| expect(o.trim() == "1000 2000", o));
    results.push(("a pod with a securityContext", r.map_or_else(Outcome::Fail, |_| Outcome::Pass)));
    for name in ["two-containers", "job-pod", "crasher", "security-context-demo"] {
        let _ = k.run(&["delete", "pod", name, "--grace-period=0", "--force"]);
    }
    results
}

/// ConfigMaps and Secrets: kubectl's generators, the printer's columns, a strategic patch, the
/// API's `immutable` rule and its text, and delete.
fn config_objects(k: &Kubectl<'_>, p: &str) -> Vec<(&'static str, Outcome)> {
    let mut results: Vec<(&'static str, Outcome)> = Vec::new();
    let (cm, secret) = (format!("{p}-cm"), format!("{p}-secret"));
    record(&mut results, "create configmap --from-literal", {
        ok(&k.run(&["create", "configmap", &cm, "--from-literal=a=1", "--from-literal=b=two"]), "create configmap")
            .and_then(|o| expect(o.contains("created"), o))
            .and_then(|_| ok(&k.run(&["get", "cm", &cm, "-o", "jsonpath={.data.a} {.data.b}"]), "get cm"))
            .and_then(|o| expect(o == "1 two", o))
    });
    record(&mut results, "create secret generic", {
        ok(&k.run(&["create", "secret", "generic", &secret, "--from-literal=password=s3cr3t"]), "create secret")
            .and_then(|o| expect(o.contains("created"), o))
            .and_then(|_| ok(&k.run(&["get", "secret", &secret, "-o", "jsonpath={.type} {.data.password}"]), "get secret"))
            .and_then(|o| expect(o == "Opaque czNjcjN0", o))
    });
    record(&mut results, "get cm,secret", {
        ok(&k.run(&["get", "cm,secret"]), "get cm,secret").and_then(|o| {
            let row = |name: String| {
                o.lines().find(|l| l.split_whitespace().next() == Some(name.as_str())).map(|l| l.split_whitespace().collect::<Vec<_>>())
            };
            let c = row(format!("configmap/{cm}")).unwrap_or_default();
            let s = row(format!("secret/{secret}")).unwrap_or_default();
            expect(c.len() == 3 && c[1] == "2" && s.len() == 4 && s[1] == "Opaque" && s[2] == "1", o.clone())
        })
    });
    record(&mut results, "patch configmap (strategic), immutable", {
        ok(&k.run(&["patch", "configmap", &cm, "-p", r#"{"data":{"c":"3"},"immutable":true}"#]), "patch")
            .and_then(|_| ok(&k.run(&["get", "cm", &cm, "-o", "jsonpath={.data.a}{.data.c} {.immutable}"]), "get cm"))
            .and_then(|o| expect(o == "13 true", o))
            .and_then(|_| {
                let o = k.run(&["patch", "configmap", &cm, "--type", "merge", "-p", r#"{"data":{"a":"changed"}}"#]);
                expect(
                    !o.status.success()
                        && text(&o).contains(&format!(
                            "ConfigMap \"{cm}\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
                        )),
                    text(&o),
                )
            })
    });
    record(&mut results, "delete cm,secret", {
        ok(&k.run(&["delete", &format!("configmap/{cm}"), &format!("secret/{secret}")]), "delete").and_then(|_| {
            let o = k.run(&["get", "cm", &cm]);
            expect(!o.status.success() && text(&o).contains(&format!("configmaps \"{cm}\" not found")), text(&o))
        })
    });
    results
}

/// Server-side apply of a ConfigMap and a Secret (the pods' machinery, each kind's store):
/// an apply creates the object with kubectl's Apply entry, a second one changes a key, an
/// apply of another value of that key by another field manager is refused with
/// kube-apiserver's conflict text and changes nothing, and `--force-conflicts` gives the key to
/// that manager (the first keeps the keys it alone applied).
fn config_objects_server_side_apply(k: &Kubectl<'_>, p: &str, dir: &Path) -> Results {
    let mut results = Results::new();
    let get = |kind: &str, name: &str| -> serde_json::Value {
        let o = k.run(&["get", kind, name, "-o", "json", "--show-managed-fields"]);
        serde_json::from_slice(&o.stdout).unwrap_or_default()
    };
    let owners = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["operation"] == "Apply" && e["fieldsV1"]["f:data"][format!("f:{key}")].is_object())
            .map(|e| e["manager"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let cm = format!("{p}-cm-ssa");
    let secret = format!("{p}-secret-ssa");
    for (kind, name) in [("configmap", cm.as_str()), ("secret", secret.as_str())] {
        // A value as the manifest writes it and `.data` reads it back (base64 in a Secret).
        let value = |v: &str| {
            if kind == "secret" {
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, v)
            } else {
                v.to_string()
            }
        };
        let file = dir.join(format!("{name}.yaml"));
        let manifest = |mode: &str, with_level: bool| {
            let kind_name = if kind == "configmap" { "ConfigMap" } else { "Secret" };
            let level = if with_level { format!("\n  level: {:?}", value("1")) } else { String::new() };
            format!("apiVersion: v1\nkind: {kind_name}\nmetadata:\n  name: {name}\ndata:\n  mode: {:?}{level}\n", value(mode))
        };
        let apply = |extra: &[&str]| {
            let mut args = vec!["apply", "--server-side", "-f", file.to_str().unwrap()];
            args.extend_from_slice(extra);
            k.run(&args)
        };
        let mode_is = |want: &str| get(kind, name)["data"]["mode"] == value(want);
        std::fs::write(&file, manifest("fast", true)).unwrap();
        record(
            &mut results,
            if kind == "configmap" { "apply --server-side configmap (create)" } else { "apply --server-side secret (create)" },
            {
                ok(&apply(&[]), "apply --server-side").and_then(|o| {
                    let v = get(kind, name);
                    expect(
                        o.contains("serverside-applied")
                            && mode_is("fast")
                            && owners(&v, "mode") == ["kubectl"]
                            && owners(&v, "level") == ["kubectl"],
                        format!("{o}; {v}"),
                    )
                })
            },
        );
        std::fs::write(&file, manifest("slow", true)).unwrap();
        record(
            &mut results,
            if kind == "configmap" { "apply --server-side configmap (change a key)" } else { "apply --server-side secret (change a key)" },
            ok(&apply(&[]), "apply --server-side").and_then(|o| expect(mode_is("slow"), format!("{o}; {}", get(kind, name)))),
        );
        std::fs::write(&file, manifest("other", false)).unwrap();
        record(
            &mut results,
            if kind == "configmap" {
                "apply --server-side configmap, conflict with another manager"
            } else {
                "apply --server-side secret, conflict with another manager"
            },
            {
                let o = apply(&["--field-manager=other"]);
                let t = text(&o);
                expect(
                    !o.status.success()
                        && t.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .data.mode")
                        && mode_is("slow"),
                    t,
                )
            },
        );
        record(
            &mut results,
            if kind == "configmap" {
                "apply --server-side configmap --force-conflicts"
            } else {
                "apply --server-side secret --force-conflicts"
            },
            {
                ok(&apply(&["--field-manager=other", "--force-conflicts"]), "apply --server-side --force-conflicts").and_then(|o| {
                    let v = get(kind, name);
                    expect(
                        mode_is("other")
                            && owners(&v, "mode") == ["other"]
                            && owners(&v, "level") == ["kubectl"]
                            && v["data"]["level"] == value("1"),
                        format!("{o}; {v}"),
                    )
                })
            },
        );
        let _ = k.run(&["delete", kind, name]);
    }
    // Writes other than apply are recorded too: kubectl create's key is its (an Update entry),
    // and an apply of another value conflicts with it.
    let created = format!("{p}-cm-created");
    let file = dir.join(format!("{created}.yaml"));
    std::fs::write(&file, format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {created}\ndata:\n  mode: applied\n")).unwrap();
    record(&mut results, "apply --server-side configmap, conflict with kubectl create", {
        ok(&k.run(&["create", "configmap", &created, "--from-literal=mode=created"]), "create configmap").and_then(|_| {
            let o = k.run(&["apply", "--server-side", "-f", file.to_str().unwrap()]);
            let t = text(&o);
            let v = get("configmap", &created);
            let updates: Vec<&serde_json::Value> =
                v["metadata"]["managedFields"].as_array().into_iter().flatten().filter(|e| e["operation"] == "Update").collect();
            expect(
                !o.status.success()
                    && t.contains("Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1 at ")
                    && t.contains(": .data.mode")
                    && updates.len() == 1
                    && updates[0]["manager"] == "kubectl-create"
                    && updates[0]["fieldsV1"]["f:data"]["f:mode"].is_object(),
                format!("{t}; {v}"),
            )
        })
    });
    let _ = k.run(&["delete", "configmap", &created]);
    // A Secret's stringData: an apply's fields are the applied configuration's (the applier
    // owns .stringData.token; the value is folded into .data, which no one owns), while an
    // update's are worked out after the v1 conversion folded it (kubectl replace owns
    // .data.token), as kube-apiserver's field manager does.
    let string_data = format!("{p}-secret-strings");
    let file = dir.join(format!("{string_data}.yaml"));
    let manifest = |v: &str| format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {string_data}\nstringData:\n  token: {v}\n");
    let entry = |v: &serde_json::Value, manager: &str| -> serde_json::Value {
        v["metadata"]["managedFields"].as_array().into_iter().flatten().find(|e| e["manager"] == manager).cloned().unwrap_or_default()
    };
    std::fs::write(&file, manifest("first")).unwrap();
    record(&mut results, "apply --server-side secret with stringData (owned as stringData)", {
        ok(&k.run(&["apply", "--server-side", "-f", file.to_str().unwrap()]), "apply --server-side").and_then(|o| {
            let v = get("secret", &string_data);
            let applied = entry(&v, "kubectl");
            expect(
                v["data"]["token"] == base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "first")
                    && v.get("stringData").is_none()
                    && applied["operation"] == "Apply"
                    && applied["fieldsV1"]["f:stringData"]["f:token"].is_object()
                    && applied["fieldsV1"].get("f:data").is_none(),
                format!("{o}; {v}"),
            )
        })
    });
    std::fs::write(&file, manifest("second")).unwrap();
    record(&mut results, "replace secret with stringData (owned as data)", {
        ok(&k.run(&["replace", "-f", file.to_str().unwrap()]), "replace").and_then(|o| {
            let v = get("secret", &string_data);
            let replaced = entry(&v, "kubectl-replace");
            expect(
                v["data"]["token"] == base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "second")
                    && replaced["operation"] == "Update"
                    && replaced["fieldsV1"]["f:data"]["f:token"].is_object()
                    && replaced["fieldsV1"].get("f:stringData").is_none(),
                format!("{o}; {v}"),
            )
        })
    });
    let _ = k.run(&["delete", "secret", &string_data]);
    results
}

/// The server-side apply checks of ConfigMaps and Secrets alone, with every kubectl (they
/// also run among `kubectl_against_podspec_serve`'s checks).
#[test]
#[ignore = "podspec serve runs the reference node, which needs root"]
fn kubectl_server_side_apply_of_config_maps_and_secrets() {
    crate::support::require_root("podspec serve runs the reference node, which needs root");
    let found = kubectls();
    assert!(!found.is_empty(), "needs kubectl (none on PATH)");
    let serve = Serve::start();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (minor, bin) in &found {
        let home = dir.path().join(format!("home-{minor}"));
        std::fs::create_dir_all(&home).unwrap();
        let k = Kubectl { bin, kubeconfig: &serve.kubeconfig, home: &home };
        for (name, outcome) in config_objects_server_side_apply(&k, &format!("a{minor}"), dir.path()) {
            match outcome {
                Outcome::Pass => println!("kubectl 1.{minor}: {name}: pass"),
                Outcome::Skip(why) => println!("kubectl 1.{minor}: {name}: skipped: {why}"),
                Outcome::Fail(why) => failures.push(format!("kubectl 1.{minor}: {name}: {why}")),
            }
        }
    }
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
    assert!(failures.is_empty(), "{} check(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
#[ignore = "podspec serve runs the reference node, which needs root"]
fn kubectl_against_podspec_serve() {
    crate::support::require_root("podspec serve runs the reference node, which needs root");
    let found = kubectls();
    assert!(!found.is_empty(), "needs kubectl (none on PATH)");
    let serve = Serve::start();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut table = String::from("| check |");
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut reasons: Vec<&'static str> = Vec::new();
    for (minor, bin) in &found {
        table.push_str(&format!(" 1.{minor} |"));
        let home = dir.path().join(format!("home-{minor}"));
        std::fs::create_dir_all(&home).unwrap();
        let k = Kubectl { bin, kubeconfig: &serve.kubeconfig, home: &home };
        let mut results = checks(&k, *minor, dir.path());
        if Some(minor) == found.last().map(|(m, _)| m) {
            results.extend(manifests(&k, dir.path()));
        }
        for (name, outcome) in results {
            let cell = match &outcome {
                Outcome::Pass => "pass".to_string(),
                Outcome::Skip(why) => {
                    if !reasons.contains(why) {
                        reasons.push(why);
                    }
                    let n = reasons.iter().position(|r| r == why).unwrap_or(0) + 1;
                    format!("skip ({n})")
                }
                Outcome::Fail(why) => {
                    failures.push(format!("kubectl 1.{minor}: {name}: {why}"));
                    "FAIL".to_string()
                }
            };
            match rows.iter_mut().find(|(n, _)| n == name) {
                Some((_, cells)) => cells.push(cell),
                None => rows.push((name.to_string(), vec![cell])),
            }
        }
    }
    table.push('\n');
    table.push_str(&format!("| --- |{}\n", " --- |".repeat(found.len())));
    for (name, cells) in &rows {
        // Manifests as people write them run with the newest kubectl only.
        let mut row = vec!["-".to_string(); found.len().saturating_sub(cells.len())];
        row.extend(cells.iter().cloned());
        table.push_str(&format!("| {name} | {} |\n", row.join(" | ")));
    }
    for (i, why) in reasons.iter().enumerate() {
        table.push_str(&format!("\n({}) {why}\n", i + 1));
    }
    println!("{table}");
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
    assert!(failures.is_empty(), "{} check(s) failed:\n{}", failures.len(), failures.join("\n"));
}
