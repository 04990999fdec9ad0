//! The repositories panel: the registry's catalog, page by page, and the names typed or
//! filtered there.

use crate::model::reference::Registry;
use crate::protocol::{Command, Event, RequestId};

use super::Loadable;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReposState {
    pub list: Loadable<Vec<String>>,
    /// Where the next catalog page starts, when there is one.
    pub next: Option<String>,
    request: Option<RequestId>,
    pub filter: String,
    /// A repository name typed to open.
    pub input: String,
}

impl ReposState {
    /// Fold in a page or failure of this panel's request; `false`: not this panel's.
    pub fn apply(&mut self, event: &Event) -> bool {
        if self.request != Some(event.id()) {
            return false;
        }
        match event {
            Event::ReposPage { repos, next, .. } => {
                self.request = None;
                let mut all = self.list.take_value().unwrap_or_default();
                all.extend(repos.iter().cloned());
                self.list = Loadable::Ready(all);
                self.next = next.clone();
            }
            Event::Failed { error, .. } => {
                self.request = None;
                self.list = Loadable::Failed { error: error.clone(), previous: self.list.take_value() };
            }
            Event::Cancelled { .. } => self.request = None,
            _ => return false,
        }
        true
    }

    /// A fresh list for `registry` (nothing, where it hides its catalog), after stopping a
    /// read under way.
    pub fn start(&mut self, registry: &Registry, id: RequestId) -> Vec<Command> {
        let mut cmds: Vec<Command> = self.cancel().into_iter().collect();
        self.next = None;
        if registry.hides_catalog() {
            self.list = Loadable::NotRequested;
        } else {
            self.request = Some(id);
            self.list = Loadable::Pending { previous: None };
            cmds.push(Command::ListRepos { id, registry: registry.clone(), page: None });
        }
        cmds
    }

    /// The next page, when there is one and none is being read.
    pub fn more(&mut self, registry: &Registry, id: RequestId) -> Option<Command> {
        let next = self.next.clone()?;
        if self.request.is_some() {
            return None;
        }
        self.request = Some(id);
        self.list = Loadable::Pending { previous: self.list.take_value() };
        Some(Command::ListRepos { id, registry: registry.clone(), page: Some(next) })
    }

    pub fn cancel(&mut self) -> Option<Command> {
        self.request.take().map(|id| Command::Cancel { id })
    }

    /// Whether a list failed or was never asked for (worth asking again after a sign-in).
    pub fn wants_retry(&self) -> bool {
        matches!(self.list, Loadable::Failed { .. } | Loadable::NotRequested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_accumulate_one_at_a_time_and_a_hidden_catalog_is_not_asked() {
        let local = Registry::parse("127.0.0.1:5000").unwrap();
        let mut r = ReposState::default();
        let cmds = r.start(&local, 1);
        assert!(matches!(cmds.as_slice(), [Command::ListRepos { id: 1, page: None, .. }]));
        assert!(r.apply(&Event::ReposPage { id: 1, repos: vec!["a".into()], next: Some("a".into()) }));
        assert!(r.more(&local, 2).is_some());
        assert!(r.more(&local, 3).is_none(), "one page at a time");
        assert!(!r.apply(&Event::ReposPage { id: 3, repos: vec!["x".into()], next: None }), "not a request of this panel");
        assert!(r.apply(&Event::ReposPage { id: 2, repos: vec!["b".into()], next: None }));
        assert_eq!(r.list.value().unwrap(), &["a", "b"]);
        assert!(r.more(&local, 4).is_none(), "no next page");
        let hub = Registry::parse("docker.io").unwrap();
        assert!(r.start(&hub, 5).is_empty());
        assert_eq!(r.list, Loadable::NotRequested);
        assert!(r.wants_retry());
    }
}
