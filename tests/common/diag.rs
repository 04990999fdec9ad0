//! Images for diagnosis tests: real and synthetic executables in real layers.
#![allow(dead_code)]

use std::sync::OnceLock;

use archlens::model::binary::elf_header;
use archlens::registry::{RegistryClient, RegistryError};
use archlens::testkit::{Compression, Entry, Flavour, Image, image_with_layers, index, p};
use serde_json::json;

use super::seed::push_image;

/// A real x86-64 ELF executable: compiled here by gcc when gcc targets x86-64, else (an ARM
/// or other machine) the smallest x86-64 program, `exit(0)`, written byte by byte.
pub fn gcc_x86_64() -> &'static [u8] {
    static BIN: OnceLock<Vec<u8>> = OnceLock::new();
    BIN.get_or_init(|| compiled_x86_64().unwrap_or_else(tiny_x86_64_elf))
}

fn compiled_x86_64() -> Option<Vec<u8>> {
    let machine = std::process::Command::new("gcc").arg("-dumpmachine").output().ok()?;
    if !String::from_utf8_lossy(&machine.stdout).starts_with("x86_64") {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let src = dir.path().join("app.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").ok()?;
    let out = dir.path().join("app");
    // Static: the test images hold no C library, and a dynamic program needs its loader.
    let status = std::process::Command::new("gcc").arg("-O1").arg("-static").arg("-o").arg(&out).arg(&src).status().ok()?;
    if !status.success() {
        return None;
    }
    std::fs::read(&out).ok()
}

/// A static x86-64 ELF executable that exits with status 0: the ELF header, one loadable
/// segment, and `mov eax, 60; xor edi, edi; syscall`, padded to 4 KiB.
pub fn tiny_x86_64_elf() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const CODE_AT: u64 = 64 + 56;
    let code: [u8; 9] = [0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05];
    let len = 4096u64;
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    b.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&(BASE + CODE_AT).to_le_bytes()); // e_entry
    b.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 1, 0, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes()); // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
    }
    b.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    b.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R X
    for v in [0, BASE, BASE, len, len, 0x1000u64] {
        b.extend_from_slice(&v.to_le_bytes()); // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
    }
    b.extend_from_slice(&code);
    b.resize(len as usize, 0);
    b
}

/// An ELF header for `arch` (platform vocabulary), padded like a small program.
pub fn elf_for(arch: &str) -> Vec<u8> {
    if arch == "amd64" {
        return gcc_x86_64().to_vec();
    }
    let (machine, is64, le) = match arch {
        "arm64" => (183, true, true),
        "arm" => (40, false, true),
        "386" => (3, false, true),
        "ppc64le" => (21, true, true),
        "s390x" => (22, true, false),
        "riscv64" => (243, true, true),
        other => panic!("no ELF machine for {other}"),
    };
    let mut b = elf_header(machine, is64, le);
    b.resize(8192, 0);
    b
}

/// A PE executable header for `machine` (0x8664 x86-64, 0xaa64 arm64): the DOS stub's
/// `e_lfanew` pointing at `PE\0\0` and the COFF machine field, as the PE specification lays out.
pub fn pe_for(machine: u16) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..2].copy_from_slice(b"MZ");
    b[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    b[0x80..0x84].copy_from_slice(b"PE\0\0");
    b[0x84..0x86].copy_from_slice(&machine.to_le_bytes());
    b
}

/// A base layer: merged /usr with a shell for `arch`.
pub fn base(arch: &str) -> Vec<Entry> {
    vec![Entry::symlink("bin", "usr/bin"), Entry::file("usr/bin/sh", &elf_for(arch)), Entry::file("etc/os-release", b"ID=archlens-test\n")]
}

