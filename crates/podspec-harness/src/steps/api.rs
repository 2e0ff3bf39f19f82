//! The pod as an API object: update it (merge patch or whole object), state how the API
//! answered (code, reason, message), and state its fields (capability `api-server` for the
//! requests; field steps read the pod as any target shows it).

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::failure::record;
use super::fields::{lookup, render};
use super::substitute::substitute;
use super::wait::{eventually_on_pod, eventually_or_never_on_pod, Look};
use super::{PodWorld, StepFailure};
use crate::targets::{TargetCapabilities as _, TargetError};

/// How the API answered the last request of the scenario.
#[derive(Debug, Clone)]
pub struct RequestOutcome {
    pub what: String,
    pub result: Result<Pod, ApiRefusal>,
}

#[derive(Debug, Clone)]
pub struct ApiRefusal {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

impl RequestOutcome {
    fn describe(&self) -> String {
        match &self.result {
            Ok(_) => format!("{} succeeded", self.what),
            Err(e) => format!("{} was refused: {} {}: {}", self.what, e.code, e.reason, e.message),
        }
    }
}

/// The step's docstring without the newlines gherkin keeps after the opening quotes and before
/// the closing ones.
pub(super) fn docstring(step: &Step) -> Result<&str, StepFailure> {
    let text = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs a docstring below it"))?;
    let text = text.strip_prefix('\n').unwrap_or(text);
    Ok(text.strip_suffix('\n').unwrap_or(text))
}

/// Keeps the API's answer; any other failure (the target could not be asked) fails the step. As
/// a Given, the request must succeed: it sets the scene.
pub(super) fn keep(world: &mut PodWorld, step: &Step, what: String, result: Result<Pod, TargetError>) -> Result<(), StepFailure> {
    let result = match result {
        Ok(p) => Ok(p),
        Err(TargetError::Api(s)) => Err(ApiRefusal { code: s.code, reason: s.reason, message: s.message }),
        Err(TargetError::NotFound(p)) => {
            Err(ApiRefusal { code: 404, reason: "NotFound".into(), message: format!("pods {:?} not found", p.name) })
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = RequestOutcome { what, result };
    if step.ty == cucumber::gherkin::StepType::Given && outcome.result.is_err() {
        return Err(StepFailure::new(outcome.describe()));
    }
    world.last_request = Some(outcome);
    Ok(())
}

#[given(regex = r#"^I patch pod "([^"]+)" with:?$"#)]
#[when(regex = r#"^I patch pod "([^"]+)" with:?$"#)]
async fn patch(world: &mut PodWorld, step: &Step, pod: String) -> Result<(), StepFailure> {
    let text = substitute(world, docstring(step)?).await?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the patch is not YAML: {e}")))?;
    let patch: Value = serde_json::to_value(yaml).map_err(|e| StepFailure::new(format!("the patch is not JSON-like: {e}")))?;
    let r = world.pod_ref(&pod);
    let result = async { world.target().require_api_server()?.patch_pod(&r, &patch).await }.await;
    keep(world, step, format!("the merge patch of pod {pod:?}"), result)
}

/// A JSON merge patch of the pod's `status` subresource (`kubectl patch --subresource=status
/// --type=merge`): the status, labels and annotations it gives are written, the spec is not.
/// The answer is kept for the `request` and `answer` steps.
#[given(regex = r#"^I patch pod "([^"]+)" through its status with:?$"#)]
#[when(regex = r#"^I patch pod "([^"]+)" through its status with:?$"#)]
async fn patch_status(world: &mut PodWorld, step: &Step, pod: String) -> Result<(), StepFailure> {
    let text = substitute(world, docstring(step)?).await?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the patch is not YAML: {e}")))?;
    let patch: Value = serde_json::to_value(yaml).map_err(|e| StepFailure::new(format!("the patch is not JSON-like: {e}")))?;
    let r = world.pod_ref(&pod);
    let result = async { world.target().require_api_server()?.patch_pod_status(&r, &patch).await }.await;
    keep(world, step, format!("the merge patch of pod {pod:?} through its status"), result)
}

/// A strategic merge patch of the pod (`kubectl patch --type=strategic`): lists with a merge
/// key, such as the containers by name, merge item by item. The answer is kept for the
/// `request` and `answer` steps.
#[given(regex = r#"^I patch pod "([^"]+)" with the strategic merge patch:?$"#)]
#[when(regex = r#"^I patch pod "([^"]+)" with the strategic merge patch:?$"#)]
async fn strategic_patch(world: &mut PodWorld, step: &Step, pod: String) -> Result<(), StepFailure> {
    let text = substitute(world, docstring(step)?).await?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the patch is not YAML: {e}")))?;
    let patch: Value = serde_json::to_value(yaml).map_err(|e| StepFailure::new(format!("the patch is not JSON-like: {e}")))?;
    let r = world.pod_ref(&pod);
    let result = async { world.target().require_api_server()?.strategic_patch_pod(&r, &patch).await }.await;
    keep(world, step, format!("the strategic merge patch of pod {pod:?}"), result)
}

/// A read-modify-write of the pod's status (test/e2e/common/node/pods.go "should run through the
/// lifecycle of Pods and PodStatus"): the pod is read through its `status` subresource, each
/// condition named (a comma-separated list) must have status FROM there, and is set to TO; the
/// pod is then written back by a PUT of the `status` subresource with the resourceVersion it
/// was read at (a Conflict with a write in between is retried on the newer pod, as client-go's
/// RetryOnConflict does). The answer is kept for the `request` and `answer` steps.
#[given(
    regex = r#"^I update the status of pod "([^"]+)" setting its conditions "([^"]+)" from "(True|False|Unknown)" to "(True|False|Unknown)"$"#
)]
#[when(
    regex = r#"^I update the status of pod "([^"]+)" setting its conditions "([^"]+)" from "(True|False|Unknown)" to "(True|False|Unknown)"$"#
)]
async fn update_status_conditions(
    world: &mut PodWorld,
    step: &Step,
    pod: String,
    types: String,
    from: String,
    to: String,
) -> Result<(), StepFailure> {
    let wanted: Vec<&str> = types.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    let r = world.pod_ref(&pod);
    let mut attempts = 0;
    let result = loop {
        let mut current = world.target().require_api_server()?.get_pod_status(&r).await?;
        let conditions = current.status.as_mut().and_then(|s| s.conditions.as_mut());
        let mut changed = Vec::new();
        for c in conditions.into_iter().flatten() {
            if wanted.contains(&c.type_.as_str()) && c.status == from {
                c.status = to.clone();
                changed.push(c.type_.clone());
            }
        }
        if changed.len() != wanted.len() {
            return Err(StepFailure::mismatch(
                format!("the conditions of pod {pod:?} with status {from:?}, read through its status"),
                wanted.join(", "),
                if changed.is_empty() { "none".to_string() } else { changed.join(", ") },
            ));
        }
        attempts += 1;
        match async { world.target().require_api_server()?.update_pod_status(&r, &current).await }.await {
            Err(TargetError::Api(s)) if s.code == 409 && s.reason == "Conflict" && attempts < 10 => continue,
            other => break other,
        }
    };
    keep(world, step, format!("the update of the status of pod {pod:?} setting conditions {types} to {to:?}"), result)
}

