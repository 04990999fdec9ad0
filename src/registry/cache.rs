//! Content-addressed on-disk cache. Entries are named by digest and verified on read, so
//! they are valid forever and a damaged file is dropped rather than used.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::digest::Digest;

use super::error::RegistryError;

#[derive(Debug, Clone)]
pub struct Cache {
    root: Arc<PathBuf>,
}

impl Cache {
    /// `$ARCHLENS_CACHE_DIR`, else the platform cache dir (`~/.cache/archlens` on Linux).
    pub fn default_location() -> Option<Cache> {
        if let Ok(dir) = std::env::var("ARCHLENS_CACHE_DIR") {
            if !dir.is_empty() {
                return Some(Cache::at(dir));
            }
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
        // Entries are small (manifests and configs): reading inline costs less than handing
        // each one to a blocking thread.
        let path = Cache::path(&self.root, digest);
        let bytes = std::fs::read(&path).ok()?;
        if digest.verify(&bytes).is_ok() {
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    /// Store bytes already verified against `digest` (write to a temporary name, then rename,
    /// so readers never see a partial file). Small entries, written inline like reads.
    pub async fn put(&self, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        if !digest.is_verifiable() {
            return Ok(());
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = Cache::path(&self.root, digest);
        let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let write = || -> std::io::Result<()> {
            if let Err(e) = std::fs::write(&tmp, bytes) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return Err(e);
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&tmp, bytes)?;
            }
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            RegistryError::Cache { path: path.display().to_string(), detail: e.to_string() }
        })
    }
}
