//! Where credentials come from: the ones users already have.
//!
//! Order: podman's auth.json (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$XDG_CONFIG_HOME/containers/auth.json`), then Docker's config.json (`$DOCKER_CONFIG`,
//! `~/.docker/config.json`) including credential helpers and stores.

use std::path::PathBuf;

use crate::model::reference::Registry;

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic { username: String, password: String },
    /// An OAuth2 refresh token (`identitytoken` in config.json).
    IdentityToken { token: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credentials::IdentityToken { .. } => write!(f, "IdentityToken(***)"),
        }
    }
}

/// The keys a registry may be stored under in an auth file.
fn auth_keys(registry: &Registry) -> Vec<String> {
    if registry.is_docker_hub() {
        vec!["https://index.docker.io/v1/".into(), "index.docker.io".into(), "docker.io".into()]
    } else {
        let name = registry.name();
        vec![name.to_string(), format!("https://{name}"), format!("http://{name}")]
    }
}

fn convert(c: docker_credential::DockerCredential) -> Credentials {
    match c {
        docker_credential::DockerCredential::UsernamePassword(username, password) => {
            Credentials::Basic { username, password }
        }
        docker_credential::DockerCredential::IdentityToken(token) => Credentials::IdentityToken { token },
    }
}

fn podman_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(p) = std::env::var("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(p));
    }
    if let Ok(p) = std::env::var("XDG_RUNTIME_DIR") {
        v.push(PathBuf::from(p).join("containers/auth.json"));
    }
    let config = std::env::var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        v.push(c.join("containers/auth.json"));
    }
    v
}

/// Look up stored credentials for a registry; `None` means anonymous.
/// Runs credential helpers, so call it off the UI thread.
pub fn lookup(registry: &Registry) -> Option<Credentials> {
    for file in podman_files() {
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for key in auth_keys(registry) {
            if let Ok(c) = docker_credential::get_credential_from_reader(bytes.as_slice(), &key) {
                return Some(convert(c));
            }
        }
    }
    for key in auth_keys(registry) {
        if let Ok(c) = docker_credential::get_credential(&key) {
            return Some(convert(c));
        }
    }
    None
}
