//! Reading images into a draft, and pushing a draft safely: children first (blobs by mount or
//! copy, manifests by digest), then the index bytes exactly as previewed, then a check that
//! the tag resolves to them. The tag only ever moves in that last step.

use std::collections::BTreeMap;

use crate::model::compose::{DraftEntry, IndexDraft};
use crate::model::digest::Digest;
use crate::model::manifest::ManifestKind;
use crate::model::reference::{Reference, Registry};

use super::journal::{Contents, Journal, JournalEntry, Outcome, format_time};

use super::error::RegistryError;
use super::fetch::Fetcher;
use super::store::{BlobBody, Store, Written};

/// Entries for `reference`: the image itself, or every entry of an index (attestations kept
/// with their subject link when `keep_attestations`).
pub async fn draft_entries(fetcher: &Fetcher, reference: &Reference, keep_attestations: bool) -> Result<Vec<DraftEntry>, RegistryError> {
    let top = fetcher.resolve_reference(reference).await?;
    entries_of(fetcher, reference, &top, keep_attestations).await
}

/// Entries for `top`, the manifest `reference` resolved to.
async fn entries_of(fetcher: &Fetcher, reference: &Reference, top: &super::fetch::Manifest, keep_attestations: bool) -> Result<Vec<DraftEntry>, RegistryError> {
    let repo = reference.repository.name.as_str();
    let source = reference.repository.digest_reference(&top.digest);
    if top.view.kind.is_index() {
        let raw: Vec<serde_json::Value> = serde_json::from_slice::<serde_json::Value>(&top.bytes)
            .ok()
            .and_then(|v| v.get("manifests").and_then(|m| m.as_array()).cloned())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (i, e) in top.view.entries().into_iter().enumerate() {
            if e.is_attestation && !keep_attestations {
                continue;
            }
            let d = &e.descriptor;
            let child = fetcher.manifest(repo, &d.digest).await;
            let (kind, compressed, config_platform, missing) = match &child {
                Ok(m) => {
                    let cfg = match (&m.view.config, m.view.kind.is_image() && !e.is_attestation) {
                        (Some(c), true) => fetcher.config(repo, c).await.ok().map(|(_, c)| c.platform),
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
                // An entry that names no platform keeps naming none.
                platform: d.platform.clone().unwrap_or_default(),
                config_platform,
                kind,
                annotations: d.annotations.clone(),
                compressed_size: compressed,
                missing,
                raw: raw.get(i).and_then(|v| v.as_object()).cloned(),
            });
        }
        return Ok(out);
    }
    if !top.view.kind.is_image() {
        return Err(RegistryError::Other { detail: format!("{reference} is {}, not an image", top.view.kind.label()) });
    }
    let cfg = match &top.view.config {
        Some(c) => Some(fetcher.config(repo, c).await?.1.platform),
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
        raw: None,
    }])
}

/// A draft that edits the index `reference` names: its entries, annotations, media type and
/// every other field, exactly as the registry holds them.
pub async fn base_draft(fetcher: &Fetcher, reference: &Reference, keep_attestations: bool) -> Result<IndexDraft, RegistryError> {
    let top = fetcher.resolve_reference(reference).await?;
    base_draft_of(fetcher, reference, &top, keep_attestations).await
}

/// [`base_draft`] of `top`, the manifest `reference` already resolved to.
pub async fn base_draft_of(
    fetcher: &Fetcher,
    reference: &Reference,
    top: &super::fetch::Manifest,
    keep_attestations: bool,
) -> Result<IndexDraft, RegistryError> {
    if !top.view.kind.is_index() {
        return Err(RegistryError::Other { detail: format!("{reference} is {}, not an index: use it as --from, not --base", top.view.kind.label()) });
    }
    let entries = entries_of(fetcher, reference, top, keep_attestations).await?;
    let mut draft = IndexDraft::from_base(&top.bytes, entries).map_err(|problem| RegistryError::BadManifest {
        registry: reference.registry().name().to_string(),
        what: reference.to_string(),
        problem,
    })?;
    draft.base_of = reference.tag.is_some().then(|| reference.to_string());
    Ok(draft)
}

