//! Files replaced whole: written under a temporary name beside them, then renamed, so a reader
//! sees the old file or the new one, never a part (the cache, layout folders).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path`, unique in this process and across processes.
pub fn temp_name(path: &Path) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.archlens-{}-{n}.tmp", std::process::id()))
}

/// Write `bytes` to `path` by a temporary name and a rename, creating the folder if needed.
/// With `sync`, the bytes are on disk before the rename (what a tag move relies on); without,
/// a crash may leave the old file or none, never a torn one under the final name.
pub fn write_by_rename(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let tmp = temp_name(path);
    let write = || -> std::io::Result<()> {
        let mut f = match std::fs::File::create(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::File::create(&tmp)?
            }
            other => other?,
        };
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
