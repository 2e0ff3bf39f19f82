//! RuntimeClasses (`node.k8s.io/v1`) a scenario makes and deletes (capability `api-server`):
//! cluster-scoped, so a scenario names them after its namespace (`{{namespace}}-...`); the
//! ones it leaves are deleted after it.

use cucumber::gherkin::Step;
use cucumber::{given, when};
use k8s_openapi::api::node::v1::RuntimeClass;

use super::api::docstring;
use super::failure::record;
use super::substitute::substitute;
use super::wait::eventually;
use super::{PodWorld, StepFailure};
use crate::targets::TargetCapabilities as _;

/// Makes the docstring's RuntimeClass (YAML), named NAME (placeholders filled in both).
#[given(regex = r#"^a RuntimeClass "([^"]+)":?$"#)]
#[when(regex = r#"^a RuntimeClass "([^"]+)":?$"#)]
async fn runtime_class(world: &mut PodWorld, step: &Step, name: String) -> Result<(), StepFailure> {
    let name = substitute(world, &name).await?;
    let text = substitute(world, docstring(step)?).await?;
    let mut class: RuntimeClass =
        serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the RuntimeClass below the step: {e}")))?;
    class.metadata.name = Some(name.clone());
    world.target().require_api_server()?.create_runtime_class(&class).await?;
    world.runtime_classes.push(name);
    Ok(())
}

/// Deletes a RuntimeClass and waits until the API no longer has it (as the e2e test polls).
#[when(regex = r#"^I delete RuntimeClass "([^"]+)"$"#)]
async fn delete_runtime_class(world: &mut PodWorld, name: String) -> Result<(), StepFailure> {
    let name = substitute(world, &name).await?;
    world.target().require_api_server()?.delete_runtime_class(&name).await?;
    world.runtime_classes.retain(|n| n != &name);
    let target = world.target();
    let r = eventually(&format!("RuntimeClass {name:?} gone"), world.timeouts().eventually, || async {
        match target.require_api_server()?.get_runtime_class(&name).await? {
            None => Ok(()),
            Some(_) => Err(StepFailure::mismatch("the RuntimeClass is still there", "gone", "present")),
        }
    })
    .await;
    record(world, r)
}
