//! The diagnosis corpus: images built from real programs of Debian's packages for seven
//! architectures (`scripts/debian-binaries.sh`), pushed to the real registry and diagnosed for
//! a host. Each case's expected verdict is what the runtime and the kernel do, and where this
//! machine can show it, the test shows it: images for this x86-64 host are unpacked into a
//! root filesystem and started under chroot as a runtime would (PATH search, then execve);
//! foreign programs started directly are run by qemu-user. A case that "runs" must exit 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // A test or bench states what it expects by unwrapping: failing is its job.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use archlens::testkit::{Compression, Entry, Flavour, image_with_layers, index, p};
use serde_json::{Value, json};

fn binaries() -> PathBuf {
    let dir = std::env::var("ARCHLENS_DEBIAN_BINARIES").map(PathBuf::from).unwrap_or_else(|_| common::project_root().join("target/debian-binaries"));
    assert!(
        dir.join(".complete-v1").exists(),
        "the corpus needs real programs from Debian's packages: run scripts/debian-binaries.sh (scripts/test.sh does) or set ARCHLENS_DEBIAN_BINARIES"
    );
    dir
}

/// A file of a Debian package (`busybox-static-arm64`, `bin/busybox`).
fn deb(package: &str, path: &str) -> Vec<u8> {
    let f = binaries().join(package).join(path);
    std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
}

fn busybox(arch: &str) -> Vec<u8> {
    deb(&format!("busybox-static-{arch}"), "bin/busybox")
}

fn hello(arch: &str) -> Vec<u8> {
    deb(&format!("hello-{arch}"), "usr/bin/hello")
}

/// Debian's multiarch triplet and loader name for an architecture.
fn triplet(arch: &str) -> (&'static str, &'static str) {
    match arch {
        "amd64" => ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
        "arm64" => ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
        "armhf" => ("arm-linux-gnueabihf", "ld-linux-armhf.so.3"),
        "armel" => ("arm-linux-gnueabi", "ld-linux.so.3"),
        "i386" => ("i386-linux-gnu", "ld-linux.so.2"),
        other => panic!("no C library for {other} in the corpus"),
    }
}

