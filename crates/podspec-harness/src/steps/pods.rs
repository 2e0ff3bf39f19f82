//! Pods: create them (from a fixture or inline), wait for them, delete them, crash containers.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use k8s_openapi::api::core::v1::Pod;

use super::failure::record;
use super::wait::{eventually_on_pod, eventually_or_never_on_pod, Look};
use super::{PodWorld, StepFailure};
use crate::manifest::{self, Source};
use crate::targets::PodRef;

/// The manifest a pod step creates: a file under `fixtures/pods/`, or the step's docstring.
#[derive(Clone, Copy)]
pub enum ManifestRef<'a> {
    Fixture(&'a str),
    Inline(&'a str),
    /// The docstring of `creating pod "NAME" is refused ...`: a pod the API is to refuse, so
    /// only parsed up front (its API errors are what the scenario states).
    RefusedInline(&'a str),
    /// The docstring of `I add the ephemeral container to pod ...`: one ephemeral container,
    /// checked up front as a container the target must run.
    Ephemeral(&'a str),
    /// The docstring of `adding the ephemeral container ... is refused ...`: only parsed.
    RefusedEphemeral(&'a str),
}

/// Where a step's docstring text is: gherkin keeps the newline after the opening quotes, so the
/// text's first line is the line of the quotes, one below the step.
pub fn docstring_source(file: &str, step: &Step) -> Source {
    Source { file: file.into(), first_line: step.position.line + 1 }
}

/// A fixture name that leads outside `<fixtures>/pods/` (its text is the step's failure).
#[derive(Debug, thiserror::Error)]
#[error("fixture {name:?} is not a file under {}: fixture names stay inside it", .pods.display())]
pub struct FixtureOutside {
    pub name: String,
    pub pods: std::path::PathBuf,
}

/// The file of fixture `name` under `<fixtures>/pods/`. A name must stay inside that folder: an
/// absolute path, a `..`, or a link that leads outside is refused, and nothing is opened.
pub fn fixture_path(fixtures_dir: &std::path::Path, name: &str) -> Result<std::path::PathBuf, FixtureOutside> {
    use std::path::Component;
    let pods = fixtures_dir.join("pods");
    let outside = || FixtureOutside { name: name.to_string(), pods: pods.clone() };
    let rel = std::path::Path::new(name);
    if name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(outside());
    }
    let path = pods.join(rel);
    // A link inside the folder may not lead out of it either.
    if let (Ok(real), Ok(root)) = (std::fs::canonicalize(&path), std::fs::canonicalize(&pods)) {
        if !real.starts_with(&root) {
            return Err(outside());
        }
    }
    Ok(path)
}

/// Reads, checks and names a pod for this scenario.
pub fn load(world: &PodWorld, manifest: ManifestRef<'_>, rename: Option<&str>, step: &Step) -> Result<Pod, StepFailure> {
    let mut pod = match manifest {
        ManifestRef::Fixture(file) => {
            let path = fixture_path(&world.ctx.fixtures_dir, file).map_err(|e| StepFailure::new(e.to_string()))?;
            manifest::load_pod_file(&path).map_err(|e| StepFailure::new(e.to_string()))?
        }
        ManifestRef::Inline(text) => {
            manifest::load_pod(text, &docstring_source("(inline manifest)", step)).map_err(|e| StepFailure::new(e.to_string()))?
        }
        ManifestRef::RefusedInline(text) => {
            manifest::parse_pod(text, &docstring_source("(inline manifest)", step)).map_err(|e| StepFailure::new(e.to_string()))?
        }
        ManifestRef::Ephemeral(_) | ManifestRef::RefusedEphemeral(_) => {
            return Err(StepFailure::new("an ephemeral container is not a pod manifest"));
        }
    };
    if let Some(name) = rename {
        pod.metadata.name = Some(name.to_string());
    }
    pod.metadata.namespace = Some(world.namespace.clone());
    Ok(pod)
}

async fn create(world: &mut PodWorld, pod: Pod, running: bool) -> Result<(), StepFailure> {
    let pod = super::substitute::substitute_in_pod(world, pod).await?;
    let name = pod.metadata.name.clone().unwrap_or_default();
    let created = world.create_pod(&pod).await?;
    let r = PodRef { namespace: world.namespace.clone(), name: created.metadata.name.unwrap_or(name) };
    world.pods.push(r.clone());
    if running {
        wait_running(world, &r.name).await?;
    }
    Ok(())
}

fn docstring(step: &Step) -> Result<&str, StepFailure> {
    step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the pod manifest as a docstring below it"))
}

#[given(regex = r#"^(?:a|the) (running )?pod from fixture "([^"]+)"$"#)]
#[when(regex = r#"^(?:a|the) (running )?pod from fixture "([^"]+)"$"#)]
async fn pod_from_fixture(world: &mut PodWorld, step: &Step, running: String, file: String) -> Result<(), StepFailure> {
    let pod = load(world, ManifestRef::Fixture(&file), None, step)?;
    let r = create(world, pod, !running.is_empty()).await;
    record(world, r)
}

#[given(regex = r#"^(?:a|the) (running )?pod "([^"]+)" from fixture "([^"]+)"$"#)]
#[when(regex = r#"^(?:a|the) (running )?pod "([^"]+)" from fixture "([^"]+)"$"#)]
async fn named_pod_from_fixture(world: &mut PodWorld, step: &Step, running: String, name: String, file: String) -> Result<(), StepFailure> {
    let pod = load(world, ManifestRef::Fixture(&file), Some(&name), step)?;
    let r = create(world, pod, !running.is_empty()).await;
    record(world, r)
}

#[given(regex = r#"^(?:a|the) (running )?pod:?$"#)]
#[when(regex = r#"^(?:a|the) (running )?pod:?$"#)]
async fn inline_pod(world: &mut PodWorld, step: &Step, running: String) -> Result<(), StepFailure> {
    let pod = load(world, ManifestRef::Inline(docstring(step)?), None, step)?;
    let r = create(world, pod, !running.is_empty()).await;
    record(world, r)
}

#[given(regex = r#"^(?:a|the) (running )?pod "([^"]+)":?$"#)]
#[when(regex = r#"^(?:a|the) (running )?pod "([^"]+)":?$"#)]
async fn named_inline_pod(world: &mut PodWorld, step: &Step, running: String, name: String) -> Result<(), StepFailure> {
    let pod = load(world, ManifestRef::Inline(docstring(step)?), Some(&name), step)?;
    let r = create(world, pod, !running.is_empty()).await;
    record(world, r)
}

/// Waits until the pod is Running and every container runs.
pub async fn wait_running(world: &PodWorld, name: &str) -> Result<Pod, StepFailure> {
    let r = world.pod_ref(name);
    let target = world.target();
    // A pod that has ended (Succeeded or Failed) never runs again: the wait ends with the diff.
    eventually_or_never_on_pod(target, &r, &format!("pod {name:?} running"), world.timeouts().pod, || async {
        let pod = target.get_pod(&r).await.map_err(|e| Look::NotYet(e.into()))?;
        let status = pod.status.clone().unwrap_or_default();
        let phase = status.phase.clone().unwrap_or_default();
        if phase == "Running" && not_running(&status).is_empty() {
            return Ok(pod);
        }
        let actual = why_not_running(&status);
        let failure = StepFailure::mismatch(format!("pod {name:?} is {actual}"), "phase Running, every container running", actual);
        Err(if ended(&pod).is_some() { Look::Never(failure) } else { Look::NotYet(failure) })
    })
    .await
}

/// The phase of a pod that has ended (Succeeded or Failed): Kubernetes never runs it again, and
/// its status no longer changes.
pub fn ended(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).filter(|p| *p == "Succeeded" || *p == "Failed")
}

/// Why the present instance of container `name` of `pod` runs no more, if it does not: the pod
/// has ended, or the container has ended and the pod's restartPolicy restarts it no more (a
/// container of `spec.containers` under Never, or under OnFailure after exit code 0). Then what
/// the container's status and log say of this instance is final. `None` when the container may
/// still run (or run again), or has no status yet.
pub fn container_runs_no_more(pod: &Pod, name: &str) -> Option<&'static str> {
    let has_ended = ended(pod).is_some();
    let spec = pod.spec.as_ref();
    let policy = spec.and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into());
    let regular = spec.is_some_and(|s| s.containers.iter().any(|c| c.name == name));
    let status = pod.status.as_ref()?;
    let all = status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten());
    let c = all.into_iter().find(|c| c.name == name)?;
    runs_no_more(has_ended, &policy, regular, c)
}

