//! Reading images: tags resolved to digests, everything else by digest through the cache,
//! each digest fetched once per run however many tags share it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt as _;
use tokio::sync::{Mutex, OnceCell};

use crate::model::digest::Digest;
use crate::model::manifest::{ImageConfig, ManifestKind, ManifestView};
use crate::model::matrix::{CellSource, Child, Matrix, TagOutcome, TagResult, Verified};
use crate::model::reference::{Reference, Repository};

use super::cache::Cache;
use super::client::RegistryClient;
use super::error::RegistryError;
use super::store::Store;

type Shared = Arc<OnceCell<Result<Arc<Vec<u8>>, RegistryError>>>;

/// How a tag's reading ended, for the decision to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The registry answered (with the tag, or an error about it).
    Answered,
    /// No connection, or no answer in time.
    Unreachable,
    /// The registry's pull limit is used up.
    PullLimit,
}

/// Tags in a row that could not reach the registry before a matrix stops asking.
const STOP_AFTER_UNREACHABLE: usize = 5;

/// What a run did: for progress lines and benchmarks.
#[derive(Debug, Default)]
pub struct FetchStats {
    pub network_fetches: AtomicU64,
    pub cache_hits: AtomicU64,
    pub tag_resolutions: AtomicU64,
    /// Manifests fetched by tag with `GET` (Docker Hub counts these against pull limits).
    pub tag_gets: AtomicU64,
    /// Every manifest fetched with `GET`, by tag or digest: on Docker Hub, the pulls spent.
    pub manifest_gets: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Blob,
}

pub struct Fetcher {
    store: Arc<dyn Store>,
    cache: Option<Cache>,
    /// Per (repository, digest): a repository's failure is never another's answer.
    inflight: Mutex<HashMap<(String, Digest), Shared>>,
    pub stats: FetchStats,
    /// Check each matrix cell's config against its index entry (one config read per child,
    /// from the cache when it has it).
    verify: bool,
}

/// A manifest with its verified bytes.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: Digest,
    pub bytes: Arc<Vec<u8>>,
    pub view: ManifestView,
}

/// One index entry as `inspect` shows it.
#[derive(Debug, Clone)]
pub struct EntryDetail {
    pub descriptor: crate::model::manifest::Descriptor,
    pub is_attestation: bool,
    pub attests: Option<Digest>,
    pub compressed_size: Option<u64>,
    pub error: Option<String>,
}

/// Everything `inspect` knows about a reference.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub reference: Reference,
    pub manifest: Manifest,
    pub entries: Vec<EntryDetail>,
    pub config: Option<(Digest, Arc<Vec<u8>>, ImageConfig)>,
}

impl Fetcher {
    pub fn new(client: Arc<RegistryClient>, cache: Option<Cache>) -> Fetcher {
        Fetcher::with_store(client, cache)
    }

    /// A fetcher over any store: a registry, or a layout folder.
    pub fn with_store(store: Arc<dyn Store>, cache: Option<Cache>) -> Fetcher {
        Fetcher { store, cache, inflight: Mutex::new(HashMap::new()), stats: FetchStats::default(), verify: false }
    }

    /// Verify matrix cells (see [`Fetcher::matrix`]).
    pub fn verifying(mut self, on: bool) -> Fetcher {
        self.verify = on;
        self
    }

