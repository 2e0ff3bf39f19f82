//! OpenAPI v3, as much as kubectl reads: the index (`/openapi/v3`) and the `api/v1` document
//! with the pod paths, whose PATCH operation carries the Pod's group-version-kind and the
//! `fieldValidation` parameter. kubectl takes that as the server validating fields itself
//! (cli-runtime's query parameter verifier) and sends `fieldValidation=Strict` instead of
//! validating against schemas. The document's `components.schemas` hold the Pod, Namespace,
//! Node and Event schemas and everything they refer to, generated from k8s-openapi's types
//! (their descriptions are the API's own) and checked in (`openapi/schemas.json`), each kind's
//! with its `x-kubernetes-group-version-kind`, as `kubectl explain` looks them up.

use axum::Json;
use serde_json::{json, Value};

pub async fn index() -> Json<Value> {
    Json(json!({"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=podspec"}}}))
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

/// The schemas of the kinds serve serves, under their OpenAPI names (`io.k8s.api.core.v1.Pod`),
/// with the definitions they refer to (`#/components/schemas/...`): the checked-in
/// `openapi/schemas.json`, which tools/openapi-schemas generates from k8s-openapi's types
/// (`cargo run -p podspec-openapi-schemas`; its test fails while the file is stale).
fn schemas() -> &'static Value {
    static SCHEMAS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| serde_json::from_str(include_str!("openapi/schemas.json")).expect("openapi/schemas.json is JSON"))
}

pub async fn api_v1() -> Json<Value> {
    // An operation names its kind as one map (a schema as a list of them).
    let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
    let params = json!([
        query_param("dryRun", "When present, indicates that modifications should not be persisted."),
        query_param("fieldValidation", "How the server treats unknown fields: Ignore, Warn or Strict."),
    ]);
    let op = |id: &str, action: &str| json!({"operationId": id, "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": {}});
    Json(json!({
        "openapi": "3.0.0",
        "info": {"title": "podspec serve", "version": "v1.33.0"},
        "paths": {
            "/api/v1/namespaces/{namespace}/pods": {
                "post": op("createCoreV1NamespacedPod", "post"),
                "get": op("listCoreV1NamespacedPod", "list"),
            },
            "/api/v1/namespaces/{namespace}/pods/{name}": {
                "get": op("readCoreV1NamespacedPod", "get"),
                "put": op("replaceCoreV1NamespacedPod", "put"),
                "patch": patch_op(op("patchCoreV1NamespacedPod", "patch")),
                "delete": op("deleteCoreV1NamespacedPod", "delete"),
            },
        },
        "components": {"schemas": schemas()},
    }))
}

/// The pod's PATCH as kube-apiserver's document states it (its body schema left open: serve has
/// no schema of metav1.Patch): the patch types it takes, server-side
/// apply's among them, and apply's `fieldManager` and `force`.
fn patch_op(mut op: Value) -> Value {
    if let Some(params) = op["parameters"].as_array_mut() {
        params.push(query_param(
            "fieldManager",
            "A name for the actor making these changes; required for apply requests (application/apply-patch).",
        ));
        params.push(json!({"name": "force", "in": "query", "description": "Force an apply: the applier takes the conflicting fields.", "schema": {"type": "boolean", "uniqueItems": true}}));
    }
    let body = json!({"schema": {"type": "object"}});
    let types = [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ];
    op["requestBody"] =
        json!({"required": true, "content": types.iter().map(|t| (t.to_string(), body.clone())).collect::<serde_json::Map<_, _>>()});
    op
}

/// OpenAPI v2 in protobuf, as kubectl asks for it before it decides how to validate: an empty
/// document (no definitions). kubectl reads it, finds `fieldValidation` in the v3 document and
/// leaves validation to the server.
pub async fn v2() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    ([(axum::http::header::CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")], Vec::<u8>::new()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_schemas_carry_their_group_version_kind_and_every_reference_resolves() {
        let s = schemas();
        let pod = &s["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"], json!([{"group": "", "version": "v1", "kind": "Pod"}]));
        assert!(pod["description"].as_str().unwrap().starts_with("Pod is a collection of containers"));
        let text = s.to_string();
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = &r[..r.find('"').unwrap()];
            let name = target.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{target}"));
            assert!(s.get(name).is_some(), "{name} is referred to and missing");
        }
    }

    #[test]
    fn the_pod_patch_takes_apply_patches_with_field_manager_and_force() {
        let op = patch_op(json!({"parameters": []}));
        assert!(op["requestBody"]["content"].get("application/apply-patch+yaml").is_some());
        let names: Vec<&str> = op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["fieldManager", "force"]);
    }
}
