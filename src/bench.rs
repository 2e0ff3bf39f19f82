//! `podspec bench`: starts and deletes two-container pods on a target and reports the median
//! and 95th percentile of pod start (create until every container runs), exec and delete.
//! A benchmark, not a test: on a shared machine, read the medians and compare ratios.

use std::fmt;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::runtime::cri::{ContainerConfig, ImageService, PodSandboxConfig, RuntimeError, RuntimeService};
use crate::targets::{PodRef, Target, TargetError};

#[derive(Debug, Clone)]
pub struct Timing {
    pub name: &'static str,
    pub samples: Vec<Duration>,
}

impl Timing {
    fn percentile(&self, p: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        if s.is_empty() {
            return Duration::ZERO;
        }
        let i = ((s.len() as f64 - 1.0) * p).round() as usize;
        s[i.min(s.len() - 1)]
    }
    pub fn median(&self) -> Duration {
        self.percentile(0.5)
    }
    pub fn p95(&self) -> Duration {
        self.percentile(0.95)
    }
}

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub target: String,
    pub pods: usize,
    pub timings: Vec<Timing>,
    /// Where the node measures its waits on the runtime (a CRI runtime): each pod start split
    /// into the time spent waiting on the runtime's answers and the rest, the target's own.
    pub start_split: Option<StartSplit>,
}

#[derive(Debug, Clone)]
pub struct StartSplit {
    pub waiting: Timing,
    pub own: Timing,
}

/// One bench run as a results file (`podspec bench --results FILE.json`): when, on what code
/// and machine, under what load, and each target's medians and p95s in milliseconds. The
/// performance page of the book shows the latest of `bench/results/`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Results {
    /// RFC 3339, UTC.
    pub date: String,
    /// The commit the binary was built from, as `git` names it in the working directory (with
    /// `-dirty` when the tree had changes), or `unknown`.
    pub commit: String,
    /// `release` or `debug`.
    pub build: String,
    pub machine: Machine,
    /// /proc/loadavg's 1, 5 and 15 minute averages at the start and at the end of the run.
    pub load_before: [f64; 3],
    pub load_after: [f64; 3],
    pub pods: usize,
    pub targets: Vec<TargetResults>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Machine {
    pub hostname: String,
    pub cpus: usize,
    /// /proc/cpuinfo's first `model name`.
    pub cpu_model: String,
    pub kernel: String,
    pub memory_mib: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TargetResults {
    pub target: String,
    /// Each timing's name with its median and p95, in milliseconds.
    pub timings: Vec<TimingResult>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TimingResult {
    pub name: String,
    pub median_ms: f64,
    pub p95_ms: f64,
}

/// Milliseconds, to the hundredth.
fn ms_rounded(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// The load averages of /proc/loadavg.
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text.split_whitespace().map(|w| w.parse().unwrap_or(0.0));
    [v.next().unwrap_or(0.0), v.next().unwrap_or(0.0), v.next().unwrap_or(0.0)]
}

impl Machine {
    pub fn this() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let uname = nix::sys::utsname::uname().ok();
        Machine {
            hostname: uname.as_ref().map(|u| u.nodename().to_string_lossy().into_owned()).unwrap_or_default(),
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string()))
                .unwrap_or_default(),
            kernel: uname.as_ref().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default(),
            memory_mib: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kib| kib / 1024)
                .unwrap_or(0),
        }
    }
}

