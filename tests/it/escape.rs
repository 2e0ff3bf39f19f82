//! A hostile pod against the reference node's paths: links a container plants in a volume
//! never take the kubelet or the shim outside the volume or the container's root filesystem
//! (docs/src/security/paths.md). Root only: the reference runtime needs it.

use std::collections::BTreeMap;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use podspec::paths::Paths;
use podspec::targets::ReferenceTarget;
use podspec::targets::{PodRef, Target};
use sha2::{Digest, Sha256};

/// One reference node at a time (two started in the same millisecond would share a run id).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The node's paths, with an image store of the test's own (`data`): an attack that worked
/// would write into it, never into the machine's shared store.
fn paths(data: &Path) -> Paths {
    std::env::set_var("PODSPEC_SHIM", env!("CARGO_BIN_EXE_podspec-shim"));
    std::env::set_var("PODSPEC_AGENT", env!("CARGO_BIN_EXE_podspec-agent"));
    Paths { data_dir: data.to_path_buf(), ..Paths::from_env().unwrap() }
}

fn require_root() {
    crate::support::require_root("the reference runtime needs root");
}

/// A directory of the test's own on the machine, outside podspec's state and data: nothing may
/// ever appear in it.
fn outside_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("podspec-escape-").tempdir_in("/tmp").unwrap()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

/// The content of every image in the store: each path with its type, mode, owner, link target
/// and the SHA-256 of its bytes. A pod that wrote into an image's lower layer changes it.
fn image_store_tree(data_dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(list) = std::fs::read_dir(dir) else { return };
        for e in list {
            let path = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(&path, out);
                "dir".to_string()
            } else if meta.is_file() {
                format!("file {:x}", Sha256::digest(std::fs::read(&path).unwrap()))
            } else {
                "other".to_string()
            };
            out.insert(path, format!("{what} mode {:o} owner {}:{}", meta.mode(), meta.uid(), meta.gid()));
        }
    }
    let mut out = BTreeMap::new();
    for image in std::fs::read_dir(data_dir.join("images")).into_iter().flatten() {
        walk(&image.unwrap().path().join("rootfs"), &mut out);
    }
    out
}

fn pod(yaml: &str) -> Pod {
    serde_yaml::from_str(yaml).unwrap()
}

fn status_of(pod: &Pod, name: &str) -> Option<ContainerStatus> {
    let st = pod.status.as_ref()?;
    st.init_container_statuses.iter().flatten().chain(st.container_statuses.iter().flatten()).find(|c| c.name == name).cloned()
}

fn waiting(pod: &Pod, name: &str) -> Option<(String, String)> {
    let w = status_of(pod, name)?.state?.waiting?;
    Some((w.reason.unwrap_or_default(), w.message.unwrap_or_default()))
}

/// Waits until `done` holds of the pod, failing at once when `escaped` finds something.
async fn wait_for(t: &ReferenceTarget, p: &PodRef, what: &str, done: impl Fn(&Pod) -> bool, escaped: impl Fn() -> Vec<PathBuf>) -> Pod {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pod = t.get_pod(p).await.unwrap();
        let found = escaped();
        assert!(found.is_empty(), "the pod reached the machine: {found:?} ({:?})", pod.status);
        if done(&pod) {
            return pod;
        }
        assert!(Instant::now() < deadline, "{what} never happened: {:?}", pod.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// CVE-2017-1002101's class: an init container plants `escape -> /` in an emptyDir and the app
/// container mounts the emptyDir with `subPath: escape`. Followed on the machine, that mount is
/// the machine's root filesystem, read-write: the container reads /etc/shadow, writes a marker
/// in a directory of the machine's and poisons the shared image store. The kubelet refuses the
/// subPath (CreateContainerConfigError, with the kubelet's message) and the container never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn a_subpath_that_is_a_link_out_of_its_volume_is_refused() {
    require_root();
    let _serial = SERIAL.lock().await;
    let outside = outside_dir();
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let paths = paths(data.path());
    let data_dir = paths.data_dir.clone();
    let target = ReferenceTarget::start(paths).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "subpath".into() };
    let marker = outside.path().join("marker");
    let attack = format!(
        "cat /host/etc/shadow > /dev/null && echo escaped > /host{marker}; for d in /host{data}/images/*/rootfs; do echo poisoned > $d/poison; done; sleep 3600",
        marker = marker.display(),
        data = data_dir.display(),
    );
    let spec = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: subpath, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  volumes: [{{name: vol, emptyDir: {{}}}}]
  initContainers:
  - {{name: plant, image: busybox:1.36, command: [sh, -c, 'ln -s / /vol/escape'], volumeMounts: [{{name: vol, mountPath: /vol}}]}}
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, {attack:?}]
    volumeMounts: [{{name: vol, mountPath: /host, subPath: escape}}]