/// A field of the pod the API answered the last request with (not the pod as read later).
#[then(regex = r#"^field "([^"]+)" of the answer is "(.*)"$"#)]
async fn answer_field(world: &mut PodWorld, path: String, expected: String) -> Result<(), StepFailure> {
    let r = (|| {
        let o = outcome(world)?;
        let pod = o.result.as_ref().map_err(|_| StepFailure::new(o.describe()))?;
        let json = serde_json::to_value(pod).map_err(|e| StepFailure::new(e.to_string()))?;
        let found = lookup(&json, &path).map_err(|e| StepFailure::new(e.to_string()))?.filter(|v| !v.is_null()).map(render);
        match found {
            Some(v) if v == expected => Ok(()),
            other => Err(StepFailure::mismatch(
                format!("field {path:?} of the pod {} answered with", o.what),
                expected.clone(),
                other.unwrap_or_else(|| "(absent)".into()),
            )),
        }
    })();
    record(world, r)
}

/// A readiness gate's owner at work: the condition of that type in the pod's status, set through
/// the `status` subresource (a strategic merge patch, conditions merged by type, as the e2e test
/// "should support pod readiness gates" writes them).
#[given(regex = r#"^I set condition "([^"]+)" of pod "([^"]+)" to "(True|False|Unknown)" through its status$"#)]
#[when(regex = r#"^I set condition "([^"]+)" of pod "([^"]+)" to "(True|False|Unknown)" through its status$"#)]
async fn set_condition(world: &mut PodWorld, type_: String, pod: String, status: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    async { world.target().require_api_server()?.set_pod_condition(&r, &type_, &status).await }
        .await
        .map(drop)
        .map_err(|e| StepFailure::new(format!("the status patch of pod {pod:?} setting condition {type_:?} to {status:?}: {e}")))
}

/// Where a read-modify-write puts the changed pod: the pod itself, or its
/// `ephemeralcontainers` subresource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    Pod,
    EphemeralContainers,
}

