//! Docker Hub's own API (`hub.docker.com`): a repository's tags with their digests, platforms,
//! compressed sizes and push dates, 100 to a page, without spending the pull limit that manifest
//! `GET`s on `registry-1.docker.io` count against. Requests take the same transport as every
//! other (retries, deadline, caps); private repositories sign in with the credentials Archlens
//! has for `docker.io` (user name and password or personal access token → Docker Hub's JWT).

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use reqwest::Method;
use tokio::sync::Mutex;

use crate::model::hub::{HubPage, namespace_and_name, parse_tag, parse_tags_page};
use crate::model::matrix::TagResult;

use super::auth::{CredentialSource, Credentials, LazyCredentials};
use super::error::RegistryError;
use super::transport::{Authenticator, Body, ClientOptions, Credit, Reading, Request, Transport, error_detail};

/// Docker Hub's API.
pub const DOCKER_HUB_API: &str = "https://hub.docker.com";
/// Tags asked for per page (the API's largest page).
const PAGE_SIZE: usize = 100;
/// Pages asked for at once once the count is known.
const PAGES_AT_ONCE: usize = 8;
/// A cached page is used again for this long; its age is said.
const PAGE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Docker Hub's API for one registry.
pub struct HubApi {
    transport: Transport,
    base: url::Url,
}

impl std::fmt::Debug for HubApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubApi").field("base", &self.base.as_str()).finish()
    }
}

/// A page of tags, and how old it is when it came from the cache.
#[derive(Debug, Clone)]
pub struct Paged {
    pub page: HubPage,
    pub age: Option<std::time::Duration>,
}

