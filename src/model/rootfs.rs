//! An image's root filesystem as a container runtime assembles it from the layers (the
//! image-spec's layer rules, as containerd applies them: whiteouts, opaque directories, a
//! non-directory hiding everything below it, hard links to the file as it was when the layer
//! was applied), and the kernel's path walk over it (symlinks in any component, absolute and
//! relative, `..`, at most 40 links). Layers are added newest first as they are read; a
//! question the layers read so far cannot answer says which read it needs.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Linux's `PATH_MAX`: no path the kernel walks is longer.
const PATH_MAX: usize = 4096;
/// Linux's `MAXSYMLINKS`: the walk fails with ELOOP past this many links.
const MAX_SYMLINKS: usize = 40;

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A regular file: its permission bits, size and, when kept, its first bytes.
    File {
        mode: u32,
        size: u64,
        head: Option<Arc<[u8]>>,
    },
    Dir,
    Symlink {
        target: String,
    },
    /// A hard link to a file that is not earlier in the same layer: the file at `target` as
    /// the layers below this one hold it.
    HardLink {
        target: String,
    },
    /// A device, FIFO or socket.
    Other,
}

/// What one layer's tar stream holds.
#[derive(Debug, Default, Clone)]
pub struct LayerTree {
    entries: HashMap<String, Node>,
    whiteouts: HashSet<String>,
    /// Directories whose lower contents are hidden (`.wh..wh..opq`); `""` is the root.
    opaque: HashSet<String>,
    /// Bytes of names and kept heads: the reader bounds it.
    pub bytes: usize,
    /// Read to its end: a path it does not mention is not in it.
    pub complete: bool,
    /// Entries with a path longer than `PATH_MAX`, not indexed.
    pub skipped: usize,
}

/// A clean path: no leading slash, no `.` or empty components, `..` applied.
pub fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The proper ancestors of a clean path, nearest last: `a/b/c` → `a`, `a/b`.
fn ancestors(p: &str) -> impl Iterator<Item = &str> {
    p.match_indices('/').map(move |(i, _)| p.get(..i).unwrap_or(""))
}

impl LayerTree {
    /// Record one tar entry at `raw_path` (as written in the archive).
    pub fn add(&mut self, raw_path: &str, node: Node) {
        // No path the kernel can walk is this long: such an entry cannot be started or be on
        // the way to a program, and keeping it would let names grow memory without bound.
        if raw_path.len() >= PATH_MAX {
            self.skipped += 1;
            return;
        }
        let path = clean(raw_path);
        self.bytes += path.len() + 32;
        let name = path.rsplit('/').next().unwrap_or("");
        let dir = parent(&path).to_string();
        self.implicit_dirs(&path);
        if let Some(deleted) = name.strip_prefix(".wh.") {
            if deleted == ".wh..opq" {
                self.opaque.insert(dir);
            } else {
                let gone = if dir.is_empty() { deleted.to_string() } else { format!("{dir}/{deleted}") };
                self.whiteouts.insert(gone);
            }
            return;
        }
        let node = match node {
            // A hard link names a file earlier in this archive, or one the lower layers hold.
            Node::HardLink { target } => {
                let target = clean(&target);
                match self.entries.get(&target) {
                    Some(n @ (Node::File { .. } | Node::HardLink { .. })) => n.clone(),
                    _ => Node::HardLink { target },
                }
            }
            Node::File { head: Some(h), mode, size } => {
                self.bytes += h.len();
                Node::File { head: Some(h), mode, size }
            }
            n => n,
        };
        if path.is_empty() {
            return;
        }
        self.entries.insert(path, node);
    }

    /// Parent directories of an entry exist in its layer even when the archive has no entry
    /// for them.
    fn implicit_dirs(&mut self, path: &str) {
        for a in ancestors(path) {
            if a.is_empty() {
                continue;
            }
            if !self.entries.contains_key(a) {
                self.bytes += a.len() + 32;
                self.entries.insert(a.to_string(), Node::Dir);
            }
        }
    }

