//! Hostile-server benchmark: a loopback server that answers with endless bodies (a 2 GB
//! manifest, a 2 GB config, a 2 GB token response, a 500 MB tag list, sent without a length)
//! while `archlens` runs against it. Prints the CLI's peak resident memory (VmHWM) and time
//! for each, and what it said. Goal: every one under 64 MB, refused with a clear error.
//!
//! `cargo bench --bench hostile`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

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
    measure_with(args, &[])
}

fn measure_with(args: &[&str], envs: &[(&str, String)]) -> (u64, Duration, String) {
    let home = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_archlens"))
        .args(args)
        .args(["--retries", "0", "--no-cache"])
        .env("HOME", home.path())
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
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
    local_input();
}

/// What is not a registry: layout folders, credential helpers, tar headers, the journal.
fn local_input() {
    use archlens::registry::layout::{LayoutRef, write_layout};
    use archlens::testkit::{Compression, Entry, compress, image_with_layers, p};
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let layout = |name: &str, layers: Vec<(Vec<u8>, &'static str)>| -> String {
        // An image whose layers are the given (already compressed) blobs.
        let folder = root.join(name);
        let img = image_with_layers(&p("linux/amd64"), &[(vec![Entry::file("app", b"x")], Compression::Gzip)], serde_json::json!({ "Entrypoint": ["/app"] }));
        let mut manifest: serde_json::Value = serde_json::from_slice(&img.manifest).expect("manifest");
        let descs: Vec<serde_json::Value> =
            layers.iter().map(|(b, mt)| serde_json::json!({ "mediaType": mt, "digest": Digest::sha256(b), "size": b.len() })).collect();
        manifest["layers"] = serde_json::Value::Array(descs);
        let bytes = serde_json::to_vec(&manifest).expect("json");
        let digest = Digest::sha256(&bytes);
        let mut blobs: Vec<&[u8]> = vec![img.blobs[0].as_slice(), bytes.as_slice()];
        blobs.extend(layers.iter().map(|(b, _)| b.as_slice()));
        write_layout(&folder, blobs, &[LayoutRef { tag: "1", media_type: OCI_MANIFEST, digest: &digest, size: bytes.len() as u64 }]).expect("layout");
        format!("oci:{}:1", folder.display())
    };
    // A 3 GB PAX header in a small zstd layer.
    let mut pax = tar::Header::new_ustar();
    pax.set_entry_type(tar::EntryType::XHeader);
    pax.set_size(3 << 30);
    pax.set_cksum();
    let mut bomb = pax.as_bytes().to_vec();
    bomb.extend(std::iter::repeat_n(b'9', 1 << 20));
    let pax_layer = compress(&bomb, Compression::Zstd);
    let pax_ref = layout("pax", vec![(pax_layer, "application/vnd.oci.image.layer.v1.tar+zstd")]);
    // 8,000 paths of 64 KB each (GNU long names), zstd.
    let mut names = Vec::new();
    {
        let mut b = tar::Builder::new(&mut names);
        for i in 0..8000u32 {
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o755);
            h.set_entry_type(tar::EntryType::Regular);
            let name = format!("{i:08}/{}", "n".repeat(64 * 1024));
            b.append_data(&mut h, name, &[][..]).expect("tar");
        }
        b.finish().expect("tar");
    }
    let names_layer = compress(&names, Compression::Zstd);
    let names_ref = layout("names", vec![(names_layer, "application/vnd.oci.image.layer.v1.tar+zstd")]);
    // A blob linked to /dev/zero, and index.json a FIFO.
    let zero_ref = layout("zero", Vec::new());
    let zero_dir = root.join("zero");
    let manifest_blob = std::fs::read_dir(zero_dir.join("blobs/sha256"))
        .expect("blobs")
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"{\"schemaVersion\"") && b.windows(6).any(|w| w == b"layers")))
        .expect("the manifest");
    std::fs::remove_file(&manifest_blob).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &manifest_blob).expect("link");
    let fifo_dir = root.join("fifo");
    layout("fifo", Vec::new());
    std::fs::remove_file(fifo_dir.join("index.json")).expect("rm");
    Command::new("mkfifo").arg(fifo_dir.join("index.json")).status().expect("mkfifo");
    // Credential helpers: one that never answers, one that prints without end, for a server
    // that asks for credentials.
    let addr = serve(route);
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    for (name, script) in
        [("stuck", "#!/bin/sh\nexec sleep 600\n"), ("chatty", "#!/bin/sh\nexec yes AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n")]
    {
        let f = bin.join(format!("docker-credential-{name}"));
        std::fs::write(&f, script).expect("helper");
        std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&f).expect("meta").permissions(), 0o755);
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    }
    let helper_env = |name: &str| -> Vec<(&'static str, String)> {
        let cfg = root.join(format!("docker-{name}"));
        std::fs::create_dir_all(&cfg).expect("cfg");
        std::fs::write(cfg.join("config.json"), serde_json::json!({ "credHelpers": { addr.as_str(): name } }).to_string()).expect("config");
        vec![("DOCKER_CONFIG", cfg.display().to_string()), ("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))]
    };
    // A journal of 100,000 entries, every other one undoing the one before.
    let data = root.join("data");
    std::fs::create_dir_all(&data).expect("data");
    let mut journal = String::new();
    for i in 0..100_000u32 {
        let undoes = if i % 2 == 1 { format!(",\"undoes\":\"{}\"", i - 1) } else { String::new() };
        journal.push_str(&format!("{{\"id\":\"{i}\",\"time\":1,\"action\":\"push\",\"target\":\"r/a:{i}\"{undoes},\"outcome\":\"done\"}}\n"));
    }
    std::fs::write(data.join("journal.jsonl"), journal).expect("journal");
    let locked = format!("{addr}/locked/r");
    let fifo_ref = format!("oci:{}", fifo_dir.display());
    // (name, arguments, environment, memory goal in MB)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, String)>, f64);
    let cases: Vec<Case> = vec![
        ("3 GB PAX header", vec!["diagnose", &pax_ref, "--host", "x86-64"], vec![], 256.0),
        ("8,000 × 64 KB names", vec!["diagnose", &names_ref, "--host", "x86-64"], vec![], 256.0),
        ("blob → /dev/zero", vec!["inspect", &zero_ref], vec![], 64.0),
        ("index.json a FIFO", vec!["tags", &fifo_ref], vec![], 64.0),
        ("helper never answers", vec!["tags", &locked, "--timeout", "3"], helper_env("stuck"), 64.0),
        ("helper prints forever", vec!["tags", &locked], helper_env("chatty"), 64.0),
        // A time goal only: the list itself is the output.
        ("undo --list, 100k", vec!["undo", "--list"], vec![("ARCHLENS_DATA_DIR", data.display().to_string())], f64::INFINITY),
    ];
    println!(
        "archlens against hostile local input (goal: layers under 256 MB, the rest under 64 MB, each refused at once; undo --list of 100,000 entries under 2 s)"
    );
    for (name, args, envs, goal) in cases {
        let (peak, took, said) = measure_with(&args, &envs);
        let mb = peak as f64 / 1e6;
        let time_ok = name != "undo --list, 100k" || took < Duration::from_secs(2);
        println!("  {name:<22} peak {mb:>6.1} MB  in {:>5.2} s  {}  — {said}", took.as_secs_f64(), if mb < goal && time_ok { "met" } else { "MISSED" });
    }
}
