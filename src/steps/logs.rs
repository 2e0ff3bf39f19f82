//! Container logs, as `kubectl logs` shows them: what a container wrote to stdout and stderr,
//! read through the target's log call (on podspec's nodes: the kubelet, which has the runtime
//! read its log file, in the CRI log format on a CRI runtime).

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::failure::record;
use super::substitute::substitute;
use super::wait::eventually;
use super::{PodWorld, StepFailure};

#[given(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
#[when(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
#[then(regex = r#"^the log of container "([^"]+)" of pod "([^"]+)" is:?$"#)]
async fn log_is(world: &mut PodWorld, step: &Step, container: String, pod: String) -> Result<(), StepFailure> {
    let expected = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the expected log as a docstring"))?;
    let expected = substitute(world, expected.trim_start_matches('\n').trim_end_matches('\n')).await?;
    let w = &*world;
    let r = eventually(&format!("the log of container {container:?} of pod {pod:?}"), w.timeouts().eventually, || async {
        let log = w.target().logs(&w.pod_ref(&pod), &container, false).await?;
        // A log's last line ends with a newline, as the docstring's does not.
        let actual = log.strip_suffix('\n').unwrap_or(&log);
        if actual == expected {
            Ok(())
        } else {
            Err(StepFailure::mismatch(format!("the log of container {container:?} of pod {pod:?}"), expected.clone(), actual))
        }
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
    let r = eventually(&format!("the log of container {container:?} of pod {pod:?}"), w.timeouts().eventually, || async {
        let log = w.target().logs(&w.pod_ref(&pod), &container, false).await?;
        let missing: Vec<&str> = wanted.iter().copied().filter(|l| !log.lines().any(|a| a == *l)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StepFailure::mismatch(
                format!("the log of container {container:?} of pod {pod:?} lacks {} line(s)", missing.len()),
                missing.join("\n"),
                &log,
            ))
        }
    })
    .await;
    record(world, r)
}
