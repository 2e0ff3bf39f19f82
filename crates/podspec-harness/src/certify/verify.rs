//! `podspec certify --verify BUNDLE`: what a conformance reviewer checks of a results bundle.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use super::bundle::{self, CONFORMANCE, ENVIRONMENT, JUNIT, LOG, PRODUCT, README, REPORT_JSON};
use super::environment::Environment;
use super::log;
use super::product::Product;

/// What the bundle holds and what is wrong with it.
#[derive(Debug, Default)]
pub struct Verdict {
    pub problems: Vec<String>,
    /// The bundle says it is partial (what is missing is among the problems).
    pub partial: bool,
    pub testcases: usize,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A JUnit testcase: its name and whether it failed or errored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunitCase {
    pub name: String,
    /// The feature file of its scenario (its `file` attribute).
    pub file: String,
    pub failed: bool,
    /// The conformance tests its scenario mirrors (its `conformance.codename` properties).
    pub codenames: Vec<String>,
}

/// Checks the files of a bundle.
pub fn verify(files: &BTreeMap<String, Vec<u8>>) -> Verdict {
    let mut v = Verdict::default();
    for name in bundle::FILES {
        match files.get(*name) {
            None => v.problems.push(format!("{name} is missing")),
            Some(b) if b.iter().all(u8::is_ascii_whitespace) => v.problems.push(format!("{name} is empty")),
            Some(_) => {}
        }
    }
    let text = |name: &str| files.get(name).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();

    let cases = match junit_cases(&text(JUNIT)) {
        Ok(c) => c,
        Err(e) => {
            v.problems.push(format!("{JUNIT} does not parse: {e}"));
            Vec::new()
        }
    };
    v.testcases = cases.len();
    for c in cases.iter().filter(|c| c.failed) {
        v.problems.push(format!("{JUNIT}: testcase {:?} has a failure or error", c.name));
    }
    if files.contains_key(REPORT_JSON) {
        if let Err(e) = serde_json::from_str::<crate::report::RunRecord>(&text(REPORT_JSON)) {
            v.problems.push(format!("{REPORT_JSON} does not parse: {e}"));
        }
    }
    if files.contains_key(ENVIRONMENT) {
        match serde_json::from_str::<Environment>(&text(ENVIRONMENT)) {
            Ok(env) if env.partial && env.missing.is_empty() => {
                v.partial = true;
                v.problems.push(format!("{ENVIRONMENT}: the run says it is partial but names no missing @conformance scenario"));
            }
            Ok(env) if env.partial => {
                v.partial = true;
                v.problems.push(format!("{ENVIRONMENT}: the run is partial ({} @conformance scenarios missing)", env.missing.len()));
                for m in env.missing {
                    v.problems.push(format!("  missing: {} | {}: {}", m.feature_path, m.scenario, m.reason));
                }
            }
            Ok(env) if !env.missing.is_empty() => v
                .problems
                .push(format!("{ENVIRONMENT}: {} @conformance scenarios missing but the run says it is complete", env.missing.len())),
            Ok(_) => {}
            Err(e) => v.problems.push(format!("{ENVIRONMENT} does not parse: {e}")),
        }
    }
    if files.contains_key(PRODUCT) {
        match serde_yaml::from_str::<Product>(&text(PRODUCT)) {
            Ok(p) => v.problems.extend(p.problems()),
            Err(e) => v.problems.push(format!("{PRODUCT} does not parse: {e}")),
        }
    }
    // What the bundle is, and what it counts.
    if files.contains_key(README) {
        let readme = text(README);
        let head: Vec<&str> = readme.lines().take(4).collect();
        if head.first() != Some(&bundle::README_TITLE) || !head.join(" ").contains(bundle::NOT_E2E) {
            v.problems.push(format!("{README} does not say in its first lines that this is not a CNCF conformance submission"));
        }
    }
    let environment = serde_json::from_str::<Environment>(&text(ENVIRONMENT)).ok();
    if files.contains_key(CONFORMANCE) {
        let listing = text(CONFORMANCE);
        let covered: std::collections::BTreeSet<&str> = listing.lines().filter_map(|l| l.strip_prefix("covered  ")).collect();
        for c in &cases {
            for name in c.codenames.iter().filter(|n| !covered.contains(n.as_str())) {
                v.problems.push(format!("{JUNIT}: testcase {:?}: codename {name:?} is not a covered test of {CONFORMANCE}", c.name));
            }
        }
        if let Some(count) = environment.as_ref().map(|e| &e.conformance) {
            let line = super::coverage::count_line(count.covered, count.total, &count.release);
            if !listing.lines().take(2).any(|l| l.contains(&line)) || covered.len() != count.covered {
                v.problems
                    .push(format!("{CONFORMANCE} does not say \"{line}\" as {ENVIRONMENT} counts (it lists {} covered)", covered.len()));
            }
        }
    }
    if files.contains_key(LOG) {
        let log_text = text(LOG);
        if let Some(release) = environment.as_ref().map(|e| &e.conformance.release).filter(|r| !r.is_empty()) {
            let version = log_text.lines().find_map(|l| l.split_once(' ').and_then(|(_, rest)| rest.strip_prefix(log::VERSION_LINE)));
            if version.is_some_and(|v| !v.contains(&format!("Kubernetes v{release}"))) {
                v.problems
                    .push(format!("{LOG}: the version line does not name Kubernetes v{release}, the release {ENVIRONMENT} counts against"));
            }
        }
        if !log_text.lines().any(|l| l.split_once(' ').is_some_and(|(_, rest)| rest.starts_with(log::VERSION_LINE))) {
            v.problems.push(format!("{LOG} has no version line (`{}...`)", log::VERSION_LINE));
        }
        let mut in_log = log::scenario_names(&log_text);
        let mut in_junit: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        in_log.sort();
        in_junit.sort();
        if in_log != in_junit {
            let only_log: Vec<_> = in_log.iter().filter(|n| !in_junit.contains(n)).collect();
            let only_junit: Vec<_> = in_junit.iter().filter(|n| !in_log.contains(n)).collect();
            v.problems.push(format!(
                "{JUNIT} and {LOG} name different scenarios (only in the log: {only_log:?}; only in junit: {only_junit:?}; {} against {})",
                in_log.len(),
                in_junit.len()
            ));
        }
    }
    v
}

/// Why a JUnit file's testcases could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error(transparent)]
    Xml(#[from] quick_xml::Error),
    #[error("no <testsuites> or <testsuite> element")]
    NoSuites,
}

/// The testcases of a JUnit file.
pub fn junit_cases(xml: &str) -> Result<Vec<JunitCase>, JunitError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut in_case = false;
    let mut saw_suites = false;
    loop {
        match reader.read_event()? {
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                cases.push(JunitCase { name: name_of(&e), file: attribute(&e, b"file"), failed: false, codenames: Vec::new() });
                in_case = true;
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                cases.push(JunitCase { name: name_of(&e), file: attribute(&e, b"file"), failed: false, codenames: Vec::new() })
            }
            Event::Empty(e) if in_case && e.name().as_ref() == b"property" => {
                let attr = |key: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == key)
                        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
                };
                if attr(b"name").as_deref() == Some(bundle::CODENAME_PROPERTY) {
                    if let (Some(c), Some(v)) = (cases.last_mut(), attr(b"value")) {
                        c.codenames.push(v);
                    }
                }
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuites" || e.name().as_ref() == b"testsuite" => {
                saw_suites = true;
            }
            Event::Start(e) | Event::Empty(e) if in_case && (e.name().as_ref() == b"failure" || e.name().as_ref() == b"error") => {
                if let Some(c) = cases.last_mut() {
                    c.failed = true;
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => in_case = false,
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_suites {
        return Err(JunitError::NoSuites);
    }
    Ok(cases)
}

fn name_of(e: &quick_xml::events::BytesStart<'_>) -> String {
    attribute(e, b"name")
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> String {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
        .unwrap_or_default()
}
