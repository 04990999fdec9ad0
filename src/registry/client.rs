//! The registry HTTP client: distribution API v2 over reqwest, with Bearer/Basic auth, bounded
//! retries honouring `Retry-After`, a total timeout per request, `Link` pagination that stays on
//! the registry's host, and digest verification of everything it returns.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::LOCATION;

use crate::model::digest::Digest;
use crate::model::manifest::ACCEPT_ALL;
use crate::model::reference::{Registry, valid_repository_name, valid_tag};

use super::auth::Credentials;
use super::bearer::Auth;
use super::error::RegistryError;
use super::store::{BlobBody, BlobReader, Chunks, Store, Written};
use super::transport::{Body, Reading, Request, Sent, Transport, error_detail};

pub use super::bearer::{IDENTITY_TOKEN_USER, parse_challenge};
pub use super::store::Fetched;
pub use super::transport::{BlobStream, ClientOptions, DEFAULT_CONCURRENCY, Limits, Response, WaitHook};

/// One page of a paginated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<String>,
    /// The URL of the next page, if the registry gave one.
    pub next: Option<String>,
}

pub struct RegistryClient {
    registry: Registry,
    base: String,
    transport: Transport,
    /// Docker Hub's API, for Docker Hub (or where the options name one).
    hub: Option<super::hub::HubApi>,
    /// The registry answered that it has no referrers API: not asked again. (A registry that
    /// has one answers 200 with an empty index for an image with no referrers, so the answer
    /// is the registry's, not one image's.)
    no_referrers_api: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("registry", &self.registry).field("base", &self.base).finish()
    }
}

fn repo_scope(repo: &str, actions: &str) -> String {
    format!("repository:{repo}:{actions}")
}

const CATALOG_SCOPE: &str = "registry:catalog:*";

pub use super::transport::loopback_addresses;

pub use super::auth::CredentialSource;

impl RegistryClient {
    pub fn new(registry: Registry, credentials: Option<Credentials>, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let hub = Self::hub_for(&registry, &options, credentials.clone(), None)?;
        Self::build(registry, options, Box::new(Auth::new(Some(credentials), None)), hub)
    }

    /// A client whose credentials are looked up by `source`, on a blocking thread, the first
    /// time the registry asks for them.
    pub fn with_source(registry: Registry, source: CredentialSource, options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let hub = Self::hub_for(&registry, &options, None, Some(source.clone()))?;
        Self::build(registry, options, Box::new(Auth::new(None, Some(source))), hub)
    }

    /// Docker Hub's API where it serves this registry (see [`ClientOptions::hub_api`]).
    fn hub_for(
        registry: &Registry,
        options: &ClientOptions,
        credentials: Option<Credentials>,
        source: Option<CredentialSource>,
    ) -> Result<Option<super::hub::HubApi>, RegistryError> {
        let base = match options.hub_api.as_deref() {
            Some("none") => return Ok(None),
            Some(url) => url,
            None if registry.is_docker_hub() => super::hub::DOCKER_HUB_API,
            None => return Ok(None),
        };
        super::hub::HubApi::new(base, options, credentials, source).map(Some)
    }

    /// Docker Hub's API, when it serves this registry.
    pub fn hub(&self) -> Option<&super::hub::HubApi> {
        self.hub.as_ref()
    }

