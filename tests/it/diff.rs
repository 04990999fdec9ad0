//! `archlens diff`: two tags of a real registry compared per platform.

use serde_json::{Value, json};

use crate::common;
use crate::common::cli::{Env, ok};

#[test]
fn two_releases_compare_per_platform_layers_config_history_and_platforms() {
    use archlens::testkit::{Flavour, image_with, index, p};
    let c = common::client();
    let repo = "diff/app";
    let cfg = |env: &[&str], entry: &[&str]| json!({ "Entrypoint": entry, "Env": env });
    let v1 = [
        image_with(&p("linux/amd64"), Flavour::Oci, "diff base", "v1", cfg(&["PATH=/bin", "A=1"], &["/app"])),
        image_with(&p("linux/arm64"), Flavour::Oci, "diff arm v1", "v1 arm", cfg(&["PATH=/bin"], &["/app"])),
    ];
    let v2 = [
        // The same layer as 1.0's amd64: shared; another config.
        image_with(&p("linux/amd64"), Flavour::Oci, "diff base", "v2", cfg(&["PATH=/bin", "A=2", "NEW=y"], &["/app", "--serve"])),
        image_with(&p("linux/arm64"), Flavour::Oci, "diff arm v2, a little longer", "v2 arm", cfg(&["PATH=/bin"], &["/app"])),
        image_with(&p("linux/riscv64"), Flavour::Oci, "diff riscv", "v2 riscv", cfg(&["PATH=/bin"], &["/app"])),
    ];
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (tag, imgs) in [("1.0", &v1[..]), ("2.0", &v2[..])] {
            let (idx, extra) = index(imgs, &[], Flavour::Oci);
            common::seed::push_index(&c, repo, tag, &idx, &extra).await.unwrap();
        }
    });
    let addr = common::registry_addr();
    let env = Env::new();
    let (a, b) = (format!("{addr}/{repo}:1.0"), format!("{addr}/{repo}:2.0"));
    let v: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &b, "--format", "json"]))).unwrap();
    let platform = |k: &str| v["platforms"].as_array().unwrap().iter().find(|p| p["platform"] == k).cloned().unwrap_or_else(|| panic!("no {k} in {v:#}"));
    let amd = platform("linux/amd64");
    assert_eq!((amd["layers"]["shared"].as_array().unwrap().len(), amd["layers"]["added"].as_array().unwrap().len()), (1, 0), "{amd:#}");
    let keys: Vec<&str> = amd["config"]["changes"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["Entrypoint", "Env.A", "Env.NEW"], "{amd:#}");
    assert_eq!(amd["config"]["history_added"], json!(["seed v2"]));
    assert_eq!((amd["before"].as_str(), amd["after"].as_str()), (Some(v1[0].digest.as_str()), Some(v2[0].digest.as_str())));
    let arm = platform("linux/arm64");
    let (added, removed) = (&arm["layers"]["added"], &arm["layers"]["removed"]);
    assert_eq!((added.as_array().unwrap().len(), removed.as_array().unwrap().len()), (1, 1), "{arm:#}");
    assert!(arm["layers"]["size_after"].as_u64().unwrap() > arm["layers"]["size_before"].as_u64().unwrap(), "the arm64 layer grew: {arm:#}");
    assert_eq!(v["added_platforms"], json!(["linux/riscv64"]));
    assert_eq!(v["removed_platforms"], json!([]));
    // One platform only; the table says the same in words.
    let one: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &b, "--platform", "linux/arm64", "--format", "json"]))).unwrap();
    assert_eq!(one["platforms"].as_array().unwrap().len(), 1, "{one:#}");
    assert_eq!(one["platforms"][0]["platform"], "linux/arm64");
    let table = ok(&env.run(&["diff", &a, &b]));
    assert!(table.contains("Env.NEW: (none) → \"y\"") && table.contains("only in") && table.contains("linux/riscv64"), "{table}");
    // Sizes over the tags, in version order, from the same reads as the matrix.
    let sizes: Value = serde_json::from_str(&ok(&env.run(&["sizes", &format!("{addr}/{repo}"), "--format", "json", "--jump", "1"]))).unwrap();
    let arm = sizes["platforms"]["linux/arm64"].as_array().unwrap();
    assert_eq!(arm.iter().map(|p| p["tag"].as_str().unwrap()).collect::<Vec<_>>(), ["1.0", "2.0"], "{sizes:#}");
    assert!(arm[1]["size"].as_u64() > arm[0]["size"].as_u64() && arm[1]["jump"] == true, "{sizes:#}");
    assert_eq!(sizes["platforms"]["linux/riscv64"].as_array().unwrap().len(), 1);
    let csv = ok(&env.run(&["sizes", &format!("{addr}/{repo}")]));
    assert!(csv.starts_with("platform,tag,compressed_size,pushed,jump\n") && csv.contains("linux/amd64,1.0,"), "{csv}");
}

