//! The JUnit report (`junit.xml`), written with the `junit-report` crate.
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

use std::path::Path;

use junit_report::{Duration, OffsetDateTime, Report, TestCase, TestCaseBuilder, TestResult, TestSuiteBuilder};

use super::{one_line, visible_chars, write_file, Failure, ReportError, RunRecord, ScenarioRecord, Status};

/// `type` of the `<failure>` element of a failed scenario.
pub const FAILURE_TYPE: &str = "StepFailed";
/// `type` of the `<skipped>` element of a skipped scenario.
pub const SKIPPED_TYPE: &str = "skipped";

/// Builds the JUnit report of a run.
pub fn report(record: &RunRecord) -> Report {
    let timestamp = to_offset_date_time(record.started);
    let mut report = Report::new();
    for feature in record.features() {
        let mut suite = TestSuiteBuilder::new(&xml_text(feature.name));
        suite.set_timestamp(timestamp);
        for scenario in &feature.scenarios {
            suite.add_testcase(testcase(record, scenario));
        }
        report.add_testsuite(suite.build());
    }
    report
}

/// The JUnit XML of a run, ending with a newline.
pub fn to_string(record: &RunRecord) -> Result<String, junit_report::Error> {
    let mut out = Vec::new();
    report(record).write_xml(&mut out)?;
    // The writer only emits the `&str`s it was given, so this is UTF-8.
    let mut xml = String::from_utf8_lossy(&out).into_owned();
    if record.scenarios.iter().any(|s| !s.attempts.is_empty()) {
        xml = with_attempts(&xml, record).map_err(|e| junit_report::Error::Io(std::io::Error::other(e.to_string())))?;
    }
    if let Some(reruns) = &record.reruns {
        xml = with_property(&xml, "reruns", &reruns.to_string())
            .map_err(|e| junit_report::Error::Io(std::io::Error::other(e.to_string())))?;
    }
    xml.push('\n');
    Ok(xml)
}

/// `xml` with `<properties><property name=.. value=../></properties>` first in each
/// `<testsuite>` (`junit-report` writes no properties).
fn with_property(xml: &str, name: &str, value: &str) -> Result<String, quick_xml::Error> {
    use quick_xml::events::{BytesEnd, BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let properties = |writer: &mut quick_xml::Writer<Vec<u8>>| -> Result<(), quick_xml::Error> {
        writer.write_event(Event::Start(BytesStart::new("properties")))?;
        let value = xml_text(value);
        let property = BytesStart::new("property").with_attributes([("name", name), ("value", value.as_str())]);
        writer.write_event(Event::Empty(property))?;
        writer.write_event(Event::End(BytesEnd::new("properties")))?;
        Ok(())
    };
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Start(e))?;
                properties(&mut writer)?;
            }
            Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Start(e))?;
                properties(&mut writer)?;
                writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
            }
            e => writer.write_event(e)?,
        }
    }
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

/// `xml` (as `junit-report` wrote it, which knows no reruns) with each retried attempt's
/// failure added to its testcase: testcases come in the order of `record.features()`.
fn with_attempts(xml: &str, record: &RunRecord) -> Result<String, quick_xml::Error> {
    use quick_xml::events::{BytesEnd, Event};
    let order: Vec<&ScenarioRecord> = record.features().into_iter().flat_map(|f| f.scenarios).collect();
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut next = 0;
    let mut current: Option<&ScenarioRecord> = None;
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let scenario = order.get(next).copied();
                next += 1;
                match scenario.filter(|s| !s.attempts.is_empty()) {
                    Some(s) => {
                        writer.write_event(Event::Start(e))?;
                        write_attempts(&mut writer, s)?;
                        writer.write_event(Event::End(BytesEnd::new("testcase")))?;
                    }
                    None => writer.write_event(Event::Empty(e))?,
                }
            }
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                current = order.get(next).copied();
                next += 1;
                writer.write_event(Event::Start(e))?;
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => {
                if let Some(s) = current.take() {
                    write_attempts(&mut writer, s)?;
                }
                writer.write_event(Event::End(e))?;
            }
            other => writer.write_event(other)?,
        }
    }
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

/// One `<flakyFailure>` (the scenario passed at last) or `<rerunFailure>` (it never passed) per
/// failed attempt.
fn write_attempts(writer: &mut quick_xml::Writer<Vec<u8>>, scenario: &ScenarioRecord) -> std::io::Result<()> {
    use quick_xml::events::BytesText;
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

fn testcase(record: &RunRecord, scenario: &ScenarioRecord) -> TestCase {
    let name = xml_text(&scenario.name);
    let time = Duration::milliseconds(i64::try_from(scenario.duration_ms).unwrap_or(i64::MAX));
    let mut builder = match scenario.status {
        // A flaky scenario's failed attempts are added by `with_attempts`.
        Status::Passed | Status::Flaky => TestCaseBuilder::success(&name, time),
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
            let mut builder = TestCaseBuilder::failure(&name, time, FAILURE_TYPE, &xml_text(&message));
            builder.set_trace(&cdata(&text));
            builder
        }
        Status::Skipped => match scenario.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(reason) => {
                let mut builder = TestCaseBuilder::skipped_with_cause(&name, SKIPPED_TYPE, &xml_text(&one_line(reason)));
                // `set_trace` ignores skipped cases; the result's fields are public.
                if let TestResult::SkippedWithCause { cause, .. } = &mut builder.testcase.result {
                    if reason.trim().contains('\n') {
                        *cause = Some(cdata(reason.trim()));
                    }
                }
                builder
            }
            None => TestCaseBuilder::skipped(&name),
        },
    };
    builder.set_classname(&xml_text(&scenario.feature)).set_filepath(&xml_text(&scenario.feature_path));
    let mut testcase = builder.build();
    // The crate gives skipped cases a zero time; keep what was measured.
    testcase.time = time;
    testcase
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

/// The run's start time as the `time` crate's type used by `junit-report`.
fn to_offset_date_time(at: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.timestamp())
        .map(|t| t + Duration::nanoseconds(i64::from(at.timestamp_subsec_nanos())))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::{cdata, xml_text};

    #[test]
    fn control_characters_are_made_visible() {
        assert_eq!(xml_text("a\u{1b}[31mb\tc\n"), "a\\u{1b}[31mb\tc\n");
    }

    #[test]
    fn cdata_end_is_split() {
        assert_eq!(cdata("a]]>b"), "a]]]]><![CDATA[>b");
    }
}
