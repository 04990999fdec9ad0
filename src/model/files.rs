//! Two images' files compared from the layers they do not share.
//!
//! Layers both images have at the same place from the bottom (the shared base) give both sides
//! the same files, so only the layers above it (each side's "tail") are read. Each tail is
//! applied over the unread base as a runtime applies layers (whiteouts and opaque directories
//! hide what is below, for the layers below only; a non-directory hides a directory's
//! contents), and the paths either tail touches are compared: kind, permission bits, size, link
//! target and content hash. A path only one tail touches is compared with the other side's
//! version in the base, which was not read: such a change says so (`base_unread`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::rootfs::clean;

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// A device, FIFO or socket.
    Other,
}

/// A path's facts as compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub kind: FileKind,
    /// Permission bits (`0o7777` of the tar mode).
    pub mode: u32,
    /// Bytes, for a regular file.
    pub size: u64,
    /// A symlink's or hard link's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `sha256:…` of a regular file's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One entry of a layer, in archive order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ListEntry {
    Put {
        path: String,
        meta: FileMeta,
    },
    /// `.wh.NAME`: `path` and all below it are gone from the layers below.
    Whiteout {
        path: String,
    },
    /// `.wh..wh..opq`: what the layers below hold in `dir` is hidden (`""` is the root).
    Opaque {
        dir: String,
    },
}

/// What one layer holds, read to its end and verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The layer's digest.
    pub layer: String,
    pub entries: Vec<ListEntry>,
}

impl Listing {
    /// The entry for a tar member at `raw_path` (as written in the archive).
    pub fn push(&mut self, raw_path: &str, meta: FileMeta) {
        let path = clean(raw_path);
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n),
            None => (String::new(), path.as_str()),
        };
        let entry = match name.strip_prefix(".wh.") {
            Some(".wh..opq") => ListEntry::Opaque { dir },
            Some(gone) => ListEntry::Whiteout { path: if dir.is_empty() { gone.to_string() } else { format!("{dir}/{gone}") } },
            None if path.is_empty() => return,
            None => ListEntry::Put { path, meta },
        };
        self.entries.push(entry);
    }
}

/// How a path differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One path that differs. `None` on a side: absent there (or, with `base_unread`, the shared
/// base's version, which was not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: ChangeKind,
    pub before: Option<FileMeta>,
    pub after: Option<FileMeta>,
    /// Only one side's own layers touch this path; the other side has whatever the shared
    /// layers hold there, which were not read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub base_unread: bool,
}

impl FileMeta {
    /// In a few words: `file 0644 1.2 kB`, `symlink → target`.
    pub fn describe(&self) -> String {
        use super::units::{human_bytes, printable};
        let link = || printable(self.link.as_deref().unwrap_or(""));
        match self.kind {
            FileKind::File => format!("file {:04o} {}", self.mode, human_bytes(self.size)),
            FileKind::Dir => format!("dir {:04o}", self.mode),
            FileKind::Symlink => format!("symlink → {}", link()),
            FileKind::Hardlink => format!("hard link → {}", link()),
            FileKind::Other => format!("special {:04o}", self.mode),
        }
    }
}

impl FileChange {
    /// One line: `+ /path (file 0755 2 kB)`, `~ /path: file 0644 1 kB → file 0600 1 kB`, with
    /// `, content` when only the content differs. `unread` is appended where the other side is
    /// the unread base.
    pub fn line(&self, unread: &str) -> String {
        let path = super::units::printable(&self.path);
        let unread = if self.base_unread { unread } else { "" };
        match (self.change, &self.before, &self.after) {
            (ChangeKind::Added, _, Some(a)) => format!("+ /{path} ({}){unread}", a.describe()),
            (ChangeKind::Removed, Some(b), _) => format!("- /{path} ({}){unread}", b.describe()),
            (ChangeKind::Changed, Some(b), Some(a)) => {
                let content = if b.kind == a.kind && b.size == a.size && b.mode == a.mode && b.link == a.link { ", content" } else { "" };
                format!("~ /{path}: {} → {}{content}", b.describe(), a.describe())
            }
            (ChangeKind::Added, _, None) => format!("+ /{path}{unread}"),
            (ChangeKind::Removed, None, _) => format!("- /{path}{unread}"),
            (ChangeKind::Changed, _, _) => format!("~ /{path}"),
        }
    }
}