/// The C library of `arch` as Debian 12 lays it out: the loader and libc.so.6 under
/// /lib/TRIPLET, and the loader's name where programs look for it (/lib64 for amd64).
fn libc(arch: &str) -> Vec<Entry> {
    let (t, ld) = triplet(arch);
    let pkg = format!("libc6-{arch}");
    let mut e = vec![
        Entry::file(&format!("lib/{t}/{ld}"), &deb(&pkg, &format!("lib/{t}/{ld}"))),
        Entry::file_mode(&format!("lib/{t}/libc.so.6"), &deb(&pkg, &format!("lib/{t}/libc.so.6")), 0o644),
    ];
    if arch == "amd64" {
        e.push(Entry::symlink("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
    } else {
        e.push(Entry::symlink(&format!("lib/{ld}"), &format!("{t}/{ld}")));
    }
    e
}

/// The same C library on a merged-/usr base (Debian 12's debootstrap): /lib, /lib64, /bin and
/// /sbin are links into /usr.
fn merged_usr_libc(arch: &str) -> Vec<Entry> {
    let (t, ld) = triplet(arch);
    let pkg = format!("libc6-{arch}");
    let mut e = vec![
        Entry::symlink("bin", "usr/bin"),
        Entry::symlink("sbin", "usr/sbin"),
        Entry::symlink("lib", "usr/lib"),
        Entry::symlink("lib64", "usr/lib64"),
        Entry::file(&format!("usr/lib/{t}/{ld}"), &deb(&pkg, &format!("lib/{t}/{ld}"))),
        Entry::file_mode(&format!("usr/lib/{t}/libc.so.6"), &deb(&pkg, &format!("lib/{t}/libc.so.6")), 0o644),
        Entry::file("usr/bin/busybox", &busybox(arch)),
        Entry::symlink("usr/bin/sh", "busybox"),
    ];
    if arch == "amd64" {
        e.push(Entry::symlink("usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
    }
    e
}

/// How the ground truth is shown for a case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Truth {
    /// Started under chroot on this x86-64 machine: exit 0 means it runs.
    Chroot,
    /// The entrypoint (an ELF program) started by this qemu-user emulator, with the image as
    /// its root for the loader (and the CPU model, for ARM levels).
    Qemu(&'static str, Option<&'static str>),
    /// Nothing on this machine can show it; the expected verdict is argued in the case.
    Argued,
}

struct Case {
    tag: &'static str,
    /// The platform of the index entry (and of its config, unless `config` says otherwise).
    label: &'static str,
    host: &'static str,
    layers: Vec<Vec<Entry>>,
    config: Value,
    verdict: &'static str,
    /// A finding kind the diagnosis must hold, and words its message must hold.
    finding: Option<(&'static str, &'static str)>,
    truth: Truth,
}

fn case(tag: &'static str, label: &'static str, host: &'static str, layers: Vec<Vec<Entry>>, config: Value, verdict: &'static str, truth: Truth) -> Case {
    Case { tag, label, host, layers, config, verdict, finding: None, truth }
}

impl Case {
    fn says(mut self, kind: &'static str, words: &'static str) -> Case {
        self.finding = Some((kind, words));
        self
    }
}

fn amd64_hello_image() -> Vec<Entry> {
    let mut l = libc("amd64");
    l.push(Entry::file("usr/bin/hello", &hello("amd64")));
    l
}

fn cases() -> Vec<Case> {
    use Truth::*;
    let ep = |argv: &[&str]| json!({ "Entrypoint": argv, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] });
    let bb_true = |arch: &str| vec![vec![Entry::file("bin/busybox", &busybox(arch))]];
    let mut v = vec![
        // --- Static programs, each on a host of its own architecture (Debian's busybox-static).
        case("bb-amd64", "linux/amd64", "x86-64", bb_true("amd64"), ep(&["/bin/busybox", "true"]), "ok", Chroot),
        case("bb-arm64", "linux/arm64", "arm64-server", bb_true("arm64"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-aarch64-static", None)),
        case("bb-armhf", "linux/arm/v7", "rpi32", bb_true("armhf"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-arm-static", None)),
        // Debian armel is ARMv5TE code: it runs on a Pi Zero (ARMv6).
        case("bb-armel", "linux/arm/v6", "rpi-zero", bb_true("armel"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-arm-static", Some("arm1176"))),
        case("bb-ppc64el", "linux/ppc64le", "linux/ppc64le", bb_true("ppc64el"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-ppc64le-static", None)),
        case("bb-s390x", "linux/s390x", "linux/s390x", bb_true("s390x"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-s390x-static", None)),
        // An i386 image picked on x86-64 by containerd's fallback, and run in its 32-bit mode.
        case("bb-i386", "linux/386", "x86-64", bb_true("i386"), ep(&["/bin/busybox", "true"]), "fallback", Chroot),
        // --- Programs of another architecture than their entry.
        case("arm64-in-amd64", "linux/amd64", "x86-64", bb_true("arm64"), ep(&["/bin/busybox", "true"]), "binary-mismatch", Chroot)
            .says("binary-mismatch", "built for arm64"),
        case("amd64-in-arm64", "linux/arm64", "arm64-server", bb_true("amd64"), ep(&["/bin/busybox", "true"]), "binary-mismatch", Argued)
            .says("binary-mismatch", "exec format error"),
        case("s390x-in-amd64", "linux/amd64", "x86-64", bb_true("s390x"), ep(&["/bin/busybox", "true"]), "binary-mismatch", Chroot),
        // An i386 program in the amd64 entry runs on x86-64 (the label is still wrong) …
        case("i386-in-amd64", "linux/amd64", "x86-64", bb_true("i386"), ep(&["/bin/busybox", "true"]), "ok", Chroot).says("binary-label", "32-bit mode"),
        // … and on Apple silicon only through emulation.
        case("i386-in-amd64-mac", "linux/amd64", "apple-silicon", bb_true("i386"), ep(&["/bin/busybox", "true"]), "emulation", Argued),
        // ARMv7 code in an arm64 entry: a Pi 4 runs it in its 32-bit mode; an M-series Mac
        // has none and emulates; a server depends on its CPU.
        case("armhf-in-arm64-pi", "linux/arm64", "rpi64", bb_true("armhf"), ep(&["/bin/busybox", "true"]), "ok", Qemu("qemu-arm-static", None))
            .says("binary-label", "32-bit mode"),
        case("armhf-in-arm64-mac", "linux/arm64", "apple-silicon", bb_true("armhf"), ep(&["/bin/busybox", "true"]), "emulation", Argued),
        case("armhf-in-arm64-server", "linux/arm64", "arm64-server", bb_true("armhf"), ep(&["/bin/busybox", "true"]), "fallback", Argued)
            .says("fallback", "Graviton3"),
        // ARMv7 code (Debian armhf) in an arm/v6 entry: an ARM1176 stops it (SIGILL).
        case(
            "armhf-in-armv6",
            "linux/arm/v6",
            "rpi-zero",
            bb_true("armhf"),
            ep(&["/bin/busybox", "true"]),
            "binary-mismatch",
            Qemu("qemu-arm-static", Some("arm1176")),
        )
        .says("arm-level", "ARMv7"),
        // --- Dynamically linked programs and their loaders.
        case("hello-amd64", "linux/amd64", "x86-64", vec![amd64_hello_image()], ep(&["/usr/bin/hello"]), "ok", Chroot),
        case("hello-scratch", "linux/amd64", "x86-64", vec![vec![Entry::file("hello", &hello("amd64"))]], ep(&["/hello"]), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "/lib64/ld-linux-x86-64.so.2"),
        // A glibc program on an Alpine-like base: busybox and the musl loader, no glibc loader.
        case(
            "hello-on-musl",
            "linux/amd64",
            "x86-64",
            vec![vec![
                Entry::file("bin/busybox", &busybox("amd64")),
                Entry::file("lib/ld-musl-x86_64.so.1", &busybox("amd64")),
                Entry::file("usr/bin/hello", &hello("amd64")),
            ]],
            ep(&["hello"]),
            "broken-entrypoint",
            Chroot,
        )
        .says("broken-entrypoint", "program loader"),
        case(
            "hello-arm64",
            "linux/arm64",
            "arm64-server",
            vec![{
                let mut l = libc("arm64");
                l.push(Entry::file("usr/bin/hello", &hello("arm64")));
                l
            }],
            ep(&["/usr/bin/hello"]),
            "ok",
            Qemu("qemu-aarch64-static", None),
        ),
        case(
            "hello-arm64-scratch",
            "linux/arm64",
            "arm64-server",
            vec![vec![Entry::file("usr/bin/hello", &hello("arm64"))]],
            ep(&["/usr/bin/hello"]),
            "broken-entrypoint",
            Argued,
        )
        .says("broken-entrypoint", "/lib/ld-linux-aarch64.so.1"),
        // The amd64 loader's name points at arm64's loader: the kernel refuses it (ELIBBAD).
        case(
            "loader-of-arm64",
            "linux/amd64",
            "x86-64",
            vec![vec![
                Entry::file("lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", &deb("libc6-arm64", "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1")),
                Entry::symlink("lib64/ld-linux-x86-64.so.2", "/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"),
                Entry::file("usr/bin/hello", &hello("amd64")),
            ]],
            ep(&["/usr/bin/hello"]),
            "broken-entrypoint",
            Chroot,
        )
        .says("broken-entrypoint", "built for arm64"),
        // An armhf program whose loader name leads to armel's loader: the float ABIs differ.
        case(
            "armhf-on-armel-loader",
            "linux/arm/v7",
            "rpi32",
            vec![{
                let mut l = libc("armel");
                l.push(Entry::symlink("lib/ld-linux-armhf.so.3", "arm-linux-gnueabi/ld-linux.so.3"));
                l.push(Entry::file("usr/bin/hello", &hello("armhf")));
                l
            }],
            ep(&["/usr/bin/hello"]),
            "broken-entrypoint",
            Qemu("qemu-arm-static", None),
        )
        .says("broken-entrypoint", "float ABI"),
        case(
            "hello-i386-in-amd64",
            "linux/amd64",
            "x86-64",
            vec![{
                let mut l = libc("i386");
                l.push(Entry::file("usr/bin/hello", &hello("i386")));
                l
            }],
            ep(&["/usr/bin/hello"]),
            "ok",
            Chroot,
        ),
        // An i386 program whose loader is amd64's: ELIBBAD.
        case(
            "i386-with-amd64-loader",
            "linux/amd64",
            "x86-64",
            vec![vec![
                Entry::file("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", &deb("libc6-amd64", "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")),
                Entry::symlink("lib/ld-linux.so.2", "x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                Entry::file("usr/bin/hello", &hello("i386")),
            ]],
            ep(&["/usr/bin/hello"]),
            "broken-entrypoint",
            Chroot,
        ),
        // x32: stock kernels are built without it.
        case(
            "x32",
            "linux/amd64",
            "x86-64",
            vec![vec![Entry::file("libx32/ld.so", &deb("libc6-x32-amd64", "libx32/ld.so")), Entry::symlink("libx32/ld-linux-x32.so.2", "ld.so")]],
            ep(&["/libx32/ld-linux-x32.so.2", "--version"]),
            "broken-entrypoint",
            Chroot,
        )
        .says("broken-entrypoint", "x32"),
    ];
    // --- Paths in the merged filesystem.
    let merged = merged_usr_libc("amd64");
    let path_with_opt = json!({ "Cmd": ["app"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/app/bin"] });
    v.push(case(
        "merged-usr-path",
        "linux/amd64",
        "x86-64",
        vec![merged.clone(), vec![Entry::file("opt/app/bin/app", &hello("amd64"))]],
        path_with_opt.clone(),
        "ok",
        Chroot,
    ));
    v.push(
        case(
            "merged-usr-path-arm64",
            "linux/arm64",
            "arm64-server",
            vec![merged_usr_libc("arm64"), vec![Entry::file("opt/app/bin/app", &hello("amd64"))]],
            path_with_opt,
            "binary-mismatch",
            Argued,
        )
        .says("binary-mismatch", "/opt/app/bin/app"),
    );
    v.push(
        case("in-no-layer", "linux/amd64", "x86-64", vec![merged.clone()], ep(&["/usr/sbin/app"]), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "/usr/sbin/app"),
    );
    v.push(
        case("not-on-path", "linux/amd64", "x86-64", vec![merged.clone()], json!({ "Cmd": ["app"] }), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "PATH"),
    );
    v.push(case(
        "whiteout",
        "linux/amd64",
        "x86-64",
        vec![amd64_hello_image(), vec![Entry::whiteout("usr/bin/hello")]],
        json!({ "Cmd": ["hello"] }),
        "broken-entrypoint",
        Chroot,
    ));
    v.push(case(
        "opaque",
        "linux/amd64",
        "x86-64",
        vec![
            {
                let mut l = libc("amd64");
                l.push(Entry::file("opt/app/hello", &hello("amd64")));
                l
            },
            vec![Entry::file_mode("opt/.wh..wh..opq", b"", 0o644), Entry::file_mode("opt/README", b"moved\n", 0o644)],
        ],
        ep(&["/opt/app/hello"]),
        "broken-entrypoint",
        Chroot,
    ));
    // /bin/sh is a hard link to the busybox of its own layer; a newer layer replaces
    // /bin/busybox by arm64's. /bin/sh is still the amd64 file.
    v.push(case(
        "hard-link",
        "linux/amd64",
        "x86-64",
        vec![
            vec![Entry::file("bin/busybox", &busybox("amd64")), Entry::hard_link("bin/sh", "bin/busybox")],
            vec![Entry::file("bin/busybox", &busybox("arm64"))],
        ],
        ep(&["/bin/sh", "-c", "exit 0"]),
        "ok",
        Chroot,
    ));
    v.push(case(
        "relative-dir-link",
        "linux/amd64",
        "x86-64",
        vec![amd64_hello_image(), vec![Entry::file("opt/tools/bin/hello", &hello("amd64")), Entry::symlink("usr/local/bin", "../../opt/tools/bin")]],
        ep(&["/usr/local/bin/hello"]),
        "ok",
        Chroot,
    ));
    v.push(
        case(
            "not-executable",
            "linux/amd64",
            "x86-64",
            vec![vec![Entry::file_mode("app", &busybox("amd64"), 0o644)]],
            ep(&["/app", "true"]),
            "broken-entrypoint",
            Chroot,
        )
        .says("broken-entrypoint", "permission denied"),
    );
    v.push(case(
        "workdir-link",
        "linux/amd64",
        "x86-64",
        vec![{
            let mut l = libc("amd64");
            l.push(Entry::file("opt/srv/run", &hello("amd64")));
            l.push(Entry::symlink("srv", "opt/srv"));
            l
        }],
        json!({ "Entrypoint": ["./run"], "WorkingDir": "/srv" }),
        "ok",
        Chroot,
    ));
    // --- Scripts and env.
    let script = |body: &[u8]| {
        let mut l = merged.clone();
        l.push(Entry::file("usr/bin/hello", &hello("amd64")));
        l.push(Entry::file("usr/bin/env", &deb("coreutils-amd64", "usr/bin/env")));
        vec![l, vec![Entry::file("entrypoint", body)]]
    };
    v.push(case("script-sh", "linux/amd64", "x86-64", script(b"#!/bin/sh\nset -e\nexec hello\n"), ep(&["/entrypoint"]), "ok", Chroot));
    v.push(case("env-split", "linux/amd64", "x86-64", script(b"#!/usr/bin/env -S sh -e\nexec hello\n"), ep(&["/entrypoint"]), "ok", Chroot));
    v.push(
        case("env-no-split", "linux/amd64", "x86-64", script(b"#!/usr/bin/env sh -e\nexec hello\n"), ep(&["/entrypoint"]), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "`sh -e`"),
    );
    v.push(
        case(
            "busybox-env-split",
            "linux/amd64",
            "x86-64",
            vec![merged.clone(), vec![Entry::symlink("usr/bin/env", "busybox"), Entry::file("entrypoint", b"#!/usr/bin/env -S sh -e\nexit 0\n")]],
            ep(&["/entrypoint"]),
            "broken-entrypoint",
            Chroot,
        )
        .says("broken-entrypoint", "BusyBox"),
    );
    v.push(
        case("missing-interpreter", "linux/amd64", "x86-64", script(b"#!/usr/bin/python3\nprint(1)\n"), ep(&["/entrypoint"]), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "/usr/bin/python3"),
    );
    v.push(
        case(
            "interpreter-of-arm64",
            "linux/amd64",
            "x86-64",
            vec![vec![Entry::file("bin/sh", &busybox("arm64")), Entry::file("entrypoint", b"#!/bin/sh\nexit 0\n")]],
            ep(&["/entrypoint"]),
            "binary-mismatch",
            Chroot,
        )
        .says("binary-mismatch", "/bin/sh"),
    );
    v.push(
        case("script-crlf", "linux/amd64", "x86-64", script(b"#!/bin/sh\r\nexec hello\r\n"), ep(&["/entrypoint"]), "broken-entrypoint", Chroot)
            .says("broken-entrypoint", "carriage return"),
    );
    // --- sh -c, wrappers and entrypoint scripts that pass control on.
    v.push(
        case(
            "sh-c-foreign",
            "linux/amd64",
            "x86-64",
            vec![merged.clone(), vec![Entry::file("usr/local/bin/app", &busybox("arm64"))]],
            json!({ "Cmd": ["/bin/sh", "-c", "exec app true"] }),
            "binary-mismatch",
            Chroot,
        )
        .says("binary-mismatch", "/usr/local/bin/app"),
    );
    // The shell itself is of another architecture: it fails before the command runs.
    v.push(
        case(
            "sh-of-amd64-in-arm64",
            "linux/arm64",
            "arm64-server",
            vec![merged_usr_libc("arm64"), vec![Entry::file("usr/bin/busybox", &busybox("amd64")), Entry::file("usr/bin/hello", &hello("arm64"))]],
            json!({ "Cmd": ["/bin/sh", "-c", "exec hello"] }),
            "binary-mismatch",
            Argued,
        )
        .says("binary-mismatch", "/usr/bin/busybox"),
    );
    let init = |argv: &[&str], cmd: &[&str], program: Vec<u8>| {
        let mut l = merged.clone();
        l.push(Entry::file("usr/bin/tini-static", &deb("tini-amd64", "usr/bin/tini-static")));
        l.push(Entry::file("usr/bin/dumb-init", &deb("dumb-init-amd64", "usr/bin/dumb-init")));
        l.push(Entry::file("usr/sbin/gosu", &deb("gosu-amd64", "usr/sbin/gosu")));
        l.push(Entry::file(
            "docker-entrypoint.sh",
            b"#!/bin/sh\nset -e\nif [ \"${1#-}\" != \"$1\" ]; then\n  set -- hello \"$@\"\nfi\nexec gosu 65534:65534 \"$@\"\n",
        ));
        (vec![l, vec![Entry::file("usr/local/bin/app", &program)]], json!({ "Entrypoint": argv, "Cmd": cmd }))
    };
    let (layers, config) = init(&["/usr/bin/tini-static", "--"], &["app"], hello("amd64"));
    v.push(case("tini", "linux/amd64", "x86-64", layers, config, "ok", Chroot));
    let (layers, config) = init(&["/usr/bin/tini-static", "--"], &["app", "true"], busybox("arm64"));
    v.push(case("tini-foreign", "linux/amd64", "x86-64", layers, config, "binary-mismatch", Chroot).says("binary-mismatch", "/usr/local/bin/app"));
    let (layers, config) = init(&["/usr/bin/dumb-init", "--", "/docker-entrypoint.sh"], &["app"], hello("amd64"));
    v.push(case("dumb-init-gosu", "linux/amd64", "x86-64", layers, config, "ok", Chroot));
    let (layers, config) = init(&["/docker-entrypoint.sh"], &["app", "true"], busybox("arm64"));
    v.push(case("entrypoint-exec-foreign", "linux/amd64", "x86-64", layers, config, "binary-mismatch", Chroot).says("binary-mismatch", "/usr/local/bin/app"));
    // Arguments starting with "-" are rewritten by the script's `set --`: said, never "ok".
    let (layers, config) = init(&["/docker-entrypoint.sh"], &["--verbose"], hello("amd64"));
    v.push(case("entrypoint-set-args", "linux/amd64", "x86-64", layers, config, "unknown", Argued).says("unknown", "set --"));
    v
}

/// A static program that starts an image's command the way a runtime does: chroot, chdir to
/// the working directory, PATH search as Go's exec.LookPath (a regular file with an execute
/// bit), then execve with the config's environment. It prints the errno when execve fails.
fn launcher() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("archlens-launcher-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("launch.c");
        std::fs::write(
            &src,
            r#"#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
int main(int argc, char **argv) {
  if (argc < 5) return 2;
  /* A mount namespace of its own, so /proc can be mounted in the root and goes with it. */
  int own = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
  if (chroot(argv[1]) != 0 || chdir(argv[2]) != 0) { perror("chroot/chdir"); return 2; }
  if (own) { mkdir("/proc", 0555); mount("proc", "/proc", "proc", 0, NULL); }
  static char pathenv[8192];
  snprintf(pathenv, sizeof pathenv, "PATH=%s", argv[3]);
  char *envp[] = { pathenv, NULL };
  char **av = argv + 4;
  if (strchr(av[0], '/')) { execve(av[0], av, envp); fprintf(stderr, "execve %s: %s\n", av[0], strerror(errno)); return 127; }
  char *p = strdup(argv[3]);
  for (char *dir = strtok(p, ":"); dir; dir = strtok(NULL, ":")) {
    char cand[8192]; struct stat st;
    snprintf(cand, sizeof cand, "%s/%s", dir, av[0]);
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
      execve(cand, av, envp); fprintf(stderr, "execve %s: %s\n", cand, strerror(errno)); return 127;
    }
  }
  fprintf(stderr, "%s: executable file not found in $PATH\n", av[0]);
  return 127;
}
"#,
        )
        .unwrap();
        let bin = dir.join("launch");
        let out = Command::new("gcc").args(["-O1", "-static", "-o"]).arg(&bin).arg(&src).output().expect("gcc");
        assert!(out.status.success(), "building the launcher: {}", String::from_utf8_lossy(&out.stderr));
        bin
    })
}

/// Apply layers (oldest first) into `root` as a runtime does: opaque directories emptied,
/// whiteouts deleted, files, links and hard links written.
fn unpack(root: &Path, layers: &[Vec<Entry>]) {
    let clear = |p: &Path| {
        if let Ok(m) = std::fs::symlink_metadata(p) {
            if m.is_dir() { std::fs::remove_dir_all(p).unwrap() } else { std::fs::remove_file(p).unwrap() }
        }
    };
    for layer in layers {
        for e in layer {
            if let Entry::File { path, .. } = e
                && let Some(dir) = path.strip_suffix(".wh..wh..opq")
            {
                for child in std::fs::read_dir(root.join(dir)).into_iter().flatten().flatten() {
                    clear(&child.path());
                }
            }
        }
        for e in layer {
            match e {
                Entry::File { path, content, mode } => {
                    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                    if name == ".wh..wh..opq" {
                        continue;
                    }
                    if let Some(gone) = name.strip_prefix(".wh.") {
                        clear(&root.join(dir).join(gone));
                        continue;
                    }
                    let to = root.join(path);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    clear(&to);
                    std::fs::write(&to, content).unwrap();
                    std::fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(*mode)).unwrap();
                }
                Entry::Symlink { path, target } => {
                    let to = root.join(path);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    clear(&to);
                    std::os::unix::fs::symlink(target, &to).unwrap();
                }
                Entry::HardLink { path, target } => {
                    let to = root.join(path);
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    clear(&to);
                    std::fs::hard_link(root.join(target), &to).unwrap();
                }
            }
        }
    }
    std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// Start the case's image on this machine: does it run (exit 0)? What it printed.
fn start(c: &Case) -> (bool, String) {
    let root = tempfile::tempdir().unwrap();
    unpack(root.path(), &c.layers);
    let argv: Vec<String> =
        c.config["Entrypoint"].as_array().into_iter().chain(c.config["Cmd"].as_array()).flatten().map(|a| a.as_str().unwrap().to_string()).collect();
    let path = c.config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e.as_str().unwrap().strip_prefix("PATH=").map(str::to_string))
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let cwd = c.config["WorkingDir"].as_str().unwrap_or("/");
    let out = match c.truth {
        Truth::Chroot => Command::new(launcher()).arg(root.path()).arg(cwd).arg(&path).args(&argv).output().unwrap(),
        Truth::Qemu(qemu, cpu) => {
            let mut cmd = Command::new(qemu);
            if let Some(cpu) = cpu {
                cmd.args(["-cpu", cpu]);
            }
            cmd.arg("-L").arg(root.path()).arg(root.path().join(argv[0].trim_start_matches('/'))).args(&argv[1..]).output().unwrap()
        }
        Truth::Argued => unreachable!(),
    };
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

#[test]
fn the_corpus_of_real_programs_is_diagnosed_as_the_kernel_runs_it() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let c = common::client();
    let repo = "corpus/app";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut sizes = std::collections::HashMap::new();
    rt.block_on(async {
        for case in &cases {
            let layers: Vec<(Vec<Entry>, Compression)> = case.layers.iter().map(|l| (l.clone(), Compression::Gzip)).collect();
            let img = image_with_layers(&p(case.label), &layers, case.config.clone());
            let (idx, _) = index(std::slice::from_ref(&img), &[], Flavour::Oci);
            sizes.insert(case.tag, img.compressed_size);
            common::seed::push_image(&c, repo, &img).await.unwrap();
            c.put_manifest(repo, case.tag, idx.media_type, &idx.bytes).await.unwrap();
        }
    });
    let cache = tempfile::tempdir().unwrap();
    let root = is_root();
    let mut wrong = Vec::new();
    let mut shown = 0;
    for case in &cases {
        let reference = format!("{}/{repo}:{}", common::registry_addr(), case.tag);
        let out = common::archlens(&["diagnose", &reference, "--host", case.host, "--format", "json"], cache.path());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}: {}", case.tag, String::from_utf8_lossy(&out.stderr)));
        let verdict = v["verdict"].as_str().unwrap_or("?");
        let expected_code = if verdict == "ok" { 0 } else { 1 };
        if verdict != case.verdict || out.status.code() != Some(expected_code) {
            wrong.push(format!("{} on {}: expected {}, got {verdict} (exit {:?}): {v}", case.tag, case.host, case.verdict, out.status.code()));
            continue;
        }
        if let Some((kind, words)) = case.finding
            && !v["findings"].as_array().unwrap().iter().any(|f| f["kind"] == kind && format!("{} {}", f["message"], f["evidence"]).contains(words))
        {
            wrong.push(format!("{}: no {kind} finding saying {words:?}: {v}", case.tag));
        }
        // No byte of a layer is read twice: never more than the image.
        let read = v["bytes_read"].as_u64().unwrap_or(u64::MAX);
        if read > sizes[case.tag] {
            wrong.push(format!("{}: {read} bytes of layers read, more than the image's {}", case.tag, sizes[case.tag]));
        }
        // The ground truth, where this machine can show it.
        let runs = matches!(case.verdict, "ok" | "fallback");
        let can_show = match case.truth {
            Truth::Chroot => root,
            Truth::Qemu(q, _) => Command::new("sh").arg("-c").arg(format!("command -v {q}")).output().is_ok_and(|o| o.status.success()),
            Truth::Argued => false,
        };
        if can_show {
            shown += 1;
            let (started, said) = start(case);
            if started != runs {
                wrong.push(format!(
                    "{}: the verdict is {verdict}, but started on this machine it {}: {said}",
                    case.tag,
                    if started { "runs" } else { "fails" }
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    eprintln!("{} cases diagnosed as expected; {shown} of them confirmed by starting them here", cases.len());
    if std::env::var("CI").is_ok() {
        assert!(root && shown >= 30, "CI runs as root with qemu-user-static: the ground truth must be shown ({shown} shown)");
    }
}
