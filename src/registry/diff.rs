//! `archlens diff A B`: two tags (or images, of any registries or layout folders) compared per
//! platform, from the manifests and configs through the cache like every other read.

use crate::model::diff::{Diff, FilesDiff, FilesRead, PlatformDiff};
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
    /// The index entry's annotations (none for a single image).
    annotations: std::collections::BTreeMap<String, String>,
}

/// What to compare.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Only the entry a host of this platform would pick, on each side.
    pub platform: Option<Platform>,
    /// Also the files, from the layers the two sides do not share.
    pub files: bool,
    /// Cap on compressed bytes of layers read for files.
    pub max_bytes: u64,
}

/// The images of `reference`, one per platform (an index's entries but its attestations; a
/// single image as its config says), and the index's annotations.
async fn sides(fetcher: &Fetcher, reference: &Reference) -> Result<(Vec<Side>, std::collections::BTreeMap<String, String>), RegistryError> {
    let repo = reference.repository.name.as_str();
    let top = fetcher.resolve_reference(reference).await?;
    // One image: its layers and config, under the entry's platform or else its config's.
    let image = |key: Option<String>, annotations: std::collections::BTreeMap<String, String>, m: super::fetch::Manifest| async move {
        let Some(c) = m.view.config.clone() else { return Ok(None) };
        let (bytes, cfg) = fetcher.config(repo, &c).await?;
        let key = key.unwrap_or_else(|| cfg.platform.key());
        Ok::<_, RegistryError>(Some(Side { key, digest: m.digest.to_string(), layers: m.view.layers.clone(), config: bytes.to_vec(), annotations }))
    };
    if !top.view.kind.is_index() {
        return Ok((image(None, Default::default(), top).await?.into_iter().collect(), Default::default()));
    }
    // The entries read at once, as the matrix reads them.
    let entries = top.view.entries().into_iter().filter(|e| !e.is_attestation).map(|e| async move {
        let child = fetcher.manifest(repo, &e.descriptor.digest).await?;
        image(e.descriptor.platform.as_ref().map(Platform::key), e.descriptor.annotations.clone(), child).await
    });
    let sides = futures::future::try_join_all(entries).await?.into_iter().flatten().collect();
    Ok((sides, top.view.annotations.clone()))
}

/// Compare `a` (before) with `b` (after), each read by its own fetcher; only `platform` when
/// given (matched as the runtime matches a host: the best entry of each side).
pub async fn diff(fa: &Fetcher, a: &Reference, fb: &Fetcher, b: &Reference, options: &DiffOptions) -> Result<Diff, RegistryError> {
    let platform = options.platform.as_ref();
    let ((sa, ann_a), (sb, ann_b)) = futures::try_join!(sides(fa, a), sides(fb, b))?;
    let pick = |sides: Vec<Side>| -> Vec<Side> {
        let Some(p) = platform else { return sides };
        let platforms: Vec<Platform> = sides.iter().map(|s| Platform::parse_key(&s.key).unwrap_or_default()).collect();
        let best = crate::model::platform::Matcher::only(p).select(&platforms);
        best.and_then(|i| sides.into_iter().nth(i)).into_iter().collect()
    };
    let (sa, sb) = (pick(sa), pick(sb));
    let mut platforms = Vec::new();
    let mut pairs = Vec::new();
    let mut added = Vec::new();
    for after in &sb {
        // With one platform asked for, the two picks are compared whatever their keys.
        let before = if platform.is_some() { sa.first() } else { sa.iter().find(|s| pairing_key(&s.key) == pairing_key(&after.key)) };
        match before {
            Some(before) => {
                platforms.push(PlatformDiff {
                    platform: after.key.clone(),
                    before: before.digest.clone(),
                    after: after.digest.clone(),
                    layers: crate::model::diff::layers(&before.layers, &after.layers),
                    config: crate::model::diff::config(&before.config, &after.config),
                    annotations: crate::model::diff::annotations(&before.annotations, &after.annotations),
                    files: None,
                });
                pairs.push((before, after));
            }
            None => added.push(after.key.clone()),
        }
    }
    let removed = if platform.is_some() && !sb.is_empty() {
        Vec::new()
    } else {
        sa.iter().filter(|s| !sb.iter().any(|t| pairing_key(&t.key) == pairing_key(&s.key))).map(|s| s.key.clone()).collect()
    };
    let files_read = if options.files { Some(files(fa, a, fb, b, &pairs, &mut platforms, options.max_bytes).await?) } else { None };
    Ok(Diff {
        files_read,
        before: a.to_string(),
        after: b.to_string(),
        platforms,
        removed_platforms: removed,
        added_platforms: added,
        annotations: crate::model::diff::annotations(&ann_a, &ann_b),
    })
}

