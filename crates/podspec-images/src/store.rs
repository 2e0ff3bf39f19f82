//! The local image store: builds images from recipes and resolves references to them.
//!
//! Images are content-addressed and immutable: each build goes into a directory of its own,
//! `<data>/images/<name>@<digest>/` (a `rootfs/` folder, a `config.json`, a `complete` marker),
//! named by the SHA-256 of what it is made of (the recipe and the bytes of every file copied in).
//! A directory is never changed once built. Every process that uses an image holds a shared
//! lock on its `in-use` file for as long as it lives; a directory is removed only by whoever
//! gets the exclusive lock on it, that is once no process uses it: when the last user of a
//! superseded image ends, or by `podspec clean`. So two runs with different agent builds each
//! keep their own root filesystem under their containers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use super::{ImageConfig, ImageError, Recipe};

/// Marks a completely built image directory.
const COMPLETE: &str = "complete";
/// Shared-locked by every process using the image.
const IN_USE: &str = "in-use";
/// The prefix of a pulled image's directory (then the manifest's SHA-256).
const PULLED: &str = "pulled-";
/// The prefix of a pull under way (then the puller's PID).
const PULLING: &str = ".pulling-";
/// The folder recording which pulled image each reference names.
const PULLED_REFS: &str = "pulled-refs";

/// A built image on this machine.
#[derive(Debug, Clone)]
pub struct LocalImage {
    pub name: String,
    pub rootfs: PathBuf,
    pub config: ImageConfig,
}

/// An image this process uses: the shared lock that keeps it on disk, and the image.
#[derive(Debug)]
struct Held {
    image: LocalImage,
    _lock: Flock<fs::File>,
}

#[derive(Debug)]
pub struct ImageStore {
    root: PathBuf,
    agent: PathBuf,
    recipes: Vec<(String, Recipe)>,
    /// reference -> index into recipes
    references: BTreeMap<String, usize>,
    /// The images this process resolved, by recipe name (one build at a time in this process,
    /// and a file lock across processes).
    held: std::sync::Mutex<HashMap<String, Held>>,
}

/// What a sweep of the store removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Image directories no process used.
    pub images: Vec<PathBuf>,
    /// Half-built (`.build-*`) or half-removed (`.remove-*`) directories of killed processes.
    pub partial: Vec<PathBuf>,
}

impl ImageStore {
    /// A store under `data_dir/images` with the built-in recipes; `agent` is the podspec-agent
    /// binary that recipes install.
    pub fn new(data_dir: &Path, agent: &Path) -> Self {
        Self::with_recipes(data_dir, agent, Recipe::builtin())
    }

    pub fn with_recipes(data_dir: &Path, agent: &Path, recipes: Vec<(String, Recipe)>) -> Self {
        let mut references = BTreeMap::new();
        for (i, (_, r)) in recipes.iter().enumerate() {
            references.insert(r.name.clone(), i);
            for reference in &r.references {
                references.insert(reference.clone(), i);
            }
        }
        Self { root: data_dir.join("images"), agent: agent.to_path_buf(), recipes, references, held: Default::default() }
    }

