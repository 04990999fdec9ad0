//! Coverage across repositories: for each repository one tag, chosen by a [`TagPolicy`], and
//! which platforms that tag covers and what a host would run from it.

use std::collections::HashMap;

use super::diagnose::{Candidate, Host, Selection, select};
use super::matrix::{Columns, Row, RowKind, Verified, glob_match, version_order};
use super::platform::Platform;
use super::units::human_bytes;
use super::version::Version;

/// Which tag of a repository stands for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagPolicy {
    /// The tag `latest`.
    Latest,
    /// The highest version tag (`1.10` over `1.9`, `2.0` over `2.0-rc1`) by
    /// [`crate::model::version`]'s grammar; tags that are not versions (`latest`, `main`,
    /// `sha256-….sig`, commit SHAs such as `8c3f2a1`, dates) are not candidates.
    Newest,
    /// [`TagPolicy::Newest`] among releases only: pre-releases (`1.2-rc.1`) are left out.
    NewestStable,
    /// The highest (in version order) of the tags matching a glob (`v*`, `release-*`).
    Glob { pattern: String },
    /// Exactly this tag, or this digest (a `repo:tag` or `repo@digest` line of a release gate).
    Pinned { reference: String },
}

impl TagPolicy {
    /// `latest`, `newest`, or a glob over tags.
    pub fn parse(s: &str) -> Result<TagPolicy, String> {
        let s = s.trim();
        match s {
            "latest" => Ok(TagPolicy::Latest),
            "newest" => Ok(TagPolicy::Newest),
            "newest-stable" | "stable" => Ok(TagPolicy::NewestStable),
            "" => Err("a tag policy is `latest`, `newest`, or a glob such as `v*`".into()),
            _ if s.len() > 128 || !s.chars().all(|c| c.is_ascii_alphanumeric() || "._-*?".contains(c)) => Err(format!(
                "`{}` is not a tag policy: use `latest`, `newest`, or a glob of tag characters (letters, digits, `._-`) with `*` and `?`",
                s.chars().take(60).collect::<String>()
            )),
            _ => Ok(TagPolicy::Glob { pattern: s.to_string() }),
        }
    }

    /// The tag this policy picks among `tags`, if any.
    pub fn choose<'a>(&self, tags: &'a [String]) -> Option<&'a str> {
        // Signatures, attestations and referrer indexes live under tags too; no policy but a
        // pin names one of them.
        let pinned = matches!(self, TagPolicy::Pinned { .. });
        let tags: Vec<&'a String> = tags.iter().filter(|t| pinned || !super::supply::is_supply_chain_tag(t)).collect();
        // `v1.2` and `1.2` are the same version.
        let bare = |t: &'a String| if is_version_tag(t) { t.strip_prefix('v').unwrap_or(t) } else { t.as_str() };
        let newest = |it: &mut dyn Iterator<Item = &'a String>| it.max_by(|a, b| version_order(bare(a), bare(b)).then_with(|| a.cmp(b))).map(String::as_str);
        let newest_version = |stable: bool| {
            tags.iter()
                .copied()
                .filter_map(|t| Version::parse(t).filter(|v| !stable || v.is_stable()).map(|v| (v, t)))
                .max_by(|(a, ta), (b, tb)| a.cmp(b).then_with(|| ta.cmp(tb)))
                .map(|(_, t)| t.as_str())
        };
        match self {
            TagPolicy::Latest => tags.iter().copied().find(|t| *t == "latest").map(String::as_str),
            TagPolicy::Newest => newest_version(false),
            TagPolicy::NewestStable => newest_version(true),
            TagPolicy::Glob { pattern } => newest(&mut tags.iter().copied().filter(|t| glob_match(pattern, t))),
            TagPolicy::Pinned { reference } => tags.iter().copied().find(|t| *t == reference).map(String::as_str),
        }
    }

    /// A digest to read whatever the tags are (a `repo@digest` line).
    pub fn digest(&self) -> Option<&str> {
        match self {
            TagPolicy::Pinned { reference } if super::digest::Digest::parse(reference).is_ok() => Some(reference),
            _ => None,
        }
    }

    /// What a repository lacks when nothing matches, in words.
    pub fn nothing_matches(&self) -> String {
        match self {
            TagPolicy::Latest => "no tag `latest`".into(),
            TagPolicy::Newest => "no version tag (`1.2`, `v1.2.3`, `1.2-rc.1`; commit SHAs and dates are not versions)".into(),
            TagPolicy::NewestStable => "no release tag (`1.2`, `v1.2.3`; pre-releases, commit SHAs and dates are not counted)".into(),
            TagPolicy::Glob { pattern } => format!("no tag matches `{pattern}`"),
            TagPolicy::Pinned { reference } => format!("no tag `{reference}`"),
        }
    }
}

