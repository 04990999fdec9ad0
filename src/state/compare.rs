//! The compare panel: two tags or two cells of the open matrix compared per platform (layers,
//! config key by key, annotations, and the files on demand), the same as `archlens diff`.

use crate::model::diff::Diff;
use crate::model::reference::Reference;
use crate::protocol::{Command, Event, RequestId, SourceRef};

use super::Loadable;

/// What the user asks of the compare panel.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareAction {
    /// The two selected tags or cells (the cursor and one Ctrl-clicked), older first.
    Selected,
    /// The selected tag and the tag before it in version order.
    WithPrevious,
    /// The same two again, with their files (reads the layers they do not share).
    Files,
    /// Show the comparison again (after a digest in it was opened in details).
    Show,
    Close,
}

/// One side: what the user picked, as shown, and as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// `1.2`, or `1.2 linux/arm64` for a cell.
    pub label: String,
    pub reference: Reference,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompareState {
    pub open: bool,
    pub sides: Option<(Side, Side)>,
    /// The request under way or answered included the files.
    pub files: bool,
    pub result: Loadable<Box<Diff>>,
    source: Option<SourceRef>,
    request: Option<RequestId>,
}

impl CompareState {
    pub fn is_running(&self) -> bool {
        self.request.is_some()
    }

    /// Compare `before` with `after` from `source` as request `id`, replacing a run under way.
    pub fn start(&mut self, source: SourceRef, before: Side, after: Side, files: bool, id: RequestId) -> Vec<Command> {
        let mut cmds: Vec<Command> = self.cancel().into_iter().collect();
        cmds.push(Command::Compare { id, source: source.clone(), before: before.reference.clone(), after: after.reference.clone(), files });
        let same = self.sides.as_ref() == Some(&(before.clone(), after.clone()));
        // Comparing the same two again (with files) keeps what is shown until the answer comes.
        let previous = if same { self.result.take_value() } else { None };
        self.result = Loadable::Pending { previous };
        self.sides = Some((before, after));
        self.source = Some(source);
        self.files = files;
        self.request = Some(id);
        self.open = true;
        cmds
    }

    /// The same two again, with files.
    pub fn with_files(&mut self, id: RequestId) -> Vec<Command> {
        match (self.source.clone(), self.sides.clone()) {
            (Some(source), Some((before, after))) => self.start(source, before, after, true, id),
            _ => Vec::new(),
        }
    }

    pub fn cancel(&mut self) -> Option<Command> {
        self.request.take().map(|id| Command::Cancel { id })
    }

    pub fn close(&mut self) -> Option<Command> {
        self.open = false;
        self.cancel()
    }

    /// Fold in an answer to this panel's request; `false`: not this panel's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if self.request != Some(event.id()) {
            return false;
        }
        match event {
            Event::Compared { diff, .. } => self.result = Loadable::Ready(diff.clone()),
            Event::Failed { error, .. } => self.result = Loadable::Failed { error: error.clone(), previous: self.result.take_value() },
            Event::Cancelled { .. } => self.result = Loadable::Failed { error: "cancelled".into(), previous: self.result.take_value() },
            _ => return false,
        }
        self.request = None;
        true
    }
}
