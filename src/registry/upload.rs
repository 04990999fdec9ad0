//! Blob uploads and cross-repository mounts for pushes, through oci-client (chunked uploads
//! with a monolithic fallback). Reads, manifests and verification stay with
//! [`super::client::RegistryClient`], which keeps exact bytes and pagination under control.

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference as OciReference, RegistryOperation};

use crate::model::digest::Digest;
use crate::model::reference::Registry;

use super::auth::Credentials;
use super::client::RegistryClient;
use super::error::RegistryError;

pub struct Uploader {
    client: oci_client::Client,
    auth: RegistryAuth,
    registry: Registry,
}

impl Uploader {
    /// An uploader speaking to the same registry, with the same credentials and scheme, as
    /// `client`.
    pub fn for_client(client: &RegistryClient) -> Result<Uploader, RegistryError> {
        let registry = client.registry().clone();
        let protocol = if client.base_url().starts_with("http://") {
            ClientProtocol::HttpsExcept(vec![registry.endpoint().to_string()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig { protocol, ..ClientConfig::default() };
        let oci = oci_client::Client::try_from(config)
            .map_err(|e| RegistryError::Other { detail: format!("cannot set up uploads to {registry}: {e}") })?;
        let auth = match client.credentials() {
            Some(Credentials::Basic { username, password }) => RegistryAuth::Basic(username.clone(), password.clone()),
            Some(Credentials::IdentityToken { token }) => RegistryAuth::Bearer(token.clone()),
            None => RegistryAuth::Anonymous,
        };
        Ok(Uploader { client: oci, auth, registry })
    }

    fn reference(&self, repo: &str) -> OciReference {
        OciReference::with_tag(self.registry.endpoint().to_string(), repo.to_string(), "latest".to_string())
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Other { detail: format!("{what} on {}: {e}", self.registry) }
    }

    async fn authenticate(&self, reference: &OciReference) -> Result<(), RegistryError> {
        self.client
            .auth(reference, &self.auth, RegistryOperation::Push)
            .await
            .map(|_| ())
            .map_err(|e| RegistryError::Unauthorized {
                registry: self.registry.name().to_string(),
                scope: format!("repository:{}:pull,push", reference.repository()),
                detail: e.to_string(),
            })
    }

    /// Cross-repository mount. `false` when the registry declined (it answers 202 and expects
    /// an upload instead), so the caller uploads.
    pub async fn mount(&self, repo: &str, from: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let target = self.reference(repo);
        self.authenticate(&target).await?;
        let source = self.reference(from);
        Ok(self.client.mount_blob(&target, &source, digest.as_str()).await.is_ok())
    }

    /// Upload a blob as it streams from another registry (chunked), without holding it in
    /// memory. The registry checks the digest when the upload completes.
    pub async fn upload_from(
        &self,
        repo: &str,
        source: std::sync::Arc<RegistryClient>,
        source_repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<(), RegistryError> {
        let target = self.reference(repo);
        self.authenticate(&target).await?;
        let resp = source.open_blob(source_repo, digest).await?;
        let chunks = futures::stream::unfold(Some((source, resp)), |state| async move {
            let (client, mut resp) = state?;
            match client.next_chunk(&mut resp).await {
                Ok(Some(chunk)) => Some((Ok(bytes::Bytes::from(chunk)), Some((client, resp)))),
                Ok(None) => None,
                Err(e) => Some((Err(oci_client::errors::OciDistributionError::GenericError(Some(e.to_string()))), None)),
            }
        });
        self.client
            .push_blob_stream(&target, chunks, digest.as_str(), Some(size))
            .await
            .map_err(|e| self.err(&format!("copying {digest} to {repo}"), e))?;
        Ok(())
    }

    /// Upload a blob (chunked, falling back to one piece).
    pub async fn upload(&self, repo: &str, bytes: Vec<u8>, digest: &Digest) -> Result<(), RegistryError> {
        let target = self.reference(repo);
        self.authenticate(&target).await?;
        self.client.push_blob(&target, bytes, digest.as_str()).await.map_err(|e| self.err(&format!("uploading {digest} to {repo}"), e))?;
        Ok(())
    }
}
