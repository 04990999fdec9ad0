//! Platforms (os/architecture/variant, os.version, os.features), normalised and matched
//! by the rules of containerd's `platforms` package.

use std::cmp::Ordering;
use std::fmt;

/// Default OS for a bare architecture specifier (`arm64` → `linux/arm64`). containerd uses the
/// runtime's own OS; Archlens inspects images for other hosts, so Linux is the neutral choice.
const DEFAULT_OS: &str = "linux";
/// Default architecture for a bare OS specifier (`linux` → `linux/amd64`).
const DEFAULT_ARCH: &str = "amd64";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("empty platform: give one such as linux/arm64, linux/arm/v7 or windows/amd64:10.0.20348")]
    Empty,
    #[error("platform {input:?}: wildcards are not supported")]
    Wildcard { input: String },
    #[error("platform {input:?}: component {component:?} is invalid (letters, digits, `_`, `.`, `-`)")]
    BadComponent { input: String, component: String },
    #[error("platform {input:?}: unknown operating system or architecture")]
    Unknown { input: String },
    #[error("platform {input:?}: too many components (expected os/arch[/variant])")]
    TooMany { input: String },
    #[error("platform {input:?} is incomplete: give os/arch or os/arch/variant, e.g. linux/amd64, linux/arm64, linux/arm/v7, windows/amd64:10.0.20348")]
    Partial { input: String },
    #[error("platform of {len} characters is too long (at most {max})")]
    TooLong { len: usize, max: usize },
}

/// The longest platform string accepted from a user or a registry.
const MAX_PLATFORM_LEN: usize = 256;

/// An OCI platform. Empty strings mean "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "os.version")]
    pub os_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "os.features")]
    pub os_features: Vec<String>,
}

fn is_known_os(os: &str) -> bool {
    matches!(
        os,
        "aix"
            | "android"
            | "darwin"
            | "dragonfly"
            | "freebsd"
            | "hurd"
            | "illumos"
            | "ios"
            | "js"
            | "linux"
            | "nacl"
            | "netbsd"
            | "openbsd"
            | "plan9"
            | "solaris"
            | "windows"
            | "zos"
    )
}

fn is_known_arch(arch: &str) -> bool {
    matches!(
        arch,
        "386"
            | "amd64"
            | "amd64p32"
            | "arm"
            | "armbe"
            | "arm64"
            | "arm64be"
            | "ppc64"
            | "ppc64le"
            | "loong64"
            | "mips"
            | "mipsle"
            | "mips64"
            | "mips64le"
            | "mips64p32"
            | "mips64p32le"
            | "ppc"
            | "riscv"
            | "riscv64"
            | "s390"
            | "s390x"
            | "sparc"
            | "sparc64"
            | "wasm"
    )
}

fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    if os == "macos" { "darwin".to_string() } else { os }
}

/// containerd's `normalizeArch`.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), if variant == "v1" { String::new() } else { variant }),
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" | "8.0" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".to_string(),
                _ => variant,
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