fn runs_no_more(has_ended: bool, policy: &str, regular: bool, c: &k8s_openapi::api::core::v1::ContainerStatus) -> Option<&'static str> {
    let exit = c.state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code);
    if has_ended {
        Some(" (the pod has ended)")
    } else if regular && matches!((policy, exit), ("Never", Some(_)) | ("OnFailure", Some(0))) {
        Some(" (the container has ended and restartPolicy restarts it no more)")
    } else {
        None
    }
}

/// Why a pod does not run, never empty: its phase and the pod's reason, then each container
/// that does not run with its state (its waiting reason and the runtime's last error), or that
/// the node has reported no container yet.
fn why_not_running(status: &k8s_openapi::api::core::v1::PodStatus) -> String {
    let phase = match status.phase.as_deref() {
        None | Some("") => "without a phase yet (the node has not reported on the pod)".to_string(),
        Some(p) => p.to_string(),
    };
    let unscheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| {
            format!(
                "; not scheduled: {}{}",
                c.reason.as_deref().unwrap_or("no reason given"),
                c.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let waiting = not_running(status);
    let containers = if status.container_statuses.as_ref().is_none_or(|c| c.is_empty()) {
        "no container has a status yet (the node has not started the pod's containers)".to_string()
    } else if waiting.is_empty() {
        "every container runs, but the pod is not Running yet".to_string()
    } else {
        format!("not running: {}", waiting.join(", "))
    };
    format!("{phase}{}{unscheduled}; {containers}", pod_reason(status))
}

/// The containers that do not run, each with its state (its waiting reason and message).
fn not_running(status: &k8s_openapi::api::core::v1::PodStatus) -> Vec<String> {
    status
        .container_statuses
        .iter()
        .flatten()
        .filter(|c| c.state.as_ref().is_none_or(|s| s.running.is_none()))
        .map(|c| format!("{} ({})", c.name, describe_state(c)))
        .collect()
}

/// What the pod's status says about why it does not run (its reason and message, as the node
/// gave them, such as the sandbox's error), or nothing.
fn pod_reason(status: &k8s_openapi::api::core::v1::PodStatus) -> String {
    match (status.reason.as_deref(), status.message.as_deref()) {
        (None, None) => String::new(),
        (Some(r), None) => format!(" ({r})"),
        (None, Some(m)) => format!(" ({m})"),
        (Some(r), Some(m)) => format!(" ({r}: {m})"),
    }
}

fn describe_state(c: &k8s_openapi::api::core::v1::ContainerStatus) -> String {
    let Some(s) = &c.state else { return "no state".into() };
    if let Some(w) = &s.waiting {
        return format!(
            "waiting: {}{}",
            w.reason.as_deref().unwrap_or(""),
            w.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
        );
    }
    if let Some(t) = &s.terminated {
        return format!("terminated: exit code {}, {}", t.exit_code, t.reason.as_deref().unwrap_or(""));
    }
    "running".into()
}

#[given(regex = r#"^pod "([^"]+)" is running$"#)]
#[when(regex = r#"^pod "([^"]+)" is running$"#)]
#[then(regex = r#"^pod "([^"]+)" is running$"#)]
async fn pod_is_running(world: &mut PodWorld, name: String) -> Result<(), StepFailure> {
    let r = wait_running(world, &name).await.map(|_| ());
    record(world, r)
}

#[given(regex = r#"^pod "([^"]+)" is in phase "([^"]+)"$"#)]
#[when(regex = r#"^pod "([^"]+)" is in phase "([^"]+)"$"#)]
#[then(regex = r#"^pod "([^"]+)" is in phase "([^"]+)"$"#)]
async fn pod_in_phase(world: &mut PodWorld, name: String, phase: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&name);
    let target = world.target();
    // A pod that has ended stays in its phase: waiting for another ends early.
    let res = eventually_or_never_on_pod(target, &r, &format!("pod {name:?} in phase {phase}"), world.timeouts().pod, || async {
        let pod = target.get_pod(&r).await.map_err(|e| Look::NotYet(e.into()))?;
        let has_ended = ended(&pod).is_some();
        let actual = pod.status.and_then(|s| s.phase).unwrap_or_default();
        if actual == phase {
            return Ok(());
        }
        let failure = StepFailure::mismatch(format!("pod {name:?} is in phase {actual}"), phase.clone(), actual);
        Err(if has_ended { Look::Never(failure) } else { Look::NotYet(failure) })
    })
    .await;
    record(world, res)
}

#[when(regex = r#"^I delete pod "([^"]+)"$"#)]
async fn delete_pod(world: &mut PodWorld, name: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&name);
    let timeout = world.timeouts().pod;
    tokio::time::timeout(timeout, world.target().delete_pod(&r))
        .await
        .map_err(|_| StepFailure::new(format!("deleting pod {name:?} did not finish within {timeout:?}")))??;
    // A pod that finalizers hold stays this scenario's to clean up.
    if matches!(world.target().get_pod(&r).await, Err(crate::targets::TargetError::NotFound(_))) {
        world.pods.retain(|p| p != &r);
    }
    Ok(())
}

