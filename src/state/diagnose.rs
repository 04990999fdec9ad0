//! The diagnose panel: the reference typed or picked, and its diagnosis for the chosen host.

use crate::model::diagnose::Diagnosis;
use crate::model::reference::Reference;
use crate::protocol::{Command, Event, RequestId, SourceRef};

use super::Loadable;

#[derive(Debug, Clone, PartialEq)]
pub struct DiagnoseState {
    pub reference: String,
    /// Read the layers for the entrypoint binary's real architecture.
    pub deep: bool,
    pub result: Loadable<Box<Diagnosis>>,
    /// Layer bytes read so far.
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

    /// Fold in progress or an answer to this panel's request; `false`: not this panel's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if self.request != Some(event.id()) {
            return false;
        }
        match event {
            Event::DiagnoseProgress { bytes, .. } => self.bytes = *bytes,
            Event::Diagnosed { diagnosis, .. } => {
                self.request = None;
                self.bytes = diagnosis.bytes_read;
                self.result = Loadable::Ready(diagnosis.clone());
            }
            Event::Failed { error, .. } => {
                self.request = None;
                self.result = Loadable::Failed { error: error.clone(), previous: self.result.take_value() };
            }
            Event::Cancelled { .. } => {
                self.request = None;
                self.result = Loadable::Failed { error: "cancelled".into(), previous: self.result.take_value() };
            }
            _ => return false,
        }
        true
    }

    /// Diagnose `reference` from `source` for `host` as request `id`, replacing a run under way.
    pub fn start(&mut self, source: SourceRef, reference: Reference, host: String, id: RequestId) -> Vec<Command> {
        let mut cmds: Vec<Command> = self.cancel().into_iter().collect();
        self.reference = reference.to_string();
        self.request = Some(id);
        self.bytes = 0;
        self.result = Loadable::Pending { previous: self.result.take_value() };
        cmds.push(Command::Diagnose { id, source, reference, host, deep: self.deep });
        cmds
    }

    pub fn cancel(&mut self) -> Option<Command> {
        self.request.take().map(|id| Command::Cancel { id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_run_replaces_the_old_and_a_cancelled_run_says_so() {
        let reference = Reference::parse("127.0.0.1:5000/team/app:1.2").unwrap();
        let source = SourceRef::Registry(reference.repository.registry.clone());
        let mut d = DiagnoseState::default();
        d.start(source.clone(), reference.clone(), "apple-silicon".into(), 1);
        let cmds = d.start(source, reference, "apple-silicon".into(), 2);
        assert!(matches!(cmds.as_slice(), [Command::Cancel { id: 1 }, Command::Diagnose { id: 2, deep: true, .. }]), "{cmds:?}");
        assert_eq!(d.reference, "127.0.0.1:5000/team/app:1.2", "the tag as typed stays");
        assert!(!d.apply(&Event::DiagnoseProgress { id: 1, bytes: 10 }));
        assert!(d.apply(&Event::DiagnoseProgress { id: 2, bytes: 10 }));
        assert_eq!(d.bytes, 10);
        assert!(d.apply(&Event::Cancelled { id: 2 }));
        assert!(matches!(&d.result, Loadable::Failed { error, .. } if error == "cancelled") && !d.is_running());
    }
}
