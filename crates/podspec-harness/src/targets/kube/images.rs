//! Which image a cluster is sent for a fixture's image reference: `--image-map FILE` (lines of
//! `busybox:1.36=registry.example/podspec/busybox@sha256:...`) or `--image-registry PREFIX`
//! (`PREFIX/busybox:1.36`). Every change is recorded, so the report says what was sent.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMapping {
    map: BTreeMap<String, String>,
    registry: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageMapError {
    #[error("{file}:{line}: {message}")]
    Line { file: String, line: usize, message: String },
    #[error("cannot read image map {file}: {message}")]
    Read { file: String, message: String },
}

impl ImageMapping {
    pub fn new(map: BTreeMap<String, String>, registry: Option<String>) -> Self {
        Self { map, registry: registry.map(|r| r.trim_end_matches('/').to_string()) }
    }

    /// Reads an image map file: blank lines and `#` comments are ignored; every other line is
    /// `REFERENCE=IMAGE`, each reference at most once.
    pub fn read(path: &Path, registry: Option<String>) -> Result<Self, ImageMapError> {
        let file = path.display().to_string();
        let text =
            crate::manifest::input::read_regular(path).map_err(|e| ImageMapError::Read { file: file.clone(), message: e.to_string() })?;
        let map = parse(&file, &text)?;
        Ok(Self::new(map, registry))
    }

    /// The image sent for a reference, or `None` when it is sent as written.
    pub fn map(&self, reference: &str) -> Option<String> {
        if let Some(to) = self.map.get(reference) {
            return Some(to.clone());
        }
        self.registry.as_ref().map(|prefix| format!("{prefix}/{reference}"))
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.registry.is_none()
    }
}

pub fn parse(file: &str, text: &str) -> Result<BTreeMap<String, String>, ImageMapError> {
    let mut map = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| ImageMapError::Line { file: file.into(), line: i + 1, message };
        let Some((from, to)) = line.split_once('=') else {
            return Err(err(format!("expected REFERENCE=IMAGE, found {line:?}")));
        };
        let (from, to) = (from.trim(), to.trim());
        if from.is_empty() || to.is_empty() || from.contains(char::is_whitespace) || to.contains(char::is_whitespace) {
            return Err(err(format!("expected REFERENCE=IMAGE with neither empty nor containing spaces, found {line:?}")));
        }
        if map.insert(from.to_string(), to.to_string()).is_some() {
            return Err(err(format!("{from:?} is mapped twice")));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_then_registry_then_as_written() {
        let map = parse("m", "# fixtures\nbusybox:1.36 = reg.example/podspec/busybox@sha256:ab\n").unwrap();
        let m = ImageMapping::new(map.clone(), None);
        assert_eq!(m.map("busybox:1.36").as_deref(), Some("reg.example/podspec/busybox@sha256:ab"));
        assert_eq!(m.map("busybox:1.35"), None);
        let m = ImageMapping::new(map, Some("reg.example/mirror/".into()));
        assert_eq!(m.map("busybox:1.35").as_deref(), Some("reg.example/mirror/busybox:1.35"));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        assert_eq!(parse("m.txt", "a=b\n\nbusybox\n").unwrap_err().to_string(), "m.txt:3: expected REFERENCE=IMAGE, found \"busybox\"");
        assert_eq!(parse("m.txt", "a=b\na=c\n").unwrap_err().to_string(), "m.txt:2: \"a\" is mapped twice");
    }
}
