//! Mutation fuzzing of every parser that reads registry, file or command-line input, inside
//! the normal test suite and bounded by count: the fixture corpus (real manifests, indexes,
//! configs and layouts from public projects) plus built layers and binaries, mutated by a
//! seeded generator (bit flips, byte changes, truncation, duplication, splices, deep nesting,
//! huge numbers). The property is the same everywhere: an answer or an error, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::Path;

use archlens::model::binary::identify;
use archlens::model::digest::Digest;
use archlens::model::manifest::{ImageConfig, ManifestView, parse_layout_marker};
use archlens::model::platform::Platform;
use archlens::model::reference::{Reference, Repository};
use archlens::registry::client::{parse_challenge, parse_next_link};
use archlens::registry::layers::{decompressed, scan_tar};

/// Time spent per parser family: bounded, so the suite stays quick.
/// Mutants per target: a count, not a time, so a loaded machine runs the same inputs.
const INPUTS: usize = 4000;

/// A small seeded generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"18446744073709551615",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"\"sha256:",
    b"\"mediaType\"",
    b"\"manifests\"",
    b"\"platform\"",
    b"\"variant\":\"v4294967295\"",
    b"\x1b[2J",
    b"\xff\xfe",
    b"../",
    b"/",
    b"@",
    b":",
    b"%",
    b"\0",
];

fn mutate(rng: &mut Rng, seed: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(8) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(b.len() + 1);
                b.splice(i..i, t.iter().copied());
            }
            4 if !b.is_empty() => {
                // Duplicate a slice.
                let i = rng.below(b.len());
                let j = (i + rng.below(64)).min(b.len());
                let piece = b[i..j].to_vec();
                b.splice(j..j, piece);
            }
            5 if !corpus.is_empty() => {
                // Splice another corpus entry in.
                let other = &corpus[rng.below(corpus.len())];
                let i = rng.below(b.len() + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(i);
                b.extend_from_slice(&other[from..]);
            }
            6 => {
                // Deep nesting.
                let depth = rng.below(20_000);
                let mut nested = vec![b'['; depth];
                nested.extend(std::iter::repeat_n(b']', depth));
                let i = rng.below(b.len() + 1);
                b.splice(i..i, nested);
            }
            _ => {}
        }
    }
    b
}

/// Run `check` on the seeds themselves, then on [`INPUTS`] mutants from a fixed seed (the same
/// inputs every run, whatever the machine's load). An input that makes `check` panic is
/// written to a file the failure names, so it can be replayed.
fn fuzz(name: &str, seeds: &[Vec<u8>], mut check: impl FnMut(&[u8])) -> usize {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut rng = Rng(0x5eed_0000 ^ name.len() as u64 ^ seeds.len() as u64);
    let mut run = |n: usize, input: &[u8]| {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input))).is_err() {
            let dir = std::env::temp_dir().join("archlens-fuzz-failures");
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{n}.bin"));
            let written = std::fs::write(&file, input).map(|_| file.display().to_string()).unwrap_or_else(|e| format!("(could not be written: {e})"));
            panic!("{name}: input #{n} failed ({} bytes); it is in {written}", input.len());
        }
    };
    for (n, s) in seeds.iter().enumerate() {
        run(n, s);
    }
    for n in 0..INPUTS {
        let seed = &seeds[rng.below(seeds.len())];
        let m = mutate(&mut rng, seed, seeds);
        run(seeds.len() + n, &m);
    }
    INPUTS
}

fn json_corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let root = common::fixtures();
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(b) = std::fs::read(&p)
                && b.len() < 256 * 1024
                && b.first().is_some_and(|c| *c == b'{')
            {
                out.push(b);
            }
        }
    }
    walk(&root.join("manifests"), &mut out);
    walk(&root.join("layouts"), &mut out);
    assert!(out.len() > 100, "the fixture corpus is there ({} JSON files)", out.len());
    out
}

