//! The open matrix: its rows as they arrive, the load's progress, the cursor, and what is
//! derived from the rows and filters (visible rows, shared digests, the host's picks).

use std::collections::{BTreeMap, HashMap};

use crate::model::digest::Digest;
use crate::model::matrix::{Matrix, VersionKey, glob_match};
use crate::model::platform::{MatchKind, Matcher, Platform};
use crate::model::reference::Repository;
use crate::protocol::{Command, Event, RequestId, SourceRef};

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

/// What an event did to the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixUpdate {
    /// Not an answer to the matrix's load.
    NotMine,
    Updated,
    /// The registry stopped answering; the matrix is partial for this reason.
    Stopped {
        reason: String,
    },
}

impl MatrixView {
    /// Fold in an answer to the load under way.
    pub fn apply(&mut self, event: &Event) -> MatrixUpdate {
        if self.request != Some(event.id()) {
            return MatrixUpdate::NotMine;
        }
        match event {
            Event::TagsListed { tags, .. } => self.total = tags.len() as u64,
            Event::Row { result, .. } => {
                self.matrix.push(result.clone());
                self.revision += 1;
            }
            Event::Progress { done, total, .. } => {
                self.done = *done;
                self.total = *total;
            }
            Event::MatrixStopped { reason, .. } => {
                self.request = None;
                self.partial = Some(reason.clone());
                return MatrixUpdate::Stopped { reason: reason.clone() };
            }
            Event::MatrixDone { .. } | Event::Cancelled { .. } => self.request = None,
            // Shown once, in the matrix, not again as a notice.
            Event::Failed { error, .. } => {
                self.request = None;
                self.error = Some(error.clone());
            }
            _ => return MatrixUpdate::NotMine,
        }
        MatrixUpdate::Updated
    }

    /// Stop the load; what was read stays, marked partial.
    pub fn cancel(&mut self) -> Option<Command> {
        let id = self.request.take()?;
        if self.done < self.total || self.total == 0 {
            self.partial = Some(format!("cancelled after {} of {} tags: the matrix is partial", self.done, self.total));
        }
        Some(Command::Cancel { id })
    }

    /// The selection moved by `rows` and `cols` over the visible rows (column 0 is the tag).
    // `visible` is not empty and holds row indices; `r` is clamped to its range.
    #[allow(clippy::indexing_slicing)]
    pub fn moved(&self, visible: &[usize], from: Option<&Selection>, rows: i64, cols: i64) -> Option<Selection> {
        if visible.is_empty() {
            return None;
        }
        let keys = self.matrix.platform_keys();
        let (mut r, mut c) = match from {
            Some(sel) => (
                visible.iter().position(|&i| self.matrix.rows[i].tag == sel.tag).unwrap_or(0) as i64,
                sel.platform.as_ref().and_then(|p| keys.iter().position(|k| k == p)).map(|i| i as i64 + 1).unwrap_or(0),
            ),
            None => (-1, 0),
        };
        r = (r + rows).clamp(0, visible.len() as i64 - 1);
        c = (c + cols).clamp(0, keys.len() as i64);
        let tag = self.matrix.rows[visible[r as usize]].tag.clone();
        let platform = if c == 0 { None } else { keys.get(c as usize - 1).cloned() };
        Some(Selection { tag, platform })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub tag: String,
    pub platform: Option<String>,
}

/// What the derived view depends on: when none of it changes, nothing is recomputed.
pub type DeriveKey = (u64, String, Option<String>, bool, String, String);

/// Derived from the matrix and filters; recomputed only when they change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    pub(super) key: DeriveKey,
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

/// The filters a derived view is computed under.
pub struct Filters<'a> {
    pub tag: &'a str,
    pub only_missing: Option<&'a String>,
    pub by_version: bool,
    pub host: Option<Platform>,
}

impl Derived {
    /// The colour group of a digest two or more tags share: its place among all shared digests
    /// of the matrix, so it does not change with scrolling or filtering.
    pub fn shared_group(&self, digest: &Digest) -> Option<usize> {
        self.shared.keys().position(|g| g == digest)
    }

    /// Visible rows, shared digests, missing counts and the host's picks of `m` under `f`.
    // `visible` holds indices from `0..m.rows.len()`, and `keys` and `picks` have one entry
    // per row, so every index is in range.
    #[allow(clippy::indexing_slicing)]
    pub fn compute(m: &Matrix, f: &Filters<'_>, key: DeriveKey, generation: u64) -> Derived {
        let filter = f.tag.trim();
        let globby = filter.contains(['*', '?']);
        let mut visible: Vec<usize> = (0..m.rows.len())
            .filter(|&i| {
                let r = &m.rows[i];
                let name_ok = filter.is_empty() || if globby { glob_match(filter, &r.tag) } else { r.tag.contains(filter) };
                let missing_ok = f.only_missing.is_none_or(|k| Matrix::lacks(r, k));
                name_ok && missing_ok
            })
            .collect();
        if f.by_version {
            // Newest first; keys computed once per row rather than per comparison.
            let keys: Vec<VersionKey<'_>> = m.rows.iter().map(|r| VersionKey::new(&r.tag)).collect();
            visible.sort_by(|&a, &b| keys[b].cmp(&keys[a]));
        } else {
            visible.sort_by(|&a, &b| m.rows[a].tag.cmp(&m.rows[b].tag));
        }
        let missing = m.keys().iter().map(|k| (k.clone(), m.tags_missing(k).len())).collect();
        let picks = match &f.host {
            None => vec![None; m.rows.len()],
            Some(host) => host_picks(m, host),
        };
        let host_no_match = if f.host.is_some() { visible.iter().filter(|&&i| m.rows[i].is_runnable_kind() && picks[i].is_none()).count() } else { 0 };
        Derived { key, visible, shared: m.shared_digests(), missing, host_no_match, picks, generation }
    }
}

/// Per row, the cell `host` would pick by containerd's rules, and whether it is exact.
fn host_picks(m: &Matrix, host: &Platform) -> Vec<Option<(String, MatchKind)>> {
    // Rank each column once; a row's pick is its best-ranked cell.
    let matcher = Matcher::only(host);
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
