//! Application state and its reducer: `apply(Event)` folds worker events in, `handle(UiAction)`
//! turns what the user did into worker commands. No egui, no I/O.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub mod composer;
pub mod coverage;

use crate::model::diagnose::Diagnosis;
use crate::model::digest::Digest;
use crate::model::matrix::{Matrix, Row, VersionKey, glob_match};
use crate::model::platform::{HostPreset, MatchKind, Matcher, Platform};
use crate::model::reference::{Reference, Registry, Repository};
use crate::settings::{Settings, remember};

/// How many followed digests Back remembers.
const MAX_BACK: usize = 50;
use crate::protocol::{Command, Details, Event, RequestId, SourceRef};

/// Data that may be loading, keeping what was on screen while it does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Loadable<T> {
    #[default]
    NotRequested,
    Pending {
        previous: Option<T>,
    },
    Ready(T),
    Failed {
        error: String,
        previous: Option<T>,
    },
}

impl<T> Loadable<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            Loadable::Ready(v) => Some(v),
            Loadable::Pending { previous } | Loadable::Failed { previous, .. } => previous.as_ref(),
            Loadable::NotRequested => None,
        }
    }

    pub fn is_pending(&self) -> bool {
        matches!(self, Loadable::Pending { .. })
    }

    fn into_value(self) -> Option<T> {
        match self {
            Loadable::Ready(v) => Some(v),
            Loadable::Pending { previous } | Loadable::Failed { previous, .. } => previous,
            Loadable::NotRequested => None,
        }
    }
}

/// What the user did.
#[derive(Debug, Clone, PartialEq)]
pub enum UiAction {
    /// Connect to a registry host as typed or picked.
    Connect(String),
    /// Skip (or again check) TLS verification for the connected registry, and reconnect.
    SetInsecure(bool),
    /// Verify cells (each config against its entry) from now on, and reload the matrix.
    SetVerify(bool),
    LoadMoreRepos,
    /// Open a repository: a name in the current registry, or a full `host/name`.
    OpenRepository(String),
    OpenLayout(PathBuf),
    Refresh,
    Cancel,
    Select {
        tag: String,
        platform: Option<String>,
    },
    /// Move the cursor in the matrix by rows and columns.
    MoveCursor {
        rows: i64,
        cols: i64,
    },
    /// Show details of the selection.
    OpenDetails,
    /// Details: back to what was shown before following a digest.
    DetailsBack,
    /// Hide the details panel.
    CloseDetails,
    /// Navigate to a digest in the current repository.
    OpenDigest(Digest),
    ToggleFavourite(String),
    SetHost(String),
    ClearNotice,
    /// Fill the diagnose field from the selection.
    DiagnoseSelection,
    /// Diagnose what the diagnose field names, for the chosen host.
    RunDiagnose,
    Composer(composer::ComposerAction),
    Coverage(coverage::CoverageAction),
    OpenSignIn,
    CloseSignIn,
    /// Sign in to the current registry with what the sign-in form holds.
    SignIn,
    SignOut,
    /// Add the selected tag or cell to the draft.
    AddSelectionToDraft,
    /// Start the composer from the selected tag's index.
    EditSelectedTag,
}

/// What a file is chosen for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilePurpose {
    OpenLayout,
    ExportDraft,
    ImportDraft,
}

/// The window that asks for a path: typed, or from the system's file dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePrompt {
    pub purpose: FilePurpose,
    pub path: String,
    /// Said after a dialog came back with nothing.
    pub note: Option<String>,
}

impl FilePrompt {
    pub fn new(purpose: FilePurpose) -> FilePrompt {
        FilePrompt { purpose, path: String::new(), note: None }
    }
}

/// The sign-in form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInState {
    pub open: bool,
    pub username: String,
    /// Cleared as soon as it is sent.
    pub password: String,
    pub remember: bool,
    pub error: Option<String>,
    request: Option<RequestId>,
}

impl SignInState {
    pub fn is_pending(&self) -> bool {
        self.request.is_some()
    }
}

/// The diagnose panel.
#[derive(Debug, Clone, PartialEq)]
pub struct DiagnoseState {
    pub reference: String,
    pub deep: bool,
    pub result: Loadable<Box<Diagnosis>>,
    pub bytes: u64,
    request: Option<RequestId>,
}

impl Default for DiagnoseState {
    fn default() -> Self {
        DiagnoseState { reference: String::new(), deep: true, result: Loadable::NotRequested, bytes: 0, request: None }
    }
}

