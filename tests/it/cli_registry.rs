//! Every CLI verb against a real local registry (Debian's docker-registry), compared with
//! what was seeded and with `skopeo inspect --raw`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use common::seed::{Seeded1, WINDOWS_KEY};
use common::{archlens, registry_addr, seeded, skopeo_raw, stdout_ok};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout_ok(out)).expect("valid JSON on stdout")
}

#[test]
fn matrix_json_matches_the_seed() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let v = json(&archlens(&["matrix", &s.repository, "--format", "json"], cache.path()));
    assert_eq!(v["repository"], s.repository);
    let platforms: Vec<&str> = v["platforms"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", WINDOWS_KEY]);
    let rows = v["tags"].as_array().unwrap();
    let tags: Vec<&str> = rows.iter().map(|r| r["tag"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = s.tags.keys().map(String::as_str).collect();
    expected.sort();
    assert_eq!(tags, expected);
    for row in rows {
        let tag = row["tag"].as_str().unwrap();
        let seeded = &s.tags[tag];
        assert_eq!(row["digest"], seeded.digest().to_string(), "{tag}");
        assert_eq!(row["error"], Value::Null, "{tag}");
        let cells = row["cells"].as_object().unwrap();
        match seeded {
            Seeded1::Index(idx) => {
                assert_eq!(row["kind"], "index", "{tag}");
                assert_eq!(row["media_type"], idx.media_type, "{tag}");
                assert_eq!(row["attestations"], idx.attestations, "{tag}");
                let keys: Vec<&String> = cells.keys().collect();
                let want: Vec<&String> = idx.children.keys().collect();
                let mut keys_sorted = keys.clone();
                keys_sorted.sort();
                assert_eq!(keys_sorted, want, "{tag} columns");
                for (k, img) in &idx.children {
                    assert_eq!(cells[k]["digest"], img.digest.to_string(), "{tag} {k}");
                    assert_eq!(cells[k]["size"], img.manifest.len(), "{tag} {k}");
                    assert_eq!(cells[k]["compressed_size"], img.compressed_size, "{tag} {k}");
                }
            }
            Seeded1::Image(img) => {
                assert_eq!(row["kind"], "image", "{tag}");
                assert_eq!(cells.len(), 1, "{tag}");
                let k = img.platform.key();
                assert_eq!(cells[&k]["digest"], img.digest.to_string(), "{tag}");
                assert_eq!(cells[&k]["compressed_size"], img.compressed_size, "{tag}");
            }
        }
    }
    let latest = rows.iter().find(|r| r["tag"] == "latest").unwrap();
    assert_eq!(latest["shared_with"], serde_json::json!(["1.0"]));
    let one_one = rows.iter().find(|r| r["tag"] == "1.1").unwrap();
    assert_eq!(one_one["shared_with"], serde_json::json!([]));
}

#[test]
fn matrix_table_shows_gaps_and_groups_and_filters_tags() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let out = stdout_ok(&archlens(&["matrix", &s.repository, "--tags", "1.*"], cache.path()));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TAG"), "{out}");
    assert!(lines[0].contains("linux/arm/v6"), "{out}");
    assert!(!out.contains("single-amd64"), "glob keeps only 1.*: {out}");
    let win_row = lines.iter().find(|l| l.starts_with("1.2-windows")).unwrap();
    assert!(win_row.contains(" - "), "gaps are shown as '-': {win_row}");
    assert!(!out.contains("latest"), "latest does not match 1.*");
    let all = stdout_ok(&archlens(&["matrix", &s.repository], cache.path()));
    assert!(all.contains("2 tags point at"), "{all}");
    assert!(all.lines().any(|l| l.starts_with("single-amd64") && l.contains("single")), "{all}");
}

#[test]
fn inspect_raw_is_byte_identical_to_skopeo_and_to_the_seed() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    for (tag, seeded) in &s.tags {
        let reference = format!("{}:{tag}", s.repository);
        let ours = archlens(&["inspect", "--raw", &reference], cache.path());
        assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
        assert_eq!(ours.stdout, seeded.bytes(), "{tag}: archlens vs seed");
        assert_eq!(ours.stdout, skopeo_raw(&reference), "{tag}: archlens vs skopeo");
        if let Seeded1::Index(idx) = seeded {
            for (k, img) in &idx.children {
                let by_digest = format!("{}@{}", s.repository, img.digest);
                let out = archlens(&["inspect", "--raw", &by_digest], cache.path());
                assert_eq!(out.stdout, img.manifest, "{tag} {k} by digest");
                assert_eq!(out.stdout, skopeo_raw(&by_digest), "{tag} {k} skopeo");
            }
        }
    }
}

