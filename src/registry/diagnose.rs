//! Gathering the facts for a diagnosis: the index, the selected image's config and, when asked,
//! its entrypoint binary from the layers.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::model::diagnose::{Candidate, Diagnosis, Facts, FindingKind, Host, diagnose, select};
use crate::model::platform::Platform;
use crate::model::reference::Reference;

use super::error::RegistryError;
use super::fetch::Fetcher;
use super::layers::examine;

#[derive(Debug, Clone, Copy)]
pub struct DiagnoseOptions {
    /// Read the layers to find the entrypoint binary.
    pub deep: bool,
    /// Cap on compressed layer bytes read.
    pub max_bytes: u64,
}

/// Diagnose `reference` for `host`. `bytes` (if given) counts layer bytes as they stream, for
/// progress.
pub async fn run(
    fetcher: &Fetcher,
    reference: &Reference,
    host: &Host,
    opts: DiagnoseOptions,
    bytes: Option<Arc<AtomicU64>>,
) -> Result<Diagnosis, RegistryError> {
    let repo = reference.repository.name.as_str();
    let top = fetcher.resolve_reference(reference).await?;
    let shown = reference.to_string();
    let not_image = |what: &str| RegistryError::Other { detail: format!("{shown} is {what}, not an image or an index of images") };
    let (is_index, candidates, image) = if top.view.kind.is_index() {
        let candidates: Vec<Candidate> = top
            .view
            .entries()
            .into_iter()
            .filter(|e| !e.is_attestation)
            .filter_map(|e| e.descriptor.platform.clone().map(|platform| Candidate { digest: e.descriptor.digest, platform }))
            .collect();
        (true, candidates, None)
    } else if top.view.kind.is_image() {
        let Some(c) = &top.view.config else { return Err(not_image("an image without a config")) };
        let (_, cfg) = fetcher.config(repo, c).await?;
        let candidates = vec![Candidate { digest: top.digest.clone(), platform: cfg.platform.clone() }];
        (false, candidates, Some((top.clone(), cfg)))
    } else {
        return Err(not_image(top.view.kind.label()));
    };
    let (selected, _) = select(host, &candidates);
    let mut selected_config = None;
    let mut binary = None;
    let mut bytes_read = 0;
    let mut partial = Vec::new();
    if let Some(chosen) = selected.and_then(|i| candidates.get(i).cloned()) {
        let (manifest, cfg) = match image {
            Some(pair) => pair,
            None => {
                let child = fetcher.manifest(repo, &chosen.digest).await?;
                let Some(c) = child.view.config.clone().filter(|_| child.view.kind.is_image()) else {
                    return Err(not_image(&format!("an index whose {} entry is {}", chosen.platform, child.view.kind.label())));
                };
                let (_, cfg) = fetcher.config(repo, &c).await?;
                (child, cfg)
            }
        };
        if opts.deep {
            let (facts, read, read_in_part) = examine(fetcher.store().clone(), repo, &manifest.view.layers, &cfg, opts.max_bytes, bytes).await?;
            binary = Some(facts);
            bytes_read = read;
            partial = read_in_part;
        }
        selected_config = Some(cfg.platform.clone());
    }
    let mut d = diagnose(&Facts {
        reference: &shown,
        host,
        is_index,
        candidates: &candidates,
        selected_config: selected_config.as_ref(),
        binary: binary.as_ref(),
        bytes_read,
    });
    d.partly_verified = partial;
    Ok(d)
}

