//! Typed, validated views over the raw bytes of manifests, indexes, descriptors and image
//! configs. The bytes themselves are kept by the caller; nothing here re-serialises them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::digest::Digest;
use super::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
#[cfg(test)]
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const OCI_ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Every manifest type Archlens reads, for the `Accept` header.
pub const ACCEPT_ALL: [&str; 6] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1];

/// Annotation BuildKit puts on attestation entries of an index.
pub const ANNOTATION_REFERENCE_TYPE: &str = "vnd.docker.reference.type";
pub const ANNOTATION_REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid JSON: {detail}")]
    Json { detail: String },
    #[error("expected a JSON object at the top level")]
    NotObject,
    #[error("{field}: {problem}")]
    Field { field: String, problem: String },
    #[error("contradictory manifest: it has both `manifests` (an index) and `config`/`layers` (an image)")]
    Ambiguous,
    #[error("mediaType {declared} does not fit the content, which looks like {looks_like}")]
    MediaTypeMismatch { declared: String, looks_like: String },
    #[error("unsupported schemaVersion {version}")]
    SchemaVersion { version: i64 },
}

fn field_err(field: &str, problem: impl Into<String>) -> ManifestError {
    ManifestError::Field { field: field.to_string(), problem: problem.into() }
}

/// What a manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManifestKind {
    DockerList,
    OciIndex,
    DockerImage,
    OciImage,
    DockerSchema1,
    Artifact,
    Unknown,
}

impl ManifestKind {
    pub fn is_index(self) -> bool {
        matches!(self, ManifestKind::DockerList | ManifestKind::OciIndex)
    }
    pub fn is_image(self) -> bool {
        matches!(self, ManifestKind::DockerImage | ManifestKind::OciImage | ManifestKind::DockerSchema1)
    }
    pub fn label(self) -> &'static str {
        match self {
            ManifestKind::DockerList => "Docker manifest list",
            ManifestKind::OciIndex => "OCI image index",
            ManifestKind::DockerImage => "Docker image manifest",
            ManifestKind::OciImage => "OCI image manifest",
            ManifestKind::DockerSchema1 => "Docker schema 1 manifest",
            ManifestKind::Artifact => "artifact",
            ManifestKind::Unknown => "unknown",
        }
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub platform: Option<Platform>,
    pub annotations: BTreeMap<String, String>,
    pub artifact_type: Option<String>,
    pub urls: Vec<String>,
}

impl Descriptor {
    /// Parse a stand-alone descriptor document.
    pub fn parse(bytes: &[u8]) -> Result<Descriptor, ManifestError> {
        let v = parse_json(bytes)?;
        descriptor_from(&v, "descriptor")
    }

    /// For an attestation entry: the digest of the manifest it describes.
    pub fn attests(&self) -> Option<Digest> {
        if self.annotations.get(ANNOTATION_REFERENCE_TYPE).map(String::as_str) != Some(ATTESTATION_MANIFEST) {
            return None;
        }
        self.annotations.get(ANNOTATION_REFERENCE_DIGEST).and_then(|d| Digest::parse(d).ok())
    }

    pub fn is_attestation(&self) -> bool {
        self.annotations.get(ANNOTATION_REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
    }
}

/// A validated view of a manifest's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestView {
    pub kind: ManifestKind,
    /// The `mediaType` field as written, if any.
    pub declared_media_type: Option<String>,
    /// The media type the content is: declared, or inferred from the fields.
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// Schema 1 manifests carry their platform inline.
    pub schema1_platform: Option<Platform>,
}