fn valid_component(c: &str) -> bool {
    !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | '+' | '(' | ')' | '/' => out.push_str(&format!("%{:02X}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform { os: os.to_string(), architecture: architecture.to_string(), variant: variant.to_string(), ..Platform::default() }
    }

    /// containerd's `Normalize`: canonical os, architecture and variant.
    pub fn normalize(&self) -> Platform {
        let (architecture, variant) = normalize_arch(&self.architecture, &self.variant);
        Platform { os: normalize_os(&self.os), architecture, variant, ..self.clone() }
    }

    /// containerd's `Parse`: `<os>[(<os.version>[+feature…])]|<arch>|<os>[(…)]/<arch>[/<variant>]`.
    /// The result keeps what was written (`linux/arm64/v8` keeps `v8`); compare with
    /// [`Platform::normalize`] or a [`Matcher`].
    pub fn parse(specifier: &str) -> Result<Platform, PlatformError> {
        if specifier.is_empty() {
            return Err(PlatformError::Empty);
        }
        if specifier.len() > MAX_PLATFORM_LEN {
            return Err(PlatformError::TooLong { len: specifier.len(), max: MAX_PLATFORM_LEN });
        }
        if specifier.contains('*') {
            return Err(PlatformError::Wildcard { input: specifier.to_string() });
        }
        let parts: Vec<&str> = specifier.splitn(4, '/').collect();
        let bad = |c: &str| PlatformError::BadComponent { input: specifier.to_string(), component: c.to_string() };
        let mut p = Platform::default();
        // First component: os[(version[+feature…])]
        let first = parts.first().copied().unwrap_or_default();
        // `i` is where `(` is and the last byte is `)`, so `i + 1 <= len - 1`; both are char
        // boundaries (ASCII).
        #[allow(clippy::indexing_slicing)]
        let (os_part, paren) = match first.find('(') {
            Some(i) if first.ends_with(')') => (&first[..i], Some(&first[i + 1..first.len() - 1])),
            Some(_) => return Err(bad(first)),
            None => (first, None),
        };
        if os_part.is_empty() || !os_part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')) {
            return Err(bad(first));
        }
        if let Some(inner) = paren {
            if inner.bytes().any(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+' | b'%'))) {
                return Err(bad(first));
            }
            let mut pieces = inner.split('+');
            p.os_version = super::units::percent_decode(pieces.next().unwrap_or(""));
            p.os_features = pieces.filter(|f| !f.is_empty()).map(super::units::percent_decode).collect();
        }
        p.os = normalize_os(os_part);
        for part in parts.iter().skip(1) {
            if !valid_component(part) {
                return Err(bad(part));
            }
        }
        match parts.as_slice() {
            [only] => {
                if is_known_os(&p.os) {
                    p.architecture = DEFAULT_ARCH.to_string();
                    return Ok(p);
                }
                let (a, v) = normalize_arch(only, "");
                if !is_known_arch(&a) || paren.is_some() {
                    return Err(PlatformError::Unknown { input: specifier.to_string() });
                }
                p.architecture = a;
                p.variant = if p.architecture == "arm" && v == "v7" { String::new() } else { v };
                p.os = DEFAULT_OS.to_string();
                Ok(p)
            }
            [_, arch] => {
                let (a, v) = normalize_arch(arch, "");
                p.variant = if a == "arm" && v == "v7" { String::new() } else { v };
                p.architecture = a;
                Ok(p)
            }
            [_, arch, variant] => {
                let (a, v) = normalize_arch(arch, variant);
                p.variant = if a == "arm64" && v.is_empty() { "v8".to_string() } else { v };
                p.architecture = a;
                Ok(p)
            }
            _ => Err(PlatformError::TooMany { input: specifier.to_string() }),
        }
    }

    /// Parse a user-facing key, `os/arch[/variant][:os.version]`, or any containerd specifier;
    /// the result is normalised.
    pub fn parse_key(input: &str) -> Result<Platform, PlatformError> {
        let (spec, version) = match input.split_once(':') {
            Some((s, v)) => (s, Some(v)),
            None => (input, None),
        };
        let mut p = Platform::parse(spec)?.normalize();
        if let Some(v) = version {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
                return Err(PlatformError::BadComponent { input: input.to_string(), component: v.to_string() });
            }
            p.os_version = v.to_string();
        }
        Ok(p)
    }

    /// A platform typed by a user for an edit: complete `os/arch[/variant]` (optionally
    /// `:os.version`, or containerd's `os(version)/arch` form), normalised. Nothing is filled in
    /// from defaults or from the machine Archlens runs on: `linux` or `arm` is an error.
    pub fn parse_complete(input: &str) -> Result<Platform, PlatformError> {
        let input = input.trim();
        if input.len() > MAX_PLATFORM_LEN {
            return Err(PlatformError::TooLong { len: input.len(), max: MAX_PLATFORM_LEN });
        }
        if input.is_empty() {
            return Err(PlatformError::Empty);
        }
        let spec = input.split_once(':').map(|(s, _)| s).unwrap_or(input);
        if spec.split('/').count() < 2 || spec.split('/').any(str::is_empty) {
            return Err(PlatformError::Partial { input: input.to_string() });
        }
        let p = Platform::parse_key(input)?;
        if !is_known_os(&p.os) || !is_known_arch(&p.architecture) {
            return Err(PlatformError::Unknown { input: input.to_string() });
        }
        Ok(p)
    }

    /// containerd's `Format`: `os/arch[/variant]`.
    pub fn format(&self) -> String {
        if self.os.is_empty() {
            return "unknown".to_string();
        }
        join_path(&[&self.os, &self.architecture, &self.variant])
    }

    /// containerd's `FormatAll`: `os[(os.version[+features])]/arch[/variant]`.
    pub fn format_all(&self) -> String {
        if self.os.is_empty() {
            return "unknown".to_string();
        }
        let mut features: Vec<&String> = self.os_features.iter().filter(|f| !f.is_empty()).collect();
        features.sort();
        let os = if self.os_version.is_empty() && features.is_empty() {
            self.os.clone()
        } else {
            let mut s = format!("{}({}", self.os, percent_encode(&self.os_version));
            for f in features {
                s.push('+');
                s.push_str(&percent_encode(f));
            }
            s.push(')');
            s
        };
        join_path(&[&os, &self.architecture, &self.variant])
    }

    /// The matrix column key: normalised `os/arch[/variant][:os.version]`.
    pub fn key(&self) -> String {
        let n = self.normalize();
        let mut s = join_path(&[&n.os, &n.architecture, &n.variant]);
        if !n.os_version.is_empty() {
            s.push(':');
            s.push_str(&n.os_version);
        }
        s
    }

    /// Whether an image of this platform is one of `wanted`: the same os, architecture and
    /// variant (normalised), and for `os.version`: none asked, any; `10.0.20348` (a Windows
    /// release), any revision of it (`10.0.20348.2966`); all four parts, exactly that one.
    pub fn covers(&self, wanted: &Platform) -> bool {
        let (h, w) = (self.normalize(), wanted.normalize());
        if (&h.os, &h.architecture, &h.variant) != (&w.os, &w.architecture, &w.variant) {
            return false;
        }
        if w.os_version.is_empty() {
            return true;
        }
        let have: Vec<&str> = h.os_version.split('.').collect();
        let want: Vec<&str> = w.os_version.split('.').collect();
        have.get(..want.len()) == Some(&want[..])
    }

    /// The column a platform key goes in when platforms are grouped by release: a Windows
    /// `os.version` of four parts (`10.0.20348.2966`) loses its revision, which changes monthly
    /// (`windows/amd64:10.0.20348`); any other key is its own column. The revision, when one
    /// was dropped, comes second.
    pub fn release_column(key: &str) -> (String, Option<String>) {
        if let Ok(p) = Platform::parse_key(key)
            && p.os == "windows"
            && let Some((release, revision)) = p.os_version.rsplit_once('.').filter(|_| p.os_version.split('.').count() == 4)
        {
            let mut grouped = p.clone();
            grouped.os_version = release.to_string();
            return (grouped.key(), Some(revision.to_string()));
        }
        (key.to_string(), None)
    }

    /// `unknown/unknown` — what BuildKit writes on attestation entries.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }

    /// The `--platform` value for `docker pull` / `docker run`.
    pub fn docker_flag(&self) -> String {
        self.normalize().format()
    }
}

