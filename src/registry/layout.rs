//! OCI image-layout folders (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), read behind the
//! same interface as a registry. Tags are the `org.opencontainers.image.ref.name` annotations.

use std::path::{Path, PathBuf};

use crate::model::digest::Digest;
use crate::model::manifest::{ManifestView, parse_layout_marker};

use super::error::RegistryError;
use super::store::{BlobBody, BlobReader, Chunks, Fetched, Store, Written};
use async_trait::async_trait;
use bytes::Bytes;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// A layout's `index.json` and manifests are capped as a registry's manifests are.
const MANIFEST_CAP: u64 = 8 << 20;
/// `oci-layout` is a one-line marker.
const MARKER_CAP: u64 = 64 << 10;
/// A blob read whole whose size is not declared (a config): capped as a registry's are.
const BLOB_CAP: u64 = 32 << 20;

/// Read a file of the layout folder `root`: a regular file inside the folder, at most `cap`
/// bytes. `Ok(None)` when it does not exist.
fn read_file(root: &Path, name: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    match super::files::read_in(root, name, cap) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// (tag, digest, media type) for each entry of `index.json`, in file order.
type Refs = std::sync::Arc<Vec<(String, Digest, String)>>;

/// An OCI image-layout folder, read and written through this one type: every read takes only
/// regular files inside the folder, capped and checked against digests; every write goes to an
/// exclusive temporary file and a rename, under a lock on the folder for `index.json`.
#[derive(Debug, Clone)]
pub struct OciDir {
    root: PathBuf,
    /// (tag, digest, media type) for each entry of index.json, in file order, as read when the
    /// folder was opened for reading (`None`: opened as a target; tags are read fresh).
    refs: Option<Refs>,
}

impl OciDir {
    pub fn open(root: impl AsRef<Path>) -> Result<OciDir, RegistryError> {
        let root = root.as_ref().to_path_buf();
        let shown = root.display().to_string();
        let err = |detail: String| RegistryError::Other { detail: format!("{shown} is not an OCI image layout: {detail}") };
        if let Some(marker) = read_file(&root, &root.join("oci-layout"), MARKER_CAP).map_err(|e| err(format!("oci-layout: {e}")))? {
            parse_layout_marker(&marker).map_err(|e| err(format!("oci-layout: {e}")))?;
        }
        let index = read_file(&root, &root.join("index.json"), MANIFEST_CAP)
            .map_err(|e| err(format!("index.json: {e}")))?
            .ok_or_else(|| err("index.json: No such file or directory (os error 2)".into()))?;
        let view = ManifestView::parse(&index).map_err(|e| err(format!("index.json: {e}")))?;
        let refs = view
            .manifests
            .iter()
            .map(|d| {
                let tag = d.annotations.get(REF_NAME).map(|r| tag_of_ref_name(r).to_string()).unwrap_or_else(|| format!("@{}", d.digest.short()));
                (tag, d.digest.clone(), d.media_type.clone())
            })
            .collect();
        Ok(OciDir { root, refs: Some(std::sync::Arc::new(refs)) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The (tag, digest, media type) entries of index.json: as opened, or read now.
    fn refs(&self) -> Result<Refs, RegistryError> {
        if let Some(r) = &self.refs {
            return Ok(r.clone());
        }
        Ok(OciDir::open(&self.root)?.refs.unwrap_or_default())
    }

    /// The (digest, media type) of the first index.json entry named `tag`, as opened.
    fn entry(&self, tag: &str) -> Result<Option<(Digest, String)>, RegistryError> {
        Ok(self.refs()?.iter().find(|(t, _, _)| t == tag).map(|(_, d, m)| (d.clone(), m.clone())))
    }

    /// The digest `tag` names in the folder as opened (its first entry of that name).
    pub fn named(&self, tag: &str) -> Result<Option<Digest>, RegistryError> {
        Ok(self.entry(tag)?.map(|(d, _)| d))
    }

    /// A display name: the folder's name.
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| self.root.display().to_string())
    }

    pub fn tags(&self) -> Result<Vec<String>, RegistryError> {
        let mut seen = std::collections::BTreeSet::new();
        Ok(self.refs()?.iter().filter(|(t, _, _)| seen.insert(t.clone())).map(|(t, _, _)| t.clone()).collect())
    }

    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm()).join(digest.encoded())
    }

    /// A blob of at most `cap` bytes (its declared size), verified against its digest.
    pub fn blob(&self, digest: &Digest, cap: u64) -> Result<Vec<u8>, RegistryError> {
        let path = self.blob_path(digest);
        let bytes = read_file(&self.root, &path, cap)
            .map_err(|e| RegistryError::Other { detail: format!("{}: {e}", path.display()) })?
            .ok_or_else(|| RegistryError::NotFound { registry: self.name(), what: format!("blob {digest}") })?;
        if let Err(mismatch) = digest.verify(&bytes) {
            return Err(RegistryError::DigestMismatch { registry: self.name(), what: format!("blob {digest}"), mismatch });
        }
        Ok(bytes)
    }

    /// A regular file of the folder, for streaming: links leading out are refused.
    pub(crate) fn open_blob(&self, digest: &Digest) -> std::io::Result<std::fs::File> {
        super::files::open_regular(&super::files::inside(&self.root, &self.blob_path(digest))?)
    }

    /// A manifest by tag (first index.json entry with that name) or digest, at most its declared
    /// size (else the manifest cap).
    pub fn manifest(&self, reference: &str, declared: Option<u64>) -> Result<Fetched, RegistryError> {
        let (digest, media_type) = match Digest::parse(reference) {
            Ok(d) => (d, None),
            Err(_) => {
                let (d, m) = self.entry(reference)?.ok_or_else(|| RegistryError::NotFound { registry: self.name(), what: format!("tag {reference}") })?;
                (d, Some(m))
            }
        };
        let bytes = self.blob(&digest, declared.unwrap_or(MANIFEST_CAP).min(MANIFEST_CAP))?;
        Ok(Fetched { bytes, digest, content_type: media_type })
    }
}

