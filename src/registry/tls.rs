//! TLS trust for one registry, found where docker and podman keep it: CA certificates
//! (`*.crt`) and a client certificate (`client.cert` + `client.key`) in
//! `$XDG_CONFIG_HOME/containers/certs.d/HOST[:PORT]/` (else `~/.config/…`),
//! `/etc/containers/certs.d/HOST[:PORT]/` and `/etc/docker/certs.d/HOST[:PORT]/`, on top of the
//! system's roots.

use std::path::{Path, PathBuf};

use crate::model::reference::Registry;

use super::error::RegistryError;

/// The `certs.d` folders searched, most specific first.
pub fn certs_d_roots() -> Vec<PathBuf> {
    let mut v = Vec::new();
    let config = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        v.push(c.join("containers/certs.d"));
    }
    v.push(PathBuf::from("/etc/containers/certs.d"));
    v.push(PathBuf::from("/etc/docker/certs.d"));
    v
}

/// What the certs.d folders hold for a registry.
#[derive(Default)]
pub struct RegistryTls {
    /// The folders that exist for this registry.
    pub dirs: Vec<PathBuf>,
    pub roots: Vec<reqwest::Certificate>,
    pub identity: Option<reqwest::Identity>,
}

impl RegistryTls {
    /// Whether any folder is configured for the registry (it then speaks TLS, even on
    /// loopback).
    pub fn configured(&self) -> bool {
        !self.dirs.is_empty()
    }
}

fn tls_error(registry: &Registry, path: &Path, detail: impl std::fmt::Display) -> RegistryError {
    RegistryError::Tls { registry: registry.name().to_string(), detail: format!("{}: {detail}", path.display()) }
}

/// Read the certificates configured for `registry` under `roots`.
pub fn load(registry: &Registry, roots: &[PathBuf]) -> Result<RegistryTls, RegistryError> {
    let mut out = RegistryTls::default();
    let names: Vec<&str> = if registry.is_docker_hub() { vec![registry.name(), registry.endpoint()] } else { vec![registry.name()] };
    for root in roots {
        for name in &names {
            let dir = root.join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            out.dirs.push(dir.clone());
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "crt")) {
                let pem = std::fs::read(f).map_err(|e| tls_error(registry, f, e))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| tls_error(registry, f, e))?;
                if certs.is_empty() {
                    return Err(tls_error(registry, f, "no PEM certificate in the file"));
                }
                out.roots.extend(certs);
            }
            let (cert, key) = (dir.join("client.cert"), dir.join("client.key"));
            if out.identity.is_none() && cert.exists() {
                let mut pem = std::fs::read(&cert).map_err(|e| tls_error(registry, &cert, e))?;
                pem.push(b'\n');
                pem.extend(std::fs::read(&key).map_err(|e| tls_error(registry, &key, e))?);
                out.identity = Some(reqwest::Identity::from_pem(&pem).map_err(|e| tls_error(registry, &cert, e))?);
            }
        }
    }
    Ok(out)
}