/// Reads the pod, changes it, and writes the whole object back (a PUT with its
/// resourceVersion, as `kubectl edit` or `replace` do). A conflict with a write in between (the
/// kubelet's status) is retried on the newer object, as client-go's RetryOnConflict does.
async fn read_modify_write(
    world: &mut PodWorld,
    step: &Step,
    pod: &str,
    what: String,
    change: impl Fn(&mut Value) -> Result<(), StepFailure>,
) -> Result<(), StepFailure> {
    read_modify_write_to(world, step, pod, what, Write::Pod, change).await
}

/// As `read_modify_write`, writing to `write`.
pub(super) async fn read_modify_write_to(
    world: &mut PodWorld,
    step: &Step,
    pod: &str,
    what: String,
    write: Write,
    change: impl Fn(&mut Value) -> Result<(), StepFailure>,
) -> Result<(), StepFailure> {
    let r = world.pod_ref(pod);
    let mut attempts = 0;
    let result = loop {
        let current = world.target().get_pod(&r).await?;
        let mut v = serde_json::to_value(&current).map_err(|e| StepFailure::new(e.to_string()))?;
        change(&mut v)?;
        let new: Pod = serde_json::from_value(v).map_err(|e| StepFailure::new(format!("the changed pod is not a pod: {e}")))?;
        attempts += 1;
        let written = match write {
            Write::Pod => async { world.target().require_api_server()?.update_pod(&r, &new).await }.await,
            Write::EphemeralContainers => {
                async { world.target().require_ephemeral_containers()?.update_ephemeral_containers(&r, &new).await }.await
            }
        };
        match written {
            Err(TargetError::Api(s)) if s.code == 409 && s.reason == "Conflict" && attempts < 10 => continue,
            other => break other,
        }
    };
    keep(world, step, what, result)
}

fn json_value(text: &str) -> Result<Value, StepFailure> {
    serde_json::from_str(text).map_err(|e| StepFailure::new(format!("{text} is not a JSON value (strings need quotes): {e}")))
}

#[given(regex = r#"^I set field "([^"]+)" of pod "([^"]+)" to (.+)$"#)]
#[when(regex = r#"^I set field "([^"]+)" of pod "([^"]+)" to (.+)$"#)]
async fn set_field(world: &mut PodWorld, step: &Step, path: String, pod: String, value: String) -> Result<(), StepFailure> {
    let value = json_value(&substitute(world, &value).await?)?;
    let what = format!("the update of pod {pod:?} setting {path} to {value}");
    read_modify_write(world, step, &pod, what, |v| super::fields::set(v, &path, value.clone()).map_err(|e| StepFailure::new(e.to_string())))
        .await
}

/// Lowers an integer field by one, COUNT times, each a write of its own (a PUT of the whole pod,
/// as a client that updates a pod again and again): test/e2e/node/pods.go "issue 500 podspec
/// updates".
#[given(regex = r#"^I lower field "([^"]+)" of pod "([^"]+)" by one (\d+) times$"#)]
#[when(regex = r#"^I lower field "([^"]+)" of pod "([^"]+)" by one (\d+) times$"#)]
async fn lower_field_times(world: &mut PodWorld, step: &Step, path: String, pod: String, count: u32) -> Result<(), StepFailure> {
    for i in 1..=count {
        let what = format!("update {i} of {count} of pod {pod:?} lowering {path} by one");
        read_modify_write(world, step, &pod, what, |v| {
            let n = lookup(v, &path)
                .map_err(|e| StepFailure::new(e.to_string()))?
                .and_then(Value::as_i64)
                .ok_or_else(|| StepFailure::new(format!("field {path:?} of pod {pod:?} is not an integer")))?;
            super::fields::set(v, &path, Value::from(n - 1)).map_err(|e| StepFailure::new(e.to_string()))
        })
        .await?;
        if let Some(Err(refusal)) = world.last_request.as_ref().map(|o| &o.result) {
            return Err(StepFailure::new(format!(
                "update {i} of {count} of pod {pod:?} was refused: {} {}",
                refusal.code, refusal.message
            )));
        }
    }
    Ok(())
}

/// A graceful delete that does not wait for the pod to go: the API's answer is kept (the pod
/// marked for deletion) for the steps after it, and the pod is cleaned up with the scenario.
/// The grace period is sent as given, a negative one too (the API takes that as 1 s).
#[when(regex = r#"^I start deleting pod "([^"]+)" with a grace period of (-?\d+) seconds?$"#)]
async fn start_deleting(world: &mut PodWorld, step: &Step, pod: String, grace: i64) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    let result = async { world.target().require_api_server()?.begin_delete_pod(&r, grace).await }.await;
    let what = format!("the delete of pod {pod:?} with a grace period of {grace} s");
    let result = match result {
        Ok(Some(marked)) => Ok(marked),
        Ok(None) => return Err(StepFailure::new(format!("{what} removed the pod at once; a graceful delete keeps it while it stops"))),
        Err(e) => Err(e),
    };
    keep(world, step, what, result)
}

