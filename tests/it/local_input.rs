//! OCI layout folders are input as untrusted as a registry: only regular files inside the folder
//! are read, each capped and verified, and writes into a folder never follow a planted link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use archlens::registry::layout::{LayoutRef, write_layout};
use archlens::testkit::{Compression, Entry, image_with_layers, p};

/// A layout folder holding one arm64 image tagged `1`; returns the manifest's and layer's digest.
fn layout(dir: &Path) -> (archlens::model::Digest, archlens::model::Digest) {
    let img = image_with_layers(
        &p("linux/arm64"),
        &[(vec![Entry::file("app", &common::diag::elf_for("arm64"))], Compression::Gzip)],
        serde_json::json!({ "Entrypoint": ["/app"] }),
    );
    let blobs: Vec<&[u8]> = img.blobs.iter().map(Vec::as_slice).chain([img.manifest.as_slice()]).collect();
    write_layout(dir, blobs, &[LayoutRef { tag: "1", media_type: img.media_type, digest: &img.digest, size: img.manifest.len() as u64 }]).unwrap();
    (img.digest.clone(), archlens::model::Digest::sha256(img.blobs.last().unwrap()))
}

fn blob(dir: &Path, d: &archlens::model::Digest) -> std::path::PathBuf {
    dir.join("blobs").join(d.algorithm()).join(d.encoded())
}

fn mkfifo(path: &Path) {
    let st = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success());
}