fn join_path(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("/")
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A host whose runtime picks an entry of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPreset {
    pub id: &'static str,
    pub label: &'static str,
    /// The platform its runtime asks for (a key).
    pub platform: &'static str,
    /// Platforms it also runs, only through emulation (binfmt/QEMU, Rosetta).
    pub emulates: &'static [&'static str],
    /// Whether it runs its architecture's 32-bit programs natively (386 on x86-64, arm on
    /// arm64); `None` when that depends on the CPU.
    pub compat32: Option<bool>,
    pub note: &'static str,
    /// Why the runtime behaves so: shown as the basis of selection findings.
    pub basis: &'static str,
}

pub const HOST_PRESETS: &[HostPreset] = &[
    HostPreset {
        id: "apple-silicon",
        label: "Apple-silicon Mac (Docker Desktop)",
        platform: "linux/arm64",
        emulates: &["linux/amd64", "linux/386", "linux/arm/v7", "linux/arm/v6", "linux/ppc64le", "linux/s390x", "linux/riscv64"],
        compat32: Some(false),
        note: "M-series CPUs have no 32-bit ARM mode; other architectures run only under emulation",
        basis: "Docker Desktop for Mac runs amd64 through Rosetta 2 or QEMU and registers QEMU binfmt handlers for 386, arm/v6, arm/v7, ppc64le, s390x and riscv64",
    },
    HostPreset {
        id: "rpi32",
        label: "Raspberry Pi OS 32-bit",
        platform: "linux/arm/v7",
        emulates: &[],
        compat32: Some(false),
        note: "Pi Zero and Pi 1 are arm/v6",
        basis: "Docker on 32-bit Raspberry Pi OS asks for linux/arm/v7 and falls back to v6 and v5; no emulation is installed by default",
    },
    HostPreset {
        id: "rpi-zero",
        label: "Raspberry Pi Zero / 1",
        platform: "linux/arm/v6",
        emulates: &[],
        compat32: Some(false),
        note: "",
        basis: "the ARM1176 CPU is ARMv6: arm/v7 code stops with Illegal instruction",
    },
    HostPreset {
        id: "rpi64",
        label: "Raspberry Pi OS 64-bit",
        platform: "linux/arm64",
        emulates: &[],
        compat32: Some(true),
        note: "",
        basis: "Pi 3, 4 and 5 CPUs (Cortex-A53/A72/A76) also run 32-bit ARM code natively",
    },
    HostPreset {
        id: "arm64-server",
        label: "ARM64 server",
        platform: "linux/arm64",
        emulates: &[],
        compat32: None,
        note: "",
        basis: "32-bit ARM support is optional in ARMv8/v9 CPUs: Neoverse N1 (Graviton2, Ampere Altra) has it, Graviton3/4 and AmpereOne do not",
    },
    HostPreset {
        id: "x86-64",
        label: "x86-64 server",
        platform: "linux/amd64",
        emulates: &[],
        compat32: Some(true),
        note: "",
        basis: "x86-64 CPUs also run 386 code natively; nothing else without binfmt emulation",
    },
    HostPreset {
        id: "x86-64-binfmt",
        label: "x86-64 server with binfmt emulation",
        platform: "linux/amd64",
        emulates: &["linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/ppc64le", "linux/s390x", "linux/riscv64"],
        compat32: Some(true),
        note: "",
        basis: "qemu-user-static registered with binfmt_misc (e.g. tonistiigi/binfmt --install all)",
    },
    HostPreset {
        id: "windows-2019",
        label: "Windows Server 2019",
        platform: "windows/amd64:10.0.17763.1",
        emulates: &[],
        compat32: Some(true),
        note: "process isolation needs the same build",
        basis: "Windows before Server 2022 runs process-isolated containers of its own build only",
    },
    HostPreset {
        id: "windows-2022",
        label: "Windows Server 2022",
        platform: "windows/amd64:10.0.20348.1",
        emulates: &[],
        compat32: Some(true),
        note: "",
        basis: "Windows Server 2022 and later run containers from build 20348 up to their own",
    },
];