impl std::fmt::Display for TagPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagPolicy::Latest => f.write_str("latest"),
            TagPolicy::Newest => f.write_str("newest"),
            TagPolicy::NewestStable => f.write_str("newest-stable"),
            TagPolicy::Glob { pattern } => f.write_str(pattern),
            TagPolicy::Pinned { reference } => f.write_str(reference),
        }
    }
}

/// A tag that reads as a version, by [`Version`]'s grammar (the one place it is defined).
fn is_version_tag(tag: &str) -> bool {
    Version::parse(tag).is_some()
}

/// A Windows revision a release column leaves out, for a cell: ` (rev 2966)`.
pub fn revision_words(revision: Option<&str>) -> String {
    revision.map(|r| format!(" (rev {r})")).unwrap_or_default()
}

/// One repository's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageRow {
    pub repository: String,
    /// How many tags the repository lists.
    pub tags: usize,
    /// The tag the policy chose.
    pub tag: Option<String>,
    /// What that tag holds (its matrix row).
    pub row: Option<Row>,
    /// Why the repository has no (readable) row: its tag list failed, no tag matched, or the
    /// chosen tag could not be read.
    pub error: Option<String>,
    /// The repository has nothing to check (no tags, or none the policy picks): its own
    /// outcome, not a failure to read; `--skip-empty` leaves such rows out of a gate.
    pub empty: bool,
    /// When `latest` and the newest version tag name different images: the newest's name.
    pub latest_lags: Option<String>,
    /// Signatures, attestations and SBOMs attached to the chosen image; `None` when they were
    /// not looked for (nothing chosen, or the lookup failed: `supply_error` says why).
    pub supply: Option<super::supply::SupplyChain>,
    pub supply_error: Option<String>,
}

impl CoverageRow {
    pub fn failed(repository: &str, tags: usize, tag: Option<String>, error: String) -> CoverageRow {
        CoverageRow {
            repository: repository.to_string(),
            tags,
            tag,
            row: None,
            error: Some(error),
            empty: false,
            latest_lags: None,
            supply: None,
            supply_error: None,
        }
    }

    /// A repository with no tag to check: `why` (no tags, or none the policy picks).
    pub fn empty(repository: &str, tags: usize, why: String) -> CoverageRow {
        CoverageRow {
            repository: repository.to_string(),
            tags,
            tag: None,
            row: None,
            error: Some(why),
            empty: true,
            latest_lags: None,
            supply: None,
            supply_error: None,
        }
    }

