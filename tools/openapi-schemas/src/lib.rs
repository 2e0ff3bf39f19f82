//! The `components.schemas` of podspec serve's OpenAPI v3 document: the Pod, Namespace, Node and
//! Event schemas and everything they refer to, generated from k8s-openapi's types with schemars
//! (their descriptions are the API's own), each kind's with its `x-kubernetes-group-version-kind`,
//! as `kubectl explain` looks them up. podspec-server serves the checked-in file
//! ([`CHECKED_IN`]); `cargo run -p podspec-openapi-schemas` writes it again, and this crate's
//! test fails while the two differ.
#![forbid(unsafe_code)]

use serde_json::{json, Value};

/// Where the schemas are checked in, relative to this crate.
pub const CHECKED_IN: &str = "../../crates/podspec-server/src/openapi/schemas.json";

/// The schemas of the kinds serve serves, under their OpenAPI names (`io.k8s.api.core.v1.Pod`),
/// with the definitions they refer to (`#/components/schemas/...`).
pub fn schemas() -> Value {
    use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let kinds = [
        ("Pod", generator.subschema_for::<Pod>()),
        ("Namespace", generator.subschema_for::<Namespace>()),
        ("Node", generator.subschema_for::<Node>()),
        ("Event", generator.subschema_for::<Event>()),
    ];
    let mut defs = serde_json::Map::new();
    for (name, schema) in generator.take_definitions(true) {
        defs.insert(name, schema);
    }
    for (kind, reference) in kinds {
        let name = reference.as_value().get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(str::to_string);
        if let Some(schema) = name.and_then(|n| defs.get_mut(&n)) {
            schema["x-kubernetes-group-version-kind"] = json!([{"group": "", "version": "v1", "kind": kind}]);
        }
    }
    Value::Object(defs)
}

/// The file's text: the schemas pretty-printed, keys sorted (serde_json's map is ordered by key
/// without its `preserve_order` feature), with a final newline; so a regeneration's diff shows
/// the descriptions and fields that changed, line by line.
pub fn file_text() -> String {
    let mut text = serde_json::to_string_pretty(&schemas()).expect("a JSON value serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_schemas_are_what_k8s_openapi_generates() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CHECKED_IN);
        let checked_in = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let generated = file_text();
        if checked_in != generated {
            let line = checked_in.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
            panic!(
                "{} differs from what k8s-openapi's types generate (first at line {line}); \
                 regenerate it with `cargo run -p podspec-openapi-schemas` and commit it",
                CHECKED_IN.trim_start_matches("../../")
            );
        }
    }
}
