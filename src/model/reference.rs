//! Image references: `[host[:port]/]repo[:tag][@digest]`, with Docker Hub normalisation.

use std::fmt;
use std::str::FromStr;

use super::digest::{Digest, DigestError};

/// The registry Docker Hub references resolve to.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's registry API.
const DOCKER_HUB_ENDPOINT: &str = "registry-1.docker.io";

/// What is wrong with a reference, said so the user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("empty reference: give an image such as `nginx`, `ghcr.io/org/app:1.0` or `host:5000/repo@sha256:…`")]
    Empty,
    #[error("reference {input:?} contains whitespace")]
    Whitespace { input: String },
    #[error("reference {input:?}: repository names must be lowercase (found {component:?})")]
    Uppercase { input: String, component: String },
    #[error("reference {input:?}: path component {component:?} is invalid (use lowercase letters, digits and single `.`, `_`, `__` or `-` between them)")]
    BadComponent { input: String, component: String },
    #[error("reference {input:?}: registry host {host:?} is invalid")]
    BadHost { input: String, host: String },
    #[error("reference {input:?}: tag {tag:?} is invalid (1-128 of letters, digits, `_`, `.`, `-`, not starting with `.` or `-`)")]
    BadTag { input: String, tag: String },
    /// (`problem`, not `source`: the message already says it, so error chains do not repeat it.)
    #[error("reference {input:?}: {problem}")]
    BadDigest { input: String, problem: DigestError },
    #[error(
        "reference {input:?} holds a user name or password before the host; Archlens never takes credentials in a reference: sign in with `archlens login HOST` (or docker/podman login) and name the image without them"
    )]
    UserInfo { input: String },
    #[error("reference {input:?}: port {port} is not a port (1 to 65535)")]
    BadPort { input: String, port: String },
    #[error("reference {input:?}: repository name is longer than 255 characters")]
    TooLong { input: String },
    #[error("reference {input:?}: name a tag or a digest of the layout: oci:DIR:TAG or oci:DIR@sha256:…")]
    LayoutNeedsTag { input: String },
}

/// How a layout folder is written as a reference (the same transport prefix skopeo uses).
const LAYOUT_PREFIX: &str = "oci:";

/// A registry host as written by the user, normalised (`index.docker.io` → `docker.io`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Registry(String);

impl Registry {
    pub fn parse(input: &str) -> Result<Registry, ReferenceError> {
        let host = input.trim().trim_end_matches('/');
        let host = host.strip_prefix("https://").or_else(|| host.strip_prefix("http://")).unwrap_or(host);
        if host.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if let Some(port) = bad_port(host) {
            return Err(ReferenceError::BadPort { input: input.to_string(), port });
        }
        if !valid_host(host) {
            return Err(ReferenceError::BadHost { input: input.to_string(), host: host.to_string() });
        }
        Ok(Registry(normalise_host(host)))
    }

    /// The OCI layout folder at `path`, as a registry of its own (so two folders never share
    /// a client, a cache key or a journal target).
    pub fn layout_dir(path: &str) -> Registry {
        Registry(format!("{LAYOUT_PREFIX}{path}"))
    }

    /// The folder of a registry made by [`Registry::layout_dir`].
    pub fn layout_path(&self) -> Option<&str> {
        self.0.strip_prefix(LAYOUT_PREFIX)
    }

    /// The name users see: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The host:port the API is served from (`registry-1.docker.io` for Docker Hub).
    pub fn endpoint(&self) -> &str {
        if self.0 == DOCKER_HUB { DOCKER_HUB_ENDPOINT } else { &self.0 }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.0 == DOCKER_HUB
    }

    /// Registries known not to publish their catalog (`/v2/_catalog`) to users: repositories
    /// there are named, never listed.
    pub fn hides_catalog(&self) -> bool {
        self.is_docker_hub() || self.0 == "ghcr.io"
    }

    /// Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) may be spoken to over plain HTTP.
    /// The host name or address, without port or brackets.
    pub fn host(&self) -> &str {
        host_without_port(&self.0).trim_start_matches('[').trim_end_matches(']')
    }

