//! Golden-file tests of the three reports, plus targeted checks.
//!
//! To regenerate the golden files after an intended change of output:
//! `PODSPEC_UPDATE_GOLDEN=1 cargo test report::` then review the diff of
//! the files under [`GOLDEN_DIR`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::{civil, tz::TimeZone, Timestamp};

use super::{
    baseline, diff, json, junit, markdown, matrix, matrix_html, matrix_md, write_all, Failure, ReportError, Reruns, RunRecord,
    ScenarioRecord, Status, Summary, JSON_FILE, JUNIT_FILE, MARKDOWN_FILE,
};

/// Where the golden files live; the only place that names it.
const GOLDEN_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/report");

/// Set to regenerate the golden files instead of comparing with them.
const UPDATE_ENV: &str = "PODSPEC_UPDATE_GOLDEN";

const FAILING_STEP: &str = r#"Then the output of "exec" in container "b" is "hello""#;
const SKIP_REASON: &str = "needs a real node: hostPath volumes are not supported by the reference runtime";

fn at(h: i8, m: i8, s: i8, ms: i32) -> Timestamp {
    TimeZone::UTC.to_timestamp(civil::date(2025, 1, 15).at(h, m, s, ms * 1_000_000)).unwrap()
}

/// One passed and one failed scenario in "Pod networking", one skipped in "Volumes".
fn sample() -> RunRecord {
    let scenarios = vec![
        ScenarioRecord {
            feature: "Pod networking".into(),
            feature_path: "features/networking.feature".into(),
            name: "Containers in a pod share localhost".into(),
            line: 8,
            tags: vec!["conformance".into(), "networking".into()],
            status: Status::Passed,
            reason: None,
            duration_ms: 1_250,
            attempts: vec![],
            manifest_changes: vec![],
            failure: None,
        },
        ScenarioRecord {
            feature: "Pod networking".into(),
            feature_path: "features/networking.feature".into(),
            name: "Exec output is captured".into(),
            line: 15,
            tags: vec!["conformance".into()],
            status: Status::Failed,
            reason: Some(r#"the output of "exec" in container "b" did not match"#.into()),
            duration_ms: 2_500,
            attempts: vec![],
            manifest_changes: vec![],
            failure: Some(
                Failure::new(FAILING_STEP, 19, r#"the output of "exec" in container "b" did not match"#).with_mismatch("hello", "goodbye"),
            ),
        },
        ScenarioRecord {
            feature: "Volumes".into(),
            feature_path: "features/volumes.feature".into(),
            name: "A hostPath volume is mounted read-only".into(),
            line: 5,
            tags: vec!["volumes".into(), "needs-node".into()],
            status: Status::Skipped,
            reason: Some(SKIP_REASON.into()),
            duration_ms: 0,
            attempts: vec![],
            manifest_changes: vec![],
            failure: None,
        },
    ];
    RunRecord::new(
        "reference",
        "0.1.0",
        at(10, 0, 0, 0),
        at(10, 1, 5, 250),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        scenarios,
    )
}

/// A fresh, empty directory under the system's temp dir.
fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("podspec-report-{name}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Compares `actual` with the golden file `name`, or rewrites it when
/// `PODSPEC_UPDATE_GOLDEN` is set.
fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(GOLDEN_DIR).join(name);
    if std::env::var_os(UPDATE_ENV).is_some() {
        std::fs::create_dir_all(GOLDEN_DIR).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = read(&path);
    assert!(
        expected == actual,
        "{} differs from its golden file (set {UPDATE_ENV}=1 to regenerate):\n{}",
        path.display(),
        diff::unified(&expected, actual)
    );
}

#[test]
fn reports_match_golden_files() {
    let dir = scratch_dir("golden").join("nested");
    let written = write_all(&sample(), &dir).unwrap();
    assert_eq!(written.junit, dir.join(JUNIT_FILE));
    assert_eq!(written.json, dir.join(JSON_FILE));
    assert_eq!(written.markdown, dir.join(MARKDOWN_FILE));

    assert_golden("junit.xml", &read(&written.junit));
    assert_golden("report.json", &read(&written.json));
    assert_golden("report.md", &read(&written.markdown));
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn json_reads_back_equal() {
    let dir = scratch_dir("json");
    let record = sample();
    let written = write_all(&record, &dir).unwrap();
    assert_eq!(json::read(&written.json).unwrap(), record);

    let value: serde_json::Value = serde_json::from_str(&read(&written.json)).unwrap();
    for key in ["target", "podspec_version", "started", "finished", "features_sha256", "scenarios", "summary"] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    let scenarios = value["scenarios"].as_array().unwrap();
    assert_eq!(scenarios[0]["status"], "passed");
    assert_eq!(scenarios[0]["failure"], serde_json::Value::Null);
    assert_eq!(scenarios[1]["status"], "failed");
    assert_eq!(scenarios[1]["failure"]["step"], FAILING_STEP);
    assert!(scenarios[1]["failure"]["diff"].as_str().unwrap().contains("-hello\n+goodbye\n"));
    assert_eq!(scenarios[2]["status"], "skipped");
    assert_eq!(scenarios[2]["reason"], SKIP_REASON);
    assert_eq!(scenarios[2]["tags"], serde_json::json!(["volumes", "needs-node"]));
    assert_eq!(value["started"], "2025-01-15T10:00:00Z");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summary_counts_scenarios() {
    let mut record = sample();
    let expected = Summary { passed: 1, flaky: 0, failed: 1, skipped: 1 };
    assert_eq!(record.summary, expected);
    assert_eq!(record.summary.to_string(), "1 passed, 1 failed, 1 skipped");
    record.scenarios.pop();
    assert_eq!(record.summarize(), Summary { skipped: 0, ..expected });
    assert_eq!(record.summary.skipped, 0);
    assert_eq!(record.duration_ms(), 65_250);
}

#[test]
fn junit_has_a_testcase_per_scenario_with_feature_as_classname() {
    let record = sample();
    let xml = junit::to_string(&record).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2);
    assert!(xml.contains(r#"name="Pod networking" package="testsuite/Pod networking" tests="2" errors="0" failures="1""#));
    assert!(xml.contains(r#"name="Volumes" package="testsuite/Volumes" tests="1" errors="0" failures="0""#));
    assert_eq!(xml.matches("<testcase ").count(), record.scenarios.len());
    for scenario in &record.scenarios {
        let xml_name = scenario.name.replace('"', "&quot;");
        let opening = format!(r#"<testcase name="{xml_name}" time="#);
        let start = xml.find(&opening).unwrap_or_else(|| panic!("no testcase {xml_name}"));
        let tag_end = start + xml[start..].find('>').unwrap();
        assert!(xml[start..tag_end].contains(&format!(r#"classname="{}""#, scenario.feature)), "{}", &xml[start..tag_end]);
    }
}

#[test]
fn junit_of_a_rerun_names_the_earlier_run_first_in_each_testsuite() {
    let mut record = sample();
    let started = at(10, 0, 0, 0);
    record.reruns = Some(Reruns { report: "out/report.json".into(), started, failed: 1 });
    let xml = junit::to_string(&record).unwrap();
    let property =
        r#"><properties><property name="reruns" value="out/report.json (started 2025-01-15T10:00:00Z, 1 failed)"/></properties><testcase "#;
    assert_eq!(xml.matches(property).count(), 2, "{xml}");
    assert_eq!(xml.matches("<properties>").count(), 2, "{xml}");
}

#[test]
fn junit_failure_names_the_step_and_carries_the_diff() {
    let xml = junit::to_string(&sample()).unwrap();
    let start = xml.find("<failure ").expect("a failure element");
    let failure = &xml[start..start + xml[start..].find("</failure>").unwrap()];
    assert!(failure.contains(r#"type="StepFailed""#), "{failure}");
    assert!(
        failure.contains(r#"message="Then the output of &quot;exec&quot; in container &quot;b&quot; is &quot;hello&quot; (line 19): "#),
        "{failure}"
    );
    assert!(failure.contains(FAILING_STEP), "{failure}");
    assert!(failure.contains("features/networking.feature:19"), "{failure}");
    assert!(failure.contains("\n-hello\n+goodbye\n"), "{failure}");
}

#[test]
fn junit_skipped_testcase_carries_its_reason() {
    let xml = junit::to_string(&sample()).unwrap();
    assert_eq!(xml.matches("<skipped ").count(), 1);
    assert!(xml.contains(&format!(r#"<skipped type="skipped" message="{SKIP_REASON}"/>"#)), "{xml}");
}

#[test]
fn junit_keeps_a_multiline_reason_and_odd_text_well_formed() {
    let mut record = sample();
    record.scenarios[2].reason = Some("needs a node\nsee docs]]> for \u{1b}[1mmore".into());
    let xml = junit::to_string(&record).unwrap();
    assert!(xml.contains(r#"message="needs a node see docs]]&gt; for \u{1b}[1mmore""#), "{xml}");
    assert!(xml.contains("<![CDATA[needs a node\nsee docs]]]]><![CDATA[> for \\u{1b}[1mmore]]>"), "{xml}");
    assert!(!xml.contains('\u{1b}'));
}

#[test]
fn markdown_shows_the_diff_and_the_skip_reason() {
    let md = markdown::render(&sample());
    assert!(md.contains("**FAILED:** 1 passed, 1 failed, 1 skipped (3 scenarios)"), "{md}");
    assert!(md.contains("```diff\n--- expected\n+++ actual\n@@ -1 +1 @@\n-hello\n+goodbye\n```\n"), "{md}");
    assert!(md.contains("`features/networking.feature:15`"), "{md}");
    assert!(md.contains(SKIP_REASON), "{md}");
}

#[test]
fn diff_is_made_when_only_values_were_recorded() {
    let mut failure = Failure::new("Then x", 3, "mismatch");
    failure.expected = Some("a\nb".into());
    failure.actual = Some("a\nc".into());
    assert_eq!(failure.diff_text().unwrap(), "--- expected\n+++ actual\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
    assert_eq!(Failure::new("Then x", 3, "boom").diff_text(), None);
}

#[test]
fn errors_name_the_file() {
    let dir = scratch_dir("errors");
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = dir.join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();

    let err = write_all(&sample(), blocker.join("reports")).unwrap_err();
    assert!(matches!(err, ReportError::CreateDir { .. }));
    assert!(err.to_string().contains(&blocker.display().to_string()), "{err}");

    let missing = dir.join("missing.json");
    let err = json::read(&missing).unwrap_err();
    assert!(err.to_string().contains(&missing.display().to_string()), "{err}");

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{").unwrap();
    let err = json::read(&bad).unwrap_err();
    assert!(matches!(err, ReportError::JsonDecode { .. }));
    assert_eq!(err.path(), bad);
    assert!(err.to_string().contains(&bad.display().to_string()), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The podman run of the matrix samples: one behaviour passes, one fails with a diff whose
/// text needs escaping (a known failure in its baseline), one is skipped, "Volumes" was not
/// run, and "Hostname" only this run has.
fn podman_sample() -> RunRecord {
    let scenarios = vec![
        ScenarioRecord {
            feature: "Pod networking".into(),
            feature_path: "features/networking.feature".into(),
            name: "Containers in a pod share localhost".into(),
            line: 8,
            tags: vec!["conformance".into(), "networking".into()],
            status: Status::Skipped,
            reason: Some("target podman has no access to the node (scenario tag @node-access)".into()),
            duration_ms: 0,
            attempts: vec![],
            manifest_changes: vec![],
            failure: None,
        },
        ScenarioRecord {
            feature: "Pod networking".into(),
            feature_path: "features/networking.feature".into(),
            name: "Exec output is captured".into(),
            line: 15,
            tags: vec!["conformance".into()],
            status: Status::Failed,
            reason: Some(r#"the output of "exec" in container "b" did not match"#.into()),
            duration_ms: 1_100,
            attempts: vec![],
            manifest_changes: vec![],
            failure: Some(
                Failure::new(FAILING_STEP, 19, "the output of \"exec\" in container \"b\" did not match")
                    .with_mismatch("hello\n<b>&amp;</b>\nend", "hello\n<i>&</i>\nend"),
            ),
        },
        ScenarioRecord {
            feature: "Hostname".into(),
            feature_path: "features/hostname.feature".into(),
            name: "The hostname is the pod name & <nothing> else".into(),
            line: 4,
            tags: vec![],
            status: Status::Passed,
            reason: None,
            duration_ms: 900,
            attempts: vec![],
            manifest_changes: vec![],
            failure: None,
        },
    ];
    let mut record = RunRecord::new(
        "podman",
        "0.1.0",
        at(11, 0, 0, 0),
        at(11, 0, 40, 0),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        scenarios,
    );
    let baseline = baseline::parse(
        "ci/baselines/podman.txt",
        "# known\nfeatures/networking.feature | Exec output is captured | podman's exec adds <markup>\n",
    )
    .unwrap();
    baseline::apply(&baseline, &mut record);
    record
}

fn matrix_sample() -> matrix::Matrix {
    let (reference, podman) = (sample(), podman_sample());
    matrix::build(
        &[
            matrix::Run { record: &reference, report: Path::new("/ci/reports/reference/report.json") },
            matrix::Run { record: &podman, report: Path::new("/ci/reports/podman/report.json") },
        ],
        Path::new("/ci/reports"),
    )
}

#[test]
fn matrix_matches_golden_files() {
    let m = matrix_sample();
    assert_golden("matrix.md", &matrix_md::render(&m));
    assert_golden("matrix.html", &matrix_html::render(&m));
}

#[test]
fn matrix_html_is_self_contained_and_escaped() {
    let html = matrix_html::render(&matrix_sample());
    for external in ["<script", "<link", "src=", "http://", "https://", "@import", "url("] {
        assert!(!html.contains(external), "the page must not load anything: found {external}");
    }
    assert!(html.contains("The hostname is the pod name &amp; &lt;nothing&gt; else"), "{html}");
    assert!(html.contains("<span class=\"del\">-&lt;b&gt;&amp;amp;&lt;/b&gt;</span>"), "{html}");
    assert!(html.contains("<span class=\"add\">+&lt;i&gt;&amp;&lt;/i&gt;</span>"), "{html}");
    assert!(html.contains("href=\"podman/report.md#failure-features-networking-feature-15\""), "{html}");
    assert!(html.contains("href=\"#failure-2\""), "{html}");
    assert!(html.contains("id=\"failure-2\""), "{html}");
    assert!(html.contains("⊘ skipped</span><span class=\"why\">target podman has no access to the node (scenario tag @node-access)</span>"));
    assert!(html.contains("known failure: podman&#39;s exec adds &lt;markup&gt;"), "{html}");
    assert!(html.contains("– not run"), "{html}");
}

#[test]
fn the_failure_anchor_the_matrix_links_to_is_in_report_md() {
    let podman = podman_sample();
    let md = markdown::render(&podman);
    let m = matrix_sample();
    let link = m.failures().into_iter().find(|l| l.column.target == "podman").map(|l| l.failure.link.clone()).unwrap();
    let (file, anchor) = link.split_once('#').unwrap();
    assert_eq!(file, "podman/report.md");
    assert!(md.contains(&format!("<a id=\"{anchor}\"></a>")), "{md}");
}

#[test]
fn gated_reports_match_golden_files() {
    let dir = scratch_dir("gated");
    let written = write_all(&podman_sample(), &dir).unwrap();
    assert_golden("gated-junit.xml", &read(&written.junit));
    assert_golden("gated-report.json", &read(&written.json));
    assert_golden("gated-report.md", &read(&written.markdown));
    assert_eq!(json::read(&written.json).unwrap(), podman_sample());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_ungated_report_has_no_baseline_field() {
    let text = json::to_string(&sample()).unwrap();
    assert!(!text.contains("baseline"), "{text}");
}

#[test]
fn the_target_identity_reaches_json_and_markdown() {
    let mut record = sample();
    record.target = "cri".into();
    record.target_identity = [("runtime_name", "containerd"), ("runtime_version", "1.6.20"), ("endpoint", "unix:///run/c.sock")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dir = scratch_dir("identity");
    let written = write_all(&record, &dir).unwrap();
    let value: serde_json::Value = serde_json::from_str(&read(&written.json)).unwrap();
    assert_eq!(value["target_identity"]["runtime_name"], "containerd");
    assert_eq!(value["target_identity"]["endpoint"], "unix:///run/c.sock");
    assert_eq!(json::read(&written.json).unwrap(), record);
    let md = markdown::render(&record);
    assert!(md.contains("runtime\\_version: `1.6.20`"), "{md}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A target without one writes no key at all (the golden files stay as they are).
    let plain: serde_json::Value = serde_json::to_value(sample()).unwrap();
    assert!(plain.get("target_identity").is_none());
}

/// `sample()` run with `--retry 1`: the first scenario failed once and then passed (flaky), the
/// failed one failed on both attempts; the target changed a manifest of the first.
fn flaky_sample() -> RunRecord {
    let mut record = sample();
    let first = &mut record.scenarios[0];
    first.status = Status::Flaky;
    first.attempts = vec![Failure::new(FAILING_STEP, 12, "not within 30s: pod \"web\" is Pending").with_mismatch("Running", "Pending")];
    first.manifest_changes = vec!["pod web: metadata.name sent as \"podspec-1-1.web\" (podman has no namespaces)".into()];
    record.scenarios[1].attempts = vec![Failure::new(FAILING_STEP, 19, "the first attempt's message")];
    record.summarize();
    record
}

#[test]
fn a_flaky_run_matches_golden_files() {
    let mut record = flaky_sample();
    assert_eq!(record.summary, Summary { passed: 0, flaky: 1, failed: 1, skipped: 1 });
    assert_eq!(record.summary.to_string(), "0 passed, 1 flaky (passed on a retry), 1 failed, 1 skipped");
    let baseline = baseline::parse("ci/baselines/x.txt", "features/networking.feature | Exec output is captured | known\n").unwrap();
    let verdict = baseline::apply(&baseline, &mut record);
    assert!(verdict.passed, "a flaky scenario counts as passed: {verdict:?}");
    assert_eq!(verdict.flaky.len(), 1);
    assert!(verdict.flaky[0]
        .detail
        .as_deref()
        .unwrap()
        .starts_with("passed on attempt 2 of 2; attempt 1 failed at line 12: not within 30s"));
    let xml = junit::to_string(&record).unwrap();
    // Well-formed XML, every element closed.
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("junit.xml is not well-formed: {e}\n{xml}"),
        }
    }
    assert_golden("flaky-junit.xml", &xml);
    assert_golden("flaky-report.md", &markdown::render(&record));
    assert_golden("flaky-report.json", &json::to_string(&record).unwrap());
    let back: RunRecord = serde_json::from_str(&json::to_string(&record).unwrap()).unwrap();
    assert_eq!(back, record, "report.json reads back whole");
}

#[test]
fn a_flaky_scenario_is_a_flaky_cell_of_the_matrix() {
    let record = flaky_sample();
    let dir = scratch_dir("flaky-matrix");
    let report = dir.join("podman/report.json");
    let m = matrix::build(&[matrix::Run { record: &record, report: &report }], &dir);
    let cell = &m.features[0].rows[0].cells[0];
    assert_eq!(cell.word(), "flaky");
    assert!(
        matches!(cell, matrix::Cell::Flaky { passed_on: 2, first_failure } if first_failure.starts_with("attempt 1 failed at line 12")),
        "{cell:?}"
    );
    assert!(matrix_md::render(&m).contains("⚠️ flaky: passed on attempt 2"));
    assert!(matrix_html::render(&m).contains("⚠ flaky"));
}

/// A report is written beside and renamed over the old one: a reader that opened the old report
/// reads all of it, never a truncated or half-written file, and nothing is left beside it.
#[test]
fn a_report_is_replaced_atomically() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(JSON_FILE);
    let old = "{\"old\": true}".repeat(1000);
    std::fs::write(&path, &old).unwrap();
    let mut reader = std::fs::File::open(&path).unwrap();
    super::write_file(&path, b"{\"new\": true}").unwrap();
    let mut seen = String::new();
    reader.read_to_string(&mut seen).unwrap();
    assert_eq!(seen, old, "the reader of the old report saw it change under it");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"new\": true}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [std::ffi::OsString::from(JSON_FILE)], "something was left beside the report");
}

#[test]
fn the_timing_line_sets_the_wall_time_against_the_longest_scenario_that_ran() {
    let record = sample();
    assert_eq!(
        record.timing().as_deref(),
        Some("wall time 65.2 s; its longest inherent wait, the longest scenario: 2.5 s (features/networking.feature:15 Exec output is captured)")
    );
    let mut none_ran = sample();
    none_ran.scenarios.iter_mut().for_each(|s| s.status = Status::Skipped);
    assert_eq!(none_ran.timing(), None);
}