"#
    );
    target.create_pod(&pod(&spec)).await.unwrap();
    let planted = |pod: &Pod| {
        status_of(pod, "plant").and_then(|s| s.state?.terminated).is_some_and(|t| t.exit_code == 0) && status_of(pod, "app").is_some()
    };
    wait_for(&target, &p, "the init container's link", planted, || entries(outside.path())).await;
    let store_before = image_store_tree(&data_dir);
    assert!(!store_before.is_empty(), "the image store holds busybox");
    let refused = |pod: &Pod| waiting(pod, "app").is_some_and(|(reason, _)| reason == "CreateContainerConfigError");
    let pod = wait_for(&target, &p, "the subPath's refusal", refused, || entries(outside.path())).await;
    assert_eq!(
        waiting(&pod, "app").unwrap(),
        ("CreateContainerConfigError".to_string(), r#"failed to prepare subPath for volumeMount "vol" of container "app""#.to_string())
    );
    assert!(status_of(&pod, "app").unwrap().state.unwrap().running.is_none());
    // Retried as the kubelet retries: still refused, and still nothing on the machine.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pod = target.get_pod(&p).await.unwrap();
    assert_eq!(waiting(&pod, "app").map(|w| w.0).as_deref(), Some("CreateContainerConfigError"));
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
    assert!(image_store_tree(&data_dir) == store_before, "the image store changed under the pod");
    target.delete_pod(&p).await.unwrap();
    target.shutdown().await.unwrap();
}

/// Links planted where a later container's mount targets and termination message file go,
/// each to a directory of the machine's (the test's own). Followed on the machine, the shim
/// makes directories and files there. Resolved inside the container's root filesystem, as the
/// container itself sees the links, they lead to the same path inside the container, where
/// the pod has a volume of its own (`decoy`): everything is made in that volume, nothing on
/// the machine, and the container runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn a_link_planted_at_a_mount_target_makes_nothing_on_the_machine() {
    require_root();
    let _serial = SERIAL.lock().await;
    let outside = outside_dir();
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let paths = paths(data.path());
    let data_dir = paths.data_dir.clone();
    let target = ReferenceTarget::start(paths).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "targets".into() };
    let o = outside.path().display();
    let spec = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: targets, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{{name: shared, emptyDir: {{}}}}, {{name: other, emptyDir: {{}}}}, {{name: decoy, emptyDir: {{}}}}]
  initContainers:
  - name: plant
    image: busybox:1.36
    command: [sh, -c, 'ln -s {o} /shared/mnt && ln -s {o} /shared/log && ln -s {o}/file /shared/file']
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, 'echo bye > /shared/log/message; sleep 3600']
    terminationMessagePath: /shared/log/message
    volumeMounts:
    - {{name: decoy, mountPath: {o}}}
    - {{name: shared, mountPath: /shared}}
    - {{name: other, mountPath: /shared/mnt/sub}}
    - {{name: other, mountPath: /shared/file, subPath: f}}
