//! Docker Hub's API answers, read into matrix rows: `GET /v2/namespaces/NS/repositories/REPO/tags`
//! lists each tag with its digest, media type, last push and per-platform images (architecture,
//! os, variant, os_version, digest, compressed size), a page at a time, without counting pulls.
//! Only the fields of Docker's published schema are read; anything else is ignored.

use serde::Deserialize;

use super::digest::Digest;
use super::manifest::{DOCKER_LIST, DOCKER_MANIFEST, ManifestKind, OCI_INDEX, OCI_MANIFEST};
use super::matrix::{CellSource, Child, TagOutcome, TagResult};
use super::platform::Platform;
use super::reference::valid_tag;

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    results: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    tag_last_pushed: Option<String>,
    #[serde(default)]
    last_updated: Option<String>,
    #[serde(default)]
    images: Option<Vec<Image>>,
}

#[derive(Debug, Deserialize)]
struct Image {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    os_version: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

/// One page of a repository's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPage {
    pub rows: Vec<TagResult>,
    /// The next page's URL, as the API gave it.
    pub next: Option<String>,
    /// The repository's tag count, as the API says.
    pub count: Option<u64>,
    /// Tags skipped, with why (a name outside the tag grammar, no digest).
    pub skipped: Vec<String>,
}

/// Docker Hub's namespace and repository for a repository name: `alpine` is
/// `library/alpine`; names of more than two parts are not on Docker Hub's API.
pub fn namespace_and_name(repo: &str) -> Option<(&str, &str)> {
    let mut parts = repo.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) if !name.is_empty() => Some(("library", name)),
        (Some(ns), Some(name), None) if !ns.is_empty() && !name.is_empty() => Some((ns, name)),
        _ => None,
    }
}

/// Read one page of `GET /v2/namespaces/NS/repositories/REPO/tags`.
pub fn parse_tags_page(bytes: &[u8]) -> Result<HubPage, String> {
    let page: Page = serde_json::from_slice(bytes).map_err(|e| format!("not a page of Docker Hub's tag list: {e}"))?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for t in page.results {
        if !valid_tag(&t.name) {
            skipped.push(format!("{:?}: not a valid tag name", t.name.chars().take(80).collect::<String>()));
            continue;
        }
        match row(&t) {
            Ok(r) => rows.push(r),
            Err(why) => skipped.push(format!("{}: {why}", t.name)),
        }
    }
    Ok(HubPage { rows, next: page.next.filter(|n| !n.is_empty()), count: page.count, skipped })
}

/// Read one tag (`GET /v2/namespaces/NS/repositories/REPO/tags/TAG`).
pub fn parse_tag(bytes: &[u8]) -> Result<TagResult, String> {
    let t: Tag = serde_json::from_slice(bytes).map_err(|e| format!("not a tag of Docker Hub's API: {e}"))?;
    if !valid_tag(&t.name) {
        return Err("not a valid tag name".into());
    }
    row(&t)
}

/// Attestation manifests are listed as images of platform `unknown/unknown`.
fn is_attestation(i: &Image) -> bool {
    i.architecture.as_deref() == Some("unknown") && i.os.as_deref() == Some("unknown")
}