/// A forced delete (`kubectl delete --force --grace-period=0`: gracePeriodSeconds 0): the API
/// removes the pod at once, without waiting for the node. Fails if the API's answer gives the
/// pod a grace period, or if the pod can still be read after it.
#[when(regex = r#"^I force delete pod "([^"]+)"$"#)]
async fn force_delete(world: &mut PodWorld, pod: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    let target = world.target();
    // The API answers with the deleted pod (pods return the deleted object) or a Status; a pod
    // still given a grace period was kept.
    let answer = target.require_api_server()?.begin_delete_pod(&r, 0).await?;
    if let Some(grace) = answer.and_then(|p| p.metadata.deletion_grace_period_seconds).filter(|g| *g > 0) {
        return Err(StepFailure::mismatch(
            format!("the forced delete of pod {pod:?} kept it (marked for deletion)"),
            "the pod removed at once",
            format!("deletionGracePeriodSeconds {grace}"),
        ));
    }
    match target.get_pod(&r).await {
        Err(TargetError::NotFound(_)) => {
            world.pods.retain(|p| p != &r);
            Ok(())
        }
        Err(e) => Err(e.into()),
        Ok(p) => Err(StepFailure::mismatch(
            format!("pod {pod:?} can still be read after its forced delete"),
            "no such pod",
            format!("pod with uid {}", p.metadata.uid.unwrap_or_default()),
        )),
    }
}

#[given(regex = r#"^I remove field "([^"]+)" of pod "([^"]+)"$"#)]
#[when(regex = r#"^I remove field "([^"]+)" of pod "([^"]+)"$"#)]
async fn remove_field(world: &mut PodWorld, step: &Step, path: String, pod: String) -> Result<(), StepFailure> {
    let what = format!("the update of pod {pod:?} removing {path}");
    read_modify_write(world, step, &pod, what, |v| match super::fields::remove(v, &path) {
        Ok(true) => Ok(()),
        Ok(false) => Err(StepFailure::new(format!("pod {pod:?} has no field {path:?} to remove"))),
        Err(e) => Err(StepFailure::new(e.to_string())),
    })
    .await
}

#[given(regex = r#"^I add to field "([^"]+)" of pod "([^"]+)":?$"#)]
#[when(regex = r#"^I add to field "([^"]+)" of pod "([^"]+)":?$"#)]
async fn add_to_field(world: &mut PodWorld, step: &Step, path: String, pod: String) -> Result<(), StepFailure> {
    let text = substitute(world, docstring(step)?).await?;
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the item is not YAML: {e}")))?;
    let item: Value = serde_json::to_value(yaml).map_err(|e| StepFailure::new(e.to_string()))?;
    let what = format!("the update of pod {pod:?} adding an item to {path}");
    read_modify_write(world, step, &pod, what, |v| {
        let mut list = lookup(v, &path).map_err(|e| StepFailure::new(e.to_string()))?.cloned().unwrap_or(Value::Array(vec![]));
        list.as_array_mut().ok_or_else(|| StepFailure::new(format!("field {path:?} of pod {pod:?} is not a list")))?.push(item.clone());
        super::fields::set(v, &path, list).map_err(|e| StepFailure::new(e.to_string()))
    })
    .await
}

/// The phrase of the step that creates a pod the API must refuse (also read by the up-front
/// check, which only parses its manifest).
pub const CREATE_REFUSED: &str = r#"^creating pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#;

/// Creates the docstring's pod (named NAME, in the scenario's namespace) and states that the
/// API refuses it; the answer is kept for the `error message` steps.
#[given(regex = r#"^creating pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
#[when(regex = r#"^creating pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
#[then(regex = r#"^creating pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
async fn create_refused(world: &mut PodWorld, step: &Step, name: String, code: u16, reason: String) -> Result<(), StepFailure> {
    let text = docstring(step)?.to_string();
    let pod = super::pods::load(world, super::ManifestRef::RefusedInline(&text), Some(&name), step)?;
    let pod = super::substitute::substitute_in_pod(world, pod).await?;
    let result = world.create_pod(&pod).await;
    if result.is_ok() {
        // It exists now: the scenario cleans it up.
        world.pods.push(world.pod_ref(&name));
    }
    let what = format!("the creation of pod {name:?}");
    let kept = match result {
        Ok(p) => Ok(p),
        Err(TargetError::Api(s)) => Err(ApiRefusal { code: s.code, reason: s.reason, message: s.message }),
        Err(e) => return Err(e.into()),
    };
    world.last_request = Some(RequestOutcome { what, result: kept });
    let r = refused_with(world, code, &reason);
    record(world, r)
}