"#
    );
    target.create_pod(&pod(&spec)).await.unwrap();
    let planted = |pod: &Pod| status_of(pod, "plant").and_then(|s| s.state?.terminated).is_some_and(|t| t.exit_code == 0);
    wait_for(&target, &p, "the init container's links", planted, || entries(outside.path())).await;
    let store_before = image_store_tree(&data_dir);
    let running = |pod: &Pod| status_of(pod, "app").and_then(|s| s.state?.running).is_some();
    wait_for(&target, &p, "the app container's start", running, || entries(outside.path())).await;
    // Inside, the links lead where they lead in the container: into its decoy volume.
    let ls = format!("ls -d {o}/sub {o}/message {o}/file");
    let out = target.exec(&p, "app", &["sh".into(), "-c".into(), ls], Duration::from_secs(10)).await.unwrap();
    assert_eq!(out.exit_code, 0, "the mount targets were made inside the container: {out:?}");
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
    assert!(image_store_tree(&data_dir) == store_before, "the image store changed under the pod");
    target.delete_pod(&p).await.unwrap();
    target.shutdown().await.unwrap();
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
}

/// Swaps `d` in every pod's volume `vol` between a directory and a link to `outside`, with
/// `renameat2(RENAME_EXCHANGE)`, as fast as it can, until told to stop. Returns the number of
/// swaps.
fn swap_loop(pods_dir: PathBuf, outside: PathBuf, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> u64 {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    let mut swaps = 0;
    let mut ready: Vec<PathBuf> = Vec::new();
    let mut last_scan = Instant::now() - Duration::from_secs(1);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if last_scan.elapsed() > Duration::from_millis(100) {
            last_scan = Instant::now();
            for e in std::fs::read_dir(&pods_dir).into_iter().flatten().flatten() {
                let vol = e.path().join("volumes/kubernetes.io~empty-dir/vol");
                if vol.is_dir() && !ready.contains(&vol) {
                    let _ = std::fs::create_dir(vol.join("d"));
                    let _ = symlink(&outside, vol.join("swap"));
                    ready.push(vol);
                }
            }
            ready.retain(|v| v.is_dir());
        }
        for vol in &ready {
            if renameat2(AT_FDCWD, &vol.join("d"), AT_FDCWD, &vol.join("swap"), RenameFlags::RENAME_EXCHANGE).is_ok() {
                swaps += 1;
            }
        }
        if ready.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    swaps
}

/// The race: while one thread swaps a directory in a pod's volume for a link out of it, over
/// and over, pods start whose containers mount that directory as a subPath, mount a volume
/// below it and keep their termination message in it. Whatever the kubelet or the shim find
/// there at any moment, nothing ever appears in the directory the link points to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn swapping_a_directory_for_a_link_while_pods_start_reaches_nothing() {
    require_root();
    let _serial = SERIAL.lock().await;
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let target = ReferenceTarget::start(paths(data.path())).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    race(target, true).await;
}

/// The race's container with a mount target below the swapped directory.
const BELOW: &str = "  - name: below
    image: busybox:1.36
    command: [sh, -c, 'touch /m/written; echo bye > /dev/termination-log']
    terminationMessagePath: /vol/d/log
    volumeMounts: [{name: vol, mountPath: /vol}, {name: other, mountPath: /vol/d/m}]
";

