//! Deep diagnosis benchmark on the local registry, two images:
//! - the entrypoint sits in the first 1 MB of a 50 MB layer. Targets: ≤ 2 MB of layers read
//!   and ≤ 2 s per diagnosis;
//! - the entrypoint is reached through PATH (the fourth directory) and sits at the end of a
//!   128 MB layer. Target: bytes read ≤ 1.05 × the image's compressed size (each layer read once).
//!
//! `cargo bench --bench diagnose`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use archlens::testkit::{Compression, Entry, image_with_layers, p};
use serde_json::json;

fn noise(len: usize) -> Vec<u8> {
    // xorshift64*: incompressible enough that gzip keeps the layer near 50 MB.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn main() {
    let c = common::client();
    let repo = "bench/diagnose";
    let app = common::diag::gcc_x86_64().to_vec();
    let big = image_with_layers(
        &p("linux/amd64"),
        &[
            (common::diag::base("amd64"), Compression::Gzip),
            (vec![Entry::file("usr/local/bin/app", &app), Entry::file("usr/share/app/data.bin", &noise(50 * 1024 * 1024))], Compression::Gzip),
        ],
        json!({ "Entrypoint": ["/usr/local/bin/app"] }),
    );
    let layer_size = big.blobs.last().map(Vec::len).unwrap_or(0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        common::seed::push_image(&c, repo, &big).await.unwrap();
        c.put_manifest(repo, "big", big.media_type, &big.manifest).await.unwrap();
    });
    let reference = format!("{}/{repo}:big", common::registry_addr());
    println!("deep diagnose of {reference}: entrypoint ({} B) first in a {:.1} MB gzip layer", app.len(), layer_size as f64 / 1e6);
    let mut worst_time: f64 = 0.0;
    let mut worst_bytes: u64 = 0;
    for run in 1..=5 {
        let cache = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let out = common::archlens(&["diagnose", &reference, "--host", "x86-64", "--deep", "--format", "json"], cache.path());
        let secs = t.elapsed().as_secs_f64();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["verdict"], "ok", "{v}");
        let bytes = v["bytes_read"].as_u64().unwrap_or(u64::MAX);
        println!("  run {run}: {secs:.3} s, {bytes} bytes of layers read, binary {}", v["binary"]["architecture"]);
        worst_time = worst_time.max(secs);
        worst_bytes = worst_bytes.max(bytes);
    }
    println!(
        "  worst: {worst_time:.3} s (target ≤ 2 s) {}, {:.2} MB read (target ≤ 2 MB) {}",
        if worst_time <= 2.0 { "met" } else { "MISSED" },
        worst_bytes as f64 / 1e6,
        if worst_bytes <= 2_000_000 { "met" } else { "MISSED" }
    );

    // Through PATH, at the end of a 128 MB layer.
    let late = image_with_layers(
        &p("linux/amd64"),
        &[
            (common::diag::base("amd64"), Compression::Gzip),
            (vec![Entry::file("opt/data.bin", &noise(128 * 1024 * 1024)), Entry::file("usr/bin/app", &app)], Compression::Gzip),
        ],
        json!({ "Cmd": ["app"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] }),
    );
    rt.block_on(async {
        common::seed::push_image(&c, repo, &late).await.unwrap();
        c.put_manifest(repo, "late", late.media_type, &late.manifest).await.unwrap();
    });
    let reference = format!("{}/{repo}:late", common::registry_addr());
    let cache = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = common::archlens(&["diagnose", &reference, "--host", "x86-64", "--format", "json"], cache.path());
    let secs = t.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["binary"]["path"], "/usr/bin/app", "{v}");
    let bytes = v["bytes_read"].as_u64().unwrap_or(u64::MAX);
    let ratio = bytes as f64 / late.compressed_size as f64;
    println!(
        "deep diagnose through PATH to the end of a 128 MB layer: {secs:.2} s, {:.1} MB read of a {:.1} MB image = {ratio:.3}× (target ≤ 1.05×) {}",
        bytes as f64 / 1e6,
        late.compressed_size as f64 / 1e6,
        if ratio <= 1.05 { "met" } else { "MISSED" }
    );

    // The worst chain: a script (newest layer) → env (third layer) → the interpreter (second)
    // → the program loader (base), each layer much bigger than what is looked up in it, the
    // files at the start of some layers and at the end of others, and merged-/usr links.
    use archlens::model::binary::elf_with_interp;
    let loader = "/lib64/ld-linux-x86-64.so.2";
    let chain = image_with_layers(
        &p("linux/amd64"),
        &[
            (
                vec![
                    Entry::symlink("bin", "usr/bin"),
                    Entry::symlink("lib", "usr/lib"),
                    Entry::symlink("lib64", "usr/lib64"),
                    Entry::file("usr/share/base.bin", &noise(24 * 1024 * 1024)),
                    Entry::file("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", &archlens::model::binary::elf_header(62, true, true)),
                    Entry::symlink("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                ],
                Compression::Gzip,
            ),
            (
                vec![Entry::file("usr/bin/python3", &elf_with_interp(62, true, loader)), Entry::file("usr/lib/python3/big.bin", &noise(16 * 1024 * 1024))],
                Compression::Gzip,
            ),
            (
                vec![Entry::file("usr/share/env-data.bin", &noise(12 * 1024 * 1024)), Entry::file("usr/bin/env", &elf_with_interp(62, true, loader))],
                Compression::Zstd,
            ),
            (vec![Entry::file("app.py", b"#!/usr/bin/env -S python3 -u\nprint(1)\n"), Entry::file("srv/data.bin", &noise(8 * 1024 * 1024))], Compression::Gzip),
        ],
        json!({ "Entrypoint": ["/app.py"] }),
    );
    rt.block_on(async {
        common::seed::push_image(&c, repo, &chain).await.unwrap();
        c.put_manifest(repo, "chain", chain.media_type, &chain.manifest).await.unwrap();
    });
    let reference = format!("{}/{repo}:chain", common::registry_addr());
    let mut worst: f64 = 0.0;
    for run in 1..=3 {
        let cache = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let out = common::archlens(&["diagnose", &reference, "--host", "x86-64", "--format", "json"], cache.path());
        let secs = t.elapsed().as_secs_f64();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["verdict"], "ok", "{v}");
        let steps: Vec<&str> = v["chain"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
        assert_eq!(steps, ["/app.py", "/usr/bin/env", "/usr/bin/python3"], "{v}");
        let bytes = v["bytes_read"].as_u64().unwrap_or(u64::MAX);
        let ratio = bytes as f64 / chain.compressed_size as f64;
        worst = worst.max(ratio);
        println!(
            "  chain run {run}: script → env → python3 → loader across 4 layers: {secs:.2} s, {:.1} MB read of a {:.1} MB image = {ratio:.3}×",
            bytes as f64 / 1e6,
            chain.compressed_size as f64 / 1e6
        );
    }
    println!("worst case, the chain: bytes read ÷ image = {worst:.3}× (target ≤ 1.05×) {}", if worst <= 1.05 { "met" } else { "MISSED" });
}
