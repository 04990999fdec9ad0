//! `archlens compose` and `archlens undo` against the real local registry, checked with
//! skopeo and the image-spec JSON schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::process::Command;
use std::time::Duration;

use archlens::model::Digest;
use archlens::testkit::{Compression, Entry, Flavour, image, image_with_layers, p};
use common::seed::push_image;
use serde_json::{Value, json};

use common::cli::{Env, ok};

/// Two per-arch images in two repositories of the registry.
/// A repository prefix of this run's own, so the suite passes again against the same registry.
fn run_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn per_arch(prefix: &str) -> (String, String, archlens::testkit::Image, archlens::testkit::Image) {
    let c = common::client();
    let amd = image(&p("linux/amd64"), Flavour::Oci, &format!("{prefix} amd64"));
    let arm = image(&p("linux/arm64"), Flavour::Oci, &format!("{prefix} arm64"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        push_image(&c, &format!("{prefix}/amd"), &amd).await.unwrap();
        c.put_manifest(&format!("{prefix}/amd"), "1.0", amd.media_type, &amd.manifest).await.unwrap();
        push_image(&c, &format!("{prefix}/arm"), &arm).await.unwrap();
        c.put_manifest(&format!("{prefix}/arm"), "1.0", arm.media_type, &arm.manifest).await.unwrap();
    });
    let reg = common::registry_addr();
    (format!("{reg}/{prefix}/amd:1.0"), format!("{reg}/{prefix}/arm:1.0"), amd, arm)
}

#[test]
fn compose_from_two_repositories_into_a_third() {
    let env = Env::new();
    let pre = run_prefix("cmp1");
    let (amd, arm, amd_img, arm_img) = per_arch(&pre);
    let target = format!("{}/{pre}/release:1.0", common::registry_addr());
    let dry = ok(&env.run(&[
        "compose",
        "--target",
        &target,
        "--from",
        &amd,
        "--from",
        &arm,
        "--annotation",
        "org.opencontainers.image.version=1.0",
        "--dry-run",
        "--format",
        "json",
    ]));
    let dry: Value = serde_json::from_str(&dry).unwrap();
    let preview = dry["bytes"].as_str().unwrap().as_bytes().to_vec();
    assert_eq!(dry["digest"], Digest::sha256(&preview).to_string());
    assert!(dry["commands"][0]["command"].as_str().unwrap().starts_with("docker buildx imagetools create"));
    // A dry run pushes nothing.
    let missing = Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{target}")]).output().unwrap();
    assert!(!missing.status.success());

    let pushed = ok(&env.run(&["compose", "--target", &target, "--from", &amd, "--from", &arm, "--annotation", "org.opencontainers.image.version=1.0"]));
    assert_eq!(pushed.trim(), dry["digest"].as_str().unwrap());
    assert_eq!(common::skopeo_raw(&target), preview, "the registry holds exactly the previewed bytes");

    // skopeo resolves the arm64 child for an arm64/v8 host.
    let out = Command::new("skopeo")
        .args(["--override-arch", "arm64", "--override-variant", "v8", "inspect", "--tls-verify=false"])
        .arg(format!("docker://{target}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Architecture"], "arm64");
    assert_eq!(v["Layers"][0], Digest::sha256(&arm_img.blobs[1]).to_string());

    // Every child is in the target repository now.
    let repo = format!("{}/{pre}/release", common::registry_addr());
    for img in [&amd_img, &arm_img] {
        assert_eq!(common::skopeo_raw(&format!("{repo}@{}", img.digest)), img.manifest);
    }

    // The pushed OCI index is valid by the image-spec JSON schema.
    common::cli::assert_index_schema_valid(&env, &preview);
}

#[test]
fn overwrite_needs_yes_and_undo_restores_the_previous_digest() {
    let env = Env::new();
    let pre = run_prefix("cmp2");
    let (amd, arm, _, _) = per_arch(&pre);
    let target = format!("{}/{pre}/release:2.0", common::registry_addr());
    let first = ok(&env.run(&["compose", "--target", &target, "--from", &amd])).trim().to_string();
    // A different index for the same tag is refused without --yes, and says what is there.
    let refused = env.run(&["compose", "--target", &target, "--from", &amd, "--from", &arm]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("refusing to overwrite") && err.contains(&first) && err.contains("+ linux/arm64"), "{err}");
    let tag_digest = || Digest::sha256(&common::skopeo_raw(&target)).to_string();
    assert_eq!(tag_digest(), first, "the tag did not move");
    let second = ok(&env.run(&["compose", "--target", &target, "--from", &amd, "--from", &arm, "--yes"])).trim().to_string();
    assert_ne!(first, second);
    assert_eq!(tag_digest(), second);
    let list = ok(&env.run(&["undo", "--list", "--format", "json"]));
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["previous"], first);
    assert_eq!(list[1]["digest"], second);
    ok(&env.run(&["undo"]));
    assert_eq!(tag_digest(), first, "undo re-points the tag");
    // The journal records the undo; undoing again finds the tag moved since the first push.
    let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
    assert_eq!(list[2]["action"], "undo");
}