/// The race on a node, which it shuts down at the end. With `mount_targets`, a second
/// container also mounts a volume below the swapped directory and keeps its termination
/// message in it (the runtime's own resolution of mount targets).
async fn race(target: ReferenceTarget, mount_targets: bool) {
    let outside = outside_dir();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (pods_dir, outside, stop) = (target.run_dir().join("kubelet/pods"), outside.path().to_path_buf(), stop.clone());
        std::thread::spawn(move || swap_loop(pods_dir, outside, stop))
    };
    let containers: &[&str] = if mount_targets { &["sub", "below"] } else { &["sub"] };
    let started = Instant::now();
    let mut pods = 0;
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    while pods < 12 && started.elapsed() < Duration::from_secs(120) {
        let name = format!("race-{pods}");
        let p = PodRef { namespace: "attack".into(), name: name.clone() };
        let spec = format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  volumes: [{{name: vol, emptyDir: {{}}}}, {{name: other, emptyDir: {{}}}}]
  initContainers:
  - {{name: wait, image: busybox:1.36, command: [sh, -c, 'until [ -e /vol/swap ]; do sleep 0.05; done'], volumeMounts: [{{name: vol, mountPath: /vol}}]}}
  containers:
  - {{name: sub, image: busybox:1.36, command: [sh, -c, 'touch /sub/written'], volumeMounts: [{{name: vol, mountPath: /sub, subPath: d/x}}]}}
{below}"#,
            below = if mount_targets { BELOW } else { "" },
        );
        target.create_pod(&pod(&spec)).await.unwrap();
        let settled = |pod: &Pod| {
            containers.iter().all(|c| {
                status_of(pod, c).and_then(|s| s.state).is_some_and(|s| {
                    s.terminated.is_some() || s.waiting.as_ref().is_some_and(|w| w.reason.as_deref() != Some("PodInitializing"))
                })
            })
        };
        let pod = wait_for(&target, &p, "the containers' attempts", settled, || entries(outside.path())).await;
        for c in containers {
            let state = status_of(&pod, c).and_then(|s| s.state).unwrap();
            let outcome = match (state.terminated, state.waiting) {
                (Some(t), _) => t.reason.unwrap_or_default(),
                (None, Some(w)) => w.reason.unwrap_or_default(),
                _ => "other".into(),
            };
            *outcomes.entry(outcome).or_insert(0) += 1;
        }
        target.delete_pod(&p).await.unwrap();
        pods += 1;
        assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!("{pods} pods, {swaps} swaps, the containers' outcomes: {outcomes:?}");
    assert!(swaps > 1000, "the swapper hardly ran: {swaps} swaps");
    assert!(pods >= 4, "too few pods started in the time: {pods}");
    // The pods are gone, and so is everything mounted for them under their directories.
    let pods_dir = target.run_dir().join("kubelet/pods");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !podspec::runtime::linux::state::mounts_under(&pods_dir).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = podspec::runtime::linux::state::mounts_under(&pods_dir);
    assert!(left.is_empty(), "left mounted after the pods: {left:?}");
    target.shutdown().await.unwrap();
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
}

/// A hostPID pod sees the node's PID 1, podspec's node holder, whose root is the machine's:
/// a working directory through `/proc/1/root` would have the shim (root, every capability,
/// before the container is confined) make directories on the machine. The working directory
/// is resolved in the container's root without magic links: the container does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn a_working_directory_through_proc_root_makes_nothing_on_the_machine() {
    require_root();
    let _serial = SERIAL.lock().await;
    let outside = outside_dir();
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let target = ReferenceTarget::start(paths(data.path())).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "workdir".into() };
    let o = outside.path().display();
    let spec = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: workdir, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  hostPID: true
  containers:
  - {{name: app, image: busybox:1.36, command: [sh, -c, 'touch made; sleep 3600'], workingDir: /proc/1/root{o}/wd}}
"#
    );
    target.create_pod(&pod(&spec)).await.unwrap();
    let ended = |pod: &Pod| status_of(pod, "app").and_then(|s| s.state?.terminated).is_some();
    let pod = wait_for(&target, &p, "the container's failed start", ended, || entries(outside.path())).await;
    let t = status_of(&pod, "app").unwrap().state.unwrap().terminated.unwrap();
    assert_eq!(t.reason.as_deref(), Some("StartError"), "{t:?}");
    assert!(t.message.as_deref().unwrap_or("").contains("working directory"), "{t:?}");
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
    target.delete_pod(&p).await.unwrap();
    target.shutdown().await.unwrap();
}

/// An exec starts in the container's working directory. When a link to the machine's root
/// (`/proc/1/root` of the node holder, which a hostPID pod sees) has replaced that directory
/// since the container started, the exec is refused rather than run in the machine's files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn an_exec_into_a_working_directory_swapped_for_a_link_stays_in_the_container() {
    require_root();
    let _serial = SERIAL.lock().await;
    let outside = outside_dir();
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let target = ReferenceTarget::start(paths(data.path())).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "exec-cwd".into() };
    let spec = r#"apiVersion: v1
