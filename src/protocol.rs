//! The protocol between the app and its worker: the [`Command`]s the UI sends and the
//! [`Event`]s it gets back, each tagged with a [`RequestId`]. Plain data over `model` types: no
//! tokio, no I/O, so the state and UI layers can speak it without knowing how it is served.

use std::path::PathBuf;

use crate::model::compose::{DraftEntry, IndexDraft};
use crate::model::diagnose::Diagnosis;
use crate::model::digest::Digest;
use crate::model::manifest::{Descriptor, ImageConfig, ManifestKind};
use crate::model::matrix::TagResult;
use crate::model::reference::{Reference, Registry, Repository};

pub type RequestId = u64;

/// The request id of settings writes (fire and forget; a failure becomes a notice).
pub const SETTINGS_REQUEST: RequestId = 0;
/// The id of [`Event::Waiting`]: the transport waiting out a registry's rate limit, for
/// whichever requests are in flight (no request the app made has this id).
pub const RATE_LIMIT_WAIT: RequestId = u64::MAX;

/// Where a repository lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceRef {
    Registry(Registry),
    /// An OCI image-layout folder.
    Layout(PathBuf),
}

impl SourceRef {
    /// Where images of `registry` are read: its `oci:DIR` folder, or the registry.
    pub fn of(registry: &Registry) -> SourceRef {
        match registry.layout_path() {
            Some(dir) => SourceRef::Layout(dir.into()),
            None => SourceRef::Registry(registry.clone()),
        }
    }

    /// The registry this names (a folder as `oci:DIR`), as the session takes it.
    pub fn registry(&self) -> Registry {
        match self {
            SourceRef::Layout(dir) => Registry::layout_dir(&dir.to_string_lossy()),
            SourceRef::Registry(r) => r.clone(),
        }
    }
}

/// The repositories a coverage run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoSelection {
    /// The catalog, or the names in it matching a glob.
    Catalog { glob: Option<String> },
    /// Repositories named by the user (where the catalog is hidden).
    Named { repos: Vec<String> },
}

#[derive(Debug, Clone)]
pub enum Command {
    /// Check the registry answers and whether credentials are stored for it.
    /// `insecure`: skip TLS verification for this registry (the user's explicit choice).
    Connect {
        id: RequestId,
        registry: Registry,
        insecure: bool,
    },
    /// Sign in with a typed login; `remember` keeps it in the OS keychain.
    SignIn {
        id: RequestId,
        registry: Registry,
        username: String,
        password: String,
        remember: bool,
    },
    /// Forget a typed login (and its keychain entry); stored credentials files still apply.
    SignOut {
        id: RequestId,
        registry: Registry,
    },
    /// One catalog page; `page` is the `next` URL of the previous one.
    ListRepos {
        id: RequestId,
        registry: Registry,
        page: Option<String>,
    },
    /// Open a layout folder: its tags.
    OpenLayout {
        id: RequestId,
        path: PathBuf,
    },
    /// List the tags (all pages), then fill the matrix row by row.
    /// `verify`: check each cell's config against its index entry and, for the entry `host`
    /// would run, its entrypoint binary.
    LoadMatrix {
        id: RequestId,
        source: SourceRef,
        repository: Repository,
        verify: bool,
        host: String,
    },
    /// Read one tag of the open matrix again (after a push or an undo moved it); answered by
    /// `TagRead`.
    ReadTag {
        id: RequestId,
        source: SourceRef,
        repository: Repository,
        tag: String,
    },
    /// Coverage: each repository's tag under `policy`, read like a matrix row; answered by
    /// `CoverageStarted`, a `CoverageRow` per repository, then `CoverageDone`.
    LoadCoverage {
        id: RequestId,
        registry: Registry,
        repos: RepoSelection,
        policy: crate::model::coverage::TagPolicy,
        /// The host whose pick in each repository is checked against its config.
        host: Option<String>,
    },
    /// The fix a diagnosis of `reference` proposes, as a draft (answered by `DraftLoaded`).
    RepairDraft {
        id: RequestId,
        source: SourceRef,
        reference: Reference,
        diagnosis: Box<Diagnosis>,
    },
    /// Details of one manifest.
    Inspect {
        id: RequestId,
        source: SourceRef,
        reference: Reference,
    },
    /// Read a reference into draft entries (an image, or every entry of an index).
    DraftAdd {
        id: RequestId,
        source: SourceRef,
        reference: Reference,
        keep_attestations: bool,
    },
    /// Read an index as the base of a new draft (edit a tag): answered by `DraftLoaded`.
    DraftBase {
        id: RequestId,
        source: SourceRef,
        reference: Reference,
    },
    /// What a target tag points at now, and that index's bytes.
    TargetStatus {
        id: RequestId,
        target: Reference,
    },
    /// Push a draft; `expect_previous` is the tag's digest when the user confirmed.
    PushDraft {
        id: RequestId,
        target: Reference,
        draft: Box<IndexDraft>,
        expect_previous: Option<Digest>,
    },
    /// Undo the journal entry `entry` (re-point its tag, or delete a tag it created), if the
    /// tag still holds what that entry made it.
    Undo {
        id: RequestId,
        entry: String,
    },
    SaveDraft {
        id: RequestId,
        path: PathBuf,
        draft: Box<IndexDraft>,
    },
    /// Write the app's settings (recents, favourites, host …).
    SaveSettings {
        id: RequestId,
        settings: Box<crate::settings::Settings>,
    },
    LoadDraft {
        id: RequestId,
        path: PathBuf,
    },
    /// Diagnose a reference for a host (a preset id or a platform).
    Diagnose {
        id: RequestId,
        source: SourceRef,
        reference: Reference,
        host: String,
        deep: bool,
    },
    /// Compare two tags or images of one source per platform (`archlens diff`); with `files`,
    /// their files too.
    Compare {
        id: RequestId,
        source: SourceRef,
        before: Reference,
        after: Reference,
        files: bool,
    },
    Cancel {
        id: RequestId,
    },
}