impl HostPreset {
    pub fn find(id: &str) -> Option<&'static HostPreset> {
        HOST_PRESETS.iter().find(|p| p.id == id)
    }

    pub fn platform(&self) -> Platform {
        // Every preset's platform is a literal checked by the `presets_parse` test.
        Platform::parse_key(self.platform).unwrap_or_default()
    }
}

/// Column order for the platform matrix: linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6,
/// linux/386, linux/ppc64le, linux/s390x, linux/riscv64, other linux alphabetically, then other
/// OSes alphabetically, Windows last ordered by os.version.
pub fn column_order(a: &Platform, b: &Platform) -> Ordering {
    fn rank(p: &Platform) -> (u8, u8) {
        const PREFERRED: [(&str, &str); 8] =
            [("amd64", ""), ("arm64", ""), ("arm", "v7"), ("arm", "v6"), ("386", ""), ("ppc64le", ""), ("s390x", ""), ("riscv64", "")];
        match p.os.as_str() {
            "linux" => match PREFERRED.iter().position(|(a, v)| *a == p.architecture && *v == p.variant) {
                Some(i) => (0, i as u8),
                None => (1, 0),
            },
            "windows" => (3, 0),
            _ => (2, 0),
        }
    }
    let (a, b) = (a.normalize(), b.normalize());
    rank(&a)
        .cmp(&rank(&b))
        .then_with(|| if a.os == "windows" && b.os == "windows" { version_cmp(&a.os_version, &b.os_version) } else { Ordering::Equal })
        .then_with(|| a.os.cmp(&b.os))
        .then_with(|| a.architecture.cmp(&b.architecture))
        .then_with(|| a.variant.cmp(&b.variant))
        .then_with(|| version_cmp(&a.os_version, &b.os_version))
        .then_with(|| a.os_features.cmp(&b.os_features))
}

