//! The platform matrix: tags × platforms → cells, built from per-tag results.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use super::digest::Digest;
use super::manifest::ManifestKind;
use super::platform::{Platform, column_order};

/// What resolving one tag produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagResult {
    pub tag: String,
    pub outcome: TagOutcome,
    /// When the tag was last pushed, when the source says (Docker Hub's API does).
    pub pushed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
// One per tag, built once and folded into a row at once: boxing the image's child would only
// add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum TagOutcome {
    /// An index or manifest list and what its entries resolved to.
    Index { digest: Digest, media_type: String, kind: ManifestKind, children: Vec<Child>, attestations: usize },
    /// A single-platform image; its platform comes from its config.
    Image { digest: Digest, media_type: String, child: Child },
    /// Not an image: a signature, SBOM, Helm chart …
    Artifact { digest: Digest, media_type: String, artifact_type: Option<String> },
    /// The tag could not be read.
    Failed { error: String },
}

impl TagOutcome {
    /// The digest the tag names, when it was read.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            TagOutcome::Index { digest, .. } | TagOutcome::Image { digest, .. } | TagOutcome::Artifact { digest, .. } => Some(digest),
            TagOutcome::Failed { .. } => None,
        }
    }
}

/// One platform's image inside a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// `None` when the platform is unknown (an image whose config could not be read).
    pub platform: Option<Platform>,
    pub digest: Digest,
    /// Size of the child manifest in bytes.
    pub size: u64,
    /// Config plus layers, once the child manifest has been read.
    pub compressed_size: Option<u64>,
    pub error: Option<String>,
    /// Digest of the attestation manifest that describes this child, if any.
    pub attestation: Option<Digest>,
    /// Whether the child's config agrees with its index entry, when asked (`--verify`).
    pub verified: Option<Verified>,
    /// Where the cell's facts come from.
    pub source: CellSource,
}

/// Where a cell's digest, platform and size were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellSource {
    /// The registry's manifests, verified by digest.
    #[default]
    Registry,
    /// Docker Hub's API (tags, platforms, child digests and Docker Hub's compressed sizes), not
    /// verified against the manifests until they are read.
    DockerHubApi,
}

impl CellSource {
    fn is_registry(&self) -> bool {
        *self == CellSource::Registry
    }
}

/// A cell checked against the image it names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verified", rename_all = "kebab-case")]
pub enum Verified {
    /// The config says the platform the entry says.
    Ok,
    /// The config says another platform: the label lies.
    ConfigMismatch { config: String },
    /// The config could not be read.
    Unknown { reason: String },
    /// Deep: the entrypoint binary is built for another architecture than the entry says.
    BinaryMismatch { binary: String, path: String },
    /// Deep: the runtime or the kernel refuses to start it (a missing program loader, a
    /// missing interpreter, …).
    CannotStart { reason: String },
}

impl Verified {
    /// The image cannot run as its entry says (its config or binary says another platform,
    /// or it cannot start): a pick of it is no native pick.
    pub fn refuses(&self) -> bool {
        matches!(self, Verified::ConfigMismatch { .. } | Verified::BinaryMismatch { .. } | Verified::CannotStart { .. })
    }
}

impl Row {
    /// Nothing in this tag runs natively on a host whose pick is `pick` (a platform key): no
    /// pick, or the pick was checked and cannot run as labelled. Artifacts and errors run
    /// nothing and are not counted.
    pub fn nothing_runs(&self, pick: Option<&str>) -> bool {
        self.is_runnable_kind() && pick.is_none_or(|k| self.cells.get(k).and_then(|c| c.verified.as_ref()).is_some_and(Verified::refuses))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    Index,
    Image,
    Artifact,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    pub digest: Digest,
    pub size: u64,
    pub compressed_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<Digest>,
    /// Further entries of the same index for this platform (e.g. zstd twins); the first wins.
    #[serde(skip_serializing_if = "is_zero")]
    pub duplicates: u32,
    /// Set when the matrix was verified.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub verified: Option<Verified>,
    /// Said only when the facts did not come from the manifests.
    #[serde(skip_serializing_if = "CellSource::is_registry")]
    pub source: CellSource,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub tag: String,
    pub digest: Option<Digest>,
    pub media_type: Option<String>,
    pub kind: RowKind,
    pub manifest_kind: Option<ManifestKind>,
    /// Platform key → cell.
    pub cells: BTreeMap<String, Cell>,
    pub attestations: usize,
    pub error: Option<String>,
    pub artifact_type: Option<String>,
    /// When the tag was last pushed, when the source says.
    pub pushed: Option<String>,
}

impl Row {
    /// Whether a cell covers the platform `wanted` (a key): `windows/amd64` is covered by any
    /// Windows amd64 image, `windows/amd64:10.0.20348` by any revision of that release (see
    /// [`Platform::covers`]).
    pub fn covers(&self, wanted: &str) -> bool {
        if self.cells.contains_key(wanted) {
            return true;
        }
        let Ok(w) = Platform::parse_key(wanted) else { return false };
        self.cells.keys().any(|k| Platform::parse_key(k).is_ok_and(|have| have.covers(&w)))
    }

