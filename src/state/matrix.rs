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
    /// The load that started these rows; a refresh keeps it, another repository does not.
    pub epoch: RequestId,
}

/// What an event did to the matrix.
#[derive(Debug, Clone)]
pub enum MatrixUpdate {
    /// Not an answer to the matrix's load: the event, handed back.
    NotMine(Box<Event>),
    Updated,
    /// The registry stopped answering; the matrix is partial for this reason.
    Stopped {
        reason: String,
    },
}

impl MatrixView {
    /// Fold in an answer to the load under way. Takes the event, so rows move in uncopied.
    pub fn apply(&mut self, event: Event) -> MatrixUpdate {
        // A tag read again after a push or an undo: for this repository, whatever load is on.
        if let Event::TagRead { repository, tag, result, .. } = &event
            && *repository == self.repository
        {
            match result {
                Some(r) => self.matrix.push(r.clone()),
                None => self.matrix.retain_rows(|row| row.tag != *tag),
            }
            self.revision += 1;
            return MatrixUpdate::Updated;
        }
        if self.request != Some(event.id()) {
            return MatrixUpdate::NotMine(Box::new(event));
        }
        match event {
            Event::TagsListed { tags, .. } => self.total = tags.len() as u64,
            Event::MatrixNotes { notes, .. } => self.matrix.notes = notes,
            Event::Row { result, .. } => {
                self.matrix.push(result);
                self.revision += 1;
            }
            Event::Progress { done, total, .. } => {
                self.done = done;
                self.total = total;
            }
            Event::MatrixStopped { reason, .. } => {
                self.request = None;
                self.partial = Some(reason.clone());
                return MatrixUpdate::Stopped { reason };
            }
            Event::MatrixDone { .. } | Event::Cancelled { .. } => self.request = None,
            // Shown once, in the matrix, not again as a notice.
            Event::Failed { error, .. } => {
                self.request = None;
                self.error = Some(error);
            }
            other => return MatrixUpdate::NotMine(Box::new(other)),
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
    pub fn moved(&self, visible: &[usize], from: Option<&Selection>, rows: i64, cols: i64) -> Option<Selection> {
        if visible.is_empty() {
            return None;
        }
        let keys = self.matrix.platform_keys();
        let (mut r, mut c) = match from {
            Some(sel) => (
                visible.iter().position(|&i| self.matrix.rows.get(i).is_some_and(|r| r.tag == sel.tag)).unwrap_or(0) as i64,
                sel.platform.as_ref().and_then(|p| keys.iter().position(|k| k == p)).map(|i| i as i64 + 1).unwrap_or(0),
            ),
            None => (-1, 0),
        };
        r = (r + rows).clamp(0, visible.len() as i64 - 1);
        c = (c + cols).clamp(0, keys.len() as i64);
        let tag = visible.get(r as usize).and_then(|&i| self.matrix.rows.get(i))?.tag.clone();
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
/// (rows' revision, tag filter, only-missing platform, version order, title, host, epoch)
pub type DeriveKey = (u64, String, Option<String>, bool, String, String, RequestId);

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
    /// Each shared digest's colour group, numbered as the digests became shared.
    groups: HashMap<Digest, usize>,
    /// Digests seen on one tag so far (the first of a possible group).
    single: HashMap<Digest, String>,
    /// What the derived view covers: rows, columns and replacements it has seen.
    seen: (usize, usize, u64),
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
        self.groups.get(digest).copied()
    }

    /// Derive again for `key`: when only rows were added since (rows streaming in, the filters
    /// unchanged, no new column, no row replaced), the new rows are folded in; otherwise all is
    /// computed afresh.
    pub fn update(&mut self, m: &Matrix, f: &Filters<'_>, key: DeriveKey) {
        let (rows, columns, replaced) = self.seen;
        // Everything but the rows' revision is as it was.
        let (_, filter, missing, by_version, title, host, epoch) = &key;
        let same_view = (&self.key.1, &self.key.2, self.key.3, &self.key.4, &self.key.5, self.key.6) == (filter, missing, *by_version, title, host, *epoch);
        let only_added = same_view && self.key.0 != 0 && m.rows.len() > rows && m.keys().len() == columns && m.replaced() == replaced;
        if only_added {
            self.extend(m, f, rows);
            self.key = key;
            self.generation += 1;
        } else {
            *self = Derived::compute(m, f, key, self.generation + 1);
        }
    }

    /// Fold in `m.rows[from..]`, rows added since the view was derived.
    fn extend(&mut self, m: &Matrix, f: &Filters<'_>, from: usize) {
        let filter = f.tag.trim();
        let globby = filter.contains(['*', '?']);
        let ranked = f.host.as_ref().map(|h| Ranked::new(m, h));
        let mut added = Vec::new();
        for (i, row) in m.rows.iter().enumerate().skip(from) {
            let pick = ranked.as_ref().and_then(|r| r.pick(row));
            let name_ok = filter.is_empty() || if globby { glob_match(filter, &row.tag) } else { row.tag.contains(filter) };
            if name_ok && f.only_missing.is_none_or(|k| Matrix::lacks(row, k)) {
                added.push(i);
                if f.host.is_some() && row.nothing_runs(pick.as_ref().map(|(k, _)| k.as_str())) {
                    self.host_no_match += 1;
                }
            }
            for k in m.keys() {
                if Matrix::lacks(row, k) {
                    *self.missing.entry(k.clone()).or_default() += 1;
                }
            }
            self.picks.push(pick);
            self.add_digest(row);
        }
        self.merge_visible(m, added, f.by_version);
        self.seen = (m.rows.len(), m.keys().len(), m.replaced());
    }

    /// Merge the rows `added` into the sorted `visible` in one pass (inserting one by one
    /// would move the whole list once per row).
    fn merge_visible(&mut self, m: &Matrix, mut added: Vec<usize>, by_version: bool) {
        let tag = |i: usize| m.rows.get(i).map(|r| r.tag.as_str()).unwrap_or_default();
        // Whether row `a` goes before row `b`: newest version first, or by name.
        let before = |a: usize, b: usize| if by_version { VersionKey::new(tag(a)) > VersionKey::new(tag(b)) } else { tag(a) < tag(b) };
        if by_version {
            added.sort_by_cached_key(|&i| std::cmp::Reverse(VersionKey::new(tag(i))));
        } else {
            added.sort_by(|&a, &b| tag(a).cmp(tag(b)));
        }
        let old = std::mem::take(&mut self.visible);
        let mut merged = Vec::with_capacity(old.len() + added.len());
        let (mut o, mut n) = (old.into_iter().peekable(), added.into_iter().peekable());
        loop {
            match (o.peek(), n.peek()) {
                (Some(&a), Some(&b)) => merged.push(if before(b, a) { n.next() } else { o.next() }.unwrap_or(a)),
                (Some(_), None) => merged.extend(o.by_ref()),
                (None, Some(_)) => merged.extend(n.by_ref()),
                (None, None) => break,
            }
        }
        self.visible = merged;
    }

    /// Count `row`'s digest towards the shared groups.
    fn add_digest(&mut self, row: &crate::model::matrix::Row) {
        let Some(d) = &row.digest else { return };
        if let Some(tags) = self.shared.get_mut(d) {
            tags.push(row.tag.clone());
        } else if let Some(first) = self.single.remove(d) {
            self.shared.insert(d.clone(), vec![first, row.tag.clone()]);
            let n = self.groups.len();
            self.groups.insert(d.clone(), n);
        } else {
            self.single.insert(d.clone(), row.tag.clone());
        }
    }

    /// Visible rows, shared digests, missing counts and the host's picks of `m` under `f`.
    pub fn compute(m: &Matrix, f: &Filters<'_>, key: DeriveKey, generation: u64) -> Derived {
        let filter = f.tag.trim();
        let globby = filter.contains(['*', '?']);
        let mut visible: Vec<usize> = m
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let name_ok = filter.is_empty() || if globby { glob_match(filter, &r.tag) } else { r.tag.contains(filter) };
                let missing_ok = f.only_missing.is_none_or(|k| Matrix::lacks(r, k));
                name_ok && missing_ok
            })
            .map(|(i, _)| i)
            .collect();
        if f.by_version {
            // Newest first; keys computed once per row rather than per comparison.
            let keys: Vec<VersionKey<'_>> = m.rows.iter().map(|r| VersionKey::new(&r.tag)).collect();
            visible.sort_by(|&a, &b| keys.get(b).cmp(&keys.get(a)));
        } else {
            visible.sort_by(|&a, &b| m.rows.get(a).map(|r| &r.tag).cmp(&m.rows.get(b).map(|r| &r.tag)));
        }
        let missing = m.keys().iter().map(|k| (k.clone(), m.tags_missing(k).len())).collect();
        let picks: Vec<Option<(String, MatchKind)>> = match &f.host {
            None => vec![None; m.rows.len()],
            Some(host) => {
                let ranked = Ranked::new(m, host);
                m.rows.iter().map(|row| ranked.pick(row)).collect()
            }
        };
        let host_no_match = if f.host.is_some() {
            visible.iter().filter(|&&i| m.rows.get(i).is_some_and(|r| r.nothing_runs(picks.get(i).and_then(|p| p.as_ref()).map(|(k, _)| k.as_str())))).count()
        } else {
            0
        };
        let mut d = Derived {
            key,
            visible,
            shared: BTreeMap::new(),
            missing,
            host_no_match,
            picks,
            generation,
            groups: HashMap::new(),
            single: HashMap::new(),
            seen: (m.rows.len(), m.keys().len(), m.replaced()),
        };
        for row in &m.rows {
            d.add_digest(row);
        }
        d
    }
}

