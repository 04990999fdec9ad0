//! Diff benchmark: two 5-platform tags on a local registry of their own that share most of
//! their bytes (each platform a large base layer both tags have, and an app layer each tag has
//! its own). Runs `archlens diff` three times on one fresh cache and reads the request log:
//! - layers and configs: goal, no layer read at all;
//! - `--files`: goal, only the layers the two do not share, at most 1.05× their compressed size;
//! - `--files` again: goal, nothing read by digest again (the listings were kept).
//!
//! `cargo bench --bench diff`; `ARCHLENS_BENCH_MB=8` for a smaller base layer per platform
//! (default 40 MB, so the two tags hold about 250 MB).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use archlens::testkit::{Compression, Entry, Flavour, Image, image_with_layers, index, p};

const PLATFORMS: [&str; 5] = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"];

/// Tag `release`'s image for platform number `k`: the base layer (the same in both releases)
/// and an app layer of its own (one file changed, one added, the rest the same).
fn release(k: usize, release: u64, base_mb: usize) -> Image {
    let base: Vec<Entry> = (0..8).map(|i| Entry::file(&format!("usr/lib/base{i}.so"), &common::noise(base_mb * 1024 * 1024 / 8, k as u64 * 100 + i))).collect();
    let mut app = vec![
        Entry::file("app/lib.so", &common::noise(2 << 20, k as u64 * 1000 + 1)),
        Entry::file("app/server", &common::noise(2 << 20, k as u64 * 1000 + 2 + release * 7)),
        Entry::file_mode("app/VERSION", format!("1.{release}").as_bytes(), 0o644),
    ];
    if release == 2 {
        app.push(Entry::file_mode("app/NEW", b"added in 2", 0o644));
    }
    let cfg = serde_json::json!({ "Entrypoint": ["/app/server"], "Env": [format!("RELEASE={release}")] });
    image_with_layers(&p(PLATFORMS[k]), &[(base, Compression::Gzip), (app, Compression::Gzip)], cfg)
}

/// One run of `archlens diff` on `cache`: its time, its JSON, and the layer digests it asked
/// the registry for (from its request log).
fn run(cache: &std::path::Path, before: &str, after: &str, files: bool, layers: &BTreeSet<String>) -> (Duration, serde_json::Value, BTreeSet<String>) {
    let mut args = vec!["diff", before, after, "--format", "json"];
    if files {
        args.push("--files");
    }
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_archlens"))
        .args(&args)
        .env("ARCHLENS_CACHE_DIR", cache)
        .env("HOME", cache)
        .env("ARCHLENS_LOG", "debug")
        .output()
        .expect("run archlens");
    let elapsed = t.elapsed();
    assert!(out.status.success(), "archlens diff failed: {}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8_lossy(&out.stderr);
    let asked: BTreeSet<String> =
        log.lines().filter_map(|l| l.split("/blobs/").nth(1)).map(|rest| rest.chars().take(71).collect::<String>()).filter(|d| layers.contains(d)).collect();
    (elapsed, serde_json::from_slice(&out.stdout).expect("json"), asked)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn main() {
    let base_mb: usize = std::env::var("ARCHLENS_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let addr = common::start_registry();
    let client = common::client_for(&addr);
    let t = Instant::now();
    let v1: Vec<Image> = (0..PLATFORMS.len()).map(|k| release(k, 1, base_mb)).collect();
    let v2: Vec<Image> = (0..PLATFORMS.len()).map(|k| release(k, 2, base_mb)).collect();
    let repo = "bench/diff";
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (tag, imgs) in [("1.0", &v1), ("2.0", &v2)] {
            let (idx, extra) = index(imgs, &[], Flavour::Oci);
            common::seed::push_index(&client, repo, tag, &idx, &extra).await.unwrap();
        }
    });
    // Blobs of an image: its config, then its layers (oldest first).
    let layer_digests = |imgs: &[Image]| -> Vec<(String, u64)> {
        imgs.iter().flat_map(|i| i.blobs[1..].iter().map(|b| (archlens::model::digest::Digest::sha256(b).to_string(), b.len() as u64))).collect()
    };
    let all: Vec<(String, u64)> = layer_digests(&v1).into_iter().chain(layer_digests(&v2)).collect();
    let layers: BTreeSet<String> = all.iter().map(|(d, _)| d.clone()).collect();
    let total: u64 = {
        let mut seen = BTreeSet::new();
        all.iter().filter(|(d, _)| seen.insert(d.clone())).map(|(_, s)| s).sum()
    };
    // What differs: each tag's app layers (the base layers are the same in both).
    let differing: Vec<(String, u64)> =
        v1.iter().chain(&v2).map(|i| (archlens::model::digest::Digest::sha256(&i.blobs[2]).to_string(), i.blobs[2].len() as u64)).collect();
    let differing_bytes: u64 = differing.iter().map(|(_, s)| s).sum();
    let differing_set: BTreeSet<String> = differing.iter().map(|(d, _)| d.clone()).collect();
    println!(
        "seeded 2 tags × {} platforms ({} of distinct layers; {} in the layers the tags do not share) in {:.1} s",
        PLATFORMS.len(),
        archlens::model::units::human_bytes(total),
        archlens::model::units::human_bytes(differing_bytes),
        t.elapsed().as_secs_f64()
    );

    let cache = tempfile::tempdir().expect("tempdir");
    let (before, after) = (format!("{addr}/{repo}:1.0"), format!("{addr}/{repo}:2.0"));
    let (plain, d, asked_plain) = run(cache.path(), &before, &after, false, &layers);
    assert_eq!(d["platforms"].as_array().map(Vec::len), Some(PLATFORMS.len()));
    let (files, f, asked_files) = run(cache.path(), &before, &after, true, &layers);
    let changed: usize = f["platforms"].as_array().unwrap().iter().map(|p| p["files"]["changes"].as_array().map(Vec::len).unwrap_or(0)).sum();
    let read = f["files_read"]["bytes"].as_u64().unwrap_or(0);
    let (again, g, asked_again) = run(cache.path(), &before, &after, true, &layers);
    let read_again = g["files_read"]["bytes"].as_u64().unwrap_or(u64::MAX);

    println!();
    println!("archlens diff of two {}-platform tags", PLATFORMS.len());
    println!("  layers and configs   : {:>7.3} s, layers asked for: {}  (goal 0) {}", plain.as_secs_f64(), asked_plain.len(), verdict(asked_plain.is_empty()));
    let ratio = read as f64 / differing_bytes as f64;
    let only_differing = asked_files.is_subset(&differing_set);
    println!(
        "  --files              : {:>7.3} s, {} read of {} differing ({ratio:.3}×, goal ≤ 1.05×) {}; layers asked for: {} ({} shared) {}; {changed} paths differ",
        files.as_secs_f64(),
        archlens::model::units::human_bytes(read),
        archlens::model::units::human_bytes(differing_bytes),
        verdict(ratio <= 1.05),
        asked_files.len(),
        asked_files.difference(&differing_set).count(),
        verdict(only_differing),
    );
    println!(
        "  --files again        : {:>7.3} s, {} read, layers asked for: {}  (goal nothing) {}",
        again.as_secs_f64(),
        archlens::model::units::human_bytes(read_again),
        asked_again.len(),
        verdict(read_again == 0 && asked_again.is_empty())
    );
}
