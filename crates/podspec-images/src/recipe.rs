//! Image recipes: how a fixture image is made from the project's own sources and Debian's
//! packages. Parsing only; building is in `store`.

use serde::{Deserialize, Serialize};

/// The recipes built into podspec (their sources live in `fixtures/images/`).
pub const BUILTIN: &[(&str, &str)] = &[
    ("fixtures/images/busybox.yaml", include_str!("../../../fixtures/images/busybox.yaml")),
    ("fixtures/images/pause.yaml", include_str!("../../../fixtures/images/pause.yaml")),
    ("fixtures/images/entrypoint.yaml", include_str!("../../../fixtures/images/entrypoint.yaml")),
    ("fixtures/images/nonewprivs.yaml", include_str!("../../../fixtures/images/nonewprivs.yaml")),
];

/// podspec's own image (for the Sonobuoy plugin): built only when asked for, never for a run.
pub const OWN_IMAGE: (&str, &str) = ("fixtures/images/podspec.yaml", include_str!("../../../fixtures/images/podspec.yaml"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The local image's name, e.g. `podspec/busybox`.
    pub name: String,
    /// The references that fixtures may use for this image.
    pub references: Vec<String>,
    #[serde(default)]
    pub files: Vec<FileFromHost>,
    /// Link every applet of /bin/busybox into /bin.
    #[serde(default)]
    pub busybox_applets: bool,
    /// Where to install podspec-agent (with the shared libraries it needs), if anywhere.
    pub agent: Option<String>,
    /// Where to install podspec-grpc-health (the gRPC health server built beside podspec-agent,
    /// with the shared libraries it needs), if anywhere.
    #[serde(default)]
    pub grpc_health: Option<String>,
    /// Paths in the image made setuid root (mode 04755), e.g. the agent of the nonewprivs image.
    #[serde(default)]
    pub setuid: Vec<String>,
    /// Where to install the running podspec program (with its shared libraries), if anywhere.
    #[serde(default)]
    pub podspec: Option<String>,
    /// Directories copied in whole, from paths relative to the current directory.
    #[serde(default)]
    pub trees: Vec<Tree>,
    #[serde(default)]
    pub config: ImageConfig,
}

/// A file copied from the machine into the image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFromHost {
    pub from: String,
    pub to: String,
    /// The Debian package that provides it, named in the error when it is missing.
    pub package: Option<String>,
}

/// A directory copied into the image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    pub from: String,
    pub to: String,
}

/// An image's runtime configuration (the parts of the OCI image config podspec uses).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub working_dir: Option<String>,
    /// The image's user (`USER`: `uid`, `uid:gid` or a name); none is root.
    #[serde(default)]
    pub user: Option<String>,
}

impl ImageConfig {
    /// The image user's uid, when it is numeric (root when the image names no user).
    pub fn uid(&self) -> Option<u32> {
        match self.user.as_deref().map(|u| u.split(':').next().unwrap_or("")) {
            None | Some("") => Some(0),
            Some(u) => u.parse().ok(),
        }
    }
}

impl Recipe {
    pub fn parse(source: &str, text: &str) -> Result<Self, super::ImageError> {
        serde_yaml::from_str(text).map_err(|e| super::ImageError::Recipe { file: source.to_string(), message: e.to_string() })
    }

    pub fn own_image() -> Self {
        Self::parse(OWN_IMAGE.0, OWN_IMAGE.1).expect("the built-in recipe parses")
    }

    pub fn builtin() -> Vec<(String, Self)> {
        BUILTIN.iter().map(|(src, text)| (src.to_string(), Self::parse(src, text).expect("built-in recipes parse"))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_recipes_parse_and_name_busybox() {
        let recipes = Recipe::builtin();
        let (_, busybox) = recipes.iter().find(|(_, r)| r.name == "podspec/busybox").expect("busybox recipe");
        assert!(busybox.references.iter().any(|r| r == "busybox:1.36"));
        assert!(busybox.config.env.iter().any(|e| e.starts_with("PATH=")));
    }

    #[test]
    fn the_entrypoint_image_has_an_entrypoint_and_a_default_cmd() {
        let recipes = Recipe::builtin();
        let (_, r) = recipes.iter().find(|(_, r)| r.name == "podspec/entrypoint").expect("entrypoint recipe");
        assert_eq!(r.references, ["localhost/podspec/entrypoint:1"]);
        assert_eq!(r.agent.as_deref(), Some("/podspec-agent"));
        assert_eq!(r.config.entrypoint, ["/podspec-agent"]);
        assert_eq!(r.config.cmd, ["paused"]);
    }

    #[test]
    fn unknown_recipe_fields_are_refused_with_the_file_name() {
        let err = Recipe::parse("x.yaml", "name: a\nreferences: []\nbogus: 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("x.yaml") && text.contains("bogus"), "{text}");
    }
}