/// One named entry of a layout's index.json.
#[derive(Debug, Clone)]
pub struct LayoutRef<'a> {
    pub tag: &'a str,
    pub media_type: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
}

/// Write an OCI image layout: the blobs (manifests included) and an index.json naming `refs`,
/// through [`OciDir`] like every other write of a folder.
pub fn write_layout<'a>(root: &Path, blobs: impl IntoIterator<Item = &'a [u8]>, refs: &[LayoutRef<'_>]) -> Result<(), RegistryError> {
    let dir = OciDir::at(root);
    dir.prepare()?;
    for b in blobs {
        let d = Digest::sha256(b);
        if !dir.has_blob(&d) {
            dir.put_blob(&d, b)?;
        }
    }
    for r in refs {
        dir.set_tag(r.tag, Some((r.digest, r.media_type, r.size)))?;
    }
    Ok(())
}

/// The tag an `org.opencontainers.image.ref.name` value names: what follows the last `:`
/// (a full reference such as `registry/app:1.0`), else the whole value (a bare tag).
fn tag_of_ref_name(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, t)| t).unwrap_or(name)
}

/// Layout files (`oci-layout`, `index.json`) are synced before they replace the old ones.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    super::files::write_by_rename(path, bytes, true)
}

/// Writing: blobs are added first (each verified against its digest, written under a
/// temporary name and renamed), then `index.json` is rewritten (also by rename) to name the
/// tag. Other tags and unknown fields of `index.json` are kept.
impl OciDir {
    /// A folder to write (it may not exist yet).
    pub fn at(root: impl AsRef<Path>) -> OciDir {
        OciDir { root: root.as_ref().to_path_buf(), refs: None }
    }

    fn io(&self, what: &str, e: std::io::Error) -> RegistryError {
        RegistryError::Other { detail: format!("{}: {what}: {e}", self.root.display()) }
    }