/// The fix a diagnosis of the index `reference` proposes, as a compose draft over that index
/// (everything else kept as it is), and what it does in words. `None`: nothing to repair as a
/// draft (not an index, or no finding with such a fix).
///
/// In order of preference: a mislabelled entry is relabelled (what its config says); an entry
/// whose program cannot run is replaced by an image of the same version for that platform (a
/// per-architecture tag such as `1.2-arm64`, or another tag's entry with the same
/// `org.opencontainers.image.version` or `revision`) whose config and exec chain check out;
/// else the entry is dropped. Dropping the only runnable entry, or an empty index, is never
/// proposed: then an image of another version is taken, with a warning in the draft naming its
/// tag and version. A host with no entry gets one added the same way.
pub async fn repair_draft(
    fetcher: &Fetcher,
    reference: &Reference,
    d: &Diagnosis,
) -> Result<Option<(crate::model::compose::IndexDraft, Vec<String>)>, RegistryError> {
    let kinds: Vec<FindingKind> = d.findings.iter().map(|f| f.kind).collect();
    let config = d.config.as_deref().and_then(|c| Platform::parse_key(c).ok());
    let top = fetcher.resolve_reference(reference).await?;
    if !top.view.kind.is_index() {
        return Ok(None);
    }
    // The index just resolved is the draft's base: not asked for a second time.
    let mut draft = super::compose::base_draft_of(fetcher, reference, &top, true).await?;
    let mut done = Vec::new();
    let repo = reference.repository.name.as_str();
    match &d.selected {
        Some(selected) if kinds.contains(&FindingKind::ConfigMismatch) => {
            done = draft.repair(&selected.digest, &kinds, config.as_ref());
        }
        Some(selected) if kinds.iter().any(|k| k.program_cannot_run()) => {
            let Ok(label) = Platform::parse_key(&selected.platform) else { return Ok(None) };
            let version = image_version(fetcher, repo, &top, &selected.digest).await;
            let found = replacement(fetcher, reference, &label, &selected.digest, version.as_ref()).await?;
            match found {
                Some(r) if r.same_version => {
                    draft.remove_digest(&selected.digest);
                    done.push(format!(
                        "replace the {} entry {} with {} from tag {} ({}; its config and exec chain run on {})",
                        label.key(),
                        selected.digest.short(),
                        r.entry.digest.short(),
                        r.tag,
                        r.why,
                        label.key()
                    ));
                    draft.entries.push(r.entry);
                }
                other => {
                    done = draft.repair(&selected.digest, &kinds, None);
                    if done.is_empty()
                        && let Some(r) = other
                    {
                        let warning = format!(
                            "the {} entry is replaced by the image of tag {} (version {}), not of {} itself (version {}): the pushed tag mixes versions across architectures",
                            label.key(),
                            r.tag,
                            r.version.as_deref().unwrap_or("unknown"),
                            reference.tag.as_deref().unwrap_or("this tag"),
                            version.as_ref().map(|v| v.shown()).unwrap_or_else(|| "unknown".into())
                        );
                        draft.remove_digest(&selected.digest);
                        done.push(format!(
                            "replace the {} entry {} with {} from tag {}. WARNING: {warning}",
                            label.key(),
                            selected.digest.short(),
                            r.entry.digest.short(),
                            r.tag
                        ));
                        draft.warnings.push(warning);
                        draft.entries.push(r.entry);
                    }
                }
            }
        }
        None if kinds.contains(&FindingKind::NoMatch) => {
            if let Ok(host) = Platform::parse_key(&d.host) {
                let version = index_version(&top);
                if let Some(r) = replacement(fetcher, reference, &host, &top.digest, version.as_ref()).await? {
                    let mut line = format!("add a {} entry: {} from tag {} ({})", host.key(), r.entry.digest.short(), r.tag, r.why);
                    if !r.same_version {
                        let warning = format!(
                            "the added {} entry comes from tag {} (version {}), not from {} itself: the pushed tag mixes versions across architectures",
                            host.key(),
                            r.tag,
                            r.version.as_deref().unwrap_or("unknown"),
                            reference.tag.as_deref().unwrap_or("this tag")
                        );
                        line.push_str(&format!(". WARNING: {warning}"));
                        draft.warnings.push(warning);
                    }
                    done.push(line);
                    draft.entries.push(r.entry);
                }
            }
        }
        _ => {}
    }
    Ok((!done.is_empty()).then_some((draft, done)))
}

/// The version an image says it is: `org.opencontainers.image.version` and `revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    version: Option<String>,
    revision: Option<String>,
}

impl Version {
    fn of(map: &std::collections::BTreeMap<String, String>) -> Option<Version> {
        let v = Version { version: map.get("org.opencontainers.image.version").cloned(), revision: map.get("org.opencontainers.image.revision").cloned() };
        (v.version.is_some() || v.revision.is_some()).then_some(v)
    }

    fn matches(&self, other: &Version) -> bool {
        matches!((&self.revision, &other.revision), (Some(a), Some(b)) if a == b) || matches!((&self.version, &other.version), (Some(a), Some(b)) if a == b)
    }

    fn shown(&self) -> String {
        match (&self.version, &self.revision) {
            (Some(v), _) => v.clone(),
            (None, Some(r)) => format!("revision {r}"),
            (None, None) => "unknown".into(),
        }
    }
}

fn index_version(top: &super::fetch::Manifest) -> Option<Version> {
    Version::of(&top.view.annotations)
}

