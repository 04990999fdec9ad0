//! Signing in with the credentials users already have, against a real registry that requires
//! Basic authentication (htpasswd): podman's auth.json, Docker's config.json, and clear errors
//! when credentials are missing or wrong.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::process::{Command, Output};
use std::sync::OnceLock;

use archlens::model::reference::Registry;
use archlens::registry::auth::Credentials;
use archlens::registry::{ClientOptions, RegistryClient};
use archlens::testkit::{Flavour, image, p};
use base64::Engine as _;

const USER: &str = "alice";
const PASS: &str = "s3cret";

fn locked_registry() -> &'static str {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        let out = Command::new("bash")
            .arg(common::project_root().join("scripts/registry.sh"))
            .args(["start", "--owner", &std::process::id().to_string(), "--htpasswd", &format!("{USER}:{PASS}")])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let addr = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("ADDR=")).unwrap().to_string();
        // Seed it with the Basic credentials.
        let creds = Credentials::Basic { username: USER.into(), password: PASS.into() };
        let c = RegistryClient::new(Registry::parse(&addr).unwrap(), Some(creds), ClientOptions::default()).unwrap();
        let img = image(&p("linux/amd64"), Flavour::Oci, "locked");
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            common::seed::push_image(&c, "private/app", &img).await.unwrap();
            c.put_manifest("private/app", "1.0", img.media_type, &img.manifest).await.unwrap();
        });
        addr
    })
}

fn tags(home: &std::path::Path, envs: &[(&str, std::path::PathBuf)]) -> Output {
    let envs: Vec<(&str, std::ffi::OsString)> = envs.iter().map(|(k, v)| (*k, v.clone().into_os_string())).collect();
    common::cli::run_with_only(home, &["tags", &format!("{}/private/app", locked_registry())], &envs)
}

fn auth_file(dir: &std::path::Path, name: &str, user: &str, pass: &str) -> std::path::PathBuf {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let body = serde_json::json!({ "auths": { locked_registry(): { "auth": token } } });
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(&body).unwrap()).unwrap();
    path
}

