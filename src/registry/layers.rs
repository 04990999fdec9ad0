//! Streaming layer reads for diagnosis. The image's root filesystem ([`Rootfs`]) is built
//! up as the exec chain ([`crate::model::exec`]) asks for paths: layers newest first, each
//! read as a stream that pauses as soon as the question is answered and resumes from where it
//! stopped when a later question needs more of it, so no byte of a layer is read twice. A
//! layer read to its end is checked against its size and digest; one read in part is said so.
//! Bytes read, names indexed and file heads kept are all capped.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::model::diagnose::BinaryFacts;
use crate::model::exec::{Start, follow};
use crate::model::files::{FileKind, FileMeta, Listing};
use crate::model::manifest::{Descriptor, ImageConfig};
use crate::model::rootfs::{LayerTree, Need, Node, Rootfs};

use super::error::RegistryError;
use super::store::Store;

pub use crate::model::exec::DEFAULT_PATH;
/// Default cap on compressed bytes read from layers.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
/// First bytes kept of each executable or `#!` file: the ELF header, program headers and
/// `PT_INTERP` string (Go places it near 4 KiB).
const HEAD: usize = 8192;
/// A script is kept up to this size, so a shell's last command can be read.
const SCRIPT_HEAD: usize = 64 * 1024;
/// A 32-bit ARM program keeps its `.ARM.attributes` at its end: kept whole up to this size.
const MAX_ARM_FILE: usize = 16 << 20;
/// File heads kept in all, per image; past it, a head is read again when needed.
const MAX_KEPT: usize = 64 << 20;
/// Names and heads indexed per image: past it the diagnosis says it cannot tell.
const MAX_INDEXED: usize = 96 << 20;
/// When the answer comes with less than this left of a layer, the rest is read too, so the
/// layer is checked against its digest (each byte is still read once).
const VERIFY_TAIL: u64 = 1 << 20;
/// A PAX header or GNU long name or link larger than this is refused.
const MAX_TAR_META: u64 = 1 << 20;

/// Decompress by media type, or by sniffing the first bytes when the type does not say.
pub fn decompressed<'a>(reader: impl Read + Send + 'a, media_type: &str) -> std::io::Result<Box<dyn Read + Send + 'a>> {
    let mut br = BufReader::with_capacity(64 * 1024, reader);
    let head = br.fill_buf()?.to_vec();
    let zstd = media_type.contains("zstd") || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let gzip = !zstd && (media_type.contains("gzip") || head.starts_with(&[0x1f, 0x8b]));
    Ok(if zstd {
        Box::new(ZstdFrames { source: br, decoder: ruzstd::decoding::FrameDecoder::new(), in_frame: false })
    } else if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(br))
    } else {
        Box::new(br)
    })
}

/// Every frame of a zstd stream, one after the other, skipping skippable frames: zstd:chunked
/// layers are many frames with metadata in skippable ones.
struct ZstdFrames<R: BufRead> {
    source: R,
    decoder: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if self.source.fill_buf()?.is_empty() {
                    return Ok(0);
                }
                match self.decoder.reset(&mut self.source) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                        let skipped = std::io::copy(&mut (&mut self.source).take(u64::from(length)), &mut std::io::sink())?;
                        if skipped != u64::from(length) {
                            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a skippable zstd frame is cut short"));
                        }
                        continue;
                    }
                    Err(e) => return Err(std::io::Error::other(e)),
                }
            }
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let more = buf.len() - self.decoder.can_collect();
                let before = (self.decoder.bytes_read_from_source(), self.decoder.can_collect());
                self.decoder.decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(more)).map_err(std::io::Error::other)?;
                if (self.decoder.bytes_read_from_source(), self.decoder.can_collect()) == before && !self.decoder.is_finished() {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the zstd frame stops before its end"));
                }
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
            }
        }
    }
}

/// One entry of a tar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub path: String,
    pub node: Node,
    /// Permission bits, of any kind of entry.
    pub mode: u32,
    /// A regular file's content hash, when the cursor hashes ([`TarCursor::hashing`]).
    pub sha256: Option<crate::model::digest::Digest>,
}

/// A tar stream read one entry at a time (ustar, GNU long names and links, PAX `path`,
/// `linkpath` and `size`), so a reading can stop after any entry and go on later. Headers are
/// checked by their checksum; metadata records are capped at [`MAX_TAR_META`].
pub struct TarCursor<R> {
    reader: R,
    ended: bool,
    /// Hash each regular file's content (it is read through instead of skipped).
    hash: bool,
    long_name: Option<String>,
    long_link: Option<String>,
    pax_size: Option<u64>,
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

fn tar_number(b: &[u8]) -> std::io::Result<u64> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        // Base-256: big-endian, the first byte's high bit a marker.
        let mut v: u64 = 0;
        for (i, &c) in b.iter().enumerate() {
            let c = if i == 0 { c & 0x7f } else { c };
            v = v.checked_mul(256).and_then(|v| v.checked_add(u64::from(c))).ok_or_else(|| bad("a size field overflows"))?;
        }
        return Ok(v);
    }
    let s = cstr(b);
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0');
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).map_err(|_| bad("a number field is not octal"))
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a valid tar stream: {what}"))
}

fn padding(size: u64) -> u64 {
    (512 - size % 512) % 512
}