/// The version of the index entry `digest`: its descriptor's annotations, the image manifest's,
/// its config's labels, or the index's own.
async fn image_version(fetcher: &Fetcher, repo: &str, top: &super::fetch::Manifest, digest: &crate::model::digest::Digest) -> Option<Version> {
    if let Some(v) = top.view.manifests.iter().find(|m| &m.digest == digest).and_then(|m| Version::of(&m.annotations)) {
        return Some(v);
    }
    if let Ok(m) = fetcher.manifest(repo, digest).await {
        if let Some(v) = Version::of(&m.view.annotations) {
            return Some(v);
        }
        if let Some(c) = m.view.config.clone()
            && let Ok((_, cfg)) = fetcher.config(repo, &c).await
            && let Some(v) = Version::of(&cfg.labels)
        {
            return Some(v);
        }
    }
    index_version(top)
}

/// The image `digest` names in `repo`, and its config; `None` when it is no image with a config.
async fn image_and_config(
    fetcher: &Fetcher,
    repo: &str,
    digest: &crate::model::digest::Digest,
) -> Result<Option<(super::fetch::Manifest, crate::model::manifest::ImageConfig)>, RegistryError> {
    let m = fetcher.manifest(repo, digest).await?;
    let Some(c) = m.view.config.clone().filter(|_| m.view.kind.is_image()) else { return Ok(None) };
    let (_, cfg) = fetcher.config(repo, &c).await?;
    Ok(Some((m, cfg)))
}

/// A replacement found for a platform.
struct Replacement {
    tag: String,
    entry: crate::model::compose::DraftEntry,
    same_version: bool,
    version: Option<String>,
    why: String,
}

/// Tags searched for a replacement image.
const MAX_TAGS_SEARCHED: usize = 50;

/// Architecture names tags use for a platform (`arm64`, `aarch64`, `arm64v8` …).
fn arch_tokens(p: &Platform) -> Vec<String> {
    let n = p.normalize();
    let mut t = vec![n.architecture.clone()];
    match n.architecture.as_str() {
        "arm64" => t.extend(["aarch64".into(), "arm64v8".into()]),
        "amd64" => t.extend(["x86_64".into(), "x86-64".into(), "x64".into()]),
        "arm" => t.extend([format!("arm{}", n.variant), format!("arm32{}", n.variant), "armhf".to_string()]),
        "386" => t.extend(["i386".into(), "x86".into()]),
        _ => {}
    }
    t
}

/// Is `tag` a per-architecture tag of `of` for platform `p` (`1.2-arm64`, `arm64-1.2`)?
fn per_arch_tag(tag: &str, of: &str, p: &Platform) -> bool {
    if tag == of || of.is_empty() {
        return false;
    }
    let rest =
        tag.strip_prefix(of).and_then(|r| r.strip_prefix(['-', '_', '.'])).or_else(|| tag.strip_suffix(of).and_then(|r| r.strip_suffix(['-', '_', '.'])));
    rest.is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        arch_tokens(p).iter().any(|a| r == *a || r.ends_with(&format!("-{a}")) || r.ends_with(&format!("_{a}")) || r == format!("linux-{a}"))
    })
}

