//! Streaming layer reads for diagnosis: find a file in an image's merged filesystem by reading
//! its layers newest first (gzip, zstd or plain tar), honouring whiteouts and following
//! symlinks, and stop as soon as the answer is known. Bytes read are counted and capped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::binary::{BinaryFormat, HEADER_BYTES, identify};
use crate::model::diagnose::BinaryFacts;
use crate::model::digest::StreamHasher;
use crate::model::manifest::{Descriptor, ImageConfig};

use super::error::RegistryError;
use super::fetch::Source;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Default cap on compressed bytes read from layers.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;
const MAX_STEPS: usize = 40;

/// What the topmost layer that mentions a path says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    /// A regular file: its first bytes.
    File { head: Vec<u8> },
    /// A symlink or hard link at the path (or at one of its parent directories): the path
    /// to continue with.
    Redirect { to: String },
    /// Deleted by a whiteout in a newer layer.
    Deleted,
}

fn clean(p: &str) -> String {
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

fn join(dir: &str, target: &str) -> String {
    if target.starts_with('/') { clean(target) } else { clean(&format!("{dir}/{target}")) }
}

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// What one layer holds, recorded as its tar stream passes, so a layer is read at most once
/// for all the paths a diagnosis looks up (a reading that stopped early knows a prefix).
#[derive(Debug, Default, Clone)]
pub struct LayerIndex {
    entries: HashMap<String, Indexed>,
    whiteouts: std::collections::HashSet<String>,
    /// Directories marked opaque (`""`: the root).
    opaque: Vec<String>,
    /// The whole layer was read: a path it does not mention is not in it.
    complete: bool,
    /// Bytes of file heads kept so far.
    kept: usize,
}

#[derive(Debug, Clone)]
enum Indexed {
    /// A regular file and its first bytes, when kept.
    File(Option<Vec<u8>>),
    /// A hard link: the path it names.
    HardLink(String),
    /// A symbolic link: its target as written.
    Symlink(String),
    /// A directory or anything else that is no answer by itself.
    Other,
}

/// File heads kept per layer: executables are kept first; past this, heads are read again
/// if ever needed.
const MAX_KEPT_HEADS: usize = 16 << 20;

/// A 32-bit ARM program read whole for its ARM level, up to this size.
const MAX_ARM_FILE: u64 = 16 << 20;

impl LayerIndex {
    /// What this layer says about `wanted`: `Some(answer)` when the index can tell, `None`
    /// when the layer must be read (again) to know.
    pub fn lookup(&self, wanted: &str) -> Option<Option<Hit>> {
        let ancestors: Vec<&str> = wanted.match_indices('/').map(|(i, _)| &wanted[..i]).collect();
        if self.whiteouts.contains(wanted) || ancestors.iter().any(|a| self.whiteouts.contains(*a)) {
            return Some(Some(Hit::Deleted));
        }
        match self.entries.get(wanted) {
            Some(Indexed::File(Some(head))) => return Some(Some(Hit::File { head: head.clone() })),
            Some(Indexed::File(None)) => return None,
            Some(Indexed::HardLink(to)) => return Some(Some(Hit::Redirect { to: to.clone() })),
            Some(Indexed::Symlink(target)) => return Some(Some(Hit::Redirect { to: join(parent(wanted), target) })),
            Some(Indexed::Other) | None => {}
        }
        // A symlinked parent directory (`bin` → `usr/bin`) redirects everything below it.
        for a in &ancestors {
            if let Some(Indexed::Symlink(target)) = self.entries.get(*a) {
                let rest = wanted.get(a.len() + 1..).unwrap_or("");
                return Some(Some(Hit::Redirect { to: join(parent(a), &format!("{target}/{rest}")) }));
            }
        }
        if !self.complete {
            return None;
        }
        let hidden = self.opaque.iter().any(|d| d.is_empty() || wanted.starts_with(&format!("{d}/")));
        Some(if hidden { Some(Hit::Deleted) } else { None })
    }
}

/// Read one layer's tar stream into `index`, stopping as soon as `wanted` (a clean path
/// without a leading slash) is answered; at the end of the stream the index is complete.
pub fn index_tar(reader: impl Read, wanted: &str, index: &mut LayerIndex) -> std::io::Result<Option<Hit>> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let path = clean(&raw);
        let name = path.rsplit('/').next().unwrap_or("");
        let dir = parent(&path).to_string();
        if let Some(deleted) = name.strip_prefix(".wh.") {
            if deleted == ".wh..opq" {
                index.opaque.push(dir);
            } else {
                index.whiteouts.insert(join(&dir, deleted));
            }
        } else {
            let kind = entry.header().entry_type();
            let indexed = if kind.is_symlink() {
                Indexed::Symlink(entry.link_name()?.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default())
            } else if kind.is_hard_link() {
                Indexed::HardLink(clean(&entry.link_name()?.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default()))
            } else if kind.is_file() {
                let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
                if path == wanted || (executable && index.kept < MAX_KEPT_HEADS) {
                    let mut head = Vec::with_capacity(HEADER_BYTES);
                    (&mut entry).take(HEADER_BYTES as u64).read_to_end(&mut head)?;
                    // A 32-bit ARM program keeps its section headers at the end: its ARM level
                    // (`.ARM.attributes`) needs the whole file.
                    let arm32 = head.starts_with(b"\x7fELF") && head.get(4) == Some(&1) && head.get(18..20) == Some(&[40, 0][..]);
                    if arm32 {
                        let room = MAX_ARM_FILE.saturating_sub(head.len() as u64);
                        (&mut entry).take(room).read_to_end(&mut head)?;
                    }
                    index.kept += head.len();
                    Indexed::File(Some(head))
                } else {
                    Indexed::File(None)
                }
            } else {
                Indexed::Other
            };
            index.entries.insert(path, indexed);
        }
        // Stop once the path is answered by what was read so far.
        if let Some(answer @ Some(_)) = index.lookup(wanted) {
            return Ok(answer);
        }
    }
    index.complete = true;
    Ok(index.lookup(wanted).flatten())
}