/// Check a draft read from a file against the registries it names, as a fresh compose would
/// read them: every child exists with the size and media type the draft states, and its
/// config's platform is what the entry checks compare (a draft file's own word is not taken).
/// Returns what does not match.
pub async fn verify_draft_entries(sources: &(dyn Sources + Sync), draft: &mut IndexDraft) -> Vec<String> {
    let mut problems = Vec::new();
    for e in draft.entries.iter_mut() {
        let src = e.source.repository.digest_reference(&e.digest);
        let fetcher = match sources.fetcher(&e.source.repository.registry) {
            Ok(f) => f,
            Err(err) => {
                problems.push(format!("{src}: {err}"));
                continue;
            }
        };
        match draft_entries(fetcher, &src, true).await {
            Ok(fresh) => match fresh.into_iter().find(|x| x.digest == e.digest) {
                Some(x) => {
                    if x.size != e.size {
                        problems.push(format!("{src}: the draft says {} bytes, the manifest is {} bytes", e.size, x.size));
                    }
                    if x.media_type != e.media_type {
                        problems.push(format!("{src}: the draft says media type {}, the manifest is {}", e.media_type, x.media_type));
                    }
                    e.config_platform = x.config_platform;
                }
                None => problems.push(format!("{src}: not found where the draft says it is")),
            },
            Err(err) => problems.push(format!("{src}: {err}")),
        }
    }
    problems
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
    /// Child manifests written into the target (a child already in the target repository is not).
    pub copied: usize,
    /// The journal entry of the tag move (`None`: nothing needed to change).
    pub journal_id: Option<String>,
    /// What went differently from the plan, e.g. a refused mount that became an upload.
    pub notes: Vec<String>,
}

pub use super::store::TagStore;

/// A blob into the target: nothing when it is there, a mount from another repository of the
/// same store, else a copy (streamed from the source, or `held`: the blob's bytes, already
/// read and verified, instead of reading the source again).
async fn copy_blob(
    src: &Fetcher,
    src_repo: &str,
    target: &dyn Store,
    target_repo: &str,
    (digest, size): (&Digest, u64),
    held: Option<std::sync::Arc<Vec<u8>>>,
    stats: &mut Pushed,
) -> Result<(), RegistryError> {
    let held = held.filter(|b| b.len() as u64 == size);
    let same_store = src.store().location() == target.location();
    let body = match held {
        Some(bytes) => BlobBody::Bytes(bytes::Bytes::from((*bytes).clone())),
        None => BlobBody::From { store: src.store().clone(), repo: src_repo.to_string() },
    };
    match target.put_blob(target_repo, digest, size, body, same_store.then_some(src_repo)).await? {
        Written::Present => {}
        Written::Mounted => stats.mounted += 1,
        Written::Copied { note } => {
            stats.uploaded += size;
            stats.notes.extend(note);
        }
    }
    Ok(())
}

/// Copy one child manifest (and, for a nested index, its children) into the target repository.
fn copy_manifest<'a>(
    src: &'a Fetcher,
    src_repo: &'a str,
    target: &'a dyn Store,
    target_repo: &'a str,
    digest: &'a Digest,
    stats: &'a mut Pushed,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), RegistryError>> + Send + 'a>> {
    Box::pin(async move {
        let m = src.manifest(src_repo, digest).await?;
        if m.view.kind.is_index() {
            for d in &m.view.manifests {
                copy_manifest(src, src_repo, target, target_repo, &d.digest, stats).await?;
            }
        } else {
            // The config was read (and kept) when the draft was made: it is sent from there,
            // not read from the source again.
            if let Some(c) = &m.view.config {
                let held = src.config(src_repo, c).await.ok().map(|(b, _)| b);
                copy_blob(src, src_repo, target, target_repo, (&c.digest, c.size), held, stats).await?;
            }
            for l in &m.view.layers {
                copy_blob(src, src_repo, target, target_repo, (&l.digest, l.size), None, stats).await?;
            }
        }
        target.put_manifest(target_repo, digest.as_str(), &m.view.media_type, &m.bytes).await?;
        stats.copied += 1;
        Ok(())
    })
}