impl ManifestView {
    pub fn parse(bytes: &[u8]) -> Result<ManifestView, ManifestError> {
        let v = parse_json(bytes)?;
        let obj = v.as_object().ok_or(ManifestError::NotObject)?;
        let schema_version = match obj.get("schemaVersion") {
            None => None,
            Some(Value::Number(n)) => Some(n.as_i64().ok_or_else(|| field_err("schemaVersion", "must be an integer"))?),
            Some(_) => return Err(field_err("schemaVersion", "must be an integer")),
        };
        if let Some(v) = schema_version
            && v != 1
            && v != 2
        {
            return Err(ManifestError::SchemaVersion { version: v });
        }
        let declared = opt_media_type(obj, "mediaType")?;
        if schema_version == Some(1) || obj.contains_key("fsLayers") {
            return parse_schema1(obj, declared);
        }
        let has_manifests = obj.contains_key("manifests");
        let has_image = obj.contains_key("config") || obj.contains_key("layers");
        if has_manifests && has_image {
            return Err(ManifestError::Ambiguous);
        }
        let annotations = opt_annotations(obj, "annotations")?;
        let artifact_type = opt_media_type(obj, "artifactType")?;
        let subject = match obj.get("subject") {
            None => None,
            Some(s) => Some(descriptor_from(s, "subject")?),
        };
        let mut view = ManifestView {
            kind: ManifestKind::Unknown,
            media_type: declared.clone().unwrap_or_default(),
            declared_media_type: declared.clone(),
            manifests: Vec::new(),
            config: None,
            layers: Vec::new(),
            subject,
            artifact_type,
            annotations,
            schema1_platform: None,
        };
        let declared_str = declared.as_deref().unwrap_or("");
        if has_manifests {
            let list = match obj.get("manifests") {
                Some(Value::Array(a)) => a,
                Some(Value::Null) => return Err(field_err("manifests", "is null; an index needs an array")),
                _ => return Err(field_err("manifests", "must be an array")),
            };
            for (i, d) in list.iter().enumerate() {
                view.manifests.push(descriptor_from(d, &format!("manifests[{i}]"))?);
            }
            view.kind = match declared_str {
                DOCKER_LIST => ManifestKind::DockerList,
                "" | OCI_INDEX => ManifestKind::OciIndex,
                other => {
                    return Err(ManifestError::MediaTypeMismatch { declared: other.to_string(), looks_like: "an index".to_string() });
                }
            };
            if view.media_type.is_empty() {
                view.media_type = OCI_INDEX.to_string();
            }
            return Ok(view);
        }
        if has_image || declared_str == OCI_ARTIFACT_MANIFEST {
            if declared_str == OCI_ARTIFACT_MANIFEST {
                // The withdrawn image-spec 1.1 RC artifact manifest: `blobs` instead of layers.
                if let Some(Value::Array(blobs)) = obj.get("blobs") {
                    for (i, d) in blobs.iter().enumerate() {
                        view.layers.push(descriptor_from(d, &format!("blobs[{i}]"))?);
                    }
                }
                view.kind = ManifestKind::Artifact;
                return Ok(view);
            }
            let config = obj.get("config").ok_or_else(|| field_err("config", "is missing"))?;
            let config = descriptor_from(config, "config")?;
            match obj.get("layers") {
                Some(Value::Array(a)) => {
                    for (i, d) in a.iter().enumerate() {
                        view.layers.push(descriptor_from(d, &format!("layers[{i}]"))?);
                    }
                }
                Some(Value::Null) | None => {}
                Some(_) => return Err(field_err("layers", "must be an array")),
            }
            // The image's size must add up: a sum past 2^64 is a lie, not a small image.
            view.layers
                .iter()
                .try_fold(config.size, |sum, l| sum.checked_add(l.size))
                .ok_or_else(|| field_err("layers", "sizes add up to more than 2^64 bytes: the manifest is not telling the truth"))?;
            let image_config = config.media_type == OCI_CONFIG || config.media_type == DOCKER_CONFIG;
            view.kind = match declared_str {
                DOCKER_MANIFEST => ManifestKind::DockerImage,
                OCI_MANIFEST | "" => {
                    if view.artifact_type.is_some() || !image_config {
                        ManifestKind::Artifact
                    } else if declared_str.is_empty() && config.media_type == DOCKER_CONFIG {
                        ManifestKind::DockerImage
                    } else {
                        ManifestKind::OciImage
                    }
                }
                other => {
                    return Err(ManifestError::MediaTypeMismatch { declared: other.to_string(), looks_like: "an image manifest".to_string() });
                }
            };
            // image-spec requires at least one layer; Docker schema 2 does not.
            if view.kind == ManifestKind::OciImage && view.layers.is_empty() && obj.get("layers").is_some() {
                return Err(field_err("layers", "an image manifest needs at least one layer"));
            }
            if view.kind != ManifestKind::Artifact && obj.get("layers").is_none() {
                return Err(field_err("layers", "is missing"));
            }
            if view.media_type.is_empty() {
                view.media_type = if view.kind == ManifestKind::DockerImage { DOCKER_MANIFEST } else { OCI_MANIFEST }.to_string();
            }
            view.config = Some(config);
            return Ok(view);
        }
        match declared_str {
            OCI_INDEX | DOCKER_LIST => Err(field_err("manifests", "is missing")),
            OCI_MANIFEST | DOCKER_MANIFEST => Err(field_err("config", "is missing")),
            _ => Ok(view),
        }
    }

