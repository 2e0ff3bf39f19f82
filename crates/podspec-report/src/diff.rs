//! Unified diffs of expected against actual values.

use similar::TextDiff;

/// Header of the expected side (`--- expected`).
pub const EXPECTED_HEADER: &str = "expected";
/// Header of the actual side (`+++ actual`).
pub const ACTUAL_HEADER: &str = "actual";
/// Lines of context around each change.
pub const CONTEXT_RADIUS: usize = 3;

/// A line-based unified diff from `expected` to `actual`, with headers
/// `--- expected` / `+++ actual` and 3 lines of context. Empty when they are equal.
///
/// Values are usually short and lack a final newline (`"hello"`); when neither
/// side ends with one, a newline is added to both so the diff reads
/// `-hello` / `+goodbye` rather than carrying `\ No newline at end of file`
/// markers. When only one side ends with a newline, that difference is real and
/// is kept, so the marker shows it.
pub fn unified(expected: &str, actual: &str) -> String {
    if expected == actual {
        return String::new();
    }
    let (expected, actual) = if expected.ends_with('\n') || actual.ends_with('\n') {
        (expected.to_owned(), actual.to_owned())
    } else {
        (terminate(expected), terminate(actual))
    };
    TextDiff::from_lines(expected.as_str(), actual.as_str())
        .unified_diff()
        .context_radius(CONTEXT_RADIUS)
        .header(EXPECTED_HEADER, ACTUAL_HEADER)
        .to_string()
}

/// `text` with a final newline, unless it is empty.
fn terminate(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn single_values_without_newline() {
        assert_eq!(unified("hello", "goodbye"), "--- expected\n+++ actual\n@@ -1 +1 @@\n-hello\n+goodbye\n");
    }

    #[test]
    fn equal_values_give_no_diff() {
        assert_eq!(unified("same", "same"), "");
        assert_eq!(unified("", ""), "");
    }

    #[test]
    fn empty_side_has_no_phantom_line() {
        assert_eq!(unified("", "goodbye"), "--- expected\n+++ actual\n@@ -0,0 +1 @@\n+goodbye\n");
    }

    #[test]
    fn missing_final_newline_on_one_side_is_shown() {
        let diff = unified("hello\n", "hello");
        assert!(diff.contains("\\ No newline at end of file"), "{diff}");
    }

    #[test]
    fn context_radius_is_three() {
        let expected = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let actual = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        let diff = unified(expected, actual);
        assert!(diff.contains("@@ -2,7 +2,7 @@"), "{diff}");
        assert!(!diff.contains(" 1\n"), "{diff}");
        assert!(!diff.contains(" 9\n"), "{diff}");
    }
}
