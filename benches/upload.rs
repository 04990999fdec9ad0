//! Upload benchmark: a 5-platform index whose images each carry three layers of 10 MB, copied
//! from one local registry to another by `archlens compose --from` and by `skopeo copy --all`,
//! each against a fresh target of its own, in the same run, twice each (the better time
//! counts). Requests are counted from the target registry's access log. Goals: Archlens ≤ 0.8×
//! skopeo's time, ≤ 4 requests per blob.
//!
//! `cargo bench --bench upload`; `ARCHLENS_BENCH_MB=2` for a quicker run (MB per layer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use archlens::model::digest::Digest;
use archlens::model::manifest::{OCI_INDEX, OCI_MANIFEST};
use serde_json::json;

const PLATFORMS: [(&str, &str, &str); 5] =
    [("linux", "amd64", ""), ("linux", "arm64", ""), ("linux", "arm", "v7"), ("linux", "ppc64le", ""), ("linux", "s390x", "")];

fn start_logged_registry() -> (String, PathBuf) {
    let out = Command::new("bash")
        .arg(common::project_root().join("scripts/registry.sh"))
        .args(["start", "--owner", &std::process::id().to_string(), "--access-log"])
        .output()
        .expect("registry.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let addr = s.lines().find_map(|l| l.strip_prefix("ADDR=")).expect("ADDR").to_string();
    let dir = PathBuf::from(s.lines().find_map(|l| l.strip_prefix("DIR=")).expect("DIR"));
    (addr, dir)
}

/// Requests the target registry logged for `repo` (blob-related ones separately).
fn requests(log: &PathBuf, repo: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let needle = format!(" /v2/{repo}/");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&needle) && l.contains("HTTP/1.1\"")).collect();
    let blobs = lines.iter().filter(|l| l.contains("/blobs/")).count();
    (lines.len(), blobs)
}

fn main() {
    let mb: usize = std::env::var("ARCHLENS_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    const LAYERS: usize = 3;
    // The source logs its requests too: each config is read from it once.
    let (source_addr, source_dir) = start_logged_registry();
    let source = source_addr.as_str();
    let source_log = source_dir.join("registry.log");
    let client = common::client_for(source);
    let mut configs: Vec<String> = Vec::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let t = Instant::now();
    let mut entries = Vec::new();
    rt.block_on(async {
        for (i, (os, arch, variant)) in PLATFORMS.iter().enumerate() {
            let layers: Vec<Vec<u8>> = (0..LAYERS).map(|l| common::noise(mb * 1_000_000, 0x5eed + (i * LAYERS + l) as u64)).collect();
            let mut platform = json!({"os": os, "architecture": arch});
            if !variant.is_empty() {
                platform["variant"] = json!(variant);
            }
            let diff_ids: Vec<String> = layers.iter().map(|l| Digest::sha256(l).to_string()).collect();
            let mut config = json!({"rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}});
            config.as_object_mut().expect("object").extend(platform.as_object().expect("object").clone());
            let config = serde_json::to_vec(&config).expect("json");
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256(&config), "size": config.len()},
                "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": Digest::sha256(l), "size": l.len()})).collect::<Vec<_>>(),
            }))
            .expect("json");
            client.push_blob("bench/src", &config).await.expect("config");
            configs.push(Digest::sha256(&config).to_string());
            for l in &layers {
                client.push_blob("bench/src", l).await.expect("layer");
            }
            let d = client.put_manifest("bench/src", Digest::sha256(&manifest).as_str(), OCI_MANIFEST, &manifest).await.expect("manifest");
            entries.push(json!({"mediaType": OCI_MANIFEST, "digest": d, "size": manifest.len(), "platform": platform}));
        }
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})).expect("json");
        client.put_manifest("bench/src", "1", OCI_INDEX, &index).await.expect("index");
    });
    println!("seeded 5 platforms × {LAYERS} layers × {mb} MB in {:.1} s", t.elapsed().as_secs_f64());

    let home = tempfile::tempdir().expect("tempdir");
    // Each copy goes to a registry of its own, so none can mount what another copied.
    let archlens = |repo: &str| -> (Duration, PathBuf) {
        let (target, dir) = start_logged_registry();
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_archlens"))
            .args(["compose", "--target", &format!("{target}/{repo}:1"), "--from", &format!("{source}/bench/src:1"), "--no-cache"])
            .env("ARCHLENS_DATA_DIR", home.path())
            .env("HOME", home.path())
            .output()
            .expect("archlens");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (t.elapsed(), dir.join("registry.log"))
    };
    let skopeo = |repo: &str| -> (Duration, PathBuf) {
        let (target, dir) = start_logged_registry();
        let t = Instant::now();
        let out = Command::new("skopeo")
            .args(["copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(format!("docker://{source}/bench/src:1"))
            .arg(format!("docker://{target}/{repo}:1"))
            .env("HOME", home.path())
            .output()
            .expect("skopeo");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (t.elapsed(), dir.join("registry.log"))
    };
    let config_gets = || {
        let text = std::fs::read_to_string(&source_log).unwrap_or_default();
        text.lines().filter(|l| l.contains("\"GET /v2/bench/src/blobs/") && configs.iter().any(|c| l.contains(c.as_str()))).count()
    };
    let (s1, _) = skopeo("bench/skopeo");
    let before = config_gets();
    let (a1, _) = archlens("bench/archlens");
    let archlens_config_gets = config_gets() - before;
    let (s2, s_log) = skopeo("bench/skopeo");
    let (a2, a_log) = archlens("bench/archlens");
    let (ours, theirs) = (a1.min(a2), s1.min(s2));
    let blobs = PLATFORMS.len() * (LAYERS + 1);
    let (a_all, a_blob) = requests(&a_log, "bench/archlens");
    let (s_all, s_blob) = requests(&s_log, "bench/skopeo");
    println!();
    println!("copy of 5 platforms × {LAYERS} layers × {mb} MB between two local registries ({blobs} blobs)");
    println!("  archlens compose --from   {:>6.2} s  ({:.2} s, {:.2} s)", ours.as_secs_f64(), a1.as_secs_f64(), a2.as_secs_f64());
    println!("  skopeo copy --all         {:>6.2} s  ({:.2} s, {:.2} s)", theirs.as_secs_f64(), s1.as_secs_f64(), s2.as_secs_f64());
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!("  ratio archlens/skopeo     {ratio:>6.2}×  (goal ≤ 0.80×) {}", if ratio <= 0.8 { "met" } else { "MISSED" });
    println!(
        "  configs read from the source by archlens: {archlens_config_gets} GETs for {} configs (goal: each once) {}",
        configs.len(),
        if archlens_config_gets <= configs.len() { "met" } else { "MISSED" }
    );
    println!(
        "  requests at the target    archlens {a_all} ({a_blob} for blobs, {:.1} per blob; goal ≤ 4), skopeo {s_all} ({s_blob} for blobs)",
        a_blob as f64 / blobs as f64
    );
}