/// An image for `platform` from another tag of the repository (not `exclude`) whose config
/// says that platform and whose exec chain runs on a host of that platform: first a
/// per-architecture tag of the same version, then any tag whose image has the same version,
/// then (marked as another version) the newest other tag.
async fn replacement(
    fetcher: &Fetcher,
    reference: &Reference,
    platform: &Platform,
    exclude: &crate::model::digest::Digest,
    version: Option<&Version>,
) -> Result<Option<Replacement>, RegistryError> {
    let repo = reference.repository.name.as_str();
    let this = reference.tag.clone().unwrap_or_default();
    let mut tags: Vec<String> = fetcher.store().tags(repo).await?.into_iter().filter(|t| *t != this).collect();
    // Per-architecture tags of this one first, then the rest newest version first.
    tags.sort_by(|a, b| per_arch_tag(b, &this, platform).cmp(&per_arch_tag(a, &this, platform)).then_with(|| crate::model::matrix::version_order(b, a)));
    let Ok(host) = Host::parse(&platform.key()) else { return Ok(None) };
    let mut tried = std::collections::HashSet::new();
    let mut fallback: Option<Replacement> = None;
    for tag in tags.into_iter().take(MAX_TAGS_SEARCHED) {
        let Ok(top) = fetcher.resolve(repo, &tag).await else { continue };
        let candidates: Vec<(crate::model::digest::Digest, Option<Version>)> = if top.view.kind.is_index() {
            top.view
                .manifests
                .iter()
                .filter(|m| m.platform.as_ref().is_some_and(|p| p.key() == platform.key()))
                .map(|m| (m.digest.clone(), Version::of(&m.annotations).or_else(|| index_version(&top))))
                .collect()
        } else {
            vec![(top.digest.clone(), None)]
        };
        for (digest, entry_version) in candidates.into_iter().filter(|(c, _)| c != exclude) {
            if !tried.insert(digest.clone()) {
                continue;
            }
            let Ok(Some((m, cfg))) = image_and_config(fetcher, repo, &digest).await else { continue };
            if crate::model::platform::config_contradicts(platform, &cfg.platform) {
                continue;
            }
            let Ok((facts, _, _)) = examine(fetcher.store().clone(), repo, &m.view.layers, &cfg, super::layers::DEFAULT_MAX_BYTES, None).await else {
                continue;
            };
            let cand = [Candidate { digest: digest.clone(), platform: platform.clone() }];
            let judged = diagnose(&Facts {
                reference: &tag,
                host: &host,
                is_index: true,
                candidates: &cand,
                selected_config: Some(&cfg.platform),
                binary: Some(&facts),
                bytes_read: 0,
            });
            if judged.verdict != crate::model::diagnose::Verdict::Ok {
                continue;
            }
            let theirs = entry_version.or_else(|| Version::of(&m.view.annotations)).or_else(|| Version::of(&cfg.labels));
            let same = per_arch_tag(&tag, &this, platform) || matches!((version, &theirs), (Some(a), Some(b)) if a.matches(b));
            let why = if per_arch_tag(&tag, &this, platform) {
                format!("the per-architecture tag of {this}")
            } else if same {
                format!("the same version, {}", theirs.as_ref().map(Version::shown).unwrap_or_default())
            } else {
                format!("another version, {}", theirs.as_ref().map(Version::shown).unwrap_or_else(|| "unknown".into()))
            };
            let source = reference.repository.digest_reference(&digest);
            let mut entries = super::compose::draft_entries(fetcher, &source, false).await?;
            let Some(mut entry) = entries.pop() else { continue };
            entry.platform = platform.clone();
            let r = Replacement { tag: tag.clone(), entry, same_version: same, version: theirs.as_ref().map(Version::shown), why };
            if same {
                return Ok(Some(r));
            }
            if fallback.is_none() {
                fallback = Some(r);
            }
        }
    }
    Ok(fallback)
}

/// The entry `host` would run among `cells` (a matrix or coverage row's), with its exec chain
/// read from the layers (at most `max_bytes`) and judged for that host as a diagnosis would:
/// its key and verdict ([`Verified::Unknown`] with the reason when it could not be checked,
/// never a silent pass). `None` when the host runs nothing there.
///
/// [`Verified::Unknown`]: crate::model::matrix::Verified::Unknown
pub async fn check_pick(
    fetcher: &Fetcher,
    repo: &str,
    cells: &std::collections::BTreeMap<String, crate::model::matrix::Cell>,
    host: &Host,
    max_bytes: u64,
) -> Option<(String, crate::model::matrix::Verified)> {
    use crate::model::matrix::Verified;
    let candidates: Vec<(String, Candidate)> =
        cells.iter().filter_map(|(k, c)| Some((k.clone(), Candidate { digest: c.digest.clone(), platform: Platform::parse_key(k).ok()? }))).collect();
    let only: Vec<Candidate> = candidates.iter().map(|(_, c)| c.clone()).collect();
    let picked = select(host, &only).0?;
    let (key, cand) = candidates.get(picked)?;
    let verdict = async {
        let (m, cfg) = image_and_config(fetcher, repo, &cand.digest).await.map_err(|e| e.to_string())?.ok_or("the entry is not an image with a config")?;
        let (facts, _, _) = examine(fetcher.store().clone(), repo, &m.view.layers, &cfg, max_bytes, None).await.map_err(|e| e.to_string())?;
        let d = diagnose(&Facts {
            reference: "",
            host,
            is_index: true,
            candidates: &only,
            selected_config: Some(&cfg.platform),
            binary: Some(&facts),
            bytes_read: 0,
        });
        Ok::<_, String>(verified_of(&d))
    }
    .await;
    Some((key.clone(), verdict.unwrap_or_else(|reason| Verified::Unknown { reason })))
}