impl<R: Read> TarCursor<R> {
    pub fn new(reader: R) -> TarCursor<R> {
        TarCursor { reader, ended: false, hash: false, long_name: None, long_link: None, pax_size: None }
    }

    /// A cursor that hashes each regular file's content.
    pub fn hashing(reader: R) -> TarCursor<R> {
        TarCursor { hash: true, ..TarCursor::new(reader) }
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        let skipped = std::io::copy(&mut (&mut self.reader).take(n), &mut std::io::sink())?;
        if skipped != n {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the tar stream ends inside an entry"));
        }
        Ok(())
    }

    fn read_meta(&mut self, size: u64) -> std::io::Result<Vec<u8>> {
        if size > MAX_TAR_META {
            return Err(bad(&format!("a header record of {size} bytes (at most {MAX_TAR_META} are read)")));
        }
        let mut data = Vec::new();
        (&mut self.reader).take(size).read_to_end(&mut data)?;
        if data.len() as u64 != size {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the tar stream ends inside a header record"));
        }
        self.skip(padding(size))?;
        Ok(data)
    }

    /// The next entry, or `None` at the end of the archive. `keep(path, mode, first bytes)`
    /// says how many bytes of a regular file to keep (0: none).
    fn next_entry(&mut self, keep: &mut dyn FnMut(&str, u32, &[u8]) -> usize) -> std::io::Result<Option<TarEntry>> {
        let mut pax_path: Option<String> = None;
        let mut pax_link: Option<String> = None;
        loop {
            if self.ended {
                return Ok(None);
            }
            let mut h = [0u8; 512];
            let mut filled = 0;
            while filled < 512 {
                let n = self.reader.read(h.get_mut(filled..).unwrap_or_default())?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 || h.iter().all(|&b| b == 0) {
                self.ended = true;
                return Ok(None);
            }
            if filled < 512 {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the tar stream ends inside a header"));
            }
            let field = |a: usize, b: usize| h.get(a..b).unwrap_or_default();
            let sum: u64 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
            if tar_number(field(148, 156))? != sum {
                return Err(bad("a header checksum does not match"));
            }
            let size = tar_number(field(124, 136))?;
            let kind = h.get(156).copied().unwrap_or(0);
            match kind {
                b'L' => {
                    self.long_name = Some(cstr(&self.read_meta(size)?));
                    continue;
                }
                b'K' => {
                    self.long_link = Some(cstr(&self.read_meta(size)?));
                    continue;
                }
                b'x' => {
                    let data = self.read_meta(size)?;
                    for (k, v) in pax_records(&data) {
                        match k.as_str() {
                            "path" => pax_path = Some(v),
                            "linkpath" => pax_link = Some(v),
                            "size" => self.pax_size = v.parse().ok(),
                            _ => {}
                        }
                    }
                    continue;
                }
                b'g' => {
                    self.read_meta(size)?;
                    continue;
                }
                _ => {}
            }
            let mut name = cstr(field(0, 100));
            if field(257, 263) == b"ustar\0" {
                let prefix = cstr(field(345, 500));
                if !prefix.is_empty() {
                    name = format!("{prefix}/{name}");
                }
            }
            let path = self.long_name.take().or(pax_path.take()).unwrap_or(name);
            let link = self.long_link.take().or(pax_link.take()).unwrap_or_else(|| cstr(field(157, 257)));
            let size = self.pax_size.take().unwrap_or(size);
            let mode = u32::try_from(tar_number(field(100, 108))? & 0o7777).unwrap_or(0);
            let mut sha256 = None;
            let node = match kind {
                b'0' | 0 | b'7' => {
                    let mut head = Vec::new();
                    (&mut self.reader).take(size.min(HEAD as u64)).read_to_end(&mut head)?;
                    let want = keep(&path, mode, &head) as u64;
                    if want > head.len() as u64 {
                        (&mut self.reader).take(want.min(size) - head.len() as u64).read_to_end(&mut head)?;
                    }
                    let taken = head.len() as u64;
                    if self.hash {
                        let mut hasher = crate::model::digest::StreamHasher::sha256();
                        hasher.update(&head);
                        let rest = size.saturating_sub(taken);
                        if std::io::copy(&mut (&mut self.reader).take(rest), &mut hasher)? != rest {
                            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the tar stream ends inside an entry"));
                        }
                        sha256 = Some(hasher.finish());
                    } else {
                        self.skip(size.saturating_sub(taken))?;
                    }
                    head.truncate(want.min(taken) as usize);
                    self.skip(padding(size))?;
                    Node::File { mode, size, head: (want > 0).then(|| Arc::from(head)) }
                }
                other => {
                    self.skip(size)?;
                    self.skip(padding(size))?;
                    match other {
                        b'1' => Node::HardLink { target: link },
                        b'2' => Node::Symlink { target: link },
                        b'5' => Node::Dir,
                        _ => Node::Other,
                    }
                }
            };
            return Ok(Some(TarEntry { path, node, mode, sha256 }));
        }
    }
}

/// PAX extended header records: `LEN key=value\n`.
fn pax_records(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&c| c == b' ') else { break };
        let Some(len) = std::str::from_utf8(rest.get(..sp).unwrap_or_default()).ok().and_then(|l| l.parse::<usize>().ok()) else { break };
        let Some(record) = rest.get(sp + 1..len) else { break };
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = record.iter().position(|&c| c == b'=') {
            out.push((
                String::from_utf8_lossy(record.get(..eq).unwrap_or_default()).into_owned(),
                String::from_utf8_lossy(record.get(eq + 1..).unwrap_or_default()).into_owned(),
            ));
        }
        rest = rest.get(len..).unwrap_or_default();
    }
    out
}

