//! `archlens coverage` against a real registry of its own (so the catalog holds only what
//! these tests pushed): catalog pages, tag policies, hosts, failures, the CI gate and exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::sync::OnceLock;

use common::cli::{Env, fails_with, ok};
use common::seed::CoverageSeed;
use serde_json::Value;

struct Seeded {
    addr: String,
    seed: CoverageSeed,
}

fn seeded() -> &'static Seeded {
    static S: OnceLock<Seeded> = OnceLock::new();
    S.get_or_init(|| {
        let addr = common::start_registry();
        let c = common::client_for(&addr);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let seed = rt.block_on(common::seed::seed_coverage(&c, "cov")).expect("seeding");
        Seeded { addr, seed }
    })
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("coverage --format json prints JSON")
}

fn row<'a>(v: &'a Value, repo: &str) -> &'a Value {
    v["repositories"].as_array().unwrap().iter().find(|r| r["repository"] == repo).unwrap_or_else(|| panic!("no row for {repo} in {v:#}"))
}

fn digest_of(repo: &str, tag: &str) -> String {
    seeded().seed[repo][tag].to_string()
}

#[test]
fn the_catalog_is_read_in_pages_and_latest_is_judged_for_an_apple_silicon_mac() {
    let s = seeded();
    let env = Env::new();
    let out = env.run(&["coverage", &s.addr, "--page-size", "2", "--format", "json", "--verbose"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = json_of(&out);
    let catalog_pages = log.lines().filter(|l| l.contains("/v2/_catalog") && l.contains("GET")).count();
    assert!(catalog_pages >= 3, "five repositories at two per page need three pages; the log shows {catalog_pages}:\n{log}");
    let names: Vec<&str> = v["repositories"].as_array().unwrap().iter().map(|r| r["repository"].as_str().unwrap()).collect();
    assert_eq!(names, ["cov/amd-only", "cov/multi", "cov/newer-single", "cov/no-latest", "cov/v7"]);
    assert_eq!(v["policy"], "latest");
    assert_eq!(v["host"]["platform"], "linux/arm64");

    let multi = row(&v, "cov/multi");
    assert_eq!(multi["tag"], "latest");
    assert_eq!(multi["tags"], 3);
    assert_eq!(multi["digest"], digest_of("cov/multi", "latest"));
    assert_eq!(multi["kind"], "index");
    assert_eq!(multi["host"]["match"], "native");
    assert_eq!(multi["host"]["platform"], "linux/arm64");
    assert!(multi["cells"]["linux/arm64"]["compressed_size"].as_u64().unwrap() > 0);

    let amd = row(&v, "cov/amd-only");
    assert_eq!(amd["kind"], "image");
    assert_eq!(amd["digest"], digest_of("cov/amd-only", "latest"));
    assert_eq!(amd["host"]["match"], "emulation", "Docker Desktop runs amd64 images under emulation");

    // containerd falls back to arm/v7 on arm64, but M-series CPUs have no 32-bit ARM mode:
    // Docker Desktop runs it emulated, which is no native fallback.
    assert_eq!(row(&v, "cov/v7")["host"]["match"], "fallback-emulated");
    let none = row(&v, "cov/no-latest");
    assert!(none["tag"].is_null());
    assert!(none["error"].as_str().unwrap().contains("no tag `latest`"), "{none}");

    let summary = &v["summary"];
    assert_eq!(summary["platforms"]["linux/arm64"], serde_json::json!({ "have": 2, "of": 4 }));
    assert_eq!(summary["platforms"]["linux/amd64"], serde_json::json!({ "have": 4, "of": 4 }));
    assert_eq!(summary["host"], serde_json::json!({ "native": 2, "fallback": 0, "emulation": 2, "none": 0 }));
    assert_eq!(summary["failed"], 1);
}

#[test]
fn newest_and_glob_policies_pick_by_version_order() {
    let s = seeded();
    let env = Env::new();
    let v = json_of(&env.run(&["coverage", &s.addr, "--tag", "newest", "--host", "linux/arm64", "--format", "json"]));
    let newer = row(&v, "cov/newer-single");
    assert_eq!(newer["tag"], "1.1", "1.1 is the newest version even though latest points elsewhere");
    assert_eq!(newer["kind"], "image");
    assert_eq!(newer["digest"], digest_of("cov/newer-single", "1.1"));
    assert_eq!(newer["host"]["match"], "none", "its newest tag is single-arch amd64");
    assert_eq!(row(&v, "cov/multi")["tag"], "1.1");
    assert_eq!(row(&v, "cov/amd-only")["tag"], "2.0");
    assert_eq!(row(&v, "cov/no-latest")["tag"], "v1");
    assert!(row(&v, "cov/v7")["error"].as_str().unwrap().contains("no version tag"));

    let v = json_of(&env.run(&["coverage", &s.addr, "--tag", "release-*", "--repos", "cov/n*", "--format", "json"]));
    let names: Vec<&str> = v["repositories"].as_array().unwrap().iter().map(|r| r["repository"].as_str().unwrap()).collect();
    assert_eq!(names, ["cov/newer-single", "cov/no-latest"], "--repos filters the catalog");
    assert_eq!(row(&v, "cov/no-latest")["tag"], "release-1");
    assert_eq!(row(&v, "cov/no-latest")["digest"], digest_of("cov/no-latest", "release-1"));
    assert!(row(&v, "cov/newer-single")["error"].as_str().unwrap().contains("no tag matches `release-*`"));
}

#[test]
fn missing_is_a_ci_gate_and_unreadable_repositories_are_not_passed() {
    let s = seeded();
    let env = Env::new();
    let out = env.run(&["coverage", &s.addr, "--missing", "linux/arm64", "--format", "json"]);
    let err = fails_with(&out, 1);
    assert!(err.contains("2 repositories lack linux/arm64"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["repositories"].as_array().unwrap().iter().map(|r| r["repository"].as_str().unwrap()).collect();
    assert_eq!(names, ["cov/amd-only", "cov/no-latest", "cov/v7"], "lacking ones, and the one that could not be checked");
    assert_eq!(v["missing"], serde_json::json!(["linux/arm64"]));

    // Every named repository has it: the gate passes.
    ok(&env.run(&["coverage", &s.addr, "--repo", "cov/multi", "--repo", "cov/newer-single", "--missing", "linux/arm64"]));

    // A typed list with a repository that does not exist: its row says why; the gate cannot pass.
    let list = env.data.path().join("repos.txt");
    std::fs::write(&list, format!("# services\ncov/multi\n\n{}/cov/does-not-exist\n", s.addr)).unwrap();
    let out = env.run(&["coverage", &s.addr, "--repos-file", list.to_str().unwrap(), "--format", "json"]);
    let v = json_of(&out);
    let gone = row(&v, "cov/does-not-exist");
    assert!(gone["error"].as_str().unwrap().contains("could not be listed"), "{gone}");
    let err = fails_with(&env.run(&["coverage", &s.addr, "--repos-file", list.to_str().unwrap(), "--missing", "linux/arm64"]), 2);
    assert!(err.contains("1 repository could not be checked"), "{err}");

    // Bad input: a clear message, exit 2.
    std::fs::write(&list, "cov/multi\nNot A Name\n").unwrap();
    let err = fails_with(&env.run(&["coverage", &s.addr, "--repos-file", list.to_str().unwrap()]), 2);
    assert!(err.contains("line 2") && err.contains("not a repository name"), "{err}");
    let err = fails_with(&env.run(&["coverage", &s.addr, "--tag", "a|b"]), 2);
    assert!(err.contains("--tag"), "{err}");
    let err = fails_with(&env.run(&["coverage", &s.addr, "--repos", "nothing/*"]), 2);
    assert!(err.contains("none matches `nothing/*`"), "{err}");
}

#[test]
fn csv_and_markdown_are_tables_a_team_can_paste() {
    let s = seeded();
    let env = Env::new();
    let csv = ok(&env.run(&["coverage", &s.addr, "--format", "csv", "--host", "rpi64"]));
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 6, "a header and five repositories:\n{csv}");
    assert_eq!(lines[0], "repository,tag,digest,kind,host Raspberry Pi OS 64-bit,host platform,linux/amd64,linux/arm64,linux/arm/v7,error");
    let multi: Vec<&str> = lines.iter().find(|l| l.starts_with("cov/multi,")).unwrap().split(',').collect();
    assert_eq!(multi[1..6], ["latest", &digest_of("cov/multi", "latest"), "index", "native", "linux/arm64"]);
    assert!(multi[6].parse::<u64>().unwrap() > 0 && multi[7].parse::<u64>().unwrap() > 0 && multi[8].is_empty());
    let v7: Vec<&str> = lines.iter().find(|l| l.starts_with("cov/v7,")).unwrap().split(',').collect();
    assert_eq!(v7[4..6], ["fallback", "linux/arm/v7"]);

    let md = gate_output(&env.run(&["coverage", &s.addr, "--format", "markdown", "--sort", "missing", "--missing", "linux/arm64"]));
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(rows[0].starts_with("| Repository | Tag | Apple-silicon Mac (Docker Desktop) runs | `linux/amd64` |"), "{md}");
    assert!(rows[1].starts_with("| --- |"), "{md}");
    assert!(rows[2].starts_with("| `cov/amd-only` | `latest` | emulation (linux/amd64) | ✓ "), "missing first:\n{md}");
    assert!(md.contains("- 2 of 4 repositories have linux/arm64"), "{md}");
}

/// Stdout of a gate run that found something (exit 1).
fn gate_output(out: &std::process::Output) -> String {
    fails_with(out, 1);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_warm_run_reads_no_manifest_by_digest_again() {
    let s = seeded();
    let env = Env::new();
    let requests = |out: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("GET") || l.contains("HEAD")).map(str::to_string).collect()
    };
    let cold = env.run(&["coverage", &s.addr, "--verbose", "--format", "json"]);
    let cold_json = json_of(&cold);
    let warm = env.run(&["coverage", &s.addr, "--verbose", "--format", "json"]);
    assert_eq!(json_of(&warm), cold_json, "the same answer from the cache");
    let (cold, warm) = (requests(&cold), requests(&warm));
    let by_digest = |r: &[String]| r.iter().filter(|l| l.contains("/manifests/sha256:") || l.contains("/blobs/sha256:")).count();
    assert!(by_digest(&cold) > 0, "{cold:#?}");
    assert_eq!(by_digest(&warm), 0, "content-addressed reads come from the cache:\n{warm:#?}");
    assert!(warm.len() < cold.len());
}

#[test]
fn commit_sha_tags_are_not_versions_and_stable_leaves_pre_releases_out() {
    // A registry of its own: a release with arm64, a newer release candidate, and a commit-SHA
    // tag (amd64 only) that starts with a digit.
    let addr = common::start_registry();
    let c = common::client_for(&addr);
    let amd = archlens::testkit::image(&archlens::testkit::p("linux/amd64"), archlens::testkit::Flavour::Oci, "sha amd");
    let arm = archlens::testkit::image(&archlens::testkit::p("linux/arm64"), archlens::testkit::Flavour::Oci, "sha arm");
    let (idx, _) = archlens::testkit::index(&[amd.clone(), arm.clone()], &[], archlens::testkit::Flavour::Oci);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_index(&c, "team/api", "1.4.10", &idx, &[]).await.unwrap();
        common::seed::push_image(&c, "team/api", &amd).await.unwrap();
        for t in ["8c3f2a1", "1.5.0-rc.1", "20240115"] {
            c.put_manifest("team/api", t, amd.media_type, &amd.manifest).await.unwrap();
        }
    });
    let env = Env::new();
    // newest is the release candidate (a version), never the SHA or the date.
    let v = json_of(&env.run(&["coverage", &addr, "--tag", "newest", "--format", "json"]));
    assert_eq!(row(&v, "team/api")["tag"], "1.5.0-rc.1", "{v}");
    // --stable: the release, which has arm64.
    let v = json_of(&env.run(&["coverage", &addr, "--tag", "newest", "--stable", "--format", "json"]));
    assert_eq!(row(&v, "team/api")["tag"], "1.4.10", "{v}");
    // The gate on arm64 passes on it (the SHA tag, amd64 only, is not taken for the newest).
    let out = env.run(&["coverage", &addr, "--tag", "newest", "--stable", "--missing", "linux/arm64", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_platform_entry_that_cannot_be_read_fails_the_gate_in_every_format() {
    // An index whose arm64 child is gone from storage (what a garbage collector does to an
    // untagged child): the gate on arm64 must not pass.
    let addr = common::start_registry();
    let c = common::client_for(&addr);
    let amd = archlens::testkit::image(&archlens::testkit::p("linux/amd64"), archlens::testkit::Flavour::Oci, "gc amd");
    let arm = archlens::testkit::image(&archlens::testkit::p("linux/arm64"), archlens::testkit::Flavour::Oci, "gc arm");
    let (idx, _) = archlens::testkit::index(&[amd, arm.clone()], &[], archlens::testkit::Flavour::Oci);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_index(&c, "team/gc", "latest", &idx, &[]).await.unwrap();
        c.delete_tag("team/gc", arm.digest.as_str()).await.unwrap();
    });
    let env = Env::new();
    for format in ["table", "json", "csv", "markdown"] {
        let out = env.run(&["coverage", &addr, "--missing", "linux/arm64", "--format", format]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {said}");
        assert!(said.contains("team/gc") && said.to_lowercase().contains("not found"), "{format}: the unreadable entry is visible: {said}");
    }
}

#[test]
fn windows_releases_repeated_platforms_a_required_host_and_empty_repositories_gate_as_said() {
    use archlens::testkit::{Flavour, image, index, p};
    let addr = common::start_registry();
    let c = common::client_for(&addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let arm_digest = rt.block_on(async {
        // Windows images carry a revision in os.version that changes monthly.
        let win = [image(&p("windows/amd64:10.0.20348.2966"), Flavour::Oci, "win"), image(&p("linux/amd64"), Flavour::Oci, "win linux")];
        let (idx, extra) = index(&win, &[], Flavour::Oci);
        common::seed::push_index(&c, "gate/win", "latest", &idx, &extra).await.unwrap();
        let arm = [image(&p("linux/arm64"), Flavour::Oci, "arm"), image(&p("linux/arm/v7"), Flavour::Oci, "arm v7")];
        let (idx, extra) = index(&arm, &[], Flavour::Oci);
        common::seed::push_index(&c, "gate/arm", "latest", &idx, &extra).await.unwrap();
        // Tags, but none called `latest`.
        let one = image(&p("linux/arm64"), Flavour::Oci, "v1 only");
        common::seed::push_image(&c, "gate/nolatest", &one).await.unwrap();
        c.put_manifest("gate/nolatest", "v1", one.media_type, &one.manifest).await.unwrap();
        // gate/arm: a release newer than what `latest` names.
        common::seed::push_image(&c, "gate/arm", &one).await.unwrap();
        c.put_manifest("gate/arm", "2.0", one.media_type, &one.manifest).await.unwrap();
        c.put_manifest("gate/arm", "1.0", idx.media_type, &idx.bytes).await.unwrap();
        idx.digest.to_string()
    });
    let env = Env::new();
    let win = ["coverage", &addr, "--repo", "gate/win"];
    // Without os.version any Windows amd64 image meets it; a release, any revision of it.
    ok(&env.run(&[&win[..], &["--missing", "windows/amd64"]].concat()));
    ok(&env.run(&[&win[..], &["--missing", "windows/amd64:10.0.20348"]].concat()));
    fails_with(&env.run(&[&win[..], &["--missing", "windows/amd64:10.0.17763"]].concat()), 1);
    // Repeated: every platform named is required.
    let err = fails_with(&env.run(&[&win[..], &["--missing", "windows/amd64", "--missing", "linux/arm64"]].concat()), 1);
    assert!(err.contains("1 repository lacks windows/amd64 or linux/arm64"), "{err}");
    // A required host: the Windows-and-amd64 image does not run on an Apple-silicon Mac natively.
    let err = fails_with(&env.run(&[&win[..], &["--require-host", "apple-silicon"]].concat()), 1);
    assert!(err.contains("does not run on"), "{err}");
    ok(&env.run(&["coverage", &addr, "--repo", "gate/arm", "--require-host", "apple-silicon"]));
    // Nothing to check is its own outcome: a gate counts it as not checked unless told to skip it.
    let out = env.run(&["coverage", &addr, "--repo", "gate/nolatest", "--repo", "gate/arm", "--missing", "linux/arm64", "--format", "json"]);
    fails_with(&out, 2);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row(&v, "gate/nolatest")["status"], "empty");
    let out = env.run(&["coverage", &addr, "--repo", "gate/nolatest", "--repo", "gate/arm", "--missing", "linux/arm64", "--skip-empty", "--format", "json"]);
    let v = json_of(&out);
    assert_eq!(v["repositories"].as_array().unwrap().len(), 0, "nothing lacks arm64 and the empty one is left out: {v}");
    // A release gate names each repository's tag or digest: those are read, not the policy's pick.
    let list = env.data.path().join("release.txt");
    std::fs::write(&list, format!("gate/nolatest:v1\n{addr}/gate/arm@{arm_digest}\ngate/win:latest\n")).unwrap();
    let v = json_of(&env.run(&["coverage", &addr, "--repos-file", list.to_str().unwrap(), "--format", "json"]));
    assert_eq!(row(&v, "gate/nolatest")["tag"], "v1");
    assert_eq!(row(&v, "gate/nolatest")["status"], "ok");
    assert_eq!(row(&v, "gate/arm")["digest"], arm_digest.as_str());
    assert_eq!(row(&v, "gate/arm")["host"]["match"], "native");
    // `latest` names 1.0's image, not the newest release's.
    let v = json_of(&env.run(&["coverage", &addr, "--repo", "gate/arm", "--repo", "gate/win", "--format", "json"]));
    assert_eq!(row(&v, "gate/arm")["latest_lags"], "2.0", "{v}");
    assert_eq!(row(&v, "gate/win")["latest_lags"], serde_json::Value::Null, "no version tag there");
    // Columns by Windows release; the cell keeps its full key in JSON and says the revision in
    // the table.
    assert!(v["platforms"].as_array().unwrap().iter().any(|p| p == "windows/amd64:10.0.20348"), "{v}");
    assert!(row(&v, "gate/win")["cells"].get("windows/amd64:10.0.20348.2966").is_some(), "{v}");
    let table = ok(&env.run(&win));
    assert!(table.contains("windows/amd64:10.0.20348\n") && table.contains("(rev 2966)"), "{table}");
    std::fs::write(&list, "gate/arm:no-such-tag\n").unwrap();
    let v = json_of(&env.run(&["coverage", &addr, "--repos-file", list.to_str().unwrap(), "--format", "json"]));
    assert!(row(&v, "gate/arm")["error"].as_str().unwrap().contains("no tag `no-such-tag`"), "{v}");
}

#[test]
fn a_pick_whose_config_says_another_platform_is_never_native() {
    use archlens::testkit::{Flavour, image, p};
    let addr = common::start_registry();
    let c = common::client_for(&addr);
    // An index that labels an amd64 image (its config says amd64) as linux/arm64.
    let amd = image(&p("linux/amd64"), Flavour::Oci, "liar");
    let idx = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{ "mediaType": amd.media_type, "digest": amd.digest, "size": amd.manifest.len(),
                        "platform": { "os": "linux", "architecture": "arm64" } }]
    })
    .to_string();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, "gate/liar", &amd).await.unwrap();
        c.put_manifest("gate/liar", "latest", "application/vnd.oci.image.index.v1+json", idx.as_bytes()).await.unwrap();
    });
    let env = Env::new();
    let v = json_of(&env.run(&["coverage", &addr, "--repo", "gate/liar", "--format", "json"]));
    let liar = row(&v, "gate/liar");
    assert_eq!(liar["host"]["match"], "mislabelled", "{liar}");
    assert_eq!(liar["cells"]["linux/arm64"]["verified"], "config-mismatch", "{liar}");
    assert!(liar["host"]["refused"].as_str().unwrap().contains("its config says linux/amd64"), "{liar}");
    assert_eq!(v["summary"]["host"]["native"], 0);
    let err = fails_with(&env.run(&["coverage", &addr, "--repo", "gate/liar", "--require-host", "apple-silicon"]), 1);
    assert!(err.contains("does not run on"), "{err}");
}

