//! What changed between two images of one platform: their layers (shared, added, removed, with
//! sizes) and their configs, key by key, from the raw config JSON (so every key a config can
//! carry is compared, not a chosen few), with `Env` by variable and `Labels` by label, and the
//! history lines added.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::manifest::Descriptor;

/// A layer as a manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub digest: String,
    pub size: u64,
}

/// The layers of two images compared in order: those both have, those only the second has
/// (added) and those only the first has (removed), and the total compressed sizes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerDiff {
    pub shared: Vec<Layer>,
    pub added: Vec<Layer>,
    pub removed: Vec<Layer>,
    pub size_before: u64,
    pub size_after: u64,
}

impl LayerDiff {
    /// `after`'s total minus `before`'s, in bytes.
    pub fn delta(&self) -> i128 {
        i128::from(self.size_after) - i128::from(self.size_before)
    }
}

/// One key whose value differs: absent on a side is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub key: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Two configs compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConfigDiff {
    /// Every differing key: the platform (`os`, `architecture`, `variant`, `os.version`), each
    /// key of `config` (`Entrypoint`, `Cmd`, `WorkingDir`, `User`, `ExposedPorts`, `Volumes`, …),
    /// `Env.NAME` per variable and `Labels.NAME` per label.
    pub changes: Vec<Change>,
    /// History lines (`created_by`) the second has past what the first has.
    pub history_added: Vec<String>,
}

/// One platform's files compared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FilesDiff {
    /// Layers both images have at the same places from the bottom: not read.
    pub shared_layers: usize,
    pub changes: Vec<super::files::FileChange>,
}

impl FilesDiff {
    /// In words: `2 paths differ (above the 3 layers both share)`, `unchanged (no layer is shared)`.
    pub fn summary(&self) -> String {
        let above = match self.shared_layers {
            0 => "no layer is shared".to_string(),
            n => format!("above the {} both share", super::units::count(n, "layer", "layers")),
        };
        match self.changes.len() {
            0 => format!("unchanged ({above})"),
            n => format!("{} ({above})", super::units::count(n, "path differs", "paths differ")),
        }
    }
}

/// What comparing files read.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FilesRead {
    /// Distinct layers whose files were needed.
    pub layers: usize,
    /// Of those, listings kept from an earlier comparison (nothing read).
    pub from_cache: usize,
    /// Compressed bytes read.
    pub bytes: u64,
    /// The compressed size of the layers needed (read, or kept from before).
    pub layer_bytes: u64,
}

/// One platform compared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlatformDiff {
    pub platform: String,
    pub before: String,
    pub after: String,
    pub layers: LayerDiff,
    pub config: ConfigDiff,
    /// The index entries' annotations that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Change>,
    /// With `--files`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<FilesDiff>,
}

/// Two references compared.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub platforms: Vec<PlatformDiff>,
    /// Platforms only the first has.
    pub removed_platforms: Vec<String>,
    /// Platforms only the second has.
    pub added_platforms: Vec<String>,
    /// The indexes' own annotations that differ.
    pub annotations: Vec<Change>,
    /// With `--files`: what was read for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_read: Option<FilesRead>,
}

impl Diff {
    /// Platforms whose compressed size grew by more than `percent`, with the growth in percent
    /// (a platform of zero bytes before grows by any byte without bound).
    pub fn grown_over(&self, percent: f64) -> Vec<(String, f64)> {
        self.platforms
            .iter()
            .filter_map(|p| {
                let (b, a) = (p.layers.size_before as f64, p.layers.size_after as f64);
                let growth = if b > 0.0 {
                    (a - b) / b * 100.0
                } else if a > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                };
                (growth > percent).then(|| (p.platform.clone(), growth))
            })
            .collect()
    }
}

pub fn layers(before: &[Descriptor], after: &[Descriptor]) -> LayerDiff {
    let layer = |d: &Descriptor| Layer { digest: d.digest.to_string(), size: d.size };
    let mut left: BTreeMap<String, usize> = BTreeMap::new();
    for d in before {
        *left.entry(d.digest.to_string()).or_default() += 1;
    }
    let mut out = LayerDiff { size_before: before.iter().map(|d| d.size).sum(), size_after: after.iter().map(|d| d.size).sum(), ..LayerDiff::default() };
    for d in after {
        match left.get_mut(d.digest.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                out.shared.push(layer(d));
            }
            _ => out.added.push(layer(d)),
        }
    }
    // What is left of `before` was not matched: removed. A repeated layer's first copies are
    // the ones matched, so the unmatched are taken from the end, then put back in order.
    for d in before.iter().rev() {
        if let Some(n) = left.get_mut(d.digest.as_str())
            && *n > 0
        {
            *n -= 1;
            out.removed.push(layer(d));
        }
    }
    out.removed.reverse();
    out
}

