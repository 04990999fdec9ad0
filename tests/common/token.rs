//! A registry with real token auth: Debian's `docker-registry` configured with `auth: token`,
//! and `scripts/token-issuer.py`, which signs real ES256 JWTs the registry verifies. Each test
//! starts its own pair, with its own access rules and token lifetime.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command};

use serde_json::{Value, json};

pub const USER: &str = "alice";
pub const PASS: &str = "s3cret alice";
pub const REFRESH: &str = "rt-alice-0123";

pub struct TokenRegistry {
    pub addr: String,
    pub realm: String,
    issuer: Child,
    pub issuer_dir: tempfile::TempDir,
    registry_dir: PathBuf,
}

/// Rules: `access` entries `(user, type, name glob, actions)`; alice's password and refresh
/// token are always known.
pub fn rules(access: &[(&str, &str, &str, &[&str])]) -> Value {
    json!({
        "service": "archlens-test",
        "issuer": "archlens-test-issuer",
        "lifetime": 300,
        "users": { USER: { "password": PASS, "refresh_token": REFRESH } },
        "access": access.iter().map(|(u, t, n, a)| json!({"user": u, "type": t, "name": n, "actions": a})).collect::<Vec<_>>(),
    })
}

impl TokenRegistry {
    pub fn start(rules: Value) -> TokenRegistry {
        let issuer_dir = tempfile::tempdir().unwrap();
        std::fs::write(issuer_dir.path().join("rules.json"), serde_json::to_vec(&rules).unwrap()).unwrap();
        let issuer = Command::new("python3")
            .arg(super::project_root().join("scripts/token-issuer.py"))
            .arg(issuer_dir.path())
            .args(["--owner", &std::process::id().to_string()])
            .spawn()
            .expect("python3 with python3-cryptography");
        let port_file = issuer_dir.path().join("port");
        for _ in 0..200 {
            if port_file.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let port = std::fs::read_to_string(&port_file).expect("the token issuer did not start (is python3-cryptography installed?)");
        let realm = format!("http://127.0.0.1:{}/token", port.trim());
        let out = Command::new("bash")
            .arg(super::project_root().join("scripts/registry.sh"))
            .args(["start", "--owner", &std::process::id().to_string(), "--token", &realm])
            .arg(issuer_dir.path().join("root.crt"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let addr = stdout.lines().find_map(|l| l.strip_prefix("ADDR=")).unwrap().to_string();
        let registry_dir = PathBuf::from(stdout.lines().find_map(|l| l.strip_prefix("DIR=")).unwrap());
        TokenRegistry { addr, realm, issuer, issuer_dir, registry_dir }
    }

    /// Change the issuer's rules (read again on every token request).
    pub fn set_rules(&self, rules: &Value) {
        std::fs::write(self.issuer_dir.path().join("rules.json"), serde_json::to_vec(rules).unwrap()).unwrap();
    }

    /// Every token request so far: method, grant, user, scopes, access granted.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.issuer_dir.path().join("requests.jsonl")).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Alice's login as podman's auth.json, in `dir`.
    pub fn auth_json(&self, dir: &std::path::Path) -> PathBuf {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
        let path = dir.join("auth.json");
        std::fs::write(&path, serde_json::to_vec(&json!({"auths": {&self.addr: {"auth": auth}}})).unwrap()).unwrap();
        path
    }

    /// skopeo's `--creds` for alice.
    pub fn creds(&self) -> String {
        format!("{USER}:{PASS}")
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        let _ = self.issuer.kill();
        let _ = self.issuer.wait();
        let _ = Command::new("bash").arg(super::project_root().join("scripts/registry.sh")).arg("stop").arg(&self.registry_dir).status();
    }
}
