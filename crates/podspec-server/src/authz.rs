//! Who is asking, and may they: serve's authentication and RBAC authorization, as
//! kube-apiserver's. Two kinds of bearer token are accepted: serve's own (the kubeconfig it
//! writes; user `kubernetes-admin` in group `system:masters`, which kube-apiserver lets do
//! everything, as a kind cluster's admin kubeconfig may) and the ServiceAccount tokens serve
//! issues through the TokenRequest subresource (`kubectl create token`), valid while their
//! ServiceAccount (the same uid) exists and until they expire. Every request is then described
//! as kube-apiserver's RequestInfoFactory describes it (verb from the HTTP method, `list` and
//! `watch` for a GET without a name, `deletecollection`, subresources, names; the path and the
//! lower-cased method for a non-resource URL) and allowed only when a rule of a role bound to
//! the user allows it (plugin/pkg/auth/authorizer/rbac: RuleAllows, appliesTo), else refused
//! 403 with kube-apiserver's text (endpoints/handlers/responsewriters: forbiddenMessage).
//! exec (and attach) over a WebSocket is a GET, so the verb `get` on `pods/exec`
//! (`pods/attach`); over SPDY a POST, so
//! `create` (the version serve reports, 1.33, has no second check for `create` on the
//! WebSocket upgrade: that came in 1.35 behind a feature gate).
//! The roles and bindings kube-apiserver bootstraps for discovery and self-review
//! (`system:discovery`, `system:basic-user`, `system:public-info-viewer`, `cluster-admin`) are
//! made when serve starts, so an identity bound to a plugin's role can also discover the API.

use std::collections::HashMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::Digest as _;

use super::Failure;
use podspec_api::rbac::{ClusterRoleBindingStrategy, ClusterRoleStrategy, RoleBindingStrategy, RoleStrategy, GROUP};
use podspec_api::{Api, ApiError};

/// The audience serve's ServiceAccount tokens are for, unless a TokenRequest names others (a
/// token not for it is not accepted by serve, as by kube-apiserver).
pub use podspec_api::tokens::AUDIENCE;
/// The user serve's own token authenticates as.
pub const ADMIN: &str = "kubernetes-admin";
pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";

/// An authenticated identity (user.Info).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
}

impl User {
    pub fn admin() -> Self {
        Self { name: ADMIN.into(), uid: String::new(), groups: vec![MASTERS.into(), AUTHENTICATED.into()] }
    }

    /// A ServiceAccount's user (serviceaccount.UserInfo).
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            uid: uid.into(),
            groups: vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{namespace}"), AUTHENTICATED.into()],
        }
    }
}

/// serve's own token, kept by its SHA-256 (never in the clear); the ServiceAccount tokens are
/// the API's (`api::tokens`: issued by TokenRequest, for `kubectl create token` and the
/// kubelet's projected tokens).
pub struct Tokens {
    admin: [u8; 32],
}

fn digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    pub fn new(admin: &str) -> Self {
        Self { admin: digest(admin) }
    }

    /// The identity a bearer token authenticates as, if any: serve's own, or a ServiceAccount
    /// token the API issued (`api::tokens::TokenIssuer::authenticate`).
    pub fn authenticate(&self, api: &Api, token: &str) -> Option<User> {
        if digest(token) == self.admin {
            return Some(User::admin());
        }
        let s = api.tokens().authenticate(api, token)?;
        Some(User::service_account(&s.namespace, &s.name, &s.uid))
    }
}

/// What a request asks (authorizer.Attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub resource_request: bool,
    pub namespace: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    /// A non-resource request's path.
    pub path: String,
}