/// A cosign-style manifest attached to an image: `layers` payloads of `media_type`, pushed
/// with their blobs under `tag`. Its digest.
async fn push_attached(c: &archlens::registry::RegistryClient, repo: &str, tag: &str, media_type: &str, layers: &[&str]) -> String {
    use archlens::model::digest::Digest;
    let config = b"{}".to_vec();
    c.push_blob(repo, &config).await.unwrap();
    let mut descs = Vec::new();
    for l in layers {
        c.push_blob(repo, l.as_bytes()).await.unwrap();
        descs.push(serde_json::json!({ "mediaType": media_type, "digest": Digest::sha256(l.as_bytes()).to_string(), "size": l.len() }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256(&config).to_string(), "size": config.len() },
        "layers": descs,
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    c.put_manifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", &bytes).await.unwrap();
    Digest::sha256(&bytes).to_string()
}

/// Signatures and attestations under cosign's tag scheme and the referrers tag schema (the
/// registry has no referrers API: distribution 2.8 answers 404), counted for the chosen tag,
/// and never chosen by a policy themselves.
#[test]
fn signatures_and_attestations_of_the_chosen_tag_are_counted_and_never_chosen() {
    use archlens::testkit::{Flavour, image, index, p};
    let addr = common::start_registry();
    let c = common::client_for(&addr);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (signed, schema) = rt.block_on(async {
        let imgs = [image(&p("linux/amd64"), Flavour::Oci, "s a"), image(&p("linux/arm64"), Flavour::Oci, "s b")];
        let (idx, extra) = index(&imgs, &[], Flavour::Oci);
        common::seed::push_index(&c, "sc/signed", "1.0", &idx, &extra).await.unwrap();
        let base = format!("sha256-{}", idx.digest.encoded());
        // Two signatures and one attestation, as cosign stores them.
        push_attached(&c, "sc/signed", &format!("{base}.sig"), "application/vnd.dev.cosign.simplesigning.v1+json", &["sig one", "sig two"]).await;
        push_attached(&c, "sc/signed", &format!("{base}.att"), "application/vnd.dsse.envelope.v1+json", &["provenance"]).await;
        // Another repository: an SBOM found through the referrers tag schema's index.
        let one = image(&p("linux/amd64"), Flavour::Oci, "schema");
        common::seed::push_image(&c, "sc/schema", &one).await.unwrap();
        c.put_manifest("sc/schema", "1.0", one.media_type, &one.manifest).await.unwrap();
        let sbom = push_attached(&c, "sc/schema", "sbom-holder", "application/spdx+json", &["{\"spdxVersion\":\"SPDX-2.3\"}"]).await;
        let referrers = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sbom, "size": 400, "artifactType": "application/spdx+json" }],
        });
        let bytes = serde_json::to_vec(&referrers).unwrap();
        c.put_manifest("sc/schema", &format!("sha256-{}", one.digest.encoded()), "application/vnd.oci.image.index.v1+json", &bytes).await.unwrap();
        // Unsigned.
        let plain = image(&p("linux/amd64"), Flavour::Oci, "plain");
        common::seed::push_image(&c, "sc/plain", &plain).await.unwrap();
        c.put_manifest("sc/plain", "1.0", plain.media_type, &plain.manifest).await.unwrap();
        (idx.digest.to_string(), one.digest.to_string())
    });
    let env = Env::new();
    // `*` picks the newest tag by name: never the signature or attestation tags beside 1.0.
    let v = json_of(&env.run(&["coverage", &addr, "--repo", "sc/signed", "--repo", "sc/schema", "--repo", "sc/plain", "--tag", "*", "--format", "json"]));
    let s = row(&v, "sc/signed");
    assert_eq!((s["tag"].as_str(), s["digest"].as_str()), (Some("1.0"), Some(signed.as_str())), "{s}");
    let sc = &s["supply_chain"];
    assert_eq!((sc["signed"].as_bool(), sc["attested"].as_bool()), (Some(true), Some(true)), "{sc}");
    assert_eq!((sc["signatures"].as_u64(), sc["attestations"].as_u64(), sc["sboms"].as_u64()), (Some(2), Some(1), Some(0)));
    assert_eq!(sc["size"].as_u64(), Some(("sig one".len() + "sig two".len() + "provenance".len()) as u64));
    assert_eq!(sc["via"], serde_json::json!(["cosign-tags"]));
    assert_eq!(row(&v, "sc/schema")["tag"], "sbom-holder", "a glob picks any tag but the supply-chain ones");
    let plain = &row(&v, "sc/plain")["supply_chain"];
    assert_eq!((plain["signed"].as_bool(), plain["signatures"].as_u64(), plain["via"].clone()), (Some(false), Some(0), serde_json::json!([])), "{plain}");
    // The schema's index, read for the image it names.
    let v = json_of(&env.run(&["coverage", &addr, "--repo", "sc/schema:1.0", "--format", "json"]));
    assert_eq!(row(&v, "sc/schema")["digest"].as_str(), Some(schema.as_str()));
    let sc = &row(&v, "sc/schema")["supply_chain"];
    assert_eq!((sc["sboms"].as_u64(), sc["signed"].as_bool(), sc["size"].as_u64()), (Some(1), Some(false), Some(400)), "{sc}");
    assert_eq!(sc["via"], serde_json::json!(["referrers-tag"]));
    // The table says it in a column of its own.
    let table = ok(&env.run(&["coverage", &addr, "--repo", "sc/signed:1.0"]));
    assert!(table.contains("SIGNED") && table.contains("signed, attested"), "{table}");
}

