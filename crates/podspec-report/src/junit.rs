//! The JUnit report (`junit.xml`), written with `quick-xml`.
//!
//! - one `<testsuite>` per feature, named after the feature, stamped with the
//!   run's start time;
//! - one `<testcase>` per scenario: `name` = scenario, `classname` = feature,
//!   `file` = feature file, `time` = the scenario's duration;
//! - a failed scenario carries `<failure type="StepFailed" message="STEP (line N): MESSAGE">`
//!   whose text holds the step, its location, the whole message and the diff; when the run
//!   was gated and the failure is in the baseline, the message starts with
//!   `known failure: REASON;` and the text with `Known failure (baseline FILE): REASON`;
//! - a skipped scenario carries `<skipped type="skipped" message="REASON"/>`
//!   (the full reason is also the element's text when it spans several lines);
//! - a flaky scenario (failed, then passed on a retry: `--retry`) is a passed testcase that
//!   carries one `<flakyFailure message=".." type="StepFailed">` per failed attempt, with
//!   `<stackTrace>` (the failure's text) and `<system-out>` (which attempt it was), as Maven
//!   Surefire writes its reruns and Jenkins' flaky-test handler reads them; a scenario that
//!   failed on every attempt carries its last failure as `<failure>` and the earlier ones as
//!   `<rerunFailure>` elements of the same form.

use std::io;
use std::path::Path;

use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{one_line, visible_chars, write_file, Failure, ReportError, RunRecord, ScenarioRecord, Status};

/// `type` of the `<failure>` element of a failed scenario.
pub const FAILURE_TYPE: &str = "StepFailed";
/// `type` of the `<skipped>` element of a skipped scenario.
pub const SKIPPED_TYPE: &str = "skipped";

