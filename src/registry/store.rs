//! Where images live: one interface over a registry and an OCI image-layout folder, in the
//! spirit of regclient's `scheme.API`. Callers read and write through [`Store`] and never ask
//! which of the two they hold. On both, every read stops at its declared size (or the cap) and
//! is checked against its digest, and every blob written is checked before it takes its name.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use crate::model::digest::{Digest, StreamHasher};
use crate::model::reference::Reference;

use super::error::RegistryError;

/// Bytes fetched by reference, verified.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub content_type: Option<String>,
}

/// A blob's bytes as some store sends them, unchecked.
pub type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, RegistryError>> + Send>>;

/// A blob being read: never more than its declared size; its end is an error unless the size
/// and the digest both match.
pub struct BlobReader {
    chunks: Chunks,
    hasher: Option<StreamHasher>,
    digest: Digest,
    size: u64,
    got: u64,
    store: String,
}

impl BlobReader {
    /// `chunks` of the blob `digest`, `size` bytes, read from `store` (its name, for messages).
    pub fn new(store: String, digest: &Digest, size: u64, chunks: Chunks) -> Result<BlobReader, RegistryError> {
        let hasher = StreamHasher::for_digest(digest).ok_or_else(|| unverifiable(&store, digest))?;
        Ok(BlobReader { chunks, hasher: Some(hasher), digest: digest.clone(), size, got: 0, store })
    }

    /// The next piece, `None` at the verified end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, RegistryError> {
        let Some(hasher) = self.hasher.as_mut() else { return Ok(None) };
        match self.chunks.next().await {
            Some(Ok(chunk)) => {
                self.got += chunk.len() as u64;
                if self.got > self.size {
                    return Err(RegistryError::Other {
                        detail: format!("{}: blob {} is longer than the {} bytes its descriptor declares", self.store, self.digest, self.size),
                    });
                }
                hasher.update(&chunk);
                Ok(Some(chunk))
            }
            Some(Err(e)) => Err(e),
            None => {
                if self.got != self.size {
                    return Err(RegistryError::Other {
                        detail: format!("{}: blob {} ended after {} bytes where its descriptor declares {}", self.store, self.digest, self.got, self.size),
                    });
                }
                let Some(hasher) = self.hasher.take() else { return Ok(None) };
                hasher.verify(&self.digest).map_err(|mismatch| RegistryError::DigestMismatch {
                    registry: self.store.clone(),
                    what: format!("blob {}", self.digest),
                    mismatch,
                })?;
                Ok(None)
            }
        }
    }

    /// The checked pieces as a stream (an error in place of a wrong end).
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, RegistryError>> + Send {
        futures::stream::unfold(Some(self), |state| async move {
            let mut reader = state?;
            match reader.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(reader))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }
}

pub(super) fn unverifiable(store: &str, digest: &Digest) -> RegistryError {
    RegistryError::Other {
        detail: format!("{store}: blob {digest}: its digest algorithm {} cannot be verified, so it is not read or written", digest.algorithm()),
    }
}

/// Where the bytes of a blob being written come from.
#[derive(Clone)]
pub enum BlobBody {
    /// Already read and checked.
    Bytes(Bytes),
    /// Streamed from another store (opened again if the write has to start over), never held
    /// whole.
    From { store: Arc<dyn Store>, repo: String },
}

impl BlobBody {
    /// The bytes, checked against `digest` and `size` as they pass.
    pub async fn open(&self, digest: &Digest, size: u64) -> Result<BlobReader, RegistryError> {
        match self {
            BlobBody::Bytes(b) => {
                let one: Chunks = Box::pin(futures::stream::iter([Ok(b.clone())]));
                BlobReader::new("the blob held in memory".into(), digest, size, one)
            }
            BlobBody::From { store, repo } => store.open_blob(repo, digest, size).await,
        }
    }
}

/// What writing a blob did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The store had it already.
    Present,
    /// Mounted from another repository of the same registry: no bytes moved.
    Mounted,
    /// Its bytes were written; `note` says what went differently from the plan (a mount the
    /// registry refused).
    Copied { note: Option<String> },
}