/// The pod is no longer in the API, within the pod timeout or the seconds given.
#[given(regex = r#"^pod "([^"]+)" is gone(?: within (\d+) seconds)?$"#)]
#[when(regex = r#"^pod "([^"]+)" is gone(?: within (\d+) seconds)?$"#)]
#[then(regex = r#"^pod "([^"]+)" is gone(?: within (\d+) seconds)?$"#)]
async fn pod_is_gone(world: &mut PodWorld, name: String, within: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&name);
    let target = world.target();
    let bound = within.parse().map_or(world.timeouts().pod, std::time::Duration::from_secs);
    let res = eventually_on_pod(target, &r, &format!("pod {name:?} gone"), bound, || async {
        match target.get_pod(&r).await {
            Err(crate::targets::TargetError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
            Ok(p) => Err(StepFailure::mismatch(
                format!("pod {name:?} still exists"),
                "no such pod",
                format!("pod with uid {}", p.metadata.uid.unwrap_or_default()),
            )),
        }
    })
    .await;
    record(world, res)
}

#[when(regex = r#"^the main process of container "([^"]+)" of pod "([^"]+)" dies$"#)]
async fn main_process_dies(world: &mut PodWorld, container: String, pod: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    world.target().kill_container(&r, &container).await?;
    Ok(())
}

