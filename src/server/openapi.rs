//! OpenAPI v3, as much as kubectl reads: the index (`/openapi/v3`) and the `api/v1` document
//! with the pod paths, whose PATCH operation carries the Pod's group-version-kind and the
//! `fieldValidation` parameter. kubectl takes that as the server validating fields itself
//! (cli-runtime's query parameter verifier) and sends `fieldValidation=Strict` instead of
//! validating against schemas. Schemas (for `kubectl explain`) are not served yet.

use axum::Json;
use serde_json::{json, Value};

pub async fn index() -> Json<Value> {
    Json(json!({"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=podspec"}}}))
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

pub async fn api_v1() -> Json<Value> {
    let gvk = json!([{"group": "", "version": "v1", "kind": "Pod"}]);
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
                "patch": op("patchCoreV1NamespacedPod", "patch"),
                "delete": op("deleteCoreV1NamespacedPod", "delete"),
            },
        },
        "components": {"schemas": {}},
    }))
}

/// OpenAPI v2 in protobuf, as kubectl asks for it before it decides how to validate: an empty
/// document (no definitions). kubectl reads it, finds `fieldValidation` in the v3 document and
/// leaves validation to the server.
pub async fn v2() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    ([(axum::http::header::CONTENT_TYPE, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")], Vec::<u8>::new()).into_response()
}
