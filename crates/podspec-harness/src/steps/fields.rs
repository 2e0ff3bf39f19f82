//! Field paths into a pod as the API shows it (JSON names), for steps that state a field:
//!
//! - `spec.containers[0].image`: a list item by index;
//! - `status.containerStatuses[name=app].restartCount`: a list item by the value of one of its
//!   fields;
//! - `metadata.annotations["kubernetes.io/config.mirror"]`: a key with dots in it.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Select { field: String, value: String },
}

/// Why a path could not be read as a path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("field path {path:?}: {problem}")]
pub struct PathError {
    path: String,
    problem: String,
}

fn parse(path: &str) -> Result<Vec<Segment>, PathError> {
    let err = |problem: &str| PathError { path: path.to_string(), problem: problem.to_string() };
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = if let Some(quoted) = r.strip_prefix('"') {
                quoted.find('"').map(|i| i + 2).ok_or_else(|| err("unclosed quote"))?
            } else {
                r.find(']').ok_or_else(|| err("unclosed ["))?
            };
            let inner = &r[..end];
            if !r[end..].starts_with(']') {
                return Err(err("expected ] after a quoted key"));
            }
            rest = &r[end + 1..];
            if let Some(key) = inner.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
                segments.push(Segment::Key(key.to_string()));
            } else if let Some((field, value)) = inner.split_once('=') {
                segments.push(Segment::Select { field: field.to_string(), value: value.to_string() });
            } else if let Ok(i) = inner.parse() {
                segments.push(Segment::Index(i));
            } else if !inner.is_empty() {
                // A key with dots, e.g. [kubernetes.io/config.mirror].
                segments.push(Segment::Key(inner.to_string()));
            } else {
                return Err(err("[] needs an index, field=value or a key"));
            }
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            if end == 0 {
                return Err(err("empty field name"));
            }
            segments.push(Segment::Key(rest_trimmed[..end].to_string()));
            rest = &rest_trimmed[end..];
        }
    }
    if segments.is_empty() {
        return Err(err("empty path"));
    }
    Ok(segments)
}

/// The value at `path`, or `None` when some part of it is absent.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Result<Option<&'a Value>, PathError> {
    let mut v = value;
    for s in parse(path)? {
        let next = match (&s, v) {
            (Segment::Key(k), Value::Object(m)) => m.get(k),
            (Segment::Index(i), Value::Array(a)) => a.get(*i),
            (Segment::Select { field, value }, Value::Array(a)) => {
                a.iter().find(|item| item.get(field).map(render).as_deref() == Some(value))
            }
            _ => None,
        };
        match next {
            Some(n) if !n.is_null() => v = n,
            _ => return Ok(None),
        }
    }
    Ok(Some(v))
}

/// Sets the value at `path`; missing objects on the way are made, list items must exist.
pub fn set(value: &mut Value, path: &str, new: Value) -> Result<(), PathError> {
    let segments = parse(path)?;
    let missing = |what: String| PathError { path: path.to_string(), problem: what };
    let mut v = value;
    for (i, s) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        v = match s {
            Segment::Key(k) => {
                if v.is_null() {
                    *v = Value::Object(Default::default());
                }
                let m = v.as_object_mut().ok_or_else(|| missing(format!("{k:?} is not in an object")))?;
                let slot = m.entry(k.clone()).or_insert(Value::Null);
                if last {
                    *slot = new;
                    return Ok(());
                }
                slot
            }
            Segment::Index(n) => {
                let a = v.as_array_mut().ok_or_else(|| missing(format!("[{n}] is not in a list")))?;
                a.get_mut(*n).ok_or_else(|| missing(format!("the list has no item {n}")))?
            }
            Segment::Select { field, value: want } => {
                let a = v.as_array_mut().ok_or_else(|| missing(format!("[{field}={want}] is not in a list")))?;
                a.iter_mut()
                    .find(|item| item.get(field).map(render).as_deref() == Some(want.as_str()))
                    .ok_or_else(|| missing(format!("no item with {field}={want}")))?
            }
        };
        if last {
            *v = new;
            return Ok(());
        }
    }
    Ok(())
}

