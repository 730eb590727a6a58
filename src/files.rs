//! Files written as users expect: a regular file (or a new one) atomically — a temporary file
//! in the same directory, synced, then persisted over the target, so a reader never sees half
//! of it and a failure leaves the old file as it was; a symbolic link written through (its
//! target replaced, the link kept); a device or a pipe (`/dev/stdout`, a FIFO) written
//! directly; `-` standard output. A failed write is an error naming the path.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A write that failed, with the path it was for.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes what `fill` writes to `path` (see the module's rules).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let fail = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    if path == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        fill(&mut lock).and_then(|()| lock.flush()).map_err(fail)?;
        return Ok(());
    }
    // Through a symbolic link to what it names (a dangling link to the file it would create).
    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) => match std::fs::read_link(path) {
            Ok(to) => path.parent().unwrap_or(Path::new(".")).join(to),
            Err(_) => path.to_owned(),
        },
    };
    if let Ok(meta) = std::fs::metadata(&target)
        && !meta.is_file()
    {
        if meta.is_dir() {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory",
            )));
        }
        // A device or a pipe: written in place, there is nothing to rename over.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .map_err(fail)?;
        fill(&mut file).and_then(|()| file.flush()).map_err(fail)?;
        return Ok(());
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".firehose-sse-")
        .tempfile_in(dir)
        .map_err(fail)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).and_then(|()| w.flush()).map_err(fail)?;
    }
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(&target).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` (see [`write_with`]).
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        // Nothing left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_device_is_written_in_place_and_a_full_one_is_an_error() {
        use std::os::unix::fs::FileTypeExt as _;
        write(Path::new("/dev/null"), b"x").unwrap();
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let err = write(Path::new("/dev/full"), b"x").unwrap_err();
        assert!(
            err.to_string().starts_with("cannot write /dev/full"),
            "{err}"
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }
}
