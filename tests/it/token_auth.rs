//! Bearer-token auth as Docker Hub, GHCR, Quay and Harbor do it, against the real registry:
//! Debian's `docker-registry` with `auth: token` verifying real JWTs signed by the test's own
//! token issuer (`scripts/token-issuer.py`). Reads and writes take the same HTTP path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use archlens::model::reference::{Reference, Registry};
use archlens::registry::auth::Credentials;
use archlens::registry::{ClientOptions, Fetcher, RegistryClient};
use archlens::testkit::{Flavour, image, p};
use common::token::{PASS, REFRESH, TokenRegistry, USER, rules};
use serde_json::{Value, json};

const PULL_PUSH: &[&str] = &["pull", "push"];
const PULL: &[&str] = &["pull"];

fn alice(reg: &TokenRegistry) -> RegistryClient {
    let creds = Credentials::Basic { username: USER.into(), password: PASS.into() };
    RegistryClient::new(Registry::parse(&reg.addr).unwrap(), Some(creds), ClientOptions::default()).unwrap()
}

/// Seed `repo:tag` with a one-platform image, as alice.
fn seed(reg: &TokenRegistry, repo: &str, tag: &str, platform: &str) -> archlens::testkit::Image {
    let c = alice(reg);
    let img = image(&p(platform), Flavour::Oci, &format!("{repo}-{tag}"));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, repo, &img).await.unwrap();
        c.put_manifest(repo, tag, img.media_type, &img.manifest).await.unwrap();
    });
    img
}

fn run(home: &Path, args: &[&str], envs: &[(&str, std::ffi::OsString)]) -> Output {
    common::cli::run_with_only(home, args, envs)
}

fn stdout_ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A docker credential helper in `home/bin` answering `username`/`secret`.
fn helper(home: &Path, username: &str, secret: &str) -> std::ffi::OsString {
    use std::os::unix::fs::PermissionsExt as _;
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join("docker-credential-archlenstoken");
    let answer = json!({"ServerURL": "x", "Username": username, "Secret": secret}).to_string();
    std::fs::write(&path, format!("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\ncat <<'EOF'\n{answer}\nEOF\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()).into()
}

fn docker_config(home: &Path, body: Value) -> std::ffi::OsString {
    let dir = home.join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&body).unwrap()).unwrap();
    dir.into()
}