fn row(t: &Tag) -> Result<TagResult, String> {
    let digest = t.digest.as_deref().ok_or("Docker Hub's API lists no digest")?;
    let digest = Digest::parse(digest).map_err(|e| format!("its digest: {e}"))?;
    let images = t.images.as_deref().unwrap_or_default();
    let media_type = t.media_type.clone().unwrap_or_default();
    let pushed = t.tag_last_pushed.clone().or_else(|| t.last_updated.clone());
    let (platform_images, attestations): (Vec<&Image>, Vec<&Image>) = images.iter().partition(|i| !is_attestation(i));
    let child = |i: &Image| -> Option<Child> {
        let d = Digest::parse(i.digest.as_deref()?).ok()?;
        let mut p = Platform::new(i.os.as_deref().unwrap_or(""), i.architecture.as_deref().unwrap_or(""), i.variant.as_deref().unwrap_or(""));
        p.os_version = i.os_version.clone().unwrap_or_default();
        Some(Child {
            platform: Some(p),
            digest: d,
            // The child manifest's own size is not on Docker Hub's API.
            size: 0,
            compressed_size: i.size,
            error: None,
            attestation: None,
            verified: None,
            source: CellSource::DockerHubApi,
        })
    };
    let index = media_type == OCI_INDEX || media_type == DOCKER_LIST || (media_type.is_empty() && images.len() > 1);
    let outcome = if index {
        let kind = if media_type == DOCKER_LIST { ManifestKind::DockerList } else { ManifestKind::OciIndex };
        TagOutcome::Index { digest, media_type, kind, children: platform_images.into_iter().filter_map(child).collect(), attestations: attestations.len() }
    } else {
        let i = platform_images.first().ok_or("Docker Hub's API lists no image for it")?;
        // A single image's own digest is the tag's.
        let mut c = child(i).ok_or("its image has no digest")?;
        c.digest = digest.clone();
        let media_type = if media_type.is_empty() { OCI_MANIFEST.to_string() } else { media_type };
        if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
            return Ok(TagResult { tag: t.name.clone(), outcome: TagOutcome::Artifact { digest, media_type, artifact_type: None }, pushed });
        }
        TagOutcome::Image { digest, media_type, child: c }
    };
    Ok(TagResult { tag: t.name.clone(), outcome, pushed })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page in the shape Docker's API reference documents (fields as published, values made up).
    const PAGE: &str = r#"{
      "count": 3,
      "next": "https://hub.docker.com/v2/namespaces/library/repositories/alpine/tags?page=2&page_size=100",
      "previous": null,
      "results": [
        {"creator": 7, "id": 1, "images": [
            {"architecture": "amd64", "features": "", "variant": null, "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
             "os": "linux", "os_features": "", "os_version": null, "size": 3623807, "status": "active",
             "last_pulled": "2026-11-30T10:00:00.000000Z", "last_pushed": "2026-11-01T10:00:00.000000Z"},
            {"architecture": "arm", "features": "", "variant": "v7", "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
             "os": "linux", "os_features": "", "os_version": null, "size": 3380000, "status": "active",
             "last_pulled": null, "last_pushed": "2026-11-01T10:00:00.000000Z"},
            {"architecture": "unknown", "features": "", "variant": null, "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
             "os": "unknown", "os_features": "", "os_version": null, "size": 15000, "status": "active",
             "last_pulled": null, "last_pushed": "2026-11-01T10:00:00.000000Z"}],
         "last_updated": "2026-11-01T10:00:01.000000Z", "last_updater": 7, "last_updater_username": "doijanky",
         "name": "3.20", "repository": 42, "full_size": 3623807, "v2": true, "tag_status": "active",
         "tag_last_pulled": "2026-11-30T10:00:00.000000Z", "tag_last_pushed": "2026-11-01T10:00:01.000000Z",
         "media_type": "application/vnd.oci.image.index.v1+json", "content_type": "image",
         "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444"},
        {"images": [{"architecture": "amd64", "os": "windows", "os_version": "10.0.20348.2966", "digest": "sha256:5555555555555555555555555555555555555555555555555555555555555555", "size": 100}],
         "name": "ltsc2022", "tag_last_pushed": "2026-10-01T00:00:00Z", "media_type": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "sha256:6666666666666666666666666666666666666666666666666666666666666666"},
        {"images": [], "name": "bad\u001b[2J", "digest": "sha256:7777777777777777777777777777777777777777777777777777777777777777"}
      ]
    }"#;

    #[test]
    fn a_documented_page_becomes_rows() {
        let page = parse_tags_page(PAGE.as_bytes()).unwrap();
        assert_eq!(page.count, Some(3));
        assert!(page.next.as_deref().unwrap().contains("page=2"));
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.skipped.len(), 1, "{:?}", page.skipped);
        let TagOutcome::Index { children, attestations, kind, .. } = &page.rows[0].outcome else { panic!("{:?}", page.rows[0]) };
        assert_eq!((children.len(), *attestations, *kind), (2, 1, ManifestKind::OciIndex));
        assert_eq!(children[1].platform.as_ref().unwrap().key(), "linux/arm/v7");
        assert_eq!(children[0].compressed_size, Some(3623807));
        assert!(children.iter().all(|c| c.source == CellSource::DockerHubApi));
        assert_eq!(page.rows[0].pushed.as_deref(), Some("2026-11-01T10:00:01.000000Z"));
        let TagOutcome::Image { digest, child, .. } = &page.rows[1].outcome else { panic!() };
        assert_eq!(&child.digest, digest, "a single image's cell is the tag's own digest");
        assert_eq!(child.platform.as_ref().unwrap().os_version, "10.0.20348.2966");
    }

    #[test]
    fn names_map_to_namespaces() {
        assert_eq!(namespace_and_name("alpine"), Some(("library", "alpine")));
        assert_eq!(namespace_and_name("bitnami/redis"), Some(("bitnami", "redis")));
        assert_eq!(namespace_and_name("a/b/c"), None);
        assert!(parse_tags_page(b"<html>").is_err());
        let one = serde_json::json!({ "name": "1", "digest": format!("sha256:{}", "a".repeat(64)), "media_type": OCI_MANIFEST,
            "images": [{ "architecture": "arm64", "os": "linux", "digest": format!("sha256:{}", "b".repeat(64)), "size": 5 }] });
        let r = parse_tag(one.to_string().as_bytes()).unwrap();
        assert!(matches!(r.outcome, TagOutcome::Image { .. }));
    }
}