/// A whole tar stream read into a [`LayerTree`], keeping the heads of executables and
/// scripts (for the fuzz harness and tests).
pub fn scan_tar(reader: impl Read) -> std::io::Result<LayerTree> {
    let mut cursor = TarCursor::new(reader);
    let mut tree = LayerTree::default();
    let mut keep = |_: &str, mode: u32, first: &[u8]| keep_len(mode, first);
    while let Some(e) = cursor.next_entry(&mut keep)? {
        tree.add(&e.path, e.node);
        if tree.bytes > MAX_INDEXED {
            return Err(bad("more names than are indexed"));
        }
    }
    tree.complete = true;
    Ok(tree)
}

/// How much of a regular file to keep: executables and `#!` scripts.
fn keep_len(mode: u32, first: &[u8]) -> usize {
    let script = first.starts_with(b"#!");
    if mode & 0o111 == 0 && !script {
        return 0;
    }
    let arm32 = first.starts_with(b"\x7fELF") && first.get(4) == Some(&1) && first.get(18..20) == Some(&[40, 0][..]);
    if arm32 {
        MAX_ARM_FILE
    } else if script {
        SCRIPT_HEAD
    } else {
        HEAD
    }
}

/// A `Read` over chunks pushed from the async side.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, String>>,
    buf: bytes::Bytes,
    pos: usize,
    cancelled: Arc<AtomicBool>,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.cancelled.load(Ordering::Relaxed) {
                // Not `Interrupted`: `read_to_end` and `io::copy` retry that kind at once, so a
                // cancelled read would spin forever (and a runtime waits for it at exit).
                return Err(std::io::Error::other("cancelled"));
            }
            // Runs on a blocking thread (spawn_blocking), never on the async runtime.
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let n = out.len().min(rest.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.pos += n;
        Ok(n)
    }
}

/// A layer being read: its tar stream, where it stands, and how its end is checked.
struct LayerCursor {
    tar: TarCursor<Box<dyn Read + Send>>,
    /// Compressed bytes of this layer read so far.
    read: Arc<AtomicU64>,
}

/// Everything a reading of one image's layers shares.
struct Reading {
    store: Arc<dyn Store>,
    repo: String,
    /// Newest first.
    layers: Vec<Descriptor>,
    counter: Arc<AtomicU64>,
    max_bytes: u64,
    cancelled: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
    /// The typed error behind an I/O error of a registry stream (a digest mismatch …).
    failure: Arc<Mutex<Option<RegistryError>>>,
}

fn other(layer: &Descriptor, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Other { detail: format!("layer {}: {e}", layer.digest.short()) }
}

impl Reading {
    fn layer(&self, n: usize) -> Result<&Descriptor, RegistryError> {
        self.layers.get(n).ok_or_else(|| RegistryError::Other { detail: format!("the image has no layer {n}") })
    }

    fn open(&self, n: usize) -> Result<LayerCursor, RegistryError> {
        self.open_with(n, false)
    }

    /// Open layer `n`; with `hash`, its regular files' contents are hashed as they go by.
    fn open_with(&self, n: usize, hash: bool) -> Result<LayerCursor, RegistryError> {
        let layer = self.layer(n)?.clone();
        let read = Arc::new(AtomicU64::new(0));
        // Registry or folder alike: the store's reader stops at the declared size and checks
        // the digest at the end, here on the async side; this side reads it as a file.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(1);
        let pump = Pump {
            store: self.store.clone(),
            repo: self.repo.clone(),
            layer: layer.clone(),
            counter: self.counter.clone(),
            read: read.clone(),
            max: self.max_bytes,
            cancelled: self.cancelled.clone(),
            failure: self.failure.clone(),
        };
        self.runtime.spawn(pump.run(tx));
        let reader = ChunkReader { rx, buf: bytes::Bytes::new(), pos: 0, cancelled: self.cancelled.clone() };
        let r = decompressed(reader, &layer.media_type).map_err(|e| self.typed(&layer, e))?;
        Ok(LayerCursor { tar: if hash { TarCursor::hashing(r) } else { TarCursor::new(r) }, read })
    }

    /// The typed error behind an I/O error, when a registry stream left one.
    fn typed(&self, layer: &Descriptor, e: std::io::Error) -> RegistryError {
        match self.failure.lock().ok().and_then(|mut f| f.take()) {
            Some(t) => t,
            // The bytes did not decompress (or are no tar) before their digest could be
            // checked at the end: the same fault, found sooner. (A cancelled read is no fault.)
            None if e.to_string() != "cancelled" => other(
                layer,
                format!(
                    "{e}: its bytes are damaged (in the store or on the way) and cannot match its digest; read it again, and if it stays so, the store holds a bad copy"
                ),
            ),
            None => other(layer, e),
        }
    }