/// The last request was refused with this code and reason.
pub(super) fn refused_with(world: &PodWorld, code: u16, reason: &str) -> Result<(), StepFailure> {
    let e = refusal(world)?;
    if e.code == code && e.reason == reason {
        return Ok(());
    }
    Err(StepFailure::mismatch(
        format!("the API answered {} {}: {}", e.code, e.reason, e.message),
        format!("{code} {reason}"),
        format!("{} {}", e.code, e.reason),
    ))
}

fn outcome(world: &PodWorld) -> Result<&RequestOutcome, StepFailure> {
    world.last_request.as_ref().ok_or_else(|| StepFailure::new("no API request was made before this step (use: I patch pod ...)"))
}

fn refusal(world: &PodWorld) -> Result<&ApiRefusal, StepFailure> {
    let o = outcome(world)?;
    o.result.as_ref().err().ok_or_else(|| StepFailure::mismatch(o.describe(), "the request refused", "it succeeded"))
}

#[then(regex = r#"^the request succeeds$"#)]
async fn request_succeeds(world: &mut PodWorld) -> Result<(), StepFailure> {
    let o = outcome(world)?;
    let r = match &o.result {
        Ok(_) => Ok(()),
        Err(e) => Err(StepFailure::mismatch(o.describe(), "success", format!("{} {}: {}", e.code, e.reason, e.message))),
    };
    record(world, r)
}

#[then(regex = r#"^the request is refused with code (\d+) and reason "([^"]+)"$"#)]
async fn request_refused(world: &mut PodWorld, code: u16, reason: String) -> Result<(), StepFailure> {
    let r = refused_with(world, code, &reason);
    record(world, r)
}

#[then(regex = r#"^the error message is:?$"#)]
async fn message_is(world: &mut PodWorld, step: &Step) -> Result<(), StepFailure> {
    let expected = substitute(world, docstring(step)?).await?;
    let r = refusal(world).and_then(|e| {
        if e.message == expected {
            Ok(())
        } else {
            Err(StepFailure::mismatch("the error message differs", expected.clone(), e.message.clone()))
        }
    });
    record(world, r)
}

#[then(regex = r#"^the error message starts with:?$"#)]
async fn message_starts_with(world: &mut PodWorld, step: &Step) -> Result<(), StepFailure> {
    let expected = substitute(world, docstring(step)?).await?;
    let r = refusal(world).and_then(|e| {
        if e.message.starts_with(&expected) {
            Ok(())
        } else {
            Err(StepFailure::mismatch("the error message does not start as expected", expected.clone(), e.message.clone()))
        }
    });
    record(world, r)
}

#[then(regex = r#"^the error message contains "(.*)"$"#)]
async fn message_contains(world: &mut PodWorld, text: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &text).await?;
    let r = refusal(world).and_then(|e| {
        if e.message.contains(&expected) {
            Ok(())
        } else {
            Err(StepFailure::mismatch("the error message does not say it", format!("a message containing {expected:?}"), e.message.clone()))
        }
    });
    record(world, r)
}

#[given(regex = r#"^I remember pod "([^"]+)"$"#)]
#[when(regex = r#"^I remember pod "([^"]+)"$"#)]
async fn remember(world: &mut PodWorld, pod: String) -> Result<(), StepFailure> {
    let r = world.pod_ref(&pod);
    let p = world.target().get_pod(&r).await?;
    world.snapshots.insert(r.name, p);
    Ok(())
}

fn remembered<'a>(world: &'a PodWorld, pod: &str) -> Result<&'a Pod, StepFailure> {
    world
        .snapshots
        .get(&world.pod_ref(pod).name)
        .ok_or_else(|| StepFailure::new(format!("pod {pod:?} was not remembered (use: I remember pod {pod:?})")))
}

/// A field of the pod as it was remembered.
fn remembered_field(world: &PodWorld, pod: &str, path: &str) -> Result<Option<Value>, StepFailure> {
    let before = serde_json::to_value(remembered(world, pod)?).map_err(|e| StepFailure::new(e.to_string()))?;
    Ok(lookup(&before, path).map_err(|e| StepFailure::new(e.to_string()))?.cloned())
}

/// Metadata and spec as YAML, without what changes with every status write.
fn object_yaml(pod: &Pod) -> String {
    let mut p = pod.clone();
    p.status = None;
    p.metadata.managed_fields = None;
    p.metadata.resource_version = None;
    serde_yaml::to_string(&p).unwrap_or_default()
}

