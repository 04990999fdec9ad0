//! Files of folders Archlens does not own (OCI layouts) and of its own (the cache, settings):
//! reads that take only regular files, never block on a FIFO and stop at a cap, and writes
//! that never follow a planted link. Every read of a layout folder and every whole-file write
//! goes through here.
//!
//! Writes go to a temporary file with an unpredictable name, created exclusively (`O_EXCL`,
//! which follows no link, as `tempfile` does), then renamed over the target (a rename replaces
//! a link, it does not write through it).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Open `path` for reading if it is a regular file. A link as its last component is refused
/// (`O_NOFOLLOW`), and a FIFO or a device is refused without blocking (`O_NONBLOCK`, then the
/// file's own type).
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is a symbolic link, which is not followed here", path.display()))
        } else {
            e
        }
    })?;
    let kind = f.metadata()?.file_type();
    if !kind.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a regular file ({}), so it is not read", path.display(), describe(&kind)),
        ));
    }
    Ok(f)
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a directory" } else { "not a file" }
}

/// `path` inside the folder `root`: links below the root may be followed while they stay in
/// it; one that leads out is refused. Returns the path to open (links resolved).
pub fn inside(root: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let real_root = root.canonicalize()?;
    let real = path.canonicalize()?;
    if !real.starts_with(&real_root) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} leads out of {} (to {}), so it is not read", path.display(), root.display(), real.display()),
        ));
    }
    Ok(real)
}

/// Read the regular file `path` of the folder `root` whole, refusing more than `cap` bytes.
pub fn read_in(root: &Path, path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let f = open_regular(&inside(root, path)?)?;
    read_capped(f, path, cap)
}

/// Read a file whole, refusing more than `cap` bytes.
pub fn read_capped(f: File, path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    f.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} is larger than the {cap} bytes read of it", path.display())));
    }
    Ok(bytes)
}

/// Hold an exclusive lock on `path` (created if missing) until the returned file is dropped:
/// another process asking for it waits. Blocking: call it off the async threads.
pub fn lock_exclusive(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
    f.lock()?;
    Ok(f)
}

/// Hold an exclusive lock on the folder `dir` itself (created if missing) until the returned
/// handle is dropped: writers of one folder take turns. Blocking.
pub fn lock_folder(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let f = File::open(dir)?;
    f.lock()?;
    Ok(f)
}

/// A new file beside `path` with an unpredictable name, created exclusively (no link at its
/// name is followed); it removes itself unless [`persist`]ed.
pub fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let make = || tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".archlens.tmp").tempfile_in(dir);
    match make() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            make()
        }
        other => other,
    }
}

/// Give a temporary file its final name (a rename: a link at `path` is replaced, not followed).
pub fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

/// Write `bytes` to `path` by a temporary name and a rename, creating the folder if needed.
/// With `sync`, the bytes are on disk before the rename (what a tag move relies on); without,
/// a crash may leave the old file or none, never a torn one under the final name.
pub fn write_by_rename(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let mut tmp = temp_beside(path)?;
    tmp.write_all(bytes)?;
    if sync {
        tmp.as_file().sync_all()?;
    }
    persist(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_take_only_regular_files_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a"), b"hello").unwrap();
        assert_eq!(read_in(root, &root.join("a"), 10).unwrap(), b"hello");
        assert!(read_in(root, &root.join("a"), 3).unwrap_err().to_string().contains("larger than"));
        // A link inside the folder is fine; one leading out, or to a device, is not.
        std::os::unix::fs::symlink("a", root.join("in")).unwrap();
        assert_eq!(read_in(root, &root.join("in"), 10).unwrap(), b"hello");
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        assert!(read_in(root, &root.join("zero"), 10).unwrap_err().to_string().contains("leads out"));
        assert!(open_regular(&root.join("zero")).unwrap_err().to_string().contains("symbolic link"));
        assert!(open_regular(Path::new("/dev/zero")).unwrap_err().to_string().contains("device"));
        // A FIFO is refused at once, not waited on.
        let fifo = root.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path of a folder this test owns.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_in(root, &fifo, 10).unwrap_err().to_string().contains("FIFO"));
    }

    #[test]
    fn writes_never_follow_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        // A link planted at the target's name is replaced, not written through.
        let target = dir.path().join("index.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_by_rename(&target, b"{}", true).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(std::fs::read(&target).unwrap(), b"{}");
        assert!(!std::fs::symlink_metadata(&target).unwrap().file_type().is_symlink());
        // Temporary names cannot be guessed: two writes use two names, and none is left.
        write_by_rename(&target, b"{1}", false).unwrap();
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }
}