/// A request described as RequestInfoFactory.NewRequestInfo does.
pub fn request_attributes(method: &str, path: &str, query: Option<&str>) -> Attributes {
    let non_resource = || Attributes { verb: method.to_ascii_lowercase(), path: path.to_string(), ..Default::default() };
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() < 3 {
        return non_resource();
    }
    let (group, mut rest) = match parts[0] {
        "api" => ("", &parts[2..]),
        "apis" if parts.len() >= 4 => (parts[1], &parts[3..]),
        _ => return non_resource(),
    };
    let mut a = Attributes { resource_request: true, api_group: group.to_string(), ..Default::default() };
    if matches!(rest.first(), Some(&"watch") | Some(&"proxy")) && rest.len() >= 2 {
        a.verb = rest[0].to_string();
        rest = &rest[1..];
    } else {
        a.verb = match method {
            "POST" => "create",
            "GET" | "HEAD" => "get",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => "delete",
            _ => "",
        }
        .to_string();
    }
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        a.namespace = rest[1].to_string();
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    if rest.len() >= 3 && a.verb != "proxy" {
        a.subresource = rest[2].to_string();
    }
    if rest.len() >= 2 {
        a.name = rest[1].to_string();
    }
    if let Some(r) = rest.first() {
        a.resource = r.to_string();
    }
    let query: HashMap<String, String> = query.map(form_urlencoded).unwrap_or_default();
    if a.name.is_empty() && a.verb == "get" {
        let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
        a.verb = if watch { "watch" } else { "list" }.to_string();
        // A list of one name by field selector is authorized for that name.
        if let Some(fs) = query.get("fieldSelector") {
            let exact: Vec<&str> = fs.split(',').collect();
            if let [one] = exact.as_slice() {
                if let Some(n) = one.strip_prefix("metadata.name=").or_else(|| one.strip_prefix("metadata.name==")) {
                    if !n.is_empty() && !n.contains('/') && !n.contains('%') && n != "." && n != ".." {
                        a.name = n.to_string();
                    }
                }
            }
        }
    }
    if a.name.is_empty() && a.verb == "delete" {
        a.verb = "deletecollection".into();
    }
    a
}

fn form_urlencoded(q: &str) -> HashMap<String, String> {
    let uri: axum::http::Uri = match format!("/?{q}").parse() {
        Ok(u) => u,
        Err(_) => return HashMap::new(),
    };
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(&uri).map(|q| q.0).unwrap_or_default()
}

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Why (the binding that allowed it), or the errors met on the way (a binding whose role is
    /// missing), as RBAC words them.
    pub reason: String,
}

/// RuleAllows.
pub fn rule_allows(a: &Attributes, rule: &PolicyRule) -> bool {
    let has = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
    if !has(&rule.verbs, &a.verb) {
        return false;
    }
    if !a.resource_request {
        return rule
            .non_resource_urls
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|u| u == "*" || *u == a.path || (u.ends_with('*') && a.path.starts_with(u.trim_end_matches('*'))));
    }
    let combined = if a.subresource.is_empty() { a.resource.clone() } else { format!("{}/{}", a.resource, a.subresource) };
    let resources = rule.resources.as_deref().unwrap_or_default();
    let resource_matches = resources.iter().any(|r| {
        r == "*"
            || *r == combined
            || (!a.subresource.is_empty() && r.len() == a.subresource.len() + 2 && r.starts_with("*/") && r.ends_with(&a.subresource))
    });
    let names = rule.resource_names.as_deref().unwrap_or_default();
    has(rule.api_groups.as_deref().unwrap_or_default(), &a.api_group) && resource_matches && (names.is_empty() || names.contains(&a.name))
}

fn applies_to(user: &User, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.groups.contains(&subject.name),
        "ServiceAccount" => {
            let ns = subject.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(binding_namespace);
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{}", subject.name)
        }
        _ => false,
    }
}

fn describe_subject(s: &Subject, binding_namespace: &str) -> String {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or(binding_namespace);
            format!("ServiceAccount {:?}", format!("{}/{ns}", s.name))
        }
        k => format!("{k} {:?}", s.name),
    }
}

/// Why a binding's role gives no rules; the authorizer's reason says it (kube-apiserver's
/// words).
#[derive(Debug, thiserror::Error)]
enum RoleRefError {
    #[error("clusterrole.{group} {name:?} not found", group = GROUP)]
    ClusterRoleNotFound {
        name: String,
        #[source]
        source: ApiError,
    },
    #[error("role.{group} {name:?} not found", group = GROUP)]
    RoleNotFound {
        name: String,
        #[source]
        source: ApiError,
    },
    #[error("unknown roleRef kind {0:?}")]
    UnknownKind(String),
}