/// Everything the details panel shows about one manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub reference: Reference,
    pub digest: Digest,
    pub media_type: String,
    pub kind: ManifestKind,
    pub size: usize,
    /// The manifest pretty-printed for reading; the digest is over the original bytes.
    pub pretty: String,
    pub entries: Vec<(Descriptor, Option<u64>)>,
    pub layers: Vec<Descriptor>,
    pub config: Option<(Digest, ImageConfig)>,
    pub compressed_size: Option<u64>,
}

#[derive(Debug, Clone)]
pub enum Event {
    Connected {
        id: RequestId,
        registry: Registry,
        signed_in: bool,
    },
    /// The login worked; `kept` says where it is kept (or why only for this session).
    SignedIn {
        id: RequestId,
        registry: Registry,
        username: String,
        kept: String,
    },
    SignedOut {
        id: RequestId,
        registry: Registry,
    },
    ReposPage {
        id: RequestId,
        repos: Vec<String>,
        next: Option<String>,
    },
    LayoutOpened {
        id: RequestId,
        path: PathBuf,
        name: String,
    },
    TagsListed {
        id: RequestId,
        tags: Vec<String>,
    },
    /// Where the matrix's rows come from, in words (Docker Hub's API, its age, a fall-back).
    MatrixNotes {
        id: RequestId,
        notes: Vec<String>,
    },
    Row {
        id: RequestId,
        result: TagResult,
    },
    /// One tag read again: its row now, or `None` when the tag is gone (an undo removed it).
    TagRead {
        id: RequestId,
        repository: Repository,
        tag: String,
        result: Option<TagResult>,
    },
    Progress {
        id: RequestId,
        done: u64,
        total: u64,
    },
    MatrixDone {
        id: RequestId,
    },
    /// The registry stopped answering midway: the rows sent are all there will be.
    MatrixStopped {
        id: RequestId,
        reason: String,
    },
    /// The repositories a coverage run will read.
    CoverageStarted {
        id: RequestId,
        total: usize,
    },
    CoverageRow {
        id: RequestId,
        row: Box<crate::model::coverage::CoverageRow>,
    },
    CoverageDone {
        id: RequestId,
    },
    /// Requests are waiting out a rate limit (`id` is [`RATE_LIMIT_WAIT`]: not one request).
    Waiting {
        id: RequestId,
        message: String,
    },
    /// The registry's pull limit left (Docker Hub's `ratelimit-remaining`), as last sent.
    RateLimit {
        id: RequestId,
        registry: Registry,
        remaining: String,
    },
    Inspected {
        id: RequestId,
        details: Box<Details>,
    },
    DraftEntries {
        id: RequestId,
        entries: Vec<DraftEntry>,
    },
    TargetState {
        id: RequestId,
        target: Reference,
        current: Option<Digest>,
        bytes: Option<Vec<u8>>,
    },
    PushProgress {
        id: RequestId,
        done: u64,
        total: u64,
        what: String,
    },
    Pushed {
        id: RequestId,
        target: Reference,
        digest: Digest,
        previous: Option<Digest>,
        journal_id: Option<String>,
    },
    /// An undo: the tag now holds `digest` (`None`: deleted), whose bytes are `bytes`.
    Repointed {
        id: RequestId,
        target: Reference,
        digest: Option<Digest>,
        bytes: Option<Vec<u8>>,
    },
    DraftSaved {
        id: RequestId,
        path: PathBuf,
    },
    DraftLoaded {
        id: RequestId,
        draft: Box<IndexDraft>,
        /// What the draft does, in words (a repair's explanation); shown before any push.
        notes: Vec<String>,
    },
    /// Layer bytes read so far by a running diagnosis.
    DiagnoseProgress {
        id: RequestId,
        bytes: u64,
    },
    Diagnosed {
        id: RequestId,
        diagnosis: Box<Diagnosis>,
    },
    Compared {
        id: RequestId,
        diff: Box<crate::model::diff::Diff>,
    },
    Failed {
        id: RequestId,
        error: String,
    },
    Cancelled {
        id: RequestId,
    },
}

