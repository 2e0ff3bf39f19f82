//! `podspec bench`: starts and deletes two-container pods on a target and reports the median
//! and 95th percentile of pod start (create until every container runs), exec and delete.
//! A benchmark, not a test: on a shared machine, read the medians and compare ratios.

use std::fmt;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

use crate::runtime::cri::{ContainerConfig, ImageService, PodSandboxConfig, RuntimeError, RuntimeService};
use crate::target::{PodRef, Target, TargetError};

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

pub async fn run(target: &dyn Target, pods: usize) -> Result<BenchReport, TargetError> {
    let namespace = format!("podspec-bench-{}", std::process::id());
    let mut start = Timing { name: "pod start", samples: Vec::with_capacity(pods) };
    let mut exec = Timing { name: "exec", samples: Vec::with_capacity(pods) };
    let mut delete = Timing { name: "delete", samples: Vec::with_capacity(pods) };
    let cmd = vec!["true".to_string()];
    for i in 0..pods {
        let pod = bench_pod(&namespace, i);
        let p = PodRef { namespace: namespace.clone(), name: format!("bench-{i}") };
        let t = Instant::now();
        target.create_pod(&pod).await?;
        let started = wait_running(target, &p).await;
        start.samples.push(t.elapsed());
        if let Err(e) = started {
            let _ = target.delete_pod(&p).await;
            return Err(e);
        }
        let t = Instant::now();
        let out = target.exec(&p, "b", &cmd, Duration::from_secs(10)).await;
        exec.samples.push(t.elapsed());
        let t = Instant::now();
        target.delete_pod(&p).await?;
        delete.samples.push(t.elapsed());
        let out = out?;
        if out.exit_code != 0 {
            return Err(TargetError::Other(format!("exec `true` in {p} exited {}: {}", out.exit_code, out.stderr)));
        }
    }
    Ok(BenchReport { target: target.name().to_string(), pods, timings: vec![start, exec, delete] })
}

/// The same pod start, exec and delete made straight to a runtime through the CRI traits, with
/// no API or kubelet above: what the runtime itself takes. The calls are the kubelet's: the
/// sandbox and its status, each container's image status, create and start; ExecSync; each
/// container stopped, then the sandbox stopped and removed.
pub async fn run_runtime(
    name: &str,
    runtime: &dyn RuntimeService,
    images: &dyn ImageService,
    pods: usize,
) -> Result<BenchReport, RuntimeError> {
    let mut start = Timing { name: "pod start", samples: Vec::with_capacity(pods) };
    let mut exec = Timing { name: "exec", samples: Vec::with_capacity(pods) };
    let mut delete = Timing { name: "delete", samples: Vec::with_capacity(pods) };
    let namespace = format!("podspec-bench-{}", std::process::id());
    let cmd = vec!["true".to_string()];
    for i in 0..pods {
        let config = PodSandboxConfig {
            name: format!("bench-{i}"),
            namespace: namespace.clone(),
            uid: format!("{namespace}-{i}"),
            hostname: format!("bench-{i}"),
            namespaces: Default::default(),
            sysctls: vec![],
            tmpfs: vec![],
            privileged: false,
            pids_limit: None,
        };
        let t = Instant::now();
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
                };
                images.image_status(&c.image).await?;
                let id = runtime.create_container(&sandbox, &c).await?;
                runtime.start_container(&id).await?;
                ids.push(id);
            }
            Ok::<_, RuntimeError>(ids)
        }
        .await;
        start.samples.push(t.elapsed());
        let ids = match started {
            Ok(ids) => ids,
            Err(e) => {
                let _ = runtime.stop_pod_sandbox(&sandbox).await;
                let _ = runtime.remove_pod_sandbox(&sandbox).await;
                return Err(e);
            }
        };
        let t = Instant::now();
        let out = runtime.exec_sync(&ids[1], &cmd, Duration::from_secs(10)).await;
        exec.samples.push(t.elapsed());
        let t = Instant::now();
        for id in &ids {
            runtime.stop_container(id, Duration::ZERO).await?;
        }
        runtime.stop_pod_sandbox(&sandbox).await?;
        runtime.remove_pod_sandbox(&sandbox).await?;
        delete.samples.push(t.elapsed());
        let out = out?;
        if out.exit_code != 0 {
            return Err(RuntimeError::failed("exec `true`", format!("exited {}: {}", out.exit_code, String::from_utf8_lossy(&out.stderr))));
        }
    }
    Ok(BenchReport { target: name.to_string(), pods, timings: vec![start, exec, delete] })
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
        };
        let text = side_by_side_with(&[report("reference", 10), report("cri", 210), report("cri-direct", 200)], &[(1, 2)]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].trim_end().ends_with("cri/cri-direct"), "{text}");
        assert!(lines[2].trim_end().ends_with("1.05x"), "{text}");
    }

    #[test]
    fn median_and_p95_of_a_known_sample() {
        let t = Timing { name: "x", samples: (1..=100).map(Duration::from_millis).collect() };
        assert_eq!(t.median(), Duration::from_millis(51));
        assert_eq!(t.p95(), Duration::from_millis(95));
    }
}