/// What a side's own layers make of a path.
#[derive(Debug, Clone, PartialEq)]
enum Seen<'a> {
    /// These layers set it (`None`: they removed it).
    Known(Option<&'a FileMeta>),
    /// Untouched: the shared base's version.
    Base,
}

/// A tail of layers applied over an unread base.
#[derive(Debug, Default)]
struct Overlay {
    state: BTreeMap<String, Option<FileMeta>>,
    /// Paths below which (and at which) the base is hidden.
    hidden: BTreeSet<String>,
}

fn below(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

impl Overlay {
    fn forget_below(&mut self, dir: &str) {
        self.state.retain(|p, _| !below(p, dir));
    }

    /// Apply one layer: its whiteouts and opaque markers act on the layers below it (whatever
    /// their place in the archive), then its entries are set.
    fn apply(&mut self, layer: &Listing) {
        for e in &layer.entries {
            match e {
                ListEntry::Whiteout { path } => {
                    self.forget_below(path);
                    self.state.insert(path.clone(), None);
                    self.hidden.insert(path.clone());
                }
                ListEntry::Opaque { dir } => {
                    self.forget_below(dir);
                    self.hidden.insert(dir.clone());
                }
                ListEntry::Put { .. } => {}
            }
        }
        for e in &layer.entries {
            if let ListEntry::Put { path, meta } = e {
                if meta.kind != FileKind::Dir {
                    // A non-directory hides whatever was below it.
                    self.forget_below(path);
                    self.hidden.insert(path.clone());
                }
                self.state.insert(path.clone(), Some(meta.clone()));
            }
        }
    }

    fn seen(&self, path: &str) -> Seen<'_> {
        if let Some(v) = self.state.get(path) {
            return Seen::Known(v.as_ref());
        }
        // Hidden by an ancestor (or the root) made opaque, removed or replaced.
        let mut at = path;
        loop {
            at = match at.rsplit_once('/') {
                Some((d, _)) => d,
                None if at.is_empty() => return Seen::Base,
                None => "",
            };
            if self.hidden.contains(at) {
                return Seen::Known(None);
            }
            if at.is_empty() {
                return Seen::Base;
            }
        }
    }
}

/// How many layers from the bottom the two images share, in the same places.
pub fn shared_base(before: &[String], after: &[String]) -> usize {
    before.iter().zip(after).take_while(|(a, b)| a == b).count()
}

