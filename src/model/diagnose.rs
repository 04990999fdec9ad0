//! Diagnosing "exec format error": which entry a host would run, whether the image's config
//! agrees with its index, and whether the entrypoint binary is built for that platform.
//! Pure rules over facts gathered elsewhere.

use super::binary::{BinaryFormat, BinaryId};
use super::digest::Digest;
use super::platform::{HostPreset, MatchKind, Matcher, Platform};

/// The host being diagnosed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub label: String,
    pub platform: Platform,
    /// Platforms it runs only through emulation.
    pub emulates: Vec<Platform>,
    /// The CPU cannot execute 32-bit ARM code (Apple M-series).
    pub no_32bit_arm: bool,
    /// Why its runtime behaves as it does (a preset's basis; empty for a typed platform).
    pub basis: String,
}

impl Host {
    /// A preset id (`apple-silicon`, `rpi32`, …) or a platform (`linux/arm64`).
    pub fn parse(s: &str) -> Result<Host, String> {
        if let Some(p) = HostPreset::find(s) {
            return Ok(Host {
                label: p.label.to_string(),
                platform: p.platform(),
                emulates: p.emulates.iter().filter_map(|e| Platform::parse_key(e).ok()).collect(),
                no_32bit_arm: p.id == "apple-silicon",
                basis: p.basis.to_string(),
            });
        }
        // A typed host is a whole platform: `linux` alone is not read as some default arch.
        let platform = Platform::parse_complete(s).map_err(|e| {
            let names: Vec<&str> = crate::model::platform::HOST_PRESETS.iter().map(|p| p.id).collect();
            format!("{e}; or use a host preset: {}", names.join(", "))
        })?;
        Ok(Host { label: platform.key(), platform, emulates: Vec::new(), no_32bit_arm: false, basis: String::new() })
    }
}

/// A runnable candidate: an index entry, or the image itself when there is no index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub digest: Digest,
    pub platform: Platform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    Exact,
    Fallback,
    Emulation,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    Fallback,
    Emulation,
    Unknown,
    ConfigMismatch,
    BinaryMismatch,
    /// The entrypoint exists but the kernel will refuse it (a script with CRLF line endings …).
    BrokenEntrypoint,
    NoMatch,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Fallback => "fallback",
            Verdict::Emulation => "emulation",
            Verdict::Unknown => "unknown",
            Verdict::ConfigMismatch => "config-mismatch",
            Verdict::BinaryMismatch => "binary-mismatch",
            Verdict::BrokenEntrypoint => "broken-entrypoint",
            Verdict::NoMatch => "no-match",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: String,
    pub message: String,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Selected {
    pub digest: Digest,
    pub platform: String,
    #[serde(rename = "match")]
    pub selection: Selection,
}

/// What the entrypoint turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BinaryReport {
    pub path: String,
    pub format: BinaryFormat,
    pub architecture: Option<String>,
    /// Scripts followed to reach it (`/entrypoint.sh` → `/bin/sh`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// The facts a deep look at the layers produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryFacts {
    Found {
        path: String,
        id: BinaryId,
        via: Vec<String>,
    },
    /// The entrypoint could not be determined; why.
    Unknown {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    pub reference: String,
    pub host: String,
    pub verdict: Verdict,
    pub selected: Option<Selected>,
    pub findings: Vec<Finding>,
    pub binary: Option<BinaryReport>,
    pub bytes_read: u64,
    pub remedy: Vec<String>,
    /// Layers read only in part, so not checked against their digest (each said in words).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partly_verified: Vec<String>,
    /// What the selected image's config says its platform is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
}