    /// A layer's file listing (for comparing files): kept from an earlier comparison, or read
    /// whole through the store (bounded, verified) and kept. Returns whether it was kept.
    pub async fn listing(
        &self,
        repo: &str,
        layer: &crate::model::manifest::Descriptor,
        max_bytes: u64,
        counter: Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<(crate::model::files::Listing, bool), RegistryError> {
        use crate::model::files::Listing;
        /// The kept listings' format: a new format is a new folder.
        const KIND: &str = "listings-v1";
        if let Some(cache) = &self.cache
            && let Some(bytes) = cache.derived(KIND, &layer.digest).await
            && let Ok(l) = serde_json::from_slice::<Listing>(&bytes)
            && l.layer == layer.digest.as_str()
        {
            return Ok((l, true));
        }
        let l = super::layers::listing(self.store.clone(), repo, layer, max_bytes, counter).await?;
        if let Some(cache) = &self.cache
            && let Ok(bytes) = serde_json::to_vec(&l)
        {
            cache.put_derived(KIND, &layer.digest, &bytes).await;
        }
        Ok((l, false))
    }

    /// Where this fetcher reads.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The registry client, when reading from a registry (for what only a registry has).
    pub fn client(&self) -> Option<&RegistryClient> {
        self.store.as_any().downcast_ref::<RegistryClient>()
    }

    pub fn concurrency(&self) -> usize {
        self.store.concurrency()
    }

    async fn by_digest(&self, repo: &str, digest: &Digest, kind: Kind, declared: Option<u64>) -> Result<Arc<Vec<u8>>, RegistryError> {
        let key = (repo.to_string(), digest.clone());
        let cell = {
            let mut map = self.inflight.lock().await;
            map.entry(key.clone()).or_default().clone()
        };
        let result = cell
            .get_or_init(|| async {
                if let Some(cache) = &self.cache
                    && let Some(b) = cache.get(digest).await
                {
                    self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Arc::new(b));
                }
                self.stats.network_fetches.fetch_add(1, Ordering::Relaxed);
                let bytes = match kind {
                    Kind::Manifest => {
                        self.stats.manifest_gets.fetch_add(1, Ordering::Relaxed);
                        self.store.manifest(repo, digest.as_str(), declared).await?.bytes
                    }
                    Kind::Blob => self.store.blob(repo, digest, declared).await?,
                };
                if let Some(cache) = &self.cache {
                    // A cache that cannot be written only costs speed next time.
                    let _ = cache.put(digest, &bytes).await;
                }
                Ok(Arc::new(bytes))
            })
            .await
            .clone();
        if result.is_err() {
            // Failures are not kept: a later ask tries again.
            self.inflight.lock().await.remove(&key);
        }
        result
    }

    fn view(&self, repo: &str, what: &str, bytes: &[u8]) -> Result<ManifestView, RegistryError> {
        ManifestView::parse(bytes).map_err(|problem| RegistryError::BadManifest { registry: self.store.name(), what: format!("{repo}{what}"), problem })
    }

    pub async fn manifest(&self, repo: &str, digest: &Digest) -> Result<Manifest, RegistryError> {
        self.manifest_sized(repo, digest, None).await
    }

    /// A manifest whose descriptor declares `declared` bytes: no more is read.
    pub async fn manifest_sized(&self, repo: &str, digest: &Digest, declared: Option<u64>) -> Result<Manifest, RegistryError> {
        let bytes = self.by_digest(repo, digest, Kind::Manifest, declared).await?;
        let view = self.view(repo, &format!("@{digest}"), &bytes)?;
        Ok(Manifest { digest: digest.clone(), bytes, view })
    }

    /// An image's config, as its descriptor `d` names it: no more than `d.size` bytes are read.
    pub async fn config(&self, repo: &str, d: &crate::model::manifest::Descriptor) -> Result<(Arc<Vec<u8>>, ImageConfig), RegistryError> {
        let digest = &d.digest;
        let bytes = self.by_digest(repo, digest, Kind::Blob, Some(d.size)).await?;
        let cfg = ImageConfig::parse(&bytes).map_err(|problem| RegistryError::BadManifest {
            registry: self.store.name(),
            what: format!("config {repo}@{digest}"),
            problem,
        })?;
        Ok((bytes, cfg))
    }

