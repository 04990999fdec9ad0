//! Typed logins kept in a real OS keychain: Debian's gnome-keyring as the Secret Service on a
//! private D-Bus session (`scripts/with-keyring.sh`), against the token-auth registry (the
//! login goes to its token service). Stored by one process, read back by another, gone after
//! logout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::process::Command;

use archlens::model::reference::Registry;
use archlens::registry::auth::Credentials;
use archlens::registry::{ClientOptions, RegistryClient};
use archlens::testkit::{Flavour, image, p};
use common::token::{PASS, TokenRegistry, USER, rules};

#[test]
fn a_login_is_kept_in_the_secret_service_read_back_by_another_process_and_forgotten() {
    let reg = TokenRegistry::start(rules(&[(USER, "repository", "*", &["pull", "push"])]));
    let addr = reg.addr.clone();
    let creds = Credentials::Basic { username: USER.into(), password: PASS.into() };
    let c = RegistryClient::new(Registry::parse(&addr).unwrap(), Some(creds), ClientOptions::default()).unwrap();
    let img = image(&p("linux/arm64"), Flavour::Oci, "kept");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        common::seed::push_image(&c, "private/app", &img).await.unwrap();
        c.put_manifest("private/app", "7.0", img.media_type, &img.manifest).await.unwrap();
    });

    let home = tempfile::tempdir().unwrap();
    let out_dir = home.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // Each step is its own archlens process inside one keychain session; outputs go to files.
    let script = r#"
        set -u
        bin=$1; addr=$2; out=$3; pass=$4
        step() { name=$1; shift; "$@" >"$out/$name.out" 2>"$out/$name.err"; echo $? >"$out/$name.rc"; }
        step before "$bin" tags "$addr/private/app" --retries 0
        printf %s "wrong" | step wrong "$bin" login "$addr" -u alice --password-stdin
        printf %s "$pass" | step login "$bin" login "$addr" -u alice --password-stdin
        step stored secret-tool lookup service archlens username "$addr"
        step after "$bin" tags "$addr/private/app" --retries 0
        step logout "$bin" logout "$addr"
        step gone secret-tool lookup service archlens username "$addr"
        step again "$bin" tags "$addr/private/app" --retries 0
    "#;
    let status = Command::new("bash")
        .arg(common::project_root().join("scripts/with-keyring.sh"))
        .args(["bash", "-c", script, "script", env!("CARGO_BIN_EXE_archlens"), &addr])
        .arg(&out_dir)
        .arg(PASS)
        .env("HOME", home.path())
        .env("ARCHLENS_CACHE_DIR", home.path().join("cache"))
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .status()
        .unwrap();
    assert!(status.success(), "with-keyring.sh failed");
    let read = |name: &str, ext: &str| std::fs::read_to_string(out_dir.join(format!("{name}.{ext}"))).unwrap_or_default();
    let rc = |name: &str| read(name, "rc").trim().to_string();
    assert_eq!(rc("before"), "2", "anonymous is refused: {}", read("before", "err"));
    assert_eq!(rc("wrong"), "2", "a wrong password is checked, never kept: {}", read("wrong", "out"));
    assert!(read("wrong", "err").contains("refused access"), "{}", read("wrong", "err"));
    assert_eq!(rc("login"), "0", "{}", read("login", "err"));
    assert!(read("login", "out").contains("kept in the OS keychain"));
    let stored: serde_json::Value = serde_json::from_str(read("stored", "out").trim()).expect("the Secret Service holds the login");
    assert_eq!(stored["username"], USER);
    assert_eq!(stored["password"], PASS);
    assert_eq!(rc("after"), "0", "a new process reads the login back: {}", read("after", "err"));
    assert_eq!(read("after", "out").trim(), "7.0");
    assert_eq!(rc("logout"), "0", "{}", read("logout", "err"));
    assert_ne!(rc("gone"), "0", "the keychain entry is removed");
    assert_eq!(rc("again"), "2", "refused again after logout");
}