impl DiagnoseState {
    pub fn is_running(&self) -> bool {
        self.request.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatrixView {
    pub source: SourceRef,
    pub repository: Repository,
    /// A display name: `host/repo`, or the layout folder.
    pub title: String,
    pub matrix: Matrix,
    pub request: Option<RequestId>,
    pub done: u64,
    pub total: u64,
    pub error: Option<String>,
    /// Not every tag was read: the load was cancelled, or the registry stopped answering.
    pub partial: Option<String>,
    /// Bumped whenever rows change.
    pub revision: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tag: String,
    pub platform: Option<String>,
}

impl Derived {
    /// The colour group of a digest two or more tags share: its place among all shared digests
    /// of the matrix, so it does not change with scrolling or filtering.
    pub fn shared_group(&self, digest: &Digest) -> Option<usize> {
        self.shared.keys().position(|g| g == digest)
    }
}

/// Derived from the matrix and filters; recomputed only when they change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    key: (u64, String, Option<String>, bool, String, String),
    /// Indices into `matrix.rows`, filtered and sorted.
    pub visible: Vec<usize>,
    /// Digest → tags pointing at it, for digests shared by two or more tags.
    pub shared: BTreeMap<Digest, Vec<String>>,
    /// Platform key → how many tags lack it.
    pub missing: HashMap<String, usize>,
    /// Visible tags in which the host finds nothing to run.
    pub host_no_match: usize,
    /// Per row (index into `matrix.rows`): the cell the host would pick.
    pub picks: Vec<Option<(String, MatchKind)>>,
    /// Bumped each time `visible` is recomputed, so the view can keep its place.
    pub generation: u64,
}

#[derive(Debug)]
pub struct AppState {
    pub settings: Settings,
    /// A registry's pull limit left, in words, as it last said.
    pub rate_limit: Option<(Registry, String)>,
    /// "rate limited by HOST, retrying in N s", while that wait lasts.
    pub waiting: Option<String>,
    pub registry_input: String,
    pub registry: Option<Registry>,
    pub connection: Loadable<bool>,
    connect_request: Option<RequestId>,
    pub repos: Loadable<Vec<String>>,
    pub repos_next: Option<String>,
    repos_request: Option<RequestId>,
    pub repo_filter: String,
    pub repo_input: String,
    pub layout: Option<(PathBuf, String)>,
    layout_request: Option<RequestId>,
    pub matrix: Option<MatrixView>,
    pub tag_filter: String,
    /// Show only tags missing this platform key.
    pub only_missing: Option<String>,
    pub host_input: String,
    pub selection: Option<Selection>,
    pub details: Loadable<Box<Details>>,
    /// The details panel was closed (its close button, or Esc with nothing to cancel); it opens
    /// again with the next Show / Enter.
    pub details_closed: bool,
    details_request: Option<RequestId>,
    /// What the details panel shows or is reading.
    details_for: Option<Reference>,
    /// Details shown before each followed digest, newest last (Back, Alt+Left).
    pub details_back: Vec<Reference>,
    /// The last error worth telling the user about, shown until dismissed.
    pub notice: Option<String>,
    pub derived: Derived,
    pub diagnose: DiagnoseState,
    /// The matrix legend is shown (its button, F1; Esc closes it).
    pub legend_open: bool,
    /// A path being asked for (Open folder…, Export…, Import…).
    pub file_prompt: Option<FilePrompt>,
    pub composer: composer::ComposerState,
    pub coverage: coverage::CoverageState,
    pub sign_in: SignInState,
    /// Who is signed in to the current registry, and where the login is kept.
    pub signed_in_as: Option<(String, String)>,
    next_id: RequestId,
}

impl AppState {
    pub fn new(settings: Settings) -> AppState {
        AppState {
            host_input: String::new(),
            settings,
            rate_limit: None,
            details_closed: false,
            waiting: None,
            registry_input: String::new(),
            registry: None,
            connection: Loadable::NotRequested,
            connect_request: None,
            repos: Loadable::NotRequested,
            repos_next: None,
            repos_request: None,
            repo_filter: String::new(),
            repo_input: String::new(),
            layout: None,
            layout_request: None,
            matrix: None,
            tag_filter: String::new(),
            only_missing: None,
            selection: None,
            details: Loadable::NotRequested,
            details_request: None,
            details_for: None,
            details_back: Vec::new(),
            notice: None,
            derived: Derived::default(),
            diagnose: DiagnoseState::default(),
            legend_open: false,
            file_prompt: None,
            composer: composer::ComposerState::default(),
            coverage: coverage::CoverageState::default(),
            sign_in: SignInState { remember: true, ..SignInState::default() },
            signed_in_as: None,
            next_id: 1,
        }
    }

    fn id(&mut self) -> RequestId {
        self.next_id += 1;
        self.next_id
    }

    /// The platform of the chosen host: a preset id, or a typed platform.
    pub fn host_platform(&self) -> Option<Platform> {
        match HostPreset::find(&self.settings.host) {
            Some(p) => Some(p.platform()),
            None => Platform::parse_key(&self.settings.host).ok(),
        }
    }

