//! The coverage view's state: which repositories, which tag policy, the rows as they arrive.

use crate::model::coverage::{Coverage, CoverageRow, TagPolicy};
use crate::model::diagnose::Host;
use crate::model::reference::{Registry, Repository};
use crate::protocol::{Command, Event, RepoSelection, RequestId};

/// What the user did in the coverage view.
#[derive(Debug, Clone, PartialEq)]
pub enum CoverageAction {
    Open,
    Close,
    /// Read the repositories the form names under its tag policy.
    Run,
    Cancel,
    SetMissingFirst(bool),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageState {
    /// The central panel shows coverage instead of the matrix.
    pub open: bool,
    /// A glob over the catalog (`team/*`, empty for all), or repository names separated by
    /// spaces, commas or new lines (the only way where the catalog is hidden).
    pub repos_input: String,
    /// `latest`, `newest`, or a glob over tags.
    pub policy_input: String,
    pub coverage: Option<Coverage>,
    /// The policy the shown rows were read with.
    pub policy: Option<TagPolicy>,
    pub done: usize,
    pub total: usize,
    /// Stopped before every repository was read (cancelled, or the catalog failed midway).
    pub partial: bool,
    pub error: Option<String>,
    pub missing_first: bool,
    request: Option<RequestId>,
    /// Bumped whenever rows change.
    revision: u64,
    order: Vec<usize>,
    order_key: Option<(u64, bool, String)>,
}

impl CoverageState {
    pub fn is_running(&self) -> bool {
        self.request.is_some()
    }

    pub fn running(&self) -> Option<RequestId> {
        self.request
    }

    /// What the repositories field holds: empty for the whole catalog, one glob over it, or
    /// repository names.
    pub fn selection(&self, registry: &Registry) -> Result<RepoSelection, String> {
        let names: Vec<&str> = self.repos_input.split([' ', ',', '\n', '\t']).filter(|s| !s.is_empty()).collect();
        let globs = names.iter().filter(|n| n.contains(['*', '?'])).count();
        if registry.hides_catalog() && (names.is_empty() || globs > 0) {
            return Err(format!("{registry} does not publish its catalog: type the repositories to cover, e.g. `library/nginx library/redis`"));
        }
        match (names.as_slice(), globs) {
            ([], _) => Ok(RepoSelection::Catalog { glob: None }),
            ([glob], 1) => Ok(RepoSelection::Catalog { glob: Some(glob.to_string()) }),
            (_, 0) => {
                let mut repos = Vec::new();
                for n in names {
                    let r = Repository::named_in(registry, n).map_err(|e| format!("`{n}`: {e}"))?;
                    if !repos.contains(&r.name) {
                        repos.push(r.name);
                    }
                }
                Ok(RepoSelection::Named { repos })
            }
            _ => Err("type one glob (`team/*`) or a list of repository names, not both".into()),
        }
    }

    pub fn handle(&mut self, action: CoverageAction, registry: Option<&Registry>, next_id: &mut dyn FnMut() -> RequestId) -> Vec<Command> {
        match action {
            CoverageAction::Open => {
                self.open = true;
                // The first time, a registry whose catalog is public is read at once.
                match registry {
                    Some(r) if self.coverage.is_none() && !self.is_running() && !r.hides_catalog() => self.handle(CoverageAction::Run, Some(r), next_id),
                    _ => Vec::new(),
                }
            }
            CoverageAction::Close => {
                self.open = false;
                Vec::new()
            }
            CoverageAction::SetMissingFirst(on) => {
                self.missing_first = on;
                Vec::new()
            }
            CoverageAction::Cancel => self.cancel(),
            CoverageAction::Run => {
                let Some(registry) = registry else {
                    self.error = Some("connect to a registry first".into());
                    return Vec::new();
                };
                let policy = if self.policy_input.trim().is_empty() { Ok(TagPolicy::Latest) } else { TagPolicy::parse(&self.policy_input) };
                let (policy, repos) = match (policy, self.selection(registry)) {
                    (Ok(p), Ok(r)) => (p, r),
                    (Err(e), _) | (_, Err(e)) => {
                        self.error = Some(e);
                        return Vec::new();
                    }
                };
                let mut cmds = self.cancel();
                let id = next_id();
                self.request = Some(id);
                self.coverage = Some(Coverage::new(registry.name()));
                self.revision += 1;
                self.policy = Some(policy.clone());
                self.done = 0;
                self.total = 0;
                self.partial = false;
                self.error = None;
                cmds.push(Command::LoadCoverage { id, registry: registry.clone(), repos, policy, host: None });
                cmds
            }
        }
    }

    fn cancel(&mut self) -> Vec<Command> {
        match self.request.take() {
            Some(id) => {
                self.partial = true;
                vec![Command::Cancel { id }]
            }
            None => Vec::new(),
        }
    }

    /// Fold an event in; `true` when it was this view's.
    pub fn apply(&mut self, event: &Event) -> bool {
        let Some(id) = self.request else { return false };
        if event.id() != id {
            return false;
        }
        match event {
            Event::CoverageStarted { total, .. } => self.total = *total,
            Event::CoverageRow { row, .. } => {
                self.done += 1;
                if let Some(c) = &mut self.coverage {
                    c.push(CoverageRow::clone(row));
                    self.revision += 1;
                }
            }
            Event::CoverageDone { .. } => self.request = None,
            Event::Failed { error, .. } => {
                self.request = None;
                self.partial = self.done < self.total || self.total == 0;
                self.error = Some(error.clone());
            }
            Event::Cancelled { .. } => {
                self.request = None;
                self.partial = true;
            }
            _ => return false,
        }
        true
    }

    /// Row indices in display order for `host` (kept until the rows, the order or the host
    /// change).
    pub fn order(&mut self, host_key: &str, host: &Host) -> &[usize] {
        let key = (self.revision, self.missing_first, host_key.to_string());
        if self.order_key.as_ref() != Some(&key) {
            self.order = self.coverage.as_ref().map(|c| c.order(self.missing_first, None, host)).unwrap_or_default();
            self.order_key = Some(key);
        }
        &self.order
    }
}
