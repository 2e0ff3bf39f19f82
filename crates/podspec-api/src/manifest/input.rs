//! Outside input, bounded before it is parsed: a file is read only once it is known to be a
//! regular file (a FIFO or a device named as a fixture, a manifest, a baseline or a report is
//! refused at once, never opened for a read that could block), and YAML or JSON is refused
//! when it nests deeper than Kubernetes' own decoders accept, found by one linear scan of the
//! bytes before any parser builds anything.
//!
//! The depth: sigs.k8s.io/yaml reads YAML with go-yaml, whose scanner refuses a flow level or
//! an indentation stack above 10000 (`max_flow_level` and `max_indents` in go-yaml's
//! `scannerc.go`, "exceeded max depth of 10000", the fix of CVE-2019-11254); JSON goes through
//! sigs.k8s.io/json, a fork of Go's encoding/json, whose scanner refuses nesting above its
//! `maxNestingDepth` of 10000 ("exceeded max depth"). The YAML parser podspec uses takes time
//! quadratic in the depth before it refuses anything, so the scan comes first.

pub use podspec_fs::{check_regular, kind_of, read_regular, read_regular_file};

/// The deepest nesting Kubernetes' YAML and JSON decoders accept.
pub const MAX_DEPTH: usize = 10_000;

/// Nesting deeper than [`MAX_DEPTH`]: the line (1-based, in the text scanned) where it went
/// past the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "nesting deeper than {MAX_DEPTH} levels; refused before parsing (Kubernetes' YAML and JSON decoders refuse it: exceeded max depth of {MAX_DEPTH})"
        )
    }
}

impl std::error::Error for TooDeep {}

/// Checks, in one pass over the bytes, that YAML (JSON included) nests no deeper than
/// [`MAX_DEPTH`], counted as go-yaml counts: flow collections (`[`, `{`) open outside quoted
/// scalars and comments, and apart from them the block collections open (a mapping at its
/// keys' column, a sequence at its `- `'s, compact ones on one line too). The text of block
/// scalars (`|`, `>`) is skipped. Its time is linear in the input.
pub fn check_depth(text: impl AsRef<[u8]>) -> Result<(), TooDeep> {
    let bytes = text.as_ref();
    // Columns of the open block levels.
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    // Inside a quoted scalar (which may span lines): its quote.
    let mut quote: Option<u8> = None;
    // A block scalar's text: lines indented deeper than this column belong to it.
    let mut block_scalar: Option<usize> = None;
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = n + 1;
        let col = line.iter().take_while(|&&b| b == b' ').count();
        let rest = &line[col..];
        let blank = rest.iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || col > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut i = col;
        // Where a block mapping on this line would start (after any `- ` and `? `).
        let mut key_start = col;
        if quote.is_none() && flow == 0 {
            if blank || rest.first() == Some(&b'#') {
                continue;
            }
            while indents.last().is_some_and(|&c| c > col) {
                indents.pop();
            }
            // Block sequences (and complex keys), compact on one line too: `- - - x`.
            while i + 1 < line.len() && matches!(line[i], b'-' | b'?') && matches!(line[i + 1], b' ' | b'\t') {
                open_block(&mut indents, i, line_no)?;
                i += 2;
                while i < line.len() && matches!(line[i], b' ' | b'\t') {
                    i += 1;
                }
            }
            key_start = i;
        }
        // Whether a flow collection or a quoted scalar may start here (a value's start).
        let mut at_value_start = true;
        while i < line.len() {
            let b = line[i];
            if let Some(q) = quote {
                if q == b'"' && b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q {
                    if q == b'\'' && line.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    quote = None;
                    at_value_start = false;
                }
                i += 1;
                continue;
            }
            match b {
                b'#' if i == 0 || matches!(line[i - 1], b' ' | b'\t') => break,
                b'"' | b'\'' if at_value_start => quote = Some(b),
                b'[' | b'{' if at_value_start || flow > 0 => {
                    flow += 1;
                    if flow > MAX_DEPTH {
                        return Err(TooDeep { line: line_no });
                    }
                    at_value_start = true;
                }
                b']' | b'}' if flow > 0 => {
                    flow -= 1;
                    at_value_start = false;
                }
                b',' if flow > 0 => at_value_start = true,
                b':' | b'-' | b'?' if line.get(i + 1).is_none_or(|c| matches!(c, b' ' | b'\t' | b'\r')) => {
                    // A block mapping's key ends here: the mapping is a level at its column.
                    if b == b':' && flow == 0 {
                        open_block(&mut indents, key_start, line_no)?;
                    }
                    at_value_start = true;
                }
                b':' if flow > 0 => at_value_start = true,
                b'|' | b'>' if at_value_start && flow == 0 => {
                    // A block scalar: its text is the lines indented deeper than this one.
                    block_scalar = Some(col);
                    break;
                }
                b' ' | b'\t' | b'\r' => {}
                // An anchor, alias or tag before a value leaves it a value's start.
                b'&' | b'!' | b'*' if at_value_start => {
                    while i < line.len() && !matches!(line[i], b' ' | b'\t') {
                        i += 1;
                    }
                    continue;
                }
                _ => at_value_start = false,
            }
            i += 1;
        }
    }
    Ok(())
}