    /// `ok`, `empty` (nothing to check) or `unreadable`, for exports and gates.
    pub fn status(&self) -> &'static str {
        match (self.empty, self.problem()) {
            (true, _) => "empty",
            (false, Some(_)) => "unreadable",
            (false, None) => "ok",
        }
    }

    /// The chosen tag's error, or the repository's, or that of a platform entry that could not
    /// be read (a child manifest gone, as a registry's garbage collector leaves it): a gate
    /// never passes on what it could not read.
    pub fn problem(&self) -> Option<&str> {
        self.error
            .as_deref()
            .or_else(|| self.row.as_ref().and_then(|r| r.error.as_deref()))
            .or_else(|| self.row.as_ref().and_then(|r| r.cells.values().find_map(|c| c.error.as_deref())))
    }

    /// Whether this repository's tag is an image or index (so a platform can be present or not).
    pub fn is_image(&self) -> bool {
        self.problem().is_none() && self.row.as_ref().is_some_and(|r| matches!(r.kind, RowKind::Index | RowKind::Image))
    }

    /// Whether the tag lacks `platform_key` (only images and indexes can lack one).
    /// The cell shown in `column` (a platform key, or a Windows release as
    /// [`Platform::release_column`] groups them): its own key, the cell, and the revision the
    /// column leaves out. Of several revisions of one release, the highest.
    pub fn cell(&self, column: &str) -> Option<(&str, &crate::model::matrix::Cell, Option<String>)> {
        let cells = &self.row.as_ref()?.cells;
        if let Some((k, c)) = cells.get_key_value(column) {
            return Some((k.as_str(), c, None));
        }
        cells
            .iter()
            .filter_map(|(k, c)| match Platform::release_column(k) {
                (col, Some(rev)) if col == column => Some((k.as_str(), c, rev)),
                _ => None,
            })
            .max_by_key(|(_, _, rev)| rev.parse::<u64>().unwrap_or(0))
            .map(|(k, c, rev)| (k, c, Some(rev)))
    }

    pub fn lacks(&self, platform_key: &str) -> bool {
        self.is_image() && self.row.as_ref().is_some_and(|r| !r.covers(platform_key))
    }

    /// What `host` would run from this tag: the platform key and how it matches.
    pub fn host_fit(&self, host: &Host) -> HostFit {
        let Some(row) = self.row.as_ref().filter(|_| self.is_image()) else {
            return HostFit { platform: None, selection: Selection::None, checked: false, refused: None, emulated: false };
        };
        let candidates: Vec<(String, Candidate)> = row
            .cells
            .iter()
            .filter_map(|(k, c)| Platform::parse_key(k).ok().map(|p| (k.clone(), Candidate { digest: c.digest.clone(), platform: p })))
            .collect();
        let plain: Vec<Candidate> = candidates.iter().map(|(_, c)| c.clone()).collect();
        let (i, selection) = select(host, &plain);
        let platform = i.and_then(|i| candidates.get(i)).map(|(k, _)| k.clone());
        // The pick checked against its config (or its binary): a label that lies is not native.
        let refused = platform.as_ref().and_then(|k| row.cells.get(k)).and_then(|c| match &c.verified {
            Some(Verified::ConfigMismatch { config }) => Some(format!("its config says {config}")),
            Some(Verified::BinaryMismatch { binary, path }) => Some(format!("its entrypoint {path} is built for {binary}")),
            Some(Verified::CannotStart { reason }) => Some(reason.clone()),
            _ => None,
        });
        // The runtime's fallback (arm/v7 on arm64) is native only where the CPU can run it: on a
        // host without that mode (Apple M-series) it runs under emulation.
        let emulated = selection == Selection::Fallback
            && platform.as_deref().and_then(|k| Platform::parse_key(k).ok()).is_some_and(|p| {
                matches!(host.runs(&p.normalize().architecture), crate::model::diagnose::RunMode::Emulated | crate::model::diagnose::RunMode::No)
            });
        HostFit { platform, selection, checked: true, refused, emulated }
    }
}

/// How a host runs a repository's chosen tag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostFit {
    /// The platform key of the entry it would run.
    pub platform: Option<String>,
    #[serde(rename = "match")]
    pub selection: Selection,
    /// False when there was nothing to judge (an error, an artifact).
    #[serde(skip)]
    pub checked: bool,
    /// Why the entry picked cannot run as labelled (its config or binary says otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The runtime falls back to it, but the host's CPU cannot run it: it runs emulated.
    #[serde(skip)]
    pub emulated: bool,
}

impl HostFit {
    /// `native`, `fallback`, `fallback-emulated` (the runtime's fallback, run under emulation),
    /// `emulation`, `none`, `mislabelled` (the entry picked is not what its label says), or
    /// `unknown` when there was nothing to judge.
    pub fn word(&self) -> &'static str {
        match (self.checked, self.selection) {
            (false, _) => "unknown",
            (true, _) if self.refused.is_some() => "mislabelled",
            (true, Selection::Exact) => "native",
            (true, Selection::Fallback) if self.emulated => "fallback-emulated",
            (true, Selection::Fallback) => "fallback",
            (true, Selection::Emulation) => "emulation",
            (true, Selection::None) => "none",
        }
    }

    /// [`HostFit::word`] as said to a reader: `fallback (emulated)`.
    pub fn label(&self) -> &'static str {
        match self.word() {
            "fallback-emulated" => "fallback (emulated)",
            w => w,
        }
    }

    /// The host runs it natively: as labelled, or by the runtime's fallback on a CPU that runs
    /// it (what `--require-host` asks).
    pub fn runs_natively(&self) -> bool {
        matches!(self.word(), "native" | "fallback")
    }
}

