//! `podspec bench`: starts and deletes two-container pods on a target and reports the median
//! and 95th percentile of pod start (create until every container runs), exec and delete.
//! A benchmark, not a test: on a shared machine, read the medians and compare ratios.

use std::fmt;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::runtime::cri::{ContainerConfig, ImageService, PodSandboxConfig, RuntimeError, RuntimeService};
use crate::targets::kube::KubeError;
use crate::targets::{PodRef, Target, TargetCapabilities as _, TargetError};

#[derive(Debug, Clone)]
pub struct Timing {
    pub name: &'static str,
    pub samples: Vec<Duration>,
}

impl Timing {
    pub fn percentile(&self, p: f64) -> Duration {
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
    /// Where the runtime says its share of each pod start went (`Target::runtime_phase_times`):
    /// each phase's time per pod; empty where the runtime does not split it.
    pub phases: Vec<Timing>,
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
            date: format!("{:.0}", jiff::Timestamp::now()),
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

/// Each report's pod start, where its runtime splits it: the median and p95 per pod of each of
/// the runtime's phases, and the rest of the start (the API, the kubelet's own work: volumes,
/// hosts file, status writes, and the waits between them) as the start's median less the
/// phases' medians.
pub fn start_phases(reports: &[BenchReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in reports.iter().filter(|r| !r.phases.is_empty()) {
        let Some(start) = r.timings.iter().find(|t| t.name == "pod start") else { continue };
        let _ = writeln!(out, "pod start on {}, where the time goes (per pod; the runtime's phases, summed over its calls):", r.target);
        let _ = writeln!(out, "{:<54} {:>12} {:>12} {:>8}", "", "median", "p95", "share");
        let total = ms(start.median()).max(f64::MIN_POSITIVE);
        let mut phases_ms = 0.0;
        for p in &r.phases {
            phases_ms += ms(p.median());
            let _ = writeln!(out, "{:<54} {:>9.2} ms {:>9.2} ms {:>7.1}%", p.name, ms(p.median()), ms(p.p95()), 100.0 * ms(p.median()) / total);
        }
        let rest = (ms(start.median()) - phases_ms).max(0.0);
        let _ = writeln!(out, "{:<54} {:>9.2} ms {:>12} {:>7.1}%", "the rest: API, kubelet (volumes, status), waits", rest, "", 100.0 * rest / total);
        let _ = writeln!(out, "{:<54} {:>9.2} ms {:>9.2} ms", "pod start", ms(start.median()), ms(start.p95()));
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

pub(crate) fn ms(d: Duration) -> f64 {
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
    /// Each runtime phase's time in each pod's start, in the order the runtime names them.
    phases: Vec<Timing>,
}

impl Timings {
    fn new(pods: usize) -> Self {
        let t = |name| Timing { name, samples: Vec::with_capacity(pods) };
        Self { start: t("pod start"), exec: t("exec"), delete: t("delete"), split: StartSplit { waiting: t("waiting"), own: t("own") }, phases: Vec::new() }
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

    /// The runtime's phase totals before and after one pod's start: each phase's share of it.
    fn phases_of_a_start(&mut self, before: &[(&'static str, Duration)], after: &[(&'static str, Duration)]) {
        for (name, total) in after {
            let was = before.iter().find(|(n, _)| n == name).map_or(Duration::ZERO, |(_, d)| *d);
            let i = match self.phases.iter().position(|t| t.name == *name) {
                Some(i) => i,
                None => {
                    // A phase first seen now took nothing in the pods before.
                    let before = self.start.samples.len().saturating_sub(1);
                    self.phases.push(Timing { name, samples: vec![Duration::ZERO; before] });
                    self.phases.len() - 1
                }
            };
            self.phases[i].samples.push(total.saturating_sub(was));
        }
    }

    fn report(self, target: &str, pods: usize) -> BenchReport {
        let start_split = (!self.split.waiting.samples.is_empty()).then_some(self.split);
        BenchReport { target: target.to_string(), pods, timings: vec![self.start, self.exec, self.delete], start_split, phases: self.phases }
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
    // The namespace is made as a scenario's is (with it, on a node with ServiceAccount
    // admission, its default ServiceAccount) and closed after.
    target.open_namespace(&namespace).await?;
    let mut t = Timings::new(pods);
    for i in 0..pods {
        target_pod(target, &namespace, i, &mut t).await?;
    }
    target.close_namespace(&namespace).await?;
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
    target.open_namespace(&namespace).await?;
    let (mut on_target, mut on_runtime) = (Timings::new(pods), Timings::new(pods));
    for i in 0..pods {
        target_pod(target, &namespace, i, &mut on_target).await?;
        runtime_pod(runtime, images, &direct_namespace, i, cgroup_parent, &mut on_runtime).await?;
    }
    target.close_namespace(&namespace).await?;
    Ok((on_target.report(target.name(), pods), on_runtime.report(name, pods)))
}

/// Pod `i` on a target: created until both containers run, `true` run in one, deleted.
async fn target_pod(target: &dyn Target, namespace: &str, i: usize, t: &mut Timings) -> Result<(), TargetError> {
    let cmd = vec!["true".to_string()];
    let pod = bench_pod(namespace, i);
    let p = PodRef { namespace: namespace.to_string(), name: format!("bench-{i}") };
    let busy_before = target.runtime_busy_time();
    let phases_before = target.runtime_phase_times();
    let started_at = Instant::now();
    tracing::debug!(target: "bench", pod = %p, "create");
    target.create_pod(&pod).await?;
    let started = wait_running(target, &p).await;
    t.started(started_at.elapsed(), (busy_before, target.runtime_busy_time()));
    t.phases_of_a_start(&phases_before, &target.runtime_phase_times());
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
        let (exit_code, stdout, stderr) = (out.exit_code, out.stdout, out.stderr);
        return Err(TargetError::CommandFailed { pod: p, container: "b".into(), command: cmd.join(" "), exit_code, stdout, stderr });
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
    let failed = |what: String| move |source: kube::Error| TargetError::from(KubeError::Request { what, source });
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
                Some(WatchEvent::Error(status)) => return Err(TargetError::WatchEnded { what: format!("watch {pod_name}"), status }),
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
        let pod = PodRef { namespace: "default".into(), name: pod_name.clone() };
        match crate::targets::kube::exec::exit_code(status.as_ref()) {
            Ok(0) => {}
            Ok(exit_code) => {
                let (stdout, stderr) = (String::new(), String::new());
                return Err(TargetError::CommandFailed { pod, container: "b".into(), command: "true".into(), exit_code, stdout, stderr });
            }
            Err(source) => return Err(KubeError::ExecStatus { pod, container: "b".into(), source }.into()),
        }
    }
    Ok(BenchReport { target: name.to_string(), pods, timings: vec![start, exec, delete], start_split: None, phases: Vec::new() })
}

/// `podspec bench --scale N`: N two-container pods started at once on one target, then
/// deleted at once, with the process's peaks over the run.
#[derive(Debug, Clone)]
pub struct ScaleReport {
    pub target: String,
    pub pods: usize,
    /// From the first create issued until every pod's two containers run.
    pub all_running: Duration,
    /// From the first create issued until the last create returned.
    pub creates: Duration,
    /// Each pod's start under load: its create issued until both its containers run.
    pub starts: Timing,
    /// Every pod deleted at once, until the API has none and the node has torn each down.
    pub delete_all: Duration,
    /// The peak resident set of this process over the run, KiB.
    pub peak_rss_kib: u64,
    /// The most descriptors this process held open at once over the run.
    pub peak_open_files: usize,
    /// How often a reader of the node's container events fell behind during the run (each
    /// time, pods look at their containers again), and how many events it lost.
    pub event_lags: (u64, u64),
}

impl ScaleReport {
    pub fn creates_per_second(&self) -> f64 {
        self.pods as f64 / self.creates.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The rows' names and units, in the table's order.
    fn row_names() -> [(&'static str, &'static str); 7] {
        [
            ("all Running", "s"),
            ("creates/s", "1/s"),
            ("start p50", "ms"),
            ("start p99", "ms"),
            ("delete all", "s"),
            ("peak RSS", "MiB"),
            ("open files", "fds"),
        ]
    }

    /// The rows of the table: name, unit, value.
    fn rows(&self) -> Vec<(&'static str, &'static str, f64)> {
        vec![
            ("all Running", "s", self.all_running.as_secs_f64()),
            ("creates/s", "1/s", self.creates_per_second()),
            ("start p50", "ms", ms(self.starts.median())),
            ("start p99", "ms", ms(self.starts.percentile(0.99))),
            ("delete all", "s", self.delete_all.as_secs_f64()),
            ("peak RSS", "MiB", self.peak_rss_kib as f64 / 1024.0),
            ("open files", "fds", self.peak_open_files as f64),
        ]
    }
}

/// The process's peaks while a measurement runs: its resident set (VmRSS) sampled every
/// 10 ms and its open descriptors counted in /proc/self/fd every 100 ms, on a thread of their
/// own, and the kernel's own peak (VmHWM) since the start, which /proc/self/clear_refs resets
/// where the kernel allows. Counting the descriptors reads a directory of one entry per
/// descriptor: with 1000 pods' 3000, a count every 10 ms on one of the runtime's threads took
/// 15 % of the process's CPU (perf) and held that thread from the pods' tasks meanwhile; with
/// 1000 pods' 6000, a count every 100 ms on a thread of its own still took about 4 % (perf,
/// 2026-12-07), but a count every 500 ms missed the whole of a short run's pods (20 pods Running
/// within 0.35 s showed no more descriptors than none: tests/it/serve_bench.rs).
pub(crate) struct Peaks {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: std::thread::JoinHandle<(u64, usize)>,
    hwm_reset: bool,
}

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok())
}

/// How many descriptors this process has open (the count includes the one that reads them).
pub fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

impl Peaks {
    pub(crate) fn start() -> Self {
        use std::sync::atomic::Ordering;
        // "5" resets the peak resident set to the current one (proc(5), clear_refs).
        let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let sampler = std::thread::spawn(move || {
            let (mut rss, mut fds) = (0u64, 0usize);
            for i in 0u64.. {
                rss = rss.max(status_kib("VmRSS").unwrap_or(0));
                if i % 10 == 0 {
                    fds = fds.max(open_files());
                }
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (rss, fds)
        });
        Self { stop, sampler, hwm_reset }
    }

    /// The peak resident set (KiB) and the most open descriptors since the start.
    pub(crate) async fn finish(self) -> (u64, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sampler = self.sampler;
        let (rss, fds) = tokio::task::spawn_blocking(move || sampler.join().unwrap_or((0, 0))).await.unwrap_or((0, 0));
        let hwm = if self.hwm_reset { status_kib("VmHWM").unwrap_or(0) } else { 0 };
        (rss.max(hwm), fds.max(open_files()))
    }
}

/// The container event lags of this process so far: what a run's lags are counted from.
pub fn event_lags_now() -> (u64, u64) {
    crate::runtime::kubelet::event_lags()
}

/// The container event lags of this process since `before` ([`crate::runtime::kubelet::event_lags`]).
pub fn lags_since(before: (u64, u64)) -> (u64, u64) {
    let now = crate::runtime::kubelet::event_lags();
    (now.0 - before.0, now.1 - before.1)
}

/// The label every pod of a scale run carries, with the run's size as its value.
const SCALE_LABEL: &str = "podspec-bench-scale";

fn scale_pod(namespace: &str, pods: usize, i: usize) -> Pod {
    let mut pod = bench_pod(namespace, i);
    pod.metadata.name = Some(format!("scale-{pods}-{i}"));
    pod.metadata.labels = Some([(SCALE_LABEL.to_string(), pods.to_string())].into());
    pod
}

/// The instants each pod's create was issued and it was first seen Running, by name.
#[derive(Default)]
struct Starts {
    issued: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    running: std::collections::HashMap<String, Instant>,
}

impl Starts {
    fn issue(&self, name: String) {
        self.issued.lock().unwrap().insert(name, Instant::now());
    }

    fn timing(&self) -> Timing {
        let issued = self.issued.lock().unwrap();
        let samples = self.running.iter().filter_map(|(name, at)| Some(at.saturating_duration_since(*issued.get(name)?))).collect();
        Timing { name: "pod start", samples }
    }
}

/// How long a scale run waits for every pod to run, or to be gone.
const SCALE_BOUND: Duration = Duration::from_secs(300);

/// `pods` two-container pods created at once on a target (each create issued before any
/// returned is awaited), watched in one watch of their label until both containers of each
/// run; then every pod deleted at once, each delete waiting until the node has torn it down.
pub async fn scale(target: &dyn Target, pods: usize) -> Result<ScaleReport, TargetError> {
    use futures::StreamExt as _;
    let namespace = format!("{}-scale-{pods}", bench_namespace());
    let label = format!("{SCALE_LABEL}={pods}");
    target.open_namespace(&namespace).await?;
    let lags_before = crate::runtime::kubelet::event_lags();
    let peaks = Peaks::start();
    let mut events = target.require_api_server()?.watch_pods_labelled(&namespace, &label).await?;
    let mut starts = Starts::default();
    let began = Instant::now();
    let creates = async {
        let made = futures::future::join_all((0..pods).map(|i| {
            let pod = scale_pod(&namespace, pods, i);
            let starts = &starts;
            async move {
                starts.issue(pod.metadata.name.clone().unwrap_or_default());
                target.create_pod(&pod).await.map(|_| ())
            }
        }))
        .await;
        let took = began.elapsed();
        made.into_iter().collect::<Result<Vec<()>, _>>().map(|_| took)
    };
    // Outside the bounded wait, so that a run that times out still says how far it got.
    let mut running = std::collections::HashMap::new();
    let watched = async {
        while running.len() < pods {
            match events.next().await {
                Some(Ok((_, pod))) if both_running(&pod) => {
                    running.entry(pod.metadata.name.clone().unwrap_or_default()).or_insert_with(Instant::now);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => {
                    let ran = running.len();
                    let by_then = Some(format!("{ran} of {pods} Running by then"));
                    return Err(TargetError::WatchClosed { what: "the scale run's pods".into(), by_then });
                }
            }
        }
        Ok(began.elapsed())
    };
    let bounded = tokio::time::timeout(SCALE_BOUND, async { tokio::join!(creates, watched) }).await;
    let refs: Vec<PodRef> = (0..pods).map(|i| PodRef { namespace: namespace.clone(), name: format!("scale-{pods}-{i}") }).collect();
    let outcome = match bounded {
        Ok((Ok(creates), Ok(all_running))) => Ok((creates, all_running)),
        Ok((Err(e), _) | (_, Err(e))) => Err(e),
        Err(_) => Err(TargetError::Timeout {
            operation: format!("start {pods} pods at once ({} of them Running by then)", running.len()),
            after: SCALE_BOUND,
        }),
    };
    drop(events);
    let deleting = Instant::now();
    let deleted = tokio::time::timeout(SCALE_BOUND, futures::future::join_all(refs.iter().map(|p| target.delete_pod(p)))).await;
    let delete_all = deleting.elapsed();
    let (peak_rss_kib, peak_open_files) = peaks.finish().await;
    let (creates, all_running) = outcome?;
    match deleted {
        Ok(results) => results.into_iter().collect::<Result<Vec<()>, _>>()?,
        Err(_) => return Err(TargetError::Timeout { operation: format!("delete {pods} pods at once"), after: SCALE_BOUND }),
    };
    target.close_namespace(&namespace).await?;
    starts.running = running;
    Ok(ScaleReport {
        target: target.name().to_string(),
        pods,
        all_running,
        creates,
        starts: starts.timing(),
        delete_all,
        peak_rss_kib,
        peak_open_files,
        event_lags: lags_since(lags_before),
    })
}

/// [`scale`] through a Kubernetes API over HTTP (serve's), with at most `connections`
/// requests in flight: the creates, one watch of the pods' label, the deletes (the pods'
/// own grace period), each pod's deletion seen in the watch; and then `torn_down(uid, rv)`
/// for each, which waits until the node has nothing left of it.
pub async fn scale_over_api<F, Fut>(
    name: &str,
    client: kube::Client,
    pods: usize,
    connections: usize,
    torn_down: F,
) -> Result<ScaleReport, TargetError>
where
    F: Fn(String, u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::{StreamExt as _, TryStreamExt as _};
    use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
    let failed = |what: String| move |source: kube::Error| TargetError::from(KubeError::Request { what, source });
    let api: Api<Pod> = Api::namespaced(client, "default");
    let label = format!("{SCALE_LABEL}={pods}");
    let lags_before = crate::runtime::kubelet::event_lags();
    let peaks = Peaks::start();
    // Open for longer than the starts' and the deletes' bounds together: a slow run ends at
    // its bound, saying how far it got, not with the watch.
    let params = WatchParams::default().labels(&label).timeout(2 * SCALE_BOUND.as_secs() as u32 + 60);
    let mut events = api.watch(&params, "0").await.map_err(failed("watch the scale run's pods".into()))?.boxed();
    let mut starts = Starts::default();
    let began = Instant::now();
    let creates = async {
        futures::stream::iter((0..pods).map(|i| {
            let pod = scale_pod("default", pods, i);
            let (api, starts) = (&api, &starts);
            async move {
                let name = pod.metadata.name.clone().unwrap_or_default();
                starts.issue(name.clone());
                api.create(&PostParams::default(), &pod).await.map(|_| ()).map_err(failed(format!("create {name}")))
            }
        }))
        .buffer_unordered(connections.max(1))
        .try_collect::<Vec<()>>()
        .await
        .map(|_| began.elapsed())
    };
    // Outside the bounded wait, so that a run that times out still says how far it got.
    let mut running = std::collections::HashMap::new();
    let watched = async {
        while running.len() < pods {
            match events.try_next().await.map_err(failed("watch the scale run's pods".into()))? {
                Some(WatchEvent::Added(p) | WatchEvent::Modified(p)) if both_running(&p) => {
                    running.entry(p.metadata.name.clone().unwrap_or_default()).or_insert_with(Instant::now);
                }
                Some(WatchEvent::Error(status)) => {
                    return Err(TargetError::WatchEnded { what: "watch the scale run's pods".into(), status })
                }
                Some(_) => {}
                None => {
                    let ran = running.len();
                    let by_then = Some(format!("{ran} of {pods} Running by then"));
                    return Err(TargetError::WatchClosed { what: "the scale run's pods".into(), by_then });
                }
            }
        }
        Ok(began.elapsed())
    };
    let bounded = tokio::time::timeout(SCALE_BOUND, async { tokio::join!(creates, watched) }).await;
    let outcome = match bounded {
        Ok((Ok(creates), Ok(all_running))) => Ok((creates, all_running)),
        Ok((Err(e), _) | (_, Err(e))) => Err(e),
        Err(_) => Err(TargetError::Timeout {
            operation: format!("start {pods} pods at once through {name} ({} of them Running by then)", running.len()),
            after: SCALE_BOUND,
        }),
    };
    let deleting = Instant::now();
    let names: Vec<String> = (0..pods).map(|i| format!("scale-{pods}-{i}")).collect();
    let deletes = futures::stream::iter(names.iter().map(|n| {
        let api = &api;
        async move {
            match api.delete(n, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(source) => Err(KubeError::Request { what: format!("delete {n}"), source }.into()),
            }
        }
    }))
    .buffer_unordered(connections.max(1))
    .try_collect::<Vec<()>>();
    let gone = async {
        let mut gone = Vec::new();
        while gone.len() < pods {
            match events.try_next().await.map_err(failed("watch the scale run's pods".into()))? {
                Some(WatchEvent::Deleted(p)) => gone.push((
                    p.metadata.uid.clone().unwrap_or_default(),
                    p.metadata.resource_version.as_deref().and_then(|rv| rv.parse().ok()).unwrap_or(0),
                )),
                Some(_) => {}
                None => return Err(TargetError::WatchClosed { what: "the scale run's pods".into(), by_then: None }),
            }
        }
        futures::future::join_all(gone.into_iter().map(|(uid, rv)| torn_down(uid, rv))).await;
        Ok(())
    };
    let deleted = match &outcome {
        Ok(_) => Some(tokio::time::timeout(SCALE_BOUND, async { tokio::join!(deletes, gone) }).await),
        Err(_) => None,
    };
    let delete_all = deleting.elapsed();
    let (peak_rss_kib, peak_open_files) = peaks.finish().await;
    let (creates, all_running) = outcome?;
    match deleted {
        Some(Ok((Ok(_), Ok(())))) => {}
        Some(Ok((Err(e), _) | (_, Err(e)))) => return Err(e),
        _ => return Err(TargetError::Timeout { operation: format!("delete {pods} pods at once through {name}"), after: SCALE_BOUND }),
    }
    starts.running = running;
    Ok(ScaleReport {
        target: name.to_string(),
        pods,
        all_running,
        creates,
        starts: starts.timing(),
        delete_all,
        peak_rss_kib,
        peak_open_files,
        event_lags: lags_since(lags_before),
    })
}

/// A scale run that gave no figures: which it was, and why (a timeout says how many pods
/// ran by then).
#[derive(Debug, Clone)]
pub struct ScaleFailure {
    pub target: String,
    pub pods: usize,
    pub why: String,
    /// The container event lags during the run until it failed, where it ran (see
    /// `ScaleReport::event_lags`); None for a run that was never made.
    pub event_lags: Option<(u64, u64)>,
}

/// A scale run's figures, or why it has none.
pub type ScaleOutcome = Result<ScaleReport, ScaleFailure>;

fn outcome_name(o: &ScaleOutcome) -> (&str, usize) {
    match o {
        Ok(r) => (&r.target, r.pods),
        Err(f) => (&f.target, f.pods),
    }
}

/// The scale runs side by side: for each target, the run of a tenth of the pods, the full
/// run, and the full run's figure as a multiple of the tenth's (a linear growth is 10x for
/// the totals, 1x for the rates and each pod's start). A run that failed shows `-` in its
/// column, and why beneath the table: the runs that did finish keep their figures.
pub fn scale_table(pairs: &[(ScaleOutcome, ScaleOutcome)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let Some((small, large)) = pairs.first() else { return out };
    let ((_, small_pods), (_, large_pods)) = (outcome_name(small), outcome_name(large));
    let _ = writeln!(
        out,
        "two-container pods at once: {large_pods} beside {small_pods} (ratio: the {large_pods} run's figure over the {small_pods} run's; linear is {}x for totals, 1x for rates and per-pod times)",
        large_pods / small_pods.max(1)
    );
    let mut header = format!("{:<12} {:>4}", "", "");
    for (s, l) in pairs {
        let ((st, sp), (lt, lp)) = (outcome_name(s), outcome_name(l));
        header.push_str(&format!(" {:>16} {:>16} {:>8}", format!("{st} {sp}"), format!("{lt} {lp}"), "ratio"));
    }
    let _ = writeln!(out, "{}", header.trim_end());
    let rows = |o: &ScaleOutcome| o.as_ref().ok().map(ScaleReport::rows);
    let names = ScaleReport::row_names();
    for (i, (name, unit)) in names.into_iter().enumerate() {
        let mut line = format!("{name:<12} {unit:>4}");
        for (s, l) in pairs {
            let (a, b) = (rows(s).map(|r| r[i].2), rows(l).map(|r| r[i].2));
            let cell = |v: Option<f64>| v.map_or_else(|| format!(" {:>16}", "-"), |v| format!(" {v:>16.2}"));
            line.push_str(&cell(a));
            line.push_str(&cell(b));
            match (a, b) {
                (Some(a), Some(b)) => line.push_str(&format!(" {:>7.2}x", b / a.max(f64::MIN_POSITIVE))),
                _ => line.push_str(&format!(" {:>8}", "-")),
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    // A run that failed counts its lags until then too (a timeout is when they matter most).
    let lags: Vec<String> = pairs
        .iter()
        .flat_map(|(s, l)| [s, l])
        .filter_map(|o| match o {
            Ok(r) => Some((r.target.as_str(), r.pods, r.event_lags, "")),
            Err(f) => Some((f.target.as_str(), f.pods, f.event_lags?, " (until it failed)")),
        })
        .map(|(target, pods, (lags, lost), until)| format!("{target} {pods}{until}: {lost} lost in {lags} lags"))
        .collect();
    if !lags.is_empty() {
        let _ = writeln!(
            out,
            "container events lost by a reader that fell behind (each lag: pods look at their containers again): {}",
            lags.join(", ")
        );
    }
    for f in pairs.iter().flat_map(|(s, l)| [s, l]).filter_map(|o| o.as_ref().err()) {
        let _ = writeln!(out, "{} {}: no figures: {}", f.target, f.pods, f.why);
    }
    out
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
            phases: Vec::new(),
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
            phases: Vec::new(),
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
    fn a_pod_start_splits_into_the_runtimes_phases_and_the_rest() {
        let ms = Duration::from_millis;
        let mut t = Timings::new(2);
        // The first pod's start: 3 ms of sandbox, 5 of shims, of 20.
        t.started(ms(20), (None, None));
        t.phases_of_a_start(&[], &[("sandbox", ms(3)), ("shim", ms(5))]);
        // The second's: 4 of sandbox, 6 of shims and 1 of a phase first seen now, of 30.
        t.started(ms(30), (None, None));
        t.phases_of_a_start(&[("sandbox", ms(3)), ("shim", ms(5))], &[("sandbox", ms(7)), ("shim", ms(11)), ("cgroup", ms(1))]);
        let report = t.report("reference", 2);
        let per_pod: Vec<(&str, Vec<Duration>)> = report.phases.iter().map(|p| (p.name, p.samples.clone())).collect();
        assert_eq!(per_pod, vec![("sandbox", vec![ms(3), ms(4)]), ("shim", vec![ms(5), ms(6)]), ("cgroup", vec![ms(0), ms(1)])]);
        let text = start_phases(&[report]);
        // Medians (the higher of two): 4 + 6 + 1 of the start's 30 ms; the rest is 19 ms.
        let rest = text.lines().find(|l| l.starts_with("the rest")).expect("a line for the rest");
        assert!(rest.contains("19.00 ms"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("shim") && l.contains("6.00 ms") && l.contains("20.0%")), "{text}");
    }

    fn scale_report(target: &str, pods: usize, secs: u64) -> ScaleReport {
        ScaleReport {
            target: target.into(),
            pods,
            all_running: Duration::from_secs(secs),
            creates: Duration::from_secs(1),
            starts: Timing { name: "pod start", samples: vec![Duration::from_millis(250); pods] },
            delete_all: Duration::from_secs(2),
            peak_rss_kib: 64 * 1024,
            peak_open_files: 100,
            event_lags: (0, 0),
        }
    }

    #[test]
    fn a_scale_run_that_timed_out_leaves_the_others_figures_in_the_table() {
        let timed_out = ScaleFailure {
            target: "serve".into(),
            pods: 1000,
            why: "start 1000 pods at once through serve (612 of them Running by then): timed out after 300s".into(),
            event_lags: Some((2, 300)),
        };
        let pairs = vec![
            (Ok(scale_report("reference", 100, 3)), Ok(scale_report("reference", 1000, 45))),
            (Ok(scale_report("serve", 100, 4)), Err(timed_out)),
        ];
        let text = scale_table(&pairs);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("1000 beside 100"), "{text}");
        assert!(lines[1].contains("reference 100") && lines[1].contains("reference 1000") && lines[1].contains("serve 1000"), "{text}");
        let all_running: Vec<&str> = lines[2].split_whitespace().collect();
        // name (two words), unit, reference 100, reference 1000, ratio, serve 100, serve 1000, ratio
        assert_eq!(all_running, ["all", "Running", "s", "3.00", "45.00", "15.00x", "4.00", "-", "-"], "{text}");
        for row in &lines[2..9] {
            let words: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(words[words.len() - 2..], ["-", "-"], "{text}");
            assert!(!words.contains(&"NaN") && !words.contains(&"inf"), "{text}");
        }
        assert_eq!(
            lines.last().copied(),
            Some("serve 1000: no figures: start 1000 pods at once through serve (612 of them Running by then): timed out after 300s"),
            "{text}"
        );
        // The failed run's lags are counted beside the others'.
        let lags = lines.iter().find(|l| l.starts_with("container events lost")).expect("the lags' line");
        assert!(lags.ends_with("serve 100: 0 lost in 0 lags, serve 1000 (until it failed): 300 lost in 2 lags"), "{text}");
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
        let report = BenchReport { target: "reference".into(), pods: 3, timings: vec![t("pod start", &[9, 11, 10])], start_split: None, phases: Vec::new() };
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