#[test]
fn bad_drafts_are_refused_with_reasons() {
    let env = Env::new();
    let pre = run_prefix("cmp3");
    let (amd, _, _, _) = per_arch(&pre);
    let target = format!("{}/{pre}/release:1", common::registry_addr());
    let dup = env.run(&["compose", "--target", &target, "--from", &amd, "--from", &amd, "--dry-run"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("duplicate platform linux/amd64"));
    let relabel = format!("{amd}=linux/arm64");
    let lie = ok(&env.run(&["compose", "--target", &target, "--from", &amd, "--platform", &relabel, "--dry-run"]));
    assert!(lie.contains("\"architecture\": \"arm64\""), "{lie}");
    let gone = env.run(&["compose", "--target", &target, "--from", &format!("{}/{pre}/amd:nope", common::registry_addr())]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
}

#[test]
fn a_push_killed_halfway_leaves_the_tag_old_or_new() {
    let env = Env::new();
    // Children with a few MB of layers each, on another registry, so every push uploads.
    let far = common::second_registry_addr();
    let c2 = common::client_for(far);
    let c = common::client();
    let noise: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let mut froms = Vec::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (i, plat) in ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"].iter().enumerate() {
        let img = image_with_layers(
            &p(plat),
            &[(vec![Entry::file("data.bin", &noise), Entry::file("id", format!("{i}").as_bytes())], Compression::Gzip)],
            json!({ "Cmd": ["/bin/true"] }),
        );
        rt.block_on(async {
            push_image(&c2, "kill/src", &img).await.unwrap();
            c2.put_manifest("kill/src", &format!("p{i}"), img.media_type, &img.manifest).await.unwrap();
        });
        froms.push(format!("{far}/kill/src:p{i}"));
    }
    let reg = common::registry_addr();
    // Killed after the 1st, 2nd … 4th of the 5 children is copied (the process stops itself at
    // that point and says so in a marker file, so no timing is involved).
    let run = format!("{}-{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    for copied in 1..5usize {
        // A fresh target each time: an old index (one child), then the full push, killed.
        let repo = format!("kill/dst{copied}-{run}");
        let target = format!("{reg}/{repo}:1");
        let old = ok(&env.run(&["compose", "--target", &target, "--from", &froms[0]])).trim().to_string();
        let mut args: Vec<String> = vec!["compose".into(), "--target".into(), target.clone(), "--yes".into(), "--no-cache".into()];
        for f in &froms {
            args.push("--from".into());
            args.push(f.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let dry: Value = serde_json::from_str(&ok(&env.run(&[&args[..], &["--dry-run", "--format", "json"]].concat()))).unwrap();
        let new = dry["digest"].as_str().unwrap().to_string();
        let index: Value = serde_json::from_str(dry["bytes"].as_str().unwrap()).unwrap();
        let children: Vec<String> = index["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap().to_string()).collect();
        let marker = env.data.path().join(format!("copied-{copied}"));
        let mut child = env
            .cmd(&args)
            .env("ARCHLENS_FAULT_PAUSE", format!("child-{copied}-copied:{}", marker.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the push ended ({status}) before copying child {copied}");
            }
            assert!(std::time::Instant::now() < deadline, "child {copied} was never copied");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = Digest::sha256(&common::skopeo_raw(&target)).to_string();
        assert_eq!(now, old, "killed after {copied} of 5 children, the tag still holds the old index");
        let present = rt.block_on(async {
            let mut n = 0;
            for d in &children {
                if c.head_manifest(&repo, d).await.is_ok() {
                    n += 1;
                }
            }
            n
        });
        // Children are copied a few at a time: the one the push stopped after is there (and the
        // first, the old index's, was there before); others may or may not have landed.
        let stopped_after = rt.block_on(c.head_manifest(&repo, &children[copied - 1])).is_ok();
        assert!(stopped_after && present >= 1 && present <= children.len(), "child {copied} is there ({present} of the children are)");
        // Finishing the interrupted push lands the new index.
        let done = ok(&env.run(&args)).trim().to_string();
        assert!(done == new || done.contains("already"), "{done}");
        assert_eq!(Digest::sha256(&common::skopeo_raw(&target)).to_string(), new);
    }
}

#[test]
fn children_from_another_registry_are_uploaded() {
    let env = Env::new();
    let other = common::second_registry_addr();
    let c2 = common::client_for(other);
    let arm = image_with_layers(&p("linux/arm64"), &[(vec![Entry::file("app", &vec![7u8; 300_000])], Compression::Gzip)], json!({ "Cmd": ["/app"] }));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        push_image(&c2, "far/arm", &arm).await.unwrap();
        c2.put_manifest("far/arm", "1", arm.media_type, &arm.manifest).await.unwrap();
    });
    let pre = run_prefix("cmp4");
    let (amd, _, amd_img, _) = per_arch(&pre);
    let target = format!("{}/{pre}/release:1", common::registry_addr());
    let from_far = format!("{other}/far/arm:1");
    let out = ok(&env.run(&["compose", "--target", &target, "--from", &amd, "--from", &from_far, "--format", "json"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let uploaded = v["uploaded_bytes"].as_u64().unwrap();
    let arm_blobs: u64 = arm.blobs.iter().map(|b| b.len() as u64).sum();
    assert_eq!(uploaded, arm_blobs, "the other registry's blobs were uploaded, the same registry's mounted");
    assert_eq!(v["mounted_blobs"], amd_img.blobs.len());
    let repo = format!("{}/{pre}/release", common::registry_addr());
    assert_eq!(common::skopeo_raw(&format!("{repo}@{}", arm.digest)), arm.manifest);
    let index: Value = serde_json::from_slice(&common::skopeo_raw(&target)).unwrap();
    assert_eq!(index["manifests"][1]["digest"], arm.digest.to_string());
    // skopeo can copy the whole multi-arch image out of the target: every blob is there.
    let dir = tempfile::tempdir().unwrap();
    let copy = Command::new("skopeo")
        .args(["copy", "--all", "--src-tls-verify=false", &format!("docker://{target}"), &format!("oci:{}:x", dir.path().display())])
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
}
