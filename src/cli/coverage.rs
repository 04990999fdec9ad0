//! `archlens coverage REGISTRY`: which repositories' chosen tag covers which platform, and
//! what a host would run from each.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::ValueEnum;
use serde_json::{Value, json};

use archlens::model::coverage::{Coverage, CoverageRow, TagPolicy};
use archlens::model::diagnose::Host;
use archlens::model::reference::{Reference, Registry, Repository};
use archlens::model::units::human_bytes;

use super::{NetArgs, output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CoverageFormat {
    #[default]
    Table,
    Json,
    Csv,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum SortBy {
    /// By repository name.
    #[default]
    Name,
    /// Repositories lacking `--missing` (or not native on `--host`) first, then failures.
    Missing,
}

#[derive(Debug, clap::Args)]
pub struct CoverageArgs {
    /// Registry host, e.g. `registry.example.com`, `127.0.0.1:5000`.
    pub registry: String,
    /// Only catalog repositories matching this glob (`team/*`).
    #[arg(long, conflicts_with_all = ["repos_file", "repo"])]
    pub repos: Option<String>,
    /// Repositories named in a file, one per line (`#` comments and blank lines skipped):
    /// for registries that hide their catalog (Docker Hub, GHCR). A line may pin a tag or a
    /// digest (`team/api:v1.10.0`, `team/api@sha256:…`): a release gate checks exactly that.
    #[arg(long, conflicts_with = "repo")]
    pub repos_file: Option<std::path::PathBuf>,
    /// A repository to cover (repeatable), instead of the catalog; `REPO:TAG` or
    /// `REPO@DIGEST` pins it as in --repos-file.
    #[arg(long)]
    pub repo: Vec<String>,
    /// Which tag stands for a repository: `latest`, `newest` (highest version tag: an optional
    /// `v`, dot-separated numbers, optional `-pre-release` and `+build`; commit SHAs and dates
    /// are not versions), `newest-stable` (the same, pre-releases left out), or a glob (`v*`,
    /// `release-*`: the highest matching tag).
    #[arg(long, default_value = "latest")]
    pub tag: String,
    /// With `--tag newest`: releases only, pre-releases (`1.2-rc.1`) left out.
    #[arg(long)]
    pub stable: bool,
    /// The host whose view is shown: a preset (apple-silicon, rpi64, x86-64 …) or a platform.
    #[arg(long, default_value = "apple-silicon")]
    pub host: String,
    /// Only repositories whose tag lacks this platform (e.g. `linux/arm64`; repeat it to
    /// require each); exit status 1 if there are any (a CI gate), 2 if some repository could
    /// not be checked. A platform without `os.version` is met by any (`windows/amd64`), a
    /// Windows release by any revision of it (`windows/amd64:10.0.20348`).
    #[arg(long)]
    pub missing: Vec<String>,
    /// Every repository must run on this host (a preset or a platform) natively or by its
    /// native fallback (arm64 running arm/v7); exit status 1 if one does not.
    #[arg(long, value_name = "HOST")]
    pub require_host: Option<String>,
    /// Leave repositories with nothing to check (no tags, or none the policy picks) out of the
    /// rows and the gate; without it they count as not checked (exit status 2).
    #[arg(long)]
    pub skip_empty: bool,
    /// Also read the entrypoint binary of the entry each host would run (from the layers, as
    /// `diagnose` does): an entry labelled for the host whose program is built for another
    /// architecture, or cannot start, is mislabelled, never native.
    #[arg(long)]
    pub deep: bool,
    #[arg(long, value_enum, default_value_t)]
    pub sort: SortBy,
    /// Repositories per catalog page.
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    #[arg(long, value_enum, default_value_t)]
    pub format: CoverageFormat,
}

pub async fn run(a: CoverageArgs, net: &NetArgs) -> anyhow::Result<ExitCode> {
    let registry = Registry::parse(&a.registry)?;
    let policy = match TagPolicy::parse(&a.tag).map_err(|e| anyhow::anyhow!("--tag: {e}"))? {
        TagPolicy::Newest if a.stable => TagPolicy::NewestStable,
        p => p,
    };
    let host = Host::parse(&a.host).map_err(|e| anyhow::anyhow!("--host: {e}"))?;
    let missing: Vec<String> = a.missing.iter().map(|m| archlens::model::Platform::parse_key(m).map(|p| p.key())).collect::<Result<_, _>>()?;
    let required = a.require_host.as_deref().map(Host::parse).transpose().map_err(|e| anyhow::anyhow!("--require-host: {e}"))?;
    let fetcher = net.fetcher(&registry)?;
    let client = fetcher.client().context("coverage needs a registry")?;
    let repos = if let Some(file) = &a.repos_file {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        named_repos(&registry, text.lines())?
    } else if !a.repo.is_empty() {
        named_repos(&registry, a.repo.iter().map(String::as_str))?
    } else {
        let listed = archlens::registry::coverage::catalog(client, a.repos.as_deref(), a.page_size).await.with_context(|| {
            if registry.hides_catalog() {
                format!("{registry} does not publish its catalog; name the repositories with --repo NAME or --repos-file FILE")
            } else {
                format!("listing the repositories of {registry}")
            }
        })?;
        listed.into_iter().map(|r| (r, None)).collect()
    };
    if repos.is_empty() {
        anyhow::bail!("no repositories to cover{}", a.repos.as_deref().map(|g| format!(" (none matches `{g}`)")).unwrap_or_default());
    }
    let show_progress = std::io::stderr().is_terminal();
    let hosts: Vec<Host> = std::iter::once(host.clone()).chain(required.clone()).collect();
    let mut coverage = archlens::registry::coverage::coverage(&fetcher, registry.name(), repos, &policy, &hosts, |done, total, _| {
        if show_progress {
            eprint!("\rreading repositories {done}/{total}");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    })
    .await;
    if a.deep {
        archlens::registry::coverage::verify_binaries(&fetcher, &mut coverage, &hosts, archlens::registry::layers::DEFAULT_MAX_BYTES).await;
    }
    if let Some(left) = client.rate_limit_remaining() {
        eprintln!("note: {registry}: {}", archlens::model::units::rate_limit_words(&left));
    }
    if a.skip_empty {
        coverage.rows.retain(|r| !r.empty);
    }
    coverage.sort(a.sort == SortBy::Missing, missing.first().map(String::as_str), &host);
    let unchecked = coverage.rows.iter().filter(|r| r.problem().is_some()).count();
    let lacks_any = |r: &CoverageRow| missing.iter().any(|k| r.lacks(k));
    // Natively or by native fallback: what a gate on a host accepts.
    let runs = |r: &CoverageRow, h: &Host| r.host_fit(h).runs_natively();
    let off_host = |r: &CoverageRow| required.as_ref().is_some_and(|h| r.is_image() && !runs(r, h));
    // With --missing or --require-host, the rows shown are those that fail them and those
    // that could not be checked; summaries count every repository.
    let gating = !missing.is_empty() || required.is_some();
    let keep = |r: &CoverageRow| !gating || lacks_any(r) || off_host(r) || r.problem().is_some();
    let lacking = coverage.rows.iter().filter(|r| lacks_any(r)).count();
    let not_running = coverage.rows.iter().filter(|r| off_host(r)).count();
    match a.format {
        CoverageFormat::Json => output::json(&to_json(&coverage, &policy, &host, &keep, &missing))?,
        CoverageFormat::Csv => write_out(&coverage.to_csv(&host, &keep))?,
        CoverageFormat::Markdown => write_out(&coverage.to_markdown(&host, &keep))?,
        CoverageFormat::Table => {
            println!("host: {} ({}); tag: {policy}", host.label, host.platform.key());
            print_table(&coverage, &host, &keep)
        }
    }
    let repos = |n: usize| archlens::model::units::count(n, "repository", "repositories");
    if lacking > 0 {
        eprintln!("{} {} {}", repos(lacking), if lacking == 1 { "lacks" } else { "lack" }, missing.join(" or "));
    }
    if let (Some(h), true) = (&required, not_running > 0) {
        eprintln!("{} {} not run on {} natively", repos(not_running), if not_running == 1 { "does" } else { "do" }, h.label);
    }
    if unchecked > 0 && gating {
        eprintln!("{} could not be checked", repos(unchecked));
    }
    Ok(if lacking > 0 || not_running > 0 {
        ExitCode::from(1)
    } else if unchecked > 0 && gating {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Repository names as typed (`team/app`, or `host/team/app` on this registry), checked; a
/// line may pin the repository to a tag or digest (`team/api:v1.10.0`, `team/api@sha256:…`),
/// which a release gate checks instead of the policy's pick.
fn named_repos<'a>(registry: &Registry, lines: impl Iterator<Item = &'a str>) -> anyhow::Result<Vec<(String, Option<TagPolicy>)>> {
    let mut out: Vec<(String, Option<TagPolicy>)> = Vec::new();
    for (n, line) in lines.enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("line {}: `{}` is not a repository name (optionally with :TAG or @DIGEST)", n + 1, output::printable(line));
        let (repo, pin) = match Repository::named_in(registry, line) {
            Ok(repo) => (repo.name, None),
            Err(_) => {
                let bare = line.strip_prefix(&format!("{}/", registry.name())).unwrap_or(line);
                let full = format!("{}/{bare}", registry.name());
                let r = Reference::parse(&full).with_context(bad)?;
                let pin = match (&r.digest, &r.tag) {
                    (Some(d), _) => d.to_string(),
                    (None, Some(t)) if Reference::names_tag(&full) => t.clone(),
                    _ => anyhow::bail!(bad()),
                };
                (r.repository.name, Some(TagPolicy::Pinned { reference: pin }))
            }
        };
        if !out.iter().any(|(r, p)| *r == repo && *p == pin) {
            out.push((repo, pin));
        }
    }
    Ok(out)
}

fn write_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn summary_json(c: &Coverage, host: &Host) -> Value {
    let per_platform: serde_json::Map<String, Value> = c.keys().iter().map(|k| (k.clone(), serde_json::to_value(c.tally(k)).unwrap_or(Value::Null))).collect();
    let n = c.host_tally(host);
    json!({
        "platforms": per_platform,
        "host": { "native": n[0], "fallback": n[1], "emulation": n[2], "none": n[3] },
        "repositories": c.rows.len(),
        "failed": c.rows.iter().filter(|r| r.problem().is_some()).count(),
    })
}

/// The JSON contract of `archlens coverage --format json` (see the README).
fn to_json(c: &Coverage, policy: &TagPolicy, host: &Host, keep: &dyn Fn(&CoverageRow) -> bool, missing: &[String]) -> Value {
    let rows: Vec<Value> = c
        .rows
        .iter()
        .filter(|r| keep(r))
        .map(|r| {
            let fit = r.host_fit(host);
            let row = r.row.as_ref();
            let cells: serde_json::Map<String, Value> =
                row.map(|x| x.cells.iter().map(|(k, cell)| (k.clone(), serde_json::to_value(cell).unwrap_or(Value::Null))).collect()).unwrap_or_default();
            json!({
                "repository": r.repository,
                "tags": r.tags,
                "tag": r.tag,
                "digest": row.and_then(|x| x.digest.as_ref()),
                "kind": row.map(|x| x.kind),
                "host": { "match": fit.word(), "platform": fit.platform, "refused": fit.refused },
                "cells": cells,
                "attestations": row.map_or(0, |x| x.attestations),
                "error": r.problem(),
                "status": r.status(),
                "latest_lags": r.latest_lags,
                "pushed": row.and_then(|x| x.pushed.as_ref()),
                "supply_chain": r.supply.as_ref().map(|sc| json!({
                    "signed": sc.signed(),
                    "attested": sc.attested(),
                    "signatures": sc.signatures,
                    "attestations": sc.attestations,
                    "sboms": sc.sboms,
                    "others": sc.others,
                    "size": sc.size,
                    "via": sc.via,
                })),
                "supply_chain_error": r.supply_error,
            })
        })
        .collect();
    json!({
        "registry": c.registry,
        "policy": policy.to_string(),
        "host": { "label": host.label, "platform": host.platform.key() },
        "missing": missing,
        "platforms": c.keys(),
        "summary": summary_json(c, host),
        "repositories": rows,
    })
}

fn print_table(c: &Coverage, host: &Host, keep: &dyn Fn(&CoverageRow) -> bool) {
    let keys = c.keys();
    let mut header = vec!["REPOSITORY", "TAG", "ON HOST", "SIGNED"];
    header.extend(keys.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .filter(|r| keep(r))
        .map(|r| {
            let fit = r.host_fit(host);
            let tag = r.tag.clone().unwrap_or_else(|| "-".into());
            let tag = match &r.latest_lags {
                Some(newest) => format!("{tag} (latest is not {newest})"),
                None => tag,
            };
            let mut line = vec![r.repository.clone(), tag];
            if let Some(e) = r.problem() {
                line.push(format!("error: {e}"));
                return line;
            }
            line.push(match &fit.platform {
                Some(p) if fit.word() != "native" => format!("{} ({p})", fit.label()),
                _ => fit.label().to_string(),
            });
            line.push(match (&r.supply, &r.supply_error) {
                (Some(sc), _) => sc.words(),
                (None, Some(_)) => "?".into(),
                (None, None) => "-".into(),
            });
            for k in keys {
                line.push(match r.cell(k) {
                    Some((_, cell, rev)) => format!(
                        "{}{}",
                        cell.compressed_size.map(human_bytes).unwrap_or_else(|| "yes".into()),
                        archlens::model::coverage::revision_words(rev.as_deref())
                    ),
                    None if r.is_image() => "MISSING".into(),
                    None => "-".into(),
                });
            }
            line
        })
        .collect();
    output::table(&header, &rows);
    println!();
    for k in keys {
        println!("{}", c.summary_line(k));
    }
    let n = c.host_tally(host);
    println!("{}: {} native, {} by fallback, {} by emulation, {} not at all", host.label, n[0], n[1], n[2], n[3]);
    let failed = c.rows.iter().filter(|r| r.problem().is_some()).count();
    if failed > 0 {
        println!("{} could not be read; each row says why", archlens::model::units::count(failed, "repository", "repositories"));
    }
}
