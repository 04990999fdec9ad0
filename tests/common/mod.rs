//! Shared test support: a real local registry, the seeded images, and runners for the
//! `archlens` binary and `skopeo`.
#![allow(dead_code)]

pub mod cli;
pub mod diag;
pub mod hub;
pub mod proxy;
pub mod seed;
pub mod token;
#[cfg(feature = "gui")]
pub mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use archlens::model::reference::Registry;
use archlens::registry::{ClientOptions, RegistryClient};

/// Incompressible bytes from a seeded xorshift generator, the same for the same seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    project_root().join("../shared/fixtures")
}

/// `host:port` of the test registry: `$ARCHLENS_TEST_REGISTRY`, else one started by
/// `scripts/registry.sh` for this test process (it stops when the process exits).
pub fn registry_addr() -> &'static str {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(|| {
        if let Ok(a) = std::env::var("ARCHLENS_TEST_REGISTRY")
            && !a.is_empty()
        {
            return a;
        }
        start_registry()
    })
}

/// A second registry, for copies between registries.
pub fn second_registry_addr() -> &'static str {
    static ADDR: OnceLock<String> = OnceLock::new();
    ADDR.get_or_init(start_registry)
}

/// A registry of its own for this test process (an empty catalog), stopped when it exits.
pub fn start_registry() -> String {
    let out = Command::new("bash")
        .arg(project_root().join("scripts/registry.sh"))
        .args(["start", "--owner", &std::process::id().to_string()])
        .output()
        .expect("run scripts/registry.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "scripts/registry.sh start failed: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    stdout.lines().find_map(|l| l.strip_prefix("ADDR=")).expect("registry.sh prints ADDR=").to_string()
}

pub fn client_for(addr: &str) -> Arc<RegistryClient> {
    let reg = Registry::parse(addr).expect("registry address");
    Arc::new(RegistryClient::new(reg, None, ClientOptions::default()).expect("client"))
}

pub fn client() -> Arc<RegistryClient> {
    let reg = Registry::parse(registry_addr()).expect("registry address");
    Arc::new(RegistryClient::new(reg, None, ClientOptions::default()).expect("client"))
}

/// The standard seed, pushed once per test process.
pub fn seeded() -> &'static seed::Seeded {
    static SEEDED: OnceLock<seed::Seeded> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(seed::seed_standard(&client(), "seed/app")).expect("seeding the registry")
    })
}

/// Run the `archlens` binary with a private cache dir.
pub fn archlens(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_archlens"))
        .args(args)
        .env("ARCHLENS_CACHE_DIR", cache)
        .env("HOME", cache)
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .output()
        .expect("run archlens")
}

pub fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "archlens failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `skopeo inspect --raw` of a reference on the test registry.
pub fn skopeo_raw(reference: &str) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{reference}")])
        .output()
        .expect("run skopeo (install Debian's skopeo package)");
    assert!(out.status.success(), "skopeo inspect --raw {reference}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}