#[test]
fn without_credentials_the_error_says_how_to_sign_in() {
    let home = tempfile::tempdir().unwrap();
    let out = tags(home.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused access") && err.contains("repository:private/app:pull") && err.contains("docker login"), "{err}");
}

#[test]
fn podman_auth_json_is_used() {
    let home = tempfile::tempdir().unwrap();
    let file = auth_file(home.path(), "auth.json", USER, PASS);
    let out = tags(home.path(), &[("REGISTRY_AUTH_FILE", file)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.0");
    // The XDG location is found too.
    let cfg = home.path().join("xdg");
    std::fs::create_dir_all(cfg.join("containers")).unwrap();
    auth_file(&cfg.join("containers"), "auth.json", USER, PASS);
    let out = tags(home.path(), &[("XDG_CONFIG_HOME", cfg)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn docker_config_json_is_used() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    auth_file(&dir, "config.json", USER, PASS);
    let out = tags(home.path(), &[("DOCKER_CONFIG", dir)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.0");
}

#[test]
fn wrong_or_expired_credentials_are_reported() {
    let home = tempfile::tempdir().unwrap();
    let file = auth_file(home.path(), "auth.json", USER, "old-password");
    let out = tags(home.path(), &[("REGISTRY_AUTH_FILE", file)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused access") && err.contains("expired"), "{err}");
}

#[test]
fn signing_in_through_the_app_worker_replaces_the_anonymous_client() {
    use archlens::worker::{Command as W, Event};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let registry = Registry::parse(locked_registry()).unwrap();
    let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), None, Arc::new(|| {})).unwrap();
    let wait = |want: u64| -> Event {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(e) = worker.drain().into_iter().find(|e| e.id() == want) {
                return e;
            }
            assert!(Instant::now() < deadline, "no answer to request {want}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    worker.send(W::ListRepos { id: 1, registry: registry.clone(), page: None });
    assert!(matches!(wait(1), Event::Failed { .. }), "anonymous access is refused");
    worker.send(W::SignIn { id: 2, registry: registry.clone(), username: USER.into(), password: "wrong".into(), remember: false });
    match wait(2) {
        Event::Failed { error, .. } => assert!(error.contains("sign-in") && error.contains("refused access"), "{error}"),
        other => panic!("{other:?}"),
    }
    worker.send(W::SignIn { id: 3, registry: registry.clone(), username: USER.into(), password: PASS.into(), remember: true });
    match wait(3) {
        Event::SignedIn { username, kept, .. } => {
            assert_eq!(username, USER);
            // Without a secret service (as on a headless box) the login is kept for the session and says why.
            assert!(kept.contains("keychain") || kept.contains("this session only"), "{kept}");
        }
        other => panic!("{other:?}"),
    }
    worker.send(W::ListRepos { id: 4, registry: registry.clone(), page: None });
    match wait(4) {
        Event::ReposPage { repos, .. } => assert!(repos.contains(&"private/app".to_string()), "{repos:?}"),
        other => panic!("{other:?}"),
    }
    // Signing out drops the login: the registry refuses again.
    worker.send(W::SignOut { id: 5, registry: registry.clone() });
    assert!(matches!(wait(5), Event::SignedOut { .. }));
    worker.send(W::ListRepos { id: 6, registry, page: None });
    assert!(matches!(wait(6), Event::Failed { .. }));
}

#[test]
fn docker_credential_helpers_are_run() {
    let home = tempfile::tempdir().unwrap();
    // A credential helper, as docker-credential-ecr-login or -osxkeychain would be.
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-archlenstest");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"{{\\\"ServerURL\\\":\\\"$server\\\",\\\"Username\\\":\\\"{USER}\\\",\\\"Secret\\\":\\\"{PASS}\\\"}}\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = home.path().join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    let config = serde_json::json!({ "credHelpers": { locked_registry(): "archlenstest" } });
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = tags(home.path(), &[("DOCKER_CONFIG", dir), ("PATH", path.into())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.0");
}

/// A Docker config naming the helper `name` for `registry`, the helper's script in `bin`.
fn with_helper(home: &std::path::Path, registry: &str, name: &str, script: &str) -> (std::path::PathBuf, String) {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&helper, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = home.join("docker");
    std::fs::create_dir_all(&dir).unwrap();
    let config = serde_json::json!({ "credHelpers": { registry: name } });
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    (dir, format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
}

#[test]
fn credential_helpers_are_bounded_named_and_run_only_when_asked() {
    // A helper that never answers is stopped within --timeout and named.
    let home = tempfile::tempdir().unwrap();
    let (dir, path) = with_helper(home.path(), locked_registry(), "stuck", "#!/bin/sh\nexec sleep 600\n");
    let t = std::time::Instant::now();
    let out = common::cli::run_with_only(
        home.path(),
        &["tags", &format!("{}/private/app", locked_registry()), "--timeout", "2"],
        &[("DOCKER_CONFIG", dir.into_os_string()), ("PATH", path.into())],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("docker-credential-stuck") && said.contains("did not answer within 2 s"), "{said}");
    assert!(t.elapsed() < std::time::Duration::from_secs(15), "{:?}", t.elapsed());
    // A helper that prints without end is cut off at 1 MiB, not read into memory.
    let home = tempfile::tempdir().unwrap();
    let (dir, path) = with_helper(home.path(), locked_registry(), "chatty", "#!/bin/sh\nexec yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    let out = common::cli::run_with_only(
        home.path(),
        &["tags", &format!("{}/private/app", locked_registry()), "--timeout", "5"],
        &[("DOCKER_CONFIG", dir.into_os_string()), ("PATH", path.into())],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("docker-credential-chatty") && (said.contains("more than 1048576 bytes") || said.contains("did not answer")), "{said}");
    // A helper name that is a path is not run.
    let home = tempfile::tempdir().unwrap();
    let (dir, path) = with_helper(home.path(), locked_registry(), "x", "#!/bin/sh\nexit 1\n");
    std::fs::write(dir.join("config.json"), serde_json::to_vec(&serde_json::json!({ "credHelpers": { locked_registry(): "../../tmp/evil" } })).unwrap())
        .unwrap();
    let out = common::cli::run_with_only(
        home.path(),
        &["tags", &format!("{}/private/app", locked_registry())],
        &[("DOCKER_CONFIG", dir.into_os_string()), ("PATH", path.into())],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("not a plain name"), "{said}");
    // A registry that asks for no credentials never runs the helper.
    let home = tempfile::tempdir().unwrap();
    let mark = home.path().join("ran");
    let (dir, path) = with_helper(home.path(), common::registry_addr(), "marker", &format!("#!/bin/sh\ntouch {}\nexit 1\n", mark.display()));
    let c = common::client();
    let img = image(&p("linux/amd64"), Flavour::Oci, "open");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, "open/app", &img).await.unwrap();
        c.put_manifest("open/app", "1.0", img.media_type, &img.manifest).await.unwrap();
    });
    let out = common::cli::run_with_only(
        home.path(),
        &["tags", &format!("{}/open/app", common::registry_addr())],
        &[("DOCKER_CONFIG", dir.into_os_string()), ("PATH", path.into())],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!mark.exists(), "the helper ran for a registry that never asked for credentials");
}
