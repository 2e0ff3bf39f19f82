//! The identities and rights of the API: ServiceAccounts (core/v1) and the four kinds of
//! `rbac.authorization.k8s.io/v1` (Role, ClusterRole, RoleBinding, ClusterRoleBinding), each a
//! kind of the generic store with its strategy, validated as kube-apiserver validates them
//! (pkg/apis/rbac/validation/validation.go, pkg/apis/core/validation ValidateServiceAccount).
//! Who may do what with them is the authorizer's (`server::authz`).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::generic::Store;
use super::registry::Api;
use super::strategy::Strategy;
use crate::validation::FieldError;

pub const GROUP: &str = "rbac.authorization.k8s.io";

/// Registers the five kinds with an API.
pub fn register(api: &Api) {
    api.register(ServiceAccountStrategy);
    api.register(RoleStrategy);
    api.register(ClusterRoleStrategy);
    api.register(RoleBindingStrategy);
    api.register(ClusterRoleBindingStrategy);
}

fn required(field: impl Into<String>, detail: &str) -> FieldError {
    FieldError { detail: detail.into(), ..FieldError::required(field) }
}

/// ValidateRBACName and ValidateServiceAccountName: a name that can be a path segment
/// (rbac), a DNS subdomain (ServiceAccount).
fn name_errors(meta: &ObjectMeta, dns: bool) -> Vec<FieldError> {
    let name = meta.name.as_deref().unwrap_or("");
    if name.is_empty() {
        return vec![required("metadata.name", "name or generateName is required")];
    }
    if dns {
        return crate::validation::metadata::dns1123_subdomain_errors(name).into_iter().map(|d| FieldError::invalid("metadata.name", name, d)).collect();
    }
    let bad = match name {
        "." | ".." => Some(format!("may not be '{name}'")),
        _ => ["/", "%"].iter().find(|c| name.contains(**c)).map(|c| format!("may not contain '{c}'")),
    };
    bad.map(|d| FieldError::invalid("metadata.name", name, d)).into_iter().collect()
}

