//! Container logs, as `kubectl logs` shows them: what a container wrote to stdout and stderr,
//! read through the target's log call (on podspec's nodes: the kubelet, which has the runtime
//! read its log file, in the CRI log format on a CRI runtime).
//!
//! A wait for a log ends early, with the log's diff, once the container runs no more (the pod
//! has ended, or the container has ended and restartPolicy does not restart it): its log is then
//! complete and cannot come to hold what is waited for (`pods::container_runs_no_more`).

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::failure::record;
use super::pods::container_runs_no_more;
use super::substitute::substitute;
use super::wait::{eventually_or_never_on_pod, Look};
use super::{PodWorld, StepFailure};

#[given(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
#[when(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
#[then(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
async fn log_is(world: &mut PodWorld, step: &Step, container: String, pod: String) -> Result<(), StepFailure> {
    let expected = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the expected log as a docstring"))?;
    let expected = substitute(world, expected.trim_start_matches('\n').trim_end_matches('\n')).await?;
    let w = &*world;
    let (target, r) = (w.target(), w.pod_ref(&pod));
    let what = format!("the log of container {container:?} of pod {pod:?}");
    let r = eventually_or_never_on_pod(target, &r, &what, w.timeouts().eventually, || async {
        let log = target.logs(&r, &container, false).await.map_err(|e| Look::NotYet(e.into()))?;
        // A log's last line ends with a newline, as the docstring's does not.
        let actual = log.strip_suffix('\n').unwrap_or(&log);
        if actual == expected {
            return Ok(());
        }
        Err(final_or_not(target, &r, &container, |why| StepFailure::mismatch(format!("{what}{why}"), expected.clone(), actual)).await)
    })
    .await;
    record(world, r)
}

/// Every non-blank line of the docstring is a line of the container's log (in any order, with
/// other lines around them): what Kubernetes' e2e tests check of a container's output
/// (`TestContainerOutput`: each expected string is in the log).
#[given(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" has the lines:?$"#)]
#[when(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" has the lines:?$"#)]
#[then(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" has the lines:?$"#)]
async fn log_has_lines(world: &mut PodWorld, step: &Step, container: String, pod: String) -> Result<(), StepFailure> {
    let expected = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the expected lines as a docstring"))?;
    let expected = substitute(world, expected).await?;
    let wanted: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
    if wanted.is_empty() {
        return Err(StepFailure::new("this step needs at least one expected line"));
    }
    let w = &*world;
    let (target, r) = (w.target(), w.pod_ref(&pod));
    let r = eventually_or_never_on_pod(
        target,
        &r,
        &format!("the log of container {container:?} of pod {pod:?}"),
        w.timeouts().eventually,
        || async {
            let log = target.logs(&r, &container, false).await.map_err(|e| Look::NotYet(e.into()))?;
            let missing: Vec<&str> = wanted.iter().copied().filter(|l| !log.lines().any(|a| a == *l)).collect();
            if missing.is_empty() {
                return Ok(());
            }
            Err(final_or_not(target, &r, &container, |why| {
                StepFailure::mismatch(
                    format!("the log of container {container:?} of pod {pod:?} lacks {} line(s){why}", missing.len()),
                    missing.join("\n"),
                    &log,
                )
            })
            .await)
        },
    )
    .await;
    record(world, r)
}

/// A log that differs from what is waited for: final (`Look::Never`) when the container runs no
/// more, its failure then saying why the log is complete; otherwise not yet. The pod is read
/// after the log, so a container that ends in between is only seen as ended on a later look,
/// whose log is then read after the end.
async fn final_or_not(
    target: &dyn crate::targets::Target,
    pod: &crate::targets::PodRef,
    container: &str,
    failure: impl FnOnce(String) -> StepFailure,
) -> Look {
    let runs_no_more = match target.get_pod(pod).await {
        Ok(p) => container_runs_no_more(&p, container),
        Err(_) => None,
    };
    match runs_no_more {
        Some(why) => Look::Never(failure(format!("; its log is complete{why}"))),
        None => Look::NotYet(failure(String::new())),
    }
}
