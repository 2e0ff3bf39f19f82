//! Ephemeral containers (capability `ephemeral-containers`): added to a running pod, changed or
//! removed through the pod's `ephemeralcontainers` subresource, as `kubectl debug` does it. Each
//! write reads the pod and puts it back whole with its resourceVersion; the API's answer is
//! kept for `the request succeeds`, `the request is refused with ...` and `the error message
//! ...`.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::Value;

use super::api::{docstring, read_modify_write_to, refused_with, Write};
use super::failure::record;
use super::substitute::substitute;
use super::{PodWorld, StepFailure};

/// The phrase that adds an ephemeral container (its docstring is checked up front as a
/// container the target must run).
pub const ADD: &str = r#"^I add the ephemeral container to pod "([^"]+)":?$"#;

/// The phrase that adds one the API is to refuse (its docstring is only parsed up front).
pub const ADD_REFUSED: &str = r#"^adding the ephemeral container to pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#;

/// The docstring's container, as YAML, in JSON form.
fn container(text: &str) -> Result<Value, StepFailure> {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| StepFailure::new(format!("the ephemeral container is not YAML: {e}")))?;
    let v = serde_json::to_value(yaml).map_err(|e| StepFailure::new(e.to_string()))?;
    serde_json::from_value::<k8s_openapi::api::core::v1::EphemeralContainer>(v.clone())
        .map_err(|e| StepFailure::new(format!("the docstring is not an ephemeral container: {e}")))?;
    Ok(v)
}

/// Appends the container to the pod's `spec.ephemeralContainers` and writes the subresource.
async fn add(world: &mut PodWorld, step: &Step, pod: &str) -> Result<(), StepFailure> {
    let text = substitute(world, docstring(step)?).await?;
    let item = container(&text)?;
    let name = item.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let what = format!("adding the ephemeral container {name:?} to pod {pod:?}");
    read_modify_write_to(world, step, pod, what, Write::EphemeralContainers, |v| {
        let spec = v.pointer_mut("/spec").and_then(Value::as_object_mut).ok_or_else(|| StepFailure::new("the pod has no spec"))?;
        let list = spec.entry("ephemeralContainers").or_insert_with(|| Value::Array(Vec::new()));
        list.as_array_mut().ok_or_else(|| StepFailure::new("spec.ephemeralContainers is not a list"))?.push(item.clone());
        Ok(())
    })
    .await
}

#[given(regex = r#"^I add the ephemeral container to pod "([^"]+)":?$"#)]
#[when(regex = r#"^I add the ephemeral container to pod "([^"]+)":?$"#)]
async fn add_ephemeral(world: &mut PodWorld, step: &Step, pod: String) -> Result<(), StepFailure> {
    add(world, step, &pod).await
}

#[given(regex = r#"^adding the ephemeral container to pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
#[when(regex = r#"^adding the ephemeral container to pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
#[then(regex = r#"^adding the ephemeral container to pod "([^"]+)" is refused with code (\d+) and reason "([^"]+)":?$"#)]
async fn add_refused(world: &mut PodWorld, step: &Step, pod: String, code: u16, reason: String) -> Result<(), StepFailure> {
    // Kept whatever the answer (a Given would fail on a refusal, which is what is expected).
    let mut when = step.clone();
    when.ty = cucumber::gherkin::StepType::When;
    add(world, &when, &pod).await?;
    let r = refused_with(world, code, &reason);
    record(world, r)
}

#[given(regex = r#"^I set field "([^"]+)" of pod "([^"]+)" through its ephemeral containers to (.+)$"#)]
#[when(regex = r#"^I set field "([^"]+)" of pod "([^"]+)" through its ephemeral containers to (.+)$"#)]
async fn set_field(world: &mut PodWorld, step: &Step, path: String, pod: String, value: String) -> Result<(), StepFailure> {
    let text = substitute(world, &value).await?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| StepFailure::new(format!("{text} is not a JSON value (strings need quotes): {e}")))?;
    let what = format!("the write of pod {pod:?}'s ephemeral containers setting {path} to {value}");
    read_modify_write_to(world, step, &pod, what, Write::EphemeralContainers, |v| {
        super::fields::set(v, &path, value.clone()).map_err(|e| StepFailure::new(e.to_string()))
    })
    .await
}

#[given(regex = r#"^I remove field "([^"]+)" of pod "([^"]+)" through its ephemeral containers$"#)]
#[when(regex = r#"^I remove field "([^"]+)" of pod "([^"]+)" through its ephemeral containers$"#)]
async fn remove_field(world: &mut PodWorld, step: &Step, path: String, pod: String) -> Result<(), StepFailure> {
    let what = format!("the write of pod {pod:?}'s ephemeral containers removing {path}");
    read_modify_write_to(world, step, &pod, what, Write::EphemeralContainers, |v| match super::fields::remove(v, &path) {
        Ok(true) => Ok(()),
        Ok(false) => Err(StepFailure::new(format!("pod {pod:?} has no field {path:?} to remove"))),
        Err(e) => Err(StepFailure::new(e.to_string())),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docstring_must_be_an_ephemeral_container() {
        assert!(container("name: debugger\nimage: busybox:1.36\ntargetContainerName: app\n").is_ok());
        assert!(container("- a list\n").is_err());
    }

    #[test]
    fn the_phrases_read_as_the_steps_define_them() {
        let add = regex::Regex::new(ADD).unwrap();
        assert_eq!(&add.captures(r#"I add the ephemeral container to pod "web":"#).unwrap()[1], "web");
        let refused = regex::Regex::new(ADD_REFUSED).unwrap();
        let c = refused.captures(r#"adding the ephemeral container to pod "web" is refused with code 422 and reason "Invalid":"#).unwrap();
        assert_eq!((&c[1], &c[2], &c[3]), ("web", "422", "Invalid"));
    }
}