    /// The row one tag's result makes.
    pub fn from_result(r: TagResult) -> Row {
        let mut row = Row {
            tag: r.tag,
            digest: None,
            media_type: None,
            kind: RowKind::Error,
            manifest_kind: None,
            cells: BTreeMap::new(),
            attestations: 0,
            error: None,
            artifact_type: None,
            pushed: r.pushed,
        };
        match r.outcome {
            TagOutcome::Index { digest, media_type, kind, children, attestations } => {
                row.digest = Some(digest);
                row.media_type = Some(media_type);
                row.kind = RowKind::Index;
                row.manifest_kind = Some(kind);
                row.attestations = attestations;
                for c in children {
                    row.add_child(c);
                }
            }
            TagOutcome::Image { digest, media_type, child } => {
                row.digest = Some(digest);
                row.media_type = Some(media_type);
                row.kind = RowKind::Image;
                if child.platform.is_none() {
                    row.error = child.error.clone();
                }
                row.add_child(child);
            }
            TagOutcome::Artifact { digest, media_type, artifact_type } => {
                row.digest = Some(digest);
                row.media_type = Some(media_type);
                row.kind = RowKind::Artifact;
                row.manifest_kind = Some(ManifestKind::Artifact);
                row.artifact_type = artifact_type;
            }
            TagOutcome::Failed { error } => {
                row.error = Some(error);
            }
        }
        row
    }

    fn add_child(&mut self, c: Child) {
        let key = c.platform.as_ref().map(Platform::key).unwrap_or_else(|| "unknown".to_string());
        match self.cells.get_mut(&key) {
            Some(existing) => existing.duplicates += 1,
            None => {
                self.cells.insert(
                    key,
                    Cell {
                        digest: c.digest,
                        size: c.size,
                        compressed_size: c.compressed_size,
                        error: c.error,
                        attestation: c.attestation,
                        duplicates: 0,
                        verified: c.verified,
                        source: c.source,
                    },
                );
            }
        }
    }

    /// An image or index: something a host could run (not an artifact, not a failed read).
    pub fn is_runnable_kind(&self) -> bool {
        matches!(self.kind, RowKind::Index | RowKind::Image)
    }
}

/// Platform columns in display order ([`column_order`]), added to as rows bring new keys: the
/// matrix's columns and coverage's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Columns {
    platforms: Vec<Platform>,
    /// `platforms` as keys, same order.
    keys: Vec<String>,
    /// `keys` for lookups: a row with 100,000 platforms must not cost 100,000² comparisons.
    key_set: std::collections::HashSet<String>,
}

