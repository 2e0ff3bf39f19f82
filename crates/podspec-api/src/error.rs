//! The API layer's errors other than a Kubernetes `Status` ([`ApiError`], which stays whole):
//! why a body, a selector, an admission plugin, a token request or a volume was refused. Each
//! variant's text is the one its caller shows (Kubernetes' or the kubelet's words where they
//! have some), so that the callers above pass it on unchanged.

use std::path::PathBuf;

use crate::manifest::input::BodyError;
use crate::store::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request's body (`manifest::input::yaml_from_slice`): nested too deep, or not the YAML
    /// asked for.
    #[error(transparent)]
    Body(#[from] BodyError),

    // A hostPath volume on the reference node (`manifest::host_path::resolve`).
    #[error("type {kind:?}: only directories (\"\", Directory, DirectoryOrCreate) on the reference node")]
    HostPathType { kind: String },
    #[error("path {path:?} must be absolute, without `.` or `..`")]
    HostPathNotPlain { path: String },
    /// `dirs`: the node's own directories, listed.
    #[error("path {path:?} is not inside the node's own directories ({dirs}): the machine's own files are never handed to a pod")]
    HostPathOutside { path: String, dirs: String },
    #[error("path {path:?}: {source}")]
    HostPathUnreadable { path: PathBuf, source: std::io::Error },
    #[error("path {path:?} is not a directory")]
    HostPathNotDirectory { path: String },

    // Seccomp profiles (`manifest::fields::seccomp_supported`).
    #[error("seccompProfile RuntimeDefault: the reference's default profile is written for x86_64 only")]
    SeccompDefaultProfileArch,
    #[error("seccompProfile {profile}: the reference node keeps no seccomp profiles of its own; only RuntimeDefault and Unconfined")]
    SeccompProfile { profile: String },

    // The admission plugins on a pod create: the reason, the text after `is forbidden: `.
    /// ServiceAccount: the pod's account could not be looked up.
    #[error("error looking up service account {namespace}/{name}: {}", account_lookup(.name, .source))]
    ServiceAccountLookup { namespace: String, name: String, source: Box<ApiError> },
    /// Priority: a class the API does not have.
    #[error("no PriorityClass with name {class} was found")]
    NoPriorityClass { class: String },
    #[error("the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name")]
    PriorityGiven { given: i32, computed: i32 },
    #[error("the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {computed} from the given PriorityClass name")]
    PreemptionPolicyGiven { given: String, computed: String },

    /// A RuntimeClass the kubelet's lookup does not find (named by the singular resource).
    #[error("runtimeclass.node.k8s.io {name:?} not found")]
    RuntimeClassNotFound { name: String },

    // Label and field selectors: the API server's texts.
    #[error("invalid selector: '{part}'; can't understand '{part}'")]
    SelectorTerm { part: String },
    #[error("unable to parse requirement: {part}")]
    LabelRequirement { part: String },
    #[error("field label not supported: {key}")]
    PodFieldNotSelectable { key: String },
    #[error("\"{key}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\", \"involvedObject.*\", \"reason\", \"reportingComponent\", \"source\", \"type\"")]
    EventFieldNotSelectable { key: String },

    // TokenRequests (`tokens`): ValidateTokenRequest's texts after the field.
    #[error("Invalid value: {seconds}: may not specify a duration less than 10 minutes")]
    ExpirationTooShort { seconds: i64 },
    #[error("Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds")]
    ExpirationTooLong { seconds: i64 },
    /// The kubelet's request for a pod: its account could not be read.
    #[error("serviceaccounts {account:?} not found: {source}")]
    TokenAccount { account: String, source: Box<ApiError> },
    /// The kubelet's request for a pod: its expirationSeconds is refused ([`Error::ExpirationTooShort`], [`Error::ExpirationTooLong`]).
    #[error("spec.expirationSeconds: {0}")]
    TokenExpiration(Box<Error>),
}