/// Which candidate the host runs, and how.
pub fn select(host: &Host, candidates: &[Candidate]) -> (Option<usize>, Selection) {
    let m = Matcher::only(&host.platform);
    let platforms: Vec<&Platform> = candidates.iter().map(|c| &c.platform).collect();
    if let Some((i, c)) = m.select(platforms.iter().copied()).and_then(|i| candidates.get(i).map(|c| (i, c))) {
        let kind = match m.kind(&c.platform) {
            Some(MatchKind::Exact) => Selection::Exact,
            _ => Selection::Fallback,
        };
        return (Some(i), kind);
    }
    for e in &host.emulates {
        if let Some(i) = Matcher::only_strict(e).select(platforms.iter().copied()) {
            return (Some(i), Selection::Emulation);
        }
    }
    (None, Selection::None)
}

fn finding(kind: &str, message: String, evidence: String) -> Finding {
    Finding { kind: kind.to_string(), message, evidence }
}

/// Everything the rules need.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub reference: &'a str,
    pub host: &'a Host,
    /// `true` when the reference is an index; `false` for a single image.
    pub is_index: bool,
    pub candidates: &'a [Candidate],
    /// Platform the selected image's config claims, once read.
    pub selected_config: Option<&'a Platform>,
    pub binary: Option<&'a BinaryFacts>,
    pub bytes_read: u64,
}

/// The build number of a Windows `os.version` (`10.0.20348.2322` → 20348).
fn windows_build(os_version: &str) -> Option<u32> {
    os_version.split('.').nth(2)?.parse().ok()
}

/// The release name of a Windows Server build.
fn windows_release(build: u32) -> String {
    match build {
        17763 => "Windows Server 2019 (ltsc2019)".into(),
        20348 => "Windows Server 2022 (ltsc2022)".into(),
        26100 => "Windows Server 2025 (ltsc2025)".into(),
        b => format!("Windows build {b}"),
    }
}

/// The servercore tag for a build.
fn windows_tag(build: u32) -> &'static str {
    match build {
        b if b >= 26100 => "ltsc2025",
        b if b >= 20348 => "ltsc2022",
        _ => "ltsc2019",
    }
}

