//! Remote registries at full speed: the matrix of 300 tags × 5 platforms through an in-repo TCP
//! proxy that adds a real round trip (every chunk delayed RTT/2 each way, and the connection
//! set-up one RTT), the registry serving TLS (HTTP/2 offered by ALPN) with its CA and client
//! certificate trusted through certs.d.
//!
//! Prints, in one run: the registry-bound limit L (the same URLs replayed at RTT 0 with 64
//! requests in flight), the chain C = 5 RTT, the floor F = max(L, C), and cold and warm
//! `archlens matrix` times at 0, 50 and 100 ms beside "replay", the same URLs fetched through the
//! same front by a client that knows them all up front (256 in flight over HTTP/2, as many
//! connections as Archlens allows over plain HTTP/1.1); then a plain-HTTP (HTTP/1.1 only) registry at
//! 50 ms. Goals: cold ≤ 1.2× F at 50 ms, ≤ 1.3× F at 100 ms, ≤ 1.2× L at 0 ms; warm ≤ 0.5× F at
//! 50 ms; plain HTTP ≤ 1.5× F at 50 ms.
//!
//! `cargo bench --bench wan`; `ARCHLENS_BENCH_TAGS=100` for a quicker run; `ARCHLENS_BENCH_LOG=DIR`
//! keeps each run's request log (with its timings) in DIR.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Each time is the best of this many runs (the machine is shared; one slow run says little).
const RUNS: usize = 3;
const PLATFORMS: [&str; 5] = ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x"];

fn start_tls_registry(certs: &Path) -> String {
    let made = Command::new("python3").arg(common::project_root().join("scripts/tls-cert.py")).arg(certs).output().expect("tls-cert.py");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = Command::new("bash")
        .arg(common::project_root().join("scripts/registry.sh"))
        .args(["start", "--owner", &std::process::id().to_string(), "--tls"])
        .arg(certs)
        .output()
        .expect("registry.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| l.strip_prefix("ADDR=")).expect("ADDR=").to_string()
}

/// A certs.d root trusting the run's CA, with its client certificate, for each of `addrs`.
fn certs_d(certs: &Path, root: &Path, addrs: &[&str]) {
    for addr in addrs {
        let dir = root.join(addr);
        std::fs::create_dir_all(&dir).expect("certs.d");
        for f in ["ca.crt", "client.cert", "client.key"] {
            std::fs::copy(certs.join(f), dir.join(f)).expect("copy cert");
        }
    }
}

/// CPU seconds (user + system) used by this process's finished children.
fn children_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct it is given and reads nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a valid target.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// `archlens matrix` of `repository` with `home` (its cache and config): seconds.
fn matrix(home: &Path, repository: &str, tags: usize) -> Duration {
    let t = Instant::now();
    let config = home.join("config").into_os_string();
    let mut envs = vec![("XDG_CONFIG_HOME", config)];
    let log = std::env::var_os("ARCHLENS_BENCH_LOG");
    if log.is_some() {
        envs.push(("ARCHLENS_LOG", "archlens=debug".into()));
    }
    let cpu_before = children_cpu();
    let out = common::cli::run_with_only(home, &["matrix", repository, "--format", "json"], &envs);
    let took = t.elapsed();
    if std::env::var_os("ARCHLENS_BENCH_CPU").is_some() {
        println!("        {repository}: {:.3} s wall, {:.3} s CPU", took.as_secs_f64(), children_cpu() - cpu_before);
    }
    if let Some(dir) = log {
        let name = format!("{}-{}.log", repository.replace(['/', ':'], "_"), t.elapsed().as_millis());
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), &out.stderr);
    }
    let v: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out)).expect("json");
    let rows = v["tags"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(rows, tags, "every tag is a row");
    took
}