/// ValidatePolicyRule.
fn rule_errors(rules: &[PolicyRule], namespaced: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let at = |f: &str| format!("rules[{i}].{f}");
        if rule.verbs.is_empty() {
            errors.push(required(at("verbs"), "verbs must contain at least one value"));
        }
        let urls = rule.non_resource_urls.as_deref().unwrap_or_default();
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        if !urls.is_empty() {
            let value = format!("{urls:?}");
            if namespaced {
                errors.push(FieldError::invalid_raw(at("nonResourceURLs"), &value, "namespaced rules cannot apply to non-resource URLs"));
            }
            if !groups.is_empty() || !resources.is_empty() {
                errors.push(FieldError::invalid_raw(
                    at("nonResourceURLs"),
                    &value,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if groups.is_empty() {
            errors.push(required(at("apiGroups"), "resource rules must supply at least one api group"));
        }
        if resources.is_empty() {
            errors.push(required(at("resources"), "resource rules must supply at least one resource"));
        }
    }
    errors
}

/// ValidateRoleBinding and ValidateClusterRoleBinding: the role referred to and the subjects.
fn binding_errors(meta: &ObjectMeta, role_ref: &RoleRef, subjects: &[Subject], namespaced: bool) -> Vec<FieldError> {
    let mut errors = name_errors(meta, false);
    if role_ref.api_group != GROUP {
        errors.push(FieldError::not_supported("roleRef.apiGroup", &role_ref.api_group, &[GROUP]));
    }
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&role_ref.kind.as_str()) {
        errors.push(FieldError::not_supported("roleRef.kind", &role_ref.kind, kinds));
    }
    if role_ref.name.is_empty() {
        errors.push(FieldError::required("roleRef.name"));
    }
    for (i, s) in subjects.iter().enumerate() {
        let at = |f: &str| format!("subjects[{i}].{f}");
        if s.name.is_empty() {
            errors.push(FieldError::required(at("name")));
        }
        match s.kind.as_str() {
            "ServiceAccount" => {
                if s.api_group.as_deref().is_some_and(|g| !g.is_empty()) {
                    errors.push(FieldError::not_supported(at("apiGroup"), s.api_group.as_deref().unwrap_or(""), &[""]));
                }
                if !namespaced && s.namespace.as_deref().unwrap_or("").is_empty() {
                    errors.push(FieldError::required(at("namespace")));
                }
            }
            "User" | "Group" => {
                if s.api_group.as_deref() != Some(GROUP) {
                    errors.push(FieldError::not_supported(at("apiGroup"), s.api_group.as_deref().unwrap_or(""), &[GROUP]));
                }
            }
            other => errors.push(FieldError::not_supported(at("kind"), other, &["ServiceAccount", "User", "Group"])),
        }
    }
    errors
}

fn role_ref_changed(new: &RoleRef, old: &RoleRef) -> Vec<FieldError> {
    if new == old {
        return Vec::new();
    }
    let value = format!("rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}", new.api_group, new.kind, new.name);
    vec![FieldError::invalid_raw("roleRef", value, "cannot change roleRef")]
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceAccountStrategy;

impl Strategy for ServiceAccountStrategy {
    type Object = ServiceAccount;
    fn prepare_for_create(&self, _: &mut ServiceAccount) {}
    fn validate(&self, sa: &ServiceAccount) -> Vec<FieldError> {
        name_errors(&sa.metadata, true)
    }
    fn prepare_for_update(&self, _: &mut ServiceAccount, _: &ServiceAccount) {}
    fn validate_update(&self, new: &ServiceAccount, _: &ServiceAccount) -> Vec<FieldError> {
        self.validate(new)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RoleStrategy;

impl Strategy for RoleStrategy {
    type Object = Role;
    fn prepare_for_create(&self, _: &mut Role) {}
    fn validate(&self, r: &Role) -> Vec<FieldError> {
        let mut e = name_errors(&r.metadata, false);
        e.extend(rule_errors(r.rules.as_deref().unwrap_or_default(), true));
        e
    }
    fn prepare_for_update(&self, _: &mut Role, _: &Role) {}
    fn validate_update(&self, new: &Role, _: &Role) -> Vec<FieldError> {
        self.validate(new)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterRoleStrategy;

impl Strategy for ClusterRoleStrategy {
    type Object = ClusterRole;
    const NAMESPACED: bool = false;
    fn prepare_for_create(&self, _: &mut ClusterRole) {}
    fn validate(&self, r: &ClusterRole) -> Vec<FieldError> {
        let mut e = name_errors(&r.metadata, false);
        e.extend(rule_errors(r.rules.as_deref().unwrap_or_default(), false));
        e
    }
    fn prepare_for_update(&self, _: &mut ClusterRole, _: &ClusterRole) {}
    fn validate_update(&self, new: &ClusterRole, _: &ClusterRole) -> Vec<FieldError> {
        self.validate(new)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RoleBindingStrategy;

impl Strategy for RoleBindingStrategy {
    type Object = RoleBinding;
    fn prepare_for_create(&self, _: &mut RoleBinding) {}
    fn validate(&self, b: &RoleBinding) -> Vec<FieldError> {
        binding_errors(&b.metadata, &b.role_ref, b.subjects.as_deref().unwrap_or_default(), true)
    }
    fn prepare_for_update(&self, _: &mut RoleBinding, _: &RoleBinding) {}
    fn validate_update(&self, new: &RoleBinding, old: &RoleBinding) -> Vec<FieldError> {
        let mut e = self.validate(new);
        e.extend(role_ref_changed(&new.role_ref, &old.role_ref));
        e
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterRoleBindingStrategy;

impl Strategy for ClusterRoleBindingStrategy {
    type Object = ClusterRoleBinding;
    const NAMESPACED: bool = false;
    fn prepare_for_create(&self, _: &mut ClusterRoleBinding) {}
    fn validate(&self, b: &ClusterRoleBinding) -> Vec<FieldError> {
        binding_errors(&b.metadata, &b.role_ref, b.subjects.as_deref().unwrap_or_default(), false)
    }
    fn prepare_for_update(&self, _: &mut ClusterRoleBinding, _: &ClusterRoleBinding) {}
    fn validate_update(&self, new: &ClusterRoleBinding, old: &ClusterRoleBinding) -> Vec<FieldError> {
        let mut e = self.validate(new);
        e.extend(role_ref_changed(&new.role_ref, &old.role_ref));
        e
    }
}

pub type ServiceAccountStore = Store<ServiceAccountStrategy>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binding_to_an_unknown_kind_and_a_rule_without_verbs_are_invalid() {
        let b: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}],
        }))
        .unwrap();
        let e: Vec<String> = ClusterRoleBindingStrategy.validate(&b).iter().map(|e| e.field.clone()).collect();
        assert_eq!(e, ["roleRef.kind", "subjects[0].namespace"]);
        let r: Role = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "r"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": []}, {"nonResourceURLs": ["/x"], "verbs": ["get"]}],
        }))
        .unwrap();
        let e: Vec<String> = RoleStrategy.validate(&r).iter().map(|e| e.body()).collect();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[1].contains("namespaced rules cannot apply to non-resource URLs"), "{e:?}");
    }
}