/// The JUnit XML of a run, ending with a newline.
pub fn to_string(record: &RunRecord) -> io::Result<String> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let features = record.features();
    if features.is_empty() {
        writer.write_event(Event::Empty(BytesStart::new("testsuites")))?;
    } else {
        writer.create_element("testsuites").write_inner_content(|w| {
            let timestamp = rfc3339(record.started);
            for (id, feature) in features.iter().enumerate() {
                let name = xml_text(feature.name);
                let failures = feature.scenarios.iter().filter(|s| s.status == Status::Failed).count();
                w.create_element("testsuite")
                    .with_attributes([
                        ("id", id.to_string().as_str()),
                        ("name", name.as_str()),
                        ("package", format!("testsuite/{name}").as_str()),
                        ("tests", feature.scenarios.len().to_string().as_str()),
                        ("errors", "0"),
                        ("failures", failures.to_string().as_str()),
                        ("hostname", "localhost"),
                        ("timestamp", timestamp.as_str()),
                        ("time", seconds(feature.duration_ms()).as_str()),
                    ])
                    .write_inner_content(|w| {
                        if let Some(reruns) = &record.reruns {
                            let value = xml_text(&reruns.to_string());
                            w.create_element("properties").write_inner_content(|w| {
                                w.create_element("property")
                                    .with_attributes([("name", "reruns"), ("value", value.as_str())])
                                    .write_empty()?;
                                Ok(())
                            })?;
                        }
                        for scenario in &feature.scenarios {
                            testcase(w, record, scenario)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    }
    // The writer only emits the `&str`s it was given, so this is UTF-8.
    let mut xml = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    xml.push('\n');
    Ok(xml)
}

/// One `<testcase>`: empty when the scenario passed at once, else with its result's element
/// and its failed attempts.
fn testcase(w: &mut Writer<Vec<u8>>, record: &RunRecord, scenario: &ScenarioRecord) -> io::Result<()> {
    let name = xml_text(&scenario.name);
    let classname = xml_text(&scenario.feature);
    let file = xml_text(&scenario.feature_path);
    let time = seconds(scenario.duration_ms);
    let start = BytesStart::new("testcase").with_attributes([
        ("name", name.as_str()),
        ("time", time.as_str()),
        ("classname", classname.as_str()),
        ("file", file.as_str()),
    ]);
    if matches!(scenario.status, Status::Passed | Status::Flaky) && scenario.attempts.is_empty() {
        return w.write_event(Event::Empty(start));
    }
    w.write_event(Event::Start(start))?;
    match scenario.status {
        Status::Passed | Status::Flaky => {}
        Status::Failed => {
            let (mut message, mut text) = match &scenario.failure {
                Some(failure) => (failure_message(failure), failure_text(scenario, failure)),
                None => {
                    let message =
                        scenario.reason.as_deref().map(one_line).filter(|m| !m.is_empty()).unwrap_or_else(|| "scenario failed".to_owned());
                    let text = format!("Scenario: {}:{}\n\n{}", scenario.feature_path, scenario.line, message);
                    (message, text)
                }
            };
            if let (Some(reason), Some(verdict)) = (record.known_failure(scenario), &record.baseline) {
                message = format!("known failure: {}; {message}", one_line(reason));
                text = format!("Known failure (baseline {}): {}\n\n{text}", verdict.file, reason.trim());
            }
            let message = xml_text(&message);
            w.create_element("failure")
                .with_attributes([("type", FAILURE_TYPE), ("message", message.as_str())])
                .write_inner_content(|w| w.write_event(Event::CData(BytesCData::new(cdata(&text)))))?;
        }
        Status::Skipped => match scenario.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(reason) => {
                let message = xml_text(&one_line(reason));
                let skipped = w.create_element("skipped").with_attributes([("type", SKIPPED_TYPE), ("message", message.as_str())]);
                // The full reason is the element's text when it spans several lines.
                if reason.trim().contains('\n') {
                    skipped.write_inner_content(|w| w.write_event(Event::CData(BytesCData::new(cdata(reason.trim())))))?;
                } else {
                    skipped.write_empty()?;
                }
            }
            None => {
                w.create_element("skipped").write_empty()?;
            }
        },
    }
    write_attempts(w, scenario)?;
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// One `<flakyFailure>` (the scenario passed at last) or `<rerunFailure>` (it never passed) per
/// failed attempt.
fn write_attempts(writer: &mut Writer<Vec<u8>>, scenario: &ScenarioRecord) -> io::Result<()> {
    let element = if scenario.status == Status::Flaky { "flakyFailure" } else { "rerunFailure" };
    let total = scenario.attempts.len() + 1;
    for (i, failure) in scenario.attempts.iter().enumerate() {
        let out = match scenario.status {
            Status::Flaky => format!("Attempt {} of {total} failed; the scenario passed on attempt {total} (--retry).", i + 1),
            _ => format!("Attempt {} of {total} failed; attempt {total} failed too (--retry).", i + 1),
        };
        writer
            .create_element(element)
            .with_attributes([("message", xml_text(&failure_message(failure)).as_str()), ("type", FAILURE_TYPE)])
            .write_inner_content(|w| {
                w.create_element("stackTrace").write_text_content(BytesText::new(&xml_text(&failure_text(scenario, failure))))?;
                w.create_element("system-out").write_text_content(BytesText::new(&out))?;
                Ok(())
            })?;
    }
    Ok(())
}

/// Writes the JUnit XML of a run to `path`.
pub fn write(record: &RunRecord, path: impl AsRef<Path>) -> Result<(), ReportError> {
    let path = path.as_ref();
    let text = to_string(record).map_err(|source| ReportError::Junit { path: path.to_path_buf(), source })?;
    write_file(path, text.as_bytes())
}

/// A duration in seconds, as JUnit's `time` attributes carry it (`1.1`, `0`).
fn seconds(ms: u64) -> String {
    ((ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9).to_string()
}

/// An RFC 3339 timestamp in UTC with the fraction of a second only as long as it needs to be
/// (`2025-01-15T11:00:00Z`, `2025-01-15T11:00:00.25Z`): jiff's own text of a time.
fn rfc3339(at: jiff::Timestamp) -> String {
    at.to_string()
}

/// The `message` attribute: the failing step, its line and the message, on one line.
fn failure_message(failure: &Failure) -> String {
    let message = one_line(&failure.message);
    let mut text = format!("{} (line {})", one_line(&failure.step), failure.step_line);
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(&message);
    }
    text
}

/// The text of the `<failure>` element.
fn failure_text(scenario: &ScenarioRecord, failure: &Failure) -> String {
    let mut text = format!("Step: {}\nAt: {}:{}\n", failure.step, scenario.feature_path, failure.step_line);
    let message = failure.message.trim_end();
    if !message.is_empty() {
        text.push_str("\nMessage:\n");
        text.push_str(message);
        text.push('\n');
    }
    match failure.diff_text() {
        Some(diff) => {
            text.push_str("\nDiff (expected -> actual):\n");
            text.push_str(&diff);
            if !diff.ends_with('\n') {
                text.push('\n');
            }
        }
        None => {
            for (label, value) in [("Expected", &failure.expected), ("Actual", &failure.actual)] {
                if let Some(value) = value {
                    text.push_str(&format!("\n{label}:\n{}\n", value.trim_end_matches('\n')));
                }
            }
        }
    }
    text
}

/// `text` with the characters XML 1.0 cannot carry (most C0 controls, e.g. the
/// ESC of terminal colours) replaced by a visible `\u{..}` escape.
fn xml_text(text: &str) -> String {
    visible_chars(text, |c| matches!(c, '\t' | '\n' | '\r') || matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
}

/// `text` made safe for a CDATA section: XML-safe characters, and every `]]>`
/// split across two sections so the reader gets it back unchanged.
fn cdata(text: &str) -> String {
    xml_text(text).replace("]]>", "]]]]><![CDATA[>")
}

#[cfg(test)]
mod tests {
    use super::{cdata, rfc3339, seconds, xml_text};

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(xml_text("a\u{1b}[31mb\tc\n"), "a\\u{1b}[31mb\tc\n");
    }

    #[test]
    fn times_are_seconds_and_timestamps_keep_only_the_digits_they_need() {
        assert_eq!([seconds(0), seconds(1100), seconds(1), seconds(61_250)], ["0", "1.1", "0.001", "61.25"]);
        let at = jiff::Timestamp::new(1_736_938_800, 250_000_000).unwrap();
        assert_eq!(rfc3339(at), "2025-01-15T11:00:00.25Z");
        assert_eq!(rfc3339(jiff::Timestamp::from_second(1_736_938_800).unwrap()), "2025-01-15T11:00:00Z");
        assert_eq!(rfc3339(jiff::Timestamp::new(1_736_938_800, 123_456_780).unwrap()), "2025-01-15T11:00:00.12345678Z");
    }

    #[test]
    fn cdata_end_is_split() {
        assert_eq!(cdata("a]]>b"), "a]]]]><![CDATA[>b");
    }
}