    fn build(
        registry: Registry,
        options: ClientOptions,
        auth: Box<dyn super::transport::Authenticator>,
        hub: Option<super::hub::HubApi>,
    ) -> Result<RegistryClient, RegistryError> {
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
        let name = registry.name().to_string();
        Ok(RegistryClient {
            registry,
            base,
            transport: Transport::new(http, name, options, auth),
            hub,
            no_referrers_api: std::sync::atomic::AtomicBool::new(false),
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
        self.transport.credentials()
    }

    /// The transport every request of this client goes through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Whether tags are resolved with `HEAD` first (see [`ClientOptions::resolve_with_head`]).
    pub fn resolves_with_head(&self) -> bool {
        self.options().resolve_with_head.unwrap_or_else(|| self.registry.is_docker_hub())
    }

    pub fn options(&self) -> &ClientOptions {
        self.transport.options()
    }

    /// The pull limit left, as the registry last said (`ratelimit-remaining`, e.g. `98;w=21600`:
    /// Docker Hub sends it with manifest requests).
    pub fn rate_limit_remaining(&self) -> Option<String> {
        self.transport.rate_limit_remaining()
    }

    pub fn name(&self) -> String {
        self.registry.name().to_string()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Send one request through the transport (auth, retries, the total timeout); read the
    /// body, at most `cap` bytes of a success (more is [`RegistryError::TooLarge`]) and at
    /// most the error-body limit of anything else (cut).
    pub async fn execute(
        &self,
        method: Method,
        url: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        cap: u64,
    ) -> Result<Response, RegistryError> {
        let reading = if method == Method::HEAD { Reading::Head } else { Reading::Whole { cap } };
        let mut req = Request::new(method, url, scope, cap);
        req.headers = headers;
        req.reading = reading;
        if let Some(b) = body {
            req.body = Body::Bytes(bytes::Bytes::copy_from_slice(b));
        }
        self.transport.whole(req).await
    }

    /// Start a streamed `GET` of a blob that must be read whole within the timeout (headers
    /// and body together); the caller pulls the body with [`Self::next_chunk`].
    pub async fn open_blob(&self, repo: &str, digest: &Digest) -> Result<BlobStream, RegistryError> {
        self.open_blob_within(repo, digest, self.options().timeout).await
    }

    /// [`Self::open_blob`] with `allowed` for the whole transfer (copies of big layers allow
    /// for their size).
    pub async fn open_blob_within(&self, repo: &str, digest: &Digest, allowed: Duration) -> Result<BlobStream, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let scope = repo_scope(repo, "pull");
        let mut req = Request::new(Method::GET, &url, &scope, 0);
        req.reading = Reading::Stream;
        req.allowed = Some(allowed);
        match self.transport.send(req).await? {
            Sent::Stream(s) => Ok(s),
            Sent::Whole(r) => Err(self.status_error(&r, &url, &format!("blob {repo}@{digest}"))),
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
        let r = self.execute(Method::GET, &url, "", &[], None, self.options().limits.error_body).await?;
        // A web server answering every path with a page (a single-page app, a proxy's welcome
        // page) says 200 too; a registry answers with its API version or JSON.
        if r.status == 200 && !is_web_page(&r) { Ok(()) } else { Err(self.status_error(&r, &url, "the registry API (/v2/)")) }
    }

    async fn list_page(&self, url: &str, scope: &str, key: &str, what: &str) -> Result<Page, RegistryError> {
        let r = self.execute(Method::GET, url, scope, &[], None, self.options().limits.page).await?;
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
        let mut out = Vec::new();
        let mut pages = std::pin::pin!(self.tag_pages(repo));
        while let Some(items) = futures::StreamExt::next(&mut pages).await {
            out.extend(items?);
        }
        Ok(out)
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
        let cap = declared.map_or(self.options().limits.manifest, |n| n.min(self.options().limits.manifest));
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
        let cap = declared.map_or(self.options().limits.config, |n| n.min(self.options().limits.config));
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
            .execute(Method::PUT, &url, &repo_scope(repo, "pull,push"), &[("content-type", media_type)], Some(bytes), self.options().limits.error_body)
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
    async fn all_pages<'a, F, Fut>(&'a self, page: F) -> Result<Vec<String>, RegistryError>
    where
        F: FnMut(Option<String>) -> Fut + Send + 'a,
        Fut: std::future::Future<Output = Result<Page, RegistryError>> + Send + 'a,
    {
        let mut out = Vec::new();
        let mut pages = std::pin::pin!(self.pages(page));
        while let Some(items) = futures::StreamExt::next(&mut pages).await {
            out.extend(items?);
        }
        Ok(out)
    }

    /// The names of each page as it arrives, the next page asked for at once; the same guards
    /// as [`Self::all_pages`].
    fn pages<'a, F, Fut>(&'a self, page: F) -> impl futures::Stream<Item = Result<Vec<String>, RegistryError>> + Send + 'a
    where
        F: FnMut(Option<String>) -> Fut + Send + 'a,
        Fut: std::future::Future<Output = Result<Page, RegistryError>> + Send + 'a,
    {
        struct State<F> {
            page: F,
            next: Option<String>,
            seen: std::collections::HashSet<String>,
            pages: usize,
            names: usize,
            done: bool,
        }
        let state = State { page, next: None, seen: std::collections::HashSet::new(), pages: 0, names: 0, done: false };
        futures::stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            st.pages += 1;
            let p = match (st.page)(st.next.take()).await {
                Ok(p) => p,
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            };
            st.names += p.items.len();
            let pages = st.pages;
            let fail = |detail: String| Err(RegistryError::Pagination { registry: self.name(), detail });
            let item = match p.next {
                None => {
                    st.done = true;
                    Ok(p.items)
                }
                Some(n) if !st.seen.insert(n.clone()) => {
                    st.done = true;
                    fail(format!("its page links go round in a loop (back to {n}) after {pages} pages and {} names; stopped", st.names))
                }
                Some(_) if pages >= self.options().limits.pages => {
                    st.done = true;
                    fail(format!("stopped after {pages} pages ({} names), the limit (raise it with --limit pages=N)", st.names))
                }
                Some(n) => {
                    st.next = Some(n);
                    Ok(p.items)
                }
            };
            Some((item, st))
        })
    }