#[given(regex = r#"^container "([^"]+)" of pod "([^"]+)" is running with restart count (\d+)$"#)]
#[when(regex = r#"^container "([^"]+)" of pod "([^"]+)" is running with restart count (\d+)$"#)]
#[then(regex = r#"^container "([^"]+)" of pod "([^"]+)" is running with restart count (\d+)$"#)]
async fn running_with_restart_count(world: &mut PodWorld, container: String, pod: String, count: i32) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    let target = world.target();
    // It never will when the pod has ended, when the count is past the one expected (counts only
    // grow), or when the container has ended and the pod's restartPolicy restarts it no more.
    let res = eventually_or_never_on_pod(
        target,
        &r,
        &format!("container {container:?} of pod {pod:?} running with restart count {count}"),
        world.timeouts().pod,
        || async {
            let p = target.get_pod(&r).await.map_err(|e| Look::NotYet(e.into()))?;
            let has_ended = ended(&p).is_some();
            let policy = p.spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into());
            let regular = p.spec.as_ref().is_some_and(|s| s.containers.iter().any(|c| c.name == container));
            let status = p.status.unwrap_or_default();
            let all = status.container_statuses.into_iter().flatten().chain(status.init_container_statuses.into_iter().flatten());
            let status = all.into_iter().find(|c| c.name == container);
            let Some(c) = status else {
                return Err(Look::NotYet(StepFailure::new(format!("pod {pod:?} reports no status for container {container:?}"))));
            };
            let running = c.state.as_ref().is_some_and(|s| s.running.is_some());
            let actual = format!("restart count {}, {}", c.restart_count, describe_state(&c));
            if running && c.restart_count == count {
                return Ok(());
            }
            let why = if c.restart_count > count && !has_ended {
                Some(" (a restart count only grows)")
            } else {
                runs_no_more(has_ended, &policy, regular, &c)
            };
            let never = why.is_some();
            let why = why.unwrap_or("");
            let failure = StepFailure::mismatch(
                format!("container {container:?} has {actual}{why}"),
                format!("restart count {count}, running"),
                actual,
            );
            Err(if never { Look::Never(failure) } else { Look::NotYet(failure) })
        },
    )
    .await;
    record(world, res)
}

#[given(regex = r#"^pods "([^"]+)" and "([^"]+)" have different IPs$"#)]
#[when(regex = r#"^pods "([^"]+)" and "([^"]+)" have different IPs$"#)]
#[then(regex = r#"^pods "([^"]+)" and "([^"]+)" have different IPs$"#)]
async fn different_ips(world: &mut PodWorld, a: String, b: String) -> Result<(), StepFailure> {
    let (ia, ib) = (pod_ip(world, &a).await?, pod_ip(world, &b).await?);
    if ia == ib {
        return record(
            world,
            Err(StepFailure::mismatch(format!("pods {a:?} and {b:?} both have IP {ia}"), format!("an IP other than {ia}"), ib)),
        );
    }
    Ok(())
}

