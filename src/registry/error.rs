//! Typed registry errors; every message says what happened and what to do.

use crate::model::digest::{Digest, DigestMismatch};
use crate::model::manifest::ManifestError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    #[error("{what} was not found on {registry}: check the repository and tag names")]
    NotFound { registry: String, what: String },
    #[error(
        "{registry} refused access ({scope}): {detail}. Sign in with `docker login {registry}` or `podman login {registry}`, or check that the credentials have not expired"
    )]
    Unauthorized { registry: String, scope: String, detail: String },
    #[error("{registry} is rate limiting requests{}; wait and try again, or sign in for a higher limit", retry_after.map(|s| format!(" (retry after {s} s)")).unwrap_or_default())]
    RateLimited { registry: String, retry_after: Option<u64> },
    #[error(
        "{registry}'s pull limit is used up (ratelimit-remaining: {remaining}): no more manifests are read, and what was read is kept. Wait for the window to pass or sign in for a higher limit; tags and platforms from Docker Hub's API cost no pulls"
    )]
    PullLimit { registry: String, remaining: String },
    #[error("{what} from {registry}: {mismatch}. The registry or something in between altered the content; nothing was used")]
    DigestMismatch { registry: String, what: String, mismatch: DigestMismatch },
    #[error(
        "TLS with {registry} failed: {detail}. If the registry's certificate comes from your own certificate authority, put the CA in ~/.config/containers/certs.d/{registry}/ca.crt (or /etc/docker/certs.d/{registry}/ca.crt), with client.cert and client.key there if it asks for a client certificate; --insecure skips verification; a registry without TLS needs --plain-http"
    )]
    Tls { registry: String, detail: String },
    #[error("cannot connect to {registry}: {detail}. Check the host name and port and that the registry is running")]
    Connection { registry: String, detail: String },
    #[error("{registry} did not answer within {seconds} s ({url}); try again or raise --timeout")]
    Timeout { registry: String, url: String, seconds: u64 },
    #[error("{registry} answered {status} for {url}: {detail}")]
    Http { registry: String, status: u16, url: String, detail: String },
    #[error("{what} from {registry} is not a manifest Archlens can read: {problem}")]
    BadManifest { registry: String, what: String, problem: ManifestError },
    #[error("refusing to follow a pagination link from {registry} to another host ({url})")]
    CrossHostLink { registry: String, url: String },
    #[error(
        "{registry} sent more than {} for {url}; Archlens reads no more than that of one answer (raise it with --limit NAME=SIZE if this is expected)",
        crate::model::units::human_bytes(*limit)
    )]
    TooLarge { registry: String, url: String, limit: u64 },
    #[error("{registry}: {detail}")]
    Pagination { registry: String, detail: String },
    #[error("cache at {path}: {detail}")]
    Cache { path: String, detail: String },
    #[error(
        "{target} moved since the preview: it was {} and is now {}; look again before pushing",
        expected.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "absent".into()),
        actual.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "absent".into())
    )]
    TagMoved { target: String, expected: Option<Digest>, actual: Option<Digest> },
    #[error(
        "{target} was overwritten by a concurrent push (now {}): the index {pushed} was written, but the tag no longer names it; look at the tag before pushing again",
        now.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "absent".into())
    )]
    Overwritten { target: String, pushed: Digest, now: Option<Digest> },
    #[error("cancelled")]
    Cancelled,
    #[error("{detail}")]
    Other { detail: String },
}

impl RegistryError {
    pub fn digest_mismatch(registry: &str, what: &str, expected: &Digest, actual: Digest) -> RegistryError {
        RegistryError::DigestMismatch {
            registry: registry.to_string(),
            what: what.to_string(),
            mismatch: DigestMismatch { expected: expected.clone(), actual: Some(actual), reason: String::new() },
        }
    }
}