#[test]
fn files_compare_from_the_layers_the_sides_do_not_share_each_read_once_and_kept() {
    use archlens::testkit::{Compression, Entry, image_with_layers, index, p};
    let c = common::client();
    let repo = "diff/files";
    let base = vec![Entry::file("bin/sh", b"shell"), Entry::file_mode("usr/share/doc/README", b"read me", 0o644)];
    let app_v1 =
        vec![Entry::file("app/server", b"server v1"), Entry::file_mode("app/config.yml", b"port: 80", 0o644), Entry::file_mode("app/old.txt", b"old", 0o644)];
    let app_v2 = vec![
        // Changed in place (content and size), mode only, added, a link, a base file removed.
        Entry::file("app/server", b"server v2, rebuilt"),
        Entry::file_mode("app/config.yml", b"port: 80", 0o600),
        Entry::file_mode("app/new.txt", b"new", 0o644),
        Entry::symlink("app/current", "server"),
        Entry::whiteout("usr/share/doc/README"),
    ];
    let extra = vec![Entry::file("opt/extra/tool", b"a tool added in its own layer")];
    let cfg = |entry: &str, env: &str| json!({ "Entrypoint": [entry], "Env": ["PATH=/bin", env] });
    let v1 = [
        image_with_layers(&p("linux/amd64"), &[(base.clone(), Compression::Gzip), (app_v1, Compression::Gzip)], cfg("/app/server", "MODE=1")),
        image_with_layers(&p("linux/arm64"), &[(base.clone(), Compression::Gzip)], cfg("/bin/sh", "MODE=1")),
    ];
    let v2 = [image_with_layers(
        &p("linux/amd64"),
        &[(base, Compression::Gzip), (app_v2, Compression::Zstd), (extra, Compression::Gzip)],
        cfg("/opt/extra/tool", "MODE=2"),
    )];
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (tag, imgs) in [("1.0", &v1[..]), ("2.0", &v2[..])] {
            let (idx, extra) = index(imgs, &[], archlens::testkit::Flavour::Oci);
            common::seed::push_index(&c, repo, tag, &idx, &extra).await.unwrap();
        }
    });
    let addr = common::registry_addr();
    let env = Env::new();
    let (a, b) = (format!("{addr}/{repo}:1.0"), format!("{addr}/{repo}:2.0"));
    let run = |extra: &[&str]| -> Value {
        let mut args = vec!["diff", a.as_str(), b.as_str(), "--files", "--format", "json"];
        args.extend(extra);
        serde_json::from_str(&ok(&env.run(&args))).unwrap()
    };
    let v = run(&[]);
    let amd = v["platforms"].as_array().unwrap().iter().find(|p| p["platform"] == "linux/amd64").cloned().unwrap();
    let files = &amd["files"];
    assert_eq!(files["shared_layers"], 1, "{files:#}");
    let got: Vec<(String, String, bool)> = files["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap().to_string(), c["change"].as_str().unwrap().to_string(), c["base_unread"] == true))
        .collect();
    let want = [
        ("app/config.yml", "changed", false),
        ("app/current", "added", true),
        ("app/new.txt", "added", true),
        ("app/old.txt", "removed", true),
        ("app/server", "changed", false),
        ("opt/extra/tool", "added", true),
        ("usr/share/doc/README", "removed", true),
    ]
    .map(|(p, c, u)| (p.to_string(), c.to_string(), u));
    assert_eq!(got, want, "{files:#}");
    // The whole of it, exactly: every path's facts on both sides.
    let sha = |b: &[u8]| archlens::model::digest::Digest::sha256(b).to_string();
    let file = |mode: u32, content: &[u8]| json!({ "kind": "file", "mode": mode, "size": content.len(), "sha256": sha(content) });
    let expected = json!([
        { "path": "app/config.yml", "change": "changed", "before": file(0o644, b"port: 80"), "after": file(0o600, b"port: 80") },
        { "path": "app/current", "change": "added", "before": null, "after": { "kind": "symlink", "mode": 0o777, "size": 0, "link": "server" }, "base_unread": true },
        { "path": "app/new.txt", "change": "added", "before": null, "after": file(0o644, b"new"), "base_unread": true },
        { "path": "app/old.txt", "change": "removed", "before": file(0o644, b"old"), "after": null, "base_unread": true },
        { "path": "app/server", "change": "changed", "before": file(0o755, b"server v1"), "after": file(0o755, b"server v2, rebuilt") },
        { "path": "opt/extra/tool", "change": "added", "before": null, "after": file(0o755, b"a tool added in its own layer"), "base_unread": true },
        { "path": "usr/share/doc/README", "change": "removed", "before": null, "after": null, "base_unread": true },
    ]);
    assert_eq!(files["changes"], expected, "{files:#}");
    // The config: the entrypoint moved and an env changed; one layer added, one replaced.
    let keys: Vec<&str> = amd["config"]["changes"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["Entrypoint", "Env.MODE"], "{amd:#}");
    assert_eq!(
        (
            amd["layers"]["shared"].as_array().unwrap().len(),
            amd["layers"]["added"].as_array().unwrap().len(),
            amd["layers"]["removed"].as_array().unwrap().len()
        ),
        (1, 2, 1)
    );
    assert_eq!(v["removed_platforms"], json!(["linux/arm64"]), "a platform dropped");
    // Only the three layers above the shared base were read, each once, whole and verified.
    let read = &v["files_read"];
    let tails: u64 = [&v1[0], &v2[0]].iter().map(|i| i.blobs[2..].iter().map(|b| b.len() as u64).sum::<u64>()).sum();
    assert_eq!((read["layers"].as_u64(), read["from_cache"].as_u64(), read["bytes"].as_u64()), (Some(3), Some(0), Some(tails)), "{read:#}");
    // A second run reads no layer: the listings were kept by digest.
    let again = run(&[]);
    assert_eq!((again["files_read"]["from_cache"].as_u64(), again["files_read"]["bytes"].as_u64()), (Some(3), Some(0)), "{:#}", again["files_read"]);
    assert_eq!(again["platforms"], v["platforms"]);
    // The table says the same in words; the size gate sets the exit status.
    let table = ok(&env.run(&["diff", &a, &b, "--files"]));
    assert!(table.contains("~ /app/server: file 0755") && table.contains("+ /app/current (symlink → server)"), "{table}");
    assert!(table.contains("files: 7 paths differ (above the 1 layer both share)"), "{table}");
    let gate = env.run(&["diff", &a, &b, "--fail-on-growth", "5"]);
    let stderr = crate::common::cli::fails_with(&gate, 1);
    assert!(stderr.contains("linux/amd64 grew by"), "{stderr}");
    ok(&env.run(&["diff", &a, &b, "--fail-on-growth", "100000"]));
}

