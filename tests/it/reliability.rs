//! Runs that never interfere with each other, never report what did not happen, and survive
//! signals: several runs at once, different agent builds side by side, low open-file limits,
//! SIGINT and SIGTERM.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{processes_mentioning, Scratch};

const HOSTNAME_FEATURE: &str = r#"Feature: Hostname
  Scenario: The hostname is the pod name
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "two-containers"
"#;

/// Waits until `n` container processes of runs under the scratch state directory run.
fn wait_for_containers(s: &Scratch, n: usize) {
    let runs = format!("{}/runs", s.state().display());
    let deadline = Instant::now() + Duration::from_secs(90);
    while processes_mentioning(&runs).iter().filter(|(_, c)| c.contains("podspec-shim run")).count() < n {
        assert!(Instant::now() < deadline, "the pod never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A run whose podspec-agent differs (another build) builds its own image; the image under the
/// other run's containers stays as it is, so both pass.
#[test]
fn two_runs_with_different_agent_builds_side_by_side_both_pass() {
    let s = Scratch::new();
    let agent = env!("CARGO_BIN_EXE_podspec-agent");
    let (a, b) = (s.path().join("agent-a"), s.path().join("agent-b"));
    fs::copy(agent, &a).unwrap();
    let mut other = fs::read(agent).unwrap();
    other.extend_from_slice(b"\0another build");
    fs::write(&b, other).unwrap();
    fs::set_permissions(&b, fs::metadata(&a).unwrap().permissions()).unwrap();
    // The image also holds podspec-grpc-health, which the image store takes from beside the agent.
    fs::copy(env!("CARGO_BIN_EXE_podspec-grpc-health"), s.path().join("podspec-grpc-health")).unwrap();
    let data = s.path().join("data");
    s.feature(
        "long.feature",
        r#"Feature: Long
  Scenario: Execs before and after another run builds its image
    Given a running pod from fixture "two-containers.yaml"
    Then running "sleep 5" in container "a" of pod "two-containers" succeeds
    And running "echo still here" in container "b" of pod "two-containers" prints "still here"
"#,
    );
    fs::create_dir_all(s.path().join("other")).unwrap();
    fs::write(s.path().join("other/hostname.feature"), HOSTNAME_FEATURE).unwrap();
    let mut first = s
        .spawn_run(&["--report-dir", "out-a", "--features", "features/long.feature"])
        .env("PODSPEC_AGENT", &a)
        .env("PODSPEC_DATA_DIR", &data)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_containers(&s, 2);
    let second = s
        .spawn_run(&["--report-dir", "out-b", "--features", "other"])
        .env("PODSPEC_AGENT", &b)
        .env("PODSPEC_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(second.status.success(), "the second run failed: {}", String::from_utf8_lossy(&second.stderr));
    let first_err = {
        let mut text = String::new();
        std::io::Read::read_to_string(first.stderr.as_mut().unwrap(), &mut text).unwrap();
        text
    };
    let status = first.wait().unwrap();
    assert!(status.success(), "the first run failed: {first_err}");
    // Both builds are in the store, each in a directory of its own; once neither run uses the
    // superseded one... each run's end removes what it no longer needs, so at most both remain.
    let images: Vec<_> = fs::read_dir(data.join("images")).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(images.iter().filter(|n| n.to_string_lossy().contains('@')).count() >= 1, "{images:?}");
    s.assert_clean();
}

/// Six runs started at once in one state directory: none removes another's state.
#[test]
fn six_runs_started_at_once_all_pass() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    let children: Vec<_> = (0..6)
        .map(|i| s.spawn_run(&["--report-dir", &format!("out-{i}")]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    let mut failures = Vec::new();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        if !out.status.success() {
            failures.push(format!("run {i}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    s.assert_clean();
}

/// Sets the open-file limit of the child to `soft` (and `hard`) before it runs.
fn with_nofile(cmd: &mut std::process::Command, soft: u64, hard: u64) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

fn many_pods_feature(n: usize) -> String {
    let mut text = String::from("Feature: Many pods\n");
    for i in 0..n {
        text.push_str(&format!(
            "  Scenario: Pod {i}\n    Given a running pod from fixture \"two-containers.yaml\"\n    Then running \"echo {i}\" in container \"b\" of pod \"two-containers\" prints \"{i}\"\n"
        ));
    }
    text
}

/// Under a low soft limit of open files (Debian's default is 1024), podspec raises it to the
/// hard limit at start, as container runtimes do, and every pod starts.
#[test]
fn a_low_soft_open_file_limit_is_raised_and_every_pod_starts() {
    let s = Scratch::new();
    s.feature("many.feature", &many_pods_feature(8));
    let mut cmd = s.spawn_run(&["--report-dir", "out", "--concurrency", "8"]);
    with_nofile(&mut cmd, 40, 4096);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    s.assert_clean();
}

/// Under a low hard limit of open files, podspec warns at start with how many pods it holds,
/// and the run leaves nothing behind whatever its outcome (issue #18). Whether pods past the
/// limit fail is a matter of timing: the kubelet retries a start that failed for lack of
/// descriptors (RunContainerError, with `Too many open files`, unit-tested in
/// `runtime::kubelet::lifecycle_tests`), and other pods' ends free some. That every failing step
/// then says why is not held here: in one run of the whole suite one failure did not (issue #18).
#[test]
fn a_low_hard_open_file_limit_is_warned_of_and_the_run_leaves_nothing() {
    let s = Scratch::new();
    s.feature("many.feature", &many_pods_feature(16));
    let mut cmd = s.spawn_run(&["--report-dir", "out", "--concurrency", "16"]);
    with_nofile(&mut cmd, 100, 100);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the hard open-file limit is 100: it holds about 6 two-container pods at once"), "{stderr}");
    s.assert_clean();
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// SIGTERM in the middle of a run: what finished is reported as it ended, the rest as not run
/// because the run was interrupted, the summary says so, and the earlier run's reports are gone.
#[test]
fn a_signal_writes_the_reports_of_what_finished_and_marks_the_rest_not_run() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let s = Scratch::new();
        s.feature(
            "two.feature",
            r#"Feature: Two
  Scenario: Quick
    Given a running pod from fixture "two-containers.yaml"
    Then running "echo quick" in container "a" of pod "two-containers" prints "quick"

  Scenario: Slow
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 60" in container "writer" of pod "shared-emptydir" succeeds
"#,
        );
        // An earlier run's passing reports.
        fs::create_dir_all(s.path().join("out")).unwrap();
        fs::write(s.path().join("out/report.json"), r#"{"stale": true}"#).unwrap();
        fs::write(s.path().join("out/junit.xml"), "<testsuites/>").unwrap();
        let child =
            s.spawn_run(&["--report-dir", "out", "--concurrency", "1"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // The slow scenario runs once the shared-emptydir pod's containers run.
        let runs = format!("{}/runs", s.state().display());
        let deadline = Instant::now() + Duration::from_secs(90);
        while !processes_mentioning(&runs).iter().any(|(_, c)| c.contains("podspec-shim run") && c.contains("writer")) {
            assert!(Instant::now() < deadline, "the slow scenario never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains(&format!("interrupted by {name}: 1 scenario(s) not run")), "{stderr}");
        let json = read_json(&s.path().join("out/report.json"));
        assert_eq!(json["interrupted"], format!("interrupted by {name}"), "{json}");
        assert_eq!(json["scenarios"][0]["status"], "passed", "{json}");
        assert_eq!(json["scenarios"][1]["status"], "skipped", "{json}");
        assert_eq!(json["scenarios"][1]["reason"], format!("not run: the run was interrupted ({name})"), "{json}");
        let junit = fs::read_to_string(s.path().join("out/junit.xml")).unwrap();
        assert!(junit.contains("not run: the run was interrupted"), "{junit}");
        let md = fs::read_to_string(s.path().join("out/report.md")).unwrap();
        assert!(md.contains("**INTERRUPTED:**"), "{md}");
        s.assert_clean();
    }
}

/// A run that stops at an input error leaves no earlier run's reports for CI to read.
#[test]
fn an_earlier_runs_reports_never_stay_in_the_report_directory() {
    let s = Scratch::new();
    s.feature("bad.feature", "Feature: Bad\n  Scenario: x\n    Given no such step at all\n");
    fs::create_dir_all(s.path().join("out")).unwrap();
    for f in ["report.json", "junit.xml", "report.md"] {
        fs::write(s.path().join("out").join(f), "from an earlier run").unwrap();
    }
    s.run().assert().code(2);
    for f in ["report.json", "junit.xml", "report.md"] {
        assert!(!s.path().join("out").join(f).exists(), "{f} of an earlier run is still there");
    }
}

/// A signal in the first milliseconds of a run leaves no state behind.
#[test]
fn a_signal_at_start_leaves_no_state_behind() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    for i in 0..12u64 {
        let child = s.spawn_run(&["--report-dir", "out"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(2 * i));
        signal(&child, libc::SIGTERM);
        let mut child = child;
        child.wait().unwrap();
        s.assert_clean();
    }
}

/// After a run is killed, `podspec clean` returns only once every process of the run is gone,
/// including what was exec'd into its containers; a killed image build's `.build-*` goes too.
#[test]
fn clean_returns_once_every_process_of_a_killed_run_is_gone() {
    let s = Scratch::new();
    let marker = format!("marker{}", std::process::id());
    s.feature(
        "slow.feature",
        &format!(
            "Feature: Slow\n  Scenario: Holds a pod\n    Given a running pod from fixture \"shared-emptydir.yaml\"\n    Then running \"sleep 30; echo {marker}\" in container \"writer\" of pod \"shared-emptydir\" succeeds\n"
        ),
    );
    let data = s.path().join("data");
    let mut child =
        s.spawn_run(&["--report-dir", "out"]).env("PODSPEC_DATA_DIR", &data).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while processes_mentioning(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the exec never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // What a build killed half-way leaves.
    fs::create_dir_all(data.join("images/.build-podspec_busybox-999999/rootfs/bin")).unwrap();
    s.podspec().arg("clean").env("PODSPEC_DATA_DIR", &data).assert().code(0);
    let left = processes_mentioning(&marker);
    assert!(left.is_empty(), "processes outlived clean: {left:?}");
    assert!(!data.join("images/.build-podspec_busybox-999999").exists(), "the killed build's directory is still there");
    s.assert_clean();
}

/// Everything of podspec's on the machine that a run under `s` could have left. Runs are named
/// `<pid>-<ms>`: a network namespace or cgroup named podspec* is the runs' when it names one of
/// `pids` (other podspec runs on the machine are left out).
fn leftovers(s: &Scratch, pids: &[u32]) -> Vec<String> {
    let ours = |name: &str| name.starts_with("podspec") && pids.iter().any(|p| name.contains(&format!("{p}-")));
    let mut left = Vec::new();
    let state = s.state().display().to_string();
    for (pid, cmd) in processes_mentioning(&state) {
        left.push(format!("process {pid}: {cmd}"));
    }
    let runs: Vec<_> = fs::read_dir(s.state().join("runs"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path().display().to_string()).collect())
        .unwrap_or_default();
    left.extend(runs.into_iter().map(|r| format!("state directory {r}")));
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    left.extend(mounts.lines().filter(|l| l.contains(&state)).map(|l| format!("mount {l}")));
    // The node network lives in a namespace of podspec's own: nothing may show on the host, and
    // no named network namespace is ever made.
    if let Ok(links) = fs::read_dir("/sys/class/net") {
        for l in links.filter_map(Result::ok) {
            let name = l.file_name().to_string_lossy().into_owned();
            if name.starts_with("psv") || name.starts_with("podspec") {
                left.push(format!("link {name} on the host"));
            }
        }
    }
    if let Ok(netns) = fs::read_dir("/run/netns") {
        left.extend(
            netns
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| ours(n))
                .map(|n| format!("netns {n}")),
        );
    }
    // cgroups: each run's are `<podspec's own cgroup>/podspec/<run>/...` on each hierarchy; none
    // of the killed runs' may stay.
    fn podspec_subtrees(dir: &std::path::Path, depth: usize, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for e in entries.filter_map(Result::ok) {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == "podspec" {
                out.push(e.path());
            } else if depth > 0 {
                podspec_subtrees(&e.path(), depth - 1, out);
            }
        }
    }
    let mut subtrees = Vec::new();
    podspec_subtrees(std::path::Path::new("/sys/fs/cgroup"), 4, &mut subtrees);
    for tree in subtrees {
        for run in fs::read_dir(&tree).into_iter().flatten().filter_map(Result::ok) {
            let name = run.file_name().to_string_lossy().into_owned();
            if run.path().is_dir() && pids.iter().any(|p| name.starts_with(&format!("{p}-"))) {
                left.push(format!("cgroup {}", run.path().display()));
            }
        }
    }
    left
}

/// SIGKILL at random points, 20 times: after each `podspec clean`, and after the next run, no
/// process, mount, network namespace, veth, cgroup or state directory of podspec remains.
#[test]
fn sigkill_at_random_points_then_clean_leaves_nothing() {
    let s = Scratch::new();
    s.feature(
        "work.feature",
        r#"Feature: Work
  Scenario: Two pods and an exec
    Given a running pod from fixture "two-containers.yaml"
    And a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 1; echo done" in container "a" of pod "two-containers" prints "done"
"#,
    );
    // A small generator of delays (xorshift), seeded by the time: each CI run kills elsewhere.
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut delays = Vec::new();
    let mut pids = Vec::new();
    for i in 0..20 {
        // Every fourth run starts with no image, so that some kills land in an image build.
        let data = s.path().join(format!("data-{}", i / 4));
        let delay = Duration::from_millis(next() % 2500);
        delays.push(delay.as_millis());
        let mut child = s
            .spawn_run(&["--report-dir", "out"])
            .env("PODSPEC_DATA_DIR", &data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        pids.push(child.id());
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        s.podspec().arg("clean").env("PODSPEC_DATA_DIR", &data).assert().code(0);
        let left = leftovers(&s, &pids);
        assert!(left.is_empty(), "kill {i} after {delay:?} (delays so far {delays:?}): clean left {left:#?}");
        let builds: Vec<_> = fs::read_dir(data.join("images"))
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with(".build-")).collect())
            .unwrap_or_default();
        assert!(builds.is_empty(), "kill {i}: half-built images left: {builds:?}");
        if i % 5 == 4 {
            let out = s.spawn_run(&["--report-dir", "out"]).env("PODSPEC_DATA_DIR", &data).output().unwrap();
            assert!(out.status.success(), "the run after kill {i} failed: {}", String::from_utf8_lossy(&out.stderr));
            let left = leftovers(&s, &pids);
            assert!(left.is_empty(), "the run after kill {i} left {left:#?}");
        }
    }
}

/// Every path under `dir` (links not followed) whose path ends with `suffix`.
fn find_under(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.to_string_lossy().ends_with(suffix) {
                found.push(p.clone());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) && !p.ends_with("rootfs") {
                stack.push(p);
            }
        }
    }
    found
}

/// `sh -c script` as the unprivileged user nobody (uid and gid 65534, no groups); whether it
/// succeeded, and what it said.
fn as_nobody(script: &str, path: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "sh", "-c", script, "sh"])
        .arg(path)
        .output()
        .expect("setpriv");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Issue 17, item 5: while a pod runs, an unprivileged local user can neither list its
/// emptyDir, nor forge its termination log, nor read its container spec or an image's files:
/// the state and data trees are closed at their roots (0700), whatever the modes inside.
#[test]
#[ignore = "needs root (to run a pod as root and act as another user)"]
fn an_unprivileged_user_reaches_nothing_under_the_state_and_data_trees() {
    crate::support::require_root("needs root (to run a pod as root and act as another user)");
    let s = Scratch::new();
    // The scratch folder stands for /run and /var/lib: every user may pass through them.
    fs::set_permissions(s.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let data = s.path().join("data");
    // An earlier root, made wider than it should be, is closed again.
    fs::create_dir_all(s.state()).unwrap();
    fs::set_permissions(s.state(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    s.feature(
        "long.feature",
        r#"Feature: Long
  Scenario: A pod runs while another user looks
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "stat -c %a /shared" in container "reader" of pod "shared-emptydir" prints "777"
    And running "sleep 10" in container "reader" of pod "shared-emptydir" succeeds
"#,
    );
    let mut run = s.spawn_run(&["--report-dir", "out"]).env("PODSPEC_DATA_DIR", &data).spawn().unwrap();
    wait_for_containers(&s, 2);
    let runs = s.state().join("runs");
    let empty_dir = find_under(&runs, "kubernetes.io~empty-dir/data");
    let log = find_under(&runs, "termination-log-0");
    let spec = find_under(&runs, "spec.json");
    let image = find_under(&data, "config.json");
    let mut reached = Vec::new();
    for (what, paths, script) in [
        ("list the emptyDir", &empty_dir, "ls \"$1\""),
        ("write into the emptyDir", &empty_dir, "echo forged > \"$1/planted\""),
        ("write the termination log", &log, "echo forged > \"$1\""),
        ("read a container spec", &spec, "cat \"$1\""),
        ("read an image's config", &image, "cat \"$1\""),
    ] {
        assert!(!paths.is_empty(), "nothing to {what} found: the state tree's layout changed");
        for p in paths {
            let (ok, said) = as_nobody(script, p);
            if ok {
                reached.push(format!("{what}: {} ({})", p.display(), said.trim()));
            }
        }
    }
    for root in [s.state(), data.clone()] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&root).unwrap().permissions()) & 0o777;
        if mode != 0o700 {
            reached.push(format!("{} is mode {mode:o}, not 700", root.display()));
        }
    }
    // Inside, the container still saw its emptyDir as Kubernetes makes it (0777).
    assert!(run.wait().unwrap().success(), "the run failed: the modes inside the container changed?");
    s.assert_clean();
    assert!(reached.is_empty(), "an unprivileged user reached podspec's state:\n{}", reached.join("\n"));
}

/// Issue 17: an interrupt never waits out a pod's grace period. The pod's container ignores
/// SIGTERM (a shell trapping it) and has 60 s of grace: the run on `target` still ends within
/// seconds of SIGINT, says that its pods were stopped at once, and leaves nothing behind.
fn an_interrupt_stops_the_pods_at_once(target: &str, target_args: &[&str]) {
    let s = Scratch::new();
    let marker = format!("interrupted{}", std::process::id());
    s.fixture(
        "stubborn.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stubborn\nspec:\n  terminationGracePeriodSeconds: 60\n  containers:\n  - name: a\n    image: busybox:1.36\n    command: [\"sh\", \"-c\", \"trap '' TERM; while true; do sleep 1; done\"]\n",
    );
    s.feature(
        "stubborn.feature",
        &format!("Feature: Stubborn\n  Scenario: A pod that ignores SIGTERM\n    Given a running pod from fixture \"stubborn.yaml\"\n    Then running \"sleep 60; echo {marker}\" in container \"a\" of pod \"stubborn\" succeeds\n"),
    );
    let mut args = vec!["--report-dir", "out", "--target", target];
    args.extend_from_slice(target_args);
    let child = s.spawn_run(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while processes_mentioning(&marker).iter().all(|(pid, _)| *pid == child.id() as i32) {
        assert!(Instant::now() < deadline, "the pod never ran its exec");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let interrupted = Instant::now();
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let took = interrupted.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: the run's pods are stopped at once (grace period 0)"), "{stderr}");
    // Well under the pod's 60 s of grace, with room for a loaded machine (podman's own commands
    // take seconds each there).
    assert!(took < Duration::from_secs(40), "the run waited {took:?} after SIGINT: {stderr}");
    if target == "reference" {
        s.assert_clean();
    }
}

/// Seen red before: the run waited the full 60 s.
#[test]
fn an_interrupt_stops_the_pods_at_once_without_their_grace_period() {
    an_interrupt_stops_the_pods_at_once("reference", &[]);
}

/// The same on the podman target. Seen red before: the run waited the full 60 s.
#[test]
#[ignore = "the podman target needs root and podman"]
fn an_interrupt_stops_podmans_pods_at_once_without_their_grace_period() {
    crate::support::require_root("the podman target needs root");
    crate::support::require_program("podman");
    an_interrupt_stops_the_pods_at_once("podman", &[]);
}

/// The same on the kube target, against `podspec serve`: the run deletes its pods with grace
/// period 0 before its namespaces. Seen red before (the namespace's deletion waited out the
/// pod's 60 s: the run took 60 s after SIGINT).
#[test]
#[ignore = "podspec serve needs root"]
fn an_interrupt_stops_the_kube_targets_pods_at_once_without_their_grace_period() {
    crate::support::require_root("podspec serve needs root");
    let serve = crate::serve::Serve::start();
    let kubeconfig = serve.kubeconfig.to_str().unwrap().to_string();
    an_interrupt_stops_the_pods_at_once("kube", &["--kubeconfig", &kubeconfig]);
}

/// A clean-up that hangs ends at a second signal: the kube target's run is interrupted while the
/// cluster (serve) is stopped with SIGSTOP, so deleting its namespace waits; a second SIGINT
/// ends the run within seconds, saying what may be left and how to remove it. Seen red without
/// the second signal's handling: the run still waited for serve 20 s after the second SIGINT.
#[test]
#[ignore = "podspec serve needs root"]
fn a_second_signal_ends_a_run_whose_clean_up_hangs() {
    crate::support::require_root("podspec serve needs root");
    let serve = crate::serve::Serve::start();
    let kubeconfig = serve.kubeconfig.to_str().unwrap().to_string();
    let s = Scratch::new();
    let marker = format!("second-signal{}", std::process::id());
    s.feature(
        "hang.feature",
        &format!(
            "Feature: Hang\n  Scenario: A pod\n    Given a running pod \"p\":\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: p\n      spec:\n        containers:\n        - name: a\n          image: busybox:1.36\n          command: [\"sleep\", \"3600\"]\n      \"\"\"\n    Then running \"sleep 60; echo {marker}\" in container \"a\" of pod \"p\" succeeds\n"
        ),
    );
    let child = s
        .spawn_run(&["--report-dir", "out", "--target", "kube", "--kubeconfig", &kubeconfig])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while processes_mentioning(&marker).iter().all(|(pid, _)| *pid == child.id() as i32) {
        assert!(Instant::now() < deadline, "the pod never ran its exec");
        std::thread::sleep(Duration::from_millis(50));
    }
    let serve_pid = nix::unistd::Pid::from_raw(serve.pid() as i32);
    nix::sys::signal::kill(serve_pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    signal(&child, libc::SIGINT);
    // The first signal's clean-up now waits on the stopped cluster.
    std::thread::sleep(Duration::from_secs(3));
    let second = Instant::now();
    signal(&child, libc::SIGINT);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    let out = rx.recv_timeout(Duration::from_secs(20));
    // The cluster goes on either way, so that it and the run end.
    nix::sys::signal::kill(serve_pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    let out = out.unwrap_or_else(|_| panic!("the run did not end within 20 s of the second SIGINT"));
    let took = second.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGINT during clean-up: ending at once; what the run started may be left: `podspec clean`"), "{stderr}");
    assert!(took < Duration::from_secs(10), "the run took {took:?} after the second SIGINT: {stderr}");
    drop(serve);
}

/// Whether process `pid` ignores SIGPIPE, as Rust's runtime makes it do just before `main`:
/// the sign that the program is loaded and its own code about to run (none once it is gone).
fn ignores_sigpipe(pid: u32) -> Option<bool> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?.trim();
    Some(u64::from_str_radix(mask, 16).ok()? & (1 << (libc::SIGPIPE - 1)) != 0)
}

/// Issue 17: a signal in the first milliseconds of podspec's own code (before the handlers
/// would have been installed) still ends the run cleanly: never an earlier run's reports left
/// for CI to read as this run's, never a process killed by the signal. The signal is sent from
/// the moment Rust's runtime has started (just before `main`) to a few milliseconds later.
/// (Before that, while the program is loaded, no process can catch a signal.) Seen red before:
/// SIGTERM's default action killed the process with the earlier report in place.
#[test]
fn a_signal_in_the_first_milliseconds_leaves_no_earlier_report() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    for i in 0..20u64 {
        fs::create_dir_all(s.path().join("out")).unwrap();
        fs::write(s.path().join("out/report.json"), r#"{"stale": true}"#).unwrap();
        let mut child = s.spawn_run(&["--report-dir", "out"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while ignores_sigpipe(child.id()) == Some(false) {
            assert!(Instant::now() < deadline, "podspec's runtime never started");
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_micros(200 * i));
        signal(&child, libc::SIGTERM);
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), None, "attempt {i}: a signal killed the process ({status:?})");
        let report = fs::read_to_string(s.path().join("out/report.json")).unwrap_or_default();
        assert!(!report.contains("stale"), "attempt {i}: the earlier run's report is still there ({status:?})");
        s.assert_clean();
    }
}
