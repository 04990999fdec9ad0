//! What a file is, from its first bytes: ELF, PE or Mach-O with its CPU architecture (in the
//! platform vocabulary: amd64, arm64, arm, 386, ppc64le, s390x, riscv64 …), or a `#!` script.

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BinaryFormat {
    Elf,
    Pe,
    Macho,
    Script,
    Unknown,
}

/// The identity of an executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryId {
    pub format: BinaryFormat,
    /// Platform vocabulary; `None` when the format does not say or is not known.
    pub architecture: Option<String>,
    /// For a script: the interpreter and its first argument (`/usr/bin/env python3`).
    pub interpreter: Option<(String, Option<String>)>,
    /// A short human description, e.g. `ELF 64-bit LSB, x86-64 (e_machine 62)`.
    pub description: String,
    /// Why the kernel will refuse to run it, and the fix (a script with CRLF line endings, a
    /// byte-order mark before `#!`, text without a `#!` line).
    pub problem: Option<(String, String)>,
    /// For 32-bit ARM ELF files whose bytes include their `.ARM.attributes`: the ARM
    /// architecture level the code needs (5, 6, 7 or 8), from `Tag_CPU_arch`.
    pub arm_level: Option<u8>,
    /// For an ELF file: what the kernel's ELF loader reads from its header.
    pub elf: Option<ElfInfo>,
}

/// The parts of an ELF header the kernel's `load_elf_binary` acts on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    pub little_endian: bool,
    pub machine: u16,
    /// `e_type`: 2 executable, 3 shared object / PIE; anything else the kernel refuses.
    pub elf_type: u16,
    pub flags: u32,
    /// `PT_INTERP`: the program loader the kernel opens before the program runs.
    pub interp: Interp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum Interp {
    /// Statically linked: no loader.
    None,
    Path(String),
    /// The program headers lie outside the bytes read.
    Unreadable,
}

/// The float ABI a 32-bit ARM EABI file was built for, from `e_flags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmFloat {
    /// `EF_ARM_ABI_FLOAT_HARD` (Debian armhf).
    Hard,
    /// `EF_ARM_ABI_FLOAT_SOFT` (Debian armel).
    Soft,
}

impl ArmFloat {
    /// The ABI and the Debian architecture that uses it: (`hard-float`, `armhf`).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            ArmFloat::Hard => ("hard-float", "armhf"),
            ArmFloat::Soft => ("soft-float", "armel"),
        }
    }
}

impl ElfInfo {
    /// `ELFCLASS32` with `EM_X86_64`: the x32 ABI, which stock kernels are built without.
    fn is_x32(&self) -> bool {
        self.class == 32 && self.machine == 62
    }

    /// ET_EXEC or ET_DYN: the only types `execve` loads.
    pub fn is_loadable(&self) -> bool {
        matches!(self.elf_type, 2 | 3)
    }

    pub fn arm_float(&self) -> Option<ArmFloat> {
        if self.machine != 40 {
            return None;
        }
        if self.flags & 0x400 != 0 {
            Some(ArmFloat::Hard)
        } else if self.flags & 0x200 != 0 {
            Some(ArmFloat::Soft)
        } else {
            None
        }
    }
}

fn u64_at(b: &[u8], off: usize, le: bool) -> Option<u64> {
    let s: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(if le { u64::from_le_bytes(s) } else { u64::from_be_bytes(s) })
}

/// Parse the ELF header and find `PT_INTERP` in the program headers held in `head`.
pub fn elf_info(head: &[u8]) -> Option<ElfInfo> {
    if !head.starts_with(b"\x7fELF") {
        return None;
    }
    let class = match head.get(4)? {
        1 => 32,
        2 => 64,
        _ => return None,
    };
    let le = head.get(5) != Some(&2);
    let elf_type = u16_at(head, 16, le)?;
    let machine = u16_at(head, 18, le)?;
    let (phoff, phentsize, phnum, flags) = if class == 64 {
        (u64_at(head, 32, le)?, u16_at(head, 54, le)?, u16_at(head, 56, le)?, u32_at(head, 48, le)?)
    } else {
        (u64::from(u32_at(head, 28, le)?), u16_at(head, 42, le)?, u16_at(head, 44, le)?, u32_at(head, 36, le)?)
    };
    let mut interp = Interp::None;
    for i in 0..u64::from(phnum.min(512)) {
        let Some(base) = phoff.checked_add(i * u64::from(phentsize)).and_then(|b| usize::try_from(b).ok()) else {
            interp = Interp::Unreadable;
            break;
        };
        let Some(p_type) = u32_at(head, base, le) else {
            interp = Interp::Unreadable;
            break;
        };
        if p_type != 3 {
            continue;
        }
        let (off, size) = if class == 64 {
            (u64_at(head, base + 8, le), u64_at(head, base + 32, le))
        } else {
            (u32_at(head, base + 4, le).map(u64::from), u32_at(head, base + 16, le).map(u64::from))
        };
        let bytes = off.zip(size).and_then(|(o, s)| head.get(usize::try_from(o).ok()?..usize::try_from(o.checked_add(s)?).ok()?));
        interp = match bytes {
            Some(b) => {
                let b = b.split(|&c| c == 0).next().unwrap_or_default();
                Interp::Path(String::from_utf8_lossy(b).into_owned())
            }
            None => Interp::Unreadable,
        };
        break;
    }
    Some(ElfInfo { class, little_endian: le, machine, elf_type, flags, interp })
}

