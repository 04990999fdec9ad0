//! `archlens compose --target REF --from REF …` and `archlens undo [--list]`.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use archlens::model::compose::{IndexDraft, IndexType, Severity};
use archlens::model::platform::Platform;
use archlens::model::reference::{Reference, Registry};
use archlens::registry::compose::{FetcherSet, current_digest, draft_entries, push, repoint};
use archlens::registry::journal::{self, JournalEntry};
use archlens::registry::Fetcher;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct ComposeArgs {
    /// The tag to push the index to.
    #[arg(long)]
    pub target: String,
    /// An image, or an index whose entries are all added (repeatable).
    #[arg(long = "from")]
    pub from: Vec<String>,
    /// Start from this existing index.
    #[arg(long)]
    pub base: Option<String>,
    /// Remove the entry for this platform (repeatable).
    #[arg(long)]
    pub remove: Vec<String>,
    /// Set the platform of the entry added from REF: `REF=PLATFORM` (repeatable).
    #[arg(long = "platform")]
    pub platforms: Vec<String>,
    /// Index media type; by default a Docker list only when every child is a Docker manifest.
    #[arg(long, value_parser = ["oci", "docker"])]
    pub media_type: Option<String>,
    /// Index annotation `KEY=VALUE` (repeatable).
    #[arg(long = "annotation")]
    pub annotations: Vec<String>,
    /// Drop attestation manifests of the chosen images.
    #[arg(long)]
    pub drop_attestations: bool,
    /// Print the bytes and digest that would be pushed; push nothing.
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
    /// List the journal instead of undoing.
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The fetcher for `registry`, created on first use.
fn fetcher_for<'a>(set: &'a mut FetcherSet, net: &NetArgs, registry: &Registry) -> anyhow::Result<&'a Fetcher> {
    if !set.0.contains_key(registry) {
        set.0.insert(registry.clone(), net.fetcher(registry)?);
    }
    Ok(&set.0[registry])
}

