//! Coverage across repositories: for each, its tag list and the chosen tag read as a matrix
//! row (index, children, sizes), through the same fetcher and cache as the matrix.

use futures::StreamExt as _;

use crate::model::coverage::{Coverage, CoverageRow, TagPolicy};
use crate::model::diagnose::Host;
use crate::model::digest::Digest;
use crate::model::matrix::Row;
use crate::model::supply::{SupplyChain, Via};

use super::{Fetcher, RegistryClient, RegistryError};

/// The repositories a coverage run covers: the catalog (in pages of `page_size`), those
/// matching `glob` if given, sorted.
pub async fn catalog(client: &RegistryClient, glob: Option<&str>, page_size: usize) -> Result<Vec<String>, RegistryError> {
    let mut repos = client.catalog_all_paged(page_size).await?;
    if let Some(g) = glob {
        repos.retain(|r| crate::model::matrix::glob_match(g, r));
    }
    repos.sort();
    repos.dedup();
    Ok(repos)
}

/// One repository's row: its tags, the tag `policy` picks, and what that tag holds; for each
/// of `hosts`, the entry it would run is checked against its config, so a mislabelled pick is
/// never called native.
pub async fn repository_row(fetcher: &Fetcher, repo: &str, policy: &TagPolicy, hosts: &[Host]) -> CoverageRow {
    let tags = match fetcher.store().tags(repo).await {
        Ok(t) => t,
        Err(e) => return CoverageRow::failed(repo, 0, None, format!("its tags could not be listed: {e}")),
    };
    // A digest named for the repository is read whatever its tags are.
    let Some(tag) = policy.digest().or_else(|| policy.choose(&tags)) else {
        let why = if tags.is_empty() { "the repository has no tags".into() } else { policy.nothing_matches() };
        return CoverageRow::empty(repo, tags.len(), why);
    };
    // On Docker Hub, the chosen tag from Docker Hub's API: no pull spent.
    let result = fetcher.tag_result_or_hub(repo, tag).await;
    let latest_lags = latest_lags(fetcher, repo, &tags, tag, &result).await;
    let (supply, supply_error) = match result.outcome.digest() {
        Some(d) => match supply_chain(fetcher, repo, &tags, d).await {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, None),
    };
    let mut row = CoverageRow {
        supply,
        supply_error,
        repository: repo.to_string(),
        tags: tags.len(),
        tag: Some(tag.to_string()),
        row: Some(Row::from_result(result)),
        error: None,
        empty: false,
        latest_lags,
    };
    for h in hosts {
        check_pick(fetcher, &mut row, h).await;
    }
    row
}

/// What is attached to the image `digest` of `repo`: the referrers API where the registry has
/// one (one request), else the referrers tag schema's index and cosign's `.sig` / `.att` /
/// `.sbom` tags, read only when `tags` lists them (on Docker Hub each read is a pull).
async fn supply_chain(fetcher: &Fetcher, repo: &str, tags: &[String], digest: &Digest) -> Result<SupplyChain, RegistryError> {
    let store = fetcher.store();
    let mut found = SupplyChain::default();
    let bad = |what: &str, e: serde_json::Error| RegistryError::Other { detail: format!("{what} of {repo}@{digest} is not valid JSON: {e}") };
    if let Some(index) = store.referrers(repo, digest).await? {
        found.add_referrers(&index, Via::Referrers).map_err(|e| bad("the referrers index", e))?;
        return Ok(found);
    }
    for (tag, kind) in crate::model::supply::schema_tags(digest) {
        if !tags.contains(&tag) {
            continue;
        }
        let m = store.manifest(repo, &tag, None).await?;
        match kind {
            None => found.add_referrers(&m.bytes, Via::ReferrersTag).map_err(|e| bad(&format!("the referrers tag {tag}"), e))?,
            Some(kind) => found.add_cosign(&m.bytes, kind).map_err(|e| bad(&format!("the cosign tag {tag}"), e))?,
        }
    }
    Ok(found)
}

