//! Content-addressed on-disk cache. Entries are named by digest and verified on read, so
//! they are valid forever and a damaged file is dropped rather than used.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::digest::Digest;

use super::error::RegistryError;

/// The largest entry read back (manifests and configs are capped below this when fetched).
const MAX_ENTRY: u64 = 64 << 20;

/// What a cache file holds.
enum Kept {
    Bytes(Vec<u8>),
    Missing,
    /// Not a regular file of a sane size (a FIFO, a device, a link, an oversized file): never
    /// opened, so it can neither hang nor flood a read.
    Unfit,
}

/// The bytes kept at `path`: waiting for the writer, or a regular file of at most [`MAX_ENTRY`].
/// Entries are small (manifests, configs, listings): read inline, not on a blocking thread.
fn read_kept(path: &Path) -> Kept {
    if let Some(b) = writer().pending(path) {
        return Kept::Bytes(b.to_vec());
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Kept::Missing };
    if !meta.is_file() || meta.len() > MAX_ENTRY {
        return Kept::Unfit;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    let read = std::fs::File::open(path).and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_ENTRY + 1), &mut bytes));
    if read.is_ok() { Kept::Bytes(bytes) } else { Kept::Missing }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: Arc<PathBuf>,
}

impl Cache {
    /// `$ARCHLENS_CACHE_DIR`, else the platform cache dir (`~/.cache/archlens` on Linux).
    pub fn default_location() -> Option<Cache> {
        if let Ok(dir) = std::env::var("ARCHLENS_CACHE_DIR")
            && !dir.is_empty()
        {
            return Some(Cache::at(dir));
        }
        directories::ProjectDirs::from("dev", "archlens", "archlens").map(|d| Cache::at(d.cache_dir()))
    }

