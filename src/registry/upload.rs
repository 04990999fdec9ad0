//! Blob uploads and cross-repository mounts, on the same client, auth, token cache and
//! timeout policy as every other request.
//!
//! A blob costs at most four requests: `HEAD` (has it?), `POST` (open a session, or mount),
//! one `PUT` with the whole body streamed, `HEAD` (is it there now?). A mount asks for
//! `pull` on the source and `pull,push` on the target in one token request, as the docker
//! CLI does; a registry that declines hands back an upload session, which the upload uses.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};

use crate::model::digest::Digest;

use futures::StreamExt as _;

use super::client::{RegistryClient, repo_scope};
use super::error::RegistryError;
use super::store::BlobBody;

/// Time allowed to move `size` bytes of a blob: the usual timeout plus a floor of 1 MB/s.
pub fn transfer_time(timeout: Duration, size: u64) -> Duration {
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
    /// mount opened one. A token that expires meanwhile is renewed and the upload started
    /// again, once.
    pub async fn upload(&self, repo: &str, digest: &Digest, size: u64, body: &BlobBody, session: Option<String>) -> Result<(), RegistryError> {
        let mut session = session;
        let mut renewed = false;
        loop {
            let location = match session.take() {
                Some(l) => l,
                None => self.start_upload(repo).await?,
            };
            match self.put_blob_body(repo, &location, digest, size, body).await {
                Err(RegistryError::Unauthorized { .. }) if !renewed => renewed = true,
                other => return other,
            }
        }
    }

    async fn put_blob_body(&self, repo: &str, location: &str, digest: &Digest, size: u64, body: &BlobBody) -> Result<(), RegistryError> {
        let scope = repo_scope(repo, "pull,push");
        let mut put = url::Url::parse(location).map_err(|e| RegistryError::Other { detail: e.to_string() })?;
        put.query_pairs_mut().append_pair("digest", digest.as_str());
        // The body is opened for each attempt: a stream from another store is read again.
        let reader = body.open(digest, size).await?;
        let payload = reqwest::Body::wrap_stream(reader.into_stream().map(|c| c.map_err(|e| std::io::Error::other(e.to_string()))));
        let _permit = self.limiter.acquire().await.map_err(|_| RegistryError::Cancelled)?;
        let mut rb = self
            .http
            .request(Method::PUT, put.as_str())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size.to_string())
            .body(payload);
        if let Some(h) = self.auth_header(&scope).await {
            rb = rb.header(AUTHORIZATION, h);
        }
        let started = std::time::Instant::now();
        let limit = transfer_time(self.options().timeout, size);
        let error_cap = self.options().limits.error_body;
        let resp = tokio::time::timeout(limit, async {
            let mut r = rb.send().await?;
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            // Only an answer: cut, never refused.
            let body = super::client::read_limited(&mut r, error_cap, true).await.unwrap_or_default();
            Ok::<_, reqwest::Error>(super::client::Response { status, headers, body })
        })
        .await
        .map_err(|_| RegistryError::Timeout { registry: self.registry().name().to_string(), url: put.to_string(), seconds: limit.as_secs() })?
        .map_err(|e| self.classify(&e))?;
        tracing::debug!(method = "PUT", url = %put, scope, status = resp.status, bytes = size, ms = started.elapsed().as_millis() as u64, "blob upload");
        match resp.status {
            201 => Ok(()),
            401 => {
                // Renew the token for the next attempt; the caller starts the upload again.
                let challenge = resp.header("www-authenticate").unwrap_or("").to_string();
                self.authenticate(&challenge, &scope).await?;
                Err(RegistryError::Unauthorized { registry: self.registry().name().to_string(), scope, detail: "the token expired during the upload".into() })
            }
            _ => Err(self.status_error(&resp, put.as_str(), &format!("upload of {digest} to {repo}"))),
        }
    }
}