impl Event {
    pub fn id(&self) -> RequestId {
        match self {
            Event::Connected { id, .. }
            | Event::SignedIn { id, .. }
            | Event::SignedOut { id, .. }
            | Event::ReposPage { id, .. }
            | Event::LayoutOpened { id, .. }
            | Event::TagsListed { id, .. }
            | Event::MatrixNotes { id, .. }
            | Event::Row { id, .. }
            | Event::TagRead { id, .. }
            | Event::Progress { id, .. }
            | Event::MatrixDone { id }
            | Event::MatrixStopped { id, .. }
            | Event::CoverageDone { id }
            | Event::CoverageStarted { id, .. }
            | Event::CoverageRow { id, .. }
            | Event::RateLimit { id, .. }
            | Event::Waiting { id, .. }
            | Event::Inspected { id, .. }
            | Event::DraftEntries { id, .. }
            | Event::TargetState { id, .. }
            | Event::PushProgress { id, .. }
            | Event::Pushed { id, .. }
            | Event::Repointed { id, .. }
            | Event::DraftSaved { id, .. }
            | Event::DraftLoaded { id, .. }
            | Event::DiagnoseProgress { id, .. }
            | Event::Diagnosed { id, .. }
            | Event::Compared { id, .. }
            | Event::Failed { id, .. }
            | Event::Cancelled { id } => *id,
        }
    }
}

impl Command {
    /// The registry a command reads or writes (for what its answers say of that registry's
    /// limits); `None` for commands of files alone.
    pub fn registry(&self) -> Option<Registry> {
        match self {
            Command::Connect { registry, .. }
            | Command::SignIn { registry, .. }
            | Command::SignOut { registry, .. }
            | Command::LoadCoverage { registry, .. }
            | Command::ListRepos { registry, .. } => Some(registry.clone()),
            Command::ReadTag { source, .. }
            | Command::LoadMatrix { source, .. }
            | Command::Inspect { source, .. }
            | Command::RepairDraft { source, .. }
            | Command::Diagnose { source, .. }
            | Command::Compare { source, .. }
            | Command::DraftAdd { source, .. }
            | Command::DraftBase { source, .. } => Some(source.registry()),
            Command::TargetStatus { target, .. } | Command::PushDraft { target, .. } => Some(target.repository.registry.clone()),
            Command::Undo { .. }
            | Command::SaveDraft { .. }
            | Command::LoadDraft { .. }
            | Command::OpenLayout { .. }
            | Command::SaveSettings { .. }
            | Command::Cancel { .. } => None,
        }
    }

    /// The request this command is, or (`Cancel`) stops.
    pub fn id(&self) -> RequestId {
        match self {
            Command::Connect { id, .. }
            | Command::SignIn { id, .. }
            | Command::SignOut { id, .. }
            | Command::ListRepos { id, .. }
            | Command::OpenLayout { id, .. }
            | Command::LoadMatrix { id, .. }
            | Command::LoadCoverage { id, .. }
            | Command::ReadTag { id, .. }
            | Command::Inspect { id, .. }
            | Command::Diagnose { id, .. }
            | Command::Compare { id, .. }
            | Command::RepairDraft { id, .. }
            | Command::DraftAdd { id, .. }
            | Command::TargetStatus { id, .. }
            | Command::PushDraft { id, .. }
            | Command::Undo { id, .. }
            | Command::DraftBase { id, .. }
            | Command::SaveDraft { id, .. }
            | Command::SaveSettings { id, .. }
            | Command::LoadDraft { id, .. }
            | Command::Cancel { id } => *id,
        }
    }
}