    /// Resolve a tag: always asks the registry. Cold, one GET verified against the digest it
    /// reports; warm (the tag's last digest is in the cache), one HEAD without a body, falling
    /// back to GET when the registry sends no digest. Everything below it then comes from the
    /// cache.
    pub async fn resolve(&self, repo: &str, tag: &str) -> Result<Manifest, RegistryError> {
        self.stats.tag_resolutions.fetch_add(1, Ordering::Relaxed);
        // Warm: the tag's last digest is noted and its bytes are in the cache, so a HEAD (no
        // body) tells whether they are still the tag's.
        let key = format!("{}/{repo}:{tag}", self.store.location());
        let cached = match &self.cache {
            Some(cache) => cache.hint(&key).await.is_some_and(|d| cache.contains(&d)),
            None => false,
        };
        if let Some(digest) = self.store.peek_tag(repo, tag, cached).await? {
            let m = self.manifest(repo, &digest).await?;
            if let Some(cache) = &self.cache {
                cache.set_hint(&key, &digest).await;
            }
            return Ok(m);
        }
        self.stats.tag_gets.fetch_add(1, Ordering::Relaxed);
        self.stats.manifest_gets.fetch_add(1, Ordering::Relaxed);
        let f = self.store.manifest(repo, tag, None).await?;
        if let Some(cache) = &self.cache {
            if cache.get(&f.digest).await.is_none() {
                let _ = cache.put(&f.digest, &f.bytes).await;
            }
            cache.set_hint(&key, &f.digest).await;
        }
        let view = self.view(repo, &format!(":{tag}"), &f.bytes)?;
        Ok(Manifest { digest: f.digest, bytes: Arc::new(f.bytes), view })
    }

    /// Resolve a reference: by digest when it has one, else by tag.
    pub async fn resolve_reference(&self, reference: &Reference) -> Result<Manifest, RegistryError> {
        let repo = &reference.repository.name;
        match &reference.digest {
            Some(d) => self.manifest(repo, d).await,
            None => self.resolve(repo, reference.tag.as_deref().unwrap_or("latest")).await,
        }
    }

    async fn child(&self, repo: &str, d: &crate::model::manifest::Descriptor) -> (Option<u64>, Option<String>, Option<Verified>) {
        match self.manifest_sized(repo, &d.digest, Some(d.size)).await {
            Ok(m) if m.view.kind.is_index() => (None, Some("entry is itself an index (nested)".to_string()), None),
            Ok(m) => {
                let verified = match (self.verify, &d.platform) {
                    (false, _) => None,
                    // unknown/unknown (build caches) is never picked by a runtime: no claim to check.
                    (true, Some(entry)) if entry.is_unknown() => None,
                    (true, entry) => Some(self.config_verdict(repo, &m, entry.as_ref()).await),
                };
                (Some(m.view.compressed_size()), None, verified)
            }
            Err(e) => (None, Some(e.to_string()), None),
        }
    }

    /// Whether the config of the image `m` says the platform its entry says (`entry`): the rule
    /// of the verified matrix.
    async fn config_verdict(&self, repo: &str, m: &Manifest, entry: Option<&crate::model::Platform>) -> Verified {
        match (&m.view.config, entry) {
            (Some(c), Some(entry)) if m.view.kind.is_image() => match self.config(repo, c).await {
                Ok((_, cfg)) if crate::model::platform::config_contradicts(entry, &cfg.platform) => Verified::ConfigMismatch { config: cfg.platform.key() },
                Ok(_) => Verified::Ok,
                Err(e) => Verified::Unknown { reason: e.to_string() },
            },
            _ => Verified::Unknown { reason: "not an image with a config and a platform".into() },
        }
    }

    /// Check one entry, `digest` labelled `entry`, against its config (read by digest, through
    /// the cache).
    pub async fn verify_entry(&self, repo: &str, digest: &Digest, entry: &crate::model::Platform) -> Verified {
        match self.manifest(repo, digest).await {
            Ok(m) => self.config_verdict(repo, &m, Some(entry)).await,
            Err(e) => Verified::Unknown { reason: e.to_string() },
        }
    }

    /// Everything the matrix needs about one tag; errors end up in the result.
    pub async fn tag_result(&self, repo: &str, tag: &str) -> TagResult {
        self.tag_result_reached(repo, tag).await.0
    }

    /// [`Fetcher::tag_result`], from Docker Hub's API where it serves the registry (no pull
    /// spent; cells marked so), else from the manifests.
    pub async fn tag_result_or_hub(&self, repo: &str, tag: &str) -> TagResult {
        if let Some(hub) = self.client().and_then(RegistryClient::hub).filter(|_| !self.verify)
            && let Ok(r) = hub.tag(repo, tag).await
        {
            return r;
        }
        self.tag_result(repo, tag).await
    }