/// `--deep` reads the entrypoint of each pick: an arm64 entry holding an x86-64 program is
/// mislabelled, never native, though its config agrees with its label.
#[test]
fn deep_coverage_reads_the_entrypoint_binary_of_the_pick() {
    let repo = common::diag::seeded_diag();
    let addr = common::registry_addr();
    let name = repo.strip_prefix(&format!("{addr}/")).unwrap();
    let env = Env::new();
    let pins = ["--repo", &format!("{name}:binary-mismatch")];
    let shallow = json_of(&env.run(&[&["coverage", addr, "--format", "json"][..], &pins[..]].concat()));
    assert_eq!(row(&shallow, name)["host"]["match"], "native", "the label and the config agree: {shallow}");
    let deep = json_of(&env.run(&[&["coverage", addr, "--format", "json", "--deep"][..], &pins[..]].concat()));
    let r = row(&deep, name);
    assert_eq!(r["host"]["match"], "mislabelled", "{r}");
    assert!(r["host"]["refused"].as_str().unwrap().contains("built for"), "{r}");
    assert_eq!((r["cells"]["linux/arm64"]["verified"].as_str(), r["cells"]["linux/arm64"]["binary"].as_str()), (Some("binary-mismatch"), Some("amd64")), "{r}");
    let out = env.run(&[&["coverage", addr, "--format", "json", "--deep", "--require-host", "apple-silicon"][..], &pins[..]].concat());
    assert_eq!(out.status.code(), Some(1), "a required host that would run an x86-64 program fails the gate");
    // A healthy image stays native when its binary is read.
    let v = json_of(&env.run(&["coverage", addr, "--format", "json", "--deep", "--repo", &format!("{name}:healthy")]));
    assert_eq!(row(&v, name)["host"]["match"], "native", "{v}");
}