/// An HTTP client trusting the run's CA, with its client certificate.
fn tls_http(certs: &Path) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(certs.join("ca.crt")).expect("ca")).expect("ca pem");
    let mut pem = std::fs::read(certs.join("client.cert")).expect("client cert");
    pem.extend(std::fs::read(certs.join("client.key")).expect("client key"));
    let id = reqwest::Identity::from_pem(&pem).expect("identity");
    reqwest::Client::builder().add_root_certificate(ca).identity(id).build().expect("http")
}

/// `urls` fetched with `in_flight` at once by a fresh client (its connection set-up included):
/// the best of `runs`.
fn replay(rt: &tokio::runtime::Runtime, certs: &Path, urls: &[String], in_flight: usize, runs: usize) -> Duration {
    use futures::StreamExt as _;
    let accept = archlens::model::manifest::ACCEPT_ALL.join(", ");
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let http = tls_http(certs);
        let t = Instant::now();
        rt.block_on(
            futures::stream::iter(urls.iter())
                .map(|u| {
                    let (http, accept) = (&http, &accept);
                    async move { http.get(u).header("accept", accept).send().await.expect("get").bytes().await.expect("body") }
                })
                .buffer_unordered(in_flight)
                .for_each(|_| async {}),
        );
        best = best.min(t.elapsed());
    }
    best
}

