//! The demo layout in assets/ is what the project's own generator writes, and reads back
//! as a matrix through the layout source.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;

use archlens::model::reference::Repository;
use archlens::registry::{Fetcher, OciDir as Layout};

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_shipped_demo_layout_is_regenerated_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let out = common::archlens(&["make-demo", tmp.path().to_str().unwrap()], tmp.path());
    common::stdout_ok(&out);
    let shipped = files(&common::project_root().join("assets/demo-layout"));
    let fresh = files(tmp.path());
    let total: usize = shipped.iter().map(|(_, b)| b.len()).sum();
    assert!(total < 5_000_000, "demo layout is {total} bytes");
    assert_eq!(shipped.len(), fresh.len());
    for ((a, x), (b, y)) in shipped.iter().zip(&fresh) {
        assert_eq!(a, b);
        assert!(x == y, "{a} differs from a fresh `archlens make-demo`");
    }
}

#[test]
fn the_demo_layout_reads_as_a_matrix() {
    let layout = Layout::open(common::project_root().join("assets/demo-layout")).unwrap();
    let tags = layout.tags().unwrap();
    assert_eq!(tags, ["1.0", "latest", "1.1", "1.2-windows", "0.9-arm", "single-amd64", "single-arm64"]);
    let f = Fetcher::with_store(std::sync::Arc::new(layout), None);
    let repo = Repository::parse("demo/layout").unwrap();
    let m = tokio::runtime::Runtime::new().unwrap().block_on(f.matrix(&repo, tags, |_, _, _| {}));
    assert_eq!(m.platform_keys(), ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386", common::seed::WINDOWS_KEY]);
    assert!(m.rows.iter().all(|r| r.error.is_none()));
    assert_eq!(m.rows[0].attestations, 1);
    assert_eq!(m.shared_with(&m.rows[0]), ["latest"]);
}

#[test]
fn the_cli_reads_layout_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = common::project_root().join("assets/demo-layout");
    let out = common::archlens(&["matrix", &format!("oci:{}", dir.display()), "--format", "json"], tmp.path());
    let v: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out)).unwrap();
    assert_eq!(v["platforms"].as_array().unwrap().len(), 6);
    assert_eq!(v["tags"].as_array().unwrap().len(), 7);
    let raw = common::archlens(&["inspect", "--raw", &format!("oci:{}:1.1", dir.display())], tmp.path());
    let set = archlens::testkit::standard_set();
    let (_, built) = set.iter().find(|(t, _)| t == "1.1").unwrap();
    assert_eq!(raw.stdout, built.bytes());
    let bad = common::archlens(&["inspect", &format!("oci:{}", dir.display())], tmp.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("name a tag"));
}

#[test]
fn version_names_the_git_revision_it_was_built_from() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archlens")).arg("--version").output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(shown.starts_with(&format!("archlens {} (", env!("CARGO_PKG_VERSION"))), "{shown}");
    let rev = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(common::project_root()).output();
    match rev {
        Ok(r) if r.status.success() => {
            let rev = String::from_utf8_lossy(&r.stdout).trim().to_string();
            assert!(shown.contains(&rev), "{shown} names {rev}");
        }
        // Built outside a checkout: says so rather than invent one.
        _ => assert!(shown.contains("unknown"), "{shown}"),
    }
}
