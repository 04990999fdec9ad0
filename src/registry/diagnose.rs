//! Gathering the facts for a diagnosis: the index, the selected image's config and, when asked,
//! its entrypoint binary from the layers.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::model::diagnose::{Candidate, Diagnosis, Facts, Host, diagnose, select};
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
            let (facts, read, read_in_part) = examine(fetcher.source().clone(), repo, &manifest.view.layers, &cfg, opts.max_bytes, bytes).await?;
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
/// A mislabelled entry is relabelled (or dropped when its platform is taken). An entry whose
/// program cannot run is replaced by an image of the same platform from another tag of the
/// repository whose config and entrypoint binary agree, else dropped. A host with no entry
/// gets one added from another tag, when one there runs on it.
pub async fn repair_draft(
    fetcher: &Fetcher,
    reference: &Reference,
    d: &Diagnosis,
) -> Result<Option<(crate::model::compose::IndexDraft, Vec<String>)>, RegistryError> {
    let kinds: Vec<&str> = d.findings.iter().map(|f| f.kind.as_str()).collect();
    let config = d.config.as_deref().and_then(|c| crate::model::platform::Platform::parse_key(c).ok());
    let top = fetcher.resolve_reference(reference).await?;
    if !top.view.kind.is_index() {
        return Ok(None);
    }
    // The index just resolved is the draft's base: not asked for a second time.
    let mut draft = super::compose::base_draft_of(fetcher, reference, &top, true).await?;
    let mut done = Vec::new();
    match &d.selected {
        Some(selected) => {
            let broken = kinds.iter().any(|k| matches!(*k, "binary-mismatch" | "broken-entrypoint")) && !kinds.contains(&"config-mismatch");
            let label = crate::model::platform::Platform::parse_key(&selected.platform).ok();
            if let (true, Some(label)) = (broken, label)
                && let Some((tag, entry)) = matching_image(fetcher, reference, &label, &selected.digest).await?
            {
                draft.remove_digest(&selected.digest);
                done.push(format!(
                    "replace the {} entry {} with {} from tag {tag} (its config and entrypoint binary are {})",
                    label.key(),
                    selected.digest.short(),
                    entry.digest.short(),
                    label.key()
                ));
                draft.entries.push(entry);
            }
            if done.is_empty() {
                done = draft.repair(&selected.digest, &kinds, config.as_ref());
            }
        }
        None if kinds.contains(&"no-match") => {
            if let Ok(host) = crate::model::platform::Platform::parse_key(&d.host)
                && let Some((tag, entry)) = matching_image(fetcher, reference, &host, &top.digest).await?
            {
                done.push(format!("add a {} entry: {} from tag {tag} (its config and entrypoint binary are {})", host.key(), entry.digest.short(), host.key()));
                draft.entries.push(entry);
            }
        }
        None => {}
    }
    Ok((!done.is_empty()).then_some((draft, done)))
}

/// Tags searched for a replacement image, newest names first.
const MAX_TAGS_SEARCHED: usize = 50;

