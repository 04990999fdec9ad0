//! The import rules between layers: `model` is pure, `registry` knows only `model`, the UI
//! never touches `registry`, tokio or HTTP directly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
        }
    }
}

fn check(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer);
    if !root.exists() {
        return Vec::new();
    }
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut bad = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for f in forbidden {
                if code.contains(f) {
                    bad.push(format!("{path}:{}: `{f}` in {layer}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    bad
}

#[test]
fn model_is_pure() {
    let bad =
        check("model", &["crate::registry", "crate::worker", "crate::state", "crate::ui", "tokio", "reqwest", "egui", "std::fs", "std::net", "std::process"]);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn registry_uses_only_model() {
    let bad = check("registry", &["crate::worker", "crate::state", "crate::ui", "egui"]);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_protocol_is_plain_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("protocol.rs");
    let text = std::fs::read_to_string(root).unwrap();
    for f in ["crate::registry", "crate::worker", "crate::state", "crate::ui", "tokio", "reqwest", "egui", "std::fs", "std::net"] {
        assert!(!text.lines().any(|l| l.split("//").next().unwrap_or("").contains(f)), "`{f}` in src/protocol.rs");
    }
}

#[test]
fn state_and_ui_never_do_io() {
    // The state speaks the protocol, never the worker that serves it.
    let mut bad = check("state", &["crate::registry", "crate::worker", "crate::ui", "tokio", "reqwest", "egui"]);
    bad.extend(check("ui", &["crate::registry", "tokio", "reqwest", "std::net"]));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