/// Apply the rules: selection, emulation, label and binary checks; the worst finding is the
/// verdict.
pub fn diagnose(f: &Facts<'_>) -> Diagnosis {
    let host_key = f.host.platform.key();
    let mut findings = Vec::new();
    let mut remedy = Vec::new();
    let mut verdict = Verdict::Ok;
    let (index, how) = select(f.host, f.candidates);
    let available: Vec<String> = f.candidates.iter().map(|c| c.platform.key()).collect();
    let selected = index.and_then(|i| f.candidates.get(i)).map(|c| Selected { digest: c.digest.clone(), platform: c.platform.key(), selection: how });
    let bump = |v: &mut Verdict, to: Verdict| {
        if to > *v {
            *v = to;
        }
    };
    let build_for = format!("rebuild with `docker buildx build --platform {} …`", f.host.platform.docker_flag());
    match (&selected, how) {
        (None, _) if f.is_index && f.candidates.is_empty() => {
            bump(&mut verdict, Verdict::NoMatch);
            findings.push(finding(
                "no-match",
                "this index holds no runnable image: its entries are attestations, artifacts or entries without a platform".into(),
                "no image entry with a platform".into(),
            ));
            remedy.push("push the images themselves and an index that names them (this one names none a runtime can pick)".into());
        }
        (None, _) if f.host.platform.os == "windows" && f.candidates.iter().any(|c| c.platform.os == "windows") => {
            bump(&mut verdict, Verdict::NoMatch);
            let host_build = windows_build(&f.host.platform.os_version);
            let builds: Vec<u32> = f.candidates.iter().filter(|c| c.platform.os == "windows").filter_map(|c| windows_build(&c.platform.os_version)).collect();
            let oldest = builds.iter().min().copied();
            let message = match (host_build, oldest) {
                (Some(h), Some(o)) if o > h => format!(
                    "the Windows entries are built on {} (build {o}) and newer; {} is build {h}, and Windows runs only containers built for its own build or older (from 2022 on)",
                    windows_release(o),
                    f.host.label
                ),
                _ => format!("no Windows entry matches {} ({host_key}): process isolation needs a matching build", f.host.label),
            };
            findings.push(finding("no-match", message, format!("available: {}", available.join(", "))));
            remedy.push(match host_build {
                Some(h) => format!(
                    "run it on a host of build {} or newer, or rebuild it FROM a {} base image (e.g. mcr.microsoft.com/windows/servercore:{})",
                    oldest.unwrap_or(h),
                    windows_release(h),
                    windows_tag(h)
                ),
                None => "rebuild it from a base image that matches the host's Windows build".into(),
            });
        }
        (None, _) => {
            bump(&mut verdict, Verdict::NoMatch);
            let message = if f.is_index {
                format!("no entry of this index runs on {} ({host_key})", f.host.label)
            } else {
                format!(
                    "this is a single-platform image for {}; {} runs {host_key}",
                    available.first().map(String::as_str).unwrap_or("an unknown platform"),
                    f.host.label
                )
            };
            findings.push(finding("no-match", message, format!("available: {}", available.join(", "))));
            remedy.push(build_for.clone());
        }
        (Some(s), Selection::Fallback) => {
            bump(&mut verdict, Verdict::Fallback);
            let mut message = format!("no {host_key} entry; the runtime falls back to {}", s.platform);
            let mut basis = format!("containerd preference order from {host_key}; available: {}", available.join(", "));
            if !f.host.no_32bit_arm && f.host.platform.architecture == "arm64" && s.platform.starts_with("linux/arm/") {
                message.push_str(
                    ". That runs natively only on CPUs with a 32-bit mode (Raspberry Pi 3–5, Neoverse N1 such as Graviton2 or Ampere Altra); Graviton3/4 and AmpereOne fail with exec format error unless binfmt emulation is installed",
                );
            }
            if !f.host.basis.is_empty() {
                basis.push_str(&format!("; basis: {}", f.host.basis));
            }
            if f.host.no_32bit_arm && s.platform.starts_with("linux/arm/") {
                message.push_str(
                    ". Apple M-series CPUs have no 32-bit ARM mode, so Docker Desktop runs it through its QEMU emulation (slower, and some programs misbehave); on a Linux host on M-series without binfmt emulation it fails with exec format error",
                );
                basis.push_str("; Apple M1–M4 implement AArch64 only (no AArch32 state)");
            }
            findings.push(finding("fallback", message, basis));
            remedy.push(build_for.clone());
        }
        (Some(s), Selection::Emulation) => {
            bump(&mut verdict, Verdict::Emulation);
            let basis = if f.host.basis.is_empty() { String::new() } else { format!("; basis: {}", f.host.basis) };
            findings.push(finding(
                "emulation",
                format!("the only entry {} can run is {}, through emulation (slow, and some programs fail)", f.host.label, s.platform),
                format!("available: {}{basis}", available.join(", ")),
            ));
            remedy.push(format!("run with `--platform {}` under emulation, or {build_for}", s.platform));
        }
        _ => {}
    }
    if let (Some(s), Some(cfg)) = (&selected, f.selected_config) {
        let claimed = Platform::parse_key(&s.platform).unwrap_or_default();
        if f.is_index && crate::model::platform::config_contradicts(&claimed, cfg) {
            bump(&mut verdict, Verdict::ConfigMismatch);
            findings.push(finding(
                "config-mismatch",
                format!("the index says {} but the image's config says {}", s.platform, cfg.key()),
                format!("entry {} → config os={} architecture={} variant={}", s.digest.short(), cfg.os, cfg.architecture, cfg.variant),
            ));
            remedy.push("fix the entry's platform with `archlens compose`, or rebuild the image for the platform its entry claims".into());
        }
    }
    let mut binary = None;
    match f.binary {
        Some(BinaryFacts::Found { path, id, via }) => {
            binary = Some(BinaryReport { path: path.clone(), format: id.format.clone(), architecture: id.architecture.clone(), via: via.clone() });
            if let Some((problem, fix)) = &id.problem {
                bump(&mut verdict, Verdict::BrokenEntrypoint);
                findings.push(finding("broken-entrypoint", format!("{path}: {problem}"), id.description.clone()));
                remedy.push(format!("{path}: {fix}"));
            } else if let Some(s) = &selected {
                let want = Platform::parse_key(&s.platform).unwrap_or_default().normalize().architecture;
                match &id.architecture {
                    Some(arch) if *arch != want => {
                        bump(&mut verdict, Verdict::BinaryMismatch);
                        findings.push(finding(
                            "binary-mismatch",
                            format!("{path} is built for {arch}, but it is in the {} entry", s.platform),
                            id.description.clone(),
                        ));
                        remedy.push(format!(
                            "rebuild the {} image so its binaries are built for {want} (check the build's --platform and any downloaded binaries)",
                            s.platform
                        ));
                    }
                    Some(_) => {
                        // Right architecture; for 32-bit ARM also the right level: ARMv7 code
                        // dies with "Illegal instruction" on an ARMv6 CPU (Pi Zero, Pi 1).
                        let entry = Platform::parse_key(&s.platform).unwrap_or_default().normalize();
                        let entry_level = entry.variant.trim_start_matches('v').parse::<u8>().ok();
                        if let (Some(needs), Some(has), "arm") = (id.arm_level, entry_level, want.as_str())
                            && needs > has
                        {
                            bump(&mut verdict, Verdict::BinaryMismatch);
                            findings.push(finding(
                                "arm-level",
                                format!(
                                    "{path} is built for ARMv{needs}, but it is in the {} entry: an ARMv{has} CPU stops it with \"Illegal instruction\"",
                                    s.platform
                                ),
                                id.description.clone(),
                            ));
                            remedy.push(format!(
                                "rebuild the {} image for ARMv{has} (e.g. GOARM={has}, or -march=armv{has} for C), or label it linux/arm/v{needs}",
                                s.platform
                            ));
                        }
                    }
                    None => {
                        bump(&mut verdict, Verdict::Unknown);
                        findings.push(finding("unknown", format!("cannot tell the architecture of {path}"), id.description.clone()));
                    }
                }
            }
        }
        Some(BinaryFacts::Unknown { reason }) => {
            bump(&mut verdict, Verdict::Unknown);
            findings.push(finding("unknown", "the entrypoint binary could not be examined".into(), reason.clone()));
        }
        None if selected.is_some() => {
            // Said, not counted: a shallow look cannot vouch for the binaries.
            findings.push(finding(
                "not-read",
                "the layers were not read, so the entrypoint binary's architecture is unchecked".into(),
                "shallow diagnosis (run without --shallow, or tick Read layers, to check it)".into(),
            ));
        }
        None => {}
    }
    remedy.dedup();
    Diagnosis {
        reference: f.reference.to_string(),
        host: host_key,
        verdict,
        selected,
        findings,
        binary,
        bytes_read: f.bytes_read,
        remedy,
        partly_verified: Vec::new(),
        config: f.selected_config.map(Platform::key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::binary::{elf_header, identify};

    fn c(p: &str, d: &str) -> Candidate {
        Candidate { digest: Digest::sha256(d.as_bytes()), platform: Platform::parse_key(p).unwrap() }
    }

    fn run(host: &str, cands: &[Candidate], cfg: Option<&str>, bin: Option<BinaryFacts>) -> Diagnosis {
        let host = Host::parse(host).unwrap();
        let cfg = cfg.map(|c| Platform::parse_key(c).unwrap());
        diagnose(&Facts {
            reference: "r",
            host: &host,
            is_index: cands.len() > 1,
            candidates: cands,
            selected_config: cfg.as_ref(),
            binary: bin.as_ref(),
            bytes_read: 0,
        })
    }

    #[test]
    fn healthy() {
        let d = run("arm64-server", &[c("linux/amd64", "a"), c("linux/arm64", "b")], Some("linux/arm64/v8"), None);
        assert_eq!(d.verdict, Verdict::Ok);
        assert_eq!(d.selected.unwrap().selection, Selection::Exact);
    }

    #[test]
    fn fallback_on_apple_silicon_notes_32_bit() {
        let d = run("apple-silicon", &[c("linux/amd64", "a"), c("linux/arm/v7", "b")], None, None);
        // Apple silicon prefers the native 32-bit fallback over emulating amd64, as containerd does.
        assert_eq!(d.verdict, Verdict::Fallback);
        assert_eq!(d.selected.as_ref().unwrap().platform, "linux/arm/v7");
        assert!(d.findings[0].message.contains("no 32-bit ARM"));
        let d = run("arm64-server", &[c("linux/amd64", "a"), c("linux/arm/v7", "b")], None, None);
        assert_eq!(d.verdict, Verdict::Fallback);
        assert!(!d.findings[0].message.contains("no 32-bit ARM"));
    }

    #[test]
    fn emulation_and_no_match() {
        let amd = [c("linux/amd64", "a")];
        let d = run("apple-silicon", &amd, Some("linux/amd64"), None);
        assert_eq!(d.verdict, Verdict::Emulation);
        assert_eq!(d.selected.unwrap().selection, Selection::Emulation);
        let d = run("arm64-server", &amd, Some("linux/amd64"), None);
        assert_eq!(d.verdict, Verdict::NoMatch);
        assert!(d.findings[0].message.contains("single-platform image for linux/amd64"), "{:?}", d.findings);
        let win = [c("windows/amd64:10.0.17763.5122", "w"), c("windows/amd64:10.0.20348.1", "x")];
        let d = run("x86-64", &win, None, None);
        assert_eq!(d.verdict, Verdict::NoMatch);
        // An ltsc2022-only image on a 2019 host: the build is named, not "rebuild for windows/amd64".
        let ltsc2022 = [c("windows/amd64:10.0.20348.2322", "x")];
        let d = run("windows-2019", &ltsc2022, None, None);
        assert_eq!(d.verdict, Verdict::NoMatch);
        assert!(d.findings[0].message.contains("Windows Server 2022") && d.findings[0].message.contains("build 17763"), "{:?}", d.findings);
        assert!(d.remedy[0].contains("servercore:ltsc2019") && !d.remedy[0].contains("--platform windows/amd64"), "{:?}", d.remedy);
    }

    #[test]
    fn config_and_binary_mismatch() {
        let idx = [c("linux/amd64", "a"), c("linux/arm64", "b")];
        let d = run("arm64-server", &idx, Some("linux/amd64"), None);
        assert_eq!(d.verdict, Verdict::ConfigMismatch);
        let x86 = BinaryFacts::Found { path: "/app".into(), id: identify(&elf_header(62, true, true)), via: vec![] };
        let d = run("arm64-server", &idx, Some("linux/arm64"), Some(x86));
        assert_eq!(d.verdict, Verdict::BinaryMismatch);
        assert_eq!(d.binary.unwrap().architecture.as_deref(), Some("amd64"));
        let arm = BinaryFacts::Found { path: "/app".into(), id: identify(&elf_header(183, true, true)), via: vec![] };
        assert_eq!(run("arm64-server", &idx, Some("linux/arm64"), Some(arm)).verdict, Verdict::Ok);
        let unknown = BinaryFacts::Unknown { reason: "no entrypoint".into() };
        assert_eq!(run("arm64-server", &idx, Some("linux/arm64"), Some(unknown)).verdict, Verdict::Unknown);
    }

    #[test]
    fn hosts() {
        assert!(Host::parse("rpi32").is_ok());
        assert_eq!(Host::parse("linux/riscv64").unwrap().platform.key(), "linux/riscv64");
        let e = Host::parse("toaster").unwrap_err();
        assert!(e.contains("apple-silicon"), "{e}");
        // A partial platform is refused, not completed with a default architecture.
        for partial in ["linux", "arm64", "linux/"] {
            let e = Host::parse(partial).unwrap_err();
            assert!(e.contains("incomplete") && e.contains("apple-silicon"), "{partial}: {e}");
        }
    }
}
