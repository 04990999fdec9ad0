//! Docker Hub without spending pulls: `archlens matrix` of a 2,000-tag repository from Docker
//! Hub's API (the test suite's fake of it, serving the documented JSON for images the local
//! registry holds), through the in-repo proxy that adds a 100 ms round trip. Goal: cold ≤ 3 s,
//! with no manifest read. For comparison, the same matrix from the registry's manifests
//! (`--hub-api none`), which on Docker Hub would spend 2,000 pulls and more.
//!
//! `cargo bench --bench hub`; `ARCHLENS_BENCH_TAGS=500` for a quicker run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

fn matrix(home: &std::path::Path, repository: &str, hub_api: &str, tags: usize) -> Duration {
    let t = Instant::now();
    let out = common::cli::run_with_only(home, &["matrix", repository, "--format", "json", "--no-cache", "--hub-api", hub_api], &[]);
    let took = t.elapsed();
    let v: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out)).expect("json");
    assert_eq!(v["tags"].as_array().map(Vec::len), Some(tags), "every tag is a row");
    took
}

fn main() {
    let tags: usize = std::env::var("ARCHLENS_BENCH_TAGS").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let name = "bench/hub";
    let t = Instant::now();
    let json = rt.block_on(common::hub::seed_tags(&common::client(), name, tags));
    println!("seeded {tags} tags in {:.1} s", t.elapsed().as_secs_f64());
    let rtt = Duration::from_millis(100);
    let (hub, hits) = rt.block_on(async {
        let (url, hits) = common::hub::fake_hub(name, json).await;
        let upstream = url.trim_start_matches("http://").to_string();
        (format!("http://{}", common::proxy::proxy(upstream, rtt).await), hits)
    });
    let registry = rt.block_on(common::proxy::proxy(common::registry_addr().to_string(), rtt));
    let home = tempfile::tempdir().expect("home");
    let repository = format!("{registry}/{name}");
    let from_hub = matrix(home.path(), &repository, &hub, tags);
    let hub_requests = hits.load(std::sync::atomic::Ordering::SeqCst);
    // The registry also lists the three `seed` tags that first pushed the indexes.
    let from_registry = matrix(home.path(), &repository, "none", tags + 3);
    println!("matrix of {tags} tags at {} ms round trip", rtt.as_millis());
    println!(
        "  from Docker Hub's API : {:>6.2} s  ({hub_requests} API requests, no manifest read)  goal ≤ 3 s: {}",
        from_hub.as_secs_f64(),
        if from_hub.as_secs_f64() <= 3.0 { "ok" } else { "MISSED" }
    );
    println!("  from the manifests    : {:>6.2} s  (on Docker Hub: {tags} pulls and more)", from_registry.as_secs_f64());
}