/// Push `draft` to `target`. `expect_previous` is what the tag pointed at when the user saw
/// the preview: if it moved since, nothing is changed. `progress(done, total, what)`.
///
/// The tag move is journalled first: the intent is synced to `journal` before the index is
/// written, and its outcome after the tag was verified. That last part runs as a task of its
/// own, so cancelling the push (dropping this future) never stops it between the index write
/// and the journal.
pub async fn push(
    sources: &(dyn Sources + Sync),
    store: TagStore,
    journal: &Journal,
    draft: &IndexDraft,
    target: &Reference,
    expect_previous: Option<Option<Digest>>,
    mut progress: impl FnMut(usize, usize, &str) + Send,
) -> Result<Pushed, RegistryError> {
    let target_repo = target.repository.name.as_str();
    // Pushes from this machine to one target take turns; each checks the tag again once it
    // has its turn.
    let _turn = target_lock(target).await?;
    let previous = store.current(target).await?;
    if let Some(expected) = &expect_previous
        && &previous != expected
    {
        return Err(RegistryError::TagMoved { target: target.to_string(), expected: expected.clone(), actual: previous });
    }
    let bytes = draft.to_bytes();
    let digest = Digest::sha256(&bytes);
    let mut stats = Pushed { digest: digest.clone(), previous: previous.clone(), uploaded: 0, mounted: 0, copied: 0, journal_id: None, notes: Vec::new() };
    if previous.as_ref() == Some(&digest) {
        progress(1, 1, "nothing to change");
        return Ok(stats);
    }
    let total = draft.entries.len() + 1;
    store.0.prepare().await?;
    let tgt: &dyn Store = &*store.0;
    // Children are copied a few at a time; each reports what it did when it is done.
    type Copy<'c> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(usize, &'c DraftEntry, Pushed), RegistryError>> + Send + 'c>>;
    let copies: Vec<Copy<'_>> = draft
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| -> Copy<'_> {
            Box::pin(async move {
                let mut own = Pushed { digest: e.digest.clone(), previous: None, uploaded: 0, mounted: 0, copied: 0, journal_id: None, notes: Vec::new() };
                let src = sources.fetcher(&e.source.repository.registry)?;
                // A child of this very repository is there already, by its digest: an edit of a tag
                // copies nothing it does not add.
                let here = src.store().location() == tgt.location() && e.source.repository.name == target_repo;
                if !here {
                    copy_manifest(src, &e.source.repository.name, tgt, target_repo, &e.digest, &mut own).await?;
                }
                fault_point(&format!("child-{}-copied", i + 1));
                Ok((i, e, own))
            })
        })
        .collect();
    let mut copies = futures::StreamExt::buffer_unordered(futures::stream::iter(copies), CHILD_COPIES);
    let mut done = 0;
    while let Some(copied) = futures::StreamExt::next(&mut copies).await {
        let (_, e, own) = copied?;
        done += 1;
        stats.uploaded += own.uploaded;
        stats.mounted += own.mounted;
        stats.copied += own.copied;
        progress(done, total, &format!("{} {}", e.platform_label(), e.digest.short()));
        for note in &own.notes {
            progress(done, total, note);
        }
        stats.notes.extend(own.notes);
    }
    drop(copies);
    // Last check before the tag moves: nobody else moved it meanwhile. What it is now is what
    // the journal records as replaced.
    let now = store.current(target).await?;
    if expect_previous.is_some() && now != previous {
        return Err(RegistryError::TagMoved { target: target.to_string(), expected: previous, actual: now });
    }
    stats.previous = now.clone();
    progress(total - 1, total, "index");
    let media_type = draft.effective_type().media_type().to_string();
    let id = move_tag(store, journal.clone(), "push", target.clone(), now, Some((digest, media_type, bytes)), None).await?;
    stats.journal_id = Some(id);
    progress(total, total, "done");
    Ok(stats)
}

/// Move `target` from `previous` to a new manifest (`Some((digest, media type, bytes))`) or
/// delete the tag (`None`), journalled: intent synced first, outcome after verifying. Runs as
/// its own task, so it completes even if the caller is cancelled. Returns the journal id.
async fn move_tag(
    store: TagStore,
    journal: Journal,
    action: &'static str,
    target: Reference,
    previous: Option<Digest>,
    to: Option<(Digest, String, Vec<u8>)>,
    undoes: Option<String>,
) -> Result<String, RegistryError> {
    let task = tokio::spawn(async move {
        let new_digest = to.as_ref().map(|(d, _, _)| d.clone());
        let (j, t, p, n, u) = (journal.clone(), target.to_string(), previous.clone(), new_digest.clone(), undoes.clone());
        let id = tokio::task::spawn_blocking(move || j.begin(action, &t, p.as_ref(), n.as_ref(), u.as_deref()))
            .await
            .map_err(|e| RegistryError::Other { detail: format!("journal: {e}") })?
            .map_err(|e| RegistryError::Other {
                detail: format!("the journal ({}) could not be written, so the tag was not moved: {e}", journal.path().display()),
            })?;
        fault_point("intent-written");
        let written = store.write_tag(&target, to.as_ref()).await;
        fault_point("index-written");
        let now = store.current(&target).await;
        let outcome = match (&written, &now) {
            (Ok(()), Ok(now)) if *now == new_digest => Outcome::Done,
            (Ok(()), Ok(_)) => Outcome::Overwritten,
            (Err(_), Ok(now)) if *now == previous => Outcome::Failed,
            // Unknown: leave the intent for `undo` to settle by asking the registry.
            _ => Outcome::Intent,
        };
        if outcome != Outcome::Intent {
            let (j, i) = (journal.clone(), id.clone());
            // The move itself is settled; a failure to note its outcome leaves the intent,
            // which `undo` reads correctly by asking the registry.
            let _ = tokio::task::spawn_blocking(move || j.finish(&i, outcome)).await;
        }
        fault_point("outcome-written");
        written?;
        let now = now?;
        if let (Outcome::Overwritten, Some(pushed)) = (outcome, &new_digest) {
            return Err(RegistryError::Overwritten { target: target.to_string(), pushed: pushed.clone(), now });
        }
        if now != new_digest {
            return Err(RegistryError::Other {
                detail: format!(
                    "after the write {target} resolves to {}, not {}",
                    now.map(|d| d.to_string()).unwrap_or_else(|| "nothing".into()),
                    new_digest.map(|d| d.to_string()).unwrap_or_else(|| "nothing (deleted)".into())
                ),
            });
        }
        Ok(id)
    });
    task.await.map_err(|e| RegistryError::Other { detail: format!("the tag move stopped: {e}") })?
}

