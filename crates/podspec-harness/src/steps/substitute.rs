//! Placeholders in step text, filled from the scenario: `{{namespace}}`, `{{node}}` (the
//! target's node name), `{{ip:POD}}` (the pod's IP, or the IP it had when remembered if it is
//! gone), `{{hostip:POD}}`, `{{uid:POD}}` (its metadata.uid).

use super::{PodWorld, StepFailure};

pub async fn substitute(world: &PodWorld, text: &str) -> Result<String, StepFailure> {
    // `{{node}}` first, so it may stand inside another placeholder: `{{ip:web-{{node}}}}`.
    let text = match world.target().node_name() {
        Some(node) => text.replace("{{node}}", node),
        None => text.to_string(),
    };
    let mut out = String::new();
    let mut rest = text.as_str();
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
    // A pod that is gone is known by what was remembered of it ("I remember pod ...").
    let r = world.pod_ref(pod);
    let p = match world.target().get_pod(&r).await {
        Err(crate::targets::TargetError::NotFound(_)) if world.snapshots.contains_key(&r.name) => world.snapshots[&r.name].clone(),
        other => other?,
    };
    let uid = p.metadata.uid.clone();
    let status = p.status.unwrap_or_default();
    let v = match what {
        "ip" => status.pod_ip,
        "hostip" => status.host_ip,
        "uid" => uid,
        _ => {
            return Err(StepFailure::new(format!("unknown placeholder {{{{{key}}}}}: use namespace, node, ip:POD, hostip:POD or uid:POD")))
        }
    };
    v.ok_or_else(|| StepFailure::new(format!("pod {pod:?} has no {what} yet")))
}

/// A pod manifest with the placeholders in its strings filled, as in step text (a hook that
/// reaches another pod of the scenario names it `{{ip:POD}}`).
pub async fn substitute_in_pod(
    world: &PodWorld,
    pod: k8s_openapi::api::core::v1::Pod,
) -> Result<k8s_openapi::api::core::v1::Pod, StepFailure> {
    if !serde_json::to_string(&pod).is_ok_and(|s| s.contains("{{")) {
        return Ok(pod);
    }
    let mut v = serde_json::to_value(&pod).map_err(|e| StepFailure::new(e.to_string()))?;
    let mut stack = vec![&mut v];
    let mut strings = Vec::new();
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::String(s) if s.contains("{{") => strings.push(s),
            serde_json::Value::Array(a) => stack.extend(a.iter_mut()),
            serde_json::Value::Object(m) => stack.extend(m.values_mut()),
            _ => {}
        }
    }
    for s in strings {
        *s = substitute(world, s).await?;
    }
    serde_json::from_value(v).map_err(|e| StepFailure::new(e.to_string()))
}
