//! Editing an existing multi-arch tag with `archlens compose --base`: nothing the user did not
//! touch changes, every flag either applies or fails, and every tag move is journalled before it
//! happens. Against the real local registry; skopeo reads back what the registry holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::process::Command;

use archlens::model::Digest;
use common::cli::{Env, assert_index_schema_valid, fails_with, ok};
use serde_json::{Value, json};

/// A repository name no earlier run used (the suite can run twice against one registry).
fn fresh(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{}/edit/{prefix}-{}-{nanos}", common::registry_addr(), std::process::id())
}

/// Copy one tag of the regclient test layout (indexes with annotations, build-cache entries)
/// into `repo`, byte for byte.
fn copy_fixture(tag: &str, repo: &str) -> Vec<u8> {
    let layout = common::fixtures().join("layouts/regclient-testrepo");
    let out = Command::new("skopeo")
        .args(["copy", "--all", "--preserve-digests", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:{tag}", layout.display()))
        .arg(format!("docker://{repo}:{tag}"))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
    let raw = common::skopeo_raw(&format!("{repo}:{tag}"));
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let want = index["manifests"].as_array().unwrap().iter().find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag).unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(Digest::sha256(&raw).to_string(), want, "the registry holds the fixture's exact bytes");
    raw
}

fn tag_digest(reference: &str) -> String {
    Digest::sha256(&common::skopeo_raw(reference)).to_string()
}

#[test]
fn an_edit_that_changes_nothing_is_the_base_itself() {
    let env = Env::new();
    let repo = fresh("noop");
    let base = copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    let dry: Value = serde_json::from_str(&ok(&env.run(&["compose", "--target", &target, "--base", &target, "--dry-run", "--format", "json"]))).unwrap();
    assert_eq!(dry["bytes"].as_str().unwrap().as_bytes(), base.as_slice(), "exact base bytes");
    assert_eq!(dry["digest"], Digest::sha256(&base).to_string());
    assert_eq!(dry["unchanged"], true);
    assert_eq!(dry["diff"], json!([]));
    // Without --yes: nothing to change, nothing pushed, exit 0, and no journal entry.
    let out = env.run(&["compose", "--target", &target, "--base", &target]);
    assert_eq!(ok(&out).trim(), Digest::sha256(&base).to_string(), "stdout is the digest the tag holds");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to change"));
    assert!(!env.journal().exists() || std::fs::read_to_string(env.journal()).unwrap().trim().is_empty());
    // The build-cache entries (unknown/unknown, twice) of v1 are no duplicates either.
    copy_fixture("v1", &repo);
    let v1 = format!("{repo}:v1");
    let dry: Value = serde_json::from_str(&ok(&env.run(&["compose", "--target", &v1, "--base", &v1, "--dry-run", "--format", "json"]))).unwrap();
    assert_eq!(dry["unchanged"], true, "{dry}");
}

#[test]
fn an_edit_keeps_annotations_and_fields_it_does_not_touch() {
    let env = Env::new();
    let repo = fresh("keep");
    let base = copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    // Refused without --yes (exit 3); the diff names exactly the added annotation.
    let refused = env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "org.opencontainers.image.revision=it's 1"]);
    let err = fails_with(&refused, 3);
    assert!(err.contains("+ index annotation org.opencontainers.image.revision=it's 1"), "{err}");
    assert!(!err.contains("base.name"), "untouched annotations are not in the diff: {err}");
    assert_eq!(tag_digest(&target), Digest::sha256(&base).to_string(), "the tag did not move");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "org.opencontainers.image.revision=it's 1", "--yes"]));
    let pushed = common::skopeo_raw(&target);
    let (old, new): (Value, Value) = (serde_json::from_slice(&base).unwrap(), serde_json::from_slice(&pushed).unwrap());
    assert_eq!(new["manifests"], old["manifests"], "every entry as it was");
    assert_eq!(new["annotations"]["org.opencontainers.image.base.name"], "registry.example.org/testrepo:b3");
    assert_eq!(new["annotations"]["org.opencontainers.image.base.digest"], old["annotations"]["org.opencontainers.image.base.digest"]);
    assert_eq!(new["annotations"]["org.opencontainers.image.revision"], "it's 1");
    common::cli::assert_index_schema_valid(&env, &pushed);
}