/// Children copied at the same time.
const CHILD_COPIES: usize = 4;

/// This machine's turn at writing `target`: an exclusive lock in Archlens's data folder, one
/// per target, held until dropped. (A layout folder's `index.json` has a lock of its own, taken
/// around each rewrite by [`super::layout::OciDir::set_tag`].)
async fn target_lock(target: &Reference) -> Result<Option<std::fs::File>, RegistryError> {
    let Some(dir) = super::journal::data_dir() else { return Ok(None) };
    let path = dir.join("locks").join(format!("{}.lock", Digest::sha256(target.to_string().as_bytes()).encoded()));
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || super::files::lock_exclusive(&path))
        .await
        .map_err(|e| RegistryError::Other { detail: format!("locking {shown}: {e}") })?
        .map(Some)
        .map_err(|e| RegistryError::Other { detail: format!("locking {shown}: {e}") })
}

/// Fault injection for the kill and race tests: with `ARCHLENS_FAULT_PAUSE=POINT:FILE`,
/// reaching `POINT` creates `FILE` and stops this thread for good, so a test can kill the
/// process exactly there; with `ARCHLENS_FAULT_WAIT=POINT:FILE`, it creates `FILE` and waits
/// until `FILE.go` exists, so a test can act as another writer exactly there. Unset (always,
/// outside tests), it does nothing.
fn fault_point(point: &str) {
    if let Ok(spec) = std::env::var("ARCHLENS_FAULT_PAUSE")
        && let Some((p, file)) = spec.split_once(':')
        && p == point
    {
        let _ = std::fs::write(file, point);
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    if let Ok(spec) = std::env::var("ARCHLENS_FAULT_WAIT")
        && let Some((p, file)) = spec.split_once(':')
        && p == point
    {
        let _ = std::fs::write(file, point);
        let go = format!("{file}.go");
        while !std::path::Path::new(&go).exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// What `undo` will do, worked out from the journal alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoPlan {
    pub entry: JournalEntry,
    pub target: Reference,
}

/// Pick the entry to undo: `id` (a push, or an undo to redo), or the newest push not undone
/// yet, so repeated undos walk back through the pushes. Errors say what to do.
pub fn plan_undo(contents: &Contents, id: Option<&str>) -> Result<UndoPlan, String> {
    let entry = match id {
        Some(id) => contents.find(id).ok_or_else(|| format!("the journal has no entry {id} (see archlens undo --list)"))?,
        None => contents
            .entries
            .iter()
            .rev()
            .find(|e| e.action == "push" && e.outcome != Outcome::Failed && contents.undone_by(&e.id).is_none_or(|u| u.outcome == Outcome::Intent))
            .ok_or("the journal has no push left to undo (see archlens undo --list; `archlens undo ID` also redoes an undo)")?,
    };
    if entry.outcome == Outcome::Failed {
        return Err(format!("entry {} failed and moved nothing: there is nothing to undo", entry.id));
    }
    if entry.outcome == Outcome::Overwritten {
        return Err(format!(
            "entry {} wrote its index, but a concurrent push overwrote {} right away: the tag never kept what the entry made it, so undoing it would move someone else's push; look at the tag (archlens inspect {}) and compose again if needed",
            entry.id, entry.target, entry.target
        ));
    }
    // An undo killed after its intent was written is settled by run_undo, which asks the
    // registry; any other undo stands.
    if let Some(by) = contents.undone_by(&entry.id).filter(|u| u.outcome != Outcome::Intent) {
        return Err(format!("entry {} was already undone by entry {} ({}); undo {} to redo it", entry.id, by.id, format_time(by.time), by.id));
    }
    let target = Reference::parse(&entry.target).map_err(|e| format!("entry {}: {e}", entry.id))?;
    Ok(UndoPlan { entry: entry.clone(), target })
}

/// The result of an undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    pub target: Reference,
    /// What the tag points at now; `None`: the tag was deleted.
    pub digest: Option<Digest>,
    pub journal_id: String,
}

/// Undo `plan`: re-point the tag at the entry's previous digest (or delete a tag the entry
/// created), only if the tag still holds what the entry made it. Journalled like a push.
pub async fn run_undo(store: TagStore, journal: &Journal, contents: &Contents, plan: &UndoPlan) -> Result<Undone, RegistryError> {
    let e = &plan.entry;
    let target = &plan.target;
    let now = store.current(target).await?;
    let show = |d: &Option<Digest>| d.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "absent".into());
    // An earlier undo of this entry was killed after writing its intent: the tag says whether
    // it moved. Unchanged, it is closed as failed and this undo goes on; moved back, it is
    // closed as done and there is nothing left to undo.
    if let Some(killed) = contents.undone_by(&e.id).filter(|u| u.outcome == Outcome::Intent) {
        let (j, id) = (journal.clone(), killed.id.clone());
        let settled = if now == e.digest {
            Outcome::Failed
        } else if now == e.previous {
            Outcome::Done
        } else {
            Outcome::Intent
        };
        if settled != Outcome::Intent {
            let _ = tokio::task::spawn_blocking(move || j.finish(&id, settled)).await;
        }
        if settled == Outcome::Done {
            return Err(RegistryError::Other {
                detail: format!(
                    "entry {} was already undone by entry {}, which was interrupted after moving {} back (now recorded as done)",
                    e.id, killed.id, e.target
                ),
            });
        }
    }
    // Later moves of the same tag still standing (A → B → A): the tag holds this entry's
    // digest again, but undoing it would discard them.
    let later = contents.later_moves(e);
    if now == e.digest && !later.is_empty() {
        let named: Vec<String> = later.iter().map(|x| format!("entry {} ({} at {}, to {})", x.id, x.action, format_time(x.time), show(&x.digest))).collect();
        return Err(RegistryError::Other {
            detail: format!(
                "{} holds what entry {} made it, but it moved since: {}; undo those first (newest first), or push what you want",
                e.target,
                e.id,
                named.join(", ")
            ),
        });
    }
    if now != e.digest {
        if e.outcome == Outcome::Intent && now == e.previous {
            return Err(RegistryError::Other {
                detail: format!("entry {} was interrupted before it moved {}: the tag is still {}; nothing to undo", e.id, e.target, show(&now)),
            });
        }
        // Moved since: by Archlens itself (a later entry made it so) or by someone else.
        let later =
            contents.entries.iter().rev().take_while(|x| x.id != e.id).find(|x| x.target == e.target && x.digest == now && x.outcome != Outcome::Failed);
        let detail = match later {
            Some(x) => format!(
                "{} was moved since by Archlens: entry {} ({} at {}) made it {}; undo entry {} first",
                e.target,
                x.id,
                x.action,
                format_time(x.time),
                show(&now),
                x.id
            ),
            None => format!("{} moved since entry {} (it is {}, the entry made it {}); not undoing", e.target, e.id, show(&now), show(&e.digest)),
        };
        return Err(RegistryError::Other { detail });
    }
    let to = match &e.previous {
        Some(prev) => {
            let bytes = store.manifest_bytes(target, prev).await?;
            let view = crate::model::manifest::ManifestView::parse(&bytes).map_err(|problem| RegistryError::BadManifest {
                registry: target.registry().name().to_string(),
                what: format!("{}@{prev}", target.repository),
                problem,
            })?;
            Some((prev.clone(), view.media_type, bytes))
        }
        None => None,
    };
    let id = move_tag(store, journal.clone(), "undo", target.clone(), now, to, Some(e.id.clone())).await?;
    Ok(Undone { target: target.clone(), digest: e.previous.clone(), journal_id: id })
}
