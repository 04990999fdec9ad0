//! Where credentials come from: the ones users already have.
//!
//! Order: a login typed into Archlens and kept in the OS keychain, then podman's auth.json (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$XDG_CONFIG_HOME/containers/auth.json`), then Docker's config.json (`$DOCKER_CONFIG`,
//! `~/.docker/config.json`) including credential helpers and stores.

use std::path::PathBuf;

use crate::model::reference::Registry;

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in config.json).
    IdentityToken {
        token: String,
    },
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
        docker_credential::DockerCredential::UsernamePassword(username, password) => Credentials::Basic { username, password },
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
    let config = std::env::var("XDG_CONFIG_HOME").map(PathBuf::from).ok().or_else(|| std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".config")));
    if let Some(c) = config {
        v.push(c.join("containers/auth.json"));
    }
    v
}

/// Run a keychain call on a thread of its own: keychain backends may drive their own event
/// loop, which must not happen inside the caller's async runtime.
fn on_own_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::spawn(f).join().ok()
}

/// Whether an OS keychain can be reached at all (on Linux: a D-Bus session with a secret
/// service).
pub fn keychain_reachable() -> Result<(), String> {
    if cfg!(target_os = "linux") && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Err("no D-Bus session, so no secret service to keep passwords in".into());
    }
    Ok(())
}

/// The OS keychain itself (the `keychain` feature), or its absence.
#[cfg(feature = "keychain")]
mod keychain_store_impl {
    const KEYCHAIN_SERVICE: &str = "archlens";

    pub fn get(name: &str) -> Option<String> {
        keyring::Entry::new(KEYCHAIN_SERVICE, name).and_then(|e| e.get_password()).ok()
    }

    pub fn set(name: &str, secret: &str) -> Result<(), String> {
        keyring::Entry::new(KEYCHAIN_SERVICE, name).and_then(|e| e.set_password(secret)).map_err(|e| e.to_string())
    }

    pub fn delete(name: &str) -> Result<(), String> {
        keyring::Entry::new(KEYCHAIN_SERVICE, name).and_then(|e| e.delete_credential()).map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "keychain"))]
mod keychain_store_impl {
    const WHY: &str = "this build of Archlens has no OS keychain support (built without the `keychain` feature); use docker or podman login files";

    pub fn get(_name: &str) -> Option<String> {
        None
    }

    pub fn set(_name: &str, _secret: &str) -> Result<(), String> {
        Err(WHY.into())
    }

    pub fn delete(_name: &str) -> Result<(), String> {
        Err(WHY.into())
    }
}

/// A login kept in the OS keychain by [`keychain_store`].
pub fn keychain_lookup(registry: &Registry) -> Option<Credentials> {
    keychain_reachable().ok()?;
    let name = registry.name().to_string();
    let secret = on_own_thread(move || keychain_store_impl::get(&name))??;
    let v: serde_json::Value = serde_json::from_str(&secret).ok()?;
    Some(Credentials::Basic { username: v.get("username")?.as_str()?.to_string(), password: v.get("password")?.as_str()?.to_string() })
}

/// Keep a login in the OS keychain; the error says why it could not be kept.
pub fn keychain_store(registry: &Registry, username: &str, password: &str) -> Result<(), String> {
    keychain_reachable()?;
    let name = registry.name().to_string();
    let secret = serde_json::json!({ "username": username, "password": password }).to_string();
    on_own_thread(move || keychain_store_impl::set(&name, &secret)).unwrap_or_else(|| Err("the keychain call failed".into()))
}

/// Forget a login kept in the keychain.
pub fn keychain_forget(registry: &Registry) -> Result<(), String> {
    keychain_reachable()?;
    let name = registry.name().to_string();
    on_own_thread(move || keychain_store_impl::delete(&name)).unwrap_or_else(|| Err("the keychain call failed".into()))
}

/// Look up stored credentials for a registry; `None` means anonymous.
/// Runs credential helpers, so call it off the UI thread.
pub fn lookup(registry: &Registry) -> Option<Credentials> {
    if let Some(c) = keychain_lookup(registry) {
        return Some(c);
    }
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