    /// The tags of `repo`, page by page as they arrive.
    fn tag_pages<'a>(&'a self, repo: &'a str) -> impl futures::Stream<Item = Result<Vec<String>, RegistryError>> + Send + 'a {
        self.pages(move |next| async move { self.tags_page(repo, next.as_deref(), 1000).await })
    }

    /// Delete a tag (distribution-spec 1.1: `DELETE /v2/NAME/manifests/TAG`), leaving the
    /// manifest and other tags alone. Registries that cannot delete by tag say so; the error
    /// tells the user what they can do instead.
    pub async fn delete_tag(&self, repo: &str, tag: &str) -> Result<(), RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{tag}"));
        let r = self.execute(Method::DELETE, &url, &repo_scope(repo, "pull,push,delete"), &[], None, self.options().limits.error_body).await?;
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

/// Time allowed to move `size` bytes of a blob: the usual timeout plus a floor of 1 MB/s.
fn transfer_time(timeout: Duration, size: u64) -> Duration {
    timeout + Duration::from_secs(size / 1_000_000)
}

/// What a mount attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    Mounted,
    /// The registry did not mount but opened an upload session at `location`.
    Declined {
        location: String,
    },
    /// The registry refused it (typically: no `pull` on the source for this account).
    Refused {
        detail: String,
    },
}

/// Blob uploads and cross-repository mounts, through the same transport as every request.
///
/// A blob costs at most four requests: `HEAD` (has it?), `POST` (open a session, or mount),
/// one `PUT` with the whole body streamed, `HEAD` (is it there now?). A mount asks for `pull`
/// on the source and `pull,push` on the target in one token request, as the docker CLI does; a
/// registry that declines hands back an upload session, which the upload uses.
impl RegistryClient {
    /// Cross-repository mount of `digest` from `from` into `repo`.
    pub async fn mount(&self, repo: &str, from: &str, digest: &Digest) -> Result<Mount, RegistryError> {
        let scope = format!("{} {}", repo_scope(repo, "pull,push"), repo_scope(from, "pull"));
        let mut url = url::Url::parse(&self.url(&format!("/v2/{repo}/blobs/uploads/"))).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        url.query_pairs_mut().append_pair("mount", digest.as_str()).append_pair("from", from);
        match self.execute(Method::POST, url.as_str(), &scope, &[("content-length", "0")], Some(&[]), self.options().limits.error_body).await {
            Ok(r) if r.status == 201 => Ok(Mount::Mounted),
            Ok(r) if r.status == 202 => Ok(Mount::Declined { location: self.upload_location(&r, url.as_str())? }),
            Ok(r) => Ok(Mount::Refused { detail: format!("HTTP {}", r.status) }),
            Err(RegistryError::Unauthorized { detail, .. }) => Ok(Mount::Refused { detail }),
            Err(e) => Err(e),
        }
    }

    /// Open an upload session in `repo`: its location.
    async fn start_upload(&self, repo: &str) -> Result<String, RegistryError> {
        let start = self.url(&format!("/v2/{repo}/blobs/uploads/"));
        let r =
            self.execute(Method::POST, &start, &repo_scope(repo, "pull,push"), &[("content-length", "0")], Some(&[]), self.options().limits.error_body).await?;
        if r.status != 202 {
            return Err(self.status_error(&r, &start, &format!("upload to {repo}")));
        }
        self.upload_location(&r, &start)
    }

