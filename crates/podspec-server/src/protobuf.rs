//! The Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), read for the one
//! request body a kubectl sends in it: `kubectl create namespace` (1.33 sends typed objects as
//! protobuf), and `kubectl create configmap` and `kubectl create secret`. A body is the magic `k8s\0`, then a `runtime.Unknown` whose `raw` is the object
//! (k8s.io/apimachinery/pkg/runtime/generated.proto, k8s.io/api/core/v1/generated.proto). Only
//! the fields a client sets on a new namespace are read (name, generateName, labels,
//! annotations, spec.finalizers); a body with any other ObjectMeta field is refused, not
//! decoded partly.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, NamespaceSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use prost::Message;

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\0";

/// What is wrong with a protobuf body; the text goes into the 400's `Status` after "cannot be
/// handled as a ...".
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error("the body does not start with the protobuf magic \"k8s\\x00\"")]
    NoMagic,
    /// The envelope, or the object in it, is not the message it says it is.
    #[error(transparent)]
    Decode(#[from] prost::DecodeError),
    #[error("the body is a {kind:?} of {api_version:?}, not a v1 {expected}")]
    WrongKind { kind: String, api_version: String, expected: &'static str },
    #[error("podspec serve reads no ownerReferences from a protobuf body; send JSON")]
    OwnerReferences,
}

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

#[derive(Clone, PartialEq, Message)]
struct ConfigMapMessage {
    #[prost(message, optional, tag = "1")]
    metadata: Option<Meta>,
    #[prost(btree_map = "string, string", tag = "2")]
    data: BTreeMap<String, String>,
    #[prost(btree_map = "string, bytes", tag = "3")]
    binary_data: BTreeMap<String, Vec<u8>>,
    #[prost(bool, optional, tag = "4")]
    immutable: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct SecretMessage {
    #[prost(message, optional, tag = "1")]
    metadata: Option<Meta>,
    #[prost(btree_map = "string, bytes", tag = "2")]
    data: BTreeMap<String, Vec<u8>>,
    #[prost(string, optional, tag = "3")]
    type_: Option<String>,
    #[prost(btree_map = "string, string", tag = "4")]
    string_data: BTreeMap<String, String>,
    #[prost(bool, optional, tag = "5")]
    immutable: Option<bool>,
}

/// The object of a protobuf body of `kind` (v1), as its bytes.
fn raw_of(body: &[u8], kind: &'static str) -> Result<Vec<u8>, ProtobufError> {
    let envelope = body.strip_prefix(MAGIC).ok_or(ProtobufError::NoMagic)?;
    let unknown = Unknown::decode(envelope)?;
    let t = unknown.type_meta.unwrap_or_default();
    if t.kind.as_deref() != Some(kind) || t.api_version.as_deref() != Some("v1") {
        return Err(ProtobufError::WrongKind {
            kind: t.kind.unwrap_or_default(),
            api_version: t.api_version.unwrap_or_default(),
            expected: kind,
        });
    }
    Ok(unknown.raw.unwrap_or_default())
}

fn metadata(m: Option<Meta>) -> Result<ObjectMeta, ProtobufError> {
    let m = m.unwrap_or_default();
    if !m.owner_references.is_empty() {
        return Err(ProtobufError::OwnerReferences);
    }
    let map = |m: BTreeMap<String, String>| (!m.is_empty()).then_some(m);
    // An empty string is how a Go client leaves a field unset.
    let set = |s: Option<String>| s.filter(|s| !s.is_empty());
    Ok(ObjectMeta {
        name: set(m.name),
        generate_name: set(m.generate_name),
        namespace: set(m.namespace),
        labels: map(m.labels),
        annotations: map(m.annotations),
        finalizers: (!m.finalizers.is_empty()).then_some(m.finalizers),
        ..Default::default()
    })
}

/// A Namespace from a protobuf body; the error says what is wrong with it.
pub fn namespace(body: &[u8]) -> Result<Namespace, ProtobufError> {
    let ns = NamespaceMessage::decode(raw_of(body, "Namespace")?.as_slice())?;
    Ok(Namespace {
        metadata: metadata(ns.metadata)?,
        spec: ns.spec.map(|s| NamespaceSpec { finalizers: Some(s.finalizers) }),
        status: None,
    })
}

fn bytes_map(m: BTreeMap<String, Vec<u8>>) -> Option<BTreeMap<String, ByteString>> {
    (!m.is_empty()).then(|| m.into_iter().map(|(k, v)| (k, ByteString(v))).collect())
}

/// A ConfigMap from a protobuf body.
pub fn config_map(body: &[u8]) -> Result<ConfigMap, ProtobufError> {
    let c = ConfigMapMessage::decode(raw_of(body, "ConfigMap")?.as_slice())?;
    Ok(ConfigMap {
        metadata: metadata(c.metadata)?,
        data: (!c.data.is_empty()).then_some(c.data),
        binary_data: bytes_map(c.binary_data),
        immutable: c.immutable,
    })
}

/// A Secret from a protobuf body.
pub fn secret(body: &[u8]) -> Result<Secret, ProtobufError> {
    let s = SecretMessage::decode(raw_of(body, "Secret")?.as_slice())?;
    Ok(Secret {
        metadata: metadata(s.metadata)?,
        data: bytes_map(s.data),
        string_data: (!s.string_data.is_empty()).then_some(s.string_data),
        type_: s.type_.filter(|t| !t.is_empty()),
        immutable: s.immutable,
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
        assert_eq!(
            namespace(&body("Pod", &NamespaceMessage::default())).unwrap_err().to_string(),
            r#"the body is a "Pod" of "v1", not a v1 Namespace"#
        );
        assert!(matches!(namespace(b"{}"), Err(ProtobufError::NoMagic)), "{:?}", namespace(b"{}"));
        assert_eq!(namespace(b"{}").unwrap_err().to_string(), r#"the body does not start with the protobuf magic "k8s\x00""#);
    }

    #[test]
    fn a_config_map_and_a_secret_are_read_from_their_protobuf_envelopes() {
        let wrap = |kind: &str, raw: Vec<u8>| {
            let t = TypeMeta { api_version: Some("v1".into()), kind: Some(kind.into()) };
            [MAGIC, &Unknown { type_meta: Some(t), raw: Some(raw) }.encode_to_vec()].concat()
        };
        let m = || Some(Meta { name: Some("c".into()), ..Default::default() });
        let c = ConfigMapMessage {
            metadata: m(),
            data: [("a".to_string(), "1".to_string())].into(),
            binary_data: [("b".to_string(), vec![0, 255])].into(),
            immutable: Some(true),
        };
        let cm = config_map(&wrap("ConfigMap", c.encode_to_vec())).unwrap();
        assert_eq!(
            (cm.data.unwrap()["a"].as_str(), cm.binary_data.unwrap()["b"].0.as_slice(), cm.immutable),
            ("1", &[0u8, 255][..], Some(true))
        );
        let s = SecretMessage {
            metadata: m(),
            data: [("k".to_string(), b"v".to_vec())].into(),
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        let secret = secret(&wrap("Secret", s.encode_to_vec())).unwrap();
        assert_eq!((secret.data.unwrap()["k"].0.as_slice(), secret.type_.as_deref()), (&b"v"[..], Some("Opaque")));
        assert!(matches!(config_map(&wrap("Secret", Vec::new())), Err(ProtobufError::WrongKind { expected: "ConfigMap", .. })));
    }
}
