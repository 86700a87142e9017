//! Reading a whole file with a bound: what every file pummel reads goes
//! through — scenario, data and body files in the engine, result files in
//! the reports — so that none of them can read forever (`/dev/zero`), block
//! (a FIFO) or fill memory (a huge file).

/// Largest result file the reports read: a day-long run's timeline is a
/// few tens of MiB; more is not a result pummel wrote.
pub const MAX_RESULT_BYTES: u64 = 256 << 20;

/// A file that [`read_file`] would not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A FIFO, a device, a directory or a socket: it may never end (a FIFO
    /// blocks until a writer comes, `/dev/zero` never runs out).
    #[error("not a regular file (it is {0}); give the path of a file")]
    NotAFile(&'static str),
    #[error("the file is larger than {} MiB", .0 >> 20)]
    TooLarge(u64),
}

/// Reads a whole regular file of at most `max` bytes.
///
/// The type is checked before the file is opened, since opening a FIFO for
/// reading blocks until someone writes to it. The size is enforced on the
/// bytes actually read, not on the size the file reports: a file under
/// `/proc`, or one that grows while it is read, reports a size that does
/// not bound what a read returns.
pub fn read_file(path: &std::path::Path, max: u64) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let kind = |m: &std::fs::Metadata| -> Result<(), FileError> {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        let what = if t.is_file() {
            return Ok(());
        } else if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        Err(FileError::NotAFile(what))
    };
    kind(&std::fs::metadata(path)?)?;
    let file = std::fs::File::open(path)?;
    // Swapped for something else between the check and the open?
    kind(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge(max));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_and_blocking_files_are_refused_at_once() {
        let zero = read_file(std::path::Path::new("/dev/zero"), 1 << 20);
        assert!(
            matches!(zero, Err(FileError::NotAFile("a device"))),
            "{zero:?}"
        );
        let dir = std::env::temp_dir().join(format!("pummel-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Opening this FIFO for reading would block forever: no writer.
        let read = read_file(&fifo, 1 << 20);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            matches!(read, Err(FileError::NotAFile("a FIFO"))),
            "{read:?}"
        );
    }

    #[test]
    fn size_is_counted_in_bytes_read() {
        let dir = std::env::temp_dir().join(format!("pummel-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, [7u8; 100]).unwrap();
        assert_eq!(read_file(&path, 100).unwrap().len(), 100);
        assert!(matches!(read_file(&path, 99), Err(FileError::TooLarge(99))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
