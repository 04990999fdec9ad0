//! Faults a real registry will not produce on demand, from a small local HTTP server:
//! tampered bytes, 429 with Retry-After, 5xx storms, resets, a hung server, expired tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use archlens::model::digest::Digest;
use archlens::model::manifest::OCI_MANIFEST;
use archlens::model::reference::Registry;
use archlens::registry::{Cache, ClientOptions, RegistryClient, RegistryError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

enum Action {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 with `body` sent one byte every `every`.
    Drip {
        body: Vec<u8>,
        every: Duration,
    },
    Hang,
    Reset,
    /// `Respond` after `wait`.
    Slow {
        wait: Duration,
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

fn ok(body: &[u8], headers: &[(&str, &str)]) -> Action {
    Action::Respond { status: 200, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: body.to_vec() }
}

struct Fake {
    addr: String,
    hits: Arc<AtomicUsize>,
}

/// Serve `handler(request_head, n)` for each request, one connection per request.
async fn serve(handler: impl Fn(&str, usize, &str) -> Action + Send + Sync + 'static) -> Fake {
    serve_counted(Arc::new(AtomicUsize::new(0)), handler).await
}

/// [`serve`], counting in `in_flight` the requests being answered (read, not yet written).
async fn serve_counted(in_flight: Arc<AtomicUsize>, handler: impl Fn(&str, usize, &str) -> Action + Send + Sync + 'static) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let handler = Arc::new(handler);
    let self_addr = addr.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let n = h2.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            let self_addr = self_addr.clone();
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(k) = sock.read(&mut buf).await else { return };
                    if k == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..k]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                in_flight.fetch_add(1, Ordering::SeqCst);
                let action = match handler(&head, n, &self_addr) {
                    Action::Slow { wait, status, headers, body } => {
                        tokio::time::sleep(wait).await;
                        Action::Respond { status, headers, body }
                    }
                    other => other,
                };
                match action {
                    Action::Slow { .. } => {}
                    Action::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
                    Action::Drip { body, every } => {
                        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                        let _ = sock.write_all(head.as_bytes()).await;
                        for b in body {
                            if sock.write_all(&[b]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(every).await;
                        }
                    }
                    Action::Reset => drop(sock),
                    Action::Respond { status, headers, body } => {
                        let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                        for (k, v) in headers {
                            resp.push_str(&format!("{k}: {v}\r\n"));
                        }
                        resp.push_str("\r\n");
                        let _ = sock.write_all(resp.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                        let _ = sock.shutdown().await;
                    }
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Fake { addr, hits }
}

/// A registry's 401 naming this fake's own token service.
fn bearer_challenge(me: &str) -> Action {
    Action::Respond {
        status: 401,
        headers: vec![("WWW-Authenticate".into(), format!(r#"Bearer realm="http://{me}/token",service="fake""#))],
        body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_vec(),
    }
}

fn client(addr: &str, timeout_ms: u64) -> RegistryClient {
    let opts = ClientOptions { timeout: Duration::from_millis(timeout_ms), initial_backoff: Duration::from_millis(10), ..ClientOptions::default() };
    RegistryClient::new(Registry::parse(addr).unwrap(), None, opts).unwrap()
}

const GOOD: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
const EVIL: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","x":1}"#;

#[tokio::test]
async fn tampered_manifest_fetched_by_digest_is_rejected() {
    let fake = serve(|_, _, _| ok(EVIL, &[("Content-Type", OCI_MANIFEST)])).await;
    let c = client(&fake.addr, 5000);
    let d = Digest::sha256(GOOD);
    let err = c.get_manifest("r", d.as_str()).await.unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(d.as_str()), "{err}");
}

#[tokio::test]
async fn tampered_manifest_fetched_by_tag_is_rejected_by_its_digest_header() {
    let header = Digest::sha256(GOOD).to_string();
    let fake = serve(move |_, _, _| ok(EVIL, &[("Docker-Content-Digest", &header)])).await;
    let c = client(&fake.addr, 5000);
    let err = c.get_manifest("r", "latest").await.unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn tampered_blob_is_rejected() {
    let fake = serve(|_, _, _| ok(b"not the config", &[])).await;
    let c = client(&fake.addr, 5000);
    let err = c.get_blob("r", &Digest::sha256(b"the config")).await.unwrap_err();
    assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_waited_out_and_retried() {
    let fake = serve(|_, n, _| {
        if n == 0 { Action::Respond { status: 429, headers: vec![("Retry-After".into(), "1".into())], body: b"slow down".to_vec() } } else { ok(GOOD, &[]) }
    })
    .await;
    let c = client(&fake.addr, 5000);
    let start = Instant::now();
    let f = c.get_manifest("r", Digest::sha256(GOOD).as_str()).await.unwrap();
    assert_eq!(f.bytes, GOOD);
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() >= Duration::from_millis(950), "Retry-After: 1 was not honoured ({:?})", start.elapsed());
}

#[tokio::test]
async fn persistent_rate_limit_gives_up_with_a_typed_error() {
    let fake = serve(|_, _, _| Action::Respond { status: 429, headers: vec![("Retry-After".into(), "0".into())], body: Vec::new() }).await;
    let c = client(&fake.addr, 5000);
    let err = c.tags_all("r").await.unwrap_err();
    assert!(matches!(err, RegistryError::RateLimited { .. }), "{err}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 4, "one try and three retries");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let fake = serve(
        |_, n, _| {
            if n < 2 { Action::Respond { status: 503, headers: vec![], body: b"busy".to_vec() } } else { ok(br#"{"name":"r","tags":["a"]}"#, &[]) }
        },
    )
    .await;
    let c = client(&fake.addr, 5000);
    assert_eq!(c.tags_all("r").await.unwrap(), ["a"]);
    assert_eq!(fake.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn connection_resets_are_retried_then_reported() {
    let fake = serve(|_, _, _| Action::Reset).await;
    let c = client(&fake.addr, 5000);
    let err = c.tags_all("r").await.unwrap_err();
    assert!(matches!(err, RegistryError::Connection { .. }), "{err}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_hung_server_times_out() {
    let fake = serve(|_, _, _| Action::Hang).await;
    let c = client(&fake.addr, 500);
    let start = Instant::now();
    let err = c.get_manifest("r", "latest").await.unwrap_err();
    assert!(matches!(err, RegistryError::Timeout { .. }), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert!(err.to_string().contains("--timeout"), "{err}");
}

#[tokio::test]
async fn bearer_tokens_are_fetched_and_expired_credentials_are_explained() {
    // The token service accepts the first request and refuses the next: credentials expired.
    let fake = serve(|head, _, me| {
        let authed = head.to_ascii_lowercase().contains("authorization: bearer good");
        if head.starts_with("GET /token") {
            if head.contains("scope=repository%3Aok%3Apull") {
                ok(br#"{"token":"good"}"#, &[])
            } else {
                Action::Respond { status: 401, headers: vec![], body: br#"{"details":"expired"}"#.to_vec() }
            }
        } else if authed {
            ok(br#"{"name":"ok","tags":["1"]}"#, &[])
        } else {
            bearer_challenge(me)
        }
    })
    .await;
    let c = client(&fake.addr, 5000);
    assert_eq!(c.tags_all("ok").await.unwrap(), ["1"]);
    let err = c.tags_all("expired").await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("repository:expired:pull") && msg.contains("docker login"), "{msg}");
}

#[tokio::test]
async fn a_corrupted_cache_entry_is_dropped_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    let d = Digest::sha256(GOOD);
    cache.put(&d, GOOD).await.unwrap();
    assert_eq!(cache.get(&d).await.as_deref(), Some(GOOD), "readable at once, before the writer wrote it");
    archlens::registry::cache::flush_writes(Duration::from_secs(5));
    let path = dir.path().join("blobs/sha256").join(d.encoded());
    assert_eq!(std::fs::read(&path).unwrap(), GOOD, "on disk after the flush");
    std::fs::write(&path, EVIL).unwrap();
    assert_eq!(cache.get(&d).await, None);
    assert!(!path.exists(), "the damaged entry is removed");
    // A FIFO or a link to /dev/zero where an entry should be: a miss, at once.
    let fifo = dir.path().join("blobs/sha256").join(Digest::sha256(b"fifo").encoded());
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = Instant::now();
    assert_eq!(cache.get(&Digest::sha256(b"fifo")).await, None);
    let zero = dir.path().join("blobs/sha256").join(Digest::sha256(b"zero").encoded());
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    assert_eq!(cache.get(&Digest::sha256(b"zero")).await, None);
    assert!(started.elapsed() < Duration::from_secs(2), "neither hangs nor reads forever");
}

#[tokio::test]
async fn a_password_is_never_sent_to_a_plain_http_token_realm_on_another_host() {
    // A registry (or something posing as one) names a clear-text token service elsewhere.
    let fake = serve(|_, _, _| Action::Respond {
        status: 401,
        headers: vec![("WWW-Authenticate".into(), r#"Bearer realm="http://192.0.2.10/token",service="fake""#.into())],
        body: Vec::new(),
    })
    .await;
    let creds = archlens::registry::auth::Credentials::Basic { username: "alice".into(), password: "secret".into() };
    let c = RegistryClient::new(Registry::parse(&fake.addr).unwrap(), Some(creds), ClientOptions { max_retries: 0, ..ClientOptions::default() }).unwrap();
    let started = Instant::now();
    let err = c.tags_all("team/app").await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Unauthorized { .. }) && msg.contains("plain HTTP") && msg.contains("does not send credentials"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(5), "refused before any connection to the realm");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1, "only the registry was asked");
}

/// `archlens ARGS` against a fake server, from inside the test's runtime.
async fn cli(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_archlens"))
            .args(&args)
            .env("HOME", home.path())
            .env("ARCHLENS_CACHE_DIR", home.path().join("cache"))
            .env_remove("ARCHLENS_LOG")
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn waiting_out_a_rate_limit_is_said_and_a_longer_wait_than_the_cap_is_reported() {
    let fake = serve(|head, n, _| {
        if head.contains("/slow/") {
            Action::Respond { status: 429, headers: vec![("Retry-After".into(), "3600".into())], body: Vec::new() }
        } else if n == 0 {
            Action::Respond {
                status: 429,
                headers: vec![("Retry-After".into(), "1".into()), ("RateLimit-Remaining".into(), "0;w=21600".into())],
                body: Vec::new(),
            }
        } else {
            ok(br#"{"name":"r","tags":["1.0"]}"#, &[("RateLimit-Remaining", "99;w=21600")])
        }
    })
    .await;
    let out = cli(vec!["tags".into(), format!("{}/fast/app", fake.addr)]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("rate limited by {}, retrying in 1 s", fake.addr)), "said while waiting: {err}");
    // Longer than the cap (30 s): no waiting an hour; the server's time is reported.
    let started = Instant::now();
    let out = cli(vec!["tags".into(), format!("{}/slow/app", fake.addr)]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate limiting") && err.contains("retry after 3600 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn verbose_logs_each_request_and_never_a_secret() {
    let fake = serve(|head, _, me| {
        let lower = head.to_ascii_lowercase();
        if head.starts_with("GET /token") {
            ok(br#"{"token":"tok-SECRET-123"}"#, &[])
        } else if lower.contains("authorization: bearer tok-secret-123") {
            ok(br#"{"name":"team/app","tags":["1.0"]}"#, &[])
        } else {
            Action::Respond {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), format!(r#"Bearer realm="http://{me}/token",service="fake""#))],
                body: Vec::new(),
            }
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:pw-SECRET-456");
    let file = home.path().join("auth.json");
    std::fs::write(&file, format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, fake.addr)).unwrap();
    let addr = fake.addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_archlens"))
            .args(["--verbose", "tags", &format!("{addr}/team/app")])
            .env("HOME", home.path())
            .env("ARCHLENS_CACHE_DIR", home.path().join("cache"))
            .env("REGISTRY_AUTH_FILE", &file)
            .env_remove("ARCHLENS_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("/v2/team/app/tags/list") && err.contains("status=401") && err.contains("status=200"), "{err}");
    assert!(err.contains("scope=\"repository:team/app:pull\"") && err.contains("token request") && err.contains("ms="), "{err}");
    assert!(!err.contains("SECRET") && !err.contains(&auth), "no secret in the log: {err}");
}

#[tokio::test]
async fn the_app_worker_says_when_it_waits_out_a_rate_limit() {
    use archlens::worker::{Command as W, Event};
    let fake =
        serve(
            |_, n, _| {
                if n == 0 { Action::Respond { status: 429, headers: vec![("Retry-After".into(), "1".into())], body: Vec::new() } } else { ok(b"{}", &[]) }
            },
        )
        .await;
    let registry = Registry::parse(&fake.addr).unwrap();
    let events = tokio::task::spawn_blocking(move || {
        let worker = archlens::worker::spawn_with_cache(ClientOptions::default(), None, Arc::new(|| {})).unwrap();
        worker.send(W::Connect { id: 1, registry, insecure: false });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while Instant::now() < deadline && !seen.iter().any(|e: &Event| e.id() == 1) {
            seen.extend(worker.drain());
            std::thread::sleep(Duration::from_millis(20));
        }
        seen
    })
    .await
    .unwrap();
    let waiting = events.iter().find_map(|e| match e {
        Event::Waiting { message, id } => {
            assert_eq!(*id, archlens::protocol::RATE_LIMIT_WAIT, "its own id, not a request's (the settings' is 0)");
            Some(message.clone())
        }
        _ => None,
    });
    assert_eq!(waiting.as_deref(), Some(format!("rate limited by {}, retrying in 1 s", fake.addr).as_str()), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Connected { id: 1, .. })), "{events:?}");
}

/// Serve one image: its manifest at any tag, its config, and `layer` for every other blob.
async fn serve_image(img: archlens::testkit::Image, layer: Vec<u8>) -> Fake {
    let config_digest = Digest::sha256(&img.blobs[0]);
    serve(move |head, _, _| {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        if path.contains("/manifests/") {
            ok(&img.manifest, &[("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", img.digest.as_str())])
        } else if path.ends_with(config_digest.as_str()) {
            ok(&img.blobs[0], &[])
        } else if path.contains("/blobs/") {
            ok(&layer, &[])
        } else {
            ok(b"{}", &[])
        }
    })
    .await
}

fn arm64_app(extra: Option<Vec<u8>>) -> archlens::testkit::Image {
    use archlens::testkit::{Compression, Entry, image_with_layers, p};
    let mut app = archlens::model::binary::elf_header(183, true, true);
    app.resize(8192, 0);
    let mut entries = vec![Entry::file("app", &app)];
    if let Some(big) = extra {
        entries.push(Entry::file("big", &big));
    }
    image_with_layers(&p("linux/arm64"), &[(entries, Compression::None)], serde_json::json!({"Entrypoint": ["/app"]}))
}

#[tokio::test]
async fn deep_diagnosis_never_judges_layer_bytes_that_do_not_match_their_digest() {
    let img = arm64_app(None);
    let good = img.blobs[1].clone();
    let mut tampered = good.clone();
    // Same size, one byte changed in the tar's end blocks: the scanner still finds /app.
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let args = |addr: &str| {
        vec!["diagnose".to_string(), format!("{addr}/team/app:1"), "--host".into(), "linux/arm64".into(), "--deep".into(), "--format".into(), "json".into()]
    };
    let honest = serve_image(img.clone(), good).await;
    let out = cli(args(&honest.addr)).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "ok");
    assert!(v.get("partly_verified").is_none(), "a layer read to its end is verified: {v}");
    let lying = serve_image(img, tampered).await;
    let out = cli(args(&lying.addr)).await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match digest") && err.contains("layer"), "{err}");
}

#[tokio::test]
async fn a_layer_read_in_part_is_said_to_be_not_fully_verified() {
    // /app first, then 8 MB the scanner never needs.
    let noise: Vec<u8> = (0..8_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let img = arm64_app(Some(noise));
    let layer = img.blobs[1].clone();
    let fake = serve_image(img, layer).await;
    let out = cli(vec![
        "diagnose".into(),
        format!("{}/team/app:1", fake.addr),
        "--host".into(),
        "linux/arm64".into(),
        "--deep".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "ok");
    let partly = v["partly_verified"].as_array().expect("said").clone();
    assert!(partly[0].as_str().unwrap().contains("read in part") && partly[0].as_str().unwrap().contains("not checked against its digest"), "{v}");
    let table = cli(vec!["diagnose".into(), format!("{}/team/app:1", fake.addr), "--host".into(), "linux/arm64".into(), "--deep".into()]).await;
    assert!(String::from_utf8_lossy(&table.stdout).contains("Verified:   not fully"), "{}", String::from_utf8_lossy(&table.stdout));
}

#[tokio::test]
async fn every_body_read_is_capped() {
    let big_manifest = vec![b' '; 9 << 20];
    let big_list = format!(r#"{{"name":"r","tags":["{}"]}}"#, "a".repeat(17 << 20)).into_bytes();
    let fake = serve(move |head, _, me| {
        if head.starts_with("GET /v2/r/manifests/") {
            ok(&big_manifest, &[])
        } else if head.starts_with("GET /v2/r/tags/list") {
            ok(&big_list, &[])
        } else if head.starts_with("GET /token") {
            ok(&vec![b'x'; 2 << 20], &[])
        } else if head.starts_with("GET /v2/locked/") {
            Action::Respond {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), format!(r#"Bearer realm="http://{me}/token",service="fake""#))],
                body: Vec::new(),
            }
        } else {
            // A huge error body is cut, never refused or read whole.
            Action::Respond { status: 500, headers: vec![], body: vec![b'e'; 1 << 20] }
        }
    })
    .await;
    let c = client(&fake.addr, 5000);
    let too_large = |e: RegistryError| match e {
        RegistryError::TooLarge { limit, .. } => limit,
        other => panic!("{other}"),
    };
    assert_eq!(too_large(c.get_manifest("r", "1.0").await.unwrap_err()), 8 << 20);
    assert_eq!(too_large(c.tags_all("r").await.unwrap_err()), 16 << 20);
    assert_eq!(too_large(c.tags_all("locked/app").await.unwrap_err()), 1 << 20);
    let opts = ClientOptions { max_retries: 0, ..ClientOptions::default() };
    let c0 = RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, opts).unwrap();
    match c0.get_manifest("elsewhere", "1.0").await.unwrap_err() {
        RegistryError::Http { status: 500, detail, .. } => assert!(detail.len() <= 200, "the message quotes a little of it"),
        other => panic!("{other}"),
    }
    // The limits are the user's to raise.
    let mut limits = archlens::registry::client::Limits::default();
    limits.set("manifest=10MiB").unwrap();
    assert!(limits.set("manifest=lots").is_err() && limits.set("nothing=1").is_err());
    let roomy = RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, ClientOptions { limits, ..ClientOptions::default() }).unwrap();
    assert!(!matches!(roomy.get_manifest("r", "1.0").await, Err(RegistryError::TooLarge { .. })));
}

#[tokio::test]
async fn pagination_loops_and_endless_pages_stop_and_say_so() {
    let fake = serve(|head, _, _| {
        let next = if head.contains("page=a") { "b" } else { "a" };
        let body = format!(r#"{{"name":"r","tags":["t-{next}"]}}"#);
        let link = format!(r#"</v2/r/tags/list?page={next}>; rel="next""#);
        ok(body.as_bytes(), &[("Link", link.as_str())])
    })
    .await;
    let c = client(&fake.addr, 5000);
    let err = c.tags_all("r").await.unwrap_err();
    assert!(matches!(err, RegistryError::Pagination { .. }) && err.to_string().contains("loop"), "{err}");
    assert!(fake.hits.load(Ordering::SeqCst) <= 4);
    // Always a new page: stopped at the limit.
    let endless = serve(|head, n, _| {
        let _ = head;
        let body = format!(r#"{{"name":"r","tags":["t{n}"]}}"#);
        let link = format!(r#"</v2/r/tags/list?page={}>; rel="next""#, n + 1);
        ok(body.as_bytes(), &[("Link", link.as_str())])
    })
    .await;
    let mut limits = archlens::registry::client::Limits::default();
    limits.set("pages=5").unwrap();
    let c = RegistryClient::new(Registry::parse(&endless.addr).unwrap(), None, ClientOptions { limits, ..ClientOptions::default() }).unwrap();
    let err = c.tags_all("r").await.unwrap_err();
    assert!(err.to_string().contains("stopped after 5 pages"), "{err}");
}

#[tokio::test]
async fn names_a_registry_lists_are_checked_before_use() {
    let fake = serve(|head, _, _| {
        if head.starts_with("GET /v2/_catalog") {
            ok(br#"{"repositories":["team/app","../../etc","Team/Caps"]}"#, &[])
        } else {
            ok(b"{\"name\":\"r\",\"tags\":[\"1.0\",\"../../../etc/passwd\",\"\\u001b[31mred\",\"-x\"]}", &[])
        }
    })
    .await;
    let c = client(&fake.addr, 5000);
    assert_eq!(c.tags_all("r").await.unwrap(), vec!["1.0".to_string()]);
    assert_eq!(c.catalog_all().await.unwrap(), vec!["team/app".to_string()]);
}

#[tokio::test]
async fn unverifiable_digests_are_never_read_and_failures_stay_with_their_repository() {
    const INDEX: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let fake =
        serve(
            |head, _, _| {
                if head.starts_with("GET /v2/good/manifests/") { ok(INDEX, &[]) } else { Action::Respond { status: 404, headers: vec![], body: Vec::new() } }
            },
        )
        .await;
    let c = client(&fake.addr, 5000);
    let err = c.get_manifest("r", "md5:d41d8cd98f00b204e9800998ecf8427e").await.unwrap_err();
    assert!(err.to_string().contains("cannot be verified"), "{err}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 0, "nothing is asked for by a digest that cannot be checked");
    // A digest missing from one repository is still read from another in the same run.
    let fetcher = archlens::registry::Fetcher::new(Arc::new(c), None);
    let d = Digest::sha256(INDEX);
    assert!(fetcher.manifest("bad", &d).await.is_err());
    assert_eq!(fetcher.manifest("good", &d).await.unwrap().bytes.as_slice(), INDEX);
}

#[tokio::test]
async fn a_layer_sent_one_byte_at_a_time_stops_at_the_timeout() {
    let img = arm64_app(None);
    let config_digest = Digest::sha256(&img.blobs[0]);
    let layer = img.blobs[1].clone();
    let fake = serve(move |head, _, _| {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        if path.contains("/manifests/") {
            ok(&img.manifest, &[("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", img.digest.as_str())])
        } else if path.ends_with(config_digest.as_str()) {
            ok(&img.blobs[0], &[])
        } else {
            Action::Drip { body: layer.clone(), every: Duration::from_millis(50) }
        }
    })
    .await;
    let started = Instant::now();
    let out = cli(vec![
        "diagnose".into(),
        format!("{}/team/app:1", fake.addr),
        "--host".into(),
        "linux/arm64".into(),
        "--deep".into(),
        "--timeout".into(),
        "2".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(started.elapsed() < Duration::from_secs(8), "stopped at the timeout, took {:?}", started.elapsed());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("within 2 s") || err.contains("--timeout"), "{err}");
}

#[tokio::test]
async fn messages_name_redirect_loops_and_servers_that_are_not_registries() {
    let looping =
        serve(|_, _, me| Action::Respond { status: 302, headers: vec![("Location".into(), format!("http://{me}/v2/again"))], body: Vec::new() }).await;
    let err = client(&looping.addr, 5000).tags_all("r").await.unwrap_err().to_string();
    assert!(err.contains("redirect loop") && !err.contains("cannot connect"), "{err}");
    let web = serve(|_, _, _| Action::Respond {
        status: 404,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: b"<html><body>Not Found</body></html>".to_vec(),
    })
    .await;
    let err = client(&web.addr, 5000).tags_all("r").await.unwrap_err().to_string();
    assert!(err.contains("not a container registry"), "{err}");
    let err = client(&web.addr, 5000).ping().await.unwrap_err().to_string();
    assert!(err.contains("not a container registry"), "{err}");
    // A catch-all page that answers 200 everywhere is no registry either.
    let catch_all = serve(|_, _, _| Action::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<!doctype html><html><body>app</body></html>".to_vec(),
    })
    .await;
    let err = client(&catch_all.addr, 5000).ping().await.unwrap_err().to_string();
    assert!(err.contains("not a container registry") && err.contains("HTTP 200"), "{err}");
}

/// A registry that goes away mid-load: after five tags in a row cannot reach it, the matrix
/// stops asking (no retries and timeouts spent on each remaining tag) and says it is partial.
#[tokio::test]
async fn a_registry_that_goes_away_midway_stops_the_matrix_which_says_it_is_partial() {
    let tags: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
    let list = serde_json::json!({ "name": "r", "tags": tags }).to_string();
    // An artifact manifest: one request per tag while the registry answers.
    let artifact = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let digest = Digest::sha256(artifact).to_string();
    let manifests = Arc::new(AtomicUsize::new(0));
    let m2 = manifests.clone();
    let fake = serve(move |head, _, _| {
        if head.contains("/tags/list") {
            return ok(list.as_bytes(), &[("Content-Type", "application/json")]);
        }
        if head.starts_with("GET /v2/ ") {
            return ok(b"{}", &[]);
        }
        // The first ten manifests are served; then the registry is gone.
        if m2.fetch_add(1, Ordering::SeqCst) < 10 { ok(artifact, &[("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", &digest)]) } else { Action::Reset }
    })
    .await;
    let opts = ClientOptions { timeout: Duration::from_millis(3000), initial_backoff: Duration::from_millis(5), concurrency: 1, ..ClientOptions::default() };
    let c = Arc::new(RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, opts).unwrap());
    let fetcher = archlens::registry::Fetcher::new(c, None);
    let repo = archlens::model::Repository::parse(&format!("{}/r", fake.addr)).unwrap();
    let listed = fetcher.store().tags("r").await.unwrap();
    let m = fetcher.matrix(&repo, listed, |_, _, _| {}).await;
    let why = m.partial.clone().expect("the matrix says it is partial");
    assert!(why.contains("stopped answering after 15 of 40 tags") && why.contains("Retry"), "{why}");
    assert_eq!(m.rows.len(), 15, "ten read, five that could not reach it, and no more asked for");
    let asked = manifests.load(Ordering::SeqCst);
    assert!(asked <= 10 + 5 * 4, "each unreachable tag is tried with its retries, the rest never: {asked} manifest requests");
}

#[tokio::test]
async fn a_token_with_line_breaks_is_an_invalid_answer_of_the_token_service() {
    let fake =
        serve(|head, _, me| if head.starts_with("GET /token") { ok(b"{\"token\":\"abc\\r\\nX-Injected: 1\"}", &[]) } else { bearer_challenge(me) }).await;
    let err = client(&fake.addr, 5000).tags_all("app").await.unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("invalid token"), "not a connection failure: {err}");
}

#[tokio::test]
async fn a_blob_read_is_retried_after_a_reset_and_checked_to_its_end() {
    use archlens::registry::Store;
    let layer = b"layer bytes".to_vec();
    let d = Digest::sha256(&layer);
    let body = layer.clone();
    let fake = serve(move |head, n, _| if head.starts_with("GET /v2/r/blobs/") && n == 0 { Action::Reset } else { ok(&body, &[]) }).await;
    let c = client(&fake.addr, 5000);
    let mut r = Store::open_blob(&c, "r", &d, layer.len() as u64).await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = r.next_chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, layer);
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2, "one reset, one retry");
}

#[tokio::test]
async fn requests_refused_together_wait_for_one_token_renewal() {
    // Each token lasts 150 ms; the token service takes 1 s to answer; each request (a manifest
    // or a blob) takes 50 ms.
    // The 16 requests in flight meet each expiry together: they share one renewal instead of
    // logging in 16 times.
    // When each token starts to be valid: when its answer arrives.
    let issued: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::new(std::sync::Mutex::new(Vec::new()));
    let tokens = Arc::new(AtomicUsize::new(0));
    let (i, t) = (issued.clone(), tokens.clone());
    let fake = serve(move |head, _, me| {
        if head.starts_with("GET /token") {
            t.fetch_add(1, Ordering::SeqCst);
            let mut starts = i.lock().unwrap();
            starts.push(Instant::now() + Duration::from_secs(1));
            let body = format!(r#"{{"token":"g{}"}}"#, starts.len() - 1).into_bytes();
            return Action::Slow { wait: Duration::from_secs(1), status: 200, headers: vec![], body };
        }
        let lower = head.to_ascii_lowercase();
        let token = lower.split("authorization: bearer g").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<usize>().ok());
        let valid = token.and_then(|n| i.lock().unwrap().get(n).copied()).is_some_and(|from| {
            let now = Instant::now();
            now >= from && now < from + Duration::from_millis(150)
        });
        if valid {
            Action::Slow { wait: Duration::from_millis(50), status: 200, headers: vec![("Content-Type".into(), OCI_MANIFEST.into())], body: GOOD.to_vec() }
        } else {
            bearer_challenge(me)
        }
    })
    .await;
    let c = RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, ClientOptions::default()).unwrap();
    let d = Digest::sha256(GOOD);
    // Half manifests, half blob streams (read to their checked end): one path for both.
    let read = |i: usize| {
        let (c, d) = (&c, d.clone());
        async move {
            if i.is_multiple_of(2) {
                c.get_manifest("r", d.as_str()).await.map(|_| ())
            } else {
                let mut r = archlens::registry::Store::open_blob(c, "r", &d, GOOD.len() as u64).await?;
                while r.next_chunk().await?.is_some() {}
                Ok(())
            }
        }
    };
    let got = futures::future::join_all((0..120).map(read)).await;
    let failed: Vec<String> = got.iter().filter_map(|r| r.as_ref().err().map(|e| e.to_string())).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let asked = tokens.load(Ordering::SeqCst);
    // 120 requests, 16 at a time, 50 ms each: about 8 rounds, each token good for about 3, so a
    // few renewals; one login per refused request would be over 40.
    assert!((2..=8).contains(&asked), "{asked} token requests for one scope");
    assert_eq!(c.transport().token_requests() as usize, asked);
}

#[tokio::test]
async fn concurrency_settles_below_a_registry_that_refuses_above_k_in_flight() {
    const K: usize = 6;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let (f, r) = (in_flight.clone(), refused.clone());
    let fake = serve_counted(in_flight.clone(), move |_, _, _| {
        if f.load(Ordering::SeqCst) > K {
            r.fetch_add(1, Ordering::SeqCst);
            Action::Respond { status: 429, headers: vec![], body: br#"{"errors":[{"code":"TOOMANYREQUESTS"}]}"#.to_vec() }
        } else {
            Action::Slow { wait: Duration::from_millis(30), status: 200, headers: vec![("Content-Type".into(), OCI_MANIFEST.into())], body: GOOD.to_vec() }
        }
    })
    .await;
    let opts = ClientOptions { initial_backoff: Duration::from_millis(20), max_retries: 8, concurrency: 64, ..ClientOptions::default() };
    let c = RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, opts).unwrap();
    let d = Digest::sha256(GOOD);
    let got = futures::future::join_all((0..300).map(|_| c.get_manifest("r", d.as_str()))).await;
    let failed: Vec<String> = got.iter().filter_map(|r| r.as_ref().err().map(|e| e.to_string())).collect();
    assert!(failed.is_empty(), "every request completes: {failed:?}");
    let settled = c.transport().concurrency_now();
    let refusals = refused.load(Ordering::SeqCst);
    assert!((K / 2..=K + 1).contains(&settled), "the limit settled at {settled}, the registry takes {K} ({refusals} refusals)");
    // Starting at 16 against a limit of 6, a few refusals teach it (a refused request keeps its
    // place through the pause it was asked for); most requests never see one.
    assert!(refusals < 60, "{refusals} refusals for 300 requests");
}

#[tokio::test]
async fn tags_are_read_as_each_page_of_the_tag_list_arrives() {
    // Page 1 at once, page 2 after 800 ms: the tags of page 1 are read meanwhile.
    let start = Instant::now();
    let first_manifest: Arc<std::sync::Mutex<Option<Duration>>> = Arc::default();
    let seen = first_manifest.clone();
    let fake = serve(move |head, _, _| {
        let path = head.split_whitespace().nth(1).unwrap_or("");
        if path.starts_with("/v2/r/tags/list") && !path.contains("last=") {
            let link = ("Link".to_string(), r#"</v2/r/tags/list?n=1000&last=b>; rel="next""#.to_string());
            Action::Respond { status: 200, headers: vec![link], body: br#"{"name":"r","tags":["b","a"]}"#.to_vec() }
        } else if path.starts_with("/v2/r/tags/list") {
            Action::Slow { wait: Duration::from_millis(800), status: 200, headers: vec![], body: br#"{"name":"r","tags":["d","c"]}"#.to_vec() }
        } else {
            seen.lock().unwrap().get_or_insert(start.elapsed());
            let d = Digest::sha256(GOOD);
            ok(GOOD, &[("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", d.as_str())])
        }
    })
    .await;
    let c = Arc::new(client(&fake.addr, 5000));
    let fetcher = archlens::registry::Fetcher::new(c, None);
    let repo = archlens::model::Repository::parse(&format!("{}/r", fake.addr)).unwrap();
    let m = fetcher.matrix_paged(&repo, |t| t != "c", |_, _, _| {}).await.unwrap();
    let tags: Vec<&str> = m.rows.iter().map(|r| r.tag.as_str()).collect();
    assert_eq!(tags, ["a", "b", "d"], "every page's tags, filtered, sorted");
    let first = first_manifest.lock().unwrap().expect("manifests were read");
    assert!(first < Duration::from_millis(600), "the first tag was read {first:?} after the start, not after the last page");
}

/// A registry front that spends pulls as Docker Hub does: ten tags listed, four manifest GETs
/// served, then 429 with `ratelimit-remaining: 0;w=…`. Returns it and its manifest GET count.
async fn pull_limited_front() -> (Fake, Arc<AtomicUsize>) {
    // Docker Hub's way: 429 with `ratelimit-remaining: 0;w=…` once the pulls are spent.
    let manifest_gets = Arc::new(AtomicUsize::new(0));
    let m = manifest_gets.clone();
    let fake = serve(move |head, _, _| {
        if head.starts_with("GET /v2/r/tags/list") {
            return ok(br#"{"name":"r","tags":["a","b","c","d","e","f","g","h","i","j"]}"#, &[]);
        }
        // The version check a client makes first (the app on connecting) is no pull.
        if !head.contains("/manifests/") {
            return if head.starts_with("GET /v2/ ") { ok(b"{}", &[]) } else { Action::Respond { status: 404, headers: Vec::new(), body: Vec::new() } };
        }
        if m.fetch_add(1, Ordering::SeqCst) < 4 {
            let d = Digest::sha256(GOOD);
            return ok(GOOD, &[("Content-Type", OCI_MANIFEST), ("Docker-Content-Digest", d.as_str()), ("ratelimit-remaining", "3;w=21600")]);
        }
        Action::Respond {
            status: 429,
            headers: vec![("ratelimit-limit".into(), "4;w=21600".into()), ("ratelimit-remaining".into(), "0;w=21600".into())],
            body: br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}"#.to_vec(),
        }
    })
    .await;
    (fake, manifest_gets)
}

#[tokio::test]
async fn the_pull_limit_stops_manifest_reads_and_keeps_what_was_read() {
    let (fake, manifest_gets) = pull_limited_front().await;
    let opts = ClientOptions { concurrency: 1, initial_backoff: Duration::from_millis(10), ..ClientOptions::default() };
    let c = Arc::new(RegistryClient::new(Registry::parse(&fake.addr).unwrap(), None, opts).unwrap());
    let repo = archlens::model::Repository::parse(&format!("{}/r", fake.addr)).unwrap();
    let m = archlens::registry::Fetcher::new(c, None).matrix_paged(&repo, |_| true, |_, _, _| {}).await.unwrap();
    assert_eq!(m.rows.len(), 4, "the four tags read are kept");
    let why = m.partial.clone().unwrap_or_default();
    assert!(why.contains("pull limit") && why.contains("4 tags of 10"), "{why}");
    assert_eq!(manifest_gets.load(Ordering::SeqCst), 5, "no manifest GET after the refusal, not even a retry");
    // The command line says so and fails, printing what it read.
    let out = cli(vec!["matrix".into(), format!("{}/r", fake.addr), "--format".into(), "json".into(), "--no-cache".into()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["partial"].as_str().unwrap_or("").contains("pull limit"), "{v}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 pulls left (window 6 h)"), "the budget is said: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_stops_at_the_pull_limit_keeping_the_rows_read_and_saying_the_budget() {
    let (fake, manifest_gets) = pull_limited_front().await;
    let cache = tempfile::tempdir().unwrap();
    let worker = archlens::worker::spawn_with_cache(
        ClientOptions { concurrency: 1, ..ClientOptions::default() },
        Some(archlens::registry::Cache::at(cache.path())),
        Arc::new(|| {}),
    )
    .unwrap();
    let mut app = archlens::ui::ArchlensApp::new(
        Some(archlens::settings::Settings::default()),
        worker,
        archlens::ui::StartTarget::Repository(format!("{}/r", fake.addr)),
        None,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        app.pump();
        let done = app.state.matrix.as_ref().is_some_and(|m| m.partial.is_some() || (m.request.is_none() && m.error.is_some()));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the app did not stop: {:?}", app.state.matrix.as_ref().map(|m| (&m.partial, &m.error)));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mv = app.state.matrix.as_ref().unwrap();
    assert_eq!(mv.matrix.rows.len(), 4, "the four tags read are kept");
    assert!(mv.partial.as_deref().unwrap_or("").contains("pull limit"), "{:?}", mv.partial);
    assert!(!app.state.is_loading(), "the load ended");
    let registry = archlens::model::Registry::parse(&fake.addr).unwrap();
    assert_eq!(app.state.rate_limit.as_ref().filter(|(r, _)| *r == registry).map(|(_, l)| l.as_str()), Some("0 pulls left (window 6 h)"));
    assert_eq!(manifest_gets.load(Ordering::SeqCst), 5, "no manifest GET after the refusal");
}

#[tokio::test]
async fn an_upload_has_the_time_its_size_allows_not_only_the_request_timeout() {
    // The registry takes 2 s to take in a 3 MB body; the client's timeout is 1 s, and a blob
    // is allowed that plus a second per MB.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 << 10];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut body = got.len() - end;
        let started = Instant::now();
        while body < 3_000_000 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            body += sock.read(&mut buf).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2).saturating_sub(started.elapsed())).await;
        let _ = sock.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    });
    let blob = vec![7u8; 3_000_000];
    let d = Digest::sha256(&blob);
    let c = client(&addr, 1000);
    let body = archlens::registry::store::BlobBody::Bytes(blob.clone().into());
    let started = Instant::now();
    c.upload("r", &d, blob.len() as u64, &body, Some(format!("http://{addr}/v2/r/blobs/uploads/1"))).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2), "the registry really took its time");
}