impl HubApi {
    /// The API at `base`, signing in with `credentials` (or those `source` finds) when a
    /// repository needs it.
    pub fn new(base: &str, options: &ClientOptions, credentials: Option<Credentials>, source: Option<CredentialSource>) -> Result<HubApi, RegistryError> {
        let base = url::Url::parse(base).map_err(|e| RegistryError::Other { detail: format!("Docker Hub's API address {base:?}: {e}") })?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("archlens/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.timeout.min(std::time::Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RegistryError::Other { detail: format!("cannot set up HTTP: {e}") })?;
        let name = format!("Docker Hub's API ({})", base.host_str().unwrap_or(""));
        let login = HubLogin {
            credentials: LazyCredentials::new(credentials.map(Some), source),
            jwt: Mutex::new(None),
            turn: Mutex::new(()),
            logins: AtomicU64::new(0),
            base: base.clone(),
        };
        Ok(HubApi { transport: Transport::new(http, name, options.clone(), Box::new(login)), base })
    }

    /// Requests made to the API so far (logins included), for tests and benchmarks.
    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    /// The first page's URL of `repo`'s tags; `None`: a name Docker Hub's API does not have.
    fn first_page(&self, repo: &str) -> Option<String> {
        let (ns, name) = namespace_and_name(repo)?;
        let mut url = self.base.join(&format!("/v2/namespaces/{ns}/repositories/{name}/tags")).ok()?;
        url.query_pairs_mut().append_pair("page_size", &PAGE_SIZE.to_string());
        Some(url.to_string())
    }

    /// One tag of `repo`, as a matrix row's result (cells marked as from Docker Hub's API).
    pub async fn tag(&self, repo: &str, tag: &str) -> Result<TagResult, RegistryError> {
        let (ns, name) = namespace_and_name(repo)
            .ok_or_else(|| RegistryError::Other { detail: format!("{repo}: Docker Hub's API has no such name (a namespace and a repository)") })?;
        let url = self.base.join(&format!("/v2/namespaces/{ns}/repositories/{name}/tags/{tag}")).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        let r = self.transport.whole(Request::new(Method::GET, url.as_str(), "hub", self.transport.options().limits.manifest)).await?;
        match r.status {
            200 => parse_tag(&r.body).map_err(|problem| RegistryError::Other { detail: format!("{}: {tag}: {problem}", self.transport.name()) }),
            404 => Err(RegistryError::NotFound { registry: self.transport.name().to_string(), what: format!("{repo}:{tag}") }),
            s => Err(RegistryError::Http { registry: self.transport.name().to_string(), status: s, url: url.to_string(), detail: error_detail(&r.body, s) }),
        }
    }

    /// One page, from `cache` when it holds one younger than [`PAGE_MAX_AGE`].
    pub async fn page(&self, url: &str, cache: Option<&super::Cache>) -> Result<Paged, RegistryError> {
        let key = format!("hub-page {url}");
        if let Some(cache) = cache
            && let Some((bytes, age)) = cache.page(&key).await
            && age <= PAGE_MAX_AGE
            && let Ok(page) = parse_tags_page(&bytes)
        {
            return Ok(Paged { page, age: Some(age) });
        }
        let limits = self.transport.options().limits;
        let r = self.transport.whole(Request::new(Method::GET, url, "hub", limits.page)).await?;
        match r.status {
            200 => {}
            404 => {
                return Err(RegistryError::NotFound {
                    registry: self.transport.name().to_string(),
                    what: "the repository (private repositories need a login with access to them)".into(),
                });
            }
            s => {
                return Err(RegistryError::Http {
                    registry: self.transport.name().to_string(),
                    status: s,
                    url: url.to_string(),
                    detail: error_detail(&r.body, s),
                });
            }
        }
        let page = parse_tags_page(&r.body).map_err(|problem| RegistryError::Other { detail: format!("{}: {problem}", self.transport.name()) })?;
        if let Some(next) = &page.next {
            self.same_place(next)?;
        }
        if let Some(cache) = cache {
            cache.put_page(&key, &r.body).await;
        }
        Ok(Paged { page, age: None })
    }

    /// A `next` link must stay on the API's own host.
    fn same_place(&self, next: &str) -> Result<(), RegistryError> {
        let n = url::Url::parse(next).map_err(|e| RegistryError::Other { detail: format!("{}: bad next link: {e}", self.transport.name()) })?;
        if n.scheme() != self.base.scheme() || n.host_str() != self.base.host_str() || n.port_or_known_default() != self.base.port_or_known_default() {
            return Err(RegistryError::CrossHostLink { registry: self.transport.name().to_string(), url: next.to_string() });
        }
        Ok(())
    }

    /// Every page of `repo`'s tags, in order. The first page says how many tags there are, so
    /// the others are asked for together (`page=2…N`, as the API documents), a few at a time;
    /// without a count, `next` links are followed. More pages than the limit, or links that go
    /// round in a loop, end with an error that says so.
    pub fn pages<'a>(&'a self, repo: &str, cache: Option<&'a super::Cache>) -> BoxStream<'a, Result<Paged, RegistryError>> {
        let Some(first) = self.first_page(repo) else {
            let e = RegistryError::Other { detail: format!("{repo}: Docker Hub's API has no such name (a namespace and a repository)") };
            return Box::pin(futures::stream::iter([Err(e)]));
        };
        let head = futures::stream::once(async move {
            let p = self.page(&first, cache).await;
            (first, p)
        });
        Box::pin(head.flat_map(move |(first, p)| -> BoxStream<'a, Result<Paged, RegistryError>> {
            let p = match p {
                Ok(p) => p,
                Err(e) => return Box::pin(futures::stream::iter([Err(e)])),
            };
            let rest: BoxStream<'a, Result<Paged, RegistryError>> = match (&p.page.next, p.page.count) {
                (None, _) => Box::pin(futures::stream::empty()),
                (Some(_), Some(count)) => match self.numbered(&first, count) {
                    Ok(urls) => Box::pin(futures::stream::iter(urls).map(move |u| async move { self.page(&u, cache).await }).buffered(PAGES_AT_ONCE)),
                    Err(e) => Box::pin(futures::stream::iter([Err(e)])),
                },
                (Some(next), None) => Box::pin(self.follow(next.clone(), first, cache)),
            };
            Box::pin(futures::stream::iter([Ok(p)]).chain(rest))
        }))
    }

    fn too_many(&self, pages: usize) -> RegistryError {
        RegistryError::Pagination {
            registry: self.transport.name().to_string(),
            detail: format!("stopped after {pages} pages, the limit (raise it with --limit pages=N)"),
        }
    }

    /// Pages 2…N of `first` for `count` tags.
    fn numbered(&self, first: &str, count: u64) -> Result<Vec<String>, RegistryError> {
        let pages = count.div_ceil(PAGE_SIZE as u64) as usize;
        if pages > self.transport.options().limits.pages {
            return Err(self.too_many(self.transport.options().limits.pages));
        }
        let base = url::Url::parse(first).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        Ok((2..=pages)
            .map(|k| {
                let mut u = base.clone();
                u.query_pairs_mut().append_pair("page", &k.to_string());
                u.to_string()
            })
            .collect())
    }

    /// Follow `next` links from `next` on.
    fn follow<'a>(
        &'a self,
        next: String,
        first: String,
        cache: Option<&'a super::Cache>,
    ) -> impl futures::Stream<Item = Result<Paged, RegistryError>> + Send + 'a {
        let seen: std::collections::HashSet<String> = [first].into();
        futures::stream::unfold((Some(next), seen, 1usize), move |(next, mut seen, pages)| async move {
            let url = next?;
            if !seen.insert(url.clone()) {
                let e = RegistryError::Pagination {
                    registry: self.transport.name().to_string(),
                    detail: format!("its page links go round in a loop (back to {url})"),
                };
                return Some((Err(e), (None, seen, pages)));
            }
            if pages >= self.transport.options().limits.pages {
                return Some((Err(self.too_many(pages)), (None, seen, pages)));
            }
            match self.page(&url, cache).await {
                Ok(p) => {
                    let next = p.page.next.clone();
                    Some((Ok(p), (next, seen, pages + 1)))
                }
                Err(e) => Some((Err(e), (None, seen, pages + 1))),
            }
        })
    }
}

