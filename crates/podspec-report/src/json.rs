//! The JSON report (`report.json`): the [`RunRecord`] as pretty JSON, read
//! back by [`read`].

use std::path::Path;

use super::{write_file, ReportError, RunRecord};

/// The record as pretty JSON, ending with a newline.
pub fn to_string(record: &RunRecord) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(record)?;
    text.push('\n');
    Ok(text)
}

/// Writes the record to `path` as pretty JSON.
pub fn write(record: &RunRecord, path: impl AsRef<Path>) -> Result<(), ReportError> {
    let path = path.as_ref();
    let text = to_string(record).map_err(|source| ReportError::JsonEncode { path: path.to_path_buf(), source })?;
    write_file(path, text.as_bytes())
}

/// Reads a record written by [`write`]. The summary is taken as stored.
pub fn read(path: impl AsRef<Path>) -> Result<RunRecord, ReportError> {
    let path = path.as_ref();
    let text = podspec_fs::read_regular(path).map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text).map_err(|source| ReportError::JsonDecode { path: path.to_path_buf(), source })
}
