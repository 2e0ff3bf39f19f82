//! Strategic merge patch of a pod (apimachinery pkg/util/strategicpatch): lists merged by their
//! merge keys (the `patchMergeKey` tags of core/v1 types.go), `$patch` directives, and `null`
//! deleting a field. The API server's PATCH (`podspec serve`) and the reference target's
//! strategic patch both apply it.

use serde_json::Value;

/// Applies the strategic merge patch `patch` to the pod `target` (both as JSON).
pub fn apply(target: &mut Value, patch: &Value) {
    strategic(target, patch, "");
}

/// The merge key of a list field of a pod, for the lists whose patch strategy is `merge`.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" | "resourceClaims" => Some("name"),
        "hostAliases" => Some("ip"),
        "conditions" => Some("type"),
        "readinessGates" => Some("conditionType"),
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        _ => None,
    }
}

/// Lists of scalars merged as sets (`patchStrategy:"merge"` on a `[]string`).
fn is_merged_scalar_list(field: &str) -> bool {
    field == "finalizers"
}

fn strategic(target: &mut Value, patch: &Value, _field: &str) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = p.clone();
        replaced.remove("$patch");
        *target = Value::Object(replaced);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue; // order and retained keys: what the merge gives already holds them
        }
        if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(have)), Value::Array(gone)) = (t.get_mut(list), v) {
                have.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v, merge_key(k)) {
            (Some(Value::Array(have)), Value::Array(items), Some(key)) => {
                for item in items {
                    let id = item.get(key);
                    let pos = have.iter().position(|h| id.is_some() && h.get(key) == id);
                    let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                    match (pos, delete) {
                        (Some(i), true) => {
                            have.remove(i);
                        }
                        (None, true) => {}
                        (Some(i), false) => strategic(&mut have[i], item, k),
                        (None, false) => {
                            let mut added = item.clone();
                            strategic(&mut added, item, k);
                            have.push(added);
                        }
                    }
                }
            }
            (Some(Value::Array(have)), Value::Array(items), None) if is_merged_scalar_list(k) => {
                for item in items {
                    if !have.contains(item) {
                        have.push(item.clone());
                    }
                }
            }
            (Some(existing @ Value::Object(_)), Value::Object(_), _) => strategic(existing, v, k),
            _ => {
                let mut fresh = Value::Null;
                strategic(&mut fresh, v, k);
                t.insert(k.clone(), fresh);
            }
        }
    }
}
