//! The one send path every registry request takes, in layers as go-containerregistry chains its
//! transports: permit (concurrency that adapts) → auth (Basic, Bearer, one renewal, see
//! [`super::bearer`]) → retry (408/429/5xx and dropped connections, `Retry-After`) → deadline →
//! body limits → logging. Whatever the body (none, bytes, a stream) and however the answer is
//! read (whole with a cap, headers only, streamed within a deadline), it goes through
//! [`Transport::send`].
//!
//! HTTP/2 is offered over TLS (ALPN). On an HTTP/2 connection requests share one connection
//! and the limit starts at `--concurrency` (the server's stream limit queues the rest); a host that answers in HTTP/1.1 gets at most
//! [`H1_CONNECTIONS`] connections.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::RegistryError;

/// The upper bound on requests in flight to one registry (`--concurrency`). On HTTP/2 they
/// share one connection; servers advertise their own stream limit (Go's default is 250), and
/// requests beyond it wait in the client.
pub const DEFAULT_CONCURRENCY: usize = 256;
/// Renewals one request may wait for (tokens that keep expiring under a slow queue).
const MAX_RENEWALS: u32 = 3;
/// Connections to one host that speaks only HTTP/1.1: each request in flight needs its own.
/// Public registries speak HTTP/2; a private plain-HTTP registry across a 50 ms link needs
/// this many to list 300 tags in about a second and a half.
pub const H1_CONNECTIONS: usize = 128;
/// Requests in flight before the protocol and the latency are known.
const START: usize = 16;

#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Total time for one request, body included.
    pub timeout: Duration,
    /// Retries after the first attempt for 408/429/5xx and connection failures.
    pub max_retries: u32,
    /// First backoff; doubles per retry.
    pub initial_backoff: Duration,
    /// Longest single wait, also caps `Retry-After`.
    pub max_backoff: Duration,
    /// Most requests in flight at once (the limit adapts below it).
    pub concurrency: usize,
    /// Use plain HTTP for a non-loopback host.
    pub plain_http: bool,
    /// Resolve tags with `HEAD` (and read manifests from the cache when it has them) rather
    /// than one `GET`. `None`: on Docker Hub, whose pull limits count manifest `GET`s but not
    /// `HEAD`s, and wherever the cache knows the tag from an earlier run.
    pub resolve_with_head: Option<bool>,
    /// Skip TLS certificate verification (`--insecure`, or the registry's setting in the app).
    pub insecure: bool,
    /// Where certs.d folders are looked for; `None`: the usual places ([`super::tls::certs_d_roots`]).
    pub certs_d: Option<Vec<std::path::PathBuf>>,
    /// Told (in words) whenever a request waits out a rate limit, so a UI can say so.
    pub on_wait: Option<WaitHook>,
    /// Docker Hub's API for this registry: `None`, on docker.io only ([`super::hub::DOCKER_HUB_API`]);
    /// `Some("none")`, never; `Some(URL)`, that API (a mirror of it, or a test's).
    pub hub_api: Option<String>,
    /// Caps on everything read.
    pub limits: Limits,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            concurrency: DEFAULT_CONCURRENCY,
            plain_http: false,
            resolve_with_head: None,
            insecure: false,
            certs_d: None,
            on_wait: None,
            hub_api: None,
            limits: Limits::default(),
        }
    }
}

/// A callback for [`ClientOptions::on_wait`].
#[derive(Clone)]
pub struct WaitHook(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for WaitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitHook")
    }
}

/// How much Archlens reads of anything a registry sends: a body over its cap is an error
/// (error bodies are cut instead), never read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Manifests and indexes.
    pub manifest: u64,
    /// Image configs (and other blobs read whole).
    pub config: u64,
    /// Token service answers.
    pub token: u64,
    /// Error bodies (cut, not refused).
    pub error_body: u64,
    /// One catalog or tag-list page.
    pub page: u64,
    /// Pages followed in one listing.
    pub pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { manifest: 8 << 20, config: 32 << 20, token: 1 << 20, error_body: 64 << 10, page: 16 << 20, pages: 10_000 }
    }
}

