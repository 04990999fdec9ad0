//! Composing an image index from existing images: the draft, its checks, the exact bytes that
//! will be pushed and their digest, and the equivalent commands of other tools.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::digest::Digest;
use super::manifest::{ANNOTATION_REFERENCE_DIGEST, ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, ManifestKind, OCI_INDEX};
use super::manifest::{ManifestView, platform_from};
use super::platform::Platform;
use super::reference::{Reference, Repository};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexType {
    Oci,
    Docker,
}

impl IndexType {
    pub fn media_type(self) -> &'static str {
        match self {
            IndexType::Oci => OCI_INDEX,
            IndexType::Docker => DOCKER_LIST,
        }
    }
}

/// One entry of a draft: a child manifest that exists somewhere, and how the index names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DraftEntry {
    /// Where the child lives now (`repo@digest`).
    pub source: Reference,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    /// The platform the index will claim (editable). Empty (the default) for an entry that
    /// names no platform, which then stays without one.
    pub platform: Platform,
    /// What the child's config says, when known.
    #[serde(default)]
    pub config_platform: Option<Platform>,
    #[serde(default = "default_kind")]
    pub kind: ManifestKind,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Compressed bytes of the child (config + layers), for copy estimates.
    #[serde(default)]
    pub compressed_size: u64,
    /// The child could not be found.
    #[serde(default)]
    pub missing: bool,
    /// The descriptor exactly as the index it came from wrote it: every field Archlens does not
    /// edit (`urls`, `features`, `data`, `artifactType`, unknown fields) is written back from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Map<String, Value>>,
}

fn default_kind() -> ManifestKind {
    ManifestKind::OciImage
}

impl DraftEntry {
    /// For an attestation entry: the digest of the image it describes.
    pub fn attests(&self) -> Option<Digest> {
        if self.annotations.get(ANNOTATION_REFERENCE_TYPE).map(String::as_str) != Some(ATTESTATION_MANIFEST) {
            return None;
        }
        self.annotations.get(ANNOTATION_REFERENCE_DIGEST).and_then(|d| Digest::parse(d).ok())
    }

    /// The entry names no platform (a nested index, a build cache entry).
    pub fn has_platform(&self) -> bool {
        self.platform != Platform::default()
    }

    /// `os/arch[/variant]`, or `(no platform)`.
    pub fn platform_label(&self) -> String {
        if self.has_platform() { self.platform.key() } else { "(no platform)".to_string() }
    }

    /// The descriptor as it will be written: the original object with the edited fields set.
    fn to_value(&self) -> Value {
        let mut m = self.raw.clone().unwrap_or_default();
        m.insert("mediaType".into(), json!(self.media_type));
        m.insert("digest".into(), json!(self.digest));
        m.insert("size".into(), json!(self.size));
        let original = m.get("platform").and_then(|v| platform_from(v, "platform").ok());
        if !self.has_platform() && !m.contains_key("platform") {
            // Stays without a platform.
        } else if original.as_ref() == Some(&self.platform) {
            // Unchanged: the original object, with any fields Archlens does not know.
        } else if !self.has_platform() {
            m.remove("platform");
        } else {
            let mut pj = match m.get("platform") {
                Some(Value::Object(o)) => o.clone(),
                _ => Map::new(),
            };
            let p = &self.platform;
            pj.insert("architecture".into(), json!(p.architecture));
            pj.insert("os".into(), json!(p.os));
            set_or_remove(&mut pj, "os.version", (!p.os_version.is_empty()).then(|| json!(p.os_version)));
            set_or_remove(&mut pj, "os.features", (!p.os_features.is_empty()).then(|| json!(p.os_features)));
            set_or_remove(&mut pj, "variant", (!p.variant.is_empty()).then(|| json!(p.variant)));
            m.insert("platform".into(), Value::Object(pj));
        }
        set_annotations(&mut m, &self.annotations);
        Value::Object(m)
    }
}

fn set_or_remove(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            m.insert(key.into(), v);
        }
        None => {
            m.remove(key);
        }
    }
}

/// Write `annotations` into `m`; an empty set removes the field unless it was already an empty
/// object (kept, so an unedited document keeps its bytes).
fn set_annotations(m: &mut Map<String, Value>, annotations: &BTreeMap<String, String>) {
    if annotations.is_empty() {
        if m.get("annotations").and_then(Value::as_object).is_some_and(Map::is_empty) {
            return;
        }
        m.remove("annotations");
        return;
    }
    // Keep the original key order when the set is unchanged.
    if !holds_annotations(m, annotations) {
        m.insert("annotations".into(), json!(annotations));
    }
}