/// Why a body from outside was refused: nested too deep, or not the YAML (or JSON) asked for.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Nesting deeper than Kubernetes' decoders accept, at its line.
    #[error("line {line}: {0}", line = .0.line)]
    TooDeep(#[from] TooDeep),
    /// YAML (or JSON) that does not parse as the type asked for.
    #[error(transparent)]
    Yaml(#[from] serde_yaml::Error),
}

/// Parses YAML (or JSON) from outside, such as a request's body, once its nesting is known to
/// be no deeper than Kubernetes accepts ([`check_depth`]); the one way serve reads YAML.
pub fn yaml_from_slice<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    check_depth(body)?;
    Ok(match std::str::from_utf8(body) {
        // Octal integers as Kubernetes reads YAML (1.1): `defaultMode: 0400` is 256.
        Ok(text) => serde_yaml::from_str(&super::yaml11::octals_as_kubernetes_reads_them(text))?,
        Err(_) => serde_yaml::from_slice(body)?,
    })
}

/// A block collection at column `col`: a level, unless it continues the one open there.
fn open_block(indents: &mut Vec<usize>, col: usize, line: usize) -> Result<(), TooDeep> {
    if indents.last() != Some(&col) {
        indents.push(col);
    }
    if indents.len() > MAX_DEPTH {
        return Err(TooDeep { line });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn nesting_up_to_kubernetes_limit_passes_and_deeper_is_refused_at_its_line() {
        check_depth(flow(MAX_DEPTH)).unwrap();
        assert_eq!(check_depth(flow(MAX_DEPTH + 1)), Err(TooDeep { line: 1 }));
        let json = format!("{{\"a\":\n{}1{}}}", "{\"a\":".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        assert_eq!(check_depth(&json), Err(TooDeep { line: 2 }));
        // Block sequences, compact on one line and indented on many.
        check_depth(format!("x:\n{}1\n", "- ".repeat(MAX_DEPTH - 1))).unwrap();
        assert_eq!(check_depth(format!("x: 1\ny:\n{}1\n", "- ".repeat(MAX_DEPTH + 1))), Err(TooDeep { line: 3 }));
        let block: String = (0..MAX_DEPTH + 1).map(|d| format!("{}k:\n", " ".repeat(d))).collect();
        assert_eq!(check_depth(&block), Err(TooDeep { line: MAX_DEPTH + 1 }));
    }

    #[test]
    fn brackets_in_quotes_comments_block_scalars_and_plain_text_are_not_nesting() {
        let many = "[".repeat(MAX_DEPTH + 5);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: x # {many}\n"),
            format!("a: |\n  {many}\n  more\nb: 1\n"),
            format!("a: >-\n    {many}\nb: 1\n"),
            format!("a: echo {many}\n"),
            format!("a: [\"{many}\", '{many}']\n"),
            format!("a: \"it's \\\" {many}\"\n"),
        ] {
            check_depth(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        }
    }

    #[test]
    fn the_scan_is_linear() {
        // 100k levels each way: refused at once (a parser takes tens of seconds on them).
        let started = std::time::Instant::now();
        for text in [flow(100_000), format!("{}1", "- ".repeat(100_000)), "{\"a\":".repeat(100_000)] {
            assert!(check_depth(&text).is_err());
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "{:?}", started.elapsed());
    }
}