/// One place images live: a registry, or an OCI image-layout folder.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// A name for messages: the registry's host, or the folder's name.
    fn name(&self) -> String;

    /// What tells two stores apart: two stores with the same location hold the same blobs.
    fn location(&self) -> String;

    /// Requests worth keeping in flight.
    fn concurrency(&self) -> usize;

    /// The store itself, for what only one kind has (a registry's catalog, its pull limit).
    fn as_any(&self) -> &dyn std::any::Any;

    /// Every tag of `repo`, as the store lists them.
    async fn tags(&self, repo: &str) -> Result<Vec<String>, RegistryError>;

    /// The tags of `repo` page by page, each as it arrives (a folder: one page).
    fn tags_paged<'a>(&'a self, repo: &'a str) -> futures::stream::BoxStream<'a, Result<Vec<String>, RegistryError>> {
        Box::pin(futures::stream::once(self.tags(repo)))
    }

    /// A tag's digest when the store tells it without sending the manifest (a folder's
    /// `index.json`; a `HEAD` where the registry is asked that way, or where `cached`: the
    /// manifest is likely in the cache already); `None`: read the manifest by tag instead.
    async fn peek_tag(&self, repo: &str, tag: &str, cached: bool) -> Result<Option<Digest>, RegistryError>;

    /// The tag's digest now, read fresh; `None` when the tag does not exist.
    async fn tag_digest(&self, repo: &str, tag: &str) -> Result<Option<Digest>, RegistryError>;

    /// A manifest by tag or digest: at most `declared` bytes (and never more than the manifest
    /// cap), verified against the digest asked for or the digest the store reports.
    async fn manifest(&self, repo: &str, reference: &str, declared: Option<u64>) -> Result<Fetched, RegistryError>;

    /// A blob read whole (a config): at most `declared` bytes and the config cap, verified.
    async fn blob(&self, repo: &str, digest: &Digest, declared: Option<u64>) -> Result<Vec<u8>, RegistryError>;

    /// A blob of `size` bytes read as it arrives, checked at its end.
    async fn open_blob(&self, repo: &str, digest: &Digest, size: u64) -> Result<BlobReader, RegistryError>;

    /// The referrers of `digest` (OCI distribution 1.1's `GET /v2/NAME/referrers/DIGEST`): an
    /// index of what is attached to it, bounded like a manifest. `None` where the store has no
    /// such API (a folder, a registry that answers 404); the referrers tag schema is read
    /// through [`Store::manifest`] instead.
    async fn referrers(&self, _repo: &str, _digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        Ok(None)
    }

    /// Whether `repo` holds the blob.
    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, RegistryError>;

    /// Write a blob unless it is there; `mount_from`: a repository of this same store it may
    /// be mounted from instead.
    async fn put_blob(&self, repo: &str, digest: &Digest, size: u64, body: BlobBody, mount_from: Option<&str>) -> Result<Written, RegistryError>;

    /// Write manifest bytes exactly as given, under `reference` (a tag, or their digest).
    async fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest, RegistryError>;

    /// Remove a tag, leaving the manifest and other tags alone.
    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), RegistryError>;

    /// Make ready for writes (a folder gets its layout files).
    async fn prepare(&self) -> Result<(), RegistryError> {
        Ok(())
    }
}

/// Where a pushed tag lives: a registry, or an OCI image-layout folder (`oci:DIR:TAG`), both
/// behind [`Store`]; this adds what a push does with a whole reference
/// ([`super::session::Session::target`] picks it).
#[derive(Debug, Clone)]
pub struct TagStore(pub Arc<dyn Store>);

impl TagStore {
    fn tag(target: &Reference) -> &str {
        target.tag.as_deref().unwrap_or("latest")
    }

    /// The tag's digest now, `None` when it does not exist.
    pub async fn current(&self, target: &Reference) -> Result<Option<Digest>, RegistryError> {
        self.0.tag_digest(&target.repository.name, Self::tag(target)).await
    }

    /// The manifest `digest` of the target's repository, verified.
    pub async fn manifest_bytes(&self, target: &Reference, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        Ok(self.0.manifest(&target.repository.name, digest.as_str(), None).await?.bytes)
    }

    /// Point the tag at `to` (`(digest, media type, bytes)`) or delete it (`None`).
    pub(super) async fn write_tag(&self, target: &Reference, to: Option<&(Digest, String, Vec<u8>)>) -> Result<(), RegistryError> {
        let (repo, tag) = (&target.repository.name, Self::tag(target));
        match to {
            Some((_, media_type, bytes)) => self.0.put_manifest(repo, tag, media_type, bytes).await.map(|_| ()),
            None => self.0.delete_tag(repo, tag).await,
        }
    }
}