#[then(regex = r#"^pod "([^"]+)" is unchanged$"#)]
async fn pod_unchanged(world: &mut PodWorld, pod: String) -> Result<(), StepFailure> {
    let before = object_yaml(remembered(world, &pod)?);
    let now = object_yaml(&world.target().get_pod(&world.pod_ref(&pod)).await?);
    let r = if before == now {
        Ok(())
    } else {
        Err(StepFailure::mismatch(format!("pod {pod:?} changed since it was remembered"), before, now))
    };
    record(world, r)
}

async fn field_of(world: &PodWorld, pod: &str, path: &str) -> Result<Option<Value>, StepFailure> {
    let p = world.target().get_pod(&world.pod_ref(pod)).await?;
    let v = serde_json::to_value(&p).map_err(|e| StepFailure::new(e.to_string()))?;
    Ok(lookup(&v, path).map_err(|e| StepFailure::new(e.to_string()))?.cloned())
}

fn shown(v: &Option<Value>) -> String {
    v.as_ref().map(render).unwrap_or_else(|| "(absent)".into())
}

/// Waits until the field satisfies `check`, which says what it expected when it does not.
async fn expect_field(
    world: &mut PodWorld,
    pod: &str,
    path: &str,
    check: impl Fn(&Option<Value>) -> Result<(), String>,
) -> Result<(), StepFailure> {
    let timeout = world.timeouts().eventually;
    let (target, watched) = (world.target(), world.pod_ref(pod));
    let r = eventually_or_never_on_pod(target, &watched, &format!("field {path:?} of pod {pod:?}"), timeout, || async {
        let (v, final_status) = status_field_of(world, pod, path).await.map_err(Look::NotYet)?;
        check(&v).map_err(|expected| {
            let ended = if final_status { " (the pod has ended: its status no longer changes)" } else { "" };
            let failure = StepFailure::mismatch(format!("field {path:?} of pod {pod:?} is {}{ended}", shown(&v)), expected, shown(&v));
            if final_status {
                Look::Never(failure)
            } else {
                Look::NotYet(failure)
            }
        })
    })
    .await;
    record(world, r)
}

