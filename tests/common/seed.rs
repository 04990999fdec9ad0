//! Seeding: tiny real images pushed to the test registry by Archlens's own client.
//! Every byte pushed is kept so tests compare against exactly what was seeded.
#![allow(dead_code)]

use std::collections::BTreeMap;

use archlens::registry::{RegistryClient, RegistryError};
pub use archlens::testkit::*;
use serde_json::json;

pub async fn push_image(c: &RegistryClient, repo: &str, img: &Image) -> Result<(), RegistryError> {
    for b in &img.blobs {
        c.push_blob(repo, b).await?;
    }
    c.put_manifest(repo, img.digest.as_str(), img.media_type, &img.manifest).await?;
    Ok(())
}

pub async fn push_index(c: &RegistryClient, repo: &str, tag: &str, idx: &Index, extra: &[Image]) -> Result<(), RegistryError> {
    for img in idx.children.values().chain(extra) {
        push_image(c, repo, img).await?;
    }
    c.put_manifest(repo, tag, idx.media_type, &idx.bytes).await?;
    Ok(())
}

/// The standard set (see `archlens::testkit::standard_set`) pushed to `repo`.
pub async fn seed_standard(c: &RegistryClient, repo: &str) -> Result<Seeded, RegistryError> {
    let mut tags = BTreeMap::new();
    for (tag, built) in standard_set() {
        for img in built.images() {
            push_image(c, repo, img).await?;
        }
        c.put_manifest(repo, &tag, built.media_type(), built.bytes()).await?;
        let seeded = match built {
            Built::Index { index, .. } => Seeded1::Index(index),
            Built::Image(i) => Seeded1::Image(i),
        };
        tags.insert(tag, seeded);
    }
    Ok(Seeded { repository: format!("{}/{repo}", c.registry().name()), repo: repo.to_string(), tags })
}

/// The benchmark seed: `tags` tags, each an OCI index over `platforms` distinct images.
pub async fn seed_bench(c: &RegistryClient, repo: &str, tags: usize, platforms: &[&str]) -> Result<(), RegistryError> {
    use futures::StreamExt as _;
    let bench_image = |k: &str, tag: &str| image_with(&p(k), Flavour::Oci, &format!("bench {k}"), &format!("{tag} {k}"), json!({ "Cmd": ["/bin/sh"] }));
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

/// The URLs a cold matrix of `repo` asks for (tag list, each tag, each child manifest), for
/// benchmarks that replay them to find the registry's own bound.
pub async fn matrix_urls(c: &RegistryClient, repo: &str) -> Vec<String> {
    let base = format!("{}/v2/{repo}", c.base_url());
    let mut urls = vec![format!("{base}/tags/list?n=1000")];
    for tag in c.tags_all(repo).await.expect("tags") {
        urls.push(format!("{base}/manifests/{tag}"));
        let idx = c.get_manifest(repo, &tag).await.expect("index");
        let v = archlens::model::ManifestView::parse(&idx.bytes).expect("view");
        for m in &v.manifests {
            urls.push(format!("{base}/manifests/{}", m.digest));
        }
    }
    urls
}

/// What `seed_coverage` pushed: repository → tag → digest of what the tag holds.
pub type CoverageSeed = BTreeMap<String, BTreeMap<String, archlens::model::Digest>>;

/// Repositories for coverage, under `prefix/`:
/// - `multi`: `1.0` amd64 only, `1.1` and `latest` amd64 + arm64;
/// - `amd-only`: `latest` and `2.0`, single-arch amd64 images;
/// - `v7`: `latest` amd64 + arm/v7;
/// - `newer-single`: `1.0` and `latest` amd64 + arm64, `1.1` single-arch amd64 (its newest
///   tag lacks arm64 while `latest` has it);
/// - `no-latest`: `v1` and `release-1` (arm64 only), no `latest`.
pub async fn seed_coverage(c: &RegistryClient, prefix: &str) -> Result<CoverageSeed, RegistryError> {
    let mut out = CoverageSeed::new();
    let plan: &[(&str, &str, &[&str])] = &[
        ("multi", "1.0", &["linux/amd64"]),
        ("multi", "1.1", &["linux/amd64", "linux/arm64"]),
        ("multi", "latest", &["linux/amd64", "linux/arm64"]),
        ("amd-only", "latest", &["single:linux/amd64"]),
        ("amd-only", "2.0", &["single:linux/amd64"]),
        ("v7", "latest", &["linux/amd64", "linux/arm/v7"]),
        ("newer-single", "1.0", &["linux/amd64", "linux/arm64"]),
        ("newer-single", "latest", &["linux/amd64", "linux/arm64"]),
        ("newer-single", "1.1", &["single:linux/amd64"]),
        ("no-latest", "v1", &["linux/arm64"]),
        ("no-latest", "release-1", &["linux/arm64"]),
    ];
    for (name, tag, platforms) in plan {
        let repo = format!("{prefix}/{name}");
        let digest = if let Some(key) = platforms.first().and_then(|k| k.strip_prefix("single:")) {
            let img = image(&p(key), Flavour::Oci, &format!("{repo} {tag}"));
            push_image(c, &repo, &img).await?;
            c.put_manifest(&repo, tag, img.media_type, &img.manifest).await?;
            img.digest
        } else {
            let imgs: Vec<Image> = platforms.iter().map(|k| image(&p(k), Flavour::Oci, &format!("{repo} {tag} {k}"))).collect();
            let (idx, extra) = index(&imgs, &[], Flavour::Oci);
            push_index(c, &repo, tag, &idx, &extra).await?;
            idx.digest
        };
        out.entry(repo).or_default().insert(tag.to_string(), digest);
    }
    Ok(out)
}
