//! Test kit: small, real images built in memory (gzip'd tar layers, configs, manifests, indexes
//! and BuildKit-style attestations), with deterministic bytes. It seeds the test registries and
//! benchmarks, and writes the demo layout shipped in `assets/` (the hidden `make-demo` verb);
//! nothing else in the app uses it.

// Builds fixed images from literals for tests and the demo: a failure here is a bug in the kit
// itself, caught by its own tests, never a reaction to input.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write as _;

use serde_json::{Value, json};

use crate::model::digest::Digest;
use crate::model::manifest::{DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use crate::model::platform::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Oci,
    Docker,
}

/// A built image: its manifest bytes and what tests need to know about it.
#[derive(Debug, Clone)]
pub struct Image {
    pub platform: Platform,
    pub flavour: Flavour,
    pub manifest: Vec<u8>,
    pub digest: Digest,
    pub media_type: &'static str,
    pub compressed_size: u64,
    pub blobs: Vec<Vec<u8>>,
}

/// A built index.
#[derive(Debug, Clone)]
pub struct Index {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: &'static str,
    /// Platform key → child image (attestations excluded).
    pub children: BTreeMap<String, Image>,
    pub attestations: usize,
}

/// What a tag was seeded with.
#[derive(Debug, Clone)]
pub enum Seeded1 {
    Index(Index),
    Image(Image),
}

impl Seeded1 {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Seeded1::Index(i) => &i.bytes,
            Seeded1::Image(i) => &i.manifest,
        }
    }
    pub fn digest(&self) -> &Digest {
        match self {
            Seeded1::Index(i) => &i.digest,
            Seeded1::Image(i) => &i.digest,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Seeded {
    /// `host:port/repo`
    pub repository: String,
    pub repo: String,
    pub tags: BTreeMap<String, Seeded1>,
}

/// A gzip'd tar holding one file.
/// One entry of a layer being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        path: String,
        content: Vec<u8>,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
    /// A tar hard link to `target`, a file earlier in the same layer or in a lower one.
    HardLink {
        path: String,
        target: String,
    },
}

impl Entry {
    pub fn file(path: &str, content: &[u8]) -> Entry {
        Entry::File { path: path.to_string(), content: content.to_vec(), mode: 0o755 }
    }
    /// A file with the given permission bits (`0o644`: not executable).
    pub fn file_mode(path: &str, content: &[u8], mode: u32) -> Entry {
        Entry::File { path: path.to_string(), content: content.to_vec(), mode }
    }
    pub fn hard_link(path: &str, target: &str) -> Entry {
        Entry::HardLink { path: path.to_string(), target: target.to_string() }
    }
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry::Symlink { path: path.to_string(), target: target.to_string() }
    }
    /// A whiteout deleting `path` from lower layers.
    pub fn whiteout(path: &str) -> Entry {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() { format!(".wh.{name}") } else { format!("{dir}/.wh.{name}") };
        Entry::File { path: wh, content: Vec::new(), mode: 0o644 }
    }
}

/// An uncompressed tar of `entries`, deterministic (mtime 0). Paths must be relative and
/// shorter than 100 bytes.
pub fn tar_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut b = tar::Builder::new(&mut out);
        for e in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            // Cannot fail: the sink is a Vec and paths are short relative names.
            match e {
                Entry::File { path, content, mode } => {
                    h.set_size(content.len() as u64);
                    h.set_mode(*mode);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_cksum();
                    b.append_data(&mut h, path, content.as_slice()).expect("tar into memory");
                }
                Entry::Symlink { path, target } => {
                    h.set_size(0);
                    h.set_mode(0o777);
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, path, target).expect("tar into memory");
                }
                Entry::HardLink { path, target } => {
                    h.set_size(0);
                    h.set_mode(0o755);
                    h.set_entry_type(tar::EntryType::Link);
                    b.append_link(&mut h, path, target).expect("tar into memory");
                }
            }
        }
        // Cannot fail: writing into a Vec.
        b.finish().expect("tar into memory");
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

pub fn compress(tar: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => tar.to_vec(),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            // Cannot fail: gzip into a Vec.
            gz.write_all(tar).expect("gzip into memory");
            gz.finish().expect("gzip into memory")
        }
        Compression::Zstd => ruzstd::encoding::compress_to_vec(tar, ruzstd::encoding::CompressionLevel::Fastest),
    }
}