#[test]
fn manifest_index_config_and_layout_marker_views() {
    let corpus = json_corpus();
    let n = fuzz("views", &corpus, |b| {
        if let Ok(v) = ManifestView::parse(b) {
            let _ = v.compressed_size();
            let _ = v.entries();
        }
        let _ = ImageConfig::parse(b);
        let _ = parse_layout_marker(b);
        let _ = archlens::model::manifest::Descriptor::parse(b);
    });
    eprintln!("views: {n} mutants");
}

fn strings(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn references_platforms_and_digests() {
    let seeds = strings(&[
        "nginx",
        "ghcr.io/org/app:1.0",
        "127.0.0.1:5000/team/app@sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
        "[::1]:5000/a/b:c",
        "oci:/tmp/x:v1",
        "oci:dir@sha512:00",
        "linux/arm/v7",
        "windows/amd64:10.0.20348.2322",
        "linux(5.0+feat)/arm64/v8.2",
        "darwin/arm64",
        "linux/amd64/v4294967295",
        "sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b",
        "md5:abc",
    ]);
    fuzz("references", &seeds, |b| {
        let s = String::from_utf8_lossy(b);
        if let Ok(r) = Reference::parse(&s) {
            let _ = r.to_string();
            let _ = Reference::parse(&r.to_string());
        }
        let _ = Reference::names_tag(&s);
        let _ = Repository::parse(&s);
        if let Ok(p) = Platform::parse(&s) {
            let m = archlens::model::platform::Matcher::only(&p);
            let _ = m.matches(&p.normalize());
        }
        let _ = Platform::parse_key(&s);
        let _ = Platform::parse_complete(&s);
        if let Ok(d) = Digest::parse(&s) {
            let _ = d.short();
            let _ = d.verify(b);
        }
    });
}

#[test]
fn link_and_challenge_headers() {
    let seeds = strings(&[
        r#"</v2/_catalog?last=b&n=2>; rel="next""#,
        r#"<https://other.example/v2/x>; rel=next, <x>; rel="prev""#,
        r#"Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull,push""#,
        r#"Basic realm="x""#,
        r#"Bearer realm="a\"b",error="insufficient_scope""#,
    ]);
    fuzz("headers", &seeds, |b| {
        let s = String::from_utf8_lossy(b);
        let _ = parse_next_link(&s);
        let _ = parse_challenge(&s);
    });
}

#[test]
fn tar_scanning_and_decompression() {
    use archlens::testkit::{Compression, Entry, compress, tar_bytes};
    let tar = tar_bytes(&[
        Entry::symlink("bin", "usr/bin"),
        Entry::file("usr/bin/app", b"\x7fELF\x02\x01\x01"),
        Entry::symlink("usr/local/bin/tool", "../../bin/app"),
        Entry::whiteout("etc/gone"),
        Entry::file("opt/.wh..wh..opq", b""),
    ]);
    let seeds = vec![tar.clone(), compress(&tar, Compression::Gzip), compress(&tar, Compression::Zstd)];
    fuzz("tar", &seeds, |b| {
        for mt in ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar", ""] {
            if let Ok(r) = decompressed(b, mt) {
                // Bounded: a bomb cannot make this run long, the scan stops at the answer.
                let _ = scan_tar(std::io::Read::take(r, 4 << 20));
            }
        }
    });
}