/// Run archlens with a deadline: a hang is a failure, not a stuck test.
fn run(args: &[&str]) -> (Option<i32>, String, Duration) {
    let cache = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_archlens"))
        .args(args)
        .env("ARCHLENS_CACHE_DIR", cache.path())
        .env("HOME", cache.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("archlens {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)), t.elapsed())
}

#[test]
fn links_to_devices_fifos_and_out_of_the_folder_are_refused_at_once() {
    // The manifest blob is a link to /dev/zero: refused, not read into memory.
    let dir = tempfile::tempdir().unwrap();
    let (manifest, layer) = layout(dir.path());
    std::fs::remove_file(blob(dir.path(), &manifest)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", blob(dir.path(), &manifest)).unwrap();
    let (code, said, took) = run(&["inspect", &format!("oci:{}:1", dir.path().display())]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("leads out of") || said.contains("not a regular file"), "{said}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A FIFO as index.json: refused, not waited on.
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    std::fs::remove_file(dir.path().join("index.json")).unwrap();
    mkfifo(&dir.path().join("index.json"));
    let (code, said, _) = run(&["tags", &format!("oci:{}", dir.path().display())]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("FIFO"), "{said}");
    // A layer that is a FIFO, under deep diagnosis.
    let dir = tempfile::tempdir().unwrap();
    let (_, layer2) = layout(dir.path());
    assert_eq!(layer, layer2, "the same image");
    std::fs::remove_file(blob(dir.path(), &layer)).unwrap();
    mkfifo(&blob(dir.path(), &layer));
    let (code, said, _) = run(&["diagnose", &format!("oci:{}:1", dir.path().display()), "--host", "arm64-server"]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("FIFO"), "{said}");
    // A blob linked to a file outside the folder.
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let (manifest, _) = layout(dir.path());
    let moved = outside.path().join("manifest");
    std::fs::rename(blob(dir.path(), &manifest), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, blob(dir.path(), &manifest)).unwrap();
    let (code, said, _) = run(&["inspect", &format!("oci:{}:1", dir.path().display())]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("leads out of"), "{said}");
    // A link that stays inside the folder is followed.
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = layout(dir.path());
    std::fs::rename(blob(dir.path(), &manifest), dir.path().join("kept")).unwrap();
    std::os::unix::fs::symlink("../../kept", blob(dir.path(), &manifest)).unwrap();
    let (code, said, _) = run(&["inspect", &format!("oci:{}:1", dir.path().display())]);
    assert_eq!(code, Some(0), "{said}");
}

#[test]
fn an_oversized_index_json_is_refused_by_the_manifest_cap() {
    let dir = tempfile::tempdir().unwrap();
    layout(dir.path());
    let big = format!("{{\"schemaVersion\":2,\"manifests\":[],\"x\":\"{}\"}}", "a".repeat(9 << 20));
    std::fs::write(dir.path().join("index.json"), big).unwrap();
    let (code, said, _) = run(&["tags", &format!("oci:{}", dir.path().display())]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("larger than"), "{said}");
}

#[test]
fn a_compose_target_folder_with_planted_links_is_not_written_through() {
    let src = tempfile::tempdir().unwrap();
    let (manifest, layer) = layout(src.path());
    let target = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    // The target is a layout already; the blob paths the push will write are planted links:
    // one to a file outside, one to /dev/zero (which a check for an existing blob would hash
    // forever).
    layout(target.path());
    for (d, to) in [(&layer, victim.as_path()), (&manifest, Path::new("/dev/zero"))] {
        let b = blob(target.path(), d);
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink(to, &b).unwrap();
    }
    // Links at every name a temporary file could have had before (the old predictable names).
    let blobs = target.path().join("blobs/sha256");
    for n in 0..4 {
        std::os::unix::fs::symlink(&victim, blobs.join(format!(".{}.archlens-{n}-0.tmp", layer.encoded()))).unwrap();
    }
    let (code, said, took) =
        run(&["compose", "--from", &format!("oci:{}:1", src.path().display()), "--target", &format!("oci:{}:2", target.path().display()), "--yes"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me", "nothing was written through a link");
    // The blobs are real files now, with the right content.
    for d in [&layer, &manifest] {
        let b = blob(target.path(), d);
        assert!(std::fs::symlink_metadata(&b).unwrap().file_type().is_file(), "{}", b.display());
        assert!(d.verify(&std::fs::read(&b).unwrap()).is_ok());
    }
    let (code, said, _) = run(&["inspect", &format!("oci:{}:2", target.path().display())]);
    assert_eq!(code, Some(0), "{said}");
}

#[test]
fn outside_text_reaches_the_terminal_escaped_and_a_closed_pipe_ends_quietly() {
    // Tag names read from a layout folder with ESC/OSC/BEL and a bidirectional override.
    let dir = tempfile::tempdir().unwrap();
    let (manifest, _) = layout(dir.path());
    let size = std::fs::metadata(blob(dir.path(), &manifest)).unwrap().len();
    let mut entries = Vec::new();
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2Jx\u{202e}gpj";
    for i in 0..3000 {
        let name = if i == 0 { evil.to_string() } else { format!("v{i}") };
        entries.push(serde_json::json!({ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": size, "annotations": { "org.opencontainers.image.ref.name": name } }));
    }
    std::fs::write(dir.path().join("index.json"), serde_json::to_vec(&serde_json::json!({ "schemaVersion": 2, "manifests": entries })).unwrap()).unwrap();
    let reference = format!("oci:{}", dir.path().display());
    let (code, said, _) = run(&["tags", &reference]);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains('\u{1b}') && !said.contains('\u{7}') && !said.contains('\u{202e}'), "raw control characters reached the terminal");
    assert!(said.contains("\\u{1b}]0;owned\\u{7}"), "{}", &said[..200.min(said.len())]);
    // JSON stays exact.
    let cache = tempfile::tempdir().unwrap();
    let out = common::archlens(&["tags", &reference, "--format", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.to_string().contains("\\u001b]0;owned") && v.to_string().contains('\u{202e}'), "{}", &v.to_string()[..200]);
    // `| head -1` closes the pipe under a long output: archlens ends quietly, exit 0.
    for verb in ["tags", "matrix"] {
        let cmd = format!("set -o pipefail; {} {verb} {reference} | head -1 >/dev/null", env!("CARGO_BIN_EXE_archlens"));
        let out = std::process::Command::new("bash").args(["-c", &cmd]).env("ARCHLENS_CACHE_DIR", cache.path()).env("HOME", cache.path()).output().unwrap();
        assert!(out.status.success(), "{verb}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