#[test]
fn anonymous_pull_basic_login_from_each_source_and_the_catalog() {
    let reg = TokenRegistry::start(rules(&[
        (USER, "repository", "*", PULL_PUSH),
        (USER, "registry", "catalog", &["*"]),
        ("anonymous", "repository", "public/*", PULL),
    ]));
    seed(&reg, "public/app", "1.0", "linux/amd64");
    seed(&reg, "private/app", "2.0", "linux/arm64");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Anonymous pull where the rules allow it; a clear refusal elsewhere.
    assert_eq!(stdout_ok(&run(h, &["tags", &format!("{}/public/app", reg.addr)], &[])).trim(), "1.0");
    let out = run(h, &["tags", &format!("{}/private/app", reg.addr)], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused access") && err.contains("repository:private/app:pull") && err.contains("docker login"), "{err}");
    // Basic login to the token service from podman's auth.json, docker's config.json and a helper.
    let private = format!("{}/private/app", reg.addr);
    let auth = reg.auth_json(h);
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("REGISTRY_AUTH_FILE", auth.clone().into())])).trim(), "2.0");
    let encoded = std::fs::read_to_string(&auth).unwrap();
    let cfg = docker_config(h, serde_json::from_str(&encoded).unwrap());
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("DOCKER_CONFIG", cfg)])).trim(), "2.0");
    let path = helper(h, USER, PASS);
    let cfg = docker_config(h, json!({"credHelpers": {&reg.addr: "archlenstoken"}}));
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("DOCKER_CONFIG", cfg.clone()), ("PATH", path.clone())])).trim(), "2.0");
    // The catalog needs registry:catalog:*, which alice has and anonymous has not.
    let repos = stdout_ok(&run(h, &["repos", &reg.addr], &[("DOCKER_CONFIG", cfg), ("PATH", path)]));
    assert!(repos.contains("private/app") && repos.contains("public/app"), "{repos}");
    let out = run(h, &["repos", &reg.addr], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("registry:catalog:*"));
    let asked: Vec<Value> = reg.requests();
    assert!(asked.iter().any(|r| r["user"] == USER && r["scopes"] == json!(["registry:catalog:*"])), "{asked:?}");
    // A wrong password is the token service's refusal, said as such.
    let bad = h.join("bad.json");
    std::fs::write(&bad, encoded.replace(&base64_of(&format!("{USER}:{PASS}")), &base64_of(&format!("{USER}:old")))).unwrap();
    let out = run(h, &["tags", &private], &[("REGISTRY_AUTH_FILE", bad.into())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token service answered 401") && err.contains("wrong user name or password"), "{err}");
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn push_and_cross_repository_mount_with_real_tokens() {
    let reg = TokenRegistry::start(rules(&[(USER, "repository", "team/*", PULL_PUSH), (USER, "repository", "src/*", PULL)]));
    // Seeded by an admin: alice may only read src/*.
    let admin_rules = rules(&[(USER, "repository", "*", PULL_PUSH)]);
    reg.set_rules(&admin_rules);
    seed(&reg, "src/amd", "1", "linux/amd64");
    seed(&reg, "src/arm", "1", "linux/arm64");
    reg.set_rules(&rules(&[(USER, "repository", "team/*", PULL_PUSH), (USER, "repository", "src/*", PULL)]));
    let home = tempfile::tempdir().unwrap();
    let auth: std::ffi::OsString = reg.auth_json(home.path()).into();
    let env = [("REGISTRY_AUTH_FILE", auth)];
    let froms = ["--from", &format!("{}/src/amd:1", reg.addr), "--from", &format!("{}/src/arm:1", reg.addr)].map(String::from);
    let compose = |target: &str| {
        let mut args = vec!["compose", "--target", target, "--format", "json"];
        args.extend(froms.iter().map(String::as_str));
        run(home.path(), &args, &env)
    };
    let target = format!("{}/team/app:1.0", reg.addr);
    let out = compose(&target);
    let pushed: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    assert_eq!(pushed["uploaded_bytes"], 0, "every blob mounted: {pushed}");
    assert!(pushed["mounted_blobs"].as_u64().unwrap() >= 4, "{pushed}");
    // One token request named both repositories, as the docker CLI asks.
    let asked = reg.requests();
    assert!(
        asked.iter().any(|r| {
            let s = r["scopes"].as_array().unwrap();
            s.contains(&json!("repository:team/app:pull,push")) && s.iter().any(|x| x.as_str().unwrap().starts_with("repository:src/"))
        }),
        "{asked:?}"
    );
    let raw = Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", "--creds", &reg.creds(), &format!("docker://{target}")]).output().unwrap();
    assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
    assert_eq!(archlens::model::Digest::sha256(&raw.stdout).to_string(), pushed["digest"].as_str().unwrap());

    // A token service that grants one repository per token refuses the mount: the push
    // uploads instead and says so.
    let mut strict = rules(&[(USER, "repository", "team/*", PULL_PUSH), (USER, "repository", "src/*", PULL)]);
    strict["single_repository_tokens"] = json!(true);
    reg.set_rules(&strict);
    let target2 = format!("{}/team/other:1.0", reg.addr);
    let out = compose(&target2);
    let pushed: Value = serde_json::from_str(&stdout_ok(&out)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused to mount") && err.contains("uploading it instead"), "{err}");
    assert!(pushed["uploaded_bytes"].as_u64().unwrap() > 0 && pushed["mounted_blobs"] == 0, "{pushed}");
    let check = Command::new("skopeo")
        .args(["copy", "--all", "--src-tls-verify=false", "--src-creds", &reg.creds(), &format!("docker://{target2}")])
        .arg(format!("oci:{}:x", home.path().join("check").display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "every blob reached team/other: {}", String::from_utf8_lossy(&check.stderr));
    // Without push rights the push fails before any tag moves, and says why.
    let out = compose(&format!("{}/elsewhere/app:1.0", reg.addr));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused access"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn identity_tokens_use_the_refresh_grant_and_fall_back_to_get() {
    let reg = TokenRegistry::start(rules(&[(USER, "repository", "*", PULL_PUSH)]));
    seed(&reg, "private/app", "3.0", "linux/amd64");
    let seeded = reg.requests().len();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let private = format!("{}/private/app", reg.addr);
    // An identity token from config.json, and one from a helper (docker's `<token>` user).
    let cfg = docker_config(h, json!({"auths": {&reg.addr: {"identitytoken": REFRESH}}}));
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("DOCKER_CONFIG", cfg.clone())])).trim(), "3.0");
    let path = helper(h, "<token>", REFRESH);
    let helper_cfg = docker_config(h, json!({"credHelpers": {&reg.addr: "archlenstoken"}}));
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("DOCKER_CONFIG", helper_cfg), ("PATH", path)])).trim(), "3.0");
    let asked = reg.requests().split_off(seeded);
    assert_eq!(asked.len(), 2);
    assert!(asked.iter().all(|r| r["method"] == "POST" && r["grant"] == "refresh_token" && r["user"] == USER), "{asked:?}");
    // A token service without the OAuth2 endpoint: the GET form, with the token as password.
    let mut no_post = rules(&[(USER, "repository", "*", PULL_PUSH)]);
    no_post["post_disabled"] = json!(true);
    reg.set_rules(&no_post);
    let cfg = docker_config(h, json!({"auths": {&reg.addr: {"identitytoken": REFRESH}}}));
    assert_eq!(stdout_ok(&run(h, &["tags", &private], &[("DOCKER_CONFIG", cfg)])).trim(), "3.0");
    assert_eq!(reg.requests().last().unwrap()["method"], "GET");
    // A revoked identity token is a clear refusal.
    let cfg = docker_config(h, json!({"auths": {&reg.addr: {"identitytoken": "revoked"}}}));
    let out = run(h, &["tags", &private], &[("DOCKER_CONFIG", cfg)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused access"));
}

#[test]
fn tokens_that_expire_between_reads_and_during_a_push_are_renewed_once() {
    // Tokens valid for about 2 s (the registry allows 60 s of leeway past `exp`). The expiry is
    // the registry's, by its own clock: Archlens keeps no clock of its own for tokens (it renews
    // on the registry's 401), so there is none to stand in for, and the test waits out 2 s twice.
    let mut short = rules(&[(USER, "repository", "*", PULL_PUSH)]);
    short["lifetime"] = json!(-58);
    let reg = TokenRegistry::start(short.clone());
    let amd = seed(&reg, "src/amd", "1", "linux/amd64");
    seed(&reg, "src/arm", "1", "linux/arm64");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = std::sync::Arc::new(alice(&reg));
        let fetcher = Fetcher::new(client.clone(), None);
        let repo = Reference::parse(&format!("{}/src/amd:1", reg.addr)).unwrap().repository;
        let first = fetcher.matrix(&repo, vec!["1".to_string()], |_, _, _| {}).await;
        assert_eq!(first.rows.len(), 1);
        let before = reg.requests().len();
        tokio::time::sleep(Duration::from_secs(3)).await;
        // The cached token has expired: each request re-authenticates once and goes on.
        let draft_from = Reference::parse(&format!("{}/src/arm:1", reg.addr)).unwrap();
        let entries = archlens::registry::compose::draft_entries(&fetcher, &draft_from, true).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert!(reg.requests().len() > before, "a new token was asked for");
        tokio::time::sleep(Duration::from_secs(3)).await;
        // A push after the tokens expired again.
        let mut draft = archlens::model::compose::IndexDraft::default();
        draft.entries.extend(entries);
        let mut fs = archlens::registry::compose::FetcherSet::default();
        fs.0.insert(Registry::parse(&reg.addr).unwrap(), fetcher);
        let journal = archlens::registry::journal::Journal::at(tempfile::tempdir().unwrap().keep().join("journal.jsonl"));
        let target = Reference::parse(&format!("{}/team/app:1", reg.addr)).unwrap();
        let store = archlens::registry::compose::TagStore(client.clone());
        let pushed = archlens::registry::compose::push(&fs, store, &journal, &draft, &target, Some(None), |_, _, _| {}).await.unwrap();
        assert_eq!(pushed.digest, draft.digest());
        let _ = amd;
    });
    // Tokens already expired beyond the leeway: one renewal, then a clear error, never a loop.
    short["lifetime"] = json!(-120);
    reg.set_rules(&short);
    let before = reg.requests().len();
    let home = tempfile::tempdir().unwrap();
    let auth: std::ffi::OsString = reg.auth_json(home.path()).into();
    let out = run(home.path(), &["tags", &format!("{}/src/amd", reg.addr)], &[("REGISTRY_AUTH_FILE", auth)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused access"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(reg.requests().len() - before, 1, "one token request for one refused call");
}
