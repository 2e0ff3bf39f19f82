//! Reading pod manifests: standard Kubernetes YAML, as `kubectl apply` takes it. Errors name
//! the file and line (for a manifest inside a feature file, the feature file's line).

pub mod fields;
pub mod host_path;
pub mod input;
pub mod yaml11;

use std::fmt;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::Pod;

use crate::validation::aggregate;

/// Where a manifest's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub file: PathBuf,
    /// The file line of the manifest's first line (1 for a file of its own).
    pub first_line: usize,
}

impl Source {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self { file: path.into(), first_line: 1 }
    }

    fn at(&self, line: Option<usize>) -> String {
        match line {
            Some(l) => format!("{}:{}", self.file.display(), self.first_line + l - 1),
            None => format!("{}:{}", self.file.display(), self.first_line),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// `file:line`.
    pub location: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ManifestError {}

/// Parses a pod manifest: YAML syntax, the Pod schema (unknown fields are errors, as with
/// kubectl's strict field validation), without semantic validation.
pub fn parse_pod(text: &str, source: &Source) -> Result<Pod, ManifestError> {
    let err = |line: Option<usize>, message: String| ManifestError { location: source.at(line), message };
    // Nesting deeper than Kubernetes accepts is refused before the parser's work grows with it.
    input::check_depth(text).map_err(|e| err(Some(e.line), e.to_string()))?;
    // `defaultMode: 0400` is 256, as Kubernetes reads it (YAML 1.1).
    let text = &*yaml11::octals_as_kubernetes_reads_them(text);
    let value: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| err(e.location().map(|l| l.line()), format!("malformed YAML: {}", strip_location(&e.to_string()))))?;
    if !value.is_mapping() {
        return Err(err(None, "a pod manifest must be a YAML mapping".into()));
    }
    let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != "Pod" {
        let line = line_of_key(text, "kind");
        return Err(err(
            line,
            format!("expected kind: Pod, found {}", if kind.is_empty() { "no kind".to_string() } else { format!("kind: {kind}") }),
        ));
    }
    let pod: Pod = serde_yaml::from_str(text)
        .map_err(|e| err(e.location().map(|l| l.line()), format!("invalid pod manifest: {}", strip_location(&e.to_string()))))?;
    // Fields the Pod schema does not know are dropped by deserializing: find them.
    let original = serde_json::to_value(&value).map_err(|e| err(None, e.to_string()))?;
    let typed = serde_json::to_value(&pod).map_err(|e| err(None, e.to_string()))?;
    let mut unknown = Vec::new();
    unknown_fields(&original, &typed, "", &mut unknown);
    if let Some(field) = unknown.first() {
        let leaf = field.rsplit('.').next().unwrap_or(field);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        let line = line_of_path(text, field).or_else(|| line_of_key(text, leaf));
        return Err(err(line, format!("invalid pod manifest: unknown field {field:?}")));
    }
    Ok(pod)
}

/// Parses and validates a pod as the API server would on create (the pod strategy's rules).
pub fn load_pod(text: &str, source: &Source) -> Result<Pod, ManifestError> {
    let pod = parse_pod(text, source)?;
    let errors = crate::PodStrategy.create_errors(&pod);
    if !errors.is_empty() {
        let name = pod.metadata.name.clone().unwrap_or_default();
        return Err(ManifestError { location: source.at(None), message: format!("Pod {name:?} is invalid: {}", aggregate(&errors)) });
    }
    Ok(pod)
}

/// An error about one field of a manifest, at the line of the field's key (found by its path in
/// block-style YAML; else the first line with that key; else the manifest's first line).
pub fn field_error(text: &str, source: &Source, field_path: &str, message: String) -> ManifestError {
    let leaf = field_path.rsplit('.').next().unwrap_or(field_path);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    ManifestError { location: source.at(line_of_path(text, field_path).or_else(|| line_of_key(text, leaf))), message }
}

/// Reads and validates a manifest file.
pub fn load_pod_file(path: &Path) -> Result<Pod, ManifestError> {
    let text = input::read_regular(path)
        .map_err(|e| ManifestError { location: path.display().to_string(), message: format!("cannot read pod manifest: {e}") })?;
    load_pod(&text, &Source::file(path))
}

fn strip_location(message: &str) -> String {
    // serde_yaml appends " at line L column C"; the location is ours to print.
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A line of block-style YAML: its indentation, and its text after the `- ` of any sequence
/// items it opens with the column that text starts at (comments and blank lines are none).
struct Line<'a> {
    indent: usize,
    /// Whether it opens a sequence item (`- `).
    item: bool,
    key_column: usize,
    rest: &'a str,
}

fn yaml_line(line: &str) -> Option<Line<'_>> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[indent..];
    if rest.trim().is_empty() || rest.starts_with('#') {
        return None;
    }
    let mut key_column = indent;
    let item = rest.starts_with("- ") || rest.trim_end() == "-";
    while rest.starts_with("- ") {
        let after = rest[1..].trim_start_matches(' ');
        key_column += rest.len() - after.len();
        rest = after;
    }
    Some(Line { indent, item, key_column, rest })
}

