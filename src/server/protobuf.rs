//! The Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), read for the one
//! request body a kubectl sends in it: `kubectl create namespace` (1.33 sends typed objects as
//! protobuf). A body is the magic `k8s\0`, then a `runtime.Unknown` whose `raw` is the object
//! (k8s.io/apimachinery/pkg/runtime/generated.proto, k8s.io/api/core/v1/generated.proto). Only
//! the fields a client sets on a new namespace are read (name, generateName, labels,
//! annotations, spec.finalizers); a body with any other ObjectMeta field is refused, not
//! decoded partly.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prost::Message;

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, PartialEq, Message)]
struct TypeMeta {
    #[prost(string, optional, tag = "1")]
    api_version: Option<String>,
    #[prost(string, optional, tag = "2")]
    kind: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Unknown {
    #[prost(message, optional, tag = "1")]
    type_meta: Option<TypeMeta>,
    #[prost(bytes = "vec", optional, tag = "2")]
    raw: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
struct Meta {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    generate_name: Option<String>,
    #[prost(string, optional, tag = "3")]
    namespace: Option<String>,
    #[prost(btree_map = "string, string", tag = "11")]
    labels: BTreeMap<String, String>,
    #[prost(btree_map = "string, string", tag = "12")]
    annotations: BTreeMap<String, String>,
    #[prost(message, repeated, tag = "13")]
    owner_references: Vec<Opaque>,
    #[prost(string, repeated, tag = "14")]
    finalizers: Vec<String>,
}

/// A message read only to see that it is there.
#[derive(Clone, PartialEq, Message)]
struct Opaque {}

#[derive(Clone, PartialEq, Message)]
struct Spec {
    #[prost(string, repeated, tag = "1")]
    finalizers: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct NamespaceMessage {
    #[prost(message, optional, tag = "1")]
    metadata: Option<Meta>,
    #[prost(message, optional, tag = "2")]
    spec: Option<Spec>,
}

/// A Namespace from a protobuf body; the error says what is wrong with it.
pub fn namespace(body: &[u8]) -> Result<Namespace, String> {
    let envelope = body.strip_prefix(MAGIC).ok_or("the body does not start with the protobuf magic \"k8s\\x00\"")?;
    let unknown = Unknown::decode(envelope).map_err(|e| e.to_string())?;
    let t = unknown.type_meta.unwrap_or_default();
    if t.kind.as_deref() != Some("Namespace") || t.api_version.as_deref() != Some("v1") {
        return Err(format!(
            "the body is a {:?} of {:?}, not a v1 Namespace",
            t.kind.unwrap_or_default(),
            t.api_version.unwrap_or_default()
        ));
    }
    let ns = NamespaceMessage::decode(unknown.raw.unwrap_or_default().as_slice()).map_err(|e| e.to_string())?;
    let m = ns.metadata.unwrap_or_default();
    if !m.owner_references.is_empty() {
        return Err("podspec serve reads no ownerReferences from a protobuf body; send JSON".into());
    }
    let map = |m: BTreeMap<String, String>| (!m.is_empty()).then_some(m);
    Ok(Namespace {
        metadata: ObjectMeta {
            name: m.name,
            generate_name: m.generate_name,
            namespace: m.namespace,
            labels: map(m.labels),
            annotations: map(m.annotations),
            finalizers: (!m.finalizers.is_empty()).then_some(m.finalizers),
            ..Default::default()
        },
        spec: ns.spec.map(|s| NamespaceSpec { finalizers: Some(s.finalizers) }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, ns: &NamespaceMessage) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: Some("v1".into()), kind: Some(kind.into()) }),
            raw: Some(ns.encode_to_vec()),
        };
        [MAGIC, &unknown.encode_to_vec()].concat()
    }

    #[test]
    fn a_namespace_is_read_from_its_protobuf_envelope() {
        let m = Meta { name: Some("team-a".into()), labels: [("a".to_string(), "b".to_string())].into(), ..Default::default() };
        let ns = namespace(&body("Namespace", &NamespaceMessage { metadata: Some(m), spec: None })).unwrap();
        assert_eq!(ns.metadata.name.as_deref(), Some("team-a"));
        assert_eq!(ns.metadata.labels.unwrap()["a"], "b");
        assert!(namespace(&body("Pod", &NamespaceMessage::default())).unwrap_err().contains("not a v1 Namespace"));
        assert!(namespace(b"{}").unwrap_err().contains("magic"));
    }
}
