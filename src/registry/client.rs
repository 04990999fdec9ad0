//! The registry HTTP client: distribution API v2 over reqwest, with Bearer/Basic auth, bounded
//! retries honouring `Retry-After`, a total timeout per request, `Link` pagination that stays on
//! the registry's host, and digest verification of everything it returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION};
use tokio::sync::{Mutex, Semaphore};

use crate::model::digest::Digest;
use crate::model::manifest::ACCEPT_ALL;
use crate::model::reference::{Registry, valid_repository_name, valid_tag};

use super::auth::Credentials;
use super::error::RegistryError;
use super::store::{BlobBody, BlobReader, Chunks, Store, Written};
use async_trait::async_trait;

pub const DEFAULT_CONCURRENCY: usize = 16;

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
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Use plain HTTP for a non-loopback host.
    pub plain_http: bool,
    /// Resolve tags with `HEAD` (and read manifests from the cache when it has them) rather
    /// than one `GET`. `None`: only on Docker Hub, whose pull limits count manifest `GET`s but
    /// not `HEAD`s.
    pub resolve_with_head: Option<bool>,
    /// Skip TLS certificate verification (`--insecure`, or the registry's setting in the app).
    pub insecure: bool,
    /// Where certs.d folders are looked for; `None`: the usual places ([`super::tls::certs_d_roots`]).
    pub certs_d: Option<Vec<std::path::PathBuf>>,
    /// Told (in words) whenever a request waits out a rate limit, so a UI can say so.
    pub on_wait: Option<WaitHook>,
    /// Caps on everything read.
    pub limits: Limits,
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

/// A callback for [`ClientOptions::on_wait`].
#[derive(Clone)]
pub struct WaitHook(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for WaitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitHook")
    }
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
            limits: Limits::default(),
        }
    }
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

pub use super::store::Fetched;

/// A blob being read, with the time by which all of it must have arrived.
pub struct BlobStream {
    resp: reqwest::Response,
    deadline: tokio::time::Instant,
    allowed: Duration,
    /// The registry's name, for errors.
    registry: String,
}

impl BlobStream {
    /// The next chunk, before the stream's deadline; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, RegistryError> {
        match tokio::time::timeout_at(self.deadline, self.resp.chunk()).await {
            Err(_) => Err(RegistryError::Timeout { registry: self.registry.clone(), url: self.resp.url().to_string(), seconds: self.allowed.as_secs().max(1) }),
            Ok(Err(e)) => Err(classify(&self.registry, &e)),
            Ok(Ok(c)) => Ok(c),
        }
    }
}

/// One page of a paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<String>,
    /// The URL of the next page, if the registry gave one.
    pub next: Option<String>,
}

pub struct RegistryClient {
    pub(super) http: reqwest::Client,
    registry: Registry,
    base: String,
    /// The user's credentials, looked up the first time the registry asks for them.
    credentials: tokio::sync::OnceCell<Option<Credentials>>,
    source: Option<CredentialSource>,
    tokens: Mutex<HashMap<String, String>>,
    basic: AtomicBool,
    options: ClientOptions,
    pub(super) limiter: Arc<Semaphore>,
    /// Docker Hub's `ratelimit-remaining`, as last sent.
    rate_limit: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("registry", &self.registry).field("base", &self.base).finish()
    }
}

pub fn repo_scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}

pub const CATALOG_SCOPE: &str = "registry:catalog:*";

/// The user name docker sends with an identity token when a token service wants Basic auth.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

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

pub use super::auth::CredentialSource;

impl RegistryClient {
    pub fn new(registry: Registry, credentials: Option<Credentials>, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let mut c = Self::build(registry, options)?;
        c.credentials = tokio::sync::OnceCell::new_with(Some(credentials));
        Ok(c)
    }

    /// A client whose credentials are looked up by `source`, on a blocking thread, the first
    /// time the registry asks for them.
    pub fn with_source(registry: Registry, source: CredentialSource, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let mut c = Self::build(registry, options)?;
        c.source = Some(source);
        Ok(c)
    }

    /// The credentials, looked up now if this is the first time they are needed.
    async fn creds(&self) -> Result<Option<&Credentials>, RegistryError> {
        let found = self
            .credentials
            .get_or_try_init(|| async {
                let Some(source) = self.source.clone() else { return Ok(None) };
                tokio::task::spawn_blocking(move || source()).await.map_err(|e| e.to_string())?
            })
            .await
            .map_err(|detail| RegistryError::Unauthorized {
                registry: self.name(),
                scope: String::new(),
                detail: format!("looking up your credentials: {detail}"),
            })?;
        Ok(found.as_ref())
    }