#[test]
fn inspect_json_lists_entries_and_attestation_links() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let v = json(&archlens(&["inspect", &format!("{}:1.0", s.repository), "--format", "json"], cache.path()));
    let Seeded1::Index(idx) = &s.tags["1.0"] else { panic!("1.0 is an index") };
    assert_eq!(v["digest"], idx.digest.to_string());
    assert_eq!(v["kind"], "oci-index");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    let amd = &idx.children["linux/amd64"];
    let att = entries.iter().find(|e| e["attestation"] == true).expect("an attestation entry");
    assert_eq!(att["attests"], amd.digest.to_string());
    for e in entries.iter().filter(|e| e["attestation"] == false) {
        let k = e["platform"].as_str().unwrap();
        assert_eq!(e["digest"], idx.children[k].digest.to_string());
        assert_eq!(e["compressed_size"], idx.children[k].compressed_size);
    }
    let table = stdout_ok(&archlens(&["inspect", &format!("{}:1.0", s.repository)], cache.path()));
    assert!(table.contains("attestation → "), "{table}");
    assert!(table.contains("linux/arm/v7"), "{table}");
}

#[test]
fn inspect_single_arch_reports_platform_from_config() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let v = json(&archlens(&["inspect", &format!("{}:single-arm64", s.repository), "--format", "json"], cache.path()));
    assert_eq!(v["kind"], "oci-image");
    assert_eq!(v["config"]["platform"], "linux/arm64");
    assert_eq!(v["layers"].as_array().unwrap().len(), 1);
    let Seeded1::Image(img) = &s.tags["single-arm64"] else { panic!() };
    assert_eq!(v["compressed_size"], img.compressed_size);
    let table = stdout_ok(&archlens(&["inspect", &format!("{}:single-amd64", s.repository)], cache.path()));
    assert!(table.contains("Platform:    linux/amd64"), "{table}");
    assert!(table.contains("LAYER"), "{table}");
}

#[test]
fn tags_and_repos_list_what_was_seeded() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let v = json(&archlens(&["tags", &s.repository, "--format", "json"], cache.path()));
    let tags: Vec<&str> = v["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let mut want: Vec<&str> = s.tags.keys().map(String::as_str).collect();
    want.sort();
    assert_eq!(tags, want);
    let filtered = stdout_ok(&archlens(&["tags", &s.repository, "--filter", "single-*"], cache.path()));
    assert_eq!(filtered.lines().collect::<Vec<_>>(), ["single-amd64", "single-arm64"]);
    let v = json(&archlens(&["repos", registry_addr(), "--format", "json"], cache.path()));
    let repos = v["repositories"].as_array().unwrap();
    assert!(repos.iter().any(|r| r == "seed/app"), "{v}");
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let missing = archlens(&["inspect", &format!("{}:no-such-tag", s.repository)], cache.path());
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("not found") && err.contains("no-such-tag"), "{err}");

    let malformed = archlens(&["inspect", "127.0.0.1:5000/Team/App"], cache.path());
    assert!(!malformed.status.success());
    let err = String::from_utf8_lossy(&malformed.stderr);
    assert!(err.contains("lowercase"), "{err}");

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = archlens(&["tags", &format!("127.0.0.1:{port}/x"), "--retries", "0"], cache.path());
    assert!(!down.status.success());
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains("cannot connect"), "{err}");
}

#[test]
fn matrix_lists_the_tags_that_lack_a_platform() {
    let s = seeded();
    let cache = tempfile::tempdir().unwrap();
    let v = json(&archlens(&["matrix", &s.repository, "--missing", "linux/aarch64", "--format", "json"], cache.path()));
    let tags: Vec<&str> = v["tags"].as_array().unwrap().iter().map(|r| r["tag"].as_str().unwrap()).collect();
    assert_eq!(tags, ["0.9-arm", "1.2-windows", "single-amd64"], "aarch64 is normalised to linux/arm64");
    let bad = archlens(&["matrix", &s.repository, "--missing", "linux/&arm"], cache.path());
    assert_eq!(bad.status.code(), Some(2));
}