    /// Replace the kept head of the file at `path` (read again for it).
    pub fn set_head(&mut self, path: &str, head: Arc<[u8]>) {
        if let Some(Node::File { head: h, .. }) = self.entries.get_mut(path) {
            self.bytes += head.len();
            *h = Some(head);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What this layer says of `path`: `Some(Some(node))` it has it, `Some(None)` it hides it
    /// from the layers below, `None` it says nothing (yet, when it is not complete).
    pub fn says(&self, path: &str) -> Option<Option<&Node>> {
        if let Some(n) = self.entries.get(path) {
            return Some(Some(n));
        }
        if self.whiteouts.contains(path) || self.opaque.contains("") {
            return Some(None);
        }
        for a in ancestors(path) {
            if self.whiteouts.contains(a) || self.opaque.contains(a) {
                return Some(None);
            }
            if matches!(self.entries.get(a), Some(n) if *n != Node::Dir) {
                return Some(None);
            }
        }
        None
    }
}

/// Something the layers read so far cannot tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Read layer `n` (newest first) on, until it says something of `path` or ends.
    Layer { n: usize, path: String },
    /// Read layer `n` again to keep the first bytes of `path`.
    Head { n: usize, path: String },
}

/// Why a walk failed, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkError {
    /// ENOENT at this path.
    NotFound { path: String },
    /// ENOTDIR: a component that must be a directory is not.
    NotDir { path: String },
    /// ELOOP: more than 40 symbolic links.
    Loop { path: String },
    /// ENAMETOOLONG.
    TooLong,
}

impl WalkError {
    pub fn errno(&self) -> &'static str {
        match self {
            WalkError::NotFound { .. } => "no such file or directory",
            WalkError::NotDir { .. } => "not a directory",
            WalkError::Loop { .. } => "too many levels of symbolic links",
            WalkError::TooLong => "file name too long",
        }
    }

    pub fn path(&self) -> &str {
        match self {
            WalkError::NotFound { path } | WalkError::NotDir { path } | WalkError::Loop { path } => path,
            WalkError::TooLong => "",
        }
    }
}

/// Where a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The real path, absolute.
    pub path: String,
    pub node: Node,
    /// The layer (newest first) that holds the node.
    pub layer: usize,
    /// Symbolic links followed on the way, as `link -> target`.
    pub links: Vec<String>,
}

/// The merged root filesystem, built up newest layer first.
#[derive(Debug, Clone)]
pub struct Rootfs {
    layers: Vec<LayerTree>,
}

impl Rootfs {
    /// A filesystem of `total` layers, none read yet.
    pub fn new(total: usize) -> Rootfs {
        Rootfs { layers: vec![LayerTree::default(); total] }
    }

    pub fn layer(&self, n: usize) -> Option<&LayerTree> {
        self.layers.get(n)
    }

    pub fn layer_mut(&mut self, n: usize) -> Option<&mut LayerTree> {
        self.layers.get_mut(n)
    }

    pub fn bytes(&self) -> usize {
        self.layers.iter().map(|l| l.bytes).sum()
    }

    /// The node at the clean, real path `path` from layer `from` down.
    fn lookup_from(&self, from: usize, path: &str, depth: usize) -> Result<Option<(usize, Node)>, Need> {
        if path.is_empty() {
            return Ok(Some((0, Node::Dir)));
        }
        for (n, layer) in self.layers.iter().enumerate().skip(from) {
            match layer.says(path) {
                Some(Some(Node::HardLink { target })) if depth < MAX_SYMLINKS => return self.lookup_from(n + 1, target, depth + 1),
                Some(Some(node)) => return Ok(Some((n, node.clone()))),
                Some(None) => return Ok(None),
                None if !layer.complete => return Err(Need::Layer { n, path: path.to_string() }),
                None => {}
            }
        }
        Ok(None)
    }

