//! Create validation of a pod's security context and host namespaces, with Kubernetes' texts
//! (pkg/apis/core/validation/validation.go `validatePodSpecSecurityContext`, `validateSysctls`,
//! `ValidateSecurityContext`, `validateSeccompProfileField`, `ValidateAppArmorProfileField`,
//! `validateLinux`, `validateWindows`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{AppArmorProfile, PodSpec, SeccompProfile, SecurityContext};

use super::FieldError;

/// A sysctl name: dot- or slash-separated segments (`SysctlContainSlashFmt`).
const SYSCTL_FMT: &str = r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?";
const SYSCTL_MAX_LENGTH: usize = 253;

/// `validatePodSpecSecurityContext`, in its order: the pod's user and group IDs, process
/// namespace sharing, sysctls, fsGroupChangePolicy, seccomp and AppArmor profiles, the
/// supplemental groups policy and the SELinux change policy.
pub fn validate_pod_security(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    let sc = spec.security_context.clone().unwrap_or_default();
    let f = "spec.securityContext";
    if let Some(g) = sc.fs_group {
        check_id(g, &format!("{f}.fsGroup"), errs);
    }
    if let Some(u) = sc.run_as_user {
        check_id(u, &format!("{f}.runAsUser"), errs);
    }
    if let Some(g) = sc.run_as_group {
        check_id(g, &format!("{f}.runAsGroup"), errs);
    }
    for (i, g) in sc.supplemental_groups.iter().flatten().enumerate() {
        check_id(*g, &format!("{f}.supplementalGroups[{i}]"), errs);
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid_raw(
            "spec.securityContext.shareProcessNamespace",
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let sysctl = regex::Regex::new(&format!("^{SYSCTL_FMT}$")).expect("sysctl pattern");
    let mut names = BTreeSet::new();
    for (i, s) in sc.sysctls.iter().flatten().enumerate() {
        let field = format!("spec.securityContext.sysctls[{i}].name");
        if s.name.is_empty() {
            errs.push(FieldError::required(&field));
        } else if s.name.len() > SYSCTL_MAX_LENGTH || !sysctl.is_match(&s.name) {
            errs.push(FieldError::invalid(
                &field,
                &s.name,
                format!("must have at most {SYSCTL_MAX_LENGTH} characters and match regex ^{SYSCTL_FMT}$"),
            ));
        } else if names.contains(s.name.as_str()) {
            errs.push(FieldError::duplicate(&field, &s.name));
        }
        // ValidateHostSysctl: a namespaced sysctl of a namespace the pod shares with the node.
        match sysctl_namespace(&s.name) {
            Some(SysctlNamespace::Net) if spec.host_network == Some(true) => {
                errs.push(FieldError::invalid(&field, &s.name, "may not be specified when 'hostNetwork' is true"))
            }
            Some(SysctlNamespace::Ipc) if spec.host_ipc == Some(true) => {
                errs.push(FieldError::invalid(&field, &s.name, "may not be specified when 'hostIPC' is true"))
            }
            _ => {}
        }
        names.insert(s.name.as_str());
    }
    if let Some(p) = sc.fs_group_change_policy.as_deref() {
        if !["Always", "OnRootMismatch"].contains(&p) {
            errs.push(FieldError::not_supported(format!("{f}.fsGroupChangePolicy"), p, &["Always", "OnRootMismatch"]));
        }
    }
    if let Some(p) = &sc.seccomp_profile {
        validate_seccomp(p, &format!("{f}.seccompProfile"), errs);
    }
    if let Some(p) = &sc.app_armor_profile {
        validate_app_armor(p, &format!("{f}.appArmorProfile"), errs);
    }
    if let Some(p) = sc.supplemental_groups_policy.as_deref() {
        if !["Merge", "Strict"].contains(&p) {
            errs.push(FieldError::not_supported(format!("{f}.supplementalGroupsPolicy"), p, &["Merge", "Strict"]));
        }
    }
    if let Some(p) = sc.se_linux_change_policy.as_deref() {
        if !["MountOption", "Recursive"].contains(&p) {
            errs.push(FieldError::not_supported(format!("{f}.seLinuxChangePolicy"), p, &["MountOption", "Recursive"]));
        }
    }
}

/// `IsValidUserID` / `IsValidGroupID`.
fn check_id(id: i64, field: &str, errs: &mut Vec<FieldError>) {
    if !(0..=i32::MAX as i64).contains(&id) {
        errs.push(FieldError::invalid_raw(field, id, format!("must be between 0 and {}, inclusive", i32::MAX)));
    }
}

enum SysctlNamespace {
    Ipc,
    Net,
}

/// The namespace a sysctl belongs to (component-helpers' sysctl GetNamespace), named with
/// dots or slashes.
fn sysctl_namespace(name: &str) -> Option<SysctlNamespace> {
    let dotted = if name.contains('/') { name.replace('/', ".") } else { name.to_string() };
    if dotted == "kernel.sem" || ["kernel.shm", "kernel.msg", "fs.mqueue."].iter().any(|p| dotted.starts_with(p)) {
        Some(SysctlNamespace::Ipc)
    } else if dotted.starts_with("net.") {
        Some(SysctlNamespace::Net)
    } else {
        None
    }
}

/// Go's `%#v` of a pointer-holding struct cannot be reproduced (it prints memory addresses):
/// the value of a whole-struct error is its type with `{...}`.
fn go_struct(type_name: &str) -> String {
    format!("{type_name}{{...}}")
}

/// `validateSeccompProfileField`.
fn validate_seccomp(p: &SeccompProfile, f: &str, errs: &mut Vec<FieldError>) {
    match p.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(format!("{f}.type")).with_text("type is required when seccompProfile is set")),
        t => errs.push(FieldError::not_supported(format!("{f}.type"), t, &["Localhost", "RuntimeDefault", "Unconfined"])),
    }
    if p.type_ == "Localhost" {
        match p.localhost_profile.as_deref() {
            None => {
                errs.push(FieldError::required(format!("{f}.localhostProfile")).with_text("must be set when seccomp type is Localhost"))
            }
            Some(path) => super::pod::validate_local_descending_path(path, &format!("{f}.localhostProfile"), errs),
        }
    } else if p.localhost_profile.is_some() {
        errs.push(FieldError::invalid_raw(
            format!("{f}.localhostProfile"),
            go_struct("core.SeccompProfile"),
            "can only be set when seccomp type is Localhost",
        ));
    }
}