    /// Index entries with attestations linked to what they describe.
    pub fn entries(&self) -> Vec<IndexEntry> {
        self.manifests.iter().map(|d| IndexEntry { attests: d.attests(), is_attestation: d.is_attestation(), descriptor: d.clone() }).collect()
    }

    /// Compressed size of an image: config plus layers, as the manifest states them.
    pub fn compressed_size(&self) -> u64 {
        // Parsing checked that these add up without overflow.
        self.layers.iter().fold(self.config.as_ref().map(|c| c.size).unwrap_or(0), |sum, l| sum.saturating_add(l.size))
    }
}

/// One entry of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub descriptor: Descriptor,
    pub is_attestation: bool,
    /// For an attestation: the digest of the entry it describes.
    pub attests: Option<Digest>,
}

fn parse_schema1(obj: &Map<String, Value>, declared: Option<String>) -> Result<ManifestView, ManifestError> {
    if let Some(sig) = obj.get("signatures")
        && !sig.is_array()
    {
        return Err(field_err("signatures", "must be an array"));
    }
    let architecture = opt_string(obj, "architecture", "architecture")?.unwrap_or_default();
    match obj.get("fsLayers") {
        Some(Value::Array(_)) | None => {}
        Some(_) => return Err(field_err("fsLayers", "must be an array")),
    }
    Ok(ManifestView {
        kind: ManifestKind::DockerSchema1,
        media_type: declared.clone().unwrap_or_else(|| DOCKER_SCHEMA1_SIGNED.to_string()),
        declared_media_type: declared,
        manifests: Vec::new(),
        config: None,
        layers: Vec::new(),
        subject: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
        schema1_platform: Some(Platform::new("linux", &architecture, "")),
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, ManifestError> {
    serde_json::from_slice(bytes).map_err(|e| ManifestError::Json { detail: e.to_string() })
}

/// `type/subtype` per RFC 6838 as image-spec restricts it.
fn valid_media_type(s: &str) -> bool {
    fn part(p: &str) -> bool {
        let b = p.as_bytes();
        b.len() <= 127 && b.first().is_some_and(u8::is_ascii_alphanumeric) && b.iter().all(|&c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
    }
    match s.split_once('/') {
        Some((t, st)) => part(t) && part(st),
        None => false,
    }
}

fn opt_string(obj: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, ManifestError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(field_err(field, "must be a string")),
    }
}

fn opt_media_type(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ManifestError> {
    let v = opt_string(obj, key, key)?;
    if let Some(m) = &v
        && !valid_media_type(m)
    {
        return Err(field_err(key, format!("{m:?} is not a valid media type (type/subtype)")));
    }
    Ok(v)
}

fn opt_annotations(obj: &Map<String, Value>, field: &str) -> Result<BTreeMap<String, String>, ManifestError> {
    match obj.get("annotations") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(field_err(&format!("{field}.{k}"), "annotation values must be strings")),
            })
            .collect(),
        Some(_) => Err(field_err(field, "must be an object of strings")),
    }
}

fn string_array(v: &Value, field: &str) -> Result<Vec<String>, ManifestError> {
    match v {
        Value::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string).ok_or_else(|| field_err(field, "must contain only strings"))).collect(),
        _ => Err(field_err(field, "must be an array of strings")),
    }
}