pub async fn run(a: ComposeArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let target = Reference::parse(&a.target).context("--target")?;
    if target.digest.is_some() || target.tag.is_none() {
        bail!("--target must name a tag, e.g. {}:1.0", target.repository);
    }
    let mut fetchers = FetcherSet::default();
    let mut draft = IndexDraft::default();
    let keep = !a.drop_attestations;
    if let Some(base) = &a.base {
        let r = Reference::parse(base).context("--base")?;
        let f = fetcher_for(&mut fetchers, net, r.registry())?;
        draft.entries = draft_entries(f, &r, keep).await.with_context(|| format!("reading {r}"))?;
    }
    let overrides: Vec<(Reference, Platform)> = a
        .platforms
        .iter()
        .map(|s| {
            let (r, p) = s.rsplit_once('=').with_context(|| format!("--platform {s:?}: expected REF=PLATFORM"))?;
            Ok((Reference::parse(r)?, Platform::parse_key(p)?))
        })
        .collect::<anyhow::Result<_>>()?;
    for from in &a.from {
        let r = Reference::parse(from).context("--from")?;
        let f = fetcher_for(&mut fetchers, net, r.registry())?;
        let mut entries = draft_entries(f, &r, keep).await.with_context(|| format!("reading {r}"))?;
        for (or, p) in &overrides {
            if or == &r {
                for e in entries.iter_mut().filter(|e| e.attests().is_none()) {
                    e.platform = p.clone();
                }
            }
        }
        draft.entries.extend(entries);
    }
    for p in &a.remove {
        let key = Platform::parse_key(p)?.key();
        if draft.remove_platform(&key) == 0 {
            bail!("--remove {p}: the draft has no {key} entry");
        }
    }
    draft.index_type = match a.media_type.as_deref() {
        Some("docker") => Some(IndexType::Docker),
        Some(_) => Some(IndexType::Oci),
        None => None,
    };
    for kv in &a.annotations {
        let (k, v) = kv.split_once('=').with_context(|| format!("--annotation {kv:?}: expected KEY=VALUE"))?;
        draft.annotations.insert(k.to_string(), v.to_string());
    }
    let checks = draft.checks(Some(&target.repository));
    for c in &checks {
        let tag = match c.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        eprintln!("{tag}: {}", c.message);
    }
    if draft.has_errors(Some(&target.repository)) {
        bail!("the draft has errors (above); nothing was pushed");
    }
    let bytes = draft.to_bytes();
    let digest = draft.digest();
    if a.dry_run {
        match a.format {
            Format::Json => output::json(&serde_json::json!({
                "target": target.to_string(),
                "digest": digest,
                "media_type": draft.effective_type().media_type(),
                "bytes": String::from_utf8_lossy(&bytes),
                "commands": draft.commands(&target).into_iter().map(|(t, c)| serde_json::json!({"tool": t, "command": c})).collect::<Vec<_>>(),
            }))?,
            Format::Table => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)?;
                writeln!(out)?;
                writeln!(out, "digest: {digest}")?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let target_fetcher = fetcher_for(&mut fetchers, net, target.registry())?;
    let client = target_fetcher.client().context("the target must be a registry")?;
    let previous = current_digest(client, &target).await?;
    if let Some(prev) = &previous {
        if prev == &digest {
            println!("{target} already is {digest}; nothing to push");
            return Ok(ExitCode::SUCCESS);
        }
        if !a.yes {
            let existing = draft_entries(target_fetcher, &target, false).await.unwrap_or_default();
            let pairs: Vec<(String, archlens::model::Digest)> =
                existing.iter().map(|e| (e.platform.key(), e.digest.clone())).collect();
            eprintln!("{target} exists: {prev}");
            for line in draft.diff_against(&pairs) {
                eprintln!("  {line}");
            }
            bail!("refusing to overwrite {target} without --yes");
        }
    }
    for e in &draft.entries {
        fetcher_for(&mut fetchers, net, e.source.registry())?;
    }
    let client = fetchers.0[target.registry()].client().context("the target must be a registry")?;
    let pushed = push(&fetchers, client, &draft, &target, Some(previous.clone()), |done, total, what| {
        eprintln!("[{done}/{total}] {what}");
    })
    .await
    .with_context(|| format!("pushing {target}"))?;
    journal::append(&JournalEntry {
        time: journal::now(),
        action: "push".into(),
        target: target.to_string(),
        previous: pushed.previous.clone(),
        digest: pushed.digest.clone(),
    })
    .context("the push succeeded but the journal could not be written")?;
    match a.format {
        Format::Json => output::json(&serde_json::json!({
            "target": target.to_string(), "digest": pushed.digest, "previous": pushed.previous,
            "uploaded_bytes": pushed.uploaded, "mounted_blobs": pushed.mounted,
        }))?,
        Format::Table => println!("{}", pushed.digest),
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn undo(a: UndoArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let entries = journal::read();
    if a.list {
        match a.format {
            Format::Json => output::json(&serde_json::to_value(&entries)?)?,
            Format::Table => {
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .rev()
                    .map(|e| {
                        vec![
                            journal::format_time(e.time),
                            e.action.clone(),
                            e.target.clone(),
                            e.previous.as_ref().map(|d| d.short()).unwrap_or_else(|| "(none)".into()),
                            e.digest.short(),
                        ]
                    })
                    .collect();
                output::table(&["TIME", "ACTION", "TARGET", "PREVIOUS", "DIGEST"], &rows);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(last) = entries.iter().rev().find(|e| e.action == "push") else {
        bail!("the journal has no push to undo ({})", journal::path().map(|p| p.display().to_string()).unwrap_or_default());
    };
    let target = Reference::parse(&last.target)?;
    let Some(previous) = &last.previous else {
        bail!("{} did not exist before that push; delete the tag with your registry's tools if you want it gone", last.target);
    };
    let fetcher = net.fetcher(target.registry())?;
    let client = fetcher.client().context("the journal names a registry")?;
    let now = current_digest(client, &target).await?;
    if now.as_ref() != Some(&last.digest) {
        bail!(
            "{} moved since that push (it is {}, the push made it {}); not undoing",
            last.target,
            now.map(|d| d.to_string()).unwrap_or_else(|| "absent".into()),
            last.digest
        );
    }
    repoint(client, &target, previous).await.with_context(|| format!("re-pointing {target}"))?;
    journal::append(&JournalEntry {
        time: journal::now(),
        action: "undo".into(),
        target: target.to_string(),
        previous: Some(last.digest.clone()),
        digest: previous.clone(),
    })?;
    println!("{target} → {previous}");
    Ok(ExitCode::SUCCESS)
}
