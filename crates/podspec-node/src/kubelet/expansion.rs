//! `$(VAR)` references in env values, command and args, expanded as the kubelet expands them
//! (third_party/forked/golang/expansion, used by pkg/kubelet/kubelet_pods.go makeEnvironmentVariables
//! and kubecontainer.ExpandContainerCommandAndArgs): `$(NAME)` becomes the value of a variable
//! defined so far, `$$` is a `$`, and anything else, an undefined name included, stays as written.

/// Expands `input` with `lookup`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            match r.find(')') {
                Some(end) => {
                    let name = &r[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => out.push_str(&format!("$({name})")),
                    }
                    rest = &r[end + 1..];
                }
                None => {
                    // No closing paren: the rest is as written.
                    out.push_str("$(");
                    rest = r;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Expands each env value with the variables defined before it, then returns the expanded
/// list (a later definition of a name wins, as in the container). `base` comes first, taken as
/// it is (`envFrom`'s variables, which the kubelet does not expand), and `env` may refer to it.
pub fn expand_env_after(base: Vec<(String, String)>, env: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut done: Vec<(String, String)> = base;
    for (name, value) in env {
        let v = expand(&value, |n| done.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone()));
        done.push((name, v));
    }
    done
}

/// The variables a `subPathExpr` names without a non-empty value, sorted (the kubelet's words).
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("missing value for {}", .0.join(", "))]
pub struct MissingValues(pub Vec<String>);

/// A volume mount's `subPathExpr` expanded with the container's environment `env` (its
/// resolved variables, downward API ones included), as the kubelet expands it
/// (pkg/kubelet/container/helpers.go ExpandContainerVolumeMounts): every `$(NAME)` must name a
/// variable with a non-empty value, or the container cannot be created and the error names
/// each such variable, sorted. Nothing else is interpreted: no shell sees the path, so
/// backticks and `${NAME}` stay as written. The result is checked as a `subPath` is.
pub fn expand_sub_path_expr(expr: &str, env: &[(String, String)]) -> Result<String, MissingValues> {
    let missing = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let expanded = expand(expr, |n| {
        let value = env.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        if value.is_empty() {
            missing.borrow_mut().insert(n.to_string());
        }
        Some(value)
    });
    let missing = missing.into_inner();
    if missing.is_empty() {
        Ok(expanded)
    } else {
        Err(MissingValues(missing.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_escapes_and_unknown_names() {
        let vars = |n: &str| (n == "A").then(|| "x".to_string());
        assert_eq!(expand("$(A)-$(B)", vars), "x-$(B)");
        assert_eq!(expand("$$(A) $ a$", vars), "$(A) $ a$");
        assert_eq!(expand("$(A", vars), "$(A");
        assert_eq!(expand("plain", vars), "plain");
    }

    #[test]
    fn env_values_see_the_variables_before_them() {
        let env = vec![("A".into(), "a".into()), ("B".into(), "$(A)-b".into()), ("C".into(), "$(D)".into()), ("D".into(), "d".into())];
        let got = expand_env_after(Vec::new(), env);
        assert_eq!(got[1].1, "a-b");
        assert_eq!(got[2].1, "$(D)", "D is defined after C");
    }

    #[test]
    fn a_sub_path_expr_needs_every_variable_it_names_with_a_value() {
        let env = vec![("POD_NAME".into(), "foo".into()), ("ANNOTATION".into(), "".into()), ("POD_NAME".into(), "bar".into())];
        assert_eq!(expand_sub_path_expr("logs/$(POD_NAME)", &env).unwrap(), "logs/bar", "the last definition wins");
        assert_eq!(expand_sub_path_expr("$(ANNOTATION)/$(POD_NAME)", &env).unwrap_err().to_string(), "missing value for ANNOTATION");
        assert_eq!(expand_sub_path_expr("$(Z)/$(ANNOTATION)/$(Z)", &env).unwrap_err().to_string(), "missing value for ANNOTATION, Z");
        assert_eq!(expand_sub_path_expr("`id`/${POD_NAME}/$$(POD_NAME)", &env).unwrap(), "`id`/${POD_NAME}/$(POD_NAME)");
    }
}
