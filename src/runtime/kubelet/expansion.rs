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
}