/// `Tag_CPU_arch` (ARM EABI attributes) → the architecture level a CPU must have: pre-v6 is 5,
/// v6/v6K/v6KZ are 6, v6T2 and v7 are 7 (Thumb-2: no ARM11 runs it), v8 and later are 8.
fn arm_level_of(cpu_arch: u64) -> Option<u8> {
    Some(match cpu_arch {
        0..=5 => 5,
        6 | 7 | 9 => 6,
        8 | 10 | 11 | 12 | 13 => 7,
        14..=30 => 8,
        _ => return None,
    })
}

fn uleb(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// `Tag_CPU_arch` from the `.ARM.attributes` section (type `SHT_ARM_ATTRIBUTES`) of a
/// little-endian 32-bit ELF file held whole in `b`.
fn arm_cpu_arch(b: &[u8]) -> Option<u64> {
    if !b.starts_with(b"\x7fELF") || b.get(4) != Some(&1) || b.get(5) != Some(&1) {
        return None;
    }
    let shoff = u32_at(b, 32, true)? as usize;
    let shentsize = u16_at(b, 46, true)? as usize;
    let shnum = u16_at(b, 48, true)? as usize;
    if shentsize < 40 {
        return None;
    }
    let section = (0..shnum.min(4096)).find_map(|i| {
        let base = shoff.checked_add(i.checked_mul(shentsize)?)?;
        (u32_at(b, base + 4, true)? == 0x7000_0003).then_some(())?;
        let off = u32_at(b, base + 16, true)? as usize;
        let size = u32_at(b, base + 20, true)? as usize;
        b.get(off..off.checked_add(size)?)
    })?;
    // Format version 'A', then vendor subsections; the "aeabi" one holds Tag_File (1).
    let mut pos = 1;
    if section.first() != Some(&b'A') {
        return None;
    }
    while pos + 4 <= section.len() {
        let len = u32_at(section, pos, true)? as usize;
        let sub = section.get(pos..pos.checked_add(len)?)?;
        pos += len.max(4);
        let name_end = sub.iter().skip(4).position(|&c| c == 0)? + 4;
        if sub.get(4..name_end)? != b"aeabi" {
            continue;
        }
        let mut p = name_end + 1;
        while p < sub.len() {
            let tag = uleb(sub, &mut p)?;
            let size = u32_at(sub, p, true)? as usize;
            let start = p + 4;
            let end = (p - 1).checked_add(size)?.min(sub.len());
            if tag == 1 {
                let mut q = start;
                while q < end {
                    let attr = uleb(sub, &mut q)?;
                    match attr {
                        6 => return uleb(sub, &mut q),
                        // NUL-terminated strings: 4, 5, 67 and odd tags above 32.
                        4 | 5 | 67 => q += sub.get(q..end)?.iter().position(|&c| c == 0)? + 1,
                        32 => {
                            uleb(sub, &mut q)?;
                            q += sub.get(q..end)?.iter().position(|&c| c == 0)? + 1;
                        }
                        a if a > 32 && a % 2 == 1 => q += sub.get(q..end)?.iter().position(|&c| c == 0)? + 1,
                        _ => {
                            uleb(sub, &mut q)?;
                        }
                    }
                }
            }
            p = end.max(p + 1);
        }
    }
    None
}

fn u16_at(b: &[u8], off: usize, le: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if le { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
}

fn u32_at(b: &[u8], off: usize, le: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
}

/// ELF `e_machine` → platform architecture, given class (64-bit?) and byte order.
fn elf_machine_arch(machine: u16, is64: bool, little: bool) -> Option<&'static str> {
    Some(match (machine, is64, little) {
        (3, false, _) => "386",
        (62, true, _) => "amd64",
        (40, false, _) => "arm",
        (183, true, _) => "arm64",
        (21, true, true) => "ppc64le",
        (21, true, false) => "ppc64",
        (20, false, _) => "ppc",
        (22, true, _) => "s390x",
        (22, false, _) => "s390",
        (243, true, _) => "riscv64",
        (243, false, _) => "riscv",
        (8, true, true) => "mips64le",
        (8, true, false) => "mips64",
        (8, false, true) => "mipsle",
        (8, false, false) => "mips",
        (258, true, _) => "loong64",
        // EM_SPARC (2) and EM_SPARC32PLUS (18) are 32-bit SPARC; EM_SPARCV9 (43) is sparc64.
        (2, false, _) | (18, false, _) => "sparc",
        (43, true, _) => "sparc64",
        _ => return None,
    })
}

/// Identify the file whose first bytes are `head` (a few kilobytes are enough).
pub fn identify(head: &[u8]) -> BinaryId {
    if head.starts_with(b"\x7fELF") {
        let is64 = head.get(4) == Some(&2);
        let little = head.get(5) != Some(&2);
        let machine = u16_at(head, 18, little);
        let arch = machine.and_then(|m| elf_machine_arch(m, is64, little));
        let cpu_arch = if arch == Some("arm") { arm_cpu_arch(head) } else { None };
        let arm_level = cpu_arch.and_then(arm_level_of);
        let elf = elf_info(head);
        let x32 = elf.as_ref().is_some_and(ElfInfo::is_x32);
        let float = elf.as_ref().and_then(ElfInfo::arm_float);
        return BinaryId {
            format: BinaryFormat::Elf,
            // x32 is its own ABI: an amd64 kernel without CONFIG_X86_X32_ABI refuses it.
            architecture: if x32 { Some("x32".to_string()) } else { arch.map(str::to_string) },
            interpreter: None,
            problem: None,
            arm_level,
            description: format!(
                "ELF {}-bit {}, e_machine {}{}{}{}{}",
                if is64 { 64 } else { 32 },
                if little { "LSB" } else { "MSB" },
                machine.map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
                arch.map(|a| format!(" ({a})")).unwrap_or_default(),
                match (cpu_arch, arm_level) {
                    (Some(c), Some(l)) => format!(", Tag_CPU_arch {c} (needs ARMv{l})"),
                    (Some(c), None) => format!(", Tag_CPU_arch {c}"),
                    _ => String::new(),
                },
                match float {
                    Some(f) => format!(", {} ABI ({})", f.names().0, f.names().1),
                    None if x32 => ", the x32 ABI".to_string(),
                    None => String::new(),
                },
                match elf.as_ref().map(|e| &e.interp) {
                    Some(Interp::Path(p)) => format!(", loader {p}"),
                    Some(Interp::None) => ", static".to_string(),
                    _ => String::new(),
                }
            ),
            elf,
        };
    }
    if head.starts_with(b"MZ") {
        let pe = u32_at(head, 0x3c, true).map(|o| o as usize);
        let machine = pe.filter(|&o| head.get(o..o + 4) == Some(b"PE\0\0")).and_then(|o| u16_at(head, o + 4, true));
        let arch = match machine {
            Some(0x8664) => Some("amd64"),
            Some(0x014c) => Some("386"),
            Some(0xaa64) => Some("arm64"),
            Some(0x01c4) | Some(0x01c0) => Some("arm"),
            _ => None,
        };
        return BinaryId {
            format: BinaryFormat::Pe,
            architecture: arch.map(str::to_string),
            interpreter: None,
            problem: None,
            arm_level: None,
            elf: None,
            description: format!(
                "PE, machine {}{}",
                machine.map(|m| format!("0x{m:04x}")).unwrap_or_else(|| "?".into()),
                arch.map(|a| format!(" ({a})")).unwrap_or_default()
            ),
        };
    }
    if let Some(magic) = u32_at(head, 0, false) {
        let (is_macho, le) = match magic {
            0xfeedface | 0xfeedfacf => (true, false),
            0xcefaedfe | 0xcffaedfe => (true, true),
            _ => (false, false),
        };
        if is_macho {
            let cpu = u32_at(head, 4, le);
            let arch = match cpu {
                Some(0x0100_0007) => Some("amd64"),
                Some(0x0000_0007) => Some("386"),
                Some(0x0100_000c) => Some("arm64"),
                Some(0x0000_000c) => Some("arm"),
                _ => None,
            };
            return BinaryId {
                format: BinaryFormat::Macho,
                architecture: arch.map(str::to_string),
                interpreter: None,
                problem: None,
                arm_level: None,
                elf: None,
                description: format!("Mach-O, cputype {}", cpu.map(|c| format!("0x{c:08x}")).unwrap_or_else(|| "?".into())),
            };
        }
    }
    if head.starts_with(b"\xEF\xBB\xBF#!") {
        return script_problem(
            "script whose #! line comes after a UTF-8 byte-order mark",
            "it starts with a UTF-8 byte-order mark, so the kernel does not see its #! line: exec fails with \"exec format error\"",
            "save it without the byte-order mark (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`) and rebuild",
        );
    }
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let raw = rest.get(..line_end).unwrap_or_default();
        if raw.ends_with(b"\r") {
            let shown = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw)).trim().to_string();
            return script_problem(
                &format!("script, #!{shown} with CRLF line endings"),
                &format!(
                    "its #! line ends with a carriage return (Windows line endings), so the kernel looks for an interpreter named \"{}\\r\" and fails with \"no such file or directory\"",
                    shown.split_whitespace().next().unwrap_or("")
                ),
                "convert it to LF line endings (`dos2unix FILE` or `sed -i 's/\\r$//' FILE`; add `*.sh text eol=lf` to .gitattributes) and rebuild",
            );
        }
        let line = String::from_utf8_lossy(raw).trim().to_string();
        let mut parts = line.splitn(2, char::is_whitespace);
        let interp = parts.next().unwrap_or("").to_string();
        let arg = parts.next().map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        return BinaryId {
            format: BinaryFormat::Script,
            architecture: None,
            description: format!("script, #!{line}"),
            interpreter: if interp.is_empty() { None } else { Some((interp, arg)) },
            problem: None,
            arm_level: None,
            elf: None,
        };
    }
    if looks_like_text(head) {
        return script_problem(
            "text without a #! line",
            "it is text without a #! line, so the kernel cannot run it: exec fails with \"exec format error\"",
            "make `#!/bin/sh` (or the interpreter it needs) its first line, or start it as `sh FILE`, and rebuild",
        );
    }
    BinaryId {
        format: BinaryFormat::Unknown,
        architecture: None,
        interpreter: None,
        description: "not an executable format Archlens reads".into(),
        problem: None,
        arm_level: None,
        elf: None,
    }
}