/// An OCI image whose config claims `platform`, built from `layers` (oldest first) with the
/// given config section (Entrypoint, Cmd, Env …).
pub fn image_with_layers(platform: &Platform, layers: &[(Vec<Entry>, Compression)], config_section: Value) -> Image {
    let mut diff_ids = Vec::new();
    let mut blobs = Vec::new();
    let mut descs = Vec::new();
    for (entries, c) in layers {
        let tar = tar_bytes(entries);
        diff_ids.push(Digest::sha256(&tar));
        let blob = compress(&tar, *c);
        descs.push(json!({ "mediaType": c.oci_media_type(), "digest": Digest::sha256(&blob), "size": blob.len() }));
        blobs.push(blob);
    }
    let mut config = platform_json(platform);
    config["created"] = json!("2026-01-01T00:00:00Z");
    config["config"] = config_section;
    config["rootfs"] = json!({ "type": "layers", "diff_ids": diff_ids });
    // Cannot fail: string keys only.
    let config_bytes = serde_json::to_vec(&config).expect("a Value always serialises");
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": Digest::sha256(&config_bytes), "size": config_bytes.len() },
        "layers": descs,
    });
    // Cannot fail: string keys only.
    let manifest = serde_json::to_vec_pretty(&manifest).expect("a Value always serialises");
    let compressed_size = config_bytes.len() as u64 + blobs.iter().map(|b| b.len() as u64).sum::<u64>();
    let mut all = vec![config_bytes];
    all.extend(blobs);
    Image {
        platform: platform.clone(),
        flavour: Flavour::Oci,
        digest: Digest::sha256(&manifest),
        media_type: OCI_MANIFEST,
        compressed_size,
        manifest,
        blobs: all,
    }
}

/// `path` must be relative and shorter than 100 bytes (every caller passes a literal).
pub fn layer(path: &str, content: &[u8]) -> (Vec<u8>, Digest) {
    let mut tar_bytes = Vec::new();
    {
        let mut b = tar::Builder::new(&mut tar_bytes);
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, content) // Cannot fail: the sink is a Vec and the path is a short relative literal.
            .expect("tar into memory");
        // Cannot fail: writing into a Vec.
        b.finish().expect("tar into memory");
    }
    let diff_id = Digest::sha256(&tar_bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Cannot fail: gzip into a Vec.
    gz.write_all(&tar_bytes).expect("gzip into memory");
    (gz.finish().expect("gzip into memory"), diff_id)
}

fn platform_json(p: &Platform) -> Value {
    let mut v = json!({ "architecture": p.architecture, "os": p.os });
    if !p.variant.is_empty() {
        v["variant"] = json!(p.variant);
    }
    if !p.os_version.is_empty() {
        v["os.version"] = json!(p.os_version);
    }
    v
}

/// Build a single-platform image whose config claims `platform`.
pub fn image(platform: &Platform, flavour: Flavour, payload: &str) -> Image {
    image_with(platform, flavour, payload, payload, json!({ "Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"] }))
}

/// `layer_payload` goes into the one layer, `note` into the config's history.
pub fn image_with(platform: &Platform, flavour: Flavour, layer_payload: &str, note: &str, config_section: Value) -> Image {
    let (layer_bytes, diff_id) = layer("etc/archlens-seed", layer_payload.as_bytes());
    let mut config = platform_json(platform);
    config["created"] = json!("2026-01-01T00:00:00Z");
    config["config"] = config_section;
    config["rootfs"] = json!({ "type": "layers", "diff_ids": [diff_id] });
    config["history"] = json!([{ "created": "2026-01-01T00:00:00Z", "created_by": format!("seed {note}") }]);
    let config_bytes = serde_json::to_vec(&config).expect("a Value always serialises"); // Cannot fail: string keys only.
    let (media_type, config_type, layer_type) = match flavour {
        Flavour::Oci => (OCI_MANIFEST, OCI_CONFIG, "application/vnd.oci.image.layer.v1.tar+gzip"),
        Flavour::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": { "mediaType": config_type, "digest": Digest::sha256(&config_bytes), "size": config_bytes.len() },
        "layers": [ { "mediaType": layer_type, "digest": Digest::sha256(&layer_bytes), "size": layer_bytes.len() } ],
    });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("a Value always serialises"); // Cannot fail: string keys only.
    Image {
        platform: platform.clone(),
        flavour,
        digest: Digest::sha256(&manifest),
        media_type,
        compressed_size: (config_bytes.len() + layer_bytes.len()) as u64,
        manifest,
        blobs: vec![config_bytes, layer_bytes],
    }
}

/// A BuildKit-style attestation manifest for `subject`.
pub fn attestation(subject: &Image) -> Image {
    let statement = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{ "name": "seed", "digest": { "sha256": subject.digest.encoded() } }],
        "predicate": {}
    }))
    .expect("a Value always serialises"); // Cannot fail: string keys only.
    let config = serde_json::to_vec(&json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": { "type": "layers", "diff_ids": [Digest::sha256(&statement)] }
    }))
    .expect("a Value always serialises"); // Cannot fail: string keys only.
    let manifest = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": Digest::sha256(&config), "size": config.len() },
        "layers": [{
            "mediaType": "application/vnd.in-toto+json", "digest": Digest::sha256(&statement), "size": statement.len(),
            "annotations": { "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2" }
        }]
    }))
    .expect("a Value always serialises"); // Cannot fail: string keys only.
    Image {
        platform: Platform::new("unknown", "unknown", ""),
        flavour: Flavour::Oci,
        digest: Digest::sha256(&manifest),
        media_type: OCI_MANIFEST,
        compressed_size: (config.len() + statement.len()) as u64,
        manifest,
        blobs: vec![config, statement],
    }
}