    /// Whether the name says loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1). A name
    /// is only a claim: the client decides on the addresses it resolves to.
    pub fn is_loopback(&self) -> bool {
        let host = host_without_port(&self.0);
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<core::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository in a registry: `registry/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Repository {
    pub registry: Registry,
    pub name: String,
}

impl Repository {
    /// Parse `[host/]name`; a tag or digest is an error here.
    pub fn parse(input: &str) -> Result<Repository, ReferenceError> {
        let r = Reference::parse_inner(input, false)?;
        Ok(r.repository)
    }

    /// A repository named on `registry`: `team/app`, or `host/team/app` with that registry's
    /// own host, which is dropped.
    pub fn named_in(registry: &Registry, name: &str) -> Result<Repository, ReferenceError> {
        let name = name.strip_prefix(&format!("{}/", registry.name())).unwrap_or(name);
        Repository::parse(&format!("{}/{name}", registry.name()))
    }

    pub fn reference(&self, tag: &str) -> Reference {
        Reference { repository: self.clone(), tag: Some(tag.to_string()), digest: None }
    }

    pub fn digest_reference(&self, digest: &Digest) -> Reference {
        Reference { repository: self.clone(), tag: None, digest: Some(digest.clone()) }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.registry.layout_path().is_some() {
            // `oci:DIR`: the folder is the repository.
            return write!(f, "{}", self.registry);
        }
        write!(f, "{}/{}", self.registry, self.name)
    }
}

impl FromStr for Repository {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Repository::parse(s)
    }
}

/// A full image reference. At least one of tag and digest is set after parsing
/// (`latest` is filled in when neither is given).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    pub repository: Repository,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        Reference::parse_inner(input, true)
    }

    fn parse_inner(input: &str, allow_tag: bool) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.chars().any(char::is_whitespace) {
            return Err(ReferenceError::Whitespace { input: input.to_string() });
        }
        if let Some(rest) = input.strip_prefix(LAYOUT_PREFIX) {
            return Reference::parse_layout(input, rest, allow_tag);
        }
        let err_input = input.to_string();
        // `user:password@host/…`: an `@` before the first `/` is not a digest.
        if let Some((before, after)) = input.split_once('@') {
            // A digest never holds a `/`; a host and path after the `@` do.
            if !before.contains('/') && !before.is_empty() && after.contains('/') {
                return Err(ReferenceError::UserInfo { input: err_input });
            }
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => {
                let digest = Digest::parse(d).map_err(|problem| ReferenceError::BadDigest { input: err_input.clone(), problem })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name_part, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::BadTag { input: err_input, tag: t.clone() });
        }
        if !allow_tag && (tag.is_some() || digest.is_some()) {
            return Err(ReferenceError::BadComponent { input: err_input, component: "a repository name takes no tag or digest".to_string() });
        }
        let (host, path) = split_host(name_part);
        let host = match host {
            Some(h) => {
                if let Some(port) = bad_port(h) {
                    return Err(ReferenceError::BadPort { input: err_input, port });
                }
                if !valid_host(h) {
                    return Err(ReferenceError::BadHost { input: err_input, host: h.to_string() });
                }
                normalise_host(h)
            }
            None => DOCKER_HUB.to_string(),
        };
        if path.is_empty() {
            return Err(ReferenceError::BadComponent { input: err_input, component: String::new() });
        }
        for component in path.split('/') {
            if component.chars().any(|c| c.is_ascii_uppercase()) {
                return Err(ReferenceError::Uppercase { input: err_input, component: component.to_string() });
            }
            if !valid_component(component) {
                return Err(ReferenceError::BadComponent { input: err_input, component: component.to_string() });
            }
        }
        let mut name = path.to_string();
        if host == DOCKER_HUB && !name.contains('/') {
            name = format!("library/{name}");
        }
        if name.len() > 255 {
            return Err(ReferenceError::TooLong { input: err_input });
        }
        let tag = if tag.is_none() && digest.is_none() && allow_tag { Some("latest".to_string()) } else { tag };
        Ok(Reference { repository: Repository { registry: Registry(host), name }, tag, digest })
    }

    /// `oci:DIR:TAG`, `oci:DIR@DIGEST` (a reference) or `oci:DIR` (a repository). The tag is
    /// after the last `:` when what follows has no `/`.
    fn parse_layout(input: &str, rest: &str, allow_tag: bool) -> Result<Reference, ReferenceError> {
        let err_input = input.to_string();
        let (rest, digest) = match rest.rsplit_once('@') {
            Some((dir, d)) => {
                let digest = Digest::parse(d).map_err(|problem| ReferenceError::BadDigest { input: err_input.clone(), problem })?;
                (dir, Some(digest))
            }
            None => (rest, None),
        };
        let (dir, tag) = match rest.rsplit_once(':') {
            Some((dir, t)) if !t.contains('/') && digest.is_none() => (dir, Some(t.to_string())),
            _ => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::BadTag { input: err_input, tag: t.clone() });
        }
        let dir = if dir.len() > 1 { dir.trim_end_matches('/') } else { dir };
        if dir.is_empty() {
            return Err(ReferenceError::BadComponent { input: err_input, component: "the layout folder is empty".to_string() });
        }
        match (allow_tag, tag.is_some() || digest.is_some()) {
            (true, false) => return Err(ReferenceError::LayoutNeedsTag { input: err_input }),
            (false, true) => {
                return Err(ReferenceError::BadComponent { input: err_input, component: "a repository name takes no tag or digest".to_string() });
            }
            _ => {}
        }
        let name = dir.rsplit('/').find(|c| !c.is_empty()).unwrap_or(dir).to_string();
        Ok(Reference { repository: Repository { registry: Registry::layout_dir(dir), name }, tag, digest })
    }

    /// Whether the typed `input` writes out a tag (parsing fills in `latest` when it does not;
    /// a push target must not rely on that).
    pub fn names_tag(input: &str) -> bool {
        let input = input.strip_prefix(LAYOUT_PREFIX).unwrap_or(input);
        let name = input.split('@').next().unwrap_or(input);
        name.rsplit('/').next().unwrap_or(name).contains(':')
    }

    /// Parse a reference typed while connected to `connected`: a name without a registry host
    /// (`team/app:1.0`) means a repository of that registry, not Docker Hub. Docker Hub is used
    /// only when connected to it or when typed in full (`docker.io/library/alpine`).
    pub fn parse_in(input: &str, connected: Option<&Registry>) -> Result<Reference, ReferenceError> {
        let name = input.split('@').next().unwrap_or(input);
        match connected {
            Some(reg) if !reg.is_docker_hub() && reg.layout_path().is_none() && split_host(name).0.is_none() => {
                Reference::parse(&format!("{}/{input}", reg.name()))
            }
            _ => Reference::parse(input),
        }
    }

    /// What the registry API is asked for: the digest if known, else the tag.
    #[cfg(test)]
    fn api_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.repository.registry
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Whether a typed name starts with its own registry host (`ghcr.io/x/y`, `localhost/app`),
/// rather than naming a repository of whichever registry is current (`team/app`).
pub fn names_its_host(name: &str) -> bool {
    split_host(name.trim()).0.is_some()
}

/// Docker's rule: the first component is a host if it has a `.` or `:` or is `localhost`.
fn split_host(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('[') => (Some(first), rest),
        _ => (None, name),
    }
}

fn normalise_host(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.to_string(),
        other => other.to_ascii_lowercase(),
    }
}

fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h).unwrap_or(rest);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

/// The port of `host[:port]` when it is all digits but not a port number (`99999`, `0`).
fn bad_port(host: &str) -> Option<String> {
    let port = match host.strip_prefix('[') {
        Some(rest) => rest.split_once("]:").map(|(_, p)| p)?,
        None => host.rsplit_once(':').map(|(_, p)| p)?,
    };
    let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (digits && !port.parse::<u16>().is_ok_and(|n| n > 0)).then(|| port.to_string())
}

fn valid_host(host: &str) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, tail)) => {
                if ip.parse::<core::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, tail.strip_prefix(':'))
            }
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(host), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    match name {
        None => true,
        Some(n) => {
            !n.is_empty()
                && n.split('.').all(|label| {
                    !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !label.starts_with('-') && !label.ends_with('-')
                })
        }
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
// Every read is at `i < b.len()` (checked first), and `start..i` lies inside `c`, at ASCII
// bytes (char boundaries).
#[allow(clippy::indexing_slicing)]
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[\w][\w.-]{0,127}`
/// A repository name by the distribution-spec grammar: `/`-separated lowercase components,
/// at most 255 characters (what a registry lists must pass before it goes in a URL).
/// What a name typed on its own stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// A registry host: `ghcr.io`, `127.0.0.1:5000`, `localhost:5000`, `[::1]:5000`.
    Registry,
    /// A repository: `alpine`, `team/app`, `ghcr.io/org/app`.
    Repository,
    /// A tag or digest of a repository: `alpine:3.20`, `node:20`, `app@sha256:…`.
    Reference,
}

/// Classify `input` as Docker does: a first component is a host only when it has a `.` or a
/// port, or is `localhost`, and then only if something follows it or nothing does — so
/// `node:20` is the image `docker.io/library/node:20`, while `127.0.0.1:5000` and
/// `registry.example.com` are hosts.
pub fn classify(input: &str) -> Named {
    let t = input.trim();
    if !t.contains('/') && !t.contains('@') {
        let (host, port) = match t.rsplit_once(':') {
            // `[::1]:5000`, `[::1]`
            _ if t.starts_with('[') => return Named::Registry,
            Some((h, p)) => (h, Some(p)),
            None => (t, None),
        };
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if port_ok && (host.contains('.') || host == "localhost") {
            return Named::Registry;
        }
        return if port.is_some() { Named::Reference } else { Named::Repository };
    }
    let last = t.rsplit('/').next().unwrap_or(t);
    if t.contains('@') || last.contains(':') { Named::Reference } else { Named::Repository }
}

pub fn valid_repository_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_component)
}

