//! The tokio side of the desktop app. The UI sends [`Command`]s and drains [`Event`]s; every
//! registry or disk read happens here, never on the UI thread. Each command carries a
//! [`RequestId`]; `Cancel` aborts it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::model::compose::IndexDraft;
use crate::model::diagnose::Host;
use crate::model::reference::{Reference, Registry};
pub use crate::protocol::{Command, Details, Event, RepoSelection, RequestId, SETTINGS_REQUEST, SourceRef};
use crate::registry::auth::Credentials;
use crate::registry::{self, ClientOptions, Fetcher, OciDir, RegistryClient};

/// How long dropping the handle (quitting the app) waits for the last settings to be written.
const FLUSH_ON_EXIT: Duration = Duration::from_secs(2);

/// The UI's end: send commands, drain events. Dropping it stops the worker, after the settings
/// sent last are on disk (waiting at most [`FLUSH_ON_EXIT`]), so a change made just before
/// quitting is not lost.
pub struct WorkerHandle {
    /// `None` once dropping has begun.
    commands: Option<mpsc::UnboundedSender<Command>>,
    events: std::sync::mpsc::Receiver<Event>,
    /// Signalled (or closed) by the worker thread once it has written what it was sent.
    flushed: Option<std::sync::mpsc::Receiver<()>>,
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        // Closing the command channel ends the worker's loop; it then finishes the settings
        // writer and signals.
        self.commands = None;
        if let Some(flushed) = self.flushed.take() {
            let _ = flushed.recv_timeout(FLUSH_ON_EXIT);
        }
    }
}

impl WorkerHandle {
    pub fn send(&self, c: Command) {
        // The worker lives as long as the handle; a send can only fail during shutdown.
        if let Some(commands) = &self.commands {
            let _ = commands.send(c);
        }
    }

