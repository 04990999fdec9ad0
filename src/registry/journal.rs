//! The push journal: every tag move Archlens makes, written down *before* the move.
//!
//! One JSON line per record in `journal.jsonl` under the app's data dir
//! (`~/.local/share/archlens/`, or `$ARCHLENS_DATA_DIR`). A move is two records: the intent
//! (id, action, target, previous and new digest), synced to disk before the index is written,
//! and then its outcome (`done` after the registry's answer was verified, or `failed` when the
//! tag certainly did not move). An intent without an outcome means the process stopped in
//! between: the tag holds either digest, and `undo` finds out which by asking the registry.
//!
//! Damage never hides other records: a torn or non-UTF-8 line is skipped and counted, and an
//! append after a torn line starts on a fresh line.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::model::digest::Digest;

/// What became of a recorded tag move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Written before the move; no outcome recorded (interrupted, or still running).
    Intent,
    /// The registry took the index and the tag was verified to resolve to it.
    Done,
    /// The move failed; the tag was not moved by it.
    Failed,
    /// The index was written, but read back the tag held another push's index: a concurrent
    /// writer overwrote it (or got there between the last check and the write).
    Overwritten,
}

/// One tag move, with its outcome folded in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalEntry {
    /// Short id, unique within the journal (`archlens undo ID`).
    pub id: String,
    /// Seconds since the Unix epoch (of the intent).
    pub time: u64,
    /// `push` or `undo`.
    pub action: String,
    pub target: String,
    /// What the tag pointed at before; `None`: the tag did not exist.
    pub previous: Option<Digest>,
    /// What the tag points at after; `None`: the tag was deleted.
    pub digest: Option<Digest>,
    /// For an undo: the id of the entry it undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    pub outcome: Outcome,
}

/// One line of the file: an intent (every field) or an outcome (id, time, outcome).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    undoes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
}

/// The journal's records, oldest first, and how many lines could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    pub entries: Vec<JournalEntry>,
    pub skipped: usize,
    /// Entry id → its place in `entries`.
    by_id: std::collections::HashMap<String, usize>,
    /// Entry id → the place of the first entry that undid it (not failed).
    undone: std::collections::HashMap<String, usize>,
}

impl Contents {
    /// Index the entries (after every outcome line is folded in): lookups are then constant
    /// time, so listing a journal of any length is linear.
    fn indexed(mut self) -> Contents {
        self.by_id = self.entries.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
        self.undone.clear();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(u) = &e.undoes
                && e.outcome != Outcome::Failed
            {
                self.undone.entry(u.clone()).or_insert(i);
            }
        }
        self
    }

    pub fn find(&self, id: &str) -> Option<&JournalEntry> {
        self.by_id.get(id).and_then(|&i| self.entries.get(i))
    }

    /// The entry that undid `id`, if any did (its intent at least was recorded and not failed).
    pub fn undone_by(&self, id: &str) -> Option<&JournalEntry> {
        self.undone.get(id).and_then(|&i| self.entries.get(i))
    }

    /// Moves of `entry`'s tag recorded after it that still stand: every later entry for the
    /// same target that did not fail, less pushes undone later and the undos that undid them.
    pub fn later_moves(&self, entry: &JournalEntry) -> Vec<&JournalEntry> {
        let Some(&at) = self.by_id.get(&entry.id) else { return Vec::new() };
        let later: Vec<&JournalEntry> = self
            .entries
            .iter()
            .skip(at + 1)
            .filter(|x| x.target == entry.target && x.outcome != Outcome::Failed && x.undoes.as_deref() != Some(entry.id.as_str()))
            .collect();
        let cancelled: std::collections::HashSet<&str> = later
            .iter()
            .filter_map(|x| x.undoes.as_deref().map(|u| (u, x.id.as_str())))
            .filter(|(u, _)| later.iter().any(|y| y.id == *u))
            .flat_map(|(u, x)| [u, x])
            .collect();
        later.into_iter().filter(|x| !cancelled.contains(x.id.as_str())).collect()
    }

    /// The warning to show when lines were skipped.
    pub fn warning(&self, path: &Path) -> Option<String> {
        (self.skipped > 0).then(|| {
            format!(
                "{} damaged line{} in {} skipped (torn or not UTF-8); the other entries are intact",
                self.skipped,
                if self.skipped == 1 { "" } else { "s" },
                path.display()
            )
        })
    }
}

/// A journal file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    path: PathBuf,
}

/// Where the default journal lives.
pub fn path() -> Option<PathBuf> {
    data_dir().map(|d| d.join("journal.jsonl"))
}

