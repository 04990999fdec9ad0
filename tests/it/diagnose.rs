//! `archlens diagnose` against images on the real local registry, with real and synthetic
//! executables in real layers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use serde_json::Value;

fn diagnose(tag: &str, host: &str, deep: bool) -> (i32, Value) {
    let repo = common::diag::seeded_diag();
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("{repo}:{tag}");
    let mut args = vec!["diagnose", reference.as_str(), "--host", host, "--format", "json"];
    if !deep {
        args.push("--shallow");
    }
    let out = common::archlens(&args, cache.path());
    let code = out.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "exit {code}: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (code, v)
}

fn kinds(v: &Value) -> Vec<String> {
    v["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap().to_string()).collect()
}

#[test]
fn an_arm64_entry_holding_an_x86_64_binary_is_caught() {
    let (code, v) = diagnose("binary-mismatch", "arm64-server", true);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "binary-mismatch");
    assert_eq!(v["host"], "linux/arm64");
    assert_eq!(v["selected"]["platform"], "linux/arm64");
    assert_eq!(v["selected"]["match"], "exact");
    assert_eq!(v["binary"]["path"], "/usr/local/bin/app");
    assert_eq!(v["binary"]["format"], "elf");
    assert_eq!(v["binary"]["architecture"], "amd64");
    assert!(v["bytes_read"].as_u64().unwrap() > 0);
    assert!(kinds(&v).contains(&"binary-mismatch".to_string()));
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "binary-mismatch").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains("e_machine 62"), "{f}");
    // Shallow, the label looks fine, and the verdict says the binaries were not read.
    let (code, v) = diagnose("binary-mismatch", "arm64-server", false);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")));
    assert_eq!(v["binary"], Value::Null);
    assert!(kinds(&v).contains(&"not-read".to_string()), "{v}");
    // The amd64 entry of the same index is healthy for an x86-64 host.
    let (code, v) = diagnose("binary-mismatch", "x86-64", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
}

#[test]
fn a_config_that_disagrees_with_its_index_entry_is_caught() {
    let (code, v) = diagnose("config-mismatch", "arm64-server", false);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "config-mismatch");
    let f = &v["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("config says linux/amd64"), "{f}");
}

#[test]
fn amd64_only_on_apple_silicon_and_on_an_arm64_server() {
    let (code, v) = diagnose("amd64-only", "apple-silicon", false);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("emulation")));
    assert_eq!(v["selected"]["match"], "emulation");
    assert!(v["remedy"][0].as_str().unwrap().contains("--platform linux/amd64"), "{v}");
    let (code, v) = diagnose("amd64-only", "arm64-server", false);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("no-match")));
    assert_eq!(v["selected"], Value::Null);
    assert!(v["findings"][0]["message"].as_str().unwrap().contains("single-platform image for linux/amd64"), "{v}");
    let (code, v) = diagnose("amd64-only", "x86-64", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["binary"]["architecture"], "amd64");
}

#[test]
fn an_arm64_host_falls_back_to_arm_v7() {
    let (code, v) = diagnose("amd64-armv7", "arm64-server", false);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("fallback")));
    assert_eq!(v["selected"]["platform"], "linux/arm/v7");
    assert_eq!(v["selected"]["match"], "fallback");
    // What really happens depends on the CPU; the finding says so, and on what basis.
    let f = &v["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("Graviton3"), "{f}");
    assert!(f["evidence"].as_str().unwrap().contains("basis: 32-bit ARM support is optional"), "{f}");
    let (_, v) = diagnose("amd64-armv7", "apple-silicon", false);
    assert_eq!(v["verdict"], "fallback");
    assert!(v["findings"][0]["message"].as_str().unwrap().contains("no 32-bit ARM mode"), "{v}");
    let (_, v) = diagnose("amd64-armv7", "rpi32", true);
    assert_eq!(v["verdict"], "ok", "{v}");
    assert_eq!(v["binary"]["architecture"], "arm");
}

#[test]
fn a_windows_only_index_does_not_run_on_linux() {
    let (code, v) = diagnose("windows", "x86-64", false);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("no-match")));
    assert!(v["findings"][0]["evidence"].as_str().unwrap().contains("windows/amd64"), "{v}");
}