/// Dotted numeric comparison (`10.0.17763.5122` < `10.0.20348.1`); non-numbers compare as text.
fn version_cmp(a: &str, b: &str) -> Ordering {
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Which platforms a host accepts, in preference order: containerd's `Only`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    host: Platform,
    vector: Vec<Platform>,
}

/// How a candidate relates to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// The host's own platform.
    Exact,
    /// A lower variant or a 32-bit sibling the host also runs (arm64 → arm/v7, amd64 → 386).
    Fallback,
}

impl Matcher {
    /// containerd's `Only(host)`.
    pub fn only(host: &Platform) -> Matcher {
        let host = host.normalize();
        let vector = platform_vector(&host).into_iter().map(|p| p.normalize()).collect();
        Matcher { host, vector }
    }

    /// containerd's `OnlyStrict(host)`: no fallbacks.
    pub fn only_strict(host: &Platform) -> Matcher {
        let host = host.normalize();
        Matcher { vector: vec![host.clone()], host }
    }

    pub fn host(&self) -> &Platform {
        &self.host
    }

    /// Position in the preference vector, if the host accepts `candidate`.
    pub fn rank(&self, candidate: &Platform) -> Option<usize> {
        let c = candidate.normalize();
        if !self.os_version_compatible(&c) || !self.os_features_supported(&c) {
            return None;
        }
        self.vector.iter().position(|m| m.os == c.os && m.architecture == c.architecture && m.variant == c.variant)
    }

    pub fn matches(&self, candidate: &Platform) -> bool {
        self.rank(candidate).is_some()
    }

    pub fn kind(&self, candidate: &Platform) -> Option<MatchKind> {
        self.rank(candidate).map(|r| if r == 0 { MatchKind::Exact } else { MatchKind::Fallback })
    }