/// The registry's own bound: the matrix's URLs replayed at RTT 0 with 64 in flight, over HTTP/2.
fn registry_bound(rt: &tokio::runtime::Runtime, client: &archlens::registry::RegistryClient, repo: &str, certs: &Path) -> (Duration, Vec<String>) {
    let urls = rt.block_on(common::seed::matrix_urls(client, repo));
    (replay(rt, certs, &urls, 64, 3), urls)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn main() {
    let tags: usize = std::env::var("ARCHLENS_BENCH_TAGS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let work = tempfile::tempdir().expect("tempdir");
    let certs = work.path().join("certs");
    std::fs::create_dir_all(&certs).expect("certs");
    let addr = start_tls_registry(&certs);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let roots = work.path().join("certs.d");
    certs_d(&certs, &roots, &[&addr]);
    let options = archlens::registry::ClientOptions { certs_d: Some(vec![roots.clone()]), ..Default::default() };
    let registry = archlens::model::Registry::parse(&addr).expect("registry");
    let client = Arc::new(archlens::registry::RegistryClient::new(registry, None, options).expect("client"));
    let repo = "bench/wan";
    let t = Instant::now();
    rt.block_on(common::seed::seed_bench(&client, repo, tags, &PLATFORMS)).expect("seed");
    println!("seeded {tags} tags × {} platforms over TLS in {:.1} s", PLATFORMS.len(), t.elapsed().as_secs_f64());
    let h2 = client.transport().http2();
    let (limit, url_list) = registry_bound(&rt, &client, repo, &certs);
    let urls = url_list.len();
    println!("machine load (1, 5, 15 min): {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    println!("HTTP/2 with the TLS registry: {}", if h2 == Some(true) { "yes" } else { "no" });
    println!("registry-bound limit L: {:.3} s ({urls} requests replayed at RTT 0, 64 in flight)", limit.as_secs_f64());
    // The same replay through the proxy adding nothing: what the measuring front itself costs
    // on this machine (it shares the cores with the registry and the client).
    let proxy_rt = tokio::runtime::Runtime::new().expect("proxy runtime");
    let front0 = proxy_rt.block_on(common::proxy::proxy(addr.clone(), Duration::ZERO));
    let through0: Vec<String> = url_list.iter().map(|u| u.replacen(&addr, &front0, 1)).collect();
    let limit_front = replay(&rt, &certs, &through0, 64, 3);
    println!(
        "the same through the proxy at RTT 0: {:.3} s ({:.2}× L: the proxy's own cost)",
        limit_front.as_secs_f64(),
        limit_front.as_secs_f64() / limit.as_secs_f64()
    );
    println!();
    println!("{:>6}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}  {:>12}", "RTT", "C", "F", "replay", "cold", "warm", "cold/F", "warm/F", "cold/replay");
    let run_at = |rtt_ms: u64, upstream: &str, label: &str, tls: bool, url_list: &[String]| -> (f64, f64, f64) {
        let rtt = Duration::from_millis(rtt_ms);
        let front = if rtt_ms == 0 && tls { upstream.to_string() } else { proxy_rt.block_on(common::proxy::proxy(upstream.to_string(), rtt)) };
        let repository = format!("{front}/{repo}");
        // Best of RUNS, each cold run in a home of its own (no cache, no connection kept).
        let mut cold = f64::MAX;
        let mut home = None;
        for _ in 0..RUNS {
            let h = tempfile::tempdir().expect("home");
            if tls {
                certs_d(&certs, &h.path().join("config/containers/certs.d"), &[&front]);
            }
            cold = cold.min(matrix(h.path(), &repository, tags).as_secs_f64());
            home = Some(h);
        }
        let home = home.expect("one run at least");
        // A client with no chain to follow: every URL known up front, through the same front
        // (connection set-up included).
        // Over plain HTTP/1.1 with as many connections as Archlens allows such a host.
        let in_flight = if tls { 256 } else { archlens::registry::transport::H1_CONNECTIONS };
        let through: Vec<String> = url_list.iter().map(|u| u.replacen(upstream, &front, 1)).collect();
        let ideal = replay(&rt, &certs, &through, in_flight, RUNS).as_secs_f64();
        let warm = (0..RUNS).map(|_| matrix(home.path(), &repository, tags).as_secs_f64()).fold(f64::MAX, f64::min);
        let chain = 5.0 * rtt.as_secs_f64();
        let floor = chain.max(limit.as_secs_f64());
        println!(
            "{:>4}ms  {:>7.3}s  {:>7.3}s  {:>7.3}s  {:>7.3}s  {:>7.3}s  {:>9.2}×  {:>9.2}×  {:>11.2}×  {label}",
            rtt_ms,
            chain,
            floor,
            ideal,
            cold,
            warm,
            cold / floor,
            warm / floor,
            cold / ideal
        );
        (cold, warm, floor)
    };
    let (cold0, _, _) = run_at(0, &addr, "TLS, direct", true, &url_list);
    let (cold50, warm50, f50) = run_at(50, &addr, "TLS + HTTP/2", true, &url_list);
    let (cold100, _, f100) = run_at(100, &addr, "TLS + HTTP/2", true, &url_list);
    // The same repository on a plain-HTTP registry (HTTP/1.1 only), copied there first.
    let plain = common::registry_addr();
    let plain_client = common::client();
    rt.block_on(common::seed::seed_bench(&plain_client, repo, tags, &PLATFORMS)).expect("seed plain");
    let plain_urls = rt.block_on(common::seed::matrix_urls(&plain_client, repo));
    let (plain50, _, pf50) = run_at(50, plain, "plain HTTP/1.1", false, &plain_urls);
    println!();
    let l = limit.as_secs_f64();
    println!("cold at 0 ms vs L     : {:>6.2}×  (goal ≤ 1.2×) {}", cold0 / l, verdict(cold0 / l <= 1.2));
    println!("cold at 50 ms vs F    : {:>6.2}×  (goal ≤ 1.2×) {}", cold50 / f50, verdict(cold50 / f50 <= 1.2));
    println!("cold at 100 ms vs F   : {:>6.2}×  (goal ≤ 1.3×) {}", cold100 / f100, verdict(cold100 / f100 <= 1.3));
    println!("warm at 50 ms vs F    : {:>6.2}×  (goal ≤ 0.5×) {}", warm50 / f50, verdict(warm50 / f50 <= 0.5));
    println!("plain HTTP at 50 ms vs F: {:>4.2}×  (goal ≤ 1.5×) {}", plain50 / pf50, verdict(plain50 / pf50 <= 1.5));
}
