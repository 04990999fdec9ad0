//! `archlens matrix REPO`

use anyhow::Context as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use serde_json::{Value, json};

use archlens::model::matrix::{Matrix, RowKind, Verified};
use archlens::model::units::human_bytes;

use super::{Format, NetArgs, output};

#[derive(Debug, clap::Args)]
pub struct MatrixArgs {
    /// Repository, e.g. `127.0.0.1:5000/team/app`, or an OCI layout folder as `oci:DIR`.
    pub repository: String,
    /// Only tags matching this glob (`1.*`, `*-alpine`).
    #[arg(long)]
    pub tags: Option<String>,
    /// Only tags that lack this platform (e.g. `linux/arm64`): which tags cannot be pulled for it.
    #[arg(long)]
    pub missing: Option<String>,
    /// Check each cell's config against its index entry: a label that lies shows as such
    /// (JSON cells gain `verified: ok | config-mismatch | unknown`). Configs come from the
    /// cache when it has them.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: also read, for each tag, the entrypoint binary of the entry `--host`
    /// would run, and mark the cell when it is built for another architecture.
    #[arg(long, requires = "verify")]
    pub deep: bool,
    /// The host whose entries --deep reads (a preset or a platform, as for diagnose).
    #[arg(long, default_value = "apple-silicon")]
    pub host: String,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub async fn run(a: MatrixArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let (fetcher, repo) = super::open_repository(net, &a.repository)?;
    let fetcher = fetcher.verifying(a.verify);
    let missing = a.missing.as_deref().map(archlens::model::Platform::parse_key).transpose()?.map(|p| p.key());
    let show_progress = std::io::stderr().is_terminal();
    let glob = a.tags.as_deref();
    // Tags are read as each page of the tag list arrives.
    let mut matrix = fetcher
        .matrix_paged(
            &repo,
            |t| glob.is_none_or(|g| archlens::model::matrix::glob_match(g, t)),
            |done, known, _| {
                if show_progress {
                    eprint!("\rreading tags {done}/{known}");
                }
            },
        )
        .await
        .with_context(|| format!("listing the tags of {repo}"))?;
    if show_progress {
        eprint!("\r\x1b[K");
    }
    if a.deep {
        let host = archlens::model::diagnose::Host::parse(&a.host).map_err(|e| anyhow::anyhow!("--host: {e}"))?;
        archlens::registry::diagnose::verify_binaries(&fetcher, &mut matrix, &host, archlens::registry::layers::DEFAULT_MAX_BYTES).await;
    }
    for note in &matrix.notes {
        eprintln!("note: {note}");
    }
    super::pull_budget_note(&fetcher);
    if let Some(key) = &missing {
        matrix.retain_rows(|r| Matrix::lacks(r, key));
    }
    match a.format {
        Format::Json => output::json(&to_json(&matrix))?,
        Format::Table => print_table(&matrix),
    }
    // What was read is printed; the run still fails, since the matrix is incomplete.
    if let Some(why) = &matrix.partial {
        eprintln!("error: {why}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON contract of `archlens matrix --format json`.
pub fn to_json(m: &Matrix) -> Value {
    let tags: Vec<Value> = m
        .rows
        .iter()
        .map(|r| {
            let cells: serde_json::Map<String, Value> = r.cells.iter().map(|(k, c)| (k.clone(), serde_json::to_value(c).unwrap_or(Value::Null))).collect();
            json!({
                "tag": r.tag,
                "digest": r.digest,
                "media_type": r.media_type,
                "kind": r.kind,
                "cells": cells,
                "attestations": r.attestations,
                "shared_with": m.shared_with(r),
                "error": r.error,
                "pushed": r.pushed,
            })
        })
        .collect();
    json!({ "repository": m.repository, "platforms": m.platform_keys(), "tags": tags, "partial": m.partial, "notes": m.notes })
}

fn print_table(m: &Matrix) {
    let keys = m.platform_keys();
    let mut header = vec!["TAG", "KIND"];
    header.extend(keys.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = m
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![r.tag.clone(), kind_label(r.kind).to_string()];
            if let Some(e) = &r.error {
                row.push(format!("error: {e}"));
                return row;
            }
            for k in &keys {
                row.push(match r.cells.get(k) {
                    None => "-".to_string(),
                    Some(c) if c.error.is_some() => format!("{} (error)", c.digest.encoded().get(..8).unwrap_or(c.digest.encoded())),
                    Some(c) => format!(
                        "{} {}{}",
                        c.digest.encoded().get(..8).unwrap_or(c.digest.encoded()),
                        c.compressed_size.map(human_bytes).unwrap_or_else(|| "?".into()),
                        match &c.verified {
                            Some(Verified::ConfigMismatch { config }) => format!(" MISLABELLED (config: {config})"),
                            Some(Verified::Unknown { .. }) => " (unverified)".to_string(),
                            Some(Verified::BinaryMismatch { binary, path }) => format!(" WRONG BINARY ({path}: {binary})"),
                            Some(Verified::CannotStart { reason }) => format!(" CANNOT START ({})", super::output::printable(reason)),
                            _ => String::new(),
                        }
                    ),
                });
            }
            row
        })
        .collect();
    output::table(&header, &rows);
    let shared = m.shared_digests();
    if !shared.is_empty() {
        println!();
        for (d, tags) in shared {
            println!("{} point at {}: {}", archlens::model::units::count(tags.len(), "tag", "tags"), d.short(), tags.join(", "));
        }
    }
}

fn kind_label(k: RowKind) -> &'static str {
    match k {
        RowKind::Index => "index",
        RowKind::Image => "single",
        RowKind::Artifact => "artifact",
        RowKind::Error => "error",
    }
}
