//! OCI image-layout folders (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), read behind the
//! same interface as a registry. Tags are the `org.opencontainers.image.ref.name` annotations.

use std::path::{Path, PathBuf};

use crate::model::digest::Digest;
use crate::model::manifest::{ManifestView, parse_layout_marker};

use super::client::Fetched;
use super::error::RegistryError;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
    /// (tag, digest, media type) for each entry of index.json, in file order.
    refs: Vec<(String, Digest, String)>,
}

impl Layout {
    pub fn open(root: impl AsRef<Path>) -> Result<Layout, RegistryError> {
        let root = root.as_ref().to_path_buf();
        let shown = root.display().to_string();
        let err = |detail: String| RegistryError::Other { detail: format!("{shown} is not an OCI image layout: {detail}") };
        if let Ok(marker) = std::fs::read(root.join("oci-layout")) {
            parse_layout_marker(&marker).map_err(|e| err(format!("oci-layout: {e}")))?;
        }
        let index = std::fs::read(root.join("index.json")).map_err(|e| err(format!("index.json: {e}")))?;
        let view = ManifestView::parse(&index).map_err(|e| err(format!("index.json: {e}")))?;
        let refs = view
            .manifests
            .iter()
            .map(|d| {
                let tag = d
                    .annotations
                    .get(REF_NAME)
                    .map(|r| r.rsplit_once(':').map(|(_, t)| t.to_string()).unwrap_or_else(|| r.clone()))
                    .unwrap_or_else(|| format!("@{}", d.digest.short()));
                (tag, d.digest.clone(), d.media_type.clone())
            })
            .collect();
        Ok(Layout { root, refs })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A display name: the folder's name.
    pub fn name(&self) -> String {
        self.root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| self.root.display().to_string())
    }

    pub fn tags(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        self.refs.iter().filter(|(t, _, _)| seen.insert(t.clone())).map(|(t, _, _)| t.clone()).collect()
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm()).join(digest.encoded())
    }

    /// A blob, verified against its digest.
    pub fn blob(&self, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RegistryError::NotFound { registry: self.name(), what: format!("blob {digest}") },
            _ => RegistryError::Other { detail: format!("{}: {e}", path.display()) },
        })?;
        if let Err(mismatch) = digest.verify(&bytes) {
            return Err(RegistryError::DigestMismatch { registry: self.name(), what: format!("blob {digest}"), mismatch });
        }
        Ok(bytes)
    }

    /// A manifest by tag (first index.json entry with that name) or digest.
    pub fn manifest(&self, reference: &str) -> Result<Fetched, RegistryError> {
        let (digest, media_type) = match Digest::parse(reference) {
            Ok(d) => (d, None),
            Err(_) => {
                let (_, d, m) = self.refs.iter().find(|(t, _, _)| t == reference).ok_or_else(|| {
                    RegistryError::NotFound { registry: self.name(), what: format!("tag {reference}") }
                })?;
                (d.clone(), Some(m.clone()))
            }
        };
        let bytes = self.blob(&digest)?;
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

/// Write an OCI image layout: the blobs (manifests included) and an index.json naming `refs`.
pub fn write_layout<'a>(
    root: &Path,
    blobs: impl IntoIterator<Item = &'a [u8]>,
    refs: &[LayoutRef<'_>],
) -> Result<(), RegistryError> {
    let io = |e: std::io::Error| RegistryError::Other { detail: format!("writing {}: {e}", root.display()) };
    let dir = root.join("blobs/sha256");
    std::fs::create_dir_all(&dir).map_err(io)?;
    std::fs::write(root.join("oci-layout"), b"{\"imageLayoutVersion\":\"1.0.0\"}").map_err(io)?;
    for b in blobs {
        let d = Digest::sha256(b);
        std::fs::write(dir.join(d.encoded()), b).map_err(io)?;
    }
    let manifests: Vec<serde_json::Value> = refs
        .iter()
        .map(|r| {
            serde_json::json!({
                "mediaType": r.media_type, "digest": r.digest, "size": r.size,
                "annotations": { REF_NAME: r.tag }
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": crate::model::manifest::OCI_INDEX,
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec_pretty(&index).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
    std::fs::write(root.join("index.json"), bytes).map_err(io)
}