    /// Every reference this store can resolve.
    /// The recipes the store builds.
    pub fn recipes(&self) -> impl Iterator<Item = &Recipe> {
        self.recipes.iter().map(|(_, r)| r)
    }

    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.references.keys().map(String::as_str)
    }

    /// The recipe a reference maps to, without building anything.
    pub fn recipe_for(&self, reference: &str) -> Result<&Recipe, ImageError> {
        self.references.get(reference).map(|&i| &self.recipes[i].1).ok_or_else(|| ImageError::Unknown {
            reference: reference.to_string(),
            known: self.references.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Resolves a reference, building the image first when it is missing. Once resolved, a
    /// process keeps using the same image directory. Blocking: call it from a blocking task.
    pub fn resolve(&self, reference: &str) -> Result<LocalImage, ImageError> {
        match self.recipe_for(reference) {
            Ok(recipe) => self.ensure_built(recipe),
            Err(unknown) => self.pulled(reference).ok_or(unknown),
        }
    }

    /// The image a pull of `reference` left on this machine, if any.
    pub fn pulled(&self, reference: &str) -> Option<LocalImage> {
        let dir = fs::read_to_string(self.pulled_ref(reference)).ok()?;
        self.pulled_image(reference, dir.trim())
    }

    fn pulled_image(&self, reference: &str, dir_name: &str) -> Option<LocalImage> {
        if !dir_name.starts_with(PULLED) || dir_name.contains('/') {
            return None;
        }
        let dir = self.root.join(dir_name);
        if !dir.join(COMPLETE).exists() {
            return None;
        }
        let config = serde_json::from_slice(&fs::read(dir.join("config.json")).ok()?).ok()?;
        Some(LocalImage { name: reference.to_string(), rootfs: dir.join("rootfs"), config })
    }

    /// Where the image directory a reference was last pulled as is recorded.
    fn pulled_ref(&self, reference: &str) -> PathBuf {
        self.root.join(PULLED_REFS).join(format!("{:x}", Sha256::digest(reference.as_bytes())))
    }

    fn pulled_dir_name(manifest_digest: &str) -> String {
        format!("{PULLED}{}", manifest_digest.trim_start_matches("sha256:"))
    }

    /// Pulls `reference` from its registry into the store (blocking the calling task only on
    /// the network and the unpacking). An image already unpacked from the same manifest is
    /// reused; the reference then names it. Returns the image and the bytes fetched.
    pub async fn pull(&self, reference: &str, credentials: Option<&super::keyring::Credentials>) -> Result<(LocalImage, u64), ImageError> {
        let err = |message: String| ImageError::Pull { reference: reference.to_string(), message };
        self.close_root().map_err(|e| err(e.to_string()))?;
        fs::create_dir_all(self.root.join(PULLED_REFS)).map_err(|e| err(format!("create {}: {e}", self.root.display())))?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Not `.build-`: a sweep by another process (which holds the store's lock, which a pull
        // takes only to install) leaves it while this process lives.
        let tmp = self.root.join(format!("{PULLING}{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(tmp.join("rootfs")).map_err(|e| err(format!("create {}: {e}", tmp.display())))?;
        let stored = |digest: &str| self.pulled_image(reference, &Self::pulled_dir_name(digest)).map(|i| i.config);
        let pulled = match super::pull::pull(reference, credentials, &tmp.join("rootfs"), stored).await {
            Ok(p) => p,
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                return Err(err(e.to_string()));
            }
        };
        let name = Self::pulled_dir_name(&pulled.manifest_digest);
        let dir = self.root.join(&name);
        let installed = (|| {
            let _store = self.lock_store().map_err(|e| e.to_string())?;
            if !dir.join(COMPLETE).exists() {
                let config = serde_json::to_string_pretty(&pulled.config).expect("config serializes");
                fs::write(tmp.join("config.json"), config).map_err(|e| format!("write config.json: {e}"))?;
                fs::write(tmp.join(COMPLETE), &pulled.manifest_digest).map_err(|e| format!("write {COMPLETE}: {e}"))?;
                let _ = fs::remove_dir_all(&dir);
                fs::rename(&tmp, &dir).map_err(|e| format!("install {}: {e}", dir.display()))?;
            }
            let record = self.pulled_ref(reference);
            let part = record.with_extension("tmp");
            fs::write(&part, &name).map_err(|e| format!("write {}: {e}", part.display()))?;
            fs::rename(&part, &record).map_err(|e| format!("write {}: {e}", record.display()))
        })();
        let _ = fs::remove_dir_all(&tmp);
        installed.map_err(err)?;
        tracing::info!(image = reference, dir = %dir.display(), "pulled image");
        let image = self.pulled_image(reference, &name).ok_or_else(|| err(format!("{} is not complete after the pull", dir.display())))?;
        Ok((image, pulled.size))
    }

    /// Builds every image (the README's set-up step).
    pub fn build_all(&self) -> Result<Vec<LocalImage>, ImageError> {
        self.recipes.iter().map(|(_, r)| self.ensure_built(r)).collect()
    }

    /// podspec's own image (`fixtures/images/podspec.yaml`), built from the running program.
    pub fn build_own_image(&self) -> Result<LocalImage, ImageError> {
        self.ensure_built(&Recipe::own_image())
    }

    fn image_dir(&self, name: &str, digest: &str) -> PathBuf {
        self.root.join(format!("{}@{digest}", name.replace('/', "_")))
    }

    fn ensure_built(&self, recipe: &Recipe) -> Result<LocalImage, ImageError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = held.get(&recipe.name) {
            return Ok(h.image.clone());
        }
        let build_err = |message: String| ImageError::Build { image: recipe.name.clone(), message };
        let digest = self.digest(recipe)?;
        let dir = self.image_dir(&recipe.name, &digest);
        let image = LocalImage { name: recipe.name.clone(), rootfs: dir.join("rootfs"), config: recipe.config.clone() };
        // An image already built is used through a root closed to other users too.
        self.close_root().map_err(|e| build_err(e.to_string()))?;
        if let Some(lock) = use_image(&dir) {
            held.insert(recipe.name.clone(), Held { image: image.clone(), _lock: lock });
            return Ok(image);
        }
        let _store = self.lock_store().map_err(|e| build_err(e.to_string()))?;
        // Another process may have built it while this one waited.
        if let Some(lock) = use_image(&dir) {
            held.insert(recipe.name.clone(), Held { image: image.clone(), _lock: lock });
            return Ok(image);
        }
        // Build beside, then rename into place: nobody ever sees half an image, and an image
        // directory, once there, never changes.
        let tmp = self.root.join(format!(".build-{}-{}", recipe.name.replace('/', "_"), std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        self.build_into(recipe, &tmp)?;
        fs::write(tmp.join(IN_USE), b"").map_err(|e| build_err(format!("write {IN_USE}: {e}")))?;
        fs::write(tmp.join(COMPLETE), &digest).map_err(|e| build_err(format!("write {COMPLETE}: {e}")))?;
        if dir.exists() {
            // Left by a process killed while removing it: it is not complete, so nobody uses it.
            let _ = fs::remove_dir_all(&dir);
        }
        fs::rename(&tmp, &dir).map_err(|e| build_err(format!("install {}: {e}", dir.display())))?;
        tracing::info!(image = %recipe.name, dir = %dir.display(), "built image");
        let lock = use_image(&dir).ok_or_else(|| build_err(format!("cannot lock {} after building it", dir.display())))?;
        held.insert(recipe.name.clone(), Held { image: image.clone(), _lock: lock });
        Ok(image)
    }

    /// The data tree's root is podspec's user's alone: no other local user reaches an image.
    fn close_root(&self) -> Result<(), TreeError> {
        match self.root.parent() {
            Some(data_dir) => {
                podspec_fs::private_dir(data_dir).map_err(|source| TreeError::CloseRoot { dir: data_dir.to_path_buf(), source })
            }
            None => Ok(()),
        }
    }

    /// The lock on the whole store, held while building or removing.
    fn lock_store(&self) -> Result<Flock<fs::File>, TreeError> {
        self.close_root()?;
        fs::create_dir_all(&self.root).map_err(|source| TreeError::CreateDir { dir: self.root.clone(), source })?;
        let lock_file = fs::File::create(self.root.join(".lock")).map_err(TreeError::CreateLock)?;
        Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, source)| TreeError::Lock { dir: self.root.clone(), source })
    }

    /// Removes every image directory no process uses, except `keep` (digests), and whatever
    /// killed builds left (`.build-*`, `.remove-*`). Every build and removal holds the store's
    /// lock, so once this sweep has it no build is under way.
    pub fn sweep(&self, keep: &BTreeSet<String>) -> Result<SweepReport, ImageError> {
        let mut report = SweepReport::default();
        if !self.root.exists() {
            return Ok(report);
        }
        let err = |message: String| ImageError::Build { image: "(store)".into(), message };
        let _store = self.lock_store().map_err(|e| err(e.to_string()))?;
        let entries = fs::read_dir(&self.root).map_err(|e| err(format!("read {}: {e}", self.root.display())))?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let puller_gone = name
                .strip_prefix(PULLING)
                .and_then(|rest| rest.split('-').next())
                .is_some_and(|pid| !Path::new("/proc").join(pid).exists());
            if name.starts_with(".build-") || name.starts_with(".remove-") || puller_gone {
                if fs::remove_dir_all(&path).is_ok() {
                    report.partial.push(path);
                }
                continue;
            }
            let Some((_, digest)) = name.split_once('@') else { continue };
            if keep.contains(digest) || !path.is_dir() {
                continue;
            }
            let Ok(file) = fs::File::open(path.join(IN_USE)) else {
                // No lock file: not a complete image, and so unused.
                if fs::remove_dir_all(&path).is_ok() {
                    report.images.push(path);
                }
                continue;
            };
            let Ok(_only_user) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else { continue };
            let doomed = self.root.join(format!(".remove-{name}-{}", std::process::id()));
            if fs::rename(&path, &doomed).is_ok() {
                let _ = fs::remove_dir_all(&doomed);
                report.images.push(path);
            }
        }
        Ok(report)
    }

    /// The digests of the images the current recipes and inputs make (what `podspec clean` keeps).
    pub fn current_digests(&self) -> BTreeSet<String> {
        self.recipes.iter().filter_map(|(_, r)| self.digest(r).ok()).collect()
    }

    /// What the image is made of: the recipe and the bytes of every file copied in. Two builds
    /// with the same inputs share a directory; any change makes a new one.
    fn digest(&self, recipe: &Recipe) -> Result<String, ImageError> {
        let mut h = Sha256::new();
        h.update(format!("{recipe:?}"));
        let mut inputs: Vec<PathBuf> = recipe.files.iter().map(|f| PathBuf::from(&f.from)).collect();
        if recipe.agent.is_some() {
            inputs.push(self.agent.clone());
        }
        if recipe.grpc_health.is_some() {
            inputs.push(self.grpc_health());
        }
        if recipe.podspec.is_some() {
            inputs.push(own_program()?);
        }
        for t in &recipe.trees {
            let mut files = Vec::new();
            tree_files(Path::new(&t.from), &mut files).map_err(|_| self.missing(recipe, Path::new(&t.from)))?;
            inputs.extend(files);
        }
        for input in inputs {
            let mut file = fs::File::open(&input).map_err(|_| self.missing(recipe, &input))?;
            h.update(input.as_os_str().as_encoded_bytes());
            h.update([0]);
            std::io::copy(&mut file, &mut h).map_err(|_| self.missing(recipe, &input))?;
        }
        Ok(format!("{:x}", h.finalize())[..16].to_string())
    }

    /// podspec-grpc-health, the gRPC health server: built by cargo beside podspec-agent.
    fn grpc_health(&self) -> PathBuf {
        self.agent.with_file_name("podspec-grpc-health")
    }

    fn missing(&self, recipe: &Recipe, path: &Path) -> ImageError {
        let package = recipe.files.iter().find(|f| Path::new(&f.from) == path).and_then(|f| f.package.clone());
        let hint = match package {
            Some(p) => format!(" (install Debian's package: apt-get install {p})"),
            None if path == self.agent || path == self.grpc_health() => " (build it with `cargo build`)".to_string(),
            None => String::new(),
        };
        ImageError::MissingInput { image: recipe.name.clone(), path: path.display().to_string(), hint }
    }

    fn build_into(&self, recipe: &Recipe, dir: &Path) -> Result<(), ImageError> {
        let err = |message: String| ImageError::Build { image: recipe.name.clone(), message };
        let rootfs = dir.join("rootfs");
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "tmp", "proc", "sys", "dev", "root", "var", "lib", "lib64"]
        {
            fs::create_dir_all(rootfs.join(d)).map_err(|e| err(format!("create /{d}: {e}")))?;
        }
        fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).map_err(|e| err(format!("chmod /tmp: {e}")))?;
        write_file(&rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
            .map_err(|e| err(e.to_string()))?;
        write_file(&rootfs, "etc/group", "root:x:0:\nnobody:x:65534:\n").map_err(|e| err(e.to_string()))?;
        write_file(&rootfs, "etc/hosts", "127.0.0.1\tlocalhost\n").map_err(|e| err(e.to_string()))?;
        write_file(&rootfs, "etc/hostname", "").map_err(|e| err(e.to_string()))?;
        write_file(&rootfs, "etc/resolv.conf", "").map_err(|e| err(e.to_string()))?;
        for f in &recipe.files {
            copy_in(Path::new(&f.from), &rootfs, &f.to).map_err(|_| self.missing(recipe, Path::new(&f.from)))?;
        }
        if recipe.busybox_applets {
            link_busybox_applets(&rootfs).map_err(|e| err(e.to_string()))?;
        }
        if let Some(to) = &recipe.agent {
            copy_in(&self.agent, &rootfs, to).map_err(|_| self.missing(recipe, &self.agent))?;
            for lib in shared_libraries(&self.agent).map_err(|e| err(e.to_string()))? {
                copy_in(&lib, &rootfs, &lib.display().to_string()).map_err(|e| err(format!("copy {}: {e}", lib.display())))?;
            }
        }
        if let Some(to) = &recipe.grpc_health {
            let server = self.grpc_health();
            copy_in(&server, &rootfs, to).map_err(|_| self.missing(recipe, &server))?;
            for lib in shared_libraries(&server).map_err(|e| err(e.to_string()))? {
                copy_in(&lib, &rootfs, &lib.display().to_string()).map_err(|e| err(format!("copy {}: {e}", lib.display())))?;
            }
        }
        if let Some(to) = &recipe.podspec {
            let program = own_program()?;
            copy_in(&program, &rootfs, to).map_err(|e| err(format!("copy {}: {e}", program.display())))?;
            for lib in shared_libraries(&program).map_err(|e| err(e.to_string()))? {
                copy_in(&lib, &rootfs, &lib.display().to_string()).map_err(|e| err(format!("copy {}: {e}", lib.display())))?;
            }
        }
        for t in &recipe.trees {
            let mut files = Vec::new();
            tree_files(Path::new(&t.from), &mut files).map_err(|_| self.missing(recipe, Path::new(&t.from)))?;
            for f in files {
                let rel = f.strip_prefix(&t.from).unwrap_or(&f);
                let to = Path::new(&t.to).join(rel);
                copy_in(&f, &rootfs, &to.display().to_string()).map_err(|e| err(format!("copy {}: {e}", f.display())))?;
            }
        }
        for path in &recipe.setuid {
            let file = rootfs.join(path.trim_start_matches('/'));
            std::os::unix::fs::chown(&file, Some(0), Some(0)).map_err(|e| err(format!("chown {path}: {e}")))?;
            fs::set_permissions(&file, fs::Permissions::from_mode(0o4755)).map_err(|e| err(format!("chmod 4755 {path}: {e}")))?;
        }
        let config = serde_json::to_string_pretty(&recipe.config).expect("config serializes");
        fs::write(dir.join("config.json"), config).map_err(|e| err(format!("write config.json: {e}")))?;
        Ok(())
    }
}

impl Drop for ImageStore {
    /// When a process ends, the images it used and that are superseded (another build of the
    /// same recipe is newer) are removed, if no other process still uses them.
    fn drop(&mut self) {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(|e| e.into_inner()));
        if held.is_empty() {
            return;
        }
        let keep: BTreeSet<String> = self.current_digests();
        drop(held);
        match self.sweep(&keep) {
            Ok(r) if !r.images.is_empty() => tracing::info!(removed = r.images.len(), "removed unused images"),
            Ok(_) => {}
            Err(e) => tracing::warn!("removing unused images: {e}"),
        }
    }
}