fn valid_url(u: &str) -> bool {
    match u.split_once(':') {
        Some((scheme, rest)) => {
            scheme.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                && !rest.is_empty()
                && !u.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

pub(crate) fn platform_from(v: &Value, field: &str) -> Result<Platform, ManifestError> {
    let obj = v.as_object().ok_or_else(|| field_err(field, "must be an object"))?;
    let req = |k: &str| -> Result<String, ManifestError> {
        opt_string(obj, k, &format!("{field}.{k}"))?.ok_or_else(|| field_err(&format!("{field}.{k}"), "is required"))
    };
    let os = req("os")?;
    let architecture = req("architecture")?;
    let variant = opt_string(obj, "variant", &format!("{field}.variant"))?.unwrap_or_default();
    let os_version = opt_string(obj, "os.version", &format!("{field}.os.version"))?.unwrap_or_default();
    let os_features = match obj.get("os.features") {
        None | Some(Value::Null) => Vec::new(),
        Some(f) => string_array(f, &format!("{field}.os.features"))?,
    };
    Ok(Platform { os, architecture, variant, os_version, os_features })
}

fn descriptor_from(v: &Value, field: &str) -> Result<Descriptor, ManifestError> {
    let obj = v.as_object().ok_or_else(|| field_err(field, "must be a descriptor object"))?;
    let f = |k: &str| format!("{field}.{k}");
    let media_type = match obj.get("mediaType") {
        Some(Value::String(m)) if valid_media_type(m) => m.clone(),
        Some(Value::String(m)) => return Err(field_err(&f("mediaType"), format!("{m:?} is not a valid media type"))),
        Some(_) => return Err(field_err(&f("mediaType"), "must be a string")),
        None => return Err(field_err(&f("mediaType"), "is required")),
    };
    let digest = match obj.get("digest") {
        Some(Value::String(d)) => Digest::parse(d).map_err(|e| field_err(&f("digest"), e.to_string()))?,
        Some(_) => return Err(field_err(&f("digest"), "must be a string")),
        None => return Err(field_err(&f("digest"), "is required")),
    };
    let size = match obj.get("size") {
        // int64 in the image-spec: larger is not a size.
        Some(Value::Number(n)) => n.as_u64().filter(|&n| n <= i64::MAX as u64).ok_or_else(|| field_err(&f("size"), "must be an integer from 0 to 2^63-1"))?,
        Some(_) => return Err(field_err(&f("size"), "must be an integer")),
        None => return Err(field_err(&f("size"), "is required")),
    };
    let urls = match obj.get("urls") {
        None | Some(Value::Null) => Vec::new(),
        Some(u) => {
            let urls = string_array(u, &f("urls"))?;
            if let Some(bad) = urls.iter().find(|u| !valid_url(u)) {
                return Err(field_err(&f("urls"), format!("{bad:?} is not a URL")));
            }
            urls
        }
    };
    if let Some(data) = obj.get("data") {
        let s = data.as_str().ok_or_else(|| field_err(&f("data"), "must be a base64 string"))?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| field_err(&f("data"), format!("is not valid base64: {e}")))?;
    }
    let artifact_type = opt_media_type(obj, "artifactType").map_err(|e| match e {
        ManifestError::Field { problem, .. } => field_err(&f("artifactType"), problem),
        other => other,
    })?;
    let platform = match obj.get("platform") {
        None | Some(Value::Null) => None,
        Some(p) => Some(platform_from(p, &f("platform"))?),
    };
    let annotations = opt_annotations(obj, &f("annotations"))?;
    Ok(Descriptor { media_type, digest, size, platform, annotations, artifact_type, urls })
}

/// The parts of an image config Archlens shows and checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageConfig {
    pub platform: Platform,
    pub created: Option<String>,
    pub author: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub history: Vec<HistoryEntry>,
    pub diff_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub empty_layer: bool,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ManifestError> {
        let v = parse_json(bytes)?;
        let obj = v.as_object().ok_or(ManifestError::NotObject)?;
        let s = |k: &str| opt_string(obj, k, k);
        let os = s("os")?.unwrap_or_default();
        let architecture = s("architecture")?.unwrap_or_default();
        let variant = s("variant")?.unwrap_or_default();
        let os_version = s("os.version")?.unwrap_or_default();
        let os_features = match obj.get("os.features") {
            None | Some(Value::Null) => Vec::new(),
            Some(f) => string_array(f, "os.features")?,
        };
        let mut cfg = ImageConfig {
            platform: Platform { os, architecture, variant, os_version, os_features },
            created: s("created")?,
            author: s("author")?,
            ..ImageConfig::default()
        };
        match obj.get("config") {
            None | Some(Value::Null) => {}
            Some(Value::Object(c)) => {
                let cs = |k: &str| opt_string(c, k, &format!("config.{k}"));
                cfg.user = cs("User")?;
                cfg.working_dir = cs("WorkingDir")?;
                let arr = |k: &str| -> Result<Vec<String>, ManifestError> {
                    match c.get(k) {
                        None | Some(Value::Null) => Ok(Vec::new()),
                        Some(v) => string_array(v, &format!("config.{k}")),
                    }
                };
                cfg.entrypoint = arr("Entrypoint")?;
                cfg.cmd = arr("Cmd")?;
                cfg.env = arr("Env")?;
                if let Some(bad) = cfg.env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
                    return Err(field_err("config.Env", format!("{bad:?} is not of the form NAME=value")));
                }
                match c.get("Labels") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(m)) => {
                        for (k, v) in m {
                            let v = v.as_str().ok_or_else(|| field_err(&format!("config.Labels.{k}"), "must be a string"))?;
                            cfg.labels.insert(k.clone(), v.to_string());
                        }
                    }
                    Some(_) => return Err(field_err("config.Labels", "must be an object")),
                }
                for k in ["Volumes", "ExposedPorts"] {
                    match c.get(k) {
                        None | Some(Value::Null) | Some(Value::Object(_)) => {}
                        Some(_) => return Err(field_err(&format!("config.{k}"), "must be an object")),
                    }
                }
            }
            Some(_) => return Err(field_err("config", "must be an object")),
        }
        match obj.get("history") {
            None | Some(Value::Null) => {}
            Some(Value::Array(h)) => {
                for (i, e) in h.iter().enumerate() {
                    let eo = e.as_object().ok_or_else(|| field_err(&format!("history[{i}]"), "must be an object"))?;
                    let hs = |k: &str| opt_string(eo, k, &format!("history[{i}].{k}"));
                    cfg.history.push(HistoryEntry {
                        created: hs("created")?,
                        created_by: hs("created_by")?,
                        comment: hs("comment")?,
                        empty_layer: eo.get("empty_layer").and_then(Value::as_bool).unwrap_or(false),
                    });
                }
            }
            Some(_) => return Err(field_err("history", "must be an array")),
        }
        match obj.get("rootfs") {
            None | Some(Value::Null) => {}
            Some(Value::Object(r)) => {
                if let Some(d) = r.get("diff_ids") {
                    cfg.diff_ids = string_array(d, "rootfs.diff_ids")?;
                }
            }
            Some(_) => return Err(field_err("rootfs", "must be an object")),
        }
        Ok(cfg)
    }
}