/// The field, and whether it is a status field of a pod that has ended (Succeeded or Failed),
/// which no longer changes.
async fn status_field_of(world: &PodWorld, pod: &str, path: &str) -> Result<(Option<Value>, bool), StepFailure> {
    let p = world.target().get_pod(&world.pod_ref(pod)).await?;
    let final_status = path.starts_with("status.") && super::pods::ended(&p).is_some();
    let v = serde_json::to_value(&p).map_err(|e| StepFailure::new(e.to_string()))?;
    Ok((lookup(&v, path).map_err(|e| StepFailure::new(e.to_string()))?.cloned(), final_status))
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" is "(.*)"$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" is "(.*)"$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is "(.*)"$"#)]
async fn field_is(world: &mut PodWorld, path: String, pod: String, value: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &value).await?;
    expect_field(world, &pod, &path, |v| if v.as_ref().map(render).as_deref() == Some(&expected) { Ok(()) } else { Err(expected.clone()) })
        .await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" contains "(.*)"$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" contains "(.*)"$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" contains "(.*)"$"#)]
async fn field_contains(world: &mut PodWorld, path: String, pod: String, value: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &value).await?;
    expect_field(world, &pod, &path, |v| {
        if v.as_ref().map(render).is_some_and(|s| s.contains(&expected)) {
            Ok(())
        } else {
            Err(format!("a value containing {expected:?}"))
        }
    })
    .await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at least (-?\d+)$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at least (-?\d+)$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is at least (-?\d+)$"#)]
async fn field_at_least(world: &mut PodWorld, path: String, pod: String, min: i64) -> Result<(), StepFailure> {
    expect_field(world, &pod, &path, |v| match v.as_ref().and_then(Value::as_i64) {
        Some(n) if n >= min => Ok(()),
        _ => Err(format!("a number of at least {min}")),
    })
    .await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" is absent$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" is absent$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is absent$"#)]
async fn field_absent(world: &mut PodWorld, path: String, pod: String) -> Result<(), StepFailure> {
    expect_field(world, &pod, &path, |v| if v.is_none() { Ok(()) } else { Err("(absent)".into()) }).await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" is set$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" is set$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is set$"#)]
async fn field_set(world: &mut PodWorld, path: String, pod: String) -> Result<(), StepFailure> {
    expect_field(world, &pod, &path, |v| if v.is_some() { Ok(()) } else { Err("a value".into()) }).await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" has (\d+) items?$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" has (\d+) items?$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" has (\d+) items?$"#)]
async fn field_items(world: &mut PodWorld, path: String, pod: String, n: usize) -> Result<(), StepFailure> {
    expect_field(world, &pod, &path, |v| {
        let len = v.as_ref().and_then(|v| v.as_array().map(Vec::len).or(v.as_object().map(|o| o.len()))).unwrap_or(0);
        if len == n {
            Ok(())
        } else {
            Err(format!("{n} items"))
        }
    })
    .await
}

#[given(regex = r#"^field "([^"]+)" of pod "([^"]+)" equals its field "([^"]+)"$"#)]
#[when(regex = r#"^field "([^"]+)" of pod "([^"]+)" equals its field "([^"]+)"$"#)]
#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" equals its field "([^"]+)"$"#)]
async fn field_equals_field(world: &mut PodWorld, path: String, pod: String, other: String) -> Result<(), StepFailure> {
    let timeout = world.timeouts().eventually;
    let (target, watched) = (world.target(), world.pod_ref(&pod));
    let r = eventually_on_pod(target, &watched, &format!("field {path:?} of pod {pod:?}"), timeout, || async {
        let (a, b) = (field_of(world, &pod, &path).await?, field_of(world, &pod, &other).await?);
        if a.is_some() && a == b {
            Ok(())
        } else {
            Err(StepFailure::mismatch(
                format!("field {path:?} of pod {pod:?} is {}, field {other:?} is {}", shown(&a), shown(&b)),
                shown(&b),
                shown(&a),
            ))
        }
    })
    .await;
    record(world, r)
}

#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" is unchanged$"#)]
async fn field_unchanged(world: &mut PodWorld, path: String, pod: String) -> Result<(), StepFailure> {
    let before = remembered_field(world, &pod, &path)?;
    let now = field_of(world, &pod, &path).await?;
    let r = if before == now {
        Ok(())
    } else {
        Err(StepFailure::mismatch(format!("field {path:?} of pod {pod:?} changed"), shown(&before), shown(&now)))
    };
    record(world, r)
}

#[then(regex = r#"^field "([^"]+)" of pod "([^"]+)" has changed$"#)]
async fn field_changed(world: &mut PodWorld, path: String, pod: String) -> Result<(), StepFailure> {
    let before = remembered_field(world, &pod, &path)?;
    let shown_before = shown(&before);
    expect_field(
        world,
        &pod,
        &path,
        |v| if v.is_some() && *v != before { Ok(()) } else { Err(format!("a value other than {shown_before}")) },
    )
    .await
}

/// A `deletecollection` of the scenario's pods that a label selector selects, with a grace
/// period (what `kubectl delete pods -l SELECTOR --grace-period=N` sends); returns at once.
#[when(regex = r#"^I delete the pods labelled "([^"]+)" with a grace period of (\d+) seconds?$"#)]
async fn delete_labelled(world: &mut PodWorld, labels: String, grace: i64) -> Result<(), StepFailure> {
    let deleted = async { world.target().require_api_server()?.delete_pod_collection(&world.namespace, &labels, grace).await }.await;
    let r = match deleted {
        Ok(names) if names.is_empty() => Err(StepFailure::new(format!("the delete of the pods labelled {labels:?} deleted none"))),
        Ok(_) => Ok(()),
        Err(e) => Err(e.into()),
    };
    record(world, r)
}

async fn count_labelled(world: &PodWorld, labels: &str, expected: usize) -> Result<(), StepFailure> {
    let pods = world.target().require_api_server()?.list_pods_labelled(&world.namespace, labels).await?;
    if pods.len() == expected {
        return Ok(());
    }
    let names: Vec<String> = pods.into_iter().filter_map(|p| p.metadata.name).collect();
    Err(StepFailure::mismatch(
        format!("the pods labelled {labels:?}"),
        format!("{expected} pod(s)"),
        format!("{} pod(s): {}", names.len(), names.join(", ")),
    ))
}

/// The API lists this many pods of the scenario's namespace for the label selector.
#[given(regex = r#"^(\d+) pods? labelled "([^"]+)" (?:is|are) listed$"#)]
#[then(regex = r#"^(\d+) pods? labelled "([^"]+)" (?:is|are) listed$"#)]
async fn labelled_listed(world: &mut PodWorld, expected: usize, labels: String) -> Result<(), StepFailure> {
    let r = count_labelled(world, &labels, expected).await;
    record(world, r)
}

/// As above, once the pods have had the time to go (up to the pod timeout).
#[then(regex = r#"^(\d+) pods? labelled "([^"]+)" (?:is|are) eventually listed$"#)]
async fn labelled_eventually_listed(world: &mut PodWorld, expected: usize, labels: String) -> Result<(), StepFailure> {
    let w = &*world;
    let r = super::wait::eventually(&format!("{expected} pod(s) labelled {labels:?}"), w.timeouts().pod, || {
        count_labelled(w, &labels, expected)
    })
    .await;
    record(world, r)
}

/// What a watch of pods has seen so far: its events in order, and how it ended if it did. The
/// watch is a task of its own, stopped when the scenario ends.
#[derive(Debug)]
pub struct PodWatchLog {
    seen: std::sync::Arc<std::sync::Mutex<(Vec<(String, Pod)>, Option<String>)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PodWatchLog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PodWatchLog {
    /// The event types in order, each run of one type told once ("ADDED, MODIFIED, DELETED":
    /// how many status changes a node makes is its own).
    fn types(&self) -> (Vec<String>, Option<String>) {
        let seen = self.seen.lock().unwrap();
        let mut types: Vec<String> = seen.0.iter().map(|(t, _)| t.clone()).collect();
        types.dedup();
        (types, seen.1.clone())
    }

    /// The pod of the last event of this type.
    fn last(&self, type_: &str) -> Option<Pod> {
        self.seen.lock().unwrap().0.iter().rev().find(|(t, _)| t == type_).map(|(_, p)| p.clone())
    }
}

/// Starts a watch of the scenario's pods that a label selector selects, as an informer does
/// (the pods there now as ADDED, then every change).
#[given(regex = r#"^I watch the pods labelled "([^"]+)"$"#)]
#[when(regex = r#"^I watch the pods labelled "([^"]+)"$"#)]
async fn watch_labelled(world: &mut PodWorld, labels: String) -> Result<(), StepFailure> {
    use futures::StreamExt as _;
    let mut events = world.target().require_api_server()?.watch_pods_labelled(&world.namespace, &labels).await?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), None)));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Ok(e) => log.lock().unwrap().0.push(e),
                Err(e) => {
                    log.lock().unwrap().1 = Some(e.to_string());
                    return;
                }
            }
        }
        log.lock().unwrap().1 = Some("the watch ended".into());
    });
    world.watches.insert(labels, PodWatchLog { seen, task });
    Ok(())
}