/// The rules of the role a binding refers to (a RoleBinding may name a Role of its namespace
/// or a ClusterRole).
fn rules_of(api: &Api, role_ref: &RoleRef, namespace: &str) -> Result<Vec<PolicyRule>, RoleRefError> {
    let name = || role_ref.name.clone();
    match role_ref.kind.as_str() {
        "ClusterRole" => api
            .store::<ClusterRoleStrategy>()
            .get("", &role_ref.name)
            .map(|r| r.rules.unwrap_or_default())
            .map_err(|source| RoleRefError::ClusterRoleNotFound { name: name(), source }),
        "Role" => api
            .store::<RoleStrategy>()
            .get(namespace, &role_ref.name)
            .map(|r| r.rules.unwrap_or_default())
            .map_err(|source| RoleRefError::RoleNotFound { name: name(), source }),
        k => Err(RoleRefError::UnknownKind(k.to_string())),
    }
}

/// The RBAC authorizer (and, before it, kube-apiserver's privileged-group one: `system:masters`
/// may do everything).
pub fn authorize(api: &Api, user: &User, a: &Attributes) -> Decision {
    if user.groups.iter().any(|g| g == MASTERS) {
        return Decision { allowed: true, reason: String::new() };
    }
    let mut errors = Vec::new();
    for b in api.store::<ClusterRoleBindingStrategy>().list() {
        let subjects = b.subjects.as_deref().unwrap_or_default();
        let Some(s) = subjects.iter().find(|s| applies_to(user, s, "")) else { continue };
        match rules_of(api, &b.role_ref, "") {
            Err(e) => errors.push(e.to_string()),
            Ok(rules) if rules.iter().any(|r| rule_allows(a, r)) => {
                let reason = format!(
                    "RBAC: allowed by ClusterRoleBinding {:?} of ClusterRole {:?} to {}",
                    b.metadata.name.as_deref().unwrap_or(""),
                    b.role_ref.name,
                    describe_subject(s, "")
                );
                return Decision { allowed: true, reason };
            }
            Ok(_) => {}
        }
    }
    if !a.namespace.is_empty() {
        for b in api.store::<RoleBindingStrategy>().list() {
            if b.metadata.namespace.as_deref() != Some(a.namespace.as_str()) {
                continue;
            }
            let subjects = b.subjects.as_deref().unwrap_or_default();
            let Some(s) = subjects.iter().find(|s| applies_to(user, s, &a.namespace)) else { continue };
            match rules_of(api, &b.role_ref, &a.namespace) {
                Err(e) => errors.push(e.to_string()),
                Ok(rules) if rules.iter().any(|r| rule_allows(a, r)) => {
                    let reason = format!(
                        "RBAC: allowed by RoleBinding {:?} of {} {:?} to {}",
                        format!("{}/{}", b.metadata.name.as_deref().unwrap_or(""), a.namespace),
                        b.role_ref.kind,
                        b.role_ref.name,
                        describe_subject(s, &a.namespace)
                    );
                    return Decision { allowed: true, reason };
                }
                Ok(_) => {}
            }
        }
    }
    let reason = if errors.is_empty() { String::new() } else { format!("RBAC: {}", aggregate(&errors)) };
    Decision { allowed: false, reason }
}

/// Errors said together as Kubernetes' aggregate error says them: one alone as it is, several
/// (each once) in brackets, joined by `, `.
pub fn aggregate(errors: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        several => format!("[{}]", several.join(", ")),
    }
}

