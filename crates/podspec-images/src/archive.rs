//! Fixture images as `docker-archive` tarballs (the format `docker save` writes and
//! `podman load` reads): one uncompressed layer made from the image's root filesystem, an image
//! config with the recipe's `Env`, `Cmd`, `Entrypoint` and `WorkingDir` (so `PATH` is set for
//! runtimes that add none), and a `manifest.json` naming the image.
//!
//! The layer is reproducible: entries in name order, owned by root, with a fixed modification
//! time, so the same root filesystem always gives the same layer digest.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ImageError, LocalImage};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The name the archive gives the image (`localhost/podspec/busybox:<first 12 of the ID>`).
    pub reference: String,
    /// `sha256:<hex>` of the image config: the image ID `podman load` reports.
    pub image_id: String,
    pub path: std::path::PathBuf,
}

/// Labels every exported image carries.
pub const LABEL_SOURCE: &str = "io.podspec.image";

/// The name and ID an export of `image` gives it, without writing anything: `<repository>:<tag>`
/// where the tag is the start of the image ID, so a changed image never hides behind an old
/// name. Blocking (reads the root filesystem).
pub fn identify(image: &LocalImage, repository: &str) -> Result<(String, String), ImageError> {
    let mut hashing = HashingWriter { inner: io::sink(), hasher: Sha256::new() };
    write_layer(&image.rootfs, &mut hashing)
        .map_err(|e| ImageError::Build { image: image.name.clone(), message: format!("read {}: {e}", image.rootfs.display()) })?;
    let layer_digest = format!("{:x}", hashing.hasher.finalize());
    let (config_digest, _) = config_of(image, &layer_digest);
    Ok((reference(repository, &config_digest), format!("sha256:{config_digest}")))
}

fn reference(repository: &str, config_digest: &str) -> String {
    format!("{repository}:{}", &config_digest[..12])
}

fn config_of(image: &LocalImage, layer_digest: &str) -> (String, Vec<u8>) {
    let config_bytes = serde_json::to_vec(&image_config(image, layer_digest)).expect("config serializes");
    (format!("{:x}", Sha256::digest(&config_bytes)), config_bytes)
}

/// Writes `image` as a docker-archive tarball at `path`, naming it `<repository>:<tag>` (see
/// `identify`). Blocking.
pub fn export_docker_archive(image: &LocalImage, repository: &str, path: &Path) -> Result<Exported, ImageError> {
    write_docker_archive(image, path, |config_digest| vec![reference(repository, config_digest)])
}

/// Writes `image` as a docker-archive tarball at `path` (the format `ctr images import` also
/// takes) that names it by each of `references`, fully qualified as a CRI runtime resolves them
/// (`busybox:1.36` is `docker.io/library/busybox:1.36`). The first is the one reported. Blocking.
pub fn export_docker_archive_as(image: &LocalImage, references: &[String], path: &Path) -> Result<Exported, ImageError> {
    let mut tags: Vec<String> = Vec::new();
    for r in references.iter().map(|r| qualified_reference(r)) {
        if !tags.contains(&r) {
            tags.push(r);
        }
    }
    write_docker_archive(image, path, |_| tags)
}

