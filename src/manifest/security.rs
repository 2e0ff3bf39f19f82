//! Create validation of a pod's security context and host namespaces, with Kubernetes' texts
//! (pkg/apis/core/validation/validation.go `ValidatePodSecurityContext`, `validateSysctls`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodSpec;

use super::validation::FieldError;

/// A sysctl name: dot- or slash-separated segments (`SysctlContainSlashFmt`).
const SYSCTL_FMT: &str = r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";
const SYSCTL_MAX_LENGTH: usize = 253;

pub fn validate_pod_security(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid_raw(
            "spec.securityContext.shareProcessNamespace",
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let sysctl = regex::Regex::new(&format!("^{SYSCTL_FMT}$")).expect("sysctl pattern");
    let mut names = BTreeSet::new();
    for (i, s) in spec.security_context.iter().flat_map(|sc| sc.sysctls.iter().flatten()).enumerate() {
        let field = format!("spec.securityContext.sysctls[{i}].name");
        if s.name.is_empty() {
            errs.push(FieldError::required(field));
        } else if s.name.len() > SYSCTL_MAX_LENGTH || !sysctl.is_match(&s.name) {
            errs.push(FieldError::invalid(
                field,
                &s.name,
                format!("must have at most {SYSCTL_MAX_LENGTH} characters and match regex {SYSCTL_FMT}"),
            ));
        } else if !names.insert(s.name.as_str()) {
            errs.push(FieldError::duplicate(field, &s.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(spec: serde_json::Value) -> Vec<String> {
        let spec: PodSpec = serde_json::from_value(spec).unwrap();
        let mut errs = Vec::new();
        validate_pod_security(&spec, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn share_process_namespace_and_host_pid_are_refused_together() {
        let errs = errors(serde_json::json!({"containers": [], "hostPID": true, "shareProcessNamespace": true}));
        assert_eq!(
            errs,
            vec![
                "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"
            ]
        );
        assert!(errors(serde_json::json!({"containers": [], "hostPID": true})).is_empty());
    }

    #[test]
    fn sysctl_names_are_checked() {
        let errs = errors(serde_json::json!({"containers": [], "securityContext": {"sysctls": [
            {"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "foo-", "value": "1"}, {"name": "kernel.shm_rmid_forced", "value": "0"}]}}));
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].starts_with(
                "spec.securityContext.sysctls[1].name: Invalid value: \"foo-\": must have at most 253 characters and match regex"
            ),
            "{errs:?}"
        );
        assert!(errs[1].starts_with("spec.securityContext.sysctls[2].name: Duplicate value"), "{errs:?}");
    }
}