    fn build(registry: Registry, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let roots = options.certs_d.clone().unwrap_or_else(super::tls::certs_d_roots);
        let tls = super::tls::load(&registry, &roots)?;
        // Loopback registries speak plain HTTP unless TLS is configured for them. Loopback is
        // decided on the addresses a name resolves to, and a name is pinned to them, so a
        // `*.localhost` name that points elsewhere gets no clear-text traffic or password.
        let pinned = if registry.is_loopback() { loopback_addresses(registry.host()) } else { None };
        let plain = options.plain_http || (pinned.is_some() && !tls.configured() && !options.insecure);
        let scheme = if plain { "http" } else { "https" };
        let base = format!("{scheme}://{}", registry.endpoint());
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("archlens/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .danger_accept_invalid_certs(options.insecure);
        for root in tls.roots {
            builder = builder.add_root_certificate(root);
        }
        if let Some(addrs) = pinned.filter(|_| registry.host().parse::<std::net::IpAddr>().is_err()) {
            builder = builder.resolve_to_addrs(registry.host(), &addrs);
        }
        if let Some(identity) = tls.identity {
            builder = builder.identity(identity);
        }
        let http = builder.build().map_err(|e| RegistryError::Other { detail: format!("cannot set up HTTP: {e}") })?;
        Ok(RegistryClient {
            http,
            registry,
            base,
            credentials: tokio::sync::OnceCell::new(),
            source: None,
            tokens: Mutex::new(HashMap::new()),
            basic: AtomicBool::new(false),
            limiter: Arc::new(Semaphore::new(options.concurrency.max(1))),
            rate_limit: std::sync::Mutex::new(None),
            options,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The credentials, when they were given or already looked up (`None` also when the
    /// registry has not asked for any yet).
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.get().and_then(Option::as_ref)
    }

    /// Whether tags are resolved with `HEAD` first (see [`ClientOptions::resolve_with_head`]).
    pub fn resolves_with_head(&self) -> bool {
        self.options.resolve_with_head.unwrap_or_else(|| self.registry.is_docker_hub())
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The pull limit left, as the registry last said (`ratelimit-remaining`, e.g. `98;w=21600`:
    /// Docker Hub sends it with manifest requests).
    pub fn rate_limit_remaining(&self) -> Option<String> {
        self.rate_limit.lock().ok().and_then(|s| s.clone())
    }

    pub fn name(&self) -> String {
        self.registry.name().to_string()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(super) async fn auth_header(&self, scope: &str) -> Option<String> {
        if let Some(t) = self.tokens.lock().await.get(scope) {
            return Some(format!("Bearer {t}"));
        }
        if self.basic.load(Ordering::Relaxed)
            && let Some(Credentials::Basic { username, password }) = self.credentials()
        {
            return Some(basic_header(username, password));
        }
        None
    }

    /// Send one request with auth, retries and the total timeout; read the body, at most
    /// `cap` bytes of a success (more is [`RegistryError::TooLarge`]) and at most the error-body
    /// limit of anything else (cut).
    pub async fn execute(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        cap: u64,
    ) -> Result<Response, RegistryError> {
        let _permit = self.limiter.acquire().await.map_err(|_| RegistryError::Cancelled)?;
        let mut attempt: u32 = 0;
        let mut authenticated = false;
        loop {
            let started = std::time::Instant::now();
            let mut rb = self.http.request(method.clone(), url);
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            if let Some(h) = self.auth_header(scope).await {
                rb = rb.header(AUTHORIZATION, h);
            }
            if let Some(b) = body {
                rb = rb.body(b.to_vec());
            }
            let is_head = method == Method::HEAD;
            let error_cap = self.options.limits.error_body;
            let sent = tokio::time::timeout(self.options.timeout, async {
                let mut resp = rb.send().await.map_err(Some)?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let success = (200..300).contains(&status);
                let body = if is_head { Vec::new() } else { read_limited(&mut resp, if success { cap } else { error_cap }, !success).await? };
                Ok::<_, Option<reqwest::Error>>(Response { status, headers, body })
            })
            .await;
            let retry_wait = |attempt: u32| {
                let base = self.options.initial_backoff.saturating_mul(2u32.saturating_pow(attempt));
                base.min(self.options.max_backoff)
            };
            let resp = match sent {
                Err(_) => {
                    tracing::debug!(%method, url, scope, attempt, ms = started.elapsed().as_millis() as u64, "request timed out");
                    return Err(self.timeout_error(url.to_string()));
                }
                Ok(Err(None)) => {
                    return Err(RegistryError::TooLarge { registry: self.name(), url: url.to_string(), limit: cap });
                }
                Ok(Err(Some(e))) => {
                    let err = self.classify(&e);
                    tracing::debug!(%method, url, scope, attempt, ms = started.elapsed().as_millis() as u64, error = %err, "request failed");
                    if matches!(err, RegistryError::Connection { .. }) && attempt < self.options.max_retries {
                        let wait = retry_wait(attempt);
                        tracing::info!("{}: connection failed, retrying in {} ms", self.name(), wait.as_millis());
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
                Ok(Ok(r)) => r,
            };
            tracing::debug!(
                %method, url, scope, attempt, status = resp.status, bytes = resp.body.len(), ms = started.elapsed().as_millis() as u64,
                "request"
            );
            if let Some(left) = resp.header("ratelimit-remaining") {
                tracing::info!("{}: pull limit remaining {left}", self.name());
                if let Ok(mut slot) = self.rate_limit.lock() {
                    *slot = Some(left.to_string());
                }
            }
            match resp.status {
                401 if !authenticated => {
                    let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
                    self.authenticate(&challenge, scope).await?;
                    authenticated = true;
                }
                401 | 403 => {
                    return Err(RegistryError::Unauthorized { registry: self.name(), scope: scope.to_string(), detail: error_detail(&resp.body, resp.status) });
                }
                408 | 429 | 500..=599 => {
                    let retry_after = resp.header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
                    // A server asking for a longer wait than the cap is reported, not waited for.
                    let too_long = retry_after.is_some_and(|s| Duration::from_secs(s) > self.options.max_backoff);
                    if attempt >= self.options.max_retries || too_long {
                        return Err(if resp.status == 429 {
                            RegistryError::RateLimited { registry: self.name(), retry_after }
                        } else {
                            RegistryError::Http {
                                registry: self.name(),
                                status: resp.status,
                                url: url.to_string(),
                                detail: error_detail(&resp.body, resp.status),
                            }
                        });
                    }
                    let wait = retry_after.map(Duration::from_secs).unwrap_or_else(|| retry_wait(attempt));
                    if resp.status == 429 {
                        let said = format!("rate limited by {}, retrying in {} s", self.name(), wait.as_secs_f64().ceil() as u64);
                        tracing::warn!("{said}");
                        if let Some(hook) = &self.options.on_wait {
                            (hook.0)(&said);
                        }
                    } else {
                        tracing::info!("{} answered {}, retrying in {} ms", self.name(), resp.status, wait.as_millis());
                    }
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return Ok(resp),
            }
        }
    }

    /// Start a streamed `GET` of a blob that must be read whole within the timeout (headers
    /// and body together); the caller pulls the body with [`Self::next_chunk`].
    pub async fn open_blob(&self, repo: &str, digest: &Digest) -> Result<BlobStream, RegistryError> {
        self.open_blob_within(repo, digest, self.options.timeout).await
    }

    /// [`Self::open_blob`] with `allowed` for the whole transfer (copies of big layers allow
    /// for their size).
    pub async fn open_blob_within(&self, repo: &str, digest: &Digest, allowed: Duration) -> Result<BlobStream, RegistryError> {
        let deadline = tokio::time::Instant::now() + allowed;
        let resp = tokio::time::timeout_at(deadline, self.open_blob_response(repo, digest)).await.map_err(|_| RegistryError::Timeout {
            registry: self.name(),
            url: self.url(&format!("/v2/{repo}/blobs/{digest}")),
            seconds: allowed.as_secs().max(1),
        })??;
        Ok(BlobStream { resp, deadline, allowed, registry: self.name() })
    }

    async fn open_blob_response(&self, repo: &str, digest: &Digest) -> Result<reqwest::Response, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let scope = repo_scope(repo, "pull");
        let mut authenticated = false;
        loop {
            let mut rb = self.http.get(&url);
            if let Some(h) = self.auth_header(&scope).await {
                rb = rb.header(AUTHORIZATION, h);
            }
            let resp =
                tokio::time::timeout(self.options.timeout, rb.send()).await.map_err(|_| self.timeout_error(url.clone()))?.map_err(|e| self.classify(&e))?;
            let status = resp.status().as_u16();
            tracing::debug!(method = "GET", url, scope, status, "blob stream opened");
            if status == 401 && !authenticated {
                let challenge = resp.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                self.authenticate(&challenge, &scope).await?;
                authenticated = true;
                continue;
            }
            if status == 200 {
                return Ok(resp);
            }
            let headers = resp.headers().clone();
            let mut resp = resp;
            let body = read_limited(&mut resp, self.options.limits.error_body, true).await.unwrap_or_default();
            let r = Response { status, headers, body };
            return Err(match status {
                401 | 403 => RegistryError::Unauthorized { registry: self.name(), scope, detail: error_detail(&r.body, status) },
                _ => self.status_error(&r, &url, &format!("blob {repo}@{digest}")),
            });
        }
    }

    fn timeout_error(&self, url: impl Into<String>) -> RegistryError {
        RegistryError::Timeout { registry: self.name(), url: url.into(), seconds: self.options.timeout.as_secs().max(1) }
    }

    pub(super) fn classify(&self, e: &reqwest::Error) -> RegistryError {
        classify(&self.name(), e)
    }

    pub(super) async fn authenticate(&self, challenge: &str, scope: &str) -> Result<(), RegistryError> {
        let (scheme, params) = parse_challenge(challenge);
        let unauthorized = |detail: String| RegistryError::Unauthorized { registry: self.name(), scope: scope.to_string(), detail };
        let credentials = self.creds().await?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => match credentials {
                Some(Credentials::Basic { .. }) => {
                    self.basic.store(true, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err(unauthorized("the registry asks for a user name and password".into())),
            },
            "bearer" => {
                let realm = params.get("realm").ok_or_else(|| unauthorized("the Bearer challenge has no realm".into()))?;
                let mut query: Vec<(&str, &str)> = Vec::new();
                if let Some(s) = params.get("service") {
                    query.push(("service", s));
                }
                for s in scope.split(' ').filter(|s| !s.is_empty()) {
                    query.push(("scope", s));
                }
                let mut token_url = url::Url::parse(realm).map_err(|e| unauthorized(format!("the token realm {realm:?} is not a URL: {e}")))?;
                // A password never travels in clear text, except to this machine.
                if token_url.scheme() == "http" && credentials.is_some() {
                    let host = token_url.host_str().unwrap_or("");
                    if loopback_addresses(host).is_none() {
                        return Err(unauthorized(format!(
                            "the token service {realm} is plain HTTP on another machine; Archlens does not send credentials there. Ask the registry's operator for an https realm"
                        )));
                    }
                }
                let get = |url: &mut url::Url| self.http.get(with_query(url, &query));
                let send = |req: reqwest::RequestBuilder| async move {
                    let limit = self.options.limits.token;
                    tokio::time::timeout(self.options.timeout, async {
                        let mut r = req.send().await.map_err(Some)?;
                        let status = r.status().as_u16();
                        let body = read_limited(&mut r, limit, status != 200).await?;
                        Ok::<_, Option<reqwest::Error>>((status, body))
                    })
                    .await
                    .map_err(|_| self.timeout_error(realm.clone()))?
                    .map_err(|e| match e {
                        Some(e) => self.classify(&e),
                        None => RegistryError::TooLarge { registry: self.name(), url: realm.clone(), limit },
                    })
                };
                let asked = std::time::Instant::now();
                let resp = match credentials {
                    Some(Credentials::IdentityToken { token }) => {
                        // OAuth2 refresh-token grant by POST; a token service without it (404,
                        // 405) gets the token as a Basic password, under the user name docker
                        // uses for identity tokens.
                        let mut form = query.clone();
                        form.push(("grant_type", "refresh_token"));
                        form.push(("refresh_token", token));
                        form.push(("client_id", "archlens"));
                        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
                        let posted = send(self.http.post(realm.as_str()).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body)).await?;
                        if posted.0 == 404 || posted.0 == 405 {
                            send(get(&mut token_url).header(AUTHORIZATION, basic_header(IDENTITY_TOKEN_USER, token))).await?
                        } else {
                            posted
                        }
                    }
                    Some(Credentials::Basic { username, password }) => {
                        send(get(&mut token_url).header(AUTHORIZATION, basic_header(username, password))).await?
                    }
                    None => send(get(&mut token_url)).await?,
                };
                tracing::debug!(realm = %realm, scope, status = resp.0, ms = asked.elapsed().as_millis() as u64, "token request");
                if resp.0 != 200 {
                    return Err(unauthorized(format!("the token service answered {}: {}", resp.0, error_detail(&resp.1, resp.0))));
                }
                let v: serde_json::Value = serde_json::from_slice(&resp.1).map_err(|e| unauthorized(format!("the token service sent unreadable JSON: {e}")))?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| unauthorized("the token service sent no token".into()))?;
                // A token goes into a header: one with line breaks or other control characters
                // is a broken answer, not a network failure.
                if token.is_empty() || token.chars().any(|c| c.is_control()) {
                    return Err(unauthorized("the token service sent an invalid token (empty, or holding line breaks or control characters)".into()));
                }
                self.tokens.lock().await.insert(scope.to_string(), token.to_string());
                Ok(())
            }
            _ => Err(unauthorized(format!("unsupported authentication challenge {challenge:?}"))),
        }
    }

    /// Fail with the right typed error for a non-success status (or a web page).
    pub(super) fn status_error(&self, resp: &Response, url: &str, what: &str) -> RegistryError {
        // A web page where the registry API should answer: not a registry at all.
        if is_web_page(resp) && (resp.status == 404 || url.ends_with("/v2/")) {
            return RegistryError::Other {
                detail: format!(
                    "{} answers HTTP but is not a container registry: {url} gave a web page (HTTP {}). Check the host and port",
                    self.name(),
                    resp.status
                ),
            };
        }
        if resp.status == 400 && String::from_utf8_lossy(&resp.body).contains("HTTP request to an HTTPS server") {
            return RegistryError::Tls { registry: self.name(), detail: "the registry speaks HTTPS and was asked in plain HTTP".into() };
        }
        match resp.status {
            404 => RegistryError::NotFound { registry: self.name(), what: what.to_string() },
            s => RegistryError::Http { registry: self.name(), status: s, url: url.to_string(), detail: error_detail(&resp.body, s) },
        }
    }

    /// Check that `/v2/` answers (with auth if needed).
    pub async fn ping(&self) -> Result<(), RegistryError> {
        let url = self.url("/v2/");
        let r = self.execute(Method::GET, &url, "", &[], None, self.options.limits.error_body).await?;
        // A web server answering every path with a page (a single-page app, a proxy's welcome
        // page) says 200 too; a registry answers with its API version or JSON.
        if r.status == 200 && !is_web_page(&r) { Ok(()) } else { Err(self.status_error(&r, &url, "the registry API (/v2/)")) }
    }

    async fn list_page(&self, url: &str, scope: &str, key: &str, what: &str) -> Result<Page, RegistryError> {
        let r = self.execute(Method::GET, url, scope, &[], None, self.options.limits.page).await?;
        if r.status != 200 {
            return Err(self.status_error(&r, url, what));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|e| RegistryError::Other { detail: format!("{} sent unreadable JSON for {what}: {e}", self.name()) })?;
        let items: Vec<String> = match v.get(key) {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            // A repository whose only tag was deleted lists `"tags": null`.
            Some(serde_json::Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(RegistryError::Other { detail: format!("{} sent a malformed {key} list", self.name()) });
            }
        };
        // Names go into URLs and onto terminals: only those the grammar allows.
        let valid = |n: &str| if key == "tags" { valid_tag(n) } else { valid_repository_name(n) };
        let (items, rejected): (Vec<String>, Vec<String>) = items.into_iter().partition(|n| valid(n));
        if let Some(example) = rejected.first() {
            tracing::warn!(
                "{} listed {} name(s) that are not valid {} and were skipped, e.g. {:?}",
                self.name(),
                rejected.len(),
                if key == "tags" { "tags" } else { "repository names" },
                example.chars().take(80).collect::<String>()
            );
        }
        let next = match r.header("link") {
            Some(link) => self.next_link(url, link)?,
            None => None,
        };
        Ok(Page { items, next })
    }

    /// Resolve the `rel="next"` target of a Link header, refusing other hosts.
    fn next_link(&self, current: &str, link: &str) -> Result<Option<String>, RegistryError> {
        let Some(target) = parse_next_link(link) else { return Ok(None) };
        let base = url::Url::parse(current).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        let next = base.join(&target).map_err(|e| RegistryError::Other { detail: format!("bad Link header: {e}") })?;
        if next.host_str() != base.host_str() || next.port_or_known_default() != base.port_or_known_default() {
            return Err(RegistryError::CrossHostLink { registry: self.name(), url: next.to_string() });
        }
        Ok(Some(next.to_string()))
    }

    /// One catalog page. `page` is a URL from a previous page's `next`, or `None` for the first.
    pub async fn catalog_page(&self, page: Option<&str>, n: usize) -> Result<Page, RegistryError> {
        let url = match page {
            Some(u) => u.to_string(),
            None => self.url(&format!("/v2/_catalog?n={n}")),
        };
        self.list_page(&url, CATALOG_SCOPE, "repositories", "the repository catalog").await
    }

    pub async fn catalog_all(&self) -> Result<Vec<String>, RegistryError> {
        self.catalog_all_paged(1000).await
    }

    /// The whole catalog, asking for `n` names per page.
    pub async fn catalog_all_paged(&self, n: usize) -> Result<Vec<String>, RegistryError> {
        let n = n.clamp(1, 10_000);
        self.all_pages(|next| async move { self.catalog_page(next.as_deref(), n).await }).await
    }

    pub async fn tags_page(&self, repo: &str, page: Option<&str>, n: usize) -> Result<Page, RegistryError> {
        let url = match page {
            Some(u) => u.to_string(),
            None => self.url(&format!("/v2/{repo}/tags/list?n={n}")),
        };
        self.list_page(&url, &repo_scope(repo, "pull"), "tags", &format!("repository {repo}")).await
    }

    pub async fn tags_all(&self, repo: &str) -> Result<Vec<String>, RegistryError> {
        self.all_pages(|next| async move { self.tags_page(repo, next.as_deref(), 1000).await }).await
    }

    /// `HEAD` a manifest: its digest (from `Docker-Content-Digest`), media type and size.
    /// `Ok(None)` when the registry does not send the digest header.
    pub async fn head_manifest(&self, repo: &str, reference: &str) -> Result<Option<(Digest, Option<String>)>, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let accept = ACCEPT_ALL.join(", ");
        let r = self.execute(Method::HEAD, &url, &repo_scope(repo, "pull"), &[("accept", &accept)], None, 0).await?;
        if r.status != 200 {
            return Err(self.status_error(&r, &url, &format!("{repo}:{reference}")));
        }
        let digest = r.header("docker-content-digest").and_then(|d| Digest::parse(d.trim()).ok());
        Ok(digest.map(|d| (d, r.header("content-type").map(str::to_string))))
    }

    /// `GET` a manifest by tag or digest; verified against the digest asked for, or against
    /// `Docker-Content-Digest` when fetched by tag.
    pub async fn get_manifest(&self, repo: &str, reference: &str) -> Result<Fetched, RegistryError> {
        self.get_manifest_sized(repo, reference, None).await
    }

    /// [`Self::get_manifest`], reading no more than `declared` bytes when a descriptor says
    /// the size (and never more than the manifest limit). A digest whose algorithm cannot be
    /// checked is refused: its bytes would be shown unverified.
    pub async fn get_manifest_sized(&self, repo: &str, reference: &str, declared: Option<u64>) -> Result<Fetched, RegistryError> {
        if let Ok(d) = Digest::parse(reference)
            && !d.is_verifiable()
        {
            return Err(self.unverifiable(&d));
        }
        let cap = declared.map_or(self.options.limits.manifest, |n| n.min(self.options.limits.manifest));
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let accept = ACCEPT_ALL.join(", ");
        let what = if reference.contains(':') { format!("{repo}@{reference}") } else { format!("{repo}:{reference}") };
        let r = self.execute(Method::GET, &url, &repo_scope(repo, "pull"), &[("accept", &accept)], None, cap).await?;
        if r.status != 200 {
            return Err(self.status_error(&r, &url, &what));
        }
        let expected = match Digest::parse(reference) {
            Ok(d) => Some(d),
            Err(_) => r.header("docker-content-digest").and_then(|d| Digest::parse(d.trim()).ok()),
        };
        let digest = self.verify(&what, expected.as_ref(), &r.body)?;
        Ok(Fetched { content_type: r.header("content-type").map(str::to_string), bytes: r.body, digest })
    }

    /// `GET` a blob that fits in memory (configs), verified.
    pub async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        self.get_blob_sized(repo, digest, None).await
    }

    /// [`Self::get_blob`], reading no more than `declared` bytes (and the config limit).
    pub async fn get_blob_sized(&self, repo: &str, digest: &Digest, declared: Option<u64>) -> Result<Vec<u8>, RegistryError> {
        if !digest.is_verifiable() {
            return Err(self.unverifiable(digest));
        }
        let cap = declared.map_or(self.options.limits.config, |n| n.min(self.options.limits.config));
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let what = format!("blob {repo}@{digest}");
        let r = self.execute(Method::GET, &url, &repo_scope(repo, "pull"), &[], None, cap).await?;
        if r.status != 200 {
            return Err(self.status_error(&r, &url, &what));
        }
        self.verify(&what, Some(digest), &r.body)?;
        Ok(r.body)
    }

    fn unverifiable(&self, d: &Digest) -> RegistryError {
        RegistryError::DigestMismatch {
            registry: self.name(),
            what: d.to_string(),
            mismatch: crate::model::digest::DigestMismatch {
                expected: d.clone(),
                actual: None,
                reason: format!("its algorithm {} cannot be verified (Archlens checks sha256 and sha512), so nothing is read by it", d.algorithm()),
            },
        }
    }

    fn verify(&self, what: &str, expected: Option<&Digest>, bytes: &[u8]) -> Result<Digest, RegistryError> {
        match expected {
            Some(d) if d.is_verifiable() => match d.verify(bytes) {
                Ok(()) => Ok(d.clone()),
                Err(mismatch) => Err(RegistryError::DigestMismatch { registry: self.name(), what: what.to_string(), mismatch }),
            },
            _ => Ok(Digest::sha256(bytes)),
        }
    }

    pub async fn blob_exists(&self, repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let r = self.execute(Method::HEAD, &url, &repo_scope(repo, "pull,push"), &[], None, 0).await?;
        match r.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(&r, &url, &format!("blob {repo}@{digest}"))),
        }
    }

    /// Upload a blob in one piece (skipped when the registry already has it).
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::sha256(bytes);
        if !self.blob_exists(repo, &digest).await? {
            let body = super::store::BlobBody::Bytes(bytes::Bytes::copy_from_slice(bytes));
            self.upload(repo, &digest, bytes.len() as u64, &body, None).await?;
        }
        Ok(digest)
    }

    pub(super) fn upload_location(&self, r: &Response, start: &str) -> Result<String, RegistryError> {
        let loc = r
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Other { detail: format!("{} gave no upload location", self.name()) })?;
        let base = url::Url::parse(start).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        base.join(loc).map(|u| u.to_string()).map_err(|e| RegistryError::Other { detail: e.to_string() })
    }

    /// Push manifest bytes exactly as given; returns the digest the registry reports, which
    /// must equal the digest of the bytes.
    pub async fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let r = self
            .execute(Method::PUT, &url, &repo_scope(repo, "pull,push"), &[("content-type", media_type)], Some(bytes), self.options.limits.error_body)
            .await?;
        if r.status != 201 && r.status != 200 {
            return Err(self.status_error(&r, &url, &format!("manifest {repo}:{reference}")));
        }
        let ours = Digest::sha256(bytes);
        if let Some(theirs) = r.header("docker-content-digest").and_then(|d| Digest::parse(d.trim()).ok())
            && theirs != ours
        {
            return Err(RegistryError::digest_mismatch(&self.name(), &format!("pushed manifest {repo}:{reference}"), &ours, theirs));
        }
        Ok(ours)
    }
}

impl RegistryClient {
    /// Follow `next` links until the last page. A link seen before (A→B→A) or more pages than
    /// the limit stop the listing with an error that says so.
    async fn all_pages<F, Fut>(&self, mut page: F) -> Result<Vec<String>, RegistryError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<Page, RegistryError>>,
    {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for pages in 1.. {
            let p = page(next.clone()).await?;
            out.extend(p.items);
            match p.next {
                None => return Ok(out),
                Some(n) if !seen.insert(n.clone()) => {
                    return Err(RegistryError::Pagination {
                        registry: self.name(),
                        detail: format!("its page links go round in a loop (back to {n}) after {pages} pages and {} names; stopped", out.len()),
                    });
                }
                Some(_) if pages >= self.options.limits.pages => {
                    return Err(RegistryError::Pagination {
                        registry: self.name(),
                        detail: format!("stopped after {pages} pages ({} names), the limit (raise it with --limit pages=N)", out.len()),
                    });
                }
                Some(n) => next = Some(n),
            }
        }
        Ok(out)
    }

