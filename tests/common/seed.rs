//! Seeding: tiny real images pushed to the test registry by Archlens's own client.
//! Every byte pushed is kept so tests compare against exactly what was seeded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;

use archlens::model::digest::Digest;
use archlens::model::manifest::{DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use archlens::model::platform::Platform;
use archlens::registry::{RegistryClient, RegistryError};
use serde_json::{Value, json};

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
pub fn layer(path: &str, content: &[u8]) -> (Vec<u8>, Digest) {
    let mut tar_bytes = Vec::new();
    {
        let mut b = tar::Builder::new(&mut tar_bytes);
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, path, content).expect("tar append");
        b.finish().expect("tar finish");
    }
    let diff_id = Digest::sha256(&tar_bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).expect("gzip");
    (gz.finish().expect("gzip finish"), diff_id)
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
    let config_bytes = serde_json::to_vec(&config).expect("config json");
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
    let manifest = serde_json::to_vec_pretty(&manifest).expect("manifest json");
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
    .expect("statement");
    let config = serde_json::to_vec(&json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": { "type": "layers", "diff_ids": [Digest::sha256(&statement)] }
    }))
    .expect("config");
    let manifest = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": Digest::sha256(&config), "size": config.len() },
        "layers": [{
            "mediaType": "application/vnd.in-toto+json", "digest": Digest::sha256(&statement), "size": statement.len(),
            "annotations": { "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2" }
        }]
    }))
    .expect("manifest");
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
    let bytes = serde_json::to_vec_pretty(&json!({ "schemaVersion": 2, "mediaType": media_type, "manifests": entries }))
        .expect("index json");
    let children = images.iter().map(|i| (i.platform.key(), i.clone())).collect();
    (Index { digest: Digest::sha256(&bytes), bytes, media_type, children, attestations: attest.len() }, extra)
}

pub async fn push_image(c: &RegistryClient, repo: &str, img: &Image) -> Result<(), RegistryError> {
    for b in &img.blobs {
        c.push_blob(repo, b).await?;
    }
    c.put_manifest(repo, img.digest.as_str(), img.media_type, &img.manifest).await?;
    Ok(())
}

pub async fn push_index(
    c: &RegistryClient,
    repo: &str,
    tag: &str,
    idx: &Index,
    extra: &[Image],
) -> Result<(), RegistryError> {
    for img in idx.children.values().chain(extra) {
        push_image(c, repo, img).await?;
    }
    c.put_manifest(repo, tag, idx.media_type, &idx.bytes).await?;
    Ok(())
}

pub fn p(key: &str) -> Platform {
    let mut pl = Platform::parse_key(key).expect("platform");
    // Configs say arm64 with variant v8, as real arm64 images do.
    if pl.architecture == "arm64" {
        pl.variant = "v8".to_string();
    }
    pl
}

pub const WINDOWS_KEY: &str = "windows/amd64:10.0.17763.5122";

/// The standard seed:
/// - `1.0` and `latest`: one OCI index (amd64, arm64, arm/v7) with an attestation for amd64
/// - `1.1`: a Docker manifest list (amd64, arm64, arm/v7, arm/v6, 386) of Docker images
/// - `1.2-windows`: OCI index with linux/amd64 and windows/amd64 10.0.17763.5122
/// - `0.9-arm`: OCI index with arm/v6 and arm/v7 side by side
/// - `single-amd64`: a single Docker image; `single-arm64`: a single OCI image
pub async fn seed_standard(c: &RegistryClient, repo: &str) -> Result<Seeded, RegistryError> {
    let mut tags = BTreeMap::new();
    let oci = |k: &str, tag: &str| image(&p(k), Flavour::Oci, &format!("{tag} {k}"));
    let docker = |k: &str, tag: &str| image(&p(k), Flavour::Docker, &format!("{tag} {k}"));

    let imgs = vec![oci("linux/amd64", "1.0"), oci("linux/arm64", "1.0"), oci("linux/arm/v7", "1.0")];
    let (idx, extra) = index(&imgs, &imgs[..1], Flavour::Oci);
    push_index(c, repo, "1.0", &idx, &extra).await?;
    c.put_manifest(repo, "latest", idx.media_type, &idx.bytes).await?;
    tags.insert("1.0".to_string(), Seeded1::Index(idx.clone()));
    tags.insert("latest".to_string(), Seeded1::Index(idx));

    let imgs: Vec<Image> = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386"]
        .iter()
        .map(|k| docker(k, "1.1"))
        .collect();
    let (idx, extra) = index(&imgs, &[], Flavour::Docker);
    push_index(c, repo, "1.1", &idx, &extra).await?;
    tags.insert("1.1".to_string(), Seeded1::Index(idx));

    let imgs = vec![oci("linux/amd64", "1.2"), oci(WINDOWS_KEY, "1.2")];
    let (idx, extra) = index(&imgs, &[], Flavour::Oci);
    push_index(c, repo, "1.2-windows", &idx, &extra).await?;
    tags.insert("1.2-windows".to_string(), Seeded1::Index(idx));

    let imgs = vec![oci("linux/arm/v6", "0.9"), oci("linux/arm/v7", "0.9")];
    let (idx, extra) = index(&imgs, &[], Flavour::Oci);
    push_index(c, repo, "0.9-arm", &idx, &extra).await?;
    tags.insert("0.9-arm".to_string(), Seeded1::Index(idx));

    let single = docker("linux/amd64", "single");
    push_image(c, repo, &single).await?;
    c.put_manifest(repo, "single-amd64", single.media_type, &single.manifest).await?;
    tags.insert("single-amd64".to_string(), Seeded1::Image(single));

    let single = oci("linux/arm64", "single");
    push_image(c, repo, &single).await?;
    c.put_manifest(repo, "single-arm64", single.media_type, &single.manifest).await?;
    tags.insert("single-arm64".to_string(), Seeded1::Image(single));

    Ok(Seeded { repository: format!("{}/{repo}", c.registry().name()), repo: repo.to_string(), tags })
}

/// The benchmark seed: `tags` tags, each an OCI index over `platforms` distinct images.
pub async fn seed_bench(c: &RegistryClient, repo: &str, tags: usize, platforms: &[&str]) -> Result<(), RegistryError> {
    use futures::StreamExt as _;
    let bench_image = |k: &str, tag: &str| {
        image_with(&p(k), Flavour::Oci, &format!("bench {k}"), &format!("{tag} {k}"), json!({ "Cmd": ["/bin/sh"] }))
    };
    // The shared layers go first, so parallel pushes never race on the same blob.
    for k in platforms {
        c.push_blob(repo, &bench_image(k, "base").blobs[1]).await?;
    }
    let jobs = (0..tags).map(|t| {
        async move {
            let tag = format!("v{}.{}.{}", t / 100, (t / 10) % 10, t % 10);
            let imgs: Vec<Image> = platforms
                .iter()
                // One shared layer per platform; the config (and so the manifest) is distinct.
                .map(|k| bench_image(k, &tag))
                .collect();
            let (idx, extra) = index(&imgs, &[], Flavour::Oci);
            push_index(c, repo, &tag, &idx, &extra).await
        }
    });
    let results: Vec<_> = futures::stream::iter(jobs).buffer_unordered(8).collect().await;
    results.into_iter().collect()
}