/// Repositories × platforms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub registry: String,
    pub rows: Vec<CoverageRow>,
    columns: Columns,
    /// Repository → its index in `rows`.
    row_of: HashMap<String, usize>,
}

/// How many repositories have a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub have: usize,
    /// Repositories whose tag is an image or index (errors and artifacts are not counted).
    pub of: usize,
}

impl Coverage {
    pub fn new(registry: &str) -> Coverage {
        Coverage { registry: registry.to_string(), ..Coverage::default() }
    }

    /// Add a repository's row (or replace the row of a repository already present).
    pub fn push(&mut self, row: CoverageRow) {
        // Windows images by release: one column for every monthly revision of a build.
        let columns: Vec<String> = row.row.iter().flat_map(|r| r.cells.keys()).map(|k| Platform::release_column(k).0).collect();
        self.columns.add(&columns);
        match self.row_of.get(&row.repository).and_then(|&i| self.rows.get_mut(i)) {
            Some(existing) => *existing = row,
            None => {
                self.row_of.insert(row.repository.clone(), self.rows.len());
                self.rows.push(row);
            }
        }
    }

    /// Platform keys, in column order.
    pub fn keys(&self) -> &[String] {
        self.columns.keys()
    }

    pub fn tally(&self, platform_key: &str) -> Tally {
        let images = self.rows.iter().filter(|r| r.is_image());
        let (mut have, mut of) = (0, 0);
        for r in images {
            of += 1;
            if !r.lacks(platform_key) {
                have += 1;
            }
        }
        Tally { have, of }
    }

    /// "312 of 340 repositories have linux/arm64"
    pub fn summary_line(&self, platform_key: &str) -> String {
        let t = self.tally(platform_key);
        let verb = if t.of == 1 { "has" } else { "have" };
        format!("{} of {} {verb} {platform_key}", t.have, super::units::count(t.of, "repository", "repositories"))
    }

    /// How many repositories `host` runs natively, by fallback, by emulation, or not at all.
    pub fn host_tally(&self, host: &Host) -> [usize; 4] {
        let mut n = [0; 4];
        for r in self.rows.iter().filter(|r| r.is_image()) {
            let [native, fallback, emulation, none] = &mut n;
            let fit = r.host_fit(host);
            // A mislabelled pick runs nowhere as promised: counted with "not at all".
            *match if fit.refused.is_some() { Selection::None } else { fit.selection } {
                Selection::Exact => native,
                Selection::Fallback if fit.emulated => emulation,
                Selection::Fallback => fallback,
                Selection::Emulation => emulation,
                Selection::None => none,
            } += 1;
        }
        n
    }

