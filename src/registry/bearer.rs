//! Registry auth: Basic, and Bearer tokens from the token service named by the challenge
//! (passwords, identity tokens by OAuth2 refresh grant, anonymous). Tokens are kept per scope.
//! One token request per scope at a time: requests refused together wait for the same renewal
//! instead of each logging in (token services rate-limit their callers).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use base64::Engine as _;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::Mutex;

use super::auth::{CredentialSource, Credentials, LazyCredentials};
use super::error::RegistryError;
use super::transport::{Authenticator, Body, Credit, Reading, Request, Transport, error_detail, loopback_addresses};

/// The user name docker sends with an identity token when a token service wants Basic auth.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// Credentials and tokens of one registry.
pub struct Auth {
    /// The user's credentials, looked up the first time the registry asks for them.
    credentials: LazyCredentials,
    tokens: Mutex<HashMap<String, String>>,
    /// One lock per scope, held while its token is renewed.
    renewing: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    basic: AtomicBool,
    /// Token requests made, for tests and benchmarks.
    pub token_requests: AtomicU64,
}

impl Auth {
    pub(super) fn new(credentials: Option<Option<Credentials>>, source: Option<CredentialSource>) -> Auth {
        Auth {
            credentials: LazyCredentials::new(credentials, source),
            tokens: Mutex::new(HashMap::new()),
            renewing: Mutex::new(HashMap::new()),
            basic: AtomicBool::new(false),
            token_requests: AtomicU64::new(0),
        }
    }

    /// The `Authorization` value for `scope`, if any is known.
    /// The `Authorization` value for `scope` now, without waiting.
    async fn current(&self, scope: &str) -> Option<String> {
        if let Some(t) = self.tokens.lock().await.get(scope) {
            return Some(format!("Bearer {t}"));
        }
        match (self.basic.load(Ordering::Relaxed), self.credentials()) {
            (true, Some(Credentials::Basic { username, password })) => Some(basic_header(username, password)),
            _ => None,
        }
    }

    async fn authenticate(&self, t: &Transport, challenge: &str, scope: &str) -> Result<(), RegistryError> {
        let registry = t.name().to_string();
        let (scheme, params) = parse_challenge(challenge);
        let unauthorized = |detail: String| RegistryError::Unauthorized { registry: registry.clone(), scope: scope.to_string(), detail };
        let credentials = self.credentials.get(&registry).await?;
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
                token_url.query_pairs_mut().extend_pairs(&query);
                let get_url = token_url.to_string();
                let limit = t.options().limits.token;
                // Token requests go through the same transport (retries, deadline, body cap),
                // with their own credentials and outside the registry's request limit.
                let ask = |method: Method, url: &str, credit: Credit, body: Body, headers: &[(&str, &str)]| {
                    let url = url.to_string();
                    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                    async move {
                        self.token_requests.fetch_add(1, Ordering::Relaxed);
                        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        let req = Request {
                            method,
                            url: &url,
                            scope,
                            headers: &h,
                            body,
                            reading: Reading::Whole { cap: limit },
                            credit,
                            limited: false,
                            retry: true,
                            allowed: None,
                        };
                        Box::pin(t.whole(req)).await
                    }
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
                        let posted = ask(
                            Method::POST,
                            realm,
                            Credit::Anonymous,
                            Body::Bytes(body.into()),
                            &[(CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded")],
                        )
                        .await?;
                        if posted.status == 404 || posted.status == 405 {
                            ask(Method::GET, &get_url, Credit::Given(basic_header(IDENTITY_TOKEN_USER, token)), Body::None, &[]).await?
                        } else {
                            posted
                        }
                    }
                    Some(Credentials::Basic { username, password }) => {
                        ask(Method::GET, &get_url, Credit::Given(basic_header(username, password)), Body::None, &[]).await?
                    }
                    None => ask(Method::GET, &get_url, Credit::Anonymous, Body::None, &[]).await?,
                };
                tracing::debug!(realm = %realm, scope, status = resp.status, ms = asked.elapsed().as_millis() as u64, "token request");
                if resp.status != 200 {
                    return Err(unauthorized(format!("the token service answered {}: {}", resp.status, error_detail(&resp.body, resp.status))));
                }
                let v: serde_json::Value =
                    serde_json::from_slice(&resp.body).map_err(|e| unauthorized(format!("the token service sent unreadable JSON: {e}")))?;
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
}

#[async_trait::async_trait]
impl Authenticator for Auth {
    /// A request that starts while the scope's token is being renewed waits for the renewal,
    /// rather than going out with the old token to be refused too.
    async fn header(&self, scope: &str) -> Option<String> {
        let renewing = self.renewing.lock().await.get(scope).cloned();
        if let Some(lock) = renewing {
            drop(lock.lock().await);
        }
        self.current(scope).await
    }

    /// Answer a 401: renew what `scope` needs. `used` is the `Authorization` the refused
    /// request carried: if another request renewed it meanwhile, that renewal is used.
    /// `true` when this call asked the token service itself.
    async fn renew(&self, t: &Transport, challenge: &str, scope: &str, used: Option<&str>) -> Result<bool, RegistryError> {
        let lock = self.renewing.lock().await.entry(scope.to_string()).or_default().clone();
        let _turn = lock.lock().await;
        let now = self.current(scope).await;
        if now.is_some() && now.as_deref() != used {
            return Ok(false);
        }
        self.authenticate(t, challenge, scope).await.map(|()| true)
    }

    fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    fn credentials(&self) -> Option<&Credentials> {
        self.credentials.known()
    }
}

pub(super) fn basic_header(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
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

#[cfg(test)]
mod tests {
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
}
