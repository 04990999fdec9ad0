//! The composer's state: a draft index, its target, and the push.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::model::compose::{DraftEntry, IndexDraft, IndexType};
use crate::model::digest::Digest;
use crate::model::platform::Platform;
use crate::model::reference::{Reference, Registry};
use crate::protocol::{Command, Event, RequestId, SourceRef};

use super::Loadable;

/// How an entry's platform is shown for editing: `os/arch[/variant][:os.version]`, or
/// containerd's `os(version+feature…)/arch[/variant]` when it has os.features (both parse back).
/// A platform typed in an entry's field: complete `os/arch[/variant]`, or empty for none.
fn parse_platform_input(text: &str) -> Result<Platform, String> {
    if text.trim().is_empty() {
        return Ok(Platform::default());
    }
    Platform::parse_complete(text).map_err(|e| e.to_string())
}

pub fn editable_platform(p: &Platform) -> String {
    if p.os_features.is_empty() { p.key() } else { p.normalize().format_all() }
}

/// What the target tag holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetState {
    pub target: Reference,
    pub current: Option<Digest>,
    /// The index the tag holds now, as the registry served it (for the diff).
    pub bytes: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    pub target: Reference,
    pub digest: Digest,
    pub previous: Option<Digest>,
    /// The journal entry of the push (what Undo undoes).
    pub journal_id: Option<String>,
    pub undone: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComposerState {
    pub open: bool,
    pub draft: IndexDraft,
    /// The platform text of each entry, as typed.
    pub platform_inputs: Vec<String>,
    pub target_input: String,
    pub add_input: String,
    pub keep_attestations: bool,
    pub annotation_key: String,
    pub annotation_value: String,
    /// Where the next annotation goes: `None` the index, `Some(i)` entry `i`.
    pub annotation_target: Option<usize>,
    pub target: Loadable<TargetState>,
    /// The user confirmed overwriting this digest.
    pub confirmed_overwrite: Option<Option<Digest>>,
    pub push: Loadable<PushResult>,
    pub progress: (u64, u64, String),
    pub error: Option<String>,
    /// The registry the app is connected to: short names typed here resolve against it.
    pub connected: Option<Registry>,
    /// The repository whose matrix is open: a bare tag typed as the target (`3.1`) is its tag.
    pub open_repository: Option<crate::model::reference::Repository>,
    /// *Edit tag* on a non-empty draft waits for the user to confirm replacing it.
    pub confirm_replace: Option<Reference>,
    /// What the loaded draft does, in words (a repair's explanation), until it is cleared.
    pub notes: Vec<String>,
    /// A push was cancelled: the target is read again, so the panel shows what the tag holds
    /// rather than what the push meant to do.
    recheck: bool,
    adds: HashSet<RequestId>,
    target_request: Option<RequestId>,
    push_request: Option<RequestId>,
    file_request: Option<RequestId>,
}

/// What the user did in the composer.
#[derive(Debug, Clone, PartialEq)]
pub enum ComposerAction {
    Open,
    /// Open the fix a diagnosis of the reference proposes, as a draft over that index.
    Repair {
        reference: Reference,
        diagnosis: Box<crate::model::diagnose::Diagnosis>,
    },
    /// Start from an existing index (replaces the draft; asks first if it is not empty).
    EditReference(Reference),
    /// Yes, replace the draft with the index waiting in `confirm_replace`.
    ConfirmReplace,
    /// No, keep the draft.
    KeepDraft,
    /// Empty the draft (entries, annotations, base).
    ClearDraft,
    /// Add the reference typed in `add_input`.
    AddTyped,
    Close,
    Add {
        source: SourceRef,
        reference: Reference,
    },
    Remove(usize),
    /// The platform text of an entry changed.
    PlatformEdited(usize),
    SetType(Option<IndexType>),
    AddAnnotation,
    RemoveAnnotation(String),
    RemoveEntryAnnotation {
        entry: usize,
        key: String,
    },
    CheckTarget,
    ConfirmOverwrite,
    Push,
    Undo,
    Export(PathBuf),
    Import(PathBuf),
}

impl ComposerState {
    /// The running push or undo, to cancel.
    pub fn running(&self) -> Option<RequestId> {
        self.push_request
    }

    pub fn is_busy(&self) -> bool {
        !self.adds.is_empty() || self.push_request.is_some()
    }

    /// A reference typed in one of the composer's fields, resolved against the connected
    /// registry.
    fn parse_reference(&self, text: &str) -> Result<Reference, String> {
        Reference::parse_in(text.trim(), self.connected.as_ref()).map_err(|e| e.to_string())
    }