kind: Pod
metadata: {name: exec-cwd, namespace: attack}
spec:
  terminationGracePeriodSeconds: 0
  hostPID: true
  volumes: [{name: vol, emptyDir: {}}]
  containers:
  - {name: app, image: busybox:1.36, command: [sleep, '3600'], workingDir: /vol/wd, volumeMounts: [{name: vol, mountPath: /vol}]}
"#;
    target.create_pod(&pod(spec)).await.unwrap();
    let running = |pod: &Pod| status_of(pod, "app").and_then(|s| s.state?.running).is_some();
    wait_for(&target, &p, "the container's start", running, || entries(outside.path())).await;
    let swap = format!("rmdir /vol/wd && ln -s /proc/1/root{} /vol/wd", outside.path().display());
    let out = target.exec(&p, "app", &["sh".into(), "-c".into(), swap], Duration::from_secs(10)).await;
    // The exec itself starts in /vol/wd: it may or may not manage to remove it; do it from here.
    drop(out);
    let uid = target.get_pod(&p).await.unwrap().metadata.uid.unwrap();
    let wd = target.run_dir().join(format!("kubelet/pods/{uid}/volumes/kubernetes.io~empty-dir/vol/wd"));
    if !std::fs::symlink_metadata(&wd).unwrap().file_type().is_symlink() {
        std::fs::remove_dir(&wd).unwrap();
        symlink(format!("/proc/1/root{}", outside.path().display()), &wd).unwrap();
    }
    let out = target.exec(&p, "app", &["touch".into(), "made".into()], Duration::from_secs(10)).await;
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new(), "the exec ran in the machine's files: {out:?}");
    let out = out.unwrap();
    assert_ne!(out.exit_code, 0, "{out:?}");
    assert!(out.stderr.contains("chdir /vol/wd"), "{out:?}");
    target.delete_pod(&p).await.unwrap();
    target.shutdown().await.unwrap();
}

/// What the resolution must keep working: a subPath naming a file (mounted read-only over a
/// file of the image's), and a subPath of a memory-backed emptyDir, whose content only the
/// pod's mount namespace sees (the shim makes the subPath there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn a_subpath_naming_a_file_or_in_a_memory_volume_is_mounted() {
    require_root();
    let _serial = SERIAL.lock().await;
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let target = ReferenceTarget::start(paths(data.path())).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "subfile".into() };
    let spec = r#"apiVersion: v1
kind: Pod
metadata: {name: subfile, namespace: attack}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: vol, emptyDir: {}}, {name: mem, emptyDir: {medium: Memory}}]
  initContainers:
  - {name: plant, image: busybox:1.36, command: [sh, -c, 'echo hello > /vol/f'], volumeMounts: [{name: vol, mountPath: /vol}]}
  containers:
  - name: app
    image: busybox:1.36
    command: [sleep, '3600']
    volumeMounts:
    - {name: vol, mountPath: /etc/passwd, subPath: f, readOnly: true}
    - {name: mem, mountPath: /m, subPath: x/y}
"#;
    target.create_pod(&pod(spec)).await.unwrap();
    let running = |pod: &Pod| status_of(pod, "app").and_then(|s| s.state?.running).is_some();
    wait_for(&target, &p, "the container's start", running, Vec::new).await;
    let run = |cmd: &str| {
        let args = vec!["sh".to_string(), "-c".to_string(), cmd.to_string()];
        let target = &target;
        let p = &p;
        async move { target.exec(p, "app", &args, Duration::from_secs(10)).await.unwrap() }
    };
    assert_eq!(run("cat /etc/passwd").await.stdout, "hello\n");
    let out = run("echo no > /etc/passwd").await;
    assert!(out.exit_code != 0 && out.stderr.contains("Read-only file system"), "{out:?}");
    let out = run("touch /m/z && grep ' /m ' /proc/mounts | cut -d' ' -f3").await;
    assert_eq!(out.stdout.trim(), "tmpfs", "{out:?}");
    target.delete_pod(&p).await.unwrap();
    target.shutdown().await.unwrap();
}