    /// Read the rest of a layer whose archive ended, and check its size and digest.
    fn finish(&self, n: usize, cursor: &mut LayerCursor) -> Result<(), RegistryError> {
        let layer = self.layer(n)?;
        // The store's reader checks size and digest at the end: a wrong end arrives as an error.
        std::io::copy(cursor.tar.get_mut(), &mut std::io::sink()).map_err(|e| self.typed(layer, e))?;
        Ok(())
    }

    /// Every entry of the one layer of this reading, its regular files hashed, read to the end
    /// and checked against its size and digest.
    fn list(&self) -> Result<Listing, RegistryError> {
        let layer = self.layer(0)?;
        let mut cursor = self.open_with(0, true)?;
        let mut out = Listing { layer: layer.digest.to_string(), entries: Vec::new() };
        let mut indexed = 0usize;
        let mut keep = |_: &str, _: u32, _: &[u8]| 0;
        while let Some(e) = cursor.tar.next_entry(&mut keep).map_err(|e| self.typed(layer, e))? {
            indexed += e.path.len() + 96;
            if indexed > MAX_INDEXED {
                return Err(other(layer, format!("it holds more names than Archlens indexes ({} MB)", MAX_INDEXED >> 20)));
            }
            let (kind, size, link) = match e.node {
                Node::File { size, .. } => (FileKind::File, size, None),
                Node::Dir => (FileKind::Dir, 0, None),
                Node::Symlink { target } => (FileKind::Symlink, 0, Some(target)),
                Node::HardLink { target } => (FileKind::Hardlink, 0, Some(crate::model::rootfs::clean(&target))),
                Node::Other => (FileKind::Other, 0, None),
            };
            out.push(&e.path, FileMeta { kind, mode: e.mode, size, link, sha256: e.sha256.map(|d| d.to_string()) });
        }
        self.finish(0, &mut cursor)?;
        Ok(out)
    }