#[test]
fn remove_then_add_then_set_in_the_documented_order() {
    let env = Env::new();
    let repo = fresh("order");
    let base = copy_fixture("v3", &repo);
    let old: Value = serde_json::from_slice(&base).unwrap();
    let v7 = old["manifests"][2]["digest"].as_str().unwrap().to_string();
    assert_eq!(old["manifests"][2]["platform"]["variant"], "v7");
    let target = format!("{repo}:v3");
    let v7_ref = format!("{repo}@{v7}");
    // Remove arm/v7 and arm/v6, re-add v7's image as arm/v6, annotate the amd64 entry by platform
    // and the new entry by digest.
    let dry: Value = serde_json::from_str(&ok(&env.run(&[
        "compose",
        "--target",
        &target,
        "--base",
        &target,
        "--remove",
        "linux/arm/v7",
        "--remove",
        "linux/arm/v6",
        "--from",
        &v7_ref,
        "--platform",
        &format!("{v7_ref}=linux/arm/v6"),
        "--entry-annotation",
        "linux/amd64:org.example.note=a b 'c'",
        "--entry-annotation",
        &format!("{}:org.example.moved=yes", &v7[..19]),
        "--dry-run",
        "--format",
        "json",
    ])))
    .unwrap();
    let diff: Vec<&str> = dry["diff"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(diff.iter().any(|l| l.starts_with("- linux/arm/v7")), "{diff:?}");
    assert!(diff.iter().any(|l| l.starts_with("~ linux/arm/v6")), "{diff:?}");
    assert!(diff.iter().any(|l| l.contains("linux/amd64 annotation org.example.note")), "{diff:?}");
    // The regctl line reproduces the override and quotes the value.
    let regctl = dry["commands"][2]["command"].as_str().unwrap();
    assert!(regctl.contains("--desc-platform linux/arm/v6") && regctl.contains(r"'org.example.note=a b '\''c'\'''"), "{regctl}");
    ok(&env.run(&[
        "compose",
        "--target",
        &target,
        "--base",
        &target,
        "--remove",
        "linux/arm/v7",
        "--remove",
        "linux/arm/v6",
        "--from",
        &v7_ref,
        "--platform",
        &format!("{v7_ref}=linux/arm/v6"),
        "--entry-annotation",
        "linux/amd64:org.example.note=a b 'c'",
        "--entry-annotation",
        &format!("{}:org.example.moved=yes", &v7[..19]),
        "--yes",
    ]));
    let new: Value = serde_json::from_slice(&common::skopeo_raw(&target)).unwrap();
    let arm: Vec<&Value> = new["manifests"].as_array().unwrap().iter().filter(|m| m["platform"]["architecture"] == "arm").collect();
    assert_eq!(arm.len(), 1, "{new}");
    assert_eq!(arm[0]["digest"], v7.as_str());
    assert_eq!(arm[0]["platform"]["variant"], "v6");
    assert_eq!(arm[0]["annotations"]["org.example.moved"], "yes");
    assert_eq!(new["manifests"][0]["annotations"]["org.example.note"], "a b 'c'");
    assert_eq!(new["annotations"], old["annotations"], "index annotations kept");
    // skopeo picks the relabelled entry for an arm/v6 host.
    let out = Command::new("skopeo")
        .args(["--override-arch", "arm", "--override-variant", "v6", "inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{target}"))
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn an_entry_without_a_platform_stays_without_one() {
    let env = Env::new();
    let repo = fresh("noplat");
    copy_fixture("v2", &repo);
    let inner = common::skopeo_raw(&format!("{repo}:v2"));
    let inner_digest = Digest::sha256(&inner);
    let v: Value = serde_json::from_slice(&inner).unwrap();
    let child = &v["manifests"][0];
    // An outer index: one image entry and the inner index as a nested entry with no platform.
    let outer = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{},{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{inner_digest}","size":{},"annotations":{{"org.example.kind":"nested"}}}}]}}"#,
        serde_json::to_string(child).unwrap(),
        inner.len()
    );
    let name = repo.split_once('/').unwrap().1.to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(common::client().put_manifest(&name, "outer", "application/vnd.oci.image.index.v1+json", outer.as_bytes())).unwrap();
    let target = format!("{repo}:outer");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes"]));
    let new: Value = serde_json::from_slice(&common::skopeo_raw(&target)).unwrap();
    let old: Value = serde_json::from_str(&outer).unwrap();
    assert_eq!(new["manifests"], old["manifests"], "no invented platform");
    assert!(new["manifests"][1].get("platform").is_none());
}

#[test]
fn typos_and_partial_platforms_are_errors_never_ignored() {
    let env = Env::new();
    let repo = fresh("typo");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    let t = target.as_str();
    let (nope, base_override) = (format!("{repo}:nope=linux/amd64"), format!("{t}=linux/amd64"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--remove", "linux"], "incomplete"),
        (vec!["--remove", "arm"], "incomplete"),
        (vec!["--remove", "linux/s390x"], "no linux/s390x entry"),
        (vec!["--set-platform", "linux/s390x=linux/amd64"], "no entry matches linux/s390x"),
        (vec!["--set-platform", "linux/amd64=linux"], "incomplete"),
        (vec!["--platform", &nope], "not one of the --from"),
        (vec!["--platform", &base_override], "is the --base"),
        (vec!["--entry-annotation", "linux/s390x:k=v"], "no entry matches"),
        (vec!["--annotation", "=v"], "the key is empty"),
        (vec!["--annotation", "novalue"], "expected KEY=VALUE"),
        (vec!["--remove-annotation", "org.absent"], "no such annotation"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["compose", "--target", t, "--base", t, "--dry-run"];
        args.extend(extra.iter().copied());
        let err = fails_with(&env.run(&args), 2);
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    // A target without a tag is an error, not :latest.
    let err = fails_with(&env.run(&["compose", "--target", &repo, "--base", t, "--dry-run"]), 2);
    assert!(err.contains("must name a tag"), "{err}");
    // A draft that fails its checks: exit 1, nothing pushed.
    let err = fails_with(&env.run(&["compose", "--target", t, "--base", t, "--set-platform", "linux/arm/v7=linux/arm/v6", "--yes"]), 1);
    assert!(err.contains("duplicate platform linux/arm/v6"), "{err}");
}

/// Run a push that stops at `point`, kill it there, and return the journal afterwards.
fn killed_at(env: &Env, point: &str, args: &[&str]) {
    let marker = env.data.path().join(format!("reached-{point}"));
    let mut child = env
        .cmd(args)
        .env("ARCHLENS_FAULT_PAUSE", format!("{point}:{}", marker.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the push to reach the point (no timing: the marker says so), then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the push ended ({status}) before reaching {point}");
        }
        assert!(std::time::Instant::now() < deadline, "{point} never reached");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_kill_at_any_step_leaves_a_journal_undo_understands() {
    for point in ["intent-written", "index-written", "outcome-written"] {
        let env = Env::new();
        let repo = fresh(&format!("kill-{point}"));
        let base = copy_fixture("v3", &repo);
        let before = Digest::sha256(&base).to_string();
        let target = format!("{repo}:v3");
        killed_at(&env, point, &["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes"]);
        let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1, "{point}: the intent is there: {list}");
        assert_eq!(list[0]["previous"], before.as_str());
        let moved = tag_digest(&target) != before;
        assert_eq!(moved, point != "intent-written", "{point}");
        assert_eq!(list[0]["outcome"], if point == "outcome-written" { "done" } else { "intent" }, "{point}");
        let out = env.run(&["undo"]);
        if moved {
            ok(&out);
            assert_eq!(tag_digest(&target), before, "{point}: undo restored the tag");
        } else {
            let err = fails_with(&out, 2);
            assert!(err.contains("interrupted before it moved"), "{point}: {err}");
        }
    }
}

#[test]
fn undo_walks_back_knows_its_own_moves_and_survives_a_damaged_journal() {
    let env = Env::new();
    let repo = fresh("undo");
    let base = copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    let d0 = Digest::sha256(&base).to_string();
    let d1 = ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "n=1", "--yes"])).trim().to_string();
    // A torn line and a non-UTF-8 line in the journal.
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(env.journal()).unwrap();
        f.write_all(b"\xff\xfe\n{\"id\":\"77\",\"time\":1,\"act").unwrap();
    }
    let d2 = ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "n=2", "--yes"])).trim().to_string();
    let out = env.run(&["undo", "--list", "--format", "json"]);
    let list: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged line"), "warned");
    assert_eq!(list.as_array().unwrap().len(), 2, "both pushes listed: {list}");
    let (id1, id2) = (list[0]["id"].as_str().unwrap().to_string(), list[1]["id"].as_str().unwrap().to_string());
    assert_eq!(list[1]["digest"], d2.as_str());
    // Undoing entry 1 first is refused: Archlens itself moved the tag since, in entry 2.
    let err = fails_with(&env.run(&["undo", &id1]), 2);
    assert!(err.contains("moved since by Archlens") && err.contains(&format!("entry {id2}")), "{err}");
    // Undo, undo: back to d1, then back to d0.
    ok(&env.run(&["undo"]));
    assert_eq!(tag_digest(&target), d1);
    ok(&env.run(&["undo"]));
    assert_eq!(tag_digest(&target), d0);
    let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4, "undos are journalled: {list}");
    assert_eq!(list[0]["undone_by"], list[3]["id"]);
    // Nothing left: says so.
    let err = fails_with(&env.run(&["undo"]), 2);
    assert!(err.contains("no push left to undo"), "{err}");
    // Undoing an undo redoes.
    let last = list[3]["id"].as_str().unwrap().to_string();
    ok(&env.run(&["undo", &last]));
    assert_eq!(tag_digest(&target), d1);
}

