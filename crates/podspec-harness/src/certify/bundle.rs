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
/// What the bundle is and is not, first.
pub const README: &str = "README.md";
/// The Kubernetes release's list of Pod-related conformance tests, each covered (with the
/// scenarios that mirror it) or missing, and the count.
pub const CONFORMANCE: &str = "conformance.txt";

/// Every file of a bundle, in the order they are written.
pub const FILES: &[&str] = &[README, JUNIT, REPORT_JSON, REPORT_MD, LOG, ENVIRONMENT, PRODUCT, CONFORMANCE];

/// The README's first line.
pub const README_TITLE: &str = "# podspec results bundle: not a CNCF conformance submission";
/// What the README's first lines say the bundle is not.
pub const NOT_E2E: &str = "not Kubernetes' e2e suite";
/// The name of the JUnit property that names a mirrored conformance test.
pub const CODENAME_PROPERTY: &str = "conformance.codename";

/// The bundle's README.md: what it is and is not, then what it holds.
pub fn readme(podspec_version: &str, target: &str, server: &str, release: &str, covered: usize, total: usize) -> String {
    format!(
        "{README_TITLE}

This is podspec's results bundle in the shape of a CNCF conformance submission. It records
podspec's own `@conformance` scenarios, {NOT_E2E} (no Kubernetes `e2e.log`, no e2e
`junit_01.xml`): CNCF's k8s-conformance review would not accept it as a submission.

- podspec {podspec_version}, target {target}, server {server}
- counted against Kubernetes v{release}'s Pod-related conformance tests: {covered} of {total} have an
  equivalent scenario ({CONFORMANCE} lists each, covered or missing, and which scenario mirrors it;
  each testcase of {JUNIT} names the tests its scenario mirrors in a `{CODENAME_PROPERTY}` property)

Files: {README} (this), {JUNIT}, {REPORT_JSON} and {REPORT_MD} (the run's reports), {LOG} (a run
log in the manner of `e2e.log`), {ENVIRONMENT} (what was certified, whether the run is partial and
what it left out), {PRODUCT} (the product's fields), {CONFORMANCE}. `podspec certify --verify`
checks them.
"
    )
}

/// `xml` with each testcase whose (file, name) mirrors conformance tests given one
/// `conformance.codename` property per test.
pub fn with_codenames(xml: &str, codenames: &BTreeMap<(String, String), Vec<String>>) -> Result<String, quick_xml::Error> {
    use quick_xml::events::{BytesEnd, BytesStart, Event};
    let attr = |e: &BytesStart<'_>, key: &[u8]| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
            .unwrap_or_default()
    };
    let properties = |w: &mut quick_xml::Writer<Vec<u8>>, names: &[String]| -> std::io::Result<()> {
        w.create_element("properties").write_inner_content(|w| {
            for n in names {
                w.create_element("property").with_attributes([("name", CODENAME_PROPERTY), ("value", n.as_str())]).write_empty()?;
            }
            Ok(())
        })?;
        Ok(())
    };
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Empty(e) if e.name().as_ref() == b"testcase" => match codenames.get(&(attr(&e, b"file"), attr(&e, b"name"))) {
                Some(names) => {
                    writer.write_event(Event::Start(e))?;
                    properties(&mut writer, names)?;
                    writer.write_event(Event::End(BytesEnd::new("testcase")))?;
                }
                None => writer.write_event(Event::Empty(e))?,
            },
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                let names = codenames.get(&(attr(&e, b"file"), attr(&e, b"name"))).cloned();
                writer.write_event(Event::Start(e))?;
                if let Some(names) = names {
                    properties(&mut writer, &names)?;
                }
            }
            other => writer.write_event(other)?,
        }
    }
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

/// The bundle's file name for a run that started at `started`.
pub fn file_name(started: jiff::Timestamp) -> String {
    format!("podspec-results-{}.tar.gz", started.strftime("%Y%m%dT%H%M%SZ"))
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