impl Results {
    /// The results of `reports`, measured between `load_before` and now.
    pub fn new(reports: &[BenchReport], pods: usize, load_before: [f64; 3], commit: String) -> Self {
        Results {
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            commit,
            build: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
            machine: Machine::this(),
            load_before,
            load_after: load_average(),
            pods,
            targets: reports
                .iter()
                .map(|r| TargetResults {
                    target: r.target.clone(),
                    timings: r
                        .timings
                        .iter()
                        .chain(r.start_split.iter().flat_map(|s| [&s.waiting, &s.own]))
                        .map(|t| TimingResult { name: t.name.to_string(), median_ms: ms_rounded(t.median()), p95_ms: ms_rounded(t.p95()) })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Each report's pod start split, where measured: how long it waited on the runtime and how
/// long it spent on its own work (API, watch, kubelet), as medians and p95s, and the own time
/// as a share of the runtime's.
pub fn start_splits(reports: &[BenchReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let split: Vec<(&str, &StartSplit)> = reports.iter().filter_map(|r| Some((r.target.as_str(), r.start_split.as_ref()?))).collect();
    if split.is_empty() {
        return out;
    }
    let _ = writeln!(out, "pod start, split: waiting on the runtime's answers (every CRI call, overlaps counted once) and all the rest (the target's own work)");
    let _ = writeln!(out, "{:<12} {:>16} {:>12} {:>16} {:>12} {:>16}", "", "waiting median", "p95", "own median", "p95", "own/waiting");
    for (target, s) in split {
        let share = 100.0 * ms(s.own.median()) / ms(s.waiting.median()).max(f64::MIN_POSITIVE);
        let _ = writeln!(
            out,
            "{:<12} {:>13.2} ms {:>9.2} ms {:>13.2} ms {:>9.2} ms {:>15.1}%",
            target,
            ms(s.waiting.median()),
            ms(s.waiting.p95()),
            ms(s.own.median()),
            ms(s.own.p95()),
            share
        );
    }
    out
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "target {}: {} two-container pods", self.target, self.pods)?;
        writeln!(f, "{:<10} {:>12} {:>12}", "", "median", "p95")?;
        for t in &self.timings {
            writeln!(f, "{:<10} {:>9.2} ms {:>9.2} ms", t.name, ms(t.median()), ms(t.p95()))?;
        }
        Ok(())
    }
}

/// Several targets' figures side by side, the first as the baseline: each timing's median and
/// p95 per target, and each other target's median as a multiple of the baseline's.
pub fn side_by_side(reports: &[BenchReport]) -> String {
    side_by_side_with(reports, &[])
}

/// `side_by_side`, plus a ratio column for each pair `(a, b)` of report indices: a's median as
/// a multiple of b's (the cri target over the same calls made straight to the CRI, say).
pub fn side_by_side_with(reports: &[BenchReport], pairs: &[(usize, usize)]) -> String {
    use std::fmt::Write as _;
    let pairs: Vec<(&BenchReport, &BenchReport)> = pairs.iter().filter_map(|&(a, b)| Some((reports.get(a)?, reports.get(b)?))).collect();
    let mut out = String::new();
    let Some(base) = reports.first() else { return out };
    let runs: Vec<String> = reports.iter().map(|r| format!("{} ({} pods)", r.target, r.pods)).collect();
    let _ = writeln!(out, "two-container pods, one after another: {}", runs.join(", "));
    let mut header = format!("{:<10}", "");
    for r in reports {
        header.push_str(&format!(" {:>22} {:>12}", format!("{} median", r.target), "p95"));
    }
    for r in &reports[1..] {
        header.push_str(&format!(" {:>20}", format!("{}/{}", r.target, base.target)));
    }
    for (a, b) in &pairs {
        header.push_str(&format!(" {:>20}", format!("{}/{}", a.target, b.target)));
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for (i, t) in base.timings.iter().enumerate() {
        let mut line = format!("{:<10}", t.name);
        for r in reports {
            match r.timings.get(i) {
                Some(x) => line.push_str(&format!(" {:>19.2} ms {:>9.2} ms", ms(x.median()), ms(x.p95()))),
                None => line.push_str(&format!(" {:>22} {:>12}", "-", "-")),
            }
        }
        for r in &reports[1..] {
            let ratio = r.timings.get(i).map(|x| ms(x.median()) / ms(t.median()).max(f64::MIN_POSITIVE));
            match ratio {
                Some(x) => line.push_str(&format!(" {:>19.1}x", x)),
                None => line.push_str(&format!(" {:>20}", "-")),
            }
        }
        for (a, b) in &pairs {
            let ratio = a.timings.get(i).zip(b.timings.get(i)).map(|(x, y)| ms(x.median()) / ms(y.median()).max(f64::MIN_POSITIVE));
            match ratio {
                Some(x) => line.push_str(&format!(" {:>19.2}x", x)),
                None => line.push_str(&format!(" {:>20}", "-")),
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench_pod(namespace: &str, i: usize) -> Pod {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: bench-{i}, namespace: {namespace}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: a, image: busybox:1.36, command: [sleep, '3600']}}\n  - {{name: b, image: busybox:1.36, command: [sleep, '3600']}}\n"
    );
    serde_yaml::from_str(&yaml).expect("bench pod parses")
}

/// Every one of the two containers runs.
fn both_running(pod: &Pod) -> bool {
    let status = pod.status.clone().unwrap_or_default();
    status
        .container_statuses
        .as_ref()
        .is_some_and(|cs| cs.len() == 2 && cs.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some())))
}

async fn wait_running(target: &dyn Target, p: &PodRef) -> Result<(), TargetError> {
    target.wait_pod(p, "start pod", Duration::from_secs(60), both_running).await
}

/// The three timings of a run, filled pod by pod, and each pod start's split where measured.
struct Timings {
    start: Timing,
    exec: Timing,
    delete: Timing,
    split: StartSplit,
}

impl Timings {
    fn new(pods: usize) -> Self {
        let t = |name| Timing { name, samples: Vec::with_capacity(pods) };
        Self { start: t("pod start"), exec: t("exec"), delete: t("delete"), split: StartSplit { waiting: t("waiting"), own: t("own") } }
    }

    /// A pod start of `took`, with the runtime's busy clock at its beginning and end.
    fn started(&mut self, took: Duration, busy: (Option<Duration>, Option<Duration>)) {
        self.start.samples.push(took);
        if let (Some(before), Some(after)) = busy {
            let waiting = after.saturating_sub(before).min(took);
            self.split.waiting.samples.push(waiting);
            self.split.own.samples.push(took - waiting);
        }
    }

    fn report(self, target: &str, pods: usize) -> BenchReport {
        let start_split = (!self.split.waiting.samples.is_empty()).then_some(self.split);
        BenchReport { target: target.to_string(), pods, timings: vec![self.start, self.exec, self.delete], start_split }
    }
}

/// A measurement that failed: on the target, or in the runtime called straight.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn bench_namespace() -> String {
    format!("podspec-bench-{}", std::process::id())
}

pub async fn run(target: &dyn Target, pods: usize) -> Result<BenchReport, TargetError> {
    let namespace = bench_namespace();
    let mut t = Timings::new(pods);
    for i in 0..pods {
        target_pod(target, &namespace, i, &mut t).await?;
    }
    Ok(t.report(target.name(), pods))
}

/// A target and the runtime under it called straight, pod by pod in turn (target, then
/// runtime, for each pod), so that the machine's load at any moment weighs on both alike: their
/// ratio is what the target's layers add.
pub async fn run_interleaved(
    target: &dyn Target,
    direct: (&str, &dyn RuntimeService, &dyn ImageService),
    pods: usize,
    cgroup_parent: Option<&str>,
) -> Result<(BenchReport, BenchReport), BenchError> {
    let (name, runtime, images) = direct;
    let namespace = bench_namespace();
    let direct_namespace = format!("{namespace}-direct");
    let (mut on_target, mut on_runtime) = (Timings::new(pods), Timings::new(pods));
    for i in 0..pods {
        target_pod(target, &namespace, i, &mut on_target).await?;
        runtime_pod(runtime, images, &direct_namespace, i, cgroup_parent, &mut on_runtime).await?;
    }
    Ok((on_target.report(target.name(), pods), on_runtime.report(name, pods)))
}

/// Pod `i` on a target: created until both containers run, `true` run in one, deleted.
async fn target_pod(target: &dyn Target, namespace: &str, i: usize, t: &mut Timings) -> Result<(), TargetError> {
    let cmd = vec!["true".to_string()];
    let pod = bench_pod(namespace, i);
    let p = PodRef { namespace: namespace.to_string(), name: format!("bench-{i}") };
    let busy_before = target.runtime_busy_time();
    let started_at = Instant::now();
    tracing::debug!(target: "bench", pod = %p, "create");
    target.create_pod(&pod).await?;
    let started = wait_running(target, &p).await;
    t.started(started_at.elapsed(), (busy_before, target.runtime_busy_time()));
    tracing::debug!(target: "bench", pod = %p, "running");
    if let Err(e) = started {
        let _ = target.delete_pod(&p).await;
        return Err(e);
    }
    let exec_at = Instant::now();
    let out = target.exec(&p, "b", &cmd, Duration::from_secs(10)).await;
    t.exec.samples.push(exec_at.elapsed());
    tracing::debug!(target: "bench", pod = %p, ms = exec_at.elapsed().as_secs_f64() * 1000.0, "exec");
    let delete_at = Instant::now();
    target.delete_pod(&p).await?;
    t.delete.samples.push(delete_at.elapsed());
    let out = out?;
    if out.exit_code != 0 {
        return Err(TargetError::Other(format!("exec `true` in {p} exited {}: {}", out.exit_code, out.stderr)));
    }
    Ok(())
}

/// Pod `i` straight on a runtime, with the kubelet's calls: the sandbox (in
/// `<cgroup_parent>/pod<uid>` where given, as the kubelet places it) and its status, each
/// container's image status, create and start; ExecSync; each container stopped, then the
/// sandbox stopped and removed.
async fn runtime_pod(
    runtime: &dyn RuntimeService,
    images: &dyn ImageService,
    namespace: &str,
    i: usize,
    cgroup_parent: Option<&str>,
    t: &mut Timings,
) -> Result<(), RuntimeError> {
    let cmd = vec!["true".to_string()];
    let config = PodSandboxConfig {
        name: format!("bench-{i}"),
        namespace: namespace.to_string(),
        uid: format!("{namespace}-{i}"),
        hostname: format!("bench-{i}"),
        namespaces: Default::default(),
        sysctls: vec![],
        tmpfs: vec![],
        privileged: false,
        cgroup_parent: cgroup_parent.map(|p| format!("{p}/pod{namespace}-{i}")),
        pids_limit: None,
        runtime_handler: String::new(),
    };
    let busy_before = runtime.busy_time();
    let started_at = Instant::now();
    let sandbox = runtime.run_pod_sandbox(&config).await?;
    let started = async {
        runtime.pod_sandbox_status(&sandbox).await?;
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let c = ContainerConfig {
                name: name.into(),
                attempt: 0,
                image: "busybox:1.36".into(),
                command: vec!["sleep".into(), "3600".into()],
                args: vec![],
                env: vec![],
                working_dir: None,
                mounts: vec![],
                security: Default::default(),
                resources: Default::default(),
                stdin: false,
                stdin_once: false,
                tty: false,
            };
            images.image_status(&c.image).await?;
            let id = runtime.create_container(&sandbox, &c).await?;
            runtime.start_container(&id).await?;
            ids.push(id);
        }
        Ok::<_, RuntimeError>(ids)
    }
    .await;
    t.started(started_at.elapsed(), (busy_before, runtime.busy_time()));
    let ids = match started {
        Ok(ids) => ids,
        Err(e) => {
            let _ = runtime.stop_pod_sandbox(&sandbox).await;
            let _ = runtime.remove_pod_sandbox(&sandbox).await;
            return Err(e);
        }
    };
    let exec_at = Instant::now();
    let out = runtime.exec_sync(&ids[1], &cmd, Duration::from_secs(10)).await;
    t.exec.samples.push(exec_at.elapsed());
    let delete_at = Instant::now();
    for id in &ids {
        runtime.stop_container(id, Duration::ZERO).await?;
    }
    runtime.stop_pod_sandbox(&sandbox).await?;
    runtime.remove_pod_sandbox(&sandbox).await?;
    t.delete.samples.push(delete_at.elapsed());
    let out = out?;
    if out.exit_code != 0 {
        return Err(RuntimeError::failed("exec `true`", format!("exited {}: {}", out.exit_code, String::from_utf8_lossy(&out.stderr))));
    }
    Ok(())
}

/// Pod start, exec and delete through a Kubernetes API over HTTP (serve's): a create, then a
/// watch of that pod (from the create's resourceVersion) until both containers run; an exec
/// over the WebSocket protocol; a delete with grace 0, then the watch until the pod is gone.
/// What a client of the API waits for, beside the same work done in process.
pub async fn run_over_api(name: &str, client: kube::Client, pods: usize) -> Result<BenchReport, TargetError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    use kube::api::{Api, AttachParams, DeleteParams, PostParams, WatchEvent, WatchParams};
    let failed = |what: String| move |e: kube::Error| TargetError::Other(format!("{what}: {e}"));
    let api: Api<Pod> = Api::namespaced(client, "default");
    let mut start = Timing { name: "pod start", samples: Vec::with_capacity(pods) };
    let mut exec = Timing { name: "exec", samples: Vec::with_capacity(pods) };
    let mut delete = Timing { name: "delete", samples: Vec::with_capacity(pods) };
    let running = |pod: &Pod| {
        pod.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.len() == 2 && cs.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some())))
    };
    for i in 0..pods {
        let pod = bench_pod("default", i);
        let pod_name = format!("bench-{i}");
        let t = Instant::now();
        let created = api.create(&PostParams::default(), &pod).await.map_err(failed(format!("create {pod_name}")))?;
        let rv = created.metadata.resource_version.clone().unwrap_or_default();
        let params = WatchParams::default().fields(&format!("metadata.name={pod_name}")).timeout(60);
        let mut events = api.watch(&params, &rv).await.map_err(failed(format!("watch {pod_name}")))?.boxed();
        let mut up = running(&created);
        while !up {
            match events.try_next().await.map_err(failed(format!("watch {pod_name}")))? {
                Some(WatchEvent::Added(p) | WatchEvent::Modified(p)) => up = running(&p),
                Some(WatchEvent::Error(e)) => return Err(TargetError::Other(format!("watch {pod_name}: {e}"))),
                Some(_) => {}
                None => return Err(TargetError::Timeout { operation: format!("start pod {pod_name}"), after: Duration::from_secs(60) }),
            }
        }
        start.samples.push(t.elapsed());
        let t = Instant::now();
        let ran = async {
            let mut attached = api
                .exec(&pod_name, ["true"], &AttachParams::default().container("b").stdout(true).stderr(true))
                .await
                .map_err(failed(format!("exec in {pod_name}")))?;
            let status = match attached.take_status() {
                Some(s) => s.await,
                None => None,
            };
            let _ = attached.join().await;
            Ok::<_, TargetError>(status)
        }
        .await;
        exec.samples.push(t.elapsed());
        let t = Instant::now();
        api.delete(&pod_name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() })
            .await
            .map_err(failed(format!("delete {pod_name}")))?;
        loop {
            match events.try_next().await.map_err(failed(format!("watch {pod_name}")))? {
                Some(WatchEvent::Deleted(_)) => break,
                Some(_) => {}
                None => return Err(TargetError::Timeout { operation: format!("delete pod {pod_name}"), after: Duration::from_secs(60) }),
            }
        }
        delete.samples.push(t.elapsed());
        let status = ran?;
        if status.as_ref().and_then(|s| s.status.as_deref()) != Some("Success") {
            return Err(TargetError::Other(format!("exec `true` in {pod_name} did not succeed: {status:?}")));
        }
    }
    Ok(BenchReport { target: name.to_string(), pods, timings: vec![start, exec, delete], start_split: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_shown_side_by_side_with_the_ratio_to_the_first() {
        let report = |target: &str, ms: u64| BenchReport {
            target: target.into(),
            pods: 3,
            timings: vec![Timing { name: "pod start", samples: vec![Duration::from_millis(ms); 3] }],
            start_split: None,
        };
        let text = side_by_side(&[report("reference", 10), report("podman", 250)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("reference (3 pods), podman (3 pods)"), "{text}");
        assert!(
            lines[1].contains("reference median") && lines[1].contains("podman median") && lines[1].contains("podman/reference"),
            "{text}"
        );
        assert!(lines[2].starts_with("pod start") && lines[2].contains("10.00 ms") && lines[2].contains("250.00 ms"), "{text}");
        assert!(lines[2].trim_end().ends_with("25.0x"), "{text}");
    }

    #[test]
    fn a_pair_gets_its_own_ratio_column() {
        let report = |target: &str, ms: u64| BenchReport {
            target: target.into(),
            pods: 3,
            timings: vec![Timing { name: "pod start", samples: vec![Duration::from_millis(ms); 3] }],
            start_split: None,
        };
        let text = side_by_side_with(&[report("reference", 10), report("cri", 210), report("cri-direct", 200)], &[(1, 2)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].trim_end().ends_with("cri/cri-direct"), "{text}");
        assert!(lines[2].trim_end().ends_with("1.05x"), "{text}");
    }

    #[test]
    fn a_pod_start_splits_into_waiting_on_the_runtime_and_the_targets_own_time() {
        let mut t = Timings::new(2);
        t.started(Duration::from_millis(100), (Some(Duration::from_millis(50)), Some(Duration::from_millis(146))));
        t.started(Duration::from_millis(200), (Some(Duration::from_millis(146)), Some(Duration::from_millis(342))));
        let with = t.report("cri", 2);
        let mut t = Timings::new(1);
        t.started(Duration::from_millis(10), (None, None));
        let without = t.report("reference", 1);
        assert!(without.start_split.is_none());
        let split = with.start_split.as_ref().expect("split");
        assert_eq!(split.own.samples, vec![Duration::from_millis(4); 2]);
        let text = start_splits(&[without, with]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[2].starts_with("cri ") && lines[2].contains("196.00 ms") && lines[2].contains("4.00 ms"), "{text}");
        // 4 ms of its own against 196 ms waiting on the runtime.
        assert!(lines[2].trim_end().ends_with("2.0%"), "{text}");
    }

    #[test]
    fn median_and_p95_of_a_known_sample() {
        let t = Timing { name: "x", samples: (1..=100).map(Duration::from_millis).collect() };
        assert_eq!(t.median(), Duration::from_millis(51));
        assert_eq!(t.p95(), Duration::from_millis(95));
    }
}

#[cfg(test)]
mod results_tests {
    use super::*;

    #[test]
    fn a_results_file_holds_each_targets_medians_in_milliseconds() {
        let t = |name, ms: &[u64]| Timing { name, samples: ms.iter().map(|m| Duration::from_micros(m * 1000 + 250)).collect() };
        let report = BenchReport { target: "reference".into(), pods: 3, timings: vec![t("pod start", &[9, 11, 10])], start_split: None };
        let r = Results::new(&[report], 3, [1.0, 2.0, 3.0], "abc1234".into());
        assert_eq!(r.targets[0].timings[0].name, "pod start");
        assert_eq!(r.targets[0].timings[0].median_ms, 10.25);
        assert_eq!(r.targets[0].timings[0].p95_ms, 11.25);
        assert_eq!(r.load_before, [1.0, 2.0, 3.0]);
        assert!(r.machine.cpus > 0 && !r.machine.kernel.is_empty());
        let back: Results = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.targets[0].timings[0].median_ms, 10.25);
    }
}