/// When the repository has both `latest` and a newest release, and they name different images:
/// the newest's tag. One `HEAD` for the tag not read (free on Docker Hub).
async fn latest_lags(fetcher: &Fetcher, repo: &str, tags: &[String], chosen: &str, result: &crate::model::matrix::TagResult) -> Option<String> {
    let newest = TagPolicy::NewestStable.choose(tags).or_else(|| TagPolicy::Newest.choose(tags))?;
    let latest = TagPolicy::Latest.choose(tags)?;
    let other = match chosen {
        c if c == latest => newest,
        c if c == newest => latest,
        _ => return None,
    };
    let here = result.outcome.digest()?;
    let there = fetcher.store().tag_digest(repo, other).await.ok()??;
    (&there != here).then(|| newest.to_string())
}

/// Read the config of the entry `host` would run from `row` (one per repository, cached by
/// digest) and mark that cell with the verdict.
async fn check_pick(fetcher: &Fetcher, row: &mut CoverageRow, host: &Host) {
    let Some(key) = row.host_fit(host).platform else { return };
    let Ok(entry) = crate::model::Platform::parse_key(&key) else { return };
    let repo = row.repository.clone();
    let Some(cell) = row.row.as_mut().and_then(|r| r.cells.get_mut(&key)) else { return };
    if cell.verified.is_none() {
        cell.verified = Some(fetcher.verify_entry(&repo, &cell.digest, &entry).await);
    }
}

/// Read `repos` concurrently, handing each row to `each(position in repos, row)` as it
/// completes (the app streams them; [`coverage`] collects them). A repository named with its
/// own tag or digest (a pin) is read at that, not by `policy`.
pub async fn each_row(
    fetcher: &Fetcher,
    repos: Vec<(String, Option<TagPolicy>)>,
    policy: &TagPolicy,
    hosts: &[Host],
    mut each: impl FnMut(usize, CoverageRow),
) {
    let mut stream = futures::stream::iter(repos.into_iter().enumerate())
        .map(|(i, (r, pin))| async move { (i, repository_row(fetcher, &r, pin.as_ref().unwrap_or(policy), hosts).await) })
        .buffer_unordered(fetcher.concurrency());
    while let Some((i, row)) = stream.next().await {
        each(i, row);
    }
}

/// Rows for `repos`, in that order; `progress(done, total, row)` as each completes.
pub async fn coverage(
    fetcher: &Fetcher,
    registry: &str,
    repos: Vec<(String, Option<TagPolicy>)>,
    policy: &TagPolicy,
    hosts: &[Host],
    mut progress: impl FnMut(usize, usize, &CoverageRow),
) -> Coverage {
    let total = repos.len();
    let mut rows: Vec<Option<CoverageRow>> = vec![None; total];
    let mut done = 0;
    each_row(fetcher, repos, policy, hosts, |i, row| {
        done += 1;
        progress(done, total, &row);
        if let Some(slot) = rows.get_mut(i) {
            *slot = Some(row);
        }
    })
    .await;
    let mut c = Coverage::new(registry);
    for r in rows.into_iter().flatten() {
        c.push(r);
    }
    c
}

/// `--deep`: for each repository and each host, the entrypoint binary of the entry the host
/// would run, read from the layers (at most `max_bytes` per image) and judged as a diagnosis
/// would. A pick that cannot run becomes mislabelled (never native); one that could not be
/// checked carries `verified: unknown` with the reason.
pub async fn verify_binaries(fetcher: &Fetcher, coverage: &mut Coverage, hosts: &[Host], max_bytes: u64) {
    for host in hosts {
        let rows: Vec<(usize, String, std::collections::BTreeMap<String, crate::model::matrix::Cell>)> = coverage
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_image())
            .filter_map(|(i, r)| r.row.as_ref().map(|row| (i, r.repository.clone(), row.cells.clone())))
            .collect();
        let checked: Vec<_> = futures::stream::iter(rows)
            .map(|(i, repo, cells)| async move { (i, super::diagnose::check_pick(fetcher, &repo, &cells, host, max_bytes).await) })
            .buffer_unordered(4)
            .collect()
            .await;
        for (i, found) in checked {
            if let Some((key, verdict)) = found
                && let Some(cell) = coverage.rows.get_mut(i).and_then(|r| r.row.as_mut()).and_then(|row| row.cells.get_mut(&key))
            {
                super::diagnose::mark_cell(cell, &verdict);
            }
        }
    }
}
