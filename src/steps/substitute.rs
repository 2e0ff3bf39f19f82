//! Placeholders in step text, filled from the scenario: `{{namespace}}`, `{{node}}` (the
//! target's node name), `{{ip:POD}}` (the pod's IP), `{{hostip:POD}}`.

use super::{PodWorld, StepFailure};

pub async fn substitute(world: &PodWorld, text: &str) -> Result<String, StepFailure> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        out.push_str(&rest[..start]);
        let key = rest[start + 2..start + len].trim();
        out.push_str(&value(world, key).await?);
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

async fn value(world: &PodWorld, key: &str) -> Result<String, StepFailure> {
    if key == "namespace" {
        return Ok(world.namespace.clone());
    }
    if key == "node" {
        return world.target().node_name().map(str::to_string).ok_or_else(|| StepFailure::new("the target names no node"));
    }
    let (what, pod) = key.split_once(':').ok_or_else(|| StepFailure::new(format!("unknown placeholder {{{{{key}}}}}")))?;
    let p = world.target().get_pod(&world.pod_ref(pod)).await?;
    let status = p.status.unwrap_or_default();
    let v = match what {
        "ip" => status.pod_ip,
        "hostip" => status.host_ip,
        _ => return Err(StepFailure::new(format!("unknown placeholder {{{{{key}}}}}: use namespace, node, ip:POD or hostip:POD"))),
    };
    v.ok_or_else(|| StepFailure::new(format!("pod {pod:?} has no {what} yet")))
}