/// Scan one layer's tar stream for `wanted` (clean paths without a leading slash). Stops at
/// the first hit; `None` if the layer does not mention the path.
pub fn scan_tar(reader: impl Read, wanted: &str) -> std::io::Result<Option<Hit>> {
    index_tar(reader, wanted, &mut LayerIndex::default())
}

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

/// A `Read` over chunks pushed from the async side, counting into `read` and refusing to go
/// past `cap`.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, RegistryError>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            // Runs on a blocking thread (spawn_blocking), never on the async runtime.
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
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

/// When the answer comes with less than this left of a layer, the rest is read anyway so the
/// layer is checked against its digest.
const VERIFY_TAIL: u64 = 1 << 20;

/// Reads layers of one image and resolves paths in its merged filesystem.
pub struct LayerReader {
    source: Source,
    repo: String,
    /// Newest first.
    layers: Vec<Descriptor>,
    pub bytes_read: Arc<AtomicU64>,
    max_bytes: u64,
    /// What each layer holds, as far as it was read: each layer is read once for all paths.
    indexes: Vec<LayerIndex>,
    /// Layers read only in part (the answer came before their end), so not checked against
    /// their digest: said in the diagnosis.
    pub partial: std::sync::Mutex<Vec<String>>,
}

impl LayerReader {
    pub fn new(source: Source, repo: &str, layers: &[Descriptor], max_bytes: u64) -> LayerReader {
        LayerReader {
            source,
            repo: repo.to_string(),
            layers: layers.iter().rev().cloned().collect(),
            bytes_read: Arc::new(AtomicU64::new(0)),
            max_bytes,
            indexes: vec![LayerIndex::default(); layers.len()],
            partial: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn scan_layer(&self, i: usize, wanted: &str, index: LayerIndex) -> Result<(Option<Hit>, LayerIndex), RegistryError> {
        let Some(layer) = self.layers.get(i) else { return Ok((None, index)) };
        let media_type = layer.media_type.clone();
        let wanted_owned = wanted.to_string();
        let other = |e: String| RegistryError::Other { detail: format!("layer {}: {e}", layer.digest.short()) };
        let Some(mut hasher) = StreamHasher::for_digest(&layer.digest) else {
            return Err(other(format!("its digest algorithm {} cannot be verified, so it is not read", layer.digest.algorithm())));
        };
        let mismatch = |got: u64, actual: Result<(), crate::model::digest::DigestMismatch>| -> Result<(), RegistryError> {
            if got != layer.size {
                return Err(other(format!("{got} bytes where its descriptor declares {}: the verdict cannot rest on it", layer.size)));
            }
            actual.map_err(|mismatch| RegistryError::DigestMismatch { registry: self.source.name(), what: format!("layer {}", layer.digest), mismatch })
        };
        match &self.source {
            Source::Layout(l) => {
                let path = l.root().join("blobs").join(layer.digest.algorithm()).join(layer.digest.encoded());
                let counter = self.bytes_read.clone();
                let declared = layer.size;
                let mut index = index;
                let (max, cancelled) = (self.max_bytes, Arc::new(std::sync::atomic::AtomicBool::new(false)));
                let _guard = CancelOnDrop(cancelled.clone());
                let (hit, index, got, checked) = tokio::task::spawn_blocking(move || -> Result<_, String> {
                    let f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                    let hashing = Arc::new(std::sync::Mutex::new((hasher, 0u64)));
                    let counted = CountingReader { inner: HashingReader { inner: f.take(declared), state: hashing.clone() }, counter, max, cancelled };
                    let r = decompressed(counted, &media_type).map_err(|e| e.to_string())?;
                    let hit = index_tar(r, &wanted_owned, &mut index).map_err(|e| e.to_string())?;
                    let (mut hasher, mut got) = hashing.lock().map_err(|e| e.to_string())?.clone();
                    // Little left: read it too, so the layer is checked against its digest.
                    if declared.saturating_sub(got) <= VERIFY_TAIL {
                        let mut rest = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                        std::io::Seek::seek(&mut rest, std::io::SeekFrom::Start(got)).map_err(|e| e.to_string())?;
                        let mut tail = Vec::new();
                        rest.take(VERIFY_TAIL + 1).read_to_end(&mut tail).map_err(|e| e.to_string())?;
                        got += tail.len() as u64;
                        hasher.update(&tail);
                        return Ok((hit, index, Some(got), hasher));
                    }
                    // Stopped early with much left: said to be read in part.
                    Ok((hit, index, None, hasher))
                })
                .await
                .map_err(|e| other(e.to_string()))?
                .map_err(other)?;
                match got {
                    Some(got) => mismatch(got, checked.verify(&layer.digest))?,
                    None => {
                        if let Ok(mut p) = self.partial.lock() {
                            p.push(format!(
                                "layer {} was read in part because the answer came before its end, so it was not checked against its digest",
                                layer.digest.short()
                            ));
                        }
                    }
                }
                Ok((hit, index))
            }
            Source::Registry(client) => {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, RegistryError>>(2);
                let mut index = index;
                let scan = tokio::task::spawn_blocking(move || -> Result<(Option<Hit>, LayerIndex), String> {
                    let reader = ChunkReader { rx, buf: Vec::new(), pos: 0 };
                    let r = decompressed(reader, &media_type).map_err(|e| e.to_string())?;
                    let hit = index_tar(r, &wanted_owned, &mut index).map_err(|e| e.to_string())?;
                    Ok((hit, index))
                    // Dropping the reader here closes the channel: the download stops.
                });
                let mut resp = client.open_blob(&self.repo, &layer.digest).await?;
                let mut got: u64 = 0;
                let mut complete = false;
                let mut scanner_done = false;
                loop {
                    if self.bytes_read.load(Ordering::Relaxed) >= self.max_bytes {
                        let _ = tx
                            .send(Err(RegistryError::Other { detail: format!("stopped after reading {} bytes of layers (--max-bytes)", self.max_bytes) }))
                            .await;
                        break;
                    }
                    match client.next_chunk(&mut resp).await {
                        Ok(Some(chunk)) => {
                            self.bytes_read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                            got += chunk.len() as u64;
                            if got > layer.size {
                                let _ = tx.send(Err(other(format!("more bytes than the {} its descriptor declares", layer.size)))).await;
                                break;
                            }
                            hasher.update(&chunk);
                            // Fails once the scanner has its answer and hung up: stop reading,
                            // unless so little is left that reading it to verify costs nothing.
                            if !scanner_done && tx.send(Ok(chunk)).await.is_err() {
                                scanner_done = true;
                            }
                            if scanner_done && layer.size - got > VERIFY_TAIL {
                                break;
                            }
                        }
                        Ok(None) => {
                            complete = true;
                            break;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            break;
                        }
                    }
                }
                drop(tx);
                drop(resp);
                let hit = scan.await.map_err(|e| other(e.to_string()))?;
                if complete {
                    // Read to its end: the bytes judged must be the layer's, whatever was found.
                    mismatch(got, hasher.verify(&layer.digest))?;
                    let digest = layer.digest.short();
                    if let Ok(mut p) = self.partial.lock() {
                        p.retain(|n| !n.contains(&digest));
                    }
                } else if hit.is_ok() {
                    let digest = layer.digest.short();
                    if let Ok(mut p) = self.partial.lock() {
                        // A layer read again from its start replaces its earlier note.
                        p.retain(|n| !n.contains(&digest));
                        p.push(format!(
                            "layer {} was read in part ({} of {}) because the answer came before its end, so it was not checked against its digest",
                            layer.digest.short(),
                            crate::model::units::human_bytes(got),
                            crate::model::units::human_bytes(layer.size)
                        ));
                    }
                }
                hit.map_err(other)
            }
        }
    }

    /// The topmost layer's word on `path`. A layer is read only when its index cannot tell.
    pub async fn find(&mut self, path: &str) -> Result<Option<Hit>, RegistryError> {
        let path = clean(path);
        for i in 0..self.layers.len() {
            let known = self.indexes.get(i).and_then(|ix| ix.lookup(&path));
            let hit = match known {
                Some(answer) => answer,
                None => {
                    // Read from its start, so the index is rebuilt from nothing.
                    let (h, index) = self.scan_layer(i, &path, LayerIndex::default()).await?;
                    if let Some(slot) = self.indexes.get_mut(i) {
                        *slot = index;
                    }
                    h
                }
            };
            if hit.is_some() {
                return Ok(hit);
            }
        }
        Ok(None)
    }

    /// Find an executable: follow links, and `#!` scripts to their interpreter.
    pub async fn resolve_executable(&mut self, start: &str, path_env: &[String]) -> Result<BinaryFacts, RegistryError> {
        let mut path = clean(start);
        let mut via: Vec<String> = Vec::new();
        for _ in 0..MAX_STEPS {
            match self.find(&path).await? {
                Some(Hit::Redirect { to }) => path = to,
                Some(Hit::File { head }) => {
                    let id = identify(&head);
                    if id.problem.is_some() {
                        // A script the kernel will refuse: that is the answer.
                        return Ok(BinaryFacts::Found { path: format!("/{path}"), id, via });
                    }
                    if id.format == BinaryFormat::Script {
                        let Some((interp, arg)) = id.interpreter.clone() else {
                            return Ok(BinaryFacts::Unknown { reason: format!("/{path} has an empty #! line") });
                        };
                        via.push(format!("/{path}"));
                        let interp = if interp.ends_with("/env") {
                            match arg {
                                Some(prog) => match self.search_path(&prog, path_env).await? {
                                    Some(p) => p,
                                    None => {
                                        return Ok(BinaryFacts::Unknown { reason: format!("/{path} runs `{prog}` through env, and no {prog} is on PATH") });
                                    }
                                },
                                None => interp,
                            }
                        } else {
                            interp
                        };
                        path = clean(&interp);
                        continue;
                    }
                    return Ok(BinaryFacts::Found { path: format!("/{path}"), id, via });
                }
                Some(Hit::Deleted) => {
                    return Ok(BinaryFacts::Unknown { reason: format!("/{path} was deleted by a whiteout in a newer layer") });
                }
                None => return Ok(BinaryFacts::Unknown { reason: format!("/{path} is not in any layer") }),
            }
        }
        Ok(BinaryFacts::Unknown { reason: format!("gave up following links from {start} after {MAX_STEPS} steps") })
    }

    /// The first `dir/name` on PATH that exists.
    pub async fn search_path(&mut self, name: &str, path_env: &[String]) -> Result<Option<String>, RegistryError> {
        for dir in path_env {
            let candidate = join(dir, name);
            if matches!(self.find(&candidate).await?, Some(Hit::File { .. }) | Some(Hit::Redirect { .. })) {
                return Ok(Some(format!("/{candidate}")));
            }
        }
        Ok(None)
    }
}

/// A layer file read from a layout folder: counted, stopped at `max` bytes of layers in all,
/// and stopped when `cancelled` (the diagnosis was cancelled or dropped).
struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
    max: u64,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
        }
        if self.counter.load(Ordering::Relaxed) >= self.max {
            return Err(std::io::Error::other(format!("stopped after reading {} bytes of layers (--max-bytes)", self.max)));
        }
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Hashes what passes through, counting it.
struct HashingReader<R> {
    inner: R,
    state: Arc<std::sync::Mutex<(StreamHasher, u64)>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut s) = self.state.lock() {
            s.0.update(buf.get(..n).unwrap_or_default());
            s.1 += n as u64;
        }
        Ok(n)
    }
}