    pub fn target_reference(&self) -> Result<Reference, String> {
        let text = self.target_input.trim();
        // A bare tag names a tag of the open repository, as in the other fields.
        if let Some(repo) = self.open_repository.as_ref().filter(|_| !text.contains(['/', ':', '@']) && crate::model::reference::valid_tag(text)) {
            return Ok(repo.reference(text));
        }
        let r = self.parse_reference(text)?;
        if r.digest.is_some() {
            return Err("the target must be a tag, not a digest".into());
        }
        if !Reference::names_tag(text) {
            return Err(format!("name the tag to push to, e.g. {}:1.0 (no tag is implied)", r.repository));
        }
        Ok(r)
    }

    /// The preview: exact bytes and their digest.
    pub fn preview(&self) -> (Vec<u8>, Digest) {
        let b = self.draft.to_bytes();
        let d = Digest::sha256(&b);
        (b, d)
    }

    fn sync_inputs(&mut self) {
        self.platform_inputs = self.draft.entries.iter().map(|e| if e.has_platform() { editable_platform(&e.platform) } else { String::new() }).collect();
    }

    /// Nothing in the draft yet (no entries, no annotations).
    pub fn draft_is_empty(&self) -> bool {
        self.draft.entries.is_empty() && self.draft.annotations.is_empty()
    }

    /// An empty draft, with no push result for it.
    fn reset_draft(&mut self) {
        self.draft = IndexDraft::default();
        self.notes.clear();
        self.sync_inputs();
        self.push = Loadable::NotRequested;
        self.confirmed_overwrite = None;
    }

    fn load_base(&mut self, r: Reference, next_id: &mut dyn FnMut() -> RequestId) -> Vec<Command> {
        self.open = true;
        self.reset_draft();
        self.target_input = r.to_string();
        let id = next_id();
        self.file_request = Some(id);
        let mut cmds = vec![Command::DraftBase { id, source: SourceRef::of(r.registry()), reference: r.clone() }];
        cmds.extend(self.handle(ComposerAction::CheckTarget, next_id));
        cmds
    }

    fn add_entries(&mut self, entries: Vec<DraftEntry>) {
        self.draft.entries.extend(entries);
        self.sync_inputs();
        self.push = Loadable::NotRequested;
    }

    /// Platform inputs that are not a complete platform (empty means "no platform").
    pub fn invalid_platforms(&self) -> Vec<usize> {
        self.platform_inputs.iter().enumerate().filter(|(_, s)| parse_platform_input(s).is_err()).map(|(i, _)| i).collect()
    }

    /// Whether the push may proceed: no errors, a target, and an overwrite confirmed when the
    /// tag exists.
    pub fn push_blocker(&self) -> Option<String> {
        if self.target_input.trim().is_empty() {
            return Some("type the tag to push to (Target tag)".into());
        }
        let target = match self.target_reference() {
            Ok(t) => t,
            Err(e) => return Some(format!("target: {e}")),
        };
        if !self.invalid_platforms().is_empty() {
            return Some("fix the platforms marked invalid".into());
        }
        if self.draft.has_errors(Some(&target.repository)) {
            return Some("fix the errors above".into());
        }
        match &self.target {
            Loadable::Ready(t) if t.target == target && t.current.as_ref() == Some(&self.draft.digest()) => {
                Some(format!("{target} already holds this index: nothing to push"))
            }
            Loadable::Ready(t) if t.target == target => match &t.current {
                Some(d) if self.confirmed_overwrite != Some(Some(d.clone())) => Some(format!("{target} exists ({}): confirm the overwrite", d.short())),
                _ => None,
            },
            _ => Some("check the target first".into()),
        }
    }