/// Takes a shared lock on a complete image directory, or None when it is not there (missing,
/// half-built, or being removed).
fn use_image(dir: &Path) -> Option<Flock<fs::File>> {
    let file = fs::File::open(dir.join(IN_USE)).ok()?;
    let lock = Flock::lock(file, FlockArg::LockShared).ok()?;
    // A remover may have held the exclusive lock until the directory was gone.
    dir.join(COMPLETE).exists().then_some(lock)
}

/// The running podspec program.
fn own_program() -> Result<PathBuf, ImageError> {
    std::env::current_exe()
        .map_err(|e| ImageError::Build { image: "podspec/podspec".into(), message: format!("find the running program: {e}") })
}

/// The bytes of the regular files under a directory (an image's size).
pub fn tree_size(dir: &Path) -> u64 {
    let mut files = Vec::new();
    let _ = tree_files(dir, &mut files);
    files.iter().filter_map(|f| fs::symlink_metadata(f).ok()).map(|m| m.len()).sum()
}

/// The regular files under a directory, in name order.
fn tree_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let t = e.file_type()?;
        if t.is_dir() {
            tree_files(&e.path(), out)?;
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// What fails while laying out an image's tree or closing the data directory; its text is
/// what `ImageError::Build` and the store's lock report.
#[derive(Debug, thiserror::Error)]
enum TreeError {
    #[error("make {} podspec's own: {source}", .dir.display())]
    CloseRoot {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file of the tree, by its path under the root (`etc/passwd`).
    #[error("create /{rel}: {source}")]
    CreateFile {
        rel: String,
        #[source]
        source: std::io::Error,
    },
    #[error("write /{rel}: {source}")]
    WriteFile {
        rel: String,
        #[source]
        source: std::io::Error,
    },
    #[error("create lock: {0}")]
    CreateLock(#[source] std::io::Error),
    /// The store's lock, on its directory.
    #[error("lock {}: {source}", .dir.display())]
    Lock {
        dir: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// `ldd` of a program whose libraries an image takes.
    #[error("run ldd {}: {source}", .program.display())]
    RunLdd {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("run busybox --list-full: {0}")]
    RunBusybox(#[source] std::io::Error),
    #[error("busybox --list-full failed: {stderr}")]
    BusyboxFailed { stderr: String },
    /// A directory an applet's link goes in, by its full path.
    #[error("create {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("link {applet}: {source}")]
    Link {
        applet: String,
        #[source]
        source: std::io::Error,
    },
}

fn write_file(rootfs: &Path, rel: &str, text: &str) -> Result<(), TreeError> {
    let mut f = fs::File::create(rootfs.join(rel)).map_err(|source| TreeError::CreateFile { rel: rel.to_string(), source })?;
    f.write_all(text.as_bytes()).map_err(|source| TreeError::WriteFile { rel: rel.to_string(), source })
}

fn copy_in(from: &Path, rootfs: &Path, to: &str) -> std::io::Result<()> {
    let dest = rootfs.join(to.trim_start_matches('/'));
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::copy(from, &dest)?;
    Ok(())
}

fn link_busybox_applets(rootfs: &Path) -> Result<(), TreeError> {
    let out = Command::new(rootfs.join("bin/busybox")).arg("--list-full").output().map_err(TreeError::RunBusybox)?;
    if !out.status.success() {
        return Err(TreeError::BusyboxFailed { stderr: String::from_utf8_lossy(&out.stderr).into_owned() });
    }
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let link = rootfs.join(applet);
        if link.exists() || applet == "bin/busybox" {
            continue;
        }
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent).map_err(|source| TreeError::CreateDir { dir: parent.to_path_buf(), source })?;
        }
        symlink("/bin/busybox", &link).map_err(|source| TreeError::Link { applet: applet.to_string(), source })?;
    }
    Ok(())
}

/// The shared libraries a dynamically linked program needs, as `ldd` lists them (with the loader).
fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, TreeError> {
    let out = Command::new("ldd").arg(program).output().map_err(|source| TreeError::RunLdd { program: program.to_owned(), source })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_reference_names_the_reference_and_the_known_ones() {
        let store = ImageStore::new(Path::new("/nonexistent"), Path::new("/nonexistent/agent"));
        let err = store.recipe_for("nginx:1.25").unwrap_err().to_string();
        assert!(err.contains("\"nginx:1.25\"") && err.contains("busybox:1.36"), "{err}");
    }

    #[test]
    fn a_missing_input_names_the_debian_package() {
        let recipe = Recipe::parse(
            "t.yaml",
            "name: t/x\nreferences: [x]\nfiles: [{from: /nonexistent/busybox, to: /bin/busybox, package: busybox-static}]\n",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("podspec-image-test-{}", std::process::id()));
        let store = ImageStore::with_recipes(&dir, Path::new("/nonexistent/agent"), vec![("t.yaml".into(), recipe)]);
        let err = store.resolve("x").unwrap_err().to_string();
        assert!(err.contains("apt-get install busybox-static"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_sweep_removes_the_pulls_of_ended_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = ImageStore::with_recipes(dir.path(), Path::new("/nonexistent/agent"), Vec::new());
        let root = dir.path().join("images");
        // Above any pid_max: no such process.
        let ended = root.join(format!("{PULLING}999999999-0"));
        let live = root.join(format!("{PULLING}{}-0", std::process::id()));
        fs::create_dir_all(ended.join("rootfs")).unwrap();
        fs::create_dir_all(live.join("rootfs")).unwrap();
        let report = store.sweep(&BTreeSet::new()).unwrap();
        assert_eq!(report.partial, [ended.clone()]);
        assert!(!ended.exists() && live.exists());
    }

    #[test]
    fn tree_errors_keep_their_texts() {
        let missing = Path::new("/nonexistent-podspec-rootfs");
        let e = write_file(missing, "etc/hosts", "").unwrap_err().to_string();
        assert_eq!(e, "create /etc/hosts: No such file or directory (os error 2)");
        let e = link_busybox_applets(missing).unwrap_err().to_string();
        assert_eq!(e, "run busybox --list-full: No such file or directory (os error 2)");
    }

    #[test]
    fn ldd_lists_the_loader_of_a_dynamic_program() {
        let libs = shared_libraries(Path::new("/bin/ls")).unwrap();
        assert!(libs.iter().any(|l| l.to_string_lossy().contains("ld-linux")), "{libs:?}");
    }
}