/// A reference as a registry client normalizes it: `busybox` is `docker.io/library/busybox:latest`,
/// `foo/bar:1` is `docker.io/foo/bar:1`; a name with a registry host stays.
pub fn qualified_reference(reference: &str) -> String {
    let (first, _) = reference.split_once('/').unwrap_or(("", reference));
    let has_host = !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = match (reference.contains('/'), has_host) {
        (false, _) => format!("docker.io/library/{reference}"),
        (true, false) => format!("docker.io/{reference}"),
        (true, true) => reference.to_string(),
    };
    let last = full.rsplit('/').next().unwrap_or_default();
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

fn write_docker_archive(image: &LocalImage, path: &Path, tags: impl FnOnce(&str) -> Vec<String>) -> Result<Exported, ImageError> {
    let err = |message: String| ImageError::Build { image: image.name.clone(), message };
    // The layer first, into a temporary file, to learn its digest.
    let tmp_layer = path.with_extension("layer.tmp");
    let layer_digest = {
        let file = fs::File::create(&tmp_layer).map_err(|e| err(format!("create {}: {e}", tmp_layer.display())))?;
        let mut hashing = HashingWriter { inner: io::BufWriter::new(file), hasher: Sha256::new() };
        write_layer(&image.rootfs, &mut hashing).map_err(|e| err(format!("write the layer of {}: {e}", image.rootfs.display())))?;
        hashing.inner.flush().map_err(|e| err(format!("write {}: {e}", tmp_layer.display())))?;
        format!("{:x}", hashing.hasher.finalize())
    };
    let (config_digest, config_bytes) = config_of(image, &layer_digest);
    let tags = tags(&config_digest);
    let reference = tags.first().cloned().unwrap_or_default();
    let manifest = json!([{
        "Config": format!("{config_digest}.json"),
        "RepoTags": tags,
        "Layers": [format!("{layer_digest}/layer.tar")],
    }]);
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");

    let result = (|| -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut out = tar::Builder::new(io::BufWriter::new(fs::File::create(&tmp)?));
        append_bytes(&mut out, &format!("{config_digest}.json"), &config_bytes)?;
        append_dir(&mut out, &format!("{layer_digest}/"))?;
        let mut header = file_header(fs::metadata(&tmp_layer)?.len(), 0o644);
        out.append_data(&mut header, format!("{layer_digest}/layer.tar"), fs::File::open(&tmp_layer)?)?;
        append_bytes(&mut out, "manifest.json", &manifest_bytes)?;
        out.into_inner()?.flush()?;
        fs::rename(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp_layer);
    result.map_err(|e| err(format!("write {}: {e}", path.display())))?;
    Ok(Exported { reference, image_id: format!("sha256:{config_digest}"), path: path.to_path_buf() })
}

/// Writes `image` as an oci-archive tarball (an OCI image layout: `oci-layout`, `index.json`,
/// `blobs/sha256/...`; `ctr images import`, `kind load image-archive` and `skopeo copy
/// oci-archive:` read it), naming it `<repository>:<tag>` as `export_docker_archive` does.
/// Blocking.
pub fn export_oci_archive(image: &LocalImage, repository: &str, path: &Path) -> Result<Exported, ImageError> {
    write_oci_archive(image, path, |config_digest| reference(repository, config_digest))
}

/// Writes podspec's own image (`oci`: as an oci-archive, else a docker-archive, the format `--cri`
/// writes too) under the one name it goes by everywhere, `super::own_image_reference()`: the name
/// the Sonobuoy plugin (`ci/sonobuoy/podspec-plugin.yaml`) runs. Blocking.
pub fn export_own_image(image: &LocalImage, oci: bool, path: &Path) -> Result<Exported, ImageError> {
    let name = super::own_image_reference();
    if oci {
        write_oci_archive(image, path, |_| name)
    } else {
        export_docker_archive_as(image, &[name], path)
    }
}

fn write_oci_archive(image: &LocalImage, path: &Path, name: impl FnOnce(&str) -> String) -> Result<Exported, ImageError> {
    let err = |message: String| ImageError::Build { image: image.name.clone(), message };
    let tmp_layer = path.with_extension("layer.tmp");
    let (layer_digest, layer_size) = {
        let file = fs::File::create(&tmp_layer).map_err(|e| err(format!("create {}: {e}", tmp_layer.display())))?;
        let mut hashing = HashingWriter { inner: io::BufWriter::new(file), hasher: Sha256::new() };
        write_layer(&image.rootfs, &mut hashing).map_err(|e| err(format!("write the layer of {}: {e}", image.rootfs.display())))?;
        hashing.inner.flush().map_err(|e| err(format!("write {}: {e}", tmp_layer.display())))?;
        let size = fs::metadata(&tmp_layer).map_err(|e| err(e.to_string()))?.len();
        (format!("{:x}", hashing.hasher.finalize()), size)
    };
    let (config_digest, config_bytes) = config_of(image, &layer_digest);
    let reference = name(&config_digest);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_digest}"), "size": config_bytes.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer_digest}"), "size": layer_size }],
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    let manifest_digest = format!("{:x}", Sha256::digest(&manifest_bytes));
    let tag = reference.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest_bytes.len(),
            "annotations": { "org.opencontainers.image.ref.name": tag, "io.containerd.image.name": &reference },
        }],
    });
    let result = (|| -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut out = tar::Builder::new(io::BufWriter::new(fs::File::create(&tmp)?));
        append_bytes(&mut out, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        append_bytes(&mut out, "index.json", &serde_json::to_vec(&index).expect("index serializes"))?;
        append_dir(&mut out, "blobs/")?;
        append_dir(&mut out, "blobs/sha256/")?;
        append_bytes(&mut out, &format!("blobs/sha256/{config_digest}"), &config_bytes)?;
        append_bytes(&mut out, &format!("blobs/sha256/{manifest_digest}"), &manifest_bytes)?;
        let mut header = file_header(layer_size, 0o644);
        out.append_data(&mut header, format!("blobs/sha256/{layer_digest}"), fs::File::open(&tmp_layer)?)?;
        out.into_inner()?.flush()?;
        fs::rename(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp_layer);
    result.map_err(|e| err(format!("write {}: {e}", path.display())))?;
    Ok(Exported { reference, image_id: format!("sha256:{config_digest}"), path: path.to_path_buf() })
}

/// The OCI/Docker image config of an image whose only layer has diff ID `layer_digest`.
fn image_config(image: &LocalImage, layer_digest: &str) -> serde_json::Value {
    let c = &image.config;
    let mut config = serde_json::Map::new();
    config.insert("Env".into(), json!(c.env));
    if !c.entrypoint.is_empty() {
        config.insert("Entrypoint".into(), json!(c.entrypoint));
    }
    if !c.cmd.is_empty() {
        config.insert("Cmd".into(), json!(c.cmd));
    }
    if let Some(w) = &c.working_dir {
        config.insert("WorkingDir".into(), json!(w));
    }
    let labels: BTreeMap<&str, &str> = [(LABEL_SOURCE, image.name.as_str())].into_iter().collect();
    config.insert("Labels".into(), json!(labels));
    json!({
        "architecture": super::go_arch(),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": config,
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_digest}")] },
        "history": [{ "created": "1970-01-01T00:00:00Z", "created_by": format!("podspec image recipe {}", image.name) }],
    })
}