/// Sets its flag when dropped: a blocking read sees the future that waited for it is gone.
struct CancelOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Resolve a program as the runtime would: a path as is, a bare name through PATH.
async fn resolve_start(reader: &mut LayerReader, start: &str, path_env: &[String]) -> Result<BinaryFacts, RegistryError> {
    if start.starts_with('/') || start.contains('/') {
        return reader.resolve_executable(start, path_env).await;
    }
    match reader.search_path(start, path_env).await? {
        Some(p) => reader.resolve_executable(&p, path_env).await,
        None => Ok(BinaryFacts::Unknown { reason: format!("`{start}` is not on PATH ({})", path_env.join(":")) }),
    }
}

/// The program the container starts: Entrypoint + Cmd, argv[0] resolved against PATH and the
/// working directory.
pub fn entrypoint(config: &ImageConfig) -> Option<(String, Vec<String>)> {
    let argv: Vec<&String> = config.entrypoint.iter().chain(config.cmd.iter()).collect();
    let first = argv.first()?.to_string();
    if config.platform.os == "windows" {
        // Windows layers hold the C: drive under `Files/`.
        let rest = first.strip_prefix("C:").or_else(|| first.strip_prefix("c:")).unwrap_or(&first).replace('\\', "/");
        let system = vec!["Files/Windows/System32".to_string(), "Files/Windows".to_string()];
        if rest.starts_with('/') {
            return Some((clean(&format!("Files/{rest}")), system));
        }
        let name = if rest.contains('.') { rest } else { format!("{rest}.exe") };
        return Some((name, system));
    }
    let path_env: Vec<String> =
        config.env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(DEFAULT_PATH).split(':').filter(|d| !d.is_empty()).map(str::to_string).collect();
    let start = if first.contains('/') && !first.starts_with('/') { join(config.working_dir.as_deref().unwrap_or("/"), &first) } else { first };
    Some((start, path_env))
}