/// The line (1-based) of the field at `path` (as `spec.containers[1].image`) in block-style
/// YAML: each key among the direct children of its parent's value, each `[i]` among the
/// parent's sequence items. None where the text is laid out otherwise (flow style, a key with
/// a dot in it).
fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<Option<Line<'_>>> = text.lines().map(yaml_line).collect();
    let (mut start, mut end) = (0, lines.len());
    let mut found = None;
    for segment in path.split('.') {
        let (key, indices) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        // The direct children of the value: the lines at its least key column.
        let column = lines[start..end].iter().flatten().map(|l| l.key_column).min()?;
        let at = (start..end).find(|&i| {
            lines[i].as_ref().is_some_and(|l| {
                l.key_column == column
                    && [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")]
                        .iter()
                        .any(|k| l.rest.strip_prefix(k.as_str()).is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t'])))
            })
        })?;
        found = Some(at);
        // Its value: the lines indented deeper, and the items of a sequence at its column.
        let key_column = lines[at].as_ref()?.key_column;
        start = at + 1;
        end = (start..end)
            .find(|&i| lines[i].as_ref().is_some_and(|l| l.indent < key_column || (l.indent == key_column && !l.item)))
            .unwrap_or(end);
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let index: usize = index.parse().ok()?;
            let items_at = lines[start..end].iter().flatten().map(|l| l.indent).min()?;
            let item = (start..end).filter(|&i| lines[i].as_ref().is_some_and(|l| l.indent == items_at && l.item)).nth(index)?;
            found = Some(item);
            // The item: its own line (after its `- `) and the lines indented deeper.
            start = item;
            end = (item + 1..end).find(|&i| lines[i].as_ref().is_some_and(|l| l.indent <= items_at)).unwrap_or(end);
        }
    }
    found.map(|i| i + 1)
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let needle = format!("{key}:");
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.starts_with(&needle) || t.starts_with(&format!("\"{key}\":"))
        })
        .map(|i| i + 1)
}

/// The fields of `original` that deserializing into the typed object `typed` dropped, as
/// dotted paths.
pub fn unknown_fields_of(original: &serde_json::Value, typed: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    unknown_fields(original, typed, "", &mut out);
    out
}

/// Fields of `original` the typed form does not have. An empty value (`{}`, `[]`) that the
/// typed form leaves out is unknown only if the Pod schema ignores it: the probe puts `true`
/// there, which a known (map or list) field refuses, and an unknown one is ignored.
fn unknown_fields(original: &serde_json::Value, typed: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    let mut empty = Vec::new();
    walk_unknown(original, typed, path, "", out, &mut empty);
    for (field, pointer) in empty {
        let mut probe = original.clone();
        if let Some(v) = probe.pointer_mut(&pointer) {
            *v = serde_json::Value::Bool(true);
        }
        if serde_json::from_value::<Pod>(probe).is_ok() {
            out.push(field);
        }
    }
}

