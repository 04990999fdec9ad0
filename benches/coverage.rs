//! Coverage benchmark: 500 repositories × 20 tags on a local registry of its own (each tag an
//! index over three platforms). Times `archlens coverage` cold (empty cache) and warm, with
//! peak memory, against the registry-bound limit: the requests a cold run needs divided by
//! the registry's own request rate, measured in the same run with `wrk` against one manifest
//! URL. Goals: cold ≤ 1.5× the limit, warm ≤ 0.2× cold, peak memory < 200 MB.
//!
//! `cargo bench --bench coverage`; `ARCHLENS_BENCH_REPOS=100` for a quicker run. Needs `wrk`
//! and GNU `time` (Debian packages `wrk`, `time`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::seed::{Flavour, Image, image, index, p, push_image};
use futures::StreamExt as _;

const TAGS: usize = 20;
const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

fn main() {
    let repos: usize = std::env::var("ARCHLENS_BENCH_REPOS").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let addr = common::start_registry();
    let client = common::client_for(&addr);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = Instant::now();
    let sample = rt.block_on(seed(&client, repos));
    println!("seeded {repos} repositories × {TAGS} tags × {} platforms in {:.1} s", PLATFORMS.len(), t.elapsed().as_secs_f64());

    // What a cold run asks for: the catalog, then per repository its tag list, the chosen
    // tag's index, each child manifest, the config of the entry the host would pick, a HEAD
    // of the newest release (to say whether `latest` lags it); and once, the referrers API
    // (the registry answers 404: it has none, and it is not asked again).
    let catalog_pages = repos.div_ceil(1000);
    let requests = catalog_pages + 1 + repos * (4 + PLATFORMS.len());
    let rate = wrk_rate(&format!("http://{addr}/v2/{sample}"));
    let limit = Duration::from_secs_f64(requests as f64 / rate);

    let cache = tempfile::tempdir().expect("tempdir");
    let (cold, cold_mb) = run(&addr, cache.path(), repos);
    let (warm, warm_mb) = run(&addr, cache.path(), repos);
    let cache2 = tempfile::tempdir().expect("tempdir");
    let (cold2, cold2_mb) = run(&addr, cache2.path(), repos);
    let best_cold = cold.min(cold2);
    let peak = cold_mb.max(warm_mb).max(cold2_mb);

    println!();
    println!("archlens coverage of {repos} repositories (tag `latest`, {} platforms each)", PLATFORMS.len());
    println!("  registry rate (wrk, one manifest URL, 16 connections): {rate:.0} requests/s");
    println!("  registry-bound limit : {:>7.3} s  ({requests} requests ÷ that rate)", limit.as_secs_f64());
    println!("  cold                 : {:>7.3} s  (again with an empty cache: {:.3} s)", cold.as_secs_f64(), cold2.as_secs_f64());
    println!("  warm                 : {:>7.3} s", warm.as_secs_f64());
    println!("  peak memory          : {peak:>7.1} MB (cold {cold_mb:.1}, warm {warm_mb:.1}, cold again {cold2_mb:.1})");
    let vs_limit = best_cold.as_secs_f64() / limit.as_secs_f64();
    let warm_ratio = warm.as_secs_f64() / best_cold.as_secs_f64();
    println!("  cold vs limit        : {vs_limit:>7.2}×  (goal ≤ 1.5×) {}", verdict(vs_limit <= 1.5));
    println!("  warm vs cold         : {warm_ratio:>7.2}×  (goal ≤ 0.2×) {}", verdict(warm_ratio <= 0.2));
    println!("  memory               : {peak:>7.1} MB (goal < 200 MB) {}", verdict(peak < 200.0));
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// Push the repositories; returns the path (`REPO/manifests/DIGEST`) of one child manifest.
async fn seed(c: &archlens::registry::RegistryClient, repos: usize) -> String {
    let jobs = (0..repos).map(|r| async move {
        let repo = format!("bench{:03}/svc{r}", r % 50);
        let imgs: Vec<Image> = PLATFORMS.iter().map(|k| image(&p(k), Flavour::Oci, &format!("{repo} {k}"))).collect();
        for img in &imgs {
            push_image(c, &repo, img).await.expect("push image");
        }
        for t in 0..TAGS {
            // Each tag its own index (an annotation tells them apart), over the same images.
            let (idx, _) = index(&imgs, &[], Flavour::Oci);
            let mut v: serde_json::Value = serde_json::from_slice(&idx.bytes).expect("index json");
            v["annotations"] = serde_json::json!({ "org.opencontainers.image.version": format!("1.{t}") });
            let bytes = serde_json::to_vec(&v).expect("json");
            let tag = if t + 1 == TAGS { "latest".to_string() } else { format!("1.{t}") };
            c.put_manifest(&repo, &tag, idx.media_type, &bytes).await.expect("push index");
        }
        format!("{repo}/manifests/{}", imgs[0].digest)
    });
    let paths: Vec<String> = futures::stream::iter(jobs).buffer_unordered(16).collect().await;
    paths.into_iter().next().expect("at least one repository")
}

/// The registry's request rate for one manifest URL, by `wrk` (2 threads, 16 connections, 5 s).
fn wrk_rate(url: &str) -> f64 {
    let accept = archlens::model::manifest::ACCEPT_ALL.join(", ");
    let out = Command::new("wrk").args(["-t2", "-c16", "-d5s", "-H", &format!("Accept: {accept}"), url]).output().expect("run wrk (Debian package `wrk`)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk got errors from {url}:\n{text}");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}"))
}

/// One `archlens coverage` run: its time and peak resident memory in MB (GNU time's %M).
fn run(addr: &str, cache: &std::path::Path, repos: usize) -> (Duration, f64) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "maxrss-kb %M", env!("CARGO_BIN_EXE_archlens"), "coverage", addr, "--format", "json"])
        .env("ARCHLENS_CACHE_DIR", cache)
        .env("HOME", cache)
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let elapsed = t.elapsed();
    assert!(out.status.success(), "archlens coverage failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v["repositories"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(rows, repos, "one row per repository");
    assert_eq!(v["summary"]["failed"], 0, "every repository read");
    assert_eq!(v["summary"]["platforms"]["linux/arm64"]["have"], repos, "every cell filled");
    let kb: f64 = String::from_utf8_lossy(&out.stderr).lines().find_map(|l| l.strip_prefix("maxrss-kb ")).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0);
    (elapsed, kb / 1024.0)
}
