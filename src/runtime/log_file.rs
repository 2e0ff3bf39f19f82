//! Reading a container's log file, whatever its format: the whole file or only its last bytes.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use super::cri::{RuntimeError, RuntimeResult};

/// The bytes of the log file at `path` from where reading began, and that offset: with
/// `tail_bytes`, only its last that many bytes. A file that is not there yet (the container has
/// written nothing) reads as empty. `operation` names the read in an error.
pub fn read_tail(path: &Path, tail_bytes: Option<u64>, operation: impl Fn() -> String) -> RuntimeResult<(Vec<u8>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(RuntimeError::io(operation(), e)),
    };
    let len = f.metadata().map_err(|e| RuntimeError::io(operation(), e))?.len();
    let start = tail_bytes.map_or(0, |n| len.saturating_sub(n));
    f.seek(SeekFrom::Start(start)).map_err(|e| RuntimeError::io(operation(), e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).map_err(|e| RuntimeError::io(operation(), e))?;
    Ok((buf, start))
}
