//! Composing an image index from existing images: the draft, its checks, the exact bytes that
//! will be pushed and their digest, and the equivalent commands of other tools.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::digest::Digest;
use super::manifest::{
    ANNOTATION_REFERENCE_DIGEST, ANNOTATION_REFERENCE_TYPE, ATTESTATION_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, ManifestKind,
    OCI_INDEX,
};
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
    /// The platform the index will claim (editable).
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexDraft {
    /// `None`: chosen from the children.
    #[serde(default)]
    pub index_type: Option<IndexType>,
    pub entries: Vec<DraftEntry>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
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
pub const HELPER_ANNOTATIONS: [&str; 4] = [
    "org.opencontainers.image.created",
    "org.opencontainers.image.source",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.version",
];

impl IndexDraft {
    /// Docker manifest list only when every child is a Docker schema2 manifest.
    pub fn effective_type(&self) -> IndexType {
        if let Some(t) = self.index_type {
            return t;
        }
        let images: Vec<&DraftEntry> = self.entries.iter().collect();
        if !images.is_empty() && images.iter().all(|e| e.media_type == DOCKER_MANIFEST) {
            IndexType::Docker
        } else {
            IndexType::Oci
        }
    }

    /// The exact bytes that will be pushed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let t = self.effective_type();
        let manifests: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("mediaType".into(), json!(e.media_type));
                m.insert("digest".into(), json!(e.digest));
                m.insert("size".into(), json!(e.size));
                let p = &e.platform;
                let mut pj = Map::new();
                pj.insert("architecture".into(), json!(p.architecture));
                pj.insert("os".into(), json!(p.os));
                if !p.os_version.is_empty() {
                    pj.insert("os.version".into(), json!(p.os_version));
                }
                if !p.os_features.is_empty() {
                    pj.insert("os.features".into(), json!(p.os_features));
                }
                if !p.variant.is_empty() {
                    pj.insert("variant".into(), json!(p.variant));
                }
                m.insert("platform".into(), Value::Object(pj));
                if t == IndexType::Oci && !e.annotations.is_empty() {
                    m.insert("annotations".into(), json!(e.annotations));
                }
                Value::Object(m)
            })
            .collect();
        let mut top = Map::new();
        top.insert("schemaVersion".into(), json!(2));
        top.insert("mediaType".into(), json!(t.media_type()));
        top.insert("manifests".into(), Value::Array(manifests));
        if t == IndexType::Oci && !self.annotations.is_empty() {
            top.insert("annotations".into(), json!(self.annotations));
        }
        // Cannot fail: a Value with string keys always serialises.
        serde_json::to_vec_pretty(&Value::Object(top)).expect("a Value always serialises")
    }

    pub fn digest(&self) -> Digest {
        Digest::sha256(&self.to_bytes())
    }

    /// Live checks, worst first.
    pub fn checks(&self, target: Option<&Repository>) -> Vec<Check> {
        let mut out = Vec::new();
        let mut push = |severity, message: String| out.push(Check { severity, message });
        let t = self.effective_type();
        if self.entries.is_empty() {
            push(Severity::Error, "the index is empty: add at least one image".into());
        }
        let mut seen: BTreeMap<String, &DraftEntry> = BTreeMap::new();
        for e in self.entries.iter().filter(|e| e.attests().is_none()) {
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
            let key = e.platform.key();
            if e.missing {
                push(Severity::Error, format!("{} ({key}) was not found at {}", e.digest.short(), e.source.repository));
            }
            if let Some(cfg) = &e.config_platform {
                let (a, b) = (e.platform.normalize(), cfg.normalize());
                if e.attests().is_none() && (a.os != b.os || a.architecture != b.architecture || a.variant != b.variant) {
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
                push(Severity::Error, format!("entry {} has annotations, which a Docker manifest list cannot carry", e.digest.short()));
            }
            if let Some(subject) = e.attests() {
                if !self.entries.iter().any(|x| x.digest == subject) {
                    push(Severity::Warning, format!("attestation {} describes {}, which is not in the index", e.digest.short(), subject.short()));
                }
            }
            if let Some(target) = target {
                if &e.source.repository != target && !e.missing {
                    let how = if e.source.repository.registry == target.registry { "mounted (or copied)" } else { "copied" };
                    push(
                        Severity::Info,
                        format!(
                            "{} lives in {}: it will be {how} into {target} ({})",
                            e.digest.short(),
                            e.source.repository,
                            crate::model::units::human_bytes(e.compressed_size + e.size)
                        ),
                    );
                }
            }
        }
        if t == IndexType::Docker && !self.annotations.is_empty() {
            push(Severity::Error, "index annotations cannot be carried by a Docker manifest list: use an OCI index".into());
        }
        out.sort_by(|a, b| b.severity.cmp(&a.severity));
        out
    }

    pub fn has_errors(&self, target: Option<&Repository>) -> bool {
        self.checks(target).iter().any(|c| c.severity == Severity::Error)
    }

    /// The same index made with other tools.
    pub fn commands(&self, target: &Reference) -> Vec<(&'static str, String)> {
        let srcs: Vec<String> = self.entries.iter().map(|e| format!("{}@{}", e.source.repository, e.digest)).collect();
        let anns: Vec<String> = self.annotations.iter().map(|(k, v)| format!("--annotation 'index:{k}={v}'")).collect();
        let mut buildx = format!("docker buildx imagetools create -t {target}");
        for a in &anns {
            buildx.push(' ');
            buildx.push_str(a);
        }
        for s in &srcs {
            buildx.push(' ');
            buildx.push_str(s);
        }
        let mut crane = format!("crane index append -t {target}");
        if self.effective_type() == IndexType::Docker {
            crane.push_str(" --docker-empty-base");
        }
        for s in &srcs {
            crane.push_str(&format!(" -m {s}"));
        }
        let mut regctl = format!("regctl index create {target}");
        if self.effective_type() == IndexType::Docker {
            regctl.push_str(" --media-type application/vnd.docker.distribution.manifest.list.v2+json");
        }
        for e in &self.entries {
            regctl.push_str(&format!(" --ref {}@{} --platform {}", e.source.repository, e.digest, e.platform.docker_flag()));
        }
        for (k, v) in &self.annotations {
            regctl.push_str(&format!(" --annotation '{k}={v}'"));
        }
        vec![("docker buildx", buildx), ("crane", crane), ("regctl", regctl)]
    }

    /// Remove entries for a platform key (and attestations that described them).
    pub fn remove_platform(&mut self, key: &str) -> usize {
        let gone: Vec<Digest> = self.entries.iter().filter(|e| e.attests().is_none() && e.platform.key() == key).map(|e| e.digest.clone()).collect();
        let before = self.entries.len();
        self.entries.retain(|e| !gone.contains(&e.digest) && !e.attests().is_some_and(|s| gone.contains(&s)));
        before - self.entries.len()
    }

    pub fn drop_attestations(&mut self) {
        self.entries.retain(|e| e.attests().is_none());
    }

    /// What changes against the platforms of an existing index.
    pub fn diff_against(&self, existing: &[(String, Digest)]) -> Vec<String> {
        let mine: BTreeMap<String, &Digest> =
            self.entries.iter().filter(|e| e.attests().is_none()).map(|e| (e.platform.key(), &e.digest)).collect();
        let theirs: BTreeMap<&String, &Digest> = existing.iter().map(|(k, d)| (k, d)).collect();
        let mut out = Vec::new();
        for (k, d) in &mine {
            match theirs.get(k) {
                None => out.push(format!("+ {k} {}", d.short())),
                Some(old) if old != d => out.push(format!("~ {k} {} → {}", old.short(), d.short())),
                _ => {}
            }
        }
        for (k, d) in &theirs {
            if !mine.contains_key(*k) {
                out.push(format!("- {k} {}", d.short()));
            }
        }
        out
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
        let diff = d.diff_against(&[("linux/amd64".into(), Digest::sha256(b"old")), ("linux/s390x".into(), Digest::sha256(b"s"))]);
        assert_eq!(diff.len(), 3, "{diff:?}");
        let target = Reference::parse("127.0.0.1:5000/c/d:1").unwrap();
        let cmds = d.commands(&target);
        assert!(cmds[0].1.starts_with("docker buildx imagetools create -t 127.0.0.1:5000/c/d:1"));
        assert!(cmds[2].1.contains("--platform linux/arm64"));
        assert_eq!(d.remove_platform("linux/arm64"), 1);
    }
}