/// The identity a request acts as: with `Impersonate-User` (and `Impersonate-Group`), the one
/// named, when the caller may `impersonate` it (users, groups, or the ServiceAccount a
/// `system:serviceaccount:NS:NAME` user is), as kube-apiserver's impersonation filter decides;
/// else 403 with its text. `Impersonate-Uid` and `Impersonate-Extra-*` are refused, not ignored.
pub fn impersonate(api: &Api, caller: User, headers: &axum::http::HeaderMap) -> Result<User, Failure> {
    let values = |name: &str| headers.get_all(name).iter().filter_map(|v| v.to_str().ok().map(str::to_string)).collect::<Vec<_>>();
    let users = values("impersonate-user");
    let groups = values("impersonate-group");
    let others: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("impersonate-") && k != "impersonate-user" && k != "impersonate-group")
        .collect();
    if users.is_empty() && groups.is_empty() && others.is_empty() {
        return Ok(caller);
    }
    if let Some(o) = others.first() {
        return Err(Failure::bad_request(format!("serve does not impersonate with {o}")));
    }
    let [name] = users.as_slice() else {
        return Err(Failure::bad_request("requested impersonation of groups without a user (Impersonate-User) is not allowed"));
    };
    let mut asked = Vec::new();
    match name.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':')) {
        Some((ns, sa)) => asked.push(("serviceaccounts", ns.to_string(), sa.to_string())),
        None => asked.push(("users", String::new(), name.clone())),
    }
    asked.extend(groups.iter().map(|g| ("groups", String::new(), g.clone())));
    for (resource, namespace, target) in asked {
        let a = Attributes {
            verb: "impersonate".into(),
            resource_request: true,
            namespace,
            resource: resource.into(),
            name: target.clone(),
            ..Default::default()
        };
        if !authorize(api, &caller, &a).allowed {
            let message = format!(
                "{resource} {target:?} is forbidden: User {:?} cannot impersonate resource {resource:?} in API group \"\"{}",
                caller.name,
                if a.namespace.is_empty() { " at the cluster scope".to_string() } else { format!(" in the namespace {:?}", a.namespace) }
            );
            return Err(Failure::new(403, "Forbidden", message).with_details(serde_json::json!({"name": target, "kind": resource})));
        }
    }
    let mut user = match name.strip_prefix("system:serviceaccount:").and_then(|r| r.split_once(':')) {
        Some((ns, sa)) => User::service_account(ns, sa, ""),
        None => User { name: name.clone(), uid: String::new(), groups: Vec::new() },
    };
    if !groups.is_empty() {
        user.groups = groups;
    }
    if !user.groups.iter().any(|g| g == AUTHENTICATED) && name != "system:anonymous" {
        user.groups.push(AUTHENTICATED.into());
    }
    Ok(user)
}

