//! Writes that stay right when someone else writes too: two Archlens pushes to one tag, another
//! writer between Archlens's write and its read-back, and two pushes into one layout folder.
//! Against the real registry; the tag is read back with skopeo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archlens::model::Digest;
use archlens::testkit::{Flavour, image, p};
use common::cli::Env;
use common::seed::push_image;
use serde_json::Value;

fn prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Two single-platform images tagged `amd` and `arm` in `repo`: two different indexes can be
/// composed from them.
fn seed(repo: &str) -> (String, String) {
    let c = common::client();
    let amd = image(&p("linux/amd64"), Flavour::Oci, &format!("{repo} amd64"));
    let arm = image(&p("linux/arm64"), Flavour::Oci, &format!("{repo} arm64"));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        push_image(&c, repo, &amd).await.unwrap();
        c.put_manifest(repo, "amd", amd.media_type, &amd.manifest).await.unwrap();
        push_image(&c, repo, &arm).await.unwrap();
        c.put_manifest(repo, "arm", arm.media_type, &arm.manifest).await.unwrap();
    });
    let reg = common::registry_addr();
    (format!("{reg}/{repo}:amd"), format!("{reg}/{repo}:arm"))
}

fn compose(env: &Env, from: &str, target: &str, extra: &[(&str, String)]) -> Child {
    let mut c = env.cmd(&["compose", "--from", from, "--target", target, "--yes", "--format", "json"]);
    for (k, v) in extra {
        c.env(k, v);
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn finish(c: Child) -> (Option<i32>, String, String) {
    let out = c.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn journal(env: &Env) -> Vec<Value> {
    let mut entries: Vec<Value> = Vec::new();
    for line in std::fs::read_to_string(env.journal()).unwrap_or_default().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v.get("action").is_some() {
            entries.push(v);
        } else if let Some(e) = entries.iter_mut().rev().find(|e| e["id"] == v["id"]) {
            e["outcome"] = v["outcome"].clone();
        }
    }
    entries
}

fn tag_digest(reference: &str) -> String {
    Digest::sha256(&common::skopeo_raw(reference)).to_string()
}

#[test]
fn two_pushes_to_one_tag_take_turns_and_the_journal_tells_the_truth() {
    let repo = prefix("race");
    let (amd, arm) = seed(&repo);
    for round in 0..5 {
        let env = Env::new();
        let target = format!("{}/{repo}:r{round}", common::registry_addr());
        // Both start from the same view of the tag (absent) and push different indexes.
        let a = compose(&env, &amd, &target, &[]);
        let b = compose(&env, &arm, &target, &[]);
        let (ra, rb) = (finish(a), finish(b));
        let now = tag_digest(&target);
        let codes = [ra.0, rb.0];
        // Exactly one of them moved the tag from what both saw; the other either found the tag
        // moved under the lock (exit 3) or pushed over the first, having seen it (exit 0).
        assert!(codes.iter().all(|c| matches!(c, Some(0) | Some(3))), "round {round}: {ra:?} {rb:?}");
        let done: Vec<Value> = journal(&env).into_iter().filter(|e| e["outcome"] == "done").collect();
        assert_eq!(done.len(), codes.iter().filter(|c| **c == Some(0)).count(), "round {round}: a done entry per success: {done:?}");
        // The done entries form a chain, each naming as previous what the tag held before it.
        let mut held: Option<String> = None;
        for e in &done {
            assert_eq!(e.get("previous").and_then(Value::as_str).map(str::to_string), held, "round {round}: {done:?}");
            held = e["digest"].as_str().map(str::to_string);
        }
        assert_eq!(held.as_deref(), Some(now.as_str()), "round {round}: the last done entry is what the tag holds");
        for (code, _, err) in [&ra, &rb] {
            if *code == Some(3) {
                assert!(err.contains("moved since the preview"), "round {round}: {err}");
            }
        }
    }
}

#[test]
fn a_write_overwritten_before_it_is_read_back_is_reported_and_not_undone() {
    let repo = prefix("overwrite");
    let (amd, arm) = seed(&repo);
    let env = Env::new();
    let target = format!("{}/{repo}:1", common::registry_addr());
    let wait = env.data.path().join("at-index-written");
    // Archlens writes its index, then stops before reading the tag back …
    let a = compose(&env, &amd, &target, &[("ARCHLENS_FAULT_WAIT", format!("index-written:{}", wait.display()))]);
    let t = Instant::now();
    while !wait.exists() {
        assert!(t.elapsed() < Duration::from_secs(30), "never reached the write");
        std::thread::sleep(Duration::from_millis(20));
    }
    // … while another writer (skopeo, as a colleague's CI would) moves the tag.
    let st = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--src-tls-verify=false", &format!("docker://{arm}"), &format!("docker://{target}")])
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    std::fs::write(format!("{}.go", wait.display()), b"").unwrap();
    let (code, _, err) = finish(a);
    assert_eq!(code, Some(2), "{err}");
    let now = tag_digest(&target);
    assert!(err.contains("overwritten by a concurrent push") && err.contains(&now), "{err}");
    let entries = journal(&env);
    assert_eq!(entries.last().unwrap()["outcome"], "overwritten", "{entries:?}");
    // undo explains it instead of moving the colleague's push away.
    let id = entries.last().unwrap()["id"].as_str().unwrap().to_string();
    let out = env.run(&["undo", &id]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("concurrent push"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(tag_digest(&target), now, "the tag was left alone");
    let list = String::from_utf8_lossy(&env.run(&["undo", "--list"]).stdout).into_owned();
    assert!(list.contains("overwritten by a concurrent push"), "{list}");
}

#[test]
fn two_pushes_into_one_layout_folder_keep_both_tags() {
    let repo = prefix("folder");
    let (amd, arm) = seed(&repo);
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::new();
        let a = compose(&env, &amd, &format!("oci:{}:a", dir.path().display()), &[]);
        let b = compose(&Env::new(), &arm, &format!("oci:{}:b", dir.path().display()), &[]);
        let (ra, rb) = (finish(a), finish(b));
        assert_eq!((ra.0, rb.0), (Some(0), Some(0)), "round {round}: {ra:?} {rb:?}");
        let cache = tempfile::tempdir().unwrap();
        let tags = common::archlens(&["tags", &format!("oci:{}", dir.path().display())], cache.path());
        let tags = String::from_utf8_lossy(&tags.stdout).into_owned();
        assert!(tags.lines().any(|l| l == "a") && tags.lines().any(|l| l == "b"), "round {round}: both tags kept: {tags:?}");
    }
}

/// A draft of `reference` (its base read from the registry), as the app's Export or
/// `diagnose --repair-draft` write one.
fn draft_of(reference: &str) -> archlens::model::compose::IndexDraft {
    let r = archlens::model::Reference::parse(reference).unwrap();
    let f = archlens::registry::Fetcher::new(common::client(), None);
    tokio::runtime::Runtime::new().unwrap().block_on(archlens::registry::compose::base_draft(&f, &r, true)).unwrap()
}

#[test]
fn a_draft_saved_earlier_is_refused_when_its_tag_moved_and_checked_like_a_fresh_compose() {
    let repo = prefix("drafts");
    let (amd, arm) = seed(&repo);
    let env = Env::new();
    let target = format!("{}/{repo}:1", common::registry_addr());
    let pushed = |from: &[&str]| {
        let mut args = vec!["compose", "--target", &target, "--yes"];
        for f in from {
            args.extend(["--from", f]);
        }
        common::cli::ok(&env.run(&args))
    };
    pushed(&[&amd]);
    // The draft is made now (an annotation added) …
    let mut draft = draft_of(&target);
    draft.annotations.insert("org.example.note".into(), "reviewed".into());
    let file = env.data.path().join("draft.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&draft).unwrap()).unwrap();
    // … and a colleague adds arm64 to the tag before it is pushed.
    pushed(&[&amd, &arm]);
    let colleague = tag_digest(&target);
    let out = env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--yes"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("moved since the draft was made") && said.contains(&colleague) && said.contains(&draft.base_digest().unwrap().to_string()), "{said}");
    assert_eq!(tag_digest(&target), colleague, "the colleague's arm64 entry is kept");
    // A draft whose child is missing, whose size is wrong, or whose media type is Docker's for
    // an OCI manifest fails even a dry run.
    let fresh = draft_of(&target);
    type Change = Box<dyn Fn(&mut archlens::model::compose::IndexDraft)>;
    let cases: Vec<(&str, Change)> = vec![
        ("not found", Box::new(|d| d.entries[0].digest = Digest::sha256(b"no such manifest"))),
        ("bytes", Box::new(|d| d.entries[0].size += 7)),
        ("media type", Box::new(|d| d.entries[0].media_type = "application/vnd.docker.distribution.manifest.v2+json".into())),
    ];
    for (says, change) in cases {
        let mut d = fresh.clone();
        change(&mut d);
        std::fs::write(&file, serde_json::to_vec_pretty(&d).unwrap()).unwrap();
        let out = env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--dry-run"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{says}: {said}");
        assert!(said.contains("does not match the registries") && said.contains(says), "{says}: {said}");
    }
    // A mislabelled entry in a draft is caught by the same checks as a fresh compose.
    let mut d = fresh.clone();
    let i = d.entries.iter().position(|e| e.platform.architecture == "amd64").unwrap();
    d.entries[i].platform = p("linux/s390x");
    d.entries[i].config_platform = Some(p("linux/s390x"));
    std::fs::write(&file, serde_json::to_vec_pretty(&d).unwrap()).unwrap();
    let out = env.run(&["compose", "--draft", file.to_str().unwrap(), "--target", &target, "--dry-run"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("linux/amd64") && said.contains("s390x"), "the config's platform is read again: {said}");
}