    pub fn at(root: impl AsRef<Path>) -> Cache {
        Cache { root: Arc::new(root.as_ref().to_path_buf()) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(root: &Path, digest: &Digest) -> PathBuf {
        root.join("blobs").join(digest.algorithm()).join(digest.encoded())
    }

    /// The verified bytes for `digest`, if cached. A file that does not hash to its name is
    /// removed.
    pub async fn get(&self, digest: &Digest) -> Option<Vec<u8>> {
        if !digest.is_verifiable() {
            return None;
        }
        let path = Cache::path(&self.root, digest);
        let bytes = match read_kept(&path) {
            Kept::Bytes(b) => b,
            Kept::Missing => return None,
            Kept::Unfit => {
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        if digest.verify(&bytes).is_ok() {
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    /// Whether an entry for `digest` is there (pending or written), without reading it: the
    /// read that uses it verifies it.
    pub fn contains(&self, digest: &Digest) -> bool {
        let path = Cache::path(&self.root, digest);
        writer().pending(&path).is_some() || std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_ENTRY)
    }

    fn hint_path(&self, key: &str) -> PathBuf {
        self.root.join("tags").join(Digest::sha256(key.as_bytes()).encoded())
    }

    /// The digest `key` (a store, repository and tag) resolved to last time, if noted. Only a
    /// hint: it decides whether a tag is checked with `HEAD`; what is used is what the
    /// registry answers, and bytes come from the cache only by their digest.
    pub async fn hint(&self, key: &str) -> Option<Digest> {
        let path = self.hint_path(key);
        let bytes = match writer().pending(&path) {
            Some(b) => b.to_vec(),
            None => {
                let meta = std::fs::symlink_metadata(&path).ok()?;
                if !meta.is_file() || meta.len() > 200 {
                    return None;
                }
                std::fs::read(&path).ok()?
            }
        };
        Digest::parse(std::str::from_utf8(&bytes).ok()?.trim()).ok()
    }

    /// Note what `key` resolved to (see [`Cache::hint`]).
    pub async fn set_hint(&self, key: &str, digest: &Digest) {
        writer().queue(self.hint_path(key), Arc::new(digest.as_str().as_bytes().to_vec()));
    }

    fn derived_path(&self, kind: &str, digest: &Digest) -> PathBuf {
        self.root.join(kind).join(digest.algorithm()).join(digest.encoded())
    }

    /// What was once worked out from the verified blob `digest` (a layer's file listing, under
    /// `kind`), if kept. It cannot be checked against the blob without reading the blob, so
    /// it is only as trusted as the user's own cache folder; `kind` names its format.
    pub async fn derived(&self, kind: &str, digest: &Digest) -> Option<Vec<u8>> {
        match read_kept(&self.derived_path(kind, digest)) {
            Kept::Bytes(b) => Some(b),
            Kept::Missing | Kept::Unfit => None,
        }
    }

    /// Keep what was worked out from the blob `digest` (see [`Cache::derived`]).
    pub async fn put_derived(&self, kind: &str, digest: &Digest, bytes: &[u8]) {
        if digest.is_verifiable() && bytes.len() as u64 <= MAX_ENTRY {
            writer().queue(self.derived_path(kind, digest), Arc::new(bytes.to_vec()));
        }
    }

    fn page_path(&self, key: &str) -> PathBuf {
        self.root.join("pages").join(Digest::sha256(key.as_bytes()).encoded())
    }

    /// A page of an API answer kept under `key` (Docker Hub's tag pages), and its age. Pages are
    /// not content-addressed: the caller decides how old is too old, and says the age.
    pub async fn page(&self, key: &str) -> Option<(Vec<u8>, std::time::Duration)> {
        let path = self.page_path(key);
        if let Some(b) = writer().pending(&path) {
            return Some((b.to_vec(), std::time::Duration::ZERO));
        }
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.is_file() || meta.len() > MAX_ENTRY {
            return None;
        }
        let age = meta.modified().ok()?.elapsed().unwrap_or_default();
        Some((std::fs::read(&path).ok()?, age))
    }

    /// Keep an API page under `key` (see [`Cache::page`]).
    pub async fn put_page(&self, key: &str, bytes: &[u8]) {
        writer().queue(self.page_path(key), Arc::new(bytes.to_vec()));
    }

    /// Store bytes already verified against `digest`. The write happens on a writer thread,
    /// off the request path (reads are verified, so an entry needs no durability: a torn file
    /// is a miss); until written, [`Cache::get`] answers from memory. [`flush_writes`] waits.
    pub async fn put(&self, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        if !digest.is_verifiable() {
            return Ok(());
        }
        let path = Cache::path(&self.root, digest);
        writer().queue(path, Arc::new(bytes.to_vec()));
        Ok(())
    }
}

/// The process's cache writer: a thread that takes entries from a queue and writes them.
struct Writer {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<(PathBuf, Arc<Vec<u8>>)>>,
    /// Entries queued and not written yet, readable meanwhile.
    pending: Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<Vec<u8>>>>>,
}

impl Writer {
    fn queue(&self, path: PathBuf, bytes: Arc<Vec<u8>>) {
        if let Ok(mut p) = self.pending.lock()
            && p.insert(path.clone(), bytes.clone()).is_some()
        {
            return; // already on its way
        }
        let sent = self.tx.lock().map(|tx| tx.send((path.clone(), bytes.clone())).is_ok()).unwrap_or(false);
        if !sent {
            // No writer thread: write here rather than lose the entry.
            let _ = super::files::write_by_rename(&path, &bytes, false);
            if let Ok(mut p) = self.pending.lock() {
                p.remove(&path);
            }
        }
    }

    fn pending(&self, path: &Path) -> Option<Arc<Vec<u8>>> {
        self.pending.lock().ok()?.get(path).cloned()
    }

    fn is_idle(&self) -> bool {
        self.pending.lock().map(|p| p.is_empty()).unwrap_or(true)
    }
}

fn writer() -> &'static Writer {
    static WRITER: std::sync::OnceLock<Writer> = std::sync::OnceLock::new();
    WRITER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, Arc<Vec<u8>>)>();
        let pending: Arc<std::sync::Mutex<std::collections::HashMap<PathBuf, Arc<Vec<u8>>>>> = Arc::default();
        let shared = pending.clone();
        // If the thread cannot start, `queue` writes inline (the send fails once rx is gone).
        let _ = std::thread::Builder::new().name("archlens-cache".into()).spawn(move || {
            for (path, bytes) in rx {
                // A cache that cannot be written only costs speed next time.
                let _ = super::files::write_by_rename(&path, &bytes, false);
                if let Ok(mut p) = shared.lock() {
                    p.remove(&path);
                }
            }
        });
        Writer { tx: std::sync::Mutex::new(tx), pending }
    })
}

/// Wait (up to `limit`) until queued cache entries are on disk; call before the process exits.
pub fn flush_writes(limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while !writer().is_idle() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