    /// Row indices in display order: by name, or (`attention_first`) those needing attention
    /// first: lacking `platform_key` (or, with none given, not native on `host`), then
    /// failures, then the rest; by name within each group.
    pub fn order(&self, attention_first: bool, platform_key: Option<&str>, host: &Host) -> Vec<usize> {
        let rank = |r: &CoverageRow| -> u8 {
            if !attention_first {
                return 0;
            }
            let short = match platform_key {
                Some(k) => r.lacks(k),
                None => r.is_image() && r.host_fit(host).word() != "native",
            };
            if short {
                0
            } else if r.problem().is_some() {
                1
            } else {
                2
            }
        };
        let mut keyed: Vec<(u8, &str, usize)> = self.rows.iter().enumerate().map(|(i, r)| (rank(r), r.repository.as_str(), i)).collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, _, i)| i).collect()
    }

    /// Put the rows in [`Coverage::order`].
    pub fn sort(&mut self, attention_first: bool, platform_key: Option<&str>, host: &Host) {
        let order = self.order(attention_first, platform_key, host);
        let mut old: Vec<Option<CoverageRow>> = std::mem::take(&mut self.rows).into_iter().map(Some).collect();
        self.rows = order.into_iter().filter_map(|i| old.get_mut(i).and_then(Option::take)).collect();
        self.reindex();
    }

    fn reindex(&mut self) {
        self.row_of = self.rows.iter().enumerate().map(|(i, r)| (r.repository.clone(), i)).collect();
    }

    /// Comma-separated values: one line per repository, a column per platform holding the
    /// compressed size in bytes (empty: missing). Fields a spreadsheet would run as a formula
    /// are quoted with a leading `'`. Only rows for which `keep` holds are written.
    pub fn to_csv(&self, host: &Host, keep: &dyn Fn(&CoverageRow) -> bool) -> String {
        let mut out = String::new();
        let mut header = vec!["repository".to_string(), "tag".into(), "digest".into(), "kind".into(), format!("host {}", host.label), "host platform".into()];
        header.extend(self.keys().iter().cloned());
        header.push("error".into());
        csv_line(&mut out, &header);
        for r in self.rows.iter().filter(|r| keep(r)) {
            let fit = r.host_fit(host);
            let row = r.row.as_ref();
            let mut fields = vec![
                r.repository.clone(),
                r.tag.clone().unwrap_or_default(),
                row.and_then(|x| x.digest.as_ref()).map(|d| d.to_string()).unwrap_or_default(),
                row.map(|x| kind_word(x.kind).to_string()).unwrap_or_default(),
                fit.word().to_string(),
                fit.platform.clone().unwrap_or_default(),
            ];
            for k in self.keys() {
                fields.push(r.cell(k).map(|(_, c, _)| c.compressed_size.map(|s| s.to_string()).unwrap_or_else(|| "present".into())).unwrap_or_default());
            }
            fields.push(r.problem().unwrap_or_default().to_string());
            csv_line(&mut out, &fields);
        }
        out
    }

    /// A Markdown table for an issue or a wiki page (the rows for which `keep` holds), with
    /// the per-platform summary of all rows below it.
    pub fn to_markdown(&self, host: &Host, keep: &dyn Fn(&CoverageRow) -> bool) -> String {
        let mut out = String::new();
        let mut header = vec!["Repository".to_string(), "Tag".into(), format!("{} runs", host.label)];
        header.extend(self.keys().iter().map(|k| format!("`{k}`")));
        md_line(&mut out, &header);
        md_line(&mut out, &vec!["---".to_string(); header.len()]);
        for r in self.rows.iter().filter(|r| keep(r)) {
            let fit = r.host_fit(host);
            let mut fields = vec![
                format!("`{}`", r.repository),
                r.tag.as_deref().map(|t| format!("`{t}`")).unwrap_or_else(|| "—".into()),
                match (r.problem(), &fit.platform) {
                    (Some(e), _) => format!("error: {}", one_line(e, 200)),
                    (None, Some(p)) => format!("{} ({p})", fit.label()),
                    (None, None) => fit.label().to_string(),
                },
            ];
            for k in self.keys() {
                fields.push(match r.cell(k) {
                    Some((_, c, rev)) => {
                        format!("✓ {}{}", c.compressed_size.map(human_bytes).unwrap_or_default(), revision_words(rev.as_deref())).trim_end().to_string()
                    }
                    None if r.is_image() => "✗".into(),
                    None => String::new(),
                });
            }
            md_line(&mut out, &fields);
        }
        out.push('\n');
        for k in self.keys() {
            out.push_str(&format!("- {}\n", self.summary_line(k)));
        }
        let n = self.host_tally(host);
        out.push_str(&format!("- {}: {} native, {} by fallback, {} by emulation, {} not at all\n", host.label, n[0], n[1], n[2], n[3]));
        out
    }
}

fn kind_word(k: RowKind) -> &'static str {
    match k {
        RowKind::Index => "index",
        RowKind::Image => "single",
        RowKind::Artifact => "artifact",
        RowKind::Error => "error",
    }
}

/// At most `max` characters, on one line.
fn one_line(s: &str, max: usize) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect()
}