/// Removes the value at `path` (a key of an object or an item of a list); true if it was there.
pub fn remove(value: &mut Value, path: &str) -> Result<bool, PathError> {
    let mut segments = parse(path)?;
    let last = segments.pop().expect("a parsed path has a segment");
    let parent_path = segments;
    let mut v = value;
    for s in &parent_path {
        let next = match (s, v) {
            (Segment::Key(k), Value::Object(m)) => m.get_mut(k),
            (Segment::Index(i), Value::Array(a)) => a.get_mut(*i),
            (Segment::Select { field, value }, Value::Array(a)) => {
                a.iter_mut().find(|item| item.get(field).map(render).as_deref() == Some(value.as_str()))
            }
            _ => None,
        };
        match next {
            Some(n) => v = n,
            None => return Ok(false),
        }
    }
    Ok(match (last, v) {
        (Segment::Key(k), Value::Object(m)) => m.remove(&k).is_some(),
        (Segment::Index(i), Value::Array(a)) if i < a.len() => {
            a.remove(i);
            true
        }
        (Segment::Select { field, value }, Value::Array(a)) => {
            let before = a.len();
            a.retain(|item| item.get(&field).map(render).as_deref() != Some(value.as_str()));
            a.len() != before
        }
        _ => false,
    })
}

/// A value as a step states it: a string as itself, anything else as compact JSON.
pub fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_keys_indexes_selections_and_quoted_keys() {
        let pod = json!({
            "metadata": {"annotations": {"kubernetes.io/config.mirror": "abc"}, "generation": 2},
            "spec": {"containers": [{"name": "a", "image": "busybox"}]},
            "status": {"containerStatuses": [{"name": "b", "restartCount": 0}, {"name": "a", "restartCount": 3}]}
        });
        let get = |p: &str| lookup(&pod, p).unwrap().map(render);
        assert_eq!(get("metadata.annotations[\"kubernetes.io/config.mirror\"]").as_deref(), Some("abc"));
        assert_eq!(get("metadata.annotations[kubernetes.io/config.mirror]").as_deref(), Some("abc"));
        assert_eq!(get("metadata.generation").as_deref(), Some("2"));
        assert_eq!(get("spec.containers[0].image").as_deref(), Some("busybox"));
        assert_eq!(get("status.containerStatuses[name=a].restartCount").as_deref(), Some("3"));
        assert_eq!(get("status.containerStatuses[name=c].restartCount"), None);
        assert_eq!(get("metadata.deletionTimestamp"), None);
    }

    #[test]
    fn sets_and_removes_values_by_path() {
        let mut pod = json!({"spec": {"containers": [{"name": "a", "image": "busybox"}]}});
        set(&mut pod, "spec.containers[name=a].image", json!("busybox:1.35")).unwrap();
        set(&mut pod, "spec.activeDeadlineSeconds", json!(30)).unwrap();
        set(&mut pod, "metadata.labels[\"app.kubernetes.io/name\"]", json!("web")).unwrap();
        assert_eq!(pod["spec"]["containers"][0]["image"], "busybox:1.35");
        assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/name"], "web");
        assert!(set(&mut pod, "spec.containers[name=b].image", json!("x")).is_err());
        assert!(remove(&mut pod, "spec.activeDeadlineSeconds").unwrap());
        assert!(!remove(&mut pod, "spec.activeDeadlineSeconds").unwrap());
        assert!(remove(&mut pod, "spec.containers[name=a]").unwrap());
        assert_eq!(pod["spec"]["containers"], json!([]));
    }

    #[test]
    fn a_malformed_path_says_what_is_wrong() {
        let e = lookup(&json!({}), "spec.containers[x").unwrap_err();
        assert_eq!(e.to_string(), "field path \"spec.containers[x\": unclosed [");
        assert!(lookup(&json!({}), "a..b").is_err());
    }
}