/// Compare two configs' raw JSON. Unreadable JSON compares as an empty object.
pub fn config(before: &[u8], after: &[u8]) -> ConfigDiff {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
    let (a, b) = (parse(before), parse(after));
    let mut changes = Vec::new();
    for key in ["os", "architecture", "variant", "os.version", "os.features"] {
        push_change(&mut changes, key.to_string(), a.get(key), b.get(key));
    }
    let empty = serde_json::Map::new();
    let inner = |o: &serde_json::Map<String, Value>| o.get("config").and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone());
    let (ca, cb) = (inner(&a), inner(&b));
    let keys: std::collections::BTreeSet<&String> = ca.keys().chain(cb.keys()).collect();
    for key in keys {
        match key.as_str() {
            "Env" => {
                let vars = |c: &serde_json::Map<String, Value>| -> BTreeMap<String, String> {
                    c.get("Env")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(|s| s.split_once('=').map_or((s.to_string(), String::new()), |(k, v)| (k.to_string(), v.to_string())))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let (va, vb) = (vars(&ca), vars(&cb));
                let names: std::collections::BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
                for n in names {
                    let s = |m: &BTreeMap<String, String>| m.get(n).map(|v| Value::String(v.clone()));
                    push_change(&mut changes, format!("Env.{n}"), s(&va).as_ref(), s(&vb).as_ref());
                }
            }
            "Labels" => {
                let labels = |c: &serde_json::Map<String, Value>| c.get("Labels").and_then(Value::as_object).cloned().unwrap_or_default();
                let (la, lb) = (labels(&ca), labels(&cb));
                let names: std::collections::BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
                for n in names {
                    push_change(&mut changes, format!("Labels.{n}"), la.get(n), lb.get(n));
                }
            }
            _ => push_change(&mut changes, key.clone(), ca.get(key), cb.get(key)),
        }
    }
    let history = |o: &serde_json::Map<String, Value>| -> Vec<String> {
        o.get("history")
            .and_then(Value::as_array)
            .map(|h| h.iter().map(|e| e.get("created_by").and_then(Value::as_str).unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    let (ha, hb) = (history(&a), history(&b));
    // The lines past the common beginning: what the newer build added or rebuilt.
    let common = ha.iter().zip(&hb).take_while(|(x, y)| x == y).count();
    ConfigDiff { changes, history_added: hb.into_iter().skip(common).collect() }
}

/// Record `key` when its values differ (JSON `null` and absent are the same).
fn push_change(out: &mut Vec<Change>, key: String, before: Option<&Value>, after: Option<&Value>) {
    let norm = |v: Option<&Value>| v.filter(|v| !v.is_null()).cloned();
    let (b, a) = (norm(before), norm(after));
    if b != a {
        out.push(Change { key, before: b, after: a });
    }
}

/// Two annotation maps compared key by key.
pub fn annotations(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<Change> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for k in keys {
        let v = |m: &BTreeMap<String, String>| m.get(k).map(|s| Value::String(s.clone()));
        push_change(&mut out, k.clone(), v(before).as_ref(), v(after).as_ref());
    }
    out
}

/// One tag's compressed size for one platform, in a series over the tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizePoint {
    pub tag: String,
    pub size: u64,
    /// When the tag was last pushed, when the source says (Docker Hub's API).
    pub pushed: Option<String>,
    /// The size grew by more than the threshold over the previous tag that had this platform.
    pub jump: bool,
}

/// Each platform's compressed size across `rows` in version order (oldest first), from what
/// the matrix already read. A point is a jump when it exceeds the previous one by more than
/// `jump_percent`.
pub fn size_series<'a>(rows: impl IntoIterator<Item = &'a super::matrix::Row>, jump_percent: f64) -> BTreeMap<String, Vec<SizePoint>> {
    let mut ordered: Vec<&super::matrix::Row> = rows.into_iter().collect();
    ordered.sort_by_cached_key(|r| super::matrix::VersionKey::new(&r.tag));
    let mut out: BTreeMap<String, Vec<SizePoint>> = BTreeMap::new();
    for row in ordered {
        for (key, cell) in &row.cells {
            let Some(size) = cell.compressed_size else { continue };
            let series = out.entry(key.clone()).or_default();
            let jump = series.last().is_some_and(|p| p.size > 0 && (size as f64) > p.size as f64 * (1.0 + jump_percent / 100.0));
            series.push(SizePoint { tag: row.tag.clone(), size, pushed: row.pushed.clone(), jump });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::digest::Digest;

    fn desc(name: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: Digest::sha256(name.as_bytes()),
            size,
            platform: None,
            annotations: BTreeMap::new(),
            artifact_type: None,
            urls: Vec::new(),
        }
    }

    #[test]
    fn a_files_comparison_says_how_many_paths_and_above_what() {
        let change =
            super::super::files::FileChange { path: "a".into(), change: super::super::files::ChangeKind::Added, before: None, after: None, base_unread: true };
        assert_eq!(FilesDiff { shared_layers: 0, changes: Vec::new() }.summary(), "unchanged (no layer is shared)");
        assert_eq!(FilesDiff { shared_layers: 1, changes: vec![change.clone()] }.summary(), "1 path differs (above the 1 layer both share)");
        assert_eq!(FilesDiff { shared_layers: 3, changes: vec![change.clone(), change] }.summary(), "2 paths differ (above the 3 layers both share)");
    }

    #[test]
    fn size_series_follow_version_order_and_mark_jumps() {
        use crate::model::matrix::{CellSource, Child, Row, TagOutcome, TagResult};
        let row = |tag: &str, size: u64| {
            Row::from_result(TagResult {
                pushed: None,
                tag: tag.into(),
                outcome: TagOutcome::Image {
                    digest: Digest::sha256(tag.as_bytes()),
                    media_type: "m".into(),
                    child: Child {
                        source: CellSource::Registry,
                        platform: Some(crate::model::Platform::parse_key("linux/arm64").unwrap()),
                        digest: Digest::sha256(tag.as_bytes()),
                        size: 1,
                        compressed_size: Some(size),
                        error: None,
                        attestation: None,
                        verified: None,
                    },
                },
            })
        };
        let s = size_series(&[row("1.10", 300), row("1.2", 100), row("1.9", 105)], 10.0);
        let arm = &s["linux/arm64"];
        assert_eq!(arm.iter().map(|p| p.tag.as_str()).collect::<Vec<_>>(), ["1.2", "1.9", "1.10"], "version order, not by name");
        assert_eq!(arm.iter().map(|p| p.jump).collect::<Vec<_>>(), [false, false, true]);
    }

    #[test]
    fn layers_are_shared_added_and_removed_with_the_size_delta() {
        let d = layers(&[desc("base", 100), desc("app1", 10), desc("base", 100)], &[desc("base", 100), desc("app2", 25)]);
        assert_eq!(d.shared.len(), 1);
        assert_eq!(d.added.iter().map(|l| l.size).collect::<Vec<_>>(), [25]);
        assert_eq!(d.removed.iter().map(|l| l.size).collect::<Vec<_>>(), [10, 100], "a repeated layer counts each time");
        assert_eq!((d.size_before, d.size_after, d.delta()), (210, 125, -85));
    }

    #[test]
    fn configs_compare_every_key_env_by_variable_and_labels_by_label() {
        let a = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/app"],"Env":["PATH=/bin","A=1","GONE=x"],"Labels":{"v":"1"},"ExposedPorts":{"80/tcp":{}}},
                    "history":[{"created_by":"FROM base"},{"created_by":"COPY app /app"}]}"#;
        let b = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/app","--serve"],"Env":["PATH=/bin","A=2","NEW=y"],"Labels":{"v":"2"},"User":"1000"},
                    "history":[{"created_by":"FROM base"},{"created_by":"COPY app2 /app"},{"created_by":"USER 1000"}]}"#;
        let d = config(a, b);
        let keys: Vec<&str> = d.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["Entrypoint", "Env.A", "Env.GONE", "Env.NEW", "ExposedPorts", "Labels.v", "User"]);
        let user = d.changes.iter().find(|c| c.key == "User").unwrap();
        assert_eq!((user.before.clone(), user.after.clone()), (None, Some(Value::String("1000".into()))));
        assert_eq!(d.history_added, ["COPY app2 /app", "USER 1000"]);
        assert!(config(a, a).changes.is_empty());
        assert!(config(b"not json", a).changes.iter().any(|c| c.key == "architecture"), "unreadable compares as empty");
    }
}