/// A hostPath in the node's static pod directory, which a pod given that directory can fill
/// with links: while one thread swaps a directory there for a link out of it, pods start with a
/// hostPath `DirectoryOrCreate` below it (made beneath the node directory, never through the
/// link) and a hostPath of the directory itself (opened beneath the node directory where it is
/// mounted, never by its path on the machine). Nothing ever appears in the link's target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn a_hostpath_below_a_swapped_link_is_made_and_mounted_in_its_node_directory() {
    require_root();
    let _serial = SERIAL.lock().await;
    let outside = outside_dir();
    let node = tempfile::Builder::new().prefix("podspec-escape-node-").tempdir().unwrap();
    let data = tempfile::Builder::new().prefix("podspec-escape-data-").tempdir().unwrap();
    let options = podspec::targets::ReferenceOptions { static_pod_dir: Some(node.path().to_path_buf()), ..Default::default() };
    let target = ReferenceTarget::start_with(paths(data.path()), options).await.expect("reference node starts");
    target.open_namespace("attack").await.unwrap();
    std::fs::create_dir(node.path().join("d")).unwrap();
    symlink(outside.path(), node.path().join("swap")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (d, swap, stop) = (node.path().join("d"), node.path().join("swap"), stop.clone());
        std::thread::spawn(move || {
            use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if renameat2(AT_FDCWD, &d, AT_FDCWD, &swap, RenameFlags::RENAME_EXCHANGE).is_ok() {
                    swaps += 1;
                }
            }
            swaps
        })
    };
    let n = node.path().display();
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    let started = Instant::now();
    let (mut pods, mut ran) = (0, 0);
    // Most pods are refused up front (the node's check saw the link); those that pass race on.
    while ran < 40 && pods < 1500 && started.elapsed() < Duration::from_secs(120) {
        let name = format!("host-{pods}");
        let p = PodRef { namespace: "attack".into(), name: name.clone() };
        let spec = format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  volumes:
  - {{name: made, hostPath: {{path: {n}/d/new-{pods}, type: DirectoryOrCreate}}}}
  - {{name: dir, hostPath: {{path: {n}/d, type: Directory}}}}
  containers:
  - {{name: app, image: busybox:1.36, command: [sh, -c, 'touch /h/written /d/written-{pods}'], volumeMounts: [{{name: made, mountPath: /h}}, {{name: dir, mountPath: /d}}]}}
"#
        );
        if target.create_pod(&pod(&spec)).await.is_err() {
            *outcomes.entry("refused at create".into()).or_insert(0) += 1;
            pods += 1;
            continue;
        }
        let settled = |pod: &Pod| {
            matches!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed" | "Succeeded"))
                || pod.status.as_ref().is_some_and(|s| s.message.as_deref().is_some_and(|m| m.starts_with("prepare pod directory")))
                || status_of(pod, "app").and_then(|s| s.state).is_some_and(|s| {
                    s.terminated.is_some()
                        || s.waiting.as_ref().is_some_and(|w| !matches!(w.reason.as_deref(), Some("ContainerCreating") | None))
                })
        };
        let pod = wait_for(&target, &p, "the container's attempt", settled, || entries(outside.path())).await;
        let prepared = pod.status.as_ref().and_then(|s| s.message.clone()).is_none_or(|m| !m.starts_with("prepare pod directory"));
        let outcome = match status_of(&pod, "app").and_then(|s| s.state) {
            _ if !prepared => "pod directory refused".to_string(),
            Some(s) if s.terminated.is_some() => s.terminated.unwrap().reason.unwrap_or_default(),
            Some(s) if s.waiting.is_some() => s.waiting.unwrap().reason.unwrap_or_default(),
            _ => pod.status.as_ref().and_then(|s| s.reason.clone()).unwrap_or_else(|| "other".into()),
        };
        ran += u32::from(outcome != "UnsupportedPod");
        *outcomes.entry(outcome).or_insert(0) += 1;
        target.delete_pod(&p).await.unwrap();
        pods += 1;
        assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!("{pods} pods, {ran} past admission, {swaps} swaps, outcomes: {outcomes:?}");
    assert!(swaps > 1000, "the swapper hardly ran: {swaps} swaps");
    assert!(ran >= 3, "too few pods got past admission: {ran}");
    target.shutdown().await.unwrap();
    assert_eq!(entries(outside.path()), Vec::<PathBuf>::new());
}