impl Columns {
    /// Add the keys not yet columns, each in its place.
    pub fn add<'a>(&mut self, keys: impl IntoIterator<Item = &'a String>) {
        let mut added = false;
        for key in keys {
            if !self.key_set.contains(key) {
                self.key_set.insert(key.clone());
                self.platforms.push(Platform::parse_key(key).unwrap_or_else(|_| Platform::new(key, "", "")));
                added = true;
            }
        }
        if added {
            self.platforms.sort_by(column_order);
            self.keys = self.platforms.iter().map(Platform::key).collect();
        }
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub fn platforms(&self) -> &[Platform] {
        &self.platforms
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matrix {
    pub repository: String,
    /// Columns in display order.
    columns: Columns,
    /// Rows in arrival order (see [`Matrix::push`]).
    pub rows: Vec<Row>,
    row_of: HashMap<String, usize>,
    /// Why not every tag was read, when the reading stopped early (the registry went away).
    pub partial: Option<String>,
    /// What the reader wants said about where the rows come from (Docker Hub's API, its age,
    /// a fall-back to the registry's manifests).
    pub notes: Vec<String>,
    /// How many pushes replaced a row already present (a refresh), so views derived from the
    /// rows know whether rows were only added.
    replaced: u64,
}

impl Matrix {
    pub fn new(repository: &str) -> Matrix {
        Matrix { repository: repository.to_string(), ..Matrix::default() }
    }

    /// Rows keep the order of `results`.
    pub fn build(repository: &str, results: Vec<TagResult>) -> Matrix {
        let mut m = Matrix::new(repository);
        for r in results {
            m.push(r);
        }
        m
    }

    /// Add a tag's result, or replace the row of a tag already present (a refresh); new
    /// platforms become columns in their place.
    pub fn push(&mut self, result: TagResult) {
        let row = Row::from_result(result);
        self.columns.add(row.cells.keys());
        match self.row_of.get(&row.tag).and_then(|&i| self.rows.get_mut(i)) {
            Some(existing) => {
                *existing = row;
                self.replaced += 1;
            }
            None => {
                self.row_of.insert(row.tag.clone(), self.rows.len());
                self.rows.push(row);
            }
        }
    }

    /// Keep only the rows for which `keep` holds (columns stay).
    pub fn retain_rows(&mut self, keep: impl Fn(&Row) -> bool) {
        self.rows.retain(|r| keep(r));
        self.replaced += 1;
        self.row_of = self.rows.iter().enumerate().map(|(i, r)| (r.tag.clone(), i)).collect();
    }

    /// Whether `row` is an image or index without a cell for `platform_key` ([`Row::covers`]).
    pub fn lacks(row: &Row, platform_key: &str) -> bool {
        row.kind != RowKind::Error && row.kind != RowKind::Artifact && !row.covers(platform_key)
    }

    /// How many rows were replaced by a push of the same tag so far.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    pub fn row(&self, tag: &str) -> Option<&Row> {
        self.row_of.get(tag).and_then(|&i| self.rows.get(i))
    }

    pub fn platform_keys(&self) -> Vec<String> {
        self.columns.keys().to_vec()
    }

    /// Column keys without copying.
    pub fn keys(&self) -> &[String] {
        self.columns.keys()
    }

    /// Columns in display order.
    pub fn platforms(&self) -> &[Platform] {
        self.columns.platforms()
    }

    /// Tags that point at the same digest, for every digest shared by two or more tags,
    /// in row order.
    pub fn shared_digests(&self) -> BTreeMap<Digest, Vec<String>> {
        let mut by: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
        for r in &self.rows {
            if let Some(d) = &r.digest {
                by.entry(d.clone()).or_default().push(r.tag.clone());
            }
        }
        by.retain(|_, tags| tags.len() > 1);
        by
    }

    /// The other tags sharing this row's digest.
    pub fn shared_with(&self, row: &Row) -> Vec<String> {
        match &row.digest {
            None => Vec::new(),
            Some(d) => self.rows.iter().filter(|r| r.tag != row.tag && r.digest.as_ref() == Some(d)).map(|r| r.tag.clone()).collect(),
        }
    }

    /// Tags with no cell for `platform` (key form), error rows excluded.
    pub fn tags_missing(&self, platform_key: &str) -> Vec<&str> {
        self.rows.iter().filter(|r| Matrix::lacks(r, platform_key)).map(|r| r.tag.as_str()).collect()
    }
}

/// Natural order for tags: digit runs compare as numbers (`1.9` < `1.10`), the rest as text;
/// a pre-release suffix (`1.0-rc1`) sorts before its release (`1.0`).
pub fn version_order(a: &str, b: &str) -> Ordering {
    VersionKey::new(a).cmp(&VersionKey::new(b))
}

/// A tag split into digit and non-digit runs, ordered by [`version_order`]'s rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionKey<'a> {
    tag: &'a str,
    parts: Vec<(bool, &'a str)>,
}

impl<'a> VersionKey<'a> {
    // `i < bytes.len()` where `bytes[i]` is read, and `start < i`; runs split where a byte
    // turns ASCII digit or stops being one, which is always a char boundary.
    #[allow(clippy::indexing_slicing)]
    pub fn new(s: &'a str) -> VersionKey<'a> {
        let mut parts = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                parts.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        VersionKey { tag: s, parts }
    }
}

impl PartialOrd for VersionKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for VersionKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        version_parts_cmp(&self.parts, &other.parts, self.tag, other.tag)
    }
}

