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
fn keychain_reachable() -> Result<(), String> {
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
fn keychain_lookup(registry: &Registry) -> Option<Credentials> {
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

/// The most a credential helper may print.
const HELPER_OUTPUT_CAP: u64 = 1 << 20;
/// An auth file larger than this is not read.
const AUTH_FILE_CAP: u64 = 4 << 20;

/// The user's Docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
fn docker_config() -> Option<PathBuf> {
    match std::env::var("DOCKER_CONFIG") {
        Ok(d) if !d.is_empty() => Some(PathBuf::from(d).join("config.json")),
        _ => std::env::var("HOME").ok().map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// An auth file's JSON, if it exists and is readable (a regular file, capped).
fn read_auth_file(path: &std::path::Path) -> Result<Option<serde_json::Value>, String> {
    let f = match super::files::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let bytes = super::files::read_capped(f, path, AUTH_FILE_CAP).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

/// What an auth file says for a registry: credentials kept in it, or the helper to ask.
enum Entry {
    Stored(Credentials),
    Helper(String),
}

fn entry_of(v: &serde_json::Value, registry: &Registry) -> Result<Option<Entry>, String> {
    let keys = auth_keys(registry);
    for key in &keys {
        if let Some(h) = v.pointer("/credHelpers").and_then(|m| m.get(key.as_str())).and_then(|h| h.as_str()) {
            return Ok(Some(Entry::Helper(h.to_string())));
        }
    }
    for key in &keys {
        let Some(a) = v.pointer("/auths").and_then(|m| m.get(key.as_str())) else { continue };
        if let Some(t) = a.get("identitytoken").and_then(|t| t.as_str()).filter(|t| !t.is_empty()) {
            return Ok(Some(Entry::Stored(Credentials::IdentityToken { token: t.to_string() })));
        }
        if let Some(auth) = a.get("auth").and_then(|t| t.as_str()).filter(|t| !t.is_empty()) {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|e| format!("the auth entry for {key} is not base64: {e}"))?;
            let text = String::from_utf8(decoded).map_err(|_| format!("the auth entry for {key} is not text"))?;
            let (user, pass) = text.split_once(':').ok_or_else(|| format!("the auth entry for {key} is not USER:PASSWORD"))?;
            return Ok(Some(Entry::Stored(Credentials::Basic { username: user.to_string(), password: pass.to_string() })));
        }
        if let (Some(u), Some(p)) = (a.get("username").and_then(|u| u.as_str()), a.get("password").and_then(|p| p.as_str())) {
            return Ok(Some(Entry::Stored(Credentials::Basic { username: u.to_string(), password: p.to_string() })));
        }
    }
    if let Some(store) = v.get("credsStore").and_then(|s| s.as_str()).filter(|s| !s.is_empty()) {
        return Ok(Some(Entry::Helper(store.to_string())));
    }
    Ok(None)
}

/// The server URL a helper keeps a registry's login under.
fn helper_server(registry: &Registry) -> String {
    if registry.is_docker_hub() { "https://index.docker.io/v1/".into() } else { registry.name().to_string() }
}

/// Where credential helpers are looked for: PATH's absolute directories (never the working
/// directory), then, on macOS, where Homebrew and Docker Desktop install them. An app started
/// from Finder gets a minimal PATH (`/usr/bin:/bin:/usr/sbin:/sbin`) that has none of those.
fn helper_dirs(path: &std::ffi::OsStr, home: Option<&std::path::Path>, macos: bool) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::split_paths(path).filter(|d| d.is_absolute()).collect();
    if macos {
        let mut more = vec![PathBuf::from("/usr/local/bin"), PathBuf::from("/opt/homebrew/bin")];
        more.extend(home.map(|h| h.join(".docker/bin")));
        more.push(PathBuf::from("/Applications/Docker.app/Contents/Resources/bin"));
        for d in more {
            if d.is_absolute() && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// `docker-credential-NAME` in [`helper_dirs`].
fn helper_program(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.starts_with('.') || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+')) {
        return Err(format!("the credential helper name {name:?} is not a plain name, so it is not run"));
    }
    let program = format!("docker-credential-{name}");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let home = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf());
    let macos = cfg!(target_os = "macos");
    for dir in helper_dirs(&path, home.as_deref(), macos) {
        let candidate = dir.join(&program);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(if macos {
        format!("{program} is not on PATH, nor in /usr/local/bin, /opt/homebrew/bin, ~/.docker/bin or Docker Desktop's bundle")
    } else {
        format!("{program} is not on PATH")
    })
}

/// Ask the credential helper `name` for `server`'s login: at most `deadline`, at most
/// [`HELPER_OUTPUT_CAP`] bytes of output; a helper that overruns either is stopped and named.
fn run_helper(name: &str, server: &str, deadline: std::time::Duration) -> Result<Option<Credentials>, String> {
    use std::io::{Read as _, Write as _};
    let program = helper_program(name)?;
    let shown = program.display().to_string();
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{shown}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that does not read its input is caught by the deadline below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let capped = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(r) = r {
                let _ = r.take(HELPER_OUTPUT_CAP + 1).read_to_end(&mut out);
            }
            out
        })
    };
    let out = capped(child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let err = capped(child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait().map_err(|e| format!("{shown}: {e}"))? {
            Some(status) => break status,
            None if started.elapsed() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the credential helper {shown} did not answer within {} s and was stopped", deadline.as_secs().max(1)));
            }
            None => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if stdout.len() as u64 > HELPER_OUTPUT_CAP || stderr.len() as u64 > HELPER_OUTPUT_CAP {
        return Err(format!("the credential helper {shown} printed more than {} bytes; its answer is not used", HELPER_OUTPUT_CAP));
    }
    let said = |b: &[u8]| crate::model::units::printable(String::from_utf8_lossy(b).trim());
    if !status.success() {
        let text = format!("{} {}", said(&stdout), said(&stderr));
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("the credential helper {shown} failed ({status}): {}", text.trim()));
    }
    let v: serde_json::Value = serde_json::from_slice(&stdout).map_err(|e| format!("the credential helper {shown} answered with unreadable JSON: {e}"))?;
    let user = v.get("Username").and_then(|u| u.as_str()).unwrap_or_default();
    let secret = v.get("Secret").and_then(|u| u.as_str()).unwrap_or_default();
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if user == "<token>" {
        Credentials::IdentityToken { token: secret.to_string() }
    } else {
        Credentials::Basic { username: user.to_string(), password: secret.to_string() }
    }))
}

/// Look up stored credentials for a registry; `Ok(None)` means anonymous. Runs credential
/// helpers (each within `deadline`), so call it off the UI thread, and only when the registry
/// asks (a client made with a [`CredentialSource`]).
pub fn lookup(registry: &Registry, deadline: std::time::Duration) -> Result<Option<Credentials>, String> {
    if let Some(c) = keychain_lookup(registry) {
        return Ok(Some(c));
    }
    let files: Vec<PathBuf> = podman_files().into_iter().chain(docker_config()).collect();
    for file in files {
        let Some(v) = read_auth_file(&file)? else { continue };
        match entry_of(&v, registry).map_err(|e| format!("{}: {e}", file.display()))? {
            Some(Entry::Stored(c)) => return Ok(Some(c)),
            Some(Entry::Helper(h)) => return run_helper(&h, &helper_server(registry), deadline),
            None => {}
        }
    }
    Ok(None)
}

/// Whether a login for `registry` is kept anywhere Archlens looks (no helper is run).
pub fn configured(registry: &Registry) -> bool {
    if keychain_lookup(registry).is_some() {
        return true;
    }
    podman_files().into_iter().chain(docker_config()).any(|f| matches!(read_auth_file(&f), Ok(Some(v)) if matches!(entry_of(&v, registry), Ok(Some(_)))))
}

/// Where a client's credentials come from when a registry first asks for them (credential
/// helpers are external programs: not run for a registry that never asks).
pub type CredentialSource = std::sync::Arc<dyn Fn() -> Result<Option<Credentials>, String> + Send + Sync>;

/// The user's credentials for one registry, given, or looked up by a source (on a blocking
/// thread) the first time they are needed, then kept.
pub struct LazyCredentials {
    cell: tokio::sync::OnceCell<Option<Credentials>>,
    source: Option<CredentialSource>,
}

impl LazyCredentials {
    /// `given`: credentials known already (`Some(None)`: none); else `source` finds them.
    pub fn new(given: Option<Option<Credentials>>, source: Option<CredentialSource>) -> LazyCredentials {
        let cell = match given {
            Some(c) => tokio::sync::OnceCell::new_with(Some(c)),
            None => tokio::sync::OnceCell::new(),
        };
        LazyCredentials { cell, source }
    }

    /// The credentials, when given or already looked up.
    pub fn known(&self) -> Option<&Credentials> {
        self.cell.get().and_then(Option::as_ref)
    }

    /// The credentials, looked up now if this is the first time; `registry` names them in errors.
    pub async fn get(&self, registry: &str) -> Result<Option<&Credentials>, super::error::RegistryError> {
        let found = self
            .cell
            .get_or_try_init(|| async {
                let Some(source) = self.source.clone() else { return Ok(None) };
                tokio::task::spawn_blocking(move || source()).await.map_err(|e| e.to_string())?
            })
            .await
            .map_err(|detail| super::error::RegistryError::Unauthorized {
                registry: registry.to_string(),
                scope: String::new(),
                detail: format!("looking up your credentials: {detail}"),
            })?;
        Ok(found.as_ref())
    }
}

/// A credential source for a client: [`lookup`] when the registry first asks.
pub fn source(registry: &Registry, deadline: std::time::Duration) -> CredentialSource {
    let registry = registry.clone();
    std::sync::Arc::new(move || lookup(&registry, deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_are_looked_for_on_path_then_where_macos_installs_them() {
        let path = std::ffi::OsString::from("/usr/bin:relative/bin:/bin");
        let home = std::path::Path::new("/Users/ana");
        let linux = helper_dirs(&path, Some(home), false);
        assert_eq!(linux, [PathBuf::from("/usr/bin"), PathBuf::from("/bin")], "never a relative directory");
        // Finder's minimal PATH, then Homebrew (Intel, Apple silicon), Docker's own folders.
        let mac = helper_dirs(&path, Some(home), true);
        let want = ["/usr/bin", "/bin", "/usr/local/bin", "/opt/homebrew/bin", "/Users/ana/.docker/bin", "/Applications/Docker.app/Contents/Resources/bin"];
        assert_eq!(mac, want.map(PathBuf::from));
        // PATH's order wins; a directory is not searched twice.
        let mac = helper_dirs(std::ffi::OsStr::new("/opt/homebrew/bin:/usr/bin"), None, true);
        assert_eq!(mac.iter().filter(|d| d.ends_with("homebrew/bin")).count(), 1);
        assert_eq!(mac.first(), Some(&PathBuf::from("/opt/homebrew/bin")));
    }
}
