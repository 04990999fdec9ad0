//! Hostile-server benchmark: a loopback server that answers with endless bodies (a 2 GB
//! manifest, a 2 GB config, a 2 GB token response, a 500 MB tag list, sent without a length)
//! while `archlens` runs against it. Prints the CLI's peak resident memory (VmHWM) and time
//! for each, and what it said. Goal: every one under 64 MB, refused with a clear error.
//!
//! `cargo bench --bench hostile`

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use archlens::model::digest::Digest;
use archlens::model::manifest::OCI_MANIFEST;

const GB2: u64 = 2 << 30;

/// Serve forever: each connection gets the answer `route` picks for its request line.
fn serve(route: fn(&str, &str) -> (String, u64)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let me = addr.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let me = me.clone();
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let (start, endless) = route(&head, &me);
                if conn.write_all(start.as_bytes()).is_err() {
                    return;
                }
                // An endless body: `endless` bytes of JSON-ish filler, no length given.
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0u64;
                while sent < endless {
                    if conn.write_all(&chunk).is_err() {
                        return;
                    }
                    sent += chunk.len() as u64;
                }
            });
        }
    });
    addr
}

fn route(head: &str, me: &str) -> (String, u64) {
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let close = "Connection: close\r\n";
    if path.starts_with("/token") {
        return (format!("HTTP/1.1 200 OK\r\n{close}Content-Type: application/json\r\n\r\n{{\"token\":\""), GB2);
    }
    if path.starts_with("/v2/locked/") && !head.to_ascii_lowercase().contains("authorization:") {
        let challenge = format!("Bearer realm=\"http://{me}/token\",service=\"x\"");
        return (format!("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Length: 0\r\n\r\n"), 0);
    }
    if path.starts_with("/v2/tags/r/tags/list") {
        return (format!("HTTP/1.1 200 OK\r\n{close}Content-Type: application/json\r\n\r\n{{\"name\":\"r\",\"tags\":[\""), 500 << 20);
    }
    if path.starts_with("/v2/config/r/manifests/") {
        let m = small_manifest();
        let d = Digest::sha256(&m);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {OCI_MANIFEST}\r\nDocker-Content-Digest: {d}\r\nContent-Length: {}\r\n\r\n", m.len());
        return (head + &String::from_utf8_lossy(&m), 0);
    }
    // Manifests and configs: endless.
    (format!("HTTP/1.1 200 OK\r\n{close}Content-Type: {OCI_MANIFEST}\r\n\r\n{{"), GB2)
}

fn small_manifest() -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2147483648}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{}","size":1}}]}}"#,
        "ab".repeat(32),
        "cd".repeat(32)
    )
    .into_bytes()
}

/// Run `archlens ARGS`, polling its peak resident memory.
fn measure(args: &[&str]) -> (u64, Duration, String) {
    let home = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_archlens"))
        .args(args)
        .args(["--retries", "0", "--no-cache"])
        .env("HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("archlens");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(kb) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    (peak_kb * 1024, t.elapsed(), err.trim().chars().take(160).collect())
}

fn main() {
    let addr = serve(route);
    let cases: [(&str, Vec<String>); 4] = [
        ("2 GB manifest", vec!["inspect".into(), format!("{addr}/big/r:1")]),
        ("2 GB config", vec!["inspect".into(), format!("{addr}/config/r:1")]),
        ("2 GB token response", vec!["tags".into(), format!("{addr}/locked/r")]),
        ("500 MB tag list", vec!["tags".into(), format!("{addr}/tags/r")]),
    ];
    println!("archlens against a server sending endless bodies (goal: peak under 64 MB each)");
    for (name, args) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (peak, took, said) = measure(&args);
        let mb = peak as f64 / 1e6;
        println!("  {name:<22} peak {mb:>6.1} MB  in {:>5.2} s  {}  — {said}", took.as_secs_f64(), if mb < 64.0 { "met" } else { "MISSED" });
    }
}