async fn pod_ip(world: &PodWorld, name: &str) -> Result<String, StepFailure> {
    let p = world.target().get_pod(&world.pod_ref(name)).await?;
    p.status.and_then(|s| s.pod_ip).ok_or_else(|| StepFailure::new(format!("pod {name:?} has no IP")))
}

/// The pod manifest a step creates, if it is a pod-creating step (for checks before a run).
pub fn manifest_of(step: &Step) -> Option<ManifestRef<'_>> {
    static FIXTURE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"^(?:a|the) (?:running )?pod (?:"[^"]+" )?from fixture "([^"]+)"$"#).unwrap());
    static INLINE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#"^(?:a|the) (?:running )?pod(?: "[^"]+")?:?$"#).unwrap());
    if let Some(c) = FIXTURE.captures(&step.value) {
        return Some(ManifestRef::Fixture(c.get(1).unwrap().as_str()));
    }
    static REFUSED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(super::api::CREATE_REFUSED).unwrap());
    if INLINE.is_match(&step.value) {
        return step.docstring.as_deref().map(ManifestRef::Inline);
    }
    if REFUSED.is_match(&step.value) {
        return step.docstring.as_deref().map(ManifestRef::RefusedInline);
    }
    static EPHEMERAL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| regex::Regex::new(super::ephemeral::ADD).unwrap());
    static EPHEMERAL_REFUSED: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(super::ephemeral::ADD_REFUSED).unwrap());
    if EPHEMERAL.is_match(&step.value) {
        return step.docstring.as_deref().map(ManifestRef::Ephemeral);
    }
    if EPHEMERAL_REFUSED.is_match(&step.value) {
        return step.docstring.as_deref().map(ManifestRef::RefusedEphemeral);
    }
    None
}

#[cfg(test)]
mod not_running_tests {
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus};

    #[test]
    fn a_pod_that_cannot_start_says_why() {
        let status = PodStatus {
            phase: Some("Pending".into()),
            message: Some("attach pod to the node network: Too many open files (os error 24)".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "a".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting { reason: Some("ContainerCreating".into()), message: None }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(super::not_running(&status), vec!["a (waiting: ContainerCreating)".to_string()]);
        assert!(super::pod_reason(&status).contains("Too many open files"), "{}", super::pod_reason(&status));
        assert_eq!(
            super::why_not_running(&status),
            "Pending (attach pod to the node network: Too many open files (os error 24)); not running: a (waiting: ContainerCreating)"
        );
    }

    /// Under load a pod-start timeout said nothing after "not running:": a pod the node has not
    /// reported on yet, or whose containers have no status yet, is said to be so.
    #[test]
    fn a_pod_start_timeout_always_says_why() {
        use k8s_openapi::api::core::v1::PodCondition;
        assert_eq!(
            super::why_not_running(&PodStatus::default()),
            "without a phase yet (the node has not reported on the pod); no container has a status yet (the node has not started the pod's containers)"
        );
        let pending = PodStatus {
            phase: Some("Pending".into()),
            conditions: Some(vec![PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some("0/1 nodes are available".into()),
                ..Default::default()
            }]),
            container_statuses: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            super::why_not_running(&pending),
            "Pending; not scheduled: Unschedulable: 0/1 nodes are available; no container has a status yet (the node has not started the pod's containers)"
        );
        let waiting_with_error = PodStatus {
            phase: Some("Pending".into()),
            container_statuses: Some(vec![ContainerStatus {
                name: "a".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("CreateContainerError".into()),
                        message: Some("Too many open files (os error 24)".into()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            super::why_not_running(&waiting_with_error),
            "Pending; not running: a (waiting: CreateContainerError: Too many open files (os error 24))"
        );
    }

    #[test]
    fn fixture_names_stay_inside_the_fixtures_pods_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        assert!(super::fixture_path(&dir, "two-containers.yaml").is_ok());
        let e = super::fixture_path(std::path::Path::new("/f"), "/etc/shadow").unwrap_err().to_string();
        assert_eq!(e, r#"fixture "/etc/shadow" is not a file under /f/pods: fixture names stay inside it"#);
        for bad in ["../../../../../../etc/passwd", "/etc/shadow", "a/../../x.yaml", "", "."] {
            let e = super::fixture_path(&dir, bad).unwrap_err().to_string();
            assert!(e.contains("fixture names stay inside it") && !e.contains("root:"), "{bad}: {e}");
        }
    }
}