/// Every rule that applies to `user` in `namespace` (the cluster's bindings, and that
/// namespace's), with the errors met (a binding whose role is missing), as RBAC's
/// RulesFor does for a SelfSubjectRulesReview.
pub fn rules_for(api: &Api, user: &User, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
    let (mut rules, mut errors) = (Vec::new(), Vec::new());
    for b in api.store::<ClusterRoleBindingStrategy>().list() {
        if b.subjects.as_deref().unwrap_or_default().iter().any(|s| applies_to(user, s, "")) {
            match rules_of(api, &b.role_ref, "") {
                Ok(r) => rules.extend(r),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if !namespace.is_empty() {
        for b in api.store::<RoleBindingStrategy>().list() {
            if b.metadata.namespace.as_deref() == Some(namespace)
                && b.subjects.as_deref().unwrap_or_default().iter().any(|s| applies_to(user, s, namespace))
            {
                match rules_of(api, &b.role_ref, namespace) {
                    Ok(r) => rules.extend(r),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
    }
    (rules, errors)
}

/// One right of a rule, as kube's escalation message prints a rule (`{APIGroups:[""],
/// Resources:["pods"], Verbs:["delete"]}`).
fn describe_rule(r: &PolicyRule) -> String {
    let list = |l: &[String]| format!("[{}]", l.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" "));
    let mut parts = Vec::new();
    if let Some(g) = r.api_groups.as_deref().filter(|g| !g.is_empty()) {
        parts.push(format!("APIGroups:{}", list(g)));
    }
    if let Some(x) = r.resources.as_deref().filter(|x| !x.is_empty()) {
        parts.push(format!("Resources:{}", list(x)));
    }
    if let Some(n) = r.resource_names.as_deref().filter(|n| !n.is_empty()) {
        parts.push(format!("ResourceNames:{}", list(n)));
    }
    if let Some(u) = r.non_resource_urls.as_deref().filter(|u| !u.is_empty()) {
        parts.push(format!("NonResourceURLs:{}", list(u)));
    }
    parts.push(format!("Verbs:{}", list(&r.verbs)));
    format!("{{{}}}", parts.join(", "))
}

/// The rights among `rules` that `user` does not hold in `namespace` ("" for the cluster),
/// each as a rule of one right (ConfirmNoEscalation: a user may grant only what it holds; a
/// `*` is held only by a `*`).
pub fn not_held(api: &Api, user: &User, namespace: &str, rules: &[PolicyRule]) -> Vec<PolicyRule> {
    let mut missing = Vec::new();
    let one = |v: &str| Some(vec![v.to_string()]);
    for rule in rules {
        for verb in &rule.verbs {
            for url in rule.non_resource_urls.as_deref().unwrap_or_default() {
                let a = Attributes { verb: verb.clone(), path: url.clone(), ..Default::default() };
                if !authorize(api, user, &a).allowed {
                    missing.push(PolicyRule { non_resource_urls: one(url), verbs: vec![verb.clone()], ..Default::default() });
                }
            }
            for group in rule.api_groups.as_deref().unwrap_or_default() {
                for resource in rule.resources.as_deref().unwrap_or_default() {
                    let names: Vec<String> = match rule.resource_names.as_deref() {
                        Some(n) if !n.is_empty() => n.to_vec(),
                        _ => vec![String::new()],
                    };
                    for name in names {
                        let (r, sub) = resource.split_once('/').unwrap_or((resource, ""));
                        let a = Attributes {
                            verb: verb.clone(),
                            resource_request: true,
                            namespace: namespace.into(),
                            api_group: group.clone(),
                            resource: r.into(),
                            subresource: sub.into(),
                            name: name.clone(),
                            path: String::new(),
                        };
                        if !authorize(api, user, &a).allowed {
                            missing.push(PolicyRule {
                                api_groups: one(group),
                                resources: one(resource),
                                resource_names: (!name.is_empty()).then(|| vec![name.clone()]),
                                verbs: vec![verb.clone()],
                                ..Default::default()
                            });
                        }
                    }
                }
            }
        }
    }
    missing
}

/// kube-apiserver's refusal of a role or binding that would grant what its writer does not hold.
pub fn escalation(user: &User, qualified: &str, name: &str, missing: &[PolicyRule]) -> Failure {
    let groups = user.groups.iter().map(|g| format!("{g:?}")).collect::<Vec<_>>().join(" ");
    let rules = missing.iter().map(describe_rule).collect::<Vec<_>>().join("\n");
    Failure::new(
        403,
        "Forbidden",
        format!(
            "{qualified} {name:?} is forbidden: user {:?} (groups=[{groups}]) is attempting to grant RBAC permissions not currently held:\n{rules}",
            user.name
        ),
    )
    .with_details(serde_json::json!({"name": name, "group": GROUP, "kind": qualified.split('.').next().unwrap_or("")}))
}

/// A write of a role or binding by `user`, checked as kube's RBAC registry checks it: a role
/// only with rights its writer holds (or may `escalate`), a binding only to a role whose
/// rights its writer holds (or may `bind`). Other kinds pass.
pub fn confirm_no_escalation(api: &Api, user: &User, resource: &str, namespace: &str, object: &serde_json::Value) -> Result<(), Failure> {
    if user.groups.iter().any(|g| g == MASTERS) {
        return Ok(());
    }
    let name = object.pointer("/metadata/name").and_then(|n| n.as_str()).unwrap_or("");
    let namespace = if matches!(resource, "roles" | "rolebindings") { namespace } else { "" };
    let may = |verb: &str, resource: &str, name: &str| {
        let a = Attributes {
            verb: verb.into(),
            resource_request: true,
            namespace: namespace.into(),
            api_group: GROUP.into(),
            resource: resource.into(),
            name: name.into(),
            ..Default::default()
        };
        authorize(api, user, &a).allowed
    };
    let rules: Vec<PolicyRule> = match resource {
        "roles" | "clusterroles" => {
            if may("escalate", resource, name) {
                return Ok(());
            }
            serde_json::from_value(object.get("rules").cloned().unwrap_or_default()).unwrap_or_default()
        }
        "rolebindings" | "clusterrolebindings" => {
            let role_ref: RoleRef = serde_json::from_value(object.get("roleRef").cloned().unwrap_or_default()).unwrap_or_default();
            let role_resource = if role_ref.kind == "Role" { "roles" } else { "clusterroles" };
            if may("bind", role_resource, &role_ref.name) {
                return Ok(());
            }
            match rules_of(api, &role_ref, namespace) {
                Ok(rules) => rules,
                Err(e) => return Err(Failure::new(403, "Forbidden", format!("{resource}.{GROUP} {name:?} is forbidden: {e}"))),
            }
        }
        _ => return Ok(()),
    };
    let missing = not_held(api, user, namespace, &rules);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(escalation(user, &format!("{resource}.{GROUP}"), name, &missing))
    }
}

/// kube-apiserver's 403 for a request its authorizer refused.
pub fn forbidden(user: &User, a: &Attributes, reason: &str) -> Failure {
    let mut message = if !a.resource_request {
        format!("User {:?} cannot {} path {:?}", user.name, a.verb, a.path)
    } else {
        let resource = if a.subresource.is_empty() { a.resource.clone() } else { format!("{}/{}", a.resource, a.subresource) };
        if a.namespace.is_empty() {
            format!("User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope", user.name, a.verb, a.api_group)
        } else {
            format!(
                "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
                user.name, a.verb, a.api_group, a.namespace
            )
        }
    };
    if !reason.is_empty() {
        message = format!("{message}: {reason}");
    }
    if !a.resource_request {
        return Failure::new(403, "Forbidden", format!("forbidden: {message}")).with_details(serde_json::json!({}));
    }
    let qualified = if a.api_group.is_empty() { a.resource.clone() } else { format!("{}.{}", a.resource, a.api_group) };
    let text = if a.name.is_empty() {
        format!("{qualified} is forbidden: {message}")
    } else {
        format!("{qualified} {:?} is forbidden: {message}", a.name)
    };
    let mut details = serde_json::json!({"kind": a.resource});
    if !a.name.is_empty() {
        details["name"] = a.name.clone().into();
    }
    if !a.api_group.is_empty() {
        details["group"] = a.api_group.clone().into();
    }
    Failure::new(403, "Forbidden", text).with_details(details)
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule { api_groups: Some(v(groups)), resources: Some(v(resources)), verbs: v(verbs), ..Default::default() }
}

fn urls(paths: &[&str], verbs: &[&str]) -> PolicyRule {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule { non_resource_urls: Some(v(paths)), verbs: v(verbs), ..Default::default() }
}

/// The roles and bindings kube-apiserver bootstraps that serve's clients rely on
/// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), each with the label
/// `kubernetes.io/bootstrapping: rbac-defaults` as there.
pub fn bootstrap(api: &Api) {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.into()),
        labels: Some([("kubernetes.io/bootstrapping".to_string(), "rbac-defaults".to_string())].into()),
        annotations: Some([("rbac.authorization.kubernetes.io/autoupdate".to_string(), "true".to_string())].into()),
        ..Default::default()
    };
    let roles = [
        ("cluster-admin", vec![rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])]),
        (
            "system:discovery",
            vec![urls(
                &["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"],
                &["get"],
            )],
        ),
        (
            "system:basic-user",
            vec![
                rule(&["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"], &["create"]),
                rule(&["authentication.k8s.io"], &["selfsubjectreviews"], &["create"]),
            ],
        ),
        ("system:public-info-viewer", vec![urls(&["/healthz", "/livez", "/readyz", "/version", "/version/"], &["get"])]),
    ];
    let groups = |names: &[&str]| {
        names
            .iter()
            .map(|n| Subject { kind: "Group".into(), api_group: Some(GROUP.into()), name: n.to_string(), namespace: None })
            .collect()
    };
    let bindings = [
        ("cluster-admin", groups(&[MASTERS])),
        ("system:discovery", groups(&[AUTHENTICATED])),
        ("system:basic-user", groups(&[AUTHENTICATED])),
        ("system:public-info-viewer", groups(&[AUTHENTICATED, "system:unauthenticated"])),
    ];
    let role_store = api.store::<ClusterRoleStrategy>();
    for (name, rules) in roles {
        let _ = role_store.create_object(&ClusterRole { metadata: meta(name), rules: Some(rules), aggregation_rule: None }, false);
    }
    let binding_store = api.store::<ClusterRoleBindingStrategy>();
    for (name, subjects) in bindings {
        let role_ref = RoleRef { api_group: GROUP.into(), kind: "ClusterRole".into(), name: name.into() };
        let _ = binding_store.create_object(&ClusterRoleBinding { metadata: meta(name), role_ref, subjects: Some(subjects) }, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(method: &str, path: &str) -> Attributes {
        let (p, q) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        request_attributes(method, p, q)
    }

    /// RequestInfoFactory's cases (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo_test.go).
    #[test]
    fn requests_are_described_as_kube_apiserver_describes_them() {
        let a = attrs("GET", "/api/v1/namespaces/ns/pods/p/exec?command=ls");
        assert_eq!(
            (a.verb.as_str(), a.namespace.as_str(), a.resource.as_str(), a.subresource.as_str(), a.name.as_str()),
            ("get", "ns", "pods", "exec", "p")
        );
        assert_eq!(attrs("POST", "/api/v1/namespaces/ns/pods/p/exec").verb, "create");
        // attach as exec: `get` over WebSocket, `create` over SPDY.
        let attach = attrs("GET", "/api/v1/namespaces/ns/pods/p/attach?stdin=true&stdout=true");
        assert_eq!((attach.verb.as_str(), attach.subresource.as_str()), ("get", "attach"));
        assert_eq!(attrs("POST", "/api/v1/namespaces/ns/pods/p/attach").verb, "create");
        // port-forward likewise (serve does not forward ports, but authorizes the request first,
        // as kube-apiserver does, so an identity without the right gets 403, not 404).
        let forward = attrs("GET", "/api/v1/namespaces/ns/pods/p/portforward?ports=80");
        assert_eq!((forward.verb.as_str(), forward.subresource.as_str(), forward.name.as_str()), ("get", "portforward", "p"));
        assert_eq!(attrs("POST", "/api/v1/namespaces/ns/pods/p/portforward").verb, "create");
        assert_eq!(attrs("GET", "/api/v1/namespaces/ns/pods").verb, "list");
        assert_eq!(attrs("GET", "/api/v1/pods?watch=true").verb, "watch");
        assert_eq!(attrs("DELETE", "/api/v1/namespaces/ns/pods").verb, "deletecollection");
        let one = attrs("GET", "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dweb&watch=1");
        assert_eq!((one.verb.as_str(), one.name.as_str()), ("watch", "web"));
        let ns = attrs("DELETE", "/api/v1/namespaces/x");
        assert_eq!((ns.verb.as_str(), ns.resource.as_str(), ns.name.as_str(), ns.namespace.as_str()), ("delete", "namespaces", "x", "x"));
        let proxy = attrs("GET", "/api/v1/nodes/n/proxy/configz");
        assert_eq!((proxy.verb.as_str(), proxy.resource.as_str(), proxy.subresource.as_str()), ("get", "nodes", "proxy"));
        let g = attrs("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
        assert_eq!(
            (g.api_group.as_str(), g.resource.as_str(), g.verb.as_str()),
            ("authorization.k8s.io", "selfsubjectaccessreviews", "create")
        );
        let n = attrs("GET", "/apis/rbac.authorization.k8s.io");
        assert!(!n.resource_request);
        assert_eq!((n.verb.as_str(), n.path.as_str()), ("get", "/apis/rbac.authorization.k8s.io"));
    }

    #[test]
    fn rules_match_as_rbac_matches_them() {
        let exec = attrs("GET", "/api/v1/namespaces/ns/pods/p/exec");
        assert!(!rule_allows(&exec, &rule(&[""], &["pods/exec"], &["create"])), "a websocket exec is a get");
        assert!(rule_allows(&exec, &rule(&[""], &["pods/exec"], &["get"])));
        assert!(rule_allows(&exec, &rule(&[""], &["*/exec"], &["get"])));
        assert!(!rule_allows(&exec, &rule(&[""], &["pods"], &["*"])), "pods does not cover its subresources");
        assert!(!rule_allows(&exec, &rule(&["apps"], &["*"], &["*"])));
        let mut named = rule(&[""], &["pods/exec"], &["get"]);
        named.resource_names = Some(vec!["q".into()]);
        assert!(!rule_allows(&exec, &named));
        let version = attrs("GET", "/version");
        assert!(rule_allows(&version, &urls(&["/version"], &["get"])));
        assert!(rule_allows(&attrs("GET", "/apis/x"), &urls(&["/apis/*"], &["get"])));
        assert!(!rule_allows(&attrs("GET", "/apis/x"), &urls(&["/api/*"], &["get"])));
    }

    /// A binding whose role is missing is said in the refusal's reason as RBAC says it: one
    /// error as it is, several in brackets (each once).
    #[test]
    fn a_missing_role_is_the_refusals_reason_as_rbac_words_it() {
        let api = Api::new("t", jiff::Timestamp::now());
        let sa = User::service_account("team", "reader", "u");
        let subject = Subject { kind: "ServiceAccount".into(), api_group: None, name: "reader".into(), namespace: Some("team".into()) };
        let bind = |name: &str, role: &str| {
            let role_ref = RoleRef { api_group: GROUP.into(), kind: "ClusterRole".into(), name: role.into() };
            let b = ClusterRoleBinding {
                metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
                role_ref,
                subjects: Some(vec![subject.clone()]),
            };
            api.store::<ClusterRoleBindingStrategy>().create_object(&b, false).unwrap();
        };
        let list = attrs("GET", "/api/v1/namespaces/team/pods");
        bind("one", "gone");
        let d = authorize(&api, &sa, &list);
        assert!(!d.allowed);
        assert_eq!(d.reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found");
        assert_eq!(
            forbidden(&sa, &list, &d.reason).message,
            "pods is forbidden: User \"system:serviceaccount:team:reader\" cannot list resource \"pods\" in API group \"\" in the namespace \"team\": RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"
        );
        bind("two", "gone");
        assert_eq!(authorize(&api, &sa, &list).reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found");
        bind("three", "also-gone");
        let reason = authorize(&api, &sa, &list).reason;
        assert!(reason.starts_with("RBAC: [clusterrole.rbac.authorization.k8s.io ") && reason.ends_with(" not found]"), "{reason}");
        assert_eq!(reason.matches("not found").count(), 2, "{reason}");
    }

    #[test]
    fn the_forbidden_texts_are_kube_apiservers() {
        let sa = User::service_account("sonobuoy", "podspec", "u");
        let f = forbidden(&sa, &attrs("GET", "/api/v1/namespaces/ns/pods/p/exec"), "");
        assert_eq!(
            f.message,
            "pods \"p\" is forbidden: User \"system:serviceaccount:sonobuoy:podspec\" cannot get resource \"pods/exec\" in API group \"\" in the namespace \"ns\""
        );
        let f = forbidden(&sa, &attrs("GET", "/api/v1/nodes"), "");
        assert_eq!(f.message, "nodes is forbidden: User \"system:serviceaccount:sonobuoy:podspec\" cannot list resource \"nodes\" in API group \"\" at the cluster scope");
        let f = forbidden(&sa, &attrs("GET", "/logs"), "");
        assert_eq!(f.message, "forbidden: User \"system:serviceaccount:sonobuoy:podspec\" cannot get path \"/logs\"");
    }
}
