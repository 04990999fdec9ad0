//! Reading images into a draft, and pushing a draft safely: children first (blobs by mount or
//! copy, manifests by digest), then the index bytes exactly as previewed, then a check that
//! the tag resolves to them. The tag only ever moves in that last step.

use std::collections::BTreeMap;

use crate::model::compose::{DraftEntry, IndexDraft};
use crate::model::digest::Digest;
use crate::model::manifest::ManifestKind;
use crate::model::reference::{Reference, Registry};

use super::client::RegistryClient;
use super::error::RegistryError;
use super::fetch::{Fetcher, Source};
use super::upload::Uploader;

/// Entries for `reference`: the image itself, or every entry of an index (attestations kept
/// with their subject link when `keep_attestations`).
pub async fn draft_entries(
    fetcher: &Fetcher,
    reference: &Reference,
    keep_attestations: bool,
) -> Result<Vec<DraftEntry>, RegistryError> {
    let repo = reference.repository.name.as_str();
    let top = fetcher.resolve_reference(reference).await?;
    let source = reference.repository.digest_reference(&top.digest);
    if top.view.kind.is_index() {
        let mut out = Vec::new();
        for e in top.view.entries() {
            if e.is_attestation && !keep_attestations {
                continue;
            }
            let d = &e.descriptor;
            let child = fetcher.manifest(repo, &d.digest).await;
            let (kind, compressed, config_platform, missing) = match &child {
                Ok(m) => {
                    let cfg = match (&m.view.config, m.view.kind.is_image() && !e.is_attestation) {
                        (Some(c), true) => fetcher.config(repo, &c.digest).await.ok().map(|(_, c)| c.platform),
                        _ => None,
                    };
                    (m.view.kind, m.view.compressed_size(), cfg, false)
                }
                Err(RegistryError::NotFound { .. }) => (ManifestKind::Unknown, 0, None, true),
                Err(other) => return Err(other.clone()),
            };
            out.push(DraftEntry {
                source: reference.repository.digest_reference(&d.digest),
                digest: d.digest.clone(),
                media_type: d.media_type.clone(),
                size: d.size,
                platform: d.platform.clone().or_else(|| config_platform.clone()).unwrap_or_default(),
                config_platform,
                kind,
                annotations: if e.is_attestation { d.annotations.clone() } else { BTreeMap::new() },
                compressed_size: compressed,
                missing,
            });
        }
        return Ok(out);
    }
    if !top.view.kind.is_image() {
        return Err(RegistryError::Other { detail: format!("{reference} is {}, not an image", top.view.kind.label()) });
    }
    let cfg = match &top.view.config {
        Some(c) => Some(fetcher.config(repo, &c.digest).await?.1.platform),
        None => top.view.schema1_platform.clone(),
    };
    Ok(vec![DraftEntry {
        source,
        digest: top.digest.clone(),
        media_type: top.view.media_type.clone(),
        size: top.bytes.len() as u64,
        platform: cfg.clone().unwrap_or_default(),
        config_platform: cfg,
        kind: top.view.kind,
        annotations: BTreeMap::new(),
        compressed_size: top.view.compressed_size(),
        missing: false,
    }])
}

/// Fetchers for every registry the draft's children come from.
pub trait Sources: Sync {
    fn fetcher(&self, registry: &Registry) -> Result<&Fetcher, RegistryError>;
}

/// One fetcher per registry.
#[derive(Default)]
pub struct FetcherSet(pub std::collections::HashMap<Registry, Fetcher>);

impl Sources for FetcherSet {
    fn fetcher(&self, registry: &Registry) -> Result<&Fetcher, RegistryError> {
        self.0.get(registry).ok_or_else(|| RegistryError::Other { detail: format!("no client for {registry}") })
    }
}

/// What the tag pointed at before the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub digest: Digest,
    pub previous: Option<Digest>,
    /// Bytes uploaded (mounted blobs count nothing).
    pub uploaded: u64,
    pub mounted: usize,
}

