//! The results bundle: `podspec-results-<UTC time>.tar.gz` with the files a conformance
//! reviewer reads.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

pub const JUNIT: &str = "junit_01.xml";
pub const REPORT_JSON: &str = "report.json";
pub const REPORT_MD: &str = "report.md";
pub const LOG: &str = "podspec.log";
pub const ENVIRONMENT: &str = "environment.json";
pub const PRODUCT: &str = "PRODUCT.yaml";

/// Every file of a bundle, in the order they are written.
pub const FILES: &[&str] = &[JUNIT, REPORT_JSON, REPORT_MD, LOG, ENVIRONMENT, PRODUCT];

/// The bundle's file name for a run that started at `started`.
pub fn file_name(started: chrono::DateTime<chrono::Utc>) -> String {
    format!("podspec-results-{}.tar.gz", started.format("%Y%m%dT%H%M%SZ"))
}

/// Packs `FILES` from `dir` into `out` (gzip-compressed tar, files at its root).
pub fn write(dir: &Path, out: &Path) -> std::io::Result<PathBuf> {
    let tmp = out.with_extension("tmp");
    {
        let file = std::fs::File::create(&tmp)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for name in FILES {
            let path = dir.join(name);
            let mut f = std::fs::File::open(&path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            tar.append_file(name, &mut f)?;
        }
        tar.into_inner()?.finish()?.sync_all()?;
    }
    std::fs::rename(&tmp, out)?;
    Ok(out.to_path_buf())
}

/// The files of a bundle, by name.
pub fn read(path: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        files.insert(name, bytes);
    }
    Ok(files)
}
