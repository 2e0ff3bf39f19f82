//! What must not happen for a while: a pod that keeps its phase, a container that keeps its
//! restart count, a field that keeps its value. Each looks at the pod as it changes (at the
//! latest every second) and fails at the first look where the condition no longer holds, with
//! what it saw; it passes once the time is up. Also the time between two of a pod's timestamps.

use std::time::Duration;

use cucumber::{given, then, when};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::time::Instant;

use super::failure::record;
use super::fields::{lookup, render};
use super::substitute::substitute;
use super::wait::WATCH_RECHECK;
use super::{PodWorld, StepFailure};

/// Looks at pod `pod` until `seconds` have passed; `check` says what broke the condition.
async fn holds_for(
    world: &PodWorld,
    pod: &str,
    seconds: u64,
    what: &str,
    check: impl Fn(&Pod) -> Result<(), StepFailure>,
) -> Result<(), StepFailure> {
    let (target, r) = (world.target(), world.pod_ref(pod));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    loop {
        let p = target.get_pod(&r).await?;
        if let Err(e) = check(&p) {
            return Err(StepFailure {
                message: format!("{what}: broken after {:.1} s of {seconds} s: {}", start.elapsed().as_secs_f64(), e.message),
                mismatch: e.mismatch,
            });
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        target.pod_changed(&r, WATCH_RECHECK.min(end - now)).await;
    }
}

#[given(regex = r#"^pod "([^"]+)" stays in phase "([^"]+)" for (\d+) seconds?$"#)]
#[when(regex = r#"^pod "([^"]+)" stays in phase "([^"]+)" for (\d+) seconds?$"#)]
#[then(regex = r#"^pod "([^"]+)" stays in phase "([^"]+)" for (\d+) seconds?$"#)]
async fn stays_in_phase(world: &mut PodWorld, pod: String, phase: String, seconds: u64) -> Result<(), StepFailure> {
    let r = holds_for(world, &pod, seconds, &format!("pod {pod:?} staying in phase {phase:?}"), |p| {
        let actual = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
        if actual == phase {
            Ok(())
        } else {
            Err(StepFailure::mismatch(format!("pod {pod:?} is in phase {actual:?}"), phase.clone(), actual))
        }
    })
    .await;
    record(world, r)
}

#[given(regex = r#"^container "([^"]+)" of pod "([^"]+)" keeps restart count (\d+) for (\d+) seconds?$"#)]
#[when(regex = r#"^container "([^"]+)" of pod "([^"]+)" keeps restart count (\d+) for (\d+) seconds?$"#)]
#[then(regex = r#"^container "([^"]+)" of pod "([^"]+)" keeps restart count (\d+) for (\d+) seconds?$"#)]
async fn keeps_restart_count(world: &mut PodWorld, container: String, pod: String, count: i32, seconds: u64) -> Result<(), StepFailure> {
    let what = format!("container {container:?} of pod {pod:?} keeping restart count {count}");
    let r = holds_for(world, &pod, seconds, &what, |p| {
        let status = p.status.clone().unwrap_or_default();
        let all = status.container_statuses.into_iter().flatten().chain(status.init_container_statuses.into_iter().flatten());
        let Some(c) = all.into_iter().find(|c| c.name == container) else {
            return Err(StepFailure::new(format!("pod {pod:?} reports no status for container {container:?}")));
        };
        if c.restart_count == count {
            Ok(())
        } else {
            Err(StepFailure::mismatch(
                format!("container {container:?} has restart count {}", c.restart_count),
                count.to_string(),
                c.restart_count.to_string(),
            ))
        }
    })
    .await;
    record(world, r)
}

fn field(p: &Pod, path: &str) -> Result<Option<Value>, StepFailure> {
    let v = serde_json::to_value(p).map_err(|e| StepFailure::new(e.to_string()))?;
    Ok(lookup(&v, path).map_err(|e| StepFailure::new(e.to_string()))?.cloned())
}

fn shown(v: &Option<Value>) -> String {
    v.as_ref().map(render).unwrap_or_else(|| "(absent)".into())
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" stays "(.*)" for (\d+) seconds?$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" stays "(.*)" for (\d+) seconds?$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" stays "(.*)" for (\d+) seconds?$"#)]
async fn field_stays(world: &mut PodWorld, path: String, pod: String, text: String, seconds: u64) -> Result<(), StepFailure> {
    let text = substitute(world, &text).await?;
    let r = holds_for(world, &pod, seconds, &format!("field {path:?} of pod {pod:?} staying {text:?}"), |p| {
        let v = field(p, &path)?;
        if shown(&v) == text {
            Ok(())
        } else {
            Err(StepFailure::mismatch(format!("field {path:?} of pod {pod:?} is {}", shown(&v)), text.clone(), shown(&v)))
        }
    })
    .await;
    record(world, r)
}

/// A timestamp field (RFC 3339, as the API writes them).
fn time_of(p: &Pod, path: &str) -> Result<jiff::Timestamp, StepFailure> {
    let v = field(p, path)?;
    let s = v.as_ref().and_then(Value::as_str).ok_or_else(|| StepFailure::new(format!("field {path:?} is {}, not a time", shown(&v))))?;
    podspec_api::time::parse_rfc3339(s).map_err(|e| StepFailure::new(format!("field {path:?} is {s:?}, not a time: {e}")))
}

/// A time as a failure names it (`2026-01-02 03:04:05 +00:00`), in UTC.
fn shown_time(t: jiff::Timestamp) -> impl std::fmt::Display {
    t.strftime("%Y-%m-%d %H:%M:%S%.f +00:00")
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at (least|most) (\d+) seconds? after its field "([^"]+)"$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at (least|most) (\d+) seconds? after its field "([^"]+)"$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at (least|most) (\d+) seconds? after its field "([^"]+)"$"#)]
async fn time_after(
    world: &mut PodWorld,
    path: String,
    pod: String,
    bound: String,
    seconds: i64,
    other: String,
) -> Result<(), StepFailure> {
    let r = async {
        let p = world.target().get_pod(&world.pod_ref(&pod)).await?;
        let (later, earlier) = (time_of(&p, &path)?, time_of(&p, &other)?);
        let gap = later.duration_since(earlier).as_secs();
        let holds = if bound == "least" { gap >= seconds } else { gap <= seconds };
        if holds {
            Ok(())
        } else {
            Err(StepFailure::mismatch(
                format!(
                    "field {path:?} of pod {pod:?} ({}) is {gap} s after its field {other:?} ({})",
                    shown_time(later),
                    shown_time(earlier)
                ),
                format!("at {bound} {seconds} s"),
                format!("{gap} s"),
            ))
        }
    }
    .await;
    record(world, r)
}

#[given(regex = r#"^deleting pod "([^"]+)" takes between (\d+) and (\d+) seconds$"#)]
#[when(regex = r#"^deleting pod "([^"]+)" takes between (\d+) and (\d+) seconds$"#)]
#[then(regex = r#"^deleting pod "([^"]+)" takes between (\d+) and (\d+) seconds$"#)]
async fn delete_takes(world: &mut PodWorld, pod: String, least: u64, most: u64) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    let start = Instant::now();
    let limit = Duration::from_secs(most + 5);
    let result = async {
        let target = world.target();
        tokio::time::timeout(limit, target.delete_pod(&r))
            .await
            .map_err(|_| StepFailure::new(format!("deleting pod {pod:?} did not finish within {limit:?}")))??;
        // Gone from the API, whichever way the target's delete returns.
        loop {
            match target.get_pod(&r).await {
                Err(crate::targets::TargetError::NotFound(_)) => break,
                Err(e) => return Err(e.into()),
                Ok(_) if start.elapsed() > limit => {
                    return Err(StepFailure::new(format!("pod {pod:?} still exists {limit:?} after its delete")));
                }
                Ok(_) => target.pod_changed(&r, WATCH_RECHECK).await,
            }
        }
        let took = start.elapsed();
        if took >= Duration::from_secs(least) && took <= Duration::from_secs(most) {
            Ok(())
        } else {
            Err(StepFailure::mismatch(
                format!("deleting pod {pod:?} took {:.1} s", took.as_secs_f64()),
                format!("between {least} and {most} s"),
                format!("{:.1} s", took.as_secs_f64()),
            ))
        }
    }
    .await;
    if matches!(world.target().get_pod(&r).await, Err(crate::targets::TargetError::NotFound(_))) {
        world.pods.retain(|p| p != &r);
    }
    record(world, result)
}