/// The command a shell-form start runs: `["/bin/sh", "-c", "myapp --serve"]` → `myapp --serve`.
pub fn shell_command(config: &ImageConfig) -> Option<String> {
    let argv: Vec<&String> = config.entrypoint.iter().chain(config.cmd.iter()).collect();
    let shell = argv.first()?.rsplit('/').next()?;
    let flag = argv.get(1)?;
    let is_c = flag.starts_with('-') && !flag.starts_with("--") && flag.contains('c');
    (matches!(shell, "sh" | "bash" | "dash" | "ash" | "zsh") && is_c).then(|| argv.get(2).map(|c| c.to_string())).flatten()
}

/// The program a shell command starts first: its first word after variable assignments and
/// `exec`, or why it cannot be told (a builtin, an expansion, quoting).
pub fn first_program(command: &str) -> Result<String, String> {
    let mut words = command.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>'));
    let word = loop {
        match words.next() {
            None => return Err("the command is empty".into()),
            Some("") => continue,
            Some("exec") => continue,
            Some(w) if w.contains('=') && !w.starts_with('=') && !w.contains('/') => continue,
            Some(w) => break w,
        }
    };
    const BUILTINS: &[&str] = &[
        "cd", "set", "echo", "printf", "export", "if", "for", "while", "until", "case", "[", "[[", "test", "true", "false", ":", ".", "source", "eval", "trap",
        "ulimit", "umask", "wait", "read", "shift", "{", "!",
    ];
    if BUILTINS.contains(&word) {
        return Err(format!("`{word}` is a shell builtin"));
    }
    if word.contains(['$', '`', '"', '\'', '*', '?', '~']) {
        return Err(format!("`{word}` is expanded by the shell"));
    }
    Ok(word.to_string())
}