    /// [`Fetcher::tag_result`], and whether the registry could not be reached at all for it
    /// (no connection, or no answer in time) rather than answering with an error.
    async fn tag_result_reached(&self, repo: &str, tag: &str) -> (TagResult, Reach) {
        let (outcome, reach) = match self.resolve(repo, tag).await {
            Err(e) => {
                let reach = match &e {
                    RegistryError::Connection { .. } | RegistryError::Timeout { .. } => Reach::Unreachable,
                    RegistryError::PullLimit { .. } => Reach::PullLimit,
                    _ => Reach::Answered,
                };
                (TagOutcome::Failed { error: e.to_string() }, reach)
            }
            Ok(m) => (self.outcome(repo, m).await, Reach::Answered),
        };
        (TagResult { pushed: None, tag: tag.to_string(), outcome }, reach)
    }

    async fn outcome(&self, repo: &str, m: Manifest) -> TagOutcome {
        let media_type = m.view.media_type.clone();
        match m.view.kind {
            ManifestKind::DockerList | ManifestKind::OciIndex => {
                let entries = m.view.entries();
                let attestations = entries.iter().filter(|e| e.is_attestation).count();
                let attestation_of: HashMap<Digest, Digest> =
                    entries.iter().filter_map(|e| e.attests.clone().map(|a| (a, e.descriptor.digest.clone()))).collect();
                let images: Vec<_> = entries.into_iter().filter(|e| !e.is_attestation).collect();
                let details = futures::future::join_all(images.iter().map(|e| self.child(repo, &e.descriptor))).await;
                let children = images
                    .into_iter()
                    .zip(details)
                    .map(|(e, (compressed_size, error, verified))| Child {
                        source: CellSource::Registry,
                        attestation: attestation_of.get(&e.descriptor.digest).cloned(),
                        verified,
                        platform: e.descriptor.platform.clone(),
                        digest: e.descriptor.digest,
                        size: e.descriptor.size,
                        compressed_size,
                        error,
                    })
                    .collect();
                TagOutcome::Index { digest: m.digest, media_type, kind: m.view.kind, children, attestations }
            }
            ManifestKind::DockerImage | ManifestKind::OciImage | ManifestKind::DockerSchema1 => {
                let (platform, error) = match (&m.view.config, &m.view.schema1_platform) {
                    (Some(c), _) => match self.config(repo, c).await {
                        Ok((_, cfg)) => (Some(cfg.platform), None),
                        Err(e) => (None, Some(e.to_string())),
                    },
                    (None, Some(p)) => (Some(p.clone()), None),
                    (None, None) => (None, Some("image has no config".to_string())),
                };
                let platform_known = platform.is_some();
                let child = Child {
                    source: CellSource::Registry,
                    platform,
                    digest: m.digest.clone(),
                    size: m.bytes.len() as u64,
                    compressed_size: Some(m.view.compressed_size()),
                    error,
                    attestation: None,
                    // A single image: its platform is its config's, nothing to contradict.
                    verified: (self.verify && platform_known).then_some(Verified::Ok),
                };
                TagOutcome::Image { digest: m.digest, media_type, child }
            }
            ManifestKind::Artifact | ManifestKind::Unknown => TagOutcome::Artifact {
                digest: m.digest,
                media_type,
                artifact_type: m.view.artifact_type.clone().or_else(|| m.view.config.as_ref().map(|c| c.media_type.clone())),
            },
        }
    }

    /// The matrix of `tags`, rows in the order given. `progress(done, total)` is called as
    /// each tag completes. When the registry stops answering ([`STOP_AFTER_UNREACHABLE`] tags
    /// in a row could not reach it), the rest are not asked for and the matrix says it is
    /// partial, rather than spending retries and timeouts on every remaining tag.
    pub async fn matrix(&self, repo: &Repository, tags: Vec<String>, progress: impl FnMut(usize, usize, &TagResult)) -> Matrix {
        let one: futures::stream::BoxStream<'_, Result<Vec<String>, RegistryError>> = Box::pin(futures::stream::iter([Ok(tags)]));
        // A list given whole cannot fail to arrive.
        self.fan_out(repo, one, |_| true, false, progress).await.unwrap_or_else(|e| Matrix::build(&format!("{repo}: {e}"), Vec::new()))
    }