/// Each column's rank for a host by containerd's rules: a row's pick is its best-ranked cell.
struct Ranked<'m> {
    matcher: Matcher,
    ranked: HashMap<&'m str, (usize, &'m Platform)>,
}

impl<'m> Ranked<'m> {
    fn new(m: &'m Matrix, host: &Platform) -> Ranked<'m> {
        let matcher = Matcher::only(host);
        let ranked = m.keys().iter().zip(m.platforms()).filter_map(|(k, p)| matcher.rank(p).map(|r| (k.as_str(), (r, p)))).collect();
        Ranked { matcher, ranked }
    }

    /// The cell the host would pick in `row`, and whether it is exact.
    fn pick(&self, row: &crate::model::matrix::Row) -> Option<(String, MatchKind)> {
        let mut best: Option<(&str, usize, &Platform)> = None;
        for k in row.cells.keys() {
            if let Some(&(r, p)) = self.ranked.get(k.as_str()) {
                let better = match best {
                    None => true,
                    Some((_, br, bp)) => r < br || (r == br && self.matcher.less(p, bp)),
                };
                if better {
                    best = Some((k, r, p));
                }
            }
        }
        best.map(|(k, r, _)| (k.to_string(), if r == 0 { MatchKind::Exact } else { MatchKind::Fallback }))
    }
}