/// Docker Hub's API login: the `docker.io` credentials exchanged for a JWT when a repository
/// asks for one.
struct HubLogin {
    credentials: LazyCredentials,
    jwt: Mutex<Option<String>>,
    /// Held while logging in: one login at a time.
    turn: Mutex<()>,
    logins: AtomicU64,
    base: url::Url,
}

#[async_trait]
impl Authenticator for HubLogin {
    async fn header(&self, _scope: &str) -> Option<String> {
        drop(self.turn.lock().await);
        self.jwt.lock().await.as_ref().map(|t| format!("Bearer {t}"))
    }

    async fn renew(&self, t: &Transport, _challenge: &str, scope: &str, used: Option<&str>) -> Result<bool, RegistryError> {
        let _turn = self.turn.lock().await;
        let now = self.jwt.lock().await.as_ref().map(|t| format!("Bearer {t}"));
        if now.is_some() && now.as_deref() != used {
            return Ok(false);
        }
        let refused = |detail: String| RegistryError::Unauthorized { registry: "docker.io".into(), scope: scope.to_string(), detail };
        let Some(Credentials::Basic { username, password }) = self.credentials.get("docker.io").await? else {
            return Err(refused(
                "Docker Hub's API asks for a login for this repository (sign in to docker.io with a user name and password or a personal access token)".into(),
            ));
        };
        let url = self.base.join("/v2/users/login").map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        let body = serde_json::json!({ "username": username, "password": password }).to_string();
        self.logins.fetch_add(1, Ordering::Relaxed);
        let headers = [("content-type", "application/json")];
        let req = Request {
            method: Method::POST,
            url: url.as_str(),
            scope,
            headers: &headers,
            body: Body::Bytes(body.into()),
            reading: Reading::Whole { cap: t.options().limits.token },
            credit: Credit::Anonymous,
            limited: false,
            retry: true,
            allowed: None,
        };
        let r = Box::pin(t.whole(req)).await?;
        if r.status != 200 {
            return Err(refused(format!("Docker Hub's API refused the login ({}: {})", r.status, error_detail(&r.body, r.status))));
        }
        let v: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| refused(format!("Docker Hub's API sent an unreadable login answer: {e}")))?;
        let token = v.get("token").and_then(|t| t.as_str()).filter(|t| !t.is_empty() && !t.chars().any(char::is_control));
        let token = token.ok_or_else(|| refused("Docker Hub's API sent no usable token".into()))?;
        *self.jwt.lock().await = Some(token.to_string());
        Ok(true)
    }

    fn token_requests(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }

    fn credentials(&self) -> Option<&Credentials> {
        self.credentials.known()
    }
}