fn csv_line(out: &mut String, fields: &[String]) {
    let cells: Vec<String> = fields
        .iter()
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{f}") } else { f.clone() };
            if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn md_line(out: &mut String, fields: &[String]) {
    let cells: Vec<String> = fields.iter().map(|f| one_line(f, 400).replace('\\', "\\\\").replace('|', "\\|")).collect();
    out.push_str("| ");
    out.push_str(&cells.join(" | "));
    out.push_str(" |\n");
}

#[cfg(test)]
mod tests {

    #[test]
    fn newest_is_the_highest_version_and_shas_and_dates_are_not_versions() {
        let tags: Vec<String> = ["8c3f2a1", "1.4.10", "latest", "1.5.0-rc.1", "20240115", "v1.4.9", "2024-01-15"].iter().map(|s| s.to_string()).collect();
        assert_eq!(TagPolicy::Newest.choose(&tags), Some("1.5.0-rc.1"));
        assert_eq!(TagPolicy::NewestStable.choose(&tags), Some("1.4.10"));
        assert_eq!(TagPolicy::parse("newest-stable").unwrap(), TagPolicy::NewestStable);
        let only_shas: Vec<String> = ["8c3f2a1", "4e1d0b7"].iter().map(|s| s.to_string()).collect();
        assert_eq!(TagPolicy::Newest.choose(&only_shas), None);
    }

    use super::*;
    use crate::model::digest::Digest;
    use crate::model::manifest::ManifestKind;
    use crate::model::matrix::{CellSource, Child, TagOutcome, TagResult};

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn index_row(repo: &str, tag: &str, platforms: &[&str]) -> CoverageRow {
        let children = platforms
            .iter()
            .map(|p| Child {
                source: CellSource::Registry,
                platform: Some(Platform::parse_key(p).unwrap()),
                digest: Digest::sha256(p.as_bytes()),
                size: 500,
                compressed_size: Some(1_234_000),
                error: None,
                attestation: None,
                verified: None,
            })
            .collect();
        let outcome = TagOutcome::Index {
            digest: Digest::sha256(repo.as_bytes()),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            kind: ManifestKind::OciIndex,
            children,
            attestations: 0,
        };
        CoverageRow {
            repository: repo.into(),
            tags: 3,
            tag: Some(tag.into()),
            row: Some(Row::from_result(TagResult { pushed: None, tag: tag.into(), outcome })),
            error: None,
            empty: false,
            latest_lags: None,
            supply: None,
            supply_error: None,
        }
    }

    #[test]
    fn policies_choose_as_documented() {
        let t = tags(&["latest", "1.9", "1.10", "2.0-rc1", "main", "sha256-abc.sig", "v0.9", "release-2024-01", "release-2024-11"]);
        assert_eq!(TagPolicy::Latest.choose(&t), Some("latest"));
        assert_eq!(TagPolicy::Newest.choose(&t), Some("2.0-rc1"));
        let with_release = tags(&["2.0-rc1", "2.0", "1.10"]);
        assert_eq!(TagPolicy::Newest.choose(&with_release), Some("2.0"));
        assert_eq!(TagPolicy::parse("release-*").unwrap().choose(&t), Some("release-2024-11"));
        assert_eq!(TagPolicy::parse("v*").unwrap().choose(&t), Some("v0.9"));
        assert_eq!(TagPolicy::Newest.choose(&tags(&["v1.10", "1.9", "v1.2"])), Some("v1.10"));
        assert_eq!(TagPolicy::Newest.choose(&tags(&["latest", "main"])), None);
        assert_eq!(TagPolicy::Latest.choose(&tags(&["1.0"])), None);
        assert!(TagPolicy::parse("").is_err());
        assert!(TagPolicy::parse("a|b").is_err());
        assert!(TagPolicy::parse(&"x".repeat(500)).is_err());
        assert_eq!(TagPolicy::parse(" newest ").unwrap(), TagPolicy::Newest);
    }

    #[test]
    fn windows_columns_group_by_release_and_cells_say_their_revision() {
        let mut c = Coverage::new("r");
        c.push(index_row("w/feb", "1", &["windows/amd64:10.0.20348.2966", "linux/amd64"]));
        c.push(index_row("w/mar", "1", &["windows/amd64:10.0.20348.3091"]));
        c.push(index_row("w/old", "1", &["windows/amd64:10.0.17763.5122"]));
        assert_eq!(c.keys(), ["linux/amd64", "windows/amd64:10.0.17763", "windows/amd64:10.0.20348"]);
        let (key, _, rev) = c.rows[1].cell("windows/amd64:10.0.20348").unwrap();
        assert_eq!((key, rev.as_deref()), ("windows/amd64:10.0.20348.3091", Some("3091")));
        assert!(c.rows[2].cell("windows/amd64:10.0.20348").is_none());
        assert_eq!(c.tally("windows/amd64:10.0.20348"), Tally { have: 2, of: 3 });
        let md = c.to_markdown(&Host::parse("linux/amd64").unwrap(), &|_| true);
        assert!(md.contains("(rev 2966)") && md.contains("(rev 3091)"), "{md}");
        // Other keys stay their own column.
        assert_eq!(Platform::release_column("linux/arm/v7"), ("linux/arm/v7".to_string(), None));
        assert_eq!(Platform::release_column("windows/amd64:10.0.20348"), ("windows/amd64:10.0.20348".to_string(), None));
    }

    #[test]
    fn tallies_hosts_and_sorting() {
        let mut c = Coverage::new("r");
        c.push(index_row("b/both", "1", &["linux/amd64", "linux/arm64"]));
        c.push(index_row("a/amd", "1", &["linux/amd64"]));
        c.push(index_row("c/v7", "1", &["linux/arm/v7"]));
        c.push(CoverageRow::failed("d/broken", 0, None, "tag list: denied".into()));
        assert_eq!(c.keys(), ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        assert_eq!(c.tally("linux/arm64"), Tally { have: 1, of: 3 });
        assert_eq!(c.summary_line("linux/arm64"), "1 of 3 repositories have linux/arm64");
        let mac = Host::parse("apple-silicon").unwrap();
        let pi = Host::parse("linux/arm64").unwrap();
        assert_eq!(c.rows[0].host_fit(&mac).word(), "native");
        assert_eq!(c.rows[1].host_fit(&mac).word(), "emulation");
        assert_eq!(c.rows[2].host_fit(&pi).word(), "fallback");
        assert_eq!(c.rows[2].host_fit(&pi).platform.as_deref(), Some("linux/arm/v7"));
        // As diagnose says: selected by fallback, but M-series CPUs have no 32-bit mode, so
        // Docker Desktop emulates it.
        assert_eq!(c.rows[2].host_fit(&mac).word(), "fallback-emulated");
        assert_eq!(c.rows[2].host_fit(&mac).label(), "fallback (emulated)");
        assert!(!c.rows[2].host_fit(&mac).runs_natively() && c.rows[2].host_fit(&pi).runs_natively());
        assert_eq!(c.rows[3].host_fit(&mac).word(), "unknown");
        assert_eq!(c.host_tally(&mac), [1, 0, 2, 0], "the emulated fallback counted with emulation");
        c.sort(true, Some("linux/arm64"), &mac);
        let order: Vec<&str> = c.rows.iter().map(|r| r.repository.as_str()).collect();
        assert_eq!(order, ["a/amd", "c/v7", "d/broken", "b/both"]);
        assert_eq!(c.order(true, None, &mac), [0, 1, 2, 3], "not native on the Mac, then the failure");
        c.sort(false, None, &mac);
        let order: Vec<&str> = c.rows.iter().map(|r| r.repository.as_str()).collect();
        assert_eq!(order, ["a/amd", "b/both", "c/v7", "d/broken"]);
        // A row replaced in place, not added twice.
        c.push(index_row("a/amd", "2", &["linux/amd64", "linux/arm64"]));
        assert_eq!(c.rows.len(), 4);
        assert_eq!(c.tally("linux/arm64"), Tally { have: 2, of: 3 });
    }

    #[test]
    fn exports_quote_what_a_registry_could_smuggle() {
        let mut c = Coverage::new("r");
        c.push(index_row("a/app", "1.0", &["linux/amd64"]));
        c.push(CoverageRow::failed("b/x", 2, Some("1.0".into()), "=HYPERLINK(\"x\"), then | a pipe\nand a line".into()));
        let host = Host::parse("linux/amd64").unwrap();
        let csv = c.to_csv(&host, &|_| true);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "repository,tag,digest,kind,host linux/amd64,host platform,linux/amd64,error");
        assert!(lines[1].starts_with("a/app,1.0,sha256:"), "{}", lines[1]);
        assert!(lines[1].ends_with(",index,native,linux/amd64,1234000,"), "{}", lines[1]);
        assert_eq!(lines[2], "b/x,1.0,,,unknown,,,\"'=HYPERLINK(\"\"x\"\"), then | a pipe\nand a line\"");
        let md = c.to_markdown(&host, &|_| true);
        assert!(!c.to_markdown(&host, &|r| r.repository == "b/x").contains("a/app"));
        assert!(md.contains("| `a/app` | `1.0` | native (linux/amd64) | ✓ 1.23 MB |"), "{md}");
        assert!(md.contains("error: =HYPERLINK(\"x\"), then \\| a pipe and a line"), "{md}");
        assert!(md.contains("- 1 of 1 repository has linux/amd64"), "{md}");
        assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), 4);
    }
}