#[test]
fn symlinks_scripts_path_and_whiteouts_are_followed() {
    let (code, v) = diagnose("symlink", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["binary"]["path"], "/opt/app/bin/app");
    assert_eq!(v["binary"]["architecture"], "arm64");

    let (code, v) = diagnose("script", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["binary"]["path"], "/usr/local/bin/app", "the script's `exec /usr/local/bin/app` is followed");
    assert_eq!(v["binary"]["via"], serde_json::json!(["/entrypoint.sh", "/usr/bin/sh"]), "/bin/sh through the merged-/usr link");

    let (code, v) = diagnose("healthy", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "zstd layer: {v}");
    assert_eq!(v["binary"]["architecture"], "arm64");

    // Deleted by a whiteout: the runtime finds no `app` on PATH, and the start fails.
    let (code, v) = diagnose("whiteout", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("broken-entrypoint")), "{v}");
    assert!(v["findings"][0]["message"].as_str().unwrap().contains("PATH"), "{v}");
}

#[test]
fn table_output_errors_and_exit_codes() {
    let repo = common::diag::seeded_diag();
    let cache = tempfile::tempdir().unwrap();
    let out = common::archlens(&["diagnose", &format!("{repo}:binary-mismatch"), "--host", "linux/arm64", "--deep"], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verdict:    binary-mismatch"), "{text}");
    assert!(text.contains("Remedy:"), "{text}");
    let out = common::archlens(&["diagnose", &format!("{repo}:nope"), "--host", "x86-64"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = common::archlens(&["diagnose", &format!("{repo}:healthy"), "--host", "toaster"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rpi32"), "the presets are listed");
    let help = common::archlens(&["diagnose", "--help"], cache.path());
    let help = String::from_utf8_lossy(&help.stdout);
    for p in archlens::model::platform::HOST_PRESETS {
        assert!(help.contains(p.id), "--help lists {}", p.id);
    }
}

#[test]
fn shell_form_commands_are_followed_or_said_to_be_unchecked() {
    let (code, v) = diagnose("shell-form", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("binary-mismatch")), "{v}");
    assert_eq!(v["binary"]["path"], "/usr/local/bin/myapp");
    assert!(v["binary"]["via"][0].as_str().unwrap().ends_with("sh -c"), "{v}");
    let (code, v) = diagnose("shell-builtin", "arm64-server", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("unknown")), "never a bare ok: {v}");
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "unknown").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains("expanded") && f["evidence"].as_str().unwrap().contains("only /usr/bin/sh (arm64) checked"), "{f}");
}

#[test]
fn scripts_the_kernel_refuses_are_named_with_their_fix() {
    for (tag, says, fix) in [
        ("script-crlf", "carriage return", "dos2unix"),
        ("script-bom", "byte-order mark", "without the byte-order mark"),
        ("script-no-shebang", "without a #! line", "#!/bin/sh"),
    ] {
        let (code, v) = diagnose(tag, "arm64-server", true);
        assert_eq!((code, v["verdict"].as_str()), (1, Some("broken-entrypoint")), "{tag}: {v}");
        let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "broken-entrypoint").unwrap();
        assert!(f["message"].as_str().unwrap().contains(says), "{tag}: {f}");
        assert!(v["remedy"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains(fix)), "{tag}: {v}");
    }
}

#[test]
fn a_config_without_a_variant_is_no_contradiction_and_attestation_only_indexes_are_named() {
    let (code, v) = diagnose("armv6-no-variant", "linux/arm/v6", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
    assert!(!kinds(&v).contains(&"config-mismatch".to_string()));
    let (code, v) = diagnose("attestation-only", "x86-64", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("no-match")));
    let f = &v["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("holds no runnable image"), "{f}");
    assert!(!v["remedy"][0].as_str().unwrap().contains("buildx"), "not told to rebuild: {v}");
}

#[test]
fn apple_silicon_falling_back_to_32_bit_arm_says_what_each_runtime_does() {
    let (_, v) = diagnose("amd64-armv7", "apple-silicon", false);
    assert_eq!(v["selected"]["platform"], "linux/arm/v7", "{v}");
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "fallback").expect("a fallback finding");
    let m = f["message"].as_str().unwrap();
    assert!(m.contains("Docker Desktop") && m.contains("emulation") && m.contains("without binfmt"), "{f}");
    assert!(!m.contains("will fail with exec format error"), "{f}");
    assert!(f["evidence"].as_str().unwrap().contains("basis:"), "{f}");
}