    /// Upload `digest` (`size` bytes) into `repo` with one `PUT`, in `session` if a declined
    /// mount opened one. The body is opened again for each attempt; a token that expires
    /// meanwhile is renewed by the transport and the `PUT` sent again, once.
    pub async fn upload(&self, repo: &str, digest: &Digest, size: u64, body: &BlobBody, session: Option<String>) -> Result<(), RegistryError> {
        let location = match session {
            Some(l) => l,
            None => self.start_upload(repo).await?,
        };
        let scope = repo_scope(repo, "pull,push");
        let mut put = url::Url::parse(&location).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        put.query_pairs_mut().append_pair("digest", digest.as_str());
        let (body, d) = (body.clone(), digest.clone());
        let make: super::transport::BodyMaker = std::sync::Arc::new(move || {
            let (body, d) = (body.clone(), d.clone());
            Box::pin(async move {
                let reader = body.open(&d, size).await?;
                Ok(reqwest::Body::wrap_stream(futures::StreamExt::map(reader.into_stream(), |c| c.map_err(|e| std::io::Error::other(e.to_string())))))
            })
        });
        let len = size.to_string();
        let headers = [("content-type", "application/octet-stream"), ("content-length", len.as_str())];
        let mut req = Request::new(Method::PUT, put.as_str(), &scope, self.options().limits.error_body);
        req.headers = &headers;
        req.body = Body::Stream(make);
        // An upload whose body went out is not sent again blindly: a failure is reported.
        req.retry = false;
        // The body's transfer allows for its size, inside the transport's own deadline.
        req.allowed = Some(transfer_time(self.options().timeout, size));
        let started = std::time::Instant::now();
        let resp = self.transport.whole(req).await?;
        tracing::debug!(method = "PUT", url = %put, scope, status = resp.status, bytes = size, ms = started.elapsed().as_millis() as u64, "blob upload");
        match resp.status {
            201 => Ok(()),
            _ => Err(self.status_error(&resp, put.as_str(), &format!("upload of {digest} to {repo}"))),
        }
    }
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

    fn tags_paged<'a>(&'a self, repo: &'a str) -> futures::stream::BoxStream<'a, Result<Vec<String>, RegistryError>> {
        Box::pin(self.tag_pages(repo))
    }

    async fn peek_tag(&self, repo: &str, tag: &str, cached: bool) -> Result<Option<Digest>, RegistryError> {
        // A HEAD is worth its round trip when the bytes will then come from the cache, or on
        // Docker Hub, where a GET counts against the pull limit.
        if !cached && !self.resolves_with_head() {
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
        let stream = self.open_blob_within(repo, digest, transfer_time(self.options().timeout, size)).await?;
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

    async fn referrers(&self, repo: &str, digest: &Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        use std::sync::atomic::Ordering;
        if self.no_referrers_api.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let url = self.url(&format!("/v2/{repo}/referrers/{digest}"));
        let accept = crate::model::manifest::OCI_INDEX;
        let r = self.execute(Method::GET, &url, &repo_scope(repo, "pull"), &[("accept", accept)], None, self.options().limits.manifest).await?;
        match r.status {
            // The index of referrers is made up on request: it has no digest to check.
            200 => Ok(Some(r.body)),
            // No referrers API (distribution 2.x answers 404; others 400, 405 or 501).
            400 | 404 | 405 | 501 => {
                self.no_referrers_api.store(true, Ordering::Relaxed);
                Ok(None)
            }
            _ => Err(self.status_error(&r, &url, &format!("the referrers of {repo}@{digest}"))),
        }
    }

    async fn put_blob(&self, repo: &str, digest: &Digest, size: u64, body: BlobBody, mount_from: Option<&str>) -> Result<Written, RegistryError> {
        if self.blob_exists(repo, digest).await? {
            return Ok(Written::Present);
        }
        let mut session = None;
        let mut note = None;
        if let Some(from) = mount_from.filter(|f| *f != repo) {
            match self.mount(repo, from, digest).await? {
                Mount::Mounted => return Ok(Written::Mounted),
                Mount::Declined { location } => session = Some(location),
                Mount::Refused { detail } => {
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
