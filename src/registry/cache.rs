//! Content-addressed on-disk cache. Entries are named by digest and verified on read, so
//! they are valid forever and a damaged file is dropped rather than used.

use std::path::{Path, PathBuf};

use crate::model::digest::Digest;

use super::error::RegistryError;

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
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
        Cache { root: root.as_ref().to_path_buf() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm()).join(digest.encoded())
    }

    pub async fn get(&self, digest: &Digest) -> Option<Vec<u8>> {
        if !digest.is_verifiable() {
            return None;
        }
        let path = self.path(digest);
        let bytes = tokio::fs::read(&path).await.ok()?;
        if digest.verify(&bytes).is_ok() {
            Some(bytes)
        } else {
            let _ = tokio::fs::remove_file(&path).await;
            None
        }
    }

    /// Store bytes already verified against `digest`.
    pub async fn put(&self, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        if !digest.is_verifiable() {
            return Ok(());
        }
        let path = self.path(digest);
        let err = |e: std::io::Error| RegistryError::Cache { path: path.display().to_string(), detail: e.to_string() };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(err)?;
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        tokio::fs::write(&tmp, bytes).await.map_err(err)?;
        tokio::fs::rename(&tmp, &path).await.map_err(err)
    }
}