/// Mark `cell` with a binary check's `verdict` unless it passed, or a label check already
/// failed (that stays the cell's word). Whether it was marked.
pub fn mark_cell(cell: &mut crate::model::matrix::Cell, verdict: &crate::model::matrix::Verified) -> bool {
    use crate::model::matrix::Verified;
    if *verdict == Verified::Ok || matches!(cell.verified, Some(Verified::ConfigMismatch { .. })) {
        return false;
    }
    cell.verified = Some(verdict.clone());
    true
}

/// Deep verification of a matrix: for each row, [`check_pick`] for `host`. Cells marked are
/// returned as (tag, entry digest, verdict).
pub async fn verify_binaries(
    fetcher: &Fetcher,
    matrix: &mut crate::model::matrix::Matrix,
    host: &Host,
    max_bytes: u64,
) -> Vec<(String, crate::model::digest::Digest, crate::model::matrix::Verified)> {
    use futures::StreamExt as _;
    let Ok(repo) = crate::model::reference::Repository::parse(&matrix.repository).map(|r| r.name) else { return Vec::new() };
    // Owned cells: a stream of borrowed rows would not be Send for every lifetime.
    let rows: Vec<(usize, std::collections::BTreeMap<String, crate::model::matrix::Cell>)> =
        matrix.rows.iter().enumerate().map(|(i, r)| (i, r.cells.clone())).collect();
    let repo = repo.as_str();
    let checked: Vec<(usize, Option<(String, crate::model::matrix::Verified)>)> = futures::stream::iter(rows)
        .map(|(i, cells)| async move { (i, check_pick(fetcher, repo, &cells, host, max_bytes).await) })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut marked = Vec::new();
    for (i, found) in checked {
        let Some((key, verdict)) = found else { continue };
        if let Some(row) = matrix.rows.get_mut(i)
            && let Some(cell) = row.cells.get_mut(&key)
            && mark_cell(cell, &verdict)
        {
            marked.push((row.tag.clone(), cell.digest.clone(), verdict));
        }
    }
    marked
}

/// What a diagnosis of a cell says of it, as a matrix mark.
fn verified_of(d: &Diagnosis) -> crate::model::matrix::Verified {
    use crate::model::matrix::Verified;
    let first = |k: FindingKind| d.findings.iter().find(|f| f.kind == k);
    if let Some(f) = first(FindingKind::BinaryMismatch).or_else(|| first(FindingKind::ArmLevel)) {
        let binary = d.chain.iter().rev().find_map(|s| s.architecture.clone()).unwrap_or_default();
        let path = d.binary.as_ref().map(|b| b.path.clone()).unwrap_or_else(|| f.message.clone());
        return Verified::BinaryMismatch { binary, path };
    }
    // A program of another architecture than its entry that the host runs only emulated (an
    // amd64 binary in the arm64 entry, on a Mac with Rosetta): it starts, but the label lies
    // and the pick is not native.
    let binary = d.chain.iter().rev().find_map(|s| s.architecture.clone());
    let entry = d.selected.as_ref().and_then(|s| Platform::parse_key(&s.platform).ok()).map(|p| p.normalize().architecture);
    if first(FindingKind::Emulation).is_some()
        && first(FindingKind::BinaryLabel).is_none()
        && let (Some(binary), Some(entry)) = (binary, entry)
        && binary != entry
    {
        let path = d.binary.as_ref().map(|b| b.path.clone()).unwrap_or_default();
        return Verified::BinaryMismatch { binary, path };
    }
    if let Some(f) = first(FindingKind::BrokenEntrypoint) {
        return Verified::CannotStart { reason: f.message.clone() };
    }
    if let Some(f) = first(FindingKind::Unknown) {
        return Verified::Unknown { reason: format!("{}: {}", f.message, f.evidence) };
    }
    Verified::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_architecture_tags_are_recognised() {
        let arm64 = Platform::parse_key("linux/arm64").unwrap();
        assert!(per_arch_tag("1.2-arm64", "1.2", &arm64));
        assert!(per_arch_tag("1.2-linux-arm64", "1.2", &arm64));
        assert!(per_arch_tag("1.2_aarch64", "1.2", &arm64));
        assert!(per_arch_tag("arm64v8-1.2", "1.2", &arm64));
        assert!(!per_arch_tag("1.2-amd64", "1.2", &arm64));
        assert!(!per_arch_tag("1.20-arm64", "1.2", &arm64), "another version");
        assert!(!per_arch_tag("1.2", "1.2", &arm64));
        let v7 = Platform::parse_key("linux/arm/v7").unwrap();
        assert!(per_arch_tag("1.2-armv7", "1.2", &v7) && per_arch_tag("1.2-arm32v7", "1.2", &v7));
    }
}