/// Archlens's data folder: `$ARCHLENS_DATA_DIR`, else `~/.local/share/archlens` (the platform's
/// equivalent elsewhere). The journal and the app's log live here.
pub fn data_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("ARCHLENS_DATA_DIR")
        && !d.is_empty()
    {
        return Some(PathBuf::from(d));
    }
    directories::ProjectDirs::from("dev", "archlens", "archlens").map(|d| d.data_dir().to_path_buf())
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Journal {
    pub fn at(path: impl Into<PathBuf>) -> Journal {
        Journal { path: path.into() }
    }

    /// The default journal, or an error saying why there is none.
    pub fn default_location() -> std::io::Result<Journal> {
        path().map(Journal::at).ok_or_else(|| std::io::Error::other("no data directory for the journal (set ARCHLENS_DATA_DIR)"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record the intent to move `target` from `previous` to `digest`, durably, and return its
    /// id. Call before the write that moves the tag.
    pub fn begin(&self, action: &str, target: &str, previous: Option<&Digest>, digest: Option<&Digest>, undoes: Option<&str>) -> std::io::Result<String> {
        self.append_with(|contents| {
            let next = contents.entries.iter().filter_map(|e| e.id.parse::<u64>().ok()).max().unwrap_or(0) + 1;
            let id = next.to_string();
            let line = Line {
                id: Some(id.clone()),
                time: now(),
                action: Some(action.to_string()),
                target: Some(target.to_string()),
                previous: previous.cloned(),
                digest: digest.cloned(),
                undoes: undoes.map(str::to_string),
                outcome: Some(Outcome::Intent),
            };
            (line, id)
        })
    }

    /// Record the outcome of the move `id`.
    pub fn finish(&self, id: &str, outcome: Outcome) -> std::io::Result<()> {
        self.append_with(|_| {
            (Line { id: Some(id.to_string()), time: now(), action: None, target: None, previous: None, digest: None, undoes: None, outcome: Some(outcome) }, ())
        })
    }

    /// Append one line under an exclusive lock (so two processes never take the same id), on a
    /// fresh line even after a torn one, and sync it.
    fn append_with<T>(&self, make: impl FnOnce(&Contents) -> (Line, T)) -> std::io::Result<T> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).read(true).append(true).open(&self.path)?;
        f.lock()?;
        let mut bytes = Vec::new();
        f.seek(SeekFrom::Start(0))?;
        f.read_to_end(&mut bytes)?;
        let contents = parse(&bytes);
        let (line, out) = make(&contents);
        let mut text = Vec::new();
        if bytes.last().is_some_and(|b| *b != b'\n') {
            text.push(b'\n');
        }
        text.extend(serde_json::to_vec(&line).map_err(std::io::Error::other)?);
        text.push(b'\n');
        f.write_all(&text)?;
        f.sync_data()?;
        f.unlock()?;
        Ok(out)
    }

    /// Every entry, oldest first; damaged lines are skipped and counted. No journal yet is an
    /// empty one; a journal that cannot be read is an error, never taken for an empty one.
    pub fn read(&self) -> std::io::Result<Contents> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(parse(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contents::default()),
            Err(e) => Err(std::io::Error::new(e.kind(), format!("the journal {} cannot be read: {e}", self.path.display()))),
        }
    }
}

/// Fold the lines into entries. Lines from before outcomes were recorded (no id) count as done.
fn parse(bytes: &[u8]) -> Contents {
    let mut out = Contents::default();
    // Where each id's latest entry is, as lines are folded in.
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Some(line) = std::str::from_utf8(raw).ok().and_then(|s| serde_json::from_str::<Line>(s).ok()) else {
            out.skipped += 1;
            continue;
        };
        match (line.action, line.target) {
            (Some(action), Some(target)) => {
                let id = line.id.unwrap_or_else(|| format!("L{}", n + 1));
                at.insert(id.clone(), out.entries.len());
                out.entries.push(JournalEntry {
                    id,
                    time: line.time,
                    action,
                    target,
                    previous: line.previous,
                    digest: line.digest,
                    undoes: line.undoes,
                    outcome: line.outcome.unwrap_or(Outcome::Done),
                });
            }
            _ => match (line.id, line.outcome) {
                (Some(id), Some(outcome)) => {
                    if let Some(e) = at.get(&id).and_then(|&i| out.entries.get_mut(i)) {
                        e.outcome = outcome;
                    } else {
                        out.skipped += 1;
                    }
                }
                _ => out.skipped += 1,
            },
        }
    }
    out.indexed()
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time.
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", rem / 3600, (rem / 60) % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_795_398_000), "2026-11-23 01:40:00 UTC");
    }

    fn d(s: &str) -> Digest {
        Digest::sha256(s.as_bytes())
    }

    #[test]
    fn intents_outcomes_and_ids() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path().join("j.jsonl"));
        let a = j.begin("push", "r/a:1", None, Some(&d("a")), None).unwrap();
        let b = j.begin("push", "r/a:1", Some(&d("a")), Some(&d("b")), None).unwrap();
        j.finish(&a, Outcome::Done).unwrap();
        assert_ne!(a, b);
        let c = j.read().unwrap();
        assert_eq!(c.skipped, 0);
        assert_eq!(c.entries.len(), 2);
        assert_eq!(c.find(&a).unwrap().outcome, Outcome::Done);
        assert_eq!(c.find(&b).unwrap().outcome, Outcome::Intent, "no outcome: interrupted");
        let u = j.begin("undo", "r/a:1", Some(&d("b")), Some(&d("a")), Some(&b)).unwrap();
        assert_eq!(j.read().unwrap().undone_by(&b).unwrap().id, u);
    }

    #[test]
    fn damage_is_skipped_and_never_swallows_the_next_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.jsonl");
        let j = Journal::at(&p);
        let first = j.begin("push", "r/a:1", None, Some(&d("a")), None).unwrap();
        j.finish(&first, Outcome::Done).unwrap();
        // A non-UTF-8 line, then a torn line with no newline (a kill mid-write).
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"\xff\xfe garbage\n{\"id\":\"9\",\"time\":1,\"action\":\"pu").unwrap();
        drop(f);
        let c = j.read().unwrap();
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.skipped, 2);
        assert!(c.warning(&p).unwrap().contains("2 damaged lines"));
        let next = j.begin("push", "r/a:2", None, Some(&d("b")), None).unwrap();
        let c = j.read().unwrap();
        assert_eq!(c.entries.len(), 2, "the entry after a torn line is read: {c:?}");
        assert_eq!(c.entries[1].id, next);
        assert_eq!(c.entries[1].target, "r/a:2");
    }

    #[test]
    fn lines_from_older_journals_read_as_done() {
        let c = parse(br#"{"time":5,"action":"push","target":"r/a:1","previous":null,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}"#);
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.entries[0].outcome, Outcome::Done);
        assert_eq!(c.entries[0].id, "L1");
    }
}
