//! `archlens compose --target REF --from REF …` and `archlens undo [--list]`.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use archlens::model::compose::{IndexDraft, IndexType, Selector, Severity, index_diff};
use archlens::model::platform::Platform;
use archlens::model::reference::{Reference, Registry};
use archlens::registry::Fetcher;
use archlens::registry::compose::{FetcherSet, TagStore, base_draft, draft_entries, plan_undo, push, run_undo};
use archlens::registry::journal::{self, Journal, Outcome};

use super::{Format, NetArgs, output};

/// Exit codes of `compose` (documented in the README).
const EXIT_CHECKS_FAILED: u8 = 1;
pub const EXIT_REFUSED: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    /// The tag to push the index to (a tag is required: no implied `latest`).
    #[arg(long)]
    pub target: String,
    /// Start from this existing index; everything not changed below is kept as it is.
    #[arg(long, conflicts_with = "draft")]
    pub base: Option<String>,
    /// Start from a draft file (the app's Export, or `diagnose --repair-draft`).
    #[arg(long, value_name = "FILE")]
    pub draft: Option<std::path::PathBuf>,
    /// Remove the entry for this platform, `os/arch[/variant]` (repeatable; applied before --from).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Add an image, or every entry of an index (repeatable).
    #[arg(long = "from")]
    pub from: Vec<String>,
    /// Set the platform of the image added by `--from REF` (or of the entry `REF@DIGEST`):
    /// `REF=PLATFORM` (repeatable).
    #[arg(long = "platform")]
    pub platforms: Vec<String>,
    /// Set the platform of one entry, chosen by platform or digest: `SELECTOR=PLATFORM`
    /// (repeatable), e.g. `linux/arm/v7=linux/arm/v6` or `sha256:0123456789ab=linux/arm64`.
    #[arg(long = "set-platform")]
    pub set_platforms: Vec<String>,
    /// Set an entry's annotation, the entry chosen by platform or digest:
    /// `SELECTOR:KEY=VALUE` (repeatable), e.g. `linux/arm64:org.opencontainers.image.revision=abc`.
    #[arg(long = "entry-annotation")]
    pub entry_annotations: Vec<String>,
    /// Remove an entry's annotation: `SELECTOR:KEY` (repeatable).
    #[arg(long = "remove-entry-annotation")]
    pub remove_entry_annotations: Vec<String>,
    /// Index media type; by default the base's, else a Docker list only when every child is a
    /// Docker manifest.
    #[arg(long, value_parser = ["oci", "docker"])]
    pub media_type: Option<String>,
    /// Index annotation `KEY=VALUE` (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// Remove an index annotation `KEY` (repeatable).
    #[arg(long = "remove-annotation")]
    pub remove_annotations: Vec<String>,
    /// Drop attestation manifests of the chosen images.
    #[arg(long)]
    pub drop_attestations: bool,
    /// Print the bytes, digest and the diff against the target; push nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite the target tag if it exists.
    #[arg(long)]
    pub yes: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The journal entry to undo (default: the newest not yet undone).
    pub id: Option<String>,
    /// List the journal instead of undoing.
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The fetcher for `registry`, created on first use.
fn fetcher_for<'a>(set: &'a mut FetcherSet, net: &NetArgs, registry: &Registry) -> anyhow::Result<&'a Fetcher> {
    Ok(match set.0.entry(registry.clone()) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => v.insert(net.fetcher(registry)?),
    })
}

/// The draft's entry `i` (an index `draft.select` or the added ranges gave).
fn entry_mut(draft: &mut IndexDraft, i: usize) -> anyhow::Result<&mut archlens::model::compose::DraftEntry> {
    let n = draft.entries.len();
    draft.entries.get_mut(i).with_context(|| format!("entry #{} of {n}: no such entry", i + 1))
}

fn key_value<'a>(flag: &str, kv: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    let (k, v) = kv.split_once('=').with_context(|| format!("{flag} {kv:?}: expected KEY=VALUE"))?;
    if k.trim().is_empty() {
        bail!("{flag} {kv:?}: the key is empty");
    }
    Ok((k, v))
}

