//! Reading the files podspec is given (a fixture, a manifest, a baseline, a report): a file is
//! read only once it is known to be a regular file, so that a FIFO or a device named as one is
//! refused at once, never opened for a read that could block.

#![forbid(unsafe_code)]

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Reads a whole file podspec was given, once it is known to be a regular file: opened without
/// blocking (`O_NONBLOCK`, so a FIFO with no writer does not hold the open), then checked by
/// `fstat` on what was opened, so nothing can be swapped in between. A FIFO, a device, a socket
/// or a directory is refused; the error names the path.
pub fn read_regular_file(path: &Path) -> Result<String, String> {
    read_regular(path).map_err(|e| format!("{}: {}", path.display(), describe(&e)))
}

/// As [`read_regular_file`], with the error as an I/O error that does not name the path
/// (for callers whose errors name it).
pub fn read_regular(path: &Path) -> std::io::Result<String> {
    let mut file = open_regular(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Fails, without blocking, unless `path` is a regular file (links followed).
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    open_regular(path).map(drop)
}

fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({}); refused", kind_of(&meta.file_type())),
        ));
    }
    Ok(file)
}

/// An I/O error in words: a refusal as it is, anything else as "cannot read: ...".
fn describe(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        e.to_string()
    } else {
        format!("cannot read: {e}")
    }
}

/// What a file that is not a regular one is, in words.
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pod.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = read_regular_file(&fifo).unwrap_err();
        assert!(e.ends_with("pod.yaml: not a regular file (a FIFO); refused"), "{e}");
        assert!(read_regular_file(Path::new("/dev/zero")).unwrap_err().contains("(a device)"));
        assert!(read_regular_file(dir.path()).unwrap_err().contains("(a directory)"));
        std::fs::write(dir.path().join("ok.yaml"), "a: 1\n").unwrap();
        assert_eq!(read_regular_file(&dir.path().join("ok.yaml")).unwrap(), "a: 1\n");
    }
}