fn watch_of<'w>(world: &'w PodWorld, labels: &str) -> Result<&'w PodWatchLog, StepFailure> {
    world.watches.get(labels).ok_or_else(|| StepFailure::new(format!("no watch of the pods labelled {labels:?} was started")))
}

/// The watch's events began with these types, in this order (a comma-separated list; a run of
/// one type counts once), within the pod timeout.
#[then(regex = r#"^the watch of the pods labelled "([^"]+)" began with "([^"]+)"$"#)]
async fn watch_began_with(world: &mut PodWorld, labels: String, expected: String) -> Result<(), StepFailure> {
    let wanted: Vec<String> = expected.split(',').map(|t| t.trim().to_string()).collect();
    let w = &*world;
    let r = super::wait::eventually(&format!("the watch of the pods labelled {labels:?}"), w.timeouts().pod, || async {
        let (types, ended) = watch_of(w, &labels)?.types();
        if types.len() >= wanted.len() && types[..wanted.len()] == wanted[..] {
            return Ok(());
        }
        let seen = types.join(", ");
        let what =
            format!("the events of the watch of the pods labelled {labels:?}{}", ended.map(|e| format!(" ({e})")).unwrap_or_default());
        Err(StepFailure::mismatch(what, wanted.join(", "), seen))
    })
    .await;
    record(world, r)
}

/// A field of the pod of the watch's last event of a type: set, or with this value.
#[then(
    regex = r#"^the pod of the last "(ADDED|MODIFIED|DELETED)" event of the watch of the pods labelled "([^"]+)" has field "([^"]+)" (?:set|"(.*)")$"#
)]
async fn watch_event_field(world: &mut PodWorld, type_: String, labels: String, path: String, value: String) -> Result<(), StepFailure> {
    let r = (|| {
        let pod = watch_of(world, &labels)?
            .last(&type_)
            .ok_or_else(|| StepFailure::new(format!("the watch of the pods labelled {labels:?} saw no {type_} event")))?;
        let json = serde_json::to_value(&pod).map_err(|e| StepFailure::new(e.to_string()))?;
        let found = lookup(&json, &path).map_err(|e| StepFailure::new(e.to_string()))?.filter(|v| !v.is_null()).map(render);
        let what = format!("field {path:?} of the pod of the last {type_} event");
        match found {
            None => Err(StepFailure::mismatch(what, if value.is_empty() { "set".to_string() } else { value.clone() }, "absent")),
            Some(v) if !value.is_empty() && v != value => Err(StepFailure::mismatch(what, value.clone(), v)),
            Some(_) => Ok(()),
        }
    })();
    record(world, r)
}