#[test]
fn files_of_a_layout_folder_are_compared_through_the_same_checked_reads_and_a_tampered_layer_is_refused() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("demo");
    let copy = std::process::Command::new("cp").arg("-r").arg(common::project_root().join("assets/demo-layout")).arg(&layout).status().unwrap();
    assert!(copy.success());
    let (a, b) = (format!("oci:{}:1.0", layout.display()), format!("oci:{}:1.1", layout.display()));
    let v: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &b, "--files", "--platform", "linux/amd64", "--format", "json"]))).unwrap();
    let amd = &v["platforms"][0];
    let changes: Vec<(&str, &str)> =
        amd["files"]["changes"].as_array().unwrap().iter().map(|c| (c["path"].as_str().unwrap(), c["change"].as_str().unwrap())).collect();
    assert_eq!(changes, [("etc/archlens-seed", "changed")], "{amd:#}");
    // Across stores: the folder's 1.0 against 1.1 copied to the registry, each side's layers
    // read from its own store; the same answer.
    let copied = format!("{}/diff/from-folder:1.1", common::registry_addr());
    ok(&env.run(&["compose", "--target", &copied, "--from", &b, "--yes"]));
    let across: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &copied, "--files", "--platform", "linux/amd64", "--format", "json"]))).unwrap();
    assert_eq!(across["platforms"][0]["files"], amd["files"], "{across:#}");
    // The layer 1.1 adds, its bytes changed in place (same size): the read is refused by its
    // digest, whatever the folder says, and nothing is kept for it.
    let added = amd["layers"]["added"][0]["digest"].as_str().unwrap().to_string();
    let blob = layout.join("blobs/sha256").join(added.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let fresh = Env::new();
    let out = fresh.run(&["diff", &a, &b, "--files", "--platform", "linux/amd64"]);
    let err = crate::common::cli::fails_with(&out, 2);
    assert!(err.contains("digest") && err.contains(&added[..19]), "{err}");
}