/// An image for `platform` from another tag of the repository (not `exclude`) whose config
/// says that platform and whose entrypoint binary is built for it: the tag and a draft entry.
async fn matching_image(
    fetcher: &Fetcher,
    reference: &Reference,
    platform: &crate::model::platform::Platform,
    exclude: &crate::model::digest::Digest,
) -> Result<Option<(String, crate::model::compose::DraftEntry)>, RegistryError> {
    let repo = reference.repository.name.as_str();
    let mut tags = fetcher.source().tags(repo).await?;
    tags.sort();
    tags.reverse();
    let mut tried = std::collections::HashSet::new();
    for tag in tags.into_iter().filter(|t| Some(t) != reference.tag.as_ref()).take(MAX_TAGS_SEARCHED) {
        let Ok(top) = fetcher.resolve(repo, &tag).await else { continue };
        let candidates: Vec<crate::model::digest::Digest> = if top.view.kind.is_index() {
            top.view
                .entries()
                .into_iter()
                .filter(|e| !e.is_attestation && e.descriptor.platform.as_ref().is_some_and(|p| p.key() == platform.key()))
                .map(|e| e.descriptor.digest)
                .collect()
        } else {
            vec![top.digest.clone()]
        };
        for digest in candidates.into_iter().filter(|c| c != exclude) {
            if !tried.insert(digest.clone()) {
                continue;
            }
            let Ok(m) = fetcher.manifest(repo, &digest).await else { continue };
            let Some(c) = m.view.config.clone().filter(|_| m.view.kind.is_image()) else { continue };
            let Ok((_, cfg)) = fetcher.config(repo, &c).await else { continue };
            if crate::model::platform::config_contradicts(platform, &cfg.platform) {
                continue;
            }
            let Ok((facts, _, _)) = examine(fetcher.source().clone(), repo, &m.view.layers, &cfg, super::layers::DEFAULT_MAX_BYTES, None).await else {
                continue;
            };
            let runs = matches!(&facts, crate::model::diagnose::BinaryFacts::Found { id, .. }
                if id.problem.is_none() && id.architecture.as_deref() == Some(platform.normalize().architecture.as_str()));
            if !runs {
                continue;
            }
            let source = reference.repository.digest_reference(&digest);
            let mut entries = super::compose::draft_entries(fetcher, &source, false).await?;
            if let Some(mut entry) = entries.pop() {
                entry.platform = platform.clone();
                return Ok(Some((tag, entry)));
            }
        }
    }
    Ok(None)
}

/// Deep verification of a matrix: for each row, the entry `host` would run has its entrypoint
/// binary read from the layers (at most `max_bytes` per image) and compared with the entry's
/// architecture. A cell whose binary disagrees becomes [`Verified::BinaryMismatch`]; those
/// cells are returned as (tag, entry digest, verdict).
pub async fn verify_binaries(
    fetcher: &Fetcher,
    matrix: &mut crate::model::matrix::Matrix,
    host: &Host,
    max_bytes: u64,
) -> Vec<(String, crate::model::digest::Digest, crate::model::matrix::Verified)> {
    use crate::model::matrix::Verified;
    use futures::StreamExt as _;
    let repo = match matrix.rows.first() {
        Some(_) => crate::model::reference::Repository::parse(&matrix.repository).map(|r| r.name).unwrap_or_default(),
        None => return Vec::new(),
    };
    let picks: Vec<(usize, String, Candidate)> = matrix
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let candidates: Vec<(String, Candidate)> = row
                .cells
                .iter()
                .filter_map(|(k, c)| {
                    let platform = crate::model::platform::Platform::parse_key(k).ok()?;
                    Some((k.clone(), Candidate { digest: c.digest.clone(), platform }))
                })
                .collect();
            let only: Vec<Candidate> = candidates.iter().map(|(_, c)| c.clone()).collect();
            let (picked, _) = select(host, &only);
            let (key, cand) = candidates.into_iter().nth(picked?)?;
            Some((i, key, cand))
        })
        .collect();
    let repo = repo.as_str();
    let checked: Vec<(usize, String, Option<Verified>)> = futures::stream::iter(picks)
        .map(|(i, key, cand)| async move {
            let verdict = async {
                let m = fetcher.manifest(repo, &cand.digest).await.ok()?;
                let c = m.view.config.clone()?;
                let (_, cfg) = fetcher.config(repo, &c).await.ok()?;
                let (facts, _, _) = super::layers::examine(fetcher.source().clone(), repo, &m.view.layers, &cfg, max_bytes, None).await.ok()?;
                match facts {
                    crate::model::diagnose::BinaryFacts::Found { path, id, .. } => match id.architecture {
                        Some(arch) if arch != cand.platform.normalize().architecture => Some(Verified::BinaryMismatch { binary: arch, path }),
                        _ => None,
                    },
                    crate::model::diagnose::BinaryFacts::Unknown { .. } => None,
                }
            }
            .await;
            (i, key, verdict)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut marked = Vec::new();
    for (i, key, verdict) in checked {
        if let (Some(v), Some(row)) = (verdict, matrix.rows.get_mut(i))
            && let Some(cell) = row.cells.get_mut(&key)
        {
            cell.verified = Some(v.clone());
            marked.push((row.tag.clone(), cell.digest.clone(), v));
        }
    }
    marked
}
