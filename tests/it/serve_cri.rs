//! `podspec serve --target cri`: the same API and kubelet over a CRI runtime, driven with
//! kubectl. Runs only as root, with kubectl, and where the runtime's socket exists
//! (`PODSPEC_CRI_ENDPOINT`, by default ci/containerd's; CI starts containerd with
//! `bash ci/containerd/start.sh`); otherwise it prints why it did not run and passes nothing.
//!
//! The pod runs in the runtime (its sandbox carries the serve's owner label, its IP is from the
//! runtime's CNI), `kubectl exec` reaches it (exit status, stdin, a tty and its size over the
//! runtime's streaming server), `kubectl logs` reads its CRI log, and `kubectl delete` leaves
//! nothing in the runtime.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::serve::Serve;

const DEFAULT_ENDPOINT: &str = "unix:///run/podspec-containerd/containerd.sock";
const KUBECTL: &str = "/usr/bin/kubectl";

fn text(o: &Output) -> String {
    format!("exit {:?}: {}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(KUBECTL);
    c.args(args).env("KUBECONFIG", kubeconfig).env("HOME", home).env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
    match stdin {
        None => c.output().expect("run kubectl"),
        Some(input) => {
            use std::io::Write as _;
            c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            let mut child = c.spawn().expect("run kubectl");
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

/// The runtime's sandboxes and containers whose owner label names process `pid` (`ctr`).
fn owned_by(socket: &str, pid: u32) -> Vec<String> {
    let filter = format!("labels.\"io.podspec.owner\"~=\"^{pid} \"");
    let o = Command::new("ctr").args(["--address", socket, "-n", "k8s.io", "containers", "ls", "-q", &filter]).output().expect("ctr");
    String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn cannot_run(endpoint: &str) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("podspec's cri node runs as root, and this is not root".into());
    }
    if !Path::new(KUBECTL).exists() {
        return Some(format!("no kubectl at {KUBECTL}"));
    }
    let socket = endpoint.trim_start_matches("unix://");
    if !Path::new(socket).exists() {
        return Some(format!("no CRI runtime at {endpoint} (start containerd with `bash ci/containerd/start.sh`)"));
    }
    None
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: on-cri
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c, 'echo hello from the runtime; exec sleep 3600']
";

#[test]
#[ignore = "needs root, the test kubectl and containerd for podspec (ci/containerd/start.sh)"]
fn kubectl_drives_a_pod_on_the_cri_runtime_through_serve() {
    let endpoint = std::env::var("PODSPEC_CRI_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_string());
    if let Some(why) = cannot_run(&endpoint) {
        panic!("serve --target cri cannot run here: {why}");
    }
    let socket = endpoint.trim_start_matches("unix://").to_string();
    let serve = Serve::start_with(&["--target", "cri", "--cri-endpoint", &endpoint], "cri");
    let pid = serve.pid();
    let home = tempfile::tempdir().unwrap();
    let k = |args: &[&str]| kubectl(&serve.kubeconfig, home.path(), args, None);
    let file = home.path().join("on-cri.yaml");
    std::fs::write(&file, POD).unwrap();

    let o = k(&["create", "-f", file.to_str().unwrap()]);
    assert!(o.status.success(), "create: {}", text(&o));
    let o = k(&["wait", "--for=condition=Ready", "pod/on-cri", "--timeout=60s"]);
    assert!(o.status.success(), "wait: {}", text(&o));
    // The sandbox and its container are the runtime's, labelled with this serve as owner.
    let held = owned_by(&socket, pid);
    assert_eq!(held.len(), 2, "the runtime's containers of serve {pid}: {held:?}");
    // The pod's IP is the one the runtime's CNI gave it (ci/containerd: 10.89.0.0/16).
    let o = k(&["get", "pod", "on-cri", "-o", "jsonpath={.status.podIP}"]);
    let ip = String::from_utf8_lossy(&o.stdout).to_string();
    if endpoint == DEFAULT_ENDPOINT {
        assert!(ip.starts_with("10.89."), "podIP {ip:?}: {}", text(&o));
    }
    let o = k(&["exec", "on-cri", "--", "hostname"]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "on-cri", "exec hostname: {}", text(&o));
    // The pod's cgroup is the kubelet's, `<cgroup root>/pod<uid>`, the parent of the
    // container's, with the node's podPidsLimit as its pids.max (test/e2e_node/pids_test.go:
    // "should set pids.max for Pod").
    let o = k(&["exec", "on-cri", "--", "sh", "-c", "awk -F: '$2 == \"pids\" {print $3}' /proc/self/cgroup"]);
    let own = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let o = k(&["get", "pod", "on-cri", "-o", "jsonpath={.metadata.uid}"]);
    let uid = String::from_utf8_lossy(&o.stdout).to_string();
    let pod_cgroup = Path::new(&own).parent().map(|p| p.to_path_buf()).unwrap_or_default();
    if Path::new("/sys/fs/cgroup/pids").is_dir() {
        assert!(pod_cgroup.ends_with(format!("pod{uid}")), "the container's pids cgroup {own:?} is not in pod{uid}");
        let max = std::fs::read_to_string(Path::new("/sys/fs/cgroup/pids").join(pod_cgroup.strip_prefix("/").unwrap()).join("pids.max"));
        assert_eq!(
            max.map(|m| m.trim().to_string()).ok(),
            Some(podspec::targets::reference::POD_PIDS_LIMIT.to_string()),
            "pids.max of {pod_cgroup:?}"
        );
    }
    // The streaming exec over the runtime's own streaming server (CRI Exec): the exit status,
    // stdin and its end, and a tty with the size kubectl sends (channel 4; a resize stream over
    // SPDY).
    let o = k(&["exec", "on-cri", "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert!(
        o.status.code() == Some(3) && o.stdout == b"out\n" && String::from_utf8_lossy(&o.stderr).contains("err\n"),
        "exec exit status and streams: {}",
        text(&o)
    );
    // `cat` ends only once its stdin is closed: kubectl closes it (v5.channel.k8s.io), and the
    // kubelet closes it at the runtime's streaming server over SPDY (containerd 1.6 offers
    // WebSocket up to v4.channel.k8s.io, which cannot say so).
    let o = kubectl(
        &serve.kubeconfig,
        home.path(),
        &["exec", "-i", "on-cri", "--", "sh", "-c", "cat | sed s/^/got:/; echo end"],
        Some("abcd1234\nefgh\n"),
    );
    assert!(o.status.success() && o.stdout == b"got:abcd1234\ngot:efgh\nend\n", "exec -i: {}", text(&o));
    let inner = format!(
        "stty cols 91 rows 33; KUBECONFIG={} HOME={} {KUBECTL} exec -it on-cri -- sh -c 'tty; sleep 1; stty size'",
        serve.kubeconfig.display(),
        home.path().display()
    );
    // script(1) makes kubectl a terminal; its input stays open (a pipe nobody writes). The size
    // reaches the runtime's streaming server on channel 4 after the command has started (the
    // remote command protocol applies it asynchronously, on any CRI runtime): without the
    // sleep, `stty size` sometimes runs before it, on a 0x0 terminal (seen 2 runs in 3 here).
    let o = Command::new("script").args(["-qec", &inner, "/dev/null"]).stdin(std::process::Stdio::piped()).output().expect("script");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("/dev/pts/") && out.contains("33 91"), "exec -it: {}", text(&o));
    // The log is the runtime's CRI log file, read by the kubelet.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = k(&["logs", "on-cri"]);
        if String::from_utf8_lossy(&o.stdout) == "hello from the runtime\n" {
            break;
        }
        assert!(Instant::now() < deadline, "logs: {}", text(&o));
        std::thread::sleep(Duration::from_millis(200));
    }
    let o = k(&["delete", "pod", "on-cri", "--wait"]);
    assert!(o.status.success(), "delete: {}", text(&o));
    let left = owned_by(&socket, pid);
    assert!(left.is_empty(), "left in the runtime after the delete: {left:?}");
    let status = serve.stop();
    assert!(status.success(), "serve ended with {status}");
}
