//! The details panel: what it shows or is reading, whether the user closed it, and the trail
//! of followed digests Back returns along.

use crate::model::reference::Reference;
use crate::protocol::{Command, Details, Event, RequestId, SourceRef};

use super::Loadable;

/// How many followed digests Back remembers.
pub const MAX_BACK: usize = 50;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailsState {
    pub shown: Loadable<Box<Details>>,
    /// Closed with its button, or Esc with nothing to cancel; it opens again with the next
    /// Show / Enter.
    pub closed: bool,
    request: Option<RequestId>,
    /// What the panel shows or is reading.
    shown_for: Option<Reference>,
    /// Details shown before each followed digest, newest last (Back, Alt+Left).
    pub back: Vec<Reference>,
}

impl DetailsState {
    /// Fold in an answer to this panel's request; `false`: not this panel's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if self.request != Some(event.id()) {
            return false;
        }
        match event {
            Event::Inspected { details, .. } => {
                self.request = None;
                self.shown = Loadable::Ready(details.clone());
            }
            Event::Failed { error, .. } => {
                self.request = None;
                self.shown = Loadable::Failed { error: error.clone(), previous: self.shown.take_value() };
            }
            Event::Cancelled { .. } => {
                self.request = None;
                self.shown = Loadable::Failed { error: "cancelled".into(), previous: self.shown.take_value() };
            }
            _ => return false,
        }
        true
    }

    /// Read `reference` from `source` as request `id`, replacing a read under way.
    pub fn inspect(&mut self, source: SourceRef, reference: Reference, id: RequestId) -> Vec<Command> {
        let mut cmds: Vec<Command> = self.request.take().map(|old| Command::Cancel { id: old }).into_iter().collect();
        self.request = Some(id);
        self.shown_for = Some(reference.clone());
        self.shown = Loadable::Pending { previous: self.shown.take_value() };
        cmds.push(Command::Inspect { id, source, reference });
        cmds
    }

    /// Stop a read under way, keeping what was shown before it.
    pub fn cancel(&mut self) -> Option<Command> {
        let id = self.request.take()?;
        self.shown = match self.shown.take_value() {
            Some(p) => Loadable::Ready(p),
            None => Loadable::NotRequested,
        };
        Some(Command::Cancel { id })
    }

    /// The panel is open and has been asked for something: it follows the selection.
    pub fn is_following(&self) -> bool {
        !self.closed && !matches!(self.shown, Loadable::NotRequested)
    }

    /// Whether `r` is what the panel shows or reads.
    pub fn shows(&self, r: &Reference) -> bool {
        self.shown_for.as_ref() == Some(r)
    }

    /// Remember what is shown before following a digest to `to` (the trail is bounded).
    pub fn remember_for_back(&mut self, to: &Reference) {
        if let Some(shown) = self.shown_for.clone().filter(|s| s != to) {
            self.back.push(shown);
            if self.back.len() > MAX_BACK {
                self.back.remove(0);
            }
        }
    }

    /// Another repository: nothing of the last one is shown.
    pub fn clear(&mut self) {
        self.shown = Loadable::NotRequested;
        self.shown_for = None;
        self.back.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(tag: &str) -> Reference {
        Reference::parse(&format!("127.0.0.1:5000/team/app:{tag}")).unwrap()
    }

    #[test]
    fn only_the_latest_read_is_answered_and_cancel_keeps_what_was_shown() {
        let mut d = DetailsState::default();
        let src = SourceRef::Registry(r("1").repository.registry.clone());
        d.inspect(src.clone(), r("1"), 1);
        let cmds = d.inspect(src, r("2"), 2);
        assert!(matches!(cmds.as_slice(), [Command::Cancel { id: 1 }, Command::Inspect { id: 2, .. }]), "{cmds:?}");
        assert!(!d.apply(&Event::Failed { id: 1, error: "late".into() }), "an answer to the replaced read is not this panel's");
        assert!(d.shown.is_pending() && d.shows(&r("2")));
        assert!(matches!(d.cancel(), Some(Command::Cancel { id: 2 })));
        assert_eq!(d.shown, Loadable::NotRequested, "nothing was shown before: nothing is");
        assert!(!d.apply(&Event::Failed { id: 2, error: "after cancel".into() }));
    }

    #[test]
    fn the_back_trail_is_bounded_and_skips_the_same_reference() {
        let mut d = DetailsState::default();
        let src = SourceRef::Registry(r("1").repository.registry.clone());
        for i in 0..(MAX_BACK + 20) {
            d.inspect(src.clone(), r(&i.to_string()), i as u64 + 1);
            d.remember_for_back(&r(&(i + 1).to_string()));
        }
        assert_eq!(d.back.len(), MAX_BACK);
        assert_eq!(d.back.last(), Some(&r(&(MAX_BACK + 19).to_string())));
        let before = d.back.len();
        d.remember_for_back(&r(&(MAX_BACK + 19).to_string()));
        assert_eq!(d.back.len(), before, "following to what is shown adds no step");
        d.clear();
        assert!(d.back.is_empty() && !d.is_following());
    }
}