    /// Follow the chain, reading layers as it asks.
    fn run(&self, start: &Start) -> Result<(BinaryFacts, Vec<String>), RegistryError> {
        let mut fs = Rootfs::new(self.layers.len());
        let mut cursors: Vec<Option<LayerCursor>> = self.layers.iter().map(|_| None).collect();
        let mut heads_read = std::collections::HashSet::new();
        loop {
            if fs.bytes() > MAX_INDEXED {
                return Ok((
                    BinaryFacts::Unknown {
                        reason: format!(
                            "the layers hold more names than Archlens indexes ({} MB), so the entrypoint was not followed to the end",
                            MAX_INDEXED >> 20
                        ),
                    },
                    self.partial(&cursors),
                ));
            }
            match follow(&fs, start) {
                Ok(chain) => return Ok((BinaryFacts::Followed { chain }, self.partial(&cursors))),
                Err(Need::Layer { n, path }) => {
                    let left = MAX_KEPT.saturating_sub(fs.bytes());
                    let Some(tree) = fs.layer_mut(n) else { return Err(RegistryError::Other { detail: format!("the image has no layer {n}") }) };
                    if tree.complete {
                        return Err(RegistryError::Other { detail: format!("layer {n} was read whole and still asked for {path}") });
                    }
                    let slot = cursors.get_mut(n).ok_or_else(|| RegistryError::Other { detail: format!("the image has no layer {n}") })?;
                    if slot.is_none() {
                        *slot = Some(self.open(n)?);
                    }
                    let Some(cursor) = slot.as_mut() else { continue };
                    let mut keep = |_: &str, mode: u32, first: &[u8]| if left > 0 { keep_len(mode, first) } else { 0 };
                    let layer = self.layer(n)?;
                    let mut answered = false;
                    loop {
                        match cursor.tar.next_entry(&mut keep).map_err(|e| self.typed(layer, e))? {
                            Some(e) => {
                                tree.add(&e.path, e.node);
                                if tree.bytes > MAX_INDEXED {
                                    break;
                                }
                                answered = answered || tree.says(&path).is_some();
                                // Answered: pause here, unless so little is left that reading
                                // it (once, as every byte) lets the layer be checked whole.
                                if answered && layer.size.saturating_sub(cursor.read.load(Ordering::Relaxed)) > VERIFY_TAIL {
                                    break;
                                }
                            }
                            None => {
                                self.finish(n, cursor)?;
                                tree.complete = true;
                                break;
                            }
                        }
                    }
                }
                Err(Need::Head { n, path }) => {
                    // A head not kept (the budget was spent): this layer is read again for it.
                    if !heads_read.insert((n, path.clone())) {
                        return Ok((BinaryFacts::Unknown { reason: format!("/{path} could not be read from its layer") }, self.partial(&cursors)));
                    }
                    let mut again = self.open(n)?;
                    // The file asked for is kept as a script would be (a shell may read it), or
                    // whole up to the ARM cap for a 32-bit ARM program.
                    let mut keep = |p: &str, mode: u32, first: &[u8]| {
                        if crate::model::rootfs::clean(p) == path { keep_len(mode | 0o100, first).max(SCRIPT_HEAD) } else { 0 }
                    };
                    let layer = self.layer(n)?;
                    while let Some(e) = again.tar.next_entry(&mut keep).map_err(|e| self.typed(layer, e))? {
                        if let (true, Node::File { head: Some(h), .. }) = (crate::model::rootfs::clean(&e.path) == path, &e.node) {
                            if let Some(tree) = fs.layer_mut(n) {
                                tree.set_head(&path, h.clone());
                            }
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Layers read only in part, each said in words.
    fn partial(&self, cursors: &[Option<LayerCursor>]) -> Vec<String> {
        cursors
            .iter()
            .zip(&self.layers)
            .filter_map(|(c, layer)| {
                let c = c.as_ref()?;
                (!c.tar.ended()).then(|| {
                    format!(
                        "layer {} was read in part ({} of {}) because the answer came before its end, so it was not checked against its digest",
                        layer.digest.short(),
                        crate::model::units::human_bytes(c.read.load(Ordering::Relaxed)),
                        crate::model::units::human_bytes(layer.size)
                    )
                })
            })
            .collect()
    }
}

/// Moves a layer's bytes from its store to the reader, counting them; the store's reader
/// checks size and digest at the end. Paused while the reader is (the channel is full).
struct Pump {
    store: Arc<dyn Store>,
    repo: String,
    layer: Descriptor,
    counter: Arc<AtomicU64>,
    read: Arc<AtomicU64>,
    max: u64,
    cancelled: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<RegistryError>>>,
}

impl Pump {
    async fn fail(&self, tx: &tokio::sync::mpsc::Sender<Result<bytes::Bytes, String>>, e: RegistryError) {
        let text = e.to_string();
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(e);
        }
        let _ = tx.send(Err(text)).await;
    }

    async fn run(self, tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, String>>) {
        let layer = self.layer.clone();
        let mut reader = match self.store.open_blob(&self.repo, &layer.digest, layer.size).await {
            Ok(r) => r,
            Err(e) => return self.fail(&tx, e).await,
        };
        loop {
            if self.cancelled.load(Ordering::Relaxed) {
                return;
            }
            if self.counter.load(Ordering::Relaxed) >= self.max {
                let e = RegistryError::Other { detail: format!("stopped after reading {} bytes of layers (--max-bytes)", self.max) };
                return self.fail(&tx, e).await;
            }
            match reader.next_chunk().await {
                Ok(Some(chunk)) => {
                    self.counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    self.read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The reader is done with this layer.
                        return;
                    }
                }
                // The end, with size and digest checked.
                Ok(None) => return,
                Err(RegistryError::DigestMismatch { registry, mismatch, .. }) => {
                    let e = RegistryError::DigestMismatch { registry, what: format!("layer {}", layer.digest), mismatch };
                    return self.fail(&tx, e).await;
                }
                Err(e) => return self.fail(&tx, e).await,
            }
        }
    }
}

/// Sets its flag when dropped: a blocking read sees the future that waited for it is gone.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Every entry of `layer`, its regular files hashed (for comparing files), read to its end and
/// checked against its size and digest, within `max_bytes` of compressed bytes counted on
/// `counter` (shared by the layers of one comparison).
pub async fn listing(store: Arc<dyn Store>, repo: &str, layer: &Descriptor, max_bytes: u64, counter: Arc<AtomicU64>) -> Result<Listing, RegistryError> {
    let cancelled = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancelled.clone());
    let reading = Reading {
        store,
        repo: repo.to_string(),
        layers: vec![layer.clone()],
        counter,
        max_bytes,
        cancelled,
        runtime: tokio::runtime::Handle::current(),
        failure: Arc::new(Mutex::new(None)),
    };
    tokio::task::spawn_blocking(move || reading.list()).await.map_err(|e| RegistryError::Other { detail: format!("reading a layer: {e}") })?
}

/// Examine how the image starts: the exec chain from its Entrypoint and Cmd, followed in its
/// layers. Returns the facts, the compressed bytes read, and the layers read only in part.
pub async fn examine(
    store: Arc<dyn Store>,
    repo: &str,
    layers: &[Descriptor],
    config: &ImageConfig,
    max_bytes: u64,
    bytes: Option<Arc<AtomicU64>>,
) -> Result<(BinaryFacts, u64, Vec<String>), RegistryError> {
    let Some(start) = Start::from_config(config) else {
        return Ok((BinaryFacts::Unknown { reason: "the config has no Entrypoint or Cmd (docker run then needs a command)".into() }, 0, Vec::new()));
    };
    let counter = bytes.unwrap_or_default();
    let cancelled = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancelled.clone());
    let reading = Reading {
        store,
        repo: repo.to_string(),
        layers: layers.iter().rev().cloned().collect(),
        counter: counter.clone(),
        max_bytes,
        cancelled,
        runtime: tokio::runtime::Handle::current(),
        failure: Arc::new(Mutex::new(None)),
    };
    let result = tokio::task::spawn_blocking(move || reading.run(&start)).await.map_err(|e| RegistryError::Other { detail: format!("reading layers: {e}") })?;
    let read = counter.load(Ordering::Relaxed);
    match result {
        Ok((facts, partial)) => Ok((facts, read, partial)),
        // Hitting the cap is an answer ("could not tell"), not a failure.
        Err(e) if read >= max_bytes && !matches!(e, RegistryError::DigestMismatch { .. }) => {
            Ok((BinaryFacts::Unknown { reason: e.to_string() }, read, Vec::new()))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_layer_read_ends_rather_than_spinning() {
        // A reading whose layer is no longer wanted: `read_to_end` (as the tar cursor's skips
        // use) must end with an error, not retry forever.
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, String>>(1);
        let mut reader = ChunkReader { rx, buf: bytes::Bytes::new(), pos: 0, cancelled: Arc::new(AtomicBool::new(true)) };
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = done.send(reader.read_to_end(&mut out).map_err(|e| e.to_string()));
        });
        let got = ended.recv_timeout(std::time::Duration::from_secs(5)).expect("the read ended");
        assert_eq!(got, Err("cancelled".to_string()));
    }

    use crate::model::binary::{elf_header, elf_info};
    use crate::model::exec::{Chain, End};
    use crate::testkit::{Compression, Entry, compress, tar_bytes};

    fn tree(entries: &[Entry]) -> LayerTree {
        scan_tar(&tar_bytes(entries)[..]).unwrap()
    }

    fn fs(layers: Vec<Vec<Entry>>) -> Rootfs {
        // Given oldest first, as a manifest lists them.
        let mut f = Rootfs::new(layers.len());
        for (i, l) in layers.iter().rev().enumerate() {
            *f.layer_mut(i).unwrap() = tree(l);
        }
        f
    }

    fn start(argv: &[&str], path: &str) -> Start {
        Start { argv: argv.iter().map(|s| s.to_string()).collect(), path: path.split(':').map(str::to_string).collect(), cwd: "/".into(), windows: false }
    }

    fn run(layers: Vec<Vec<Entry>>, argv: &[&str]) -> Chain {
        follow(&fs(layers), &start(argv, DEFAULT_PATH)).unwrap()
    }

    fn dynamic(machine: u16, is64: bool, interp: &str) -> Vec<u8> {
        crate::model::binary::elf_with_interp(machine, is64, interp)
    }

    fn amd64() -> Vec<u8> {
        elf_header(62, true, true)
    }

    fn refused(c: &Chain) -> String {
        match &c.end {
            End::Refused { message, error, .. } => format!("{error}: {message}"),
            other => panic!("not refused: {other:?} {:?}", c.steps),
        }
    }

    #[test]
    fn tar_cursor_reads_links_long_names_and_refuses_huge_headers() {
        let long = format!("opt/{}/app", "d".repeat(150));
        let mut t = Vec::new();
        {
            let mut b = tar::Builder::new(&mut t);
            let mut h = tar::Header::new_gnu();
            h.set_size(4);
            h.set_mode(0o755);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, &long, &b"\x7fELF"[..]).unwrap();
            b.finish().unwrap();
        }
        let tree = scan_tar(&t[..]).unwrap();
        let mut f = Rootfs::new(1);
        *f.layer_mut(0).unwrap() = tree;
        let r = f.walk(&format!("/{long}"), "/", true).unwrap().unwrap();
        assert_eq!(f.head(&r).unwrap(), b"\x7fELF");
        // A GNU long-name record of 3 GB is refused before any of it is read.
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(3 << 30);
        h.set_cksum();
        let e = scan_tar(&h.as_bytes()[..]).unwrap_err();
        assert!(e.to_string().contains("header record"), "{e}");
        // A damaged header is an error, not an entry.
        let mut broken = tar_bytes(&[Entry::file("a", b"x")]);
        broken[0] = b'b';
        assert!(scan_tar(&broken[..]).unwrap_err().to_string().contains("checksum"));
    }

    #[test]
    fn zstd_layers_of_several_frames_and_skippable_frames_are_read_whole() {
        let tar = tar_bytes(&[Entry::file("a", &vec![b'a'; 70_000]), Entry::file("usr/bin/app", b"\x7fELF-late")]);
        // Split the tar in three frames, with a skippable frame between (as zstd:chunked does).
        let (one, rest) = tar.split_at(30_000);
        let (two, three) = rest.split_at(30_000);
        let mut layer = compress(one, Compression::Zstd);
        layer.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        layer.extend_from_slice(&5u32.to_le_bytes());
        layer.extend_from_slice(b"meta!");
        layer.extend(compress(two, Compression::Zstd));
        layer.extend(compress(three, Compression::Zstd));
        let r = decompressed(&layer[..], "application/vnd.oci.image.layer.v1.tar+zstd").unwrap();
        let t = scan_tar(r).unwrap();
        assert!(matches!(t.says("usr/bin/app"), Some(Some(Node::File { head: Some(h), .. })) if &h[..] == b"\x7fELF-late"));
        let mut all = Vec::new();
        decompressed(&layer[..], "").unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, tar);
    }

