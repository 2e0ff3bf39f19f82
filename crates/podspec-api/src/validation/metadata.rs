//! Label and annotation validation, with Kubernetes' texts (apimachinery
//! pkg/api/validation/objectmeta.go ValidateAnnotations; pkg/apis/meta/v1/validation
//! ValidateLabels; pkg/util/validation IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain).
//! Applied on create and on update.

use std::collections::BTreeMap;

use super::FieldError;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
pub const DNS1123_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
/// The most bytes all annotations of an object may have (keys and values).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `RegexError`: the message, examples and the regex.
pub(crate) fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let e = examples.iter().map(|x| format!("'{x}'")).collect::<Vec<_>>().join(",  or ");
    format!("{msg} (e.g. {e}, regex used for validation is '{fmt}')")
}

pub(crate) fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, the qualified name's name part.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without a length limit (a subdomain's part).
fn is_subdomain_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-') && b[0] != b'-' && b[b.len() - 1] != b'-'
}

/// `IsDNS1123Subdomain`: at most 253 characters, dot-separated parts of any length.
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !value.split('.').all(is_subdomain_part) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let parts: Vec<&str> = value.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(dns1123_subdomain_errors(prefix).into_iter().map(|m| format!("prefix part {m}")));
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            )]
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_name_part(name) {
        errs.push(format!("name part {}", regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])));
    }
    errs
}

/// `IsValidLabelValue`.
pub fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !value.is_empty() && !is_name_part(value) {
        errs.push(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, &["MyValue", "my_value", "12345"]));
    }
    errs
}

/// `ValidateLabels` at `field` (`metadata.labels`).
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, field: &str, errs: &mut Vec<FieldError>) {
    for (k, v) in labels.into_iter().flatten() {
        for m in qualified_name_errors(k) {
            errs.push(FieldError::invalid(field, k, m));
        }
        for m in label_value_errors(v) {
            errs.push(FieldError::invalid(field, v, m));
        }
    }
}

/// `ValidateAnnotations` at `field` (`metadata.annotations`): qualified keys (checked
/// lowercased), and at most 256 KiB in all.
pub fn validate_annotations(annotations: Option<&BTreeMap<String, String>>, field: &str, errs: &mut Vec<FieldError>) {
    let mut total = 0;
    for (k, v) in annotations.into_iter().flatten() {
        for m in qualified_name_errors(&k.to_lowercase()) {
            errs.push(FieldError::invalid(field, k, m));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(field, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_keys_read_as_kubernetes_words_them() {
        let mut errs = Vec::new();
        let labels: BTreeMap<String, String> =
            [("app".to_string(), "not a valid value!".to_string()), ("Invalid Key!".to_string(), "ok".to_string())].into();
        validate_labels(Some(&labels), "metadata.labels", &mut errs);
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(text, [
            "metadata.labels: Invalid value: \"Invalid Key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            "metadata.labels: Invalid value: \"not a valid value!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ]);
    }

    #[test]
    fn qualified_names_check_prefix_and_name() {
        assert!(qualified_name_errors("example.com/my-name").is_empty());
        assert!(qualified_name_errors("kubernetes.io/config.mirror").is_empty());
        assert_eq!(qualified_name_errors("/x"), ["prefix part must be non-empty"]);
        assert!(qualified_name_errors("Example.com/x")[0].starts_with("prefix part a lowercase RFC 1123 subdomain"));
        assert!(qualified_name_errors("a/b/c")[0].starts_with("a qualified name must consist of"));
        assert_eq!(qualified_name_errors(&"a".repeat(64)), ["name part must be no more than 63 characters"]);
    }

    #[test]
    fn a_subdomain_has_no_limit_per_part() {
        assert!(dns1123_subdomain_errors(&"a".repeat(64)).is_empty());
        assert!(dns1123_subdomain_errors(&format!("{}.b", "a".repeat(200))).is_empty());
        assert_eq!(dns1123_subdomain_errors(&"a".repeat(254)), ["must be no more than 253 characters"]);
        assert_eq!(dns1123_subdomain_errors("a_b").len(), 1);
    }

    #[test]
    fn annotations_have_qualified_keys_and_a_total_size() {
        let mut errs = Vec::new();
        let big: BTreeMap<String, String> = [("a".to_string(), "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT))].into();
        validate_annotations(Some(&big), "metadata.annotations", &mut errs);
        assert_eq!(errs[0].to_string(), "metadata.annotations: Too long: may not be more than 262144 bytes");
        let mut errs = Vec::new();
        let upper: BTreeMap<String, String> = [("Example/Key".to_string(), String::new())].into();
        validate_annotations(Some(&upper), "metadata.annotations", &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
    }
}

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `IsDNS1123Subdomain`: at most 253 characters; no limit on a dot-separated part.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    super::metadata::dns1123_subdomain_errors(s).is_empty()
}

pub(crate) fn validate_label(field: &str, value: &str, errs: &mut Vec<FieldError>) {
    if value.len() > 63 {
        errs.push(FieldError::invalid(field, value, "must be no more than 63 characters"));
    } else if !is_label(value) {
        let detail = if is_dns1123_subdomain(value) {
            "must not contain dots".to_string()
        } else {
            format!("{DNS1123_LABEL_MSG} (e.g. 'my-name',  or '123-abc', regex used for validation is '{DNS1123_LABEL_FMT}')")
        };
        errs.push(FieldError::invalid(field, value, detail));
    }
}