    /// Delete a tag (distribution-spec 1.1: `DELETE /v2/NAME/manifests/TAG`), leaving the
    /// manifest and other tags alone. Registries that cannot delete by tag say so; the error
    /// tells the user what they can do instead.
    pub async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{tag}"));
        let r = self.execute(Method::DELETE, &url, &repo_scope(repo, "pull,push,delete"), &[], None, self.options.limits.error_body).await?;
        match r.status {
            200 | 202 | 204 => Ok(()),
            s => Err(RegistryError::Other {
                detail: format!(
                    "{} cannot delete the tag {repo}:{tag} ({s}: {}). Registries before distribution-spec 1.1 delete only by digest, \
                     which removes the image for every tag that names it: `skopeo delete docker://{}/{repo}:{tag}` does that; \
                     or point the tag at another image with `archlens compose --target {}/{repo}:{tag} …`",
                    self.name(),
                    error_detail(&r.body, s),
                    self.registry().name(),
                    self.registry().name()
                ),
            }),
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

fn with_query(url: &mut url::Url, pairs: &[(&str, &str)]) -> String {
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// The registry's own error text (`{"errors":[{"code","message"}]}`), or a short body excerpt.
fn error_detail(body: &[u8], status: u16) -> String {
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

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", params).
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect::<String>().trim().to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        params.insert(key, value);
    }
    (scheme.to_string(), params)
}

/// The target of `rel="next"` in a Link header.
pub fn parse_next_link(link: &str) -> Option<String> {
    for part in link.split(',') {
        let part = part.trim();
        let (target, params) = part.split_once(';').unwrap_or((part, ""));
        let target = target.trim();
        if !(target.starts_with('<') && target.ends_with('>')) {
            continue;
        }
        let is_next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if is_next {
            return Some(target[1..target.len() - 1].to_string());
        }
    }
    None
}

/// A web page (HTML) from a server that does not say it speaks the registry API.
fn is_web_page(resp: &Response) -> bool {
    let html = resp.header("content-type").is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    html && resp.header("docker-distribution-api-version").is_none()
}

#[async_trait]
impl Store for RegistryClient {
    fn name(&self) -> String {
        self.registry().name().to_string()
    }

    fn location(&self) -> String {
        format!("registry {}", self.registry().name())
    }

    fn concurrency(&self) -> usize {
        self.options().concurrency.max(1)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn tags(&self, repo: &str) -> Result<Vec<String>, RegistryError> {
        self.tags_all(repo).await
    }

    async fn peek_tag(&self, repo: &str, tag: &str) -> Result<Option<Digest>, RegistryError> {
        if !self.resolves_with_head() {
            return Ok(None);
        }
        Ok(self.head_manifest(repo, tag).await?.map(|(d, _)| d))
    }

    async fn tag_digest(&self, repo: &str, tag: &str) -> Result<Option<Digest>, RegistryError> {
        match self.head_manifest(repo, tag).await {
            Ok(Some((d, _))) => Ok(Some(d)),
            Ok(None) => Ok(Some(self.get_manifest(repo, tag).await?.digest)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn manifest(&self, repo: &str, reference: &str, declared: Option<u64>) -> Result<Fetched, RegistryError> {
        self.get_manifest_sized(repo, reference, declared).await
    }

    async fn blob(&self, repo: &str, digest: &Digest, declared: Option<u64>) -> Result<Vec<u8>, RegistryError> {
        self.get_blob_sized(repo, digest, declared).await
    }

    async fn open_blob(&self, repo: &str, digest: &Digest, size: u64) -> Result<BlobReader, RegistryError> {
        if !digest.is_verifiable() {
            return Err(super::store::unverifiable(&Store::name(self), digest));
        }
        let stream = self.open_blob_within(repo, digest, super::upload::transfer_time(self.options().timeout, size)).await?;
        let chunks: Chunks = Box::pin(futures::stream::unfold(Some(stream), |state| async move {
            let mut s = state?;
            match s.next_chunk().await {
                Ok(Some(c)) => Some((Ok(c), Some(s))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        }));
        BlobReader::new(Store::name(self), digest, size, chunks)
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
        self.blob_exists(repo, digest).await
    }

    async fn put_blob(&self, repo: &str, digest: &Digest, size: u64, body: BlobBody, mount_from: Option<&str>) -> Result<Written, RegistryError> {
        if self.blob_exists(repo, digest).await? {
            return Ok(Written::Present);
        }
        let mut session = None;
        let mut note = None;
        if let Some(from) = mount_from.filter(|f| *f != repo) {
            match self.mount(repo, from, digest).await? {
                super::upload::Mount::Mounted => return Ok(Written::Mounted),
                super::upload::Mount::Declined { location } => session = Some(location),
                super::upload::Mount::Refused { detail } => {
                    let said = format!("{} refused to mount {} from {from} ({detail}); uploading it instead", self.registry(), digest.short());
                    tracing::warn!("{said}");
                    note = Some(said);
                }
            }
        }
        self.upload(repo, digest, size, &body, session).await?;
        if !self.blob_exists(repo, digest).await? {
            return Err(RegistryError::Other { detail: format!("{digest} is not in {repo} after its upload") });
        }
        Ok(Written::Copied { note })
    }

    async fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Result<Digest, RegistryError> {
        RegistryClient::put_manifest(self, repo, reference, media_type, bytes).await
    }

    async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), RegistryError> {
        RegistryClient::delete_tag(self, repo, tag).await
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn loopback_is_decided_on_addresses_not_names() {
        assert!(loopback_addresses("127.0.0.1").is_some());
        assert!(loopback_addresses("[::1]").is_some());
        assert!(loopback_addresses("localhost").is_some_and(|a| a.iter().all(|a| a.ip().is_loopback())));
        assert!(loopback_addresses("10.0.0.1").is_none());
        // A name that claims loopback but resolves to nothing (or elsewhere) is not.
        assert!(loopback_addresses("no-such-host.archlens.invalid").is_none());
        // A `*.localhost` name is plain HTTP only when it resolves to loopback addresses alone.
        let name = "archlens-no-such-host.localhost";
        let c = RegistryClient::new(Registry::parse(&format!("{name}:5000")).unwrap(), None, ClientOptions::default()).unwrap();
        let want = if loopback_addresses(name).is_some() { "http://" } else { "https://" };
        assert!(c.base_url().starts_with(want), "{}", c.base_url());
        let c = RegistryClient::new(Registry::parse("localhost:5000").unwrap(), None, ClientOptions::default()).unwrap();
        assert!(c.base_url().starts_with("http://"), "{}", c.base_url());
    }

    use super::*;

    #[test]
    fn challenge_parsing() {
        let (s, p) = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#);
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/alpine:pull");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(s, "Basic");
        assert_eq!(p["realm"], "Registry Realm");
    }

    #[test]
    fn link_parsing() {
        assert_eq!(parse_next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#).as_deref(), Some("/v2/_catalog?last=b&n=2"));
        assert_eq!(parse_next_link(r#"<https://x/a>; rel="prev", <https://x/b>; rel="next""#).as_deref(), Some("https://x/b"));
        assert_eq!(parse_next_link(r#"<https://x/a>; rel="prev""#), None);
    }

    #[test]
    fn next_link_stays_on_host() {
        let c = RegistryClient::new(Registry::parse("127.0.0.1:5000").unwrap(), None, ClientOptions::default()).unwrap();
        let cur = "http://127.0.0.1:5000/v2/_catalog?n=2";
        assert_eq!(c.next_link(cur, r#"</v2/_catalog?last=b&n=2>; rel="next""#).unwrap().as_deref(), Some("http://127.0.0.1:5000/v2/_catalog?last=b&n=2"));
        assert!(matches!(c.next_link(cur, r#"<http://evil.example/v2/_catalog?last=b>; rel="next""#), Err(RegistryError::CrossHostLink { .. })));
        assert!(matches!(c.next_link(cur, r#"<http://127.0.0.1:6000/v2/_catalog?last=b>; rel="next""#), Err(RegistryError::CrossHostLink { .. })));
    }
}
