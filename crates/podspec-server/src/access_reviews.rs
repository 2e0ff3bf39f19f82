//! `authorization.k8s.io/v1` `selfsubjectaccessreviews` (may the caller do this?) and
//! `subjectaccessreviews` (may this user or these groups?), create only, as in Kubernetes: each
//! answered by the same authorizer that admits serve's requests (`authz`), with its reason
//! (`RBAC: allowed by ClusterRoleBinding ...`). What the review asks is validated as
//! kube-apiserver validates it (`ValidateSelfSubjectAccessReviewSpec`: exactly one of
//! resourceAttributes and nonResourceAttributes), so a malformed review is refused, not allowed.
//! Also the group's discovery documents, which `/apis` lists.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, ResourceAttributes, SelfSubjectAccessReview, SubjectAccessReview, SubjectAccessReviewStatus,
};
use serde_json::{json, Value};

use axum::extract::State;
use axum::Extension;

use super::authz::{self, User};
use super::{AppState, Failure};

pub const GROUP: &str = "authorization.k8s.io";
pub const VERSION: &str = "v1";

/// The group as `/apis` lists it (APIGroup).
pub fn group() -> Value {
    let gv = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({"name": GROUP, "versions": [gv], "preferredVersion": gv})
}

/// `GET /apis/authorization.k8s.io`.
pub async fn api_group() -> Json<Value> {
    let mut g = group();
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Json(g)
}

/// `GET /apis/authorization.k8s.io/v1`.
pub async fn resources() -> Json<Value> {
    Json(resource_list())
}

/// The one resource serve offers of the group (APIResourceList).
pub fn resource_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": [{
            "name": "selfsubjectaccessreviews",
            "singularName": "selfsubjectaccessreview",
            "namespaced": false,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        }, {
            "name": "selfsubjectrulesreviews",
            "singularName": "selfsubjectrulesreview",
            "namespaced": false,
            "kind": "SelfSubjectRulesReview",
            "verbs": ["create"],
        }, {
            "name": "subjectaccessreviews",
            "singularName": "subjectaccessreview",
            "namespaced": false,
            "kind": "SubjectAccessReview",
            "verbs": ["create"],
        }],
    })
}

/// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`: the review back with its status
/// (201, as kube-apiserver answers a create).
pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<User>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::bad_request(format!("SelfSubjectAccessReview in version \"v1\" cannot be handled as a SelfSubjectAccessReview: {e}"))
    };
    let review: SelfSubjectAccessReview = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| cannot(&e))?
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(&body).map_err(|e| cannot(&e))?
    } else if content_type.starts_with(protobuf::CONTENT_TYPE) {
        // kubectl's typed clients send protobuf (`kubectl auth can-i`); the answer is JSON,
        // which their Accept header takes too.
        protobuf::decode(&body).map_err(|e| cannot(&e))?
    } else {
        return Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
        ));
    };
    let mut review = valid(review)?;
    review.status = Some(status(decide(
        state.node.api(),
        &user,
        review.spec.resource_attributes.as_ref(),
        review.spec.non_resource_attributes.as_ref(),
    )));
    Ok((StatusCode::CREATED, Json(review)).into_response())
}

/// `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`: may the user (or groups) the
/// review names do what it asks? (JSON or YAML.)
pub async fn create_subject(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::bad_request(format!("SubjectAccessReview in version \"v1\" cannot be handled as a SubjectAccessReview: {e}"))
    };
    let mut review: SubjectAccessReview = if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(&body).map_err(|e| cannot(&e))?
    } else {
        serde_json::from_slice(&body).map_err(|e| cannot(&e))?
    };
    let spec = &review.spec;
    let user_name = spec.user.clone().unwrap_or_default();
    let groups = spec.groups.clone().unwrap_or_default();
    let mut cause = attributes_cause(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref());
    if cause.is_none() && user_name.is_empty() && groups.is_empty() {
        cause = Some(("spec.user", "Invalid value: \"\": at least one of user or group must be specified".to_string()));
    }
    if let Some((field, message)) = cause {
        return Err(invalid("SubjectAccessReview", field, message));
    }
    let user = User { name: user_name, uid: spec.uid.clone().unwrap_or_default(), groups };
    review.status = Some(status(decide(state.node.api(), &user, spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref())));
    Ok((StatusCode::CREATED, Json(review)).into_response())
}