    /// Events that have arrived, without waiting.
    pub fn drain(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// The next event that has arrived, without waiting.
    pub fn try_next(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// A handle wired to channels the caller drives (tests feed prepared events).
    pub fn detached() -> (WorkerHandle, mpsc::UnboundedReceiver<Command>, std::sync::mpsc::Sender<Event>) {
        let (ctx, crx) = mpsc::unbounded_channel();
        let (etx, erx) = std::sync::mpsc::channel();
        (WorkerHandle { commands: Some(ctx), events: erx, flushed: None }, crx, etx)
    }
}

/// Start the worker with the default cache: a tokio runtime on its own thread. `repaint` is
/// called whenever an event is sent.
pub fn spawn(options: ClientOptions, repaint: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<WorkerHandle> {
    spawn_with_cache(options, registry::Cache::default_location(), repaint)
}

/// Start the worker with an explicit cache (`None`: no cache) and the default journal.
pub fn spawn_with_cache(options: ClientOptions, cache: Option<registry::Cache>, repaint: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<WorkerHandle> {
    spawn_with(options, cache, registry::journal::path(), repaint)
}

/// Start the worker with an explicit cache and push journal.
pub fn spawn_with(
    options: ClientOptions,
    cache: Option<registry::Cache>,
    journal: Option<PathBuf>,
    repaint: Arc<dyn Fn() + Send + Sync>,
) -> std::io::Result<WorkerHandle> {
    let (mut handle, mut commands, events) = WorkerHandle::detached();
    let (flushed, flushed_rx) = std::sync::mpsc::channel();
    handle.flushed = Some(flushed_rx);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    std::thread::Builder::new().name("archlens-worker".into()).spawn(move || {
        runtime.block_on(async move {
            let worker = Arc::new(Worker::new(options, cache, journal, events, repaint));
            let (settings, writer) = {
                let w = worker.clone();
                settings_writer(crate::settings::path(), move |e| w.emit(e))
            };
            let mut tasks: HashMap<RequestId, AbortHandle> = HashMap::new();
            while let Some(cmd) = commands.recv().await {
                tasks.retain(|_, h| !h.is_finished());
                match cmd {
                    // One writer, in order: the last settings sent are the ones kept.
                    Command::SaveSettings { settings: s, .. } => {
                        let _ = settings.send(s);
                    }
                    Command::Cancel { id } => {
                        let committing = worker.committing.lock().is_ok_and(|c| c.contains(&id));
                        if committing {
                            worker.emit(Event::PushProgress {
                                id,
                                done: 0,
                                total: 0,
                                what: "the index is being written: too late to cancel, the outcome follows".into(),
                            });
                        } else if let Some(h) = tasks.remove(&id) {
                            h.abort();
                            worker.emit(Event::Cancelled { id });
                        }
                    }
                    other => {
                        let id = other.id();
                        let w = worker.clone();
                        let e = worker.clone();
                        let handle = spawn_reporting(id, async move { w.run(other).await }, move |ev| e.emit(ev));
                        tasks.insert(id, handle);
                    }
                }
            }
            // The app is quitting: write the settings sent last, then let it go.
            drop(settings);
            let _ = writer.await;
            let _ = flushed.send(());
        });
    })?;
    Ok(handle)
}

/// The one writer of the settings file. Settings sent while a write runs are coalesced: only
/// the newest is written next, so the file always ends as the last state sent. Failures come
/// back as [`SETTINGS_REQUEST`]. The task ends once the sender is dropped and all is written.
fn settings_writer(
    path: Option<PathBuf>,
    emit: impl Fn(Event) + Send + 'static,
) -> (mpsc::UnboundedSender<Box<crate::settings::Settings>>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Box<crate::settings::Settings>>();
    let task = tokio::spawn(async move {
        while let Some(mut latest) = rx.recv().await {
            while let Ok(newer) = rx.try_recv() {
                latest = newer;
            }
            let Some(p) = path.clone() else { continue };
            let written = tokio::task::spawn_blocking(move || crate::settings::save_to(&p, &latest)).await;
            let error = match written {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("could not save settings: {e}")),
                Err(e) => Some(format!("could not save settings: {e}")),
            };
            if let Some(error) = error {
                emit(Event::Failed { id: SETTINGS_REQUEST, error });
            }
        }
    });
    (tx, task)
}

/// Run `work` as a task; if it panics, `emit` gets a failure for `id` (the UI shows an error
/// instead of waiting for ever). Returns the handle that cancels it.
fn spawn_reporting(id: RequestId, work: impl std::future::Future<Output = ()> + Send + 'static, emit: impl Fn(Event) + Send + 'static) -> AbortHandle {
    let task = tokio::spawn(work);
    let handle = task.abort_handle();
    tokio::spawn(async move {
        if let Err(e) = task.await
            && e.is_panic()
        {
            let payload = e.into_panic();
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            emit(Event::Failed { id, error: format!("internal error: {what}. This is a bug in Archlens; the rest of the app goes on") });
        }
    });
    handle
}

struct Worker {
    /// Clients, cache and stores: the same session type the command line uses.
    session: Arc<registry::Session>,
    journal: Option<PathBuf>,
    events: std::sync::mpsc::Sender<Event>,
    repaint: Arc<dyn Fn() + Send + Sync>,
    /// Pushes whose index is being written: a Cancel no longer stops them; their real outcome
    /// (pushed, overwritten, failed) is what the app hears.
    committing: std::sync::Mutex<std::collections::HashSet<RequestId>>,
}

impl Worker {
    fn new(
        options: ClientOptions,
        cache: Option<registry::Cache>,
        journal: Option<PathBuf>,
        events: std::sync::mpsc::Sender<Event>,
        repaint: Arc<dyn Fn() + Send + Sync>,
    ) -> Worker {
        let mut options = options;
        let (tx, again) = (events.clone(), repaint.clone());
        options.on_wait = Some(registry::client::WaitHook(Arc::new(move |said: &str| {
            let _ = tx.send(Event::Waiting { id: crate::protocol::RATE_LIMIT_WAIT, message: said.to_string() });
            again();
        })));
        Worker { session: Arc::new(registry::Session::new(options, cache)), journal, events, repaint, committing: Default::default() }
    }

    fn journal(&self) -> Result<registry::journal::Journal, String> {
        self.journal.clone().map(registry::journal::Journal::at).ok_or_else(|| "no data directory for the journal: nothing is pushed without one".into())
    }

    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
        (self.repaint)();
    }

    /// Work with the session off the async threads: making a client reads certificate
    /// folders, opening a layout folder reads its `index.json`.
    async fn with_session<T: Send + 'static>(
        &self,
        work: impl FnOnce(&registry::Session) -> Result<T, registry::RegistryError> + Send + 'static,
    ) -> Result<T, String> {
        let session = self.session.clone();
        tokio::task::spawn_blocking(move || work(&session)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
    }

    async fn client(&self, registry: &Registry) -> Result<Arc<RegistryClient>, String> {
        let r = registry.clone();
        self.with_session(move |s| s.client(&r)).await
    }

    async fn fetcher(&self, source: &SourceRef) -> Result<Fetcher, String> {
        let r = source.registry();
        self.with_session(move |s| s.fetcher(&r)).await
    }

    /// The fetcher for a registry named by a draft entry or the journal: an `oci:DIR` folder
    /// or a registry.
    async fn fetcher_for(&self, registry: &Registry) -> Result<Fetcher, String> {
        self.fetcher(&SourceRef::of(registry)).await
    }

    /// Where `target`'s tag lives (a layout target may not exist yet).
    async fn tag_store(&self, target: &Reference) -> Result<registry::compose::TagStore, String> {
        let t = target.clone();
        self.with_session(move |s| s.target(&t)).await
    }

    async fn run(&self, cmd: Command) {
        let id = cmd.id();
        let registry = cmd.registry();
        let result = self.run_inner(cmd).await;
        // Whatever the command and however it ended (a pull limit ends it with an error or a
        // partial matrix), what the registry last said of its pull limit reaches the app.
        if let Some(r) = registry {
            self.report_rate_limit(id, &r).await;
        }
        if let Err(error) = result {
            self.emit(Event::Failed { id, error });
        }
    }

    /// Say the pull limit `registry` last announced, if it announced one.
    async fn report_rate_limit(&self, id: RequestId, registry: &Registry) {
        let r = registry.clone();
        let client = self.with_session(move |s| Ok(s.existing_client(&r))).await.ok().flatten();
        if let Some(c) = client
            && let Some(remaining) = c.rate_limit_remaining()
        {
            self.emit(Event::RateLimit { id, registry: c.registry().clone(), remaining });
        }
    }

    /// One command, answered by its own function.
    async fn run_inner(&self, cmd: Command) -> Result<(), String> {
        match cmd {
            Command::Connect { id, registry, insecure } => self.connect(id, registry, insecure).await,
            Command::SignIn { id, registry, username, password, remember } => self.sign_in(id, registry, username, password, remember).await,
            Command::SignOut { id, registry } => self.sign_out(id, registry).await,
            Command::LoadCoverage { id, registry, repos, policy, host } => self.load_coverage(id, registry, repos, policy, host).await,
            Command::ListRepos { id, registry, page } => self.list_repos(id, registry, page).await,
            Command::OpenLayout { id, path } => self.open_layout(id, path).await,
            Command::ReadTag { id, source, repository, tag } => self.read_tag(id, source, repository, tag).await,
            Command::LoadMatrix { id, source, repository, verify, host } => self.load_matrix(id, source, repository, verify, host).await,
            Command::Inspect { id, source, reference } => self.inspect(id, source, reference).await,
            Command::RepairDraft { id, source, reference, diagnosis } => self.repair_draft(id, source, reference, diagnosis).await,
            Command::Diagnose { id, source, reference, host, deep } => self.diagnose(id, source, reference, host, deep).await,
            Command::Compare { id, source, before, after, files } => self.compare(id, source, before, after, files).await,
            Command::DraftAdd { id, source, reference, keep_attestations } => self.draft_add(id, source, reference, keep_attestations).await,
            Command::DraftBase { id, source, reference } => self.draft_base(id, source, reference).await,
            Command::TargetStatus { id, target } => self.target_status(id, target).await,
            Command::PushDraft { id, target, draft, expect_previous } => self.push_draft(id, target, draft, expect_previous).await,
            Command::Undo { id, entry } => self.undo(id, entry).await,
            Command::SaveDraft { id, path, draft } => self.save_draft(id, path, draft).await,
            Command::LoadDraft { id, path } => self.load_draft(id, path).await,
            // Written by the settings writer, never as a task of its own.
            Command::SaveSettings { .. } | Command::Cancel { .. } => Ok(()),
        }
    }

    async fn connect(&self, id: RequestId, registry: Registry, insecure: bool) -> Result<(), String> {
        // A client made with the other choice is replaced.
        self.session.set_insecure(&registry, insecure).map_err(|e| e.to_string())?;
        let c = self.client(&registry).await?;
        c.ping().await.map_err(|e| e.to_string())?;
        // Signed in: the registry asked and a login was found, or one is kept for it (no
        // helper is run just to tell).
        let signed_in = c.credentials().is_some()
            || tokio::task::spawn_blocking({
                let r = registry.clone();
                move || registry::auth::configured(&r)
            })
            .await
            .unwrap_or(false);
        self.emit(Event::Connected { id, registry, signed_in });
        Ok(())
    }

    async fn sign_in(&self, id: RequestId, registry: Registry, username: String, password: String, remember: bool) -> Result<(), String> {
        let creds = Credentials::Basic { username: username.clone(), password: password.clone() };
        let c = Arc::new(RegistryClient::new(registry.clone(), Some(creds), self.session.options().clone()).map_err(|e| e.to_string())?);
        // A scope-less /v2/ check, then a repository-less catalog or token round trip:
        // the login must be accepted before it replaces the current one.
        c.ping().await.map_err(|e| format!("sign-in to {registry} failed: {e}"))?;
        self.session.replace(c).map_err(|e| e.to_string())?;
        let kept = if remember {
            let (r, u, p) = (registry.clone(), username.clone(), password.clone());
            match tokio::task::spawn_blocking(move || registry::auth::keychain_store(&r, &u, &p)).await {
                Ok(Ok(())) => "kept in the OS keychain".to_string(),
                Ok(Err(why)) => format!("for this session only ({why})"),
                Err(e) => format!("for this session only ({e})"),
            }
        } else {
            "for this session only".to_string()
        };
        self.emit(Event::SignedIn { id, registry, username, kept });
        Ok(())
    }

    async fn sign_out(&self, id: RequestId, registry: Registry) -> Result<(), String> {
        let r = registry.clone();
        // Nothing kept is not an error: the login may have been for this session only.
        let _ = tokio::task::spawn_blocking(move || registry::auth::keychain_forget(&r)).await;
        self.session.forget(&registry).map_err(|e| e.to_string())?;
        self.emit(Event::SignedOut { id, registry });
        Ok(())
    }

    async fn load_coverage(
        &self,
        id: RequestId,
        registry: Registry,
        repos: RepoSelection,
        policy: crate::model::coverage::TagPolicy,
        host: Option<String>,
    ) -> Result<(), String> {
        let fetcher = self.fetcher(&SourceRef::Registry(registry.clone())).await?;
        let names = match repos {
            RepoSelection::Named { repos } => repos,
            RepoSelection::Catalog { glob } => {
                let client = self.client(&registry).await?;
                registry::coverage::catalog(&client, glob.as_deref(), 1000).await.map_err(|e| e.to_string())?
            }
        };
        if names.is_empty() {
            return Err("no repository matches".into());
        }
        self.emit(Event::CoverageStarted { id, total: names.len() });
        // Streamed as they come: the state assembles the coverage, nothing is kept here.
        let hosts: Vec<Host> = host.as_deref().and_then(|h| Host::parse(h).ok()).into_iter().collect();
        registry::coverage::each_row(&fetcher, names.into_iter().map(|n| (n, None)).collect(), &policy, &hosts, |_, row| {
            self.emit(Event::CoverageRow { id, row: Box::new(row) })
        })
        .await;
        self.emit(Event::CoverageDone { id });
        Ok(())
    }

    async fn list_repos(&self, id: RequestId, registry: Registry, page: Option<String>) -> Result<(), String> {
        let c = self.client(&registry).await?;
        let p = c.catalog_page(page.as_deref(), 100).await.map_err(|e| {
            if registry.hides_catalog() { format!("{registry} does not publish its catalog: type a repository name ({e})") } else { e.to_string() }
        })?;
        self.emit(Event::ReposPage { id, repos: p.items, next: p.next });
        Ok(())
    }

    async fn open_layout(&self, id: RequestId, path: PathBuf) -> Result<(), String> {
        let p = path.clone();
        let layout = tokio::task::spawn_blocking(move || OciDir::open(p)).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        self.emit(Event::LayoutOpened { id, path, name: layout.name() });
        Ok(())
    }

    async fn read_tag(&self, id: RequestId, source: SourceRef, repository: crate::model::reference::Repository, tag: String) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        // Gone (an undo removed a tag it had made): the row goes too.
        let gone = matches!(fetcher.store().tag_digest(&repository.name, &tag).await, Ok(None));
        let result = if gone { None } else { Some(fetcher.tag_result(&repository.name, &tag).await) };
        self.emit(Event::TagRead { id, repository, tag, result });
        Ok(())
    }

    async fn load_matrix(
        &self,
        id: RequestId,
        source: SourceRef,
        repository: crate::model::reference::Repository,
        verify: bool,
        host: String,
    ) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?.verifying(verify);
        self.emit(Event::Progress { id, done: 0, total: 0 });
        let mut results = Vec::new();
        // Tags are read as each page of the tag list arrives (from Docker Hub's API on
        // Docker Hub: no pulls spent).
        let mut matrix = fetcher
            .matrix_paged(
                &repository,
                |_| true,
                |done, known, result| {
                    self.emit(Event::Row { id, result: result.clone() });
                    self.emit(Event::Progress { id, done: done as u64, total: known as u64 });
                    if verify {
                        results.push(result.clone());
                    }
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        if !matrix.notes.is_empty() {
            self.emit(Event::MatrixNotes { id, notes: matrix.notes.clone() });
        }
        if let Some(reason) = matrix.partial.take() {
            self.emit(Event::MatrixStopped { id, reason });
            return Ok(());
        }
        // Verified: the host's entry of each tag has its entrypoint binary read; rows
        // whose binary cannot run there are sent again, marked.
        if let (true, Ok(host)) = (verify, Host::parse(&host)) {
            let marked = registry::diagnose::verify_binaries(&fetcher, &mut matrix, &host, registry::layers::DEFAULT_MAX_BYTES).await;
            for result in &mut results {
                let crate::model::matrix::TagOutcome::Index { children, .. } = &mut result.outcome else { continue };
                let mut changed = false;
                for (_, digest, verdict) in marked.iter().filter(|(tag, _, _)| *tag == result.tag) {
                    for child in children.iter_mut().filter(|c| &c.digest == digest) {
                        child.verified = Some(verdict.clone());
                        changed = true;
                    }
                }
                if changed {
                    self.emit(Event::Row { id, result: result.clone() });
                }
            }
        }
        self.emit(Event::MatrixDone { id });
        Ok(())
    }

    async fn inspect(&self, id: RequestId, source: SourceRef, reference: Reference) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        let i = fetcher.inspect(&reference).await.map_err(|e| e.to_string())?;
        let pretty = serde_json::from_slice::<serde_json::Value>(&i.manifest.bytes)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(&i.manifest.bytes).into_owned());
        let v = &i.manifest.view;
        let details = Details {
            reference: reference.clone(),
            digest: i.manifest.digest.clone(),
            media_type: v.media_type.clone(),
            kind: v.kind,
            size: i.manifest.bytes.len(),
            pretty,
            entries: i.entries.iter().map(|e| (e.descriptor.clone(), e.compressed_size)).collect(),
            layers: v.layers.clone(),
            config: i.config.map(|(d, _, c)| (d, c)),
            compressed_size: if v.kind.is_index() { None } else { Some(v.compressed_size()) },
        };
        self.emit(Event::Inspected { id, details: Box::new(details) });
        Ok(())
    }