/// `m` (a descriptor or an index object) has exactly `annotations`.
fn holds_annotations(m: &Map<String, Value>, annotations: &BTreeMap<String, String>) -> bool {
    m.get("annotations")
        .and_then(Value::as_object)
        .is_some_and(|o| o.len() == annotations.len() && annotations.iter().all(|(k, v)| o.get(k).and_then(Value::as_str) == Some(v.as_str())))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexDraft {
    /// `None`: chosen from the children.
    #[serde(default)]
    pub index_type: Option<IndexType>,
    pub entries: Vec<DraftEntry>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The index this draft edits, exactly as the registry served it. Everything the draft does
    /// not change is written back from it; a draft that changes nothing is these very bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Said before the draft is pushed (a repair that takes an image of another version …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The tag the base was read from (`registry/repo:tag`): pushed back to that tag later, the
    /// draft expects it to still hold the base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub severity: Severity,
    pub message: String,
}

/// Annotation keys the composer offers helpers for.
pub const HELPER_ANNOTATIONS: [&str; 4] =
    ["org.opencontainers.image.created", "org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version"];

/// How the user names one entry of a draft: by platform (`linux/arm/v7`) or by digest
/// (`sha256:…`, or a unique prefix of at least 12 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Platform(Platform),
    Digest(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{what}: no entry matches {selector} (the draft has: {have})")]
    NoMatch { what: String, selector: String, have: String },
    #[error("{what}: {selector} matches {count} entries ({which}); name one by digest")]
    Ambiguous { what: String, selector: String, count: usize, which: String },
    #[error("{what}: {detail}")]
    Bad { what: String, detail: String },
}

impl Selector {
    /// `os/arch[/variant][:os.version]` (also containerd's `windows(10.0.20348.2340)/amd64`) or
    /// `ALGO:HEX…`. Platforms must be complete; one without an os.version selects entries of
    /// any os.version (several: the selector is ambiguous and names them).
    pub fn parse(input: &str) -> Result<Selector, EditError> {
        let bad = |detail: String| EditError::Bad { what: format!("selector {input:?}"), detail };
        // containerd's form: os(os.version)/arch[/variant].
        if let Some((os, rest)) = input.split_once('(')
            && let Some((version, platform)) = rest.split_once(")/")
        {
            return Platform::parse_complete(&format!("{os}/{platform}:{version}")).map(Selector::Platform).map_err(|e| bad(e.to_string()));
        }
        if let Some((algo, hex)) = input.split_once(':')
            && matches!(algo, "sha256" | "sha512")
        {
            if hex.len() < 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                return Err(bad("a digest selector is ALGO: and at least 12 lowercase hex digits".into()));
            }
            return Ok(Selector::Digest(input.to_string()));
        }
        Platform::parse_complete(input).map(Selector::Platform).map_err(|e| bad(e.to_string()))
    }

    /// Split `SELECTOR:KEY` or `SELECTOR:KEY=VALUE`: the key is what follows the last `:`
    /// before the first `=` (keys hold no `:`; a selector may: a digest, a Windows os.version;
    /// a value may hold anything).
    pub fn split_prefix(input: &str) -> Option<(&str, &str)> {
        let head = input.split_once('=').map(|(h, _)| h).unwrap_or(input);
        let i = head.rfind(':')?;
        Some((input.get(..i)?, input.get(i + 1..)?))
    }

    fn matches(&self, e: &DraftEntry) -> bool {
        match self {
            Selector::Platform(p) if p.os_version.is_empty() => {
                e.attests().is_none() && e.has_platform() && Platform { os_version: String::new(), ..e.platform.clone() }.key() == p.key()
            }
            Selector::Platform(p) => e.attests().is_none() && e.has_platform() && e.platform.key() == p.key(),
            Selector::Digest(d) => e.digest.as_str().starts_with(d.as_str()),
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Platform(p) => f.write_str(&p.key()),
            Selector::Digest(d) => f.write_str(d),
        }
    }
}