/// The `oci-layout` marker file of an image layout.
pub fn parse_layout_marker(bytes: &[u8]) -> Result<String, ManifestError> {
    let v = parse_json(bytes)?;
    let obj = v.as_object().ok_or(ManifestError::NotObject)?;
    match obj.get("imageLayoutVersion") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(field_err("imageLayoutVersion", "is required and must be a version string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn missing_media_type_is_inferred_from_fields() {
        let idx = format!(r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1}}]}}"#);
        let v = ManifestView::parse(idx.as_bytes()).unwrap();
        assert_eq!(v.kind, ManifestKind::OciIndex);
        assert_eq!(v.media_type, OCI_INDEX);
        assert_eq!(v.declared_media_type, None);
        let img = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D}","size":5}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{D}","size":7}}]}}"#
        );
        let v = ManifestView::parse(img.as_bytes()).unwrap();
        assert_eq!(v.kind, ManifestKind::DockerImage);
        assert_eq!(v.compressed_size(), 12);
        // Sizes that overflow when added up are refused, not wrapped to a small number.
        let half = i64::MAX as u64;
        let lying = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D}","size":{half}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{D}","size":{half}}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{D}","size":{half}}}]}}"#
        );
        let e = ManifestView::parse(lying.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("2^64"), "{e}");
        let too_big = format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D}","size":18446744073709551615}},"layers":[]}}"#);
        assert!(ManifestView::parse(too_big.as_bytes()).is_err());
    }

    #[test]
    fn both_layers_and_manifests_is_an_error() {
        let both = format!(r#"{{"schemaVersion":2,"manifests":[],"config":{{"mediaType":"{OCI_CONFIG}","digest":"{D}","size":5}},"layers":[]}}"#);
        assert_eq!(ManifestView::parse(both.as_bytes()), Err(ManifestError::Ambiguous));
    }

    #[test]
    fn attestations_link_to_their_subject() {
        let other = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let idx = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1,"platform":{{"os":"linux","architecture":"arm64"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{other}","size":1,"platform":{{"os":"unknown","architecture":"unknown"}},
                "annotations":{{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"{D}"}}}}]}}"#
        );
        let v = ManifestView::parse(idx.as_bytes()).unwrap();
        let e = v.entries();
        assert!(!e[0].is_attestation);
        assert!(e[1].is_attestation);
        assert_eq!(e[1].attests.as_ref().map(Digest::as_str), Some(D));
    }

    #[test]
    fn artifact_detection() {
        let art = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","artifactType":"application/vnd.example+type","config":{{"mediaType":"{OCI_EMPTY}","digest":"{D}","size":2}},"layers":[]}}"#
        );
        assert_eq!(ManifestView::parse(art.as_bytes()).unwrap().kind, ManifestKind::Artifact);
        let helm = format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{D}","size":2}},"layers":[]}}"#);
        assert_eq!(ManifestView::parse(helm.as_bytes()).unwrap().kind, ManifestKind::Artifact);
    }

    #[test]
    fn config_env_must_be_name_value() {
        assert!(ImageConfig::parse(br#"{"os":"linux","architecture":"amd64","config":{"Env":["A=1"]}}"#).is_ok());
        assert!(ImageConfig::parse(br#"{"os":"linux","architecture":"amd64","config":{"Env":["foo"]}}"#).is_err());
    }
}