/// `POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews` (`kubectl auth can-i --list`):
/// every rule that applies to the caller in the namespace asked, from the same bindings the
/// authorizer reads (JSON, YAML or kubectl's protobuf).
pub async fn create_rules(
    State(state): State<AppState>,
    Extension(user): Extension<User>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    use k8s_openapi::api::authorization::v1::{NonResourceRule, ResourceRule, SelfSubjectRulesReview, SubjectRulesReviewStatus};
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::bad_request(format!("SelfSubjectRulesReview in version \"v1\" cannot be handled as a SelfSubjectRulesReview: {e}"))
    };
    let mut review: SelfSubjectRulesReview = if content_type.starts_with(protobuf::CONTENT_TYPE) {
        let namespace = protobuf::rules_review_namespace(&body).map_err(|e| cannot(&e))?;
        SelfSubjectRulesReview { spec: k8s_openapi::api::authorization::v1::SelfSubjectRulesReviewSpec { namespace }, ..Default::default() }
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(&body).map_err(|e| cannot(&e))?
    } else {
        serde_json::from_slice(&body).map_err(|e| cannot(&e))?
    };
    let namespace = review.spec.namespace.clone().unwrap_or_default();
    let (rules, errors) = authz::rules_for(state.node.api(), &user, &namespace);
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for r in rules {
        if r.non_resource_urls.as_deref().is_some_and(|u| !u.is_empty()) {
            non_resource_rules.push(NonResourceRule { verbs: r.verbs, non_resource_urls: r.non_resource_urls });
        } else {
            resource_rules.push(ResourceRule {
                verbs: r.verbs,
                api_groups: r.api_groups,
                resources: r.resources,
                resource_names: r.resource_names,
            });
        }
    }
    review.status = Some(SubjectRulesReviewStatus {
        evaluation_error: (!errors.is_empty()).then(|| errors.join(", ")),
        incomplete: !errors.is_empty(),
        non_resource_rules,
        resource_rules,
    });
    Ok((StatusCode::CREATED, Json(review)).into_response())
}

/// The authorizer's decision on what a review asks.
fn decide(
    api: &podspec_api::Api,
    user: &User,
    resource: Option<&ResourceAttributes>,
    non_resource: Option<&NonResourceAttributes>,
) -> authz::Decision {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let attributes = match (resource, non_resource) {
        (Some(r), _) => authz::Attributes {
            verb: s(&r.verb),
            resource_request: true,
            namespace: s(&r.namespace),
            api_group: s(&r.group),
            resource: s(&r.resource),
            subresource: s(&r.subresource),
            name: s(&r.name),
            path: String::new(),
        },
        (None, Some(n)) => authz::Attributes { verb: s(&n.verb), path: s(&n.path), ..Default::default() },
        (None, None) => authz::Attributes::default(),
    };
    authz::authorize(api, user, &attributes)
}

fn status(d: authz::Decision) -> SubjectAccessReviewStatus {
    SubjectAccessReviewStatus {
        allowed: d.allowed,
        denied: None,
        reason: (!d.reason.is_empty()).then_some(d.reason),
        evaluation_error: None,
    }
}

fn attributes_cause(resource: Option<&ResourceAttributes>, non_resource: Option<&NonResourceAttributes>) -> Option<(&'static str, String)> {
    match (resource, non_resource) {
        (Some(_), Some(given)) => Some((
            "spec.nonResourceAttributes",
            format!(
                "Invalid value: {}: cannot be specified in combination with resourceAttributes",
                serde_json::to_string(given).unwrap_or_default()
            ),
        )),
        (None, None) => Some((
            "spec.resourceAttributes",
            "Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified".to_string(),
        )),
        _ => None,
    }
}

fn invalid(kind: &str, field: &str, message: String) -> Failure {
    Failure::new(422, "Invalid", format!("{kind}.{GROUP} \"\" is invalid: {field}: {message}")).with_details(json!({
        "group": GROUP,
        "kind": kind,
        "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}],
    }))
}

