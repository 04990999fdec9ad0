//! All I/O: the registry API, credentials, the on-disk cache.

pub mod auth;
pub mod bearer;
pub mod cache;
pub mod client;
pub mod compose;
pub mod coverage;
pub mod diagnose;
pub mod diff;
pub mod error;
pub mod fetch;
pub mod files;
pub mod hub;
pub mod journal;
pub mod layers;
pub mod layout;
pub mod session;
pub mod store;
pub mod tls;
pub mod transport;

pub use cache::Cache;
pub use client::{ClientOptions, RegistryClient};
pub use error::RegistryError;
pub use fetch::Fetcher;
pub use layout::OciDir;
pub use session::Session;
pub use store::Store;

use crate::model::reference::Registry;

/// A fetcher over `registry` (a registry with the user's stored credentials, or an `oci:`
/// layout folder), using the default cache (none when `no_cache`).
pub fn connect(registry: &Registry, options: ClientOptions, no_cache: bool) -> Result<Fetcher, RegistryError> {
    Session::new(options, if no_cache { None } else { Cache::default_location() }).fetcher(registry)
}
