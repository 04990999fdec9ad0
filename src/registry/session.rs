//! One session for the command line and the app: the clients (one per registry, made once),
//! the cache, and the store each reference names — a registry or a layout folder. Callers ask
//! the session and never decide between the two themselves.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::model::reference::{Reference, Registry};

use super::cache::Cache;
use super::client::{ClientOptions, RegistryClient};
use super::error::RegistryError;
use super::fetch::Fetcher;
use super::layout::OciDir;
use super::store::{Store, TagStore};

/// Clients, cache and stores for one run of the command line or one app.
///
/// Making a client or opening a folder reads files (certificates, `index.json`): the app calls
/// these from a blocking thread.
#[derive(Debug)]
pub struct Session {
    options: ClientOptions,
    cache: Option<Cache>,
    clients: Mutex<HashMap<Registry, Arc<RegistryClient>>>,
    /// Registries the user chose to reach without TLS verification.
    insecure: Mutex<HashSet<Registry>>,
}

impl Session {
    pub fn new(options: ClientOptions, cache: Option<Cache>) -> Session {
        Session { options, cache, clients: Mutex::default(), insecure: Mutex::default() }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    fn poisoned() -> RegistryError {
        RegistryError::Other { detail: "an earlier request panicked while holding the session's clients; restart Archlens".into() }
    }

    /// The client for `registry`, made on first use. The user's credentials (and credential
    /// helpers) are looked up when the registry first asks for them.
    pub fn client(&self, registry: &Registry) -> Result<Arc<RegistryClient>, RegistryError> {
        let mut clients = self.clients.lock().map_err(|_| Self::poisoned())?;
        if let Some(c) = clients.get(registry) {
            return Ok(c.clone());
        }
        let mut options = self.options.clone();
        options.insecure |= self.insecure.lock().map_err(|_| Self::poisoned())?.contains(registry);
        let source = super::auth::source(registry, options.timeout);
        let made = Arc::new(RegistryClient::with_source(registry.clone(), source, options)?);
        clients.insert(registry.clone(), made.clone());
        Ok(made)
    }

    /// The client already made for `registry`, if any (a layout folder has none).
    pub fn existing_client(&self, registry: &Registry) -> Option<Arc<RegistryClient>> {
        self.clients.lock().ok()?.get(registry).cloned()
    }

    /// Reach `registry` with or without TLS verification from now on (a client made with the
    /// other choice is dropped).
    pub fn set_insecure(&self, registry: &Registry, on: bool) -> Result<(), RegistryError> {
        let mut set = self.insecure.lock().map_err(|_| Self::poisoned())?;
        let changed = if on { set.insert(registry.clone()) } else { set.remove(registry) };
        if changed {
            self.forget(registry)?;
        }
        Ok(())
    }

    /// Use `client` for its registry from now on (a sign-in).
    pub fn replace(&self, client: Arc<RegistryClient>) -> Result<(), RegistryError> {
        self.clients.lock().map_err(|_| Self::poisoned())?.insert(client.registry().clone(), client);
        Ok(())
    }

    /// Drop the client of `registry`: the next request makes a new one (a sign-out).
    pub fn forget(&self, registry: &Registry) -> Result<(), RegistryError> {
        self.clients.lock().map_err(|_| Self::poisoned())?.remove(registry);
        Ok(())
    }

    /// Where `registry` keeps images: its layout folder, opened for reading, or the registry.
    pub fn store(&self, registry: &Registry) -> Result<Arc<dyn Store>, RegistryError> {
        match registry.layout_path() {
            Some(dir) => Ok(Arc::new(OciDir::open(dir)?)),
            None => Ok(self.client(registry)?),
        }
    }

    /// A fetcher over `registry`'s store; registries read through the cache, folders directly.
    pub fn fetcher(&self, registry: &Registry) -> Result<Fetcher, RegistryError> {
        let cache = if registry.layout_path().is_some() { None } else { self.cache.clone() };
        Ok(Fetcher::with_store(self.store(registry)?, cache))
    }

    /// Where `target`'s tag is written: its layout folder (which may not exist yet) or the
    /// registry.
    pub fn target(&self, target: &Reference) -> Result<TagStore, RegistryError> {
        let store: Arc<dyn Store> = match target.registry().layout_path() {
            Some(dir) => Arc::new(OciDir::at(dir)),
            None => self.client(target.registry())?,
        };
        Ok(TagStore(store))
    }
}