/// The tag's digest now, or `None` when the tag does not exist.
pub async fn current_digest(client: &RegistryClient, target: &Reference) -> Result<Option<Digest>, RegistryError> {
    let tag = target.tag.as_deref().unwrap_or("latest");
    match client.head_manifest(&target.repository.name, tag).await {
        Ok(Some((d, _))) => Ok(Some(d)),
        Ok(None) => Ok(Some(client.get_manifest(&target.repository.name, tag).await?.digest)),
        Err(RegistryError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The target side of a push: reads and checks through Archlens's client, uploads and mounts
/// through [`Uploader`].
struct Target<'a> {
    client: &'a RegistryClient,
    uploader: Uploader,
}

async fn copy_blob(
    src: &Fetcher,
    src_repo: &str,
    same_registry: bool,
    target: &Target<'_>,
    target_repo: &str,
    (digest, size): (&Digest, u64),
    stats: &mut Pushed,
) -> Result<(), RegistryError> {
    if target.client.blob_exists(target_repo, digest).await? {
        return Ok(());
    }
    if same_registry && target.uploader.mount(target_repo, src_repo, digest).await? {
        stats.mounted += 1;
        return Ok(());
    }
    match src.source() {
        // Streamed from registry to registry; the target checks the digest at the end.
        Source::Registry(c) => {
            target.uploader.upload_from(target_repo, c.clone(), src_repo, digest, size).await?;
            stats.uploaded += size;
        }
        Source::Layout(l) => {
            let bytes = l.blob(digest)?;
            stats.uploaded += bytes.len() as u64;
            target.uploader.upload(target_repo, bytes, digest).await?;
        }
    }
    if !target.client.blob_exists(target_repo, digest).await? {
        return Err(RegistryError::Other { detail: format!("{digest} is not in {target_repo} after its upload") });
    }
    Ok(())
}

/// Copy one child manifest (and, for a nested index, its children) into the target repository.
fn copy_manifest<'a>(
    src: &'a Fetcher,
    src_repo: &'a str,
    same_registry: bool,
    target: &'a Target<'a>,
    target_repo: &'a str,
    digest: &'a Digest,
    stats: &'a mut Pushed,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), RegistryError>> + Send + 'a>> {
    Box::pin(async move {
        let m = src.manifest(src_repo, digest).await?;
        if m.view.kind.is_index() {
            for d in &m.view.manifests {
                copy_manifest(src, src_repo, same_registry, target, target_repo, &d.digest, stats).await?;
            }
        } else {
            let blobs: Vec<(Digest, u64)> = m
                .view
                .config
                .iter()
                .chain(m.view.layers.iter())
                .map(|d| (d.digest.clone(), d.size))
                .collect();
            for (b, size) in &blobs {
                copy_blob(src, src_repo, same_registry, target, target_repo, (b, *size), stats).await?;
            }
        }
        target.client.put_manifest(target_repo, digest.as_str(), &m.view.media_type, &m.bytes).await?;
        Ok(())
    })
}

/// Push `draft` to `target`. `expect_previous` is what the tag pointed at when the user saw
/// the preview: if it moved since, nothing is changed. `progress(done, total, what)`.
pub async fn push(
    sources: &(dyn Sources + Sync),
    target_client: &RegistryClient,
    draft: &IndexDraft,
    target: &Reference,
    expect_previous: Option<Option<Digest>>,
    mut progress: impl FnMut(usize, usize, &str) + Send,
) -> Result<Pushed, RegistryError> {
    let tag = target.tag.as_deref().unwrap_or("latest");
    let target_repo = target.repository.name.as_str();
    let previous = current_digest(target_client, target).await?;
    if let Some(expected) = &expect_previous {
        if &previous != expected {
            return Err(RegistryError::TagMoved {
                target: target.to_string(),
                expected: expected.clone(),
                actual: previous,
            });
        }
    }
    let bytes = draft.to_bytes();
    let digest = Digest::sha256(&bytes);
    let mut stats = Pushed { digest: digest.clone(), previous: previous.clone(), uploaded: 0, mounted: 0 };
    let total = draft.entries.len() + 1;
    let tgt = Target { client: target_client, uploader: Uploader::for_client(target_client)? };
    for (i, e) in draft.entries.iter().enumerate() {
        progress(i, total, &format!("{} {}", e.platform.key(), e.digest.short()));
        let src = sources.fetcher(&e.source.repository.registry)?;
        let same_registry = e.source.repository.registry == target.repository.registry;
        copy_manifest(src, &e.source.repository.name, same_registry, &tgt, target_repo, &e.digest, &mut stats).await?;
    }
    // Last check before the tag moves: nobody else moved it meanwhile.
    if expect_previous.is_some() {
        let now = current_digest(target_client, target).await?;
        if now != previous {
            return Err(RegistryError::TagMoved { target: target.to_string(), expected: previous, actual: now });
        }
    }
    progress(total - 1, total, "index");
    let media_type = draft.effective_type().media_type();
    target_client.put_manifest(target_repo, tag, media_type, &bytes).await?;
    let resolved = current_digest(target_client, target).await?;
    if resolved.as_ref() != Some(&digest) {
        return Err(RegistryError::Other {
            detail: format!(
                "after the push {target} resolves to {}, not the pushed {digest}",
                resolved.map(|d| d.to_string()).unwrap_or_else(|| "nothing".into())
            ),
        });
    }
    progress(total, total, "done");
    Ok(stats)
}

/// Point `target` back at `digest` (which must still be in the repository).
pub async fn repoint(client: &RegistryClient, target: &Reference, digest: &Digest) -> Result<(), RegistryError> {
    let repo = target.repository.name.as_str();
    let tag = target.tag.as_deref().unwrap_or("latest");
    let m = client.get_manifest(repo, digest.as_str()).await?;
    let view = crate::model::manifest::ManifestView::parse(&m.bytes).map_err(|source| RegistryError::BadManifest {
        registry: client.registry().name().to_string(),
        what: format!("{repo}@{digest}"),
        source,
    })?;
    client.put_manifest(repo, tag, &view.media_type, &m.bytes).await?;
    Ok(())
}