    pub fn apply(&mut self, event: &Event) -> bool {
        let id = event.id();
        match event {
            Event::DraftEntries { entries, .. } if self.adds.remove(&id) => {
                self.add_entries(entries.clone());
                true
            }
            Event::TargetState { target, current, bytes, .. } if self.target_request == Some(id) => {
                self.target_request = None;
                self.target = Loadable::Ready(TargetState { target: target.clone(), current: current.clone(), bytes: bytes.clone() });
                true
            }
            Event::PushProgress { done, total, what, .. } if self.push_request == Some(id) => {
                self.progress = (*done, *total, what.clone());
                true
            }
            Event::Pushed { target, digest, previous, journal_id, .. } if self.push_request == Some(id) => {
                self.push_request = None;
                self.push = Loadable::Ready(PushResult {
                    target: target.clone(),
                    digest: digest.clone(),
                    previous: previous.clone(),
                    journal_id: journal_id.clone(),
                    undone: false,
                });
                // The tag moved: what it holds now is the pushed index.
                self.target = Loadable::Ready(TargetState { target: target.clone(), current: Some(digest.clone()), bytes: Some(self.draft.to_bytes()) });
                self.confirmed_overwrite = None;
                true
            }
            Event::Repointed { target, digest, bytes, .. } if self.push_request == Some(id) => {
                self.push_request = None;
                if let Loadable::Ready(p) = &mut self.push {
                    p.undone = true;
                }
                self.target = Loadable::Ready(TargetState { target: target.clone(), current: digest.clone(), bytes: bytes.clone() });
                self.confirmed_overwrite = None;
                true
            }
            Event::DraftLoaded { draft, notes, .. } if self.file_request == Some(id) => {
                self.file_request = None;
                self.draft = (**draft).clone();
                self.notes = notes.clone();
                self.sync_inputs();
                true
            }
            Event::DraftSaved { .. } if self.file_request == Some(id) => {
                self.file_request = None;
                true
            }
            Event::Failed { .. } | Event::Cancelled { .. } if self.owns(id) => {
                let error = match event {
                    Event::Failed { error, .. } => error.clone(),
                    _ => "cancelled".to_string(),
                };
                self.adds.remove(&id);
                // Each failure is said once: where the target or the push is shown, or else as
                // the composer's error.
                let mut shown = false;
                if self.target_request == Some(id) {
                    self.target_request = None;
                    self.target = Loadable::Failed { error: error.clone(), previous: None };
                    shown = true;
                }
                if self.push_request == Some(id) {
                    self.push_request = None;
                    self.recheck = matches!(event, Event::Cancelled { .. });
                    let error = if self.recheck { "cancelled before the index was written; the target is read again".to_string() } else { error.clone() };
                    self.push = Loadable::Failed { error, previous: None };
                    shown = true;
                }
                if self.file_request == Some(id) {
                    self.file_request = None;
                }
                if !shown {
                    self.error = Some(error);
                }
                true
            }
            _ => false,
        }
    }

    /// Whether the target must be read again (after a cancelled push); asked once.
    pub fn take_recheck(&mut self) -> bool {
        std::mem::take(&mut self.recheck)
    }

    fn owns(&self, id: RequestId) -> bool {
        self.adds.contains(&id) || self.target_request == Some(id) || self.push_request == Some(id) || self.file_request == Some(id)
    }

    pub fn handle(&mut self, action: ComposerAction, next_id: &mut dyn FnMut() -> RequestId) -> Vec<Command> {
        use ComposerAction as A;
        self.error = None;
        match action {
            A::Open
            | A::Close
            | A::KeepDraft
            | A::ClearDraft
            | A::Remove(_)
            | A::PlatformEdited(_)
            | A::SetType(_)
            | A::AddAnnotation
            | A::RemoveAnnotation(_)
            | A::RemoveEntryAnnotation { .. } => self.edit(action),
            A::CheckTarget | A::ConfirmOverwrite | A::Push | A::Undo => self.handle_push(action, next_id),
            _ => self.handle_sources(action, next_id),
        }
    }

