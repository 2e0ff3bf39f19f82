//! Static pods: manifests in the kubelet's manifest directory, and what the kubelet logs
//! (capability `node-access`).

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::failure::record;
use super::substitute::substitute;
use super::wait::eventually;
use super::{PodWorld, StepFailure};
use crate::targets::TargetCapabilities as _;

#[given(regex = r#"^I write the static pod manifest "([^"]+)":?$"#)]
#[when(regex = r#"^I write the static pod manifest "([^"]+)":?$"#)]
async fn write_manifest(world: &mut PodWorld, step: &Step, file: String) -> Result<(), StepFailure> {
    let file = substitute(world, &file).await?;
    let text = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the manifest as a docstring below it"))?;
    let text = substitute(world, text).await?;
    world.target().require_static_pods()?.write_static_pod_manifest(&file, &text).await?;
    if !world.static_manifests.contains(&file) {
        world.static_manifests.push(file);
    }
    Ok(())
}

#[when(regex = r#"^I remove the static pod manifest "([^"]+)"$"#)]
async fn remove_manifest(world: &mut PodWorld, file: String) -> Result<(), StepFailure> {
    let file = substitute(world, &file).await?;
    world.target().require_static_pods()?.remove_static_pod_manifest(&file).await?;
    world.static_manifests.retain(|f| f != &file);
    Ok(())
}

#[given(regex = r#"^the kubelet log mentions "(.*?)"(?: and "(.*)")?$"#)]
#[when(regex = r#"^the kubelet log mentions "(.*?)"(?: and "(.*)")?$"#)]
#[then(regex = r#"^the kubelet log mentions "(.*?)"(?: and "(.*)")?$"#)]
async fn log_mentions(world: &mut PodWorld, first: String, second: String) -> Result<(), StepFailure> {
    let first = substitute(world, &first).await?;
    let second = substitute(world, &second).await?;
    let target = world.target();
    let wanted = if second.is_empty() { format!("{first:?}") } else { format!("{first:?} and {second:?}") };
    let r = eventually(&format!("a kubelet log line with {wanted}"), world.timeouts().eventually, || async {
        let lines = target.require_static_pods()?.kubelet_log(&first).await?;
        if lines.iter().any(|l| l.contains(&first) && l.contains(&second)) {
            Ok(())
        } else {
            let tail = lines.iter().rev().take(5).rev().cloned().collect::<Vec<_>>().join("\n");
            Err(StepFailure::mismatch("no kubelet log line says it", format!("a line with {wanted}"), tail))
        }
    })
    .await;
    record(world, r)
}
