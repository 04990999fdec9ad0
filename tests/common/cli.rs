//! Running the `archlens` binary with a private cache and data dir (so a private push journal).

use std::process::{Command, Output};

pub struct Env {
    pub cache: tempfile::TempDir,
    pub data: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env { cache: tempfile::tempdir().unwrap(), data: tempfile::tempdir().unwrap() }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_archlens"));
        c.args(args)
            .env("ARCHLENS_CACHE_DIR", self.cache.path())
            .env("ARCHLENS_DATA_DIR", self.data.path())
            .env("HOME", self.cache.path())
            .env_remove("ARCHLENS_FAULT_PAUSE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn journal(&self) -> std::path::PathBuf {
        self.data.path().join("journal.jsonl")
    }
}

/// Stdout of a successful run; the whole output when it failed.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr of a run that exited with `code`.
pub fn fails_with(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {err}", String::from_utf8_lossy(&out.stdout));
    err
}

/// Check `bytes` against the image-spec JSON schema of an image index.
pub fn assert_index_schema_valid(env: &Env, bytes: &[u8]) {
    let file = env.data.path().join("schema-check.json");
    std::fs::write(&file, bytes).unwrap();
    let check = Command::new("python3")
        .arg(super::project_root().join("scripts/validate-schema.py"))
        .arg(super::fixtures().join("schema"))
        .arg("image-index-schema.json")
        .arg(&file)
        .output()
        .expect("python3");
    assert!(check.status.success(), "schema: {}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
}

/// `archlens ARGS --retries 0` in `home`, with no credentials but those `envs` point to.
pub fn run_with_only(home: &std::path::Path, args: &[&str], envs: &[(&str, std::ffi::OsString)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_archlens"));
    c.args(args)
        .args(["--retries", "0"])
        .env("HOME", home)
        .env("ARCHLENS_CACHE_DIR", home.join("cache"))
        .env("ARCHLENS_DATA_DIR", home.join("data"))
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}