impl Limits {
    /// Set one limit from `NAME=SIZE` (`manifest=16MiB`, `pages=500`); sizes take `KiB`, `MiB`,
    /// `GiB` or plain bytes.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (name, value) = spec.split_once('=').ok_or_else(|| format!("{spec:?}: expected NAME=SIZE, e.g. manifest=16MiB"))?;
        let v = value.trim();
        let (digits, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
        let n: u64 = digits.parse().map_err(|_| format!("{spec:?}: {value:?} is not a size"))?;
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" | "K" => 1 << 10,
            "MiB" | "M" => 1 << 20,
            "GiB" | "G" => 1 << 30,
            other => return Err(format!("{spec:?}: unknown unit {other:?} (use KiB, MiB or GiB)")),
        };
        let size = n.checked_mul(factor).ok_or_else(|| format!("{spec:?}: too large"))?;
        match name.trim() {
            "manifest" => self.manifest = size,
            "config" => self.config = size,
            "token" => self.token = size,
            "error-body" => self.error_body = size,
            "page" => self.page = size,
            "pages" => self.pages = usize::try_from(size).map_err(|_| format!("{spec:?}: too large"))?,
            other => return Err(format!("{spec:?}: no limit {other:?} (manifest, config, token, error-body, page, pages)")),
        }
        Ok(())
    }
}

/// Read a body of at most `limit` bytes: more is an error (`Err(None)` here), or, with `cut`,
/// the first `limit` bytes.
pub(super) async fn read_limited(resp: &mut reqwest::Response, limit: u64, cut: bool) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if !cut && resp.content_length().is_some_and(|n| n > limit) {
        return Err(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Some)? {
        let room = (limit as usize).saturating_sub(body.len());
        if chunk.len() > room {
            if cut {
                body.extend_from_slice(chunk.get(..room).unwrap_or_default());
                break;
            }
            return Err(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A whole response: status, headers and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A body being read as it arrives, with the time by which all of it must have arrived.
pub struct BlobStream {
    resp: reqwest::Response,
    deadline: tokio::time::Instant,
    allowed: Duration,
    /// The registry's name, for errors.
    registry: String,
}

impl BlobStream {
    /// The next chunk, before the stream's deadline; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, RegistryError> {
        match tokio::time::timeout_at(self.deadline, self.resp.chunk()).await {
            Err(_) => Err(RegistryError::Timeout { registry: self.registry.clone(), url: self.resp.url().to_string(), seconds: self.allowed.as_secs().max(1) }),
            Ok(Err(e)) => Err(classify(&self.registry, &e)),
            Ok(Ok(c)) => Ok(c),
        }
    }
}

/// A request body that can be made again for a retry or after a renewed login.
pub type BodyMaker = Arc<dyn Fn() -> BoxFuture<'static, Result<reqwest::Body, RegistryError>> + Send + Sync>;

/// What a request sends.
#[derive(Clone)]
pub enum Body {
    None,
    Bytes(Bytes),
    /// Streamed (a blob from another store), made anew for each attempt.
    Stream(BodyMaker),
}

/// How the answer is read.
#[derive(Debug, Clone, Copy)]
pub enum Reading {
    /// The whole body of a success, at most `cap` bytes (more is [`RegistryError::TooLarge`]).
    Whole { cap: u64 },
    /// Headers only (`HEAD`).
    Head,
    /// A success's body is handed back unread, to be read within the request's time (headers
    /// included).
    Stream,
}

/// Whose credentials a request carries.
#[derive(Debug, Clone)]
pub enum Credit {
    /// The registry's: Bearer or Basic, renewed once on a 401.
    Registry,
    /// This `Authorization` value (a token request to the token service).
    Given(String),
    /// None.
    Anonymous,
}

/// One request.
pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    /// The token scope (`repository:NAME:pull`), for Bearer auth.
    pub scope: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Body,
    pub reading: Reading,
    pub credit: Credit,
    /// Counted against this registry's limit (not the token service's requests).
    pub limited: bool,
    /// Whether 408/429/5xx and dropped connections are tried again (an upload whose body went
    /// out once is started over by its caller instead).
    pub retry: bool,
    /// Time for the whole request, body sent and read included; `None`: the client's timeout.
    /// A blob's transfer allows for its size.
    pub allowed: Option<Duration>,
}

impl<'a> Request<'a> {
    /// A request to the registry, read whole up to `cap`.
    pub fn new(method: Method, url: &'a str, scope: &'a str, cap: u64) -> Request<'a> {
        Request {
            method,
            url,
            scope,
            headers: &[],
            body: Body::None,
            reading: Reading::Whole { cap },
            credit: Credit::Registry,
            limited: true,
            retry: true,
            allowed: None,
        }
    }
}

/// What came back.
pub enum Sent {
    Whole(Response),
    /// A success whose body is still to be read.
    Stream(BlobStream),
}

/// The auth layer: what a request carries, and what to do when it is refused.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// The `Authorization` value for `scope`, if any is known (waiting for a renewal of it in
    /// progress).
    async fn header(&self, scope: &str) -> Option<String>;
    /// Answer a 401 whose request carried `used`; `true` when this call asked the token
    /// service itself (a refusal right after that is final).
    async fn renew(&self, t: &Transport, challenge: &str, scope: &str, used: Option<&str>) -> Result<bool, RegistryError>;
    /// Token requests made so far.
    fn token_requests(&self) -> u64;
    /// The login in use, when one was given or looked up.
    fn credentials(&self) -> Option<&super::auth::Credentials>;
}

