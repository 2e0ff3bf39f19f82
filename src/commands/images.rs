//! `podspec images`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};

use podspec::paths::Paths;

#[derive(Subcommand)]
pub(crate) enum ImagesCommand {
    /// Build every fixture image (nothing is pulled).
    Build,
    /// List the image references fixtures may use.
    List,
    /// Write each image as a tarball into DIR (docker-archive for `podman load`, or oci-archive
    /// for `ctr images import`, `kind load image-archive`, `skopeo copy`), and DIR/image-map.txt
    /// for `--image-map` (each fixture reference = the exported image).
    Export {
        /// Where to write `<image>.tar` (created if missing).
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "docker-archive")]
        format: ArchiveFormat,
        /// Name each image by the references fixtures use, as a CRI runtime resolves them
        /// (`docker.io/library/busybox:1.36`, ...), and include the pause image.
        #[arg(long)]
        cri: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

pub(crate) async fn images(command: ImagesCommand) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let store = podspec::images::ImageStore::new(&paths.data_dir, &paths.agent);
    match command {
        ImagesCommand::Build => {
            for image in tokio::task::spawn_blocking(move || store.build_all()).await?? {
                println!("{}\t{}", image.name, image.rootfs.display());
            }
        }
        ImagesCommand::List => {
            for r in store.references() {
                println!("{r}");
            }
        }
        ImagesCommand::Export { dir, format, cri } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let references: Vec<(String, Vec<String>)> =
                store.recipes().cloned().chain([podspec::images::recipe::Recipe::own_image()]).map(|r| (r.name, r.references)).collect();
            let map_dir = dir.clone();
            let exported = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<_>> {
                let mut out = Vec::new();
                let mut images = store.build_all()?;
                images.push(store.build_own_image()?);
                for image in images {
                    let path = dir.join(format!("{}.tar", image.name.replace('/', "_")));
                    let own = image.name == podspec::images::recipe::Recipe::own_image().name;
                    let e = if own {
                        // One name everywhere: the Sonobuoy plugin's image.
                        let oci = !cri && matches!(format, ArchiveFormat::OciArchive);
                        podspec::images::archive::export_own_image(&image, oci, &path)?
                    } else if cri {
                        let references = store.recipe_for(&image.name)?.references.clone();
                        podspec::images::archive::export_docker_archive_as(&image, &references, &path)?
                    } else {
                        let repository = podspec::targets::podman::images::repository(&image);
                        match format {
                            ArchiveFormat::DockerArchive => podspec::images::archive::export_docker_archive(&image, &repository, &path)?,
                            ArchiveFormat::OciArchive => podspec::images::archive::export_oci_archive(&image, &repository, &path)?,
                        }
                    };
                    out.push((image.name.clone(), e));
                }
                Ok(out)
            })
            .await??;
            let mut map = String::from("# podspec images export: each fixture reference = the exported image (for --image-map)\n");
            for (name, e) in &exported {
                for (_, refs) in references.iter().filter(|(n, _)| n == name) {
                    for r in refs {
                        map.push_str(&format!("{r}={}\n", e.reference));
                    }
                }
            }
            let map_path = map_dir.join("image-map.txt");
            std::fs::write(&map_path, map).with_context(|| format!("writing {}", map_path.display()))?;
            for (_, e) in exported {
                println!("{}\t{}\t{}", e.path.display(), e.reference, e.image_id);
            }
            println!("{}", map_path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