fn selector_and<'a>(flag: &str, s: &'a str) -> anyhow::Result<(Selector, &'a str)> {
    let (sel, rest) = Selector::split_prefix(s).with_context(|| format!("{flag} {s:?}: expected SELECTOR:KEY…"))?;
    Ok((Selector::parse(sel).with_context(|| flag.to_string())?, rest))
}

/// A reference typed for `--target`: a tag must be written out. A layout folder is made
/// absolute, so the journal names it wherever `undo` runs.
fn target_reference(s: &str) -> anyhow::Result<Reference> {
    let target = Reference::parse(s).context("--target")?;
    if target.digest.is_some() || !Reference::names_tag(s) {
        bail!("--target must name a tag, e.g. {}:1.0 (no tag is implied)", target.repository);
    }
    if let (Some(dir), Some(tag)) = (target.registry().layout_path(), &target.tag) {
        let abs = std::path::absolute(dir).with_context(|| format!("--target {s}"))?;
        let abs = abs.to_str().with_context(|| format!("--target {s}: the folder's path is not UTF-8"))?;
        return Reference::parse(&format!("oci:{abs}:{tag}")).with_context(|| format!("--target {s}"));
    }
    Ok(target)
}

/// Where `target`'s tag lives: its layout folder, or the registry.
fn tag_store(net: &NetArgs, target: &Reference) -> anyhow::Result<TagStore> {
    Ok(net.session().target(target)?)
}