#[test]
fn each_layer_is_read_once_however_many_paths_are_looked_up() {
    use archlens::testkit::{Compression, Entry, image_with_layers, p};
    // The program is found through PATH (its fourth directory), at the end of a 3 MB layer.
    let filler: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let img = image_with_layers(
        &p("linux/arm64"),
        &[
            (common::diag::base("arm64"), Compression::Gzip),
            (vec![Entry::file("opt/filler.bin", &filler), Entry::file("usr/bin/app", &common::diag::elf_for("arm64"))], Compression::Gzip),
        ],
        serde_json::json!({ "Cmd": ["app"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] }),
    );
    let c = common::client();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, "diag/once", &img).await.unwrap();
        c.put_manifest("diag/once", "late", img.media_type, &img.manifest).await.unwrap();
    });
    let cache = tempfile::tempdir().unwrap();
    let out =
        common::archlens(&["diagnose", &format!("{}/diag/once:late", common::registry_addr()), "--host", "arm64-server", "--format", "json"], cache.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "ok", "{v}");
    assert_eq!(v["binary"]["path"], "/usr/bin/app");
    let read = v["bytes_read"].as_u64().unwrap();
    assert!(read as f64 <= 1.05 * img.compressed_size as f64, "read {read} of an image of {}", img.compressed_size);
}

#[test]
fn windows_images_are_read_too_pe_machine_and_all() {
    let (code, v) = diagnose("windows", "windows-2019", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["binary"]["format"], "pe");
    assert_eq!(v["binary"]["architecture"], "amd64");
    assert_eq!(v["binary"]["path"], "/Files/app.exe");
    let (code, v) = diagnose("windows-arm64-mismatch", "windows/arm64:10.0.17763.1", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("binary-mismatch")), "{v}");
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "binary-mismatch").unwrap();
    assert!(f["evidence"].as_str().unwrap().contains("0x8664"), "{f}");
}

#[test]
fn armv7_code_in_an_arm_v6_entry_is_caught_by_its_attributes() {
    let (code, v) = diagnose("armv6-holds-v7", "rpi-zero", true);
    assert_eq!((code, v["verdict"].as_str()), (1, Some("binary-mismatch")), "{v}");
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "arm-level").expect("an arm-level finding");
    assert!(f["message"].as_str().unwrap().contains("ARMv7") && f["message"].as_str().unwrap().contains("Illegal instruction"), "{f}");
    assert!(f["evidence"].as_str().unwrap().contains("Tag_CPU_arch 10"), "{f}");
    let (code, v) = diagnose("armv6-holds-v6", "rpi-zero", true);
    assert_eq!((code, v["verdict"].as_str()), (0, Some("ok")), "{v}");
}