    async fn repair_draft(
        &self,
        id: RequestId,
        source: SourceRef,
        reference: Reference,
        diagnosis: Box<crate::model::diagnose::Diagnosis>,
    ) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        match registry::diagnose::repair_draft(&fetcher, &reference, &diagnosis).await.map_err(|e| e.to_string())? {
            Some((draft, notes)) => self.emit(Event::DraftLoaded { id, draft: Box::new(draft), notes }),
            None => return Err(format!("nothing in the diagnosis of {reference} has a fix a draft can make")),
        }
        Ok(())
    }

    async fn diagnose(&self, id: RequestId, source: SourceRef, reference: Reference, host: String, deep: bool) -> Result<(), String> {
        let host = Host::parse(&host)?;
        let fetcher = self.fetcher(&source).await?;
        let bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let opts = registry::diagnose::DiagnoseOptions { deep, max_bytes: registry::layers::DEFAULT_MAX_BYTES };
        let work = registry::diagnose::run(&fetcher, &reference, &host, opts, Some(bytes.clone()));
        tokio::pin!(work);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let diagnosis = loop {
            tokio::select! {
                r = &mut work => break r.map_err(|e| e.to_string())?,
                _ = tick.tick() => {
                    self.emit(Event::DiagnoseProgress { id, bytes: bytes.load(std::sync::atomic::Ordering::Relaxed) });
                }
            }
        };
        self.emit(Event::Diagnosed { id, diagnosis: Box::new(diagnosis) });
        Ok(())
    }

    async fn compare(&self, id: RequestId, source: SourceRef, before: Reference, after: Reference, files: bool) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        let options = registry::diff::DiffOptions { platform: None, files, max_bytes: registry::layers::DEFAULT_MAX_BYTES };
        let diff = registry::diff::diff(&fetcher, &before, &fetcher, &after, &options).await.map_err(|e| e.to_string())?;
        self.emit(Event::Compared { id, diff: Box::new(diff) });
        Ok(())
    }

    async fn draft_add(&self, id: RequestId, source: SourceRef, reference: Reference, keep_attestations: bool) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        let entries = registry::compose::draft_entries(&fetcher, &reference, keep_attestations).await.map_err(|e| e.to_string())?;
        self.emit(Event::DraftEntries { id, entries });
        Ok(())
    }

    async fn draft_base(&self, id: RequestId, source: SourceRef, reference: Reference) -> Result<(), String> {
        let fetcher = self.fetcher(&source).await?;
        let draft = registry::compose::base_draft(&fetcher, &reference, true).await.map_err(|e| e.to_string())?;
        self.emit(Event::DraftLoaded { id, draft: Box::new(draft), notes: Vec::new() });
        Ok(())
    }

    async fn target_status(&self, id: RequestId, target: Reference) -> Result<(), String> {
        let store = self.tag_store(&target).await?;
        let current = store.current(&target).await.map_err(|e| e.to_string())?;
        let bytes = match &current {
            Some(d) => Some(store.manifest_bytes(&target, d).await.map_err(|e| e.to_string())?),
            None => None,
        };
        self.emit(Event::TargetState { id, target, current, bytes });
        Ok(())
    }

    async fn push_draft(
        &self,
        id: RequestId,
        target: Reference,
        draft: Box<IndexDraft>,
        expect_previous: Option<crate::model::digest::Digest>,
    ) -> Result<(), String> {
        let mut fetchers = registry::compose::FetcherSet::default();
        for r in draft.entries.iter().map(|e| e.source.registry()) {
            if !fetchers.0.contains_key(r) {
                let f = self.fetcher_for(r).await?;
                fetchers.0.insert(r.clone(), f);
            }
        }
        let store = self.tag_store(&target).await?;
        let journal = self.journal()?;
        let pushed = registry::compose::push(&fetchers, store, &journal, &draft, &target, Some(expect_previous), |done, total, what| {
            // From the index on, the tag moves: the push is no longer cancelled.
            if what == "index"
                && let Ok(mut c) = self.committing.lock()
            {
                c.insert(id);
            }
            self.emit(Event::PushProgress { id, done: done as u64, total: total as u64, what: what.to_string() });
        })
        .await
        .map_err(|e| e.to_string());
        if let Ok(mut c) = self.committing.lock() {
            c.remove(&id);
        }
        let pushed = pushed?;
        self.emit(Event::Pushed { id, target, digest: pushed.digest, previous: pushed.previous, journal_id: pushed.journal_id });
        Ok(())
    }

    async fn undo(&self, id: RequestId, entry: String) -> Result<(), String> {
        let journal = self.journal()?;
        let j = journal.clone();
        let contents = tokio::task::spawn_blocking(move || j.read()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        let plan = registry::compose::plan_undo(&contents, Some(&entry))?;
        let store = self.tag_store(&plan.target).await?;
        let done = registry::compose::run_undo(store.clone(), &journal, &contents, &plan).await.map_err(|e| e.to_string())?;
        let bytes = match &done.digest {
            Some(d) => store.manifest_bytes(&done.target, d).await.ok(),
            None => None,
        };
        self.emit(Event::Repointed { id, target: done.target, digest: done.digest, bytes });
        Ok(())
    }

    async fn save_draft(&self, id: RequestId, path: PathBuf, draft: Box<IndexDraft>) -> Result<(), String> {
        let p = path.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            let bytes = serde_json::to_vec_pretty(&draft).map_err(|e| e.to_string())?;
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
        })
        .await
        .map_err(|e| e.to_string())??;
        self.emit(Event::DraftSaved { id, path });
        Ok(())
    }

    async fn load_draft(&self, id: RequestId, path: PathBuf) -> Result<(), String> {
        let draft = tokio::task::spawn_blocking(move || -> Result<IndexDraft, String> {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_slice(&bytes).map_err(|e| format!("{} is not an Archlens draft: {e}", path.display()))
        })
        .await
        .map_err(|e| e.to_string())??;
        self.emit(Event::DraftLoaded { id, draft: Box::new(draft), notes: Vec::new() });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_becomes_a_failure_event() {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = spawn_reporting(7, async { panic!("boom at the worker") }, move |e| {
            let _ = tx.send(e);
        });
        let event = tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(5))).await.unwrap().unwrap();
        match event {
            Event::Failed { id, error } => {
                assert_eq!(id, 7);
                assert!(error.contains("boom at the worker") && error.contains("internal error"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert!(handle.is_finished());
        // A cancelled task is no failure.
        let (tx, rx) = std::sync::mpsc::channel::<Event>();
        let h = spawn_reporting(8, std::future::pending(), move |e| {
            let _ = tx.send(e);
        });
        h.abort();
        assert!(tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_millis(300))).await.unwrap().is_err());
    }

    /// Many settings sent at once end in the file as the last one sent, and a failure to write
    /// is reported.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settings_are_written_in_order_and_the_last_state_wins() {
        let dir = std::env::temp_dir().join(format!("archlens-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("settings.json");
        let (events, rx) = std::sync::mpsc::channel();
        let (tx, task) = settings_writer(Some(file.clone()), move |e| {
            let _ = events.send(e);
        });
        for i in 0..300 {
            let s = crate::settings::Settings { host: format!("linux/{i}"), ..Default::default() };
            tx.send(Box::new(s)).unwrap();
            if i % 50 == 0 {
                tokio::task::yield_now().await;
            }
        }
        drop(tx);
        task.await.unwrap();
        assert_eq!(crate::settings::load_from(&file).unwrap().host, "linux/299");
        assert!(rx.try_recv().is_err(), "no failure");
        // A file where the folder should be: the write fails and says so.
        let blocked = dir.join("blocked");
        std::fs::write(&blocked, b"a file").unwrap();
        let (events, rx) = std::sync::mpsc::channel();
        let (tx, task) = settings_writer(Some(blocked.join("settings.json")), move |e| {
            let _ = events.send(e);
        });
        tx.send(Box::default()).unwrap();
        drop(tx);
        task.await.unwrap();
        match rx.try_recv() {
            Ok(Event::Failed { id, error }) => assert!(id == SETTINGS_REQUEST && error.contains("could not save settings"), "{error}"),
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