fn app_image(platform: &str, app_arch: &str, compression: Compression) -> Image {
    image_with_layers(
        &p(platform),
        &[(base(app_arch_base(platform)), Compression::Gzip), (vec![Entry::file("usr/local/bin/app", &elf_for(app_arch))], compression)],
        json!({ "Entrypoint": ["/usr/local/bin/app"], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"] }),
    )
}

/// [`app_image`] whose config labels it `org.opencontainers.image.version` = `version`.
fn versioned_app_image(platform: &str, app_arch: &str, version: &str) -> Image {
    image_with_layers(
        &p(platform),
        &[(base(app_arch_base(platform)), Compression::Gzip), (vec![Entry::file("usr/local/bin/app", &elf_for(app_arch))], Compression::Gzip)],
        json!({ "Entrypoint": ["/usr/local/bin/app"], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Labels": { "org.opencontainers.image.version": version } }),
    )
}

fn app_arch_base(platform: &str) -> &'static str {
    match archlens::model::Platform::parse_key(platform).map(|p| p.architecture).as_deref() {
        Ok("arm64") => "arm64",
        Ok("arm") => "arm",
        _ => "amd64",
    }
}

/// Tag → (what is pushed, extra images).
pub struct Scenario {
    pub tag: &'static str,
    pub images: Vec<Image>,
    pub top: Image,
    /// `Some` when the tag is an index.
    pub index: Option<archlens::testkit::Index>,
}

pub fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut push_index = |tag: &'static str, imgs: Vec<Image>| {
        let (idx, extra) = index(&imgs, &[], Flavour::Oci);
        let mut all = imgs.clone();
        all.extend(extra);
        let top = imgs[0].clone();
        out.push(Scenario { tag, images: all, top, index: Some(idx) });
    };
    // An arm64-labelled entry whose entrypoint is an x86-64 ELF.
    push_index("binary-mismatch", vec![versioned_app_image("linux/amd64", "amd64", "1.2"), versioned_app_image("linux/arm64", "amd64", "1.2")]);
    // The index says arm64; the config says amd64.
    let mut lying = app_image("linux/amd64", "amd64", Compression::Gzip);
    lying.platform = p("linux/arm64");
    push_index("config-mismatch", vec![app_image("linux/amd64", "amd64", Compression::Gzip), lying]);
    // Only amd64 and arm/v7.
    push_index("amd64-armv7", vec![app_image("linux/amd64", "amd64", Compression::Gzip), app_image("linux/arm/v7", "arm", Compression::Gzip)]);
    // Windows only.
    let win = image_with_layers(
        &p(archlens::testkit::WINDOWS_KEY),
        &[(vec![Entry::file("Files/app.exe", &pe_for(0x8664))], Compression::Gzip)],
        json!({ "Entrypoint": ["C:\\\\app.exe"] }),
    );
    push_index("windows", vec![win]);
    // An arm64 Windows entry holding an x86-64 program.
    let win_lying = image_with_layers(
        &p("windows/arm64:10.0.17763.5122"),
        &[(vec![Entry::file("Files/app/server.exe", &pe_for(0x8664))], Compression::Gzip)],
        json!({ "Entrypoint": ["C:\\\\app\\\\server.exe"] }),
    );
    push_index("windows-arm64-mismatch", vec![win_lying]);
    // The entrypoint is a symlink into a lower layer.
    let symlinked = image_with_layers(
        &p("linux/arm64"),
        &[
            (base("arm64"), Compression::Gzip),
            (vec![Entry::file("opt/app/bin/app", &elf_for("arm64"))], Compression::Gzip),
            (vec![Entry::symlink("usr/local/bin/app", "../../../opt/app/bin/app")], Compression::Gzip),
        ],
        json!({ "Entrypoint": ["/usr/local/bin/app"] }),
    );
    push_index("symlink", vec![symlinked]);
    // A shell-script entrypoint: #!/bin/sh, and /bin is a link to /usr/bin.
    let script = image_with_layers(
        &p("linux/arm64"),
        &[
            (base("arm64"), Compression::Gzip),
            (
                vec![Entry::file("usr/local/bin/app", &elf_for("arm64")), Entry::file("entrypoint.sh", b"#!/bin/sh\nexec /usr/local/bin/app \"$@\"\n")],
                Compression::Zstd,
            ),
        ],
        json!({ "Entrypoint": ["/entrypoint.sh"], "Cmd": ["serve"] }),
    );
    push_index("script", vec![script]);
    // One entry only, and it cannot run: a repair must not empty the index.
    push_index("only-entry-broken", vec![app_image("linux/arm64", "amd64", Compression::Gzip)]);
    // Healthy: amd64 (gzip) and arm64 (zstd), entrypoint found through PATH.
    let mut healthy_arm = app_image("linux/arm64", "arm64", Compression::Zstd);
    healthy_arm.manifest = healthy_arm.manifest.clone();
    push_index("healthy", vec![app_image("linux/amd64", "amd64", Compression::Gzip), healthy_arm]);
    // The entrypoint was deleted by a whiteout in a newer layer.
    let deleted = image_with_layers(
        &p("linux/arm64"),
        &[
            (base("arm64"), Compression::Gzip),
            (vec![Entry::file("usr/local/bin/app", &elf_for("arm64"))], Compression::Gzip),
            (vec![Entry::whiteout("usr/local/bin/app")], Compression::Gzip),
        ],
        json!({ "Cmd": ["app"], "Env": ["PATH=/usr/local/bin:/usr/bin"] }),
    );
    push_index("whiteout", vec![deleted]);
    // Shell form: `sh -c "myapp --serve"` where myapp, found through PATH, is x86-64.
    let shell_form = |tag: &'static str, command: &str| {
        image_with_layers(
            &p("linux/arm64"),
            &[(base("arm64"), Compression::Gzip), (vec![Entry::file("usr/local/bin/myapp", &elf_for("amd64"))], Compression::Gzip)],
            json!({ "Cmd": ["/bin/sh", "-c", command], "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Labels": {"scenario": tag} }),
        )
    };
    push_index("shell-form", vec![shell_form("shell-form", "myapp --serve")]);
    push_index("shell-builtin", vec![shell_form("shell-builtin", "exec $APP --serve")]);
    // Scripts the kernel refuses: CRLF line endings, a byte-order mark, no #! line.
    let script_with = |body: &[u8]| {
        image_with_layers(
            &p("linux/arm64"),
            &[(base("arm64"), Compression::Gzip), (vec![Entry::file("entrypoint.sh", body)], Compression::Gzip)],
            json!({ "Entrypoint": ["/entrypoint.sh"] }),
        )
    };
    push_index("script-crlf", vec![script_with(b"#!/bin/sh\r\nexec /usr/bin/sh -c true\r\n")]);
    push_index("script-bom", vec![script_with(b"\xEF\xBB\xBF#!/bin/sh\nexec true\n")]);
    push_index("script-no-shebang", vec![script_with(b"set -e\nexec /usr/local/bin/app\n")]);
    // An arm/v6 entry whose config says arm without a variant (as most arm images do).
    let mut v6 = image_with_layers(
        &archlens::model::Platform::new("linux", "arm", ""),
        &[(base("arm"), Compression::Gzip), (vec![Entry::file("usr/local/bin/app", &elf_for("arm"))], Compression::Gzip)],
        json!({ "Entrypoint": ["/usr/local/bin/app"] }),
    );
    v6.platform = p("linux/arm/v6");
    push_index("armv6-no-variant", vec![v6]);
    // ARM levels: an arm/v6 entry holding ARMv7 code, and one holding ARMv6 code.
    let arm_level = |variant: &str, cpu_arch: u8| {
        image_with_layers(
            &p(&format!("linux/arm/{variant}")),
            &[(vec![Entry::file("usr/local/bin/app", &archlens::model::binary::elf_arm_with_cpu_arch(cpu_arch))], Compression::Gzip)],
            json!({ "Entrypoint": ["/usr/local/bin/app"] }),
        )
    };
    push_index("armv6-holds-v7", vec![arm_level("v6", 10)]);
    push_index("armv6-holds-v6", vec![arm_level("v6", 6)]);
    // An entry labelled linux/arm64 that is an arm/v7 image (config and binary agree on it).
    let mut armv7 = app_image("linux/arm/v7", "arm", Compression::Gzip);
    armv7.platform = p("linux/arm64");
    push_index("mislabelled-armv7", vec![app_image("linux/amd64", "amd64", Compression::Gzip), armv7]);
    // An index with amd64 only: an arm64 host finds nothing (other tags have arm64 images).
    push_index("amd64-index", vec![app_image("linux/amd64", "amd64", Compression::Gzip)]);
    // Only attestations: nothing a runtime can pick.
    let (idx, extra) = index(&[], &[app_image("linux/amd64", "amd64", Compression::Gzip)], Flavour::Oci);
    let top = extra[0].clone();
    out.push(Scenario { tag: "attestation-only", images: extra, top, index: Some(idx) });
    // A single-arch amd64 image.
    let single = app_image("linux/amd64", "amd64", Compression::Gzip);
    out.push(Scenario { tag: "amd64-only", images: vec![single.clone()], top: single, index: None });
    // The arm64 image of the binary-mismatch tag's version, under a per-architecture tag.
    let per_arch = versioned_app_image("linux/arm64", "arm64", "1.2");
    out.push(Scenario { tag: "binary-mismatch-arm64", images: vec![per_arch.clone()], top: per_arch, index: None });
    out
}

pub async fn push_scenarios(c: &RegistryClient, repo: &str) -> Result<(), RegistryError> {
    for s in scenarios() {
        for img in &s.images {
            push_image(c, repo, img).await?;
        }
        match &s.index {
            Some(idx) => c.put_manifest(repo, s.tag, idx.media_type, &idx.bytes).await?,
            None => c.put_manifest(repo, s.tag, s.top.media_type, &s.top.manifest).await?,
        };
    }
    Ok(())
}

/// The diagnosis repository, pushed once per test process.
pub fn seeded_diag() -> &'static str {
    static REPO: OnceLock<String> = OnceLock::new();
    REPO.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(push_scenarios(&super::client(), "diag/app")).expect("seeding diagnosis images");
        format!("{}/diag/app", super::registry_addr())
    })
}
