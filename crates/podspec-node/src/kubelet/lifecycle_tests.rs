//! The kubelet's lifecycle rules, tested against the in-memory runtime (`runtime::fake`) on a
//! paused tokio clock: restart policy, crash-loop back-off, init and sidecar order,
//! `activeDeadlineSeconds`, the termination grace period, and a runtime's errors in a
//! container's waiting state. The node (API, kubelet) is the real one; only the runtime below
//! it is in memory, so these run in milliseconds and without root.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use tokio::time::Instant;

use crate::{Node, NodeHost, NodeRuntime, ReferenceOptions};
use podspec_api::store::DeleteOptions;
use podspec_api::Requester;
use podspec_cri::cri::{ContainerId, RuntimeError};
use podspec_cri::fake::{too_many_open_files, FakeRuntime};

/// The machine side of a node whose runtime is in memory.
struct FakeHost {
    dir: std::path::PathBuf,
    runtime: FakeRuntime,
}

#[async_trait::async_trait]
impl NodeHost for FakeHost {
    fn run_dir(&self) -> std::path::PathBuf {
        self.dir.clone()
    }
    fn node_ip(&self) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(192, 0, 2, 1)
    }
    fn check_image(&self, _reference: &str) -> Result<(), crate::ImageUnavailable> {
        Ok(())
    }
    async fn kill_main_process(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        let _ = (id, &self.runtime);
        Ok(())
    }
    async fn shutdown(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
}

struct TestNode {
    node: Node,
    fake: FakeRuntime,
    _dir: tempfile::TempDir,
}