    /// containerd's `Less`: `a` is preferred over `b`.
    pub fn less(&self, a: &Platform, b: &Platform) -> bool {
        match (self.rank(a), self.rank(b)) {
            (Some(x), Some(y)) if x == y && self.host.os == "windows" => win_revision(&a.os_version) > win_revision(&b.os_version),
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The index of the candidate a runtime on this host would pick: the best-ranked match,
    /// first in list order among equals (containerd sorts stably and takes the first).
    pub fn select<'a>(&self, candidates: impl IntoIterator<Item = &'a Platform>) -> Option<usize> {
        let mut best: Option<(usize, &Platform)> = None;
        for (i, c) in candidates.into_iter().enumerate() {
            if !self.matches(c) {
                continue;
            }
            match best {
                Some((_, b)) if !self.less(c, b) => {}
                _ => best = Some((i, c)),
            }
        }
        best.map(|(i, _)| i)
    }

    fn os_version_compatible(&self, c: &Platform) -> bool {
        if self.host.os != "windows" || self.host.os_version.is_empty() || c.os_version.is_empty() {
            return true;
        }
        match (WinVersion::parse(&self.host.os_version), WinVersion::parse(&c.os_version)) {
            (Some(h), Some(c)) => windows_compatible(h, c),
            (None, _) => true,
            (Some(_), None) => false,
        }
    }

    /// An image that requires an OS feature (e.g. `win32k`) runs only where the host has it.
    fn os_features_supported(&self, c: &Platform) -> bool {
        c.os_features.iter().all(|f| f.is_empty() || self.host.os_features.contains(f))
    }
}

/// Variant levels a platform vector walks down at most (amd64 has v1–v4, arm v5–v8): a variant
/// such as `v4294967295` is matched as itself, never expanded into billions of entries.
const MAX_VARIANT_LEVEL: u32 = 16;

/// Whether an image's config contradicts the platform its index entry claims: os and
/// architecture must agree, and the variant when the config names one (most arm images name
/// none, which is no contradiction).
pub fn config_contradicts(entry: &Platform, config: &Platform) -> bool {
    let (a, b) = (entry.normalize(), config.normalize());
    a.os != b.os || a.architecture != b.architecture || (!config.variant.is_empty() && a.variant != b.variant)
}

/// containerd's `platformVector`.
fn platform_vector(p: &Platform) -> Vec<Platform> {
    let with = |arch: &str, variant: String| Platform { architecture: arch.to_string(), variant, ..p.clone() };
    let mut vector = vec![p.clone()];
    match p.architecture.as_str() {
        "amd64" => {
            if let Ok(v) = p.variant.trim_start_matches('v').parse::<u32>() {
                for n in (1..v.min(MAX_VARIANT_LEVEL)).rev() {
                    vector.push(with("amd64", format!("v{n}")));
                }
            }
            vector.push(with("386", String::new()));
        }
        "arm" => {
            if let Ok(v) = p.variant.trim_start_matches('v').parse::<u32>()
                && v > 5
            {
                for n in (5..v.min(MAX_VARIANT_LEVEL)).rev() {
                    vector.push(with("arm", format!("v{n}")));
                }
            }
        }
        "arm64" => {
            let variant = if p.variant.is_empty() { "v8".to_string() } else { p.variant.clone() };
            vector.clear();
            let (major_s, minor_s) = match variant.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (variant.as_str(), None),
            };
            if let Ok(mut major) = major_s.trim_start_matches('v').parse::<u32>()
                && major >= 8
            {
                let mut minor = 0u32;
                if variant.len() == 4
                    && let Some(m) = minor_s.and_then(|m| m.parse::<u32>().ok())
                {
                    minor = m;
                }
                let name = |maj: u32, min: u32| if min == 0 { format!("v{maj}") } else { format!("v{maj}.{min}") };
                // The platform itself, then lower minors (containerd lists the platform first).
                vector.push(p.clone());
                if major == 9 {
                    for m in (0..minor).rev() {
                        vector.push(with("arm64", name(9, m)));
                    }
                    minor = (minor + 5).min(9);
                    major = 8;
                    vector.push(with("arm64", format!("v8.{minor}")));
                }
                for m in (0..minor).rev() {
                    vector.push(with("arm64", name(major, m)));
                }
            }
            if vector.is_empty() {
                vector.push(p.clone());
            }
            let arm_variant = if variant.starts_with("v8.") || variant.starts_with("v9.") { "v8".to_string() } else { variant };
            vector.extend(platform_vector(&with("arm", arm_variant)));
        }
        _ => {}
    }
    vector
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WinVersion {
    major: u8,
    minor: u8,
    build: u16,
}

impl WinVersion {
    fn parse(v: &str) -> Option<WinVersion> {
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let build = it.next()?.parse().ok()?;
        Some(WinVersion { major, minor, build })
    }
}

/// Windows Server 2022 (build 20348).
const WINDOWS_LTSC2022_BUILD: u16 = 20348;

/// containerd's `checkWindowsHostAndContainerCompat`: before Windows Server 2022 the build must
/// match exactly; from 2022 on a host runs containers from 2022 up to its own build.
fn windows_compatible(host: WinVersion, ctr: WinVersion) -> bool {
    if host.major != ctr.major || host.minor != ctr.minor {
        return false;
    }
    if host.build < WINDOWS_LTSC2022_BUILD {
        return host.build == ctr.build;
    }
    ctr.build >= WINDOWS_LTSC2022_BUILD && ctr.build <= host.build
}

fn win_revision(v: &str) -> u64 {
    v.split('.').nth(3).and_then(|r| r.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod preset_tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for p in HOST_PRESETS {
            assert!(Platform::parse_key(p.platform).is_ok(), "{}", p.id);
            for e in p.emulates {
                assert!(Platform::parse_key(e).is_ok(), "{} {e}", p.id);
            }
        }
    }
}