fn script_problem(description: &str, problem: &str, fix: &str) -> BinaryId {
    BinaryId {
        format: BinaryFormat::Script,
        architecture: None,
        interpreter: None,
        description: description.to_string(),
        problem: Some((problem.to_string(), fix.to_string())),
        arm_level: None,
        elf: None,
    }
}

/// Printable text: no NUL byte and almost only printable characters and whitespace.
fn looks_like_text(head: &[u8]) -> bool {
    let sample = head.get(..head.len().min(512)).unwrap_or_default();
    if sample.is_empty() || sample.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(sample);
    let odd = text.chars().filter(|c| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || *c == char::REPLACEMENT_CHARACTER).count();
    odd * 20 <= text.chars().count()
}

/// A 32-bit little-endian ARM ELF file whose `.ARM.attributes` section says `Tag_CPU_arch`
/// = `cpu_arch` (10 is ARMv7, 6 ARMv6), laid out as the ELF and ARM EABI specifications say:
/// for test images.
// Writes at constant offsets into buffers allocated above at sizes that hold them.
#[allow(clippy::indexing_slicing)]
pub fn elf_arm_with_cpu_arch(cpu_arch: u8) -> Vec<u8> {
    let mut f = elf_header(40, false, true);
    // Attributes: 'A', subsection [len]["aeabi\0"], Tag_File [1][size] Tag_CPU_name "7-A",
    // Tag_CPU_arch [6][value].
    let attrs: Vec<u8> = [&[5u8][..], b"X\0", &[6, cpu_arch]].concat();
    let mut file_tag = vec![1u8];
    file_tag.extend_from_slice(&((1 + 4 + attrs.len()) as u32).to_le_bytes());
    file_tag.extend(attrs);
    let mut sub = Vec::new();
    sub.extend_from_slice(&((4 + 6 + file_tag.len()) as u32).to_le_bytes());
    sub.extend_from_slice(b"aeabi\0");
    sub.extend(file_tag);
    let section_offset = f.len();
    f.push(b'A');
    f.extend(sub);
    let section_size = f.len() - section_offset;
    while !f.len().is_multiple_of(4) {
        f.push(0);
    }
    let shoff = f.len();
    f.extend(std::iter::repeat_n(0u8, 40)); // the null section
    let mut sh = vec![0u8; 40];
    sh[4..8].copy_from_slice(&0x7000_0003u32.to_le_bytes());
    sh[16..20].copy_from_slice(&(section_offset as u32).to_le_bytes());
    sh[20..24].copy_from_slice(&(section_size as u32).to_le_bytes());
    f.extend(sh);
    f[32..36].copy_from_slice(&(shoff as u32).to_le_bytes());
    f[46..48].copy_from_slice(&40u16.to_le_bytes());
    f[48..50].copy_from_slice(&2u16.to_le_bytes());
    f
}

