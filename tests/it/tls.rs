//! TLS as docker and podman do it, against the real registry serving HTTPS with a CA made for
//! the run (`scripts/tls-cert.py`) and requiring a client certificate: trust and client
//! certificates come from certs.d folders; `--insecure` is explicit and warned about.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;
use std::process::Command;

struct TlsRegistry {
    addr: String,
    certs: tempfile::TempDir,
}

fn start() -> TlsRegistry {
    let certs = tempfile::tempdir().unwrap();
    let made = Command::new("python3").arg(common::project_root().join("scripts/tls-cert.py")).arg(certs.path()).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = Command::new("bash")
        .arg(common::project_root().join("scripts/registry.sh"))
        .args(["start", "--owner", &std::process::id().to_string(), "--tls"])
        .arg(certs.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let addr = String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("ADDR=")).unwrap().to_string();
    // Seeded by skopeo, which reads the same certs.d layout (`--dest-cert-dir`).
    let layout = common::fixtures().join("layouts/regclient-testrepo");
    let copy = Command::new("skopeo")
        .args(["copy", "--all", "--preserve-digests", "--dest-cert-dir"])
        .arg(certs.path())
        .arg(format!("oci:{}:v3", layout.display()))
        .arg(format!("docker://{addr}/tls/app:v3"))
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    TlsRegistry { addr, certs }
}

/// A config home whose `containers/certs.d/ADDR/` holds `files` from the run's certificates.
fn config_with(reg: &TlsRegistry, home: &Path, files: &[&str]) -> std::ffi::OsString {
    let config = home.join(format!("config-{}", files.join("-")));
    let dir = config.join("containers/certs.d").join(&reg.addr);
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        std::fs::copy(reg.certs.path().join(f), dir.join(f)).unwrap();
    }
    config.into()
}

#[test]
fn certs_d_trust_client_certificates_and_explicit_insecure() {
    let reg = start();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let repo = format!("{}/tls/app", reg.addr);
    // The CA and the client certificate from certs.d: HTTPS, verified, even on loopback.
    let full = config_with(&reg, h, &["ca.crt", "client.cert", "client.key"]);
    let out = common::cli::run_with_only(h, &["tags", &repo], &[("XDG_CONFIG_HOME", full.clone())]);
    assert_eq!(common::cli::ok(&out).trim(), "v3");
    let raw = common::cli::run_with_only(h, &["inspect", "--raw", &format!("{repo}:v3")], &[("XDG_CONFIG_HOME", full)]);
    let want =
        std::fs::read(common::fixtures().join("layouts/regclient-testrepo/blobs/sha256/6fe828b32b9b4572f32b16c1c0a4d675660b19ec207d010724309374252c2d6d"))
            .unwrap();
    assert_eq!(raw.stdout, want, "the exact bytes over TLS");
    // Nothing configured: a loopback registry is asked in plain HTTP, and the error says
    // where the CA goes.
    let out = common::cli::run_with_only(h, &["tags", &repo], &[]);
    let err = common::cli::fails_with(&out, 2);
    assert!(err.contains("speaks HTTPS") && err.contains("containers/certs.d"), "{err}");
    // The CA but no client certificate: the registry refuses the handshake.
    let ca_only = config_with(&reg, h, &["ca.crt"]);
    let err = common::cli::fails_with(&common::cli::run_with_only(h, &["tags", &repo], &[("XDG_CONFIG_HOME", ca_only)]), 2);
    assert!(err.contains("TLS with") && err.contains("client.cert"), "{err}");
    // The client certificate but not the CA: the server is not trusted…
    let no_ca = config_with(&reg, h, &["client.cert", "client.key"]);
    let err = common::cli::fails_with(&common::cli::run_with_only(h, &["tags", &repo], &[("XDG_CONFIG_HOME", no_ca.clone())]), 2);
    assert!(err.contains("TLS with") && err.to_lowercase().contains("certificate"), "{err}");
    // …unless the user says --insecure, which is warned about.
    let out = common::cli::run_with_only(h, &["--insecure", "tags", &repo], &[("XDG_CONFIG_HOME", no_ca)]);
    assert_eq!(common::cli::ok(&out).trim(), "v3");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"));
}

#[test]
fn http2_is_negotiated_with_a_tls_registry_and_requests_share_its_connection() {
    let reg = start();
    let home = tempfile::tempdir().unwrap();
    let config = config_with(&reg, home.path(), &["ca.crt", "client.cert", "client.key"]);
    let roots = vec![std::path::PathBuf::from(&config).join("containers/certs.d")];
    let options = archlens::registry::ClientOptions { certs_d: Some(roots), ..Default::default() };
    let registry = archlens::model::Registry::parse(&reg.addr).unwrap();
    let client = std::sync::Arc::new(archlens::registry::RegistryClient::new(registry.clone(), None, options).unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fetcher = archlens::registry::Fetcher::new(client.clone(), None);
        let repo = archlens::model::Repository { registry, name: "tls/app".into() };
        let tags = client.tags_all("tls/app").await.unwrap();
        let m = fetcher.matrix(&repo, tags, |_, _, _| {}).await;
        assert!(m.partial.is_none() && !m.rows.is_empty());
    });
    // The registry (distribution 2.8 over TLS) offers h2 by ALPN, and Archlens takes it: the
    // request limit may then grow past the HTTP/1.1 connection cap.
    assert_eq!(client.transport().http2(), Some(true), "HTTP/2 was not negotiated");
}