    pub fn host_label(&self) -> String {
        match HostPreset::find(&self.settings.host) {
            Some(p) => p.label.to_string(),
            None => self.settings.host.clone(),
        }
    }

    /// The platform key the host would pick in `row`, by containerd's rules, and whether it
    /// is an exact match or a fallback.
    // `select` returns an index into `platforms`, built one per key.
    #[allow(clippy::indexing_slicing)]
    pub fn host_pick(&self, row: &Row) -> Option<(String, MatchKind)> {
        let host = self.host_platform()?;
        let m = Matcher::only(&host);
        let keys: Vec<&String> = row.cells.keys().collect();
        let platforms: Vec<Platform> = keys.iter().map(|k| Platform::parse_key(k).unwrap_or_default()).collect();
        let i = m.select(&platforms)?;
        Some((keys[i].clone(), m.kind(&platforms[i])?))
    }

    pub fn is_loading(&self) -> bool {
        self.matrix.as_ref().is_some_and(|m| m.request.is_some())
    }

    /// Recompute visible rows and shared digests if the matrix or the filters changed.
    // `visible` holds indices from `0..m.rows.len()`, and `keys` and `picks` have one entry
    // per row, so every index is in range.
    #[allow(clippy::indexing_slicing)]
    pub fn derive(&mut self) {
        let Some(mv) = &self.matrix else {
            self.derived = Derived::default();
            return;
        };
        let key =
            (mv.revision, self.tag_filter.clone(), self.only_missing.clone(), self.settings.sort_by_version, mv.title.clone(), self.settings.host.clone());
        if key == self.derived.key {
            return;
        }
        let m = &mv.matrix;
        let filter = self.tag_filter.trim();
        let globby = filter.contains(['*', '?']);
        let mut visible: Vec<usize> = (0..m.rows.len())
            .filter(|&i| {
                let r = &m.rows[i];
                let name_ok = filter.is_empty() || if globby { glob_match(filter, &r.tag) } else { r.tag.contains(filter) };
                let missing_ok = self.only_missing.as_ref().is_none_or(|k| Matrix::lacks(r, k));
                name_ok && missing_ok
            })
            .collect();
        if self.settings.sort_by_version {
            // Newest first; keys computed once per row rather than per comparison.
            let keys: Vec<VersionKey<'_>> = m.rows.iter().map(|r| VersionKey::new(&r.tag)).collect();
            visible.sort_by(|&a, &b| keys[b].cmp(&keys[a]));
        } else {
            visible.sort_by(|&a, &b| m.rows[a].tag.cmp(&m.rows[b].tag));
        }
        let by = m.shared_digests();
        let missing = m.keys().iter().map(|k| (k.clone(), m.tags_missing(k).len())).collect();
        let picks: Vec<Option<(String, MatchKind)>> = match self.host_platform() {
            None => vec![None; m.rows.len()],
            Some(host) => {
                // Rank each column once; a row's pick is its best-ranked cell.
                let matcher = Matcher::only(&host);
                let ranked: HashMap<&str, (usize, &Platform)> =
                    m.keys().iter().zip(m.platforms()).filter_map(|(k, p)| matcher.rank(p).map(|r| (k.as_str(), (r, p)))).collect();
                m.rows
                    .iter()
                    .map(|row| {
                        let mut best: Option<(&str, usize, &Platform)> = None;
                        for k in row.cells.keys() {
                            if let Some(&(r, p)) = ranked.get(k.as_str()) {
                                let better = match best {
                                    None => true,
                                    Some((_, br, bp)) => r < br || (r == br && matcher.less(p, bp)),
                                };
                                if better {
                                    best = Some((k, r, p));
                                }
                            }
                        }
                        best.map(|(k, r, _)| (k.to_string(), if r == 0 { MatchKind::Exact } else { MatchKind::Fallback }))
                    })
                    .collect()
            }
        };
        let host_no_match =
            if self.host_platform().is_some() { visible.iter().filter(|&&i| m.rows[i].is_runnable_kind() && picks[i].is_none()).count() } else { 0 };
        let generation = self.derived.generation + 1;
        self.derived = Derived { key, visible, shared: by, missing, host_no_match, picks, generation };
    }

