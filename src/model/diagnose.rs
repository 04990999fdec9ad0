//! Diagnosing "exec format error": which entry a host would run, whether the image's config
//! agrees with its index, and whether the entrypoint binary is built for that platform.
//! Pure rules over facts gathered elsewhere.

use super::binary::{BinaryFormat, BinaryId};
use super::digest::Digest;
use super::exec::{Chain, End};
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
    /// Whether it runs its architecture's 32-bit programs natively (386 on x86-64, arm on
    /// arm64): `None` when that depends on the CPU.
    pub compat32: Option<bool>,
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
                compat32: p.compat32,
                basis: p.basis.to_string(),
            });
        }
        // A typed host is a whole platform: `linux` alone is not read as some default arch.
        let platform = Platform::parse_complete(s).map_err(|e| {
            let names: Vec<&str> = crate::model::platform::HOST_PRESETS.iter().map(|p| p.id).collect();
            format!("{e}; or use a host preset: {}", names.join(", "))
        })?;
        let compat32 = match platform.architecture.as_str() {
            "amd64" => Some(true),
            "arm64" => None,
            _ => Some(false),
        };
        Ok(Host { label: platform.key(), platform, emulates: Vec::new(), no_32bit_arm: false, compat32, basis: String::new() })
    }

    /// How this host runs a program built for `arch` (platform vocabulary; `x32` for the x32
    /// ABI, which stock kernels are built without).
    pub fn runs(&self, arch: &str) -> RunMode {
        let own = self.platform.normalize().architecture;
        if arch == own {
            return RunMode::Native;
        }
        let compat = matches!((own.as_str(), arch), ("amd64", "386") | ("arm64", "arm"));
        if compat && !self.no_32bit_arm {
            match self.compat32 {
                Some(true) => return RunMode::ThirtyTwoBit,
                None => return RunMode::MaybeThirtyTwoBit,
                Some(false) => {}
            }
        }
        if self.emulates.iter().any(|e| e.normalize().architecture == arch) {
            return RunMode::Emulated;
        }
        RunMode::No
    }
}

/// How a host runs a program of some architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Native,
    /// Natively, in the CPU's 32-bit mode.
    ThirtyTwoBit,
    /// Only on CPUs with a 32-bit mode.
    MaybeThirtyTwoBit,
    Emulated,
    No,
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

/// What a finding is about; a repair acts on these, so they are not strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    NoMatch,
    Fallback,
    Emulation,
    ConfigMismatch,
    BinaryMismatch,
    ArmLevel,
    BrokenEntrypoint,
    /// A program of another architecture than its entry that the host still runs natively or
    /// in its 32-bit mode: the label is wrong, the container starts.
    BinaryLabel,
    Unknown,
    NotRead,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::NoMatch => "no-match",
            FindingKind::Fallback => "fallback",
            FindingKind::Emulation => "emulation",
            FindingKind::ConfigMismatch => "config-mismatch",
            FindingKind::BinaryMismatch => "binary-mismatch",
            FindingKind::ArmLevel => "arm-level",
            FindingKind::BrokenEntrypoint => "broken-entrypoint",
            FindingKind::BinaryLabel => "binary-label",
            FindingKind::Unknown => "unknown",
            FindingKind::NotRead => "not-read",
        }
    }

    /// The entry's program cannot run where its label says.
    pub fn program_cannot_run(self) -> bool {
        matches!(self, FindingKind::BinaryMismatch | FindingKind::ArmLevel | FindingKind::BrokenEntrypoint)
    }

    /// A draft can fix it (the diagnose panel offers Repair… for these).
    pub fn repairable(self) -> bool {
        self.program_cannot_run() || matches!(self, FindingKind::ConfigMismatch | FindingKind::NoMatch)
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: FindingKind,
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
    /// Programs and scripts that ran before it (`/entrypoint.sh` → `/bin/sh`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// One program of the exec chain, as shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainStep {
    /// How control reached it.
    pub how: String,
    /// The name it was started by.
    pub name: String,
    /// Its real path.
    pub path: String,
    pub format: BinaryFormat,
    pub architecture: Option<String>,
    pub description: String,
    /// Its program loader (`PT_INTERP`) and where that resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loader: Option<String>,
    /// Symbolic links followed to reach it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

/// The facts a deep look at the layers produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryFacts {
    /// The exec chain, followed in the image's root filesystem.
    Followed { chain: Chain },
    /// The layers could not be read to the answer; why.
    Unknown { reason: String },
}

