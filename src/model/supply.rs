//! Supply-chain data attached to an image: signatures, attestations and SBOMs, found through
//! the OCI referrers API, its tag-schema fallback (`sha256-HEX`, an index of referrers), or
//! cosign's tag scheme (`sha256-HEX.sig`, `.att`, `.sbom`: one manifest whose layers are the
//! signatures, attestations or documents).

use serde::Serialize;

use super::digest::Digest;

/// What kind of thing an artifact attached to an image is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    Signature,
    Attestation,
    Sbom,
    Other,
}

impl Attached {
    /// By artifact type or layer media type: cosign's and Notary's signatures, in-toto / DSSE
    /// attestations, SPDX and CycloneDX documents.
    pub fn of(media_type: &str) -> Attached {
        let t = media_type.to_ascii_lowercase();
        if t.contains("cosign.artifact.sig") || t.contains("simplesigning") || t.contains("notary.signature") || t.contains("signature") {
            Attached::Signature
        } else if t.contains("in-toto") || t.contains("dsse") || t.contains("cosign.artifact.att") || t.contains("attestation") {
            Attached::Attestation
        } else if t.contains("spdx") || t.contains("cyclonedx") || t.contains("sbom") || t.contains("syft") {
            Attached::Sbom
        } else {
            Attached::Other
        }
    }
}

/// Where the supply-chain data of an image was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `GET /v2/NAME/referrers/DIGEST` (OCI distribution 1.1).
    Referrers,
    /// The referrers tag schema: a `sha256-HEX` tag holding an index of referrers.
    ReferrersTag,
    /// cosign's tags: `sha256-HEX.sig`, `.att`, `.sbom`.
    CosignTags,
}

/// Signatures, attestations and SBOMs attached to one image, with their total size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SupplyChain {
    pub signatures: usize,
    pub attestations: usize,
    pub sboms: usize,
    /// Other artifacts attached (neither of the above).
    pub others: usize,
    /// Bytes of what was counted: the referrers' manifests as their descriptors say, or the
    /// layers of cosign's manifests.
    pub size: u64,
    /// Where each part was found.
    pub via: Vec<Via>,
}

impl SupplyChain {
    pub fn signed(&self) -> bool {
        self.signatures > 0
    }

    pub fn attested(&self) -> bool {
        self.attestations > 0
    }

    fn add(&mut self, kind: Attached, size: u64) {
        match kind {
            Attached::Signature => self.signatures += 1,
            Attached::Attestation => self.attestations += 1,
            Attached::Sbom => self.sboms += 1,
            Attached::Other => self.others += 1,
        }
        self.size = self.size.saturating_add(size);
    }

    fn saw(&mut self, via: Via) {
        if !self.via.contains(&via) {
            self.via.push(via);
        }
    }

    /// An index of referrers (the referrers API's answer, or the tag schema's index): one
    /// count per manifest, by its `artifactType` (or, without one, its config's media type
    /// is not known here: counted as other).
    pub fn add_referrers(&mut self, index: &[u8], via: Via) -> Result<(), serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Desc {
            #[serde(rename = "artifactType", default)]
            artifact_type: Option<String>,
            #[serde(default)]
            size: u64,
        }
        #[derive(serde::Deserialize)]
        struct Index {
            #[serde(default)]
            manifests: Vec<Desc>,
        }
        let idx: Index = serde_json::from_slice(index)?;
        for m in idx.manifests {
            self.add(m.artifact_type.as_deref().map_or(Attached::Other, Attached::of), m.size);
        }
        self.saw(via);
        Ok(())
    }

    /// A cosign manifest (`.sig`, `.att`, `.sbom`): each layer one signature, attestation or
    /// document, by `kind` (the tag's suffix), whatever the layers' media types say.
    pub fn add_cosign(&mut self, manifest: &[u8], kind: Attached) -> Result<(), serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Layer {
            #[serde(default)]
            size: u64,
        }
        #[derive(serde::Deserialize)]
        struct Manifest {
            #[serde(default)]
            layers: Vec<Layer>,
        }
        let m: Manifest = serde_json::from_slice(manifest)?;
        for l in m.layers {
            self.add(kind, l.size);
        }
        self.saw(Via::CosignTags);
        Ok(())
    }

    /// `signed, attested`, `signed`, `unsigned` …: for a table cell.
    pub fn words(&self) -> String {
        let mut w = vec![if self.signed() { "signed" } else { "unsigned" }];
        if self.attested() {
            w.push("attested");
        }
        if self.sboms > 0 {
            w.push("sbom");
        }
        w.join(", ")
    }
}

/// The tags cosign and the referrers tag schema give an image of `digest`: the schema's index
/// tag, then cosign's `.sig`, `.att` and `.sbom`, each with what it holds.
pub fn schema_tags(digest: &Digest) -> [(String, Option<Attached>); 4] {
    let base = format!("{}-{}", digest.algorithm(), digest.encoded());
    [
        (base.clone(), None),
        (format!("{base}.sig"), Some(Attached::Signature)),
        (format!("{base}.att"), Some(Attached::Attestation)),
        (format!("{base}.sbom"), Some(Attached::Sbom)),
    ]
}

/// A tag of the schemes above (`sha256-` and 64 hex digits, with or without a suffix): never an
/// image a tag policy should pick.
pub fn is_supply_chain_tag(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-").or_else(|| tag.strip_prefix("sha512-")) else { return false };
    let hex_len = if tag.starts_with("sha256-") { 64 } else { 128 };
    let (hex, suffix) = rest.split_at(rest.len().min(hex_len));
    hex.len() == hex_len && hex.bytes().all(|b| b.is_ascii_hexdigit()) && (suffix.is_empty() || suffix.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_are_counted_by_their_artifact_type() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":700,"artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json"},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":800,"artifactType":"application/vnd.cncf.notary.signature"},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":900,"artifactType":"application/vnd.in-toto+json"},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:dd","size":100,"artifactType":"application/spdx+json"},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:ee","size":50}]}"#;
        let mut s = SupplyChain::default();
        s.add_referrers(index, Via::Referrers).unwrap();
        assert_eq!((s.signatures, s.attestations, s.sboms, s.others, s.size), (2, 1, 1, 1, 2550));
        assert_eq!(s.words(), "signed, attested, sbom");
        assert!(SupplyChain::default().add_referrers(b"not json", Via::Referrers).is_err());
    }

    #[test]
    fn a_cosign_manifest_counts_its_layers() {
        let sig = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":2},
            "layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:bb","size":250},
                      {"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:cc","size":251}]}"#;
        let mut s = SupplyChain::default();
        s.add_cosign(sig, Attached::Signature).unwrap();
        assert_eq!((s.signatures, s.size, s.via.clone()), (2, 501, vec![Via::CosignTags]));
        assert_eq!(SupplyChain::default().words(), "unsigned");
    }

    #[test]
    fn supply_chain_tags_are_told_apart_from_versions() {
        let d = Digest::sha256(b"x");
        let tags = schema_tags(&d);
        assert!(tags.iter().all(|(t, _)| is_supply_chain_tag(t)), "{tags:?}");
        assert_eq!(tags[1].0, format!("sha256-{}.sig", d.encoded()));
        for t in ["sha256-abc.sig", "1.0", "latest", "sha256-", &format!("sha256-{}x", d.encoded())] {
            assert!(!is_supply_chain_tag(t), "{t}");
        }
    }
}