/// The CRI runtime's socket (ci/containerd/start.sh), or None.
fn cri_endpoint() -> Option<podspec::runtime::cri_grpc::Endpoint> {
    let endpoint = std::env::var("PODSPEC_CRI_ENDPOINT").unwrap_or_else(|_| "unix:///run/podspec-containerd/containerd.sock".into());
    if !Path::new(endpoint.trim_start_matches("unix://")).exists() {
        return None;
    }
    Some(endpoint.parse().unwrap())
}

async fn cri_node(state: &Path) -> ReferenceTarget {
    let paths = Paths { state_dir: state.to_path_buf(), ..Paths::from_env().unwrap() };
    let options = podspec::targets::cri::CriOptions {
        endpoint: cri_endpoint().unwrap(),
        node_ip: podspec::targets::cri::DEFAULT_NODE_IP,
        runtime_handler: None,
        reference: Default::default(),
    };
    podspec::targets::cri::start(paths, options).await.expect("cri node starts")
}

/// On a CRI runtime, which is given host paths and would follow a link in one: a subPath that is
/// a link out of its volume is refused by the kubelet as on the reference, and in the race the
/// runtime is given the kubelet's bind of what it checked (volume-subpaths), never the volume's
/// path joined with the subPath. Nothing is left mounted under the run's state after the pods
/// and the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root"]
async fn on_a_cri_runtime_a_subpath_link_is_refused_and_the_race_reaches_nothing() {
    require_root();
    assert!(cri_endpoint().is_some(), "needs containerd for podspec (`bash ci/containerd/start.sh`)");
    let _serial = SERIAL.lock().await;
    let state = tempfile::Builder::new().prefix("podspec-escape-state-").tempdir().unwrap();
    let outside = outside_dir();
    let target = cri_node(state.path()).await;
    target.open_namespace("attack").await.unwrap();
    let p = PodRef { namespace: "attack".into(), name: "subpath".into() };
    let marker = outside.path().join("marker");
    let spec = format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: subpath, namespace: attack}}
spec:
  terminationGracePeriodSeconds: 0
  restartPolicy: Never
  volumes: [{{name: vol, emptyDir: {{}}}}]
  initContainers:
  - {{name: plant, image: busybox:1.36, command: [sh, -c, 'ln -s {o} /vol/escape'], volumeMounts: [{{name: vol, mountPath: /vol}}]}}
  containers:
  - {{name: app, image: busybox:1.36, command: [sh, -c, 'echo escaped > /host/marker'], volumeMounts: [{{name: vol, mountPath: /host, subPath: escape}}]}}
"#,
        o = outside.path().display()
    );
    target.create_pod(&pod(&spec)).await.unwrap();
    let refused = |pod: &Pod| waiting(pod, "app").is_some_and(|(reason, _)| reason == "CreateContainerConfigError");
    let pod = wait_for(&target, &p, "the subPath's refusal", refused, || entries(outside.path())).await;
    assert_eq!(
        waiting(&pod, "app").unwrap(),
        ("CreateContainerConfigError".to_string(), r#"failed to prepare subPath for volumeMount "vol" of container "app""#.to_string())
    );
    target.delete_pod(&p).await.unwrap();
    assert!(!marker.exists());
    let run_dir = target.run_dir();
    race(target, false).await;
    let left = podspec::runtime::linux::state::mounts_under(state.path());
    assert!(left.is_empty(), "left mounted after the run: {left:?} (run {})", run_dir.display());
}