/// The transport of one registry.
pub struct Transport {
    http: reqwest::Client,
    /// The registry's name, for messages.
    registry: String,
    options: ClientOptions,
    auth: Box<dyn Authenticator>,
    limiter: Limiter,
    /// Docker Hub's `ratelimit-remaining`, as last sent.
    rate_limit: Mutex<Option<String>>,
    /// Requests sent (each attempt counts).
    sent: std::sync::atomic::AtomicU64,
    /// Set when the registry said its pull limit is used up: manifest reads stop here.
    pull_limit: Mutex<Option<String>>,
}

impl Transport {
    pub(super) fn new(http: reqwest::Client, registry: String, options: ClientOptions, auth: Box<dyn Authenticator>) -> Transport {
        let limiter = Limiter::new(options.concurrency.max(1));
        Transport { http, registry, options, auth, limiter, rate_limit: Mutex::new(None), sent: Default::default(), pull_limit: Mutex::new(None) }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn name(&self) -> &str {
        &self.registry
    }

    /// Requests this registry may have in flight now (the adaptive limit).
    pub fn concurrency_now(&self) -> usize {
        self.limiter.now()
    }

    /// Requests sent so far (each attempt counts).
    pub fn requests(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Token requests made so far (all scopes).
    pub fn token_requests(&self) -> u64 {
        self.auth.token_requests()
    }

    /// The login in use, when one was given or already looked up.
    pub fn credentials(&self) -> Option<&super::auth::Credentials> {
        self.auth.credentials()
    }

    /// Whether the registry's connection speaks HTTP/2 (`None`: no answer yet).
    pub fn http2(&self) -> Option<bool> {
        self.limiter.http2()
    }

    /// The pull limit left, as the registry last said (`ratelimit-remaining`).
    pub fn rate_limit_remaining(&self) -> Option<String> {
        self.rate_limit.lock().ok().and_then(|s| s.clone())
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.options.initial_backoff.saturating_mul(2u32.saturating_pow(attempt)).min(self.options.max_backoff)
    }

    pub(super) fn timeout_error(&self, url: impl Into<String>, allowed: Duration) -> RegistryError {
        RegistryError::Timeout { registry: self.registry.clone(), url: url.into(), seconds: allowed.as_secs().max(1) }
    }

    /// Send `req` through every layer. A success (and any status the caller handles itself) is
    /// returned; 401 after one renewal and 403 are [`RegistryError::Unauthorized`]; 408/429/5xx
    /// after the retries are typed errors.
    pub async fn send(&self, req: Request<'_>) -> Result<Sent, RegistryError> {
        let allowed = req.allowed.unwrap_or(self.options.timeout);
        let mut attempt: u32 = 0;
        // Renewals so far, and whether the last one was this request's own token request.
        let mut renewals = 0;
        let mut fresh_refused = false;
        // Permit: held until the answer is read (a stream's body is read without it), and
        // through a renewal or a pause the registry asked for, so the request keeps its place.
        let mut permit: Option<Permit> = None;
        // Past the pull limit, a manifest read would only be refused again: not sent.
        let spends_pull = req.method == Method::GET && req.url.contains("/manifests/");
        if let Some(remaining) = self.pull_limit.lock().ok().and_then(|p| p.clone()).filter(|_| spends_pull) {
            return Err(RegistryError::PullLimit { registry: self.registry.clone(), remaining });
        }
        loop {
            if req.limited && permit.is_none() {
                permit = Some(self.limiter.acquire().await?);
            }
            let used = match &req.credit {
                Credit::Registry => self.auth.header(req.scope).await,
                Credit::Given(h) => Some(h.clone()),
                Credit::Anonymous => None,
            };
            let mut rb = self.http.request(req.method.clone(), req.url);
            for (k, v) in req.headers {
                rb = rb.header(*k, *v);
            }
            if let Some(h) = &used {
                rb = rb.header(AUTHORIZATION, h);
            }
            match &req.body {
                Body::None => {}
                Body::Bytes(b) => rb = rb.body(b.clone()),
                Body::Stream(make) => rb = rb.body(make().await?),
            }
            let started = Instant::now();
            self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let deadline = tokio::time::Instant::now() + allowed;
            let error_cap = self.options.limits.error_body;
            let reading = req.reading;
            let sent = tokio::time::timeout_at(deadline, async {
                let mut resp = rb.send().await.map_err(Some)?;
                let status = resp.status().as_u16();
                let version = resp.version();
                let success = (200..300).contains(&status);
                let out = match reading {
                    Reading::Head => Sent::Whole(Response { status, headers: resp.headers().clone(), body: Vec::new() }),
                    Reading::Stream if success => Sent::Stream(BlobStream { resp, deadline, allowed, registry: self.registry.clone() }),
                    Reading::Whole { cap } if success => {
                        let headers = resp.headers().clone();
                        Sent::Whole(Response { status, headers, body: read_limited(&mut resp, cap, false).await? })
                    }
                    _ => {
                        let headers = resp.headers().clone();
                        Sent::Whole(Response { status, headers, body: read_limited(&mut resp, error_cap, true).await? })
                    }
                };
                Ok::<_, Option<reqwest::Error>>((out, version))
            })
            .await;
            let ms = started.elapsed().as_millis() as u64;
            let (sent, version) = match sent {
                Err(_) => {
                    tracing::debug!(method = %req.method, url = req.url, scope = req.scope, attempt, ms, "request timed out");
                    self.limiter.congested(req.limited);
                    return Err(self.timeout_error(req.url, allowed));
                }
                Ok(Err(None)) => {
                    let cap = match req.reading {
                        Reading::Whole { cap } => cap,
                        _ => error_cap,
                    };
                    return Err(RegistryError::TooLarge { registry: self.registry.clone(), url: req.url.to_string(), limit: cap });
                }
                Ok(Err(Some(e))) => {
                    let err = classify(&self.registry, &e);
                    tracing::debug!(method = %req.method, url = req.url, scope = req.scope, attempt, ms, error = %err, "request failed");
                    if matches!(err, RegistryError::Connection { .. }) {
                        // A reset is the server saying "too much": fewer at once.
                        self.limiter.congested(req.limited);
                        if req.retry && attempt < self.options.max_retries {
                            permit = None;
                            let wait = self.backoff(attempt);
                            tracing::info!("{}: connection failed, retrying in {} ms", self.registry, wait.as_millis());
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                    }
                    return Err(err);
                }
                Ok(Ok(r)) => r,
            };
            if req.limited {
                self.limiter.saw_version(version, self.options.concurrency.max(1));
            }
            let resp = match sent {
                Sent::Stream(s) => {
                    tracing::debug!(method = %req.method, url = req.url, scope = req.scope, attempt, status = 200, ?version, ms, "stream opened");
                    self.limiter.succeeded(req.limited, started.elapsed());
                    return Ok(Sent::Stream(s));
                }
                Sent::Whole(r) => r,
            };
            tracing::debug!(
                method = %req.method, url = req.url, scope = req.scope, attempt, status = resp.status, bytes = resp.body.len(), ?version, ms,
                "request"
            );
            if let Some(left) = resp.header("ratelimit-remaining") {
                tracing::info!("{}: pull limit remaining {left}", self.registry);
                if let Ok(mut slot) = self.rate_limit.lock() {
                    *slot = Some(left.to_string());
                }
            }
            match resp.status {
                // Refused: renewed, unless this request's own renewal was refused right away
                // (the login is not good for this) or it has renewed enough times.
                401 if matches!(req.credit, Credit::Registry) && !fresh_refused && renewals < MAX_RENEWALS => {
                    // The request keeps its place while the token is renewed, so it goes out
                    // again as soon as the new token is there. One renewal per scope at a time:
                    // requests refused together wait for the same one.
                    let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
                    fresh_refused = self.auth.renew(self, &challenge, req.scope, used.as_deref()).await?;
                    renewals += 1;
                }
                401 | 403 if matches!(req.credit, Credit::Registry) => {
                    return Err(RegistryError::Unauthorized {
                        registry: self.registry.clone(),
                        scope: req.scope.to_string(),
                        detail: error_detail(&resp.body, resp.status),
                    });
                }
                // Docker Hub's pull limit: none left and no short wait offered. Said, and no
                // manifest read after.
                429 if resp.header("ratelimit-remaining").is_some_and(|r| r.trim().split(';').next() == Some("0"))
                    && resp
                        .header("retry-after")
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .is_none_or(|s| Duration::from_secs(s) > self.options.max_backoff) =>
                {
                    let remaining = resp.header("ratelimit-remaining").unwrap_or("0").to_string();
                    if let Ok(mut p) = self.pull_limit.lock() {
                        *p = Some(remaining.clone());
                    }
                    return Err(RegistryError::PullLimit { registry: self.registry.clone(), remaining });
                }
                408 | 429 | 500..=599 if req.retry => {
                    if matches!(resp.status, 429 | 503) {
                        self.limiter.congested(req.limited);
                    }
                    let retry_after = resp.header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
                    // A server asking for a longer wait than the cap is reported, not waited for.
                    let too_long = retry_after.is_some_and(|s| Duration::from_secs(s) > self.options.max_backoff);
                    if attempt >= self.options.max_retries || too_long {
                        return Err(if resp.status == 429 {
                            RegistryError::RateLimited { registry: self.registry.clone(), retry_after }
                        } else {
                            RegistryError::Http {
                                registry: self.registry.clone(),
                                status: resp.status,
                                url: req.url.to_string(),
                                detail: error_detail(&resp.body, resp.status),
                            }
                        });
                    }
                    let wait = retry_after.map(Duration::from_secs).unwrap_or_else(|| self.backoff(attempt));
                    if matches!(resp.status, 429 | 503) {
                        // The registry asked for a pause: no request to it starts before the
                        // wait is over, and this one keeps its place while it waits.
                        self.limiter.pause(wait);
                    } else {
                        permit = None;
                    }
                    if resp.status == 429 {
                        let said = format!("rate limited by {}, retrying in {} s", self.registry, wait.as_secs_f64().ceil() as u64);
                        tracing::warn!("{said}");
                        if let Some(hook) = &self.options.on_wait {
                            (hook.0)(&said);
                        }
                    } else {
                        tracing::info!("{} answered {}, retrying in {} ms", self.registry, resp.status, wait.as_millis());
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => {
                    self.limiter.succeeded(req.limited, started.elapsed());
                    return Ok(Sent::Whole(resp));
                }
            }
        }
    }

    /// [`Transport::send`] for a request read whole or headers only.
    pub async fn whole(&self, req: Request<'_>) -> Result<Response, RegistryError> {
        match self.send(req).await? {
            Sent::Whole(r) => Ok(r),
            Sent::Stream(_) => Err(RegistryError::Other { detail: "a whole answer was asked for and a stream came back".into() }),
        }
    }
}

/// A failed request in words: TLS, a redirect loop, or the connection.
pub(super) fn classify(registry: &str, e: &reqwest::Error) -> RegistryError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    let lower = detail.to_ascii_lowercase();
    if e.is_redirect() {
        let at = e.url().map(|u| u.to_string()).unwrap_or_default();
        return RegistryError::Other {
            detail: format!("{registry}: redirect loop (more than 5 redirects, last at {at}); the registry or a proxy in front of it is misconfigured"),
        };
    }
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        RegistryError::Tls { registry: registry.to_string(), detail }
    } else {
        RegistryError::Connection { registry: registry.to_string(), detail }
    }
}

/// The registry's own error text (`{"errors":[{"code","message"}]}`), or a short body excerpt.
pub(super) fn error_detail(body: &[u8], status: u16) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(errs) = v.get("errors").and_then(|e| e.as_array())
    {
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| {
                let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                format!("{code} {msg}").trim().to_string()
            })
            .collect();
        if !msgs.is_empty() {
            return msgs.join("; ");
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() { format!("HTTP {status}") } else { text.chars().take(200).collect() }
}

/// Requests in flight to one host, adapting as TCP's congestion control does: it starts at
/// [`START`], grows by one per success while latency holds (slow start until the
/// first sign of congestion, then by one per window), halves on 429, 503, resets and timeouts,
/// and never passes the ceiling: `--concurrency` on HTTP/2, [`H1_CONNECTIONS`] on HTTP/1.1.
struct Limiter {
    sem: Arc<Semaphore>,
    state: Arc<Mutex<LimitState>>,
}

#[derive(Debug)]
struct LimitState {
    /// The limit, fractional so additive increase can add 1/limit per success.
    limit: f64,
    /// Permits that exist (in use or free); above `limit` after a cut, repaid as they return.
    granted: usize,
    /// Permits to retire as they come back.
    debt: usize,
    ceiling: usize,
    /// Still growing fast (no congestion seen yet).
    slow_start: bool,
    /// The shortest latency seen: growth stops while answers take much longer.
    min_latency: Option<Duration>,
    last_cut: Option<Instant>,
    http2: Option<bool>,
    /// No request starts before this (the registry asked for a pause).
    paused_until: Option<Instant>,
}

/// A place in the limit, given back when dropped.
pub(super) struct Permit {
    permit: Option<OwnedSemaphorePermit>,
    state: Arc<Mutex<LimitState>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let Some(p) = self.permit.take() else { return };
        if let Ok(mut s) = self.state.lock()
            && s.debt > 0
        {
            s.debt -= 1;
            s.granted -= 1;
            p.forget();
        }
    }
}

impl Limiter {
    fn new(max: usize) -> Limiter {
        let start = max.min(START);
        let state = LimitState {
            limit: start as f64,
            granted: start,
            debt: 0,
            ceiling: max,
            slow_start: true,
            min_latency: None,
            last_cut: None,
            http2: None,
            paused_until: None,
        };
        Limiter { sem: Arc::new(Semaphore::new(start)), state: Arc::new(Mutex::new(state)) }
    }

    async fn acquire(&self) -> Result<Permit, RegistryError> {
        let permit = self.sem.clone().acquire_owned().await.map_err(|_| RegistryError::Cancelled)?;
        // A pause the registry asked for holds new requests until it is over.
        let until = self.state.lock().ok().and_then(|s| s.paused_until);
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            tokio::time::sleep_until(until.into()).await;
        }
        Ok(Permit { permit: Some(permit), state: self.state.clone() })
    }

    /// Hold new requests for `wait` (429 or 503 with or without `Retry-After`).
    fn pause(&self, wait: Duration) {
        if let Ok(mut s) = self.state.lock() {
            let until = Instant::now() + wait;
            if s.paused_until.is_none_or(|u| u < until) {
                s.paused_until = Some(until);
            }
        }
    }

    fn now(&self) -> usize {
        self.state.lock().map(|s| s.granted - s.debt).unwrap_or(1)
    }

    fn http2(&self) -> Option<bool> {
        self.state.lock().ok().and_then(|s| s.http2)
    }

    /// The protocol of an answer sets the ceiling.
    fn saw_version(&self, version: reqwest::Version, max: usize) {
        let Ok(mut s) = self.state.lock() else { return };
        let h2 = version == reqwest::Version::HTTP_2;
        if s.http2 == Some(h2) {
            return;
        }
        s.http2 = Some(h2);
        s.ceiling = if h2 { max } else { max.min(H1_CONNECTIONS) };
        // HTTP/2 multiplexes on one connection and the server says how many streams it takes
        // (SETTINGS_MAX_CONCURRENT_STREAMS; the client queues the rest): go straight to the
        // ceiling rather than climbing from the HTTP/1.1 start round trip by round trip. A 429,
        // 503 or reset still halves it.
        if h2 && s.slow_start {
            s.limit = s.ceiling as f64;
        }
        s.limit = s.limit.min(s.ceiling as f64);
        self.settle(&mut s);
    }

    fn succeeded(&self, limited: bool, latency: Duration) {
        if !limited {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        let min = *s.min_latency.get_or_insert(latency);
        if latency < min {
            s.min_latency = Some(latency);
        }
        // Latency well above the best seen: requests are queueing somewhere; hold.
        if latency > min * 2 + Duration::from_millis(20) {
            return;
        }
        let step = if s.slow_start { 1.0 } else { 1.0 / s.limit.max(1.0) };
        s.limit = (s.limit + step).min(s.ceiling as f64);
        self.settle(&mut s);
    }

    fn congested(&self, limited: bool) {
        if !limited {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        // One cut per burst: answers to requests sent before the cut do not cut again.
        let window = s.min_latency.unwrap_or(Duration::from_millis(100)).max(Duration::from_millis(50));
        if s.last_cut.is_some_and(|t| t.elapsed() < window) {
            return;
        }
        s.last_cut = Some(Instant::now());
        s.slow_start = false;
        s.limit = (s.limit / 2.0).max(1.0);
        self.settle(&mut s);
    }

    /// Make the permits that exist match the limit.
    fn settle(&self, s: &mut LimitState) {
        let want = (s.limit.floor() as usize).max(1);
        let have = s.granted - s.debt;
        if want > have {
            let mut add = want - have;
            let repay = add.min(s.debt);
            s.debt -= repay;
            add -= repay;
            if add > 0 {
                self.sem.add_permits(add);
                s.granted += add;
            }
        } else if want < have {
            let cut = have - want;
            // Free permits are retired now; those in use as they come back.
            let mut retired = 0;
            while retired < cut {
                match self.sem.try_acquire() {
                    Ok(p) => {
                        p.forget();
                        retired += 1;
                    }
                    Err(_) => break,
                }
            }
            s.granted -= retired;
            s.debt += cut - retired;
        }
    }
}

/// The addresses `host` (a name or an address) stands for, when every one is a loopback
/// address; `None` when any is not, or the name does not resolve.
pub fn loopback_addresses(host: &str) -> Option<Vec<std::net::SocketAddr>> {
    use std::net::ToSocketAddrs as _;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ip.is_loopback().then(|| vec![std::net::SocketAddr::new(ip, 0)]);
    }
    let addrs: Vec<std::net::SocketAddr> = (bare, 0).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())).then_some(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_grows_on_success_halves_on_congestion_and_keeps_its_ceiling() {
        let l = Limiter::new(64);
        assert_eq!(l.now(), START);
        l.saw_version(reqwest::Version::HTTP_2, 64);
        assert_eq!(l.now(), 64, "HTTP/2 starts at the ceiling");
        let wide = Limiter::new(256);
        wide.saw_version(reqwest::Version::HTTP_2, 256);
        assert_eq!(wide.now(), 256, "the server's stream limit, not a start of our own, holds the rest");
        for _ in 0..100 {
            l.succeeded(true, Duration::from_millis(50));
        }
        assert_eq!(l.now(), 64, "slow start reaches the ceiling");
        l.congested(true);
        assert_eq!(l.now(), 32);
        // A second sign of the same burst does not cut again.
        l.congested(true);
        assert_eq!(l.now(), 32);
        // Additive increase: about one per window of successes.
        for _ in 0..40 {
            l.succeeded(true, Duration::from_millis(50));
        }
        assert_eq!(l.now(), 32 + 1);
        // Latency far above the best seen holds growth.
        for _ in 0..100 {
            l.succeeded(true, Duration::from_millis(500));
        }
        assert_eq!(l.now(), 33);
        // HTTP/1.1 caps connections.
        let h1 = Limiter::new(256);
        h1.saw_version(reqwest::Version::HTTP_11, 256);
        for _ in 0..300 {
            h1.succeeded(true, Duration::from_millis(5));
        }
        assert_eq!(h1.now(), H1_CONNECTIONS);
    }

    #[tokio::test]
    async fn permits_in_use_during_a_cut_retire_as_they_come_back() {
        let l = Limiter::new(4);
        let held: Vec<Permit> = futures::future::join_all((0..4).map(|_| l.acquire())).await.into_iter().map(Result::unwrap).collect();
        l.congested(true);
        assert_eq!(l.now(), 2);
        drop(held);
        assert_eq!(l.sem.available_permits(), 2, "two of the four returned permits were retired");
    }
}