    /// Make the folder a layout if it is not one yet: create it, its `oci-layout` marker and
    /// an empty `index.json`. A folder that holds other things is refused, never mixed into.
    pub fn prepare(&self) -> Result<(), RegistryError> {
        // Two writers making one new folder a layout take turns: the second finds a layout.
        let _turn = super::files::lock_folder(&self.root).map_err(|e| self.io("locking the folder", e))?;
        let marker = self.root.join("oci-layout");
        let index = self.root.join("index.json");
        match super::files::read_in(&self.root, &marker, MARKER_CAP) {
            Ok(bytes) => {
                parse_layout_marker(&bytes)
                    .map_err(|e| RegistryError::Other { detail: format!("{}: oci-layout: {e}; is this an OCI image layout?", self.root.display()) })?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let empty = match std::fs::read_dir(&self.root) {
                    Ok(mut entries) => entries.next().is_none(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                    Err(e) => return Err(self.io("reading the folder", e)),
                };
                if !empty && !index.exists() {
                    return Err(RegistryError::Other {
                        detail: format!("{} is neither an OCI image layout nor empty; name a new or empty folder", self.root.display()),
                    });
                }
                std::fs::create_dir_all(&self.root).map_err(|e| self.io("creating the folder", e))?;
                write_atomically(&marker, b"{\"imageLayoutVersion\":\"1.0.0\"}").map_err(|e| self.io("writing oci-layout", e))?;
            }
            Err(e) => return Err(self.io("reading oci-layout", e)),
        }
        if !index.exists() {
            let empty = format!("{{\"schemaVersion\":2,\"mediaType\":\"{}\",\"manifests\":[]}}", crate::model::manifest::OCI_INDEX);
            write_atomically(&index, empty.as_bytes()).map_err(|e| self.io("writing index.json", e))?;
        }
        Ok(())
    }

    /// `index.json` as JSON; `None` when the folder has none yet.
    fn index(&self) -> Result<Option<serde_json::Map<String, serde_json::Value>>, RegistryError> {
        let path = self.root.join("index.json");
        let bytes = match read_file(&self.root, &path, MANIFEST_CAP) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.io("reading index.json", e)),
        };
        ManifestView::parse(&bytes).map_err(|e| RegistryError::Other { detail: format!("{}: index.json: {e}", self.root.display()) })?;
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
            _ => Err(RegistryError::Other { detail: format!("{}: index.json is not a JSON object", self.root.display()) }),
        }
    }

    fn names(entry: &serde_json::Value, tag: &str) -> bool {
        entry.pointer("/annotations").and_then(|a| a.get(REF_NAME)).and_then(|n| n.as_str()).is_some_and(|n| tag_of_ref_name(n) == tag)
    }

    /// The digest `tag` names now, `None` when no entry names it (or there is no layout yet).
    pub fn tagged(&self, tag: &str) -> Result<Option<Digest>, RegistryError> {
        let Some(index) = self.index()? else { return Ok(None) };
        let entries = index.get("manifests").and_then(|m| m.as_array()).cloned().unwrap_or_default();
        Ok(entries.iter().rev().find(|e| Self::names(e, tag)).and_then(|e| e.get("digest").and_then(|d| d.as_str()).and_then(|d| Digest::parse(d).ok())))
    }

    /// Whether the folder holds `digest` with the right content (read in pieces, however big).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        use std::io::Read as _;
        let Some(mut hasher) = crate::model::digest::StreamHasher::for_digest(digest) else { return false };
        // Only a regular file inside the folder: a planted link to /dev/zero is not hashed forever.
        let Ok(mut file) = super::files::inside(&self.root, &self.blob_path(digest)).and_then(|p| super::files::open_regular(&p)) else { return false };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
                Err(_) => return false,
            }
        }
        hasher.verify(digest).is_ok()
    }

    /// Add a blob whose bytes are all at hand, after checking them against `digest`.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<(), RegistryError> {
        let mut sink = self.blob_sink(digest, bytes.len() as u64)?;
        sink.write(bytes)?;
        sink.finish()
    }

    /// A blob written as it arrives: at most `size` bytes, checked against `digest` at the end
    /// before it takes its name.
    fn blob_sink(&self, digest: &Digest, size: u64) -> Result<BlobSink, RegistryError> {
        let hasher = crate::model::digest::StreamHasher::for_digest(digest)
            .ok_or_else(|| RegistryError::Other { detail: format!("{digest}: its algorithm cannot be verified, so it is not written") })?;
        let path = self.blob_path(digest);
        // An unpredictable name, created exclusively: a link planted beside the blob is never
        // written through.
        let file = super::files::temp_beside(&path).map_err(|e| self.io("creating a blob", e))?;
        Ok(BlobSink { file: Some(file), path, hasher: Some(hasher), digest: digest.clone(), size, written: 0 })
    }

    /// Point `tag` at `to` (`(digest, media type, size)`), or remove it (`None`), rewriting
    /// `index.json` by rename. Entries of other tags are kept as they are.
    pub fn set_tag(&self, tag: &str, to: Option<(&Digest, &str, u64)>) -> Result<(), RegistryError> {
        // Read, change and write index.json as one step: another writer of this folder (a
        // second compose to another tag) waits for its turn instead of losing this tag.
        let _turn = super::files::lock_folder(&self.root).map_err(|e| self.io("locking the folder", e))?;
        let mut index = self.index()?.ok_or_else(|| RegistryError::Other { detail: format!("{} has no index.json", self.root.display()) })?;
        let mut entries: Vec<serde_json::Value> = index.get("manifests").and_then(|m| m.as_array()).cloned().unwrap_or_default();
        entries.retain(|e| !Self::names(e, tag));
        if let Some((digest, media_type, size)) = to {
            entries.push(serde_json::json!({
                "mediaType": media_type, "digest": digest, "size": size,
                "annotations": { REF_NAME: tag }
            }));
        }
        index.insert("manifests".into(), serde_json::Value::Array(entries));
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        write_atomically(&self.root.join("index.json"), &bytes).map_err(|e| self.io("writing index.json", e))
    }
}

