//! The patch types a pod accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902, through
//! the json-patch crate) and strategic merge patch with the pod's merge keys
//! (`podspec_api::strategic_merge`).

use serde_json::Value;

use super::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    Strategic,
}

impl PatchType {
    /// From the request's Content-Type; 415 for any other.
    pub fn from_content_type(content_type: &str) -> Result<Self, Failure> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            other => Err(Failure::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"),
            )),
        }
    }
}

/// Applies a patch of `kind` to `target`.
pub fn apply(kind: PatchType, target: &mut Value, patch: &[u8]) -> Result<(), Failure> {
    match kind {
        PatchType::Json => {
            let p: json_patch::Patch =
                serde_json::from_slice(patch).map_err(|e| Failure::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(target, &p)
                .map_err(|e| Failure::new(422, "Invalid", format!("the server rejected our request due to an error in our request: {e}")))
        }
        PatchType::Merge => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| Failure::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::merge(target, &p);
            Ok(())
        }
        PatchType::Strategic => {
            let p: Value = serde_json::from_slice(patch).map_err(|e| Failure::bad_request(format!("error decoding patch: {e}")))?;
            podspec_api::strategic_merge::apply(target, &p);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_strategic_patch_merges_containers_by_name_and_env_by_name() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "a", "image": "busybox:1.36", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "busybox:1.36"}]}});
        let patch =
            json!({"spec": {"containers": [{"name": "b", "image": "busybox:1.35"}, {"name": "a", "env": [{"name": "Y", "value": "2"}]}]}});
        apply(PatchType::Strategic, &mut pod, patch.to_string().as_bytes()).unwrap();
        assert_eq!(pod["spec"]["containers"][1]["image"], "busybox:1.35");
        assert_eq!(pod["spec"]["containers"][0]["image"], "busybox:1.36");
        assert_eq!(pod["spec"]["containers"][0]["env"], json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]));
        // A merge patch replaces the list whole.
        apply(PatchType::Merge, &mut pod, br#"{"spec": {"containers": [{"name": "c", "image": "x"}]}}"#).unwrap();
        assert_eq!(pod["spec"]["containers"], json!([{"name": "c", "image": "x"}]));
    }

    #[test]
    fn kubectl_debugs_patch_adds_an_ephemeral_container_by_name() {
        let mut pod = json!({"spec": {"containers": [{"name": "main", "image": "busybox:1.36"}],
            "ephemeralContainers": [{"name": "first", "image": "busybox:1.36"}]}});
        let patch = json!({"spec": {"ephemeralContainers": [
            {"name": "dbg", "image": "busybox:1.36", "targetContainerName": "main"}, {"name": "first", "image": "busybox:1.36"}]}});
        apply(PatchType::Strategic, &mut pod, patch.to_string().as_bytes()).unwrap();
        let names: Vec<&str> = pod["spec"]["ephemeralContainers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 2, "{pod}");
        assert!(names.contains(&"first") && names.contains(&"dbg"), "{names:?}");
        assert_eq!(pod["spec"]["containers"], json!([{"name": "main", "image": "busybox:1.36"}]));
    }

    #[test]
    fn a_json_patch_follows_rfc_6902_and_an_unknown_type_is_415() {
        let mut pod = json!({"metadata": {"labels": {"a": "1"}}});
        apply(PatchType::Json, &mut pod, br#"[{"op": "replace", "path": "/metadata/labels/a", "value": "2"}]"#).unwrap();
        assert_eq!(pod["metadata"]["labels"]["a"], "2");
        assert_eq!(PatchType::from_content_type("application/apply-patch+yaml").unwrap_err().code, 415);
    }
}