fn file_header(size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn append_bytes<W: Write>(out: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut h = file_header(bytes.len() as u64, 0o644);
    out.append_data(&mut h, name, bytes)
}

fn append_dir<W: Write>(out: &mut tar::Builder<W>, name: &str) -> io::Result<()> {
    let mut h = file_header(0, 0o755);
    h.set_entry_type(tar::EntryType::Directory);
    out.append_data(&mut h, name, io::empty())
}

/// The root filesystem as a tar stream: directories, regular files and symbolic links, in name
/// order, owned by root, modification time 0.
fn write_layer<W: Write>(rootfs: &Path, out: W) -> io::Result<()> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    walk(&mut builder, rootfs, Path::new(""))?;
    builder.into_inner()?;
    Ok(())
}

fn walk<W: Write>(out: &mut tar::Builder<W>, root: &Path, rel: &Path) -> io::Result<()> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let rel_path = rel.join(e.file_name());
        let meta = fs::symlink_metadata(e.path())?;
        let mode = meta.permissions().mode() & 0o7777;
        let ft = meta.file_type();
        if ft.is_dir() {
            let mut h = file_header(0, mode);
            h.set_entry_type(tar::EntryType::Directory);
            out.append_data(&mut h, &rel_path, io::empty())?;
            walk(out, root, &rel_path)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(e.path())?;
            let mut h = file_header(0, 0o777);
            h.set_entry_type(tar::EntryType::Symlink);
            out.append_link(&mut h, &rel_path, &target)?;
        } else if ft.is_file() {
            let mut h = file_header(meta.len(), mode);
            out.append_data(&mut h, &rel_path, fs::File::open(e.path())?)?;
        } else {
            tracing::debug!(path = %e.path().display(), "not a directory, file or link: left out of the layer");
        }
    }
    Ok(())
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageConfig;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn tiny_image(dir: &Path) -> LocalImage {
        let rootfs = dir.join("rootfs");
        fs::create_dir_all(rootfs.join("bin")).unwrap();
        fs::write(rootfs.join("bin/busybox"), b"#!fake").unwrap();
        fs::set_permissions(rootfs.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("/bin/busybox", rootfs.join("bin/sh")).unwrap();
        LocalImage {
            name: "podspec/tiny".into(),
            rootfs,
            config: ImageConfig {
                env: vec!["PATH=/bin".into()],
                cmd: vec!["sh".into()],
                working_dir: Some("/".into()),
                ..Default::default()
            },
        }
    }

    fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut a = tar::Archive::new(fs::File::open(path).unwrap());
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, data)
            })
            .collect()
    }

    #[test]
    fn the_archive_names_the_image_and_carries_path_in_its_config() {
        let dir = tempfile::tempdir().unwrap();
        let image = tiny_image(dir.path());
        let out = dir.path().join("tiny.tar");
        let exported = export_docker_archive(&image, "localhost/podspec/tiny", &out).unwrap();
        assert_eq!(identify(&image, "localhost/podspec/tiny").unwrap(), (exported.reference.clone(), exported.image_id.clone()));
        assert_eq!(exported.reference, format!("localhost/podspec/tiny:{}", &exported.image_id[7..19]));
        let files = entries(&out);
        let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        assert_eq!(manifest[0]["RepoTags"][0], exported.reference.as_str());
        let config_name = manifest[0]["Config"].as_str().unwrap();
        assert_eq!(format!("sha256:{}", config_name.trim_end_matches(".json")), exported.image_id);
        let config: serde_json::Value = serde_json::from_slice(&files[config_name]).unwrap();
        assert_eq!(config["config"]["Env"][0], "PATH=/bin");
        assert_eq!(config["config"]["Cmd"][0], "sh");
        assert_eq!(config["config"]["Labels"][LABEL_SOURCE], "podspec/tiny");
        let layer_name = manifest[0]["Layers"][0].as_str().unwrap();
        let layer = &files[layer_name];
        let diff_id = format!("sha256:{:x}", Sha256::digest(layer));
        assert_eq!(config["rootfs"]["diff_ids"][0], diff_id.as_str());
        // The layer holds the file and keeps the link a link.
        let mut a = tar::Archive::new(&layer[..]);
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            let kind = e.header().entry_type();
            seen.push((e.path().unwrap().display().to_string(), kind));
            if kind == tar::EntryType::Symlink {
                assert_eq!(e.link_name().unwrap().unwrap().display().to_string(), "/bin/busybox");
            }
        }
        assert_eq!(
            seen,
            vec![
                ("bin".to_string(), tar::EntryType::Directory),
                ("bin/busybox".to_string(), tar::EntryType::Regular),
                ("bin/sh".to_string(), tar::EntryType::Symlink)
            ]
        );
    }

    /// An OCI image layout (image-spec's image-layout.md): `oci-layout` 1.0.0; `index.json`'s
    /// manifest descriptor, the manifest's config and layer descriptors each name a blob under
    /// `blobs/sha256/` whose SHA-256 and size are the descriptor's; the config's diff ID is the
    /// (uncompressed) layer's digest; the index names the image as containerd and the spec read it.
    #[test]
    fn the_oci_archive_is_an_image_layout_whose_descriptors_match_their_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let image = tiny_image(dir.path());
        let out = dir.path().join("tiny-oci.tar");
        let exported = export_oci_archive(&image, "localhost/podspec/tiny", &out).unwrap();
        let files = entries(&out);
        let layout: serde_json::Value = serde_json::from_slice(&files["oci-layout"]).unwrap();
        assert_eq!(layout["imageLayoutVersion"], "1.0.0");
        let blob = |descriptor: &serde_json::Value| -> Vec<u8> {
            let digest = descriptor["digest"].as_str().unwrap();
            let bytes = files[&format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap())].clone();
            assert_eq!(format!("sha256:{:x}", Sha256::digest(&bytes)), digest);
            assert_eq!(descriptor["size"].as_u64().unwrap(), bytes.len() as u64, "{descriptor}");
            bytes
        };
        let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        let m = &index["manifests"][0];
        assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        assert_eq!(m["annotations"]["io.containerd.image.name"], exported.reference.as_str());
        assert_eq!(m["annotations"]["org.opencontainers.image.ref.name"], exported.reference.rsplit_once(':').unwrap().1);
        let manifest: serde_json::Value = serde_json::from_slice(&blob(m)).unwrap();
        assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
        assert_eq!(format!("sha256:{:x}", Sha256::digest(blob(&manifest["config"]))), exported.image_id);
        let config: serde_json::Value = serde_json::from_slice(&blob(&manifest["config"])).unwrap();
        assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar");
        let layer = blob(&manifest["layers"][0]);
        assert_eq!(config["rootfs"]["diff_ids"][0], format!("sha256:{:x}", Sha256::digest(&layer)).as_str());
        assert_eq!((config["os"].as_str(), config["architecture"].as_str()), (Some("linux"), Some(crate::go_arch())));
    }

    #[test]
    fn references_are_qualified_as_a_registry_client_does() {
        assert_eq!(qualified_reference("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(qualified_reference("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(qualified_reference("foo/bar:1"), "docker.io/foo/bar:1");
        assert_eq!(
            qualified_reference("registry.k8s.io/e2e-test-images/busybox:1.36.1-1"),
            "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"
        );
        assert_eq!(qualified_reference("localhost/podspec/pause:1"), "localhost/podspec/pause:1");
        assert_eq!(qualified_reference("localhost:5000/x"), "localhost:5000/x:latest");
    }

    #[test]
    fn a_cri_archive_names_the_image_by_every_qualified_reference() {
        let dir = tempfile::tempdir().unwrap();
        let image = tiny_image(dir.path());
        let path = dir.path().join("cri.tar");
        let refs = vec!["busybox".to_string(), "busybox:latest".to_string(), "busybox:1.36".to_string()];
        let exported = export_docker_archive_as(&image, &refs, &path).unwrap();
        assert_eq!(exported.reference, "docker.io/library/busybox:latest");
        let manifest: serde_json::Value = serde_json::from_slice(&entries(&path)["manifest.json"]).unwrap();
        assert_eq!(manifest[0]["RepoTags"], serde_json::json!(["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"]));
    }

    #[test]
    fn the_same_rootfs_gives_the_same_image_id() {
        let dir = tempfile::tempdir().unwrap();
        let image = tiny_image(dir.path());
        let a = export_docker_archive(&image, "localhost/podspec/tiny", &dir.path().join("a.tar")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let b = export_docker_archive(&image, "localhost/podspec/tiny", &dir.path().join("b.tar")).unwrap();
        assert_eq!(a.image_id, b.image_id);
        fs::write(image.rootfs.join("bin/other"), b"x").unwrap();
        let c = export_docker_archive(&image, "localhost/podspec/tiny", &dir.path().join("c.tar")).unwrap();
        assert_ne!(a.reference, c.reference);
    }
}