#[test]
fn undoing_a_push_that_created_a_tag_deletes_it_or_says_what_to_do() {
    let env = Env::new();
    let repo = fresh("create");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:new");
    ok(&env.run(&["compose", "--target", &target, "--base", &format!("{repo}:v3"), "--annotation", "k=v"]));
    let out = env.run(&["undo"]);
    if out.status.success() {
        let gone = Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{target}")]).output().unwrap();
        assert!(!gone.status.success(), "the tag was deleted");
    } else {
        // Registries before distribution-spec 1.1 cannot delete a tag: the message says what to do.
        let err = fails_with(&out, 2);
        assert!(err.contains("cannot delete the tag") && err.contains("skopeo delete"), "{err}");
        let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
        assert_eq!(list[1]["outcome"], "failed", "the failed undo is journalled as failed: {list}");
    }
}

#[test]
fn command_values_are_quoted_for_a_real_shell() {
    use archlens::model::compose::shell_quote;
    for v in ["plain", "it's", "a b", "$(touch /tmp/x)", "`x`", "\"q\"", "", "new\nline", "k=v;echo", "'", "\\"] {
        let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", shell_quote(v))).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{v:?} quoted as {}", shell_quote(v));
    }
}

/// Raw bytes of `oci:DIR:TAG` as skopeo reads them.
fn skopeo_layout_raw(dir: &std::path::Path, tag: &str) -> Vec<u8> {
    let out = Command::new("skopeo").args(["inspect", "--raw"]).arg(format!("oci:{}:{tag}", dir.display())).output().unwrap();
    assert!(out.status.success(), "skopeo inspect oci:{}:{tag}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn a_release_is_assembled_offline_in_a_layout_and_pushed_later() {
    let env = Env::new();
    let repo = fresh("offline");
    copy_fixture("v3", &repo);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("release");
    let layout = format!("oci:{}:1.0", dir.display());
    // Registry → layout, edited on the way: the bytes previewed are the bytes written.
    let edit = ["--base", &format!("{repo}:v3"), "--remove", "linux/arm/v6", "--entry-annotation", "linux/arm64:org.example.note=offline"];
    let dry: Value =
        serde_json::from_str(&ok(&env.run(&[&["compose", "--target", &layout, "--dry-run", "--format", "json"][..], &edit[..]].concat()))).unwrap();
    assert_eq!(dry["previous"], Value::Null, "a new folder holds nothing yet");
    assert!(!dir.exists(), "a dry run writes nothing");
    let regctl = dry["commands"].as_array().unwrap().iter().find(|c| c["tool"] == "regctl").unwrap()["command"].as_str().unwrap().to_string();
    assert!(regctl.starts_with(&format!("regctl index create ocidir://{}:1.0", dir.display())), "{regctl}");
    let digest = ok(&env.run(&[&["compose", "--target", &layout][..], &edit[..]].concat())).trim().to_string();
    let written = skopeo_layout_raw(&dir, "1.0");
    assert_eq!(written, dry["bytes"].as_str().unwrap().as_bytes(), "skopeo reads the previewed bytes from the folder");
    assert_eq!(Digest::sha256(&written).to_string(), digest);
    assert_index_schema_valid(&env, &written);
    let index: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(index["annotations"]["org.opencontainers.image.base.name"], "registry.example.org/testrepo:b3", "base annotations kept");
    // skopeo copies every child out of the folder, checking every blob against its digest.
    let check = Command::new("skopeo")
        .args(["copy", "--all", "--preserve-digests"])
        .arg(format!("oci:{}:1.0", dir.display()))
        .arg(format!("oci:{}:check", work.path().join("check").display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "skopeo copy out of the layout: {}", String::from_utf8_lossy(&check.stderr));

    // The same tag again: refused without --yes (exit 3), the folder unchanged.
    let before = std::fs::read(dir.join("index.json")).unwrap();
    fails_with(&env.run(&["compose", "--target", &layout, "--base", &format!("{repo}:v3")]), 3);
    assert_eq!(std::fs::read(dir.join("index.json")).unwrap(), before);

    // Layout → registry later: a no-op edit of the folder's index pushes its exact bytes.
    let pushed_to = format!("{repo}:1.0");
    assert_eq!(ok(&env.run(&["compose", "--target", &pushed_to, "--base", &layout])).trim(), digest);
    assert_eq!(common::skopeo_raw(&pushed_to), written);
    let copy_back = Command::new("skopeo")
        .args(["copy", "--all", "--src-tls-verify=false"])
        .arg(format!("docker://{pushed_to}"))
        .arg(format!("oci:{}:back", work.path().join("back").display()))
        .output()
        .unwrap();
    assert!(copy_back.status.success(), "every child and blob reached the registry: {}", String::from_utf8_lossy(&copy_back.stderr));
    // One image of the folder by digest, as --from.
    let child = index["manifests"][0]["digest"].as_str().unwrap();
    let one: Value = serde_json::from_str(&ok(&env.run(&[
        "compose",
        "--target",
        &format!("{repo}:one"),
        "--from",
        &format!("oci:{}@{child}", dir.display()),
        "--dry-run",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(one["bytes"].as_str().unwrap()).unwrap()["manifests"][0]["digest"], child);

    // The folder's tag move is journalled with the folder's absolute path; undo removes the tag.
    let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
    assert_eq!(list[0]["target"], format!("oci:{}:1.0", dir.display()));
    let id = list[0]["id"].as_str().unwrap().to_string();
    ok(&env.run(&["undo", &id]));
    let after: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(after["manifests"], json!([]), "the tag is gone from index.json");

    // A folder that is not a layout is never written into.
    let other = work.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"meow").unwrap();
    let err = fails_with(&env.run(&["compose", "--target", &format!("oci:{}:1.0", other.display()), "--base", &format!("{repo}:v3")]), 2);
    assert!(err.contains("neither an OCI image layout nor empty"), "{err}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}

#[test]
fn verifying_a_matrix_makes_no_claim_about_build_cache_entries() {
    let env = Env::new();
    let repo = fresh("verify");
    copy_fixture("v1", &repo);
    let v: Value = serde_json::from_str(&ok(&env.run(&["matrix", &repo, "--verify", "--format", "json"]))).unwrap();
    let cells = &v["tags"][0]["cells"];
    assert_eq!(cells["linux/arm64"]["verified"], "ok", "{v}");
    // unknown/unknown entries are never picked by a runtime: not "mislabelled".
    assert!(cells["unknown/unknown"].get("verified").is_none(), "{v}");
}

#[test]
fn undo_checks_the_whole_history_of_the_tag_and_a_killed_undo_blocks_nothing() {
    let env = Env::new();
    let repo = fresh("history");
    let base = copy_fixture("v3", &repo);
    let a = Digest::sha256(&base).to_string();
    let target = format!("{repo}:v3");
    // Entry 1: A → B; entry 2: B → C; entry 3: C → B (by a push, not an undo).
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=b", "--yes"]));
    let b = tag_digest(&target);
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=c", "--yes"]));
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=b", "--yes"]));
    assert_eq!(tag_digest(&target), b, "back at B");
    // Undoing entry 1 would move the tag back to A, discarding entries 2 and 3: refused, named.
    let err = fails_with(&env.run(&["undo", "1"]), 2);
    assert!(err.contains("moved since") && err.contains("entry 2") && err.contains("entry 3"), "{err}");
    assert_eq!(tag_digest(&target), b);
    // A push undone later cancels out: undo 3, undo 2, then entry 1 can be undone.
    ok(&env.run(&["undo", "3"]));
    ok(&env.run(&["undo", "2"]));
    ok(&env.run(&["undo", "1"]));
    assert_eq!(tag_digest(&target), a);

    // An undo killed after writing its intent, before moving the tag, blocks no later undo.
    let env = Env::new();
    let repo = fresh("killed-undo");
    let base = copy_fixture("v3", &repo);
    let before = Digest::sha256(&base).to_string();
    let target = format!("{repo}:v3");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes"]));
    killed_at(&env, "intent-written", &["undo"]);
    ok(&env.run(&["undo"]));
    assert_eq!(tag_digest(&target), before, "the second undo did it");
    let list: Value = serde_json::from_str(&ok(&env.run(&["undo", "--list", "--format", "json"]))).unwrap();
    assert!(list.as_array().unwrap().iter().any(|e| e["outcome"] == "failed"), "the killed undo is closed as failed: {list}");
    // Killed once its outcome is written: it stands, and a second undo says it is undone.
    let env = Env::new();
    let repo = fresh("killed-undo-done");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes"]));
    killed_at(&env, "outcome-written", &["undo"]);
    let err = fails_with(&env.run(&["undo", "1"]), 2);
    assert!(err.contains("already undone"), "{err}");
    // Killed after moving the tag: the next undo settles it as done and says so.
    let env = Env::new();
    let repo = fresh("killed-undo-moved");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes"]));
    killed_at(&env, "index-written", &["undo"]);
    let err = fails_with(&env.run(&["undo", "1"]), 2);
    assert!(err.contains("already undone") && err.contains("now recorded as done"), "{err}");
}

#[test]
fn relabels_keep_os_features_and_a_no_op_of_a_mixed_docker_list_is_calm() {
    let env = Env::new();
    let repo = fresh("features");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    // Give an entry os.features, then change only its variant: the features stay.
    let dry: Value = serde_json::from_str(&ok(&env.run(&["compose", "--target", &target, "--base", &target, "--dry-run", "--format", "json"]))).unwrap();
    let index: Value = serde_json::from_str(dry["bytes"].as_str().unwrap()).unwrap();
    let arm = index["manifests"].as_array().unwrap().iter().find(|m| m["platform"]["architecture"] == "arm" && m["platform"]["variant"] == "v7");
    if let Some(arm) = arm {
        let digest = arm["digest"].as_str().unwrap();
        let file = env.data.path().join("d.json");
        let f = archlens::registry::Fetcher::new(common::client(), None);
        let r = archlens::model::Reference::parse(&target).unwrap();
        let mut d = tokio::runtime::Runtime::new().unwrap().block_on(archlens::registry::compose::base_draft(&f, &r, true)).unwrap();
        let i = d.entries.iter().position(|e| e.digest.as_str() == digest).unwrap();
        d.entries[i].platform.os_features = vec!["x-feature".into()];
        std::fs::write(&file, serde_json::to_vec(&d).unwrap()).unwrap();
        let out: Value = serde_json::from_str(&ok(&env.run(&[
            "compose",
            "--target",
            &target,
            "--draft",
            file.to_str().unwrap(),
            "--set-platform",
            &format!("{}=linux/arm/v5", &digest[..19]),
            "--dry-run",
            "--format",
            "json",
        ])))
        .unwrap();
        let after: Value = serde_json::from_str(out["bytes"].as_str().unwrap()).unwrap();
        let e = after["manifests"].as_array().unwrap().iter().find(|m| m["digest"] == digest).unwrap();
        assert_eq!(e["platform"]["variant"], "v5");
        assert_eq!(e["platform"]["os.features"], serde_json::json!(["x-feature"]), "{e}");
    }
    // A Docker list naming an OCI manifest (as `docker manifest create` can make): editing it
    // to itself changes nothing, says so and exits 0, with --dry-run and without.
    let repo = fresh("mixed");
    let (amd_ref, arm_ref) = {
        let c = common::client();
        let _ = &c;
        let amd = archlens::testkit::image(&archlens::testkit::p("linux/amd64"), archlens::testkit::Flavour::Docker, "mixed amd");
        let arm = archlens::testkit::image(&archlens::testkit::p("linux/arm64"), archlens::testkit::Flavour::Oci, "mixed arm");
        let name = repo.split_once('/').unwrap().1.to_string();
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            common::seed::push_image(&c, &name, &amd).await.unwrap();
            c.put_manifest(&name, "amd", amd.media_type, &amd.manifest).await.unwrap();
            common::seed::push_image(&c, &name, &arm).await.unwrap();
            c.put_manifest(&name, "arm", arm.media_type, &arm.manifest).await.unwrap();
        });
        (format!("{repo}:amd"), format!("{repo}:arm"))
    };
    let mixed = format!("{repo}:mixed");
    // The checks flag the OCI child of a Docker list (exit 1), so the list is put as-is, as
    // `docker manifest create` would.
    let out = env.run(&["compose", "--target", &mixed, "--from", &amd_ref, "--from", &arm_ref, "--media-type", "docker", "--dry-run", "--format", "json"]);
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert!(dry["checks"].as_array().unwrap().iter().any(|c| c["severity"] == "error"), "the mixed list fails a check: {dry}");
    let bytes = dry["bytes"].as_str().unwrap().as_bytes().to_vec();
    let name = repo.split_once('/').unwrap().1.to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::client().put_manifest(&name, "mixed", "application/vnd.docker.distribution.manifest.list.v2+json", &bytes).await.unwrap();
    });
    {
        for extra in [&["--dry-run"][..], &["--yes"][..]] {
            let mut args = vec!["compose", "--target", &mixed, "--base", &mixed];
            args.extend(extra.iter().copied());
            let out = env.run(&args);
            let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{extra:?}: {said}");
            assert!(said.contains("nothing to change"), "{extra:?}: {said}");
        }
    }
}

#[test]
fn an_edit_keeps_the_exact_bytes_of_what_it_does_not_touch() {
    let env = Env::new();
    let repo = fresh("exact");
    let name = repo.split_once('/').unwrap().1.to_string();
    let c = common::client();
    let amd = archlens::testkit::image(&archlens::testkit::p("linux/amd64"), archlens::testkit::Flavour::Oci, "exact amd");
    let arm = archlens::testkit::image(&archlens::testkit::p("linux/arm64"), archlens::testkit::Flavour::Oci, "exact arm");
    // The amd64 entry carries an unknown field with a large integer and an escaped `&`.
    let untouched = format!(
        r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}},"x-big":12345678901234567890123,"annotations":{{"a":"x\u0026y"}}}}"#,
        amd.digest,
        amd.manifest.len()
    );
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{untouched},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
        arm.digest,
        arm.manifest.len()
    );
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, &name, &amd).await.unwrap();
        common::seed::push_image(&c, &name, &arm).await.unwrap();
        c.put_manifest(&name, "1", "application/vnd.oci.image.index.v1+json", index.as_bytes()).await.unwrap();
    });
    let target = format!("{repo}:1");
    ok(&env.run(&["compose", "--target", &target, "--base", &target, "--entry-annotation", "linux/arm64:org.example.note=edited", "--yes"]));
    let after = String::from_utf8(common::skopeo_raw(&target)).unwrap();
    assert!(after.contains(&untouched), "the untouched entry is byte for byte the same:\n{after}");
    assert!(after.contains("org.example.note"), "{after}");
}