#[test]
fn layout_folders_honour_max_bytes_and_have_their_layers_checked() {
    use archlens::registry::layout::{LayoutRef, write_layout};
    use archlens::testkit::{Compression, Entry, image_with_layers, p};
    let filler: Vec<u8> = (0..4_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    let img = image_with_layers(
        &p("linux/arm64"),
        &[(vec![Entry::file("opt/filler.bin", &filler), Entry::file("app", &common::diag::elf_for("arm64"))], Compression::None)],
        serde_json::json!({ "Entrypoint": ["/app"] }),
    );
    let dir = tempfile::tempdir().unwrap();
    let blobs: Vec<&[u8]> = img.blobs.iter().map(Vec::as_slice).chain([img.manifest.as_slice()]).collect();
    write_layout(dir.path(), blobs, &[LayoutRef { tag: "1", media_type: img.media_type, digest: &img.digest, size: img.manifest.len() as u64 }]).unwrap();
    let reference = format!("oci:{}:1", dir.path().display());
    let cache = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["diagnose", reference.as_str(), "--host", "arm64-server", "--format", "json"];
        args.extend(extra);
        common::archlens(&args, cache.path())
    };
    let v: Value = serde_json::from_slice(&run(&[]).stdout).unwrap();
    assert_eq!(v["verdict"], "ok", "{v}");
    // --max-bytes is a cap for folders too: an answer of "could not tell", having read no more.
    let out = run(&["--max-bytes", "1000000"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["verdict"], "unknown", "{v}");
    assert!(v["bytes_read"].as_u64().unwrap() < 1_200_000, "{v}");
    // A layer file that does not match its digest: an error, not a verdict.
    let layer = dir.path().join("blobs/sha256").join(archlens::model::Digest::sha256(&img.blobs[1]).encoded());
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&layer, bytes).unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match digest"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_verified_matrix_shows_a_label_that_lies() {
    let repo = common::diag::seeded_diag();
    let cache = tempfile::tempdir().unwrap();
    let out = common::archlens(&["matrix", repo, "--tags", "config-mismatch", "--verify", "--format", "json"], cache.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let cells = &v["tags"][0]["cells"];
    assert_eq!(cells["linux/arm64"]["verified"], "config-mismatch", "{v}");
    assert_eq!(cells["linux/arm64"]["config"], "linux/amd64");
    assert_eq!(cells["linux/amd64"]["verified"], "ok");
    // The same label check as Diagnose makes.
    let (_, d) = diagnose("config-mismatch", "arm64-server", false);
    assert_eq!(d["verdict"], "config-mismatch");
    // Without --verify, no claim is made either way.
    let out = common::archlens(&["matrix", repo, "--tags", "config-mismatch", "--format", "json"], cache.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["tags"][0]["cells"]["linux/arm64"].get("verified").is_none(), "{v}");
    let table = common::archlens(&["matrix", repo, "--tags", "config-mismatch", "--verify"], cache.path());
    assert!(String::from_utf8_lossy(&table.stdout).contains("MISLABELLED (config: linux/amd64)"));
}

#[test]
fn a_repair_draft_relabels_the_entry_and_the_pushed_fix_diagnoses_ok() {
    let repo = common::diag::seeded_diag();
    let env = common::cli::Env::new();
    // Copy the tag first: the test repairs its own copy.
    let target = format!("{repo}:repaired-{}", std::process::id());
    let src = format!("{repo}:mislabelled-armv7");
    common::cli::ok(&env.run(&["compose", "--target", &target, "--base", &src]));
    let (code, before) = {
        let out = env.run(&["diagnose", &target, "--host", "rpi32", "--format", "json"]);
        (out.status.code(), serde_json::from_slice::<Value>(&out.stdout).unwrap())
    };
    assert_eq!((code, before["verdict"].as_str()), (Some(1), Some("no-match")), "a Pi cannot run it as labelled: {before}");
    let file = env.data.path().join("repair.json");
    let out = env.run(&["diagnose", &target, "--host", "arm64-server", "--format", "json", "--repair-draft", file.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "config-mismatch", "{v}");
    // Its ARMv7 program runs on an arm64 server only if the CPU has a 32-bit mode: said.
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "fallback").expect("a 32-bit finding");
    assert!(f["message"].as_str().unwrap().contains("Graviton3"), "{f}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("relabel the linux/arm64 entry") && said.contains("as linux/arm/v7"), "{said}");
    // The draft goes through compose with all its safety: a preview, then --yes, journalled.
    let dry: Value =
        serde_json::from_str(&common::cli::ok(&env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--dry-run", "--format", "json"])))
            .unwrap();
    assert!(dry["diff"].to_string().contains("linux/arm/v7"), "{dry}");
    common::cli::fails_with(&env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target]), 3);
    common::cli::ok(&env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--yes"]));
    let out = env.run(&["diagnose", &target, "--host", "rpi32", "--format", "json"]);
    let after: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((out.status.code(), after["verdict"].as_str()), (Some(0), Some("ok")), "repaired: {after}");
    // Nothing else changed: the amd64 entry is the same digest.
    let raw = |r: &str| serde_json::from_slice::<Value>(&common::skopeo_raw(r)).unwrap();
    let (old, new) = (raw(&src), raw(&target));
    assert_eq!(old["manifests"][0], new["manifests"][0]);
    assert_eq!(old["manifests"][1]["digest"], new["manifests"][1]["digest"]);
}

#[test]
fn a_deep_verified_matrix_marks_the_host_cell_whose_binary_cannot_run() {
    let repo = common::diag::seeded_diag();
    let cache = tempfile::tempdir().unwrap();
    let out =
        common::archlens(&["matrix", repo, "--tags", "binary-mismatch", "--verify", "--deep", "--host", "arm64-server", "--format", "json"], cache.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let cells = &v["tags"][0]["cells"];
    assert_eq!(cells["linux/arm64"]["verified"], "binary-mismatch", "{v}");
    assert_eq!(cells["linux/arm64"]["binary"], "amd64");
    assert_eq!(cells["linux/amd64"]["verified"], "ok", "the label check still holds for other cells");
    // Agrees with Diagnose for that host.
    let (_, d) = diagnose("binary-mismatch", "arm64-server", true);
    assert_eq!(d["verdict"], "binary-mismatch");
    // A healthy index stays green, deep.
    let out = common::archlens(&["matrix", repo, "--tags", "healthy", "--verify", "--deep", "--host", "arm64-server", "--format", "json"], cache.path());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tags"][0]["cells"]["linux/arm64"]["verified"], "ok", "{v}");
}

/// Copy `tag` of the diagnosis repository to a tag of this test's own, repair it for `host`
/// with a draft, push it, and diagnose again: (what the repair said, the verdict after).
fn repair_and_push(env: &common::cli::Env, tag: &str, host: &str) -> (String, Value) {
    let repo = common::diag::seeded_diag();
    let target = format!("{repo}:{tag}-fixed-{}", std::process::id());
    common::cli::ok(&env.run(&["compose", "--target", &target, "--base", &format!("{repo}:{tag}")]));
    let file = env.data.path().join(format!("{tag}.json"));
    let out = env.run(&["diagnose", &target, "--host", host, "--format", "json", "--repair-draft", file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    common::cli::ok(&env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--yes"]));
    let out = env.run(&["diagnose", &target, "--host", host, "--format", "json"]);
    (said, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn repairs_replace_a_broken_entry_or_add_a_missing_platform_from_other_tags() {
    let env = common::cli::Env::new();
    // The arm64 entry (version 1.2) holds an x86-64 program: replaced by the arm64 image of
    // the same version (tag `binary-mismatch-arm64`, labelled 1.2), not by any other tag.
    let (said, after) = repair_and_push(&env, "binary-mismatch", "arm64-server");
    assert!(said.contains("replace the linux/arm64 entry") && said.contains("from tag binary-mismatch-arm64") && said.contains("same version, 1.2"), "{said}");
    assert!(!said.contains("WARNING"), "{said}");
    assert_eq!(after["verdict"], "ok", "{after}");
    // No arm64 entry at all: one is added from another tag, which is another version: warned.
    let (said, after) = repair_and_push(&env, "amd64-index", "arm64-server");
    assert!(said.contains("add a linux/arm64 entry") && said.contains("WARNING") && said.contains("mixes versions"), "{said}");
    assert_eq!(after["verdict"], "ok", "{after}");
    assert_eq!(after["selected"]["platform"], "linux/arm64");
    // The only entry cannot run: never dropped (an empty index is no fix); another version is
    // proposed with the warning in the draft itself.
    let repo = common::diag::seeded_diag();
    let file = env.data.path().join("only.json");
    let out =
        env.run(&["diagnose", &format!("{repo}:only-entry-broken"), "--host", "arm64-server", "--format", "json", "--repair-draft", file.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!said.contains("drop the"), "{said}");
    let draft: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(draft["entries"].as_array().unwrap().len(), 1, "{draft}");
    assert!(draft["warnings"][0].as_str().unwrap().contains("mixes versions"), "{draft}");
}

#[test]
fn the_apps_verify_marks_a_binary_the_host_cannot_run() {
    use archlens::model::matrix::{TagOutcome, Verified};
    use archlens::worker::{Command as W, Event, SourceRef};
    use std::time::{Duration, Instant};
    let repo = archlens::model::Repository::parse(common::diag::seeded_diag()).unwrap();
    let worker = archlens::worker::spawn_with_cache(archlens::registry::ClientOptions::default(), None, std::sync::Arc::new(|| {})).unwrap();
    worker.send(W::LoadMatrix { id: 1, source: SourceRef::Registry(repo.registry.clone()), repository: repo, verify: true, host: "arm64-server".into() });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events = Vec::new();
    while !events.iter().any(|e| matches!(e, Event::MatrixDone { .. } | Event::Failed { .. })) {
        assert!(Instant::now() < deadline, "the load did not finish");
        events.extend(worker.drain());
        std::thread::sleep(Duration::from_millis(20));
    }
    let marked = events.iter().rev().find_map(|e| match e {
        Event::Row { result, .. } if result.tag == "binary-mismatch" => match &result.outcome {
            TagOutcome::Index { children, .. } => {
                children.iter().find(|c| c.platform.as_ref().is_some_and(|p| p.key() == "linux/arm64")).map(|c| c.verified.clone())
            }
            _ => None,
        },
        _ => None,
    });
    assert!(matches!(marked, Some(Some(Verified::BinaryMismatch { ref binary, .. })) if binary == "amd64"), "{marked:?}");
}

/// The hand-written x86-64 program used where gcc does not target x86-64 is a real one: the
/// identifier names it amd64, and an x86-64 Linux host runs it to a clean exit.
#[test]
fn the_shipped_x86_64_program_is_identified_and_runs() {
    let bin = common::diag::tiny_x86_64_elf();
    let id = archlens::model::binary::identify(&bin);
    assert_eq!(id.architecture.as_deref(), Some("amd64"), "{id:?}");
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny");
        std::fs::write(&path, &bin).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = std::process::Command::new(&path).status().unwrap();
        assert!(status.success(), "{status}");
    }
}