/// Quote a value for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl IndexDraft {
    /// A draft that edits `base` (the raw bytes of an index): its annotations, media type and
    /// entries as they are.
    pub fn from_base(base: &[u8], entries: Vec<DraftEntry>) -> Result<IndexDraft, crate::model::manifest::ManifestError> {
        let view = ManifestView::parse(base)?;
        let text = std::str::from_utf8(base).map_err(|e| crate::model::manifest::ManifestError::Json { detail: e.to_string() })?.to_string();
        let index_type = if view.media_type == DOCKER_LIST { IndexType::Docker } else { IndexType::Oci };
        Ok(IndexDraft { index_type: Some(index_type), entries, annotations: view.annotations, base: Some(text), warnings: Vec::new(), base_of: None })
    }

    /// Docker manifest list only when every child is a Docker schema2 manifest.
    pub fn effective_type(&self) -> IndexType {
        if let Some(t) = self.index_type {
            return t;
        }
        let images: Vec<&DraftEntry> = self.entries.iter().collect();
        if !images.is_empty() && images.iter().all(|e| e.media_type == DOCKER_MANIFEST) { IndexType::Docker } else { IndexType::Oci }
    }

    fn base_value(&self) -> Option<Map<String, Value>> {
        match serde_json::from_str::<Value>(self.base.as_deref()?) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// The document that will be pushed, as a JSON value: the base with the edits applied.
    pub fn to_value(&self) -> Value {
        self.value_over(self.base_value())
    }

    fn value_over(&self, base: Option<Map<String, Value>>) -> Value {
        let t = self.effective_type();
        let mut top = base.unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("schemaVersion".into(), json!(2));
            m
        });
        // An OCI base without a mediaType field keeps having none.
        if top.contains_key("mediaType") || t != IndexType::Oci || self.base.is_none() {
            top.insert("mediaType".into(), json!(t.media_type()));
        }
        top.insert("manifests".into(), Value::Array(self.entries.iter().map(DraftEntry::to_value).collect()));
        set_annotations(&mut top, &self.annotations);
        Value::Object(top)
    }

    /// The exact bytes that will be pushed. A draft whose document equals its base's is the
    /// base's own bytes (and digest).
    pub fn to_bytes(&self) -> Vec<u8> {
        let base = self.base_value();
        let v = self.value_over(base.clone());
        if let (Some(text), Some(base)) = (&self.base, base)
            && Value::Object(base) == v
        {
            return text.as_bytes().to_vec();
        }
        // Members and entries the edit did not touch keep the base's exact bytes (numbers and
        // escapes as written); only what changed is written anew.
        if let Some(text) = &self.base
            && let Some(spliced) = splice(text, &v)
        {
            return spliced.into_bytes();
        }
        // Cannot fail: a Value with string keys always serialises.
        serde_json::to_vec_pretty(&v).unwrap_or_default()
    }

    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.to_bytes())
    }

    /// The one entry `selector` names.
    pub fn select(&self, selector: &Selector, what: &str) -> Result<usize, EditError> {
        let hits: Vec<usize> = self.entries.iter().enumerate().filter(|(_, e)| selector.matches(e)).map(|(i, _)| i).collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(EditError::NoMatch {
                what: what.to_string(),
                selector: selector.to_string(),
                have: if self.entries.is_empty() {
                    "no entries".into()
                } else {
                    self.entries.iter().map(|e| format!("{} {}", e.platform_label(), e.digest.short())).collect::<Vec<_>>().join(", ")
                },
            }),
            many => Err(EditError::Ambiguous {
                what: what.to_string(),
                selector: selector.to_string(),
                count: many.len(),
                which: many.iter().filter_map(|&i| self.entries.get(i)).map(|e| e.digest.short()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Live checks, worst first.
    pub fn checks(&self, target: Option<&Repository>) -> Vec<Check> {
        let mut out = Vec::new();
        let mut push = |severity, message: String| out.push(Check { severity, message });
        let t = self.effective_type();
        let base = self.base_value();
        // The base's own descriptor for a digest, to tell kept annotations from added ones.
        let base_entry = |d: &Digest| -> Option<&Map<String, Value>> {
            let m = base.as_ref()?.get("manifests")?.as_array()?;
            m.iter().find(|e| e.get("digest").and_then(Value::as_str) == Some(d.as_str()))?.as_object()
        };
        if self.entries.is_empty() {
            push(Severity::Error, "the index is empty: add at least one image".into());
        }
        let mut seen: BTreeMap<String, &DraftEntry> = BTreeMap::new();
        // unknown/unknown entries (build caches, attestations) are never picked: not duplicates.
        for e in self.entries.iter().filter(|e| e.attests().is_none() && e.has_platform() && !e.platform.is_unknown()) {
            let key = e.platform.key();
            if let Some(first) = seen.get(&key) {
                push(
                    Severity::Error,
                    format!("duplicate platform {key}: {} and {} (a runtime would only ever pick the first)", first.digest.short(), e.digest.short()),
                );
            } else {
                seen.insert(key, e);
            }
        }
        for e in &self.entries {
            let key = e.platform_label();
            if e.missing {
                push(Severity::Error, format!("{} ({key}) was not found at {}", e.digest.short(), e.source.repository));
            }
            if !e.has_platform() && e.attests().is_none() {
                push(Severity::Info, format!("entry {} names no platform: runtimes never pick it", e.digest.short()));
            }
            if let Some(cfg) = &e.config_platform {
                let (a, b) = (e.platform.normalize(), cfg.normalize());
                // A config that names no variant does not contradict an entry that does.
                let variant_differs = !b.variant.is_empty() && a.variant != b.variant;
                if e.attests().is_none() && e.has_platform() && (a.os != b.os || a.architecture != b.architecture || variant_differs) {
                    push(Severity::Warning, format!("entry {} says {key} but its config says {}", e.digest.short(), cfg.key()));
                }
            }
            if e.kind.is_index() {
                push(Severity::Warning, format!("{} is itself an index: nested indexes are poorly supported by runtimes", e.digest.short()));
            }
            if t == IndexType::Docker && e.media_type != DOCKER_MANIFEST && e.media_type != crate::model::manifest::DOCKER_LIST {
                push(
                    Severity::Error,
                    format!("{} is an OCI manifest in a Docker manifest list; registries such as Quay reject mixed lists: use an OCI index", e.digest.short()),
                );
            }
            if t == IndexType::Docker && !e.annotations.is_empty() && e.attests().is_none() {
                let kept = base_entry(&e.digest).is_some_and(|m| holds_annotations(m, &e.annotations));
                if kept {
                    push(Severity::Warning, format!("entry {} keeps the annotations its Docker manifest list had; Docker tools ignore them", e.digest.short()));
                } else {
                    push(Severity::Error, format!("entry {} has annotations, which a Docker manifest list cannot carry", e.digest.short()));
                }
            }
            if let Some(subject) = e.attests()
                && !self.entries.iter().any(|x| x.digest == subject)
            {
                push(Severity::Warning, format!("attestation {} describes {}, which is not in the index", e.digest.short(), subject.short()));
            }
            if let Some(target) = target
                && &e.source.repository != target
                && !e.missing
            {
                let how = if e.source.repository.registry == target.registry { "mounted (or copied)" } else { "copied" };
                push(
                    Severity::Info,
                    format!(
                        "{} lives in {}: it will be {how} into {target} ({})",
                        e.digest.short(),
                        e.source.repository,
                        crate::model::units::human_bytes(e.compressed_size.saturating_add(e.size))
                    ),
                );
            }
        }
        if t == IndexType::Docker && !self.annotations.is_empty() {
            let kept = base.as_ref().is_some_and(|b| holds_annotations(b, &self.annotations));
            if kept {
                push(Severity::Warning, "the Docker manifest list keeps the index annotations it had; Docker tools ignore them".into());
            } else {
                push(Severity::Error, "index annotations cannot be carried by a Docker manifest list: use an OCI index".into());
            }
        }
        out.sort_by_key(|f| std::cmp::Reverse(f.severity));
        out
    }

    pub fn has_errors(&self, target: Option<&Repository>) -> bool {
        self.checks(target).iter().any(|c| c.severity == Severity::Error)
    }

    /// The same index made with other tools, every value quoted for a POSIX shell. Where a
    /// tool cannot express part of the draft, its line says so in a trailing comment.
    pub fn commands(&self, target: &Reference) -> Vec<(&'static str, String)> {
        let q = |s: &str| shell_quote(s);
        let tgt = q(&target.to_string());
        let src = |e: &DraftEntry| q(&format!("{}@{}", e.source.repository, e.digest));
        // regctl writes layout folders as `ocidir://DIR`; buildx and crane speak to registries.
        let regctl_name = |r: &super::reference::Repository| match r.registry.layout_path() {
            Some(dir) => format!("ocidir://{dir}"),
            None => r.to_string(),
        };
        let regctl_tgt = q(&format!("{}{}", regctl_name(&target.repository), target.tag.as_ref().map(|t| format!(":{t}")).unwrap_or_default()));
        let regctl_src = |e: &DraftEntry| q(&format!("{}@{}", regctl_name(&e.source.repository), e.digest));
        let layouts = target.registry().layout_path().is_some() || self.entries.iter().any(|e| e.source.registry().layout_path().is_some());
        let registry_only = "  # reads and writes registries only, not oci: folders: use the regctl line";
        // Entries whose platform differs from what their source says: only regctl relabels.
        let relabelled = self.entries.iter().any(|e| e.config_platform.as_ref().is_some_and(|c| c.key() != e.platform.key()) && e.attests().is_none());
        let mut buildx = format!("docker buildx imagetools create -t {tgt}");
        for (k, v) in &self.annotations {
            buildx.push_str(&format!(" --annotation {}", q(&format!("index:{k}={v}"))));
        }
        // unknown/unknown entries (build caches, attestations) are never picked: not duplicates.
        for e in self.entries.iter().filter(|e| e.attests().is_none() && e.has_platform() && !e.platform.is_unknown()) {
            for (k, v) in &e.annotations {
                buildx.push_str(&format!(" --annotation {}", q(&format!("manifest-descriptor[{}]:{k}={v}", e.platform.docker_flag()))));
            }
        }
        for e in &self.entries {
            buildx.push(' ');
            buildx.push_str(&src(e));
        }
        // buildx reads each source's platform from its config and annotates descriptors by
        // platform only: attestation and platform-less entries lose their annotations, entries
        // sharing os/arch/variant (Windows os.versions) cannot be told apart, and fields it
        // does not know are not written.
        let mut buildx_cannot: Vec<&str> = Vec::new();
        if relabelled {
            buildx_cannot.push("relabel an entry's platform");
        }
        if self.entries.iter().any(|e| (e.attests().is_some() || !e.has_platform() || e.platform.is_unknown()) && !e.annotations.is_empty()) {
            buildx_cannot.push("keep the annotations of attestation and platform-less entries");
        }
        let mut seen = std::collections::HashSet::new();
        if self.entries.iter().filter(|e| e.has_platform() && !e.annotations.is_empty()).any(|e| !seen.insert(e.platform.docker_flag())) {
            buildx_cannot.push("annotate entries that share os/arch/variant one by one");
        }
        // Fields of an entry that neither tool writes (urls, artifactType, data …).
        let other_fields = self.entries.iter().any(|e| e.raw.as_ref().is_some_and(|r| r.keys().any(|k| !DESCRIPTOR_FIELDS.contains(&k.as_str()))));
        if other_fields {
            buildx_cannot.push("write the entries' other fields");
        }
        if layouts {
            buildx.push_str(registry_only);
        } else if !buildx_cannot.is_empty() {
            buildx.push_str(&format!("  # buildx cannot {}: use the regctl line", buildx_cannot.join(", ")));
        }
        let mut crane = format!("crane index append -t {tgt}");
        if self.effective_type() == IndexType::Docker {
            crane.push_str(" --docker-empty-base");
        }
        for e in &self.entries {
            crane.push_str(&format!(" -m {}", src(e)));
        }
        if layouts {
            crane.push_str(registry_only);
        } else if relabelled || !self.annotations.is_empty() || self.entries.iter().any(|e| !e.annotations.is_empty()) {
            crane.push_str("  # crane index append sets no platforms or annotations: use the regctl line");
        }
        // regctl (cmd/regctl/index.go): `index create` makes the index with its annotations;
        // its --platform only filters an index source, and --desc-platform/--desc-annotation
        // apply to every entry an invocation adds, so each entry is its own `index add` with
        // its own platform (`os/arch/variant,osver=…`) and annotations.
        let mut regctl = format!("regctl index create {regctl_tgt}");
        if self.effective_type() == IndexType::Docker {
            regctl.push_str(" --media-type application/vnd.docker.distribution.manifest.list.v2+json");
        }
        for (k, v) in &self.annotations {
            regctl.push_str(&format!(" --annotation {}", q(&format!("{k}={v}"))));
        }
        let mut cannot = Vec::new();
        for e in &self.entries {
            regctl.push_str(&format!(" && regctl index add {regctl_tgt} --ref {}", regctl_src(e)));
            if e.has_platform() {
                let p = e.platform.normalize();
                let mut flag =
                    [p.os.as_str(), p.architecture.as_str(), p.variant.as_str()].iter().filter(|x| !x.is_empty()).copied().collect::<Vec<_>>().join("/");
                if !p.os_version.is_empty() {
                    flag.push_str(&format!(",osver={}", p.os_version));
                }
                if !p.os_features.is_empty() {
                    cannot.push("os.features");
                }
                regctl.push_str(&format!(" --desc-platform {}", q(&flag)));
            }
            for (k, v) in &e.annotations {
                regctl.push_str(&format!(" --desc-annotation {}", q(&format!("{k}={v}"))));
            }
        }
        if other_fields {
            cannot.push("the entries' other fields (urls, artifactType, data …)");
        }
        if let Some(base) = self.base_value()
            && base.keys().any(|k| !["schemaVersion", "mediaType", "manifests", "annotations"].contains(&k.as_str()))
        {
            cannot.push("the index's other fields (subject, artifactType …)");
        }
        cannot.dedup();
        if !cannot.is_empty() {
            regctl.push_str(&format!("  # regctl cannot set {}: this makes a different index", cannot.join(", ")));
        }
        vec![("docker buildx", buildx), ("crane", crane), ("regctl", regctl)]
    }

    /// Remove entries for a platform key (and attestations that described them).
    /// Remove the image entries for the platform `key` only: another platform's entry that
    /// shares their digest stays, and so do the attestations that still describe it.
    pub fn remove_platform(&mut self, key: &str) -> usize {
        let before = self.entries.len();
        let hit = |e: &DraftEntry| e.attests().is_none() && e.has_platform() && e.platform.key() == key;
        let gone: Vec<Digest> = self.entries.iter().filter(|e| hit(e)).map(|e| e.digest.clone()).collect();
        self.entries.retain(|e| !hit(e));
        let still: Vec<Digest> = self.entries.iter().filter(|e| e.attests().is_none()).map(|e| e.digest.clone()).collect();
        self.entries.retain(|e| !e.attests().is_some_and(|s| gone.contains(&s) && !still.contains(&s)));
        before - self.entries.len()
    }

    /// Remove the image entry `digest` (and attestations that described it).
    pub fn remove_digest(&mut self, digest: &Digest) -> usize {
        self.remove_images(|e| &e.digest == digest)
    }

    fn remove_images(&mut self, chosen: impl Fn(&DraftEntry) -> bool) -> usize {
        let gone: Vec<Digest> = self.entries.iter().filter(|e| e.attests().is_none() && chosen(e)).map(|e| e.digest.clone()).collect();
        let before = self.entries.len();
        self.entries.retain(|e| !gone.contains(&e.digest) && !e.attests().is_some_and(|s| gone.contains(&s)));
        before - self.entries.len()
    }

    /// Runnable entries: images with a platform (not attestations or artifacts).
    pub fn runnable(&self) -> usize {
        self.entries.iter().filter(|e| e.attests().is_none() && e.has_platform()).count()
    }

    /// Apply the fix a diagnosis of this index proposes for its selected entry `digest`:
    /// a mislabelled entry is relabelled to what its config says (or dropped when another
    /// entry already has that platform); an entry whose program cannot run (wrong binary, ARM
    /// level, broken entrypoint) is dropped, unless it is the only runnable entry (an index
    /// with nothing to run is no fix). Returns what was done, in words (empty: nothing).
    // `i` comes from `position` over `entries`, which nothing shortens before the reads.
    #[allow(clippy::indexing_slicing)]
    pub fn repair(&mut self, digest: &Digest, finding_kinds: &[crate::model::diagnose::FindingKind], config: Option<&Platform>) -> Vec<String> {
        use crate::model::diagnose::FindingKind;
        let mut done = Vec::new();
        let Some(i) = self.entries.iter().position(|e| &e.digest == digest && e.attests().is_none()) else { return done };
        let label = self.entries[i].platform.key();
        if finding_kinds.contains(&FindingKind::ConfigMismatch)
            && let Some(cfg) = config
        {
            let taken = self.entries.iter().any(|e| &e.digest != digest && e.attests().is_none() && e.has_platform() && e.platform.key() == cfg.key());
            if taken {
                self.remove_digest(digest);
                done.push(format!("drop the {label} entry {}: it is a {} image, and the index already has one", digest.short(), cfg.key()));
            } else {
                self.entries[i].platform = cfg.clone();
                done.push(format!("relabel the {label} entry {} as {} (what its config says)", digest.short(), cfg.key()));
            }
            return done;
        }
        if finding_kinds.iter().any(|k| k.program_cannot_run()) && self.runnable() > 1 {
            self.remove_digest(digest);
            done.push(format!("drop the {label} entry {}: its program cannot run there (see the findings); rebuild it and add it back", digest.short()));
        }
        done
    }

    /// The digest of the base the draft was made from.
    pub fn base_digest(&self) -> Option<Digest> {
        self.base.as_ref().map(|b| Digest::sha256(b.as_bytes()))
    }

    pub fn drop_attestations(&mut self) {
        self.entries.retain(|e| e.attests().is_none());
    }
}

/// The descriptor fields an equivalent command can write; any other field of an entry is
/// beyond buildx and regctl.
const DESCRIPTOR_FIELDS: [&str; 5] = ["mediaType", "digest", "size", "platform", "annotations"];

/// The spans of a JSON text, found without decoding it: where each value starts and ends.
mod spans {
    use std::ops::Range;

    fn ws(b: &[u8], mut i: usize) -> usize {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    }

    /// The end of the string starting at `i` (its opening quote).
    fn string_end(b: &[u8], i: usize) -> Option<usize> {
        let mut j = i + 1;
        loop {
            match b.get(j)? {
                b'\\' => j += 2,
                b'"' => return Some(j + 1),
                _ => j += 1,
            }
        }
    }

    /// The end of the value starting at `i`.
    fn value_end(b: &[u8], i: usize) -> Option<usize> {
        match b.get(i)? {
            b'"' => string_end(b, i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match b.get(j)? {
                        b'"' => {
                            j = string_end(b, j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                let mut j = i;
                while b.get(j).is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace()) {
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// The members of the object that is the whole text: (key as written, value span).
    pub(super) fn members(text: &str) -> Option<Vec<(String, Range<usize>)>> {
        let b = text.as_bytes();
        let mut i = ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = ws(b, i + 1);
        let mut out = Vec::new();
        if b.get(i) == Some(&b'}') {
            return Some(out);
        }
        loop {
            let k_end = string_end(b, i)?;
            let key: String = serde_json::from_str(text.get(i..k_end)?).ok()?;
            i = ws(b, k_end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = ws(b, i + 1);
            let v_end = value_end(b, i)?;
            out.push((key, i..v_end));
            i = ws(b, v_end);
            match b.get(i)? {
                b',' => i = ws(b, i + 1),
                b'}' => return Some(out),
                _ => return None,
            }
        }
    }

    /// The elements of the array at `span`.
    pub(super) fn elements(text: &str, span: Range<usize>) -> Option<Vec<Range<usize>>> {
        let b = text.as_bytes();
        let mut i = span.start;
        if b.get(i) != Some(&b'[') {
            return None;
        }
        i = ws(b, i + 1);
        let mut out = Vec::new();
        if b.get(i) == Some(&b']') {
            return Some(out);
        }
        loop {
            let end = value_end(b, i)?;
            out.push(i..end);
            i = ws(b, end);
            match b.get(i)? {
                b',' => i = ws(b, i + 1),
                b']' => return Some(out),
                _ => return None,
            }
        }
    }
}

/// Indent every line of `text` but the first by `by` spaces.
fn indent(text: &str, by: usize) -> String {
    text.replace('\n', &format!("\n{}", " ".repeat(by)))
}

/// `new` written over the base `text`: every top-level member and every `manifests` entry equal
/// to the base's is the base's own text; the rest is written as JSON. `None` when the base is
/// not an object this can follow.
fn splice(text: &str, new: &Value) -> Option<String> {
    let new = new.as_object()?;
    let members = spans::members(text)?;
    let raw = |r: &std::ops::Range<usize>| text.get(r.clone());
    let parsed = |r: &std::ops::Range<usize>| raw(r).and_then(|t| serde_json::from_str::<Value>(t).ok());
    let mut out = String::from("{\n");
    let n = new.len();
    for (i, (k, v)) in new.iter().enumerate() {
        let key = serde_json::to_string(k).ok()?;
        let base = members.iter().find(|(bk, _)| bk == k).map(|(_, r)| r.clone());
        let written = match (&base, k.as_str(), v) {
            (Some(r), _, _) if parsed(r).as_ref() == Some(v) => raw(r)?.to_string(),
            (Some(r), "manifests", Value::Array(items)) => {
                let old = spans::elements(text, r.clone())?;
                let mut used = vec![false; old.len()];
                let mut parts = Vec::new();
                for item in items {
                    let hit = old.iter().enumerate().find(|(j, e)| !used.get(*j).copied().unwrap_or(true) && parsed(e).as_ref() == Some(item));
                    match hit {
                        Some((j, e)) => {
                            if let Some(u) = used.get_mut(j) {
                                *u = true;
                            }
                            parts.push(raw(e)?.to_string());
                        }
                        None => parts.push(indent(&serde_json::to_string_pretty(item).ok()?, 4)),
                    }
                }
                if parts.is_empty() { "[]".to_string() } else { format!("[\n    {}\n  ]", parts.join(",\n    ")) }
            }
            _ => indent(&serde_json::to_string_pretty(v).ok()?, 2),
        };
        out.push_str(&format!("  {key}: {written}{}\n", if i + 1 < n { "," } else { "" }));
    }
    out.push('}');
    // What is written must be the value meant.
    (serde_json::from_str::<Value>(&out).ok().as_ref() == Some(&Value::Object(new.clone()))).then_some(out)
}

/// What changes from the index `old` (raw bytes, as the tag holds it now) to `new`: media type,
/// index annotations, entries by platform (digest added, removed or changed), entry annotations,
/// attestations and any other field. Empty when nothing changes.
pub fn index_diff(old: &[u8], new: &[u8]) -> Vec<String> {
    if old == new {
        return Vec::new();
    }
    let (Ok(a), Ok(b)) = (serde_json::from_slice::<Value>(old), serde_json::from_slice::<Value>(new)) else {
        return vec!["~ the document (one side is not JSON)".into()];
    };
    let mut out = Vec::new();
    let (ao, bo) = (a.as_object().cloned().unwrap_or_default(), b.as_object().cloned().unwrap_or_default());
    let get = |m: &Map<String, Value>, k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    if get(&ao, "mediaType") != get(&bo, "mediaType") {
        out.push(format!("~ mediaType {} → {}", short_json(&get(&ao, "mediaType")), short_json(&get(&bo, "mediaType"))));
    }
    diff_annotations(&mut out, "index", &get(&ao, "annotations"), &get(&bo, "annotations"));
    // Entries keyed by platform (attestations and platform-less entries by digest).
    let entries = |v: &Value| -> Vec<(String, Value)> {
        v.get("manifests")
            .and_then(Value::as_array)
            .map(|arr| {
                arr.iter()
                    .map(|e| {
                        let ann = e.get("annotations");
                        let attestation = ann.and_then(|a| a.get(ANNOTATION_REFERENCE_TYPE)).and_then(Value::as_str) == Some(ATTESTATION_MANIFEST);
                        let platform = e.get("platform").and_then(|p| platform_from(p, "platform").ok());
                        let digest = e.get("digest").and_then(Value::as_str).unwrap_or("?");
                        let key = match (attestation, platform) {
                            (false, Some(p)) => p.key(),
                            (true, _) => format!("attestation {}", short_digest(digest)),
                            (false, None) => format!("(no platform) {}", short_digest(digest)),
                        };
                        (key, e.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ea, eb) = (entries(&a), entries(&b));
    let find = |list: &[(String, Value)], k: &str| list.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    for (k, new_e) in &eb {
        let nd = new_e.get("digest").and_then(Value::as_str).unwrap_or("?");
        match find(&ea, k) {
            None => out.push(format!("+ {k} {}", short_digest(nd))),
            Some(old_e) => {
                let od = old_e.get("digest").and_then(Value::as_str).unwrap_or("?");
                if od != nd {
                    out.push(format!("~ {k} {} → {}", short_digest(od), short_digest(nd)));
                }
                diff_annotations(
                    &mut out,
                    k,
                    &get(old_e.as_object().unwrap_or(&Map::new()), "annotations"),
                    &get(new_e.as_object().unwrap_or(&Map::new()), "annotations"),
                );
                let strip = |v: &Value| {
                    let mut m = v.as_object().cloned().unwrap_or_default();
                    for f in ["digest", "annotations", "size", "mediaType"] {
                        m.remove(f);
                    }
                    m
                };
                if od == nd && strip(&old_e) != strip(new_e) {
                    out.push(format!("~ {k} descriptor fields changed"));
                }
            }
        }
    }
    for (k, old_e) in &ea {
        if find(&eb, k).is_none() {
            out.push(format!("- {k} {}", short_digest(old_e.get("digest").and_then(Value::as_str).unwrap_or("?"))));
        }
    }
    let order = |l: &[(String, Value)]| l.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    if out.is_empty() && order(&ea) != order(&eb) {
        out.push("~ entry order".into());
    }
    for k in ao.keys().chain(bo.keys().filter(|k| !ao.contains_key(*k))) {
        if matches!(k.as_str(), "mediaType" | "annotations" | "manifests") {
            continue;
        }
        if ao.get(k) != bo.get(k) {
            out.push(format!("~ {k}: {} → {}", short_json(&get(&ao, k)), short_json(&get(&bo, k))));
        }
    }
    if out.is_empty() {
        out.push("~ formatting only (same content, other bytes)".into());
    }
    out
}

fn short_digest(d: &str) -> String {
    Digest::parse(d).map(|d| d.short()).unwrap_or_else(|_| d.chars().take(19).collect())
}

fn short_json(v: &Value) -> String {
    let s = match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s }
}

fn diff_annotations(out: &mut Vec<String>, whose: &str, old: &Value, new: &Value) {
    let empty = Map::new();
    let (a, b) = (old.as_object().unwrap_or(&empty), new.as_object().unwrap_or(&empty));
    for (k, v) in b {
        match a.get(k) {
            None => out.push(format!("+ {whose} annotation {k}={}", short_json(v))),
            Some(o) if o != v => out.push(format!("~ {whose} annotation {k}: {} → {}", short_json(o), short_json(v))),
            _ => {}
        }
    }
    for (k, v) in a {
        if !b.contains_key(k) {
            out.push(format!("- {whose} annotation {k}={}", short_json(v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest::{ManifestView, OCI_MANIFEST};

    fn entry(p: &str, name: &str, mt: &str) -> DraftEntry {
        DraftEntry {
            source: Reference::parse("127.0.0.1:5000/a/b@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap(),
            digest: Digest::sha256(name.as_bytes()),
            media_type: mt.into(),
            size: 500,
            platform: Platform::parse_key(p).unwrap(),
            config_platform: Some(Platform::parse_key(p).unwrap()),
            kind: ManifestKind::OciImage,
            annotations: BTreeMap::new(),
            compressed_size: 1000,
            missing: false,
            raw: None,
        }
    }

    #[test]
    fn bytes_parse_back_and_digest_follows_the_bytes() {
        let mut d = IndexDraft::default();
        d.entries.push(entry("linux/amd64", "a", OCI_MANIFEST));
        d.entries.push(entry("linux/arm/v7", "b", OCI_MANIFEST));
        d.annotations.insert("org.opencontainers.image.version".into(), "1.0".into());
        let bytes = d.to_bytes();
        let v = ManifestView::parse(&bytes).unwrap();
        assert_eq!(v.kind, ManifestKind::OciIndex);
        assert_eq!(v.manifests[1].platform.as_ref().unwrap().key(), "linux/arm/v7");
        assert_eq!(d.digest(), Digest::sha256(&bytes));
        let before = d.digest();
        d.entries[1].platform = Platform::parse_key("linux/arm/v6").unwrap();
        assert_ne!(d.digest(), before);
    }

    #[test]
    fn media_type_defaults_from_children() {
        let mut d = IndexDraft::default();
        d.entries.push(entry("linux/amd64", "a", DOCKER_MANIFEST));
        assert_eq!(d.effective_type(), IndexType::Docker);
        d.entries.push(entry("linux/arm64", "b", OCI_MANIFEST));
        assert_eq!(d.effective_type(), IndexType::Oci);
        d.index_type = Some(IndexType::Docker);
        assert!(d.checks(None).iter().any(|c| c.severity == Severity::Error && c.message.contains("mixed")));
    }

    #[test]
    fn checks() {
        let mut d = IndexDraft::default();
        assert!(d.checks(None)[0].message.contains("empty"));
        d.entries.push(entry("linux/amd64", "a", OCI_MANIFEST));
        d.entries.push(entry("linux/amd64", "b", OCI_MANIFEST));
        assert!(d.checks(None).iter().any(|c| c.message.contains("duplicate platform linux/amd64")));
        d.entries[1].platform = Platform::parse_key("linux/arm64").unwrap();
        let c = d.checks(None);
        assert!(c.iter().any(|c| c.severity == Severity::Warning && c.message.contains("its config says linux/amd64")), "{c:?}");
        d.entries[1].missing = true;
        assert!(d.has_errors(None));
        d.entries[1].missing = false;
        d.entries[1].config_platform = Some(Platform::parse_key("linux/arm64").unwrap());
        let target = Repository::parse("127.0.0.1:5000/c/d").unwrap();
        let c = d.checks(Some(&target));
        assert!(!d.has_errors(Some(&target)), "{c:?}");
        assert!(c.iter().any(|c| c.message.contains("mounted (or copied)")));
        d.index_type = Some(IndexType::Docker);
        d.annotations.insert("k".into(), "v".into());
        assert!(d.checks(None).iter().any(|c| c.message.contains("index annotations cannot")));
    }

    #[test]
    fn diff_and_commands() {
        let mut d = IndexDraft::default();
        d.entries.push(entry("linux/amd64", "a", OCI_MANIFEST));
        d.entries.push(entry("linux/arm64", "b", OCI_MANIFEST));
        let mut old = IndexDraft::default();
        old.entries.push(entry("linux/amd64", "old", OCI_MANIFEST));
        old.entries.push(entry("linux/s390x", "s", OCI_MANIFEST));
        old.annotations.insert("gone".into(), "x".into());
        d.annotations.insert("new".into(), "it's".into());
        let diff = index_diff(&old.to_bytes(), &d.to_bytes());
        for want in ["+ linux/arm64", "~ linux/amd64", "- linux/s390x", "- index annotation gone=x", "+ index annotation new=it's"] {
            assert!(diff.iter().any(|l| l.starts_with(want)), "{want}: {diff:?}");
        }
        assert!(index_diff(&d.to_bytes(), &d.to_bytes()).is_empty());
        let target = Reference::parse("127.0.0.1:5000/c/d:1").unwrap();
        let cmds = d.commands(&target);
        assert!(cmds[0].1.starts_with("docker buildx imagetools create -t 127.0.0.1:5000/c/d:1"));
        assert!(cmds[0].1.contains(r"'index:new=it'\''s'"), "{}", cmds[0].1);
        assert!(cmds[2].1.contains("--desc-platform linux/arm64"), "{}", cmds[2].1);
        assert_eq!(d.remove_platform("linux/arm64"), 1);
    }

    #[test]
    fn the_regctl_line_sets_each_entrys_platform_and_annotations() {
        let mut d = base_draft();
        d.entries.truncate(1);
        let mut win = d.entries[0].clone();
        win.platform = Platform::parse_key("windows/amd64:10.0.20348.2340").unwrap();
        win.annotations = BTreeMap::from([("k".to_string(), "v".to_string())]);
        d.entries[0].annotations.clear();
        d.entries[0].raw = None;
        d.entries.push(win);
        let target = Reference::parse("127.0.0.1:5000/c/d:1").unwrap();
        let cmds = d.commands(&target);
        let regctl = &cmds[2].1;
        // One `index add` per entry: each its own platform and annotations.
        assert_eq!(regctl.matches("regctl index add").count(), 2, "{regctl}");
        assert!(regctl.contains("--desc-platform windows/amd64,osver=10.0.20348.2340 --desc-annotation k=v"), "{regctl}");
        let first = regctl.split("&&").nth(1).unwrap();
        assert!(first.contains("--desc-platform linux/amd64") && !first.contains("--desc-annotation"), "{regctl}");
        // What regctl cannot set is said (the base has os.features and other fields).
        let mut d = base_draft();
        d.entries.truncate(1);
        let regctl = d.commands(&target)[2].1.clone();
        assert!(regctl.contains("regctl cannot set os.features"), "{regctl}");
        // buildx says what it cannot reproduce: the base's entry has fields it does not know.
        let buildx = d.commands(&target)[0].1.clone();
        assert!(buildx.contains("buildx cannot write the entries' other fields"), "{buildx}");
    }

    #[test]
    fn untouched_entries_and_fields_keep_their_exact_bytes() {
        // A large integer and an escaped `&` in an entry that is not edited, compact layout.
        let base = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":10,"platform":{"architecture":"amd64","os":"linux"},"x-big":12345678901234567890123,"annotations":{"a":"x\u0026y"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":20,"platform":{"architecture":"arm64","os":"linux"}}],"annotations":{"k":"1\u00262"}}"#;
        let mut d = draft_over(base);
        assert_eq!(d.to_bytes(), base.as_bytes(), "no edit: the base itself");
        d.entries[1].annotations.insert("new".into(), "v".into());
        let out = String::from_utf8(d.to_bytes()).unwrap();
        assert!(out.contains("12345678901234567890123") && out.contains(r"x\u0026y") && out.contains(r"1\u00262"), "{out}");
        assert!(out.contains(r#""new": "v""#), "{out}");
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["manifests"][1]["annotations"]["new"], "v");
    }

    #[test]
    fn removing_a_platform_keeps_another_platform_of_the_same_digest() {
        let mut d = base_draft();
        let first = d.entries[0].clone();
        let mut v7 = first.clone();
        v7.platform = Platform::parse_key("linux/arm/v7").unwrap();
        let mut v6 = first.clone();
        v6.platform = Platform::parse_key("linux/arm/v6").unwrap();
        d.entries = vec![v7, v6];
        assert_eq!(d.remove_platform("linux/arm/v7"), 1);
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.entries[0].platform.key(), "linux/arm/v6");
    }

    const BASE: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 10,
     "platform": {"architecture": "amd64", "os": "linux", "os.features": ["x"], "features": ["sse4"], "x-unknown": 1},
     "annotations": {"org.opencontainers.image.base.name": "debian:12"}, "urls": ["https://example.com/a"], "artifactType": "application/x.a"},
    {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size": 20, "data": "e30="},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333", "size": 30,
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}}
  ],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444", "size": 5},
  "annotations": {"org.opencontainers.image.version": "1.0"},
  "x-vendor": {"keep": true}
}"#;

    /// Entries as the registry side reads them from an index: raw descriptors kept.
    fn base_draft() -> IndexDraft {
        draft_over(BASE)
    }

    /// A draft over the index `base`, its entries as the registry side reads them.
    fn draft_over(base: &str) -> IndexDraft {
        let v: Value = serde_json::from_str(base).unwrap();
        let view = ManifestView::parse(base.as_bytes()).unwrap();
        let entries = view
            .manifests
            .iter()
            .zip(v["manifests"].as_array().unwrap())
            .map(|(d, raw)| DraftEntry {
                source: Reference::parse(&format!("127.0.0.1:5000/a/b@{}", d.digest)).unwrap(),
                digest: d.digest.clone(),
                media_type: d.media_type.clone(),
                size: d.size,
                platform: d.platform.clone().unwrap_or_default(),
                config_platform: None,
                kind: ManifestKind::OciImage,
                annotations: d.annotations.clone(),
                compressed_size: 0,
                missing: false,
                raw: raw.as_object().cloned(),
            })
            .collect();
        IndexDraft::from_base(base.as_bytes(), entries).unwrap()
    }

    #[test]
    fn an_unchanged_edit_is_the_base_byte_for_byte() {
        let d = base_draft();
        assert_eq!(d.to_bytes(), BASE.as_bytes());
        // Exported and imported again (the draft file format), still the same bytes.
        let again: IndexDraft = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(again.to_bytes(), BASE.as_bytes());
    }

    #[test]
    fn an_edit_keeps_everything_it_does_not_touch() {
        let mut d = base_draft();
        let i = d.select(&Selector::parse("linux/arm/v7").unwrap(), "test").unwrap();
        d.entries[i].platform = Platform::parse_complete("linux/arm/v6").unwrap();
        d.annotations.insert("org.opencontainers.image.revision".into(), "abc".into());
        let out: Value = serde_json::from_slice(&d.to_bytes()).unwrap();
        let base: Value = serde_json::from_str(BASE).unwrap();
        assert_eq!(out["manifests"][0], base["manifests"][0], "untouched entry kept whole");
        assert_eq!(out["manifests"][1], base["manifests"][1], "no platform invented for a platform-less entry");
        assert!(out["manifests"][1].get("platform").is_none());
        assert_eq!(out["manifests"][2]["platform"], json!({"architecture": "arm", "os": "linux", "variant": "v6"}));
        assert_eq!(out["subject"], base["subject"]);
        assert_eq!(out["x-vendor"], base["x-vendor"]);
        assert_eq!(out["annotations"]["org.opencontainers.image.version"], "1.0");
        assert_eq!(out["annotations"]["org.opencontainers.image.revision"], "abc");
        let diff = index_diff(BASE.as_bytes(), &d.to_bytes());
        assert!(diff.iter().any(|l| l.starts_with("- linux/arm/v7")) && diff.iter().any(|l| l.starts_with("+ linux/arm/v6")), "{diff:?}");
        assert!(diff.iter().any(|l| l.contains("revision=abc")), "{diff:?}");
        assert_eq!(diff.len(), 3, "{diff:?}");
        // Removing an index annotation shows in the diff.
        d.annotations.clear();
        let diff = index_diff(BASE.as_bytes(), &d.to_bytes());
        assert!(diff.iter().any(|l| l == "- index annotation org.opencontainers.image.version=1.0"), "{diff:?}");
    }

    #[test]
    fn selectors_match_one_entry_or_fail() {
        let d = base_draft();
        assert_eq!(d.select(&Selector::parse("sha256:222222222222").unwrap(), "t").unwrap(), 1);
        assert!(matches!(d.select(&Selector::parse("linux/s390x").unwrap(), "t"), Err(EditError::NoMatch { .. })));
        assert!(Selector::parse("linux").is_err());
        assert!(Selector::parse("arm").is_err());
        assert!(Selector::parse("sha256:12").is_err());
        assert_eq!(Selector::split_prefix("sha256:abcdef123456:k=v"), Some(("sha256:abcdef123456", "k=v")));
        assert_eq!(Selector::split_prefix("linux/amd64:k=v"), Some(("linux/amd64", "k=v")));
        // A Windows os.version in the selector, a `:` and `=` in the value.
        assert_eq!(Selector::split_prefix("windows/amd64:10.0.20348.2340:KEY=a:b=c"), Some(("windows/amd64:10.0.20348.2340", "KEY=a:b=c")));
        assert_eq!(Selector::split_prefix("windows/amd64:10.0.20348.2340:KEY"), Some(("windows/amd64:10.0.20348.2340", "KEY")));
        assert_eq!(Selector::parse("windows(10.0.20348.2340)/amd64").unwrap(), Selector::parse("windows/amd64:10.0.20348.2340").unwrap());
    }
}