/// Compare two tails (each oldest first) applied over the same unread base.
pub fn compare(before: &[&Listing], after: &[&Listing]) -> Vec<FileChange> {
    let overlay = |tail: &[&Listing]| {
        let mut o = Overlay::default();
        for l in tail {
            o.apply(l);
        }
        o
    };
    let (b, a) = (overlay(before), overlay(after));
    let paths: BTreeSet<&String> = b.state.keys().chain(a.state.keys()).collect();
    let mut out = Vec::new();
    for path in paths {
        let (sb, sa) = (b.seen(path), a.seen(path));
        let change = |change, before: Option<&FileMeta>, after: Option<&FileMeta>, base_unread| FileChange {
            path: path.clone(),
            change,
            before: before.cloned(),
            after: after.cloned(),
            base_unread,
        };
        let found = match (sb, sa) {
            (Seen::Known(x), Seen::Known(y)) => match (x, y) {
                (None, None) => None,
                (Some(x), None) => Some(change(ChangeKind::Removed, Some(x), None, false)),
                (None, Some(y)) => Some(change(ChangeKind::Added, None, Some(y), false)),
                (Some(x), Some(y)) if x != y => Some(change(ChangeKind::Changed, Some(x), Some(y), false)),
                _ => None,
            },
            // After keeps the base's version; before's own layers replaced or removed it.
            (Seen::Known(Some(x)), Seen::Base) => Some(change(ChangeKind::Removed, Some(x), None, true)),
            (Seen::Known(None), Seen::Base) => Some(change(ChangeKind::Added, None, None, true)),
            (Seen::Base, Seen::Known(Some(y))) => Some(change(ChangeKind::Added, None, Some(y), true)),
            (Seen::Base, Seen::Known(None)) => Some(change(ChangeKind::Removed, None, None, true)),
            (Seen::Base, Seen::Base) => None,
        };
        out.extend(found);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, content: &str) -> FileMeta {
        FileMeta { kind: FileKind::File, mode: 0o644, size, link: None, sha256: Some(content.into()) }
    }

    fn dir() -> FileMeta {
        FileMeta { kind: FileKind::Dir, mode: 0o755, size: 0, link: None, sha256: None }
    }

    fn layer(entries: &[(&str, Option<FileMeta>)]) -> Listing {
        let mut l = Listing::default();
        for (p, m) in entries {
            l.push(p, m.clone().unwrap_or_else(|| file(0, "")));
        }
        l
    }

    fn summary(changes: &[FileChange]) -> Vec<(String, ChangeKind, bool)> {
        changes.iter().map(|c| (c.path.clone(), c.change, c.base_unread)).collect()
    }

    #[test]
    fn tails_compare_path_by_path_and_say_where_the_base_was_not_read() {
        let before = layer(&[("app/", Some(dir())), ("app/main", Some(file(10, "a"))), ("app/old.txt", Some(file(1, "o"))), ("etc/conf", Some(file(3, "c")))]);
        let after = layer(&[("./app/", Some(dir())), ("app/main", Some(file(12, "b"))), ("app/new.txt", Some(file(1, "n"))), ("etc/conf", Some(file(3, "c")))]);
        let got = summary(&compare(&[&before], &[&after]));
        assert_eq!(
            got,
            [
                ("app/main".to_string(), ChangeKind::Changed, false),
                // Only one tail touches these: the other side has the base's version, unread.
                ("app/new.txt".to_string(), ChangeKind::Added, true),
                ("app/old.txt".to_string(), ChangeKind::Removed, true),
            ],
            "the same directory and the same file are no change"
        );
    }

    #[test]
    fn whiteouts_and_opaque_directories_act_on_the_layers_below_only() {
        let lower = layer(&[("srv/a", Some(file(1, "a"))), ("srv/b", Some(file(1, "b"))), ("tmp/x", Some(file(1, "x")))]);
        // The opaque marker comes after the directory's new entry in the archive: it still
        // hides only what the lower layers had there.
        let upper = layer(&[("srv/c", Some(file(1, "c"))), ("srv/.wh..wh..opq", None), ("tmp/.wh.x", None)]);
        let after = layer(&[("srv/a", Some(file(1, "a"))), ("srv/b", Some(file(1, "b"))), ("tmp/x", Some(file(1, "x")))]);
        let got = summary(&compare(&[&lower, &upper], &[&after]));
        assert_eq!(
            got,
            [
                ("srv/a".to_string(), ChangeKind::Added, false),
                ("srv/b".to_string(), ChangeKind::Added, false),
                // after's own layer does not touch srv/c: after has the base's, unread.
                ("srv/c".to_string(), ChangeKind::Removed, true),
                ("tmp/x".to_string(), ChangeKind::Added, false),
            ]
        );
    }

    #[test]
    fn a_whiteout_over_the_base_and_a_file_over_a_directory() {
        // before removes a base file; after leaves the base alone.
        let before = layer(&[("usr/share/doc/.wh.README", None), ("opt/tool", Some(file(5, "t")))]);
        let after = layer(&[("opt/tool/", Some(dir())), ("opt/tool/bin", Some(file(9, "b")))]);
        let got = compare(&[&before], &[&after]);
        assert_eq!(
            summary(&got),
            [
                // A file in before where after has a directory: the file's kind changed, and
                // what after has inside it is not in before (the file hides the base there).
                ("opt/tool".to_string(), ChangeKind::Changed, false),
                ("opt/tool/bin".to_string(), ChangeKind::Added, false),
                ("usr/share/doc/README".to_string(), ChangeKind::Added, true),
            ]
        );
        assert_eq!(got.get(2).and_then(|c| c.after.as_ref()), None, "the base's README was not read");
    }

    #[test]
    fn mode_link_and_content_each_make_a_change() {
        let link = |t: &str| FileMeta { kind: FileKind::Symlink, mode: 0o777, size: 0, link: Some(t.into()), sha256: None };
        let exec = FileMeta { mode: 0o755, ..file(4, "same") };
        let before = layer(&[("bin/sh", Some(link("dash"))), ("bin/run", Some(file(4, "same"))), ("bin/data", Some(file(4, "x")))]);
        let after = layer(&[("bin/sh", Some(link("bash"))), ("bin/run", Some(exec)), ("bin/data", Some(file(4, "y")))]);
        assert_eq!(compare(&[&before], &[&after]).len(), 3);
        assert_eq!(shared_base(&["a".into(), "b".into(), "c".into()], &["a".into(), "b".into(), "d".into(), "e".into()]), 2);
    }
}