#[test]
fn executable_headers() {
    let mut seeds = vec![common::diag::gcc_x86_64()[..4096.min(common::diag::gcc_x86_64().len())].to_vec()];
    for arch in ["arm64", "arm", "386", "ppc64le", "s390x", "riscv64"] {
        seeds.push(common::diag::elf_for(arch)[..512].to_vec());
    }
    seeds.push(archlens::model::binary::elf_arm_with_cpu_arch(10));
    seeds.push(archlens::model::binary::elf_arm_with_cpu_arch(6));
    seeds.push(b"MZ\x90\x00".to_vec());
    seeds.push(b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01".to_vec());
    seeds.push(b"\xca\xfe\xba\xbe\x00\x00\x00\x02".to_vec());
    seeds.push(b"#!/bin/sh\nexec app\n".to_vec());
    fuzz("binaries", &seeds, |b| {
        let _ = identify(b);
    });
}

#[test]
fn journal_and_settings_readers() {
    let dir = tempfile::tempdir().unwrap();
    let journal = archlens::registry::journal::Journal::at(dir.path().join("journal.jsonl"));
    let d = Digest::sha256(b"x");
    let id = journal.begin("push", "127.0.0.1:5000/a:1", None, Some(&d), None).unwrap();
    journal.finish(&id, archlens::registry::journal::Outcome::Done).unwrap();
    let good_journal = std::fs::read(journal.path()).unwrap();
    let settings = serde_json::to_vec(&archlens::settings::Settings::default()).unwrap();
    let seeds = vec![good_journal, settings];
    fuzz("journal+settings", &seeds, |b| {
        std::fs::write(journal.path(), b).unwrap();
        let contents = journal.read().unwrap();
        let _ = contents.warning(journal.path());
        let _ = archlens::registry::compose::plan_undo(&contents, None);
        let _ = serde_json::from_slice::<archlens::settings::Settings>(b);
    });
}

#[test]
fn layout_folders() {
    use archlens::registry::OciDir as Layout;
    // Seeds: the index.json of every layout among the fixtures, and one naming tags.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut stack = vec![common::fixtures()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "index.json")
                && let Ok(b) = std::fs::read(&p)
            {
                seeds.push(b);
            }
        }
    }
    seeds.push(br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}"#.to_vec());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fuzz("layout", &seeds, |b| {
        std::fs::write(dir.path().join("index.json"), b).unwrap();
        if let Ok(l) = Layout::open(dir.path()) {
            for t in l.tags().unwrap_or_default() {
                // The blobs are absent: an error, never a panic or a read outside the folder.
                let _ = l.manifest(&t, Some(64));
            }
        }
    });
}

#[test]
fn the_exec_chain_over_fuzzed_layers() {
    use archlens::model::exec::{DEFAULT_PATH, Start, follow};
    use archlens::model::rootfs::Rootfs;
    use archlens::testkit::{Entry, tar_bytes};
    let elf = archlens::model::binary::elf_with_interp(62, true, "/lib64/ld-linux-x86-64.so.2");
    let tar = tar_bytes(&[
        Entry::symlink("bin", "usr/bin"),
        Entry::symlink("lib64", "usr/lib64"),
        Entry::file("usr/bin/sh", &elf),
        Entry::hard_link("usr/bin/dash", "usr/bin/sh"),
        Entry::file("usr/lib64/ld-linux-x86-64.so.2", &archlens::model::binary::elf_header(62, true, true)),
        Entry::file("entrypoint.sh", b"#!/usr/bin/env -S sh -e\nset -- app \"$@\"\nexec \"$@\"\n"),
        Entry::file("usr/bin/env", &elf),
        Entry::symlink("usr/bin/app", "../../loop"),
        Entry::symlink("loop", "usr/bin/app"),
        Entry::file("opt/.wh..wh..opq", b""),
    ]);
    let argvs: [&[&str]; 3] = [&["/entrypoint.sh", "x"], &["/bin/sh", "-c", "cd /opt && exec app"], &["app"]];
    fuzz("exec chain", &[tar], |b| {
        let Ok(tree) = scan_tar(b) else { return };
        let mut fs = Rootfs::new(1);
        *fs.layer_mut(0).unwrap() = tree;
        for argv in argvs {
            let start = Start {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                path: DEFAULT_PATH.split(':').map(str::to_string).collect(),
                cwd: "/".into(),
                windows: false,
            };
            // Always an answer (or a request for a head the scan did not keep), never a panic
            // or an endless walk.
            let _ = follow(&fs, &start);
        }
    });
}