/// The review if it is valid, or the Invalid error kube-apiserver gives for what it asks.
pub fn valid(review: SelfSubjectAccessReview) -> Result<SelfSubjectAccessReview, Failure> {
    let spec = &review.spec;
    if let Some((field, message)) = attributes_cause(spec.resource_attributes.as_ref(), spec.non_resource_attributes.as_ref()) {
        return Err(invalid("SelfSubjectAccessReview", field, message));
    }
    Ok(review)
}

/// The protobuf form of a SelfSubjectAccessReview, read far enough to answer it: Kubernetes'
/// envelope (the magic `k8s\0`, then a runtime.Unknown whose `raw` is the object) and the
/// fields of k8s.io/api/authorization/v1's generated.proto that a review asks with. The
/// attributes' field and label selectors (fields 8 and 9) are not read: the answer does not
/// depend on them, and the echoed spec then lacks them.
mod protobuf {
    use k8s_openapi::api::authorization::v1::{
        NonResourceAttributes, ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };

    pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
    const MAGIC: &[u8] = b"k8s\0";

    enum Value<'a> {
        Varint,
        Bytes(&'a [u8]),
    }

    /// What is wrong with a review's protobuf body, as its 400 says.
    #[derive(Debug, thiserror::Error)]
    pub enum WireError {
        #[error("no protobuf envelope (the magic k8s\\0 is missing)")]
        NoEnvelope,
        #[error("a varint runs past the end")]
        VarintPastEnd,
        #[error("a varint is longer than 10 bytes")]
        VarintTooLong,
        #[error(transparent)]
        Length(#[from] std::num::TryFromIntError),
        #[error("field {field} is {len} bytes, {remain} remain")]
        FieldPastEnd { field: u64, len: usize, remain: usize },
        #[error("a fixed-width field runs past the end")]
        FixedPastEnd,
        #[error("wire type {wire_type} (field {field})")]
        WireType { wire_type: u64, field: u64 },
        #[error("field {field}: {source}")]
        NotUtf8 { field: u64, source: std::string::FromUtf8Error },
        #[error("the envelope holds a {0:?}")]
        OtherKind(String),
        #[error("the envelope holds no object")]
        NoObject,
    }

    fn varint(b: &mut &[u8]) -> Result<u64, WireError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first().ok_or(WireError::VarintPastEnd)?;
            *b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(WireError::VarintTooLong)
    }