/// `ValidateAppArmorProfileField`.
fn validate_app_armor(p: &AppArmorProfile, f: &str, errs: &mut Vec<FieldError>) {
    match p.type_.as_str() {
        "Localhost" => match p.localhost_profile.as_deref() {
            None => {
                errs.push(FieldError::required(format!("{f}.localhostProfile")).with_text("must be set when AppArmor type is Localhost"))
            }
            Some(lp) => {
                if lp.trim() != lp {
                    errs.push(FieldError::invalid(format!("{f}.localhostProfile"), lp, "must not be padded with whitespace"));
                } else if lp.is_empty() {
                    errs.push(
                        FieldError::required(format!("{f}.localhostProfile")).with_text("must be set when AppArmor type is Localhost"),
                    );
                }
                if lp.len() > 4095 {
                    errs.push(FieldError::too_long(format!("{f}.localhostProfile"), 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(lp) = p.localhost_profile.as_deref() {
                errs.push(FieldError::invalid(format!("{f}.localhostProfile"), lp, "can only be set when AppArmor type is Localhost"));
            }
        }
        "" => errs.push(FieldError::required(format!("{f}.type")).with_text("type is required when appArmorProfile is set")),
        t => errs.push(FieldError::not_supported(format!("{f}.type"), t, &["Localhost", "RuntimeDefault", "Unconfined"])),
    }
}

/// `ValidateSecurityContext`: a container's security context at `f`
/// (`spec.containers[i].securityContext`). `host_users` is the pod's `hostUsers` (default true).
pub fn validate_container_security(sc: &SecurityContext, f: &str, host_users: bool, errs: &mut Vec<FieldError>) {
    if let Some(u) = sc.run_as_user {
        check_id(u, &format!("{f}.runAsUser"), errs);
    }
    if let Some(g) = sc.run_as_group {
        check_id(g, &format!("{f}.runAsGroup"), errs);
    }
    if let Some(pm) = sc.proc_mount.as_deref() {
        if !["Default", "Unmasked"].contains(&pm) {
            errs.push(FieldError::not_supported(format!("{f}.procMount"), pm, &["Default", "Unmasked"]));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(format!("{f}.procMount"), pm, "`hostUsers` must be false to use `Unmasked`"));
        }
    }
    if let Some(p) = &sc.seccomp_profile {
        validate_seccomp(p, &format!("{f}.seccompProfile"), errs);
    }
    if sc.allow_privilege_escalation == Some(false) {
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid_raw(
                f,
                go_struct("core.SecurityContext"),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        for cap in sc.capabilities.iter().flat_map(|c| c.add.iter().flatten()) {
            if cap == "CAP_SYS_ADMIN" {
                errs.push(FieldError::invalid_raw(
                    f,
                    go_struct("core.SecurityContext"),
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                ));
            }
        }
    }
    if let Some(p) = &sc.app_armor_profile {
        validate_app_armor(p, &format!("{f}.appArmorProfile"), errs);
    }
}

/// Every container of the spec with its path (VisitContainersWithPath: init containers,
/// containers, ephemeral containers).
fn containers_with_paths(spec: &PodSpec) -> Vec<(String, Option<&SecurityContext>)> {
    let init =
        spec.init_containers.iter().flatten().enumerate().map(|(i, c)| (format!("spec.initContainers[{i}]"), c.security_context.as_ref()));
    let regular = spec.containers.iter().enumerate().map(|(i, c)| (format!("spec.containers[{i}]"), c.security_context.as_ref()));
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| (format!("spec.ephemeralContainers[{i}]"), c.security_context.as_ref()));
    init.chain(regular).chain(ephemeral).collect()
}

/// `validateLinux`: no Windows options in a Linux pod.
pub fn validate_linux(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    const MSG: &str = "windows options cannot be set for a linux pod";
    if spec.security_context.as_ref().is_some_and(|s| s.windows_options.is_some()) {
        errs.push(FieldError::forbidden("spec.securityContext.windowsOptions", MSG));
    }
    for (path, sc) in containers_with_paths(spec) {
        if sc.is_some_and(|s| s.windows_options.is_some()) {
            errs.push(FieldError::forbidden(format!("{path}.securityContext.windowsOptions"), MSG));
        }
    }
}

/// `validateWindows`: none of the Linux-only security fields in a Windows pod.
pub fn validate_windows(spec: &PodSpec, errs: &mut Vec<FieldError>) {
    const MSG: &str = "cannot be set for a windows pod";
    if let Some(sc) = &spec.security_context {
        let pod_fields: [(&str, bool); 14] = [
            ("spec.securityContext.appArmorProfile", sc.app_armor_profile.is_some()),
            ("spec.securityContext.seLinuxOptions", sc.se_linux_options.is_some()),
            ("spec.hostUsers", spec.host_users.is_some()),
            ("spec.hostPID", spec.host_pid == Some(true)),
            ("spec.hostIPC", spec.host_ipc == Some(true)),
            ("spec.securityContext.seccompProfile", sc.seccomp_profile.is_some()),
            ("spec.securityContext.fsGroup", sc.fs_group.is_some()),
            ("spec.securityContext.fsGroupChangePolicy", sc.fs_group_change_policy.is_some()),
            ("spec.securityContext.sysctls", sc.sysctls.as_ref().is_some_and(|s| !s.is_empty())),
            ("spec.shareProcessNamespace", spec.share_process_namespace.is_some()),
            ("spec.securityContext.runAsUser", sc.run_as_user.is_some()),
            ("spec.securityContext.runAsGroup", sc.run_as_group.is_some()),
            ("spec.securityContext.supplementalGroups", sc.supplemental_groups.is_some()),
            ("spec.securityContext.supplementalGroupsPolicy", sc.supplemental_groups_policy.is_some()),
        ];
        errs.extend(pod_fields.iter().filter(|(_, set)| *set).map(|(p, _)| FieldError::forbidden(*p, MSG)));
        if sc.se_linux_change_policy.is_some() {
            errs.push(FieldError::forbidden("spec.securityContext.seLinuxChangePolicy", MSG));
        }
    }
    for (path, sc) in containers_with_paths(spec) {
        let Some(sc) = sc else { continue };
        let fields: [(&str, bool); 10] = [
            ("appArmorProfile", sc.app_armor_profile.is_some()),
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("seccompProfile", sc.seccomp_profile.is_some()),
            ("capabilities", sc.capabilities.is_some()),
            ("readOnlyRootFilesystem", sc.read_only_root_filesystem.is_some()),
            ("privileged", sc.privileged.is_some()),
            ("allowPrivilegeEscalation", sc.allow_privilege_escalation.is_some()),
            ("procMount", sc.proc_mount.is_some()),
            ("runAsUser", sc.run_as_user.is_some()),
            ("runAsGroup", sc.run_as_group.is_some()),
        ];
        errs.extend(
            fields.iter().filter(|(_, set)| *set).map(|(name, _)| FieldError::forbidden(format!("{path}.securityContext.{name}"), MSG)),
        );
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
