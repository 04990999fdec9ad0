//! Matrix benchmark against a real local registry: 300 tags × 5 platforms.
//!
//! Measures, in one run, cold `archlens matrix` (empty cache), warm `archlens matrix` (same
//! cache) and a sequential `skopeo inspect --raw` loop over every tag and child — what users
//! script today. Targets: cold ≥ 20× faster than the skopeo loop, warm ≥ 5× faster than cold.
//!
//! `cargo bench --bench matrix`; `ARCHLENS_BENCH_TAGS=50` for a quicker run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

const PLATFORMS: [&str; 5] = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"];

/// A 100,000-entry index (every entry its own platform) through the matrix model: must stay
/// linear (goal: well under a second).
fn huge_index() {
    use archlens::model::Digest;
    use archlens::model::manifest::ManifestKind;
    use archlens::model::matrix::{CellSource, Child, Matrix, TagOutcome, TagResult};
    let children: Vec<Child> = (0..100_000u32)
        .map(|i| Child {
            source: CellSource::Registry,
            platform: Some(archlens::model::Platform::new("linux", &format!("arch{i}"), "")),
            digest: Digest::sha256(&i.to_le_bytes()),
            size: 500,
            compressed_size: Some(1000),
            error: None,
            attestation: None,
            verified: None,
        })
        .collect();
    let result = TagResult {
        pushed: None,
        tag: "huge".into(),
        outcome: TagOutcome::Index {
            digest: Digest::sha256(b"idx"),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            kind: ManifestKind::OciIndex,
            children,
            attestations: 0,
        },
    };
    let t = Instant::now();
    let m = Matrix::build("bench/huge", vec![result]);
    println!("100,000-entry index → matrix: {} columns in {:.3} s (goal: well under 1 s)", m.platforms().len(), t.elapsed().as_secs_f64());
}

fn main() {
    huge_index();
    let tags: usize = std::env::var("ARCHLENS_BENCH_TAGS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let addr = common::registry_addr();
    let repo = "bench/app";
    let repository = format!("{addr}/{repo}");
    let client = common::client();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = Instant::now();
    rt.block_on(common::seed::seed_bench(&client, repo, tags, &PLATFORMS)).expect("seed");
    println!("seeded {tags} tags × {} platforms in {:.1} s", PLATFORMS.len(), t.elapsed().as_secs_f64());

    let cache = tempfile::tempdir().expect("tempdir");
    let run = |label: &str| -> Duration {
        let t = Instant::now();
        let out = common::archlens(&["matrix", &repository, "--format", "json"], cache.path());
        let d = t.elapsed();
        let v: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out)).expect("json");
        let rows = v["tags"].as_array().map(Vec::len).unwrap_or(0);
        let cells: usize = v["tags"].as_array().into_iter().flatten().map(|r| r["cells"].as_object().map_or(0, |c| c.len())).sum();
        assert_eq!(rows, tags, "{label}: every tag is a row");
        assert_eq!(cells, tags * PLATFORMS.len(), "{label}: every cell is filled");
        d
    };
    let cold = run("cold");
    let warm = run("warm");
    let no_cache = {
        let t = Instant::now();
        let out = common::archlens(&["matrix", &repository, "--format", "json", "--no-cache"], cache.path());
        common::stdout_ok(&out);
        t.elapsed()
    };
    // Cold with a fresh cache again, now that the registry's own caches are warm too.
    let cache2 = tempfile::tempdir().expect("tempdir");
    let cold2 = {
        let t = Instant::now();
        common::stdout_ok(&common::archlens(&["matrix", &repository, "--format", "json"], cache2.path()));
        t.elapsed()
    };
    let (limit, urls) = registry_bound(&rt, &client, repo);

    let t = Instant::now();
    let mut calls = 0;
    let list = client_tags(&rt, &client, repo);
    for tag in &list {
        let raw = skopeo(&format!("docker://{repository}:{tag}"));
        calls += 1;
        let v: serde_json::Value = serde_json::from_slice(&raw).expect("index json");
        for m in v["manifests"].as_array().into_iter().flatten() {
            let d = m["digest"].as_str().expect("digest");
            skopeo(&format!("docker://{repository}@{d}"));
            calls += 1;
        }
    }
    let skopeo_loop = t.elapsed();

    let cold_speedup = skopeo_loop.as_secs_f64() / cold.as_secs_f64();
    let warm_speedup = cold.as_secs_f64() / warm.as_secs_f64();
    println!();
    println!("matrix of {tags} tags × {} platforms on a local registry", PLATFORMS.len());
    println!("  skopeo inspect --raw loop : {:>8.2} s  ({calls} sequential calls)", skopeo_loop.as_secs_f64());
    println!("  archlens matrix, cold     : {:>8.3} s", cold.as_secs_f64());
    println!("  archlens matrix, warm     : {:>8.3} s", warm.as_secs_f64());
    println!("  archlens matrix, cold again with an empty cache: {:>6.3} s; with --no-cache: {:.3} s", cold2.as_secs_f64(), no_cache.as_secs_f64());
    println!("  registry-bound limit      : {:>8.3} s  (the same {urls} requests replayed with 16 connections)", limit.as_secs_f64());
    let best_cold = cold.min(cold2);
    let vs_no_cache = best_cold.as_secs_f64() / no_cache.as_secs_f64();
    let vs_limit = best_cold.as_secs_f64() / limit.as_secs_f64();
    println!("  cold (cache) vs --no-cache: {vs_no_cache:>8.2}×  (target ≤ 1.1×) {}", verdict(vs_no_cache <= 1.1));
    println!("  cold (cache) vs limit     : {vs_limit:>8.2}×  (target ≤ 1.2×) {}", verdict(vs_limit <= 1.2));
    println!("  cold vs skopeo loop       : {cold_speedup:>8.1}×  (target ≥ 20×) {}", verdict(cold_speedup >= 20.0));
    println!("  warm vs cold              : {warm_speedup:>8.1}×  (target ≥ 5×)  {}", verdict(warm_speedup >= 5.0));
}

/// The time the registry itself needs for the requests a matrix makes (tag list, each tag's
/// index, each child manifest), replayed with 16 connections and no processing.
fn registry_bound(rt: &tokio::runtime::Runtime, c: &archlens::registry::RegistryClient, repo: &str) -> (Duration, usize) {
    use futures::StreamExt as _;
    let urls = rt.block_on(common::seed::matrix_urls(c, repo));
    let http = reqwest::Client::new();
    let accept = archlens::model::manifest::ACCEPT_ALL.join(", ");
    let t = Instant::now();
    rt.block_on(async {
        futures::stream::iter(urls.iter())
            .map(|u| {
                let req = http.get(u).header("accept", &accept);
                async move { req.send().await.expect("request").bytes().await.expect("body").len() }
            })
            .buffer_unordered(16)
            .for_each(|_| async {})
            .await;
    });
    (t.elapsed(), urls.len())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn client_tags(rt: &tokio::runtime::Runtime, c: &archlens::registry::RegistryClient, repo: &str) -> Vec<String> {
    let mut t = rt.block_on(c.tags_all(repo)).expect("tags");
    t.sort();
    t
}

fn skopeo(reference: &str) -> Vec<u8> {
    let out = Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", reference]).output().expect("skopeo");
    assert!(out.status.success(), "skopeo {reference}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}