impl BinaryFacts {
    /// A chain of one program (for tests and callers that identified a file themselves).
    pub fn single(path: &str, id: BinaryId) -> BinaryFacts {
        let step = crate::model::exec::Step { how: "entrypoint".into(), name: path.into(), path: path.into(), id, loader: None, links: Vec::new() };
        BinaryFacts::Followed { chain: Chain { steps: vec![step], end: End::Complete } }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    pub reference: String,
    pub host: String,
    pub verdict: Verdict,
    pub selected: Option<Selected>,
    pub findings: Vec<Finding>,
    pub binary: Option<BinaryReport>,
    /// Every program from the entrypoint to the one that does the work.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainStep>,
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

fn finding(kind: FindingKind, message: String, evidence: String) -> Finding {
    Finding { kind, message, evidence }
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
    let build_for = format!("rebuild with `docker buildx build --platform {} …`", f.host.platform.docker_flag());
    match (&selected, how) {
        (None, _) if f.is_index && f.candidates.is_empty() => {
            raise(&mut verdict, Verdict::NoMatch);
            findings.push(finding(
                FindingKind::NoMatch,
                "this index holds no runnable image: its entries are attestations, artifacts or entries without a platform".into(),
                "no image entry with a platform".into(),
            ));
            remedy.push("push the images themselves and an index that names them (this one names none a runtime can pick)".into());
        }
        (None, _) if f.host.platform.os == "windows" && f.candidates.iter().any(|c| c.platform.os == "windows") => {
            raise(&mut verdict, Verdict::NoMatch);
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
            findings.push(finding(FindingKind::NoMatch, message, format!("available: {}", available.join(", "))));
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
            raise(&mut verdict, Verdict::NoMatch);
            let message = if f.is_index {
                format!("no entry of this index runs on {} ({host_key})", f.host.label)
            } else {
                format!(
                    "this is a single-platform image for {}; {} runs {host_key}",
                    available.first().map(String::as_str).unwrap_or("an unknown platform"),
                    f.host.label
                )
            };
            findings.push(finding(FindingKind::NoMatch, message, format!("available: {}", available.join(", "))));
            remedy.push(build_for.clone());
        }
        (Some(s), Selection::Fallback) => {
            raise(&mut verdict, Verdict::Fallback);
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
            findings.push(finding(FindingKind::Fallback, message, basis));
            remedy.push(build_for.clone());
        }
        (Some(s), Selection::Emulation) => {
            raise(&mut verdict, Verdict::Emulation);
            let basis = if f.host.basis.is_empty() { String::new() } else { format!("; basis: {}", f.host.basis) };
            findings.push(finding(
                FindingKind::Emulation,
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
            raise(&mut verdict, Verdict::ConfigMismatch);
            findings.push(finding(
                FindingKind::ConfigMismatch,
                format!("the index says {} but the image's config says {}", s.platform, cfg.key()),
                format!("entry {} → config os={} architecture={} variant={}", s.digest.short(), cfg.os, cfg.architecture, cfg.variant),
            ));
            remedy.push("fix the entry's platform with `archlens compose`, or rebuild the image for the platform its entry claims".into());
        }
    }
    let mut binary = None;
    let mut chain = Vec::new();
    match f.binary {
        Some(BinaryFacts::Followed { chain: c }) => {
            chain = c.steps.iter().map(chain_step).collect();
            if let Some(p) = c.program() {
                let before: Vec<&crate::model::exec::Step> = c.steps.iter().take_while(|s| !std::ptr::eq(*s, p)).collect();
                let via = before
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        // A shell that ran a command: `/bin/sh -c`.
                        let next = before.get(i + 1).copied().unwrap_or(p);
                        if next.how.ends_with(" -c") { format!("{} -c", s.path) } else { s.path.clone() }
                    })
                    .collect();
                binary = Some(BinaryReport { path: p.path.clone(), format: p.id.format.clone(), architecture: p.id.architecture.clone(), via });
            }
            if let Some(s) = &selected {
                judge_chain(f.host, s, c, &mut findings, &mut remedy, &mut verdict);
            }
        }
        Some(BinaryFacts::Unknown { reason }) => {
            raise(&mut verdict, Verdict::Unknown);
            findings.push(finding(FindingKind::Unknown, "the entrypoint could not be examined".into(), reason.clone()));
        }
        None if selected.is_some() => {
            // Said, not counted: a shallow look cannot vouch for the binaries.
            findings.push(finding(
                FindingKind::NotRead,
                "the layers were not read, so the entrypoint binary's architecture is unchecked".into(),
                "shallow diagnosis (run without --shallow, or tick Read layers, to check it)".into(),
            ));
        }
        None => {}
    }
    // What Repair does, in the words of what it does (registry::diagnose::repair_draft).
    const HOW: &str = "Repair (diagnose --repair-draft, or Repair… in the app)";
    let has = |k: FindingKind| findings.iter().any(|x| x.kind == k);
    match (&selected, f.selected_config) {
        (Some(s), Some(cfg)) if f.is_index && has(FindingKind::ConfigMismatch) => remedy.push(format!(
            "{HOW} relabels the {} entry as {} (what its config says), or drops it when the index already has a {} entry",
            s.platform,
            cfg.key(),
            cfg.key()
        )),
        (Some(s), _) if f.is_index && findings.iter().any(|x| x.kind.program_cannot_run()) => remedy.push(format!(
            "{HOW} replaces the {} entry with an image of the same version for that platform from another tag (a per-architecture tag, or the same org.opencontainers.image.version or revision) whose start checks out, else drops the entry; the only runnable entry is never dropped: an image of another version is proposed instead, with a warning",
            s.platform
        )),
        (None, _) if f.is_index && has(FindingKind::NoMatch) && !f.candidates.is_empty() => remedy.push(format!(
            "{HOW} adds a {host_key} entry from another tag of the repository whose image runs on it (the same version first; another version only with a warning)"
        )),
        _ => {}
    }
    remedy.dedup();
    Diagnosis {
        reference: f.reference.to_string(),
        host: host_key,
        verdict,
        selected,
        findings,
        binary,
        chain,
        bytes_read: f.bytes_read,
        remedy,
        partly_verified: Vec::new(),
        config: f.selected_config.map(Platform::key),
    }
}

fn chain_step(s: &crate::model::exec::Step) -> ChainStep {
    ChainStep {
        how: s.how.clone(),
        name: s.name.clone(),
        path: s.path.clone(),
        format: s.id.format.clone(),
        architecture: s.id.architecture.clone(),
        description: s.id.description.clone(),
        loader: s.loader.as_ref().map(|l| if l.name == l.path { l.name.clone() } else { format!("{} ({})", l.name, l.path) }),
        links: s.links.clone(),
    }
}

fn raise(v: &mut Verdict, to: Verdict) {
    if to > *v {
        *v = to;
    }
}

/// Judge every program of the chain, in the order they start, on `host`: the first one the
/// host cannot run is where the container stops; then how the chain ends.
fn judge_chain(host: &Host, s: &Selected, chain: &Chain, findings: &mut Vec<Finding>, remedy: &mut Vec<String>, verdict: &mut Verdict) {
    let entry = Platform::parse_key(&s.platform).unwrap_or_default().normalize();
    let want = entry.architecture.clone();
    let basis = if host.basis.is_empty() { String::new() } else { format!("; basis: {}", host.basis) };
    let chain_text = |upto: &str| -> String {
        let names: Vec<&str> = chain.steps.iter().map(|s| s.path.as_str()).collect();
        let shown = names.iter().position(|n| *n == upto).map(|i| names.get(..=i).unwrap_or(&names)).unwrap_or(&names);
        if shown.len() > 1 { format!("; chain: {}", shown.join(" → ")) } else { String::new() }
    };
    for step in &chain.steps {
        let loader = step.loader.as_ref().map(|l| (l.path.as_str(), &l.id));
        for (path, id, what) in std::iter::once((step.path.as_str(), &step.id, "")).chain(loader.map(|(p, id)| (p, id, "the program loader "))) {
            if !matches!(id.format, BinaryFormat::Elf | BinaryFormat::Pe | BinaryFormat::Macho) {
                continue;
            }
            let evidence = format!("{}{}", id.description, chain_text(&step.path));
            let Some(arch) = id.architecture.as_deref() else {
                raise(verdict, Verdict::Unknown);
                findings.push(finding(FindingKind::Unknown, format!("cannot tell the architecture of {what}{path}"), evidence));
                return;
            };
            if arch == "x32" {
                raise(verdict, Verdict::BrokenEntrypoint);
                findings.push(finding(
                    FindingKind::BrokenEntrypoint,
                    format!("{what}{path} is an x32 program (32-bit ELF for x86-64): stock kernels (Debian, Ubuntu, Fedora, Docker Desktop) are built without x32 support and refuse it with \"exec format error\""),
                    evidence,
                ));
                remedy.push(format!("rebuild {path} as an ordinary amd64 (64-bit) program"));
                return;
            }
            if arch == want {
                // Right architecture; for 32-bit ARM also the right level: ARMv7 code dies
                // with "Illegal instruction" on an ARMv6 CPU (Pi Zero, Pi 1).
                let entry_level = entry.variant.trim_start_matches('v').parse::<u8>().ok();
                if let (Some(needs), Some(has), "arm") = (id.arm_level, entry_level, want.as_str())
                    && needs > has
                {
                    raise(verdict, Verdict::BinaryMismatch);
                    findings.push(finding(
                        FindingKind::ArmLevel,
                        format!(
                            "{what}{path} is built for ARMv{needs}, but it is in the {} entry: an ARMv{has} CPU stops it with \"Illegal instruction\"",
                            s.platform
                        ),
                        evidence,
                    ));
                    remedy.push(format!(
                        "rebuild the {} image for ARMv{has} (e.g. GOARM={has}, or -march=armv{has} for C), or label it linux/arm/v{needs}",
                        s.platform
                    ));
                    return;
                }
                continue;
            }
            match host.runs(arch) {
                RunMode::Native => findings.push(finding(
                    FindingKind::BinaryLabel,
                    format!("{what}{path} is built for {arch}, not {want} as its entry {} says; {} runs {arch} natively, so it starts here, but hosts that pick this entry by its label may not", s.platform, host.label),
                    evidence,
                )),
                RunMode::ThirtyTwoBit => findings.push(finding(
                    FindingKind::BinaryLabel,
                    format!("{what}{path} is a 32-bit {arch} program in the {} entry; {} runs it natively in its 32-bit mode", s.platform, host.label),
                    format!("{evidence}{basis}"),
                )),
                RunMode::MaybeThirtyTwoBit => {
                    raise(verdict, Verdict::Fallback);
                    findings.push(finding(
                        FindingKind::Fallback,
                        format!("{what}{path} is a 32-bit {arch} program in the {} entry: it runs only on {} CPUs with a 32-bit mode (Neoverse N1 such as Graviton2 or Ampere Altra, Raspberry Pi 3–5); Graviton3/4 and AmpereOne refuse it with exec format error", s.platform, host.label),
                        format!("{evidence}{basis}"),
                    ));
                }
                RunMode::Emulated => {
                    raise(verdict, Verdict::Emulation);
                    findings.push(finding(
                        FindingKind::Emulation,
                        format!("{what}{path} is built for {arch}, not {want}; {} runs it only through emulation (slow, and some programs fail)", host.label),
                        format!("{evidence}{basis}"),
                    ));
                }
                RunMode::No => {
                    raise(verdict, Verdict::BinaryMismatch);
                    findings.push(finding(
                        FindingKind::BinaryMismatch,
                        format!("{what}{path} is built for {arch}, but it is in the {} entry: {} cannot run it (exec format error)", s.platform, host.label),
                        format!("{evidence}{basis}"),
                    ));
                    remedy.push(format!("rebuild the {} image so its binaries are built for {want} (check the build's --platform and any downloaded binaries)", s.platform));
                    return;
                }
            }
        }
    }
    match &chain.end {
        End::Complete => {}
        End::Refused { at, error, message, fix } => {
            raise(verdict, Verdict::BrokenEntrypoint);
            findings.push(finding(FindingKind::BrokenEntrypoint, message.clone(), format!("the start fails at {at}: {error}{}", chain_text(at))));
            remedy.push(fix.clone());
        }
        End::Unknown { reason } => {
            raise(verdict, Verdict::Unknown);
            let checked: Vec<String> = chain
                .steps
                .iter()
                .filter(|s| matches!(s.id.format, BinaryFormat::Elf | BinaryFormat::Pe))
                .map(|s| format!("{} ({})", s.path, s.id.architecture.as_deref().unwrap_or("unknown architecture")))
                .collect();
            let checked = if checked.is_empty() { "nothing could be checked".to_string() } else { format!("only {} checked", checked.join(", ")) };
            findings.push(finding(FindingKind::Unknown, "the start could not be followed to the end".into(), format!("{reason}; {checked}")));
        }
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
        assert!(d.remedy.iter().any(|r| r.starts_with("Repair") && r.contains("relabels the linux/arm64 entry as linux/amd64")), "{:?}", d.remedy);
        let x86 = BinaryFacts::single("/app", identify(&elf_header(62, true, true)));
        let d = run("arm64-server", &idx, Some("linux/arm64"), Some(x86));
        assert_eq!(d.verdict, Verdict::BinaryMismatch);
        // The remedy says what Repair does.
        assert!(d.remedy.iter().any(|r| r.starts_with("Repair") && r.contains("same version") && r.contains("never dropped")), "{:?}", d.remedy);
        assert_eq!(d.binary.unwrap().architecture.as_deref(), Some("amd64"));
        let arm = BinaryFacts::single("/app", identify(&elf_header(183, true, true)));
        assert_eq!(run("arm64-server", &idx, Some("linux/arm64"), Some(arm)).verdict, Verdict::Ok);
        let unknown = BinaryFacts::Unknown { reason: "no entrypoint".into() };
        assert_eq!(run("arm64-server", &idx, Some("linux/arm64"), Some(unknown)).verdict, Verdict::Unknown);
    }

    #[test]
    fn hosts_run_their_32_bit_programs_and_emulate_others() {
        let amd = [c("linux/amd64", "a")];
        let i386 = || BinaryFacts::single("/app", identify(&elf_header(3, false, true)));
        // An i386 program in the amd64 entry runs on x86-64: the label is wrong, the start is not.
        let d = run("x86-64", &amd, Some("linux/amd64"), Some(i386()));
        assert_eq!(d.verdict, Verdict::Ok, "{:?}", d.findings);
        assert!(d.findings.iter().any(|f| f.kind == FindingKind::BinaryLabel && f.message.contains("32-bit mode")), "{:?}", d.findings);
        // The same program on Apple silicon runs through emulation.
        assert_eq!(run("apple-silicon", &amd, Some("linux/amd64"), Some(i386())).verdict, Verdict::Emulation);
        // 32-bit ARM in an arm64 entry: runs on a Pi 4, depends on the CPU for a server, never on M-series natively.
        let arm64 = [c("linux/arm64", "b")];
        let arm = || BinaryFacts::single("/app", identify(&elf_header(40, false, true)));
        assert_eq!(run("rpi64", &arm64, Some("linux/arm64"), Some(arm())).verdict, Verdict::Ok);
        assert_eq!(run("arm64-server", &arm64, Some("linux/arm64"), Some(arm())).verdict, Verdict::Fallback);
        assert_eq!(run("apple-silicon", &arm64, Some("linux/arm64"), Some(arm())).verdict, Verdict::Emulation);
        // x32 is refused whatever the host, and said so.
        let x32 = BinaryFacts::single("/app", identify(&elf_header(62, false, true)));
        let d = run("x86-64", &amd, Some("linux/amd64"), Some(x32));
        assert_eq!(d.verdict, Verdict::BrokenEntrypoint);
        assert!(d.findings.iter().any(|f| f.message.contains("x32")), "{:?}", d.findings);
        assert_eq!(serde_json::to_value(FindingKind::BinaryMismatch).unwrap(), "binary-mismatch");
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