    #[test]
    fn decompression_by_type_and_sniffing() {
        let t = tar_bytes(&[Entry::file("a", b"hello")]);
        let gz = compress(&t, Compression::Gzip);
        let zst = compress(&t, Compression::Zstd);
        for (bytes, mt) in [
            (&gz, "application/vnd.oci.image.layer.v1.tar+gzip"),
            (&zst, "application/vnd.oci.image.layer.v1.tar+zstd"),
            (&gz, "application/octet-stream"),
            (&zst, ""),
            (&t, "application/vnd.oci.image.layer.v1.tar"),
        ] {
            let tree = scan_tar(decompressed(&bytes[..], mt).unwrap()).unwrap();
            assert!(matches!(tree.says("a"), Some(Some(Node::File { head: Some(h), .. })) if &h[..] == b"hello"), "{mt}");
        }
    }

    #[test]
    fn the_runtime_searches_path_in_the_merged_filesystem() {
        // Merged /usr base; ENV PATH=$PATH:/opt/app/bin; the program is in /opt/app/bin.
        let base = vec![Entry::symlink("bin", "usr/bin"), Entry::symlink("sbin", "usr/sbin"), Entry::file("usr/bin/sh", &amd64())];
        let app = vec![Entry::file("opt/app/bin/app", &amd64())];
        let c = follow(&fs(vec![base, app]), &start(&["app"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/app/bin")).unwrap();
        assert_eq!(c.end, End::Complete);
        assert_eq!(c.program().unwrap().path, "/opt/app/bin/app");
        // A file without an execute bit is skipped by the PATH search, as Go's LookPath does.
        let c = run(vec![vec![Entry::file_mode("usr/local/bin/app", &amd64(), 0o644), Entry::file("usr/bin/app", &amd64())]], &["app"]);
        assert_eq!(c.program().unwrap().path, "/usr/bin/app");
        // Named by its path, it is refused with EACCES.
        let c = run(vec![vec![Entry::file_mode("app", &amd64(), 0o644)]], &["/app"]);
        assert!(refused(&c).starts_with("permission denied"), "{}", refused(&c));
        // In no layer at all: "no such file or directory", not unknown.
        let c = run(vec![vec![Entry::file("usr/bin/sh", &amd64())]], &["/usr/sbin/app"]);
        assert!(refused(&c).starts_with("no such file or directory"), "{}", refused(&c));
        let c = run(vec![vec![Entry::file("usr/bin/sh", &amd64())]], &["app"]);
        assert!(refused(&c).contains("not found in $PATH"), "{}", refused(&c));
    }

    #[test]
    fn hard_links_are_the_file_of_their_layer() {
        // /bin/sh hard-linked to the old busybox; a newer layer replaces /bin/busybox by a
        // program of another machine: /bin/sh is still the old file.
        let base = vec![Entry::file("bin/busybox", &amd64()), Entry::hard_link("bin/sh", "bin/busybox")];
        let top = vec![Entry::file("bin/busybox", &elf_header(183, true, true))];
        let c = run(vec![base, top], &["/bin/sh"]);
        assert_eq!(c.program().unwrap().id.architecture.as_deref(), Some("amd64"));
    }

    #[test]
    fn loaders_must_exist_and_match_the_program() {
        let prog = dynamic(183, true, "/lib/ld-linux-aarch64.so.1");
        assert_eq!(elf_info(&prog).unwrap().interp, crate::model::binary::Interp::Path("/lib/ld-linux-aarch64.so.1".into()));
        // Missing loader: the glibc program on a base without glibc.
        let c = run(vec![vec![Entry::file("app", &prog)]], &["/app"]);
        let r = refused(&c);
        assert!(r.starts_with("no such file or directory") && r.contains("/lib/ld-linux-aarch64.so.1"), "{r}");
        // Through merged-/usr links, present.
        let ok = run(
            vec![vec![
                Entry::symlink("lib", "usr/lib"),
                Entry::file("usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", &elf_header(183, true, true)),
                Entry::symlink("usr/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu/ld-linux-aarch64.so.1"),
                Entry::file("app", &prog),
            ]],
            &["/app"],
        );
        assert_eq!(ok.end, End::Complete, "{ok:?}");
        assert_eq!(ok.steps[0].loader.as_ref().unwrap().path, "/usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1");
        // A loader of another machine: ELIBBAD.
        let c = run(vec![vec![Entry::file("lib/ld-linux-aarch64.so.1", &amd64()), Entry::file("app", &prog)]], &["/app"]);
        assert!(refused(&c).starts_with("accessing a corrupted shared library"), "{}", refused(&c));
        // A loader that is a script.
        let c = run(vec![vec![Entry::file("lib/ld-linux-aarch64.so.1", b"#!/bin/sh\n"), Entry::file("app", &prog)]], &["/app"]);
        assert!(refused(&c).contains("not an ELF file"), "{}", refused(&c));
    }

    #[test]
    fn scripts_env_and_split_strings() {
        let base = vec![Entry::file("usr/bin/env", &amd64()), Entry::file("usr/bin/python3", &elf_header(183, true, true)), Entry::file("bin/sh", &amd64())];
        let with = |script: &[u8]| {
            let mut l = base.clone();
            l.push(Entry::file("app.py", script));
            run(vec![l], &["/app.py"])
        };
        let c = with(b"#!/usr/bin/env -S python3 -u\nprint(1)\n");
        assert_eq!(c.end, End::Complete);
        let names: Vec<&str> = c.steps.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(names, ["/app.py", "/usr/bin/env", "/usr/bin/python3"]);
        // Without -S, env looks for a program named "python3 -u".
        let c = with(b"#!/usr/bin/env python3 -u\n");
        assert!(refused(&c).contains("`python3 -u`"), "{}", refused(&c));
        // A missing interpreter is reported at the interpreter.
        let c = with(b"#!/usr/bin/python2\n");
        assert!(refused(&c).contains("/usr/bin/python2"), "{}", refused(&c));
        // BusyBox's env has no -S.
        let bb = vec![
            Entry::file("bin/busybox", &amd64()),
            Entry::symlink("usr/bin/env", "/bin/busybox"),
            Entry::file("usr/bin/python3", &amd64()),
            Entry::file("app.py", b"#!/usr/bin/env -S python3 -u\n"),
        ];
        let c = run(vec![bb], &["/app.py"]);
        assert!(refused(&c).contains("BusyBox"), "{}", refused(&c));
    }

    #[test]
    fn shells_and_wrappers_pass_control_on() {
        let arm = elf_header(183, true, true);
        let base = vec![
            Entry::file("bin/sh", &amd64()),
            Entry::file("usr/bin/tini", &amd64()),
            Entry::file("usr/local/bin/gosu", &amd64()),
            Entry::file("usr/local/bin/server", &arm),
            Entry::file("docker-entrypoint.sh", b"#!/bin/sh\nset -e\nif [ \"${1#-}\" != \"$1\" ]; then\n  set -- server \"$@\"\nfi\nexec gosu app \"$@\"\n"),
        ];
        let c = run(vec![base.clone()], &["/usr/bin/tini", "--", "/docker-entrypoint.sh", "server", "--port", "80"]);
        let names: Vec<&str> = c.steps.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(names, ["/usr/bin/tini", "/docker-entrypoint.sh", "/bin/sh", "/usr/local/bin/gosu", "/usr/local/bin/server"], "{c:?}");
        assert_eq!(c.end, End::Complete);
        // Arguments starting with "-" are rewritten by `set --`: not followed, said so.
        let c = run(vec![base.clone()], &["/docker-entrypoint.sh", "--port", "80"]);
        assert!(matches!(&c.end, End::Unknown { reason } if reason.contains("set --")), "{c:?}");
        // sh -c: the shell first, then the program of the command.
        let c = run(vec![base.clone()], &["/bin/sh", "-c", "exec server --x"]);
        let names: Vec<&str> = c.steps.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(names, ["/bin/sh", "/usr/local/bin/server"]);
        // `cd` moves the working directory for the next command; builtins start nothing.
        let mut with_srv = base.clone();
        with_srv.push(Entry::file("srv/app", &arm));
        let c = run(vec![with_srv], &["/bin/sh", "-c", "cd /srv && ./app"]);
        assert_eq!(c.program().unwrap().path, "/srv/app", "{c:?}");
        let c = run(vec![base.clone()], &["/bin/sh", "-c", "exit 0"]);
        assert_eq!((c.end.clone(), c.steps.len()), (End::Complete, 1), "{c:?}");
        let c = run(vec![base], &["/bin/sh", "-c", "exec \"$APP\" --serve"]);
        assert!(matches!(&c.end, End::Unknown { reason } if reason.contains("expanded")), "{c:?}");
    }

    #[test]
    fn a_script_read_by_sh_needs_its_text_read_again_when_it_was_not_kept() {
        // `sh /run.sh` with a script that has neither #! nor an execute bit: its text was not
        // kept on the first pass, so the chain asks for it, and follows it once it is there.
        let layer = vec![
            Entry::file("bin/sh", &amd64()),
            Entry::file("usr/bin/app", &elf_header(183, true, true)),
            Entry::file_mode("run.sh", b"exec /usr/bin/app\n", 0o644),
        ];
        let mut f = fs(vec![layer]);
        let start = start(&["/bin/sh", "/run.sh"], DEFAULT_PATH);
        assert_eq!(follow(&f, &start), Err(Need::Head { n: 0, path: "run.sh".into() }));
        f.layer_mut(0).unwrap().set_head("run.sh", Arc::from(&b"exec /usr/bin/app\n"[..]));
        let c = follow(&f, &start).unwrap();
        assert_eq!(c.program().unwrap().path, "/usr/bin/app", "{c:?}");
    }

    #[test]
    fn sh_c_with_positional_arguments_follows_them() {
        let c = run(
            vec![vec![Entry::file("bin/sh", &amd64()), Entry::file("usr/bin/app", &elf_header(183, true, true))]],
            &["/bin/sh", "-c", "exec \"$@\"", "sh", "/usr/bin/app"],
        );
        assert_eq!(c.program().unwrap().path, "/usr/bin/app", "{c:?}");
    }

    #[test]
    fn an_entrypoint_script_ending_in_its_own_function_is_said_to_be_unfollowed() {
        // As the MySQL and MariaDB images' entrypoints end: `_main "$@"` is a function.
        let script = b"#!/bin/sh\n_main() {\n  exec \"$@\"\n}\nif true; then\n  _main \"$@\"\nfi\n";
        let c = run(vec![vec![Entry::file("bin/sh", &amd64()), Entry::file("entrypoint.sh", script)]], &["/entrypoint.sh", "mysqld"]);
        assert!(matches!(&c.end, End::Unknown { reason } if reason.contains("function `_main`")), "{c:?}");
    }

    #[test]
    fn x32_and_foreign_classes_are_identified() {
        let x32 = crate::model::binary::identify(&elf_header(62, false, true));
        assert_eq!(x32.architecture.as_deref(), Some("x32"));
        assert!(x32.description.contains("x32"));
    }
}