async fn build_draft(a: &ComposeArgs, net: &NetArgs, fetchers: &mut FetcherSet) -> anyhow::Result<IndexDraft> {
    let keep = !a.drop_attestations;
    // Parse everything typed before any network work, so a typo costs nothing.
    let removals: Vec<Platform> =
        a.remove.iter().map(|p| Platform::parse_complete(p).with_context(|| format!("--remove {p}"))).collect::<anyhow::Result<_>>()?;
    let overrides: Vec<(String, Reference, Platform)> = a
        .platforms
        .iter()
        .map(|s| {
            let (r, p) = s.rsplit_once('=').with_context(|| format!("--platform {s:?}: expected REF=PLATFORM"))?;
            Ok((
                s.clone(),
                Reference::parse(r).with_context(|| format!("--platform {s}"))?,
                Platform::parse_complete(p).with_context(|| format!("--platform {s}"))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let set_platforms: Vec<(Selector, Platform)> = a
        .set_platforms
        .iter()
        .map(|s| {
            let (sel, p) = s.rsplit_once('=').with_context(|| format!("--set-platform {s:?}: expected SELECTOR=PLATFORM"))?;
            Ok((Selector::parse(sel).context("--set-platform")?, Platform::parse_complete(p).with_context(|| format!("--set-platform {s}"))?))
        })
        .collect::<anyhow::Result<_>>()?;
    let entry_annotations: Vec<(Selector, String, String)> = a
        .entry_annotations
        .iter()
        .map(|s| {
            let (sel, kv) = selector_and("--entry-annotation", s)?;
            let (k, v) = key_value("--entry-annotation", kv)?;
            Ok((sel, k.to_string(), v.to_string()))
        })
        .collect::<anyhow::Result<_>>()?;
    let entry_removals: Vec<(Selector, String)> = a
        .remove_entry_annotations
        .iter()
        .map(|s| {
            let (sel, k) = selector_and("--remove-entry-annotation", s)?;
            if k.is_empty() {
                bail!("--remove-entry-annotation {s:?}: the key is empty");
            }
            Ok((sel, k.to_string()))
        })
        .collect::<anyhow::Result<_>>()?;
    let annotations: Vec<(String, String)> =
        a.annotations.iter().map(|kv| key_value("--annotation", kv).map(|(k, v)| (k.to_string(), v.to_string()))).collect::<anyhow::Result<_>>()?;
    let froms: Vec<Reference> = a.from.iter().map(|f| Reference::parse(f).with_context(|| format!("--from {f}"))).collect::<anyhow::Result<_>>()?;
    let base_ref = a.base.as_deref().map(|b| Reference::parse(b).with_context(|| format!("--base {b}"))).transpose()?;

    // 1. The base (an index, or a draft file).
    let mut draft = IndexDraft::default();
    if let Some(file) = &a.draft {
        let bytes = std::fs::read(file).with_context(|| format!("--draft {}", file.display()))?;
        draft = serde_json::from_slice(&bytes)
            .with_context(|| format!("--draft {}: not a draft file (export one from the app, or write one with diagnose --repair-draft)", file.display()))?;
        for w in &draft.warnings {
            eprintln!("warning: {}", super::output::printable(w));
        }
        // A draft file is checked like a fresh compose: its children, as the registries have them.
        for e in &draft.entries {
            fetcher_for(fetchers, net, e.source.registry())?;
        }
        let problems = archlens::registry::compose::verify_draft_entries(&*fetchers, &mut draft).await;
        if !problems.is_empty() {
            bail!(
                "--draft {}: the draft does not match the registries it names:\n  {}\nmake the draft again (or fix the entries) and check it with --dry-run",
                file.display(),
                problems.join("\n  ")
            );
        }
    }
    if let Some(r) = &base_ref {
        let f = fetcher_for(fetchers, net, r.registry())?;
        draft = base_draft(f, r, keep).await.with_context(|| format!("reading --base {r}"))?;
    }
    // 2. Removals.
    for (p, typed) in removals.iter().zip(&a.remove) {
        if draft.remove_platform(&p.key()) == 0 {
            bail!("--remove {typed}: the draft has no {} entry", p.key());
        }
    }
    // 3. Additions, remembering which entries each --from brought.
    let mut added: Vec<(Reference, std::ops::Range<usize>)> = Vec::new();
    for r in &froms {
        let f = fetcher_for(fetchers, net, r.registry())?;
        let entries = draft_entries(f, r, keep).await.with_context(|| format!("reading --from {r}"))?;
        let start = draft.entries.len();
        draft.entries.extend(entries);
        added.push((r.clone(), start..draft.entries.len()));
    }
    // 4. Per-entry settings.
    for (typed, r, p) in &overrides {
        let hit: Vec<usize> = added
            .iter()
            .filter(|(fr, _)| fr == r)
            .flat_map(|(_, range)| range.clone())
            .filter(|&i| draft.entries.get(i).is_some_and(|e| e.attests().is_none()))
            .collect();
        let index = match (hit.as_slice(), &r.digest) {
            ([one], _) => *one,
            ([], Some(d)) => draft.select(&Selector::Digest(d.to_string()), &format!("--platform {typed}"))?,
            ([], None) if base_ref.as_ref() == Some(r) => {
                bail!("--platform {typed}: {r} is the --base; choose its entry with --set-platform SELECTOR=PLATFORM")
            }
            ([], None) => bail!(
                "--platform {typed}: {r} is not one of the --from references ({})",
                if froms.is_empty() { "there are none".to_string() } else { froms.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ") }
            ),
            (many, _) => bail!("--platform {typed}: {r} added {} images; choose one with --set-platform SELECTOR=PLATFORM", many.len()),
        };
        entry_mut(&mut draft, index)?.platform = p.clone();
    }
    for ((sel, p), typed) in set_platforms.iter().zip(&a.set_platforms) {
        let i = draft.select(sel, &format!("--set-platform {typed}"))?;
        // A relabel that names no os.features keeps the entry's own (changing the variant or
        // the os.version says nothing about them).
        let mut to = p.clone();
        let entry = entry_mut(&mut draft, i)?;
        if to.os_features.is_empty() && to.os == entry.platform.os {
            to.os_features = entry.platform.os_features.clone();
        }
        entry.platform = to;
    }
    for ((sel, k, v), typed) in entry_annotations.iter().zip(&a.entry_annotations) {
        let i = draft.select(sel, &format!("--entry-annotation {typed}"))?;
        entry_mut(&mut draft, i)?.annotations.insert(k.clone(), v.clone());
    }
    for ((sel, k), typed) in entry_removals.iter().zip(&a.remove_entry_annotations) {
        let i = draft.select(sel, &format!("--remove-entry-annotation {typed}"))?;
        if entry_mut(&mut draft, i)?.annotations.remove(k).is_none() {
            bail!("--remove-entry-annotation {typed}: that entry has no annotation {k}");
        }
    }
    // 5. The index.
    match a.media_type.as_deref() {
        Some("docker") => draft.index_type = Some(IndexType::Docker),
        Some(_) => draft.index_type = Some(IndexType::Oci),
        None => {}
    }
    for k in &a.remove_annotations {
        if draft.annotations.remove(k).is_none() {
            bail!("--remove-annotation {k}: the index has no such annotation");
        }
    }
    for (k, v) in annotations {
        draft.annotations.insert(k, v);
    }
    Ok(draft)
}

pub async fn run(a: ComposeArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let target = target_reference(&a.target)?;
    let mut fetchers = FetcherSet::default();
    let draft = build_draft(&a, net, &mut fetchers).await?;
    let checks = draft.checks(Some(&target.repository));
    for c in &checks {
        let tag = match c.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        eprintln!("{tag}: {}", c.message);
    }
    let bytes = draft.to_bytes();
    let digest = draft.digest();
    // What the target holds now, for the diff and the overwrite guard.
    let store = tag_store(net, &target)?;
    let previous = store.current(&target).await.with_context(|| format!("reading {target}"))?;
    // A draft made from this tag expects the tag to still hold its base: a colleague's push
    // since then would otherwise be undone without a word.
    if let Some(base) = draft.base_digest()
        && a.draft.is_some()
        && previous.is_some()
        && draft.base_of.as_deref().is_none_or(|b| b == target.to_string())
        && previous.as_ref() != Some(&base)
    {
        let now = previous.as_ref().map(|d| d.to_string()).unwrap_or_default();
        eprintln!(
            "{target} moved since the draft was made: the draft's base is {base}, the tag is now {now}; make the draft again from the tag as it is (diagnose --repair-draft, or compose --base {target}), nothing was pushed"
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let previous_bytes = match &previous {
        Some(d) => Some(store.manifest_bytes(&target, d).await.with_context(|| format!("reading {target}"))?),
        None => None,
    };
    let diff: Vec<String> = match &previous_bytes {
        Some(old) => index_diff(old, &bytes),
        None => vec![format!("+ {target} (a new tag)")],
    };
    // A draft that is what the tag already holds changes nothing: its checks are reported, but
    // nothing would be pushed, so they fail nothing.
    let failed = draft.has_errors(Some(&target.repository)) && previous.as_ref() != Some(&digest);
    if a.dry_run {
        match a.format {
            Format::Json => output::json(&serde_json::json!({
                "target": target.to_string(),
                "digest": digest,
                "media_type": draft.effective_type().media_type(),
                "bytes": String::from_utf8_lossy(&bytes),
                "previous": previous,
                "unchanged": previous.as_ref() == Some(&digest),
                "diff": diff,
                "checks": checks,
                "commands": draft.commands(&target).into_iter().map(|(t, c)| serde_json::json!({"tool": t, "command": c})).collect::<Vec<_>>(),
            }))?,
            Format::Table => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                writeln!(out)?;
                writeln!(out, "digest: {digest}")?;
                match &previous {
                    Some(p) if p == &digest => writeln!(out, "{target} already is {digest}: nothing to change")?,
                    Some(p) => {
                        writeln!(out, "changes against {target} ({}):", p.short())?;
                        for line in &diff {
                            writeln!(out, "  {line}")?;
                        }
                    }
                    None => writeln!(out, "{target} does not exist yet: it will be created")?,
                }
                for (tool, cmd) in draft.commands(&target) {
                    writeln!(out, "# {tool}\n{cmd}")?;
                }
            }
        }
        return Ok(ExitCode::from(if failed { EXIT_CHECKS_FAILED } else { 0 }));
    }
    if failed {
        eprintln!("the draft has errors (above); nothing was pushed");
        return Ok(ExitCode::from(EXIT_CHECKS_FAILED));
    }
    if let Some(prev) = &previous {
        if prev == &digest {
            eprintln!("{target} already is {digest}: nothing to change, nothing pushed");
            // Standard output is the digest the tag holds, as after a push.
            match a.format {
                Format::Json => output::json(&serde_json::json!({"target": target.to_string(), "digest": digest, "previous": previous, "unchanged": true}))?,
                Format::Table => println!("{digest}"),
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !a.yes {
            eprintln!("{target} exists: {prev}");
            for line in &diff {
                eprintln!("  {line}");
            }
            eprintln!("refusing to overwrite {target} without --yes (nothing was pushed)");
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    }
    for e in &draft.entries {
        fetcher_for(&mut fetchers, net, e.source.registry())?;
    }
    let journal = Journal::default_location().context("the push journal")?;
    let pushed = push(&fetchers, store, &journal, &draft, &target, Some(previous.clone()), |done, total, what| {
        eprintln!("[{done}/{total}] {what}");
    })
    .await
    .with_context(|| format!("pushing {target}"))?;
    match a.format {
        Format::Json => output::json(&serde_json::json!({
            "target": target.to_string(), "digest": pushed.digest, "previous": pushed.previous,
            "uploaded_bytes": pushed.uploaded, "mounted_blobs": pushed.mounted, "copied_manifests": pushed.copied, "journal_id": pushed.journal_id,
        }))?,
        Format::Table => println!("{}", pushed.digest),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn undo(a: UndoArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let journal = Journal::default_location().context("the push journal")?;
    let contents = journal.read()?;
    if let Some(w) = contents.warning(journal.path()) {
        eprintln!("warning: {w}");
    }
    if a.list {
        let undone = |id: &str| contents.undone_by(id).map(|u| u.id.clone());
        match a.format {
            Format::Json => output::json(&serde_json::Value::Array(
                contents
                    .entries
                    .iter()
                    .map(|e| {
                        let mut v = serde_json::to_value(e).unwrap_or_default();
                        if let Some(m) = v.as_object_mut() {
                            m.insert("undone_by".into(), serde_json::json!(undone(&e.id)));
                        }
                        v
                    })
                    .collect(),
            ))?,
            Format::Table => {
                let show = |d: &Option<archlens::model::Digest>| d.as_ref().map(|d| d.short()).unwrap_or_else(|| "(none)".into());
                let rows: Vec<Vec<String>> = contents
                    .entries
                    .iter()
                    .rev()
                    .map(|e| {
                        let state = match (e.outcome, undone(&e.id)) {
                            (Outcome::Failed, _) => "failed".to_string(),
                            (Outcome::Overwritten, _) => "overwritten by a concurrent push".to_string(),
                            (_, Some(by)) => format!("undone by {by}"),
                            (Outcome::Intent, None) => "interrupted?".to_string(),
                            (Outcome::Done, None) => match &e.undoes {
                                Some(u) => format!("undid {u}"),
                                None => "done".to_string(),
                            },
                        };
                        vec![e.id.clone(), journal::format_time(e.time), e.action.clone(), e.target.clone(), show(&e.previous), show(&e.digest), state]
                    })
                    .collect();
                output::table(&["ID", "TIME", "ACTION", "TARGET", "PREVIOUS", "DIGEST", "STATE"], &rows);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let plan = plan_undo(&contents, a.id.as_deref()).map_err(anyhow::Error::msg)?;
    let store = tag_store(net, &plan.target)?;
    let done = run_undo(store, &journal, &contents, &plan).await.with_context(|| format!("undoing entry {}", plan.entry.id))?;
    match &done.digest {
        Some(d) => println!("{} → {d} (undid entry {}; recorded as entry {})", done.target, plan.entry.id, done.journal_id),
        None => println!("{} deleted (undid entry {}, which created it; recorded as entry {})", done.target, plan.entry.id, done.journal_id),
    }
    Ok(ExitCode::SUCCESS)
}
