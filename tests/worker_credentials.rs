//! The worker does not hold every registry up while one registry's credential helper runs.
//! One test in this file: it sets the process's credential environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use std::time::{Duration, Instant};

use archlens::model::reference::Registry;
use archlens::registry::ClientOptions;
use archlens::worker::{Command, Event};

#[test]
fn a_slow_credential_helper_holds_up_only_its_own_registry() {
    // A registry that asks for credentials (Basic) on every request: its helper runs when it
    // asks, and takes 4 s.
    let asking = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let asking_port = asking.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for mut conn in asking.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let dir = std::env::temp_dir().join(format!("archlens-credhelper-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("config.json"), format!(r#"{{"credHelpers": {{"127.0.0.1:{asking_port}": "archlens-slow"}}}}"#)).unwrap();
    let helper = dir.join("docker-credential-archlens-slow");
    std::fs::write(&helper, "#!/bin/sh\nsleep 4\necho '{\"Username\":\"u\",\"Secret\":\"p\"}'\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // SAFETY: the only test in this binary sets the environment before any thread of its own
    // (the worker) starts.
    unsafe {
        std::env::set_var("DOCKER_CONFIG", &dir);
        std::env::set_var("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
        std::env::set_var("XDG_RUNTIME_DIR", dir.join("empty"));
        std::env::set_var("XDG_CONFIG_HOME", dir.join("empty"));
        std::env::remove_var("REGISTRY_AUTH_FILE");
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    }
    // A port nothing listens on: connecting there fails at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = ClientOptions { max_retries: 0, ..ClientOptions::default() };
    let worker = archlens::worker::spawn_with(options, None, None, std::sync::Arc::new(|| {})).unwrap();
    let slow = Registry::parse(&format!("127.0.0.1:{asking_port}")).unwrap();
    let quick = Registry::parse(&format!("127.0.0.1:{closed}")).unwrap();
    worker.send(Command::Connect { id: 1, registry: slow, insecure: false });
    // The helper is running (it sleeps 4 s) when the second registry is asked for.
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    worker.send(Command::Connect { id: 2, registry: quick, insecure: false });
    let mut order = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while order.len() < 2 && Instant::now() < deadline {
        for e in worker.drain() {
            if matches!(e, Event::Failed { .. } | Event::Connected { .. }) {
                order.push((e.id(), asked.elapsed()));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ids: Vec<u64> = order.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![2, 1], "the other registry answered first, while the helper ran: {order:?}");
    assert!(order[1].1 >= Duration::from_secs(3), "the slow registry did wait for its helper: {order:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