/// Why the ServiceAccount plugin's look-up failed: the plugin's words for a missing account,
/// the store's otherwise.
fn account_lookup(name: &str, e: &ApiError) -> String {
    if e.code == 404 {
        format!("serviceaccount {name:?} not found")
    } else {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, message: &str) -> Box<ApiError> {
        Box::new(ApiError { code, reason: String::new(), message: message.into(), causes: Vec::new() })
    }

    /// The texts callers pass on (Kubernetes', the kubelet's, the reference node's), byte for
    /// byte as they were worded before they had a type.
    #[test]
    fn each_error_reads_as_its_callers_show_it() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let cases: Vec<(Error, String)> = vec![
            (BodyError::from(crate::manifest::input::TooDeep { line: 3 }).into(), format!("line 3: {}", crate::manifest::input::TooDeep { line: 3 })),
            (Error::HostPathType { kind: "File".into() }, r#"type "File": only directories ("", Directory, DirectoryOrCreate) on the reference node"#.into()),
            (Error::HostPathNotPlain { path: "a/../b".into() }, r#"path "a/../b" must be absolute, without `.` or `..`"#.into()),
            (
                Error::HostPathOutside { path: "/etc".into(), dirs: "/var/lib/podspec".into() },
                r#"path "/etc" is not inside the node's own directories (/var/lib/podspec): the machine's own files are never handed to a pod"#.into(),
            ),
            (Error::HostPathUnreadable { path: "/x\"y".into(), source: io() }, format!("path {:?}: {}", "/x\"y", io())),
            (Error::HostPathNotDirectory { path: "/f".into() }, r#"path "/f" is not a directory"#.into()),
            (Error::SeccompDefaultProfileArch, "seccompProfile RuntimeDefault: the reference's default profile is written for x86_64 only".into()),
            (
                Error::SeccompProfile { profile: "Localhost".into() },
                "seccompProfile Localhost: the reference node keeps no seccomp profiles of its own; only RuntimeDefault and Unconfined".into(),
            ),
            (
                Error::ServiceAccountLookup { namespace: "ns".into(), name: "robot".into(), source: api(404, "gone") },
                r#"error looking up service account ns/robot: serviceaccount "robot" not found"#.into(),
            ),
            (
                Error::ServiceAccountLookup { namespace: "ns".into(), name: "robot".into(), source: api(500, "store broke") },
                "error looking up service account ns/robot: store broke".into(),
            ),
            (Error::NoPriorityClass { class: "high".into() }, "no PriorityClass with name high was found".into()),
            (
                Error::PriorityGiven { given: 7, computed: 0 },
                "the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 0 from the given PriorityClass name".into(),
            ),
            (
                Error::PreemptionPolicyGiven { given: "Never".into(), computed: "PreemptLowerPriority".into() },
                "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name".into(),
            ),
            (Error::RuntimeClassNotFound { name: "gone".into() }, r#"runtimeclass.node.k8s.io "gone" not found"#.into()),
            (Error::SelectorTerm { part: "a".into() }, "invalid selector: 'a'; can't understand 'a'".into()),
            (Error::LabelRequirement { part: "a in b".into() }, "unable to parse requirement: a in b".into()),
            (Error::PodFieldNotSelectable { key: "spec.foo".into() }, "field label not supported: spec.foo".into()),
            (
                Error::EventFieldNotSelectable { key: "spec.nodeName".into() },
                r#""spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace", "involvedObject.*", "reason", "reportingComponent", "source", "type""#.into(),
            ),
            (Error::ExpirationTooShort { seconds: 60 }, "Invalid value: 60: may not specify a duration less than 10 minutes".into()),
            (Error::ExpirationTooLong { seconds: 1 << 33 }, "Invalid value: 8589934592: may not specify a duration larger than 2^32 seconds".into()),
            (
                Error::TokenAccount { account: "nobody".into(), source: api(404, r#"serviceaccounts "nobody" not found"#) },
                r#"serviceaccounts "nobody" not found: serviceaccounts "nobody" not found"#.into(),
            ),
            (
                Error::TokenExpiration(Box::new(Error::ExpirationTooShort { seconds: 60 })),
                "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes".into(),
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }
}