    /// The fields of one message, in order (fixed-width ones are skipped).
    fn fields(mut b: &[u8]) -> Result<Vec<(u64, Value<'_>)>, WireError> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b)?;
            let value = match key & 7 {
                0 => varint(&mut b).map(|_| Value::Varint)?,
                2 => {
                    let n = usize::try_from(varint(&mut b)?)?;
                    if n > b.len() {
                        return Err(WireError::FieldPastEnd { field: key >> 3, len: n, remain: b.len() });
                    }
                    let (v, rest) = b.split_at(n);
                    b = rest;
                    Value::Bytes(v)
                }
                1 | 5 => {
                    let n = if key & 7 == 1 { 8 } else { 4 };
                    b = b.get(n..).ok_or(WireError::FixedPastEnd)?;
                    Value::Varint
                }
                t => return Err(WireError::WireType { wire_type: t, field: key >> 3 }),
            };
            out.push((key >> 3, value));
        }
        Ok(out)
    }

    fn message(b: &[u8], number: u64) -> Result<Option<&[u8]>, WireError> {
        Ok(fields(b)?.into_iter().rev().find_map(|(n, v)| match v {
            Value::Bytes(v) if n == number => Some(v),
            _ => None,
        }))
    }

    /// Each string field by number (empty ones as absent).
    fn string(b: &[u8], number: u64) -> Result<Option<String>, WireError> {
        match message(b, number)? {
            None | Some([]) => Ok(None),
            Some(v) => String::from_utf8(v.to_vec()).map(Some).map_err(|source| WireError::NotUtf8 { field: number, source }),
        }
    }

    /// The namespace a SelfSubjectRulesReview asks about (its spec's field 1).
    pub fn rules_review_namespace(body: &[u8]) -> Result<Option<String>, WireError> {
        let unknown = body.strip_prefix(MAGIC).ok_or(WireError::NoEnvelope)?;
        let type_meta = message(unknown, 1)?.unwrap_or_default();
        let kind = string(type_meta, 2)?.unwrap_or_default();
        if kind != "SelfSubjectRulesReview" {
            return Err(WireError::OtherKind(kind));
        }
        let raw = message(unknown, 2)?.ok_or(WireError::NoObject)?;
        let spec = message(raw, 2)?.unwrap_or_default();
        string(spec, 1)
    }

    pub fn decode(body: &[u8]) -> Result<SelfSubjectAccessReview, WireError> {
        let unknown = body.strip_prefix(MAGIC).ok_or(WireError::NoEnvelope)?;
        let type_meta = message(unknown, 1)?.unwrap_or_default();
        let kind = string(type_meta, 2)?.unwrap_or_default();
        if kind != "SelfSubjectAccessReview" {
            return Err(WireError::OtherKind(kind));
        }
        let raw = message(unknown, 2)?.ok_or(WireError::NoObject)?;
        let spec = message(raw, 2)?.unwrap_or_default();
        let resource_attributes = match message(spec, 1)? {
            None => None,
            Some(r) => Some(ResourceAttributes {
                namespace: string(r, 1)?,
                verb: string(r, 2)?,
                group: string(r, 3)?,
                version: string(r, 4)?,
                resource: string(r, 5)?,
                subresource: string(r, 6)?,
                name: string(r, 7)?,
                ..Default::default()
            }),
        };
        let non_resource_attributes = match message(spec, 2)? {
            None => None,
            Some(n) => Some(NonResourceAttributes { path: string(n, 1)?, verb: string(n, 2)? }),
        };
        Ok(SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec { resource_attributes, non_resource_attributes },
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(spec: Value) -> SelfSubjectAccessReview {
        serde_json::from_value(json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": spec})).unwrap()
    }

    /// kube-apiserver's texts (pkg/apis/authorization/validation, ValidateSelfSubjectAccessReviewSpec).
    #[test]
    fn a_review_asking_nothing_or_both_is_invalid() {
        let e = valid(review(json!({}))).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert_eq!(
            e.message,
            "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
        );
        let both = review(json!({"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"verb": "get", "path": "/"}}));
        assert!(valid(both).unwrap_err().message.contains("spec.nonResourceAttributes: Invalid value: {\"path\":\"/\",\"verb\":\"get\"}: cannot be specified in combination with resourceAttributes"));
    }

    /// The body kubectl 1.33 sends for `kubectl auth can-i create pods` (its -v=8 dump).
    #[test]
    fn kubectls_protobuf_review_is_read() {
        let hex = "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f763112175365\
                   6c665375626a6563744163636573735265766965771 23f0a100a0012001a0022002a\
                   003200380042001221 0a1f0a0764656661756c7412066372656174651a0022002a04\
                   706f647332003a001a0808001200 1a0020001a002200";
        let hex: String = hex.chars().filter(char::is_ascii_hexdigit).collect();
        let body: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let review = protobuf::decode(&body).unwrap();
        let a = review.spec.resource_attributes.unwrap();
        assert_eq!((a.namespace.as_deref(), a.verb.as_deref(), a.resource.as_deref()), (Some("default"), Some("create"), Some("pods")));
        assert_eq!((a.group, a.subresource), (None, None));
        assert!(review.spec.non_resource_attributes.is_none());
        assert!(matches!(protobuf::decode(b"{}"), Err(protobuf::WireError::NoEnvelope)));
        assert_eq!(protobuf::decode(b"{}").unwrap_err().to_string(), r"no protobuf envelope (the magic k8s\0 is missing)");
    }

    #[test]
    fn discovery_lists_the_create_verb_only() {
        assert_eq!(group()["preferredVersion"]["groupVersion"], "authorization.k8s.io/v1");
        let list = resource_list();
        assert_eq!(list["resources"][0]["name"], "selfsubjectaccessreviews");
        assert_eq!(list["resources"][0]["verbs"], json!(["create"]));
    }
}
