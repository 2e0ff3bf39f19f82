//! Volumes as the node sees them (capability `node-access`).

use cucumber::{given, then, when};

use super::failure::record;
use super::{PodWorld, StepFailure};
use crate::targets::TargetCapabilities as _;

fn key(volume: &str, pod: &str) -> String {
    format!("volume {volume} of pod {pod}")
}

#[given(regex = r#"^volume "([^"]+)" of pod "([^"]+)" exists on the node$"#)]
#[when(regex = r#"^volume "([^"]+)" of pod "([^"]+)" exists on the node$"#)]
#[then(regex = r#"^volume "([^"]+)" of pod "([^"]+)" exists on the node$"#)]
async fn volume_exists(world: &mut PodWorld, volume: String, pod: String) -> Result<(), StepFailure> {
    let path = world.target().require_node_access()?.node_volume_path(&world.pod_ref(&pod), &volume).await?;
    let exists = tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir());
    world.remembered.insert(key(&volume, &pod), path.clone());
    let r = if exists {
        Ok(())
    } else {
        Err(StepFailure::new(format!("volume {volume:?} of pod {pod:?}: {} does not exist on the node", path.display())))
    };
    record(world, r)
}

#[given(regex = r#"^volume "([^"]+)" of pod "([^"]+)" no longer exists on the node$"#)]
#[when(regex = r#"^volume "([^"]+)" of pod "([^"]+)" no longer exists on the node$"#)]
#[then(regex = r#"^volume "([^"]+)" of pod "([^"]+)" no longer exists on the node$"#)]
async fn volume_gone(world: &mut PodWorld, volume: String, pod: String) -> Result<(), StepFailure> {
    let path = match world.remembered.get(&key(&volume, &pod)) {
        Some(p) => p.clone(),
        None => {
            async { world.target().require_node_access()?.node_volume_path(&world.pod_ref(&pod), &volume).await }.await.map_err(|e| {
                StepFailure::new(format!("{e} (say first that volume {volume:?} of pod {pod:?} exists on the node, to know where it was)"))
            })?
        }
    };
    let r = match tokio::fs::metadata(&path).await {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(StepFailure::new(format!("volume {volume:?} of pod {pod:?}: {} is still on the node", path.display()))),
    };
    record(world, r)
}