pub fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() <= 128
        && b.first().is_some_and(|&f| f.is_ascii_alphanumeric() || f == b'_')
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_and_impossible_ports_are_named() {
        assert!(matches!(Reference::parse("alice:pw@127.0.0.1:5000/x"), Err(ReferenceError::UserInfo { .. })));
        assert!(matches!(Reference::parse("127.0.0.1:99999/x"), Err(ReferenceError::BadPort { .. })));
        assert!(matches!(Registry::parse("host:0"), Err(ReferenceError::BadPort { .. })));
        assert!(Reference::parse("127.0.0.1:65535/x").is_ok());
        assert!(matches!(Reference::parse("nginx@sha256:abc"), Err(ReferenceError::BadDigest { .. })));
        // The digest's own message appears once.
        let e = Reference::parse("nginx@sha256:abc").unwrap_err();
        assert!(std::error::Error::source(&e).is_none(), "no chained repeat: {e}");
    }

    #[test]
    fn listed_names_are_checked_by_the_grammar() {
        use super::{valid_repository_name, valid_tag};
        assert!(valid_repository_name("team/app") && valid_repository_name("a/b-c/d_e.f"));
        for bad in ["../../etc", "Team/app", "", "a//b", "a/", "x\u{1b}[2J", &"a".repeat(256)] {
            assert!(!valid_repository_name(bad), "{bad:?}");
        }
        for bad in ["../../../etc/passwd", "\u{1b}[31mred", "-x", ".x", "", &"t".repeat(129), "a b"] {
            assert!(!valid_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn layout_references() {
        let r = Reference::parse("oci:/tmp/rel/out:v1").unwrap();
        assert_eq!(r.registry().layout_path(), Some("/tmp/rel/out"));
        assert_eq!(r.repository.name, "out");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.to_string(), "oci:/tmp/rel/out:v1");
        assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("oci:rel/dir@{d}")).unwrap();
        assert_eq!((r.registry().layout_path(), r.tag.as_deref()), (Some("rel/dir"), None));
        assert_eq!(r.to_string(), format!("oci:rel/dir@{d}"));
        // A port-like suffix after a slash is part of the folder, never a tag.
        assert!(matches!(Reference::parse("oci:out"), Err(ReferenceError::LayoutNeedsTag { .. })));
        assert!(matches!(Reference::parse("oci:a:b/c"), Err(ReferenceError::LayoutNeedsTag { .. })));
        assert!(matches!(Reference::parse("oci::v1"), Err(ReferenceError::BadComponent { .. })));
        assert!(matches!(Reference::parse("oci:out:-bad"), Err(ReferenceError::BadTag { .. })));
        assert_eq!(Repository::parse("oci:/x/y/").unwrap().to_string(), "oci:/x/y");
        assert!(Repository::parse("oci:/x/y:v1").is_err());
        assert!(Reference::names_tag("oci:out:v1") && !Reference::names_tag("oci:out"));
        assert_ne!(Registry::layout_dir("a"), Registry::layout_dir("b"));
        // Typed while connected to a layout, a short name is not put inside the folder.
        let conn = Registry::layout_dir("/tmp/l");
        assert_eq!(Reference::parse_in("team/app:1", Some(&conn)).unwrap().registry().name(), "docker.io");
    }

    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_rules() {
        let r = p("nginx");
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
        assert_eq!(r.registry().endpoint(), "registry-1.docker.io");
        assert_eq!(p("bitnami/redis:7").to_string(), "docker.io/bitnami/redis:7");
        assert_eq!(p("index.docker.io/library/alpine").to_string(), "docker.io/library/alpine:latest");
        assert_eq!(p("docker.io/alpine:3.19").to_string(), "docker.io/library/alpine:3.19");
    }

    #[test]
    fn hosts_ports_and_digests() {
        let d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let r = p(&format!("127.0.0.1:5000/team/app:1.0@{d}"));
        assert_eq!(r.registry().name(), "127.0.0.1:5000");
        assert_eq!(r.repository.name, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_ref().map(|d| d.as_str()), Some(d));
        assert_eq!(r.api_reference(), d);
        let r = p(&format!("localhost/app@{d}"));
        assert_eq!(r.registry().name(), "localhost");
        assert_eq!(r.tag, None);
        let r = p("[::1]:5000/app:x");
        assert!(r.registry().is_loopback());
        assert!(p("localhost:5000/a").registry().is_loopback());
        assert!(p("127.1.2.3:5000/a").registry().is_loopback());
        assert!(!p("ghcr.io/a/b").registry().is_loopback());
        assert_eq!(p("ghcr.io/Org".to_lowercase().as_str()).repository.name, "org");
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        assert_eq!(Reference::parse(""), Err(ReferenceError::Empty));
        assert!(matches!(Reference::parse("Nginx"), Err(ReferenceError::Uppercase { .. })));
        assert!(matches!(Reference::parse("a b"), Err(ReferenceError::Whitespace { .. })));
        assert!(matches!(Reference::parse("nginx:"), Err(ReferenceError::BadTag { .. })));
        assert!(matches!(Reference::parse("nginx:-x"), Err(ReferenceError::BadTag { .. })));
        assert!(matches!(Reference::parse("nginx@sha256:abc"), Err(ReferenceError::BadDigest { .. })));
        assert!(matches!(Reference::parse("a//b"), Err(ReferenceError::BadComponent { .. })));
        assert!(matches!(Reference::parse("a/b..c"), Err(ReferenceError::BadComponent { .. })));
        assert!(matches!(Reference::parse("host:99999999/a"), Err(ReferenceError::BadPort { .. })));
        let msg = Reference::parse("Nginx").unwrap_err().to_string();
        assert!(msg.contains("lowercase"), "{msg}");
    }

    #[test]
    fn repository_rejects_tags() {
        assert!(Repository::parse("127.0.0.1:5000/team/app").is_ok());
        assert!(Repository::parse("127.0.0.1:5000/team/app:1").is_err());
        assert_eq!(Repository::parse("alpine").map(|r| r.to_string()), Ok("docker.io/library/alpine".to_string()));
    }

    #[test]
    fn components() {
        for ok in ["a", "a.b", "a_b", "a__b", "a---b", "0x"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a___b", "a._b", "a..b"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }

    #[test]
    fn short_names_resolve_against_the_connected_registry() {
        let local = Registry::parse("127.0.0.1:5000").unwrap();
        assert_eq!(Reference::parse_in("team/app:1.0", Some(&local)).unwrap().to_string(), "127.0.0.1:5000/team/app:1.0");
        assert_eq!(
            Reference::parse_in("app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Some(&local)).unwrap().registry(),
            &local
        );
        assert_eq!(Reference::parse_in("docker.io/library/alpine:3", Some(&local)).unwrap().registry().name(), "docker.io");
        assert_eq!(Reference::parse_in("ghcr.io/o/a:1", Some(&local)).unwrap().registry().name(), "ghcr.io");
        let hub = Registry::parse("docker.io").unwrap();
        assert_eq!(Reference::parse_in("alpine:3", Some(&hub)).unwrap().to_string(), "docker.io/library/alpine:3");
        assert_eq!(Reference::parse_in("alpine:3", None).unwrap().registry().name(), "docker.io");
        assert!(Reference::names_tag("127.0.0.1:5000/team/app:1.0"));
        assert!(!Reference::names_tag("127.0.0.1:5000/team/app"));
        assert!(!Reference::names_tag("team/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    #[test]
    fn names_typed_on_their_own() {
        use super::{Named, classify};
        assert_eq!(classify("ghcr.io"), Named::Registry);
        assert_eq!(classify("127.0.0.1:5000"), Named::Registry);
        assert_eq!(classify("localhost:5000"), Named::Registry);
        assert_eq!(classify("localhost"), Named::Registry);
        for (name, own) in [
            ("ghcr.io/x/y", true),
            ("localhost/app", true),
            ("127.0.0.1:5000/a", true),
            ("[::1]:5000/a", true),
            ("team/app", false),
            ("alpine", false),
            ("ghcr.io", false),
        ] {
            assert_eq!(super::names_its_host(name), own, "{name}");
        }
        assert_eq!(classify("[::1]:5000"), Named::Registry);
        assert_eq!(classify("node:20"), Named::Reference);
        assert_eq!(classify("myhost:5000"), Named::Reference, "as docker reads it: the image myhost, tag 5000");
        assert_eq!(classify("alpine"), Named::Repository);
        assert_eq!(classify("team/app"), Named::Repository);
        assert_eq!(classify("127.0.0.1:5000/team/app"), Named::Repository);
        assert_eq!(classify("alpine:3.20"), Named::Reference);
        assert_eq!(classify("127.0.0.1:5000/team/app:1.0"), Named::Reference);
        assert_eq!(classify("app@sha256:abc"), Named::Reference);
    }
}