/// A blob being written into an [`OciDir`]; dropped unfinished, it leaves nothing behind.
pub struct BlobSink {
    /// The temporary file; it removes itself when the sink is dropped unfinished.
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
    hasher: Option<crate::model::digest::StreamHasher>,
    digest: Digest,
    size: u64,
    written: u64,
}

impl BlobSink {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), RegistryError> {
        use std::io::Write as _;
        self.written += chunk.len() as u64;
        if self.written > self.size {
            return Err(RegistryError::Other { detail: format!("{}: more bytes than the {} its descriptor declares", self.digest, self.size) });
        }
        if let Some(h) = &mut self.hasher {
            h.update(chunk);
        }
        match &mut self.file {
            Some(f) => f.write_all(chunk).map_err(|e| RegistryError::Other { detail: format!("{}: {e}", f.path().display()) }),
            None => Ok(()),
        }
    }

    /// Check size and digest, then give the blob its name.
    pub fn finish(mut self) -> Result<(), RegistryError> {
        if self.written != self.size {
            return Err(RegistryError::Other { detail: format!("{}: {} bytes arrived, its descriptor declares {}", self.digest, self.written, self.size) });
        }
        if let Some(h) = self.hasher.take() {
            h.verify(&self.digest).map_err(|mismatch| RegistryError::DigestMismatch {
                registry: self.path.display().to_string(),
                what: format!("blob {}", self.digest),
                mismatch,
            })?;
        }
        if let Some(f) = self.file.take() {
            f.as_file().sync_all().map_err(|e| RegistryError::Other { detail: format!("{}: {e}", f.path().display()) })?;
            super::files::persist(f, &self.path).map_err(|e| RegistryError::Other { detail: format!("{}: {e}", self.path.display()) })?;
        }
        Ok(())
    }
}

/// A folder's file work runs on a blocking thread, never on the async runtime.
async fn blocking<T: Send + 'static>(dir: &OciDir, work: impl FnOnce(OciDir) -> Result<T, RegistryError> + Send + 'static) -> Result<T, RegistryError> {
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || work(dir)).await.map_err(|e| RegistryError::Other { detail: format!("reading or writing a layout folder: {e}") })?
}

/// Pieces a folder's files are read in.
const FILE_CHUNK: usize = 256 << 10;

#[async_trait]
impl Store for OciDir {
    fn name(&self) -> String {
        OciDir::name(self)
    }

