//! `archlens diff A B`: two tags (or images, of any registries or layout folders) compared per
//! platform, from the manifests and configs through the cache like every other read.

use crate::model::diff::{Change, ConfigDiff, LayerDiff};
use crate::model::manifest::Descriptor;
use crate::model::{Platform, Reference};

use super::{Fetcher, RegistryError};

/// One platform's image on one side.
#[derive(Debug, Clone)]
struct Side {
    key: String,
    digest: String,
    layers: Vec<Descriptor>,
    config: Vec<u8>,
}

/// One platform compared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlatformDiff {
    pub platform: String,
    pub before: String,
    pub after: String,
    pub layers: LayerDiff,
    pub config: ConfigDiff,
}

/// Two references compared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub platforms: Vec<PlatformDiff>,
    /// Platforms only the first has.
    pub removed_platforms: Vec<String>,
    /// Platforms only the second has.
    pub added_platforms: Vec<String>,
    /// The indexes' own annotations that differ.
    pub annotations: Vec<Change>,
}

/// The images of `reference`, one per platform (an index's entries but its attestations; a
/// single image as its config says), and the index's annotations.
async fn sides(fetcher: &Fetcher, reference: &Reference) -> Result<(Vec<Side>, std::collections::BTreeMap<String, String>), RegistryError> {
    let repo = reference.repository.name.as_str();
    let top = fetcher.resolve_reference(reference).await?;
    // One image: its layers and config, under the entry's platform or else its config's.
    let image = |key: Option<String>, m: super::fetch::Manifest| async move {
        let Some(c) = m.view.config.clone() else { return Ok(None) };
        let (bytes, cfg) = fetcher.config(repo, &c).await?;
        let key = key.unwrap_or_else(|| cfg.platform.key());
        Ok::<_, RegistryError>(Some(Side { key, digest: m.digest.to_string(), layers: m.view.layers.clone(), config: bytes.to_vec() }))
    };
    if !top.view.kind.is_index() {
        return Ok((image(None, top).await?.into_iter().collect(), Default::default()));
    }
    // The entries read at once, as the matrix reads them.
    let entries = top.view.entries().into_iter().filter(|e| !e.is_attestation).map(|e| async move {
        let child = fetcher.manifest(repo, &e.descriptor.digest).await?;
        image(e.descriptor.platform.as_ref().map(Platform::key), child).await
    });
    let sides = futures::future::try_join_all(entries).await?.into_iter().flatten().collect();
    Ok((sides, top.view.annotations.clone()))
}

/// Compare `a` (before) with `b` (after), each read by its own fetcher; only `platform` when
/// given (matched as the runtime matches a host: the best entry of each side).
pub async fn diff(fa: &Fetcher, a: &Reference, fb: &Fetcher, b: &Reference, platform: Option<&Platform>) -> Result<Diff, RegistryError> {
    let ((sa, ann_a), (sb, ann_b)) = futures::try_join!(sides(fa, a), sides(fb, b))?;
    let pick = |sides: Vec<Side>| -> Vec<Side> {
        let Some(p) = platform else { return sides };
        let platforms: Vec<Platform> = sides.iter().map(|s| Platform::parse_key(&s.key).unwrap_or_default()).collect();
        let best = crate::model::platform::Matcher::only(p).select(&platforms);
        best.and_then(|i| sides.into_iter().nth(i)).into_iter().collect()
    };
    let (sa, sb) = (pick(sa), pick(sb));
    let norm = |k: &str| Platform::parse_key(k).map(|p| p.normalize().key()).unwrap_or_else(|_| k.to_string());
    let mut platforms = Vec::new();
    let mut added = Vec::new();
    for after in &sb {
        // With one platform asked for, the two picks are compared whatever their keys.
        let before = if platform.is_some() { sa.first() } else { sa.iter().find(|s| norm(&s.key) == norm(&after.key)) };
        match before {
            Some(before) => platforms.push(PlatformDiff {
                platform: after.key.clone(),
                before: before.digest.clone(),
                after: after.digest.clone(),
                layers: crate::model::diff::layers(&before.layers, &after.layers),
                config: crate::model::diff::config(&before.config, &after.config),
            }),
            None => added.push(after.key.clone()),
        }
    }
    let removed = if platform.is_some() && !sb.is_empty() {
        Vec::new()
    } else {
        sa.iter().filter(|s| !sb.iter().any(|t| norm(&t.key) == norm(&s.key))).map(|s| s.key.clone()).collect()
    };
    Ok(Diff {
        before: a.to_string(),
        after: b.to_string(),
        platforms,
        removed_platforms: removed,
        added_platforms: added,
        annotations: crate::model::diff::annotations(&ann_a, &ann_b),
    })
}