    /// Walk `path` as the kernel does, from `cwd` when it is relative, following symbolic
    /// links in every component and, when `follow_last`, in the last one too.
    pub fn walk(&self, path: &str, cwd: &str, follow_last: bool) -> Result<Result<Resolved, WalkError>, Need> {
        if path.len() >= PATH_MAX {
            return Ok(Err(WalkError::TooLong));
        }
        let full = if path.starts_with('/') { path.to_string() } else { format!("{cwd}/{path}") };
        let mut pending: std::collections::VecDeque<String> = full.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut links = Vec::new();
        let mut found = (0usize, Node::Dir);
        while let Some(c) = pending.pop_front() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur.pop();
                    found = (0, Node::Dir);
                    continue;
                }
                _ => {}
            }
            let here = if cur.is_empty() { c.clone() } else { format!("{}/{c}", cur.join("/")) };
            let last = pending.iter().all(|p| p == ".");
            match self.lookup_from(0, &here, 0)? {
                None => return Ok(Err(WalkError::NotFound { path: format!("/{here}") })),
                Some((_, Node::Symlink { target })) if !last || follow_last => {
                    links.push(format!("/{here} -> {target}"));
                    if links.len() > MAX_SYMLINKS {
                        return Ok(Err(WalkError::Loop { path: format!("/{here}") }));
                    }
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    for t in target.split('/').filter(|t| !t.is_empty()).rev() {
                        pending.push_front(t.to_string());
                    }
                    found = (0, Node::Dir);
                }
                Some((n, Node::Dir)) => {
                    cur.push(c);
                    found = (n, Node::Dir);
                }
                Some((n, node)) => {
                    if !last {
                        return Ok(Err(WalkError::NotDir { path: format!("/{here}") }));
                    }
                    cur.push(c);
                    found = (n, node);
                }
            }
        }
        Ok(Ok(Resolved { path: format!("/{}", cur.join("/")), node: found.1, layer: found.0, links }))
    }

    /// The first bytes of the file a walk found, or the read that keeps them.
    pub fn head<'a>(&self, r: &'a Resolved) -> Result<&'a [u8], Need> {
        match &r.node {
            Node::File { head: Some(h), .. } => Ok(h),
            Node::File { head: None, size: 0, .. } => Ok(&[]),
            _ => Err(Need::Head { n: r.layer, path: r.path.trim_start_matches('/').to_string() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(head: &[u8]) -> Node {
        Node::File { mode: 0o755, size: head.len() as u64, head: Some(Arc::from(head)) }
    }

    fn layer(entries: &[(&str, Node)]) -> LayerTree {
        let mut l = LayerTree::default();
        for (p, n) in entries {
            l.add(p, n.clone());
        }
        l
    }

    fn fs(layers: Vec<LayerTree>) -> Rootfs {
        let mut f = Rootfs::new(layers.len());
        for (i, mut l) in layers.into_iter().enumerate() {
            l.complete = true;
            *f.layer_mut(i).unwrap() = l;
        }
        f
    }

    fn walk(f: &Rootfs, p: &str) -> Result<String, WalkError> {
        f.walk(p, "/", true).unwrap().map(|r| r.path)
    }

    #[test]
    fn merged_usr_links_in_any_component() {
        let base = layer(&[
            ("bin", Node::Symlink { target: "usr/bin".into() }),
            ("sbin", Node::Symlink { target: "usr/sbin".into() }),
            ("usr/bin/sh", file(b"sh")),
            ("usr/sbin/", Node::Dir),
        ]);
        let app = layer(&[("opt/app/bin/app", file(b"app"))]);
        let f = fs(vec![app, base]);
        assert_eq!(walk(&f, "/bin/sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(walk(&f, "/sbin/app"), Err(WalkError::NotFound { path: "/usr/sbin/app".into() }));
        assert_eq!(walk(&f, "/opt/app/bin/app"), Ok("/opt/app/bin/app".into()));
        // `..` applies to the real directory: /bin is /usr/bin, so /bin/.. is /usr.
        assert_eq!(walk(&f, "/bin/../bin/sh"), Ok("/usr/bin/sh".into()));
        assert_eq!(walk(&f, "/bin/../opt/app/bin/app"), Err(WalkError::NotFound { path: "/usr/opt".into() }));
        assert_eq!(walk(&f, "/bin/sh/x"), Err(WalkError::NotDir { path: "/usr/bin/sh".into() }));
    }

    #[test]
    fn relative_links_loops_and_cwd() {
        let l = layer(&[
            ("usr/local/bin/tool", Node::Symlink { target: "../../bin/app".into() }),
            ("usr/bin/app", file(b"x")),
            ("loop/a", Node::Symlink { target: "b".into() }),
            ("loop/b", Node::Symlink { target: "a".into() }),
            ("srv/run", file(b"r")),
        ]);
        let f = fs(vec![l]);
        assert_eq!(walk(&f, "/usr/local/bin/tool"), Ok("/usr/bin/app".into()));
        assert!(matches!(walk(&f, "/loop/a"), Err(WalkError::Loop { .. })));
        assert_eq!(f.walk("run", "/srv", true).unwrap().map(|r| r.path), Ok("/srv/run".into()));
        let r = f.walk("/usr/local/bin/tool", "/", false).unwrap().unwrap();
        assert!(matches!(r.node, Node::Symlink { .. }), "the last link is not followed when asked");
    }

    #[test]
    fn whiteouts_opaque_dirs_and_replaced_dirs() {
        let base = layer(&[("etc/a", file(b"a")), ("opt/x", file(b"x")), ("srv/y", file(b"y")), ("var/z", file(b"z"))]);
        let top =
            layer(&[("etc/.wh.a", file(b"")), ("opt/.wh..wh..opq", file(b"")), ("opt/new", file(b"n")), ("srv", file(b"now a file")), (".wh.var", file(b""))]);
        let f = fs(vec![top, base]);
        assert!(matches!(walk(&f, "/etc/a"), Err(WalkError::NotFound { .. })));
        assert!(matches!(walk(&f, "/opt/x"), Err(WalkError::NotFound { .. })));
        assert_eq!(walk(&f, "/opt/new"), Ok("/opt/new".into()));
        assert!(matches!(walk(&f, "/srv/y"), Err(WalkError::NotDir { .. })));
        assert!(matches!(walk(&f, "/var/z"), Err(WalkError::NotFound { .. })));
    }

    #[test]
    fn hard_links_keep_the_file_of_their_own_layer() {
        // The lower layer hard-links /bin/sh to /bin/busybox; a newer layer replaces
        // /bin/busybox. /bin/sh is still the old file.
        let base = layer(&[("bin/busybox", file(b"old")), ("bin/sh", Node::HardLink { target: "bin/busybox".into() })]);
        let top = layer(&[("bin/busybox", file(b"new"))]);
        let f = fs(vec![top, base]);
        let r = f.walk("/bin/sh", "/", true).unwrap().unwrap();
        assert_eq!(f.head(&r).unwrap(), b"old");
        // A hard link to a file of a lower layer sees that layer, not newer ones.
        let l0 = layer(&[("usr/bin/prog", file(b"v1"))]);
        let l1 = layer(&[("usr/bin/alias", Node::HardLink { target: "usr/bin/prog".into() })]);
        let l2 = layer(&[("usr/bin/prog", file(b"v2"))]);
        let f = fs(vec![l2, l1, l0]);
        let r = f.walk("/usr/bin/alias", "/", true).unwrap().unwrap();
        assert_eq!(f.head(&r).unwrap(), b"v1");
    }

    #[test]
    fn unread_layers_are_asked_for() {
        let mut f = Rootfs::new(2);
        *f.layer_mut(0).unwrap() = layer(&[("app", file(b"a"))]);
        assert_eq!(walk(&f, "/app"), Ok("/app".into()), "a layer read in part answers for what it has");
        assert_eq!(f.walk("/bin/sh", "/", true), Err(Need::Layer { n: 0, path: "bin".into() }), "and asks for more of itself first");
        f.layer_mut(0).unwrap().complete = true;
        assert_eq!(f.walk("/bin/sh", "/", true), Err(Need::Layer { n: 1, path: "bin".into() }));
        let r = Resolved { path: "/big".into(), node: Node::File { mode: 0o755, size: 9, head: None }, layer: 1, links: vec![] };
        assert_eq!(f.head(&r), Err(Need::Head { n: 1, path: "big".into() }));
    }
}
