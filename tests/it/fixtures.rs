//! Every real manifest and every OCI layout in ../shared/fixtures goes through the manifest
//! view. image-spec's schema cases marked `valid` parse, those marked `INVALID` are rejected,
//! and nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;

use archlens::model::digest::Digest;
use archlens::model::manifest::{Descriptor, ImageConfig, ManifestKind, ManifestView, parse_layout_marker};

/// Parse a file with the parser its kind calls for; `Err` carries the message.
fn parse_any(name: &str, bytes: &[u8]) -> Result<(), String> {
    let r = if name.contains("-config-") || name.ends_with("-config.json") {
        ImageConfig::parse(bytes).map(|_| ())
    } else if name.contains("schematest-descriptor-") {
        Descriptor::parse(bytes).map(|_| ())
    } else if name.contains("schematest-layout-") {
        parse_layout_marker(bytes).map(|_| ())
    } else {
        ManifestView::parse(bytes).map(|_| ())
    };
    r.map_err(|e| e.to_string())
}

#[test]
fn image_spec_schema_cases_parse_or_fail_as_marked() {
    let dir = common::fixtures().join("manifests");
    let mut valid = 0;
    let mut invalid = 0;
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("../shared/fixtures/manifests") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("imagespec-schematest-") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let result = parse_any(&name, &bytes);
        if name.contains("-valid") {
            valid += 1;
            if let Err(e) = result {
                wrong.push(format!("{name}: should parse, got {e}"));
            }
        } else if name.contains("-INVALID") {
            invalid += 1;
            if result.is_ok() {
                wrong.push(format!("{name}: should be rejected"));
            }
        }
    }
    assert!(valid >= 20 && invalid >= 30, "found {valid} valid and {invalid} INVALID cases");
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn every_fixture_manifest_goes_through_without_panicking() {
    let dir = common::fixtures().join("manifests");
    let mut n = 0;
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        n += 1;
        let bytes = std::fs::read(&path).unwrap();
        // Each parser must return, never panic, on every file.
        let _ = ImageConfig::parse(&bytes);
        let _ = Descriptor::parse(&bytes);
        if let Ok(v) = ManifestView::parse(&bytes) {
            *kinds.entry(format!("{:?}", v.kind)).or_default() += 1;
            let _ = v.entries();
        }
    }
    assert!(n >= 150, "only {n} fixture files");
    for k in ["OciIndex", "DockerList", "OciImage", "DockerImage", "Artifact", "DockerSchema1"] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no fixture parsed as {k}: {kinds:?}");
    }
}

#[test]
fn specific_real_manifests_read_as_expected() {
    let dir = common::fixtures().join("manifests");
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();

    let v = ManifestView::parse(&read("docker-library-meta-scripts-deploy-busybox-1.36.1-oci-index-10-platforms.json")).unwrap();
    assert_eq!(v.kind, ManifestKind::OciIndex);
    let keys: Vec<String> = v.manifests.iter().filter_map(|d| d.platform.as_ref()).filter(|p| !p.is_unknown()).map(|p| p.key()).collect();
    for k in ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5", "linux/386", "linux/riscv64"] {
        assert!(keys.iter().any(|x| x == k), "busybox has {k}: {keys:?}");
    }

    let v = ManifestView::parse(&read("buildx-docs-imagetools-inspect-moby-buildkit-master-oci-index-attestations.json")).unwrap();
    let e = v.entries();
    assert_eq!(e.iter().filter(|e| e.is_attestation).count(), 6);
    for a in e.iter().filter(|e| e.is_attestation) {
        let target = a.attests.as_ref().expect("attestation names its subject");
        assert!(e.iter().any(|x| !x.is_attestation && &x.descriptor.digest == target));
    }

    let v = ManifestView::parse(&read("docker-library-meta-scripts-deploy-docker-24-windowsservercore-v2list-os.version.json")).unwrap();
    assert_eq!(v.kind, ManifestKind::DockerList);
    assert!(v.manifests.iter().all(|d| d.platform.as_ref().is_some_and(|p| p.os == "windows" && !p.os_version.is_empty())));

    for n in ["regclient-manifest_test-rawOCIImageDuck.json", "containers-image-imanifest-ociv1nomime.manifest.json"] {
        let v = ManifestView::parse(&read(n)).unwrap();
        assert_eq!(v.kind, ManifestKind::OciImage, "{n}");
        assert_eq!(v.declared_media_type, None, "{n}");
    }
    assert_eq!(ManifestView::parse(&read("containers-image-imanifest-v2s2nomime.manifest.json")).unwrap().kind, ManifestKind::DockerImage);
    assert_eq!(ManifestView::parse(&read("regclient-manifest_test-rawOCIIndexDuck.json")).unwrap().kind, ManifestKind::OciIndex);
    assert!(ManifestView::parse(&read("regclient-manifest_test-rawAmbiguousOCI.json")).is_err());
    assert!(ManifestView::parse(&read("containers-image-imanifest-non-json.manifest.json")).is_err());
    assert!(ManifestView::parse(&read("cosign-specs-ATTESTATION_SPEC-dsse-manifest-TRAILING-COMMA-INVALID-JSON.json")).is_err());

    // Byte-exact fixtures: the digest of the bytes is the published one.
    let ubuntu = read("ggcr-tarball-README-ubuntu-v2s2-BYTE-EXACT-sha256-0925d086.json");
    assert!(Digest::sha256(&ubuntu).encoded().starts_with("0925d086"));
}

fn walk_layout(dir: &Path) -> (usize, usize) {
    let index = std::fs::read(dir.join("index.json")).unwrap();
    let view = ManifestView::parse(&index).unwrap_or_else(|e| panic!("{}: index.json: {e}", dir.display()));
    assert!(view.kind.is_index(), "{}", dir.display());
    let mut blobs = 0;
    let mut manifests = 0;
    let blob_dir = dir.join("blobs/sha256");
    if let Ok(rd) = std::fs::read_dir(&blob_dir) {
        for entry in rd {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let d = Digest::parse(&format!("sha256:{name}")).unwrap();
            assert!(d.verify(&bytes).is_ok(), "{} does not hash to its name", path.display());
            blobs += 1;
            if ManifestView::parse(&bytes).is_ok_and(|v| v.kind != ManifestKind::Unknown) {
                manifests += 1;
            }
        }
    }
    (blobs, manifests)
}

#[test]
fn every_layout_reads_through_the_manifest_view() {
    let root = common::fixtures().join("layouts");
    let mut layouts = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("index.json").exists() {
            continue;
        }
        layouts += 1;
        if let Ok(marker) = std::fs::read(dir.join("oci-layout")) {
            parse_layout_marker(&marker).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        let (blobs, manifests) = walk_layout(&dir);
        if !dir.to_string_lossy().contains("NONSTANDARD") {
            assert!(blobs > 0 && manifests > 0, "{}: {blobs} blobs, {manifests} manifests", dir.display());
        }
    }
    assert_eq!(layouts, 14);
}
