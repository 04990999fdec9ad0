//! Application state and its reducer: `apply(Event)` folds worker events in, `handle(UiAction)`
//! turns what the user did into worker commands. No egui, no I/O.

use std::path::PathBuf;

pub mod compare;
pub mod composer;
pub mod coverage;
pub mod details;
pub mod diagnose;
pub mod matrix;
pub mod repos;
pub mod sign_in;
pub mod sizes;

pub use details::{DetailsState, MAX_BACK};
pub use diagnose::DiagnoseState;
pub use matrix::{Derived, MatrixView, Selection};
pub use repos::ReposState;
pub use sign_in::SignInState;

use crate::model::digest::Digest;
use crate::model::matrix::{Matrix, Row};
use crate::model::platform::{HostPreset, MatchKind, Matcher, Platform};
use crate::model::reference::{Reference, Registry, Repository};
use crate::protocol::{Command, Event, RequestId, SourceRef};
use crate::settings::{Settings, remember};

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

    /// The value, leaving `NotRequested` behind (to be replaced at once).
    fn take_value(&mut self) -> Option<T> {
        std::mem::take(self).into_value()
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
    /// Ctrl-click: add a tag or cell to the selection, or take it out. Shift-click (`range`):
    /// every row from the cursor to it, in the cursor's column (cells) or as tags.
    Mark {
        tag: String,
        platform: Option<String>,
        range: bool,
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
    /// Add these (cells or tags dragged onto the composer).
    AddToDraft(Vec<Reference>),
    /// Start the composer from the selected tag's index.
    EditSelectedTag,
    /// Show or hide the size plot under the matrix.
    ToggleSizes,
    Compare(compare::CompareAction),
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
    pub repos: ReposState,
    pub layout: Option<(PathBuf, String)>,
    /// The window is narrow (under 1000 px): side panels fold so the matrix keeps its room.
    pub narrow: bool,
    /// On a narrow window, the repositories panel unfolded by the user.
    pub repos_unfolded: bool,
    /// The demo layout opened on a first run: while it is the open folder, the matrix says it
    /// is a demo and what to do next.
    pub demo: Option<PathBuf>,
    layout_request: Option<RequestId>,
    pub matrix: Option<MatrixView>,
    pub tag_filter: String,
    /// Show only tags missing this platform key.
    pub only_missing: Option<String>,
    pub host_input: String,
    pub selection: Option<Selection>,
    /// More tags or cells selected with the cursor's (Ctrl- or Shift-click), in order.
    pub marked: Vec<Selection>,
    pub details: DetailsState,
    /// The last error worth telling the user about, shown until dismissed.
    pub notice: Option<String>,
    pub derived: Derived,
    pub diagnose: DiagnoseState,
    /// The matrix legend is shown (its button, F1; Esc closes it).
    pub legend_open: bool,
    pub sizes: sizes::SizePlot,
    /// A path being asked for (Open folder…, Export…, Import…).
    pub file_prompt: Option<FilePrompt>,
    pub composer: composer::ComposerState,
    pub compare: compare::CompareState,
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
            waiting: None,
            registry_input: String::new(),
            registry: None,
            connection: Loadable::NotRequested,
            connect_request: None,
            repos: ReposState::default(),
            layout: None,
            narrow: false,
            repos_unfolded: false,
            demo: None,
            layout_request: None,
            matrix: None,
            tag_filter: String::new(),
            only_missing: None,
            selection: None,
            marked: Vec::new(),
            details: DetailsState::default(),
            notice: None,
            derived: Derived::default(),
            diagnose: DiagnoseState::default(),
            sizes: sizes::SizePlot::default(),
            compare: compare::CompareState::default(),
            legend_open: false,
            file_prompt: None,
            composer: composer::ComposerState::default(),
            coverage: coverage::CoverageState::default(),
            sign_in: SignInState::default(),
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
            None => Platform::parse_complete(&self.settings.host).ok(),
        }
    }

    /// Whether the repositories panel is shown: as the user set it, except that on a narrow
    /// window with a matrix or coverage open it stays folded until unfolded.
    pub fn repos_shown(&self) -> bool {
        if self.narrow && (self.matrix.is_some() || self.coverage.open) { self.repos_unfolded } else { !self.settings.hide_repositories }
    }

    /// The Repositories button and Ctrl+B.
    pub fn toggle_repos(&mut self) {
        if self.narrow && (self.matrix.is_some() || self.coverage.open) {
            self.repos_unfolded = !self.repos_unfolded;
        } else {
            self.settings.hide_repositories = !self.settings.hide_repositories;
        }
    }

    /// The open folder is the first run's demo.
    pub fn showing_demo(&self) -> bool {
        matches!((&self.layout, &self.demo), (Some((open, _)), Some(demo)) if open == demo)
    }

    pub fn host_label(&self) -> String {
        match HostPreset::find(&self.settings.host) {
            Some(p) => p.label.to_string(),
            None => self.settings.host.clone(),
        }
    }

    /// The platform key the host would pick in `row`, by containerd's rules, and whether it
    /// is an exact match or a fallback.
    pub fn host_pick(&self, row: &Row) -> Option<(String, MatchKind)> {
        let host = self.host_platform()?;
        let m = Matcher::only(&host);
        let keys: Vec<&String> = row.cells.keys().collect();
        let platforms: Vec<Platform> = keys.iter().map(|k| Platform::parse_key(k).unwrap_or_default()).collect();
        let i = m.select(&platforms)?;
        Some(((*keys.get(i)?).clone(), m.kind(platforms.get(i)?)?))
    }

    pub fn is_loading(&self) -> bool {
        self.matrix.as_ref().is_some_and(|m| m.request.is_some())
    }

    /// Recompute visible rows and shared digests if the matrix or the filters changed.
    pub fn derive(&mut self) {
        self.derive_matrix();
        if let (true, Some(mv)) = (self.settings.show_sizes, &self.matrix) {
            self.sizes.update(mv, &self.derived);
        }
    }

    fn derive_matrix(&mut self) {
        let Some(mv) = &self.matrix else {
            self.derived = Derived::default();
            return;
        };
        let key = (
            mv.revision,
            self.tag_filter.clone(),
            self.only_missing.clone(),
            self.settings.sort_by_version,
            mv.title.clone(),
            self.settings.host.clone(),
            mv.epoch,
        );
        if key == self.derived.key {
            return;
        }
        let filters = matrix::Filters {
            tag: &self.tag_filter,
            only_missing: self.only_missing.as_ref(),
            by_version: self.settings.sort_by_version,
            host: self.host_platform(),
        };
        self.derived.update(&mv.matrix, &filters, key);
    }

    /// Fold one worker event in; returns follow-up commands. Events for requests no longer
    /// current are ignored.
    pub fn apply(&mut self, event: Event) -> Vec<Command> {
        // Any other answer means requests are moving again.
        if !matches!(event, Event::Waiting { .. }) {
            self.waiting = None;
        }
        if self.composer.apply(&event) {
            if self.composer.take_recheck() {
                return self.handle(UiAction::Composer(composer::ComposerAction::CheckTarget));
            }
            // A push or an undo moved a tag: the open matrix of its repository reads it again.
            // The diagnosis shown for that tag runs again (after a pushed repair, the verdict
            // of the tag as it is now).
            if let Event::Pushed { target, .. } | Event::Repointed { target, .. } = &event {
                let mut cmds = self.reread(target);
                cmds.extend(self.rediagnose(target));
                return cmds;
            }
            return Vec::new();
        }
        if self.coverage.apply(&event) || self.details.apply(&event) || self.diagnose.apply(&event) || self.compare.apply(&event) || self.repos.apply(&event) {
            return Vec::new();
        }
        if self.sign_in.answers(&event) {
            return self.signed_in(event);
        }
        let event = match self.matrix.as_mut() {
            None => event,
            Some(mv) => match mv.apply(event) {
                matrix::MatrixUpdate::NotMine(event) => *event,
                matrix::MatrixUpdate::Updated => return Vec::new(),
                matrix::MatrixUpdate::Stopped { reason } => {
                    // The status dot says the registry is not answering; Retry reconnects.
                    self.connection = Loadable::Failed { error: reason, previous: self.connection.take_value() };
                    return Vec::new();
                }
            },
        };
        self.apply_connection(event)
    }

    /// The sign-in form's answer: a login that works connects and lists again what it may.
    fn signed_in(&mut self, event: Event) -> Vec<Command> {
        self.sign_in.apply(&event);
        let Event::SignedIn { registry, username, kept, .. } = event else { return Vec::new() };
        if self.registry.as_ref() != Some(&registry) {
            return Vec::new();
        }
        self.connection = Loadable::Ready(true);
        self.signed_in_as = Some((username, kept));
        // What was refused before may be readable now.
        if self.repos.wants_retry() {
            let id = self.id();
            return self.repos.start(&registry, id);
        }
        Vec::new()
    }

    /// Connection, layout, sign-out, rate limits and settings: what no panel owns.
    fn apply_connection(&mut self, event: Event) -> Vec<Command> {
        let id = event.id();
        match event {
            Event::Connected { registry, signed_in, .. } if Some(id) == self.connect_request => {
                self.connect_request = None;
                // Reached again: the notice of an earlier failure to connect is stale.
                if matches!(self.connection, Loadable::Failed { .. }) {
                    self.notice = None;
                }
                self.connection = Loadable::Ready(signed_in);
                remember(&mut self.settings.recent_registries, registry.name());
                Vec::new()
            }
            Event::SignedOut { registry, .. } if self.registry.as_ref() == Some(&registry) => {
                self.signed_in_as = None;
                // Connect again: whatever credentials files say now applies.
                self.handle(UiAction::Connect(registry.name().to_string()))
            }
            Event::LayoutOpened { path, name, .. } if Some(id) == self.layout_request => {
                self.layout_request = None;
                self.layout = Some((path.clone(), name.clone()));
                // References into the folder read `oci:PATH:TAG`, as skopeo writes them.
                let repository = Repository { registry: Registry::layout_dir(&path.to_string_lossy()), name: name.clone() };
                remember(&mut self.settings.recent_repositories, &format!("oci:{}", path.display()));
                self.start_matrix(SourceRef::Layout(path), repository, name)
            }
            Event::Waiting { message, .. } => {
                self.waiting = Some(message);
                Vec::new()
            }
            Event::RateLimit { registry, remaining, .. } => {
                self.rate_limit = Some((registry, crate::model::units::rate_limit_words(&remaining)));
                Vec::new()
            }
            Event::Failed { error, .. } => {
                if id == crate::protocol::SETTINGS_REQUEST {
                    self.notice = Some(error);
                } else if Some(id) == self.connect_request {
                    self.connect_request = None;
                    self.connection = Loadable::Failed { error: error.clone(), previous: None };
                    self.notice = Some(error);
                } else if Some(id) == self.layout_request {
                    self.layout_request = None;
                    self.notice = Some(error);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn cancel_matrix(&mut self) -> Vec<Command> {
        self.matrix.as_mut().and_then(MatrixView::cancel).into_iter().collect()
    }

    /// Diagnose `target` again when the diagnosis shown is of that tag.
    fn rediagnose(&mut self, target: &crate::model::reference::Reference) -> Vec<Command> {
        let shown = self.diagnose.result.value().and_then(|d| Reference::parse(&d.reference).ok());
        let Some(r) = shown.filter(|r| r.repository == target.repository && r.tag.is_some() && r.tag == target.tag) else { return Vec::new() };
        self.diagnose.reference = r.to_string();
        self.run_diagnose()
    }

    /// Read `target`'s tag again when the open matrix shows its repository.
    fn reread(&mut self, target: &crate::model::reference::Reference) -> Vec<Command> {
        let Some(m) = self.matrix.as_ref().filter(|m| m.repository == target.repository) else { return Vec::new() };
        let (source, repository) = (m.source.clone(), m.repository.clone());
        let tag = target.tag.clone().unwrap_or_else(|| "latest".into());
        vec![Command::ReadTag { id: self.id(), source, repository, tag }]
    }

    fn start_matrix(&mut self, source: SourceRef, repository: Repository, title: String) -> Vec<Command> {
        let mut cmds = self.cancel_matrix();
        let id = self.id();
        // A refresh of the same repository keeps the rows on screen until new ones replace them.
        let keep = self.matrix.take().filter(|m| m.source == source && m.repository == repository);
        let matrix = keep.as_ref().map(|m| m.matrix.clone()).unwrap_or_else(|| Matrix::new(&title));
        let revision = keep.as_ref().map(|m| m.revision + 1).unwrap_or(1);
        let epoch = keep.as_ref().map(|m| m.epoch).unwrap_or(id);
        if keep.is_none() {
            self.selection = None;
            self.details.clear();
        }
        self.composer.open_repository = Some(repository.clone());
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
            epoch,
        });
        cmds.push(Command::LoadMatrix { id, source, repository, verify: self.settings.verify_cells, host: self.settings.host.clone() });
        cmds
    }

    /// The reference the selection stands for: a tag, or a cell's child digest.
    fn selected_reference(&self) -> Option<Reference> {
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

    /// The matrix cell selected, when a cell (not a tag or a gap) is.
    pub fn selected_cell(&self) -> Option<&crate::model::matrix::Cell> {
        let mv = self.matrix.as_ref()?;
        let sel = self.selection.as_ref()?;
        mv.matrix.row(&sel.tag)?.cells.get(sel.platform.as_ref()?)
    }

    /// Every tag and cell selected (the cursor's, then those marked), as references; gaps are
    /// left out.
    pub fn selected_references(&self) -> Vec<Reference> {
        let Some(mv) = self.matrix.as_ref() else { return Vec::new() };
        let mut out: Vec<Reference> = Vec::new();
        for sel in self.selection.iter().chain(&self.marked) {
            let Some(r) = Self::reference_of(mv, sel) else { continue };
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }

    /// Whether `tag`/`platform` is among the marked (not the cursor).
    pub fn is_marked(&self, tag: &str, platform: Option<&str>) -> bool {
        self.marked.iter().any(|m| m.tag == tag && m.platform.as_deref() == platform)
    }

    /// Ctrl-click toggles one; Shift-click marks the visible rows from the cursor to it.
    fn mark(&mut self, to: Selection, range: bool) {
        let Some(from) = self.selection.clone() else {
            self.selection = Some(to);
            return;
        };
        if !range {
            if let Some(i) = self.marked.iter().position(|m| *m == to) {
                self.marked.remove(i);
            } else if to != from {
                self.marked.push(to);
            }
            return;
        }
        self.derive();
        let Some(mv) = self.matrix.as_ref() else { return };
        let at = |tag: &str| self.derived.visible.iter().position(|&i| mv.matrix.rows.get(i).is_some_and(|r| r.tag == tag));
        let (Some(a), Some(b)) = (at(&from.tag), at(&to.tag)) else { return };
        let (lo, hi) = (a.min(b), a.max(b));
        // Cells in the cursor's column (a range of one platform), or whole tags.
        let platform = from.platform.clone();
        let picked: Vec<Selection> = self
            .derived
            .visible
            .get(lo..=hi)
            .unwrap_or_default()
            .iter()
            .filter_map(|&i| mv.matrix.rows.get(i))
            .filter(|r| platform.as_ref().is_none_or(|k| r.cells.contains_key(k)))
            .map(|r| Selection { tag: r.tag.clone(), platform: platform.clone() })
            .filter(|s| *s != from)
            .collect();
        self.marked = picked;
    }

    /// Open the composer and add each of `references`.
    fn add_to_draft(&mut self, references: Vec<Reference>) -> Vec<Command> {
        let Some(source) = self.matrix.as_ref().map(|mv| mv.source.clone()) else { return Vec::new() };
        if references.is_empty() {
            self.notice = Some("select a tag or a cell to add (Ctrl- or Shift-click selects several)".into());
            return Vec::new();
        }
        self.composer.open = true;
        let mut cmds = Vec::new();
        for reference in references {
            cmds.extend(self.handle_compose(UiAction::Composer(composer::ComposerAction::Add { source: source.clone(), reference })));
        }
        cmds
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
        if !self.details.is_following() {
            return Vec::new();
        }
        match self.selected_reference() {
            Some(r) if !self.details.shows(&r) => self.inspect(r),
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
    /// Open `r`: a repository (`host/team/app`), or a tag or digest of one, which is then
    /// selected and shown in the details.
    pub fn open_reference(&mut self, r: &str) -> Vec<Command> {
        let last = r.rsplit('/').next().unwrap_or(r);
        if !last.contains(':') && !r.contains('@') {
            return self.handle(UiAction::OpenRepository(r.to_string()));
        }
        match Reference::parse(r) {
            Ok(reference) => {
                let mut cmds = self.handle(UiAction::OpenRepository(reference.repository.to_string()));
                if let Some(tag) = &reference.tag {
                    cmds.extend(self.handle(UiAction::Select { tag: tag.clone(), platform: None }));
                }
                cmds.extend(self.inspect(reference));
                cmds
            }
            Err(e) => {
                self.notice = Some(e.to_string());
                Vec::new()
            }
        }
    }

    pub fn inspect(&mut self, reference: Reference) -> Vec<Command> {
        let Some(source) = self.matrix.as_ref().map(|m| m.source.clone()) else { return Vec::new() };
        let id = self.id();
        self.details.inspect(source, reference, id)
    }

    /// Turn a user action into worker commands.
    pub fn handle(&mut self, action: UiAction) -> Vec<Command> {
        use UiAction as A;
        match action {
            A::Connect(_) | A::SetInsecure(_) | A::LoadMoreRepos | A::OpenRepository(_) | A::OpenLayout(_) | A::SetVerify(_) | A::Refresh => {
                self.handle_source(action)
            }
            A::Cancel => self.cancel(),
            A::Select { .. } | A::Mark { .. } | A::MoveCursor { .. } | A::OpenDetails | A::DetailsBack | A::CloseDetails | A::OpenDigest(_) => {
                self.handle_cursor(action)
            }
            A::ToggleFavourite(_) | A::SetHost(_) | A::ClearNotice | A::ToggleSizes => {
                self.handle_preference(action);
                Vec::new()
            }
            A::DiagnoseSelection => {
                // The tag, as the user would pull it (`team/app:1.2`): the diagnosis works out
                // which of its entries the host takes.
                if let (Some(mv), Some(sel)) = (&self.matrix, &self.selection) {
                    self.diagnose.reference = mv.repository.reference(&sel.tag).to_string();
                }
                Vec::new()
            }
            A::RunDiagnose => self.run_diagnose(),
            A::Compare(a) => self.handle_compare(a),
            A::OpenSignIn | A::CloseSignIn | A::SignIn | A::SignOut => self.handle_sign_in(action),
            A::Coverage(_) | A::Composer(_) | A::AddSelectionToDraft | A::AddToDraft(_) | A::EditSelectedTag => self.handle_compose(action),
        }
    }

    /// Where images are read from: the registry, its repositories, a layout folder.
    fn handle_source(&mut self, action: UiAction) -> Vec<Command> {
        match action {
            // `host/repo[:tag]` typed where a registry is asked for: that repository (and tag).
            UiAction::Connect(host) if host.trim().contains('/') => self.open_reference(host.trim()),
            UiAction::Connect(host) => self.connect_to(&host),
            UiAction::SetInsecure(on) => {
                let Some(registry) = self.registry.clone() else { return Vec::new() };
                if on {
                    self.settings.insecure_registries.insert(registry.name().to_string());
                } else {
                    self.settings.insecure_registries.remove(registry.name());
                }
                self.connect_to(registry.name())
            }
            UiAction::LoadMoreRepos => {
                let Some(registry) = self.registry.clone() else { return Vec::new() };
                let id = self.id();
                self.repos.more(&registry, id).into_iter().collect()
            }
            UiAction::OpenRepository(name) => self.open_repository(&name),
            UiAction::OpenLayout(path) => {
                let id = self.id();
                self.layout_request = Some(id);
                vec![Command::OpenLayout { id, path }]
            }
            UiAction::SetVerify(on) => {
                self.settings.verify_cells = on;
                self.refresh()
            }
            UiAction::Refresh => self.refresh(),
            _ => Vec::new(),
        }
    }

    /// Favourites, the host, the notice: settings and view, no worker.
    fn handle_preference(&mut self, action: UiAction) {
        match action {
            UiAction::ToggleFavourite(name) if !self.settings.favourites.remove(&name) => {
                self.settings.favourites.insert(name);
            }
            UiAction::SetHost(h) => match (HostPreset::find(&h), Platform::parse_complete(&h)) {
                (Some(_), _) | (None, Ok(_)) => self.settings.host = h,
                (None, Err(e)) => self.notice = Some(format!("{e}; or pick a host preset")),
            },
            UiAction::ClearNotice => self.notice = None,
            UiAction::ToggleSizes => self.settings.show_sizes = !self.settings.show_sizes,
            _ => {}
        }
    }

    /// The composer and coverage (each with its own state), and what the matrix hands them.
    fn handle_compose(&mut self, action: UiAction) -> Vec<Command> {
        match action {
            UiAction::Coverage(a) => {
                let mut next = self.next_id;
                let registry = self.registry.clone().filter(|_| self.layout.is_none());
                let mut cmds = self.coverage.handle(a, registry.as_ref(), &mut || {
                    next += 1;
                    next
                });
                self.next_id = next;
                // The chosen host's pick in each repository is checked against its config.
                for c in &mut cmds {
                    if let Command::LoadCoverage { host, .. } = c {
                        *host = Some(self.settings.host.clone());
                    }
                }
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
            UiAction::AddSelectionToDraft => {
                let references = self.selected_references();
                self.add_to_draft(references)
            }
            UiAction::AddToDraft(references) => self.add_to_draft(references),
            UiAction::EditSelectedTag => {
                let tag = self.selection.as_ref().map(|s| s.tag.clone());
                match (tag, &self.matrix) {
                    (Some(tag), Some(mv)) if matches!(mv.source, SourceRef::Registry(_)) => {
                        let r = mv.repository.reference(&tag);
                        self.handle_compose(UiAction::Composer(composer::ComposerAction::EditReference(r)))
                    }
                    _ => {
                        self.notice = Some("select a tag of a registry repository to edit".into());
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    /// Connect to a registry as typed: check it answers and list its repositories.
    fn connect_to(&mut self, host: &str) -> Vec<Command> {
        let registry = match Registry::parse(host) {
            Ok(r) => r,
            Err(e) => {
                self.notice = Some(e.to_string());
                return Vec::new();
            }
        };
        let mut cmds: Vec<Command> = self.connect_request.take().map(|id| Command::Cancel { id }).into_iter().chain(self.repos.cancel()).collect();
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
        let id = self.id();
        cmds.extend(self.repos.start(&registry, id));
        cmds
    }

    /// Read the open matrix again; after the registry went away, check it answers first (the
    /// status dot follows).
    fn refresh(&mut self) -> Vec<Command> {
        let Some(mv) = &self.matrix else { return Vec::new() };
        let (source, repo, title) = (mv.source.clone(), mv.repository.clone(), mv.title.clone());
        let mut cmds = Vec::new();
        if let (Loadable::Failed { .. }, Some(registry)) = (&self.connection, self.registry.clone()) {
            cmds.push(self.connect(registry));
        }
        cmds.extend(self.start_matrix(source, repo, title));
        cmds
    }

    /// Esc: stop whatever runs; with nothing running, close the details panel.
    fn cancel(&mut self) -> Vec<Command> {
        let mut cmds = self.cancel_matrix();
        cmds.extend(self.diagnose.cancel());
        cmds.extend(self.compare.cancel());
        if let Some(id) = self.composer.running() {
            cmds.push(Command::Cancel { id });
        }
        if self.coverage.is_running() {
            cmds.extend(self.coverage.handle(coverage::CoverageAction::Cancel, None, &mut || 0));
        }
        cmds.extend(self.details.cancel());
        if cmds.is_empty() {
            self.details.closed = true;
        }
        cmds
    }

    /// The cursor and the details panel that follows it.
    fn handle_cursor(&mut self, action: UiAction) -> Vec<Command> {
        match action {
            UiAction::Select { tag, platform } => {
                self.marked.clear();
                self.selection = Some(Selection { tag, platform });
                self.follow_selection()
            }
            UiAction::Mark { tag, platform, range } => {
                self.mark(Selection { tag, platform }, range);
                Vec::new()
            }
            UiAction::MoveCursor { rows, cols } => {
                self.derive();
                if let Some(mv) = &self.matrix
                    && let Some(sel) = mv.moved(&self.derived.visible, self.selection.as_ref(), rows, cols)
                {
                    self.selection = Some(sel);
                }
                self.follow_selection()
            }
            UiAction::DetailsBack => match self.details.back.pop() {
                Some(r) => {
                    self.select_digest_of(&r);
                    self.inspect(r)
                }
                None => Vec::new(),
            },
            UiAction::OpenDetails => match self.selected_reference() {
                Some(r) => {
                    self.details.closed = false;
                    self.inspect(r)
                }
                None => Vec::new(),
            },
            UiAction::CloseDetails => {
                self.details.closed = true;
                Vec::new()
            }
            UiAction::OpenDigest(d) => {
                let Some(mv) = &self.matrix else { return Vec::new() };
                // From the compare panel: details take its place (its button brings it back).
                self.compare.open = false;
                self.details.closed = false;
                let r = mv.repository.digest_reference(&d);
                // Where it was followed from, for Back (Alt+Left).
                self.details.remember_for_back(&r);
                // Select the cell or row with that digest when it is on screen.
                self.select_digest_of(&r);
                self.inspect(r)
            }
            _ => Vec::new(),
        }
    }

    fn handle_sign_in(&mut self, action: UiAction) -> Vec<Command> {
        match action {
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
                self.sign_in.close();
                Vec::new()
            }
            UiAction::SignIn => {
                let Some(registry) = self.registry.clone() else { return Vec::new() };
                let id = self.id();
                self.sign_in.submit(registry, id)
            }
            _ => Vec::new(),
        }
    }

    /// What Run in the diagnose panel reads: the reference typed (a bare tag or digest means
    /// the open repository), or the selection.
    fn diagnose_target(&self) -> Result<Reference, String> {
        let typed = self.diagnose.reference.trim().to_string();
        let typed = if typed.is_empty() {
            match self.selected_reference() {
                Some(r) => r.to_string(),
                None => return Err("type a reference to diagnose, or select a tag or cell".into()),
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
        Reference::parse(&full).map_err(|e| e.to_string())
    }

    /// What an action that reads up to `manifests` manifests from `registry` costs of its pull
    /// limit, said before it runs: on Docker Hub (whose pulls are manifest reads), or wherever
    /// the registry has said what is left. `None` where reads are not metered.
    fn pull_cost(&self, registry: &Registry, manifests: usize) -> Option<String> {
        let left = self.pulls_left(registry);
        let reads = crate::model::units::count(manifests, "manifest", "manifests");
        match (registry.is_docker_hub(), left) {
            (_, Some(left)) => Some(format!("reads up to {reads}: {manifests} of your {left}; those already read cost none")),
            (true, None) => Some(format!("reads up to {reads}, each a pull on Docker Hub; those already read cost none")),
            (false, None) => None,
        }
    }

    /// What `registry` last said of its pull limit, in words.
    fn pulls_left(&self, registry: &Registry) -> Option<&String> {
        self.rate_limit.as_ref().filter(|(r, _)| r == registry).map(|(_, l)| l)
    }

    /// Whether reads from `registry` spend a pull limit: Docker Hub's, or one it has said.
    /// Checked first, so the panels that ask every frame count nothing where nothing is metered.
    fn metered(&self, registry: &Registry) -> bool {
        registry.is_docker_hub() || self.pulls_left(registry).is_some()
    }

    /// What Run in the diagnose panel would cost of the pull limit: the index and the image
    /// it picks (a single image: itself). Tags are resolved with HEAD, and configs and layers
    /// are blobs, none of which count.
    pub fn diagnose_cost(&self) -> Option<String> {
        let reference = self.diagnose_target().ok().filter(|r| self.metered(&r.repository.registry))?;
        let single = self.matrix.as_ref().filter(|mv| mv.repository == reference.repository).is_some_and(|mv| match &reference.digest {
            // A digest the matrix shows as a cell is one image.
            Some(d) => mv.matrix.rows.iter().any(|r| r.cells.values().any(|c| &c.digest == d)),
            None => reference.tag.as_deref().and_then(|t| mv.matrix.row(t)).is_some_and(|r| r.kind == crate::model::matrix::RowKind::Image),
        });
        self.pull_cost(&reference.repository.registry, if single { 1 } else { 2 })
    }

    /// What turning Verify on would cost of the pull limit: every tag's manifest and every
    /// cell's (rows read from Docker Hub's API are read again from the manifests).
    pub fn verify_cost(&self) -> Option<String> {
        let mv = self.matrix.as_ref().filter(|mv| self.metered(&mv.repository.registry))?;
        let n = mv.matrix.rows.len() + mv.matrix.rows.iter().map(|r| r.cells.len()).sum::<usize>();
        self.pull_cost(&mv.repository.registry, n)
    }

    /// The compare panel: which two, and asking the worker.
    fn handle_compare(&mut self, action: compare::CompareAction) -> Vec<Command> {
        use compare::CompareAction as C;
        let picked = match action {
            C::Close => return self.compare.close().into_iter().collect(),
            C::Show => {
                self.compare.open = self.compare.sides.is_some();
                return Vec::new();
            }
            C::Files => {
                let id = self.id();
                return self.compare.with_files(id);
            }
            C::Selected => self.compare_selected(),
            C::WithPrevious => self.compare_previous(),
        };
        match (picked, &self.matrix) {
            (Ok((before, after)), Some(mv)) => {
                let source = mv.source.clone();
                let id = self.id();
                self.compare.start(source, before, after, false, id)
            }
            (Err(why), _) => {
                self.notice = Some(why);
                Vec::new()
            }
            (Ok(_), None) => Vec::new(),
        }
    }

    /// Compare two references as typed (a start target), both read from where `after` is (the
    /// open matrix's source when it is that repository).
    pub fn compare_references(&mut self, before: &str, after: &str) -> Vec<Command> {
        let parse = |s: &str| Reference::parse(s.trim()).map_err(|e| format!("{s}: {e}"));
        match (parse(before), parse(after)) {
            (Ok(b), Ok(a)) => {
                let source = match &self.matrix {
                    Some(mv) if mv.repository == a.repository => mv.source.clone(),
                    _ => SourceRef::of(&a.repository.registry),
                };
                let side = |r: Reference| compare::Side { label: r.tag.clone().unwrap_or_else(|| r.to_string()), reference: r };
                let id = self.id();
                self.compare.start(source, side(b), side(a), false, id)
            }
            (Err(e), _) | (_, Err(e)) => {
                self.notice = Some(e);
                Vec::new()
            }
        }
    }

    /// What a selected tag or cell names: the tag, or the cell's image by its digest; `None`
    /// for a tag not in the matrix or an empty cell.
    fn reference_of(mv: &MatrixView, sel: &Selection) -> Option<Reference> {
        let row = mv.matrix.row(&sel.tag)?;
        Some(match &sel.platform {
            Some(k) => mv.repository.digest_reference(&row.cells.get(k)?.digest),
            None => mv.repository.reference(&sel.tag),
        })
    }

    /// One side of a comparison: a selected tag, or a cell by its digest.
    fn compare_side(&self, sel: &Selection) -> Option<compare::Side> {
        let reference = Self::reference_of(self.matrix.as_ref()?, sel)?;
        let label = match &sel.platform {
            Some(k) => format!("{} {k}", sel.tag),
            None => sel.tag.clone(),
        };
        Some(compare::Side { label, reference })
    }

    /// The cursor and one marked tag or cell, older tag first.
    fn compare_selected(&self) -> Result<(compare::Side, compare::Side), String> {
        let mut picked: Vec<&Selection> = self.selection.iter().chain(&self.marked).collect();
        picked.dedup();
        let [a, b] = picked.as_slice() else {
            return Err(format!(
                "Compare takes two tags or cells: select one, Ctrl-click another ({} selected now); or use \"vs previous\" on one tag",
                picked.len()
            ));
        };
        let (mut a, mut b) = (*a, *b);
        if crate::model::matrix::version_order(&a.tag, &b.tag) == std::cmp::Ordering::Greater {
            std::mem::swap(&mut a, &mut b);
        }
        match (self.compare_side(a), self.compare_side(b)) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err("a selected cell is empty: nothing to compare there".into()),
        }
    }

    /// The selected tag and the newest tag older than it (by version) that names an image.
    fn compare_previous(&self) -> Result<(compare::Side, compare::Side), String> {
        let (Some(mv), Some(sel)) = (&self.matrix, &self.selection) else {
            return Err("select a tag first: it is compared with the tag before it in version order".into());
        };
        let key = crate::model::matrix::VersionKey::new(&sel.tag);
        let previous = mv
            .matrix
            .rows
            .iter()
            .filter(|r| r.digest.is_some() && crate::model::matrix::VersionKey::new(&r.tag) < key)
            .max_by(|a, b| crate::model::matrix::version_order(&a.tag, &b.tag))
            .ok_or_else(|| format!("no tag comes before {} in version order", sel.tag))?;
        let tag_only = Selection { tag: sel.tag.clone(), platform: None };
        let before = Selection { tag: previous.tag.clone(), platform: None };
        match (self.compare_side(&before), self.compare_side(&tag_only)) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(format!("{} cannot be read as a tag", sel.tag)),
        }
    }

    fn run_diagnose(&mut self) -> Vec<Command> {
        let reference = match self.diagnose_target() {
            Ok(r) => r,
            Err(e) => {
                self.notice = Some(e);
                return Vec::new();
            }
        };
        let source = match &self.matrix {
            Some(mv) if mv.repository == reference.repository => mv.source.clone(),
            _ => SourceRef::of(&reference.repository.registry),
        };
        let id = self.id();
        self.diagnose.start(source, reference, self.settings.host.clone(), id)
    }

    fn open_repository(&mut self, name: &str) -> Vec<Command> {
        let name = name.trim();
        if let Some(path) = name.strip_prefix("oci:") {
            return self.handle(UiAction::OpenLayout(PathBuf::from(path)));
        }
        // A bare name belongs to the current registry; anything with a host stands alone.
        let full = match &self.registry {
            Some(r) if !crate::model::reference::names_its_host(name) => format!("{}/{name}", r.name()),
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
                self.repos.input = repo.name.clone();
                let title = repo.to_string();
                cmds.extend(self.start_matrix(SourceRef::Registry(repo.registry.clone()), repo, title));
                cmds
            }
        }
    }
}

#[cfg(test)]
mod tests;