#[test]
fn an_edit_of_a_tag_copies_no_child_it_does_not_add() {
    let env = Env::new();
    let repo = fresh("no-recopy");
    copy_fixture("v3", &repo);
    let target = format!("{repo}:v3");
    let out: Value =
        serde_json::from_str(&ok(&env.run(&["compose", "--target", &target, "--base", &target, "--annotation", "k=v", "--yes", "--format", "json"]))).unwrap();
    assert_eq!(out["copied_manifests"], 0, "an annotation edit writes only the index: {out}");
    assert_eq!(out["uploaded_bytes"], 0, "{out}");
    // A child from another repository is copied: that one only.
    let other = fresh("no-recopy-src");
    let name = other.split_once('/').unwrap().1.to_string();
    let s390x = archlens::testkit::image(&archlens::testkit::p("linux/s390x"), archlens::testkit::Flavour::Oci, "no-recopy s390x");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let c = common::client();
        common::seed::push_image(&c, &name, &s390x).await.unwrap();
        c.put_manifest(&name, "1", s390x.media_type, &s390x.manifest).await.unwrap();
    });
    let out: Value =
        serde_json::from_str(&ok(&env.run(&["compose", "--target", &target, "--base", &target, "--from", &format!("{other}:1"), "--yes", "--format", "json"])))
            .unwrap();
    assert_eq!(out["copied_manifests"], 1, "{out}");
}