fn walk_unknown(
    original: &serde_json::Value,
    typed: &serde_json::Value,
    path: &str,
    pointer: &str,
    out: &mut Vec<String>,
    empty: &mut Vec<(String, String)>,
) {
    use serde_json::Value;
    match (original, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                let ptr = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                match t.get(k) {
                    Some(tv) => walk_unknown(v, tv, &p, &ptr, out, empty),
                    None if v.is_null() => {}
                    None if v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty()) => {
                        empty.push((p, ptr))
                    }
                    None => out.push(p),
                }
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (ov, tv)) in o.iter().zip(t).enumerate() {
                walk_unknown(ov, tv, &format!("{path}[{i}]"), &format!("{pointer}/{i}"), out, empty);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Source {
        Source { file: PathBuf::from("features/x.feature"), first_line: 10 }
    }

    #[test]
    fn a_good_manifest_loads() {
        let pod =
            load_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: a\n    image: busybox\n", &src())
                .unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("web"));
    }

    #[test]
    fn malformed_yaml_names_the_feature_file_line() {
        let e = parse_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n", &src()).unwrap_err();
        assert!(e.location.starts_with("features/x.feature:1"), "{e}");
        assert!(e.message.contains("malformed YAML"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let e = parse_pod(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: a\n    imagee: busybox\n",
            &src(),
        )
        .unwrap_err();
        assert_eq!(e.location, "features/x.feature:17");
        assert!(e.message.contains("spec.containers[0].imagee"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_refused_even_when_empty_and_a_known_empty_one_is_not() {
        let e = parse_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  securityContxt: {}\n  containers:\n  - name: a\n    image: busybox\n", &src())
            .unwrap_err();
        assert_eq!(e.message, "invalid pod manifest: unknown field \"spec.securityContxt\"");
        assert_eq!(e.location, "features/x.feature:15");
        parse_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {}\nspec:\n  securityContext: {}\n  volumes: []\n  containers:\n  - name: a\n    image: busybox\n    args: []\n", &src())
            .unwrap();
    }

    #[test]
    fn an_invalid_pod_says_what_kubernetes_says() {
        let e = load_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: a\n", &src()).unwrap_err();
        assert_eq!(e.message, "Pod \"web\" is invalid: spec.containers[0].image: Required value");
    }

    #[test]
    fn nesting_deeper_than_kubernetes_accepts_is_refused_at_once_with_its_line() {
        for (deep, line) in [
            (format!("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)), 13),
            (format!("apiVersion: v1\nkind: Pod\nspec:\n  x:\n{}1\n", "- ".repeat(100_000)), 14),
        ] {
            let started = std::time::Instant::now();
            let e = parse_pod(&deep, &src()).unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
            assert_eq!(e.location, format!("features/x.feature:{line}"));
            assert!(e.message.contains("nesting deeper than 10000 levels"), "{e}");
        }
    }

    #[test]
    fn a_fields_error_is_at_the_line_of_that_field_not_of_the_first_key_with_its_name() {
        let text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: busybox\n    env:\n    - name: X\n      value: |\n        image: not a key\n  - name: b\n    image: busybox\n    securityContext:\n      privileged: true\n  volumes:\n    - name: v\n      emptyDir: {}\nmetadata:\n  name: web\n  image: x\n";
        let at = |path: &str| field_error(text, &src(), path, String::new()).location;
        assert_eq!(at("spec.containers[1].image"), "features/x.feature:21");
        assert_eq!(at("spec.containers[0].image"), "features/x.feature:15");
        assert_eq!(at("spec.containers[0].env[0].value"), "features/x.feature:18");
        assert_eq!(at("spec.containers[1].securityContext.privileged"), "features/x.feature:23");
        assert_eq!(at("spec.volumes[0].emptyDir"), "features/x.feature:26");
        assert_eq!(at("spec.containers[1]"), "features/x.feature:20");
        // An unknown field named as a known one elsewhere.
        let e = parse_pod(text, &src()).unwrap_err();
        assert_eq!(e.message, "invalid pod manifest: unknown field \"metadata.image\"");
        assert_eq!(e.location, "features/x.feature:29");
        // Flow style, or a path the text does not have: the first line with the key.
        assert_eq!(at("spec.containers[5].image"), "features/x.feature:15");
    }

    #[test]
    fn a_wrong_kind_is_refused() {
        let e = parse_pod("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", &src()).unwrap_err();
        assert!(e.message.contains("expected kind: Pod"), "{e}");
        assert_eq!(e.location, "features/x.feature:11");
    }
}