    fn location(&self) -> String {
        let root = self.root();
        format!("folder {}", std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()).display())
    }

    fn concurrency(&self) -> usize {
        4
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn tags(&self, _repo: &str) -> Result<Vec<String>, RegistryError> {
        blocking(self, |d| d.tags()).await
    }

    async fn peek_tag(&self, _repo: &str, tag: &str, _cached: bool) -> Result<Option<Digest>, RegistryError> {
        let tag = tag.to_string();
        blocking(self, move |d| d.named(&tag)).await
    }

    async fn tag_digest(&self, _repo: &str, tag: &str) -> Result<Option<Digest>, RegistryError> {
        let tag = tag.to_string();
        blocking(self, move |d| d.tagged(&tag)).await
    }

    async fn manifest(&self, _repo: &str, reference: &str, declared: Option<u64>) -> Result<Fetched, RegistryError> {
        let reference = reference.to_string();
        blocking(self, move |d| d.manifest(&reference, declared)).await
    }

    async fn blob(&self, _repo: &str, digest: &Digest, declared: Option<u64>) -> Result<Vec<u8>, RegistryError> {
        let digest = digest.clone();
        blocking(self, move |d| d.blob(&digest, declared.map_or(super::layout::BLOB_CAP, |n| n.min(super::layout::BLOB_CAP)))).await
    }

    async fn open_blob(&self, _repo: &str, digest: &Digest, size: u64) -> Result<BlobReader, RegistryError> {
        let name = OciDir::name(self);
        let d = digest.clone();
        let file = blocking(self, move |dir| {
            // Only a regular file inside the folder: a link to a device, a FIFO or out of the
            // folder is refused at once.
            dir.open_blob(&d).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => RegistryError::NotFound { registry: dir.name(), what: format!("blob {d}") },
                _ => RegistryError::Other { detail: format!("{}: blob {d}: {e}", dir.name()) },
            })
        })
        .await?;
        let file = tokio::fs::File::from_std(file);
        let label = name.clone();
        let chunks: Chunks = Box::pin(futures::stream::unfold(Some(file), move |state| {
            let label = label.clone();
            async move {
                use tokio::io::AsyncReadExt as _;
                let mut f = state?;
                let mut buf = vec![0u8; FILE_CHUNK];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), Some(f)))
                    }
                    Err(e) => Some((Err(RegistryError::Other { detail: format!("{label}: {e}") }), None)),
                }
            }
        }));
        BlobReader::new(name, digest, size, chunks)
    }

    async fn has_blob(&self, _repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let digest = digest.clone();
        blocking(self, move |d| Ok(d.has_blob(&digest))).await
    }

    async fn put_blob(&self, repo: &str, digest: &Digest, size: u64, body: BlobBody, _mount_from: Option<&str>) -> Result<Written, RegistryError> {
        if Store::has_blob(self, repo, digest).await? {
            return Ok(Written::Present);
        }
        let d = digest.clone();
        let mut sink = blocking(self, move |dir| dir.blob_sink(&d, size)).await?;
        let mut reader = body.open(digest, size).await?;
        while let Some(chunk) = reader.next_chunk().await? {
            sink = tokio::task::spawn_blocking(move || sink.write(&chunk).map(|()| sink))
                .await
                .map_err(|e| RegistryError::Other { detail: format!("writing a blob: {e}") })??;
        }
        tokio::task::spawn_blocking(move || sink.finish()).await.map_err(|e| RegistryError::Other { detail: format!("writing a blob: {e}") })??;
        Ok(Written::Copied { note: None })
    }

    async fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::sha256(bytes);
        Store::put_blob(self, repo, &digest, bytes.len() as u64, BlobBody::Bytes(Bytes::copy_from_slice(bytes)), None).await?;
        if Digest::parse(reference).is_err() {
            let (tag, media_type, d, size) = (reference.to_string(), media_type.to_string(), digest.clone(), bytes.len() as u64);
            blocking(self, move |dir| dir.set_tag(&tag, Some((&d, &media_type, size)))).await?;
        }
        Ok(digest)
    }

    async fn delete_tag(&self, _repo: &str, tag: &str) -> Result<(), RegistryError> {
        let tag = tag.to_string();
        blocking(self, move |d| d.set_tag(&tag, None)).await
    }

    async fn prepare(&self) -> Result<(), RegistryError> {
        blocking(self, |d| d.prepare()).await
    }
}