/// Examine the entrypoint of an image: which binary runs, and what it is built for.
pub async fn examine(
    source: Source,
    repo: &str,
    layers: &[Descriptor],
    config: &ImageConfig,
    max_bytes: u64,
    bytes: Option<Arc<AtomicU64>>,
) -> Result<(BinaryFacts, u64, Vec<String>), RegistryError> {
    let mut reader = LayerReader::new(source, repo, layers, max_bytes);
    if let Some(b) = bytes {
        reader.bytes_read = b;
    }
    let Some((start, path_env)) = entrypoint(config) else {
        return Ok((BinaryFacts::Unknown { reason: "the config has no Entrypoint or Cmd".into() }, 0, Vec::new()));
    };
    let shell = shell_command(config);
    let mut result = resolve_start(&mut reader, &start, &path_env).await;
    // `sh -c "myapp --serve"`: the shell starts, but myapp is what must run on this CPU.
    if let (Some(command), Ok(BinaryFacts::Found { path: shell_path, id: shell_id, .. })) = (&shell, &result) {
        let shell_arch = shell_id.architecture.clone().unwrap_or_else(|| "unknown architecture".into());
        let (shell_path, shell_problem) = (shell_path.clone(), shell_id.problem.is_some());
        if !shell_problem {
            result = match first_program(command) {
                Ok(program) => {
                    let program =
                        if program.contains('/') && !program.starts_with('/') { join(config.working_dir.as_deref().unwrap_or("/"), &program) } else { program };
                    match resolve_start(&mut reader, &program, &path_env).await {
                        Ok(BinaryFacts::Found { path, id, mut via }) => {
                            via.insert(0, format!("{shell_path} -c"));
                            Ok(BinaryFacts::Found { path, id, via })
                        }
                        Ok(BinaryFacts::Unknown { reason }) => Ok(BinaryFacts::Unknown {
                            reason: format!("the container runs `{shell_path} -c {command:?}`; {reason}, so only the shell ({shell_arch}) was checked"),
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(why) => Ok(BinaryFacts::Unknown {
                    reason: format!(
                        "the container runs `{shell_path} -c {command:?}`; {why}, so the program it starts was not checked, only the shell ({shell_arch})"
                    ),
                }),
            };
        }
    }
    let read = reader.bytes_read.load(Ordering::Relaxed);
    let partial = reader.partial.lock().map(|p| p.clone()).unwrap_or_default();
    match result {
        Ok(facts) => Ok((facts, read, partial)),
        // Hitting the cap is an answer ("could not tell"), not a failure.
        Err(e) if read >= max_bytes && !matches!(e, RegistryError::DigestMismatch { .. }) => {
            Ok((BinaryFacts::Unknown { reason: e.to_string() }, read, partial))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testkit::{Compression, Entry, compress, tar_bytes};

    #[test]
    fn files_links_parent_links_and_whiteouts() {
        let t = tar_bytes(&[
            Entry::symlink("bin", "usr/bin"),
            Entry::file("usr/bin/app", b"\x7fELF..."),
            Entry::symlink("usr/local/bin/tool", "../../bin/app"),
            Entry::whiteout("etc/gone"),
        ]);
        assert!(matches!(scan_tar(&t[..], "usr/bin/app").unwrap(), Some(Hit::File { .. })));
        assert_eq!(scan_tar(&t[..], "bin/app").unwrap(), Some(Hit::Redirect { to: "usr/bin/app".into() }));
        assert_eq!(scan_tar(&t[..], "usr/local/bin/tool").unwrap(), Some(Hit::Redirect { to: "usr/bin/app".into() }));
        assert_eq!(scan_tar(&t[..], "etc/gone").unwrap(), Some(Hit::Deleted));
        assert_eq!(scan_tar(&t[..], "nothing/here").unwrap(), None);
        let opaque = tar_bytes(&[Entry::file("opt/.wh..wh..opq", b"")]);
        assert_eq!(scan_tar(&opaque[..], "opt/app").unwrap(), Some(Hit::Deleted));
    }

    #[test]
    fn zstd_layers_of_several_frames_and_skippable_frames_are_read_whole() {
        use crate::testkit::{Compression, Entry, compress, tar_bytes};
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
        assert!(matches!(scan_tar(r, "usr/bin/app").unwrap(), Some(Hit::File { ref head }) if head == b"\x7fELF-late"));
        let mut all = Vec::new();
        decompressed(&layer[..], "").unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all, tar);
    }

    #[test]
    fn windows_entrypoints_live_under_files() {
        let mut c = ImageConfig {
            platform: crate::model::Platform::new("windows", "amd64", ""),
            entrypoint: vec!["C:\\app\\server.exe".into()],
            ..ImageConfig::default()
        };
        assert_eq!(entrypoint(&c).unwrap().0, "Files/app/server.exe");
        c.entrypoint = vec!["cmd".into(), "/S".into()];
        let (start, path) = entrypoint(&c).unwrap();
        assert_eq!((start.as_str(), path[0].as_str()), ("cmd.exe", "Files/Windows/System32"));
    }

    #[test]
    fn shell_form_commands() {
        let mut c = ImageConfig { cmd: vec!["/bin/sh".into(), "-c".into(), "myapp --serve".into()], ..ImageConfig::default() };
        assert_eq!(shell_command(&c).as_deref(), Some("myapp --serve"));
        c.cmd = vec!["bash".into(), "-ec".into(), "exec ./run".into()];
        assert_eq!(shell_command(&c).as_deref(), Some("exec ./run"));
        c.cmd = vec!["/app".into(), "-c".into(), "x".into()];
        assert_eq!(shell_command(&c), None);
        assert_eq!(first_program("myapp --serve").unwrap(), "myapp");
        assert_eq!(first_program("  A=1 B=2 exec /opt/app arg").unwrap(), "/opt/app");
        assert_eq!(first_program("./run.sh; echo done").unwrap(), "./run.sh");
        assert!(first_program("cd /srv && ./app").unwrap_err().contains("builtin"));
        assert!(first_program("$APP --x").unwrap_err().contains("expanded"));
        assert!(first_program("   ").is_err());
    }

    #[test]
    fn entrypoint_and_cmd() {
        let mut c = ImageConfig::default();
        assert!(entrypoint(&c).is_none());
        c.cmd = vec!["app".into(), "--x".into()];
        c.env = vec!["PATH=/opt/bin:/bin".into()];
        assert_eq!(entrypoint(&c), Some(("app".into(), vec!["/opt/bin".into(), "/bin".into()])));
        c.entrypoint = vec!["./run.sh".into()];
        c.working_dir = Some("/srv".into());
        assert_eq!(entrypoint(&c).unwrap().0, "srv/run.sh");
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
            let r = decompressed(&bytes[..], mt).unwrap();
            assert!(matches!(scan_tar(r, "a").unwrap(), Some(Hit::File { ref head }) if head == b"hello"), "{mt}");
        }
    }
}