    /// The matrix of every tag of `repo` that `keep` keeps, rows sorted by tag. Tags are read
    /// as each page of the tag list arrives, while the next page is asked for: a long list
    /// never waits for its last page. `progress(done, known, result)`: `known` grows with the
    /// pages.
    ///
    /// On Docker Hub the rows come from Docker Hub's API (tags, platforms, child digests and
    /// sizes, no manifest read, so no pull spent), marked as such. When that API cannot answer
    /// for the repository, the registry's manifests are read instead and the matrix says so.
    pub async fn matrix_paged(
        &self,
        repo: &Repository,
        keep: impl Fn(&str) -> bool,
        mut progress: impl FnMut(usize, usize, &TagResult),
    ) -> Result<Matrix, RegistryError> {
        let mut notes = Vec::new();
        // Verifying reads each cell's manifest and config: Docker Hub's API cannot stand in.
        if let Some(hub) = self.client().and_then(RegistryClient::hub).filter(|_| !self.verify) {
            match self.hub_matrix(hub, repo, &keep, &mut progress).await {
                Ok(m) => return Ok(m),
                Err(e) => notes.push(format!(
                    "Docker Hub's API could not list {repo} ({e}); the registry's manifests were read instead, and on Docker Hub each tag read counts as a pull"
                )),
            }
        }
        let pages = self.store.tags_paged(&repo.name);
        let mut m = self.fan_out(repo, pages, keep, true, progress).await?;
        m.notes.extend(notes);
        Ok(m)
    }

    /// The matrix from Docker Hub's API alone. Fails only when its first page cannot be read;
    /// a later page that fails leaves the matrix partial.
    async fn hub_matrix(
        &self,
        hub: &super::hub::HubApi,
        repo: &Repository,
        keep: &impl Fn(&str) -> bool,
        progress: &mut impl FnMut(usize, usize, &TagResult),
    ) -> Result<Matrix, RegistryError> {
        let mut pages = std::pin::pin!(hub.pages(&repo.name, self.cache.as_ref()));
        let (mut rows, mut oldest, mut skipped, mut partial) = (Vec::<TagResult>::new(), None, 0usize, None);
        let mut first = true;
        while let Some(paged) = pages.next().await {
            let paged = match paged {
                Ok(p) => p,
                Err(e) if first => return Err(e),
                Err(e) => {
                    partial = Some(format!("Docker Hub's API stopped answering after {} tags ({e}); the matrix is partial. Retry later", rows.len()));
                    break;
                }
            };
            first = false;
            oldest = oldest.max(paged.age);
            skipped += paged.page.skipped.len();
            let known = paged.page.count.map_or(0, |c| c as usize);
            for r in paged.page.rows.into_iter().filter(|r| keep(&r.tag)) {
                progress(rows.len() + 1, known.max(rows.len() + 1), &r);
                rows.push(r);
            }
        }
        rows.sort_by(|a, b| a.tag.cmp(&b.tag));
        let mut m = Matrix::build(&repo.to_string(), rows);
        m.partial = partial;
        let age = oldest.map(|a: std::time::Duration| format!("cached, {} s old; ", a.as_secs())).unwrap_or_default();
        m.notes.push(format!(
            "read from Docker Hub's API ({age}platforms, digests and Docker Hub's compressed sizes, not yet checked against the manifests; no pull spent)"
        ));
        if skipped > 0 {
            m.notes.push(format!("{skipped} tags listed by Docker Hub's API were left out (a name outside the tag grammar, or no digest)"));
        }
        Ok(m)
    }