/// A minimal, valid ELF header for `machine` (the ELF specification's layout), used to build
/// test images for architectures that cannot be compiled here.
// Writes at constant offsets below 54, into a header of 52 or 64 bytes.
#[allow(clippy::indexing_slicing)]
pub fn elf_header(machine: u16, is64: bool, little: bool) -> Vec<u8> {
    let mut h = vec![0u8; if is64 { 64 } else { 52 }];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = if is64 { 2 } else { 1 };
    h[5] = if little { 1 } else { 2 };
    h[6] = 1; // EV_CURRENT
    let put16 = |h: &mut Vec<u8>, off: usize, v: u16| {
        let b = if little { v.to_le_bytes() } else { v.to_be_bytes() };
        h[off..off + 2].copy_from_slice(&b);
    };
    put16(&mut h, 16, 2); // ET_EXEC
    put16(&mut h, 18, machine);
    let len = h.len() as u16;
    put16(&mut h, if is64 { 52 } else { 40 }, len); // e_ehsize
    h[20] = 1; // e_version (low byte, little endian layout; harmless for big endian tests)
    h
}

/// An ELF program for `machine` whose `PT_INTERP` names `interp` (the ELF header, one program
/// header, the string), laid out as the ELF specification says: for test images of
/// dynamically linked programs.
// Writes at constant offsets into a buffer resized above to hold them.
#[allow(clippy::indexing_slicing)]
pub fn elf_with_interp(machine: u16, is64: bool, interp: &str) -> Vec<u8> {
    let mut b = elf_header(machine, is64, true);
    let (phoff_at, phentsize_at, phnum_at, phent) = if is64 { (32, 54, 56, 56) } else { (28, 42, 44, 32) };
    let ph_at = b.len();
    let str_at = ph_at + phent;
    b.resize(str_at, 0);
    b.extend_from_slice(interp.as_bytes());
    b.push(0);
    if is64 {
        b[phoff_at..phoff_at + 8].copy_from_slice(&(ph_at as u64).to_le_bytes());
        b[ph_at..ph_at + 4].copy_from_slice(&3u32.to_le_bytes());
        b[ph_at + 8..ph_at + 16].copy_from_slice(&(str_at as u64).to_le_bytes());
        b[ph_at + 32..ph_at + 40].copy_from_slice(&((interp.len() + 1) as u64).to_le_bytes());
    } else {
        b[phoff_at..phoff_at + 4].copy_from_slice(&(ph_at as u32).to_le_bytes());
        b[ph_at..ph_at + 4].copy_from_slice(&3u32.to_le_bytes());
        b[ph_at + 4..ph_at + 8].copy_from_slice(&(str_at as u32).to_le_bytes());
        b[ph_at + 16..ph_at + 20].copy_from_slice(&((interp.len() + 1) as u32).to_le_bytes());
    }
    b[phentsize_at..phentsize_at + 2].copy_from_slice(&(phent as u16).to_le_bytes());
    b[phnum_at..phnum_at + 2].copy_from_slice(&1u16.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_machines() {
        for (m, is64, le, want) in [
            (62, true, true, "amd64"),
            (183, true, true, "arm64"),
            (40, false, true, "arm"),
            (3, false, true, "386"),
            (21, true, true, "ppc64le"),
            (22, true, false, "s390x"),
            (243, true, true, "riscv64"),
        ] {
            let id = identify(&elf_header(m, is64, le));
            assert_eq!(id.format, BinaryFormat::Elf);
            assert_eq!(id.architecture.as_deref(), Some(want), "e_machine {m}");
        }
        assert_eq!(identify(&elf_header(9999, true, true)).architecture, None);
    }

    #[test]
    fn pe_and_macho() {
        let mut pe = vec![0u8; 256];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c..0x40].copy_from_slice(&128u32.to_le_bytes());
        pe[128..132].copy_from_slice(b"PE\0\0");
        pe[132..134].copy_from_slice(&0xaa64u16.to_le_bytes());
        let id = identify(&pe);
        assert_eq!((id.format, id.architecture.as_deref()), (BinaryFormat::Pe, Some("arm64")));
        let mut macho = vec![0u8; 32];
        macho[..4].copy_from_slice(&0xfeedfacfu32.to_le_bytes());
        macho[4..8].copy_from_slice(&0x0100_0007u32.to_le_bytes());
        let id = identify(&macho);
        assert_eq!((id.format, id.architecture.as_deref()), (BinaryFormat::Macho, Some("amd64")));
    }

    #[test]
    fn scripts() {
        let id = identify(b"#!/usr/bin/env python3\nprint(1)\n");
        assert_eq!(id.format, BinaryFormat::Script);
        assert_eq!(id.interpreter, Some(("/usr/bin/env".into(), Some("python3".into()))));
        let id = identify(b"#! /bin/sh -e\n");
        assert_eq!(id.interpreter, Some(("/bin/sh".into(), Some("-e".into()))));
        assert_eq!(identify(b"").format, BinaryFormat::Unknown);
        assert_eq!(identify(b"\x00\x01\x02binary").format, BinaryFormat::Unknown);
        // What makes "exec format error" or "no such file or directory" out of a script.
        let problem = |b: &[u8]| identify(b).problem.map(|(p, _)| p).unwrap_or_default();
        assert!(problem(b"echo hello\nexec app\n").contains("without a #! line"));
        assert!(problem(b"\xEF\xBB\xBF#!/bin/sh\necho\n").contains("byte-order mark"));
        let crlf = problem(b"#!/bin/sh\r\necho\r\n");
        assert!(crlf.contains("carriage return") && crlf.contains("/bin/sh\\r"), "{crlf}");
        assert!(identify(b"#!/bin/sh\necho\n").problem.is_none());
    }

    #[test]
    fn arm_levels_come_from_tag_cpu_arch() {
        assert_eq!(identify(&elf_arm_with_cpu_arch(10)).arm_level, Some(7));
        assert_eq!(identify(&elf_arm_with_cpu_arch(6)).arm_level, Some(6));
        assert_eq!(identify(&elf_arm_with_cpu_arch(4)).arm_level, Some(5));
        assert_eq!(identify(&elf_arm_with_cpu_arch(14)).arm_level, Some(8));
        assert!(identify(&elf_arm_with_cpu_arch(10)).description.contains("Tag_CPU_arch 10"));
        // No attributes section: unknown, never guessed.
        assert_eq!(identify(&elf_header(40, false, true)).arm_level, None);
    }

    #[test]
    fn elf_machine_table_follows_the_elf_specification() {
        assert_eq!(elf_machine_arch(2, false, false), Some("sparc"), "EM_SPARC is 32-bit SPARC");
        assert_eq!(elf_machine_arch(18, false, false), Some("sparc"), "EM_SPARC32PLUS");
        assert_eq!(elf_machine_arch(43, true, false), Some("sparc64"), "EM_SPARCV9");
        assert_eq!(elf_machine_arch(62, true, true), Some("amd64"));
        assert_eq!(elf_machine_arch(3, false, true), Some("386"));
        assert_eq!(elf_machine_arch(40, false, true), Some("arm"));
        assert_eq!(elf_machine_arch(183, true, true), Some("arm64"));
        assert_eq!(elf_machine_arch(21, true, true), Some("ppc64le"));
        assert_eq!(elf_machine_arch(22, true, false), Some("s390x"));
        assert_eq!(elf_machine_arch(243, true, true), Some("riscv64"));
        assert_eq!(elf_machine_arch(258, true, true), Some("loong64"));
        assert_eq!(elf_machine_arch(8, false, true), Some("mipsle"));
        assert_eq!(elf_machine_arch(999, true, true), None);
    }
}