#[test]
fn windows_selectors_and_shared_digests_edit_the_entry_they_name() {
    let env = Env::new();
    let repo = fresh("selectors");
    let name = repo.split_once('/').unwrap().1.to_string();
    let c = common::client();
    let win = archlens::testkit::image(&archlens::testkit::p("windows/amd64:10.0.20348.2340"), archlens::testkit::Flavour::Oci, "sel win");
    let arm = archlens::testkit::image(&archlens::testkit::p("linux/arm/v7"), archlens::testkit::Flavour::Oci, "sel arm");
    // One arm image under two entries (v7 and v6), and a Windows entry with its os.version.
    let entry = |img: &archlens::testkit::Image, platform: Value| json!({"mediaType": img.media_type, "digest": img.digest, "size": img.manifest.len(), "platform": platform});
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            entry(&arm, json!({"os": "linux", "architecture": "arm", "variant": "v7"})),
            entry(&arm, json!({"os": "linux", "architecture": "arm", "variant": "v6"})),
            entry(&win, json!({"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2340"})),
        ]
    }))
    .unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, &name, &arm).await.unwrap();
        common::seed::push_image(&c, &name, &win).await.unwrap();
        c.put_manifest(&name, "1", "application/vnd.oci.image.index.v1+json", &index).await.unwrap();
    });
    let target = format!("{repo}:1");
    let dry = |extra: &[&str]| -> Value {
        let mut args = vec!["compose", "--target", &target, "--base", &target, "--dry-run", "--format", "json"];
        args.extend(extra);
        let out = env.run(&args);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        serde_json::from_str(v["bytes"].as_str().unwrap()).unwrap()
    };
    // --remove linux/arm/v7 keeps the v6 entry of the same digest.
    let after = dry(&["--remove", "linux/arm/v7"]);
    let platforms: Vec<String> = after["manifests"].as_array().unwrap().iter().map(|m| format!("{}", m["platform"]["variant"])).collect();
    assert_eq!(after["manifests"].as_array().unwrap().len(), 2, "{after}");
    assert!(platforms.contains(&"\"v6\"".to_string()), "{after}");
    // A Windows selector with its os.version, in both notations, names that entry and key.
    for sel in ["windows/amd64:10.0.20348.2340", "windows(10.0.20348.2340)/amd64", "windows/amd64"] {
        let after = dry(&["--entry-annotation", &format!("{sel}:org.example.k=a:b=c")]);
        let w = after["manifests"].as_array().unwrap().iter().find(|m| m["platform"]["os"] == "windows").unwrap();
        assert_eq!(w["annotations"]["org.example.k"], "a:b=c", "{sel}: {after}");
    }
}