/// What pairs two index entries across releases: the normalised platform (`linux/arm64/v8` is
/// `linux/arm64`), with a Windows `os.version`'s revision dropped, since it changes with every
/// monthly update while a host of that release runs either (the matrix groups its columns the
/// same way).
fn pairing_key(key: &str) -> String {
    let normal = Platform::parse_key(key).map(|p| p.normalize().key()).unwrap_or_else(|_| key.to_string());
    Platform::release_column(&normal).0
}

/// Compare each pair's files (`platforms[i]` is `pairs[i]`), reading every layer above the
/// shared base once, whichever pairs and sides need it, a few at a time.
async fn files(
    fa: &Fetcher,
    a: &Reference,
    fb: &Fetcher,
    b: &Reference,
    pairs: &[(&Side, &Side)],
    platforms: &mut [PlatformDiff],
    max_bytes: u64,
) -> Result<FilesRead, RegistryError> {
    use crate::model::files::{Listing, compare, shared_base};
    use futures::StreamExt as _;
    let digests = |s: &Side| s.layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>();
    // Each distinct layer above a shared base, with the side that can read it.
    let mut needed: std::collections::BTreeMap<String, (bool, Descriptor)> = std::collections::BTreeMap::new();
    let mut bases = Vec::new();
    for (before, after) in pairs {
        let base = shared_base(&digests(before), &digests(after));
        bases.push(base);
        for l in before.layers.iter().skip(base) {
            needed.entry(l.digest.to_string()).or_insert((false, l.clone()));
        }
        for l in after.layers.iter().skip(base) {
            needed.entry(l.digest.to_string()).or_insert((true, l.clone()));
        }
    }
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut read = FilesRead { layers: needed.len(), layer_bytes: needed.values().map(|(_, l)| l.size).sum(), ..FilesRead::default() };
    let reads = needed.into_iter().map(|(digest, (from_b, layer))| {
        let counter = counter.clone();
        async move {
            let (fetcher, repo) = if from_b { (fb, b.repository.name.as_str()) } else { (fa, a.repository.name.as_str()) };
            let (listing, kept) = fetcher.listing(repo, &layer, max_bytes, counter).await?;
            Ok::<_, RegistryError>((digest, listing, kept))
        }
    });
    let mut listings: std::collections::HashMap<String, Listing> = std::collections::HashMap::new();
    let mut stream = futures::stream::iter(reads).buffer_unordered(4);
    while let Some(r) = stream.next().await {
        let (digest, listing, kept) = r?;
        read.from_cache += usize::from(kept);
        listings.insert(digest, listing);
    }
    read.bytes = counter.load(std::sync::atomic::Ordering::Relaxed);
    for ((before, after), (p, base)) in pairs.iter().zip(platforms.iter_mut().zip(bases)) {
        let tail = |s: &Side| -> Vec<&Listing> { s.layers.iter().skip(base).filter_map(|l| listings.get(l.digest.as_str())).collect() };
        p.files = Some(FilesDiff { shared_layers: base, changes: compare(&tail(before), &tail(after)) });
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::pairing_key;

    #[test]
    fn entries_pair_across_a_windows_revision_and_an_arm64_variant_but_not_across_arm_variants() {
        assert_eq!(pairing_key("windows/amd64:10.0.17763.5122"), pairing_key("windows/amd64:10.0.17763.6054"));
        assert_ne!(pairing_key("windows/amd64:10.0.17763.5122"), pairing_key("windows/amd64:10.0.20348.2966"));
        assert_eq!(pairing_key("linux/arm64/v8"), pairing_key("linux/arm64"));
        assert_ne!(pairing_key("linux/arm/v7"), pairing_key("linux/arm/v6"));
    }
}