    /// Edits of the draft and the panel: no worker involved.
    fn edit(&mut self, action: ComposerAction) -> Vec<Command> {
        match action {
            ComposerAction::Open => {
                self.open = true;
                Vec::new()
            }
            ComposerAction::Close => {
                self.open = false;
                Vec::new()
            }
            ComposerAction::KeepDraft => {
                self.confirm_replace = None;
                Vec::new()
            }
            ComposerAction::ClearDraft => {
                self.reset_draft();
                Vec::new()
            }
            ComposerAction::Remove(i) => {
                if i < self.draft.entries.len() {
                    self.draft.entries.remove(i);
                    self.sync_inputs();
                }
                Vec::new()
            }
            ComposerAction::PlatformEdited(i) => {
                if let (Some(text), Some(e)) = (self.platform_inputs.get(i), self.draft.entries.get_mut(i))
                    && let Ok(p) = parse_platform_input(text)
                {
                    e.platform = p;
                }
                Vec::new()
            }
            ComposerAction::SetType(t) => {
                self.draft.index_type = t;
                Vec::new()
            }
            ComposerAction::AddAnnotation => {
                let k = self.annotation_key.trim().to_string();
                if k.is_empty() {
                    self.error = Some("an annotation needs a key".into());
                } else {
                    let v = self.annotation_value.clone();
                    match self.annotation_target.and_then(|i| self.draft.entries.get_mut(i)) {
                        Some(e) => {
                            e.annotations.insert(k, v);
                        }
                        None => {
                            self.draft.annotations.insert(k, v);
                        }
                    }
                    self.annotation_key.clear();
                    self.annotation_value.clear();
                }
                Vec::new()
            }
            ComposerAction::RemoveAnnotation(k) => {
                self.draft.annotations.remove(&k);
                Vec::new()
            }
            ComposerAction::RemoveEntryAnnotation { entry, key } => {
                if let Some(e) = self.draft.entries.get_mut(entry) {
                    e.annotations.remove(&key);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The target, the push and its undo.
    fn handle_push(&mut self, action: ComposerAction, next_id: &mut dyn FnMut() -> RequestId) -> Vec<Command> {
        match action {
            ComposerAction::CheckTarget => match self.target_reference() {
                Err(e) => {
                    self.error = Some(e);
                    Vec::new()
                }
                Ok(target) => {
                    let id = next_id();
                    self.target_request = Some(id);
                    self.confirmed_overwrite = None;
                    self.target = Loadable::Pending { previous: None };
                    vec![Command::TargetStatus { id, target }]
                }
            },
            ComposerAction::ConfirmOverwrite => {
                if let Loadable::Ready(t) = &self.target {
                    self.confirmed_overwrite = Some(t.current.clone());
                }
                Vec::new()
            }
            ComposerAction::Push => {
                if let Some(why) = self.push_blocker() {
                    self.error = Some(why);
                    return Vec::new();
                }
                let Ok(target) = self.target_reference() else { return Vec::new() };
                let expect_previous = match &self.target {
                    Loadable::Ready(t) => t.current.clone(),
                    _ => None,
                };
                let id = next_id();
                self.push_request = Some(id);
                self.progress = (0, 0, String::new());
                self.push = Loadable::Pending { previous: None };
                vec![Command::PushDraft { id, target, draft: Box::new(self.draft.clone()), expect_previous }]
            }
            ComposerAction::Undo => {
                let Loadable::Ready(p) = &self.push else { return Vec::new() };
                let Some(entry) = p.journal_id.clone() else {
                    self.error = Some(format!("{} already was {}: the push changed nothing to undo", p.target, p.digest.short()));
                    return Vec::new();
                };
                let id = next_id();
                self.push_request = Some(id);
                vec![Command::Undo { id, entry }]
            }
            _ => Vec::new(),
        }
    }

    /// What goes into the draft: images, a tag to edit, a repair, a file.
    fn handle_sources(&mut self, action: ComposerAction, next_id: &mut dyn FnMut() -> RequestId) -> Vec<Command> {
        match action {
            ComposerAction::Repair { reference, diagnosis } => {
                self.open = true;
                if !self.draft_is_empty() {
                    // Nothing is lost: the user decides what happens to the draft first.
                    self.error = Some("the composer holds a draft: push or Clear it, then Repair again".into());
                    return Vec::new();
                }
                self.reset_draft();
                self.target_input = reference.to_string();
                let id = next_id();
                self.file_request = Some(id);
                let mut cmds = vec![Command::RepairDraft { id, source: SourceRef::of(reference.registry()), reference, diagnosis }];
                cmds.extend(self.handle(ComposerAction::CheckTarget, next_id));
                cmds
            }
            ComposerAction::EditReference(r) => {
                self.open = true;
                if self.draft_is_empty() {
                    self.load_base(r, next_id)
                } else {
                    self.confirm_replace = Some(r);
                    Vec::new()
                }
            }
            ComposerAction::ConfirmReplace => match self.confirm_replace.take() {
                Some(r) => self.load_base(r, next_id),
                None => Vec::new(),
            },
            ComposerAction::AddTyped => match self.parse_reference(&self.add_input) {
                Ok(reference) => {
                    self.add_input.clear();
                    let source = SourceRef::of(reference.registry());
                    self.handle(ComposerAction::Add { source, reference }, next_id)
                }
                Err(e) => {
                    self.error = Some(e);
                    Vec::new()
                }
            },
            ComposerAction::Add { source, reference } => {
                let id = next_id();
                self.adds.insert(id);
                vec![Command::DraftAdd { id, source, reference, keep_attestations: self.keep_attestations }]
            }
            ComposerAction::Export(path) => {
                let id = next_id();
                self.file_request = Some(id);
                vec![Command::SaveDraft { id, path, draft: Box::new(self.draft.clone()) }]
            }
            ComposerAction::Import(path) => {
                let id = next_id();
                self.file_request = Some(id);
                vec![Command::LoadDraft { id, path }]
            }
            _ => Vec::new(),
        }
    }
}