fn version_parts_cmp(pa: &[(bool, &str)], pb: &[(bool, &str)], a: &str, b: &str) -> Ordering {
    for (x, y) in pa.iter().zip(pb) {
        let o = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    // `1.0-rc1` before `1.0`; `1.0.1` after `1.0`.
    match pa.len().cmp(&pb.len()) {
        Ordering::Greater if pa.get(pb.len()).is_some_and(|p| p.1.starts_with('-')) => Ordering::Less,
        Ordering::Less if pb.get(pa.len()).is_some_and(|p| p.1.starts_with('-')) => Ordering::Greater,
        o => o.then_with(|| a.cmp(b)),
    }
}

/// Shell-style glob over a tag: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = t.get(ti) {
        match p.get(pi) {
            Some(&pc) if pc == '?' || pc == tc => {
                pi += 1;
                ti += 1;
            }
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: &str) -> Digest {
        Digest::sha256(b.as_bytes())
    }

    fn child(p: &str, name: &str) -> Child {
        Child {
            source: CellSource::Registry,
            platform: Some(Platform::parse_key(p).unwrap()),
            digest: d(name),
            size: 100,
            compressed_size: Some(1000),
            error: None,
            attestation: None,
            verified: None,
        }
    }

    fn index(tag: &str, id: &str, children: Vec<Child>) -> TagResult {
        TagResult {
            pushed: None,
            tag: tag.into(),
            outcome: TagOutcome::Index {
                digest: d(id),
                media_type: crate::model::manifest::OCI_INDEX.into(),
                kind: ManifestKind::OciIndex,
                children,
                attestations: 0,
            },
        }
    }

    #[test]
    fn columns_union_ordered_and_gaps() {
        let m = Matrix::build(
            "r",
            vec![
                index("1.0", "i1", vec![child("linux/arm64", "a"), child("linux/amd64", "b")]),
                index("1.1", "i2", vec![child("linux/arm/v7", "c"), child("windows/amd64:10.0.17763.1", "w")]),
                TagResult { pushed: None, tag: "bad".into(), outcome: TagOutcome::Failed { error: "boom".into() } },
            ],
        );
        assert_eq!(m.platform_keys(), ["linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64:10.0.17763.1"]);
        assert_eq!(m.tags_missing("linux/arm64"), ["1.1"]);
        assert_eq!(m.rows[2].kind, RowKind::Error);
        assert_eq!(m.rows[2].error.as_deref(), Some("boom"));
        assert_eq!(m.rows[0].cells["linux/arm64"].digest, d("a"));
    }

    #[test]
    fn shared_digests_grouped_and_single_arch_marked() {
        let img = TagResult {
            pushed: None,
            tag: "amd".into(),
            outcome: TagOutcome::Image { digest: d("x"), media_type: "m/t".into(), child: child("linux/amd64", "x") },
        };
        let m = Matrix::build("r", vec![index("latest", "i1", vec![child("linux/arm64", "a")]), index("1.0", "i1", vec![child("linux/arm64", "a")]), img]);
        let shared = m.shared_digests();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[&d("i1")], ["latest", "1.0"]);
        assert_eq!(m.shared_with(&m.rows[0]), ["1.0"]);
        assert_eq!(m.rows[2].kind, RowKind::Image);
        assert!(m.rows[2].cells.contains_key("linux/amd64"));
    }

    #[test]
    fn duplicate_platform_keeps_first() {
        let m = Matrix::build("r", vec![index("t", "i", vec![child("linux/arm64", "first"), child("linux/aarch64", "second")])]);
        let c = &m.rows[0].cells["linux/arm64"];
        assert_eq!(c.digest, d("first"));
        assert_eq!(c.duplicates, 1);
    }

    #[test]
    fn version_ordering() {
        let mut v = vec!["1.10", "1.9", "1.0", "1.0-rc1", "latest", "1.0.1", "2", "0.9-arm"];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(v, ["0.9-arm", "1.0-rc1", "1.0", "1.0.1", "1.9", "1.10", "2", "latest"]);
    }

    #[test]
    fn push_replaces_a_refreshed_row_and_adds_columns() {
        let mut m = Matrix::new("r");
        m.push(index("t", "i1", vec![child("linux/amd64", "a")]));
        m.push(index("u", "i2", vec![child("linux/arm64", "b")]));
        m.push(index("t", "i3", vec![child("linux/s390x", "c")]));
        assert_eq!(m.rows.len(), 2);
        assert_eq!(m.row("t").unwrap().digest, Some(d("i3")));
        assert_eq!(m.platform_keys(), ["linux/amd64", "linux/arm64", "linux/s390x"]);
        m.retain_rows(|r| Matrix::lacks(r, "linux/amd64"));
        assert_eq!(m.rows.len(), 2);
        assert_eq!(m.row("u").map(|r| r.tag.as_str()), Some("u"));
        assert!(m.row("x").is_none());
    }

    #[test]
    fn globs() {
        assert!(glob_match("1.*", "1.2.3"));
        assert!(glob_match("*-alpine", "3.19-alpine"));
        assert!(glob_match("v?.0", "v1.0"));
        assert!(!glob_match("v?.0", "v10.0"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "acbd"));
        assert!(glob_match("a*b*", "acbd"));
    }
}