    /// Read the tags of `pages` as they arrive, at most [`Fetcher::concurrency`] at once; rows
    /// in arrival order, or sorted by tag.
    async fn fan_out(
        &self,
        repo: &Repository,
        mut pages: futures::stream::BoxStream<'_, Result<Vec<String>, RegistryError>>,
        keep: impl Fn(&str) -> bool,
        sort: bool,
        mut progress: impl FnMut(usize, usize, &TagResult),
    ) -> Result<Matrix, RegistryError> {
        let repo_name = repo.name.as_str();
        // A quarter more tags than the store takes requests at once: a tag holds its place
        // until its children are read, so with only as many tags as places the next tags'
        // index requests would queue behind every child and the last rows would wait for a
        // chain of their own. With a quarter more, the next indexes are already queued (the
        // limit is first come, first served) while the children of the first are read; more
        // than that puts indexes ahead of the first rows' children and delays the first rows.
        let concurrency = self.concurrency().saturating_add(self.concurrency() / 4);
        let mut listed = false;
        let mut waiting: std::collections::VecDeque<(usize, String)> = std::collections::VecDeque::new();
        let mut running = futures::stream::FuturesUnordered::new();
        let (mut known, mut done, mut unreachable_in_a_row) = (0usize, 0usize, 0usize);
        let mut rows: Vec<(usize, TagResult)> = Vec::new();
        let mut stopped = None;
        loop {
            while running.len() < concurrency
                && let Some((i, t)) = waiting.pop_front()
            {
                running.push(async move { (i, self.tag_result_reached(repo_name, &t).await) });
            }
            if listed && running.is_empty() {
                break;
            }
            tokio::select! {
                page = pages.next(), if !listed => match page {
                    Some(items) => {
                        for t in items?.into_iter().filter(|t| keep(t)) {
                            waiting.push_back((known, t));
                            known += 1;
                        }
                    }
                    None => listed = true,
                },
                Some((i, (r, reach))) = running.next(), if !running.is_empty() => {
                    done += 1;
                    unreachable_in_a_row = if reach == Reach::Unreachable { unreachable_in_a_row + 1 } else { 0 };
                    let last_error = match &r.outcome {
                        TagOutcome::Failed { error } => Some(error.clone()),
                        _ => None,
                    };
                    if reach == Reach::PullLimit {
                        // Not a row: the tag was not read. What was read stays.
                        stopped = Some(format!(
                            "{} tags of {known} were read before the pull limit ran out; the rest were not read and the matrix is partial. {}",
                            rows.len(),
                            last_error.unwrap_or_default()
                        ));
                        break;
                    }
                    progress(done, known, &r);
                    rows.push((i, r));
                    let more = !listed || !waiting.is_empty() || !running.is_empty();
                    if unreachable_in_a_row >= STOP_AFTER_UNREACHABLE && more {
                        stopped = Some(format!(
                            "{} stopped answering after {done} of {known} tags, so the rest were not read and the matrix is partial (last error: {}). Retry when it is back",
                            self.store.name(),
                            last_error.unwrap_or_default()
                        ));
                        break;
                    }
                }
            }
        }
        if sort {
            rows.sort_by(|a, b| a.1.tag.cmp(&b.1.tag));
        } else {
            rows.sort_by_key(|(i, _)| *i);
        }
        let mut m = Matrix::build(&repo.to_string(), rows.into_iter().map(|(_, r)| r).collect());
        m.partial = stopped;
        Ok(m)
    }

    /// Details of one reference: the manifest, its entries' sizes, or its config.
    pub async fn inspect(&self, reference: &Reference) -> Result<Inspection, RegistryError> {
        let repo = reference.repository.name.as_str();
        let manifest = self.resolve_reference(reference).await?;
        let mut entries = Vec::new();
        let mut config = None;
        if manifest.view.kind.is_index() {
            let list = manifest.view.entries();
            let sizes = futures::future::join_all(list.iter().map(|e| async {
                if e.is_attestation {
                    match self.manifest(repo, &e.descriptor.digest).await {
                        Ok(m) => (Some(m.view.compressed_size()), None),
                        Err(err) => (None, Some(err.to_string())),
                    }
                } else {
                    let (size, error, _) = self.child(repo, &e.descriptor).await;
                    (size, error)
                }
            }))
            .await;
            for (e, (compressed_size, error)) in list.into_iter().zip(sizes) {
                entries.push(EntryDetail { descriptor: e.descriptor, is_attestation: e.is_attestation, attests: e.attests, compressed_size, error });
            }
        } else if let Some(c) = &manifest.view.config
            && manifest.view.kind.is_image()
        {
            let (bytes, cfg) = self.config(repo, c).await?;
            config = Some((c.digest.clone(), bytes, cfg));
        }
        Ok(Inspection { reference: reference.clone(), manifest, entries, config })
    }
}
