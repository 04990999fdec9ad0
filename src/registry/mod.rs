//! All I/O: the registry API, credentials, the on-disk cache.

pub mod auth;
pub mod cache;
pub mod client;
pub mod compose;
pub mod coverage;
pub mod diagnose;
pub mod error;
pub mod fetch;
pub mod files;
pub mod journal;
pub mod layers;
pub mod layout;
pub mod tls;
pub mod upload;

pub use cache::Cache;
pub use client::{ClientOptions, RegistryClient};
pub use error::RegistryError;
pub use fetch::{Fetcher, Source};
pub use layout::Layout;

use std::sync::Arc;

use crate::model::reference::Registry;

/// A client for `registry` with the user's stored credentials, and a fetcher over it using
/// the default cache (none when `no_cache`).
pub fn connect(registry: &Registry, options: ClientOptions, no_cache: bool) -> Result<Fetcher, RegistryError> {
    // Credentials (and credential helpers) are looked up when the registry first asks.
    let source = auth::source(registry, options.timeout);
    let client = Arc::new(RegistryClient::with_source(registry.clone(), source, options)?);
    let cache = if no_cache { None } else { Cache::default_location() };
    Ok(Fetcher::new(client, cache))
}