impl TestNode {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeRuntime::new(dir.path().join("logs"));
        let host = Arc::new(FakeHost { dir: dir.path().to_path_buf(), runtime: fake.clone() });
        let runtime = NodeRuntime { runtime: Arc::new(fake.clone()), images: Arc::new(fake.clone()), host };
        let node = Node::start("test", runtime, ReferenceOptions::default()).unwrap();
        // The namespace's default ServiceAccount and its kube-root-ca.crt, made at once rather
        // than by the controllers' tasks, so that a pod's create (`create_pod_now`, which does
        // not wait for the account) and its token volume find them.
        let mut default = k8s_openapi::api::core::v1::Namespace::default();
        default.metadata.name = Some("default".into());
        crate::service_account_controller::sync(
            std::slice::from_ref(&default),
            &node.api().store::<podspec_api::rbac::ServiceAccountStrategy>(),
        );
        crate::root_ca_publisher::sync(&[default], &node.api().config_maps(), &node.cluster_ca().pem());
        Self { node, fake, _dir: dir }
    }

    fn create(&self, yaml: &str) -> Pod {
        let pod: Pod = serde_yaml::from_str(yaml).unwrap();
        self.node.create_pod_now(&pod, Requester::User, false).unwrap()
    }

    fn pod(&self) -> Pod {
        self.node.pods().get("default", "p").unwrap()
    }

    fn phase(&self) -> String {
        self.pod().status.and_then(|s| s.phase).unwrap_or_default()
    }

    fn status_of(&self, container: &str) -> Option<ContainerStatus> {
        let status = self.pod().status?;
        let all = status.init_container_statuses.into_iter().flatten().chain(status.container_statuses.into_iter().flatten());
        all.into_iter().find(|c| c.name == container)
    }

    fn waiting_of(&self, container: &str) -> Option<(String, String)> {
        let w = self.status_of(container)?.state?.waiting?;
        Some((w.reason.unwrap_or_default(), w.message.unwrap_or_default()))
    }

    /// The events about the pod: `reason: message`.
    fn events(&self) -> Vec<String> {
        self.node
            .events()
            .list()
            .into_iter()
            .map(|e| format!("{}: {}", e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
            .collect()
    }

    /// Waits (on the paused clock: it moves on whenever everything waits) until `done`; fails
    /// after an hour of the clock's time.
    async fn until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(3600);
        while !done(self) {
            assert!(Instant::now() < give_up, "not within an hour: {what}; pod status {:?}", self.pod().status);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// How many times container `name` was started.
    fn starts(&self, name: &str) -> usize {
        self.fake.calls_of("start_container", name).len()
    }

    fn creates(&self, name: &str) -> usize {
        self.fake.calls_of("create_container", name).len()
    }

    /// Waits until `name` runs and makes it exit with `code`; returns when it exited.
    async fn exit(&self, name: &str, code: i32) -> Instant {
        self.until(&format!("{name} runs"), |n| n.fake.is_running(name)).await;
        assert!(self.fake.exit(name, code));
        Instant::now()
    }

    /// Lets the clock run for `d` (the kubelet acts on whatever falls due meanwhile).
    async fn wait(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

fn pod(restart_policy: &str, extra: &str) -> String {
    format!(
        "metadata: {{name: p, namespace: default}}\nspec:\n  restartPolicy: {restart_policy}\n{extra}  containers:\n  - {{name: a, image: busybox:1.36}}\n"
    )
}

/// restartPolicy after an exit (pkg/kubelet/kuberuntime: ShouldContainerBeRestarted): Always
/// brings the container back whatever its exit code, OnFailure only after a failure, Never
/// never; the pod's phase follows.
#[tokio::test(start_paused = true)]
async fn restart_policy_decides_whether_an_exited_container_comes_back() {
    let cases = [
        ("Always", 0, true, "Running"),
        ("Always", 1, true, "Running"),
        ("OnFailure", 0, false, "Succeeded"),
        ("OnFailure", 1, true, "Running"),
        ("Never", 0, false, "Succeeded"),
        ("Never", 1, false, "Failed"),
    ];
    for (policy, code, restarted, phase) in cases {
        let n = TestNode::start();
        n.create(&pod(policy, ""));
        n.exit("a", code).await;
        // Long enough for any restart (the first comes at once, the back-off is 10 s after).
        n.wait(Duration::from_secs(60)).await;
        let case = format!("restartPolicy {policy}, exit code {code}");
        assert_eq!(n.starts("a"), if restarted { 2 } else { 1 }, "{case}: starts of a; calls {:?}", n.fake.calls());
        n.until(&format!("{case}: phase {phase}"), |n| n.phase() == phase).await;
        let status = n.status_of("a").unwrap();
        assert_eq!(status.restart_count, if restarted { 1 } else { 0 }, "{case}");
        if restarted {
            assert_eq!(status.last_state.and_then(|s| s.terminated).map(|t| t.exit_code), Some(code), "{case}: lastState");
        }
    }
}

/// The crash-loop back-off: the first restart is immediate, then each waits twice as long as
/// the one before, from 10 s up to 300 s (kuberuntime's backOff, initial 10s, max 300s), and
/// the container waits in CrashLoopBackOff meanwhile.
#[tokio::test(start_paused = true)]
async fn crash_loop_back_off_doubles_from_ten_seconds_to_five_minutes() {
    let n = TestNode::start();
    n.create(&pod("Always", ""));
    let mut gaps = Vec::new();
    for restarts in 0..9usize {
        let exited = n.exit("a", 1).await;
        if restarts == 2 {
            n.until("CrashLoopBackOff", |n| n.waiting_of("a").is_some_and(|(r, _)| r == "CrashLoopBackOff")).await;
            let (_, message) = n.waiting_of("a").unwrap();
            assert!(message.starts_with("back-off 20s restarting failed container=a pod=p_default("), "{message}");
        }
        n.until("the next start", |n| n.starts("a") == restarts + 2).await;
        let started = n.fake.calls_of("start_container", "a").last().unwrap().at;
        gaps.push((started - exited).as_secs());
    }
    assert_eq!(gaps, vec![0, 10, 20, 40, 80, 160, 300, 300, 300]);
    assert!(
        n.events().iter().any(|e| e.starts_with("BackOff: Back-off restarting failed container a in pod p_default(")),
        "{:?}",
        n.events()
    );
}

const TWO_INITS: &str = "  initContainers:\n  - {name: i1, image: busybox:1.36}\n  - {name: i2, image: busybox:1.36}\n";

/// Init containers run one at a time, in order, each to success before the next is created;
/// the app containers are created only after the last one.
#[tokio::test(start_paused = true)]
async fn init_containers_run_one_at_a_time_in_order() {
    let n = TestNode::start();
    n.create(&pod("Always", TWO_INITS));
    n.until("i1 runs", |n| n.fake.is_running("i1")).await;
    n.wait(Duration::from_secs(30)).await;
    assert_eq!((n.creates("i2"), n.creates("a")), (0, 0), "only i1 runs while it runs: {:?}", n.fake.calls());
    assert_eq!(n.waiting_of("a").map(|w| w.0).as_deref(), Some("PodInitializing"));
    n.exit("i1", 0).await;
    n.until("i2 runs", |n| n.fake.is_running("i2")).await;
    n.wait(Duration::from_secs(30)).await;
    assert_eq!(n.creates("a"), 0, "a waits for i2: {:?}", n.fake.calls());
    n.exit("i2", 0).await;
    n.until("a runs", |n| n.fake.is_running("a")).await;
    n.until("Running", |n| n.phase() == "Running").await;
    let order: Vec<String> = n.fake.calls().into_iter().filter(|c| c.op == "start_container").map(|c| c.name).collect();
    assert_eq!(order, ["i1", "i2", "a"]);
}

/// An init container that fails is run again under restartPolicy Always and OnFailure (with
/// the back-off), and the next init container waits for it to succeed.
#[tokio::test(start_paused = true)]
async fn a_failing_init_container_is_restarted_under_always_and_on_failure() {
    for policy in ["Always", "OnFailure"] {
        let n = TestNode::start();
        n.create(&pod(policy, TWO_INITS));
        n.exit("i1", 1).await;
        n.until("i1 runs again", |n| n.starts("i1") == 2).await;
        assert_eq!(n.creates("i2"), 0, "{policy}: i2 waits for i1 to succeed");
        assert_eq!(n.phase(), "Pending", "{policy}");
        n.exit("i1", 0).await;
        n.until("i2 runs", |n| n.fake.is_running("i2")).await;
        assert_eq!(n.status_of("i1").unwrap().restart_count, 1, "{policy}");
    }
}

/// Under restartPolicy Never a failed init container fails the pod: nothing after it runs.
#[tokio::test(start_paused = true)]
async fn a_failing_init_container_fails_the_pod_under_never() {
    let n = TestNode::start();
    n.create(&pod("Never", TWO_INITS));
    n.exit("i1", 1).await;
    n.until("Failed", |n| n.phase() == "Failed").await;
    n.wait(Duration::from_secs(600)).await;
    assert_eq!((n.starts("i1"), n.creates("i2"), n.creates("a")), (1, 0, 0), "{:?}", n.fake.calls());
    assert_eq!(n.phase(), "Failed");
}

/// A sidecar (an init container with restartPolicy Always) starts before the app containers
/// and keeps running beside them; it is stopped only after they have all ended, and is
/// restarted if it exits meanwhile.
#[tokio::test(start_paused = true)]
async fn a_sidecar_starts_before_the_app_containers_and_stops_after_them() {
    let n = TestNode::start();
    let sidecar = "  initContainers:\n  - {name: s, image: busybox:1.36, restartPolicy: Always}\n";
    n.create(&pod("Never", sidecar));
    n.until("a runs", |n| n.fake.is_running("a")).await;
    let starts: Vec<String> = n.fake.calls().into_iter().filter(|c| c.op == "start_container").map(|c| c.name).collect();
    assert_eq!(starts, ["s", "a"]);
    // It is restarted even under restartPolicy Never, and keeps the app company.
    n.exit("s", 1).await;
    n.until("s runs again", |n| n.starts("s") == 2 && n.fake.is_running("s")).await;
    n.wait(Duration::from_secs(30)).await;
    assert!(n.fake.calls_of("stop_container", "s").is_empty(), "s stopped while a runs: {:?}", n.fake.calls());
    let a_ended = n.exit("a", 0).await;
    n.until("s stopped", |n| !n.fake.calls_of("stop_container", "s").is_empty()).await;
    let stopped = n.fake.calls_of("stop_container", "s")[0].at;
    assert!(stopped >= a_ended, "s stopped before a ended");
    n.until("Succeeded", |n| n.phase() == "Succeeded").await;
}

/// activeDeadlineSeconds: counted from the pod's start, the pod then fails with
/// DeadlineExceeded and its containers are stopped (pkg/kubelet/active_deadline.go).
#[tokio::test(start_paused = true)]
async fn active_deadline_seconds_fails_the_pod_and_stops_its_containers() {
    let n = TestNode::start();
    n.create(&pod("Always", "  activeDeadlineSeconds: 30\n"));
    n.until("a runs", |n| n.fake.is_running("a")).await;
    let sandbox = n.fake.calls().into_iter().find(|c| c.op == "run_pod_sandbox").unwrap().at;
    n.wait(Duration::from_secs(29)).await;
    assert_eq!(n.phase(), "Running", "before the deadline");
    n.until("Failed", |n| n.phase() == "Failed").await;
    let status = n.pod().status.unwrap();
    assert_eq!(status.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(status.message.as_deref(), Some("Pod was active on the node longer than the specified deadline"));
    let stop = n.fake.calls_of("stop_container", "a");
    assert_eq!(stop.len(), 1, "{:?}", n.fake.calls());
    assert_eq!((stop[0].at - sandbox).as_secs(), 30);
    assert!(!n.fake.is_running("a"));
    // Nothing restarts it afterwards, whatever the restart policy.
    n.wait(Duration::from_secs(600)).await;
    assert_eq!(n.starts("a"), 1);
}

/// A pod deleted: each container is given the grace period (the delete's, else the spec's
/// terminationGracePeriodSeconds) to stop before it is killed, and the pod's sandbox goes
/// once they have stopped.
#[tokio::test(start_paused = true)]
async fn a_deleted_pod_gives_its_containers_their_grace_period() {
    for (delete_grace, expected) in [(None, 7u64), (Some(3i64), 3)] {
        let n = TestNode::start();
        n.create(&pod("Always", "  terminationGracePeriodSeconds: 7\n"));
        n.fake.ignore_sigterm("a");
        n.until("a runs", |n| n.fake.is_running("a")).await;
        let options = DeleteOptions { grace_period_seconds: delete_grace, ..Default::default() };
        n.node.pods().delete("default", "p", &options).unwrap();
        n.until("a asked to stop", |n| !n.fake.calls_of("stop_container", "a").is_empty()).await;
        let stop = n.fake.calls_of("stop_container", "a")[0].clone();
        assert_eq!(stop.timeout, Some(Duration::from_secs(expected)), "delete grace {delete_grace:?}");
        n.until("the sandbox removed", |n| n.fake.calls().iter().any(|c| c.op == "remove_pod_sandbox")).await;
        let removed = n.fake.calls().into_iter().find(|c| c.op == "remove_pod_sandbox").unwrap().at;
        assert_eq!((removed - stop.at).as_secs(), expected, "the sandbox goes once the container was killed");
    }
}

/// A runtime that cannot start a container (here out of file descriptors, as under a low
/// open-file limit) is named in the container's waiting state, `RunContainerError` with the
/// runtime's message, and in a Failed event, and the start is tried again (issue #18: it was
/// left in ContainerCreating with no message).
#[tokio::test(start_paused = true)]
async fn a_container_the_runtime_cannot_start_says_why() {
    let n = TestNode::start();
    n.create(&pod("Always", ""));
    n.fake.fail_next_start("a", too_many_open_files("start container a"));
    n.until("RunContainerError", |n| n.waiting_of("a").is_some_and(|(r, _)| r == "RunContainerError")).await;
    let (_, message) = n.waiting_of("a").unwrap();
    assert!(message.contains("Too many open files"), "{message}");
    assert!(n.events().iter().any(|e| e.starts_with("Failed: Error: ") && e.contains("Too many open files")), "{:?}", n.events());
    // Tried again: it then runs, and the instance that never started is gone.
    n.until("a runs", |n| n.fake.is_running("a")).await;
    assert_eq!(n.creates("a"), 2);
    assert_eq!(n.fake.calls_of("remove_container", "a").len(), 1, "{:?}", n.fake.calls());
    n.until("Running", |n| n.phase() == "Running").await;
}

/// A runtime that cannot create a container: `CreateContainerError` with its message.
#[tokio::test(start_paused = true)]
async fn a_container_the_runtime_cannot_create_says_why() {
    let n = TestNode::start();
    n.create(&pod("Always", ""));
    n.fake.fail_next_create("a", too_many_open_files("create container a"));
    n.until("CreateContainerError", |n| n.waiting_of("a").is_some_and(|(r, _)| r == "CreateContainerError")).await;
    let (_, message) = n.waiting_of("a").unwrap();
    assert!(message.contains("Too many open files"), "{message}");
    assert!(n.events().iter().any(|e| e.starts_with("Failed: Error: ") && e.contains("Too many open files")), "{:?}", n.events());
    n.until("a runs", |n| n.fake.is_running("a")).await;
}

/// A container's start or exit is its own pod's business: the runtime's event wakes that pod's
/// worker alone, so a pod's start asks the runtime the same number of container statuses beside
/// 40 running pods as beside none (each of the others' workers working its status out again
/// for it would ask 80 more per event).
#[tokio::test(start_paused = true)]
async fn a_pods_start_costs_the_same_runtime_calls_beside_many_running_pods() {
    fn two_containers(name: &str) -> String {
        format!(
            "metadata: {{name: {name}, namespace: default}}\nspec:\n  containers:\n  - {{name: a, image: busybox:1.36}}\n  - {{name: b, image: busybox:1.36}}\n"
        )
    }
    async fn status_calls_of_one_start_beside(others: usize) -> usize {
        let n = TestNode::start();
        for i in 0..others {
            n.create(&two_containers(&format!("o{i}")));
        }
        let running =
            |n: &TestNode| n.node.pods().list().iter().all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        n.until("the others run", running).await;
        n.wait(Duration::from_secs(5)).await;
        let status_calls = |n: &TestNode| n.fake.calls().iter().filter(|c| c.op == "container_status").count();
        let before = status_calls(&n);
        n.create(&two_containers("p"));
        n.until("p runs", |n| n.phase() == "Running").await;
        n.wait(Duration::from_secs(5)).await;
        status_calls(&n) - before
    }
    let alone = status_calls_of_one_start_beside(0).await;
    let beside = status_calls_of_one_start_beside(40).await;
    assert!(alone > 0, "the start asked the runtime nothing");
    assert!(beside <= alone + 2, "beside 40 running pods a start asked {beside} container statuses, alone {alone}");
}

/// Three sidecars, started s1, s2, s3, and two app containers, with a grace period of 30 s;
/// `sidecar_extra` is added to each sidecar (a preStop hook, say).
fn sidecars_pod(restart_policy: &str, sidecar_extra: &str) -> String {
    let sidecar = |name: &str| format!("  - {{name: {name}, image: busybox:1.36, restartPolicy: Always{sidecar_extra}}}\n");
    format!(
        "metadata: {{name: p, namespace: default}}\nspec:\n  restartPolicy: {restart_policy}\n  terminationGracePeriodSeconds: 30\n  \
         initContainers:\n{}{}{}  containers:\n  - {{name: a, image: busybox:1.36}}\n  - {{name: b, image: busybox:1.36}}\n",
        sidecar("s1"),
        sidecar("s2"),
        sidecar("s3")
    )
}

impl TestNode {
    /// The first stop of container `name`, once there is one.
    async fn stopped(&self, name: &str) -> podspec_cri::fake::Call {
        self.until(&format!("{name} asked to stop"), |n| !n.fake.calls_of("stop_container", name).is_empty()).await;
        self.fake.calls_of("stop_container", name)[0].clone()
    }

    fn stop_order(&self) -> Vec<String> {
        self.fake.calls().into_iter().filter(|c| c.op == "stop_container").map(|c| c.name).collect()
    }
}

/// A deleted pod with sidecars (the kubelet's killContainersWithSyncResult with its
/// terminationOrdering): the app containers are stopped first; each sidecar gets its SIGTERM
/// only once every app container and the sidecar started after it have stopped, so the
/// sidecars stop in the reverse order of their start; and all of it within the pod's one
/// grace period: a sidecar's stop has what its wait left of it, at least the 2 s the kubelet
/// always gives (minimumGracePeriodInSeconds).
#[tokio::test(start_paused = true)]
async fn a_deleted_pods_sidecars_stop_after_its_app_containers_in_reverse_order_within_one_grace_period() {
    let n = TestNode::start();
    n.create(&sidecars_pod("Always", ""));
    for c in ["a", "s1", "s2", "s3"] {
        n.fake.ignore_sigterm(c);
    }
    n.until("a and b run", |n| n.fake.is_running("a") && n.fake.is_running("b")).await;
    n.node.pods().delete("default", "p", &DeleteOptions::default()).unwrap();
    let a = n.stopped("a").await;
    let t0 = a.at;
    let b = n.stopped("b").await;
    assert_eq!((a.timeout, b.at, b.timeout), (Some(Duration::from_secs(30)), t0, Some(Duration::from_secs(30))));
    n.wait(Duration::from_secs(5)).await;
    assert_eq!(n.stop_order(), ["a", "b"], "the sidecars run on while a does");
    // a ends in its grace period: the last sidecar's turn, with what is left of the grace.
    let a_ended = n.exit("a", 0).await;
    let s3 = n.stopped("s3").await;
    assert_eq!(s3.at, a_ended);
    assert_eq!(s3.timeout, Some(Duration::from_secs(30) - (s3.at - t0)));
    n.wait(Duration::from_secs(2)).await;
    assert_eq!(n.stop_order(), ["a", "b", "s3"], "s2 waits for s3");
    let s3_ended = n.exit("s3", 0).await;
    let s2 = n.stopped("s2").await;
    assert_eq!(s2.at, s3_ended);
    assert_eq!(s2.timeout, Some(Duration::from_secs(30) - (s2.at - t0)));
    // s2 lets SIGTERM pass: it is killed when the grace period runs out, and s1's turn comes
    // then, with nothing left of it but the 2 s minimum.
    let s1 = n.stopped("s1").await;
    assert_eq!((s1.at - t0, s1.timeout), (Duration::from_secs(30), Some(Duration::from_secs(2))));
    assert_eq!(n.stop_order(), ["a", "b", "s3", "s2", "s1"]);
    n.until("the sandbox removed", |n| n.fake.calls().iter().any(|c| c.op == "remove_pod_sandbox")).await;
    let removed = n.fake.calls().into_iter().find(|c| c.op == "remove_pod_sandbox").unwrap().at;
    assert_eq!(removed - t0, Duration::from_secs(32), "one grace period, and the 2 s of the last sidecar");
}

/// restartPolicy Never (or OnFailure, once they succeeded): once the app containers have ended,
/// the pod is done and its sidecars are stopped as a deleted pod's are, the last started first, each once the one after it has
/// stopped, with the spec's grace period ("should terminate sidecars in reverse order after all
/// main containers have exited", test/e2e_node/container_lifecycle_test.go).
#[tokio::test(start_paused = true)]
async fn a_pod_whose_app_containers_ended_stops_its_sidecars_in_reverse_order() {
    for policy in ["Never", "OnFailure"] {
        let n = TestNode::start();
        n.create(&sidecars_pod(policy, ""));
        for c in ["s1", "s2", "s3"] {
            n.fake.ignore_sigterm(c);
        }
        n.until("a and b run", |n| n.fake.is_running("a") && n.fake.is_running("b")).await;
        n.exit("a", 0).await;
        n.wait(Duration::from_secs(10)).await;
        assert_eq!(n.stop_order(), Vec::<String>::new(), "{policy}: the sidecars run on while b does");
        let apps_ended = n.exit("b", 0).await;
        let s3 = n.stopped("s3").await;
        assert_eq!((s3.at, s3.timeout), (apps_ended, Some(Duration::from_secs(30))), "{policy}");
        n.wait(Duration::from_secs(3)).await;
        assert_eq!(n.stop_order(), ["s3"], "{policy}: s2 waits for s3");
        let s3_ended = n.exit("s3", 0).await;
        let s2 = n.stopped("s2").await;
        // Its wait, since the app containers ended, counts against its grace period.
        assert_eq!((s2.at, s2.timeout), (s3_ended, Some(Duration::from_secs(30) - (s3_ended - apps_ended))), "{policy}");
        n.wait(Duration::from_secs(3)).await;
        assert_eq!(n.stop_order(), ["s3", "s2"], "{policy}: s1 waits for s2");
        let s2_ended = n.exit("s2", 0).await;
        let s1 = n.stopped("s1").await;
        assert_eq!((s1.at, s1.timeout), (s2_ended, Some(Duration::from_secs(30) - (s2_ended - apps_ended))), "{policy}");
        n.exit("s1", 0).await;
        n.until("Succeeded", |n| n.phase() == "Succeeded").await;
        for s in ["s1", "s2", "s3"] {
            let status = n.status_of(s).unwrap();
            assert_eq!(status.state.and_then(|s| s.terminated).map(|t| t.exit_code), Some(0), "{policy}: {s}");
        }
    }
}

/// The sidecars' preStop hooks all run as soon as the pod stops, beside the app containers'
/// own stop; only their SIGTERM waits for its turn ("should call sidecar container PreStop hook
/// simultaneously", test/e2e_node/container_lifecycle_test.go). Each hook counts against the
/// one grace period: here each sleeps 4 s, so each sidecar is stopped 4 s in, with 26 s left,
/// in reverse order.
#[tokio::test(start_paused = true)]
async fn the_sidecars_pre_stop_hooks_run_at_once_and_their_stops_follow_in_reverse_order() {
    let n = TestNode::start();
    n.create(&sidecars_pod("Always", ", lifecycle: {preStop: {sleep: {seconds: 4}}}"));
    n.until("a and b run", |n| n.fake.is_running("a") && n.fake.is_running("b")).await;
    n.node.pods().delete("default", "p", &DeleteOptions::default()).unwrap();
    let a = n.stopped("a").await;
    let t0 = a.at;
    let s1 = n.stopped("s1").await;
    let (s2, s3) = (n.stopped("s2").await, n.stopped("s3").await);
    for s in [&s1, &s2, &s3] {
        assert_eq!((s.at - t0, s.timeout), (Duration::from_secs(4), Some(Duration::from_secs(26))), "{}", s.name);
    }
    assert_eq!(n.stop_order(), ["a", "b", "s3", "s2", "s1"]);
}

/// A pod being deleted keeps its API-data volumes as they were: the kubelet remounts a pod's
/// volumes as it syncs a live pod, not while it terminates one (a changed ConfigMap then is not
/// written, nor is a token refreshed). The same change while the pod runs is written: the
/// control.
#[tokio::test(start_paused = true)]
async fn a_deleted_pods_api_data_volumes_are_not_written_again() {
    let n = TestNode::start();
    let config_maps = n.node.api().config_maps();
    let cm = |value: &str| -> k8s_openapi::api::core::v1::ConfigMap {
        serde_yaml::from_str(&format!("metadata: {{name: c, namespace: default}}\ndata: {{k: {value}}}\n")).unwrap()
    };
    config_maps.create_object(&cm("one"), false).unwrap();
    n.fake.ignore_sigterm("a");
    let pod = n.create(
        "metadata: {name: p, namespace: default}\nspec:\n  terminationGracePeriodSeconds: 30\n  containers: [{name: a, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}]\n  volumes: [{name: data, configMap: {name: c}}]\n",
    );
    let volume = &pod.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
    let root = &n.node.kubelet().config.root_dir;
    let file = super::api_data::volume_dir(root, pod.metadata.uid.as_deref().unwrap(), volume).unwrap().join("k");
    let value = || std::fs::read_to_string(&file).unwrap_or_default();
    n.until("the volume is written", |_| value() == "one").await;
    config_maps.update("default", "c", &cm("two")).unwrap();
    n.until("the change is written", |_| value() == "two").await;
    n.node.pods().delete("default", "p", &DeleteOptions::default()).unwrap();
    n.stopped("a").await;
    config_maps.update("default", "c", &cm("three")).unwrap();
    n.wait(Duration::from_secs(10)).await;
    assert_eq!(value(), "two", "a terminating pod's volume was written again");
}

/// The runtime's events go to the worker of their own pod alone: another pod's worker is not
/// woken by them (with every worker reading the node's one channel, each event woke them all,
/// and a worker busy starting its pod fell behind the others' events and lost its own).
#[tokio::test(start_paused = true)]
async fn a_runtime_event_goes_to_its_own_pods_worker_alone() {
    let n = TestNode::start();
    for (pod, container) in [("p", "a"), ("q", "b")] {
        n.create(&format!(
            "metadata: {{name: {pod}, namespace: default}}\nspec:\n  restartPolicy: Never\n  containers:\n  - {{name: {container}, image: busybox:1.36}}\n"
        ));
    }
    let running = |n: &TestNode| {
        let pods = n.node.pods().list();
        pods.len() == 2 && pods.iter().all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
    };
    n.until("both pods run", running).await;
    let worker = |name: &str| {
        let pods = n.node.kubelet().pods.lock().unwrap();
        pods.values().find(|w| w.key == format!("default/{name}")).cloned().expect("a worker")
    };
    let (mut p_events, mut q_events) = (worker("p").events.subscribe(), worker("q").events.subscribe());
    n.exit("a", 0).await;
    n.until("p succeeded", |n| n.phase() == "Succeeded").await;
    assert!(matches!(p_events.try_recv(), Ok(podspec_cri::cri::ContainerEvent::Stopped { .. })), "p's worker saw its container stop");
    assert!(
        matches!(q_events.try_recv(), Err(tokio::sync::broadcast::error::TryRecvError::Empty)),
        "q's worker was handed an event of p's container"
    );
}