/// An index over `images`, with attestation manifests for those in `attest`.
pub fn index(images: &[Image], attest: &[Image], flavour: Flavour) -> (Index, Vec<Image>) {
    let mut entries: Vec<Value> = images
        .iter()
        .map(|i| json!({ "mediaType": i.media_type, "digest": i.digest, "size": i.manifest.len(), "platform": platform_json(&i.platform) }))
        .collect();
    let mut extra = Vec::new();
    for subject in attest {
        let a = attestation(subject);
        entries.push(json!({
            "mediaType": a.media_type, "digest": a.digest, "size": a.manifest.len(),
            "platform": { "architecture": "unknown", "os": "unknown" },
            "annotations": { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": subject.digest }
        }));
        extra.push(a);
    }
    let media_type = match flavour {
        Flavour::Oci => OCI_INDEX,
        Flavour::Docker => DOCKER_LIST,
    };
    let bytes = serde_json::to_vec_pretty(&json!({ "schemaVersion": 2, "mediaType": media_type, "manifests": entries })).expect("a Value always serialises"); // Cannot fail: string keys only.
    let children = images.iter().map(|i| (i.platform.key(), i.clone())).collect();
    (Index { digest: Digest::sha256(&bytes), bytes, media_type, children, attestations: attest.len() }, extra)
}

pub fn p(key: &str) -> Platform {
    // Only called with platform literals of this module and its tests.
    let mut pl = Platform::parse_key(key).expect("a valid platform literal");
    // Configs say arm64 with variant v8, as real arm64 images do.
    if pl.architecture == "arm64" {
        pl.variant = "v8".to_string();
    }
    pl
}

pub const WINDOWS_KEY: &str = "windows/amd64:10.0.17763.5122";

/// What a tag holds.
#[derive(Debug, Clone)]
pub enum Built {
    Index { index: Index, extra: Vec<Image> },
    Image(Image),
}

impl Built {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Built::Index { index, .. } => &index.bytes,
            Built::Image(i) => &i.manifest,
        }
    }
    pub fn digest(&self) -> &Digest {
        match self {
            Built::Index { index, .. } => &index.digest,
            Built::Image(i) => &i.digest,
        }
    }
    pub fn media_type(&self) -> &'static str {
        match self {
            Built::Index { index, .. } => index.media_type,
            Built::Image(i) => i.media_type,
        }
    }
    /// Every image manifest under this tag, children and attestations.
    pub fn images(&self) -> Vec<&Image> {
        match self {
            Built::Index { index, extra } => index.children.values().chain(extra.iter()).collect(),
            Built::Image(i) => vec![i],
        }
    }
}

/// The standard set of tags (the demo layout and the test seed):
/// - `1.0` and `latest`: one OCI index (amd64, arm64, arm/v7) with an attestation for amd64
/// - `1.1`: a Docker manifest list (amd64, arm64, arm/v7, arm/v6, 386) of Docker images
/// - `1.2-windows`: OCI index with linux/amd64 and windows/amd64 10.0.17763.5122
/// - `0.9-arm`: OCI index with arm/v6 and arm/v7 side by side
/// - `single-amd64`: a single Docker image; `single-arm64`: a single OCI image
pub fn standard_set() -> Vec<(String, Built)> {
    let oci = |k: &str, tag: &str| image(&p(k), Flavour::Oci, &format!("{tag} {k}"));
    let docker = |k: &str, tag: &str| image(&p(k), Flavour::Docker, &format!("{tag} {k}"));
    let mut out = Vec::new();
    let imgs = vec![oci("linux/amd64", "1.0"), oci("linux/arm64", "1.0"), oci("linux/arm/v7", "1.0")];
    let (idx, extra) = index(&imgs, &imgs[..1], Flavour::Oci);
    out.push(("1.0".to_string(), Built::Index { index: idx.clone(), extra: extra.clone() }));
    out.push(("latest".to_string(), Built::Index { index: idx, extra }));
    let imgs: Vec<Image> = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386"].iter().map(|k| docker(k, "1.1")).collect();
    let (idx, extra) = index(&imgs, &[], Flavour::Docker);
    out.push(("1.1".to_string(), Built::Index { index: idx, extra }));
    let imgs = vec![oci("linux/amd64", "1.2"), oci(WINDOWS_KEY, "1.2")];
    let (idx, extra) = index(&imgs, &[], Flavour::Oci);
    out.push(("1.2-windows".to_string(), Built::Index { index: idx, extra }));
    let imgs = vec![oci("linux/arm/v6", "0.9"), oci("linux/arm/v7", "0.9")];
    let (idx, extra) = index(&imgs, &[], Flavour::Oci);
    out.push(("0.9-arm".to_string(), Built::Index { index: idx, extra }));
    out.push(("single-amd64".to_string(), Built::Image(docker("linux/amd64", "single"))));
    out.push(("single-arm64".to_string(), Built::Image(oci("linux/arm64", "single"))));
    out
}