    /// Fold one worker event in; returns follow-up commands. Events for requests no longer
    /// current are ignored.
    pub fn apply(&mut self, event: Event) -> Vec<Command> {
        // Any other answer means requests are moving again.
        if !matches!(event, Event::Waiting { .. }) {
            self.waiting = None;
        }
        if self.composer.apply(&event) || self.coverage.apply(&event) {
            return Vec::new();
        }
        let id = event.id();
        let mut follow_up = Vec::new();
        match event {
            Event::Connected { registry, signed_in, .. } if Some(id) == self.connect_request => {
                self.connect_request = None;
                // Reached again: the notice of an earlier failure to connect is stale.
                if matches!(self.connection, Loadable::Failed { .. }) {
                    self.notice = None;
                }
                self.connection = Loadable::Ready(signed_in);
                remember(&mut self.settings.recent_registries, registry.name());
            }
            Event::SignedIn { registry, username, kept, .. } if Some(id) == self.sign_in.request => {
                self.sign_in.request = None;
                self.sign_in.open = false;
                self.sign_in.error = None;
                if self.registry.as_ref() == Some(&registry) {
                    self.connection = Loadable::Ready(true);
                    self.signed_in_as = Some((username, kept));
                    // What was refused before may be readable now.
                    if matches!(self.repos, Loadable::Failed { .. } | Loadable::NotRequested) && !registry.hides_catalog() {
                        let rid = self.id();
                        self.repos_request = Some(rid);
                        self.repos = Loadable::Pending { previous: None };
                        follow_up.push(Command::ListRepos { id: rid, registry, page: None });
                    }
                }
            }
            Event::SignedOut { registry, .. } if self.registry.as_ref() == Some(&registry) => {
                self.signed_in_as = None;
                // Connect again: whatever credentials files say now applies.
                follow_up = self.handle(UiAction::Connect(registry.name().to_string()));
            }
            Event::ReposPage { repos, next, .. } if Some(id) == self.repos_request => {
                self.repos_request = None;
                let mut all = std::mem::replace(&mut self.repos, Loadable::NotRequested).into_value().unwrap_or_default();
                all.extend(repos);
                self.repos = Loadable::Ready(all);
                self.repos_next = next;
            }
            Event::LayoutOpened { path, name, .. } if Some(id) == self.layout_request => {
                self.layout_request = None;
                self.layout = Some((path.clone(), name.clone()));
                // References into the folder read `oci:PATH:TAG`, as skopeo writes them.
                let repository = Repository { registry: Registry::layout_dir(&path.to_string_lossy()), name: name.clone() };
                remember(&mut self.settings.recent_repositories, &format!("oci:{}", path.display()));
                follow_up = self.start_matrix(SourceRef::Layout(path), repository, name);
            }
            Event::TagsListed { tags, .. } => {
                if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
                    mv.total = tags.len() as u64;
                }
            }
            Event::Row { result, .. } => {
                if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
                    mv.matrix.push(result);
                    mv.revision += 1;
                }
            }
            Event::Progress { done, total, .. } => {
                if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
                    mv.done = done;
                    mv.total = total;
                }
            }
            Event::Waiting { message, .. } => self.waiting = Some(message),
            Event::RateLimit { registry, remaining, .. } => {
                self.rate_limit = Some((registry, crate::model::units::rate_limit_words(&remaining)));
            }
            Event::MatrixStopped { reason, .. } => {
                if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
                    mv.request = None;
                    mv.partial = Some(reason.clone());
                    // The status dot says the registry is not answering; Retry reconnects.
                    let previous = std::mem::replace(&mut self.connection, Loadable::NotRequested).into_value();
                    self.connection = Loadable::Failed { error: reason, previous };
                }
            }
            Event::MatrixDone { .. } | Event::Cancelled { .. } => {
                if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
                    mv.request = None;
                }
                if self.diagnose.request == Some(id) {
                    self.diagnose.request = None;
                    let previous = std::mem::replace(&mut self.diagnose.result, Loadable::NotRequested).into_value();
                    self.diagnose.result = Loadable::Failed { error: "cancelled".into(), previous };
                }
                if self.details_request == Some(id) {
                    self.details_request = None;
                    self.details =
                        Loadable::Failed { error: "cancelled".into(), previous: std::mem::replace(&mut self.details, Loadable::NotRequested).into_value() };
                }
            }
            Event::Inspected { details, .. } if Some(id) == self.details_request => {
                self.details_request = None;
                self.details = Loadable::Ready(details);
            }
            Event::DiagnoseProgress { bytes, .. } if Some(id) == self.diagnose.request => self.diagnose.bytes = bytes,
            Event::Diagnosed { diagnosis, .. } if Some(id) == self.diagnose.request => {
                self.diagnose.request = None;
                self.diagnose.bytes = diagnosis.bytes_read;
                self.diagnose.result = Loadable::Ready(diagnosis);
            }
            Event::Failed { error, .. } => self.fail(id, error),
            _ => {}
        }
        follow_up
    }

    fn fail(&mut self, id: RequestId, error: String) {
        if id == crate::protocol::SETTINGS_REQUEST {
            self.notice = Some(error);
        } else if Some(id) == self.sign_in.request {
            self.sign_in.request = None;
            self.sign_in.error = Some(error);
        } else if Some(id) == self.diagnose.request {
            self.diagnose.request = None;
            let previous = std::mem::replace(&mut self.diagnose.result, Loadable::NotRequested).into_value();
            self.diagnose.result = Loadable::Failed { error, previous };
        } else if Some(id) == self.connect_request {
            self.connect_request = None;
            self.connection = Loadable::Failed { error: error.clone(), previous: None };
            self.notice = Some(error);
        } else if Some(id) == self.repos_request {
            self.repos_request = None;
            let previous = std::mem::replace(&mut self.repos, Loadable::NotRequested).into_value();
            self.repos = Loadable::Failed { error, previous };
        } else if Some(id) == self.layout_request {
            self.layout_request = None;
            self.notice = Some(error);
        } else if Some(id) == self.details_request {
            self.details_request = None;
            let previous = std::mem::replace(&mut self.details, Loadable::NotRequested).into_value();
            self.details = Loadable::Failed { error, previous };
        } else if let Some(mv) = self.matrix.as_mut().filter(|m| m.request == Some(id)) {
            // Shown once, in the matrix, not again as a notice.
            mv.request = None;
            mv.error = Some(error);
        }
    }

    fn cancel_matrix(&mut self) -> Vec<Command> {
        let Some(mv) = self.matrix.as_mut() else { return Vec::new() };
        match mv.request.take() {
            Some(id) => {
                if mv.done < mv.total || mv.total == 0 {
                    mv.partial = Some(format!("cancelled after {} of {} tags: the matrix is partial", mv.done, mv.total));
                }
                vec![Command::Cancel { id }]
            }
            None => Vec::new(),
        }
    }

    fn start_matrix(&mut self, source: SourceRef, repository: Repository, title: String) -> Vec<Command> {
        let mut cmds = self.cancel_matrix();
        let id = self.id();
        // A refresh of the same repository keeps the rows on screen until new ones replace them.
        let keep = self.matrix.take().filter(|m| m.source == source && m.repository == repository);
        let matrix = keep.as_ref().map(|m| m.matrix.clone()).unwrap_or_else(|| Matrix::new(&title));
        let revision = keep.as_ref().map(|m| m.revision + 1).unwrap_or(1);
        if keep.is_none() {
            self.selection = None;
            self.details = Loadable::NotRequested;
            self.details_for = None;
            self.details_back.clear();
        }
        self.matrix = Some(MatrixView {
            source: source.clone(),
            repository: repository.clone(),
            title,
            matrix,
            request: Some(id),
            done: 0,
            total: 0,
            error: None,
            partial: None,
            revision,
        });
        cmds.push(Command::LoadMatrix { id, source, repository, verify: self.settings.verify_cells, host: self.settings.host.clone() });
        cmds
    }

    /// The reference the selection stands for: a tag, or a cell's child digest.
    pub fn selected_reference(&self) -> Option<Reference> {
        let mv = self.matrix.as_ref()?;
        let sel = self.selection.as_ref()?;
        let row = mv.matrix.row(&sel.tag)?;
        match &sel.platform {
            Some(k) => row.cells.get(k).map(|c| mv.repository.digest_reference(&c.digest)),
            None => Some(mv.repository.reference(&sel.tag)),
        }
    }

    /// Check `registry` answers (the status dot follows the answer), with the user's TLS choice.
    fn connect(&mut self, registry: Registry) -> Command {
        let id = self.id();
        self.connect_request = Some(id);
        self.connection = Loadable::Pending { previous: None };
        let insecure = self.settings.insecure_registries.contains(registry.name());
        Command::Connect { id, registry, insecure }
    }

    /// Whether the selection is a platform the tag has no entry for.
    pub fn selection_is_gap(&self) -> bool {
        let (Some(mv), Some(sel)) = (&self.matrix, &self.selection) else { return false };
        match (&sel.platform, mv.matrix.row(&sel.tag)) {
            (Some(k), Some(row)) => !row.cells.contains_key(k),
            _ => false,
        }
    }

    /// Keep an open details panel on the selection: read what is now selected.
    fn follow_selection(&mut self) -> Vec<Command> {
        if self.details_closed || matches!(self.details, Loadable::NotRequested) {
            return Vec::new();
        }
        match self.selected_reference() {
            Some(r) if self.details_for.as_ref() != Some(&r) => self.inspect(r),
            _ => Vec::new(),
        }
    }

    /// Put the cursor on the tag or cell `r` names, when it is in the matrix.
    fn select_digest_of(&mut self, r: &Reference) {
        let (Some(mv), Some(d)) = (&self.matrix, &r.digest) else { return };
        let hit = mv.matrix.rows.iter().find_map(|row| {
            if row.digest.as_ref() == Some(d) {
                return Some(Selection { tag: row.tag.clone(), platform: None });
            }
            row.cells.iter().find(|(_, c)| c.digest == *d).map(|(k, _)| Selection { tag: row.tag.clone(), platform: Some(k.clone()) })
        });
        if let Some(sel) = hit {
            self.selection = Some(sel);
        }
    }

    /// The digest of the selection: the cell's image, or the tag's manifest.
    pub fn selected_digest(&self) -> Option<Digest> {
        let mv = self.matrix.as_ref()?;
        let sel = self.selection.as_ref()?;
        let row = mv.matrix.row(&sel.tag)?;
        match &sel.platform {
            Some(k) => row.cells.get(k).map(|c| c.digest.clone()),
            None => row.digest.clone(),
        }
    }

    /// Read the details of any reference in the current source.
    pub fn inspect(&mut self, reference: Reference) -> Vec<Command> {
        let Some(mv) = &self.matrix else { return Vec::new() };
        let source = mv.source.clone();
        let mut cmds = Vec::new();
        if let Some(old) = self.details_request.take() {
            cmds.push(Command::Cancel { id: old });
        }
        let id = self.id();
        self.details_request = Some(id);
        self.details_for = Some(reference.clone());
        let previous = std::mem::replace(&mut self.details, Loadable::NotRequested).into_value();
        self.details = Loadable::Pending { previous };
        cmds.push(Command::Inspect { id, source, reference });
        cmds
    }

    /// Turn a user action into worker commands.
    pub fn handle(&mut self, action: UiAction) -> Vec<Command> {
        match action {
            UiAction::Connect(host) => match Registry::parse(&host) {
                Err(e) => {
                    self.notice = Some(e.to_string());
                    Vec::new()
                }
                Ok(registry) => {
                    let mut cmds = Vec::new();
                    for old in [self.connect_request.take(), self.repos_request.take()].into_iter().flatten() {
                        cmds.push(Command::Cancel { id: old });
                    }
                    // A load still running against another registry stops; its rows stay.
                    if self.matrix.as_ref().is_some_and(|m| m.source != SourceRef::Registry(registry.clone())) {
                        cmds.extend(self.cancel_matrix());
                    }
                    self.registry_input = registry.name().to_string();
                    if self.registry.as_ref() != Some(&registry) {
                        self.signed_in_as = None;
                    }
                    self.registry = Some(registry.clone());
                    self.composer.connected = Some(registry.clone());
                    self.layout = None;
                    cmds.push(self.connect(registry.clone()));
                    self.repos = Loadable::NotRequested;
                    self.repos_next = None;
                    if !registry.hides_catalog() {
                        let rid = self.id();
                        self.repos_request = Some(rid);
                        self.repos = Loadable::Pending { previous: None };
                        cmds.push(Command::ListRepos { id: rid, registry, page: None });
                    }
                    cmds
                }
            },
            UiAction::SetInsecure(on) => {
                let Some(registry) = self.registry.clone() else { return Vec::new() };
                if on {
                    self.settings.insecure_registries.insert(registry.name().to_string());
                } else {
                    self.settings.insecure_registries.remove(registry.name());
                }
                self.handle(UiAction::Connect(registry.name().to_string()))
            }
            UiAction::LoadMoreRepos => {
                let (Some(registry), Some(next)) = (self.registry.clone(), self.repos_next.clone()) else {
                    return Vec::new();
                };
                if self.repos_request.is_some() {
                    return Vec::new();
                }
                let id = self.id();
                self.repos_request = Some(id);
                let previous = std::mem::replace(&mut self.repos, Loadable::NotRequested).into_value();
                self.repos = Loadable::Pending { previous };
                vec![Command::ListRepos { id, registry, page: Some(next) }]
            }
            UiAction::OpenRepository(name) => self.open_repository(&name),
            UiAction::OpenLayout(path) => {
                let id = self.id();
                self.layout_request = Some(id);
                vec![Command::OpenLayout { id, path }]
            }
            UiAction::SetVerify(on) => {
                self.settings.verify_cells = on;
                self.handle(UiAction::Refresh)
            }
            UiAction::Refresh => match &self.matrix {
                Some(mv) => {
                    let (source, repo, title) = (mv.source.clone(), mv.repository.clone(), mv.title.clone());
                    let mut cmds = Vec::new();
                    // Retry after the registry went away: check it answers again (the status
                    // dot follows), then read the matrix.
                    if let (Loadable::Failed { .. }, Some(registry)) = (&self.connection, self.registry.clone()) {
                        cmds.push(self.connect(registry));
                    }
                    cmds.extend(self.start_matrix(source, repo, title));
                    cmds
                }
                None => Vec::new(),
            },
            UiAction::CloseDetails => {
                self.details_closed = true;
                Vec::new()
            }
            UiAction::Cancel => {
                let mut cmds = self.cancel_matrix();
                if let Some(id) = self.diagnose.request {
                    cmds.push(Command::Cancel { id });
                }
                if let Some(id) = self.composer.running() {
                    cmds.push(Command::Cancel { id });
                }
                if self.coverage.is_running() {
                    cmds.extend(self.coverage.handle(coverage::CoverageAction::Cancel, None, &mut || 0));
                }
                if let Some(id) = self.details_request.take() {
                    cmds.push(Command::Cancel { id });
                    let previous = std::mem::replace(&mut self.details, Loadable::NotRequested).into_value();
                    self.details = match previous {
                        Some(p) => Loadable::Ready(p),
                        None => Loadable::NotRequested,
                    };
                }
                // Nothing to stop: Esc closes the details panel instead.
                if cmds.is_empty() {
                    self.details_closed = true;
                }
                cmds
            }
            UiAction::Select { tag, platform } => {
                self.selection = Some(Selection { tag, platform });
                self.follow_selection()
            }
            UiAction::MoveCursor { rows, cols } => {
                self.derive();
                self.move_cursor(rows, cols);
                self.follow_selection()
            }
            UiAction::DetailsBack => match self.details_back.pop() {
                Some(r) => {
                    self.select_digest_of(&r);
                    self.inspect(r)
                }
                None => Vec::new(),
            },
            UiAction::OpenDetails => match self.selected_reference() {
                Some(r) => {
                    self.details_closed = false;
                    self.inspect(r)
                }
                None => Vec::new(),
            },
            UiAction::OpenDigest(d) => {
                let Some(mv) = &self.matrix else { return Vec::new() };
                let r = mv.repository.digest_reference(&d);
                // Where it was followed from, for Back (Alt+Left); the trail is bounded.
                if let Some(shown) = self.details_for.clone().filter(|s| *s != r) {
                    self.details_back.push(shown);
                    if self.details_back.len() > MAX_BACK {
                        self.details_back.remove(0);
                    }
                }
                // Select the cell or row with that digest when it is on screen.
                self.select_digest_of(&r);
                self.inspect(r)
            }
            UiAction::ToggleFavourite(name) => {
                if !self.settings.favourites.remove(&name) {
                    self.settings.favourites.insert(name);
                }
                Vec::new()
            }
            UiAction::SetHost(h) => {
                let valid = HostPreset::find(&h).is_some() || Platform::parse_key(&h).is_ok();
                if valid {
                    self.settings.host = h;
                } else {
                    self.notice = Some(format!("{h:?} is not a host preset or a platform such as linux/arm64"));
                }
                Vec::new()
            }
            UiAction::ClearNotice => {
                self.notice = None;
                Vec::new()
            }
            UiAction::DiagnoseSelection => {
                // The tag, as the user would pull it (`team/app:1.2`): the diagnosis works out
                // which of its entries the host takes.
                if let (Some(mv), Some(sel)) = (&self.matrix, &self.selection) {
                    self.diagnose.reference = mv.repository.reference(&sel.tag).to_string();
                }
                Vec::new()
            }
            UiAction::RunDiagnose => self.run_diagnose(),
            UiAction::SignOut => match self.registry.clone() {
                Some(registry) => {
                    let id = self.id();
                    vec![Command::SignOut { id, registry }]
                }
                None => Vec::new(),
            },
            UiAction::OpenSignIn => {
                if self.registry.is_none() {
                    self.notice = Some("connect to a registry first, then sign in to it".into());
                } else {
                    self.sign_in.open = true;
                }
                Vec::new()
            }
            UiAction::CloseSignIn => {
                self.sign_in.open = false;
                self.sign_in.password.clear();
                Vec::new()
            }
            UiAction::SignIn => {
                let Some(registry) = self.registry.clone() else { return Vec::new() };
                if self.sign_in.username.trim().is_empty() || self.sign_in.password.is_empty() {
                    self.sign_in.error = Some("give a user name and a password (or token)".into());
                    return Vec::new();
                }
                let id = self.id();
                self.sign_in.request = Some(id);
                self.sign_in.error = None;
                let password = std::mem::take(&mut self.sign_in.password);
                vec![Command::SignIn { id, registry, username: self.sign_in.username.trim().to_string(), password, remember: self.sign_in.remember }]
            }
            UiAction::Coverage(a) => {
                let mut next = self.next_id;
                let registry = self.registry.clone().filter(|_| self.layout.is_none());
                let cmds = self.coverage.handle(a, registry.as_ref(), &mut || {
                    next += 1;
                    next
                });
                self.next_id = next;
                cmds
            }
            UiAction::Composer(a) => {
                let mut next = self.next_id;
                let cmds = self.composer.handle(a, &mut || {
                    next += 1;
                    next
                });
                self.next_id = next;
                cmds
            }
            UiAction::AddSelectionToDraft => match (self.selected_reference(), &self.matrix) {
                (Some(reference), Some(mv)) => {
                    let source = mv.source.clone();
                    self.composer.open = true;
                    self.handle(UiAction::Composer(composer::ComposerAction::Add { source, reference }))
                }
                _ => {
                    self.notice = Some("select a tag or a cell to add".into());
                    Vec::new()
                }
            },
            UiAction::EditSelectedTag => {
                let tag = self.selection.as_ref().map(|s| s.tag.clone());
                match (tag, &self.matrix) {
                    (Some(tag), Some(mv)) if matches!(mv.source, SourceRef::Registry(_)) => {
                        let r = mv.repository.reference(&tag);
                        self.handle(UiAction::Composer(composer::ComposerAction::EditReference(r)))
                    }
                    _ => {
                        self.notice = Some("select a tag of a registry repository to edit".into());
                        Vec::new()
                    }
                }
            }
        }
    }

    fn run_diagnose(&mut self) -> Vec<Command> {
        let typed = self.diagnose.reference.trim().to_string();
        let typed = if typed.is_empty() {
            match self.selected_reference() {
                Some(r) => r.to_string(),
                None => {
                    self.notice = Some("type a reference to diagnose, or select a tag or cell".into());
                    return Vec::new();
                }
            }
        } else {
            typed
        };
        // A bare tag or digest means the open repository.
        let full = match &self.matrix {
            Some(mv) if typed.starts_with('@') || !typed.contains(['/', '@']) && !typed.contains(':') => {
                if typed.starts_with('@') {
                    format!("{}{typed}", mv.repository)
                } else {
                    format!("{}:{typed}", mv.repository)
                }
            }
            Some(mv) if !typed.contains('/') && typed.contains(':') && Digest::parse(&typed).is_ok() => format!("{}@{typed}", mv.repository),
            _ => typed,
        };
        let reference = match Reference::parse(&full) {
            Ok(r) => r,
            Err(e) => {
                self.notice = Some(e.to_string());
                return Vec::new();
            }
        };
        let source = match &self.matrix {
            Some(mv) if mv.repository == reference.repository => mv.source.clone(),
            _ => SourceRef::of(&reference.repository.registry),
        };
        self.diagnose.reference = reference.to_string();
        let mut cmds = Vec::new();
        if let Some(old) = self.diagnose.request.take() {
            cmds.push(Command::Cancel { id: old });
        }
        let id = self.id();
        self.diagnose.request = Some(id);
        self.diagnose.bytes = 0;
        let previous = std::mem::replace(&mut self.diagnose.result, Loadable::NotRequested).into_value();
        self.diagnose.result = Loadable::Pending { previous };
        cmds.push(Command::Diagnose { id, source, reference, host: self.settings.host.clone(), deep: self.diagnose.deep });
        cmds
    }

    fn open_repository(&mut self, name: &str) -> Vec<Command> {
        let name = name.trim();
        if let Some(path) = name.strip_prefix("oci:") {
            return self.handle(UiAction::OpenLayout(PathBuf::from(path)));
        }
        // A bare name belongs to the current registry; anything with a host stands alone.
        let full = match &self.registry {
            Some(r) if !looks_qualified(name) => format!("{}/{name}", r.name()),
            _ => name.to_string(),
        };
        match Repository::parse(&full) {
            Err(e) => {
                self.notice = Some(e.to_string());
                Vec::new()
            }
            Ok(repo) => {
                let mut cmds = Vec::new();
                if self.registry.as_ref() != Some(&repo.registry) || self.layout.is_some() {
                    cmds = self.handle(UiAction::Connect(repo.registry.name().to_string()));
                }
                remember(&mut self.settings.recent_repositories, &repo.to_string());
                self.repo_input = repo.name.clone();
                let title = repo.to_string();
                cmds.extend(self.start_matrix(SourceRef::Registry(repo.registry.clone()), repo, title));
                cmds
            }
        }
    }

    // `visible` is not empty and holds row indices; `r` is clamped to its range.
    #[allow(clippy::indexing_slicing)]
    fn move_cursor(&mut self, rows: i64, cols: i64) {
        let Some(mv) = &self.matrix else { return };
        let visible = &self.derived.visible;
        if visible.is_empty() {
            return;
        }
        let keys = mv.matrix.platform_keys();
        let (mut r, mut c) = match &self.selection {
            Some(sel) => (
                visible.iter().position(|&i| mv.matrix.rows[i].tag == sel.tag).unwrap_or(0) as i64,
                sel.platform.as_ref().and_then(|p| keys.iter().position(|k| k == p)).map(|i| i as i64 + 1).unwrap_or(0),
            ),
            None => (-1, 0),
        };
        r = (r + rows).clamp(0, visible.len() as i64 - 1);
        c = (c + cols).clamp(0, keys.len() as i64);
        let tag = mv.matrix.rows[visible[r as usize]].tag.clone();
        let platform = if c == 0 { None } else { keys.get(c as usize - 1).cloned() };
        self.selection = Some(Selection { tag, platform });
    }
}

fn looks_qualified(name: &str) -> bool {
    name.split_once('/').is_some_and(|(first, _)| first.contains('.') || first.contains(':') || first == "localhost")
}

#[cfg(test)]
mod tests;
